//! The demo behind `cargo xtask demo`: one real Codex turn, streamed to the terminal.
//!
//! It uses whatever login the runtime finds (`$CODEX_HOME/auth.json`, `~/.codex/auth.json`); with
//! no login but `OPENAI_API_KEY` set, it logs in with that key first.
//!
//! ```sh
//! cargo run -p openai-codex --example demo
//! ```

use std::io::Write;

use futures::StreamExt;
use openai_codex::types::ServerNotification;
use openai_codex::{AsyncCodex, CodexConfig, Sandbox, ThreadStartOptions, TurnEvent, TurnOptions};

const PROMPT: &str = "In three short sentences: introduce yourself as Codex, and say what a Rust \
                      program can do by driving you through the app-server.";

#[tokio::main]
async fn main() -> openai_codex::Result<()> {
    let codex = AsyncCodex::new(CodexConfig::default()).await?;
    let meta = codex.metadata();
    println!("Codex runtime {} {}", meta.server_name, meta.server_version);

    let account = codex.account(false).await?;
    if account.account.is_none() && account.requires_openai_auth {
        if let Ok(key) = std::env::var("OPENAI_API_KEY") {
            codex.login_api_key(key.trim()).await?;
            println!("logged in with OPENAI_API_KEY");
        }
    }

    // An ephemeral, read-only thread: the demo changes nothing and leaves no stored thread.
    let thread = codex
        .thread_start(
            ThreadStartOptions::default()
                .sandbox(Sandbox::ReadOnly)
                .ephemeral(true),
        )
        .await?;
    println!("> {PROMPT}\n");

    let turn = thread.turn(PROMPT, TurnOptions::default()).await?;
    let mut events = turn.stream();
    while let Some(event) = events.next().await {
        if let TurnEvent::Notification(notification) = event? {
            if let ServerNotification::ItemAgentMessageDelta(delta) = &*notification {
                print!("{}", delta.delta);
                std::io::stdout().flush().ok();
            }
        }
    }
    drop(events);

    let result = turn.run().await?;
    println!();
    if let (Some(ms), Some(usage)) = (result.duration_ms, &result.usage) {
        println!(
            "\n[{:?} in {:.1} s, {} tokens]",
            result.status,
            ms as f64 / 1000.0,
            usage.last.total_tokens
        );
    }
    codex.close().await;
    Ok(())
}
