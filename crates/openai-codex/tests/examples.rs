//! Runs every example in `examples/` as its own process, the way a user would: the built example
//! binary, started in a workspace folder with the environment of a [`RuntimeHome`] (`CODEX_HOME`
//! pointing at a scripted local model, `PATH` with the runtime's helpers). Nothing in the
//! examples knows it is being tested; the scripted model answers each prompt sensibly, and the
//! assertions read what the example printed.
//!
//! The examples are built once, by `cargo build --examples -p openai-codex` (a no-op when
//! `cargo test` has already built them), and found next to this test's binary.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use openai_codex_testkit::{
    AssistantMessage, CapturedRequest, ExecCommand, Reasoning, ResponseScript, RuntimeHome, Usage,
};
use serde_json::json;

/// How long one example may run before the test kills it.
const EXAMPLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The folder holding the built examples (`target/<profile>/examples`), built on first use.
fn examples_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "--examples", "-p", "openai-codex"])
            .current_dir(&workspace)
            .status()
            .expect("run cargo build --examples");
        assert!(status.success(), "cargo build --examples failed: {status}");
        // This test runs from target/<profile>/deps/examples-<hash>.
        let exe = std::env::current_exe().expect("test executable path");
        exe.parent()
            .and_then(Path::parent)
            .expect("target/<profile>")
            .join("examples")
    })
}

/// A slowly streamed answer (for steering and interrupting).
fn slow(text: &str, chunks: usize) -> ResponseScript {
    ResponseScript::new()
        .message(AssistantMessage::final_answer(text).chunks(chunks))
        .delay_between(Duration::from_millis(150))
}

/// A streamed final answer.
fn answer(text: &str) -> ResponseScript {
    ResponseScript::new()
        .message(AssistantMessage::final_answer(text).chunks(6))
        .usage(Usage::new(120, 24))
}

/// The scripted model: a sensible answer for every prompt the examples send.
fn respond(request: &CapturedRequest, overloaded_once: &AtomicBool) -> ResponseScript {
    if let Some(schema) = request.output_schema() {
        let properties = &schema["properties"];
        if properties.get("first_stable_release_year").is_some() {
            return ResponseScript::new().json(&json!({
                "name": "Rust",
                "first_stable_release_year": 2015,
                "notable_features": ["ownership and borrowing", "zero-cost abstractions", "fearless concurrency"]
            }));
        }
        return ResponseScript::new().json(&json!({
            "summary": "A sandbox limits what the agent's commands can read and write.",
            "confidence": 0.9
        }));
    }
    if request.model() == Some("no-such-model") {
        return ResponseScript::bad_request("The model `no-such-model` does not exist");
    }
    if !request.input_images().is_empty() {
        return answer("A small orange-red square.");
    }
    let prompt = request.last_user_text().unwrap_or_default();
    if request
        .body
        .to_string()
        .contains("Draft a three-line README")
    {
        // A goal turn: mark the goal complete with the runtime's tool, then answer.
        return if request.last_tool_output().is_some() {
            answer("Todo: a tiny app to track what to do.\nAdd, check off, and delete tasks.\nRun it with `todo`.")
        } else {
            ResponseScript::new().function_call("update_goal", &json!({"status": "complete"}))
        };
    }
    if prompt.contains("hello.txt") {
        // The sandbox is read-only: ask to run the command outside it (an approval request).
        return if request.last_tool_output().is_some() {
            answer("Created hello.txt.")
        } else {
            ResponseScript::new().exec_command(
                ExecCommand::new("touch hello.txt")
                    .login(false)
                    .escalated("Need to create hello.txt in the workspace"),
            )
        };
    }
    let history = request.user_texts().join("\n");
    let has = |needle: &str| prompt.contains(needle);
    if has("Say hello in one sentence") {
        answer("Hello from Codex!")
    } else if has("three prime numbers") {
        ResponseScript::new()
            .reasoning(Reasoning::summary("Pick small primes."))
            .message(AssistantMessage::final_answer(
                "2, 3 and 5: each has exactly two divisors, 1 and itself.",
            ))
            .usage(Usage::new(300, 40))
    } else if has("JSON-RPC notification") {
        answer("A notification is a JSON-RPC message without an id, so it gets no response.")
    } else if has("Remember this") {
        answer("Got it: your favorite color is teal.")
    } else if has("What is my favorite color") {
        if history.contains("teal") {
            answer("Your favorite color is teal.")
        } else {
            answer("I don't know your favorite color.")
        }
    } else if has("octopuses") {
        answer("An octopus has three hearts.")
    } else if has("squids") {
        answer("Squids can change colour in milliseconds.")
    } else if has("cuttlefish") {
        answer("Cuttlefish have W-shaped pupils.")
    } else if has("haiku") {
        if overloaded_once.swap(true, Ordering::SeqCst) {
            answer("Busy servers rest / we wait a breath, then again / the answer arrives")
        } else {
            ResponseScript::server_overloaded()
        }
    } else if has("what are you good at") {
        answer("I am good at reading, writing and explaining code.")
    } else if has("Count slowly") {
        slow(&(1..=30).map(|n| format!("{n}\n")).collect::<String>(), 30)
    } else if has("Change of plan") {
        answer("done")
    } else if has("essay") || has("long story") {
        slow(
            "Once upon a time, long before laptops, people computed with gears and patience. ",
            40,
        )
    } else if has("about a cat instead") {
        answer("A cat lived in the lighthouse and kept the lamp company.")
    } else if has("capital of France") {
        answer("Paris")
    } else if has("12 times 12") {
        answer("144")
    } else if has("largest planet") {
        answer("Jupiter")
    } else if has("blue and yellow") {
        answer("Green")
    } else if has("introduce yourself as Codex") {
        answer("I am Codex, a coding agent. A Rust program can start threads, stream my answers and steer me.")
    } else if has("hello to the async world") {
        answer("Hello, async world!")
    } else if has("say goodbye") {
        answer("Goodbye for now!")
    } else {
        answer(&format!("You said: {prompt}"))
    }
}

/// A runtime home whose scripted model answers like [`respond`].
fn home() -> RuntimeHome {
    let home = RuntimeHome::new().expect("create a runtime home");
    let overloaded_once = AtomicBool::new(false);
    home.model()
        .set_responder(move |request| respond(request, &overloaded_once));
    home
}

/// A running example: its output so far, its stdin, and its exit.
struct Session {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
    started: Instant,
}

fn pump(mut from: impl Read + Send + 'static, into: Arc<Mutex<String>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(n) = from.read(&mut buffer) {
            if n == 0 {
                break;
            }
            into.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buffer[..n]));
        }
    })
}

impl Session {
    /// Starts example `name` with `args`, in the home's workspace, with the home's environment.
    fn start(name: &str, args: &[&str], home: &RuntimeHome) -> Self {
        let binary = examples_dir().join(name);
        assert!(
            binary.is_file(),
            "example binary {} is missing",
            binary.display()
        );
        let mut command = Command::new(&binary);
        // Its own process group, like a job in a terminal, so `interrupt` can signal the whole
        // group as Ctrl-C does (the runtime child included).
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command
            .args(args)
            .envs(home.env_vars())
            .env_remove("OPENAI_API_KEY")
            .current_dir(home.workspace())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let readers = vec![
            pump(child.stdout.take().unwrap(), Arc::clone(&stdout)),
            pump(child.stderr.take().unwrap(), Arc::clone(&stderr)),
        ];
        Self {
            name: name.to_string(),
            stdin: child.stdin.take(),
            child,
            stdout,
            stderr,
            readers,
            started: Instant::now(),
        }
    }

    fn output(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    fn describe(&self) -> String {
        format!(
            "example {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.name,
            self.output(),
            self.stderr.lock().unwrap()
        )
    }

    /// Waits until stdout contains `needle`.
    fn wait_for(&self, needle: &str) {
        self.wait_for_count(needle, 1);
    }

    /// Waits until stdout contains `needle` at least `count` times.
    fn wait_for_count(&self, needle: &str, count: usize) {
        loop {
            if self.output().matches(needle).count() >= count {
                return;
            }
            assert!(
                self.started.elapsed() < EXAMPLE_TIMEOUT,
                "timed out waiting for {needle:?}; {}",
                self.describe()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        writeln!(stdin, "{line}").expect("write to the example's stdin");
        stdin.flush().unwrap();
    }

    fn close_stdin(&mut self) {
        self.stdin.take();
    }

    /// Ctrl-C: SIGINT to the example's whole process group, as a terminal sends it.
    fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", "--", &format!("-{}", self.child.id())])
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// Waits for the exit and returns stdout; panics (with the output) on failure or timeout.
    fn finish(mut self) -> String {
        self.close_stdin();
        let status: ExitStatus = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if self.started.elapsed() > EXAMPLE_TIMEOUT {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("timed out; {}", self.describe());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        assert!(
            status.success(),
            "exit status {status}; {}",
            self.describe()
        );
        self.output()
    }
}

/// Runs an example to completion and returns its stdout.
fn run(name: &str, args: &[&str], home: &RuntimeHome) -> String {
    Session::start(name, args, home).finish()
}

fn assert_contains(output: &str, needles: &[&str]) {
    for needle in needles {
        assert!(output.contains(needle), "missing {needle:?} in:\n{output}");
    }
}

#[test]
fn quickstart() {
    let home = home();
    let out = run("quickstart", &[], &home);
    assert_contains(&out, &["connected to codex 0.163.0", "Hello from Codex!"]);
}

#[test]
fn tracing_spans() {
    let home = home();
    let out = run("tracing_spans", &[], &home);
    assert_contains(
        &out,
        &[
            "codex.client{runtime_pid=",
            "codex.request{method=\"initialize\"",
            "codex.turn{thread_id=",
            "status=\"completed\"",
            "total_tokens=",
            "close",
            "answer: Hello from Codex!",
        ],
    );
    assert!(!out.contains("Say hello"), "no prompt text in spans: {out}");
}

#[test]
fn run_turn() {
    let home = home();
    let out = run("run_turn", &[], &home);
    assert_contains(
        &out,
        &[
            "status:   Completed",
            "- user message",
            "- reasoning",
            "- agent message",
            "usage:    300 input + 40 output tokens",
            "2, 3 and 5",
        ],
    );
}

#[test]
fn stream_turn() {
    let home = home();
    let out = run("stream_turn", &[], &home);
    assert_contains(
        &out,
        &[
            "A notification is a JSON-RPC message without an id",
            "[turn Completed]",
        ],
    );
    let deltas: usize = out
        .split("streamed ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("the delta count line");
    assert!(deltas >= 2, "{out}");
}

#[test]
fn continue_thread() {
    let home = home();
    let out = run("continue_thread", &[], &home);
    assert_contains(
        &out,
        &[
            "created thread",
            "resumed thread",
            "Your favorite color is teal.",
            "the thread now has 2 turns",
        ],
    );
    // Given an id, the example resumes that thread.
    let id = out
        .lines()
        .find_map(|line| line.strip_prefix("created thread "))
        .unwrap()
        .trim()
        .to_string();
    let out = run("continue_thread", &[&id], &home);
    assert_contains(&out, &[&format!("resumed thread {id}"), "teal", "3 turns"]);
}

#[test]
fn thread_lifecycle() {
    let home = home();
    let out = run("thread_lifecycle", &[], &home);
    assert_contains(
        &out,
        &[
            "name Some(\"Octopus facts\")",
            "recent threads:",
            "Octopus facts",
            "Squids can change colour",
            "compacted the original thread (Completed)",
            "archived fork listed under archived: true",
            "unarchived fork answers again: Cuttlefish",
        ],
    );
}

#[test]
fn image_input() {
    let home = home();
    let out = run("image_input", &[], &home);
    assert_contains(&out, &["A small orange-red square."]);
    let images = home.model().turn_requests()[0].input_images();
    assert!(
        images[0].starts_with("data:image/png;base64,"),
        "{images:?}"
    );
}

#[test]
fn local_image() {
    let home = home();
    let out = run("local_image", &[], &home);
    assert_contains(
        &out,
        &["wrote ", "(74 bytes)", "A small orange-red square."],
    );
    // The runtime read the file and sent it as a data URL.
    let images = home.model().turn_requests()[0].input_images();
    assert!(
        images[0].starts_with("data:image/png;base64,"),
        "{images:?}"
    );
}

#[test]
fn async_parity() {
    let home = home();
    let out = run("async_parity", &[], &home);
    assert_contains(
        &out,
        &[
            "runtime 0.163.0",
            "Hello, async world!",
            "Goodbye for now!",
            "status: Completed",
        ],
    );
}

#[test]
fn errors_and_retry() {
    let home = home();
    let out = run("errors_and_retry", &[], &home);
    assert_contains(
        &out,
        &[
            "1. invalid input `effort`",
            "2. JSON-RPC error -32600",
            "3. attempt 1",
            "3. attempt 2",
            "3. answer after 2 attempt(s):",
            "Busy servers rest",
            "4. turn failed:",
            "no-such-model",
            "status Failed",
        ],
    );
}

#[test]
fn interactive_cli() {
    let home = home();
    let mut cli = Session::start("interactive_cli", &[], &home);
    cli.wait_for("> ");
    // A plain turn.
    cli.type_line("What is the capital of France?");
    cli.wait_for("Paris");
    cli.wait_for("[Completed]");
    // A line typed while a turn runs steers it.
    cli.type_line("Tell me a long story about a lighthouse.");
    cli.wait_for("Once upon");
    cli.type_line("Make it about a cat instead.");
    cli.wait_for("[steered: Make it about a cat instead.]");
    cli.wait_for("A cat lived in the lighthouse");
    cli.wait_for_count("[Completed]", 2);
    // Ctrl-C interrupts the running turn; the program goes on.
    cli.type_line("Now write an essay about computing.");
    cli.wait_for_count("Once upon", 2);
    cli.interrupt();
    cli.wait_for("[interrupting]");
    cli.wait_for("[Interrupted]");
    cli.wait_for_count("> ", 4);
    cli.type_line("What is 12 times 12?");
    cli.wait_for("144");
    // End of input ends the program.
    let out = cli.finish();
    assert!(out.trim_end().ends_with("bye"), "{out}");
}

#[test]
fn kitchen_sink() {
    let home = home();
    let out = run("kitchen_sink", &[], &home);
    assert_contains(
        &out,
        &[
            "status: Completed",
            "summary:    \"A sandbox limits",
            "confidence: 0.9",
        ],
    );
    let request = home.model().turn_requests().pop().unwrap();
    assert!(request.output_schema().is_some());
}

#[test]
fn model_selection() {
    let home = home();
    let out = run("model_selection", &[], &home);
    assert_contains(
        &out,
        &[
            "available models:",
            "mock-model",
            "efforts: low, medium, high",
            "using mock-model with effort low",
            "I am good at reading",
        ],
    );
}

#[test]
fn turn_controls() {
    let home = home();
    let out = run("turn_controls", &[], &home);
    assert_contains(
        &out,
        &[
            "[steered turn",
            "steered turn: Completed, answer: done",
            "interrupted turn: Interrupted",
        ],
    );
}

#[test]
fn login_account() {
    let home = home();
    let out = run("login_account", &[], &home);
    assert_contains(
        &out,
        &[
            "OPENAI_API_KEY is not set",
            "account: not logged in",
            "does not require OpenAI authentication",
        ],
    );
}

#[test]
fn structured_output() {
    let home = home();
    let out = run("structured_output", &[], &home);
    assert_contains(
        &out,
        &["Rust (stable since 2015)", "  - fearless concurrency"],
    );
}

#[test]
fn concurrent_turns() {
    let home = home();
    let out = run("concurrent_turns", &[], &home);
    assert_contains(
        &out,
        &[
            "A: Paris",
            "A: 144",
            "A: Jupiter",
            "A: Green",
            "4 turns finished",
        ],
    );
}

#[test]
fn demo() {
    let home = home();
    let out = run("demo", &[], &home);
    assert_contains(
        &out,
        &["Codex runtime codex 0.163.0", "I am Codex", "[Completed in"],
    );
}

#[test]
fn approvals() {
    let home = home();
    let out = run("approvals", &[], &home);
    assert_contains(
        &out,
        &[
            "approval requested: `/bin/bash -c 'touch hello.txt'`",
            "reason: Need to create hello.txt in the workspace",
            "decision: accept",
            "Completed",
            "Created hello.txt.",
            "hello.txt exists: true",
        ],
    );
}

#[test]
fn goals() {
    let home = home();
    let out = run("goals", &[], &home);
    assert_contains(
        &out,
        &[
            "goal started: Draft a three-line README",
            "goal turn 1 (Completed)",
            "answer (Completed):\nTodo: a tiny app",
            "goal Complete after 1 turn(s)",
            "already finished: Some(Completed)",
        ],
    );
}

// The blocking twins print the same as their async originals.

#[test]
fn quickstart_blocking() {
    let home = home();
    let out = run("quickstart_blocking", &[], &home);
    assert_contains(&out, &["connected to codex 0.163.0", "Hello from Codex!"]);
}

#[test]
fn run_turn_blocking() {
    let home = home();
    let out = run("run_turn_blocking", &[], &home);
    assert_contains(
        &out,
        &[
            "status:   Completed",
            "- reasoning",
            "usage:    300 input + 40 output tokens",
            "2, 3 and 5",
        ],
    );
}

#[test]
fn stream_turn_blocking() {
    let home = home();
    let out = run("stream_turn_blocking", &[], &home);
    assert_contains(
        &out,
        &[
            "A notification is a JSON-RPC message without an id",
            "[turn Completed]",
            "streamed ",
        ],
    );
}

#[test]
fn continue_thread_blocking() {
    let home = home();
    let out = run("continue_thread_blocking", &[], &home);
    assert_contains(
        &out,
        &[
            "created thread",
            "resumed thread",
            "Your favorite color is teal.",
            "the thread now has 2 turns",
        ],
    );
}

#[test]
fn async_parity_blocking() {
    let home = home();
    let blocking = run("async_parity_blocking", &[], &home);
    let home = self::home();
    let asynchronous = run("async_parity", &[], &home);
    assert_contains(&blocking, &["Hello, async world!", "Goodbye for now!"]);
    assert_eq!(
        blocking, asynchronous,
        "the same program both ways prints the same"
    );
}
