//! Turn controls: steer a running turn with extra input, and interrupt another one.
//!
//! ```sh
//! cargo run -p openai-codex --example turn_controls
//! ```

use std::io::Write;

use futures::StreamExt;
use openai_codex::types::ServerNotification;
use openai_codex::{AsyncCodex, AsyncTurnHandle, CodexConfig, ThreadStartOptions, TurnOptions};

#[tokio::main]
async fn main() -> openai_codex::Result<()> {
    let codex = AsyncCodex::new(CodexConfig::default()).await?;
    let thread = codex.thread_start(ThreadStartOptions::default()).await?;

    // Steer: once the answer starts streaming, add an instruction to the same turn.
    let turn = thread
        .turn(
            "Count slowly from 1 to 30, one number per line.",
            TurnOptions::default(),
        )
        .await?;
    wait_for_first_words(&turn).await?;
    match turn
        .steer("Change of plan: stop counting and just say 'done'.")
        .await
    {
        Ok(_) => println!("\n[steered turn {}]", turn.id()),
        // A fast model may have finished already; steering then has nothing to join.
        Err(error) => println!("\n[turn finished before the steer: {error}]"),
    }
    let steered = turn.run().await?;
    println!(
        "steered turn: {:?}, answer: {}",
        steered.status,
        steered.final_response.as_deref().unwrap_or("(none)")
    );

    // Interrupt: stop a long answer once it starts.
    let turn = thread
        .turn(
            "Write a long essay about the history of computing.",
            TurnOptions::default(),
        )
        .await?;
    wait_for_first_words(&turn).await?;
    turn.interrupt().await?;
    let interrupted = turn.run().await?;
    println!("\ninterrupted turn: {:?}", interrupted.status);

    codex.close().await;
    Ok(())
}

/// Streams the turn until its first answer text arrives, echoing it.
async fn wait_for_first_words(turn: &AsyncTurnHandle) -> openai_codex::Result<()> {
    let mut events = turn.stream();
    while let Some(event) = events.next().await {
        if let Some(ServerNotification::ItemAgentMessageDelta(delta)) = event?.notification() {
            print!("{}", delta.delta);
            std::io::stdout().flush().ok();
            return Ok(());
        }
    }
    Ok(())
}
