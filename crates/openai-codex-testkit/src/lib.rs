//! Test support for `openai-codex`. (Crate docs are written by the testkit work.)

pub mod fake_server;
pub mod raw_client;
