//! JSON shapes of the 0.163.0 protocol that the fake app-server sends (schema-valid).

use serde_json::{json, Value};

/// Unix time in milliseconds.
pub(crate) fn now_ms() -> i64 {
    now_ns() / 1_000_000
}

/// Unix time in nanoseconds.
pub(crate) fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// A thread as the fake knows it.
#[derive(Debug, Clone)]
pub(crate) struct ThreadRec {
    pub id: String,
    pub name: Option<String>,
    pub cwd: String,
    pub model: String,
    pub created_at: i64,
    pub preview: String,
    pub forked_from: Option<String>,
    pub archived: bool,
    pub ephemeral: bool,
}

impl ThreadRec {
    pub(crate) fn to_json(&self, status: &str) -> Value {
        json!({
            "id": self.id,
            "sessionId": self.id,
            "forkedFromId": self.forked_from,
            "preview": self.preview,
            "ephemeral": self.ephemeral,
            "modelProvider": "fake",
            "model": self.model,
            "reasoningEffort": null,
            "createdAt": self.created_at,
            "updatedAt": self.created_at,
            "recencyAt": self.created_at,
            "status": {"type": status},
            "path": if self.ephemeral { Value::Null } else { json!(format!("/fake/home/sessions/rollout-{}.jsonl", self.id)) },
            "cwd": self.cwd,
            "cliVersion": "0.163.0",
            "source": "vscode",
            "threadSource": null,
            "agentNickname": null,
            "agentRole": null,
            "gitInfo": null,
            "name": self.name,
            "originator": "codex_fake",
            "parentThreadId": null,
            "projectId": null,
            "historyMode": "paginated",
            "turns": [],
        })
    }
}

/// `sandbox` of thread/start (`read-only` …) → the policy object of the response.
pub(crate) fn sandbox_policy(mode: Option<&str>) -> Value {
    match mode {
        Some("workspace-write") => {
            json!({"type": "workspaceWrite", "writableRoots": [], "networkAccess": false,
                                          "excludeTmpdirEnvVar": false, "excludeSlashTmp": false})
        }
        Some("danger-full-access") => json!({"type": "dangerFullAccess"}),
        _ => json!({"type": "readOnly", "networkAccess": false}),
    }
}

/// The result of `thread/start`, `thread/resume` and `thread/fork`.
pub(crate) fn thread_session_response(thread: &ThreadRec, params: &Value) -> Value {
    let approval = match params.get("approvalPolicy") {
        Some(v @ Value::String(_)) | Some(v @ Value::Object(_)) => v.clone(),
        _ => json!("on-request"),
    };
    let reviewer = params
        .get("approvalsReviewer")
        .and_then(Value::as_str)
        .filter(|r| matches!(*r, "user" | "auto_review" | "guardian_subagent"))
        .unwrap_or("user");
    json!({
        "thread": thread.to_json("idle"),
        "model": thread.model,
        "modelProvider": "fake",
        "serviceTier": params.get("serviceTier").cloned().unwrap_or(Value::Null),
        "cwd": thread.cwd,
        "instructionSources": [],
        "approvalPolicy": approval,
        "approvalsReviewer": reviewer,
        "sandbox": sandbox_policy(params.get("sandbox").and_then(Value::as_str)),
        "reasoningEffort": params.get("effort").cloned().unwrap_or(Value::Null),
        "disabledPluginIds": [],
    })
}

/// A `Turn` object.
pub(crate) fn turn_json(
    id: &str,
    status: &str,
    items: Vec<Value>,
    items_view: &str,
    error: Value,
    times: Option<(i64, i64, i64)>,
    started_at: Option<i64>,
) -> Value {
    let (started, completed, duration) = match times {
        Some((s, c, d)) => (json!(s), json!(c), json!(d)),
        None => (json!(started_at), Value::Null, Value::Null),
    };
    json!({
        "id": id,
        "items": items,
        "itemsView": items_view,
        "status": status,
        "error": error,
        "startedAt": started,
        "completedAt": completed,
        "durationMs": duration,
    })
}

/// The `turn/start` response (also used when joining an active turn).
pub(crate) fn turn_start_response(turn_id: &str) -> Value {
    json!({"turn": turn_json(turn_id, "inProgress", Vec::new(), "notLoaded", Value::Null, None, None)})
}

/// A `userMessage` item from `turn/start` / `turn/steer` input (text items get `text_elements`).
pub(crate) fn user_message_item(id: &str, input: Option<&Value>) -> Value {
    let content: Vec<Value> = input
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|item| {
                    let mut item = item.clone();
                    if let Value::Object(m) = &mut item {
                        if m.get("type").and_then(Value::as_str) == Some("text")
                            && !m.contains_key("text_elements")
                        {
                            m.insert("text_elements".to_owned(), json!([]));
                        }
                    }
                    item
                })
                .collect()
        })
        .unwrap_or_default();
    json!({"type": "userMessage", "id": id, "clientId": null, "content": content})
}

/// An `agentMessage` item.
pub(crate) fn agent_message_item(id: &str, text: &str) -> Value {
    json!({"type": "agentMessage", "id": id, "text": text, "phase": null,
           "memoryCitation": null, "delivery": null, "questions": null})
}

/// `tokenUsage` of `thread/tokenUsage/updated`.
pub(crate) fn token_usage(output_tokens: u64) -> Value {
    let b = json!({"totalTokens": 10 + output_tokens, "inputTokens": 10, "cachedInputTokens": 0,
                   "cacheWriteInputTokens": 0, "outputTokens": output_tokens, "reasoningOutputTokens": 0});
    json!({"total": b, "last": b, "modelContextWindow": 258_400})
}

/// The default `TurnError` of `fail_turn: true`.
pub(crate) fn default_turn_error() -> Value {
    json!({"message": "fake turn failure", "codexErrorInfo": "other", "additionalDetails": null})
}

/// `model/list` result.
pub(crate) fn model_list(model: &str) -> Value {
    json!({"data": [{
        "id": model, "model": model, "displayName": "Fake Model", "description": "The fake app-server's model",
        "hidden": false, "isDefault": true,
        "supportedReasoningEfforts": [
            {"reasoningEffort": "low", "description": "low"},
            {"reasoningEffort": "medium", "description": "medium"},
            {"reasoningEffort": "high", "description": "high"}],
        "defaultReasoningEffort": "medium",
        "inputModalities": ["text", "image"], "supportsPersonality": false, "upgrade": null, "serviceTiers": [],
    }], "nextCursor": null})
}

/// Schema-valid params of a server request of kind `method` (unknown kinds get a small object).
pub(crate) fn server_request_params(
    method: &str,
    thread_id: &str,
    turn_id: &str,
    n: i64,
    cwd: &str,
) -> Value {
    let item_id = format!("call_fake_{n}");
    let started = now_ms();
    match method {
        "item/commandExecution/requestApproval" => json!({
            "threadId": thread_id, "turnId": turn_id, "itemId": item_id, "startedAtMs": started,
            "command": "echo fake", "cwd": cwd, "reason": null,
            "commandActions": [{"type": "unknown", "command": "echo fake"}]}),
        "item/fileChange/requestApproval" => json!({
            "threadId": thread_id, "turnId": turn_id, "itemId": item_id, "startedAtMs": started,
            "reason": null, "grantRoot": null}),
        "item/tool/requestUserInput" => json!({
            "threadId": thread_id, "turnId": turn_id, "itemId": item_id, "isBlocking": true,
            "questions": [{"id": "q1", "header": "Fake question", "question": "Proceed?", "isOther": false,
                           "isSecret": false, "options": [{"label": "Yes", "description": "go on"},
                                                           {"label": "No", "description": "stop"}]}]}),
        "mcpServer/elicitation/request" => json!({
            "threadId": thread_id, "turnId": turn_id, "serverName": "fake-mcp", "mode": "url",
            "message": "Please open the link", "url": "https://example.invalid/elicit", "elicitationId": format!("elicit_{n}")}),
        "item/permissions/requestApproval" => json!({
            "threadId": thread_id, "turnId": turn_id, "itemId": item_id, "startedAtMs": started, "cwd": cwd,
            "reason": null, "permissions": {"fileSystem": null, "network": null}}),
        "item/tool/call" => json!({
            "threadId": thread_id, "turnId": turn_id, "callId": item_id, "tool": "fake_tool",
            "namespace": null, "arguments": {"x": 1}}),
        "account/chatgptAuthTokens/refresh" => {
            json!({"reason": "unauthorized", "previousAccountId": null})
        }
        "attestation/generate" => json!({}),
        "applyPatchApproval" => json!({
            "conversationId": thread_id, "callId": item_id, "reason": null, "grantRoot": null,
            "fileChanges": {format!("{cwd}/fake.txt"): {"type": "add", "content": "hello\n"}}}),
        "execCommandApproval" => json!({
            "conversationId": thread_id, "callId": item_id, "command": ["echo", "fake"], "cwd": cwd,
            "reason": null, "parsedCmd": [{"type": "unknown", "cmd": "echo fake"}]}),
        _ => {
            json!({"threadId": thread_id, "turnId": turn_id, "note": "a server request the client does not know"})
        }
    }
}
