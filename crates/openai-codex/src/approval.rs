//! Typed handlers for server-initiated requests: approvals, user input, tool calls, token
//! refresh, attestation.
//!
//! The runtime sometimes asks the client something in the middle of a turn. [`RequestHandler`]
//! has one async method per kind of question, taking the typed params and returning the typed
//! answer (or an [`RpcError`], sent back as a JSON-RPC error). Every method has a fail-closed
//! default, so a handler implements only the kinds it cares about:
//!
//! | method | wire method | default answer |
//! |---|---|---|
//! | [`command_approval`](RequestHandler::command_approval) | `item/commandExecution/requestApproval` | `{"decision": "decline"}` |
//! | [`file_change_approval`](RequestHandler::file_change_approval) | `item/fileChange/requestApproval` | `{"decision": "decline"}` |
//! | [`permissions_approval`](RequestHandler::permissions_approval) | `item/permissions/requestApproval` | grants nothing: `{"permissions": {}, "scope": "turn"}` |
//! | [`mcp_elicitation`](RequestHandler::mcp_elicitation) | `mcpServer/elicitation/request` | `{"action": "decline"}` |
//! | [`apply_patch_approval`](RequestHandler::apply_patch_approval) | `applyPatchApproval` (legacy) | `{"decision": {"denied": {...}}}` |
//! | [`exec_command_approval`](RequestHandler::exec_command_approval) | `execCommandApproval` (legacy) | `{"decision": {"denied": {...}}}` |
//! | [`tool_user_input`](RequestHandler::tool_user_input) | `item/tool/requestUserInput` | JSON-RPC error -32601 |
//! | [`dynamic_tool_call`](RequestHandler::dynamic_tool_call) | `item/tool/call` | JSON-RPC error -32601 |
//! | [`chatgpt_tokens_refresh`](RequestHandler::chatgpt_tokens_refresh) | `account/chatgptAuthTokens/refresh` | JSON-RPC error -32601 |
//! | [`attestation`](RequestHandler::attestation) | `attestation/generate` | JSON-RPC error -32601 |
//! | [`unknown_request`](RequestHandler::unknown_request) | anything else, or params that do not fit the schema | [`decline_reply`] of the method |
//!
//! **Difference from the official Python SDK.** The official SDK gives public users no way to
//! answer these requests; its built-in answer *accepts* every command and file-change approval and
//! answers `{}` to everything else, which is not even a valid answer for most kinds. This SDK
//! fails closed ([`DeclineAll`] is the default), and accepting is an explicit opt-in
//! ([`AcceptAll`], or your own handler).
//!
//! # Installing
//!
//! * [`AsyncCodex::set_handler`](crate::AsyncCodex::set_handler) for the whole client;
//! * [`AsyncThread::set_handler`](crate::AsyncThread::set_handler) (or
//!   [`AsyncCodex::set_thread_handler`](crate::AsyncCodex::set_thread_handler)) for the requests
//!   of one thread (those whose params carry its `threadId`, or `conversationId` for the legacy
//!   kinds); they override the client's handler.
//!
//! Handlers run on the tokio runtime, never on the connection's reader, so a handler that waits
//! for a person stalls nobody else. A handler that panics is answered with a JSON-RPC error
//! (-32603) and the client keeps working.
//!
//! # Ways to write one
//!
//! * implement [`RequestHandler`] (with `async fn` methods);
//! * [`Handlers`]: async closures for single kinds;
//! * [`BlockingRequestHandler`] wrapped in [`Blocking`], or [`blocking_fn`] for one closure: plain
//!   synchronous code, run on tokio's blocking pool (for UIs that prompt on stdin, say);
//! * compose: [`WithDeadline`] (answer with a fallback when the handler is too slow),
//!   [`Audited`] (see every request and the answer given).
//!
//! ```no_run
//! use std::time::Duration;
//! use openai_codex::approval::{Audited, Handlers, WithDeadline, DeclineAll};
//! use openai_codex::types::{CommandExecutionApprovalDecision, CommandExecutionRequestApprovalResponse};
//! # async fn example(codex: openai_codex::AsyncCodex) {
//! let handler = Handlers::new().on_command_approval(|params| async move {
//!     let safe = params.command.as_deref().is_some_and(|c| c.contains("echo"));
//!     let decision = if safe {
//!         CommandExecutionApprovalDecision::Accept
//!     } else {
//!         CommandExecutionApprovalDecision::Decline
//!     };
//!     Ok(CommandExecutionRequestApprovalResponse { decision, extra: Default::default() })
//! });
//! let handler = WithDeadline::new(handler, Duration::from_secs(30), DeclineAll);
//! codex.set_handler(Audited::new(handler, |request, reply| {
//!     eprintln!("{} -> {reply:?}", request.method());
//! }));
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;
use openai_codex_protocol::{self as proto, ServerRequest};
use serde_json::Value;

use crate::error::{ErrorCode, RpcError};
pub use crate::handler::{decline_reply, DeclineAll, ServerRequestHandler, ServerRequestReply};

/// What a typed handler method returns: the typed answer, or a JSON-RPC error to send instead.
pub type Reply<T> = Result<T, RpcError>;

/// The JSON-RPC "method not found" error (-32601) for a request kind a handler does not answer.
pub fn not_handled(method: &str) -> RpcError {
    RpcError::new(
        ErrorCode::METHOD_NOT_FOUND,
        format!("this client has no handler for server request `{method}`"),
    )
}

fn panicked(method: &str) -> RpcError {
    RpcError::new(
        ErrorCode::INTERNAL_ERROR,
        format!("client handler for {method} panicked"),
    )
}

/// The fail-closed answers, typed. They match [`decline_reply`] byte for byte.
mod fail_closed {
    use super::*;

    pub(super) fn command_approval() -> Reply<proto::CommandExecutionRequestApprovalResponse> {
        Ok(proto::CommandExecutionRequestApprovalResponse {
            decision: proto::CommandExecutionApprovalDecision::Decline,
            extra: Default::default(),
        })
    }
    pub(super) fn file_change_approval() -> Reply<proto::FileChangeRequestApprovalResponse> {
        Ok(proto::FileChangeRequestApprovalResponse {
            decision: proto::FileChangeApprovalDecision::Decline,
            extra: Default::default(),
        })
    }
    pub(super) fn permissions_approval() -> Reply<proto::PermissionsRequestApprovalResponse> {
        Ok(proto::PermissionsRequestApprovalResponse {
            permissions: proto::GrantedPermissionProfile::default(),
            scope: Some(proto::PermissionGrantScope::Turn),
            strict_auto_review: None,
            extra: Default::default(),
        })
    }
    pub(super) fn mcp_elicitation() -> Reply<proto::McpServerElicitationRequestResponse> {
        Ok(proto::McpServerElicitationRequestResponse {
            meta: None,
            action: proto::McpServerElicitationAction::Decline,
            content: None,
            extra: Default::default(),
        })
    }
    fn denied() -> proto::ReviewDecision {
        proto::ReviewDecision::Denied(proto::DeniedReviewDecision {
            rejection: "declined by the client's default policy".into(),
            extra: Default::default(),
        })
    }
    pub(super) fn apply_patch_approval() -> Reply<proto::ApplyPatchApprovalResponse> {
        Ok(proto::ApplyPatchApprovalResponse {
            decision: denied(),
            extra: Default::default(),
        })
    }
    pub(super) fn exec_command_approval() -> Reply<proto::ExecCommandApprovalResponse> {
        Ok(proto::ExecCommandApprovalResponse {
            decision: denied(),
            extra: Default::default(),
        })
    }
    pub(super) fn tool_user_input() -> Reply<proto::ToolRequestUserInputResponse> {
        Err(not_handled("item/tool/requestUserInput"))
    }
    pub(super) fn dynamic_tool_call() -> Reply<proto::DynamicToolCallResponse> {
        Err(not_handled("item/tool/call"))
    }
    pub(super) fn chatgpt_tokens_refresh() -> Reply<proto::ChatgptAuthTokensRefreshResponse> {
        Err(not_handled("account/chatgptAuthTokens/refresh"))
    }
    pub(super) fn attestation() -> Reply<proto::AttestationGenerateResponse> {
        Err(not_handled("attestation/generate"))
    }
}

/// Answers server-initiated requests, one typed method per kind. Every method has a fail-closed
/// default (see the [module docs](self)); implement the ones you need, with `async fn`.
///
/// ```
/// use openai_codex::approval::{Reply, RequestHandler};
/// use openai_codex::types::{
///     CommandExecutionApprovalDecision, CommandExecutionRequestApprovalParams,
///     CommandExecutionRequestApprovalResponse,
/// };
///
/// /// Accepts `echo` commands, declines everything else.
/// struct EchoOnly;
///
/// impl RequestHandler for EchoOnly {
///     async fn command_approval(
///         &self,
///         params: CommandExecutionRequestApprovalParams,
///     ) -> Reply<CommandExecutionRequestApprovalResponse> {
///         let echo = params.command.as_deref().is_some_and(|c| c.contains("echo "));
///         Ok(CommandExecutionRequestApprovalResponse {
///             decision: if echo {
///                 CommandExecutionApprovalDecision::Accept
///             } else {
///                 CommandExecutionApprovalDecision::Decline
///             },
///             extra: Default::default(),
///         })
///     }
/// }
/// ```
///
/// The trait uses `impl Future` returns, so it is not object safe itself; to keep a handler
/// behind a pointer, wrap it in [`TypedHandler`] (an `Arc<dyn ServerRequestHandler>` then
/// works), or share it as `Arc<H>` (which implements this trait too).
pub trait RequestHandler: Send + Sync + 'static {
    /// `item/commandExecution/requestApproval`: may the agent run this command (usually one that
    /// asks to leave the sandbox)? `decline` lets the turn go on without it; `cancel` also
    /// interrupts the turn. Default: decline.
    fn command_approval(
        &self,
        params: proto::CommandExecutionRequestApprovalParams,
    ) -> impl Future<Output = Reply<proto::CommandExecutionRequestApprovalResponse>> + Send {
        let _ = params;
        std::future::ready(fail_closed::command_approval())
    }

    /// `item/fileChange/requestApproval`: may the agent apply this patch? The changes themselves
    /// are in the preceding `item/started` (`fileChange` item) of the turn. Default: decline.
    fn file_change_approval(
        &self,
        params: proto::FileChangeRequestApprovalParams,
    ) -> impl Future<Output = Reply<proto::FileChangeRequestApprovalResponse>> + Send {
        let _ = params;
        std::future::ready(fail_closed::file_change_approval())
    }

    /// `item/permissions/requestApproval`: may the agent get these extra permissions? Answer
    /// with the subset granted. Default: grant nothing.
    fn permissions_approval(
        &self,
        params: proto::PermissionsRequestApprovalParams,
    ) -> impl Future<Output = Reply<proto::PermissionsRequestApprovalResponse>> + Send {
        let _ = params;
        std::future::ready(fail_closed::permissions_approval())
    }

    /// `item/tool/requestUserInput` (experimental): the agent asks the user questions.
    /// Default: JSON-RPC error -32601.
    fn tool_user_input(
        &self,
        params: proto::ToolRequestUserInputParams,
    ) -> impl Future<Output = Reply<proto::ToolRequestUserInputResponse>> + Send {
        let _ = params;
        std::future::ready(fail_closed::tool_user_input())
    }

    /// `mcpServer/elicitation/request`: an MCP server asks the user for input (a form or a URL
    /// to open). Default: decline.
    fn mcp_elicitation(
        &self,
        params: proto::McpServerElicitationRequestParams,
    ) -> impl Future<Output = Reply<proto::McpServerElicitationRequestResponse>> + Send {
        let _ = params;
        std::future::ready(fail_closed::mcp_elicitation())
    }

    /// `item/tool/call`: run a dynamic tool that this client registered. Default: JSON-RPC
    /// error -32601.
    fn dynamic_tool_call(
        &self,
        params: proto::DynamicToolCallParams,
    ) -> impl Future<Output = Reply<proto::DynamicToolCallResponse>> + Send {
        let _ = params;
        std::future::ready(fail_closed::dynamic_tool_call())
    }

    /// `account/chatgptAuthTokens/refresh`: the runtime needs fresh ChatGPT tokens from a
    /// client that manages them. Default: JSON-RPC error -32601.
    fn chatgpt_tokens_refresh(
        &self,
        params: proto::ChatgptAuthTokensRefreshParams,
    ) -> impl Future<Output = Reply<proto::ChatgptAuthTokensRefreshResponse>> + Send {
        let _ = params;
        std::future::ready(fail_closed::chatgpt_tokens_refresh())
    }

    /// `attestation/generate`: a fresh client attestation token. Default: JSON-RPC error -32601.
    fn attestation(
        &self,
        params: proto::AttestationGenerateParams,
    ) -> impl Future<Output = Reply<proto::AttestationGenerateResponse>> + Send {
        let _ = params;
        std::future::ready(fail_closed::attestation())
    }

    /// `applyPatchApproval` (legacy API): may the agent apply this patch? Default: denied.
    fn apply_patch_approval(
        &self,
        params: proto::ApplyPatchApprovalParams,
    ) -> impl Future<Output = Reply<proto::ApplyPatchApprovalResponse>> + Send {
        let _ = params;
        std::future::ready(fail_closed::apply_patch_approval())
    }

    /// `execCommandApproval` (legacy API): may the agent run this command? Default: denied.
    fn exec_command_approval(
        &self,
        params: proto::ExecCommandApprovalParams,
    ) -> impl Future<Output = Reply<proto::ExecCommandApprovalResponse>> + Send {
        let _ = params;
        std::future::ready(fail_closed::exec_command_approval())
    }

    /// A request of a method this SDK does not know, or of a known method whose params did not
    /// fit the schema. Answer with raw JSON. Default: [`decline_reply`] (a decline for the
    /// approval kinds, -32601 otherwise).
    fn unknown_request(
        &self,
        method: String,
        params: Value,
    ) -> impl Future<Output = ServerRequestReply> + Send {
        let _ = params;
        std::future::ready(decline_reply(&method))
    }
}

/// Invokes `$callback!` with the table of the ten typed kinds:
/// `method, builder method, ServerRequest variant, params type, response type, wire method`.
macro_rules! with_kinds {
    ($callback:ident) => {
        $callback! {
            command_approval, on_command_approval, ItemCommandExecutionRequestApproval,
                CommandExecutionRequestApprovalParams, CommandExecutionRequestApprovalResponse,
                "item/commandExecution/requestApproval";
            file_change_approval, on_file_change_approval, ItemFileChangeRequestApproval,
                FileChangeRequestApprovalParams, FileChangeRequestApprovalResponse,
                "item/fileChange/requestApproval";
            permissions_approval, on_permissions_approval, ItemPermissionsRequestApproval,
                PermissionsRequestApprovalParams, PermissionsRequestApprovalResponse,
                "item/permissions/requestApproval";
            tool_user_input, on_tool_user_input, ItemToolRequestUserInput,
                ToolRequestUserInputParams, ToolRequestUserInputResponse,
                "item/tool/requestUserInput";
            mcp_elicitation, on_mcp_elicitation, McpServerElicitationRequest,
                McpServerElicitationRequestParams, McpServerElicitationRequestResponse,
                "mcpServer/elicitation/request";
            dynamic_tool_call, on_dynamic_tool_call, ItemToolCall,
                DynamicToolCallParams, DynamicToolCallResponse,
                "item/tool/call";
            chatgpt_tokens_refresh, on_chatgpt_tokens_refresh, AccountChatgptAuthTokensRefresh,
                ChatgptAuthTokensRefreshParams, ChatgptAuthTokensRefreshResponse,
                "account/chatgptAuthTokens/refresh";
            attestation, on_attestation, AttestationGenerate,
                AttestationGenerateParams, AttestationGenerateResponse,
                "attestation/generate";
            apply_patch_approval, on_apply_patch_approval, ApplyPatchApproval,
                ApplyPatchApprovalParams, ApplyPatchApprovalResponse,
                "applyPatchApproval";
            exec_command_approval, on_exec_command_approval, ExecCommandApproval,
                ExecCommandApprovalParams, ExecCommandApprovalResponse,
                "execCommandApproval";
        }
    };
}

fn encode<T: serde::Serialize>(method: &str, reply: Reply<T>) -> ServerRequestReply {
    let value = reply?;
    serde_json::to_value(value).map_err(|e| {
        RpcError::new(
            ErrorCode::INTERNAL_ERROR,
            format!("client answer to {method} could not be encoded: {e}"),
        )
    })
}

// ---------------------------------------------------------------------------------------------
// Adapter to the low-level trait.

/// Adapts a typed [`RequestHandler`] to the low-level [`ServerRequestHandler`] (what the
/// connection calls): decodes nothing itself (the connection already did), dispatches by kind and
/// encodes the typed answer. Also the way to put a typed handler behind
/// `Arc<dyn ServerRequestHandler>`.
pub struct TypedHandler<H> {
    inner: Arc<H>,
}

impl<H> fmt::Debug for TypedHandler<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TypedHandler")
            .field("handler", &std::any::type_name::<H>())
            .finish()
    }
}

impl<H: RequestHandler> TypedHandler<H> {
    /// Wraps a typed handler.
    pub fn new(handler: H) -> Self {
        Self {
            inner: Arc::new(handler),
        }
    }

    /// Answers one request as JSON (what is sent back), for tests and custom dispatchers.
    pub fn reply(&self, request: ServerRequest) -> BoxFuture<'static, ServerRequestReply> {
        let handler = Arc::clone(&self.inner);
        macro_rules! dispatch {
            ($($name:ident, $on:ident, $variant:ident, $params:ident, $response:ident, $wire:literal;)*) => {
                match request {
                    $(ServerRequest::$variant(params) => Box::pin(async move {
                        encode($wire, handler.$name(params).await)
                    }),)*
                    ServerRequest::Unknown { method, params } => {
                        Box::pin(async move { handler.unknown_request(method, params).await })
                    }
                    // The experimental surface's server requests have no typed method here;
                    // they reach the handler as the unknown requests they were before.
                    #[cfg(feature = "experimental")]
                    other => {
                        let method = other.method().to_string();
                        let params = match serde_json::to_value(&other) {
                            Ok(serde_json::Value::Object(mut message)) => {
                                message.remove("params").unwrap_or_default()
                            }
                            _ => serde_json::Value::Null,
                        };
                        Box::pin(async move { handler.unknown_request(method, params).await })
                    }
                }
            };
        }
        with_kinds!(dispatch)
    }
}

impl<H: RequestHandler> ServerRequestHandler for TypedHandler<H> {
    fn handle(&self, request: ServerRequest) -> BoxFuture<'static, ServerRequestReply> {
        self.reply(request)
    }
}

/// Shared handlers: an `Arc<H>` answers like `H`.
impl<H: RequestHandler> RequestHandler for Arc<H> {
    fn command_approval(
        &self,
        params: proto::CommandExecutionRequestApprovalParams,
    ) -> impl Future<Output = Reply<proto::CommandExecutionRequestApprovalResponse>> + Send {
        (**self).command_approval(params)
    }
    fn file_change_approval(
        &self,
        params: proto::FileChangeRequestApprovalParams,
    ) -> impl Future<Output = Reply<proto::FileChangeRequestApprovalResponse>> + Send {
        (**self).file_change_approval(params)
    }
    fn permissions_approval(
        &self,
        params: proto::PermissionsRequestApprovalParams,
    ) -> impl Future<Output = Reply<proto::PermissionsRequestApprovalResponse>> + Send {
        (**self).permissions_approval(params)
    }
    fn tool_user_input(
        &self,
        params: proto::ToolRequestUserInputParams,
    ) -> impl Future<Output = Reply<proto::ToolRequestUserInputResponse>> + Send {
        (**self).tool_user_input(params)
    }
    fn mcp_elicitation(
        &self,
        params: proto::McpServerElicitationRequestParams,
    ) -> impl Future<Output = Reply<proto::McpServerElicitationRequestResponse>> + Send {
        (**self).mcp_elicitation(params)
    }
    fn dynamic_tool_call(
        &self,
        params: proto::DynamicToolCallParams,
    ) -> impl Future<Output = Reply<proto::DynamicToolCallResponse>> + Send {
        (**self).dynamic_tool_call(params)
    }
    fn chatgpt_tokens_refresh(
        &self,
        params: proto::ChatgptAuthTokensRefreshParams,
    ) -> impl Future<Output = Reply<proto::ChatgptAuthTokensRefreshResponse>> + Send {
        (**self).chatgpt_tokens_refresh(params)
    }
    fn attestation(
        &self,
        params: proto::AttestationGenerateParams,
    ) -> impl Future<Output = Reply<proto::AttestationGenerateResponse>> + Send {
        (**self).attestation(params)
    }
    fn apply_patch_approval(
        &self,
        params: proto::ApplyPatchApprovalParams,
    ) -> impl Future<Output = Reply<proto::ApplyPatchApprovalResponse>> + Send {
        (**self).apply_patch_approval(params)
    }
    fn exec_command_approval(
        &self,
        params: proto::ExecCommandApprovalParams,
    ) -> impl Future<Output = Reply<proto::ExecCommandApprovalResponse>> + Send {
        (**self).exec_command_approval(params)
    }
    fn unknown_request(
        &self,
        method: String,
        params: Value,
    ) -> impl Future<Output = ServerRequestReply> + Send {
        (**self).unknown_request(method, params)
    }
}

// ---------------------------------------------------------------------------------------------
// Ready-made policies.

/// The default: declines approvals (commands, file changes, legacy kinds, MCP elicitations;
/// grants no extra permissions) and answers every other kind with JSON-RPC -32601.
impl RequestHandler for DeclineAll {}

/// Accepts every approval: commands and file changes (`accept`), the legacy kinds (`approved`),
/// and extra permissions (granted as requested, for the turn). Everything else is answered as by
/// [`DeclineAll`] (MCP elicitations declined, -32601 for the rest).
///
/// This is what the official SDK does implicitly; here it is an explicit opt-in. Prefer a
/// handler that looks at what it approves.
#[derive(Clone, Copy, Debug, Default)]
pub struct AcceptAll;

impl RequestHandler for AcceptAll {
    async fn command_approval(
        &self,
        _params: proto::CommandExecutionRequestApprovalParams,
    ) -> Reply<proto::CommandExecutionRequestApprovalResponse> {
        Ok(proto::CommandExecutionRequestApprovalResponse {
            decision: proto::CommandExecutionApprovalDecision::Accept,
            extra: Default::default(),
        })
    }
    async fn file_change_approval(
        &self,
        _params: proto::FileChangeRequestApprovalParams,
    ) -> Reply<proto::FileChangeRequestApprovalResponse> {
        Ok(proto::FileChangeRequestApprovalResponse {
            decision: proto::FileChangeApprovalDecision::Accept,
            extra: Default::default(),
        })
    }
    async fn permissions_approval(
        &self,
        params: proto::PermissionsRequestApprovalParams,
    ) -> Reply<proto::PermissionsRequestApprovalResponse> {
        Ok(proto::PermissionsRequestApprovalResponse {
            permissions: proto::GrantedPermissionProfile {
                file_system: params.permissions.file_system,
                network: params.permissions.network,
                extra: Default::default(),
            },
            scope: Some(proto::PermissionGrantScope::Turn),
            strict_auto_review: None,
            extra: Default::default(),
        })
    }
    async fn apply_patch_approval(
        &self,
        _params: proto::ApplyPatchApprovalParams,
    ) -> Reply<proto::ApplyPatchApprovalResponse> {
        Ok(proto::ApplyPatchApprovalResponse {
            decision: proto::ReviewDecision::Approved,
            extra: Default::default(),
        })
    }
    async fn exec_command_approval(
        &self,
        _params: proto::ExecCommandApprovalParams,
    ) -> Reply<proto::ExecCommandApprovalResponse> {
        Ok(proto::ExecCommandApprovalResponse {
            decision: proto::ReviewDecision::Approved,
            extra: Default::default(),
        })
    }
}

/// Gives a handler a time limit per request: when `handler` has not answered within `limit`, the
/// request is answered by `fallback` instead (for example [`DeclineAll`]), and the slow answer is
/// dropped.
///
/// This differs from [`AsyncCodex::set_server_request_timeout`](crate::AsyncCodex::set_server_request_timeout),
/// which answers late requests with a JSON-RPC error: here the runtime gets a proper decision.
/// An async handler is cancelled at the deadline; a [`Blocking`] one cannot be interrupted and
/// finishes on its thread, but its late answer is dropped.
#[derive(Debug)]
pub struct WithDeadline<H, F> {
    handler: H,
    limit: Duration,
    fallback: F,
}

impl<H: RequestHandler, F: RequestHandler> WithDeadline<H, F> {
    /// Wraps `handler`; `fallback` answers whatever `handler` does not answer within `limit`.
    pub fn new(handler: H, limit: Duration, fallback: F) -> Self {
        Self {
            handler,
            limit,
            fallback,
        }
    }
}

macro_rules! deadline_impl {
    ($($name:ident, $on:ident, $variant:ident, $params:ident, $response:ident, $wire:literal;)*) => {
        impl<H: RequestHandler, F: RequestHandler> RequestHandler for WithDeadline<H, F> {
            $(
                async fn $name(&self, params: proto::$params) -> Reply<proto::$response> {
                    let backup = params.clone();
                    match tokio::time::timeout(self.limit, self.handler.$name(params)).await {
                        Ok(reply) => reply,
                        Err(_) => {
                            tracing::warn!(method = $wire, limit = ?self.limit, "handler too slow; answering with the fallback");
                            self.fallback.$name(backup).await
                        }
                    }
                }
            )*
            async fn unknown_request(&self, method: String, params: Value) -> ServerRequestReply {
                let backup = (method.clone(), params.clone());
                match tokio::time::timeout(self.limit, self.handler.unknown_request(method, params)).await {
                    Ok(reply) => reply,
                    Err(_) => self.fallback.unknown_request(backup.0, backup.1).await,
                }
            }
        }
    };
}
with_kinds!(deadline_impl);

/// Calls a hook with every request and the answer given to it (after the wrapped handler
/// answered; a panic of the handler is turned into the same -32603 error the client would send,
/// and the hook sees that). For logs, metrics, or tests.
///
/// The hook runs on the handler's task; keep it quick.
pub struct Audited<H, A> {
    handler: H,
    audit: A,
}

impl<H, A> fmt::Debug for Audited<H, A>
where
    H: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Audited")
            .field("handler", &self.handler)
            .finish_non_exhaustive()
    }
}

impl<H, A> Audited<H, A>
where
    H: RequestHandler,
    A: Fn(&ServerRequest, &ServerRequestReply) + Send + Sync + 'static,
{
    /// Wraps `handler`; `audit(request, answer)` runs once per request.
    pub fn new(handler: H, audit: A) -> Self {
        Self { handler, audit }
    }
}

macro_rules! audited_impl {
    ($($name:ident, $on:ident, $variant:ident, $params:ident, $response:ident, $wire:literal;)*) => {
        impl<H, A> RequestHandler for Audited<H, A>
        where
            H: RequestHandler,
            A: Fn(&ServerRequest, &ServerRequestReply) + Send + Sync + 'static,
        {
            $(
                async fn $name(&self, params: proto::$params) -> Reply<proto::$response> {
                    let request = ServerRequest::$variant(params.clone());
                    let reply = AssertUnwindSafe(self.handler.$name(params))
                        .catch_unwind()
                        .await
                        .unwrap_or_else(|_| Err(panicked($wire)));
                    let sent = match &reply {
                        Ok(value) => encode($wire, Ok(value)),
                        Err(error) => Err(error.clone()),
                    };
                    (self.audit)(&request, &sent);
                    reply
                }
            )*
            async fn unknown_request(&self, method: String, params: Value) -> ServerRequestReply {
                let request = ServerRequest::Unknown { method: method.clone(), params: params.clone() };
                let reply = AssertUnwindSafe(self.handler.unknown_request(method.clone(), params))
                    .catch_unwind()
                    .await
                    .unwrap_or_else(|_| Err(panicked(&method)));
                (self.audit)(&request, &reply);
                reply
            }
        }
    };
}
with_kinds!(audited_impl);

// ---------------------------------------------------------------------------------------------
// Closures.

type KindFn<P, R> = Arc<dyn Fn(P) -> BoxFuture<'static, Reply<R>> + Send + Sync>;

macro_rules! handlers_struct {
    ($($name:ident, $on:ident, $variant:ident, $params:ident, $response:ident, $wire:literal;)*) => {
        /// A handler made of async closures, one per kind you care about; the other kinds get
        /// the fail-closed defaults of [`RequestHandler`].
        ///
        /// ```
        /// use openai_codex::approval::Handlers;
        /// use openai_codex::types::{FileChangeApprovalDecision, FileChangeRequestApprovalResponse};
        ///
        /// let handler = Handlers::new().on_file_change_approval(|_params| async {
        ///     Ok(FileChangeRequestApprovalResponse {
        ///         decision: FileChangeApprovalDecision::Accept,
        ///         extra: Default::default(),
        ///     })
        /// });
        /// # let _ = handler;
        /// ```
        ///
        /// For synchronous closures wrap them in [`blocking_fn`].
        #[derive(Clone, Default)]
        #[must_use]
        pub struct Handlers {
            $($name: Option<KindFn<proto::$params, proto::$response>>,)*
            unknown: Option<Arc<dyn Fn(String, Value) -> BoxFuture<'static, ServerRequestReply> + Send + Sync>>,
        }

        impl fmt::Debug for Handlers {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut set = Vec::new();
                $(if self.$name.is_some() { set.push($wire); })*
                if self.unknown.is_some() { set.push("unknown"); }
                f.debug_struct("Handlers").field("handled", &set).finish()
            }
        }

        impl Handlers {
            /// No closures yet: every kind gets its fail-closed default.
            pub fn new() -> Self {
                Self::default()
            }

            $(
                #[doc = concat!("Answers `", $wire, "` with `f(params).await`.")]
                pub fn $on<F, Fut>(mut self, f: F) -> Self
                where
                    F: Fn(proto::$params) -> Fut + Send + Sync + 'static,
                    Fut: Future<Output = Reply<proto::$response>> + Send + 'static,
                {
                    self.$name = Some(Arc::new(move |params| Box::pin(f(params))));
                    self
                }
            )*

            /// Answers requests of unknown methods (and known ones whose params did not fit the
            /// schema) with `f(method, params).await`.
            pub fn on_unknown_request<F, Fut>(mut self, f: F) -> Self
            where
                F: Fn(String, Value) -> Fut + Send + Sync + 'static,
                Fut: Future<Output = ServerRequestReply> + Send + 'static,
            {
                self.unknown = Some(Arc::new(move |method, params| Box::pin(f(method, params))));
                self
            }
        }

        impl RequestHandler for Handlers {
            $(
                async fn $name(&self, params: proto::$params) -> Reply<proto::$response> {
                    match &self.$name {
                        Some(f) => f(params).await,
                        None => fail_closed::$name(),
                    }
                }
            )*
            async fn unknown_request(&self, method: String, params: Value) -> ServerRequestReply {
                match &self.unknown {
                    Some(f) => f(method, params).await,
                    None => decline_reply(&method),
                }
            }
        }
    };
}
with_kinds!(handlers_struct);

/// Turns a synchronous closure into the async form [`Handlers`] takes; it runs on tokio's
/// blocking pool (`spawn_blocking`), so it may block (prompt a person, wait on a channel). A
/// panic becomes a -32603 answer.
///
/// ```
/// use openai_codex::approval::{blocking_fn, Handlers};
/// use openai_codex::types::{CommandExecutionApprovalDecision, CommandExecutionRequestApprovalResponse};
///
/// let handler = Handlers::new().on_command_approval(blocking_fn(|_params| {
///     // e.g. read a y/n answer from the terminal here
///     Ok(CommandExecutionRequestApprovalResponse {
///         decision: CommandExecutionApprovalDecision::Decline,
///         extra: Default::default(),
///     })
/// }));
/// # let _ = handler;
/// ```
pub fn blocking_fn<P, R, F>(f: F) -> impl Fn(P) -> BoxFuture<'static, Reply<R>> + Send + Sync
where
    F: Fn(P) -> Reply<R> + Send + Sync + 'static,
    P: Send + 'static,
    R: Send + 'static,
{
    let f = Arc::new(f);
    move |params| {
        let f = Arc::clone(&f);
        Box::pin(async move {
            tokio::task::spawn_blocking(move || f(params))
                .await
                .unwrap_or_else(|_| {
                    Err(RpcError::new(
                        ErrorCode::INTERNAL_ERROR,
                        "client handler panicked",
                    ))
                })
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Blocking handlers.

/// [`RequestHandler`] with plain synchronous methods, for code that blocks (a terminal prompt,
/// a GUI dialog, the blocking `Codex` client). Install it wrapped in [`Blocking`], which runs
/// each call on tokio's blocking pool. Same kinds, same fail-closed defaults.
pub trait BlockingRequestHandler: Send + Sync + 'static {
    /// See [`RequestHandler::command_approval`].
    fn command_approval(
        &self,
        params: proto::CommandExecutionRequestApprovalParams,
    ) -> Reply<proto::CommandExecutionRequestApprovalResponse> {
        let _ = params;
        fail_closed::command_approval()
    }
    /// See [`RequestHandler::file_change_approval`].
    fn file_change_approval(
        &self,
        params: proto::FileChangeRequestApprovalParams,
    ) -> Reply<proto::FileChangeRequestApprovalResponse> {
        let _ = params;
        fail_closed::file_change_approval()
    }
    /// See [`RequestHandler::permissions_approval`].
    fn permissions_approval(
        &self,
        params: proto::PermissionsRequestApprovalParams,
    ) -> Reply<proto::PermissionsRequestApprovalResponse> {
        let _ = params;
        fail_closed::permissions_approval()
    }
    /// See [`RequestHandler::tool_user_input`].
    fn tool_user_input(
        &self,
        params: proto::ToolRequestUserInputParams,
    ) -> Reply<proto::ToolRequestUserInputResponse> {
        let _ = params;
        fail_closed::tool_user_input()
    }
    /// See [`RequestHandler::mcp_elicitation`].
    fn mcp_elicitation(
        &self,
        params: proto::McpServerElicitationRequestParams,
    ) -> Reply<proto::McpServerElicitationRequestResponse> {
        let _ = params;
        fail_closed::mcp_elicitation()
    }
    /// See [`RequestHandler::dynamic_tool_call`].
    fn dynamic_tool_call(
        &self,
        params: proto::DynamicToolCallParams,
    ) -> Reply<proto::DynamicToolCallResponse> {
        let _ = params;
        fail_closed::dynamic_tool_call()
    }
    /// See [`RequestHandler::chatgpt_tokens_refresh`].
    fn chatgpt_tokens_refresh(
        &self,
        params: proto::ChatgptAuthTokensRefreshParams,
    ) -> Reply<proto::ChatgptAuthTokensRefreshResponse> {
        let _ = params;
        fail_closed::chatgpt_tokens_refresh()
    }
    /// See [`RequestHandler::attestation`].
    fn attestation(
        &self,
        params: proto::AttestationGenerateParams,
    ) -> Reply<proto::AttestationGenerateResponse> {
        let _ = params;
        fail_closed::attestation()
    }
    /// See [`RequestHandler::apply_patch_approval`].
    fn apply_patch_approval(
        &self,
        params: proto::ApplyPatchApprovalParams,
    ) -> Reply<proto::ApplyPatchApprovalResponse> {
        let _ = params;
        fail_closed::apply_patch_approval()
    }
    /// See [`RequestHandler::exec_command_approval`].
    fn exec_command_approval(
        &self,
        params: proto::ExecCommandApprovalParams,
    ) -> Reply<proto::ExecCommandApprovalResponse> {
        let _ = params;
        fail_closed::exec_command_approval()
    }
    /// See [`RequestHandler::unknown_request`].
    fn unknown_request(&self, method: String, params: Value) -> ServerRequestReply {
        let _ = params;
        decline_reply(&method)
    }
}

/// Runs a [`BlockingRequestHandler`] as a [`RequestHandler`]: each call goes to tokio's
/// blocking pool. A panic becomes a -32603 answer.
pub struct Blocking<H> {
    inner: Arc<H>,
}

impl<H> fmt::Debug for Blocking<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Blocking")
            .field("handler", &std::any::type_name::<H>())
            .finish()
    }
}

impl<H: BlockingRequestHandler> Blocking<H> {
    /// Wraps a blocking handler.
    pub fn new(handler: H) -> Self {
        Self {
            inner: Arc::new(handler),
        }
    }
}

async fn on_blocking_pool<T: Send + 'static>(
    method: &str,
    f: impl FnOnce() -> Result<T, RpcError> + Send + 'static,
) -> Result<T, RpcError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|_| Err(panicked(method)))
}

macro_rules! blocking_impl {
    ($($name:ident, $on:ident, $variant:ident, $params:ident, $response:ident, $wire:literal;)*) => {
        impl<H: BlockingRequestHandler> RequestHandler for Blocking<H> {
            $(
                async fn $name(&self, params: proto::$params) -> Reply<proto::$response> {
                    let inner = Arc::clone(&self.inner);
                    on_blocking_pool($wire, move || inner.$name(params)).await
                }
            )*
            async fn unknown_request(&self, method: String, params: Value) -> ServerRequestReply {
                let inner = Arc::clone(&self.inner);
                let name = method.clone();
                on_blocking_pool(&name, move || inner.unknown_request(method, params)).await
            }
        }
    };
}
with_kinds!(blocking_impl);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample_params() -> Vec<ServerRequest> {
        let raw = |v: Value| serde_json::value::to_raw_value(&v).unwrap();
        let t = json!({"threadId": "t", "turnId": "u", "itemId": "i", "startedAtMs": 1});
        let mut out = Vec::new();
        for (method, params) in [
            ("item/commandExecution/requestApproval", t.clone()),
            ("item/fileChange/requestApproval", t.clone()),
            (
                "item/permissions/requestApproval",
                json!({"threadId": "t", "turnId": "u", "itemId": "i", "startedAtMs": 1, "cwd": "/",
                       "permissions": {}}),
            ),
            (
                "item/tool/requestUserInput",
                json!({"threadId": "t", "turnId": "u", "itemId": "i", "isBlocking": true, "questions": []}),
            ),
            (
                "mcpServer/elicitation/request",
                json!({"threadId": "t", "serverName": "s", "mode": "url", "message": "m",
                       "url": "http://127.0.0.1/", "elicitationId": "e"}),
            ),
            (
                "item/tool/call",
                json!({"threadId": "t", "turnId": "u", "callId": "c", "tool": "x", "arguments": {}}),
            ),
            (
                "account/chatgptAuthTokens/refresh",
                json!({"reason": "unauthorized"}),
            ),
            ("attestation/generate", json!({})),
            (
                "applyPatchApproval",
                json!({"conversationId": "t", "callId": "c", "fileChanges": {}}),
            ),
            (
                "execCommandApproval",
                json!({"conversationId": "t", "callId": "c", "command": ["ls"], "cwd": "/", "parsedCmd": []}),
            ),
            ("x/unknown", json!({})),
        ] {
            let request = ServerRequest::decode(method, &raw(params)).unwrap();
            assert_eq!(
                matches!(request, ServerRequest::Unknown { .. }),
                method == "x/unknown",
                "{method} decodes"
            );
            out.push(request);
        }
        out
    }

    #[tokio::test]
    async fn typed_defaults_match_the_low_level_default_exactly() {
        let typed = TypedHandler::new(DeclineAll);
        for request in sample_params() {
            let method = request.method().to_string();
            let low = ServerRequestHandler::handle(&DeclineAll, request.clone()).await;
            let high = typed.reply(request).await;
            assert_eq!(
                serde_json::to_value(low.as_ref().ok()).unwrap(),
                serde_json::to_value(high.as_ref().ok()).unwrap(),
                "{method}"
            );
            assert_eq!(
                low.err().map(|e| e.code),
                high.err().map(|e| e.code),
                "{method}"
            );
        }
    }

    #[tokio::test]
    async fn accept_all_accepts_only_approvals() {
        let typed = TypedHandler::new(AcceptAll);
        let replies: Vec<ServerRequestReply> =
            futures::future::join_all(sample_params().into_iter().map(|r| typed.reply(r))).await;
        assert_eq!(replies[0].as_ref().unwrap(), &json!({"decision": "accept"}));
        assert_eq!(replies[1].as_ref().unwrap(), &json!({"decision": "accept"}));
        assert_eq!(
            replies[2].as_ref().unwrap(),
            &json!({"permissions": {}, "scope": "turn"})
        );
        assert_eq!(
            replies[3].as_ref().unwrap_err().code,
            ErrorCode::METHOD_NOT_FOUND
        );
        assert_eq!(replies[4].as_ref().unwrap(), &json!({"action": "decline"}));
        for n in [5, 6, 7, 10] {
            assert_eq!(
                replies[n].as_ref().unwrap_err().code,
                ErrorCode::METHOD_NOT_FOUND
            );
        }
        assert_eq!(
            replies[8].as_ref().unwrap(),
            &json!({"decision": "approved"})
        );
        assert_eq!(
            replies[9].as_ref().unwrap(),
            &json!({"decision": "approved"})
        );
    }

    #[tokio::test(start_paused = true)]
    async fn deadline_answers_with_the_fallback() {
        let slow = Handlers::new().on_command_approval(|_| async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(proto::CommandExecutionRequestApprovalResponse {
                decision: proto::CommandExecutionApprovalDecision::Accept,
                extra: Default::default(),
            })
        });
        let typed = TypedHandler::new(WithDeadline::new(slow, Duration::from_secs(1), DeclineAll));
        let request = sample_params().remove(0);
        let reply = typed.reply(request).await.unwrap();
        assert_eq!(reply, json!({"decision": "decline"}));
    }

    #[tokio::test]
    async fn blocking_handlers_run_and_panics_become_errors() {
        struct Mixed;
        impl BlockingRequestHandler for Mixed {
            fn command_approval(
                &self,
                _: proto::CommandExecutionRequestApprovalParams,
            ) -> Reply<proto::CommandExecutionRequestApprovalResponse> {
                std::thread::sleep(Duration::from_millis(5));
                Ok(proto::CommandExecutionRequestApprovalResponse {
                    decision: proto::CommandExecutionApprovalDecision::AcceptForSession,
                    extra: Default::default(),
                })
            }
            fn file_change_approval(
                &self,
                _: proto::FileChangeRequestApprovalParams,
            ) -> Reply<proto::FileChangeRequestApprovalResponse> {
                panic!("bug")
            }
        }
        let typed = TypedHandler::new(Blocking::new(Mixed));
        let mut requests = sample_params();
        let first = typed.reply(requests.remove(0)).await.unwrap();
        assert_eq!(first, json!({"decision": "acceptForSession"}));
        let second = typed.reply(requests.remove(0)).await.unwrap_err();
        assert_eq!(second.code, ErrorCode::INTERNAL_ERROR);
        let third = typed.reply(requests.remove(0)).await.unwrap();
        assert_eq!(third, json!({"permissions": {}, "scope": "turn"}));
    }
}
