//! What the mock model answers to one request: [`ResponseScript`] and the parts it is built from.
//!
//! A script is rendered into a list of [`Frame`]s when a request arrives. Frames are already
//! framed SSE bytes, pauses, or a terminal action (cut the connection, hang), so the HTTP layer
//! only has to play them back.

use std::time::Duration;

use bytes::Bytes;
use serde_json::{json, Map, Value};

/// The `phase` of an assistant message. The runtime copies it verbatim to the `agentMessage` item;
/// it never works it out by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Phase {
    /// `"commentary"`: a progress message sent before the final answer.
    Commentary,
    /// `"final_answer"`: the turn's answer.
    FinalAnswer,
}

impl Phase {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Commentary => "commentary",
            Phase::FinalAnswer => "final_answer",
        }
    }
}

/// One assistant message in a response, streamed as `chunks` text deltas.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct AssistantMessage {
    text: String,
    phase: Option<Phase>,
    chunks: usize,
}

impl AssistantMessage {
    /// A message without a phase, streamed as one delta.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            phase: None,
            chunks: 1,
        }
    }

    /// A message with phase `commentary`.
    pub fn commentary(text: impl Into<String>) -> Self {
        Self::new(text).phase(Phase::Commentary)
    }

    /// A message with phase `final_answer`.
    pub fn final_answer(text: impl Into<String>) -> Self {
        Self::new(text).phase(Phase::FinalAnswer)
    }

    /// Sets the phase.
    pub fn phase(mut self, phase: Phase) -> Self {
        self.phase = Some(phase);
        self
    }

    /// Streams the text as `n` deltas of about equal size (fewer if the text is shorter).
    /// `0` sends no deltas at all: the client then sees only `item/started` and `item/completed`.
    pub fn chunks(mut self, n: usize) -> Self {
        self.chunks = n;
        self
    }
}

impl From<&str> for AssistantMessage {
    fn from(text: &str) -> Self {
        Self::new(text)
    }
}

impl From<String> for AssistantMessage {
    fn from(text: String) -> Self {
        Self::new(text)
    }
}

/// A reasoning item: summary parts and optional raw reasoning text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct Reasoning {
    summary: Vec<String>,
    raw: Option<String>,
    encrypted_content: Option<String>,
}

impl Reasoning {
    /// A reasoning item with one summary part.
    pub fn summary(text: impl Into<String>) -> Self {
        Self::default().part(text)
    }

    /// Adds a summary part (each becomes one entry of the item's `summary` list).
    pub fn part(mut self, text: impl Into<String>) -> Self {
        self.summary.push(text.into());
        self
    }

    /// Adds raw reasoning text (`item/reasoning/textDelta`, the item's `content`).
    pub fn raw(mut self, text: impl Into<String>) -> Self {
        self.raw = Some(text.into());
        self
    }

    /// Sets the opaque `encrypted_content` the runtime sends back in later requests.
    pub fn encrypted_content(mut self, blob: impl Into<String>) -> Self {
        self.encrypted_content = Some(blob.into());
        self
    }
}

impl From<&str> for Reasoning {
    fn from(text: &str) -> Self {
        Self::summary(text)
    }
}

impl From<String> for Reasoning {
    fn from(text: String) -> Self {
        Self::summary(text)
    }
}

/// An `exec_command` function call: the runtime's shell tool.
///
/// Defaults: `login: false` (no login shell, so the machine's profile prints nothing) and
/// `yield_time_ms: 10000` (the runtime returns as soon as the command exits).
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub struct ExecCommand {
    cmd: String,
    login: bool,
    yield_time_ms: u64,
    workdir: Option<String>,
    escalated: Option<String>,
    call_id: Option<String>,
    extra: Map<String, Value>,
}

impl ExecCommand {
    /// Runs `cmd` through the shell.
    pub fn new(cmd: impl Into<String>) -> Self {
        Self {
            cmd: cmd.into(),
            login: false,
            yield_time_ms: 10_000,
            workdir: None,
            escalated: None,
            call_id: None,
            extra: Map::new(),
        }
    }

    /// Uses a login shell (`bash -lc`) when `true`.
    pub fn login(mut self, login: bool) -> Self {
        self.login = login;
        self
    }

    /// How long the runtime waits for the command before returning a session id instead.
    pub fn yield_time_ms(mut self, ms: u64) -> Self {
        self.yield_time_ms = ms;
        self
    }

    /// The working directory (the thread cwd when unset).
    pub fn workdir(mut self, dir: impl Into<String>) -> Self {
        self.workdir = Some(dir.into());
        self
    }

    /// Asks to run outside the sandbox (`sandbox_permissions: "require_escalated"`) with this
    /// justification. Depending on the approval policy this produces an approval request, an
    /// auto-review, or a refusal.
    pub fn escalated(mut self, justification: impl Into<String>) -> Self {
        self.escalated = Some(justification.into());
        self
    }

    /// Uses this `call_id` (which becomes the app-server item id) instead of a generated one.
    pub fn call_id(mut self, id: impl Into<String>) -> Self {
        self.call_id = Some(id.into());
        self
    }

    /// Adds any other argument (`tty`, `max_output_tokens`, `shell`, ...).
    pub fn arg(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra.insert(key.into(), value.into());
        self
    }

    fn arguments(&self) -> Value {
        let mut args = Map::new();
        args.insert("cmd".into(), json!(self.cmd));
        args.insert("login".into(), json!(self.login));
        args.insert("yield_time_ms".into(), json!(self.yield_time_ms));
        if let Some(dir) = &self.workdir {
            args.insert("workdir".into(), json!(dir));
        }
        if let Some(justification) = &self.escalated {
            args.insert("sandbox_permissions".into(), json!("require_escalated"));
            args.insert("justification".into(), json!(justification));
        }
        args.extend(self.extra.clone());
        Value::Object(args)
    }
}

/// Token usage reported in `response.completed`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct Usage {
    /// `input_tokens`.
    pub input_tokens: u64,
    /// `input_tokens_details.cached_tokens`.
    pub cached_input_tokens: u64,
    /// `output_tokens`.
    pub output_tokens: u64,
    /// `output_tokens_details.reasoning_tokens`.
    pub reasoning_output_tokens: u64,
}

impl Usage {
    /// Input and output tokens; the total is their sum.
    pub fn new(input_tokens: u64, output_tokens: u64) -> Self {
        Self {
            input_tokens,
            output_tokens,
            ..Self::default()
        }
    }

    /// Sets the cached part of the input.
    pub fn cached(mut self, tokens: u64) -> Self {
        self.cached_input_tokens = tokens;
        self
    }

    /// Sets the reasoning part of the output.
    pub fn reasoning(mut self, tokens: u64) -> Self {
        self.reasoning_output_tokens = tokens;
        self
    }

    fn to_json(self) -> Value {
        json!({
            "input_tokens": self.input_tokens,
            "input_tokens_details": {"cached_tokens": self.cached_input_tokens},
            "output_tokens": self.output_tokens,
            "output_tokens_details": {"reasoning_tokens": self.reasoning_output_tokens},
            "total_tokens": self.input_tokens + self.output_tokens,
        })
    }
}

/// The auto-review ("guardian") verdict the mock gives when the runtime asks its reviewer.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum Verdict {
    /// `outcome: "allow"` (risk low, authorization high): the action runs.
    #[default]
    Allow,
    /// `outcome: "deny"` (risk high): the action is declined.
    Deny,
    /// Any scripted answer, for example a non-JSON text to exercise the reviewer's retries.
    Custom(ResponseScript),
}

impl Verdict {
    pub(crate) fn script(&self) -> ResponseScript {
        match self {
            Verdict::Allow => ResponseScript::new().json(&json!({
                "risk_level": "low",
                "user_authorization": "high",
                "outcome": "allow",
                "rationale": "ok",
            })),
            Verdict::Deny => ResponseScript::new().json(&json!({
                "risk_level": "high",
                "user_authorization": "low",
                "outcome": "deny",
                "rationale": "denied by the scripted reviewer",
            })),
            Verdict::Custom(script) => script.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Part {
    Message(AssistantMessage),
    Reasoning(Reasoning),
    FunctionCall {
        call_id: Option<String>,
        name: String,
        arguments: String,
    },
    CustomToolCall {
        call_id: Option<String>,
        name: String,
        input: String,
    },
    Pause(Duration),
    Event(Value),
}

#[derive(Clone, Debug, Default, PartialEq)]
enum Start {
    /// `200 OK` with an SSE body.
    #[default]
    Stream,
    /// A non-2xx status with this body and no stream.
    HttpError { status: u16, body: String },
    /// Never answer at all (not even headers) until the mock shuts down.
    HangBeforeHeaders,
}

#[derive(Clone, Debug, Default, PartialEq)]
enum Ending {
    #[default]
    Completed,
    Failed {
        code: String,
        message: String,
    },
    Incomplete {
        reason: String,
    },
    /// End the body cleanly without `response.completed`.
    Close,
    /// Abort the connection mid-body (a transport error for the client).
    Cut,
    /// Stay silent with the connection open until the mock shuts down.
    Hang,
}

/// The mock model's answer to one `POST /v1/responses`: an SSE stream of output items (or an HTTP
/// error, or a hang), built part by part.
///
/// A stream starts with `response.created`, sends each part in order, and ends with
/// `response.completed` unless another ending is chosen ([`failed`](Self::failed),
/// [`incomplete`](Self::incomplete), [`cut`](Self::cut),
/// [`end_without_completed`](Self::end_without_completed), [`hang`](Self::hang)).
///
/// ```
/// use std::time::Duration;
/// use openai_codex_testkit::{AssistantMessage, ExecCommand, Reasoning, ResponseScript, Usage};
///
/// // Think, say something, then run a command; the runtime sends the command's output in its
/// // next request, which the next queued script answers.
/// let first = ResponseScript::new()
///     .reasoning(Reasoning::summary("**Plan**").raw("look around first"))
///     .message(AssistantMessage::commentary("Listing files.").chunks(3))
///     .exec_command(ExecCommand::new("ls"))
///     .usage(Usage::new(100, 20));
/// let second = ResponseScript::text("Done.").delay_between(Duration::from_millis(5));
/// # let _ = (first, second);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[must_use]
pub struct ResponseScript {
    start: Start,
    parts: Vec<Part>,
    delay_between: Duration,
    usage: Option<Usage>,
    ending: Ending,
}

impl ResponseScript {
    /// An empty successful response (`response.created`, `response.completed`).
    pub fn new() -> Self {
        Self::default()
    }

    /// A response with one assistant message without a phase.
    pub fn text(text: impl Into<String>) -> Self {
        Self::new().message(AssistantMessage::new(text))
    }

    /// Answers with this HTTP status and body instead of a stream.
    pub fn http_error(status: u16, body: impl Into<String>) -> Self {
        Self {
            start: Start::HttpError {
                status,
                body: body.into(),
            },
            ..Self::default()
        }
    }

    /// HTTP 500 (the runtime reports `internalServerError`).
    pub fn server_error() -> Self {
        Self::http_error(
            500,
            json!({"error": {"message": "scripted internal error", "type": "server_error"}})
                .to_string(),
        )
    }

    /// HTTP 503 with `{"error":{"code":"server_is_overloaded"}}` (the runtime reports
    /// `serverOverloaded`).
    pub fn server_overloaded() -> Self {
        Self::http_error(
            503,
            json!({"error": {"code": "server_is_overloaded", "message": "scripted overload"}})
                .to_string(),
        )
    }

    /// HTTP 429 (the runtime reports `responseTooManyFailedAttempts` and does not retry).
    pub fn rate_limited() -> Self {
        Self::http_error(
            429,
            json!({"error": {"message": "scripted rate limit", "type": "rate_limit_exceeded"}})
                .to_string(),
        )
    }

    /// HTTP 400 with this message (the runtime reports `other` with the raw body).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::http_error(
            400,
            json!({"error": {"message": message.into(), "type": "invalid_request_error"}})
                .to_string(),
        )
    }

    /// Never sends response headers; the request hangs until the mock shuts down. The runtime
    /// has no timeout for this case, so only `turn/interrupt` ends such a turn.
    pub fn hang_before_headers() -> Self {
        Self {
            start: Start::HangBeforeHeaders,
            ..Self::default()
        }
    }

    /// Sends the headers (and any parts) and then nothing until the mock shuts down.
    pub fn hang_after_headers() -> Self {
        Self::new().hang()
    }

    /// Adds an assistant message (a `&str` works: no phase, one delta).
    pub fn message(mut self, message: impl Into<AssistantMessage>) -> Self {
        self.parts.push(Part::Message(message.into()));
        self
    }

    /// Adds a message whose text is `value` serialized as JSON (what an `outputSchema` turn
    /// expects; the runtime does not validate it).
    pub fn json(self, value: &Value) -> Self {
        self.message(AssistantMessage::new(value.to_string()))
    }

    /// Adds a reasoning item (a `&str` works: one summary part).
    pub fn reasoning(mut self, reasoning: impl Into<Reasoning>) -> Self {
        self.parts.push(Part::Reasoning(reasoning.into()));
        self
    }

    /// Adds an `exec_command` function call. The runtime runs it (or asks for approval, or
    /// refuses), then sends a new request whose input ends with the call and its
    /// `function_call_output`; the next script answers that request.
    pub fn exec_command(self, command: ExecCommand) -> Self {
        let arguments = command.arguments().to_string();
        let call_id = command.call_id;
        self.push_function_call(call_id, "exec_command".to_string(), arguments)
    }

    /// Adds any function call with JSON `arguments` (for example `write_stdin`).
    pub fn function_call(self, name: impl Into<String>, arguments: &Value) -> Self {
        self.push_function_call(None, name.into(), arguments.to_string())
    }

    /// Adds a function call with an explicit `call_id`.
    pub fn function_call_with_id(
        self,
        call_id: impl Into<String>,
        name: impl Into<String>,
        arguments: &Value,
    ) -> Self {
        self.push_function_call(Some(call_id.into()), name.into(), arguments.to_string())
    }

    fn push_function_call(
        mut self,
        call_id: Option<String>,
        name: String,
        arguments: String,
    ) -> Self {
        self.parts.push(Part::FunctionCall {
            call_id,
            name,
            arguments,
        });
        self
    }

    /// Adds an `apply_patch` custom tool call with this freeform patch, for example
    /// `"*** Begin Patch\n*** Add File: hello.txt\n+hello\n*** End Patch\n"`.
    pub fn apply_patch(self, patch: impl Into<String>) -> Self {
        self.custom_tool_call("apply_patch", patch)
    }

    /// Adds any freeform (`custom`) tool call.
    pub fn custom_tool_call(mut self, name: impl Into<String>, input: impl Into<String>) -> Self {
        self.parts.push(Part::CustomToolCall {
            call_id: None,
            name: name.into(),
            input: input.into(),
        });
        self
    }

    /// Waits this long at this point of the stream.
    pub fn pause(mut self, duration: Duration) -> Self {
        self.parts.push(Part::Pause(duration));
        self
    }

    /// Waits this long between every two SSE events.
    pub fn delay_between(mut self, duration: Duration) -> Self {
        self.delay_between = duration;
        self
    }

    /// Sends this JSON as one SSE event (its `type` field names the event).
    pub fn raw_event(mut self, event: Value) -> Self {
        self.parts.push(Part::Event(event));
        self
    }

    /// Reports this usage in `response.completed` (no `usage` is sent otherwise).
    pub fn usage(mut self, usage: Usage) -> Self {
        self.usage = Some(usage);
        self
    }

    /// Ends with `response.failed` carrying this error code and message. Code
    /// `context_length_exceeded` gives `contextWindowExceeded`; other codes give `other`.
    pub fn failed(mut self, code: impl Into<String>, message: impl Into<String>) -> Self {
        self.ending = Ending::Failed {
            code: code.into(),
            message: message.into(),
        };
        self
    }

    /// Ends with `response.incomplete` and this reason (for example `max_output_tokens`).
    pub fn incomplete(mut self, reason: impl Into<String>) -> Self {
        self.ending = Ending::Incomplete {
            reason: reason.into(),
        };
        self
    }

    /// Ends the body cleanly but without `response.completed` ("stream closed before
    /// response.completed").
    pub fn end_without_completed(mut self) -> Self {
        self.ending = Ending::Close;
        self
    }

    /// Aborts the connection after the parts, mid-body (a transport error for the runtime).
    pub fn cut(mut self) -> Self {
        self.ending = Ending::Cut;
        self
    }

    /// After the parts, keeps the connection open and silent until the mock shuts down.
    pub fn hang(mut self) -> Self {
        self.ending = Ending::Hang;
        self
    }

    /// Whether this script answers with an HTTP error status instead of a stream.
    pub fn is_http_error(&self) -> bool {
        matches!(self.start, Start::HttpError { .. })
    }

    pub(crate) fn render(&self, ids: &dyn Fn() -> u64) -> Rendered {
        match &self.start {
            Start::HttpError { status, body } => {
                return Rendered::HttpError {
                    status: *status,
                    body: body.clone(),
                }
            }
            Start::HangBeforeHeaders => return Rendered::HangBeforeHeaders,
            Start::Stream => {}
        }
        let mut out = FrameWriter {
            frames: Vec::new(),
            delay: self.delay_between,
            pending: Vec::new(),
            sent_any: false,
        };
        let response_id = format!("resp_{}", ids());
        out.event(&json!({"type": "response.created", "response": {"id": response_id}}));
        let mut output_index = 0_u64;
        for part in &self.parts {
            match part {
                Part::Message(message) => {
                    render_message(&mut out, message, output_index, &format!("msg_{}", ids()));
                    output_index += 1;
                }
                Part::Reasoning(reasoning) => {
                    render_reasoning(&mut out, reasoning, output_index, &format!("rs_{}", ids()));
                    output_index += 1;
                }
                Part::FunctionCall {
                    call_id,
                    name,
                    arguments,
                } => {
                    let n = ids();
                    let call_id = call_id.clone().unwrap_or_else(|| format!("call_{n}"));
                    let item = |arguments: &str| {
                        json!({"type": "function_call", "id": format!("fc_{n}"), "call_id": call_id,
                               "name": name, "arguments": arguments})
                    };
                    out.event(&json!({"type": "response.output_item.added",
                                      "output_index": output_index, "item": item("")}));
                    out.event(&json!({"type": "response.output_item.done",
                                      "output_index": output_index, "item": item(arguments)}));
                    output_index += 1;
                }
                Part::CustomToolCall {
                    call_id,
                    name,
                    input,
                } => {
                    let n = ids();
                    let call_id = call_id.clone().unwrap_or_else(|| format!("call_{n}"));
                    let item = |input: &str| {
                        json!({"type": "custom_tool_call", "id": format!("ctc_{n}"),
                               "call_id": call_id, "name": name, "input": input})
                    };
                    out.event(&json!({"type": "response.output_item.added",
                                      "output_index": output_index, "item": item("")}));
                    out.event(&json!({"type": "response.output_item.done",
                                      "output_index": output_index, "item": item(input)}));
                    output_index += 1;
                }
                Part::Pause(duration) => out.sleep(*duration),
                Part::Event(event) => out.event(event),
            }
        }
        let terminal = match &self.ending {
            Ending::Completed => {
                let mut response = json!({"id": response_id});
                if let Some(usage) = self.usage {
                    response["usage"] = usage.to_json();
                }
                out.event(&json!({"type": "response.completed", "response": response}));
                None
            }
            Ending::Failed { code, message } => {
                out.event(&json!({"type": "response.failed", "response": {
                    "id": response_id, "error": {"code": code, "message": message}}}));
                None
            }
            Ending::Incomplete { reason } => {
                out.event(&json!({"type": "response.incomplete", "response": {
                    "id": response_id, "incomplete_details": {"reason": reason}}}));
                None
            }
            Ending::Close => None,
            Ending::Cut => Some(Frame::Cut),
            Ending::Hang => Some(Frame::Hang),
        };
        let mut frames = out.finish();
        frames.extend(terminal);
        Rendered::Stream(frames)
    }
}

fn render_message(out: &mut FrameWriter, message: &AssistantMessage, index: u64, id: &str) {
    let mut item = json!({"type": "message", "role": "assistant", "id": id, "content": []});
    if let Some(phase) = message.phase {
        item["phase"] = json!(phase.as_str());
    }
    out.event(&json!({"type": "response.output_item.added", "output_index": index, "item": item}));
    for chunk in split_chunks(&message.text, message.chunks) {
        out.event(&json!({"type": "response.output_text.delta", "item_id": id,
                          "output_index": index, "content_index": 0, "delta": chunk}));
    }
    item["content"] = json!([{"type": "output_text", "text": message.text, "annotations": []}]);
    out.event(&json!({"type": "response.output_item.done", "output_index": index, "item": item}));
}

fn render_reasoning(out: &mut FrameWriter, reasoning: &Reasoning, index: u64, id: &str) {
    out.event(
        &json!({"type": "response.output_item.added", "output_index": index,
                      "item": {"type": "reasoning", "id": id, "summary": []}}),
    );
    for (summary_index, text) in reasoning.summary.iter().enumerate() {
        let at = json!({"item_id": id, "output_index": index, "summary_index": summary_index});
        let with = |kind: &str, extra: Value| {
            let mut event = at.clone();
            event["type"] = json!(kind);
            if let (Value::Object(event), Value::Object(extra)) = (&mut event, extra) {
                event.extend(extra);
            }
            event
        };
        out.event(&with(
            "response.reasoning_summary_part.added",
            json!({"part": {"type": "summary_text", "text": ""}}),
        ));
        out.event(&with(
            "response.reasoning_summary_text.delta",
            json!({"delta": text}),
        ));
        out.event(&with(
            "response.reasoning_summary_text.done",
            json!({"text": text}),
        ));
        out.event(&with(
            "response.reasoning_summary_part.done",
            json!({"part": {"type": "summary_text", "text": text}}),
        ));
    }
    if let Some(raw) = &reasoning.raw {
        out.event(
            &json!({"type": "response.reasoning_text.delta", "item_id": id,
                          "output_index": index, "content_index": 0, "delta": raw}),
        );
    }
    let mut item = json!({
        "type": "reasoning",
        "id": id,
        "summary": reasoning.summary.iter()
            .map(|text| json!({"type": "summary_text", "text": text}))
            .collect::<Vec<_>>(),
    });
    if let Some(raw) = &reasoning.raw {
        item["content"] = json!([{"type": "reasoning_text", "text": raw}]);
    }
    if let Some(blob) = &reasoning.encrypted_content {
        item["encrypted_content"] = json!(blob);
    }
    out.event(&json!({"type": "response.output_item.done", "output_index": index, "item": item}));
}

/// Splits `text` into at most `n` pieces of about equal length, on character boundaries.
fn split_chunks(text: &str, n: usize) -> Vec<&str> {
    if n == 0 || text.is_empty() {
        return Vec::new();
    }
    let chars = text.chars().count();
    let per_chunk = chars.div_ceil(n).max(1);
    let mut pieces = Vec::with_capacity(n);
    let mut start = 0;
    let mut count = 0;
    for (offset, _) in text.char_indices() {
        if count == per_chunk {
            pieces.push(&text[start..offset]);
            start = offset;
            count = 0;
        }
        count += 1;
    }
    pieces.push(&text[start..]);
    pieces
}

/// One step of playing a stream back.
#[derive(Debug)]
pub(crate) enum Frame {
    /// SSE bytes to write (consecutive events without a delay are merged into one write).
    Data(Bytes),
    /// Wait before the next frame.
    Sleep(Duration),
    /// Abort the body with a transport error.
    Cut,
    /// Stay silent until shutdown.
    Hang,
}

/// A script resolved for one request.
#[derive(Debug)]
pub(crate) enum Rendered {
    Stream(Vec<Frame>),
    HttpError { status: u16, body: String },
    HangBeforeHeaders,
}

struct FrameWriter {
    frames: Vec<Frame>,
    delay: Duration,
    /// Bytes of events not yet separated by a pause; flushed as one write.
    pending: Vec<u8>,
    sent_any: bool,
}

impl FrameWriter {
    fn event(&mut self, event: &Value) {
        if self.sent_any && !self.delay.is_zero() {
            self.sleep(self.delay);
        }
        self.sent_any = true;
        let kind = event
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("message");
        self.pending.extend_from_slice(b"event: ");
        self.pending.extend_from_slice(kind.as_bytes());
        self.pending.extend_from_slice(b"\ndata: ");
        // Serializing a `Value` cannot fail.
        serde_json::to_writer(&mut self.pending, event).expect("serialize SSE event");
        self.pending.extend_from_slice(b"\n\n");
    }

    fn sleep(&mut self, duration: Duration) {
        self.flush();
        self.frames.push(Frame::Sleep(duration));
    }

    fn flush(&mut self) {
        if !self.pending.is_empty() {
            self.frames
                .push(Frame::Data(Bytes::from(std::mem::take(&mut self.pending))));
        }
    }

    fn finish(mut self) -> Vec<Frame> {
        self.flush();
        self.frames
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_chunks_covers_text_on_char_boundaries() {
        assert_eq!(split_chunks("abcdefg", 3), vec!["abc", "def", "g"]);
        assert_eq!(split_chunks("héllo", 2), vec!["hél", "lo"]);
        assert_eq!(split_chunks("ab", 5), vec!["a", "b"]);
        assert!(split_chunks("abc", 0).is_empty());
        assert_eq!(split_chunks("abc", 1), vec!["abc"]);
    }

    #[test]
    fn delays_split_frames_and_events_merge_otherwise() {
        let counter = std::cell::Cell::new(0);
        let ids = || {
            counter.set(counter.get() + 1);
            counter.get()
        };
        let Rendered::Stream(frames) = ResponseScript::text("hi").render(&ids) else {
            panic!("stream expected")
        };
        assert_eq!(frames.len(), 1, "no delay: one write");
        let Rendered::Stream(frames) = ResponseScript::text("hi")
            .delay_between(Duration::from_millis(1))
            .render(&ids)
        else {
            panic!("stream expected")
        };
        // created, added, delta, done, completed: 5 events, 4 sleeps.
        assert_eq!(frames.len(), 9);
    }
}
