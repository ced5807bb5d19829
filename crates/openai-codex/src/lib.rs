//! Rust SDK for the Codex app-server (work in progress).
#![deny(missing_docs)]

pub mod codex;
pub mod config;
pub mod error;
pub mod handler;
pub mod metadata;
pub mod retry;
pub mod router;
mod rpc;
pub mod thread;
pub mod transport;
pub mod turn;

pub use codex::AsyncCodex;
pub use config::CodexConfig;
pub use error::{Error, Result};
pub use retry::{retry_on_overload, RetryOptions};
