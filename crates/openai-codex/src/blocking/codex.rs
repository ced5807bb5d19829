//! `Codex`: the blocking client.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt};
use openai_codex_protocol::{self as proto, ClientRequest};
use serde_json::Value;

use super::login::{ChatgptLoginHandle, DeviceCodeLoginHandle};
use super::runtime::RuntimeThread;
use super::thread::Thread;
use crate::codex::AsyncCodex;
use crate::config::CodexConfig;
use crate::error::{Error, Result};
use crate::handler::ServerRequestHandler;
use crate::metadata::Metadata;
use crate::router::GlobalEvent;
use crate::thread::{
    ThreadForkOptions, ThreadListOptions, ThreadResumeOptions, ThreadStartOptions,
};
use crate::transport::Transport;

/// The blocking Codex client: [`AsyncCodex`] with every method made synchronous.
///
/// `Codex::new(config)` starts a tokio runtime on a thread of its own and the Codex runtime
/// process, and runs the `initialize` handshake. Each method then runs the async twin on that
/// runtime and waits for its result; between calls the runtime keeps routing notifications and
/// answering server requests.
///
/// The client is a cheap handle (`Clone`, `Send`, `Sync`): share it between OS threads, which may
/// call it concurrently. Threads and turn handles keep it alive. The runtime process stops on
/// [`Codex::close`] or when the last handle (client, thread, turn, login or iterator) is dropped;
/// outside an async runtime that drop waits until the process is reaped.
///
/// Calling a blocking method from inside a tokio runtime returns [`Error::BlockingInAsync`]
/// rather than stalling the executor; use [`AsyncCodex`] (see [`Codex::async_client`]) there.
///
/// ```no_run
/// use openai_codex::{Codex, CodexConfig, ThreadStartOptions, TurnOptions};
///
/// # fn main() -> openai_codex::Result<()> {
/// let codex = Codex::new(CodexConfig::default())?;
/// let thread = codex.thread_start(ThreadStartOptions::default())?;
/// let result = thread.run("Say hello", TurnOptions::default())?;
/// println!("{}", result.final_response.unwrap_or_default());
/// codex.close();
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Codex {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    codex: AsyncCodex,
    runtime: Arc<RuntimeThread>,
    /// Whether dropping the last handle closes the client (false for a view of a pool member,
    /// whose lifecycle the pool owns).
    owned: bool,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The last blocking handle is gone: close the client on the runtime thread and stop it.
        if self.owned {
            self.runtime.shutdown(Some(self.codex.clone()));
        }
    }
}

impl Codex {
    /// Starts the runtime resolved from `config` and runs the `initialize` handshake.
    ///
    /// # Errors
    /// As [`AsyncCodex::new`]: [`Error::RuntimeNotFound`] / [`Error::Spawn`] when the runtime
    /// cannot start, [`Error::TransportClosed`] with its stderr when it exits during start-up,
    /// [`Error::Timeout`] when it does not answer `initialize`; plus [`Error::BlockingInAsync`]
    /// inside a tokio runtime and [`Error::Io`] when the runtime thread cannot be created.
    pub fn new(config: CodexConfig) -> Result<Self> {
        let runtime = RuntimeThread::start()?;
        let codex = runtime.block_on(AsyncCodex::new(config))??;
        Ok(Self::from_parts(codex, runtime))
    }

    /// Connects to a runtime that is already running (`ws://`, `wss://` or `unix://`) and runs
    /// the `initialize` handshake: the blocking twin of [`AsyncCodex::connect`].
    ///
    /// # Errors
    /// As [`AsyncCodex::connect`], plus [`Error::BlockingInAsync`] inside a tokio runtime.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use openai_codex::{Codex, CodexConfig};
    ///
    /// let codex = Codex::connect("ws://127.0.0.1:4500", CodexConfig::default())?;
    /// println!("connected to {}", codex.metadata().server_version);
    /// # Ok::<(), openai_codex::Error>(())
    /// ```
    pub fn connect(
        endpoint: impl crate::endpoint::IntoEndpoint,
        config: CodexConfig,
    ) -> Result<Self> {
        let endpoint = endpoint.into_endpoint()?;
        let runtime = RuntimeThread::start()?;
        let codex = runtime.block_on(AsyncCodex::connect(endpoint, config))??;
        Ok(Self::from_parts(codex, runtime))
    }

    /// How many times the connection was re-opened after a loss.
    pub fn reconnect_count(&self) -> u64 {
        self.inner.codex.reconnect_count()
    }

    /// Waits until the client has a live connection again, for at most `timeout`.
    ///
    /// # Errors
    /// As [`AsyncCodex::wait_connected`], plus [`Error::BlockingInAsync`].
    pub fn wait_connected(&self, timeout: Duration) -> Result<()> {
        self.call(self.inner.codex.wait_connected(timeout))
    }

    /// How many turns are running on this client's runtime.
    pub fn running_turns(&self) -> usize {
        self.inner.codex.running_turns()
    }

    /// The endpoint this client is connected to, when it did not launch its runtime.
    pub fn endpoint(&self) -> Option<&crate::endpoint::Endpoint> {
        self.inner.codex.endpoint()
    }

    /// Connects over an existing transport (an in-memory pair in tests, or a custom one).
    ///
    /// # Errors
    /// As [`Codex::new`], minus the spawning.
    pub fn with_transport(config: CodexConfig, transport: Transport) -> Result<Self> {
        let runtime = RuntimeThread::start()?;
        let codex = runtime.block_on(AsyncCodex::with_transport(config, transport))??;
        Ok(Self::from_parts(codex, runtime))
    }

    fn from_parts(codex: AsyncCodex, runtime: RuntimeThread) -> Self {
        Self {
            inner: Arc::new(Inner {
                codex,
                runtime: Arc::new(runtime),
                owned: true,
            }),
        }
    }

    /// A blocking view of a client someone else owns (a pool member), on their runtime thread:
    /// dropping it leaves the client open.
    pub(crate) fn borrowed(codex: AsyncCodex, runtime: Arc<RuntimeThread>) -> Self {
        Self {
            inner: Arc::new(Inner {
                codex,
                runtime,
                owned: false,
            }),
        }
    }

    /// The underlying async client, running on this client's runtime thread: the escape hatch
    /// for async code that shares the connection. It stays usable while any blocking handle of
    /// this client lives; once the last one is dropped the connection is closed, clones included.
    pub fn async_client(&self) -> &AsyncCodex {
        &self.inner.codex
    }

    /// Runs `future` to completion with this client's runtime (see [`super::runtime`]).
    pub(crate) fn block_on<F: Future>(&self, future: F) -> Result<F::Output> {
        self.inner.runtime.block_on(future)
    }

    /// [`Codex::block_on`] for a fallible future: the one path of every blocking call.
    pub(crate) fn call<T>(&self, future: impl Future<Output = Result<T>>) -> Result<T> {
        self.block_on(future)?
    }

    /// The `initialize` response, with the runtime's own name and version.
    pub fn metadata(&self) -> &Metadata {
        self.inner.codex.metadata()
    }

    /// The configuration this client was started with.
    pub fn config(&self) -> &CodexConfig {
        self.inner.codex.config()
    }

    /// The runtime's OS process id (when this client spawned it).
    pub fn runtime_pid(&self) -> Option<u32> {
        self.inner.codex.runtime_pid()
    }

    /// How many lines from the runtime were not JSON-RPC messages (logged and skipped).
    pub fn junk_lines(&self) -> u64 {
        self.inner.codex.junk_lines()
    }

    /// How many messages from the runtime were longer than
    /// [`CodexConfig::max_message_bytes`](crate::CodexConfig::max_message_bytes) and were
    /// skipped (logged; a reply among them failed its request with [`Error::MessageTooLarge`]).
    pub fn oversized_messages(&self) -> u64 {
        self.inner.codex.oversized_messages()
    }

    /// How many `turn/completed` notifications arrived for a turn that had already completed
    /// (logged, never delivered).
    pub fn duplicate_completions(&self) -> u64 {
        self.inner.codex.duplicate_completions()
    }

    /// Whether the connection is closed (by [`Codex::close`] or because the runtime exited).
    pub fn is_closed(&self) -> bool {
        self.inner.codex.is_closed()
    }

    /// Installs the handler for server-initiated requests (approvals, user input, ...),
    /// replacing the previous one. The default is [`crate::handler::DeclineAll`].
    ///
    /// The handler is async and runs on this client's runtime thread, so it answers while the
    /// caller is blocked in [`Thread::run`]. It must not block: do blocking work (asking a person,
    /// reading stdin) in `tokio::task::spawn_blocking` and await it. Blocking methods called
    /// inside a handler return [`Error::BlockingInAsync`]; use [`Codex::async_client`] there. A
    /// handler that captures a clone of this client keeps it alive: call [`Codex::close`].
    ///
    /// ```no_run
    /// # fn demo(codex: &openai_codex::Codex) {
    /// use openai_codex::handler::decline_reply;
    /// use openai_codex::types::ServerRequest;
    ///
    /// codex.set_server_request_handler(|request: ServerRequest| async move {
    ///     let method = request.method().to_string();
    ///     tokio::task::spawn_blocking(move || {
    ///         eprintln!("declining {method}");
    ///         decline_reply(&method)
    ///     })
    ///     .await
    ///     .expect("handler panicked")
    /// });
    /// # }
    /// ```
    pub fn set_server_request_handler(&self, handler: impl ServerRequestHandler) {
        self.inner.codex.set_server_request_handler(handler);
    }

    /// Bounds how long a handler may take; past it the request is answered with a JSON-RPC
    /// error. `None` (the default) lets handlers take as long as they need.
    pub fn set_server_request_timeout(&self, timeout: Option<Duration>) {
        self.inner.codex.set_server_request_timeout(timeout);
    }

    /// Global notifications as a blocking iterator: everything that belongs to no turn and no
    /// login. Each call returns an independent subscriber that sees events from now on; a slow
    /// one gets [`GlobalEvent::Lagged`]. Ends when the connection closes. The first subscriber
    /// also gets what arrived before it, such as the runtime's start-up `configWarning`s (see
    /// [`AsyncCodex::events`]).
    pub fn events(&self) -> Events {
        Events {
            stream: Box::pin(self.inner.codex.events()),
            codex: self.clone(),
            done: false,
        }
    }

    /// Sends a typed request (any of the generated client requests) and returns its typed
    /// response, with the client's default timeout.
    ///
    /// # Errors
    /// [`Error::JsonRpc`] when the runtime answers with an error, [`Error::Timeout`],
    /// [`Error::TransportClosed`], [`Error::Decode`] when the response does not fit the type, or
    /// [`Error::BlockingInAsync`] inside a tokio runtime.
    pub fn request<M: ClientRequest>(&self, params: M::Params) -> Result<M::Response> {
        self.call(self.inner.codex.request::<M>(params))
    }

    /// [`Codex::request`] with an explicit timeout.
    ///
    /// # Errors
    /// As [`Codex::request`].
    pub fn request_with_timeout<M: ClientRequest>(
        &self,
        params: M::Params,
        timeout: Duration,
    ) -> Result<M::Response> {
        self.call(self.inner.codex.request_with_timeout::<M>(params, timeout))
    }

    /// Sends any request by method name with untyped params (`Value::Null` sends no params
    /// member): the escape hatch for methods the generated tables do not know.
    ///
    /// # Errors
    /// As [`Codex::request`].
    pub fn request_raw(&self, method: &str, params: Value) -> Result<Value> {
        self.call(self.inner.codex.request_raw(method, params))
    }

    /// Sends a notification by method name (`Value::Null` sends no params member). It never
    /// waits, so it also works inside an async runtime.
    ///
    /// # Errors
    /// [`Error::TransportClosed`] when the connection is closed.
    pub fn notify_raw(&self, method: &str, params: Value) -> Result<()> {
        self.inner.codex.notify_raw(method, params)
    }

    /// Logs in with an OpenAI API key. The key is never logged, kept, or shown in errors.
    ///
    /// # Errors
    /// [`Error::JsonRpc`] when the runtime refuses; [`Error::BlockingInAsync`] inside a tokio
    /// runtime.
    pub fn login_api_key(&self, api_key: &str) -> Result<()> {
        self.call(self.inner.codex.login_api_key(api_key))
    }

    /// Starts a ChatGPT browser login; open the handle's `auth_url`, then `wait()`.
    ///
    /// # Errors
    /// [`Error::JsonRpc`] when the runtime refuses; [`Error::Protocol`] for an unexpected reply;
    /// [`Error::BlockingInAsync`] inside a tokio runtime.
    pub fn login_chatgpt(&self) -> Result<ChatgptLoginHandle> {
        let handle = self.call(self.inner.codex.login_chatgpt())?;
        Ok(ChatgptLoginHandle::new(self.clone(), handle))
    }

    /// Starts a ChatGPT device-code login; show the handle's `user_code` and
    /// `verification_url`, then `wait()`.
    ///
    /// # Errors
    /// [`Error::JsonRpc`] (typically -32603) when the device code cannot be requested, e.g.
    /// offline; [`Error::Protocol`] for an unexpected reply; [`Error::BlockingInAsync`] inside a
    /// tokio runtime.
    pub fn login_chatgpt_device_code(&self) -> Result<DeviceCodeLoginHandle> {
        let handle = self.call(self.inner.codex.login_chatgpt_device_code())?;
        Ok(DeviceCodeLoginHandle::new(self.clone(), handle))
    }

    /// The current account (`refresh_token` asks the runtime to refresh ChatGPT tokens first).
    ///
    /// # Errors
    /// [`Error::JsonRpc`] when the runtime refuses; [`Error::BlockingInAsync`] inside a tokio
    /// runtime.
    pub fn account(&self, refresh_token: bool) -> Result<proto::GetAccountResponse> {
        self.call(self.inner.codex.account(refresh_token))
    }

    /// Logs out.
    ///
    /// # Errors
    /// [`Error::JsonRpc`] when the runtime refuses; [`Error::BlockingInAsync`] inside a tokio
    /// runtime.
    pub fn logout(&self) -> Result<()> {
        self.call(self.inner.codex.logout())
    }

    /// The models the runtime offers (the first page; see [`Codex::models_page`]).
    ///
    /// # Errors
    /// [`Error::JsonRpc`] when the runtime refuses; [`Error::BlockingInAsync`] inside a tokio
    /// runtime.
    pub fn models(&self, include_hidden: bool) -> Result<proto::ModelListResponse> {
        self.call(self.inner.codex.models(include_hidden))
    }

    /// One page of models, with a cursor and a page size.
    ///
    /// # Errors
    /// As [`Codex::models`].
    pub fn models_page(
        &self,
        include_hidden: bool,
        cursor: Option<String>,
        limit: Option<u32>,
    ) -> Result<proto::ModelListResponse> {
        self.call(self.inner.codex.models_page(include_hidden, cursor, limit))
    }

    /// Starts a thread. The approval mode defaults to [`crate::ApprovalMode::AutoReview`].
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for bad options (nothing is sent); [`Error::JsonRpc`] when the
    /// runtime refuses; [`Error::BlockingInAsync`] inside a tokio runtime.
    pub fn thread_start(&self, options: ThreadStartOptions) -> Result<Thread> {
        let thread = self.call(self.inner.codex.thread_start(options))?;
        Ok(Thread::new(self.clone(), thread))
    }

    /// Lists threads (one page; pass `next_cursor` back as `cursor` for the next).
    ///
    /// # Errors
    /// [`Error::JsonRpc`] when the runtime refuses; [`Error::BlockingInAsync`] inside a tokio
    /// runtime.
    pub fn thread_list(&self, options: ThreadListOptions) -> Result<proto::ThreadListResponse> {
        self.call(self.inner.codex.thread_list(options))
    }

    /// Loads a stored thread so it can run turns (also after a runtime restart).
    ///
    /// # Errors
    /// [`Error::JsonRpc`] ("no rollout found") for an unknown thread or one that never ran a
    /// turn; [`Error::BlockingInAsync`] inside a tokio runtime.
    pub fn thread_resume(&self, thread_id: &str, options: ThreadResumeOptions) -> Result<Thread> {
        let thread = self.call(self.inner.codex.thread_resume(thread_id, options))?;
        Ok(Thread::new(self.clone(), thread))
    }

    /// Forks a thread into a new one with the same history (up to `last_turn_id`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for contradictory options; [`Error::JsonRpc`] for an unknown
    /// thread; [`Error::BlockingInAsync`] inside a tokio runtime.
    pub fn thread_fork(&self, thread_id: &str, options: ThreadForkOptions) -> Result<Thread> {
        let thread = self.call(self.inner.codex.thread_fork(thread_id, options))?;
        Ok(Thread::new(self.clone(), thread))
    }

    /// Archives a thread: it leaves `thread_list` (see `archived: true`) and cannot run turns.
    ///
    /// # Errors
    /// [`Error::JsonRpc`] for an unknown thread; [`Error::BlockingInAsync`] inside a tokio
    /// runtime.
    pub fn thread_archive(&self, thread_id: &str) -> Result<proto::ThreadArchiveResponse> {
        self.call(self.inner.codex.thread_archive(thread_id))
    }

    /// Unarchives a thread and loads it, so the returned thread can run turns at once.
    ///
    /// # Errors
    /// [`Error::JsonRpc`] for an unknown thread; [`Error::BlockingInAsync`] inside a tokio
    /// runtime.
    pub fn thread_unarchive(&self, thread_id: &str) -> Result<Thread> {
        let thread = self.call(self.inner.codex.thread_unarchive(thread_id))?;
        Ok(Thread::new(self.clone(), thread))
    }

    /// A handle to a thread by id, without any request. It can run turns if the thread is
    /// loaded in this runtime (started, resumed or forked here); otherwise resume it first.
    pub fn thread(&self, thread_id: impl Into<String>) -> Thread {
        Thread::new(self.clone(), self.inner.codex.thread(thread_id))
    }

    /// Closes the client: closes the runtime's stdin, gives it `shutdown_grace` to exit, then
    /// terminates and finally kills it, and reaps it. Every pending call and open iterator fails
    /// with [`Error::TransportClosed`], and so does every later call. Idempotent and infallible.
    ///
    /// Inside a tokio runtime it does not wait: the close runs on the client's runtime thread
    /// and finishes in the background.
    pub fn close(&self) {
        if self
            .inner
            .runtime
            .block_on(self.inner.codex.close())
            .is_err()
        {
            let codex = self.inner.codex.clone();
            self.inner.runtime.spawn(async move { codex.close().await });
        }
    }
}

/// The global notifications of a [`Codex`] as a blocking iterator (see [`Codex::events`]).
///
/// `next()` waits for the next event and returns `None` once the connection has closed. Inside a
/// tokio runtime, where it must not block, it returns `None` at once.
pub struct Events {
    stream: Pin<Box<dyn Stream<Item = GlobalEvent> + Send>>,
    codex: Codex,
    done: bool,
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Events")
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl Iterator for Events {
    type Item = GlobalEvent;

    fn next(&mut self) -> Option<GlobalEvent> {
        if self.done {
            return None;
        }
        match self.codex.block_on(self.stream.next()) {
            Ok(Some(event)) => Some(event),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(error) => {
                tracing::warn!(%error, "blocking Events iterator used inside an async runtime");
                self.done = true;
                None
            }
        }
    }
}

impl std::iter::FusedIterator for Events {}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn check<T: Send + Sync + 'static>() {}
    check::<Codex>();
    fn send<T: Send + 'static>() {}
    send::<Events>();
    let _ = Error::BlockingInAsync;
}
