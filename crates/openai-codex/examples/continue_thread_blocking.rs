//! Continue an existing thread: resume it by id (also from a new runtime process) and run (blocking API).
//! another turn with its history.
//!
//! ```sh
//! cargo run -p openai-codex --example continue_thread_blocking             # creates a thread first
//! cargo run -p openai-codex --example continue_thread_blocking -- <THREAD_ID>
//! ```

use openai_codex::{Codex, CodexConfig, ThreadResumeOptions, ThreadStartOptions, TurnOptions};

fn main() -> openai_codex::Result<()> {
    let thread_id = match std::env::args().nth(1) {
        Some(id) => id,
        None => create_thread()?,
    };

    // A new client (a new runtime process): the thread is loaded from its stored rollout.
    let codex = Codex::new(CodexConfig::default())?;
    let thread = codex.thread_resume(&thread_id, ThreadResumeOptions::default())?;
    println!("resumed thread {}", thread.id());

    let result = thread.run(
        "What is my favorite color? Answer in one short sentence.",
        TurnOptions::default(),
    )?;
    println!(
        "{}",
        result.final_response.as_deref().unwrap_or("(no answer)")
    );

    let stored = thread.read(true)?;
    println!("the thread now has {} turns", stored.thread.turns.len());

    codex.close();
    Ok(())
}

/// Starts a thread, runs a first turn, and closes the client. Returns the thread id.
fn create_thread() -> openai_codex::Result<String> {
    let codex = Codex::new(CodexConfig::default())?;
    let thread = codex.thread_start(ThreadStartOptions::default())?;
    let first = thread.run(
        "Remember this: my favorite color is teal. Just acknowledge it.",
        TurnOptions::default(),
    )?;
    println!("created thread {}", thread.id());
    println!(
        "{}",
        first.final_response.as_deref().unwrap_or("(no answer)")
    );
    let id = thread.id().to_string();
    codex.close();
    Ok(id)
}
