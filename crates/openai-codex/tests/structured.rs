//! Typed structured output end to end: the real runtime against the testkit's scripted model.
#![cfg(feature = "typed")]

use openai_codex::structured::strict_schema;
use openai_codex::{AsyncCodex, Codex, Error, ThreadStartOptions, TurnOptions};
use openai_codex_testkit::{ResponseScript, RuntimeHome};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
enum Mood {
    Calm,
    Busy,
}

#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
struct Report {
    /// One sentence.
    summary: String,
    score: u8,
    mood: Mood,
    reviewer: Option<String>,
}

#[tokio::test]
async fn run_typed_sends_the_strict_schema_and_parses_the_answer() {
    let home = RuntimeHome::new().unwrap();
    let codex = AsyncCodex::new(home.config()).await.unwrap();
    home.model().push(ResponseScript::new().json(&json!({
        "summary": "All good.", "score": 9, "mood": "Calm", "reviewer": null
    })));
    let thread = codex
        .thread_start(ThreadStartOptions::default())
        .await
        .unwrap();
    let answer = thread
        .run_typed::<Report>("Report", TurnOptions::default())
        .await
        .unwrap();
    assert_eq!(
        answer.value,
        Report {
            summary: "All good.".into(),
            score: 9,
            mood: Mood::Calm,
            reviewer: None
        }
    );
    assert!(answer.turn.usage.is_some() || answer.turn.final_response.is_some());
    // What reached the model is the strict schema: every property required, nothing else.
    let request = home.model().turn_requests().pop().unwrap();
    let sent = request.output_schema().expect("an output schema").clone();
    assert_eq!(sent, strict_schema::<Report>().unwrap());
    assert_eq!(sent["additionalProperties"], false);
    let mut required: Vec<&str> = sent["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    required.sort_unstable();
    assert_eq!(required, ["mood", "reviewer", "score", "summary"]);

    // An answer that does not fit keeps the raw text and the turn.
    home.model()
        .push(ResponseScript::new().json(&json!({"summary": "no score"})));
    let err = thread
        .run_typed::<Report>("Report again", TurnOptions::default())
        .await
        .unwrap_err();
    let Error::StructuredOutput(bad) = &err else {
        panic!("{err}")
    };
    assert_eq!(bad.raw.as_deref(), Some(r#"{"summary":"no score"}"#));
    assert!(bad.turn.items.len() >= 2);
    assert!(err.to_string().contains("score"), "{err}");

    // A caller's own schema conflicts with the type's: refused before anything is sent.
    let before = home.model().turn_requests().len();
    let err = thread
        .run_typed::<Report>(
            "x",
            TurnOptions::default().output_schema(json!({"type": "object"})),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidInput {
                field: "output_schema",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(home.model().turn_requests().len(), before);
    codex.close().await;
}

#[test]
fn the_blocking_twin_parses_the_same_way() {
    let home = RuntimeHome::new().unwrap();
    let codex = Codex::new(home.config()).unwrap();
    home.model().push(ResponseScript::new().json(&json!({
        "summary": "Busy day.", "score": 4, "mood": "Busy", "reviewer": "ana"
    })));
    let thread = codex.thread_start(ThreadStartOptions::default()).unwrap();
    let answer = thread
        .run_typed::<Report>("Report", TurnOptions::default())
        .unwrap();
    assert_eq!(answer.value.mood, Mood::Busy);
    assert_eq!(answer.value.reviewer.as_deref(), Some("ana"));
    codex.close();
}
