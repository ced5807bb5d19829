//! Rust SDK for the Codex app-server (work in progress).
//!
//! [`AsyncCodex`] is the async client; with the default `blocking` feature, [`Codex`] (in
//! [`blocking`]) is the same API for synchronous code.
#![deny(missing_docs)]

pub mod approval;
#[cfg(feature = "blocking")]
pub mod blocking;
pub mod codex;
pub mod config;
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
pub mod sandbox;
pub mod thread;
pub mod transport;
pub mod turn;
mod websocket;

/// The protocol types, generated from the runtime's JSON Schema (`openai-codex-protocol`).
pub use openai_codex_protocol as types;

pub use approval::{AcceptAll, DeclineAll, RequestHandler};
#[cfg(feature = "blocking")]
pub use blocking::{
    retry_on_overload as retry_on_overload_blocking, ChatgptLoginHandle, Codex, CodexPool,
    DeviceCodeLoginHandle, GoalHandle, GoalTurn, GoalTurnIter, Thread, TurnHandle,
};
pub use codex::AsyncCodex;
pub use config::CodexConfig;
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
pub use pool::{AsyncCodexPool, MemberStatus};
pub use reconnect::ReconnectPolicy;
pub use retry::{retry_on_overload, RetryOptions};
pub use router::{GlobalEvent, TurnEvent};
pub use sandbox::{ApprovalMode, Sandbox};
pub use thread::{
    AsyncThread, ThreadForkOptions, ThreadListOptions, ThreadResumeOptions, ThreadStartOptions,
    TurnOptions,
};
pub use turn::{AsyncTurnHandle, TurnResult, TurnStream};

/// The Rust snippets of `docs/deploying.md`, compiled as doc tests so the recipe stays true.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/deploying.md")]
struct DeployingDoc;
