//! Structured output: give the turn a JSON Schema and parse the answer with serde.
//!
//! ```sh
//! cargo run -p openai-codex --example structured_output
//! ```

use openai_codex::{AsyncCodex, CodexConfig, ThreadStartOptions, TurnOptions};
use serde::Deserialize;
use serde_json::json;

/// The shape we ask for; the schema below describes exactly this.
#[derive(Debug, Deserialize)]
struct LanguageFacts {
    name: String,
    first_stable_release_year: u32,
    notable_features: Vec<String>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let codex = AsyncCodex::new(CodexConfig::default()).await?;
    let thread = codex.thread_start(ThreadStartOptions::default()).await?;

    // Strict JSON Schema: every property required, no others allowed.
    let schema = json!({
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "first_stable_release_year": {"type": "integer"},
            "notable_features": {"type": "array", "items": {"type": "string"}}
        },
        "required": ["name", "first_stable_release_year", "notable_features"],
        "additionalProperties": false
    });
    let result = thread
        .run(
            "Describe the Rust programming language: its name, the year of its first stable \
             release, and three notable features.",
            TurnOptions::default().output_schema(schema),
        )
        .await?;

    let answer = result.final_response.ok_or("the turn gave no answer")?;
    let facts: LanguageFacts = serde_json::from_str(&answer)?;
    println!(
        "{} (stable since {})",
        facts.name, facts.first_stable_release_year
    );
    for feature in &facts.notable_features {
        println!("  - {feature}");
    }

    codex.close().await;
    Ok(())
}
