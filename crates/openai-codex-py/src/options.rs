//! The Python API's keyword arguments, received as JSON objects and mapped onto the SDK's
//! option structs. The Python layer has already checked the `Sandbox`/`ApprovalMode` members and
//! converted inputs to their wire form; the protocol enums (`personality`, `summary`, ...) are
//! checked here by serde, so a bad value is a `ValueError` naming the field.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use openai_codex::types as proto;
use openai_codex::{
    ApprovalMode, CodexConfig, ExternalMessage, Input, InputItem, RunInput, Sandbox,
    ThreadForkOptions, ThreadListOptions, ThreadResumeOptions, ThreadStartOptions, TurnOptions,
};
use openai_codex::{ImageInput, LocalImageInput, MentionInput, SkillInput, TextInput};
use pyo3::exceptions::PyValueError;
use pyo3::PyResult;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

/// Parses the JSON the Python layer built; a mismatch is the caller's bad argument.
pub(crate) fn parse<T: DeserializeOwned>(what: &str, json: &str) -> PyResult<T> {
    serde_json::from_str(json).map_err(|e| PyValueError::new_err(format!("invalid {what}: {e}")))
}

fn sandbox(value: Option<String>) -> PyResult<Option<Sandbox>> {
    value
        .map(|v| match v.as_str() {
            "read-only" => Ok(Sandbox::ReadOnly),
            "workspace-write" => Ok(Sandbox::WorkspaceWrite),
            "full-access" => Ok(Sandbox::FullAccess),
            other => Err(PyValueError::new_err(format!(
                "unknown sandbox {other:?}; use Sandbox.read_only, Sandbox.workspace_write or Sandbox.full_access"
            ))),
        })
        .transpose()
}

fn approval(value: Option<String>) -> PyResult<Option<ApprovalMode>> {
    value
        .map(|v| match v.as_str() {
            "auto_review" => Ok(ApprovalMode::AutoReview),
            "deny_all" => Ok(ApprovalMode::DenyAll),
            "manual" => Ok(ApprovalMode::Manual),
            other => Err(PyValueError::new_err(format!(
                "unknown approval mode {other:?}; use ApprovalMode.auto_review, ApprovalMode.deny_all or ApprovalMode.manual"
            ))),
        })
        .transpose()
}

fn seconds(value: Option<f64>, what: &str) -> PyResult<Option<Duration>> {
    value
        .map(|s| {
            Duration::try_from_secs_f64(s).map_err(|_| {
                PyValueError::new_err(format!(
                    "{what} must be a non-negative number of seconds, got {s}"
                ))
            })
        })
        .transpose()
}

/// `CodexConfig(...)` of the Python package.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfigKw {
    codex_bin: Option<String>,
    launch_args_override: Option<Vec<String>>,
    #[serde(default)]
    config_overrides: Vec<String>,
    cwd: Option<String>,
    env: Option<BTreeMap<String, String>>,
    client_name: Option<String>,
    client_title: Option<String>,
    client_version: Option<String>,
    experimental_api: Option<bool>,
    request_timeout: Option<f64>,
    turn_stall_timeout: Option<f64>,
    shutdown_grace: Option<f64>,
}

impl ConfigKw {
    pub(crate) fn into_config(self) -> PyResult<CodexConfig> {
        let mut config = CodexConfig::default();
        config.codex_bin = self.codex_bin.map(PathBuf::from);
        config.launch_args_override = self.launch_args_override;
        config.config_overrides = self.config_overrides;
        config.cwd = self.cwd.map(PathBuf::from);
        config.env = self.env.unwrap_or_default();
        if let Some(name) = self.client_name {
            config.client_name = name;
        }
        if let Some(title) = self.client_title {
            config.client_title = title;
        }
        if let Some(version) = self.client_version {
            config.client_version = version;
        }
        if let Some(experimental) = self.experimental_api {
            config.experimental_api = experimental;
        }
        if let Some(timeout) = seconds(self.request_timeout, "request_timeout")? {
            config.request_timeout = timeout;
        }
        if let Some(grace) = seconds(self.shutdown_grace, "shutdown_grace")? {
            config.shutdown_grace = grace;
        }
        if let Some(stall) = seconds(self.turn_stall_timeout, "turn_stall_timeout")? {
            config.turn_stall_timeout = Some(stall);
        }
        Ok(config)
    }
}

/// `thread_start(...)`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StartKw {
    approval_mode: Option<String>,
    base_instructions: Option<String>,
    config: Option<Value>,
    cwd: Option<String>,
    developer_instructions: Option<String>,
    ephemeral: Option<bool>,
    model: Option<String>,
    model_provider: Option<String>,
    personality: Option<proto::Personality>,
    sandbox: Option<String>,
    service_name: Option<String>,
    service_tier: Option<String>,
    session_start_source: Option<proto::ThreadStartSource>,
    thread_source: Option<String>,
}

impl StartKw {
    pub(crate) fn into_options(self) -> PyResult<ThreadStartOptions> {
        let mut o = ThreadStartOptions::default();
        o.approval_mode = approval(self.approval_mode)?;
        o.base_instructions = self.base_instructions;
        o.config = self.config;
        o.cwd = self.cwd;
        o.developer_instructions = self.developer_instructions;
        o.ephemeral = self.ephemeral;
        o.model = self.model;
        o.model_provider = self.model_provider;
        o.personality = self.personality;
        o.sandbox = sandbox(self.sandbox)?;
        o.service_name = self.service_name;
        o.service_tier = self.service_tier;
        o.session_start_source = self.session_start_source;
        o.thread_source = self.thread_source;
        Ok(o)
    }
}

/// `thread_resume(thread_id, ...)`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResumeKw {
    approval_mode: Option<String>,
    base_instructions: Option<String>,
    config: Option<Value>,
    cwd: Option<String>,
    developer_instructions: Option<String>,
    include_turns: Option<bool>,
    model: Option<String>,
    model_provider: Option<String>,
    personality: Option<proto::Personality>,
    sandbox: Option<String>,
    service_tier: Option<String>,
}

impl ResumeKw {
    pub(crate) fn into_options(self) -> PyResult<ThreadResumeOptions> {
        let mut o = ThreadResumeOptions::default();
        o.approval_mode = approval(self.approval_mode)?;
        o.base_instructions = self.base_instructions;
        o.config = self.config;
        o.cwd = self.cwd;
        o.developer_instructions = self.developer_instructions;
        o.include_turns = self.include_turns;
        o.model = self.model;
        o.model_provider = self.model_provider;
        o.personality = self.personality;
        o.sandbox = sandbox(self.sandbox)?;
        o.service_tier = self.service_tier;
        Ok(o)
    }
}

/// `thread_fork(thread_id, ...)`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ForkKw {
    approval_mode: Option<String>,
    base_instructions: Option<String>,
    config: Option<Value>,
    cwd: Option<String>,
    developer_instructions: Option<String>,
    ephemeral: Option<bool>,
    include_turns: Option<bool>,
    model: Option<String>,
    model_provider: Option<String>,
    sandbox: Option<String>,
    service_tier: Option<String>,
    thread_source: Option<String>,
}

impl ForkKw {
    pub(crate) fn into_options(self) -> PyResult<ThreadForkOptions> {
        let mut o = ThreadForkOptions::default();
        o.approval_mode = approval(self.approval_mode)?;
        o.base_instructions = self.base_instructions;
        o.config = self.config;
        o.cwd = self.cwd;
        o.developer_instructions = self.developer_instructions;
        o.ephemeral = self.ephemeral;
        o.include_turns = self.include_turns;
        o.model = self.model;
        o.model_provider = self.model_provider;
        o.sandbox = sandbox(self.sandbox)?;
        o.service_tier = self.service_tier;
        o.thread_source = self.thread_source;
        Ok(o)
    }
}

/// `thread_list(...)`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListKw {
    archived: Option<bool>,
    cursor: Option<String>,
    cwd: Option<proto::ThreadListCwdFilter>,
    limit: Option<u32>,
    model_providers: Option<Vec<String>>,
    search_term: Option<String>,
    section_id: Option<String>,
    sort_direction: Option<proto::SortDirection>,
    sort_key: Option<proto::ThreadSortKey>,
    source_kinds: Option<Vec<proto::ThreadSourceKind>>,
    use_state_db_only: Option<bool>,
}

impl ListKw {
    pub(crate) fn into_options(self) -> ThreadListOptions {
        let mut o = ThreadListOptions::default();
        o.archived = self.archived;
        o.cursor = self.cursor;
        o.cwd = self.cwd;
        o.limit = self.limit;
        o.model_providers = self.model_providers;
        o.search_term = self.search_term;
        o.section_id = self.section_id;
        o.sort_direction = self.sort_direction;
        o.sort_key = self.sort_key;
        o.source_kinds = self.source_kinds;
        o.use_state_db_only = self.use_state_db_only;
        o
    }
}

/// `run(...)` / `turn(...)`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TurnKw {
    approval_mode: Option<String>,
    cwd: Option<String>,
    effort: Option<String>,
    model: Option<String>,
    output_schema: Option<Value>,
    personality: Option<proto::Personality>,
    sandbox: Option<String>,
    service_tier: Option<String>,
    summary: Option<proto::ReasoningSummary>,
    source: Option<String>,
    turn_service_tier: Option<String>,
    stall_timeout: Option<f64>,
}

impl TurnKw {
    pub(crate) fn into_options(self) -> PyResult<TurnOptions> {
        let mut o = TurnOptions::default();
        o.approval_mode = approval(self.approval_mode)?;
        o.cwd = self.cwd;
        o.effort = self.effort;
        o.model = self.model;
        o.output_schema = self.output_schema;
        o.personality = self.personality;
        o.sandbox = sandbox(self.sandbox)?;
        o.service_tier = self.service_tier;
        o.summary = self.summary;
        o.source = self.source;
        o.turn_service_tier = self.turn_service_tier;
        o.stall_timeout = seconds(self.stall_timeout, "stall_timeout")?;
        Ok(o)
    }
}

/// One input item in its wire form (`{"type": "text", "text": ...}`), as the Python input
/// classes produce it.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub(crate) enum WireItem {
    Text { text: String },
    Image { url: String },
    LocalImage { path: String },
    Skill { name: String, path: String },
    Mention { name: String, path: String },
}

/// A turn's input: a list of wire items, or an external tool message.
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum WireInput {
    Items(Vec<WireItem>),
    External {
        tool_name: String,
        content: ExternalWire,
        namespace: Option<String>,
    },
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum ExternalWire {
    Text(String),
    Items(Vec<proto::FunctionCallOutputContentItem>),
}

impl WireInput {
    fn items(items: Vec<WireItem>) -> PyResult<Input> {
        let mut converted = Vec::with_capacity(items.len());
        for item in items {
            converted.push(match item {
                WireItem::Text { text } => InputItem::Text(TextInput::new(text)),
                WireItem::Image { url } => InputItem::Image(ImageInput::new(url)),
                WireItem::LocalImage { path } => InputItem::LocalImage(LocalImageInput::new(path)),
                WireItem::Skill { name, path } => InputItem::Skill(SkillInput::new(name, path)),
                WireItem::Mention { name, path } => {
                    InputItem::Mention(MentionInput::new(name, path))
                }
            });
        }
        Ok(Input(converted))
    }

    pub(crate) fn into_run_input(self) -> PyResult<RunInput> {
        match self {
            WireInput::Items(items) => Ok(RunInput::Items(Self::items(items)?)),
            WireInput::External {
                tool_name,
                content,
                namespace,
            } => {
                let mut message = match content {
                    ExternalWire::Text(text) => ExternalMessage::text(tool_name, text),
                    ExternalWire::Items(items) => ExternalMessage::items(tool_name, items),
                };
                message.namespace = namespace;
                Ok(RunInput::External(message))
            }
        }
    }

    pub(crate) fn into_input(self) -> PyResult<Input> {
        match self {
            WireInput::Items(items) => Self::items(items),
            WireInput::External { .. } => Err(pyo3::exceptions::PyTypeError::new_err(
                "steer() does not take an ExternalMessage; pass text or input items",
            )),
        }
    }
}
