//! SDK errors as Python exceptions.
//!
//! The classes live in Python (`openai_codex_rs/_errors.py`, the seed's hierarchy); this side
//! decides which one with the SDK's own rules ([`openai_codex::ErrorKind`],
//! [`openai_codex::Error::is_retryable`]) and hands over everything the error carries.

use openai_codex::{Error, ErrorCode, ErrorKind, RpcError};
use pyo3::prelude::*;
use serde_json::{json, Value};

use crate::client::turn_result_json;

/// The Python name of an RPC error kind (`_errors._RPC_CLASSES` keys).
fn kind_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::ParseError => "parse_error",
        ErrorKind::InvalidRequest => "invalid_request",
        ErrorKind::MethodNotFound => "method_not_found",
        ErrorKind::InvalidParams => "invalid_params",
        ErrorKind::Internal => "internal",
        ErrorKind::ServerBusy => "server_busy",
        ErrorKind::RetryLimitExceeded => "retry_limit_exceeded",
        ErrorKind::ServerError => "server_error",
        _ => "other",
    }
}

/// `(kind, retryable)` of a JSON-RPC error object, by the SDK's rules: used by
/// `is_retryable_error` and by `JsonRpcError` objects a program builds itself.
#[pyfunction]
#[pyo3(signature = (code, message, data_json=None))]
pub fn rpc_error_info(code: i64, message: String, data_json: Option<&str>) -> (String, bool) {
    let data = data_json.and_then(|d| serde_json::from_str::<Value>(d).ok());
    let error = RpcError {
        code: ErrorCode(code),
        message,
        data,
    };
    let kind = kind_name(error.kind()).to_owned();
    let retryable = Error::JsonRpc {
        method: String::new(),
        error: Box::new(error),
    }
    .is_retryable();
    (kind, retryable)
}

/// The class key and the details of `error`, as `_errors._from_core` reads them.
fn describe(error: &Error) -> (&'static str, Value) {
    let retryable = error.is_retryable();
    match error {
        Error::JsonRpc { method, error: rpc } => (
            kind_name(rpc.kind()),
            json!({"method": method, "code": rpc.code.0, "message": rpc.message,
                   "data": rpc.data, "retryable": retryable}),
        ),
        Error::TransportClosed(reason) => (
            "transport_closed",
            json!({"exit_status": reason.exit_status, "stderr_tail": reason.stderr_tail}),
        ),
        Error::Timeout { method, timeout } => (
            "timeout",
            json!({"method": method, "timeout_s": timeout.as_secs_f64()}),
        ),
        Error::Stalled { turn_id, after } => (
            "stalled",
            json!({"turn_id": turn_id, "after_s": after.as_secs_f64()}),
        ),
        Error::TurnFailed(failed) => (
            "turn_failed",
            json!({"result": turn_result_json(&failed.result), "retryable": retryable,
                   "turn_message": failed.message()}),
        ),
        Error::RuntimeNotFound { looked, hint } => {
            ("runtime_not_found", json!({"looked": looked, "hint": hint}))
        }
        Error::RuntimeVersionMismatch { .. } => ("version_mismatch", json!({})),
        Error::Spawn { program, .. } => ("spawn", json!({"program": program})),
        Error::InvalidInput { field, .. } => ("invalid_input", json!({"field": field})),
        Error::BlockingInAsync => ("blocking_in_async", json!({})),
        _ => ("codex", json!({"retryable": retryable})),
    }
}

/// Turns an SDK error into the Python exception of its class.
pub(crate) fn to_py_err(error: Error) -> PyErr {
    Python::attach(|py| {
        let (kind, details) = describe(&error);
        let made = py
            .import("openai_codex_rs._errors")
            .and_then(|m| m.getattr("_from_core"))
            .and_then(|f| f.call1((kind, error.to_string(), details.to_string())));
        match made {
            Ok(exception) => PyErr::from_value(exception),
            // The package is broken if its error module cannot build an exception; the SDK
            // error is still reported, as a plain RuntimeError.
            Err(broken) => pyo3::exceptions::PyRuntimeError::new_err(format!("{error} ({broken})")),
        }
    })
}
