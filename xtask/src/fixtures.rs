//! `cargo xtask record-fixtures [--out-dir DIR] [SCENARIO..]`: records real app-server traffic
//! as JSON lines for the protocol crate's round-trip test.
//!
//! Each scenario starts the pinned runtime (`codex app-server --listen stdio://`) with a fresh
//! testkit [`RuntimeHome`], whose scripted model answers the turns, drives it over stdio, and
//! writes every message of the session, in order, to `<out-dir>/<scenario>.jsonl`:
//!
//! ```text
//! {"dir":"c2s","msg":{"id":1,"method":"initialize","params":{...}}}
//! {"dir":"s2c","msg":{"id":1,"result":{...}}}
//! ```
//!
//! Values that change from run to run (the home folder, the mock's port, UUIDs, timestamps,
//! process ids, the host name, the checkout's git commit) are replaced by fixed placeholders of
//! the same JSON type, so that re-recording only shows real protocol changes in the diff; two
//! recordings in a row are byte-identical. The default out dir is
//! `crates/openai-codex-protocol/tests/fixtures`.
//!
//! The client announces `capabilities.experimentalApi: true`, as the SDK does by default. The
//! runtime sends some fields the checked-in (non-experimental) schema lacks whatever the client
//! announces; the round-trip test lists them.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::Duration;

use openai_codex_testkit::{
    AssistantMessage, ExecCommand, Phase, RawClient, Reasoning, ResponseScript, RuntimeHome,
    RuntimeHomeBuilder, Usage,
};
use serde_json::{json, Map, Value};

/// How long one exchange may take: a turn against the scripted model finishes in well under a
/// second, but the machine may be busy.
const TIMEOUT: Duration = Duration::from_secs(60);

/// How long the connection must stay silent before a scenario is considered finished, so that
/// notifications trailing the last response are recorded too.
const QUIET: Duration = Duration::from_millis(300);

type ScenarioFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + 'a>>;

/// A scenario: its file name (without `.jsonl`), the home it needs and the exchange.
struct Scenario {
    name: &'static str,
    home: fn() -> RuntimeHomeBuilder,
    run: for<'a> fn(&'a mut Recorder) -> ScenarioFuture<'a>,
}

fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "initialize",
            home: RuntimeHome::builder,
            run: |r| Box::pin(initialize(r)),
        },
        Scenario {
            name: "thread_lifecycle",
            home: RuntimeHome::builder,
            run: |r| Box::pin(thread_lifecycle(r)),
        },
        Scenario {
            name: "text_turn",
            home: RuntimeHome::builder,
            run: |r| Box::pin(text_turn(r)),
        },
        Scenario {
            name: "reasoning_turn",
            home: RuntimeHome::builder,
            run: |r| Box::pin(reasoning_turn(r)),
        },
        Scenario {
            name: "command_approval",
            home: RuntimeHome::builder,
            run: |r| Box::pin(command_approval(r)),
        },
        Scenario {
            name: "command_execution",
            home: RuntimeHome::builder,
            run: |r| Box::pin(command_execution(r)),
        },
        Scenario {
            name: "apply_patch",
            home: RuntimeHome::builder,
            run: |r| Box::pin(apply_patch(r)),
        },
        Scenario {
            name: "models_and_account",
            home: RuntimeHome::builder,
            run: |r| Box::pin(models_and_account(r)),
        },
        Scenario {
            name: "error_responses",
            home: RuntimeHome::builder,
            run: |r| Box::pin(error_responses(r)),
        },
        Scenario {
            name: "failed_turn",
            home: RuntimeHome::builder,
            run: |r| Box::pin(failed_turn(r)),
        },
        Scenario {
            name: "file_change_approval",
            home: RuntimeHome::builder,
            run: |r| Box::pin(file_change_approval(r)),
        },
        Scenario {
            name: "auto_review",
            home: RuntimeHome::builder,
            run: |r| Box::pin(auto_review(r)),
        },
        Scenario {
            name: "interrupt_and_compaction",
            home: RuntimeHome::builder,
            run: |r| Box::pin(interrupt_and_compaction(r)),
        },
        Scenario {
            name: "account_login",
            home: || RuntimeHome::builder().requires_openai_auth(true),
            run: |r| Box::pin(account_login(r)),
        },
    ]
}

const USAGE: &str = "usage: cargo xtask record-fixtures [--out-dir DIR] [SCENARIO..]";

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let mut out_dir = default_out_dir();
    let mut only = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--out-dir" => out_dir = it.next().ok_or("--out-dir needs a directory")?.into(),
            flag if flag.starts_with('-') => {
                return Err(format!(
                    "unknown record-fixtures argument `{flag}`\n{USAGE}"
                ))
            }
            name => only.push(name.to_owned()),
        }
    }
    let all = scenarios();
    if let Some(unknown) = only
        .iter()
        .find(|n| all.iter().all(|s| s.name != n.as_str()))
    {
        let names: Vec<_> = all.iter().map(|s| s.name).collect();
        return Err(format!(
            "unknown scenario `{unknown}`; known: {}",
            names.join(", ")
        ));
    }
    let runtime = crate::runtime::binary_path();
    if !runtime.is_file() {
        return Err(format!(
            "the pinned runtime is not installed at {}; run `cargo xtask runtime` first",
            runtime.display()
        ));
    }
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start tokio: {e}"))?;
    for scenario in all
        .iter()
        .filter(|s| only.is_empty() || only.iter().any(|n| n == s.name))
    {
        let lines = rt
            .block_on(record(scenario))
            .map_err(|e| format!("scenario `{}`: {e}", scenario.name))?;
        let path = out_dir.join(format!("{}.jsonl", scenario.name));
        let mut text = lines.join("\n");
        text.push('\n');
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!("{}: {} lines", path.display(), lines.len());
    }
    Ok(())
}

fn default_out_dir() -> PathBuf {
    crate::workspace_root()
        .join("crates")
        .join("openai-codex-protocol")
        .join("tests")
        .join("fixtures")
}

async fn record(scenario: &Scenario) -> Result<Vec<String>, String> {
    let home = (scenario.home)()
        .codex_bin(crate::runtime::binary_path())
        .build()
        .map_err(|e| format!("cannot create the runtime home: {e}"))?;
    let client = home
        .spawn_app_server()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let mut recorder = Recorder {
        client,
        home,
        log: Vec::new(),
        pending: VecDeque::new(),
        next_id: 1,
    };
    let outcome = match recorder.initialize().await {
        Ok(()) => (scenario.run)(&mut recorder).await,
        Err(e) => Err(e),
    };
    if let Err(e) = outcome {
        let tail: Vec<String> = recorder.log[recorder.log.len().saturating_sub(6)..]
            .iter()
            .map(|entry| {
                let text = entry.to_string();
                text.chars().take(300).collect()
            })
            .collect();
        return Err(format!("{e}\nlast messages:\n{}", tail.join("\n")));
    }
    recorder.settle().await?;
    let Recorder {
        client, home, log, ..
    } = recorder;
    let _ = client.shutdown(Duration::from_secs(5)).await;
    Ok(Normalizer::new(&home).lines(log))
}

/// A raw connection that writes down every message in both directions.
struct Recorder {
    // Drop order: the runtime process goes before its home folder and mock model.
    client: RawClient,
    home: RuntimeHome,
    log: Vec<Value>,
    /// Messages read from the server but not yet looked at by the scenario.
    pending: VecDeque<Value>,
    next_id: i64,
}

fn io(context: &str) -> impl FnOnce(std::io::Error) -> String + '_ {
    move |e| format!("{context}: {e}")
}

impl Recorder {
    async fn send(&mut self, message: Value) -> Result<(), String> {
        self.client
            .send(&message)
            .await
            .map_err(io("sending to the runtime"))?;
        self.log.push(json!({"dir": "c2s", "msg": message}));
        Ok(())
    }

    /// Reads the next message off the wire (not from `pending`) and records it.
    async fn read(&mut self, timeout: Duration) -> std::io::Result<Value> {
        let line = self.client.next_line(timeout).await?;
        let message: Value = serde_json::from_str(&line)
            .map_err(|e| std::io::Error::other(format!("not JSON ({e}): {line}")))?;
        self.log.push(json!({"dir": "s2c", "msg": message.clone()}));
        Ok(message)
    }

    /// Takes the first message (pending ones first) for which `pred` holds; keeps the others.
    async fn wait_for(&mut self, mut pred: impl FnMut(&Value) -> bool) -> Result<Value, String> {
        if let Some(pos) = self.pending.iter().position(&mut pred) {
            return Ok(self.pending.remove(pos).expect("position is valid"));
        }
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let message = self.read(left).await.map_err(io("waiting for a message"))?;
            if pred(&message) {
                return Ok(message);
            }
            self.pending.push_back(message);
        }
    }

    /// Sends a request and returns its whole response (`result` or `error`).
    async fn call(&mut self, method: &str, params: Option<Value>) -> Result<Value, String> {
        let id = self.next_id;
        self.next_id += 1;
        let mut message = json!({"id": id, "method": method});
        if let Some(params) = params {
            message["params"] = params;
        }
        self.send(message).await?;
        self.wait_for(|m| m.get("id") == Some(&json!(id)) && m.get("method").is_none())
            .await
    }

    /// A request that must succeed; returns its `result`.
    async fn ok(&mut self, method: &str, params: Value) -> Result<Value, String> {
        let response = self.call(method, Some(params)).await?;
        match response.get("result") {
            Some(result) => Ok(result.clone()),
            None => Err(format!("{method} failed: {response}")),
        }
    }

    /// A request that must fail; returns its `error`.
    async fn err(&mut self, method: &str, params: Value) -> Result<Value, String> {
        let response = self.call(method, Some(params)).await?;
        match response.get("error") {
            Some(error) => Ok(error.clone()),
            None => Err(format!("{method} was expected to fail: {response}")),
        }
    }

    async fn notification(&mut self, method: &str) -> Result<Value, String> {
        self.wait_for(|m| m["method"] == method && m.get("id").is_none())
            .await
            .map_err(|e| format!("{method}: {e}"))
    }

    async fn initialize(&mut self) -> Result<(), String> {
        self.ok(
            "initialize",
            json!({"clientInfo": {"name": "openai_codex_fixtures", "title": "Fixture recorder",
                                  "version": "0.0.0"},
                   "capabilities": {"experimentalApi": true}}),
        )
        .await?;
        self.send(json!({"method": "initialized"})).await
    }

    /// `thread/start` in the workspace with extra params; returns the thread id.
    async fn start_thread(&mut self, extra: Value) -> Result<String, String> {
        let mut params = json!({"cwd": self.home.workspace()});
        merge(&mut params, extra);
        let result = self.ok("thread/start", params).await?;
        self.notification("thread/started").await?;
        str_at(&result, "/thread/id")
    }

    /// Starts a turn with one text input and collects it until `turn/completed`, answering
    /// server requests with `answer` (`None`: a JSON-RPC error). Returns the `turn` object.
    async fn turn(
        &mut self,
        thread_id: &str,
        text: &str,
        mut answer: impl FnMut(&Value) -> Option<Value>,
    ) -> Result<Value, String> {
        let result = self
            .ok(
                "turn/start",
                json!({"threadId": thread_id, "input": [{"type": "text", "text": text}]}),
            )
            .await?;
        let turn_id = str_at(&result, "/turn/id")?;
        loop {
            let message = self
                .wait_for(|m| {
                    m.get("id").is_some() && m.get("method").is_some()
                        || m["method"] == "turn/completed"
                })
                .await?;
            if message.get("id").is_some() {
                let reply = match answer(&message) {
                    Some(result) => json!({"id": message["id"], "result": result}),
                    None => json!({"id": message["id"],
                                   "error": {"code": -32601, "message": "not handled"}}),
                };
                self.send(reply).await?;
            } else if message["params"]["turn"]["id"] == turn_id.as_str() {
                return Ok(message["params"]["turn"].clone());
            }
        }
    }

    /// Reads until the connection has been silent for [`QUIET`].
    async fn settle(&mut self) -> Result<(), String> {
        loop {
            match self.read(QUIET).await {
                Ok(message) => self.pending.push_back(message),
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return Ok(()),
                Err(e) => return Err(format!("while settling: {e}")),
            }
        }
    }
}

fn merge(target: &mut Value, extra: Value) {
    if let (Some(target), Value::Object(extra)) = (target.as_object_mut(), extra) {
        target.extend(extra);
    }
}

fn str_at(value: &Value, pointer: &str) -> Result<String, String> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| format!("no string at {pointer} in {value}"))
}

fn expect_status(turn: &Value, status: &str) -> Result<(), String> {
    if turn["status"] == status {
        Ok(())
    } else {
        Err(format!("expected a {status} turn, got {turn}"))
    }
}

// The scenarios. Each runs after the handshake; the recorder settles and shuts down after it.

async fn initialize(r: &mut Recorder) -> Result<(), String> {
    // Only the handshake and what the server volunteers after it.
    r.settle().await
}

async fn thread_lifecycle(r: &mut Recorder) -> Result<(), String> {
    let thread = r
        .start_thread(json!({"approvalPolicy": "never", "sandbox": "workspace-write"}))
        .await?;
    r.ok("thread/read", json!({"threadId": thread})).await?;
    r.home.model().push(ResponseScript::text("First answer."));
    let turn = r.turn(&thread, "First question", |_| None).await?;
    expect_status(&turn, "completed")?;
    r.home.model().push(ResponseScript::text("Second answer."));
    let turn = r.turn(&thread, "Second question", |_| None).await?;
    expect_status(&turn, "completed")?;
    let first_turn = str_at(&turn, "/id")?;
    r.ok(
        "thread/read",
        json!({"threadId": thread, "includeTurns": true}),
    )
    .await?;
    r.ok("thread/turns/list", json!({"threadId": thread, "limit": 1}))
        .await?;
    r.ok("thread/loaded/list", json!({})).await?;
    r.ok(
        "thread/name/set",
        json!({"threadId": thread, "name": "Fixture thread"}),
    )
    .await?;
    r.notification("thread/name/updated").await?;
    r.ok("thread/list", json!({})).await?;
    let fork = r
        .ok(
            "thread/fork",
            json!({"threadId": thread, "lastTurnId": first_turn}),
        )
        .await?;
    let fork_id = str_at(&fork, "/thread/id")?;
    r.notification("thread/started").await?;
    r.ok("thread/archive", json!({"threadId": fork_id})).await?;
    r.notification("thread/archived").await?;
    r.ok("thread/list", json!({"archived": true})).await?;
    r.ok("thread/unarchive", json!({"threadId": fork_id}))
        .await?;
    r.notification("thread/unarchived").await?;
    r.ok("thread/resume", json!({"threadId": fork_id})).await?;
    r.home.model().push(ResponseScript::text("Resumed answer."));
    let turn = r.turn(&fork_id, "After resume", |_| None).await?;
    expect_status(&turn, "completed")
}

async fn text_turn(r: &mut Recorder) -> Result<(), String> {
    let thread = r
        .start_thread(json!({"approvalPolicy": "never", "sandbox": "workspace-write"}))
        .await?;
    r.home.model().push(
        ResponseScript::new()
            .message(AssistantMessage::commentary("Let me think.").chunks(2))
            .message(
                AssistantMessage::final_answer("Hello there, this reply arrives in pieces.")
                    .chunks(4),
            )
            .usage(Usage::new(100, 7).cached(40)),
    );
    let turn = r.turn(&thread, "Say hello", |_| None).await?;
    expect_status(&turn, "completed")
}

async fn reasoning_turn(r: &mut Recorder) -> Result<(), String> {
    let thread = r
        .start_thread(json!({"approvalPolicy": "never", "sandbox": "workspace-write"}))
        .await?;
    r.home.model().push(
        ResponseScript::new()
            .reasoning(
                Reasoning::summary("**Plan**")
                    .part("Then answer.")
                    .raw("raw thoughts"),
            )
            .message(AssistantMessage::new("Answer.").phase(Phase::FinalAnswer))
            .usage(Usage::new(50, 20).reasoning(12)),
    );
    let turn = r.turn(&thread, "Think first", |_| None).await?;
    expect_status(&turn, "completed")
}

async fn command_approval(r: &mut Recorder) -> Result<(), String> {
    let thread = r
        .start_thread(
            json!({"approvalPolicy": "on-request", "approvalsReviewer": "user",
                             "sandbox": "read-only"}),
        )
        .await?;
    let file = r.home.workspace().join("approved.txt");
    r.home.model().push(
        ResponseScript::new().exec_command(
            ExecCommand::new(format!("touch {} && echo created", file.display()))
                .login(false)
                .call_id("call_approval")
                .escalated("Need to create a file"),
        ),
    );
    r.home.model().push(ResponseScript::text("Created."));
    let mut asked = 0;
    let turn = r
        .turn(&thread, "Create the file", |request| {
            (request["method"] == "item/commandExecution/requestApproval").then(|| {
                asked += 1;
                json!({"decision": "accept"})
            })
        })
        .await?;
    expect_status(&turn, "completed")?;
    if asked != 1 {
        return Err(format!("expected one approval request, got {asked}"));
    }
    Ok(())
}

async fn command_execution(r: &mut Recorder) -> Result<(), String> {
    let thread = r
        .start_thread(json!({"approvalPolicy": "never", "sandbox": "workspace-write"}))
        .await?;
    r.home.model().push(
        ResponseScript::new()
            .message(AssistantMessage::commentary("Running it."))
            .exec_command(
                ExecCommand::new("echo fixture-output; sleep 0.3; echo more; exit 3")
                    .login(false)
                    .call_id("call_exit"),
            ),
    );
    r.home.model().push(ResponseScript::text("It failed."));
    let turn = r.turn(&thread, "Run it", |_| None).await?;
    expect_status(&turn, "completed")
}

async fn apply_patch(r: &mut Recorder) -> Result<(), String> {
    let thread = r
        .start_thread(json!({"approvalPolicy": "never", "sandbox": "workspace-write"}))
        .await?;
    std::fs::write(
        r.home.workspace().join("notes.txt"),
        "first\nold line\nlast\n",
    )
    .map_err(|e| format!("cannot write notes.txt: {e}"))?;
    r.home.model().push(ResponseScript::new().apply_patch(
        "*** Begin Patch\n*** Add File: hello.txt\n+hello\n+world\n\
         *** Update File: notes.txt\n@@\n first\n-old line\n+new line\n last\n*** End Patch\n",
    ));
    r.home.model().push(ResponseScript::text("Patched."));
    let turn = r.turn(&thread, "Add hello.txt", |_| None).await?;
    expect_status(&turn, "completed")
}

async fn models_and_account(r: &mut Recorder) -> Result<(), String> {
    r.ok("model/list", json!({})).await?;
    r.ok("model/list", json!({"includeHidden": true})).await?;
    r.ok("account/read", json!({})).await?;
    Ok(())
}

async fn error_responses(r: &mut Recorder) -> Result<(), String> {
    let thread = r
        .start_thread(json!({"approvalPolicy": "never", "sandbox": "workspace-write"}))
        .await?;
    let unknown = "00000000-0000-7000-8000-0000000000ff";
    r.err("thread/read", json!({"threadId": unknown})).await?;
    r.err(
        "turn/steer",
        json!({"threadId": thread, "expectedTurnId": "turn-none",
               "input": [{"type": "text", "text": "Too late"}]}),
    )
    .await?;
    r.err(
        "turn/start",
        json!({"threadId": unknown, "input": [{"type": "text", "text": "Hi"}]}),
    )
    .await?;
    r.err("thread/archive", json!({"threadId": unknown}))
        .await?;
    r.err("account/rateLimits/read", Value::Null).await?;
    Ok(())
}

async fn failed_turn(r: &mut Recorder) -> Result<(), String> {
    let thread = r
        .start_thread(json!({"approvalPolicy": "never", "sandbox": "workspace-write"}))
        .await?;
    r.home.model().push(ResponseScript::server_error());
    let turn = r.turn(&thread, "Fail please", |_| None).await?;
    expect_status(&turn, "failed")?;
    // `codexErrorInfo` as an object: `{"httpConnectionFailed":{"httpStatusCode":401}}`.
    r.home.model().push(ResponseScript::http_error(
        401,
        json!({"error": {"message": "bad key"}}).to_string(),
    ));
    let turn = r.turn(&thread, "Unauthorized", |_| None).await?;
    expect_status(&turn, "failed")?;
    r.home
        .model()
        .push(ResponseScript::new().failed("context_length_exceeded", "too long"));
    let turn = r.turn(&thread, "Too long", |_| None).await?;
    expect_status(&turn, "failed")
}

async fn file_change_approval(r: &mut Recorder) -> Result<(), String> {
    let thread = r
        .start_thread(
            json!({"approvalPolicy": "on-request", "approvalsReviewer": "user",
                             "sandbox": "read-only"}),
        )
        .await?;
    r.home.model().push(
        ResponseScript::new()
            .apply_patch("*** Begin Patch\n*** Add File: denied.txt\n+no\n*** End Patch\n"),
    );
    r.home.model().push(ResponseScript::text("Declined."));
    let turn = r
        .turn(&thread, "Add denied.txt", |request| {
            (request["method"] == "item/fileChange/requestApproval")
                .then(|| json!({"decision": "decline"}))
        })
        .await?;
    expect_status(&turn, "completed")
}

async fn auto_review(r: &mut Recorder) -> Result<(), String> {
    let thread = r
        .start_thread(
            json!({"approvalPolicy": "on-request", "approvalsReviewer": "auto_review",
                             "sandbox": "read-only"}),
        )
        .await?;
    let file = r.home.workspace().join("reviewed.txt");
    r.home.model().push(
        ResponseScript::new().exec_command(
            ExecCommand::new(format!("touch {} && echo reviewed", file.display()))
                .login(false)
                .call_id("call_review")
                .escalated("Need to write"),
        ),
    );
    r.home.model().push(ResponseScript::text("Done."));
    let turn = r.turn(&thread, "Write it", |_| None).await?;
    expect_status(&turn, "completed")
}

async fn interrupt_and_compaction(r: &mut Recorder) -> Result<(), String> {
    let thread = r
        .start_thread(json!({"approvalPolicy": "never", "sandbox": "workspace-write"}))
        .await?;
    r.home.model().push(
        ResponseScript::new()
            .message(AssistantMessage::new("one two three four five six").chunks(6))
            .delay_between(Duration::from_millis(200)),
    );
    let started = r
        .ok(
            "turn/start",
            json!({"threadId": thread, "input": [{"type": "text", "text": "Talk slowly"}],
                   "approvalPolicy": "on-request"}),
        )
        .await?;
    let turn_id = str_at(&started, "/turn/id")?;
    r.notification("item/agentMessage/delta").await?;
    r.ok(
        "turn/interrupt",
        json!({"threadId": thread, "turnId": turn_id}),
    )
    .await?;
    let completed = r.notification("turn/completed").await?;
    expect_status(&completed["params"]["turn"], "interrupted")?;
    // (A second `turn/interrupt` of the finished turn is not recorded: 0.163.0 never answers it.)

    r.home
        .model()
        .set_compaction_summary("Summary of the fixture thread.");
    r.ok("thread/compact/start", json!({"threadId": thread}))
        .await?;
    let completed = r.notification("turn/completed").await?;
    expect_status(&completed["params"]["turn"], "completed")
}

async fn account_login(r: &mut Recorder) -> Result<(), String> {
    r.ok("account/read", json!({})).await?;
    r.ok(
        "account/login/start",
        json!({"type": "apiKey", "apiKey": "sk-fixture"}),
    )
    .await?;
    r.notification("account/login/completed").await?;
    r.notification("account/updated").await?;
    r.ok("account/read", json!({})).await?;
    r.call("account/logout", None).await?;
    r.notification("account/updated").await?;
    Ok(())
}

/// Replaces what changes from run to run by stable placeholders of the same JSON type.
struct Normalizer {
    /// Folder prefixes (as the runtime may print them) → placeholder.
    paths: Vec<(String, &'static str)>,
    uuids: BTreeMap<String, String>,
}

/// Members holding wall-clock times or durations.
const TIME_KEYS: &[&str] = &[
    "emittedAtMs",
    "startedAtMs",
    "completedAtMs",
    "createdAt",
    "updatedAt",
    "startedAt",
    "completedAt",
    "durationMs",
    "recencyAt",
];

impl Normalizer {
    fn new(home: &RuntimeHome) -> Self {
        let root = home
            .codex_home()
            .parent()
            .expect("the home has a parent folder")
            .to_path_buf();
        let mut paths = Vec::new();
        let mut add = |path: &Path, placeholder| {
            let text = path.to_string_lossy().into_owned();
            if !paths.iter().any(|(p, _)| *p == text) {
                paths.push((text, placeholder));
            }
        };
        add(&root, "/fixture");
        if let Ok(canonical) = root.canonicalize() {
            add(&canonical, "/fixture");
            // Diffs name files relative to the enclosing git repository: this one.
            if let Ok(repo) = crate::workspace_root().canonicalize() {
                if let Ok(relative) = canonical.strip_prefix(repo) {
                    add(relative, "fixture");
                }
            }
        }
        // The scripted model's address (its port is picked at random) appears in HTTP errors.
        paths.push((home.model().url(), "http://127.0.0.1:9"));
        // Longest first, so a prefix never shadows a longer spelling.
        paths.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        Self {
            paths,
            uuids: BTreeMap::new(),
        }
    }

    fn lines(mut self, log: Vec<Value>) -> Vec<String> {
        log.into_iter()
            .map(|mut entry| {
                self.value(&mut entry, None);
                serde_json::to_string(&entry).expect("a Value serializes")
            })
            .collect()
    }

    fn value(&mut self, value: &mut Value, key: Option<&str>) {
        match value {
            Value::Object(map) => self.object(map),
            Value::Array(items) => items.iter_mut().for_each(|v| self.value(v, None)),
            Value::String(s) => *s = self.string(s, key),
            Value::Number(n) if key.is_some_and(|k| TIME_KEYS.contains(&k)) => {
                *n = if n.is_f64() {
                    serde_json::Number::from_f64(1.0).expect("finite")
                } else {
                    1.into()
                };
            }
            _ => {}
        }
    }

    fn object(&mut self, map: &mut Map<String, Value>) {
        // Keys can be ids too (`readStates` is keyed by thread id).
        *map = std::mem::take(map)
            .into_iter()
            .map(|(key, mut value)| {
                self.value(&mut value, Some(&key));
                (self.string(&key, None), value)
            })
            .collect();
    }

    fn string(&mut self, s: &str, key: Option<&str>) -> String {
        match key {
            // The operating system's process id of a running command.
            Some("processId") => return "1000".to_owned(),
            // The machine's name.
            Some("serverName") => return "fixture-host".to_owned(),
            // `thread.gitInfo`: the homes live inside this repository's target folder, so the
            // runtime reports the checkout's commit and branch.
            Some("sha") => return "0".repeat(40),
            Some("branch") => return "main".to_owned(),
            _ => {}
        }
        let mut out = s.to_owned();
        for (path, placeholder) in &self.paths {
            out = out.replace(path.as_str(), placeholder);
        }
        out = self.replace_uuids(&out);
        replace_iso_times(&replace_rollout_times(&out))
    }

    /// Each distinct UUID becomes `00000000-0000-7000-8000-<n>` (n counting from 1 in order of
    /// appearance), so the same id stays the same across the file.
    fn replace_uuids(&mut self, s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = String::with_capacity(s.len());
        let mut i = 0;
        while i < bytes.len() {
            if i + 36 <= bytes.len()
                && is_uuid(&bytes[i..i + 36])
                && (i == 0 || !bytes[i - 1].is_ascii_hexdigit())
                && bytes.get(i + 36).is_none_or(|b| !b.is_ascii_hexdigit())
            {
                let found = &s[i..i + 36];
                let next = self.uuids.len() + 1;
                let placeholder = self
                    .uuids
                    .entry(found.to_ascii_lowercase())
                    .or_insert_with(|| format!("00000000-0000-7000-8000-{next:012}"));
                out.push_str(placeholder);
                i += 36;
            } else {
                let ch = s[i..].chars().next().expect("in bounds");
                out.push(ch);
                i += ch.len_utf8();
            }
        }
        out
    }
}

fn is_uuid(bytes: &[u8]) -> bool {
    bytes.iter().enumerate().all(|(i, b)| match i {
        8 | 13 | 18 | 23 => *b == b'-',
        _ => b.is_ascii_hexdigit(),
    })
}

/// Rollout files are named `sessions/YYYY/MM/DD/rollout-YYYY-MM-DDTHH-MM-SS-<id>.jsonl`.
fn replace_rollout_times(s: &str) -> String {
    let Some(start) = s.find("rollout-") else {
        return s.to_owned();
    };
    let mut out = s.to_owned();
    let stamp = start + "rollout-".len();
    if out.len() >= stamp + 19 && out.is_char_boundary(stamp + 19) {
        out.replace_range(stamp..stamp + 19, "2000-01-01T00-00-00");
    }
    for marker in ["sessions/", "archived_sessions/"] {
        if let Some(at) = out.find(marker) {
            let date = at + marker.len();
            let candidate = out.get(date..date + 11).unwrap_or("");
            if candidate.len() == 11
                && candidate.as_bytes()[4] == b'/'
                && candidate.as_bytes()[7] == b'/'
                && candidate.as_bytes()[10] == b'/'
            {
                out.replace_range(date..date + 10, "2000/01/01");
            }
        }
    }
    out
}

/// `2025-11-25T16:27:44.529Z` (as found in paging cursors) → `2000-01-01T00:00:00.000Z`.
fn replace_iso_times(s: &str) -> String {
    const SHAPE: &[u8] = b"dddd-dd-ddTdd:dd:dd";
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < bytes.len() {
        let matches = bytes.len() >= i + SHAPE.len()
            && SHAPE.iter().zip(&bytes[i..]).all(|(want, got)| match want {
                b'd' => got.is_ascii_digit(),
                other => other == got,
            });
        if matches {
            let mut end = i + SHAPE.len();
            let mut fraction = 0;
            if bytes.get(end) == Some(&b'.') {
                end += 1;
                while bytes.get(end).is_some_and(u8::is_ascii_digit) {
                    end += 1;
                    fraction += 1;
                }
            }
            out.push_str("2000-01-01T00:00:00");
            if fraction > 0 {
                out.push('.');
                out.extend(std::iter::repeat_n('0', fraction));
            }
            i = end;
        } else {
            let ch = s[i..].chars().next().expect("in bounds");
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollout_names_lose_their_time() {
        assert_eq!(
            replace_rollout_times("/h/sessions/2025/11/25/rollout-2025-11-25T16-24-51-0000.jsonl"),
            "/h/sessions/2000/01/01/rollout-2000-01-01T00-00-00-0000.jsonl"
        );
        assert_eq!(replace_rollout_times("no rollout here"), "no rollout here");
    }

    #[test]
    fn iso_times_are_fixed() {
        assert_eq!(
            replace_iso_times("{\"at\":\"2026-11-25T16:27:44.529Z\"} 2026-11-25T16:27:44Z"),
            "{\"at\":\"2000-01-01T00:00:00.000Z\"} 2000-01-01T00:00:00Z"
        );
    }

    #[test]
    fn uuids_are_numbered_in_order() {
        let mut n = Normalizer {
            paths: Vec::new(),
            uuids: BTreeMap::new(),
        };
        let a = "019ab3c4-1111-7222-8333-444455556666";
        let b = "019AB3C4-1111-7222-8333-444455557777";
        assert_eq!(
            n.replace_uuids(&format!("{a} {b} x{a}")),
            "00000000-0000-7000-8000-000000000001 00000000-0000-7000-8000-000000000002 \
             x00000000-0000-7000-8000-000000000001"
        );
    }
}
