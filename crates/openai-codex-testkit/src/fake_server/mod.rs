//! A fault-injecting fake Codex app-server, for SDK tests and benchmarks of what the real runtime
//! cannot be made to do (early completions, unknown messages, every server-request kind, JSON-RPC
//! errors, junk on stdout, crashes, millions of deltas per second).
//!
//! The binary `codex-fake-app-server` is launched like the runtime:
//! `codex-fake-app-server [--config X | -c X]... app-server --listen stdio://`
//! (`--config` options are ignored; `--version` prints `codex-cli 0.163.0`). It speaks the
//! newline-delimited JSON-RPC of the real app-server on stdin/stdout, and exits once stdin is
//! closed and the turns that can still finish have finished.
//!
//! # Scenario
//!
//! What it does is read from a JSON object given as a file path in [`SCRIPT_ENV`]
//! (`CODEX_FAKE_SCRIPT`) and/or as a JSON string in [`SCENARIO_ENV`] (`CODEX_FAKE_SCENARIO`);
//! keys of the string override keys of the file. Unknown keys are an error (exit code 2).
//! Build one with [`FakeScenario`]. Knobs (all optional):
//!
//! | key | default | effect |
//! |---|---|---|
//! | `deltas` | 3 | `item/agentMessage/delta` notifications per turn |
//! | `delta_text` | `"Hello. "` | text of each delta (the final agent message is the concatenation) |
//! | `concurrent` | false | deltas of all active turns are interleaved round-robin (default: the oldest turn streams to its end first) |
//! | `interleave_after_turns` | none | C: hold the deltas of started turns until C turns are waiting, then stream them round-robin (batches of C) |
//! | `stamp_deltas` | false | each delta's text is the send time in Unix nanoseconds (decimal), also given as the number `params.sentAtNs` |
//! | `slow_deltas_ms` | 0 | pause before each delta (the server keeps answering `turn/steer`/`turn/interrupt` meanwhile) |
//! | `completed_before_response` | false | `turn/started`, the items and `turn/completed` are all sent before the `turn/start` response |
//! | `unknown_notifications` | false | after `turn/started`: `fake/unknownTurnEvent` (with `threadId`/`turnId`) and `fake/unknownGlobalEvent` (without) |
//! | `unknown_server_request` | false | the server request `fake/unknownRequest` is sent during the turn (after `server_requests`) |
//! | `server_requests` | none | `"all"` or a list of server-request methods, sent one by one during the turn, each waiting for its reply (then `serverRequest/resolved`); afterwards the notification `fake/serverRequestReplies {threadId, turnId, replies: [{method, reply}]}` carries the client's full reply objects |
//! | `error_for` | `{}` | `{"<method>": {"code", "message", "data"?, "times"?}}`: answer that method with this JSON-RPC error (only the first `times` calls when given) |
//! | `junk_line` | false | `true`: a non-JSON line (`junk_text`) before every `turn/start` response; a method or list of methods: before those responses |
//! | `junk_text` | a sentence | the junk line |
//! | `never_answer` | `[]` | methods whose requests are never answered |
//! | `exit_mid_turn` | none | `{"after_deltas": N, "code": 1, "stderr": ""}`: after N deltas of a turn (or at the end of its deltas when it has fewer) flush stdout, write `stderr` to stderr and exit with `code` |
//! | `fail_turn` | none | `true` or a `TurnError` object: after the deltas, `error` + `turn/completed` with status `failed` |
//! | `duplicate_completion` | false | a normal turn's `turn/completed` is sent twice, byte for byte the same (a late duplicate or a replay) |
//! | `go_silent` | false | after its deltas the turn sends nothing more (no item completion, no `turn/completed`) until `turn/interrupt`, which ends it as `interrupted` |
//! | `echo_requests` | false | each request is echoed first as the notification `fake/request {id, method, params}` |
//! | `login_outcome` | `"success"` | browser/device-code logins: `success`, `failure`, `pending` (until `account/login/cancel`), `success_before_response` |
//! | `version` | `"0.163.0"` | version in `--version` and in the `initialize` user agent |
//! | `model` | `"fake-model"` | the model of threads and `model/list` |
//! | `turns` | `[]` | per-`turn/start` overrides: the n-th `turn/start` request (0-based, counting every one received) uses `turns[n]` merged over the top level; this includes its `error_for`, `never_answer`, `junk_line` and `echo_requests` |
//!
//! Example: `{"deltas": 5, "concurrent": true, "server_requests": ["item/tool/call"],
//! "error_for": {"thread/list": {"code": -32001, "message": "Server overloaded; retry later.",
//! "times": 1}},
//! "turns": [{"fail_turn": true}, {}]}`.
//!
//! # Always answered
//!
//! `initialize` (user agent `codex_fake/0.163.0 (Linux; x86_64) fake (<name>; <version>)`,
//! codexHome `/fake/home`), `thread/start|resume|fork` (+ `thread/started` for start and fork),
//! `thread/read|list|archive|unarchive|name/set|compact/start`, `model/list`,
//! `account/read|login/start|login/cancel|logout`, `turn/start` (joins an active turn like the
//! runtime), `turn/steer`, `turn/interrupt`. Errors follow the runtime's texts (-32600
//! `Not initialized`, `thread not found: <id>`, `no active turn to steer`, unknown methods, ...).
//! A normal turn sends: `thread/status/changed` (active), `turn/started`, `item/started` +
//! `item/completed` (userMessage), `item/started` (agentMessage), the deltas, `item/completed`
//! (agentMessage), `thread/tokenUsage/updated`, `thread/status/changed` (idle), `turn/completed`.

mod listen;
mod scenario;
mod server;
mod shapes;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{json, Map, Value};

/// Environment variable holding the path of a JSON scenario file.
pub const SCRIPT_ENV: &str = "CODEX_FAKE_SCRIPT";
/// Environment variable holding a JSON scenario string (its keys override the file's).
pub const SCENARIO_ENV: &str = "CODEX_FAKE_SCENARIO";
/// Environment variable that, when set, overrides where [`fake_app_server_bin`] looks.
pub const BIN_ENV: &str = "CODEX_FAKE_APP_SERVER_BIN";
/// Name of the fake app-server binary (without the platform's executable suffix).
pub const BIN_NAME: &str = "codex-fake-app-server";
/// The runtime's answer to a request it is too busy to take (0.163.0, code -32001, no `data`):
/// the exact text of its binary (`strings codex | grep 'Server overloaded'`).
pub const RUNTIME_OVERLOAD_MESSAGE: &str = "Server overloaded; retry later.";
/// The 10 server-request kinds of the 0.163.0 protocol, as sent by `server_requests: "all"`.
pub const ALL_SERVER_REQUESTS: [&str; 10] = scenario::ALL_SERVER_REQUESTS;

/// Entry point of the `codex-fake-app-server` binary: parses `args` (including the program
/// name), reads the scenario from the environment and serves stdin/stdout. Returns the exit code.
pub fn main_with_args(args: impl IntoIterator<Item = String>) -> i32 {
    let mut args = args.into_iter().skip(1);
    let mut app_server = false;
    let mut version = false;
    let mut listen: Option<String> = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-c" | "--config" => {
                args.next();
            }
            "--version" | "-V" => version = true,
            "app-server" => app_server = true,
            "--listen" => listen = args.next(),
            a if a.starts_with("--config=") || (a.starts_with("-c") && a.len() > 2) => {}
            a if a.starts_with("--listen=") => listen = Some(a["--listen=".len()..].to_owned()),
            other => {
                eprintln!("{BIN_NAME}: unexpected argument {other:?}");
                return 2;
            }
        }
    }
    let scenarios = match scenario::Scenarios::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{BIN_NAME}: bad scenario: {e}");
            return 2;
        }
    };
    if version {
        println!("codex-cli {}", scenarios.base.version);
        return 0;
    }
    if !app_server {
        eprintln!("usage: {BIN_NAME} [--config X]... app-server --listen stdio://");
        return 2;
    }
    match listen.as_deref() {
        None | Some("stdio://") => server::run(scenarios),
        Some(l) if l.starts_with("ws://") || l.starts_with("unix://") => listen::serve(l),
        Some(l) => {
            eprintln!("{BIN_NAME}: --listen takes stdio://, ws://IP:PORT or unix://PATH, got {l}");
            2
        }
    }
}

/// Checks a scenario JSON object without running it (the same parsing the binary does).
///
/// # Errors
/// With the parse error text, for example an unknown key.
pub fn validate_scenario(scenario: &Value) -> Result<(), String> {
    match scenario {
        Value::Object(m) => scenario::Scenarios::from_map(m.clone()).map(|_| ()),
        _ => Err("the scenario must be a JSON object".to_owned()),
    }
}

/// A builder for the fake app-server's scenario JSON (see the module docs for every knob).
///
/// ```
/// use openai_codex_testkit::fake_server::FakeScenario;
/// let s = FakeScenario::new().deltas(200_000).completed_before_response(true);
/// assert_eq!(
///     s.to_value(),
///     serde_json::json!({"completed_before_response": true, "deltas": 200000})
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FakeScenario {
    map: Map<String, Value>,
}

impl FakeScenario {
    /// An empty scenario (every knob at its default).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets any key to any JSON value (escape hatch for knobs without a method).
    #[must_use]
    pub fn set(mut self, key: &str, value: Value) -> Self {
        self.map.insert(key.to_owned(), value);
        self
    }

    /// `deltas`: number of `item/agentMessage/delta` notifications per turn.
    #[must_use]
    pub fn deltas(self, n: u64) -> Self {
        self.set("deltas", json!(n))
    }

    /// `delta_text`: the text of each delta.
    #[must_use]
    pub fn delta_text(self, text: &str) -> Self {
        self.set("delta_text", json!(text))
    }

    /// `concurrent`: interleave the deltas of all active turns round-robin.
    #[must_use]
    pub fn concurrent(self, on: bool) -> Self {
        self.set("concurrent", json!(on))
    }

    /// `interleave_after_turns`: wait until `c` turns have started, then interleave them.
    #[must_use]
    pub fn interleave_after_turns(self, c: usize) -> Self {
        self.set("interleave_after_turns", json!(c))
    }

    /// `stamp_deltas`: each delta's text is its send time in Unix nanoseconds (also `sentAtNs`).
    #[must_use]
    pub fn stamp_deltas(self, on: bool) -> Self {
        self.set("stamp_deltas", json!(on))
    }

    /// `slow_deltas_ms`: pause before each delta.
    #[must_use]
    pub fn slow_deltas_ms(self, ms: u64) -> Self {
        self.set("slow_deltas_ms", json!(ms))
    }

    /// `completed_before_response`: the whole turn is streamed before the `turn/start` response.
    #[must_use]
    pub fn completed_before_response(self, on: bool) -> Self {
        self.set("completed_before_response", json!(on))
    }

    /// `unknown_notifications`: send unknown notifications with and without a `turnId`.
    #[must_use]
    pub fn unknown_notifications(self, on: bool) -> Self {
        self.set("unknown_notifications", json!(on))
    }

    /// `unknown_server_request`: send the server request `fake/unknownRequest` during the turn.
    #[must_use]
    pub fn unknown_server_request(self, on: bool) -> Self {
        self.set("unknown_server_request", json!(on))
    }

    /// `server_requests`: these server-request methods are sent during each turn.
    #[must_use]
    pub fn server_requests<I, S>(self, methods: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let list: Vec<String> = methods.into_iter().map(Into::into).collect();
        self.set("server_requests", json!(list))
    }

    /// `server_requests: "all"`: every one of the 10 server-request kinds.
    #[must_use]
    pub fn all_server_requests(self) -> Self {
        self.set("server_requests", json!("all"))
    }

    /// `error_for`: answer `method` with this JSON-RPC error (always).
    #[must_use]
    pub fn error_for(self, method: &str, code: i64, message: &str, data: Option<Value>) -> Self {
        self.error_spec(method, code, message, data, None)
    }

    /// `error_for` with `times`: answer only the first `times` calls of `method` with the error.
    #[must_use]
    pub fn error_for_times(
        self,
        method: &str,
        code: i64,
        message: &str,
        data: Option<Value>,
        times: u64,
    ) -> Self {
        self.error_spec(method, code, message, data, Some(times))
    }

    fn error_spec(
        mut self,
        method: &str,
        code: i64,
        message: &str,
        data: Option<Value>,
        times: Option<u64>,
    ) -> Self {
        let mut spec = json!({"code": code, "message": message});
        if let Some(d) = data {
            spec["data"] = d;
        }
        if let Some(t) = times {
            spec["times"] = json!(t);
        }
        let entry = self.map.entry("error_for").or_insert_with(|| json!({}));
        if !entry.is_object() {
            *entry = json!({});
        }
        entry[method] = spec;
        self
    }

    /// `junk_line: true`: a non-JSON line on stdout before every `turn/start` response.
    #[must_use]
    pub fn junk_line(self, on: bool) -> Self {
        self.set("junk_line", json!(on))
    }

    /// `junk_line: "<method>"`: a non-JSON line before the responses to `method`.
    #[must_use]
    pub fn junk_line_before(self, method: &str) -> Self {
        self.set("junk_line", json!(method))
    }

    /// `never_answer`: requests of these methods are never answered.
    #[must_use]
    pub fn never_answer<I, S>(self, methods: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let list: Vec<String> = methods.into_iter().map(Into::into).collect();
        self.set("never_answer", json!(list))
    }

    /// `exit_mid_turn`: after `after_deltas` deltas, write `stderr` and exit with `code`.
    #[must_use]
    pub fn exit_mid_turn(self, after_deltas: u64, code: i32, stderr: &str) -> Self {
        self.set(
            "exit_mid_turn",
            json!({"after_deltas": after_deltas, "code": code, "stderr": stderr}),
        )
    }

    /// `fail_turn`: the turn fails with this `TurnError` (`error` + `turn/completed` failed).
    #[must_use]
    pub fn fail_turn(self, turn_error: Value) -> Self {
        self.set("fail_turn", turn_error)
    }

    /// `duplicate_completion`: send a normal turn's `turn/completed` twice, identical.
    #[must_use]
    pub fn duplicate_completion(self, on: bool) -> Self {
        self.set("duplicate_completion", json!(on))
    }

    /// `go_silent`: after its deltas the turn sends nothing until `turn/interrupt`.
    #[must_use]
    pub fn go_silent(self, on: bool) -> Self {
        self.set("go_silent", json!(on))
    }

    /// `echo_requests`: echo each request as the notification `fake/request`.
    #[must_use]
    pub fn echo_requests(self, on: bool) -> Self {
        self.set("echo_requests", json!(on))
    }

    /// `login_outcome`: `success`, `failure`, `pending` or `success_before_response`.
    #[must_use]
    pub fn login_outcome(self, outcome: &str) -> Self {
        self.set("login_outcome", json!(outcome))
    }

    /// `version`: the runtime version the fake claims.
    #[must_use]
    pub fn version(self, version: &str) -> Self {
        self.set("version", json!(version))
    }

    /// `turns`: per-`turn/start` overrides, in order.
    #[must_use]
    pub fn turns<I>(self, turns: I) -> Self
    where
        I: IntoIterator<Item = FakeScenario>,
    {
        let list: Vec<Value> = turns.into_iter().map(|t| t.to_value()).collect();
        self.set("turns", Value::Array(list))
    }

    /// The scenario as a JSON value.
    pub fn to_value(&self) -> Value {
        Value::Object(self.map.clone())
    }

    /// The scenario as a compact JSON string (the value of `CODEX_FAKE_SCENARIO`).
    pub fn to_json(&self) -> String {
        Value::Object(self.map.clone()).to_string()
    }

    /// Environment variables that make the fake play this scenario.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![(SCENARIO_ENV.to_owned(), self.to_json())]
    }
}

/// Environment variables that make the fake app-server play `scenario`
/// (`CODEX_FAKE_SCENARIO=<json>`).
pub fn fake_env(scenario: &FakeScenario) -> Vec<(String, String)> {
    scenario.env()
}

/// Path of the `codex-fake-app-server` binary.
///
/// [`BIN_ENV`] wins when set. Otherwise the binary is looked up next to the current executable
/// (`target/<profile>/`, also when the executable is a test in `target/<profile>/deps/`) and, when
/// missing, built once per process with
/// `cargo build -p openai-codex-testkit --bin codex-fake-app-server` (`--release` for a
/// `release` directory).
///
/// # Panics
/// When the current executable cannot be located or the build fails.
pub fn fake_app_server_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os(BIN_ENV) {
            return PathBuf::from(p);
        }
        let exe = std::env::current_exe().expect("current executable");
        let mut dir = exe.parent().expect("executable directory").to_path_buf();
        if dir.file_name().is_some_and(|n| n == "deps") {
            dir.pop();
        }
        let bin = dir.join(format!("{BIN_NAME}{}", std::env::consts::EXE_SUFFIX));
        if bin.exists() {
            return bin;
        }
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args([
            "build",
            "--quiet",
            "-p",
            "openai-codex-testkit",
            "--bin",
            BIN_NAME,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
        let profile = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        if profile == "release" {
            cmd.arg("--release");
        }
        if profile == "debug" || profile == "release" {
            if let Some(target_dir) = dir.parent() {
                cmd.arg("--target-dir").arg(target_dir);
            }
        }
        let status = cmd
            .status()
            .expect("run cargo build for the fake app-server");
        assert!(status.success(), "building {BIN_NAME} failed: {status}");
        assert!(
            bin.exists(),
            "{} is still missing after the build",
            bin.display()
        );
        bin
    })
    .clone()
}
