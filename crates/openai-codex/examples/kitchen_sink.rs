//! Every turn parameter at once, with what each one does. Overrides given to a turn apply to
//! that turn and the thread's later turns (except `output_schema` and `turn_service_tier`,
//! which are for this turn only).
//!
//! ```sh
//! cargo run -p openai-codex --example kitchen_sink
//! ```

use openai_codex::types::{Personality, ReasoningSummary};
use openai_codex::{
    ApprovalMode, AsyncCodex, CodexConfig, Sandbox, ThreadStartOptions, TurnOptions,
};
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let codex = AsyncCodex::new(CodexConfig::default()).await?;

    // Pick the default model and things it supports from the catalog.
    let models = codex.models(false).await?;
    let model = models
        .data
        .iter()
        .find(|m| m.is_default)
        .or_else(|| models.data.first())
        .ok_or("the runtime offers no models")?;
    let effort = model.default_reasoning_effort.clone();
    let service_tier = model.default_service_tier.clone();
    let cwd = std::env::current_dir()?.to_string_lossy().into_owned();

    let thread = codex
        .thread_start(
            ThreadStartOptions::default()
                .model(model.model.clone())
                .cwd(cwd.clone())
                .sandbox(Sandbox::ReadOnly)
                .approval_mode(ApprovalMode::DenyAll)
                .developer_instructions("Answer briefly.")
                .ephemeral(true),
        )
        .await?;

    let mut options = TurnOptions::default()
        // Who approves escalations: refuse them without asking.
        .approval_mode(ApprovalMode::DenyAll)
        // Where commands run.
        .cwd(cwd)
        // How hard the model thinks (a value the model supports).
        .effort(effort.clone())
        // Which model answers.
        .model(model.model.clone())
        // The answer must be JSON of this shape (this turn only).
        .output_schema(json!({
            "type": "object",
            "properties": {"summary": {"type": "string"}, "confidence": {"type": "number"}},
            "required": ["summary", "confidence"],
            "additionalProperties": false
        }))
        // The tone.
        .personality(Personality::Pragmatic)
        // What commands may touch: read files, write nothing.
        .sandbox(Sandbox::ReadOnly)
        // Reasoning summaries streamed as the model thinks.
        .summary(ReasoningSummary::Concise)
        // What triggered the turn, recorded with it.
        .source("kitchen-sink-example");
    if let Some(tier) = service_tier {
        // A service tier the model offers: as the thread default, and for this turn only.
        options = options.service_tier(tier.clone()).turn_service_tier(tier);
    }
    println!("turn options: {options:#?}");

    let result = thread
        .run(
            "Summarize what a sandbox is for, and say how confident you are (0 to 1).",
            options,
        )
        .await?;
    println!("status: {:?}", result.status);
    let answer: serde_json::Value =
        serde_json::from_str(result.final_response.as_deref().unwrap_or("null"))?;
    println!("summary:    {}", answer["summary"]);
    println!("confidence: {}", answer["confidence"]);

    codex.close().await;
    Ok(())
}
