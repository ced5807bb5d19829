//! Async parity, blocking half: this program and `async_parity.rs` do the same thing, one with
//! `AsyncCodex` and one with the blocking `Codex`. The method names, arguments and results match.
//!
//! ```sh
//! cargo run -p openai-codex --example async_parity_blocking
//! ```

use std::io::Write;

use openai_codex::types::ServerNotification;
use openai_codex::{Codex, CodexConfig, ThreadStartOptions, TurnOptions};

fn main() -> openai_codex::Result<()> {
    let codex = Codex::new(CodexConfig::default())?;
    println!("runtime {}", codex.metadata().server_version);

    let thread = codex.thread_start(ThreadStartOptions::default())?;

    // 1. Stream a turn.
    let turn = thread.turn("Say hello to the async world.", TurnOptions::default())?;
    for event in turn.stream() {
        if let Some(ServerNotification::ItemAgentMessageDelta(delta)) = event?.notification() {
            print!("{}", delta.delta);
            std::io::stdout().flush().ok();
        }
    }
    println!();

    // 2. Run a turn to completion.
    let result = thread.run(
        "Now say goodbye, in five words or fewer.",
        TurnOptions::default(),
    )?;
    println!(
        "{}",
        result.final_response.as_deref().unwrap_or("(no answer)")
    );
    println!("status: {:?}, items: {}", result.status, result.items.len());

    codex.close();
    Ok(())
}
