//! Tracing spans: one per client, per request, per turn, and per server request answered.
//!
//! The tree is `codex.client` → `codex.request` (every JSON-RPC call) and `codex.client` →
//! `codex.turn` → `codex.server_request` (approvals and other requests the runtime makes inside
//! the turn). Spans carry ids, methods, statuses, token counts and timings, never credentials, and
//! never prompt text unless [`CodexConfig::trace_prompts`](crate::CodexConfig::trace_prompts) is on.
//!
//! Cost: with no subscriber interested, every span is disabled and nothing is registered, so the
//! reader thread only checks one atomic flag per turn-level notification. Deltas never touch a
//! span.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use openai_codex_protocol::{self as proto, ServerNotification};
use tracing::field::Empty;
use tracing::Span;

use crate::error::Error;

/// The client's span and the open turn spans, by turn id.
#[derive(Debug)]
pub(crate) struct Spans {
    pub(crate) client: Span,
    turns: Mutex<HashMap<String, Span>>,
    /// Whether `turns` may be non-empty: the reader's only cost when nobody traces.
    active: AtomicBool,
}

impl Spans {
    /// The client's span: the runtime's pid (for a spawned runtime) and the endpoint's address
    /// (credentials are never part of it).
    pub(crate) fn new(pid: Option<u32>, endpoint: Option<String>) -> Self {
        let client = tracing::info_span!(
            parent: None,
            "codex.client",
            runtime_pid = Empty,
            endpoint = Empty,
        );
        if let Some(pid) = pid {
            client.record("runtime_pid", pid);
        }
        if let Some(endpoint) = endpoint {
            client.record("endpoint", endpoint.as_str());
        }
        Self {
            client,
            turns: Mutex::default(),
            active: AtomicBool::new(false),
        }
    }

    /// A span for one request (method, id); [`finish_request`] records its outcome.
    pub(crate) fn request(&self, method: &str, id: i64) -> Span {
        tracing::info_span!(
            parent: &self.client,
            "codex.request",
            method,
            id,
            duration_ms = Empty,
            error = Empty,
        )
    }

    /// Opens the span of a turn the client started; it closes at the turn's completion.
    /// `already_done` is the completion when the router saw it before this call.
    pub(crate) fn turn_started(
        &self,
        thread_id: &str,
        turn_id: &str,
        prompt: Option<String>,
        already_done: impl FnOnce() -> Option<std::sync::Arc<ServerNotification>>,
    ) {
        let span = tracing::info_span!(
            parent: &self.client,
            "codex.turn",
            thread_id,
            turn_id,
            status = Empty,
            input_tokens = Empty,
            cached_input_tokens = Empty,
            output_tokens = Empty,
            total_tokens = Empty,
            prompt = Empty,
        );
        if span.is_disabled() {
            return;
        }
        if let Some(prompt) = prompt {
            span.record("prompt", prompt.as_str());
        }
        self.lock().insert(turn_id.to_string(), span);
        self.active.store(true, Ordering::SeqCst);
        // The completion may have been routed before the span existed (the runtime can send it
        // before the turn/start response): close the span with it now. The reader records the
        // completion before it looks for the span, so one of the two sides always sees it.
        if let Some(done) = already_done() {
            if let ServerNotification::TurnCompleted(n) = &*done {
                self.completed(&n.turn.id, n.turn.status.as_str());
            }
        }
    }

    /// Records a usage update of a traced turn (before routing, by reference: no copy).
    pub(crate) fn usage(&self, notification: &ServerNotification) {
        if !self.active.load(Ordering::SeqCst) {
            return;
        }
        if let ServerNotification::ThreadTokenUsageUpdated(n) = notification {
            if let Some(span) = self.lock().get(&n.turn_id) {
                record_usage(span, &n.token_usage);
            }
        }
    }

    /// Closes a traced turn's span with its status; called after the completion was routed.
    pub(crate) fn completed(&self, turn_id: &str, status: &str) {
        if !self.active.load(Ordering::SeqCst) {
            return;
        }
        let mut turns = self.lock();
        if let Some(span) = turns.remove(turn_id) {
            span.record("status", status);
        }
        self.active.store(!turns.is_empty(), Ordering::SeqCst);
    }

    /// The span of a server request: under its turn's span when that turn is traced, else
    /// under the client's.
    pub(crate) fn server_request(&self, method: &str, turn_id: Option<&str>) -> Span {
        let turns = self.lock();
        let parent = turn_id.and_then(|id| turns.get(id)).unwrap_or(&self.client);
        // Made on the reader thread: with the subscriber the client's span went to (a
        // thread-local default of the thread that created the client), not the reader's.
        let Some(dispatch) = parent.with_subscriber(|(_, dispatch)| dispatch.clone()) else {
            return Span::none();
        };
        tracing::dispatcher::with_default(&dispatch, || {
            tracing::info_span!(
                parent: parent,
                "codex.server_request",
                kind = method,
                decision = Empty,
                handler_ms = Empty,
            )
        })
    }

    /// Whether any turn span is open (server requests then look for their turn).
    pub(crate) fn tracing_turns(&self) -> bool {
        self.active.load(Ordering::SeqCst)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Span>> {
        self.turns.lock().expect("span map poisoned")
    }
}

/// Records a request's duration and, when it failed, the kind of error.
pub(crate) fn finish_request<T>(
    span: &Span,
    started: std::time::Instant,
    result: &Result<T, Error>,
) {
    if span.is_disabled() {
        return;
    }
    span.record("duration_ms", started.elapsed().as_secs_f64() * 1000.0);
    if let Err(error) = result {
        let kind = match error {
            Error::JsonRpc { error, .. } => format!("json_rpc:{:?}", error.kind()),
            Error::Timeout { .. } => "timeout".into(),
            Error::TransportClosed(_) => "transport_closed".into(),
            _ => "other".into(),
        };
        span.record("error", kind.as_str());
    }
}

/// Records a server request's answer: the decision (an approval's `decision`, its only key
/// when it is an object), or `error` for an error reply, and how long the handler took.
pub(crate) fn finish_server_request(
    span: &Span,
    started: std::time::Instant,
    reply: &Result<serde_json::Value, crate::error::RpcError>,
) {
    if span.is_disabled() {
        return;
    }
    span.record("handler_ms", started.elapsed().as_secs_f64() * 1000.0);
    let decision = match reply {
        Ok(value) => match value.get("decision") {
            Some(serde_json::Value::String(decision)) => Some(decision.as_str()),
            Some(serde_json::Value::Object(decision)) => decision.keys().next().map(String::as_str),
            _ => None,
        },
        Err(_) => Some("error"),
    };
    if let Some(decision) = decision {
        span.record("decision", decision);
    }
}

fn record_usage(span: &Span, usage: &proto::ThreadTokenUsage) {
    span.record("input_tokens", usage.total.input_tokens);
    span.record("cached_input_tokens", usage.total.cached_input_tokens);
    span.record("output_tokens", usage.total.output_tokens);
    span.record("total_tokens", usage.total.total_tokens);
}

/// The text of a turn's input items, for the opt-in `prompt` field.
pub(crate) fn prompt_text(input: &[proto::UserInput]) -> String {
    input
        .iter()
        .filter_map(|item| match item {
            proto::UserInput::Text(text) => Some(text.text.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}
