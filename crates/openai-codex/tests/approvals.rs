//! Server-request handlers: approvals on the real runtime (scripted model), and every request
//! kind through the fake app-server.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use openai_codex::approval::{
    AcceptAll, Audited, DeclineAll, Handlers, Reply, RequestHandler, WithDeadline,
};
use openai_codex::types::{
    self as proto, CommandExecutionApprovalDecision, CommandExecutionRequestApprovalResponse,
    CommandExecutionStatus, FileChangeApprovalDecision, FileChangeRequestApprovalResponse,
    PatchApplyStatus, ServerNotification, ServerRequest, ThreadItem, TurnStatus,
};
use openai_codex::{
    ApprovalMode, AsyncCodex, AsyncThread, CodexConfig, ErrorCode, RpcError, Sandbox,
    ThreadStartOptions, TurnEvent, TurnOptions,
};
use openai_codex_testkit::fake_server::{fake_app_server_bin, FakeScenario, ALL_SERVER_REQUESTS};
use openai_codex_testkit::{ExecCommand, ResponseScript, RuntimeHome, Verdict};
use serde_json::{json, Value};

fn ws(home: &RuntimeHome) -> String {
    home.workspace().to_string_lossy().into_owned()
}

async fn manual_thread(home: &RuntimeHome, codex: &AsyncCodex) -> AsyncThread {
    codex
        .thread_start(
            ThreadStartOptions::default()
                .cwd(ws(home))
                .approval_mode(ApprovalMode::Manual)
                .sandbox(Sandbox::ReadOnly),
        )
        .await
        .unwrap()
}

fn commands(items: &[ThreadItem]) -> Vec<&proto::CommandExecutionThreadItem> {
    items
        .iter()
        .filter_map(|i| match i {
            ThreadItem::CommandExecution(c) => Some(c),
            _ => None,
        })
        .collect()
}

/// Records the params of every command approval and answers with `decision`.
fn command_handler(
    decision: CommandExecutionApprovalDecision,
) -> (
    Handlers,
    Arc<Mutex<Vec<proto::CommandExecutionRequestApprovalParams>>>,
) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = Arc::clone(&seen);
    let handler = Handlers::new().on_command_approval(move |params| {
        seen2.lock().unwrap().push(params);
        let decision = decision.clone();
        async move {
            Ok(CommandExecutionRequestApprovalResponse {
                decision,
                extra: Default::default(),
            })
        }
    });
    (handler, seen)
}

#[tokio::test]
async fn accepted_command_approval_runs_the_command_and_thread_handlers_win() {
    let home = RuntimeHome::new().unwrap();
    let codex = AsyncCodex::new(home.config()).await.unwrap();
    // The client-wide handler must not be asked: the thread's own handler overrides it.
    let client_calls = Arc::new(Mutex::new(0));
    let calls = Arc::clone(&client_calls);
    codex.set_handler(Audited::new(DeclineAll, move |_, _| {
        *calls.lock().unwrap() += 1;
    }));
    let thread = manual_thread(&home, &codex).await;
    let (handler, seen) = command_handler(CommandExecutionApprovalDecision::Accept);
    thread.set_handler(handler);

    let file = home.workspace().join("approved.txt");
    home.model().push(
        ResponseScript::new().exec_command(
            ExecCommand::new(format!("touch {} && echo created", file.display()))
                .login(false)
                .escalated("Need to create a file"),
        ),
    );
    home.model().push(ResponseScript::text("Created."));
    let result = thread
        .run("Create the file", TurnOptions::default())
        .await
        .unwrap();

    assert_eq!(result.status, TurnStatus::Completed);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].thread_id, thread.id());
    assert_eq!(seen[0].turn_id, result.id);
    assert_eq!(seen[0].reason.as_deref(), Some("Need to create a file"));
    let cmds = commands(&result.items);
    assert_eq!(cmds[0].status, CommandExecutionStatus::Completed);
    assert!(file.exists());
    assert_eq!(*client_calls.lock().unwrap(), 0);
    codex.close().await;
}

#[tokio::test]
async fn declined_command_approval_continues_the_turn() {
    let home = RuntimeHome::new().unwrap();
    let codex = AsyncCodex::new(home.config()).await.unwrap();
    let (handler, seen) = command_handler(CommandExecutionApprovalDecision::Decline);
    codex.set_handler(handler);
    let thread = manual_thread(&home, &codex).await;
    let file = home.workspace().join("declined.txt");
    home.model().push(
        ResponseScript::new().exec_command(
            ExecCommand::new(format!("touch {}", file.display()))
                .login(false)
                .escalated("Need to write"),
        ),
    );
    home.model().push(ResponseScript::text("Could not write."));
    let result = thread
        .run("Write the file", TurnOptions::default())
        .await
        .unwrap();
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert_eq!(result.status, TurnStatus::Completed);
    assert_eq!(result.final_response.as_deref(), Some("Could not write."));
    assert_eq!(
        commands(&result.items)[0].status,
        CommandExecutionStatus::Declined
    );
    assert!(!file.exists());
    let output = home
        .model()
        .last_request()
        .unwrap()
        .last_tool_output()
        .unwrap();
    assert!(output.contains("rejected by user"), "{output}");
    codex.close().await;
}

#[tokio::test]
async fn cancel_decision_interrupts_the_turn() {
    let home = RuntimeHome::new().unwrap();
    let codex = AsyncCodex::new(home.config()).await.unwrap();
    let (handler, seen) = command_handler(CommandExecutionApprovalDecision::Cancel);
    codex.set_handler(handler);
    let thread = manual_thread(&home, &codex).await;
    home.model().push(
        ResponseScript::new()
            .exec_command(ExecCommand::new("touch /cancelled.txt").escalated("Need to write")),
    );
    let result = thread
        .run("Write the file", TurnOptions::default())
        .await
        .unwrap();
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert_eq!(result.status, TurnStatus::Interrupted);
    assert_eq!(
        commands(&result.items)[0].status,
        CommandExecutionStatus::Declined
    );
    // No further model request after the cancel.
    assert_eq!(home.model().turn_requests().len(), 1);
    codex.close().await;
}

#[tokio::test]
async fn file_change_approval_accepts_the_patch() {
    let home = RuntimeHome::new().unwrap();
    let codex = AsyncCodex::new(home.config()).await.unwrap();
    let asked = Arc::new(Mutex::new(Vec::new()));
    let asked2 = Arc::clone(&asked);
    codex.set_handler(Handlers::new().on_file_change_approval(move |params| {
        asked2.lock().unwrap().push(params.item_id.clone());
        async {
            Ok(FileChangeRequestApprovalResponse {
                decision: FileChangeApprovalDecision::Accept,
                extra: Default::default(),
            })
        }
    }));
    let thread = manual_thread(&home, &codex).await;
    home.model().push(
        ResponseScript::new().apply_patch(
            "*** Begin Patch\n*** Add File: hello.txt\n+hello\n+world\n*** End Patch\n",
        ),
    );
    home.model().push(ResponseScript::text("Patched."));
    let result = thread
        .run("Add hello.txt", TurnOptions::default())
        .await
        .unwrap();
    assert_eq!(result.status, TurnStatus::Completed);
    let change = result
        .items
        .iter()
        .find_map(|i| match i {
            ThreadItem::FileChange(c) => Some(c),
            _ => None,
        })
        .expect("a fileChange item");
    assert_eq!(change.status, PatchApplyStatus::Completed);
    assert_eq!(*asked.lock().unwrap(), vec![change.id.clone()]);
    let written = std::fs::read_to_string(home.workspace().join("hello.txt")).unwrap();
    assert_eq!(written, "hello\nworld\n");
    codex.close().await;
}

#[tokio::test]
async fn auto_review_never_asks_the_client() {
    let home = RuntimeHome::new().unwrap();
    let codex = AsyncCodex::new(home.config()).await.unwrap();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let calls2 = Arc::clone(&calls);
    codex.set_handler(Audited::new(AcceptAll, move |request, _| {
        calls2.lock().unwrap().push(request.method().to_owned());
    }));
    home.model().set_review_verdict(Verdict::Allow);
    // The default approval mode: on-request with the runtime's automatic reviewer.
    let thread = codex
        .thread_start(
            ThreadStartOptions::default()
                .cwd(ws(&home))
                .sandbox(Sandbox::ReadOnly),
        )
        .await
        .unwrap();
    let file = home.workspace().join("reviewed.txt");
    home.model().push(
        ResponseScript::new().exec_command(
            ExecCommand::new(format!("touch {} && echo reviewed", file.display()))
                .login(false)
                .escalated("Need to write"),
        ),
    );
    home.model()
        .push(ResponseScript::text("Reviewed and done."));
    let result = thread
        .run("Write it", TurnOptions::default())
        .await
        .unwrap();
    assert_eq!(result.status, TurnStatus::Completed);
    assert_eq!(
        commands(&result.items)[0].status,
        CommandExecutionStatus::Completed
    );
    assert!(file.exists());
    assert_eq!(home.model().review_requests().len(), 1);
    assert!(
        calls.lock().unwrap().is_empty(),
        "{:?}",
        calls.lock().unwrap()
    );
    codex.close().await;
}

// ------------------------------------------------------------------------------------------
// Every kind, through the fake app-server.

async fn fake_client(scenario: &FakeScenario) -> AsyncCodex {
    let mut config = CodexConfig::default().codex_bin(fake_app_server_bin());
    for (key, value) in scenario.env() {
        config = config.env(key, value);
    }
    AsyncCodex::new(config).await.unwrap()
}

/// Runs one turn on the fake and returns the replies it recorded (`fake/serverRequestReplies`).
async fn recorded_replies(codex: &AsyncCodex) -> Vec<Value> {
    let thread = codex
        .thread_start(ThreadStartOptions::default())
        .await
        .unwrap();
    let turn = thread.turn("Go", TurnOptions::default()).await.unwrap();
    let mut stream = turn.stream();
    let mut replies = None;
    while let Some(event) = stream.next().await {
        if let TurnEvent::Notification(n) = event.unwrap() {
            if let ServerNotification::Unknown { method, params } = &*n {
                if method == "fake/serverRequestReplies" {
                    replies = Some(params["replies"].as_array().unwrap().clone());
                }
            }
        }
    }
    let replies = replies.expect("the fake reports the replies");
    assert_eq!(
        replies
            .iter()
            .map(|r| r["method"].clone())
            .collect::<Vec<_>>(),
        ALL_SERVER_REQUESTS.map(Value::from).to_vec()
    );
    replies
}

/// Answers each kind with something recognisable.
struct Everything;

impl RequestHandler for Everything {
    async fn command_approval(
        &self,
        _: proto::CommandExecutionRequestApprovalParams,
    ) -> Reply<CommandExecutionRequestApprovalResponse> {
        Ok(CommandExecutionRequestApprovalResponse {
            decision: CommandExecutionApprovalDecision::AcceptForSession,
            extra: Default::default(),
        })
    }
    async fn file_change_approval(
        &self,
        _: proto::FileChangeRequestApprovalParams,
    ) -> Reply<FileChangeRequestApprovalResponse> {
        Ok(FileChangeRequestApprovalResponse {
            decision: FileChangeApprovalDecision::Cancel,
            extra: Default::default(),
        })
    }
    async fn tool_user_input(
        &self,
        params: proto::ToolRequestUserInputParams,
    ) -> Reply<proto::ToolRequestUserInputResponse> {
        let answers = params
            .questions
            .iter()
            .map(|q| {
                (
                    q.id.clone(),
                    proto::ToolRequestUserInputAnswer {
                        answers: vec!["Yes".into()],
                        extra: Default::default(),
                    },
                )
            })
            .collect();
        Ok(proto::ToolRequestUserInputResponse {
            answers,
            extra: Default::default(),
        })
    }
    async fn mcp_elicitation(
        &self,
        params: proto::McpServerElicitationRequestParams,
    ) -> Reply<proto::McpServerElicitationRequestResponse> {
        assert_eq!(params.server_name, "fake-mcp");
        Ok(proto::McpServerElicitationRequestResponse {
            meta: None,
            action: proto::McpServerElicitationAction::Cancel,
            content: None,
            extra: Default::default(),
        })
    }
    async fn permissions_approval(
        &self,
        _: proto::PermissionsRequestApprovalParams,
    ) -> Reply<proto::PermissionsRequestApprovalResponse> {
        Ok(proto::PermissionsRequestApprovalResponse {
            permissions: proto::GrantedPermissionProfile::default(),
            scope: Some(proto::PermissionGrantScope::Session),
            strict_auto_review: None,
            extra: Default::default(),
        })
    }
    async fn dynamic_tool_call(
        &self,
        params: proto::DynamicToolCallParams,
    ) -> Reply<proto::DynamicToolCallResponse> {
        Ok(proto::DynamicToolCallResponse {
            content_items: vec![serde_json::from_value(
                json!({"type": "inputText", "text": format!("ran {}", params.tool)}),
            )
            .unwrap()],
            success: true,
            extra: Default::default(),
        })
    }
    async fn chatgpt_tokens_refresh(
        &self,
        _: proto::ChatgptAuthTokensRefreshParams,
    ) -> Reply<proto::ChatgptAuthTokensRefreshResponse> {
        Err(RpcError::new(ErrorCode(-32000), "no tokens here"))
    }
    async fn attestation(
        &self,
        _: proto::AttestationGenerateParams,
    ) -> Reply<proto::AttestationGenerateResponse> {
        Ok(proto::AttestationGenerateResponse {
            token: "att-token".into(),
            extra: Default::default(),
        })
    }
    async fn apply_patch_approval(
        &self,
        params: proto::ApplyPatchApprovalParams,
    ) -> Reply<proto::ApplyPatchApprovalResponse> {
        assert_eq!(params.file_changes.len(), 1);
        Ok(proto::ApplyPatchApprovalResponse {
            decision: proto::ReviewDecision::ApprovedForSession,
            extra: Default::default(),
        })
    }
    async fn exec_command_approval(
        &self,
        params: proto::ExecCommandApprovalParams,
    ) -> Reply<proto::ExecCommandApprovalResponse> {
        assert_eq!(params.command, ["echo", "fake"]);
        Ok(proto::ExecCommandApprovalResponse {
            decision: proto::ReviewDecision::Abort,
            extra: Default::default(),
        })
    }
}

#[tokio::test]
async fn typed_handler_answers_all_ten_kinds() {
    let codex = fake_client(&FakeScenario::new().all_server_requests()).await;
    codex.set_handler(Everything);
    let replies = recorded_replies(&codex).await;
    let results: Vec<Value> = replies
        .iter()
        .map(|r| {
            r["reply"]
                .get("result")
                .cloned()
                .unwrap_or(r["reply"]["error"].clone())
        })
        .collect();
    assert_eq!(
        results,
        [
            json!({"decision": "acceptForSession"}),
            json!({"decision": "cancel"}),
            json!({"answers": {"q1": {"answers": ["Yes"]}}}),
            json!({"action": "cancel"}),
            json!({"permissions": {}, "scope": "session"}),
            json!({"contentItems": [{"type": "inputText", "text": "ran fake_tool"}], "success": true}),
            json!({"code": -32000, "message": "no tokens here"}),
            json!({"token": "att-token"}),
            json!({"decision": "approved_for_session"}),
            json!({"decision": "abort"}),
        ]
    );
    codex.close().await;
}

#[tokio::test]
async fn default_handler_fails_closed_for_all_ten_kinds() {
    let codex = fake_client(&FakeScenario::new().all_server_requests()).await;
    let replies = recorded_replies(&codex).await;
    let summary: Vec<Value> = replies
        .iter()
        .map(|r| match r["reply"].get("result") {
            Some(result) => result.clone(),
            None => r["reply"]["error"]["code"].clone(),
        })
        .collect();
    assert_eq!(
        summary,
        [
            json!({"decision": "decline"}),
            json!({"decision": "decline"}),
            json!(-32601),
            json!({"action": "decline"}),
            json!({"permissions": {}, "scope": "turn"}),
            json!(-32601),
            json!(-32601),
            json!(-32601),
            json!({"decision": {"denied": {"rejection": "declined by the client's default policy"}}}),
            json!({"decision": {"denied": {"rejection": "declined by the client's default policy"}}}),
        ]
    );
    codex.close().await;
}

#[tokio::test]
async fn deadline_fallback_panics_and_audit() {
    let codex = fake_client(&FakeScenario::new().all_server_requests()).await;
    let slow_and_buggy = Handlers::new()
        .on_command_approval(|_| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok(CommandExecutionRequestApprovalResponse {
                decision: CommandExecutionApprovalDecision::Accept,
                extra: Default::default(),
            })
        })
        .on_dynamic_tool_call(|_| async { panic!("tool handler bug") })
        .on_attestation(|_| async {
            Ok(proto::AttestationGenerateResponse {
                token: "quick".into(),
                extra: Default::default(),
            })
        });
    let audit: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
    let audit2 = Arc::clone(&audit);
    codex.set_handler(Audited::new(
        WithDeadline::new(slow_and_buggy, Duration::from_millis(200), DeclineAll),
        move |request: &ServerRequest, reply: &Result<Value, RpcError>| {
            let shown = match reply {
                Ok(v) => v.clone(),
                Err(e) => json!({"code": e.code.0}),
            };
            audit2
                .lock()
                .unwrap()
                .push((request.method().to_owned(), shown));
        },
    ));
    let started = std::time::Instant::now();
    let replies = recorded_replies(&codex).await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the deadline applied"
    );
    // The slow command approval got the fallback's decline; the panic became -32603.
    assert_eq!(
        replies[0]["reply"]["result"],
        json!({"decision": "decline"})
    );
    assert_eq!(replies[5]["reply"]["error"]["code"], -32603);
    assert!(replies[5]["reply"]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("panicked"));
    assert_eq!(replies[7]["reply"]["result"], json!({"token": "quick"}));
    // The audit hook saw every request with exactly the answer that was sent.
    let audit = audit.lock().unwrap().clone();
    assert_eq!(audit.len(), 10);
    for (n, (method, shown)) in audit.iter().enumerate() {
        assert_eq!(method, ALL_SERVER_REQUESTS[n]);
        let sent = &replies[n]["reply"];
        match sent.get("result") {
            Some(result) => assert_eq!(shown, result, "{method}"),
            None => assert_eq!(shown["code"], sent["error"]["code"], "{method}"),
        }
    }
    codex.close().await;
}

/// With the `experimental` feature a handler sees which decisions the runtime accepts (the
/// runtime sends them because `experimental_api` is on by default).
#[cfg(feature = "experimental")]
#[tokio::test]
async fn a_command_approval_handler_sees_the_available_decisions() {
    let home = RuntimeHome::new().unwrap();
    let codex = AsyncCodex::new(home.config()).await.unwrap();
    let thread = manual_thread(&home, &codex).await;
    let (handler, seen) = command_handler(CommandExecutionApprovalDecision::Decline);
    thread.set_handler(handler);
    let file = home.workspace().join("offered.txt");
    home.model().push(
        ResponseScript::new().exec_command(
            ExecCommand::new(format!("touch {}", file.display()))
                .login(false)
                .escalated("Need to create a file"),
        ),
    );
    home.model().push(ResponseScript::text("Declined."));
    thread
        .run("Create the file", TurnOptions::default())
        .await
        .unwrap();

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    let offered = seen[0]
        .available_decisions
        .clone()
        .expect("the runtime lists the decisions");
    assert!(
        offered.contains(&CommandExecutionApprovalDecision::Accept),
        "{offered:?}"
    );
    // Runtime 0.163.0 offers: accept, accept with an exec-policy amendment for this command,
    // cancel.
    assert!(
        offered.contains(&CommandExecutionApprovalDecision::Cancel),
        "{offered:?}"
    );
    assert!(
        offered.iter().any(|d| matches!(
            d,
            CommandExecutionApprovalDecision::AcceptWithExecpolicyAmendment(a)
                if a.execpolicy_amendment.first().map(String::as_str) == Some("touch")
        )),
        "{offered:?}"
    );
    assert!(seen[0].extra.is_empty(), "{:?}", seen[0].extra);
    codex.close().await;
}
