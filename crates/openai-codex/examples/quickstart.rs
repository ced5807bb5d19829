//! Quickstart: start Codex, open a thread, run one turn, print the answer.
//!
//! ```sh
//! cargo run -p openai-codex --example quickstart
//! ```

use openai_codex::{AsyncCodex, CodexConfig, ThreadStartOptions, TurnOptions};

#[tokio::main]
async fn main() -> openai_codex::Result<()> {
    // Finds the runtime (CODEX_BIN, the project-pinned runtime, or `codex` on PATH), starts it
    // and runs the `initialize` handshake.
    let codex = AsyncCodex::new(CodexConfig::default()).await?;
    println!(
        "connected to {} {}",
        codex.metadata().server_name,
        codex.metadata().server_version
    );

    let thread = codex.thread_start(ThreadStartOptions::default()).await?;
    let result = thread
        .run("Say hello in one sentence.", TurnOptions::default())
        .await?;
    println!(
        "{}",
        result.final_response.as_deref().unwrap_or("(no answer)")
    );

    codex.close().await;
    Ok(())
}
