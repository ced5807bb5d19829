//! Stream a turn's events as they happen: answer text token by token, reasoning summaries, (blocking API).
//! commands, and the completion.
//!
//! ```sh
//! cargo run -p openai-codex --example stream_turn_blocking
//! ```

use std::io::Write;

use openai_codex::types::{ServerNotification, ThreadItem};
use openai_codex::{Codex, CodexConfig, ThreadStartOptions, TurnEvent, TurnOptions};

fn main() -> openai_codex::Result<()> {
    let codex = Codex::new(CodexConfig::default())?;
    let thread = codex.thread_start(ThreadStartOptions::default())?;

    let turn = thread.turn(
        "Explain in a short paragraph what a JSON-RPC notification is.",
        TurnOptions::default(),
    )?;
    println!("turn {} started", turn.id());

    let mut deltas = 0;
    for event in turn.stream() {
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

    // The handle collected the result while we streamed; run() returns it without waiting.
    let result = turn.run()?;
    println!(
        "streamed {deltas} deltas; final answer has {} characters",
        result.final_response.map_or(0, |text| text.len())
    );

    codex.close();
    Ok(())
}
