//! Run a turn and read everything its `TurnResult` holds: status, answer, items, usage, timing.
//!
//! ```sh
//! cargo run -p openai-codex --example run_turn
//! ```

use openai_codex::types::ThreadItem;
use openai_codex::{AsyncCodex, CodexConfig, ThreadStartOptions, TurnOptions};

#[tokio::main]
async fn main() -> openai_codex::Result<()> {
    let codex = AsyncCodex::new(CodexConfig::default()).await?;
    let thread = codex.thread_start(ThreadStartOptions::default()).await?;

    let result = thread
        .run(
            "Name three prime numbers and say why each is prime, briefly.",
            TurnOptions::default(),
        )
        .await?;

    println!("turn:     {}", result.id);
    println!("status:   {:?}", result.status);
    if let Some(ms) = result.duration_ms {
        println!("duration: {ms} ms");
    }
    println!("items:    {}", result.items.len());
    for item in &result.items {
        println!("  - {}", describe(item));
    }
    if let Some(usage) = &result.usage {
        println!(
            "usage:    {} input + {} output tokens (thread total {})",
            usage.last.input_tokens, usage.last.output_tokens, usage.total.total_tokens
        );
    }
    println!();
    println!(
        "answer:\n{}",
        result.final_response.as_deref().unwrap_or("(none)")
    );

    codex.close().await;
    Ok(())
}

/// A one-line description of a thread item.
fn describe(item: &ThreadItem) -> String {
    match item {
        ThreadItem::UserMessage(_) => "user message".to_string(),
        ThreadItem::AgentMessage(m) => format!("agent message ({} chars)", m.text.len()),
        ThreadItem::Reasoning(_) => "reasoning".to_string(),
        ThreadItem::CommandExecution(c) => format!("command `{}`", c.command),
        ThreadItem::FileChange(_) => "file change".to_string(),
        other => format!("{:?}", other)
            .split('(')
            .next()
            .unwrap_or("item")
            .to_string(),
    }
}
