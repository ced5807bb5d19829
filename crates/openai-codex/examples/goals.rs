//! Goals: give a thread an objective; the runtime then starts turns by itself until the goal is
//! complete (or paused, blocked, out of budget). `start_goal` presents all those turns as one
//! logical turn: one stream, one merged result (`thread.goal_start` gives one handle per
//! runtime turn instead).
//!
//! ```sh
//! cargo run -p openai-codex --example goals
//! ```

use futures::StreamExt;
use openai_codex::types::ServerNotification;
use openai_codex::{AsyncCodex, CodexConfig, InterruptOutcome, ThreadStartOptions, TurnOptions};

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

    // Returns once the runtime has started the goal's first turn. Dropping the handle (or a
    // `run()` in progress) pauses the goal; `goal.interrupt()` does it explicitly.
    let goal = thread.start_goal(OBJECTIVE).await?;
    println!("goal started: {}", goal.goal().objective);

    // One stream for every runtime turn of the goal, in order.
    let mut events = goal.stream();
    let mut turns = 0;
    while let Some(event) = events.next().await {
        match event?.notification() {
            Some(ServerNotification::TurnStarted(_)) => turns += 1,
            Some(ServerNotification::TurnCompleted(done)) => {
                println!("goal turn {turns} ({:?})", done.turn.status);
            }
            _ => {}
        }
    }

    // One result: every item of every goal turn, and the last answer.
    let result = goal.run().await?;
    println!(
        "answer ({:?}):\n{}",
        result.status,
        result.final_response.as_deref().unwrap_or("(no answer)")
    );
    let state = goal.goal();
    println!(
        "goal {:?} after {turns} turn(s), {} s, {} tokens",
        state.status, state.time_used_seconds, state.tokens_used
    );
    // The goal turn is over: interrupting it now only reports how it ended.
    if let InterruptOutcome::AlreadyFinished { status } = goal.interrupt().await? {
        println!("already finished: {status:?}");
    }
    codex.close().await;
    Ok(())
}
