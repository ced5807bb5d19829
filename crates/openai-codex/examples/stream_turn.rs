//! Stream a turn's events as they happen: answer text token by token, reasoning summaries,
//! commands, and the completion.
//!
//! ```sh
//! cargo run -p openai-codex --example stream_turn
//! ```

use std::io::Write;

use futures::StreamExt;
use openai_codex::types::{ServerNotification, ThreadItem};
use openai_codex::{AsyncCodex, CodexConfig, ThreadStartOptions, TurnEvent, TurnOptions};

#[tokio::main]
async fn main() -> openai_codex::Result<()> {
    let codex = AsyncCodex::new(CodexConfig::default()).await?;
    let thread = codex.thread_start(ThreadStartOptions::default()).await?;

    let turn = thread
        .turn(
            "Explain in a short paragraph what a JSON-RPC notification is.",
            TurnOptions::default(),
        )
        .await?;
    println!("turn {} started", turn.id());

    let mut deltas = 0;
    let mut events = turn.stream();
    while let Some(event) = events.next().await {
        match event? {
            TurnEvent::Notification(notification) => match &*notification {
                ServerNotification::ItemAgentMessageDelta(delta) => {
                    deltas += 1;
                    print!("{}", delta.delta);
                    std::io::stdout().flush().ok();
                }
                ServerNotification::ItemReasoningSummaryTextDelta(delta) => {
                    print!("\x1b[2m{}\x1b[0m", delta.delta);
                    std::io::stdout().flush().ok();
                }
                ServerNotification::ItemStarted(started) => {
                    if let ThreadItem::CommandExecution(command) = &started.item {
                        println!("\n$ {}", command.command);
                    }
                }
                ServerNotification::ItemCompleted(done) => {
                    if let ThreadItem::AgentMessage(_) = &done.item {
                        println!();
                    }
                }
                ServerNotification::TurnCompleted(done) => {
                    println!("[turn {:?}]", done.turn.status);
                }
                _ => {}
            },
            // This consumer fell behind and some deltas were skipped; items stay complete.
            TurnEvent::Lagged { dropped } => println!("\n[skipped {dropped} deltas]"),
            _ => {}
        }
    }
    drop(events);

    // The handle collected the result while we streamed; run() returns it without waiting.
    let result = turn.run().await?;
    println!(
        "streamed {deltas} deltas; final answer has {} characters",
        result.final_response.map_or(0, |text| text.len())
    );

    codex.close().await;
    Ok(())
}
