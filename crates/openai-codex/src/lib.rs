//! Rust SDK for the Codex app-server (work in progress).
#![deny(missing_docs)]

pub mod config;
pub mod error;
pub mod turn;

pub use config::CodexConfig;
pub use error::{Error, Result};
