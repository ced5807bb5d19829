//! What the mock model saw: [`CapturedRequest`] and helpers that read the Responses API body.

use std::time::Instant;

use serde_json::Value;

/// What a request to the mock model is for, as far as the mock can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestKind {
    /// An ordinary model call of a turn; answered from the queue, the responder or the default.
    Turn,
    /// An auto-review ("guardian") call; answered with the review verdict.
    Review,
    /// A local compaction call; answered with the compaction summary.
    Compaction,
    /// Anything that is not `POST .../responses`; answered with 404.
    Other,
}

/// One request the mock model received, with its headers and parsed JSON body.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CapturedRequest {
    /// 0-based arrival number across all requests of this mock (not reset by
    /// `clear_requests`).
    pub index: usize,
    /// HTTP method.
    pub method: String,
    /// Request path (and query), for example `/v1/responses`.
    pub path: String,
    /// Headers in arrival order, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON (`Null` when it is empty or not JSON).
    pub body: Value,
    /// How the mock classified the request.
    pub kind: RequestKind,
    /// When it arrived.
    pub received_at: Instant,
}

/// The output of a tool call as the runtime sent it back to the model.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ToolOutput {
    /// The call id the output answers.
    pub call_id: String,
    /// `function_call_output` or `custom_tool_call_output`.
    pub item_type: String,
    /// The output text (text parts joined when the runtime sent a list of content items).
    pub output: String,
}

impl CapturedRequest {
    pub(crate) fn new(
        index: usize,
        method: String,
        path: String,
        headers: Vec<(String, String)>,
        body: Value,
    ) -> Self {
        let mut request = Self {
            index,
            method,
            path,
            headers,
            body,
            kind: RequestKind::Other,
            received_at: Instant::now(),
        };
        request.kind = request.classify();
        request
    }

    fn classify(&self) -> RequestKind {
        if self.method != "POST"
            || !self
                .path
                .split('?')
                .next()
                .unwrap_or("")
                .ends_with("/responses")
        {
            return RequestKind::Other;
        }
        let guardian_header = self
            .header("x-openai-subagent")
            .is_some_and(|v| v.eq_ignore_ascii_case("guardian"));
        let verdict_schema = self
            .text_format()
            .filter(|f| f.get("name").and_then(Value::as_str) == Some("codex_output_schema"))
            .and_then(|f| f.pointer("/schema/properties/outcome"))
            .is_some();
        if guardian_header || verdict_schema {
            return RequestKind::Review;
        }
        let compaction = self
            .turn_metadata()
            .and_then(|m| {
                m.get("request_kind")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .is_some_and(|kind| kind == "compaction");
        if compaction {
            return RequestKind::Compaction;
        }
        RequestKind::Turn
    }

    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `x-codex-turn-metadata` header parsed as JSON (thread and turn ids, `request_kind`,
    /// `sandbox_mode`, `model`, ...).
    pub fn turn_metadata(&self) -> Option<Value> {
        serde_json::from_str(self.header("x-codex-turn-metadata")?).ok()
    }

    /// Whether this is an auto-review ("guardian") request.
    pub fn is_review(&self) -> bool {
        self.kind == RequestKind::Review
    }

    /// Whether this is a compaction request.
    pub fn is_compaction(&self) -> bool {
        self.kind == RequestKind::Compaction
    }

    /// The `model` field of the body.
    pub fn model(&self) -> Option<&str> {
        self.body.get("model").and_then(Value::as_str)
    }

    /// The `input` items of the body (the whole history: the API is used statelessly).
    pub fn input(&self) -> &[Value] {
        self.body
            .get("input")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice)
    }

    /// The names of the offered tools (`name`, or `type` for tools without a name).
    pub fn tool_names(&self) -> Vec<String> {
        self.body
            .get("tools")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|tool| tool.get("name").or_else(|| tool.get("type")))
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    }

    fn user_messages(&self) -> impl Iterator<Item = &Value> {
        self.input().iter().filter(|item| {
            item.get("role").and_then(Value::as_str) == Some("user")
                && item
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("message")
                    == "message"
        })
    }

    /// The texts of the user messages in the input, oldest first, one entry per `input_text`
    /// part. The runtime's own `<environment_context>` message is left out, so these are the
    /// prompts (and steers) the client sent, plus any summary left by a compaction.
    pub fn user_texts(&self) -> Vec<String> {
        self.user_messages()
            .flat_map(content_texts)
            .filter(|text| !text.starts_with("<environment_context>"))
            .collect()
    }

    /// The text of the last user message (its `input_text` parts joined with newlines).
    pub fn last_user_text(&self) -> Option<String> {
        let message = self.user_messages().last()?;
        let texts = content_texts(message);
        (!texts.is_empty()).then(|| texts.join("\n"))
    }

    /// The `image_url` of every `input_image` part in the user messages (local images arrive as
    /// `data:` URLs).
    pub fn input_images(&self) -> Vec<String> {
        self.user_messages()
            .filter_map(|m| m.get("content").and_then(Value::as_array))
            .flatten()
            .filter(|part| part.get("type").and_then(Value::as_str) == Some("input_image"))
            .filter_map(|part| part.get("image_url").and_then(Value::as_str))
            .map(str::to_owned)
            .collect()
    }

    /// `text.format` of the body, present when a JSON schema is active.
    pub fn text_format(&self) -> Option<&Value> {
        self.body.pointer("/text/format")
    }

    /// The JSON schema of a turn's `outputSchema` (`text.format.schema` when the format is named
    /// `codex_output_schema`); `None` for review requests, whose verdict schema uses the same name.
    pub fn output_schema(&self) -> Option<&Value> {
        if self.is_review() {
            return None;
        }
        let format = self.text_format()?;
        if format.get("name").and_then(Value::as_str) != Some("codex_output_schema") {
            return None;
        }
        format.get("schema")
    }

    /// Every tool output in the input (`function_call_output` and `custom_tool_call_output`).
    pub fn tool_outputs(&self) -> Vec<ToolOutput> {
        self.input()
            .iter()
            .filter_map(|item| {
                let item_type = item.get("type").and_then(Value::as_str)?;
                if item_type != "function_call_output" && item_type != "custom_tool_call_output" {
                    return None;
                }
                Some(ToolOutput {
                    call_id: item.get("call_id").and_then(Value::as_str)?.to_owned(),
                    item_type: item_type.to_owned(),
                    output: output_text(item.get("output").unwrap_or(&Value::Null)),
                })
            })
            .collect()
    }

    /// The output sent back for this call id.
    pub fn tool_output(&self, call_id: &str) -> Option<String> {
        self.tool_outputs()
            .into_iter()
            .find(|o| o.call_id == call_id)
            .map(|o| o.output)
    }

    /// The output of the most recent tool call in the input.
    pub fn last_tool_output(&self) -> Option<String> {
        self.tool_outputs().pop().map(|o| o.output)
    }
}

fn content_texts(message: &Value) -> Vec<String> {
    match message.get("content") {
        Some(Value::String(text)) => vec![text.clone()],
        Some(Value::Array(parts)) => parts
            .iter()
            .filter(|p| p.get("type").and_then(Value::as_str) == Some("input_text"))
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

fn output_text(output: &Value) -> String {
    match output {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(headers: Vec<(&str, &str)>, body: Value) -> CapturedRequest {
        CapturedRequest::new(
            0,
            "POST".into(),
            "/v1/responses".into(),
            headers
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            body,
        )
    }

    #[test]
    fn classifies_review_compaction_and_turn() {
        let review = request(vec![("x-openai-subagent", "guardian")], json!({}));
        assert_eq!(review.kind, RequestKind::Review);
        let by_schema = request(
            vec![],
            json!({"text": {"format": {"name": "codex_output_schema",
                "schema": {"properties": {"outcome": {"type": "string"}}}}}}),
        );
        assert_eq!(by_schema.kind, RequestKind::Review);
        let compaction = request(
            vec![("x-codex-turn-metadata", r#"{"request_kind":"compaction"}"#)],
            json!({}),
        );
        assert_eq!(compaction.kind, RequestKind::Compaction);
        let schema_turn = request(
            vec![("x-codex-turn-metadata", r#"{"request_kind":"turn"}"#)],
            json!({"text": {"format": {"name": "codex_output_schema", "schema": {"type": "object"}}}}),
        );
        assert_eq!(schema_turn.kind, RequestKind::Turn);
        assert_eq!(
            schema_turn.output_schema(),
            Some(&json!({"type": "object"}))
        );
    }

    #[test]
    fn reads_user_texts_images_and_tool_outputs() {
        let r = request(
            vec![],
            json!({"input": [
                {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "dev"}]},
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "<environment_context>x</environment_context>"}]},
                {"type": "message", "role": "user", "content": [
                    {"type": "input_text", "text": "look"},
                    {"type": "input_image", "image_url": "data:image/png;base64,AAA"}]},
                {"type": "function_call", "call_id": "call_1", "name": "exec_command", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "call_1", "output": "hello\n"},
                {"type": "custom_tool_call_output", "call_id": "call_2", "output": [{"type": "input_text", "text": "ok"}]},
            ]}),
        );
        assert_eq!(r.user_texts(), vec!["look"]);
        assert_eq!(r.last_user_text().as_deref(), Some("look"));
        assert_eq!(r.input_images(), vec!["data:image/png;base64,AAA"]);
        assert_eq!(r.tool_output("call_1").as_deref(), Some("hello\n"));
        assert_eq!(r.last_tool_output().as_deref(), Some("ok"));
    }
}
