//! Decoding real traffic shapes, forward compatibility and wire round trips.

use openai_codex_protocol::{
    AgentMessageThreadItem, CommandExecutionApprovalDecision, ServerNotification, ServerRequest,
    ThreadItem, ThreadStartResponse, TurnStatus, UserInput,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;

/// Drops object members whose value is `null`, recursively: the runtime sends `null` for unset
/// optional fields, which the typed side omits.
fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

/// Decodes `json` as `T`, re-encodes it and checks nothing but `null` members changed.
fn round_trip<T: Serialize + DeserializeOwned>(json: &str) -> T {
    let typed: T = serde_json::from_str(json).expect("decodes");
    let again = serde_json::to_value(&typed).expect("encodes");
    let original: Value = serde_json::from_str(json).expect("valid JSON");
    assert_eq!(
        without_nulls(again),
        without_nulls(original),
        "round trip of {json}"
    );
    typed
}

fn raw(json: &str) -> Box<RawValue> {
    RawValue::from_string(json.to_string()).expect("valid JSON")
}

fn notification_round_trip(method: &str, params: &str) -> ServerNotification {
    let decoded = ServerNotification::decode(method, &raw(params)).expect("decodes");
    assert_eq!(decoded.method(), method);
    let envelope = serde_json::to_value(&decoded).expect("encodes");
    assert_eq!(envelope["method"], method);
    let original: Value = serde_json::from_str(params).unwrap();
    assert_eq!(
        without_nulls(envelope["params"].clone()),
        without_nulls(original)
    );
    let back: ServerNotification = serde_json::from_value(envelope).expect("envelope decodes");
    assert_eq!(back, decoded);
    decoded
}

const AGENT_MESSAGE: &str = r#"{"type":"agentMessage","id":"msg_1","text":"Hi","phase":null,"memoryCitation":null,"delivery":null,"questions":null}"#;

#[test]
fn agent_message_delta() {
    let n = notification_round_trip(
        "item/agentMessage/delta",
        r#"{"threadId":"thr_1","turnId":"turn_1","itemId":"msg_1","delta":"Hel"}"#,
    );
    let ServerNotification::ItemAgentMessageDelta(delta) = n else {
        panic!("wrong variant: {n:?}")
    };
    assert_eq!(delta.delta, "Hel");
    assert_eq!(delta.item_id, "msg_1");
    assert_eq!(delta.thread_id, "thr_1");
    assert_eq!(delta.turn_id, "turn_1");
}

#[test]
fn item_completed_agent_message() {
    let params = format!(
        r#"{{"threadId":"thr_1","turnId":"turn_1","completedAtMs":1760000000000,"item":{AGENT_MESSAGE}}}"#
    );
    let n = notification_round_trip("item/completed", &params);
    let ServerNotification::ItemCompleted(done) = n else {
        panic!("wrong variant: {n:?}")
    };
    match done.item {
        ThreadItem::AgentMessage(AgentMessageThreadItem {
            id,
            text,
            phase,
            memory_citation,
            delivery,
            questions,
            ..
        }) => {
            assert_eq!((id.as_str(), text.as_str()), ("msg_1", "Hi"));
            assert!(phase.is_none() && memory_citation.is_none());
            assert!(delivery.is_none() && questions.is_none());
        }
        other => panic!("wrong item: {other:?}"),
    }
}

#[test]
fn turn_completed() {
    let n = notification_round_trip(
        "turn/completed",
        r#"{"threadId":"thr_1","turn":{"id":"turn_1","items":[],"status":"completed","error":null,"startedAt":1760000000,"completedAt":1760000005,"durationMs":5000}}"#,
    );
    let ServerNotification::TurnCompleted(done) = n else {
        panic!("wrong variant: {n:?}")
    };
    assert_eq!(done.turn.status, TurnStatus::Completed);
    assert_eq!(done.turn.duration_ms, Some(5000));
}

#[test]
fn thread_start_response() {
    let response: ThreadStartResponse = round_trip(
        r#"{"thread":{"id":"thr_1","sessionId":"sess_1","preview":"","ephemeral":false,
            "modelProvider":"openai","createdAt":1760000000,"updatedAt":1760000000,
            "status":{"type":"idle"},"path":null,"cwd":"/home/user/project","cliVersion":"0.163.0",
            "source":"appServer","agentNickname":null,"agentRole":null,"gitInfo":null,
            "name":null,"turns":[],"projectId":null},
          "model":"gpt-5.5","modelProvider":"openai","serviceTier":null,"cwd":"/home/user/project",
          "instructionSources":[],"approvalPolicy":"never","approvalsReviewer":"user",
          "sandbox":{"type":"readOnly","networkAccess":false},"reasoningEffort":"medium"}"#,
    );
    assert_eq!(response.thread.id, "thr_1");
    assert_eq!(response.model, "gpt-5.5");
    assert!(matches!(
        response.sandbox,
        openai_codex_protocol::SandboxPolicy::ReadOnly(_)
    ));
    assert!(matches!(
        response.approval_policy,
        openai_codex_protocol::AskForApproval::Never
    ));
}

#[test]
fn unknown_notification_method() {
    let n = notification_round_trip(
        "thread/teleported",
        r#"{"threadId":"thr_1","where":"moon"}"#,
    );
    match &n {
        ServerNotification::Unknown { method, params } => {
            assert_eq!(method, "thread/teleported");
            assert_eq!(params["where"], "moon");
        }
        other => panic!("wrong variant: {other:?}"),
    }
    assert_eq!(n.method(), "thread/teleported");
}

#[test]
fn unknown_thread_item_keeps_raw_json() {
    let json = r#"{"type":"hologram","id":"h_1","frames":[1,2,3]}"#;
    let item: ThreadItem = round_trip(json);
    match item {
        ThreadItem::Unknown(raw) => {
            assert_eq!(raw, serde_json::from_str::<Value>(json).unwrap());
        }
        other => panic!("wrong variant: {other:?}"),
    }
}

#[test]
fn unknown_enum_string_round_trips() {
    let status: TurnStatus = serde_json::from_str(r#""paused""#).unwrap();
    assert_eq!(status, TurnStatus::Unknown("paused".into()));
    assert_eq!(serde_json::to_string(&status).unwrap(), r#""paused""#);
    assert_eq!(status.as_str(), "paused");
    let known: TurnStatus = serde_json::from_str(r#""inProgress""#).unwrap();
    assert_eq!(known, TurnStatus::InProgress);
    assert_eq!(known.as_str(), "inProgress");
}

#[test]
fn unknown_fields_are_kept() {
    // A member a newer runtime might add: decoded beside the known fields, encoded back.
    let json = r#"{"type":"agentMessage","id":"msg_1","text":"Hi","sparkles":true}"#;
    let item: ThreadItem = serde_json::from_str(json).unwrap();
    let ThreadItem::AgentMessage(ref m) = item else {
        panic!("wrong variant: {item:?}")
    };
    assert_eq!(m.text, "Hi");
    assert_eq!(m.extra.get("sparkles"), Some(&serde_json::json!(true)));
    let again = serde_json::to_value(&item).unwrap();
    assert_eq!(
        again,
        serde_json::from_str::<serde_json::Value>(json).unwrap()
    );
}

#[test]
fn externally_tagged_decision() {
    let accept: CommandExecutionApprovalDecision = round_trip(r#""accept""#);
    assert_eq!(accept, CommandExecutionApprovalDecision::Accept);
    let amend: CommandExecutionApprovalDecision = round_trip(
        r#"{"acceptWithExecpolicyAmendment":{"execpolicy_amendment":["git","status"]}}"#,
    );
    assert!(matches!(
        amend,
        CommandExecutionApprovalDecision::AcceptWithExecpolicyAmendment(ref a)
            if a.execpolicy_amendment == ["git", "status"]
    ));
    let future: CommandExecutionApprovalDecision = round_trip(r#""acceptForever""#);
    assert!(matches!(
        future,
        CommandExecutionApprovalDecision::Unknown(_)
    ));
}

#[test]
fn user_input_variants() {
    let text: UserInput = round_trip(r#"{"type":"text","text":"hello","text_elements":[]}"#);
    assert!(matches!(text, UserInput::Text(ref t) if t.text == "hello"));
    let image: UserInput = round_trip(r#"{"type":"image","url":"https://example.com/a.png"}"#);
    assert!(matches!(image, UserInput::Image(_)), "{image:?}");
}

#[test]
fn server_request_decode() {
    let request = ServerRequest::decode(
        "item/commandExecution/requestApproval",
        &raw(r#"{"threadId":"thr_1","turnId":"turn_1","itemId":"call_1","startedAtMs":1760000000000,"command":"ls","cwd":"/tmp"}"#),
    )
    .expect("decodes");
    assert!(
        matches!(request, ServerRequest::ItemCommandExecutionRequestApproval(ref p) if p.item_id == "call_1"),
        "{request:?}"
    );
    let unknown = ServerRequest::decode("item/teleport/requestApproval", &raw("null")).unwrap();
    assert_eq!(unknown.method(), "item/teleport/requestApproval");
}

#[test]
fn absent_optional_fields_are_omitted() {
    let params = openai_codex_protocol::ThreadStartParams::default();
    assert_eq!(serde_json::to_string(&params).unwrap(), "{}");
}
