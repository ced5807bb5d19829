//! The generated method tables agree with the checked-in schema, one for one.

use std::collections::BTreeSet;

use openai_codex_protocol::{
    client_notifications, notifications, requests, server_requests, ClientNotificationMethod,
    ClientRequest, MethodInfo, ServerNotificationMethod, ServerRequestMethod, CLIENT_NOTIFICATIONS,
    CLIENT_REQUESTS, SERVER_NOTIFICATIONS, SERVER_REQUESTS,
};

/// The method names of one of the schema's method unions (`ClientRequest.json`, …): of the
/// stable bundle, or with the `experimental` feature of the experimental one (whose unions are
/// definitions of its combined file).
fn schema_methods(file: &str) -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema");
    let read = |path: std::path::PathBuf| -> serde_json::Value {
        let text = std::fs::read_to_string(&path).expect("schema file is checked in");
        serde_json::from_str(&text).expect("schema file is JSON")
    };
    let schema = if cfg!(feature = "experimental") {
        let bundle = read(
            dir.join("experimental")
                .join("codex_app_server_protocol.schemas.json"),
        );
        bundle["definitions"][file.trim_end_matches(".json")].clone()
    } else {
        read(dir.join(file))
    };
    schema["oneOf"]
        .as_array()
        .expect("method union is a oneOf")
        .iter()
        .map(|member| {
            member["properties"]["method"]["enum"][0]
                .as_str()
                .expect("each member names one method")
                .to_string()
        })
        .collect()
}

/// Names of generated type aliases that are (or wrap) `serde_json::Value`.
fn untyped_aliases() -> BTreeSet<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/generated/types.rs");
    let text = std::fs::read_to_string(path).expect("generated types are checked in");
    text.lines()
        .filter_map(|line| line.strip_prefix("pub type "))
        .filter(|line| line.contains("Value"))
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

fn check_table(file: &str, table: &[MethodInfo], expected: usize, is_request: bool) {
    let schema = schema_methods(file);
    assert_eq!(schema.len(), expected, "{file}: schema method count");
    assert_eq!(table.len(), expected, "{file}: typed method count");
    let schema_set: BTreeSet<&str> = schema.iter().map(String::as_str).collect();
    let table_set: BTreeSet<&str> = table.iter().map(|m| m.method).collect();
    assert_eq!(
        schema_set.len(),
        expected,
        "{file}: duplicate methods in schema"
    );
    assert_eq!(
        table_set.len(),
        expected,
        "{file}: duplicate methods in table"
    );
    let missing: Vec<_> = schema_set.difference(&table_set).collect();
    let extra: Vec<_> = table_set.difference(&schema_set).collect();
    assert!(
        missing.is_empty(),
        "{file}: methods without a typed entry: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "{file}: typed methods not in the schema: {extra:?}"
    );
    let untyped = untyped_aliases();
    for info in table {
        for ty in [Some(info.params_type), info.response_type]
            .into_iter()
            .flatten()
        {
            let inner = ty
                .strip_prefix("Option<")
                .and_then(|t| t.strip_suffix('>'))
                .unwrap_or(ty);
            assert!(
                !matches!(inner, "Value" | "serde_json::Value") && !untyped.contains(inner),
                "{}: `{ty}` is an untyped serde_json::Value",
                info.method
            );
        }
        assert_eq!(
            info.response_type.is_some(),
            is_request,
            "{}: response type presence",
            info.method
        );
    }
}

/// Method counts of the stable surface and, with the `experimental` feature, of the
/// experimental one (runtime 0.163.0 adds 67 client requests and 1 server request, no
/// notification).
const fn count(stable: usize, experimental: usize) -> usize {
    if cfg!(feature = "experimental") {
        experimental
    } else {
        stable
    }
}

#[test]
fn client_requests_match_schema() {
    check_table("ClientRequest.json", CLIENT_REQUESTS, count(105, 172), true);
}

#[test]
fn server_notifications_match_schema() {
    check_table(
        "ServerNotification.json",
        SERVER_NOTIFICATIONS,
        count(85, 85),
        false,
    );
}

#[test]
fn server_requests_match_schema() {
    check_table("ServerRequest.json", SERVER_REQUESTS, count(10, 11), true);
}

/// The experimental surface is there with the feature and absent without it.
#[test]
fn experimental_members_follow_the_feature() {
    let has = |method: &str| CLIENT_REQUESTS.iter().any(|m| m.method == method);
    assert_eq!(has("memory/reset"), cfg!(feature = "experimental"));
    assert_eq!(has("environment/add"), cfg!(feature = "experimental"));
    assert!(has("thread/start"));
    let current_time = SERVER_REQUESTS
        .iter()
        .any(|m| m.method == "currentTime/read");
    assert_eq!(current_time, cfg!(feature = "experimental"));
    let approval: serde_json::Value = serde_json::to_value(
        serde_json::from_value::<openai_codex_protocol::CommandExecutionRequestApprovalParams>(
            serde_json::json!({
                "itemId": "i", "threadId": "t", "turnId": "u", "startedAtMs": 1,
                "availableDecisions": ["accept", "decline"]
            }),
        )
        .unwrap(),
    )
    .unwrap();
    // Either way the member survives a round trip (typed with the feature, in `extra` without).
    assert_eq!(
        approval["availableDecisions"],
        serde_json::json!(["accept", "decline"])
    );
}

#[test]
fn client_notifications_match_schema() {
    check_table("ClientNotification.json", CLIENT_NOTIFICATIONS, 1, false);
}

#[test]
fn response_overrides_resolve() {
    let response = |method: &str| {
        CLIENT_REQUESTS
            .iter()
            .find(|m| m.method == method)
            .and_then(|m| m.response_type)
            .unwrap_or_else(|| panic!("{method} has no response type"))
    };
    assert_eq!(response("config/batchWrite"), "ConfigWriteResponse");
    assert_eq!(response("config/value/write"), "ConfigWriteResponse");
    assert_eq!(response("account/logout"), "LogoutAccountResponse");
    assert_eq!(
        response("config/mcpServer/reload"),
        "McpServerRefreshResponse"
    );
    assert_eq!(response("thread/start"), "ThreadStartResponse");
}

// Compile-level checks: these only build if the associated types are exactly these.
fn _thread_start(
    params: <requests::ThreadStart as ClientRequest>::Params,
) -> <requests::ThreadStart as ClientRequest>::Response {
    let _: openai_codex_protocol::ThreadStartParams = params;
    unreachable!()
}

fn _typed_signatures(
    _start: fn(
        openai_codex_protocol::ThreadStartParams,
    ) -> openai_codex_protocol::ThreadStartResponse,
) {
}

#[test]
fn associated_types() {
    _typed_signatures(_thread_start);
    fn same<T>(_: std::marker::PhantomData<T>, _: std::marker::PhantomData<T>) {}
    use std::marker::PhantomData as P;
    same(
        P::<<requests::TurnStart as ClientRequest>::Response>,
        P::<openai_codex_protocol::TurnStartResponse>,
    );
    same(
        P::<<requests::AccountLogout as ClientRequest>::Params>,
        P::<()>,
    );
    same(
        P::<<requests::AccountRateLimitsRead as ClientRequest>::Params>,
        P::<Option<openai_codex_protocol::GetAccountRateLimitsParams>>,
    );
    same(
        P::<<notifications::ItemAgentMessageDelta as ServerNotificationMethod>::Payload>,
        P::<openai_codex_protocol::AgentMessageDeltaNotification>,
    );
    same(
        P::<<server_requests::ItemCommandExecutionRequestApproval as ServerRequestMethod>::Response>,
        P::<openai_codex_protocol::CommandExecutionRequestApprovalResponse>,
    );
    same(
        P::<<client_notifications::Initialized as ClientNotificationMethod>::Params>,
        P::<()>,
    );
    assert_eq!(
        <requests::Initialize as ClientRequest>::METHOD,
        "initialize"
    );
    assert_eq!(
        <requests::ConfigMcpServerReload as ClientRequest>::METHOD,
        "config/mcpServer/reload"
    );
    assert_eq!(
        <requests::AccountLoginStart as ClientRequest>::METHOD,
        "account/login/start"
    );
    assert_eq!(openai_codex_protocol::RUNTIME_VERSION, "0.163.0");
}

/// A payload typed as `serde_json::Value` would accept a bare string; every generated payload
/// is a struct or typed enum and must reject it.
#[test]
fn notification_and_server_request_payloads_are_typed() {
    let not_an_object = serde_json::value::RawValue::from_string("\"oops\"".into()).unwrap();
    for info in SERVER_NOTIFICATIONS {
        let result = openai_codex_protocol::ServerNotification::decode(info.method, &not_an_object);
        assert!(result.is_err(), "{} accepts any JSON", info.method);
    }
    for info in SERVER_REQUESTS {
        let result = openai_codex_protocol::ServerRequest::decode(info.method, &not_an_object);
        assert!(result.is_err(), "{} accepts any JSON", info.method);
    }
}
