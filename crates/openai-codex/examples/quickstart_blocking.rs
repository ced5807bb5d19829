//! Quickstart: start Codex, open a thread, run one turn, print the answer (blocking API).
//!
//! ```sh
//! cargo run -p openai-codex --example quickstart_blocking
//! ```

use openai_codex::{Codex, CodexConfig, ThreadStartOptions, TurnOptions};

fn main() -> openai_codex::Result<()> {
    // Finds the runtime (CODEX_BIN, the project-pinned runtime, or `codex` on PATH), starts it
    // and runs the `initialize` handshake.
    let codex = Codex::new(CodexConfig::default())?;
    println!(
        "connected to {} {}",
        codex.metadata().server_name,
        codex.metadata().server_version
    );

    let thread = codex.thread_start(ThreadStartOptions::default())?;
    let result = thread.run("Say hello in one sentence.", TurnOptions::default())?;
    println!(
        "{}",
        result.final_response.as_deref().unwrap_or("(no answer)")
    );

    codex.close();
    Ok(())
}
