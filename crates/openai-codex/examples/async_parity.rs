//! Async parity: this program and `async_parity_blocking.rs` do the same thing, one with
//! `AsyncCodex` and one with the blocking `Codex`. The method names, arguments and results match.
//!
//! ```sh
//! cargo run -p openai-codex --example async_parity
//! ```

use std::io::Write;

use futures::StreamExt;
use openai_codex::types::ServerNotification;
use openai_codex::{AsyncCodex, CodexConfig, ThreadStartOptions, TurnOptions};

#[tokio::main]
async fn main() -> openai_codex::Result<()> {
    let codex = AsyncCodex::new(CodexConfig::default()).await?;
    println!("runtime {}", codex.metadata().server_version);

    let thread = codex.thread_start(ThreadStartOptions::default()).await?;

    // 1. Stream a turn.
    let turn = thread
        .turn("Say hello to the async world.", TurnOptions::default())
        .await?;
    let mut events = turn.stream();
    while let Some(event) = events.next().await {
        if let Some(ServerNotification::ItemAgentMessageDelta(delta)) = event?.notification() {
            print!("{}", delta.delta);
            std::io::stdout().flush().ok();
        }
    }
    println!();
    drop(events);

    // 2. Run a turn to completion.
    let result = thread
        .run(
            "Now say goodbye, in five words or fewer.",
            TurnOptions::default(),
        )
        .await?;
    println!(
        "{}",
        result.final_response.as_deref().unwrap_or("(no answer)")
    );
    println!("status: {:?}, items: {}", result.status, result.items.len());

    codex.close().await;
    Ok(())
}
