//! Model selection: list the models the runtime offers, pick one, and run a turn with it and a
//! reasoning effort it supports.
//!
//! ```sh
//! cargo run -p openai-codex --example model_selection
//! ```

use openai_codex::types::ReasoningSummary;
use openai_codex::{AsyncCodex, CodexConfig, ThreadStartOptions, TurnOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let codex = AsyncCodex::new(CodexConfig::default()).await?;

    let models = codex.models(false).await?;
    println!("available models:");
    for model in &models.data {
        let efforts: Vec<&str> = model
            .supported_reasoning_efforts
            .iter()
            .map(|option| option.reasoning_effort.as_str())
            .collect();
        println!(
            "  {} {:<20} {} (efforts: {})",
            if model.is_default { "*" } else { " " },
            model.model,
            model.display_name,
            efforts.join(", ")
        );
    }

    // The default model, else the first one.
    let model = models
        .data
        .iter()
        .find(|m| m.is_default)
        .or_else(|| models.data.first())
        .ok_or("the runtime offers no models")?;
    // The lowest effort it supports, for a quick answer.
    let effort = model.supported_reasoning_efforts.first().map_or_else(
        || model.default_reasoning_effort.clone(),
        |o| o.reasoning_effort.clone(),
    );
    println!("using {} with effort {effort}", model.model);

    let thread = codex
        .thread_start(ThreadStartOptions::default().model(model.model.clone()))
        .await?;
    let result = thread
        .run(
            "In one sentence, what are you good at?",
            TurnOptions::default()
                .model(model.model.clone())
                .effort(effort)
                .summary(ReasoningSummary::Concise),
        )
        .await?;
    println!(
        "{}",
        result.final_response.as_deref().unwrap_or("(no answer)")
    );

    codex.close().await;
    Ok(())
}
