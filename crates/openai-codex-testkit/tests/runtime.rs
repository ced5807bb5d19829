//! The scripted model against the real pinned runtime: what a client sees for each scenario.
//!
//! Each test starts its own `codex app-server` with its own home and mock model, so they run in
//! parallel. They need the pinned runtime (`cargo xtask runtime`).

mod common;

use std::time::{Duration, Instant};

use common::{Session, TIMEOUT};
use openai_codex_testkit::{
    AssistantMessage, ExecCommand, Phase, Reasoning, RequestKind, ResponseScript, RuntimeHome,
    Usage, Verdict,
};
use serde_json::{json, Value};

async fn session(params: Value) -> Session {
    Session::start(RuntimeHome::new().expect("home"), params).await
}

#[tokio::test]
async fn streamed_text_turn() {
    let started = Instant::now();
    let mut s = session(json!({})).await;
    let text = "Hello there, this reply arrives in several pieces.";
    s.home.model().push(
        ResponseScript::new()
            .message(AssistantMessage::final_answer(text).chunks(4))
            .usage(Usage::new(100, 7).cached(40)),
    );
    let turn = s.run_turn("Say hello").await;

    assert_eq!(turn.status(), "completed");
    let deltas = turn.notifications("item/agentMessage/delta");
    assert_eq!(deltas.len(), 4);
    let streamed: String = deltas
        .iter()
        .map(|d| d["delta"].as_str().unwrap())
        .collect();
    assert_eq!(streamed, text);
    let messages = turn.completed_items("agentMessage");
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["text"], text);
    assert_eq!(messages[0]["phase"], Phase::FinalAnswer.as_str());
    assert_eq!(
        turn.turn()["items"][0]["text"],
        text,
        "turn.items holds the last message"
    );
    let usage = turn.notifications("thread/tokenUsage/updated");
    assert_eq!(usage[0]["tokenUsage"]["last"]["totalTokens"], 107);
    assert_eq!(usage[0]["tokenUsage"]["last"]["cachedInputTokens"], 40);

    let requests = s.home.model().requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].kind, RequestKind::Turn);
    assert_eq!(requests[0].last_user_text().as_deref(), Some("Say hello"));
    assert_eq!(requests[0].user_texts(), vec!["Say hello"]);
    assert_eq!(requests[0].model(), Some("mock-model"));
    assert!(requests[0].tool_names().contains(&"apply_patch".to_owned()));
    eprintln!("streamed_text_turn: {:?}", started.elapsed());
}

#[tokio::test]
async fn commentary_then_final_answer_and_default_reply() {
    let mut s = session(json!({})).await;
    s.home.model().push(
        ResponseScript::new()
            .message(AssistantMessage::commentary("Looking."))
            .message(AssistantMessage::final_answer("Found it.")),
    );
    let turn = s.run_turn("Find it").await;
    let phases: Vec<_> = turn
        .completed_items("agentMessage")
        .iter()
        .map(|m| (m["text"].clone(), m["phase"].clone()))
        .collect();
    assert_eq!(
        phases,
        vec![
            (json!("Looking."), json!("commentary")),
            (json!("Found it."), json!("final_answer"))
        ]
    );
    // The queue is empty now: the default reply answers, without a phase.
    let turn = s.run_turn("Again").await;
    let messages = turn.completed_items("agentMessage");
    assert_eq!(messages[0]["text"], "ok");
    assert_eq!(messages[0]["phase"], Value::Null);
    // The second request resends the history, including the first turn.
    let second = s.home.model().last_request().unwrap();
    assert_eq!(second.user_texts(), vec!["Find it", "Again"]);
}

#[tokio::test]
async fn reasoning_item() {
    let mut s = session(json!({})).await;
    s.home.model().push(
        ResponseScript::new()
            .reasoning(
                Reasoning::summary("**Plan**")
                    .part("Then answer.")
                    .raw("raw thoughts"),
            )
            .message("Answer."),
    );
    let turn = s.run_turn("Think first").await;
    assert_eq!(turn.status(), "completed");
    let reasoning = turn.completed_items("reasoning");
    assert_eq!(reasoning.len(), 1);
    assert_eq!(reasoning[0]["summary"], json!(["**Plan**", "Then answer."]));
    assert_eq!(reasoning[0]["content"], json!(["raw thoughts"]));
    assert_eq!(
        turn.notifications("item/reasoning/summaryTextDelta").len(),
        2
    );
    assert_eq!(turn.notifications("item/reasoning/textDelta").len(), 1);
}

#[tokio::test]
async fn shell_command_runs_and_its_output_reaches_the_model() {
    let mut s = session(json!({"sandbox": "workspace-write"})).await;
    let model = s.home.model();
    model.push(
        ResponseScript::new()
            .message(AssistantMessage::commentary("Running it."))
            .exec_command(ExecCommand::new("echo testkit-marker").call_id("call_echo")),
    );
    model.push(ResponseScript::new().message(AssistantMessage::final_answer("It printed.")));
    let turn = s.run_turn("Run echo").await;

    assert_eq!(turn.status(), "completed");
    let commands = turn.completed_items("commandExecution");
    assert_eq!(commands.len(), 1, "{:#?}", turn.messages);
    assert_eq!(commands[0]["id"], "call_echo");
    assert_eq!(commands[0]["status"], "completed");
    assert_eq!(commands[0]["exitCode"], 0);
    assert!(commands[0]["aggregatedOutput"]
        .as_str()
        .unwrap()
        .contains("testkit-marker"));
    let requests = s.home.model().turn_requests();
    assert_eq!(requests.len(), 2);
    let output = requests[1].tool_output("call_echo").expect("tool output");
    assert!(output.contains("Process exited with code 0"), "{output}");
    assert!(output.contains("testkit-marker"), "{output}");
    assert_eq!(turn.turn()["items"][0]["text"], "It printed.");
}

#[tokio::test]
async fn approval_request_then_accept_runs_the_command() {
    let mut s = session(json!({
        "approvalPolicy": "on-request",
        "approvalsReviewer": "user",
        "sandbox": "read-only",
    }))
    .await;
    let file = s.home.workspace().join("approved.txt");
    s.home.model().push(
        ResponseScript::new().exec_command(
            ExecCommand::new(format!("touch {} && echo created", file.display()))
                .escalated("Need to create a file"),
        ),
    );
    s.home.model().push(ResponseScript::text("Created."));
    let turn_id = s.start_turn("Create the file").await;
    let mut asked = Vec::new();
    let turn = s
        .collect_turn(&turn_id, |request| {
            asked.push(request["method"].clone());
            Some(json!({"decision": "accept"}))
        })
        .await;

    assert_eq!(asked, vec![json!("item/commandExecution/requestApproval")]);
    let request = &turn.server_requests("item/commandExecution/requestApproval")[0];
    assert_eq!(request["params"]["reason"], "Need to create a file");
    assert_eq!(turn.status(), "completed");
    let commands = turn.completed_items("commandExecution");
    assert_eq!(commands[0]["status"], "completed");
    assert!(commands[0]["aggregatedOutput"]
        .as_str()
        .unwrap()
        .contains("created"));
    assert!(file.exists());
    assert_eq!(turn.notifications("serverRequest/resolved").len(), 1);
}

#[tokio::test]
async fn apply_patch_adds_a_file() {
    let mut s = session(json!({})).await;
    s.home.model().push(
        ResponseScript::new().apply_patch(
            "*** Begin Patch\n*** Add File: hello.txt\n+hello\n+world\n*** End Patch\n",
        ),
    );
    s.home.model().push(ResponseScript::text("Patched."));
    let turn = s.run_turn("Add hello.txt").await;

    assert_eq!(turn.status(), "completed");
    let changes = turn.completed_items("fileChange");
    assert_eq!(changes.len(), 1, "{:#?}", turn.messages);
    assert_eq!(changes[0]["status"], "completed");
    assert_eq!(changes[0]["changes"][0]["kind"]["type"], "add");
    let written = std::fs::read_to_string(s.home.workspace().join("hello.txt")).unwrap();
    assert_eq!(written, "hello\nworld\n");
    let output = s
        .home
        .model()
        .last_request()
        .unwrap()
        .last_tool_output()
        .unwrap();
    assert!(output.contains("Success"), "{output}");
}

#[tokio::test]
async fn http_500_fails_the_turn() {
    let mut s = session(json!({})).await;
    s.home.model().push(ResponseScript::server_error());
    let turn = s.run_turn("Fail please").await;

    assert_eq!(turn.status(), "failed");
    let error = &turn.turn()["error"];
    assert_eq!(error["codexErrorInfo"], "internalServerError");
    assert!(
        error["message"].as_str().unwrap().contains("high demand"),
        "{error}"
    );
    let notified = turn.notifications("error");
    assert_eq!(
        notified.last().unwrap()["error"]["message"],
        error["message"]
    );
    // `request_max_retries = 0`: exactly one attempt.
    assert_eq!(s.home.model().request_count(), 1);
}

#[tokio::test]
async fn stream_failures_fail_the_turn() {
    let mut s = session(json!({})).await;
    let model = s.home.model();
    model.push(ResponseScript::server_overloaded());
    model.push(ResponseScript::text("partial").cut());
    model.push(ResponseScript::text("partial").end_without_completed());
    model.push(ResponseScript::new().failed("context_length_exceeded", "too long"));
    let mut infos = Vec::new();
    for _ in 0..4 {
        let turn = s.run_turn("Go").await;
        assert_eq!(turn.status(), "failed");
        infos.push(turn.turn()["error"]["codexErrorInfo"].clone());
    }
    assert_eq!(
        infos,
        vec![
            json!("serverOverloaded"),
            json!("other"),
            json!("other"),
            json!("contextWindowExceeded")
        ]
    );
}

#[tokio::test]
async fn slow_stream_is_interrupted() {
    let mut s = session(json!({})).await;
    s.home.model().push(
        ResponseScript::new()
            .message(AssistantMessage::new("one two three four five six").chunks(6))
            .delay_between(Duration::from_millis(200)),
    );
    let turn_id = s.start_turn("Talk slowly").await;
    s.client
        .wait_notification("item/agentMessage/delta", TIMEOUT)
        .await
        .expect("first delta");
    let started = Instant::now();
    let response = s
        .client
        .request(
            "turn/interrupt",
            json!({"threadId": s.thread_id, "turnId": turn_id}),
            TIMEOUT,
        )
        .await
        .unwrap();
    assert_eq!(response["result"], json!({}));
    let turn = s.collect_turn(&turn_id, |_| None).await;
    assert_eq!(turn.status(), "interrupted");
    assert!(turn.completed_items("agentMessage").is_empty(), "left open");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn auto_review_allow_runs_without_asking_the_client() {
    let mut s = session(json!({
        "approvalPolicy": "on-request",
        "approvalsReviewer": "auto_review",
        "sandbox": "read-only",
    }))
    .await;
    let file = s.home.workspace().join("reviewed.txt");
    s.home.model().push(
        ResponseScript::new().exec_command(
            ExecCommand::new(format!("touch {} && echo reviewed", file.display()))
                .escalated("Need to write"),
        ),
    );
    s.home.model().push(ResponseScript::text("Done."));
    let turn = s.run_turn("Write it").await;

    assert_eq!(turn.status(), "completed");
    assert!(
        turn.messages.iter().all(|m| m.get("id").is_none()),
        "no server request"
    );
    let reviews = turn.notifications("item/autoApprovalReview/completed");
    assert_eq!(reviews[0]["review"]["status"], "approved");
    assert_eq!(
        turn.completed_items("commandExecution")[0]["status"],
        "completed"
    );
    assert!(file.exists());
    let model = s.home.model();
    let review = model.review_requests();
    assert_eq!(review.len(), 1);
    assert_eq!(review[0].header("x-openai-subagent"), Some("guardian"));
    assert_eq!(
        model.turn_requests().len(),
        2,
        "the review took no queued script"
    );
    assert_eq!(model.queued(), 0);
}

#[tokio::test]
async fn auto_review_deny_declines_the_command() {
    let mut s = session(json!({
        "approvalPolicy": "on-request",
        "approvalsReviewer": "auto_review",
        "sandbox": "read-only",
    }))
    .await;
    s.home.model().set_review_verdict(Verdict::Deny);
    s.home.model().push(
        ResponseScript::new()
            .exec_command(ExecCommand::new("touch /denied.txt").escalated("Need to write")),
    );
    s.home.model().push(ResponseScript::text("Could not."));
    let turn = s.run_turn("Write it").await;

    assert_eq!(turn.status(), "completed");
    let reviews = turn.notifications("item/autoApprovalReview/completed");
    assert_eq!(reviews[0]["review"]["status"], "denied");
    let output = s
        .home
        .model()
        .last_request()
        .unwrap()
        .last_tool_output()
        .unwrap();
    assert!(output.contains("rejected"), "{output}");
}

#[tokio::test]
async fn output_schema_and_compaction_are_captured() {
    let mut s = session(json!({})).await;
    let schema = json!({"type": "object", "properties": {"answer": {"type": "string"}},
                        "required": ["answer"], "additionalProperties": false});
    s.home
        .model()
        .push(ResponseScript::new().json(&json!({"answer": "42"})));
    let turn_id = s
        .start_turn_with("Answer in JSON", json!({"outputSchema": schema}))
        .await;
    let turn = s.collect_turn(&turn_id, |_| None).await;
    assert_eq!(turn.turn()["items"][0]["text"], r#"{"answer":"42"}"#);
    let request = s.home.model().last_request().unwrap();
    assert_eq!(request.output_schema(), Some(&schema));

    s.home.model().set_compaction_summary("SUMMARY-MARKER");
    s.home
        .model()
        .push(ResponseScript::text("After compaction."));
    let response = s
        .client
        .request(
            "thread/compact/start",
            json!({"threadId": s.thread_id}),
            TIMEOUT,
        )
        .await
        .unwrap();
    assert_eq!(response["result"], json!({}));
    s.client
        .wait_for(TIMEOUT, |m| {
            m["method"] == "item/completed" && m["params"]["item"]["type"] == "contextCompaction"
        })
        .await
        .expect("compaction item");
    // Compaction runs as a turn of its own; `turn/start` before it completes is refused
    // (-32603 "ActiveTurnNotSteerable { turn_kind: Compact }").
    s.client
        .wait_notification("turn/completed", TIMEOUT)
        .await
        .expect("compaction turn completed");
    assert!(s.home.model().last_request().unwrap().is_compaction());
    assert_eq!(
        s.home.model().queued(),
        1,
        "compaction took no queued script"
    );
    // The next turn still gets the queued reply, and sends the summary along.
    let turn = s.run_turn("Continue").await;
    assert_eq!(turn.turn()["items"][0]["text"], "After compaction.");
    let last = s.home.model().last_request().unwrap();
    assert!(last
        .user_texts()
        .iter()
        .any(|t| t.contains("SUMMARY-MARKER")));
}

#[tokio::test]
async fn hanging_model_is_interrupted() {
    let mut s = session(json!({})).await;
    s.home.model().push(ResponseScript::hang_before_headers());
    let turn_id = s.start_turn("Hang").await;
    s.home
        .model()
        .wait_for_requests_async(1, TIMEOUT)
        .await
        .expect("the request arrived");
    s.client
        .request(
            "turn/interrupt",
            json!({"threadId": s.thread_id, "turnId": turn_id}),
            TIMEOUT,
        )
        .await
        .unwrap();
    let turn = s.collect_turn(&turn_id, |_| None).await;
    assert_eq!(turn.status(), "interrupted");
}

#[tokio::test]
async fn model_down_fails_fast() {
    let mut s = session(json!({})).await;
    s.home.model().shutdown();
    let started = Instant::now();
    let turn = s.run_turn("Anyone there?").await;
    assert_eq!(turn.status(), "failed");
    assert_eq!(
        turn.turn()["error"]["codexErrorInfo"],
        json!({"httpConnectionFailed": {"httpStatusCode": null}})
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn only_the_workspace_agents_md_reaches_the_model() {
    // The kit sets `project_root_markers = []`: the repository around the test homes is not a
    // project, but an AGENTS.md in the workspace itself is still read.
    let home = RuntimeHome::new().expect("home");
    std::fs::write(home.workspace().join("AGENTS.md"), "WORKSPACE-RULES\n").unwrap();
    let mut s = Session::start(home, json!({})).await;
    s.run_turn("Hi").await;
    let texts = s.home.model().last_request().unwrap().user_texts();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(texts[0].contains("WORKSPACE-RULES"), "{texts:?}");
    assert_eq!(texts[1], "Hi");
}
