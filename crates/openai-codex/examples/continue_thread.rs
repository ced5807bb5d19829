//! Continue an existing thread: resume it by id (also from a new runtime process) and run
//! another turn with its history.
//!
//! ```sh
//! cargo run -p openai-codex --example continue_thread             # creates a thread first
//! cargo run -p openai-codex --example continue_thread -- <THREAD_ID>
//! ```

use openai_codex::{AsyncCodex, CodexConfig, ThreadResumeOptions, ThreadStartOptions, TurnOptions};

#[tokio::main]
async fn main() -> openai_codex::Result<()> {
    let thread_id = match std::env::args().nth(1) {
        Some(id) => id,
        None => create_thread().await?,
    };

    // A new client (a new runtime process): the thread is loaded from its stored rollout.
    let codex = AsyncCodex::new(CodexConfig::default()).await?;
    let thread = codex
        .thread_resume(&thread_id, ThreadResumeOptions::default())
        .await?;
    println!("resumed thread {}", thread.id());

    let result = thread
        .run(
            "What is my favorite color? Answer in one short sentence.",
            TurnOptions::default(),
        )
        .await?;
    println!(
        "{}",
        result.final_response.as_deref().unwrap_or("(no answer)")
    );

    let stored = thread.read(true).await?;
    println!("the thread now has {} turns", stored.thread.turns.len());

    codex.close().await;
    Ok(())
}

/// Starts a thread, runs a first turn, and closes the client. Returns the thread id.
async fn create_thread() -> openai_codex::Result<String> {
    let codex = AsyncCodex::new(CodexConfig::default()).await?;
    let thread = codex.thread_start(ThreadStartOptions::default()).await?;
    let first = thread
        .run(
            "Remember this: my favorite color is teal. Just acknowledge it.",
            TurnOptions::default(),
        )
        .await?;
    println!("created thread {}", thread.id());
    println!(
        "{}",
        first.final_response.as_deref().unwrap_or("(no answer)")
    );
    let id = thread.id().to_string();
    codex.close().await;
    Ok(id)
}
