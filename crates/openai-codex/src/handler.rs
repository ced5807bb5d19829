//! Server-initiated requests (approvals, user input, tool calls, token refresh, ...).
//!
//! The runtime sometimes asks the client something. Every such request goes to one
//! [`ServerRequestHandler`] installed on the client; it runs on the tokio runtime, off the reader
//! thread, and its answer (or a JSON-RPC error if it panics or overruns its deadline) is sent back.
//!
//! The default, [`DeclineAll`], fails closed: approvals are declined, everything else gets a
//! JSON-RPC "method not found" error. The official Python SDK instead accepts every approval and
//! answers `{}` to everything else, which is not a valid answer for most kinds.
//!
//! This is the low-level, untyped layer. Most code wants [`crate::approval`]: a typed
//! [`RequestHandler`](crate::approval::RequestHandler) with one method per kind, ready-made
//! policies, deadlines, auditing and per-thread handlers.

use std::future::Future;

use futures::future::BoxFuture;
use openai_codex_protocol::ServerRequest;
use serde_json::{json, Value};

use crate::error::{ErrorCode, RpcError};

/// What a handler answers: the JSON `result`, or a JSON-RPC error.
pub type ServerRequestReply = Result<Value, RpcError>;

/// Answers server-initiated requests. Implemented for async closures
/// `Fn(ServerRequest) -> impl Future<Output = ServerRequestReply>`.
pub trait ServerRequestHandler: Send + Sync + 'static {
    /// Answers one request.
    fn handle(&self, request: ServerRequest) -> BoxFuture<'static, ServerRequestReply>;
}

impl<F, Fut> ServerRequestHandler for F
where
    F: Fn(ServerRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ServerRequestReply> + Send + 'static,
{
    fn handle(&self, request: ServerRequest) -> BoxFuture<'static, ServerRequestReply> {
        Box::pin(self(request))
    }
}

/// The default handler: declines approvals, answers every other kind with -32601.
#[derive(Clone, Copy, Debug, Default)]
pub struct DeclineAll;

impl ServerRequestHandler for DeclineAll {
    fn handle(&self, request: ServerRequest) -> BoxFuture<'static, ServerRequestReply> {
        let reply = decline_reply(request.method());
        Box::pin(async move { reply })
    }
}

/// The fail-closed answer for a server request method: a decline for the approval kinds, a
/// -32601 error for everything else.
pub fn decline_reply(method: &str) -> ServerRequestReply {
    match method {
        "item/commandExecution/requestApproval" | "item/fileChange/requestApproval" => {
            Ok(json!({"decision": "decline"}))
        }
        "item/permissions/requestApproval" => Ok(json!({"permissions": {}, "scope": "turn"})),
        "applyPatchApproval" | "execCommandApproval" => Ok(
            json!({"decision": {"denied": {"rejection": "declined by the client's default policy"}}}),
        ),
        "mcpServer/elicitation/request" => Ok(json!({"action": "decline"})),
        other => Err(RpcError::new(
            ErrorCode::METHOD_NOT_FOUND,
            format!("this client has no handler for server request `{other}`"),
        )),
    }
}
