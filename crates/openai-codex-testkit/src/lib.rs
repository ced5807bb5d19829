//! Test support for `openai-codex`: run the **real** Codex runtime against a scripted model.
//!
//! The parts:
//!
//! * [`model`]: [`MockModel`], a fake OpenAI Responses API on `127.0.0.1` that answers each
//!   model call with a [`ResponseScript`] (streamed text, reasoning, shell and `apply_patch`
//!   tool calls, HTTP errors, cut or hanging streams, delays) and records every request as a
//!   [`CapturedRequest`]. Auto-review and compaction calls are answered on the side, so they
//!   never eat the scripts a test queued.
//! * [`home`]: [`RuntimeHome`], a throwaway `CODEX_HOME` whose `config.toml` and model catalog
//!   point the runtime at its own `MockModel`, plus a workspace folder for the thread cwd.
//!   [`RuntimeHome::config`] gives the SDK configuration; [`RuntimeHome::env_vars`] the
//!   environment for processes spawned by hand.
//! * [`fake_server`]: a fault-injecting fake app-server binary (`codex-fake-app-server`) for what
//!   the runtime cannot be made to do on demand: crashes, junk lines, floods of deltas, every kind
//!   of server request, JSON-RPC errors. Point the SDK at [`fake_server::fake_app_server_bin`].
//! * [`listener`]: [`ListeningRuntime`], the real runtime listening on `ws://127.0.0.1:PORT` or
//!   a Unix socket (with any `--ws-auth` flags), for the SDK's network transports.
//! * [`raw_client`]: [`RawClient`], an untyped JSON-RPC client over a child's stdio, for tests that
//!   talk to the runtime without the SDK.
//!
//! Every home has its own mock and port, so tests run in parallel. Nothing but `127.0.0.1` is
//! contacted: the generated config turns off plugins, update checks, analytics and feedback.
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use openai_codex_testkit::{AssistantMessage, ExecCommand, ResponseScript, RuntimeHome};
//! use serde_json::json;
//!
//! # async fn example() -> std::io::Result<()> {
//! let home = RuntimeHome::new()?;
//! // First model call: run a command. Second call (carrying the command's output): answer.
//! home.model().push(ResponseScript::new().exec_command(ExecCommand::new("echo hi")));
//! home.model().push(ResponseScript::new().message(AssistantMessage::final_answer("Done.").chunks(3)));
//!
//! // With the SDK: `AsyncCodex::start(home.config())`. Or by hand:
//! let mut client = home.spawn_app_server()?;
//! let timeout = Duration::from_secs(30);
//! client.initialize(timeout).await?;
//! let started = client
//!     .request("thread/start", json!({"cwd": home.workspace(), "approvalPolicy": "never",
//!                                     "sandbox": "workspace-write"}), timeout)
//!     .await?;
//! let thread_id = started["result"]["thread"]["id"].clone();
//! client
//!     .request("turn/start", json!({"threadId": thread_id,
//!                                   "input": [{"type": "text", "text": "Say hi"}]}), timeout)
//!     .await?;
//! client.wait_notification("turn/completed", timeout).await?;
//!
//! let requests = home.model().turn_requests();
//! assert_eq!(requests[0].last_user_text().as_deref(), Some("Say hi"));
//! assert!(requests[1].last_tool_output().unwrap().contains("hi"));
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

pub mod fake_server;
pub mod home;
pub mod listener;
pub mod model;
pub mod raw_client;

pub use home::{RuntimeHome, RuntimeHomeBuilder, TestEnv, MOCK_MODEL_SLUG};
pub use listener::{Listen, ListeningRuntime};
pub use model::{
    AssistantMessage, CapturedRequest, ExecCommand, MockModel, Phase, Reasoning, RequestKind,
    ResponseScript, ToolOutput, Usage, Verdict, WaitTimeout,
};
pub use raw_client::RawClient;

/// The crate README's example, compiled as a doc test so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoc;
