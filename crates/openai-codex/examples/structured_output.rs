//! Structured output: derive a schema from a Rust type and get the answer back as that type.
//!
//! ```sh
//! cargo run -p openai-codex --example structured_output
//! ```

use openai_codex::{AsyncCodex, CodexConfig, Error, ThreadStartOptions, TurnOptions};
use schemars::JsonSchema;
use serde::Deserialize;

/// The shape we ask for. `run_typed` sends its JSON Schema, made strict (every field required,
/// no others allowed), and parses the final answer into it.
#[derive(Debug, Deserialize, JsonSchema)]
struct LanguageFacts {
    /// The language's name.
    name: String,
    /// The year of the first stable release.
    first_stable_release_year: u32,
    /// Three notable features.
    notable_features: Vec<String>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let codex = AsyncCodex::new(CodexConfig::default()).await?;
    let thread = codex.thread_start(ThreadStartOptions::default()).await?;

    let answer = thread
        .run_typed::<LanguageFacts>(
            "Describe the Rust programming language: its name, the year of its first stable \
             release, and three notable features.",
            TurnOptions::default(),
        )
        .await;
    let facts = match answer {
        Ok(answer) => answer.value,
        // The answer did not fit the type: the raw text and the whole turn are kept.
        Err(Error::StructuredOutput(bad)) => {
            eprintln!("unexpected answer: {:?}", bad.raw);
            return Err(Error::StructuredOutput(bad).into());
        }
        Err(other) => return Err(other.into()),
    };
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
