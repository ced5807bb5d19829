//! Round trips of real traffic.
//!
//! `tests/fixtures/*.jsonl` hold whole sessions with the pinned runtime, recorded by
//! `cargo xtask record-fixtures` (the real `codex app-server` against the testkit's scripted
//! model), one message a line: `{"dir":"c2s"|"s2c","msg":{...}}`. Every message is decoded into
//! its typed value, chosen by its shape and method, and encoded again:
//!
//! - a server notification with [`ServerNotification::decode`], a server request with
//!   [`ServerRequest::decode`] (neither may fall back to `Unknown`), the client's reply with the
//!   `Response` type of that server request;
//! - a client request with the `Params` type of its [`requests`] marker, the server's response
//!   (matched by id) with the marker's `Response` type, an error response as a [`JSONRPCError`];
//! - a client notification with the `Params` type of its [`client_notifications`] marker.
//!
//! The encoded value must equal the original once `null` members are dropped on both sides (the
//! runtime writes unset optional fields as `null`, the typed side leaves them out). Nothing
//! may be dropped: members the checked-in schema does not describe (the runtime sends some that
//! only its experimental schema lists, such as `availableDecisions` on command approvals and
//! `environments` on threads) are kept in each type's `extra` map. A decoded value
//! must not hold an `Unknown` variant either: every tag and enum value the pinned runtime sends
//! is in its schema, so an `Unknown` means the generated type does not match the wire.
//!
//! `cargo test -p openai-codex-protocol --test round_trip -- --nocapture` prints the coverage.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Debug;
use std::path::{Path, PathBuf};

use openai_codex_protocol::{
    client_notifications, requests, server_requests, ClientNotificationMethod, ClientRequest,
    JSONRPCError, ServerNotification, ServerRequest, ServerRequestMethod, CLIENT_NOTIFICATIONS,
    CLIENT_REQUESTS, SERVER_REQUESTS,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;

/// Decodes a JSON value (from its text, as off the wire) into a type and encodes it again.
type Codec = fn(&Value) -> Result<Value, String>;

fn codec<T: Serialize + DeserializeOwned + Debug>(value: &Value) -> Result<Value, String> {
    let typed: T = serde_json::from_str(&value.to_string()).map_err(|e| format!("decode: {e}"))?;
    no_unknown(&typed)?;
    serde_json::to_value(&typed).map_err(|e| format!("encode: {e}"))
}

/// Fails when the decoded value holds an `Unknown(..)` fallback anywhere (string enums keep the
/// unknown string, unions the raw JSON; either way the schema's types missed a wire value).
fn no_unknown(typed: &impl Debug) -> Result<(), String> {
    let text = format!("{typed:?}");
    let mut from = 0;
    while let Some(at) = text[from..].find("Unknown(") {
        let at = from + at;
        let starts_word = text[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric() && c != '_');
        if starts_word {
            let end = text.len().min(at + 200);
            let start = text[..at]
                .char_indices()
                .rev()
                .nth(120)
                .map_or(0, |(i, _)| i);
            let end = (end..=text.len())
                .find(|&i| text.is_char_boundary(i))
                .unwrap_or(text.len());
            return Err(format!(
                "decoded into an Unknown fallback: …{}…",
                &text[start..end]
            ));
        }
        from = at + 1;
    }
    Ok(())
}

/// The params and response codecs of each client request, by method.
/// The second list is the experimental surface's, there with the `experimental` feature only.
macro_rules! client_requests {
    ($($marker:ident)* ; experimental: $($exp:ident)*) => {
        const CLIENT_REQUEST_MARKERS: &[&str] = &[
            $(<requests::$marker as ClientRequest>::METHOD,)*
            $(#[cfg(feature = "experimental")] <requests::$exp as ClientRequest>::METHOD,)*
        ];

        fn client_request(method: &str) -> Option<(Codec, Codec)> {
            $(
                if method == <requests::$marker as ClientRequest>::METHOD {
                    return Some((
                        codec::<<requests::$marker as ClientRequest>::Params>,
                        codec::<<requests::$marker as ClientRequest>::Response>,
                    ));
                }
            )*
            $(
                #[cfg(feature = "experimental")]
                if method == <requests::$exp as ClientRequest>::METHOD {
                    return Some((
                        codec::<<requests::$exp as ClientRequest>::Params>,
                        codec::<<requests::$exp as ClientRequest>::Response>,
                    ));
                }
            )*
            None
        }
    };
}

client_requests! {
    Initialize ThreadStart ThreadResume ThreadFork ThreadArchive ThreadDelete ThreadUnsubscribe
    ThreadNameSet ThreadGoalSet ThreadGoalGet ThreadGoalClear ThreadMetadataUpdate
    ThreadAttachmentAdd ThreadAttachmentList ThreadAttachmentOwnerList ThreadAttachmentRemove
    ThreadSectionMove ThreadUnarchive ThreadCompactStart ThreadShellCommand
    ThreadApproveGuardianDeniedAction ThreadRevert ThreadList ThreadSectionList
    ThreadSectionCreate ThreadSectionUpdate ThreadSectionDelete ThreadLoadedList ThreadRead
    ThreadTurnsList ThreadItemsList ThreadInjectItems SkillsList SkillsExtraRootsSet HooksList
    MarketplaceAdd MarketplaceRemove MarketplaceUpgrade PluginList PluginInstalled PluginReconcile
    PluginRead PluginSkillRead PluginShareSave PluginShareUpdateTargets PluginShareList
    PluginShareCheckout PluginShareDelete AppRead AppList AppInstalled FsReadFile FsWriteFile
    FsCreateDirectory FsGetMetadata FsReadDirectory FsRemove FsCopy FsWatch FsUnwatch
    SkillsConfigWrite PluginInstall PluginUninstall TurnStart TurnSteer TurnInterrupt ReviewStart
    ModelList AccountGatewayOAuthRead AccountGatewayOAuthLogin AccountGatewayOAuthCancel
    ModelProviderCapabilitiesRead ExperimentalFeatureList PermissionProfileList
    ExperimentalFeatureEnablementSet McpServerOauthLogin ConfigMcpServerReload McpServerStatusList
    McpServerResourceRead McpServerToolCall WindowsSandboxSetupStart WindowsSandboxReadiness
    AccountLoginStart AccountLoginCancel AccountLogout AccountRateLimitsRead
    AccountRateLimitResetCreditConsume AccountUsageRead AccountWorkspaceMessagesRead
    AccountSendAddCreditsNudgeEmail FeedbackUpload CommandExec CommandExecWrite
    CommandExecTerminate CommandExecResize ConfigRead ExternalAgentConfigDetect
    ExternalAgentConfigImport ExternalAgentConfigImportRecordHistory
    ExternalAgentConfigImportReadHistories ConfigValueWrite ConfigBatchWrite
    ConfigRequirementsRead AccountRead FuzzyFileSearch;
    experimental:
    ServerDiagnostics UserVerificationStatus UserVerificationEnroll UserVerificationDelete
    UserVerificationVerify UserVerificationCancel ThreadIncrementElicitation
    ThreadDecrementElicitation ThreadPredictionRequest ThreadQueueAdd ThreadQueueList
    ThreadQueueUpdate ThreadQueueDelete ThreadQueueReorder ThreadQueueStart ThreadSettingsUpdate
    ThreadMemoryModeSet MemoryStatus MemoryReset RolloutCompress ThreadBackgroundTerminalsClean
    ThreadBackgroundTerminalsList ThreadBackgroundTerminalsTerminate ProjectList ProjectRead
    ProjectCreate ProjectImport ProjectUpdate ProjectMove ProjectDelete ThreadSearch
    ThreadSearchOccurrences ThreadReadStateUpdate ThreadItemsRead PluginSearch TurnSettingsUpdate
    ThreadRealtimeStart ThreadRealtimeAppendAudio ThreadRealtimeAppendText
    ThreadRealtimeAppendSpeech ThreadRealtimeStop ThreadTimelineList ThreadRealtimeListVoices
    RemoteControlEnable RemoteControlDisable RemoteControlStatusRead RemoteControlPairingStart
    RemoteControlPairingStatus RemoteControlClientList RemoteControlClientRevoke
    CollaborationModeList MockExperimentalMethod EnvironmentAdd EnvironmentInfo EnvironmentStatus
    McpServerEventStreamStart McpServerEventStreamStop AccountBedrockDiscover AccountBedrockSetup
    AccountBedrockCheckGovCloudRequirements ProcessSpawn ProcessWriteStdin ProcessKill
    ProcessResizePty FuzzyFileSearchSessionStart FuzzyFileSearchSessionUpdate
    FuzzyFileSearchSessionStop
}

/// The codec of the client's reply to each server request, by method.
macro_rules! server_requests {
    ($($marker:ident)* ; experimental: $($exp:ident)*) => {
        const SERVER_REQUEST_MARKERS: &[&str] = &[
            $(<server_requests::$marker as ServerRequestMethod>::METHOD,)*
            $(#[cfg(feature = "experimental")] <server_requests::$exp as ServerRequestMethod>::METHOD,)*
        ];

        fn server_request_response(method: &str) -> Option<Codec> {
            $(
                if method == <server_requests::$marker as ServerRequestMethod>::METHOD {
                    return Some(codec::<<server_requests::$marker as ServerRequestMethod>::Response>);
                }
            )*
            $(
                #[cfg(feature = "experimental")]
                if method == <server_requests::$exp as ServerRequestMethod>::METHOD {
                    return Some(codec::<<server_requests::$exp as ServerRequestMethod>::Response>);
                }
            )*
            None
        }
    };
}

server_requests! {
    ItemCommandExecutionRequestApproval ItemFileChangeRequestApproval ItemToolRequestUserInput
    McpServerElicitationRequest ItemPermissionsRequestApproval ItemToolCall
    AccountChatgptAuthTokensRefresh AttestationGenerate ApplyPatchApproval ExecCommandApproval;
    experimental: CurrentTimeRead
}

fn client_notification(method: &str) -> Option<Codec> {
    (method == <client_notifications::Initialized as ClientNotificationMethod>::METHOD).then_some(
        codec::<<client_notifications::Initialized as ClientNotificationMethod>::Params> as Codec,
    )
}

/// Drops object members whose value is `null`, recursively.
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

/// Where `got` differs from `want`, one line per place.
fn diff(want: &Value, got: &Value) -> Vec<String> {
    fn walk(path: &str, want: &Value, got: &Value, out: &mut Vec<String>) {
        match (want, got) {
            (Value::Object(w), Value::Object(g)) => {
                for (key, wv) in w {
                    let here = format!("{path}/{key}");
                    match g.get(key) {
                        Some(gv) => walk(&here, wv, gv, out),
                        None => out.push(format!("{here}: dropped (was {})", short(wv))),
                    }
                }
                for (key, gv) in g {
                    if !w.contains_key(key) {
                        out.push(format!("{path}/{key}: added {}", short(gv)));
                    }
                }
            }
            (Value::Array(w), Value::Array(g)) if w.len() == g.len() => {
                for (i, (wv, gv)) in w.iter().zip(g).enumerate() {
                    walk(&format!("{path}/{i}"), wv, gv, out);
                }
            }
            _ if want != got => {
                let shown = if path.is_empty() { "/" } else { path };
                out.push(format!(
                    "{shown}: was {}, re-encoded as {}",
                    short(want),
                    short(got)
                ));
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk("", want, got, &mut out);
    out
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(100) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

/// Compares a re-encoding with the original, `null` members aside. `method` and `part`
/// (`params` or `result`) say where the value came from.
fn compare(part: &'static str, original: &Value, again: Value) -> Result<(), String> {
    let want = without_nulls(original.clone());
    let got = without_nulls(again);
    let mut failures = diff(&want, &got);
    if failures.is_empty() {
        Ok(())
    } else {
        failures.truncate(8);
        Err(format!(
            "{part}: round trip differs:\n    {}",
            failures.join("\n    ")
        ))
    }
}

/// Decodes with `codec` and compares the re-encoding with `original`.
fn check(codec: Codec, part: &'static str, original: &Value) -> Result<(), String> {
    let again = codec(original).map_err(|e| format!("{part}: {e}"))?;
    compare(part, original, again)
}

fn raw(params: &Value) -> Result<Box<RawValue>, String> {
    RawValue::from_string(params.to_string()).map_err(|e| e.to_string())
}

/// [`ServerNotification::decode`], then the `params` of its encoding.
fn notification_codec(method: &str, params: &Value) -> Result<Value, String> {
    let decoded =
        ServerNotification::decode(method, &raw(params)?).map_err(|e| format!("decode: {e}"))?;
    if let ServerNotification::Unknown { .. } = decoded {
        return Err("decoded as ServerNotification::Unknown".to_owned());
    }
    no_unknown(&decoded)?;
    let mut envelope = serde_json::to_value(&decoded).map_err(|e| format!("encode: {e}"))?;
    Ok(envelope["params"].take())
}

/// [`ServerRequest::decode`], then the `params` of its encoding.
fn server_request_codec(method: &str, params: &Value) -> Result<Value, String> {
    let decoded =
        ServerRequest::decode(method, &raw(params)?).map_err(|e| format!("decode: {e}"))?;
    if let ServerRequest::Unknown { .. } = decoded {
        return Err("decoded as ServerRequest::Unknown".to_owned());
    }
    no_unknown(&decoded)?;
    let mut envelope = serde_json::to_value(&decoded).map_err(|e| format!("encode: {e}"))?;
    Ok(envelope["params"].take())
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
}

fn fixture_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .expect("tests/fixtures exists (record it with `cargo xtask record-fixtures`)")
        .map(|entry| entry.expect("readable fixtures folder").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "jsonl"))
        .collect();
    files.sort();
    files
}

/// What a fixture line turned out to be, for the coverage report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    ClientRequest,
    ClientNotification,
    Response,
    ErrorResponse,
    ServerNotification,
    ServerRequest,
    ServerRequestResponse,
}

#[derive(Default)]
struct Report {
    /// (kind, method) → count.
    seen: BTreeMap<(Kind, String), usize>,
    failures: Vec<String>,
    lines: usize,
}

impl Report {
    fn saw(&mut self, kind: Kind, method: &str) {
        *self.seen.entry((kind, method.to_owned())).or_default() += 1;
    }

    fn methods(&self, kind: Kind) -> BTreeSet<&str> {
        self.seen
            .keys()
            .filter(|(k, _)| *k == kind)
            .map(|(_, m)| m.as_str())
            .collect()
    }
}

/// The JSON-RPC id as a map key (`1` and `"1"` stay apart).
fn id_key(id: &Value) -> String {
    id.to_string()
}

/// What one fixture line was.
struct Checked {
    kind: Kind,
    /// The method; for a response, the method of its request.
    method: String,
}

/// A failed line: the method (or what stands for it) and the problem.
type Failure = (String, String);

/// Checks one message.
fn check_message(
    dir: &str,
    msg: &Value,
    client_pending: &mut HashMap<String, String>,
    server_pending: &mut HashMap<String, String>,
) -> Result<Checked, Failure> {
    let method = msg.get("method").and_then(Value::as_str);
    let id = msg.get("id");
    // Params may be left out on the wire (`()` params); the typed side writes `null` then.
    let params = msg.get("params").cloned().unwrap_or(Value::Null);
    let checked = |kind, method: &str| Checked {
        kind,
        method: method.to_owned(),
    };
    match (dir, method, id) {
        ("c2s", Some(method), Some(id)) => {
            let fail = |e: String| (method.to_owned(), e);
            let (params_codec, _) = client_request(method)
                .ok_or_else(|| fail("client request not in the schema".to_owned()))?;
            client_pending.insert(id_key(id), method.to_owned());
            check(params_codec, "params", &params).map_err(fail)?;
            Ok(checked(Kind::ClientRequest, method))
        }
        ("c2s", Some(method), None) => {
            let fail = |e: String| (method.to_owned(), e);
            let codec = client_notification(method)
                .ok_or_else(|| fail("client notification not in the schema".to_owned()))?;
            check(codec, "params", &params).map_err(fail)?;
            Ok(checked(Kind::ClientNotification, method))
        }
        ("s2c", Some(method), None) => {
            notification_codec(method, &params)
                .map_err(|e| format!("params: {e}"))
                .and_then(|again| compare("params", &params, again))
                .map_err(|e| (method.to_owned(), e))?;
            Ok(checked(Kind::ServerNotification, method))
        }
        ("s2c", Some(method), Some(id)) => {
            server_pending.insert(id_key(id), method.to_owned());
            server_request_codec(method, &params)
                .map_err(|e| format!("params: {e}"))
                .and_then(|again| compare("params", &params, again))
                .map_err(|e| (method.to_owned(), e))?;
            Ok(checked(Kind::ServerRequest, method))
        }
        (_, None, Some(id)) => {
            let pending = if dir == "s2c" {
                &mut *client_pending
            } else {
                &mut *server_pending
            };
            let method = pending.remove(&id_key(id)).ok_or_else(|| {
                (
                    format!("response {id}"),
                    "no request with this id".to_owned(),
                )
            })?;
            let fail = |e: String| (method.clone(), e);
            if msg.get("error").is_some() {
                check(codec::<JSONRPCError>, "error", msg).map_err(fail)?;
                return Ok(checked(Kind::ErrorResponse, &method));
            }
            let result = msg
                .get("result")
                .ok_or_else(|| fail("response without result or error".to_owned()))?;
            let (kind, response) = if dir == "s2c" {
                let (_, response) = client_request(&method).expect("checked with the request");
                (Kind::Response, response)
            } else {
                let response = server_request_response(&method)
                    .ok_or_else(|| fail("server request not in the schema".to_owned()))?;
                (Kind::ServerRequestResponse, response)
            };
            check(response, "result", result).map_err(fail)?;
            Ok(checked(kind, &method))
        }
        _ => Err((
            "?".to_owned(),
            format!("unrecognised message shape ({dir})"),
        )),
    }
}

fn run_fixtures() -> Report {
    let mut report = Report::default();
    let files = fixture_files();
    assert!(
        !files.is_empty(),
        "no fixtures in {}; record them with `cargo xtask record-fixtures`",
        fixtures_dir().display()
    );
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&file).expect("readable fixture");
        let mut client_pending = HashMap::new();
        let mut server_pending = HashMap::new();
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            report.lines += 1;
            let entry: Value = match serde_json::from_str(line) {
                Ok(entry) => entry,
                Err(e) => {
                    report
                        .failures
                        .push(format!("{name}:{number}: not JSON: {e}"));
                    continue;
                }
            };
            let dir = entry["dir"].as_str().unwrap_or_default();
            match check_message(dir, &entry["msg"], &mut client_pending, &mut server_pending) {
                Ok(checked) => report.saw(checked.kind, &checked.method),
                Err((method, problem)) => report
                    .failures
                    .push(format!("{name}:{number} ({dir} {method}): {problem}")),
            }
        }
        for (id, method) in client_pending {
            report
                .failures
                .push(format!("{name}: {method} request {id} has no response"));
        }
    }
    report
}

/// The methods each kind of message must have been seen with, at least.
const REQUIRED: &[(Kind, &[&str])] = &[
    (
        Kind::ClientRequest,
        &[
            "initialize",
            "thread/start",
            "thread/read",
            "thread/list",
            "thread/name/set",
            "thread/resume",
            "thread/fork",
            "thread/archive",
            "thread/unarchive",
            "turn/start",
            "turn/steer",
            "model/list",
            "account/read",
        ],
    ),
    (Kind::ClientNotification, &["initialized"]),
    (
        Kind::Response,
        &[
            "initialize",
            "thread/start",
            "thread/read",
            "thread/list",
            "thread/name/set",
            "thread/resume",
            "thread/fork",
            "thread/archive",
            "thread/unarchive",
            "turn/start",
            "model/list",
            "account/read",
        ],
    ),
    (Kind::ErrorResponse, &["thread/read", "turn/steer"]),
    (
        Kind::ServerNotification,
        &[
            "thread/started",
            "thread/status/changed",
            "thread/name/updated",
            "thread/archived",
            "thread/unarchived",
            "turn/started",
            "item/started",
            "item/agentMessage/delta",
            "item/reasoning/summaryTextDelta",
            "item/reasoning/textDelta",
            "item/completed",
            "thread/tokenUsage/updated",
            "turn/diff/updated",
            "serverRequest/resolved",
            "turn/completed",
            "error",
        ],
    ),
    (
        Kind::ServerRequest,
        &["item/commandExecution/requestApproval"],
    ),
    (
        Kind::ServerRequestResponse,
        &["item/commandExecution/requestApproval"],
    ),
];

#[test]
fn recorded_traffic_round_trips() {
    let report = run_fixtures();
    assert!(
        report.failures.is_empty(),
        "{} of {} fixture lines failed to round-trip:\n{}",
        report.failures.len(),
        report.lines,
        report.failures.join("\n")
    );
    let mut missing = Vec::new();
    for (kind, methods) in REQUIRED {
        let seen = report.methods(*kind);
        missing.extend(
            methods
                .iter()
                .filter(|m| !seen.contains(*m))
                .map(|m| format!("{kind:?} {m}")),
        );
    }
    assert!(
        missing.is_empty(),
        "the fixtures lack: {missing:?}; re-record with `cargo xtask record-fixtures`"
    );
    // Coverage, for `cargo test -- --nocapture`.
    println!("{} fixture lines round-tripped:", report.lines);
    for ((kind, method), count) in &report.seen {
        println!("  {kind:?} {method}: {count}");
    }
}

/// The first recorded message of `method` in the given direction, whole.
fn first_message(dir: &str, method: &str) -> Value {
    for file in fixture_files() {
        let text = std::fs::read_to_string(&file).expect("readable fixture");
        for line in text.lines() {
            let entry: Value = serde_json::from_str(line).expect("JSON line");
            if entry["dir"] == dir && entry["msg"]["method"] == method {
                return entry["msg"].clone();
            }
        }
    }
    panic!("no {dir} {method} in the fixtures; re-record with `cargo xtask record-fixtures`")
}

#[test]
fn members_only_the_experimental_schema_describes_reach_the_typed_values() {
    // A command approval says which decisions the client may answer with.
    let approval = first_message("s2c", "item/commandExecution/requestApproval");
    let sent = approval["params"]["availableDecisions"].clone();
    assert!(sent.as_array().is_some_and(|d| !d.is_empty()), "{approval}");
    let ServerRequest::ItemCommandExecutionRequestApproval(params) = ServerRequest::decode(
        "item/commandExecution/requestApproval",
        &RawValue::from_string(approval["params"].to_string()).unwrap(),
    )
    .unwrap() else {
        panic!("not decoded as a command approval")
    };
    // Typed with the `experimental` feature; kept in `extra` without it.
    #[cfg(feature = "experimental")]
    {
        let typed = serde_json::to_value(params.available_decisions.as_ref().unwrap()).unwrap();
        assert_eq!(typed, sent);
        assert!(params.extra.is_empty(), "{:?}", params.extra);
    }
    #[cfg(not(feature = "experimental"))]
    assert_eq!(params.extra.get("availableDecisions"), Some(&sent));
    // A started thread lists its environments.
    let started = first_message("s2c", "thread/started");
    let sent = started["params"]["thread"]["environments"].clone();
    assert!(sent.is_array(), "{started}");
    let ServerNotification::ThreadStarted(n) = ServerNotification::decode(
        "thread/started",
        &RawValue::from_string(started["params"].to_string()).unwrap(),
    )
    .unwrap() else {
        panic!("not decoded as thread/started")
    };
    #[cfg(feature = "experimental")]
    {
        let typed = serde_json::to_value(n.thread.environments.as_ref().unwrap()).unwrap();
        assert_eq!(typed, sent);
        assert!(!n.thread.extra.contains_key("environments"));
    }
    #[cfg(not(feature = "experimental"))]
    assert_eq!(n.thread.extra.get("environments"), Some(&sent));
}

#[test]
fn fixtures_cover_the_main_item_types() {
    // The item types of `item/completed` are the variants most worth covering: list them so a
    // re-recording that loses one shows up in review.
    let mut types = BTreeSet::new();
    for file in fixture_files() {
        let text = std::fs::read_to_string(&file).expect("readable fixture");
        for line in text.lines() {
            let entry: Value = serde_json::from_str(line).expect("JSON line");
            if entry["msg"]["method"] == "item/completed" {
                if let Some(t) = entry["msg"]["params"]["item"]["type"].as_str() {
                    types.insert(t.to_owned());
                }
            }
        }
    }
    for required in [
        "userMessage",
        "agentMessage",
        "reasoning",
        "commandExecution",
        "fileChange",
    ] {
        assert!(
            types.contains(required),
            "no completed {required} item in the fixtures ({types:?})"
        );
    }
}

#[test]
fn dispatch_tables_cover_the_schema() {
    let markers: BTreeSet<&str> = CLIENT_REQUEST_MARKERS.iter().copied().collect();
    let table: BTreeSet<&str> = CLIENT_REQUESTS.iter().map(|m| m.method).collect();
    assert_eq!(
        markers, table,
        "client_requests! lists every client request"
    );
    let markers: BTreeSet<&str> = SERVER_REQUEST_MARKERS.iter().copied().collect();
    let table: BTreeSet<&str> = SERVER_REQUESTS.iter().map(|m| m.method).collect();
    assert_eq!(
        markers, table,
        "server_requests! lists every server request"
    );
    for info in CLIENT_NOTIFICATIONS {
        assert!(
            client_notification(info.method).is_some(),
            "{}",
            info.method
        );
    }
}

#[test]
fn no_unknown_spots_fallbacks() {
    #[derive(Debug)]
    #[allow(dead_code)]
    enum E {
        Known(u8),
        Unknown(String),
        NotUnknown(u8),
    }
    assert!(no_unknown(&E::Known(1)).is_ok());
    assert!(no_unknown(&E::NotUnknown(1)).is_ok());
    assert!(no_unknown(&vec![E::Known(1), E::Unknown("x".into())]).is_err());
    assert!(no_unknown(&"UnknownValue").is_ok());
}
