//! `AsyncCodex`: the client. It owns the runtime process and the connection to it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::stream::BoxStream;
use openai_codex_protocol::ClientRequest;
use serde_json::Value;

use openai_codex_protocol::{self as proto, requests};

use crate::approval::{RequestHandler, TypedHandler};
use crate::config::CodexConfig;
use crate::error::{Error, Result};
use crate::handler::{DeclineAll, ServerRequestHandler};
use crate::login::{AsyncChatgptLoginHandle, AsyncDeviceCodeLoginHandle};
use crate::metadata::Metadata;
use crate::router::GlobalEvent;
use crate::rpc::Connection;
use crate::thread::{
    AsyncThread, ThreadForkOptions, ThreadListOptions, ThreadResumeOptions, ThreadStartOptions,
};
use crate::transport::Transport;

/// The async Codex client.
///
/// `AsyncCodex::new(config).await` starts the runtime **eagerly**: when it returns, the process
/// runs and the `initialize` handshake is done, so configuration mistakes surface at once. The
/// client is a cheap handle (`Clone`); threads and turn handles keep it alive. The runtime stops
/// on [`AsyncCodex::close`] or when the last handle is dropped. `close()` is terminal: the client
/// never silently starts a new runtime.
#[derive(Clone, Debug)]
pub struct AsyncCodex {
    pub(crate) inner: Arc<ClientInner>,
}

#[derive(Debug)]
pub(crate) struct ClientInner {
    conn: std::sync::RwLock<Connection>,
    /// How many times the connection was re-opened after a loss.
    reconnects: std::sync::atomic::AtomicU64,
    pub(crate) config: CodexConfig,
    metadata: Metadata,
    closed: AtomicBool,
    /// Set once the runtime has been shut down; a second `close()` waits on it rather than
    /// returning while the first one's shutdown is still running.
    shut_down: tokio::sync::OnceCell<()>,
    /// Per-thread locks serializing `turn/start` (and goal starts) on one thread.
    pub(crate) turn_locks: crate::thread::TurnLocks,
    /// Set when a reconnect found a runtime whose version the policy refuses: reconnecting
    /// stopped, and every call gets this typed error instead of the bare loss.
    pub(crate) refused: std::sync::OnceLock<crate::version::Mismatch>,
}

impl AsyncCodex {
    /// Starts the runtime resolved from `config` (installing the pinned one first when none is
    /// found, see [`CodexConfig::resolve_or_install`]), runs the `initialize` handshake and checks
    /// the runtime's version against [`CodexConfig::version_policy`].
    ///
    /// # Errors
    /// [`Error::RuntimeNotFound`] / [`Error::RuntimeInstall`] / [`Error::Spawn`] when the runtime
    /// cannot start; [`Error::RuntimeVersionMismatch`] when its version does not fit the policy; a
    /// [`Error::TransportClosed`] carrying the runtime's stderr when it exits during start-up;
    /// [`Error::Timeout`] when it does not answer `initialize` within the request timeout.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use openai_codex::{AsyncCodex, CodexConfig};
    ///
    /// # async fn example() -> openai_codex::Result<()> {
    /// let codex = AsyncCodex::new(CodexConfig::default()).await?;
    /// println!("runtime {}", codex.metadata().server_version);
    /// codex.close().await;
    /// # Ok(()) }
    /// ```
    pub async fn new(config: CodexConfig) -> Result<Self> {
        let transport = match &config.endpoint {
            Some(endpoint) => crate::daemon::open(endpoint, &config).await?,
            None => {
                // Resolving may download the runtime (minutes on a slow line): keep it off async
                // threads.
                let spawn_config = config.clone();
                tokio::task::spawn_blocking(move || Transport::spawn_stdio(&spawn_config))
                    .await
                    .map_err(|e| Error::Protocol(format!("runtime start-up task failed: {e}")))??
            }
        };
        Self::with_transport(config, transport).await
    }

    /// Connects to a runtime that is already running (`codex app-server --listen ws://...` or
    /// `unix://...`) and runs the `initialize` handshake, as [`AsyncCodex::new`] does for a child
    /// process. `endpoint` is an [`Endpoint`](crate::Endpoint) or a URL (`unix:///path`,
    /// `ws://host:port`, `wss://host:port`). Closing the client closes the connection; the
    /// runtime keeps running.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a malformed URL; [`Error::InsecureEndpoint`] when credentials
    /// would travel in the clear; [`Error::Connect`] (refused, no socket, timeout),
    /// [`Error::Tls`], [`Error::AuthRejected`] (with the HTTP status and the runtime's reason) or
    /// [`Error::Handshake`] when the connection cannot be opened.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use openai_codex::{AsyncCodex, CodexConfig, Endpoint};
    ///
    /// # async fn example() -> openai_codex::Result<()> {
    /// let codex = AsyncCodex::connect("unix:///run/codex.sock", CodexConfig::default()).await?;
    /// codex.close().await;
    /// let token = std::fs::read_to_string("/run/secrets/codex-token")?;
    /// let endpoint = Endpoint::parse("ws://127.0.0.1:4500")?.capability_token(token);
    /// let codex = AsyncCodex::connect(endpoint, CodexConfig::default()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect(
        endpoint: impl crate::endpoint::IntoEndpoint,
        config: CodexConfig,
    ) -> Result<Self> {
        let endpoint = endpoint.into_endpoint()?;
        Self::new(config.endpoint(endpoint)).await
    }

    /// How many times the connection was re-opened after a loss (see
    /// [`CodexConfig::reconnect`]).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(codex: openai_codex::AsyncCodex) {
    /// println!("reconnected {} times", codex.reconnect_count());
    /// # }
    /// ```
    pub fn reconnect_count(&self) -> u64 {
        self.inner.reconnects.load(Ordering::SeqCst)
    }

    /// Waits until the client has a live connection again (after a loss, with reconnect on),
    /// for at most `timeout`. Returns at once when the connection is up.
    ///
    /// # Errors
    /// [`Error::TransportClosed`] with the last close reason when the connection is still down
    /// after `timeout`, or at once when the client was closed;
    /// [`Error::RuntimeVersionMismatch`] at once when reconnecting found a runtime whose version
    /// the policy refuses (reconnecting stops then, and every call gets that error too).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(codex: openai_codex::AsyncCodex) -> openai_codex::Result<()> {
    /// use std::time::Duration;
    /// use openai_codex::ThreadResumeOptions;
    ///
    /// codex.wait_connected(Duration::from_secs(30)).await?;
    /// let thread = codex.thread_resume("<thread id>", ThreadResumeOptions::default()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn wait_connected(&self, timeout: Duration) -> Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let reason = self.inner.conn().closed_reason();
            let Some(reason) = reason else { return Ok(()) };
            if let Some(refusal) = self.inner.refused.get() {
                return Err(refusal.to_error());
            }
            if self.inner.is_closing() || tokio::time::Instant::now() >= deadline {
                return Err(Error::TransportClosed(reason));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// How many turns are running on this client's runtime, as far as its notifications tell
    /// (started and not yet completed, whoever started them).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(codex: openai_codex::AsyncCodex) {
    /// println!("{} turns running", codex.running_turns());
    /// # }
    /// ```
    pub fn running_turns(&self) -> usize {
        self.inner.conn().shared.router.running_turns()
    }

    /// The endpoint this client is connected to, when it did not launch its runtime.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(codex: openai_codex::AsyncCodex) {
    /// if let Some(endpoint) = codex.endpoint() {
    ///     println!("connected to {endpoint}");
    /// }
    /// # }
    /// ```
    pub fn endpoint(&self) -> Option<&crate::endpoint::Endpoint> {
        self.inner.config.endpoint.as_ref()
    }

    /// Connects over an existing transport (an in-memory pair in tests, or a custom one).
    ///
    /// # Errors
    /// As [`AsyncCodex::new`], minus the spawning.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use openai_codex::{AsyncCodex, CodexConfig, transport::Transport};
    ///
    /// # async fn example() -> openai_codex::Result<()> {
    /// let config = CodexConfig::default();
    /// let transport = Transport::spawn_stdio(&config)?;
    /// let codex = AsyncCodex::with_transport(config, transport).await?;
    /// # Ok(()) }
    /// ```
    pub async fn with_transport(config: CodexConfig, transport: Transport) -> Result<Self> {
        let launched = transport.launched.clone();
        let conn = Connection::start(transport, Arc::new(DeclineAll), &config)?;
        let checked = crate::metadata::initialize(&conn, &config)
            .await
            .and_then(|mut metadata| {
                if let Some((path, source)) = launched {
                    metadata.binary = Some(path);
                    metadata.binary_source = Some(source);
                }
                match &config.endpoint {
                    Some(endpoint) => crate::version::check_endpoint(
                        config.version_policy,
                        &metadata.server_version,
                        &endpoint.to_string(),
                    )
                    .map_err(|refusal| refusal.to_error())?,
                    None => crate::version::check(
                        config.version_policy,
                        &metadata.server_version,
                        metadata.binary.as_deref(),
                        metadata.binary_source,
                    )?,
                }
                Ok(metadata)
            });
        let metadata = match checked {
            Ok(metadata) => metadata,
            Err(error) => {
                let grace = config.shutdown_grace;
                let conn2 = conn.clone();
                let _ = tokio::task::spawn_blocking(move || conn2.shutdown_blocking(grace)).await;
                return Err(error);
            }
        };
        let client = Self {
            inner: Arc::new(ClientInner {
                conn: std::sync::RwLock::new(conn),
                reconnects: std::sync::atomic::AtomicU64::new(0),
                config,
                metadata,
                closed: AtomicBool::new(false),
                shut_down: tokio::sync::OnceCell::new(),
                turn_locks: Default::default(),
                refused: std::sync::OnceLock::new(),
            }),
        };
        crate::reconnect::supervise(&client.inner);
        Ok(client)
    }

    /// The `initialize` response, with the runtime's own name and version.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(codex: openai_codex::AsyncCodex) -> openai_codex::Result<()> {
    /// let meta = codex.metadata();
    /// println!("{} {} (home {:?})", meta.server_name, meta.server_version, meta.codex_home);
    /// # Ok(()) }
    /// ```
    pub fn metadata(&self) -> &Metadata {
        &self.inner.metadata
    }

    /// The configuration this client was started with.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(codex: openai_codex::AsyncCodex) -> openai_codex::Result<()> {
    /// println!("request timeout: {:?}", codex.config().request_timeout);
    /// # Ok(()) }
    /// ```
    pub fn config(&self) -> &CodexConfig {
        &self.inner.config
    }

    /// The runtime's OS process id (when this client spawned it).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(codex: openai_codex::AsyncCodex) -> openai_codex::Result<()> {
    /// if let Some(pid) = codex.runtime_pid() {
    ///     println!("runtime pid {pid}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn runtime_pid(&self) -> Option<u32> {
        self.inner.conn().process_id()
    }

    /// How many lines from the runtime were not JSON-RPC messages (logged and skipped).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(codex: openai_codex::AsyncCodex) -> openai_codex::Result<()> {
    /// assert_eq!(codex.junk_lines(), 0);
    /// # Ok(()) }
    /// ```
    pub fn junk_lines(&self) -> u64 {
        self.inner.conn().junk_lines()
    }

    /// How many messages from the runtime were longer than
    /// [`CodexConfig::max_message_bytes`](crate::CodexConfig::max_message_bytes) and were
    /// skipped (logged; a reply among them failed its request with [`Error::MessageTooLarge`]).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(codex: openai_codex::AsyncCodex) -> openai_codex::Result<()> {
    /// assert_eq!(codex.oversized_messages(), 0);
    /// # Ok(()) }
    /// ```
    pub fn oversized_messages(&self) -> u64 {
        self.inner.conn().oversized_messages()
    }

    /// How many `turn/completed` notifications arrived for a turn that had already completed
    /// (a late duplicate or a replay). They are logged and never delivered: a turn's stream
    /// ends at its first completion and its result is built once.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(codex: openai_codex::AsyncCodex) -> openai_codex::Result<()> {
    /// assert_eq!(codex.duplicate_completions(), 0);
    /// # Ok(()) }
    /// ```
    pub fn duplicate_completions(&self) -> u64 {
        self.inner.conn().shared.router.duplicate_completions()
    }

    /// Whether the connection is closed (by [`AsyncCodex::close`] or because the runtime exited).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(codex: openai_codex::AsyncCodex) -> openai_codex::Result<()> {
    /// codex.close().await;
    /// assert!(codex.is_closed());
    /// # Ok(()) }
    /// ```
    pub fn is_closed(&self) -> bool {
        self.inner.conn().closed_reason().is_some()
    }

    /// Installs the handler for server-initiated requests (approvals, user input, ...),
    /// replacing the previous one. The default is [`DeclineAll`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(codex: openai_codex::AsyncCodex) -> openai_codex::Result<()> {
    /// use openai_codex::handler::decline_reply;
    ///
    /// // Log every server request, then answer it the fail-closed way.
    /// codex.set_server_request_handler(|request: openai_codex::types::ServerRequest| async move {
    ///     println!("runtime asks: {}", request.method());
    ///     decline_reply(request.method())
    /// });
    /// # Ok(()) }
    /// ```
    pub fn set_server_request_handler(&self, handler: impl ServerRequestHandler) {
        self.inner.conn().set_handler(Arc::new(handler));
    }

    /// Installs a typed handler for server-initiated requests (approvals, user input, tool
    /// calls, ...), replacing the previous one. The default is [`DeclineAll`]: approvals are
    /// declined, other kinds get a JSON-RPC error. See [`crate::approval`] for ready-made
    /// policies and ways to write one.
    ///
    /// ```no_run
    /// # async fn example(codex: openai_codex::AsyncCodex) {
    /// use openai_codex::approval::AcceptAll;
    /// codex.set_handler(AcceptAll); // explicit opt-in: run whatever the agent asks for
    /// # }
    /// ```
    pub fn set_handler(&self, handler: impl RequestHandler) {
        self.inner
            .conn()
            .set_handler(Arc::new(TypedHandler::new(handler)));
    }

    /// Installs a typed handler for the requests of one thread (those whose params carry this
    /// `threadId`, or `conversationId` for the legacy kinds). It takes precedence over the
    /// client's handler until [`AsyncCodex::clear_thread_handler`] (or the client closes).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(codex: openai_codex::AsyncCodex) -> openai_codex::Result<()> {
    /// use openai_codex::{AcceptAll, ApprovalMode, ThreadStartOptions};
    ///
    /// let thread = codex
    ///     .thread_start(ThreadStartOptions::default().approval_mode(ApprovalMode::Manual))
    ///     .await?;
    /// codex.set_thread_handler(thread.id(), AcceptAll); // this sandboxed thread only
    /// # Ok(()) }
    /// ```
    pub fn set_thread_handler(&self, thread_id: &str, handler: impl RequestHandler) {
        self.inner
            .conn()
            .set_thread_handler(thread_id, Some(Arc::new(TypedHandler::new(handler))));
    }

    /// Removes a thread's handler; its requests go to the client's handler again.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(codex: openai_codex::AsyncCodex) -> openai_codex::Result<()> {
    /// use openai_codex::AcceptAll;
    ///
    /// codex.set_thread_handler("<thread id>", AcceptAll);
    /// codex.clear_thread_handler("<thread id>"); // back to the client's handler
    /// # Ok(()) }
    /// ```
    pub fn clear_thread_handler(&self, thread_id: &str) {
        self.inner.conn().set_thread_handler(thread_id, None);
    }

    /// Bounds how long a handler may take; past it the request is answered with a JSON-RPC
    /// error. `None` (the default) lets handlers take as long as they need (a person may be
    /// deciding an approval).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(codex: openai_codex::AsyncCodex) -> openai_codex::Result<()> {
    /// use std::time::Duration;
    /// codex.set_server_request_timeout(Some(Duration::from_secs(60)));
    /// # Ok(()) }
    /// ```
    pub fn set_server_request_timeout(&self, timeout: Option<Duration>) {
        self.inner.conn().set_handler_timeout(timeout);
    }

    /// Global notifications: everything that belongs to no turn and no login (warnings,
    /// config warnings, deprecation notices, thread status and name changes, account updates,
    /// ...). Each call returns an independent subscriber that sees events from now on; a slow one
    /// gets [`GlobalEvent::Lagged`] rather than holding memory. Ends when the connection closes.
    ///
    /// The **first** subscriber also gets everything that arrived before it, oldest first: the
    /// runtime sends its start-up `configWarning`s during `initialize`, before anyone could have
    /// subscribed. At most [`crate::router::EARLY_GLOBAL_LIMIT`] events are kept for it (a
    /// [`GlobalEvent::Lagged`] marker counts the rest).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(codex: openai_codex::AsyncCodex) -> openai_codex::Result<()> {
    /// use futures::StreamExt;
    /// use openai_codex::GlobalEvent;
    ///
    /// let mut events = Box::pin(codex.events());
    /// while let Some(event) = events.next().await {
    ///     if let GlobalEvent::Notification(n) = event {
    ///         println!("{}", n.method());
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn events(&self) -> BoxStream<'static, GlobalEvent> {
        let subscription = self.inner.conn().shared.router.subscribe_global();
        Box::pin(futures::stream::unfold(
            subscription,
            |mut subscription| async move {
                let event = subscription.next().await?;
                Some((event, subscription))
            },
        ))
    }

    /// Sends a typed request (any of the generated client requests) and returns its typed
    /// response, with the client's default timeout.
    ///
    /// # Errors
    /// [`Error::JsonRpc`] when the runtime answers with an error, [`Error::Timeout`],
    /// [`Error::TransportClosed`], or [`Error::Decode`] when the response does not fit the type.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(codex: openai_codex::AsyncCodex) -> openai_codex::Result<()> {
    /// use openai_codex::types::{requests, ModelListParams};
    ///
    /// let models = codex.request::<requests::ModelList>(ModelListParams::default()).await?;
    /// println!("{} models", models.data.len());
    /// # Ok(()) }
    /// ```
    pub async fn request<M: ClientRequest>(&self, params: M::Params) -> Result<M::Response> {
        self.request_with_timeout::<M>(params, self.inner.config.request_timeout)
            .await
    }

    /// [`AsyncCodex::request`] with an explicit timeout.
    ///
    /// # Errors
    /// As [`AsyncCodex::request`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(codex: openai_codex::AsyncCodex) -> openai_codex::Result<()> {
    /// use std::time::Duration;
    /// use openai_codex::types::{requests, ModelListParams};
    ///
    /// let models = codex
    ///     .request_with_timeout::<requests::ModelList>(ModelListParams::default(), Duration::from_secs(5))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn request_with_timeout<M: ClientRequest>(
        &self,
        params: M::Params,
        timeout: Duration,
    ) -> Result<M::Response> {
        let result = self.inner.conn().request::<M>(&params, timeout).await;
        self.inner.explain(result)
    }

    /// Sends any request by method name with untyped params (`Value::Null` sends no params
    /// member) — the escape hatch for methods the generated tables do not know.
    ///
    /// # Errors
    /// As [`AsyncCodex::request`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(codex: openai_codex::AsyncCodex) -> openai_codex::Result<()> {
    /// let page = codex.request_raw("thread/list", serde_json::json!({"limit": 5})).await?;
    /// println!("{}", page["data"]);
    /// # Ok(()) }
    /// ```
    pub async fn request_raw(&self, method: &str, params: Value) -> Result<Value> {
        let raw = crate::rpc::encode_params(&params)?;
        let result = self
            .inner
            .conn()
            .request_raw(method, raw.as_deref(), self.inner.config.request_timeout)
            .await;
        let result = self.inner.explain(result)?;
        crate::rpc::decode(method, &result)
    }

    /// Sends a notification by method name (`Value::Null` sends no params member).
    ///
    /// # Errors
    /// [`Error::TransportClosed`] when the connection is closed.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(codex: openai_codex::AsyncCodex) -> openai_codex::Result<()> {
    /// codex.notify_raw("initialized", serde_json::Value::Null)?;
    /// # Ok(()) }
    /// ```
    pub fn notify_raw(&self, method: &str, params: Value) -> Result<()> {
        let raw = crate::rpc::encode_params(&params)?;
        self.inner
            .explain(self.inner.conn().notify_raw(method, raw.as_deref()))
    }

    pub(crate) async fn call<M: ClientRequest>(&self, params: &M::Params) -> Result<M::Response> {
        let result = self
            .inner
            .conn()
            .request::<M>(params, self.inner.config.request_timeout)
            .await;
        self.inner.explain(result)
    }

    /// Logs in with an OpenAI API key. Completes synchronously (no handle). The key is never
    /// logged, kept, or shown in errors by this SDK.
    ///
    /// # Errors
    /// [`Error::JsonRpc`] when the runtime refuses.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(codex: openai_codex::AsyncCodex) -> openai_codex::Result<()> {
    /// let key = std::env::var("OPENAI_API_KEY").expect("set OPENAI_API_KEY");
    /// codex.login_api_key(&key).await?;
    /// # Ok(()) }
    /// ```
    pub async fn login_api_key(&self, api_key: &str) -> Result<()> {
        let params = proto::LoginAccountParams::ApiKey(proto::ApiKeyLoginAccountParams {
            api_key: api_key.to_string(),
            extra: Default::default(),
        });
        self.call::<requests::AccountLoginStart>(&params)
            .await
            .map_err(|e| redact(e, api_key))?;
        Ok(())
    }

    /// Starts a ChatGPT browser login; open the handle's `auth_url`, then `wait()`.
    ///
    /// # Errors
    /// [`Error::JsonRpc`] when the runtime refuses; [`Error::Protocol`] for an unexpected reply.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(codex: openai_codex::AsyncCodex) -> openai_codex::Result<()> {
    /// let login = codex.login_chatgpt().await?;
    /// println!("open {}", login.auth_url);
    /// let done = login.wait().await?;
    /// println!("logged in: {}", done.success);
    /// # Ok(()) }
    /// ```
    pub async fn login_chatgpt(&self) -> Result<AsyncChatgptLoginHandle> {
        let params =
            proto::LoginAccountParams::Chatgpt(proto::ChatgptLoginAccountParams::default());
        match self.call::<requests::AccountLoginStart>(&params).await? {
            proto::LoginAccountResponse::Chatgpt(r) => Ok(AsyncChatgptLoginHandle::new(
                self.clone(),
                r.login_id,
                r.auth_url,
            )),
            other => Err(Error::Protocol(format!(
                "unexpected login response {other:?}"
            ))),
        }
    }

    /// Starts a ChatGPT device-code login; show the handle's `user_code` and
    /// `verification_url`, then `wait()`.
    ///
    /// # Errors
    /// [`Error::JsonRpc`] (typically -32603) when the device code cannot be requested, e.g.
    /// offline; [`Error::Protocol`] for an unexpected reply.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(codex: openai_codex::AsyncCodex) -> openai_codex::Result<()> {
    /// let login = codex.login_chatgpt_device_code().await?;
    /// println!("go to {} and enter {}", login.verification_url, login.user_code);
    /// let done = login.wait().await?;
    /// # Ok(()) }
    /// ```
    pub async fn login_chatgpt_device_code(&self) -> Result<AsyncDeviceCodeLoginHandle> {
        let params = proto::LoginAccountParams::ChatgptDeviceCode(
            proto::ChatgptDeviceCodeLoginAccountParams {
                extra: Default::default(),
            },
        );
        match self.call::<requests::AccountLoginStart>(&params).await? {
            proto::LoginAccountResponse::ChatgptDeviceCode(r) => {
                Ok(AsyncDeviceCodeLoginHandle::new(
                    self.clone(),
                    r.login_id,
                    r.verification_url,
                    r.user_code,
                ))
            }
            other => Err(Error::Protocol(format!(
                "unexpected login response {other:?}"
            ))),
        }
    }

    /// The current account (`refresh_token` asks the runtime to refresh ChatGPT tokens first).
    ///
    /// # Errors
    /// [`Error::JsonRpc`] when the runtime refuses.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(codex: openai_codex::AsyncCodex) -> openai_codex::Result<()> {
    /// let status = codex.account(false).await?;
    /// match status.account {
    ///     Some(account) => println!("logged in: {account:?}"),
    ///     None => println!("not logged in"),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn account(&self, refresh_token: bool) -> Result<proto::GetAccountResponse> {
        let params = proto::GetAccountParams {
            refresh_token: Some(refresh_token),
            extra: Default::default(),
        };
        self.call::<requests::AccountRead>(&params).await
    }

    /// Logs out.
    ///
    /// # Errors
    /// [`Error::JsonRpc`] when the runtime refuses.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(codex: openai_codex::AsyncCodex) -> openai_codex::Result<()> {
    /// codex.logout().await?;
    /// assert!(codex.account(false).await?.account.is_none());
    /// # Ok(()) }
    /// ```
    pub async fn logout(&self) -> Result<()> {
        self.call::<requests::AccountLogout>(&()).await?;
        Ok(())
    }

    /// The models the runtime offers (the first page; see [`AsyncCodex::models_page`]).
    ///
    /// # Errors
    /// [`Error::JsonRpc`] when the runtime refuses.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(codex: openai_codex::AsyncCodex) -> openai_codex::Result<()> {
    /// for model in codex.models(false).await?.data {
    ///     println!("{}{}", model.model, if model.is_default { " (default)" } else { "" });
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn models(&self, include_hidden: bool) -> Result<proto::ModelListResponse> {
        self.models_page(include_hidden, None, None).await
    }

    /// One page of models, with the cursor and limit the official SDK does not expose.
    ///
    /// # Errors
    /// [`Error::JsonRpc`] when the runtime refuses.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(codex: openai_codex::AsyncCodex) -> openai_codex::Result<()> {
    /// let mut cursor = None;
    /// loop {
    ///     let page = codex.models_page(true, cursor, Some(20)).await?;
    ///     println!("{} models", page.data.len());
    ///     cursor = page.next_cursor;
    ///     if cursor.is_none() {
    ///         break;
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn models_page(
        &self,
        include_hidden: bool,
        cursor: Option<String>,
        limit: Option<u32>,
    ) -> Result<proto::ModelListResponse> {
        let params = proto::ModelListParams {
            cursor,
            include_hidden: Some(include_hidden),
            limit,
            extra: Default::default(),
        };
        self.call::<requests::ModelList>(&params).await
    }

    /// Starts a thread. The approval mode defaults to [`crate::ApprovalMode::AutoReview`].
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for bad options (nothing is sent); [`Error::JsonRpc`] when the
    /// runtime refuses (for example an invalid config override).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(codex: openai_codex::AsyncCodex) -> openai_codex::Result<()> {
    /// use openai_codex::{Sandbox, ThreadStartOptions};
    ///
    /// let thread = codex
    ///     .thread_start(ThreadStartOptions::default().sandbox(Sandbox::WorkspaceWrite))
    ///     .await?;
    /// println!("thread {}", thread.id());
    /// # Ok(()) }
    /// ```
    pub async fn thread_start(&self, options: ThreadStartOptions) -> Result<AsyncThread> {
        let params = options.to_params()?;
        let response = self.call::<requests::ThreadStart>(&params).await?;
        Ok(AsyncThread::new(self.clone(), response.thread.id))
    }

    /// Lists threads (one page; pass `next_cursor` back as `cursor` for the next).
    ///
    /// # Errors
    /// [`Error::JsonRpc`] when the runtime refuses.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(codex: openai_codex::AsyncCodex) -> openai_codex::Result<()> {
    /// use openai_codex::ThreadListOptions;
    ///
    /// let page = codex.thread_list(ThreadListOptions::default().limit(10)).await?;
    /// for thread in &page.data {
    ///     println!("{} {}", thread.id, thread.preview);
    /// }
    /// if let Some(cursor) = page.next_cursor {
    ///     let _next = codex.thread_list(ThreadListOptions::default().cursor(cursor)).await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn thread_list(
        &self,
        options: ThreadListOptions,
    ) -> Result<proto::ThreadListResponse> {
        self.call::<requests::ThreadList>(&options.to_params())
            .await
    }

    /// Loads a stored thread so it can run turns (also after a runtime restart). By default the
    /// history is not sent back (`excludeTurns: true`).
    ///
    /// # Errors
    /// [`Error::JsonRpc`] ("no rollout found") for an unknown thread or one that never ran a
    /// turn.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(codex: openai_codex::AsyncCodex) -> openai_codex::Result<()> {
    /// use openai_codex::{ThreadResumeOptions, TurnOptions};
    ///
    /// let thread = codex.thread_resume("<thread id>", ThreadResumeOptions::default()).await?;
    /// let result = thread.run("Where were we?", TurnOptions::default()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn thread_resume(
        &self,
        thread_id: &str,
        options: ThreadResumeOptions,
    ) -> Result<AsyncThread> {
        let params = options.to_params(thread_id)?;
        let response = self.call::<requests::ThreadResume>(&params).await?;
        Ok(AsyncThread::new(self.clone(), response.thread.id))
    }

    /// Forks a thread into a new one with the same history (up to `last_turn_id`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for contradictory options; [`Error::JsonRpc`] for an unknown
    /// thread.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(codex: openai_codex::AsyncCodex) -> openai_codex::Result<()> {
    /// use openai_codex::{ThreadForkOptions, TurnOptions};
    ///
    /// let fork = codex.thread_fork("<thread id>", ThreadForkOptions::default()).await?;
    /// fork.run("Try the other approach.", TurnOptions::default()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn thread_fork(
        &self,
        thread_id: &str,
        options: ThreadForkOptions,
    ) -> Result<AsyncThread> {
        let params = options.to_params(thread_id)?;
        let response = self.call::<requests::ThreadFork>(&params).await?;
        Ok(AsyncThread::new(self.clone(), response.thread.id))
    }

    /// Archives a thread: it leaves `thread_list` (see `archived: true`) and cannot run turns.
    ///
    /// # Errors
    /// [`Error::JsonRpc`] for an unknown thread.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(codex: openai_codex::AsyncCodex) -> openai_codex::Result<()> {
    /// codex.thread_archive("<thread id>").await?;
    /// # Ok(()) }
    /// ```
    pub async fn thread_archive(&self, thread_id: &str) -> Result<proto::ThreadArchiveResponse> {
        let params = proto::ThreadArchiveParams {
            thread_id: thread_id.to_string(),
            extra: Default::default(),
        };
        self.call::<requests::ThreadArchive>(&params).await
    }

    /// Unarchives a thread and loads it, so the returned thread can run turns at once (the
    /// official SDK returns a thread that fails with "thread not found" until resumed).
    ///
    /// # Errors
    /// [`Error::JsonRpc`] for an unknown thread.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(codex: openai_codex::AsyncCodex) -> openai_codex::Result<()> {
    /// use openai_codex::TurnOptions;
    ///
    /// let thread = codex.thread_unarchive("<thread id>").await?;
    /// thread.run("Back to work.", TurnOptions::default()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn thread_unarchive(&self, thread_id: &str) -> Result<AsyncThread> {
        let params = proto::ThreadUnarchiveParams {
            thread_id: thread_id.to_string(),
            extra: Default::default(),
        };
        let response = self.call::<requests::ThreadUnarchive>(&params).await?;
        self.thread_resume(&response.thread.id, ThreadResumeOptions::default())
            .await
    }

    /// A handle to a thread by id, without any request. It can run turns if the thread is
    /// loaded in this runtime (started, resumed or forked here); otherwise resume it first.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(codex: openai_codex::AsyncCodex) -> openai_codex::Result<()> {
    /// use openai_codex::{ThreadStartOptions, TurnOptions};
    ///
    /// let id = codex.thread_start(ThreadStartOptions::default()).await?.id().to_string();
    /// // Later, with only the id at hand:
    /// let thread = codex.thread(id);
    /// thread.run("Hello again", TurnOptions::default()).await?;
    /// # Ok(()) }
    /// ```
    pub fn thread(&self, thread_id: impl Into<String>) -> AsyncThread {
        AsyncThread::new(self.clone(), thread_id.into())
    }

    /// Closes the client: closes the runtime's stdin, gives it `shutdown_grace` to exit, then
    /// terminates and finally kills it, and reaps it. Every pending call and open stream fails
    /// with [`Error::TransportClosed`]. Idempotent and infallible: a call made while another
    /// `close()` is shutting the runtime down returns when that shutdown has finished.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(codex: openai_codex::AsyncCodex) -> openai_codex::Result<()> {
    /// codex.close().await;
    /// codex.close().await; // idempotent
    /// # Ok(()) }
    /// ```
    pub async fn close(&self) {
        // The flag goes up first so a reconnect racing with close() hands its new connection
        // back (see `replace_conn`) and the last handle's drop does not shut down a second time.
        self.inner.closed.store(true, Ordering::SeqCst);
        // A caller that returned before the shutdown finished could let its runtime stop with
        // the shutdown task still queued, leaving the child running: every caller waits.
        self.inner
            .shut_down
            .get_or_init(|| async {
                let conn = self.inner.conn().clone();
                let grace = self.inner.config.shutdown_grace;
                let _ = tokio::task::spawn_blocking(move || conn.shutdown_blocking(grace)).await;
            })
            .await;
    }
}

impl ClientInner {
    /// Replaces a closed-connection error with the version refusal that ended reconnecting,
    /// when there is one: the caller learns why the client will not come back.
    pub(crate) fn explain<T>(&self, result: Result<T>) -> Result<T> {
        match (result, self.refused.get()) {
            (Err(error), Some(refusal)) if error.is_transport_closed() => Err(refusal.to_error()),
            (result, _) => result,
        }
    }

    /// The current connection (a new one after a reconnect).
    pub(crate) fn conn(&self) -> Connection {
        self.conn.read().expect("connection slot poisoned").clone()
    }

    /// Whether `close()` was called (or the last handle dropped).
    pub(crate) fn is_closing(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Installs a re-opened connection, unless the client was closed meanwhile (then it is
    /// handed back so the caller can shut it down).
    pub(crate) fn replace_conn(&self, conn: Connection) -> std::result::Result<(), Connection> {
        let mut slot = self.conn.write().expect("connection slot poisoned");
        // Checked under the lock: close() sets the flag first and then reads the slot, so it
        // either sees the new connection or this sees the flag.
        if self.is_closing() {
            return Err(conn);
        }
        *slot = conn;
        self.reconnects.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

impl Drop for ClientInner {
    fn drop(&mut self) {
        if self.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        // Dropped without close(): stop and reap the runtime on a thread of its own, so drop
        // never blocks an async worker.
        let conn = self.conn();
        let grace = self.config.shutdown_grace;
        let spawned = std::thread::Builder::new()
            .name("codex-reaper".into())
            .spawn(move || conn.shutdown_blocking(grace));
        if spawned.is_err() {
            self.conn().shutdown_blocking(Duration::ZERO);
        }
    }
}

/// Removes a secret from an error's text (the runtime could echo it back).
fn redact(error: Error, secret: &str) -> Error {
    match error {
        Error::JsonRpc { method, mut error } if !secret.is_empty() => {
            error.message = error.message.replace(secret, "[redacted]");
            error.data = None;
            Error::JsonRpc { method, error }
        }
        other => other,
    }
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn check<T: Send + Sync + 'static>() {}
    check::<AsyncCodex>();
    let _ = Error::BlockingInAsync;
}
