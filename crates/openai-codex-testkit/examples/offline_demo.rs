//! The offline half of `cargo xtask demo`: runs a program against the real, pinned Codex runtime
//! with a scripted local model instead of OpenAI's.
//!
//! ```sh
//! cargo run -p openai-codex-testkit --example offline_demo -- <program> [args...]
//! ```
//!
//! It creates a throwaway `CODEX_HOME` whose config points the runtime at a [`MockModel`] on
//! `127.0.0.1`, scripts a friendly streamed answer for every prompt, and runs `<program>` with
//! that home's environment (`CODEX_HOME`, and `PATH` with the runtime's helpers) in the home's
//! workspace folder. The program itself is ordinary SDK code; `cargo xtask demo` passes the
//! `demo` example of the `openai-codex` crate.
//!
//! [`MockModel`]: openai_codex_testkit::MockModel

use std::process::{Command, ExitCode};
use std::time::Duration;

use openai_codex_testkit::{AssistantMessage, Reasoning, ResponseScript, RuntimeHome, Usage};

const ANSWER: &str = "Hi! I'm a scripted stand-in for the model, but everything else here is \
real: your Rust program started the pinned Codex runtime as a child process, opened a thread and \
a turn over JSON-RPC on stdio, and these words arrive as streamed `item/agentMessage/delta` \
notifications. Log in with `codex login` or set OPENAI_API_KEY, and `cargo xtask demo` talks to \
the real model instead.";

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(program) = args.next() else {
        eprintln!("usage: offline_demo <program> [args...]");
        return ExitCode::FAILURE;
    };
    let home = match RuntimeHome::new() {
        Ok(home) => home,
        Err(error) => {
            eprintln!("cannot prepare an offline Codex home: {error}");
            return ExitCode::FAILURE;
        }
    };
    home.model().set_responder(|_| {
        ResponseScript::new()
            .reasoning(Reasoning::summary("Greet the user and explain the demo."))
            .message(AssistantMessage::final_answer(ANSWER).chunks(60))
            .delay_between(Duration::from_millis(30))
            .usage(Usage::new(1200, 90))
    });
    eprintln!(
        "No Codex login or OPENAI_API_KEY found: using a scripted local model (at {}) with the real runtime.",
        home.model().url()
    );
    let status = Command::new(&program)
        .args(args)
        .envs(home.env_vars())
        .current_dir(home.workspace())
        .status();
    match status {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("{} exited with {status}", program.to_string_lossy());
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("cannot run {}: {error}", program.to_string_lossy());
            ExitCode::FAILURE
        }
    }
}
