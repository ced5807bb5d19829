//! Goal turns: give a thread an objective; the runtime then starts turns by itself until the
//! goal is complete (or paused, blocked, out of budget). Each goal turn arrives as an ordinary
//! turn handle.
//!
//! ```sh
//! cargo run -p openai-codex --example goals
//! ```

use openai_codex::{AsyncCodex, CodexConfig, ThreadStartOptions, TurnOptions};

const OBJECTIVE: &str = "Draft a three-line README for a todo-list app (answer with the text, \
                         change no files), then mark the goal complete.";

#[tokio::main]
async fn main() -> openai_codex::Result<()> {
    let codex = AsyncCodex::new(CodexConfig::default()).await?;

    // Goals need a stored, idle thread: one that has run a turn.
    let thread = codex.thread_start(ThreadStartOptions::default()).await?;
    thread
        .run(
            "Hi! We are about to work on a small app. Just say you are ready.",
            TurnOptions::default(),
        )
        .await?;

    let mut goal = thread.goal_start(OBJECTIVE).await?;
    println!("goal started: {}", goal.goal().objective);

    // Take the goal's turns one by one as the runtime starts them (`goal.run()` does it all).
    let mut turns = 0;
    while let Some(turn) = goal.next_turn().await? {
        turns += 1;
        let result = turn.run().await?;
        println!(
            "goal turn {turns} ({:?}):\n{}",
            result.status,
            result.final_response.as_deref().unwrap_or("(no answer)")
        );
    }

    let state = goal.goal();
    println!(
        "goal {:?} after {turns} turn(s), {} s, {} tokens",
        state.status, state.time_used_seconds, state.tokens_used
    );
    codex.close().await;
    Ok(())
}
