//! Rust SDK for the Codex app-server: threads, turns, streaming, approvals.
//!
//! [`AsyncCodex`] is the async client; with the default `blocking` feature, [`Codex`] (in
//! [`blocking`]) is the same API for synchronous code. With the default `install` feature, a
//! client that finds no runtime installs the pinned one ([`runtime`]) into a per-user cache, so
//! a fresh project needs nothing but this crate:
//!
//! ```no_run
//! use openai_codex::{AsyncCodex, CodexConfig, ThreadStartOptions, TurnOptions};
//!
//! # async fn example() -> openai_codex::Result<()> {
//! let codex = AsyncCodex::new(CodexConfig::default()).await?;
//! let thread = codex.thread_start(ThreadStartOptions::default()).await?;
//! let result = thread.run("Say hello in one sentence.", TurnOptions::default()).await?;
//! println!("{}", result.final_response.unwrap_or_default());
//! codex.close().await;
//! # Ok(()) }
//! ```
//!
//! Cargo features: `blocking` (the synchronous API) and `install` (the runtime installer and the
//! `openai-codex` command-line tool), both on by default.
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

/// This SDK's version (the Python SDK's `openai_codex.__version__`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub mod approval;
#[cfg(feature = "blocking")]
pub mod blocking;
pub mod codex;
pub mod config;
pub mod daemon;
pub mod endpoint;
pub mod error;
pub mod goal;
pub mod goal_turn;
pub mod handler;
pub mod inputs;
pub mod login;
pub mod metadata;
pub mod overflow;
pub mod pool;
pub mod reconnect;
pub mod retry;
pub mod router;
mod rpc;
pub mod runtime;
pub mod sandbox;
mod spans;
#[cfg(feature = "typed")]
pub mod structured;
pub mod thread;
pub mod transport;
pub mod turn;
mod version;
mod websocket;

/// The protocol types, generated from the runtime's JSON Schema (`openai-codex-protocol`).
pub use openai_codex_protocol as types;

pub use approval::{AcceptAll, DeclineAll, RequestHandler};
#[cfg(feature = "blocking")]
pub use blocking::{
    ChatgptLoginHandle, Codex, CodexPool, DeviceCodeLoginHandle, GoalHandle, GoalTurn,
    GoalTurnIter, LocalDaemon, Thread, TurnHandle,
};
pub use codex::AsyncCodex;
pub use config::CodexConfig;
pub use daemon::{AsyncLocalDaemon, DaemonStatus};
pub use endpoint::{Endpoint, IntoEndpoint, SignedBearer};
pub use error::{is_retryable_error, Error, ErrorCode, ErrorKind, Result, RpcError};
pub use goal::{AsyncGoalHandle, GoalResult};
pub use goal_turn::{AsyncGoalTurn, GoalTurnStream};
pub use inputs::{
    ExternalContent, ExternalMessage, ImageInput, Input, InputItem, LocalImageInput, MentionInput,
    RunInput, SkillInput, TextInput,
};
pub use login::{AsyncChatgptLoginHandle, AsyncDeviceCodeLoginHandle};
pub use overflow::OverflowPolicy;
pub use pool::{AsyncCodexPool, MemberStatus, PoolThreadPage};
pub use reconnect::ReconnectPolicy;
pub use retry::{retry_on_overload, RetryOptions};
pub use router::{GlobalEvent, TurnEvent};
pub use sandbox::{ApprovalMode, Sandbox};
#[cfg(feature = "typed")]
pub use structured::TypedTurnResult;
pub use thread::{
    AsyncThread, ThreadForkOptions, ThreadListOptions, ThreadResumeOptions, ThreadStartOptions,
    TurnOptions,
};
pub use turn::{AsyncTurnHandle, InterruptOutcome, TurnResult, TurnStream};

/// The Rust snippets of `docs/deploying.md`, compiled as doc tests so the recipe stays true.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/deploying.md")]
struct DeployingDoc;
