//! The scenario the fake app-server plays, parsed from `CODEX_FAKE_SCRIPT` / `CODEX_FAKE_SCENARIO`.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Map, Value};

/// Every knob of a scenario (see the module docs of `fake_server` for their meaning).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Scenario {
    pub deltas: u64,
    pub delta_text: String,
    pub concurrent: bool,
    pub interleave_after_turns: Option<usize>,
    pub stamp_deltas: bool,
    pub slow_deltas_ms: u64,
    pub completed_before_response: bool,
    pub unknown_notifications: bool,
    pub unknown_server_request: bool,
    pub server_requests: ServerRequests,
    pub error_for: HashMap<String, ErrorSpec>,
    pub junk_line: JunkLine,
    pub junk_text: String,
    pub never_answer: Vec<String>,
    pub exit_mid_turn: Option<ExitSpec>,
    pub fail_turn: Option<Value>,
    pub duplicate_completion: bool,
    pub go_silent: bool,
    pub echo_requests: bool,
    pub login_outcome: LoginOutcome,
    pub version: String,
    pub model: String,
    pub turns: Vec<Value>,
}

impl Default for Scenario {
    fn default() -> Self {
        Self {
            deltas: 3,
            delta_text: "Hello. ".to_owned(),
            concurrent: false,
            interleave_after_turns: None,
            stamp_deltas: false,
            slow_deltas_ms: 0,
            completed_before_response: false,
            unknown_notifications: false,
            unknown_server_request: false,
            server_requests: ServerRequests::default(),
            error_for: HashMap::new(),
            junk_line: JunkLine::default(),
            junk_text: "this line is not JSON (codex-fake-app-server junk_line)".to_owned(),
            never_answer: Vec::new(),
            exit_mid_turn: None,
            fail_turn: None,
            duplicate_completion: false,
            go_silent: false,
            echo_requests: false,
            login_outcome: LoginOutcome::Success,
            version: "0.163.0".to_owned(),
            model: "fake-model".to_owned(),
            turns: Vec::new(),
        }
    }
}

/// The 10 server-request kinds of the 0.163.0 schema, in `ServerRequest.json` order.
pub(crate) const ALL_SERVER_REQUESTS: [&str; 10] = [
    "item/commandExecution/requestApproval",
    "item/fileChange/requestApproval",
    "item/tool/requestUserInput",
    "mcpServer/elicitation/request",
    "item/permissions/requestApproval",
    "item/tool/call",
    "account/chatgptAuthTokens/refresh",
    "attestation/generate",
    "applyPatchApproval",
    "execCommandApproval",
];

/// `server_requests`: `"all"` or a list of methods.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(untagged)]
pub(crate) enum ServerRequests {
    #[default]
    #[serde(skip)]
    None,
    All(String),
    List(Vec<String>),
}

impl ServerRequests {
    pub(crate) fn methods(&self) -> Result<Vec<String>, String> {
        match self {
            Self::None => Ok(Vec::new()),
            Self::All(s) if s == "all" => Ok(ALL_SERVER_REQUESTS
                .iter()
                .map(|m| (*m).to_owned())
                .collect()),
            Self::All(s) => Err(format!(
                "server_requests: expected \"all\" or a list, got {s:?}"
            )),
            Self::List(l) => Ok(l.clone()),
        }
    }
}

/// `junk_line`: `true` (before every `turn/start` response), a method, or a list of methods.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(untagged)]
pub(crate) enum JunkLine {
    #[default]
    #[serde(skip)]
    None,
    Flag(bool),
    Method(String),
    Methods(Vec<String>),
}

impl JunkLine {
    pub(crate) fn applies_to(&self, method: &str) -> bool {
        match self {
            Self::None | Self::Flag(false) => false,
            Self::Flag(true) => method == "turn/start",
            Self::Method(m) => m == method,
            Self::Methods(ms) => ms.iter().any(|m| m == method),
        }
    }
}

/// One entry of `error_for`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ErrorSpec {
    pub code: i64,
    pub message: String,
    #[serde(default)]
    pub data: Option<Value>,
    /// Fail only the first `times` calls of the method (then answer normally); absent = always.
    #[serde(default)]
    pub times: Option<u64>,
}

/// `exit_mid_turn`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExitSpec {
    #[serde(default)]
    pub after_deltas: u64,
    #[serde(default = "default_exit_code")]
    pub code: i32,
    #[serde(default)]
    pub stderr: String,
}

fn default_exit_code() -> i32 {
    1
}

/// What a browser / device-code login does after its `account/login/start` response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum LoginOutcome {
    /// `account/login/completed {success: true}` right after the response.
    Success,
    /// `account/login/completed {success: false, error: ...}` right after the response.
    Failure,
    /// Nothing until `account/login/cancel`.
    Pending,
    /// The successful completion is sent *before* the response.
    SuccessBeforeResponse,
}

/// The parsed scenario: the top level plus the per-`turn/start` overrides.
#[derive(Debug)]
pub(crate) struct Scenarios {
    pub base: Scenario,
    /// `per_turn[n]` is the scenario of the n-th `turn/start` request (0-based), when listed.
    pub per_turn: Vec<Scenario>,
}

impl Scenarios {
    /// Reads `CODEX_FAKE_SCRIPT` (a file) and `CODEX_FAKE_SCENARIO` (a JSON string); keys of the
    /// string override keys of the file.
    pub(crate) fn from_env() -> Result<Self, String> {
        let mut merged = Map::new();
        if let Ok(path) = std::env::var(super::SCRIPT_ENV) {
            if !path.is_empty() {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("cannot read {}={path}: {e}", super::SCRIPT_ENV))?;
                merge_into(&mut merged, parse_object(&text, super::SCRIPT_ENV)?);
            }
        }
        if let Ok(text) = std::env::var(super::SCENARIO_ENV) {
            if !text.trim().is_empty() {
                merge_into(&mut merged, parse_object(&text, super::SCENARIO_ENV)?);
            }
        }
        Self::from_map(merged)
    }

    pub(crate) fn from_map(merged: Map<String, Value>) -> Result<Self, String> {
        let base = parse_scenario(&merged)?;
        let mut per_turn = Vec::with_capacity(base.turns.len());
        for (n, over) in base.turns.iter().enumerate() {
            let Value::Object(over) = over else {
                return Err(format!("turns[{n}] must be an object"));
            };
            let mut m = merged.clone();
            m.remove("turns");
            merge_into(&mut m, over.clone());
            per_turn.push(parse_scenario(&m).map_err(|e| format!("turns[{n}]: {e}"))?);
        }
        Ok(Self { base, per_turn })
    }
}

fn parse_object(text: &str, what: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(format!("{what}: the scenario must be a JSON object")),
        Err(e) => Err(format!("{what}: invalid JSON: {e}")),
    }
}

fn merge_into(into: &mut Map<String, Value>, from: Map<String, Value>) {
    for (k, v) in from {
        into.insert(k, v);
    }
}

fn parse_scenario(map: &Map<String, Value>) -> Result<Scenario, String> {
    let sc: Scenario =
        serde_json::from_value(Value::Object(map.clone())).map_err(|e| e.to_string())?;
    sc.server_requests.methods()?;
    if sc.interleave_after_turns == Some(0) {
        return Err("interleave_after_turns must be at least 1".to_owned());
    }
    Ok(sc)
}
