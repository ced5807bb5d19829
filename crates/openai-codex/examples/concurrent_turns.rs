//! Many concurrent turns on one client: one thread per question, all running at once. Each
//! turn's events are routed to its own handle, so the answers never mix.
//!
//! ```sh
//! cargo run -p openai-codex --example concurrent_turns
//! ```

use std::time::Instant;

use futures::future::try_join_all;
use openai_codex::{AsyncCodex, CodexConfig, ThreadStartOptions, TurnOptions, TurnResult};

const QUESTIONS: [&str; 4] = [
    "What is the capital of France? One word.",
    "What is 12 times 12? Just the number.",
    "Name the largest planet in the solar system. One word.",
    "What colour do you get mixing blue and yellow? One word.",
];

#[tokio::main]
async fn main() -> openai_codex::Result<()> {
    let codex = AsyncCodex::new(CodexConfig::default()).await?;
    let started = Instant::now();

    let answers: Vec<TurnResult> = try_join_all(QUESTIONS.iter().map(|question| {
        // Clones of the client are cheap handles to the same runtime.
        let codex = codex.clone();
        async move {
            let thread = codex.thread_start(ThreadStartOptions::default()).await?;
            thread.run(*question, TurnOptions::default()).await
        }
    }))
    .await?;

    for (question, answer) in QUESTIONS.iter().zip(&answers) {
        println!("Q: {question}");
        println!(
            "A: {}",
            answer.final_response.as_deref().unwrap_or("(no answer)")
        );
    }
    println!(
        "{} turns finished in {:.1} s",
        answers.len(),
        started.elapsed().as_secs_f64()
    );

    codex.close().await;
    Ok(())
}
