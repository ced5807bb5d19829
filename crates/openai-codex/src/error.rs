//! The one error type of the SDK, and the mapping of JSON-RPC errors to kinds.
//!
//! The Python SDK's exception classes map to [`Error`] variants and [`ErrorKind`] queries:
//!
//! | Python                     | Rust                                                   |
//! |----------------------------|--------------------------------------------------------|
//! | `CodexError`               | [`Error`]                                              |
//! | `TransportClosedError`     | [`Error::TransportClosed`]                             |
//! | `JsonRpcError`             | [`Error::JsonRpc`] (any code)                          |
//! | `CodexRpcError`            | [`Error::JsonRpc`] with [`ErrorKind::ServerError`]     |
//! | `ParseError`               | [`ErrorKind::ParseError`]                              |
//! | `InvalidRequestError`      | [`ErrorKind::InvalidRequest`]                          |
//! | `MethodNotFoundError`      | [`ErrorKind::MethodNotFound`]                          |
//! | `InvalidParamsError`       | [`ErrorKind::InvalidParams`]                           |
//! | `InternalRpcError`         | [`ErrorKind::Internal`]                                |
//! | `ServerBusyError`          | [`ErrorKind::ServerBusy`]                              |
//! | `RetryLimitExceededError`  | [`ErrorKind::RetryLimitExceeded`]                      |
//! | `is_retryable_error(e)`    | [`Error::is_retryable`] / [`is_retryable_error`]       |

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::turn::TurnResult;

/// The SDK's `Result`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A JSON-RPC error code, with the standard codes as named constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ErrorCode(pub i64);

impl ErrorCode {
    /// -32700: the peer could not parse the message.
    pub const PARSE_ERROR: Self = Self(-32700);
    /// -32600: the request is invalid (the runtime uses it for nearly every error).
    pub const INVALID_REQUEST: Self = Self(-32600);
    /// -32601: no such method.
    pub const METHOD_NOT_FOUND: Self = Self(-32601);
    /// -32602: invalid params.
    pub const INVALID_PARAMS: Self = Self(-32602);
    /// -32603: internal error.
    pub const INTERNAL_ERROR: Self = Self(-32603);
    /// -32001: the runtime's "server overloaded" code (0.163.0 sends it with the message
    /// `Server overloaded; retry later.` and no `data`).
    pub const SERVER_OVERLOADED: Self = Self(-32001);

    /// Whether the code lies in the implementation-defined server range -32099..=-32000.
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::ErrorCode;
    ///
    /// assert!(ErrorCode::SERVER_OVERLOADED.is_server_range());
    /// assert!(!ErrorCode::INVALID_PARAMS.is_server_range());
    /// ```
    pub fn is_server_range(self) -> bool {
        (-32099..=-32000).contains(&self.0)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A JSON-RPC error object, kept whole.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RpcError {
    /// The error code.
    pub code: ErrorCode,
    /// The message.
    pub message: String,
    /// Extra data, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl RpcError {
    /// Builds an error object.
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::{ErrorCode, ErrorKind, RpcError};
    ///
    /// let error = RpcError::new(ErrorCode::INVALID_PARAMS, "bad params");
    /// assert_eq!(error.kind(), ErrorKind::InvalidParams);
    /// ```
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// The kind this error maps to. The code decides first: the five standard codes map to
    /// their kinds, and -32001 ([`ErrorCode::SERVER_OVERLOADED`], the runtime's overload answer)
    /// is [`ErrorKind::ServerBusy`]. Elsewhere in the server range the official SDK's signals
    /// count: retry-limit text in the message, an overload marker in `data` (in either spelling,
    /// `server_overloaded` or `serverOverloaded`), or a message that says "server overloaded".
    /// Retry-limit text wins over every overload signal: the server has already retried.
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::{ErrorCode, ErrorKind, RpcError};
    ///
    /// // What runtime 0.163.0 answers when it is overloaded.
    /// let busy = RpcError::new(ErrorCode(-32001), "Server overloaded; retry later.");
    /// assert_eq!(busy.kind(), ErrorKind::ServerBusy);
    /// assert_eq!(RpcError::new(ErrorCode(-32000), "retry limit reached").kind(), ErrorKind::RetryLimitExceeded);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self.code {
            ErrorCode::PARSE_ERROR => ErrorKind::ParseError,
            ErrorCode::INVALID_REQUEST => ErrorKind::InvalidRequest,
            ErrorCode::METHOD_NOT_FOUND => ErrorKind::MethodNotFound,
            ErrorCode::INVALID_PARAMS => ErrorKind::InvalidParams,
            ErrorCode::INTERNAL_ERROR => ErrorKind::Internal,
            code if code.is_server_range() => {
                if is_retry_limit_text(&self.message) {
                    ErrorKind::RetryLimitExceeded
                } else if code == ErrorCode::SERVER_OVERLOADED
                    || self.signals_overload()
                    || is_overload_text(&self.message)
                {
                    ErrorKind::ServerBusy
                } else {
                    ErrorKind::ServerError
                }
            }
            _ => ErrorKind::Other,
        }
    }

    /// Whether `data` marks the error as an overload, at any depth, in either spelling.
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::{ErrorCode, RpcError};
    ///
    /// let mut error = RpcError::new(ErrorCode(-32000), "busy");
    /// error.data = Some(serde_json::json!({"codexErrorInfo": "serverOverloaded"}));
    /// assert!(error.signals_overload());
    /// ```
    pub fn signals_overload(&self) -> bool {
        self.data.as_ref().is_some_and(data_signals_overload)
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JSON-RPC error {}: {}", self.code, self.message)
    }
}

/// What a JSON-RPC error means, following the official SDK's class tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// -32700.
    ParseError,
    /// -32600.
    InvalidRequest,
    /// -32601.
    MethodNotFound,
    /// -32602.
    InvalidParams,
    /// -32603.
    Internal,
    /// The server is overloaded; retrying later may succeed.
    ServerBusy,
    /// The server's own retry budget is exhausted. Not retryable (unlike the Python SDK).
    RetryLimitExceeded,
    /// Another code in -32099..=-32000.
    ServerError,
    /// Any other code.
    Other,
}

fn is_retry_limit_text(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    lower.contains("retry limit") || lower.contains("too many failed attempts")
}

/// The runtime's words (`Server overloaded; retry later.`), or any message built on them.
fn is_overload_text(message: &str) -> bool {
    message.to_ascii_lowercase().contains("server overloaded")
}

fn is_overload_marker(text: &str) -> bool {
    text.eq_ignore_ascii_case("server_overloaded") || text.eq_ignore_ascii_case("serveroverloaded")
}

/// Overload detection on `data`, recursive: a marker string anywhere, in either spelling.
pub(crate) fn data_signals_overload(data: &Value) -> bool {
    match data {
        Value::String(s) => is_overload_marker(s),
        Value::Array(items) => items.iter().any(data_signals_overload),
        Value::Object(map) => map.values().any(data_signals_overload),
        _ => false,
    }
}

/// Why the connection to the runtime ended, recorded once and shared by every waiter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClosedReason {
    /// What happened, in a sentence.
    pub message: String,
    /// The runtime's exit status, when it exited.
    pub exit_status: Option<String>,
    /// The newest lines the runtime wrote to stderr (ANSI colours stripped), oldest first, up to
    /// its last line before exiting: at most 40 lines and 8 KiB. A line ends at `\n` or `\r`;
    /// one longer than 4 KiB comes in 4 KiB pieces.
    pub stderr_tail: Vec<String>,
}

impl fmt::Display for ClosedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(status) = &self.exit_status {
            write!(f, " (runtime {status})")?;
        }
        if !self.stderr_tail.is_empty() {
            write!(f, "; stderr tail:\n{}", self.stderr_tail.join("\n"))?;
        }
        Ok(())
    }
}

/// A failed turn: the runtime's `TurnError` and everything collected before it failed.
#[derive(Clone, Debug)]
pub struct TurnFailed {
    /// The partial result: status `failed`, the items and usage seen.
    pub result: Box<TurnResult>,
}

impl TurnFailed {
    /// The runtime's error message for the turn.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(thread: openai_codex::AsyncThread) -> openai_codex::Result<()> {
    /// use openai_codex::{Error, TurnOptions};
    ///
    /// if let Err(Error::TurnFailed(failed)) = thread.run("Hi", TurnOptions::default()).await {
    ///     eprintln!("turn failed: {}", failed.message());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn message(&self) -> &str {
        self.result
            .error
            .as_ref()
            .map(|e| e.message.as_str())
            .filter(|m| !m.is_empty())
            .unwrap_or("turn failed with status failed")
    }

    /// Whether the runtime said the turn failed because the server was overloaded.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(thread: openai_codex::AsyncThread) -> openai_codex::Result<()> {
    /// use openai_codex::{Error, TurnOptions};
    ///
    /// if let Err(Error::TurnFailed(failed)) = thread.run("Hi", TurnOptions::default()).await {
    ///     println!("overloaded: {}, did work: {}", failed.is_overloaded(), failed.did_work());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn is_overloaded(&self) -> bool {
        self.result
            .error
            .as_ref()
            .and_then(|e| e.codex_error_info.as_ref())
            .and_then(|info| serde_json::to_value(info).ok())
            .is_some_and(|v| data_signals_overload(&v))
    }

    /// Whether the turn did anything before it failed: any item past the user's input (a
    /// command, a file change, a message, reasoning, a tool call). Sending the same prompt again
    /// as a new turn would repeat that work, so such a turn is not retried automatically.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(thread: openai_codex::AsyncThread) -> openai_codex::Result<()> {
    /// use openai_codex::{Error, TurnOptions};
    ///
    /// if let Err(Error::TurnFailed(failed)) = thread.run("Hi", TurnOptions::default()).await {
    ///     if failed.did_work() {
    ///         println!("the turn ran {} items before failing", failed.result.items.len());
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn did_work(&self) -> bool {
        self.work_items().next().is_some()
    }

    /// The items past the user's input.
    pub(crate) fn work_items(&self) -> impl Iterator<Item = &openai_codex_protocol::ThreadItem> {
        self.result
            .items
            .iter()
            .filter(|item| !matches!(item, openai_codex_protocol::ThreadItem::UserMessage(_)))
    }
}

/// The final answer of a turn could not be parsed into the requested type.
#[derive(Debug)]
pub struct StructuredOutputError {
    /// The Rust type the answer was parsed into.
    pub type_name: &'static str,
    /// The answer as the model gave it (`None` when the turn gave no final answer).
    pub raw: Option<String>,
    /// The whole turn result (items, usage, status).
    pub turn: Box<TurnResult>,
    /// The parse error (`None` when there was no answer to parse).
    pub source: Option<serde_json::Error>,
}

impl std::fmt::Display for StructuredOutputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.raw, &self.source) {
            (None, _) => write!(
                f,
                "turn {} gave no final answer to parse into {}",
                self.turn.id, self.type_name
            ),
            (Some(raw), source) => {
                let shown: String = raw.chars().take(200).collect();
                let more = if shown.len() < raw.len() { "..." } else { "" };
                write!(
                    f,
                    "the final answer of turn {} is not a valid {}",
                    self.turn.id, self.type_name
                )?;
                if let Some(source) = source {
                    write!(f, " ({source})")?;
                }
                write!(f, "; raw answer: {shown}{more}")
            }
        }
    }
}

impl std::error::Error for StructuredOutputError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Every error the SDK returns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No runtime binary could be found (or an explicit one does not exist).
    #[error("Codex runtime not found; looked at: {}. Fix: {hint}", looked.join(", "))]
    RuntimeNotFound {
        /// Every place looked, in order.
        looked: Vec<String>,
        /// The command or setting that fixes it.
        hint: String,
    },
    /// The pinned runtime could not be installed (and no `codex` is on `PATH` to fall back to).
    #[error("cannot install the Codex runtime: {0}")]
    RuntimeInstall(#[source] Box<crate::runtime::InstallError>),
    /// The runtime reported a version outside [`crate::config::VersionPolicy`].
    #[error(
        "Codex runtime {runtime} at {binary} does not fit the version this SDK is built for, \
         {expected} (policy: {policy}). Fix: {fix}"
    )]
    RuntimeVersionMismatch {
        /// The version the runtime reported.
        runtime: String,
        /// The version the SDK is generated for.
        expected: String,
        /// The policy applied (`exact`, `same minor`).
        policy: &'static str,
        /// Which binary, and how it was found.
        binary: String,
        /// What to do.
        fix: String,
    },
    /// The runtime process could not be started.
    #[error("cannot start the Codex runtime `{program}`: {source}")]
    Spawn {
        /// The program that failed to start.
        program: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The connection to the runtime is closed (it exited, crashed, or `close()` was called).
    #[error("Codex runtime connection closed: {0}")]
    TransportClosed(ClosedReason),
    /// The runtime answered a request with a JSON-RPC error.
    #[error("{method}: {error}")]
    JsonRpc {
        /// The method that failed.
        method: String,
        /// The error object, whole (boxed to keep `Result`s small).
        error: Box<RpcError>,
    },
    /// A request got no response in time.
    #[error("{method}: no response within {timeout:?}; raise CodexConfig::request_timeout, or give this one call its own with AsyncCodex::request_with_timeout")]
    Timeout {
        /// The method that timed out.
        method: String,
        /// The timeout that elapsed.
        timeout: Duration,
    },
    /// A message from the runtime did not have the expected shape.
    #[error("cannot decode {what}: {source}; raw: {raw}")]
    Decode {
        /// What was being decoded.
        what: String,
        /// The raw JSON text (truncated).
        raw: String,
        /// The serde error.
        #[source]
        source: serde_json::Error,
    },
    /// The runtime's reply to a request was longer than
    /// [`CodexConfig::max_message_bytes`](crate::CodexConfig::max_message_bytes); it was skipped
    /// (the connection goes on).
    #[error("{method}: the runtime's reply is {size} bytes, more than the client reads ({limit}); raise CodexConfig::max_message_bytes")]
    MessageTooLarge {
        /// The method whose reply was too large.
        method: String,
        /// The reply's size in bytes.
        size: usize,
        /// The limit in force.
        limit: usize,
    },
    /// Bad input, rejected before anything was sent.
    #[error("invalid {field}: {message}")]
    InvalidInput {
        /// The offending argument or field.
        field: &'static str,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A turn sent no event for the stall timeout (`CodexConfig::turn_stall_timeout`,
    /// `TurnOptions::stall_timeout`); the SDK asked the runtime to interrupt it.
    #[error("turn {turn_id} sent no event for {after:?} and was interrupted; the runtime may be stuck. Raise CodexConfig::turn_stall_timeout (or TurnOptions::stall_timeout) if the turn legitimately stays silent that long")]
    Stalled {
        /// The turn that went silent.
        turn_id: String,
        /// The stall timeout that elapsed.
        after: Duration,
    },
    /// A turn ended with status `failed`.
    #[error("turn {} failed: {}", .0.result.id, .0.message())]
    TurnFailed(TurnFailed),
    /// An I/O error on the transport.
    #[error("transport I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The runtime violated the protocol in a way the SDK cannot work around.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The endpoint could not be reached (refused, no such socket, unreachable, timed out).
    #[error("cannot connect to {endpoint}: {source}; is the runtime running there (`codex app-server --listen ...`)?")]
    Connect {
        /// The endpoint, as a URL.
        endpoint: String,
        /// The OS error (`ErrorKind::ConnectionRefused`, `NotFound`, `TimedOut`, ...).
        #[source]
        source: std::io::Error,
    },
    /// The endpoint refused the credentials (HTTP 401/403 on the WebSocket upgrade).
    #[error("{endpoint} rejected the credentials (HTTP {status}): {reason}")]
    AuthRejected {
        /// The endpoint, as a URL.
        endpoint: String,
        /// The HTTP status of the upgrade response.
        status: u16,
        /// The runtime's reason (the response body), e.g. `expired websocket jwt`.
        reason: String,
    },
    /// The TLS handshake with a `wss://` endpoint failed (certificate, name, protocol).
    #[error("TLS with {endpoint} failed: {source}")]
    Tls {
        /// The endpoint, as a URL.
        endpoint: String,
        /// The TLS error.
        #[source]
        source: std::io::Error,
    },
    /// The WebSocket upgrade failed for another reason than credentials.
    #[error("WebSocket handshake with {endpoint} failed{}: {reason}", status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
    Handshake {
        /// The endpoint, as a URL.
        endpoint: String,
        /// The HTTP status, when the server answered with one.
        status: Option<u16>,
        /// What went wrong.
        reason: String,
    },
    /// A command of the runtime's managed local daemon (`codex app-server daemon ...`) failed.
    #[error("`codex app-server daemon {command}` for CODEX_HOME {codex_home} failed: {message}")]
    Daemon {
        /// The daemon command: `start`, `stop` or `version`.
        command: &'static str,
        /// The `CODEX_HOME` of the daemon.
        codex_home: String,
        /// What the runtime said (or what went wrong running it).
        message: String,
    },
    /// Credentials would travel unencrypted to a non-loopback host; nothing was sent.
    #[error("refusing to send credentials to {endpoint} over an unencrypted connection; use wss://, a loopback ws:// address, or a unix:// socket")]
    InsecureEndpoint {
        /// The endpoint, as a URL.
        endpoint: String,
    },
    /// [`crate::retry_on_overload`] met an overload it must not retry, and says why (for example
    /// a failed turn that had already run commands: sending its prompt again would run them
    /// again). The error it did not retry is the source.
    #[error("not retried: {reason}; the error: {source}")]
    NotRetried {
        /// Why the operation was not retried.
        reason: String,
        /// The error that was not retried (e.g. [`Error::TurnFailed`] with the partial result).
        source: Box<Error>,
    },
    /// `run_typed`: the turn's final answer could not be parsed into the requested type (the
    /// raw answer and the whole turn result are kept).
    #[error(transparent)]
    StructuredOutput(StructuredOutputError),
    /// The blocking API was called from inside an async runtime, which would deadlock.
    #[error("the blocking API cannot be called from inside an async runtime; use AsyncCodex there, or call it from a plain OS thread (std::thread::spawn)")]
    BlockingInAsync,
}

impl From<crate::runtime::InstallError> for Error {
    fn from(error: crate::runtime::InstallError) -> Self {
        Error::RuntimeInstall(Box::new(error))
    }
}

impl Error {
    /// The JSON-RPC error kind, when this is a JSON-RPC error.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(codex: openai_codex::AsyncCodex) -> openai_codex::Result<()> {
    /// use openai_codex::{ErrorKind, ThreadResumeOptions};
    ///
    /// let error = codex.thread_resume("no-such-thread", ThreadResumeOptions::default()).await.unwrap_err();
    /// assert_eq!(error.kind(), Some(ErrorKind::InvalidRequest));
    /// # Ok(()) }
    /// ```
    pub fn kind(&self) -> Option<ErrorKind> {
        match self {
            Error::JsonRpc { error, .. } => Some(error.kind()),
            _ => None,
        }
    }

    /// The JSON-RPC error object, when this is a JSON-RPC error.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(codex: openai_codex::AsyncCodex) -> openai_codex::Result<()> {
    /// use openai_codex::ThreadResumeOptions;
    ///
    /// if let Err(error) = codex.thread_resume("no-such-thread", ThreadResumeOptions::default()).await {
    ///     if let Some(rpc) = error.rpc_error() {
    ///         println!("{} {} {:?}", rpc.code, rpc.message, rpc.data);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn rpc_error(&self) -> Option<&RpcError> {
        match self {
            Error::JsonRpc { error, .. } => Some(error.as_ref()),
            _ => None,
        }
    }

    /// Whether retrying the same call later may succeed: an overloaded server (by code, `data`
    /// marker in either spelling, or a failed turn whose `codexErrorInfo` says so and that did
    /// nothing past the user's input, see [`TurnFailed::did_work`]). Retry-limit errors are not
    /// retryable: the server already retried.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(thread: openai_codex::AsyncThread) -> openai_codex::Result<()> {
    /// use openai_codex::TurnOptions;
    ///
    /// if let Err(error) = thread.run("Hi", TurnOptions::default()).await {
    ///     if error.is_retryable() {
    ///         // try again later, or use retry_on_overload
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::JsonRpc { error, .. } => match error.kind() {
                ErrorKind::ServerBusy => true,
                ErrorKind::RetryLimitExceeded => false,
                _ => error.signals_overload(),
            },
            Error::TurnFailed(failed) => failed.is_overloaded() && !failed.did_work(),
            _ => false,
        }
    }

    /// Whether the connection is gone (every later call will fail the same way).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(codex: openai_codex::AsyncCodex) -> openai_codex::Result<()> {
    /// codex.close().await;
    /// let error = codex.models(false).await.unwrap_err();
    /// assert!(error.is_transport_closed());
    /// # Ok(()) }
    /// ```
    pub fn is_transport_closed(&self) -> bool {
        matches!(self, Error::TransportClosed(_))
    }
}

/// Whether `error` is transient and worth retrying; see [`Error::is_retryable`].
///
/// # Examples
///
/// ```
/// use openai_codex::{is_retryable_error, Error, ErrorCode, RpcError};
///
/// let busy = Error::JsonRpc {
///     method: "turn/start".into(),
///     error: Box::new(RpcError::new(ErrorCode::SERVER_OVERLOADED, "Server overloaded; retry later.")),
/// };
/// assert!(is_retryable_error(&busy));
/// ```
pub fn is_retryable_error(error: &Error) -> bool {
    error.is_retryable()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rpc(code: i64, message: &str, data: Option<Value>) -> RpcError {
        RpcError {
            code: ErrorCode(code),
            message: message.into(),
            data,
        }
    }

    fn err(e: RpcError) -> Error {
        Error::JsonRpc {
            method: "m".into(),
            error: Box::new(e),
        }
    }

    #[test]
    fn error_is_send_sync_static() {
        fn check<T: Send + Sync + 'static + std::error::Error>() {}
        check::<Error>();
    }

    #[test]
    fn maps_codes_like_the_official_sdk() {
        assert_eq!(rpc(-32700, "x", None).kind(), ErrorKind::ParseError);
        assert_eq!(rpc(-32600, "x", None).kind(), ErrorKind::InvalidRequest);
        assert_eq!(rpc(-32601, "x", None).kind(), ErrorKind::MethodNotFound);
        assert_eq!(rpc(-32602, "x", None).kind(), ErrorKind::InvalidParams);
        assert_eq!(rpc(-32603, "x", None).kind(), ErrorKind::Internal);
        assert_eq!(rpc(-32000, "other", None).kind(), ErrorKind::ServerError);
        assert_eq!(rpc(123, "weird", None).kind(), ErrorKind::Other);
    }

    #[test]
    fn overload_in_both_spellings_at_any_depth() {
        let snake = rpc(
            -32001,
            "busy",
            Some(json!({"codex_error_info": "server_overloaded"})),
        );
        assert_eq!(snake.kind(), ErrorKind::ServerBusy);
        let camel = rpc(
            -32001,
            "busy",
            Some(json!({"codexErrorInfo": "serverOverloaded"})),
        );
        assert_eq!(camel.kind(), ErrorKind::ServerBusy);
        assert!(err(camel).is_retryable());
        let deep = rpc(
            -32099,
            "x",
            Some(json!({"errorInfo": {"kind": ["SERVER_OVERLOADED"]}})),
        );
        assert_eq!(deep.kind(), ErrorKind::ServerBusy);
        // Outside the code -32001, the message is a signal too.
        let worded = rpc(-32000, "Server overloaded; retry later.", None);
        assert_eq!(worded.kind(), ErrorKind::ServerBusy);
        assert!(err(worded).is_retryable());
        // Outside the server range the code decides the kind, but the data still makes it retryable.
        let internal = rpc(-32603, "internal", Some(json!("server_overloaded")));
        assert_eq!(internal.kind(), ErrorKind::Internal);
        assert!(err(internal).is_retryable());
    }

    #[test]
    fn the_runtimes_overload_answer_is_server_busy_by_code_alone() {
        // Runtime 0.163.0: code -32001, this message, no data.
        let runtime = rpc(-32001, "Server overloaded; retry later.", None);
        assert_eq!(runtime.kind(), ErrorKind::ServerBusy);
        assert!(err(runtime).is_retryable());
        let any_text = rpc(-32001, "try again", None);
        assert_eq!(any_text.kind(), ErrorKind::ServerBusy);
        assert!(err(any_text).is_retryable());
        assert_eq!(
            rpc(-32002, "something else", None).kind(),
            ErrorKind::ServerError
        );
    }

    #[test]
    fn retry_limit_is_its_own_kind_and_not_retryable() {
        let e = rpc(-32050, "too many failed attempts", None);
        assert_eq!(e.kind(), ErrorKind::RetryLimitExceeded);
        assert!(!err(e).is_retryable());
        let e = rpc(
            -32001,
            "Retry limit exceeded",
            Some(json!({"codexErrorInfo": "server_overloaded"})),
        );
        assert_eq!(e.kind(), ErrorKind::RetryLimitExceeded);
        assert!(!err(e).is_retryable());
    }

    #[test]
    fn plain_errors_are_not_retryable() {
        assert!(!err(rpc(-32000, "other", None)).is_retryable());
        assert!(!Error::Protocol("x".into()).is_retryable());
    }
}
