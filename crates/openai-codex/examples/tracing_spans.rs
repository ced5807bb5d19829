//! Print the SDK's tracing spans as a tree with the standard subscriber: the client
//! (`codex.client`: runtime pid), each request (`codex.request`: method, id, duration, error
//! kind), the turn (`codex.turn`: thread and turn ids, status and token usage) and the server
//! requests answered inside it (`codex.server_request`: kind, decision, handler time). Each line
//! is a span closing, prefixed by its parents.
//!
//! ```sh
//! cargo run -p openai-codex --example tracing_spans
//! ```
//!
//! Spans carry no credentials and no prompt text; `CodexConfig::trace_prompts(true)` adds the
//! prompt to the turn's span.

use openai_codex::{AsyncCodex, CodexConfig, ThreadStartOptions, TurnOptions};
use tracing_subscriber::fmt::format::FmtSpan;

#[tokio::main]
async fn main() -> openai_codex::Result<()> {
    tracing_subscriber::fmt()
        .with_span_events(FmtSpan::CLOSE)
        .with_max_level(tracing::Level::INFO)
        .with_target(false)
        .with_ansi(false)
        .with_writer(std::io::stdout)
        .init();

    let codex = AsyncCodex::new(CodexConfig::default()).await?;
    let thread = codex.thread_start(ThreadStartOptions::default()).await?;
    let result = thread
        .run("Say hello in one sentence.", TurnOptions::default())
        .await?;
    println!("answer: {}", result.final_response.unwrap_or_default());
    codex.close().await;
    Ok(())
}
