//! Threads (filled in with the typed layer).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Per-thread locks that serialize `turn/start` on one thread while other threads go in parallel.
#[derive(Debug, Default)]
pub(crate) struct TurnLocks {
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl TurnLocks {
    /// Takes the lock for `thread_id`; entries are removed when nobody holds or waits for them.
    pub(crate) async fn lock(&self, thread_id: &str) -> TurnLockGuard<'_> {
        let lock = Arc::clone(
            self.locks
                .lock()
                .expect("turn locks poisoned")
                .entry(thread_id.to_string())
                .or_default(),
        );
        let guard = Arc::clone(&lock).lock_owned().await;
        TurnLockGuard {
            owner: self,
            thread_id: thread_id.to_string(),
            guard: Some(guard),
        }
    }
}

/// Held while a turn starts on a thread.
pub(crate) struct TurnLockGuard<'a> {
    owner: &'a TurnLocks,
    thread_id: String,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Drop for TurnLockGuard<'_> {
    fn drop(&mut self) {
        self.guard.take();
        let mut locks = self.owner.locks.lock().expect("turn locks poisoned");
        if let Some(lock) = locks.get(&self.thread_id) {
            // Only the map holds it: nobody waits, forget the entry.
            if Arc::strong_count(lock) == 1 {
                locks.remove(&self.thread_id);
            }
        }
    }
}

use openai_codex_protocol::{self as proto, requests, ServerNotification};
use serde_json::Value;

use crate::codex::AsyncCodex;
use crate::error::{Error, Result};
use crate::inputs::RunInput;
use crate::overflow::OverflowPolicy;
use crate::sandbox::{ApprovalMode, Sandbox};
use crate::turn::{AsyncTurnHandle, StreamSettings, TurnResult};

/// Generates consuming, `#[must_use]` setters for `Option` fields of an options struct.
///
/// Most setters take `impl Into<T>` (`&str` for a `String`). Numbers take their type as is,
/// because `impl Into<u32>` cannot infer an integer literal (`limit(10)` would not compile).
macro_rules! setters {
    ($ty:ident { $($field:ident : $arg:ty),* $(,)? }) => {
        impl $ty {
            $(
                #[doc = concat!("Sets `", stringify!($field), "`.")]
                #[must_use]
                pub fn $field(mut self, value: impl Into<$arg>) -> Self {
                    self.$field = Some(value.into());
                    self
                }
            )*
        }
    };
}

/// A working directory argument: any string or path (`&str`, `String`, `Cow<str>` as from
/// `to_string_lossy()`, `&Path`, `PathBuf`), sent to the runtime as a string.
pub trait CwdArg {
    /// The directory as the string sent on the wire (a non-UTF-8 path is converted lossily).
    fn into_cwd(self) -> String;
}

impl CwdArg for &str {
    fn into_cwd(self) -> String {
        self.to_owned()
    }
}

impl CwdArg for String {
    fn into_cwd(self) -> String {
        self
    }
}

impl CwdArg for &String {
    fn into_cwd(self) -> String {
        self.clone()
    }
}

impl CwdArg for std::borrow::Cow<'_, str> {
    fn into_cwd(self) -> String {
        self.into_owned()
    }
}

impl CwdArg for &std::path::Path {
    fn into_cwd(self) -> String {
        self.to_string_lossy().into_owned()
    }
}

impl CwdArg for std::path::PathBuf {
    fn into_cwd(self) -> String {
        self.as_path().into_cwd()
    }
}

impl CwdArg for &std::path::PathBuf {
    fn into_cwd(self) -> String {
        self.as_path().into_cwd()
    }
}

/// The `cwd` setter: any string or path ([`CwdArg`]).
macro_rules! cwd_setter {
    ($ty:ident) => {
        impl $ty {
            /// Sets `cwd`: any string or path (`&str`, `String`, `&Path`, `PathBuf`, ...).
            #[must_use]
            pub fn cwd(mut self, dir: impl CwdArg) -> Self {
                self.cwd = Some(dir.into_cwd());
                self
            }
        }
    };
}

/// Options of [`AsyncCodex::thread_start`]. Unset fields are not sent.
///
/// Every setter takes the obvious argument:
///
/// ```
/// use std::path::Path;
/// use openai_codex::{ApprovalMode, Sandbox, ThreadStartOptions};
///
/// let options = ThreadStartOptions::default()
///     .model("gpt-5.4")
///     .cwd("/srv/app")
///     .cwd(Path::new("/srv/app"))
///     .cwd(std::env::temp_dir())
///     .cwd(std::env::temp_dir().to_string_lossy())
///     .cwd(String::from("/srv/app"))
///     .ephemeral(true)
///     .sandbox(Sandbox::WorkspaceWrite)
///     .approval_mode(ApprovalMode::DenyAll)
///     .config(serde_json::json!({"model_reasoning_effort": "high"}))
///     .developer_instructions("Be brief.");
/// assert_eq!(options.cwd.as_deref(), Some("/srv/app"));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct ThreadStartOptions {
    /// Approval mode; `None` means the default, [`ApprovalMode::AutoReview`].
    pub approval_mode: Option<ApprovalMode>,
    /// Replaces the model's base instructions.
    pub base_instructions: Option<String>,
    /// Config overrides as a JSON object of `config.toml` keys (e.g. `{"model_reasoning_effort": "high"}`).
    pub config: Option<Value>,
    /// The thread's working directory.
    pub cwd: Option<String>,
    /// Extra developer instructions.
    pub developer_instructions: Option<String>,
    /// An ephemeral thread is not persisted (cannot be listed, resumed or read with turns).
    pub ephemeral: Option<bool>,
    /// The model slug.
    pub model: Option<String>,
    /// The model provider id.
    pub model_provider: Option<String>,
    /// The personality.
    pub personality: Option<proto::Personality>,
    /// The sandbox preset.
    pub sandbox: Option<Sandbox>,
    /// A service name for attribution.
    pub service_name: Option<String>,
    /// The service tier (sticky for the thread).
    pub service_tier: Option<String>,
    /// Why the session starts (`startup` / `clear`).
    pub session_start_source: Option<proto::ThreadStartSource>,
    /// Who starts the thread (`user`, `subagent`, ... or any string).
    pub thread_source: Option<String>,
}
setters!(ThreadStartOptions {
    approval_mode: ApprovalMode,
    base_instructions: String,
    config: Value,
    developer_instructions: String,
    ephemeral: bool,
    model: String,
    model_provider: String,
    personality: proto::Personality,
    sandbox: Sandbox,
    service_name: String,
    service_tier: String,
    session_start_source: proto::ThreadStartSource,
    thread_source: String,
});
cwd_setter!(ThreadStartOptions);

/// Options of [`AsyncCodex::thread_resume`]. Unset fields keep what the thread has.
///
/// ```
/// use openai_codex::{Sandbox, ThreadResumeOptions};
///
/// let options = ThreadResumeOptions::default()
///     .cwd(std::env::temp_dir())
///     .include_turns(true)
///     .model("gpt-5.4")
///     .sandbox(Sandbox::ReadOnly);
/// assert_eq!(options.include_turns, Some(true));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct ThreadResumeOptions {
    /// Approval mode; `None` keeps the thread's stored policy.
    pub approval_mode: Option<ApprovalMode>,
    /// Replaces the base instructions.
    pub base_instructions: Option<String>,
    /// Config overrides (JSON object).
    pub config: Option<Value>,
    /// The working directory.
    pub cwd: Option<String>,
    /// Developer instructions.
    pub developer_instructions: Option<String>,
    /// Whether the response carries the full history. Defaults to `false` (the runtime's
    /// full-history hydration is deprecated; read turns with `thread/turns/list` instead).
    pub include_turns: Option<bool>,
    /// The model slug.
    pub model: Option<String>,
    /// The model provider id.
    pub model_provider: Option<String>,
    /// The personality.
    pub personality: Option<proto::Personality>,
    /// The sandbox preset.
    pub sandbox: Option<Sandbox>,
    /// The service tier.
    pub service_tier: Option<String>,
}
setters!(ThreadResumeOptions {
    approval_mode: ApprovalMode,
    base_instructions: String,
    config: Value,
    developer_instructions: String,
    include_turns: bool,
    model: String,
    model_provider: String,
    personality: proto::Personality,
    sandbox: Sandbox,
    service_tier: String,
});
cwd_setter!(ThreadResumeOptions);

/// Options of [`AsyncCodex::thread_fork`].
///
/// ```
/// use openai_codex::ThreadForkOptions;
///
/// let options = ThreadForkOptions::default()
///     .last_turn_id("turn-1")
///     .cwd("/srv/app")
///     .ephemeral(false);
/// assert_eq!(options.last_turn_id.as_deref(), Some("turn-1"));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct ThreadForkOptions {
    /// Approval mode; `None` keeps the source thread's policy.
    pub approval_mode: Option<ApprovalMode>,
    /// Replaces the base instructions.
    pub base_instructions: Option<String>,
    /// Config overrides (JSON object).
    pub config: Option<Value>,
    /// The working directory.
    pub cwd: Option<String>,
    /// Developer instructions.
    pub developer_instructions: Option<String>,
    /// Whether the fork is ephemeral.
    pub ephemeral: Option<bool>,
    /// Whether the response carries the full history (default `false`; see
    /// [`ThreadResumeOptions::include_turns`]).
    pub include_turns: Option<bool>,
    /// Fork up to and including this turn (default: the whole history).
    pub last_turn_id: Option<String>,
    /// The model slug.
    pub model: Option<String>,
    /// The model provider id.
    pub model_provider: Option<String>,
    /// The sandbox preset.
    pub sandbox: Option<Sandbox>,
    /// The service tier.
    pub service_tier: Option<String>,
    /// Who starts the thread.
    pub thread_source: Option<String>,
}
setters!(ThreadForkOptions {
    approval_mode: ApprovalMode,
    base_instructions: String,
    config: Value,
    developer_instructions: String,
    ephemeral: bool,
    include_turns: bool,
    last_turn_id: String,
    model: String,
    model_provider: String,
    sandbox: Sandbox,
    service_tier: String,
    thread_source: String,
});
cwd_setter!(ThreadForkOptions);

/// Filters of [`AsyncCodex::thread_list`]. Unset fields are not sent.
///
/// Every setter takes the obvious argument:
///
/// ```
/// use openai_codex::types::{SortDirection, ThreadListCwdFilter, ThreadSourceKind};
/// use openai_codex::ThreadListOptions;
///
/// let options = ThreadListOptions::default()
///     .limit(10)
///     .cwd("/srv/app")
///     .archived(false)
///     .search_term("parser")
///     .model_providers(["openai"])
///     .source_kinds([ThreadSourceKind::AppServer])
///     .sort_direction(SortDirection::Desc)
///     .section_id("work")
///     .use_state_db_only(true);
/// assert_eq!(options.limit, Some(10));
/// assert_eq!(options.cwd, Some(ThreadListCwdFilter::String("/srv/app".into())));
///
/// // Several working directories, or a path.
/// let several = ThreadListOptions::default().cwd(["/srv/a", "/srv/b"]);
/// let path = ThreadListOptions::default().cwd(std::env::temp_dir());
/// let owned = ThreadListOptions::default().model_providers(vec![String::from("openai")]);
/// # let _ = (several, path, owned);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct ThreadListOptions {
    /// List archived threads instead of active ones.
    pub archived: Option<bool>,
    /// The `nextCursor` of a previous page.
    pub cursor: Option<String>,
    /// Only threads with this working directory (or one of these).
    pub cwd: Option<proto::ThreadListCwdFilter>,
    /// Page size.
    pub limit: Option<u32>,
    /// Only these model providers.
    pub model_providers: Option<Vec<String>>,
    /// Full-text search.
    pub search_term: Option<String>,
    /// Sort direction.
    pub sort_direction: Option<proto::SortDirection>,
    /// Sort key.
    pub sort_key: Option<proto::ThreadSortKey>,
    /// Only these sources.
    pub source_kinds: Option<Vec<proto::ThreadSourceKind>>,
    /// Only threads of this sidebar section.
    pub section_id: Option<String>,
    /// Read only the runtime's state database (faster; skips scanning rollout files, so
    /// threads not yet indexed there are missing).
    pub use_state_db_only: Option<bool>,
}
setters!(ThreadListOptions {
    archived: bool,
    cursor: String,
    cwd: proto::ThreadListCwdFilter,
    search_term: String,
    section_id: String,
    sort_direction: proto::SortDirection,
    sort_key: proto::ThreadSortKey,
    use_state_db_only: bool,
});

impl ThreadListOptions {
    /// Sets `limit`, the page size.
    #[must_use]
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Sets `model_providers` (any list of strings: `["openai"]`, `vec!["a", "b"]`, a `Vec<String>`).
    #[must_use]
    pub fn model_providers(
        mut self,
        providers: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.model_providers = Some(providers.into_iter().map(Into::into).collect());
        self
    }

    /// Sets `source_kinds` (any list: `[ThreadSourceKind::AppServer]`, a `Vec`).
    #[must_use]
    pub fn source_kinds(
        mut self,
        kinds: impl IntoIterator<Item = proto::ThreadSourceKind>,
    ) -> Self {
        self.source_kinds = Some(kinds.into_iter().collect());
        self
    }
}

/// Options of one turn ([`AsyncThread::run`] / [`AsyncThread::turn`]). Overrides apply to this
/// turn and later turns of the thread, as the runtime does.
///
/// ```
/// use openai_codex::{ApprovalMode, Sandbox, TurnOptions};
///
/// let options = TurnOptions::default()
///     .effort("high")
///     .model("gpt-5.4")
///     .cwd(std::env::temp_dir())
///     .sandbox(Sandbox::WorkspaceWrite)
///     .approval_mode(ApprovalMode::Manual)
///     .output_schema(serde_json::json!({"type": "object"}));
/// assert_eq!(options.effort.as_deref(), Some("high"));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct TurnOptions {
    /// Approval mode; `None` keeps the thread's.
    pub approval_mode: Option<ApprovalMode>,
    /// The working directory.
    pub cwd: Option<String>,
    /// Reasoning effort (`low`, `medium`, `high`, ... any non-empty string the model supports).
    pub effort: Option<String>,
    /// The model slug.
    pub model: Option<String>,
    /// A JSON Schema (an object) the final answer must follow; applies to this turn only.
    pub output_schema: Option<Value>,
    /// The personality.
    pub personality: Option<proto::Personality>,
    /// The sandbox preset.
    pub sandbox: Option<Sandbox>,
    /// The service tier (sticky).
    pub service_tier: Option<String>,
    /// Reasoning summary mode.
    pub summary: Option<proto::ReasoningSummary>,
    /// What triggered the turn (`turnTrigger`).
    pub source: Option<String>,
    /// The service tier for this turn only.
    pub turn_service_tier: Option<String>,
    /// This turn's overflow policy (SDK side, not sent); `None` keeps
    /// [`CodexConfig::overflow`](crate::CodexConfig::overflow).
    pub overflow: Option<OverflowPolicy>,
    /// This turn's inactivity watchdog (SDK side, not sent); `None` keeps
    /// [`CodexConfig::turn_stall_timeout`](crate::CodexConfig::turn_stall_timeout) and
    /// `Duration::MAX` turns it off for this turn.
    pub stall_timeout: Option<Duration>,
}
setters!(TurnOptions {
    approval_mode: ApprovalMode,
    effort: String,
    model: String,
    output_schema: Value,
    personality: proto::Personality,
    sandbox: Sandbox,
    service_tier: String,
    summary: proto::ReasoningSummary,
    source: String,
    turn_service_tier: String,
    overflow: OverflowPolicy,
    stall_timeout: Duration,
});
cwd_setter!(TurnOptions);

fn check_object(field: &'static str, value: &Option<Value>) -> Result<()> {
    match value {
        Some(v) if !v.is_object() => Err(Error::InvalidInput {
            field,
            message: format!("must be a JSON object, got {v}"),
        }),
        _ => Ok(()),
    }
}

fn check_non_empty(field: &'static str, value: &Option<String>) -> Result<()> {
    match value {
        Some(v) if v.trim().is_empty() => Err(Error::InvalidInput {
            field,
            message: "must not be empty; leave it unset to keep the default".into(),
        }),
        _ => Ok(()),
    }
}

fn split_approval(
    mode: Option<ApprovalMode>,
) -> (
    Option<proto::AskForApproval>,
    Option<proto::ApprovalsReviewer>,
) {
    match mode.map(ApprovalMode::wire) {
        Some((policy, reviewer)) => (Some(policy), reviewer),
        None => (None, None),
    }
}

impl ThreadStartOptions {
    pub(crate) fn to_params(&self) -> Result<proto::ThreadStartParams> {
        check_object("config", &self.config)?;
        check_non_empty("model", &self.model)?;
        let (approval_policy, approvals_reviewer) =
            split_approval(Some(self.approval_mode.unwrap_or_default()));
        Ok(proto::ThreadStartParams {
            approval_policy,
            approvals_reviewer,
            base_instructions: self.base_instructions.clone(),
            config: self.config.clone(),
            cwd: self.cwd.clone(),
            developer_instructions: self.developer_instructions.clone(),
            ephemeral: self.ephemeral,
            model: self.model.clone(),
            model_provider: self.model_provider.clone(),
            personality: self.personality.clone(),
            sandbox: self.sandbox.map(Sandbox::mode),
            service_name: self.service_name.clone(),
            service_tier: self.service_tier.clone(),
            session_start_source: self.session_start_source.clone(),
            thread_source: self.thread_source.clone(),
            // The experimental surface's fields, when the feature is on, and `extra`.
            ..Default::default()
        })
    }
}

impl ThreadResumeOptions {
    pub(crate) fn to_params(&self, thread_id: &str) -> Result<proto::ThreadResumeParams> {
        check_object("config", &self.config)?;
        check_non_empty("model", &self.model)?;
        let (approval_policy, approvals_reviewer) = split_approval(self.approval_mode);
        Ok(proto::ThreadResumeParams {
            approval_policy,
            approvals_reviewer,
            base_instructions: self.base_instructions.clone(),
            config: self.config.clone(),
            cwd: self.cwd.clone(),
            developer_instructions: self.developer_instructions.clone(),
            exclude_turns: Some(!self.include_turns.unwrap_or(false)),
            model: self.model.clone(),
            model_provider: self.model_provider.clone(),
            personality: self.personality.clone(),
            sandbox: self.sandbox.map(Sandbox::mode),
            service_tier: self.service_tier.clone(),
            thread_id: thread_id.to_string(),
            #[cfg(feature = "experimental")]
            history: None,
            #[cfg(feature = "experimental")]
            initial_turns_page: None,
            #[cfg(feature = "experimental")]
            path: None,
            #[cfg(feature = "experimental")]
            permissions: None,
            #[cfg(feature = "experimental")]
            runtime_workspace_roots: None,
            extra: Default::default(),
        })
    }
}

impl ThreadForkOptions {
    pub(crate) fn to_params(&self, thread_id: &str) -> Result<proto::ThreadForkParams> {
        check_object("config", &self.config)?;
        check_non_empty("model", &self.model)?;
        if self.ephemeral == Some(true) && self.include_turns == Some(true) {
            return Err(Error::InvalidInput {
                field: "include_turns",
                message: "an ephemeral fork cannot include its turns; drop include_turns".into(),
            });
        }
        let (approval_policy, approvals_reviewer) = split_approval(self.approval_mode);
        Ok(proto::ThreadForkParams {
            approval_policy,
            approvals_reviewer,
            base_instructions: self.base_instructions.clone(),
            config: self.config.clone(),
            cwd: self.cwd.clone(),
            developer_instructions: self.developer_instructions.clone(),
            ephemeral: self.ephemeral,
            exclude_turns: Some(!self.include_turns.unwrap_or(false)),
            last_turn_id: self.last_turn_id.clone(),
            model: self.model.clone(),
            model_provider: self.model_provider.clone(),
            sandbox: self.sandbox.map(Sandbox::mode),
            service_tier: self.service_tier.clone(),
            thread_id: thread_id.to_string(),
            thread_source: self.thread_source.clone(),
            #[cfg(feature = "experimental")]
            before_turn_id: None,
            #[cfg(feature = "experimental")]
            defer_goal_continuation: None,
            #[cfg(feature = "experimental")]
            experimental_prediction_mode: None,
            #[cfg(feature = "experimental")]
            path: None,
            #[cfg(feature = "experimental")]
            permissions: None,
            #[cfg(feature = "experimental")]
            runtime_workspace_roots: None,
            extra: Default::default(),
        })
    }
}

impl ThreadListOptions {
    pub(crate) fn to_params(&self) -> proto::ThreadListParams {
        proto::ThreadListParams {
            archived: self.archived,
            cursor: self.cursor.clone(),
            cwd: self.cwd.clone(),
            excluded_thread_ids: None,
            limit: self.limit,
            model_providers: self.model_providers.clone(),
            originators: None,
            search_term: self.search_term.clone(),
            section_id: self.section_id.clone(),
            sort_direction: self.sort_direction.clone(),
            sort_key: self.sort_key.clone(),
            source_kinds: self.source_kinds.clone(),
            use_state_db_only: self.use_state_db_only,
            // The experimental surface's fields, when the feature is on, and `extra`.
            ..Default::default()
        }
    }
}

impl TurnOptions {
    pub(crate) fn to_params(
        &self,
        thread_id: &str,
        input: RunInput,
    ) -> Result<proto::TurnStartParams> {
        check_object("output_schema", &self.output_schema)?;
        check_non_empty("effort", &self.effort)?;
        check_non_empty("model", &self.model)?;
        let (input, tool_output) = match input {
            RunInput::Items(items) => (items.to_wire()?, None),
            RunInput::External(message) => (Vec::new(), Some(message.to_wire()?)),
        };
        let (approval_policy, approvals_reviewer) = split_approval(self.approval_mode);
        Ok(proto::TurnStartParams {
            approval_policy,
            approvals_reviewer,
            client_user_message_id: None,
            cwd: self.cwd.clone(),
            disabled_plugin_ids: None,
            effort: self.effort.clone(),
            input,
            model: self.model.clone(),
            output_schema: self.output_schema.clone(),
            parent_turn_id: None,
            personality: self.personality.clone(),
            root_turn_id: None,
            sandbox_policy: self.sandbox.map(Sandbox::policy),
            service_tier: self.service_tier.clone(),
            service_tier_for_turn: self.turn_service_tier.clone(),
            summary: self.summary.clone(),
            thread_id: thread_id.to_string(),
            tool_output,
            turn_trigger: self.source.clone(),
            #[cfg(feature = "experimental")]
            additional_context: None,
            #[cfg(feature = "experimental")]
            collaboration_mode: None,
            #[cfg(feature = "experimental")]
            cyber_access_program: None,
            #[cfg(feature = "experimental")]
            environments: None,
            #[cfg(feature = "experimental")]
            multi_agent_mode: None,
            #[cfg(feature = "experimental")]
            permissions: None,
            #[cfg(feature = "experimental")]
            responsesapi_client_metadata: None,
            #[cfg(feature = "experimental")]
            runtime_workspace_roots: None,
            extra: Default::default(),
        })
    }
}

/// A conversation thread. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AsyncThread {
    codex: AsyncCodex,
    id: String,
}

impl PartialEq for AsyncThread {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && std::sync::Arc::ptr_eq(&self.codex.inner, &other.codex.inner)
    }
}

impl AsyncThread {
    pub(crate) fn new(codex: AsyncCodex, id: String) -> Self {
        Self { codex, id }
    }

    /// The thread id.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(thread: openai_codex::AsyncThread) -> openai_codex::Result<()> {
    /// println!("thread {}", thread.id());
    /// # Ok(()) }
    /// ```
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The client this thread belongs to.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(thread: openai_codex::AsyncThread) -> openai_codex::Result<()> {
    /// let codex = thread.codex().clone();
    /// let models = codex.models(false).await?;
    /// # Ok(()) }
    /// ```
    pub fn codex(&self) -> &AsyncCodex {
        &self.codex
    }

    /// Installs a typed handler for this thread's server requests (approvals and friends whose
    /// params carry this thread's id); it overrides the client's handler for them. Same as
    /// [`AsyncCodex::set_thread_handler`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(thread: openai_codex::AsyncThread) -> openai_codex::Result<()> {
    /// use openai_codex::approval::Handlers;
    /// use openai_codex::types::{CommandExecutionApprovalDecision, CommandExecutionRequestApprovalResponse};
    ///
    /// thread.set_handler(Handlers::new().on_command_approval(|params| async move {
    ///     println!("declining {:?}", params.command);
    ///     Ok(CommandExecutionRequestApprovalResponse {
    ///         decision: CommandExecutionApprovalDecision::Decline,
    ///         extra: Default::default(),
    ///     })
    /// }));
    /// # Ok(()) }
    /// ```
    pub fn set_handler(&self, handler: impl crate::approval::RequestHandler) {
        self.codex.set_thread_handler(&self.id, handler);
    }

    /// Removes this thread's handler; its requests go to the client's handler again.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(thread: openai_codex::AsyncThread) -> openai_codex::Result<()> {
    /// thread.set_handler(openai_codex::AcceptAll);
    /// thread.clear_handler(); // the client's handler answers again
    /// # Ok(()) }
    /// ```
    pub fn clear_handler(&self) {
        self.codex.clear_thread_handler(&self.id);
    }

    /// Starts a turn and waits for its result: the common path.
    ///
    /// # Errors
    /// As [`AsyncThread::turn`] and [`AsyncTurnHandle::run`] (a failed turn is
    /// [`Error::TurnFailed`] with its partial result).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(thread: openai_codex::AsyncThread) -> openai_codex::Result<()> {
    /// use openai_codex::{Error, TurnOptions};
    ///
    /// match thread.run("Fix the failing test", TurnOptions::default().effort("high")).await {
    ///     Ok(result) => println!("{}", result.final_response.unwrap_or_default()),
    ///     Err(Error::TurnFailed(failed)) => println!("failed after {} items", failed.result.items.len()),
    ///     Err(other) => return Err(other),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn run(
        &self,
        input: impl Into<RunInput>,
        options: TurnOptions,
    ) -> Result<TurnResult> {
        self.turn(input, options).await?.run().await
    }

    /// Runs a turn whose final answer must be a `T`: the schema generated from `T` (made strict,
    /// see [`crate::structured`]) is sent as the turn's output schema, and the answer is parsed
    /// into `T`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `T` has no strict schema or `options` already carries an
    /// `output_schema` (nothing is sent); [`Error::StructuredOutput`] (with the raw answer and
    /// the whole [`TurnResult`]) when the answer does not parse; otherwise as
    /// [`AsyncThread::run`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(thread: openai_codex::AsyncThread) -> openai_codex::Result<()> {
    /// use openai_codex::TurnOptions;
    ///
    /// #[derive(serde::Deserialize, schemars::JsonSchema)]
    /// struct Capital {
    ///     country: String,
    ///     city: String,
    /// }
    ///
    /// let answer = thread
    ///     .run_typed::<Capital>("What is the capital of France?", TurnOptions::default())
    ///     .await?;
    /// println!("{} -> {}", answer.value.country, answer.value.city);
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "typed")]
    pub async fn run_typed<T>(
        &self,
        input: impl Into<RunInput>,
        options: TurnOptions,
    ) -> Result<crate::structured::TypedTurnResult<T>>
    where
        T: serde::de::DeserializeOwned + schemars::JsonSchema,
    {
        if options.output_schema.is_some() {
            return Err(Error::InvalidInput {
                field: "output_schema",
                message: "run_typed sends the schema of its type; leave output_schema unset, or \
                          use run() with your own schema"
                    .into(),
            });
        }
        let schema = crate::structured::strict_schema::<T>()?;
        let turn = self.turn(input, options.output_schema(schema)).await?;
        turn.run_typed::<T>().await
    }

    /// Starts a turn and returns its handle without waiting. Turn starts on one thread are
    /// serialized; turns on different threads go out in parallel.
    ///
    /// If the thread already has an active turn, the runtime adds this input to it (like a
    /// steer) and the handle is for that active turn. While another handle of this client
    /// still follows that turn (the usual case: the handle that started it), the new handle sees
    /// the turn from its start: its stream first replays the essential events so far (items,
    /// usage, status; the deltas it missed appear as [`crate::TurnEvent::Lagged`] markers), then
    /// continues live, so its `run()` gives the whole turn's result, the same as the first
    /// handle's. When no handle follows the turn any more, the new one sees it from now on.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for bad input or options (nothing is sent); [`Error::JsonRpc`]
    /// when the runtime refuses (e.g. "thread not found" for a thread that is not loaded).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(thread: openai_codex::AsyncThread) -> openai_codex::Result<()> {
    /// use futures::StreamExt;
    /// use openai_codex::TurnOptions;
    ///
    /// let turn = thread.turn("Explain this repository", TurnOptions::default()).await?;
    /// let mut events = turn.stream();
    /// while let Some(event) = events.next().await {
    ///     println!("{:?}", event?);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn turn(
        &self,
        input: impl Into<RunInput>,
        options: TurnOptions,
    ) -> Result<AsyncTurnHandle> {
        let params = options.to_params(&self.id, input.into())?;
        let settings =
            StreamSettings::resolve(&self.codex, options.overflow, options.stall_timeout);
        let _guard = self.codex.inner.turn_locks.lock(&self.id).await;
        let response = self.codex.call::<requests::TurnStart>(&params).await?;
        let turn_id = response.turn.id;
        let shared = &self.codex.inner.conn().shared;
        let subscription = shared.router.subscribe_turn(&turn_id, settings.overflow);
        let prompt = self
            .codex
            .inner
            .config
            .trace_prompts
            .then(|| crate::spans::prompt_text(&params.input));
        shared.spans.turn_started(&self.id, &turn_id, prompt, || {
            shared.router.finished_turn(&turn_id)
        });
        Ok(AsyncTurnHandle::new(
            self.codex.clone(),
            self.id.clone(),
            turn_id,
            subscription,
            settings,
        ))
    }

    /// A handle to an existing turn of this thread (for example one started by a goal or by
    /// another client). If the turn has already finished, the handle resolves at once from the
    /// stored history; it never waits for a completion that already happened.
    ///
    /// # Errors
    /// [`Error::JsonRpc`] when the thread's history cannot be read.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(thread: openai_codex::AsyncThread) -> openai_codex::Result<()> {
    /// let turn = thread.turn_handle("<turn id>").await?;
    /// let result = turn.run().await?;
    /// # Ok(()) }
    /// ```
    pub async fn turn_handle(&self, turn_id: &str) -> Result<AsyncTurnHandle> {
        let router = &self.codex.inner.conn().shared.router;
        let subscription = router.subscribe_turn(turn_id, None);
        if let Some(result) = self.finished_turn_from_history(turn_id).await? {
            return Ok(AsyncTurnHandle::finished(
                self.codex.clone(),
                self.id.clone(),
                result,
            ));
        }
        if let Some(done) = router.finished_turn(turn_id) {
            // Finished here but not (yet) in the stored history: the completion summary is all
            // there is.
            if let ServerNotification::TurnCompleted(done) = &*done {
                let mut turn = done.turn.clone();
                let items = std::mem::take(&mut turn.items);
                let result = TurnResult::from_parts(turn, items, None);
                return Ok(AsyncTurnHandle::finished(
                    self.codex.clone(),
                    self.id.clone(),
                    result,
                ));
            }
        }
        Ok(AsyncTurnHandle::new(
            self.codex.clone(),
            self.id.clone(),
            turn_id.to_string(),
            subscription,
            StreamSettings::resolve(&self.codex, None, None),
        ))
    }

    async fn finished_turn_from_history(&self, turn_id: &str) -> Result<Option<TurnResult>> {
        let params = proto::ThreadTurnsListParams {
            cursor: None,
            items_view: Some(proto::TurnItemsView::Full),
            limit: Some(50),
            sort_direction: None,
            thread_id: self.id.clone(),
            extra: Default::default(),
        };
        let page = match self.codex.call::<requests::ThreadTurnsList>(&params).await {
            Ok(page) => page,
            // Ephemeral or not-yet-persisted threads have no stored turns: nothing finished.
            Err(Error::JsonRpc { .. }) => return Ok(None),
            Err(other) => return Err(other),
        };
        Ok(page
            .data
            .into_iter()
            .find(|t| t.id == turn_id && t.status != proto::TurnStatus::InProgress)
            .map(|mut turn| {
                let items = std::mem::take(&mut turn.items);
                TurnResult::from_parts(turn, items, None)
            }))
    }

    /// Reads the thread (with its turns when `include_turns`).
    ///
    /// # Errors
    /// [`Error::JsonRpc`] for an unknown or unloaded thread.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(thread: openai_codex::AsyncThread) -> openai_codex::Result<()> {
    /// let stored = thread.read(true).await?;
    /// println!("{:?}: {} turns", stored.thread.name, stored.thread.turns.len());
    /// # Ok(()) }
    /// ```
    pub async fn read(&self, include_turns: bool) -> Result<proto::ThreadReadResponse> {
        let params = proto::ThreadReadParams {
            include_turns: Some(include_turns),
            thread_id: self.id.clone(),
            extra: Default::default(),
        };
        self.codex.call::<requests::ThreadRead>(&params).await
    }

    /// Renames the thread.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty name; [`Error::JsonRpc`] for an unknown thread.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(thread: openai_codex::AsyncThread) -> openai_codex::Result<()> {
    /// thread.set_name("Parser refactor").await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_name(&self, name: impl Into<String>) -> Result<proto::ThreadSetNameResponse> {
        let name = name.into();
        if name.trim().is_empty() {
            return Err(Error::InvalidInput {
                field: "name",
                message: "a thread name must not be empty".into(),
            });
        }
        let params = proto::ThreadSetNameParams {
            name,
            thread_id: self.id.clone(),
            extra: Default::default(),
        };
        self.codex.call::<requests::ThreadNameSet>(&params).await
    }

    /// Starts compacting the thread's history and returns at once (the compaction runs as a
    /// turn of its own). Use [`AsyncThread::compact_turn`] to wait for it.
    ///
    /// # Errors
    /// [`Error::JsonRpc`] for an unknown thread.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(thread: openai_codex::AsyncThread) -> openai_codex::Result<()> {
    /// thread.compact().await?; // returns at once; see compact_turn to wait
    /// # Ok(()) }
    /// ```
    pub async fn compact(&self) -> Result<proto::ThreadCompactStartResponse> {
        let params = proto::ThreadCompactStartParams {
            thread_id: self.id.clone(),
            extra: Default::default(),
        };
        self.codex
            .call::<requests::ThreadCompactStart>(&params)
            .await
    }

    /// Starts compacting and returns the handle of the compaction turn, so it can be awaited
    /// (`.run().await`) before the next turn (the runtime refuses turns while it compacts).
    ///
    /// # Errors
    /// As [`AsyncThread::compact`]; [`Error::Timeout`] when no compaction turn starts.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(thread: openai_codex::AsyncThread) -> openai_codex::Result<()> {
    /// let compaction = thread.compact_turn().await?;
    /// compaction.run().await?; // the thread is ready for its next turn
    /// # Ok(()) }
    /// ```
    pub async fn compact_turn(&self) -> Result<AsyncTurnHandle> {
        let router = &self.codex.inner.conn().shared.router;
        let mut turns = router.watch_thread_turns(&self.id);
        let _guard = self.codex.inner.turn_locks.lock(&self.id).await;
        self.compact().await?;
        let timeout = self.codex.inner.config.request_timeout;
        let turn_id = match tokio::time::timeout(timeout, turns.recv()).await {
            Ok(Some(turn_id)) => turn_id,
            Ok(None) => {
                return Err(Error::TransportClosed(
                    self.codex.inner.conn().closed_reason().unwrap_or_else(|| {
                        crate::error::ClosedReason {
                            message: "the connection closed".into(),
                            exit_status: None,
                            stderr_tail: Vec::new(),
                        }
                    }),
                ))
            }
            Err(_) => {
                return Err(Error::Timeout {
                    method: "thread/compact/start (waiting for the compaction turn)".into(),
                    timeout,
                })
            }
        };
        let subscription = router.subscribe_turn(&turn_id, None);
        Ok(AsyncTurnHandle::new(
            self.codex.clone(),
            self.id.clone(),
            turn_id,
            subscription,
            StreamSettings::resolve(&self.codex, None, None),
        ))
    }
}
