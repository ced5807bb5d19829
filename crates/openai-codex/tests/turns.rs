//! Threads and turns end to end: the real runtime against the testkit's scripted model.

use std::time::Duration;

use futures::StreamExt;
use openai_codex::types::{self as proto, ServerNotification, ThreadItem, TurnStatus};
use openai_codex::{
    ApprovalMode, AsyncCodex, Error, ExternalMessage, ImageInput, InputItem, LocalImageInput,
    Sandbox, TextInput, ThreadForkOptions, ThreadListOptions, ThreadResumeOptions,
    ThreadStartOptions, TurnEvent, TurnOptions,
};
use openai_codex_testkit::{AssistantMessage, ResponseScript, RuntimeHome, Usage};
use serde_json::json;

async fn start() -> (RuntimeHome, AsyncCodex) {
    let home = RuntimeHome::new().unwrap();
    let codex = AsyncCodex::new(home.config()).await.unwrap();
    (home, codex)
}

fn ws(home: &RuntimeHome) -> String {
    home.workspace().to_string_lossy().into_owned()
}

#[tokio::test]
async fn run_returns_the_final_answer_items_and_usage() {
    let (home, codex) = start().await;
    home.model().push(
        ResponseScript::new()
            .message(AssistantMessage::commentary("Looking..."))
            .message(AssistantMessage::final_answer("Hello there, friend.").chunks(4))
            .usage(Usage::new(100, 7)),
    );
    let thread = codex
        .thread_start(ThreadStartOptions::default())
        .await
        .unwrap();
    let result = thread
        .run("Say hello", TurnOptions::default())
        .await
        .unwrap();
    assert_eq!(result.status, TurnStatus::Completed);
    assert_eq!(
        result.final_response.as_deref(),
        Some("Hello there, friend.")
    );
    let kinds: Vec<&str> = result
        .items
        .iter()
        .map(|i| match i {
            ThreadItem::UserMessage(_) => "user",
            ThreadItem::AgentMessage(_) => "agent",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["user", "agent", "agent"]);
    assert_eq!(result.usage.as_ref().unwrap().last.total_tokens, 107);
    assert!(result.duration_ms.is_some() && result.started_at.is_some());
    let requests = home.model().turn_requests();
    assert_eq!(requests[0].last_user_text().as_deref(), Some("Say hello"));
    // The default approval mode reaches the runtime as on-request + auto_review.
    let settings = thread.read(false).await.unwrap();
    assert_eq!(settings.thread.id, thread.id());
    codex.close().await;
}

#[tokio::test]
async fn stream_yields_only_this_turns_events_in_order_and_run_after_stream_is_the_same() {
    let (home, codex) = start().await;
    home.model()
        .push(ResponseScript::new().message(AssistantMessage::new("a b c d e").chunks(5)));
    let thread = codex
        .thread_start(ThreadStartOptions::default())
        .await
        .unwrap();
    let turn = thread
        .turn("Stream please", TurnOptions::default())
        .await
        .unwrap();
    let mut methods = Vec::new();
    let mut text = String::new();
    let mut stream = turn.stream();
    while let Some(event) = stream.next().await {
        let TurnEvent::Notification(n) = event.unwrap() else {
            panic!("lagged on a tiny turn")
        };
        if let ServerNotification::ItemAgentMessageDelta(d) = &*n {
            assert_eq!(d.turn_id, turn.id());
            text.push_str(&d.delta);
        }
        methods.push(n.method().to_string());
    }
    drop(stream);
    assert_eq!(methods.first().map(String::as_str), Some("turn/started"));
    assert_eq!(methods.last().map(String::as_str), Some("turn/completed"));
    assert!(
        methods
            .iter()
            .filter(|m| *m == "item/agentMessage/delta")
            .count()
            >= 2
    );
    assert_eq!(text, "a b c d e");
    // run() after the stream finished returns the result instead of failing, twice.
    let first = turn.run().await.unwrap();
    let second = turn.run().await.unwrap();
    assert_eq!(first, second);
    assert_eq!(first.final_response.as_deref(), Some("a b c d e"));
    codex.close().await;
}

#[tokio::test]
async fn a_failed_turn_is_a_typed_error_with_the_partial_result() {
    let (home, codex) = start().await;
    home.model().push(ResponseScript::server_error());
    let thread = codex
        .thread_start(ThreadStartOptions::default())
        .await
        .unwrap();
    let err = thread
        .run("fail please", TurnOptions::default())
        .await
        .unwrap_err();
    let Error::TurnFailed(failed) = &err else {
        panic!("{err}")
    };
    assert_eq!(failed.result.status, TurnStatus::Failed);
    let turn_error = failed.result.error.as_ref().unwrap();
    assert!(
        turn_error.message.contains("high demand"),
        "{}",
        turn_error.message
    );
    assert!(matches!(
        turn_error.codex_error_info,
        Some(proto::CodexErrorInfo::InternalServerError)
    ));
    assert!(matches!(
        failed.result.items.first(),
        Some(ThreadItem::UserMessage(_))
    ));
    assert!(err.to_string().contains("high demand"));
    codex.close().await;
}

#[tokio::test]
async fn steer_and_interrupt_on_a_slow_stream() {
    let (home, codex) = start().await;
    let slow = || {
        ResponseScript::new()
            .message(AssistantMessage::new("one two three four five six").chunks(6))
            .delay_between(Duration::from_millis(150))
    };
    home.model().push(slow());
    home.model().push(ResponseScript::text("steered answer"));
    home.model().push(slow());
    let thread = codex
        .thread_start(ThreadStartOptions::default())
        .await
        .unwrap();

    let turn = thread
        .turn("slow one", TurnOptions::default())
        .await
        .unwrap();
    home.model()
        .wait_for_requests_async(1, Duration::from_secs(20))
        .await
        .unwrap();
    let steered = turn.steer("also consider this").await.unwrap();
    assert_eq!(steered.turn_id, turn.id());
    let result = turn.run().await.unwrap();
    assert_eq!(result.status, TurnStatus::Completed);
    assert_eq!(result.final_response.as_deref(), Some("steered answer"));
    let last = home.model().turn_requests().pop().unwrap();
    assert_eq!(last.last_user_text().as_deref(), Some("also consider this"));
    // Steering a finished turn is the runtime's error, typed.
    let err = turn.steer("too late").await.unwrap_err();
    assert_eq!(err.kind(), Some(openai_codex::ErrorKind::InvalidRequest));

    let turn = thread
        .turn("slow two", TurnOptions::default())
        .await
        .unwrap();
    home.model()
        .wait_for_requests_async(3, Duration::from_secs(20))
        .await
        .unwrap();
    turn.interrupt().await.unwrap();
    let result = turn.run().await.unwrap();
    assert_eq!(result.status, TurnStatus::Interrupted);
    assert_eq!(result.final_response, None);
    // A second interrupt of a finished turn returns at once instead of hanging.
    tokio::time::timeout(Duration::from_secs(2), turn.interrupt())
        .await
        .unwrap()
        .unwrap();
    codex.close().await;
}

#[tokio::test]
async fn output_schema_images_and_options_reach_the_model() {
    let (home, codex) = start().await;
    home.model()
        .push(ResponseScript::new().json(&json!({"answer": 42})));
    let image = home.workspace().join("pixel.png");
    std::fs::write(&image, PNG_1X1).unwrap();
    let thread = codex
        .thread_start(
            ThreadStartOptions::default()
                .cwd(ws(&home))
                .sandbox(Sandbox::ReadOnly),
        )
        .await
        .unwrap();
    let schema = json!({"type": "object", "properties": {"answer": {"type": "integer"}},
                        "required": ["answer"], "additionalProperties": false});
    let input: Vec<InputItem> = vec![
        TextInput::new("Describe these").into(),
        ImageInput::new(format!("data:image/png;base64,{}", PNG_1X1_B64)).into(),
        LocalImageInput::new(&image).into(),
    ];
    let result = thread
        .run(
            input,
            TurnOptions::default()
                .output_schema(schema.clone())
                .effort("high")
                .summary(proto::ReasoningSummary::Concise)
                .sandbox(Sandbox::WorkspaceWrite)
                .approval_mode(ApprovalMode::DenyAll),
        )
        .await
        .unwrap();
    let answer: serde_json::Value =
        serde_json::from_str(result.final_response.as_deref().unwrap()).unwrap();
    assert_eq!(answer["answer"], 42);
    let request = home.model().turn_requests().pop().unwrap();
    assert_eq!(request.output_schema(), Some(&schema));
    assert_eq!(
        request.input_images().len(),
        2,
        "the URL image and the local image"
    );
    assert_eq!(request.body["reasoning"]["effort"], "high");
    codex.close().await;
}

#[tokio::test]
async fn bad_input_is_rejected_before_anything_is_sent() {
    let (home, codex) = start().await;
    let thread = codex
        .thread_start(ThreadStartOptions::default())
        .await
        .unwrap();
    let err = thread
        .turn(
            LocalImageInput::new("/nonexistent/img.png"),
            TurnOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidInput {
                field: "LocalImageInput::path",
                ..
            }
        ),
        "{err}"
    );
    let err = thread
        .turn(
            "x",
            TurnOptions::default().output_schema(json!("not an object")),
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
    let err = thread
        .turn(ExternalMessage::text(" ", "x"), TurnOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidInput {
                field: "tool_name",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(home.model().request_count(), 0);
    codex.close().await;
}

#[tokio::test]
async fn external_message_reaches_the_model_as_a_tool_output() {
    let (home, codex) = start().await;
    let thread = codex
        .thread_start(ThreadStartOptions::default())
        .await
        .unwrap();
    let result = thread
        .run(
            ExternalMessage::text("ci_bot", "build failed on step 3"),
            TurnOptions::default(),
        )
        .await
        .unwrap();
    assert!(result
        .items
        .iter()
        .any(|i| matches!(i, ThreadItem::FunctionCallOutput(_))));
    let request = home.model().turn_requests().pop().unwrap();
    assert!(request.body.to_string().contains("build failed on step 3"));
    codex.close().await;
}

#[tokio::test]
async fn thread_lifecycle_list_name_fork_archive_resume_after_restart() {
    let home = RuntimeHome::new().unwrap();
    let codex = AsyncCodex::new(home.config()).await.unwrap();
    let mut ids = Vec::new();
    for n in 0..3 {
        // The runtime's list cursor has one-second resolution: threads created within the same
        // second as a page boundary are skipped by the next page, so space them out.
        if n > 0 {
            tokio::time::sleep(Duration::from_millis(1100)).await;
        }
        let thread = codex
            .thread_start(ThreadStartOptions::default())
            .await
            .unwrap();
        thread
            .run(format!("hello {n}"), TurnOptions::default())
            .await
            .unwrap();
        ids.push(thread.id().to_string());
    }
    let thread = codex.thread(ids[0].clone());
    thread.set_name("First thread").await.unwrap();
    assert!(thread.set_name(" ").await.is_err());
    let read = thread.read(true).await.unwrap();
    assert_eq!(read.thread.name.as_deref(), Some("First thread"));
    assert_eq!(read.thread.turns.len(), 1);

    // Paging: two pages of sizes 2 and 1, no thread twice.
    let page1 = codex
        .thread_list(ThreadListOptions::default().limit(2))
        .await
        .unwrap();
    assert_eq!(page1.data.len(), 2);
    let cursor = page1.next_cursor.clone().expect("a second page");
    let page2 = codex
        .thread_list(ThreadListOptions::default().limit(2).cursor(cursor))
        .await
        .unwrap();
    let mut seen: Vec<String> = page1
        .data
        .iter()
        .chain(&page2.data)
        .map(|t| t.id.clone())
        .collect();
    seen.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(seen, expected);

    let fork = codex
        .thread_fork(&ids[0], ThreadForkOptions::default())
        .await
        .unwrap();
    assert_ne!(fork.id(), ids[0]);
    let forked = fork.read(false).await.unwrap();
    assert_eq!(
        forked.thread.forked_from_id.as_deref(),
        Some(ids[0].as_str())
    );

    codex.thread_archive(&ids[1]).await.unwrap();
    let listed = codex
        .thread_list(ThreadListOptions::default())
        .await
        .unwrap();
    assert!(!listed.data.iter().any(|t| t.id == ids[1]));
    let archived = codex
        .thread_list(ThreadListOptions::default().archived(true))
        .await
        .unwrap();
    assert!(archived.data.iter().any(|t| t.id == ids[1]));
    // Unarchive returns a thread that can run at once.
    home.model().push(ResponseScript::text("back again"));
    let back = codex.thread_unarchive(&ids[1]).await.unwrap();
    let result = back
        .run("are you there?", TurnOptions::default())
        .await
        .unwrap();
    assert_eq!(result.final_response.as_deref(), Some("back again"));
    codex.close().await;

    // A new runtime on the same home resumes the thread with its history.
    let codex = AsyncCodex::new(home.config()).await.unwrap();
    home.model().push(ResponseScript::text("resumed"));
    let resumed = codex
        .thread_resume(&ids[2], ThreadResumeOptions::default())
        .await
        .unwrap();
    let result = resumed
        .run("still there?", TurnOptions::default())
        .await
        .unwrap();
    assert_eq!(result.final_response.as_deref(), Some("resumed"));
    let texts = home.model().turn_requests().pop().unwrap().user_texts();
    assert!(
        texts.iter().any(|t| t == "hello 2"),
        "history was sent: {texts:?}"
    );
    codex.close().await;
}

#[tokio::test]
async fn compact_turn_can_be_awaited_and_finished_turns_resolve() {
    let (home, codex) = start().await;
    let thread = codex
        .thread_start(ThreadStartOptions::default())
        .await
        .unwrap();
    let first = thread
        .run("remember this", TurnOptions::default())
        .await
        .unwrap();
    let compaction = thread.compact_turn().await.unwrap();
    let done = compaction.run().await.unwrap();
    assert_eq!(done.status, TurnStatus::Completed);
    assert!(done
        .items
        .iter()
        .any(|i| matches!(i, ThreadItem::ContextCompaction(_))));
    // A handle to a turn that finished long ago resolves instead of hanging.
    let old = thread.turn_handle(&first.id).await.unwrap();
    let again = tokio::time::timeout(Duration::from_secs(5), old.run())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.status, TurnStatus::Completed);
    assert!(home.model().request_count() >= 2);
    codex.close().await;
}

#[tokio::test]
async fn concurrent_turns_on_many_threads_each_receive_exactly_their_own_events() {
    let (home, codex) = start().await;
    home.model().set_responder(|request| {
        let text = request.last_user_text().unwrap_or_default();
        ResponseScript::new().message(AssistantMessage::new(format!("echo: {text}")).chunks(3))
    });
    let mut tasks = Vec::new();
    for n in 0..32 {
        let codex = codex.clone();
        tasks.push(tokio::spawn(async move {
            let thread = codex
                .thread_start(ThreadStartOptions::default())
                .await
                .unwrap();
            let turn = thread
                .turn(format!("task {n}"), TurnOptions::default())
                .await
                .unwrap();
            let mut stream = turn.stream();
            let mut deltas = String::new();
            while let Some(event) = stream.next().await {
                if let TurnEvent::Notification(n) = event.unwrap() {
                    match &*n {
                        ServerNotification::ItemAgentMessageDelta(d) => {
                            assert_eq!(d.turn_id, turn.id());
                            deltas.push_str(&d.delta);
                        }
                        ServerNotification::ItemCompleted(c) => assert_eq!(c.turn_id, turn.id()),
                        ServerNotification::TurnCompleted(c) => assert_eq!(c.turn.id, turn.id()),
                        _ => {}
                    }
                }
            }
            drop(stream);
            let result = turn.run().await.unwrap();
            (n, deltas, result.final_response.unwrap())
        }));
    }
    for task in tasks {
        let (n, deltas, answer) = task.await.unwrap();
        assert_eq!(answer, format!("echo: task {n}"));
        assert_eq!(deltas, answer);
    }
    codex.close().await;
}

const PNG_1X1_B64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
const PNG_1X1: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x64, 0xf8, 0xcf, 0x50,
    0x0f, 0x00, 0x03, 0x86, 0x01, 0x80, 0x5a, 0x34, 0x7d, 0x6b, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

#[tokio::test]
async fn a_stream_and_run_on_clones_of_one_turn_each_see_every_item_once() {
    let (home, codex) = start().await;
    home.model().push(
        ResponseScript::new()
            .message(AssistantMessage::commentary("Thinking it over."))
            .pause(Duration::from_millis(200))
            .message(AssistantMessage::final_answer("Both saw this once.").chunks(3)),
    );
    let thread = codex
        .thread_start(ThreadStartOptions::default())
        .await
        .unwrap();
    let turn = thread
        .turn("Say something", TurnOptions::default())
        .await
        .unwrap();
    // The first stream holds the handle's subscriber; run() on a clone reads beside it.
    let mut events = turn.stream();
    let first = events.next().await.unwrap().unwrap();
    assert_eq!(first.notification().unwrap().method(), "turn/started");
    let runner = {
        let turn = turn.clone();
        tokio::spawn(async move { turn.run().await })
    };
    let mut streamed = Vec::new();
    while let Some(event) = events.next().await {
        if let Some(ServerNotification::ItemCompleted(done)) = event.unwrap().notification() {
            streamed.push(done.item.clone());
        }
    }
    let result = runner.await.unwrap().unwrap();
    assert_eq!(result.items, streamed);
    assert_eq!(
        result.final_response.as_deref(),
        Some("Both saw this once.")
    );
    // Every consumer gets the same result, later ones too.
    assert_eq!(turn.run().await.unwrap(), result);
    assert_eq!(turn.result(), Some(result));
    codex.close().await;
}
