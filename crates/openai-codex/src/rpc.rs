//! The connection owner: framing, request/response correlation, server-request dispatch.
//!
//! One reader thread reads every line the runtime writes; one writer thread writes every line we
//! send. Requests register a one-shot reply slot under a fresh integer id before they are written.
//! When the reader ends (EOF, I/O error) the cause is stored once, with the runtime's exit status
//! and stderr tail, and every pending request, every turn stream, every login waiter and every
//! later call fails with it.
//!
//! Invariants:
//! - Only the reader thread reads the runtime's stdout; only the writer thread writes its stdin.
//! - Every server request gets exactly one reply: the handler's, or a JSON-RPC error when the
//!   handler panics or overruns its deadline. Handlers run on the tokio runtime, never on the
//!   reader thread, so a slow handler stalls nobody.
//! - A line that is not JSON (or not a message) is logged and counted, never fatal. Only a JSON
//!   object is a message: arrays and scalars are junk, never answered.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::task::Waker;
use std::time::Duration;

use futures::FutureExt;
use openai_codex_protocol::{ClientRequest, ServerNotification, ServerRequest};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tokio::sync::oneshot;
use tracing::Instrument;

use crate::error::{ClosedReason, Error, ErrorCode, Result, RpcError};
use crate::handler::{ServerRequestHandler, ServerRequestReply};
use crate::router::{Router, StreamLimits};
use crate::spans::Spans;
use crate::transport::{ChildProcess, Transport};

/// How many stderr lines a closed-connection error carries, at most.
const STDERR_TAIL_LINES: usize = 40;
/// How many bytes of stderr lines a closed-connection error carries, at most.
const STDERR_TAIL_BYTES: usize = 8 * 1024;
/// After stdout closed, how long the reader waits for the runtime to exit and for its stderr to
/// end (the exit reason is often written last) before failing every waiter.
const EXIT_DRAIN_LIMIT: Duration = Duration::from_secs(2);
/// Once the runtime has exited, how much longer stderr may stay open (held by a child of the
/// runtime) before the reader stops waiting for its end.
const STDERR_AFTER_EXIT: Duration = Duration::from_millis(200);
/// The reader wakes the consumers of routed events once per this many lines, and always before
/// it may block on a read: one wake-up per batch instead of one per delta.
const WAKE_BATCH_LINES: usize = 128;
/// The line buffer's starting capacity, and the most it keeps after a bigger line.
const LINE_CAPACITY: usize = 4096;
const LINE_CAPACITY_KEPT: usize = 1 << 20;

type ReplySlot = oneshot::Sender<std::result::Result<Box<RawValue>, ReplyError>>;

enum ReplyError {
    Rpc(RpcError),
    Closed(ClosedReason),
    /// The reply's `error` member is not a JSON-RPC error object.
    Malformed {
        raw: String,
        source: serde_json::Error,
    },
    /// The reply was longer than `CodexConfig::max_message_bytes` and was skipped.
    TooLarge {
        size: usize,
        limit: usize,
    },
}

/// State shared by the reader, the writer, server-request tasks and every handle.
pub(crate) struct Shared {
    /// The client's span and the open turn spans.
    pub(crate) spans: Spans,
    pending: Mutex<HashMap<i64, ReplySlot>>,
    closed: OnceLock<ClosedReason>,
    pub(crate) router: Arc<Router>,
    writer: Mutex<Option<mpsc::Sender<Vec<u8>>>>,
    next_id: AtomicI64,
    handler: RwLock<Arc<dyn ServerRequestHandler>>,
    /// Per-thread overrides of `handler`, keyed by thread id.
    thread_handlers: RwLock<HashMap<String, Arc<dyn ServerRequestHandler>>>,
    handler_timeout: RwLock<Option<Duration>>,
    runtime: tokio::runtime::Handle,
    closer: Mutex<Option<Box<dyn FnOnce() + Send>>>,
    /// The writer thread, so close can let queued lines go out before the transport is shut.
    writer_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    junk_lines: AtomicU64,
    /// Lines longer than `CodexConfig::max_message_bytes`, skipped.
    oversized_messages: AtomicU64,
    process: Option<Arc<ChildProcess>>,
    /// Server requests whose handler has not replied yet.
    handlers_in_flight: AtomicUsize,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("closed", &self.closed.get())
            .finish_non_exhaustive()
    }
}

/// A cheap, cloneable handle to the connection.
#[derive(Clone, Debug)]
pub(crate) struct Connection {
    pub(crate) shared: Arc<Shared>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    method: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    params: Option<&'a RawValue>,
    #[serde(borrow, default)]
    result: Option<&'a RawValue>,
    /// Kept raw: a reply whose `error` is not `{code, message}` must still reach its caller.
    #[serde(borrow, default)]
    error: Option<&'a RawValue>,
}

#[derive(Serialize)]
struct OutgoingRequest<'a> {
    id: i64,
    method: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<&'a RawValue>,
}

#[derive(Serialize)]
struct OutgoingNotification<'a> {
    method: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<&'a RawValue>,
}

#[derive(Serialize)]
struct OutgoingReply<'a> {
    id: &'a RawValue,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'a serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a RpcError>,
}

impl Connection {
    /// Starts the reader and writer threads over a transport.
    pub(crate) fn start(
        transport: Transport,
        handler: Arc<dyn ServerRequestHandler>,
        config: &crate::CodexConfig,
    ) -> Result<Self> {
        let limits = StreamLimits::from_config(config);
        let max_message = config.max_message_bytes;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::Protocol("AsyncCodex must be created inside a tokio runtime".into())
        })?;
        let Transport {
            reader,
            writer,
            process,
            closer,
            ..
        } = transport;
        let (tx, rx) = mpsc::channel::<Vec<u8>>();
        let spans = Spans::new(
            process.as_ref().map(|p| p.id()),
            config.endpoint.as_ref().map(ToString::to_string),
        );
        let shared = Arc::new(Shared {
            spans,
            pending: Mutex::default(),
            closed: OnceLock::new(),
            router: Arc::new(Router::new(limits)),
            writer: Mutex::new(Some(tx)),
            next_id: AtomicI64::new(1),
            handler: RwLock::new(handler),
            thread_handlers: RwLock::default(),
            handler_timeout: RwLock::new(None),
            runtime,
            closer: Mutex::new(closer),
            writer_thread: Mutex::new(None),
            junk_lines: AtomicU64::new(0),
            oversized_messages: AtomicU64::new(0),
            process: process.map(Arc::new),
            handlers_in_flight: AtomicUsize::new(0),
        });
        {
            let shared2 = Arc::clone(&shared);
            let handle = std::thread::Builder::new()
                .name("codex-writer".into())
                .spawn(move || writer_loop(writer, rx, &shared2))?;
            *shared
                .writer_thread
                .lock()
                .expect("writer thread lock poisoned") = Some(handle);
        }
        {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("codex-reader".into())
                .spawn(move || reader_loop(reader, &shared, max_message))?;
        }
        Ok(Self { shared })
    }

    /// The reason the connection closed, if it has.
    pub(crate) fn closed_reason(&self) -> Option<ClosedReason> {
        self.shared.closed.get().cloned()
    }

    /// How many lines from the runtime were not valid JSON-RPC messages.
    pub(crate) fn junk_lines(&self) -> u64 {
        self.shared.junk_lines.load(Ordering::Relaxed)
    }

    /// How many lines from the runtime were longer than `CodexConfig::max_message_bytes`.
    pub(crate) fn oversized_messages(&self) -> u64 {
        self.shared.oversized_messages.load(Ordering::Relaxed)
    }

    /// Whether a server-request handler is still working on a reply (the runtime waits for it).
    pub(crate) fn handlers_busy(&self) -> bool {
        self.shared.handlers_in_flight.load(Ordering::Relaxed) > 0
    }

    /// The runtime's process id, when it was spawned by us.
    pub(crate) fn process_id(&self) -> Option<u32> {
        self.shared.process.as_ref().map(|p| p.id())
    }

    pub(crate) fn set_handler(&self, handler: Arc<dyn ServerRequestHandler>) {
        *self.shared.handler.write().expect("handler lock poisoned") = handler;
    }

    /// Installs (`Some`) or removes (`None`) the handler for the requests of one thread.
    pub(crate) fn set_thread_handler(
        &self,
        thread_id: &str,
        handler: Option<Arc<dyn ServerRequestHandler>>,
    ) {
        let mut map = self
            .shared
            .thread_handlers
            .write()
            .expect("handler lock poisoned");
        match handler {
            Some(handler) => {
                map.insert(thread_id.to_string(), handler);
            }
            None => {
                map.remove(thread_id);
            }
        }
    }

    pub(crate) fn set_handler_timeout(&self, timeout: Option<Duration>) {
        *self
            .shared
            .handler_timeout
            .write()
            .expect("handler lock poisoned") = timeout;
    }

    fn send_line(&self, line: Vec<u8>) -> Result<()> {
        if let Some(reason) = self.closed_reason() {
            return Err(Error::TransportClosed(reason));
        }
        let writer = self.shared.writer.lock().expect("writer lock poisoned");
        match writer.as_ref().map(|w| w.send(line)) {
            Some(Ok(())) => Ok(()),
            _ => Err(Error::TransportClosed(self.closed_reason().unwrap_or_else(
                || ClosedReason {
                    message: "the client was closed".into(),
                    exit_status: None,
                    stderr_tail: Vec::new(),
                },
            ))),
        }
    }

    /// Sends a request with raw params and waits for the raw result.
    pub(crate) async fn request_raw(
        &self,
        method: &str,
        params: Option<&RawValue>,
        timeout: Duration,
    ) -> Result<Box<RawValue>> {
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let span = self.shared.spans.request(method, id);
        let started = std::time::Instant::now();
        let result = self.exchange(id, method, params, timeout).await;
        crate::spans::finish_request(&span, started, &result);
        result
    }

    /// Sends request `id` and waits for its reply (see [`Connection::request_raw`]).
    async fn exchange(
        &self,
        id: i64,
        method: &str,
        params: Option<&RawValue>,
        timeout: Duration,
    ) -> Result<Box<RawValue>> {
        let line = encode_line(&OutgoingRequest { id, method, params })?;
        let (tx, rx) = oneshot::channel();
        self.shared
            .pending
            .lock()
            .expect("pending lock poisoned")
            .insert(id, tx);
        // Re-check after registering: a close that raced with us has already drained the map.
        if let Some(reason) = self.closed_reason() {
            self.forget(id);
            return Err(Error::TransportClosed(reason));
        }
        if let Err(e) = self.send_line(line) {
            self.forget(id);
            return Err(e);
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(Ok(result))) => Ok(result),
            Ok(Ok(Err(ReplyError::Rpc(error)))) => Err(Error::JsonRpc {
                method: method.to_string(),
                error: Box::new(error),
            }),
            Ok(Ok(Err(ReplyError::Closed(reason)))) => Err(Error::TransportClosed(reason)),
            Ok(Ok(Err(ReplyError::Malformed { raw, source }))) => Err(Error::Decode {
                what: format!("{method} error reply (not a JSON-RPC error object)"),
                raw,
                source,
            }),
            Ok(Ok(Err(ReplyError::TooLarge { size, limit }))) => Err(Error::MessageTooLarge {
                method: method.to_string(),
                size,
                limit,
            }),
            Ok(Err(_)) => Err(Error::TransportClosed(self.closed_reason().unwrap_or_else(
                || ClosedReason {
                    message: "the connection dropped the request".into(),
                    exit_status: None,
                    stderr_tail: Vec::new(),
                },
            ))),
            Err(_) => {
                self.forget(id);
                Err(Error::Timeout {
                    method: method.to_string(),
                    timeout,
                })
            }
        }
    }

    fn forget(&self, id: i64) {
        self.shared
            .pending
            .lock()
            .expect("pending lock poisoned")
            .remove(&id);
    }

    /// Sends a typed request and decodes its typed response.
    pub(crate) async fn request<M: ClientRequest>(
        &self,
        params: &M::Params,
        timeout: Duration,
    ) -> Result<M::Response> {
        let raw = encode_params(params)?;
        let result = self.request_raw(M::METHOD, raw.as_deref(), timeout).await?;
        decode(M::METHOD, &result)
    }

    /// Sends a notification.
    pub(crate) fn notify_raw(&self, method: &str, params: Option<&RawValue>) -> Result<()> {
        self.send_line(encode_line(&OutgoingNotification { method, params })?)
    }

    /// Closes the connection: stops writing (closing the runtime's stdin), then stops the
    /// process (grace, SIGTERM, SIGKILL) and reaps it. Blocking; idempotent; infallible.
    pub(crate) fn shutdown_blocking(&self, grace: Duration) {
        self.shared
            .writer
            .lock()
            .expect("writer lock poisoned")
            .take();
        // Lines already queued (e.g. `initialized`, a last reply) still go out: wait briefly for
        // the writer to drain before the transport is shut down.
        let writer_thread = self
            .shared
            .writer_thread
            .lock()
            .expect("writer thread lock poisoned")
            .take();
        if let Some(handle) = writer_thread {
            let deadline = std::time::Instant::now() + grace.min(Duration::from_millis(500));
            while !handle.is_finished() && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            if handle.is_finished() {
                let _ = handle.join();
            }
        }
        if let Some(closer) = self
            .shared
            .closer
            .lock()
            .expect("closer lock poisoned")
            .take()
        {
            closer();
        }
        let status = self.shared.process.as_ref().and_then(|p| p.shutdown(grace));
        self.shared.mark_closed(ClosedReason {
            message: "the client was closed".into(),
            exit_status: status.map(|s| s.to_string()),
            stderr_tail: Vec::new(),
        });
    }
}

fn encode_line<T: Serialize>(message: &T) -> Result<Vec<u8>> {
    let mut line = serde_json::to_vec(message).map_err(|source| Error::Decode {
        what: "outgoing message".into(),
        raw: String::new(),
        source,
    })?;
    line.push(b'\n');
    Ok(line)
}

/// Serializes params; `()`/`None` (JSON `null`) means "send no params member".
pub(crate) fn encode_params<P: Serialize>(params: &P) -> Result<Option<Box<RawValue>>> {
    let raw = serde_json::value::to_raw_value(params).map_err(|source| Error::Decode {
        what: "request params".into(),
        raw: String::new(),
        source,
    })?;
    Ok((raw.get() != "null").then_some(raw))
}

pub(crate) fn decode<T: serde::de::DeserializeOwned>(what: &str, raw: &RawValue) -> Result<T> {
    serde_json::from_str(raw.get()).map_err(|source| Error::Decode {
        what: format!("{what} response"),
        raw: truncate(raw.get(), 2000),
        source,
    })
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

impl Shared {
    /// Whether some request waits for its reply.
    fn replies_awaited(&self) -> bool {
        !self
            .pending
            .lock()
            .expect("pending lock poisoned")
            .is_empty()
    }

    /// Records why the connection ended (first cause wins) and fails every waiter with it.
    fn mark_closed(&self, reason: ClosedReason) {
        if self.closed.set(reason).is_err() {
            return;
        }
        let reason = self.closed.get().expect("just set").clone();
        self.writer.lock().expect("writer lock poisoned").take();
        let pending: Vec<ReplySlot> = self
            .pending
            .lock()
            .expect("pending lock poisoned")
            .drain()
            .map(|(_, slot)| slot)
            .collect();
        for slot in pending {
            let _ = slot.send(Err(ReplyError::Closed(reason.clone())));
        }
        self.router.fail_all(&reason);
    }

    /// Handles one line. Turn consumers that got an event are not woken here but appended to
    /// `wake`, which the reader loop wakes in batches.
    fn handle_line(self: &Arc<Self>, line: &str, wake: &mut Vec<Waker>) {
        // Only a JSON object can be a message. The envelope's derived `Deserialize` would also
        // accept an array positionally (`["x","m"]` as id "x", method "m") and answer it.
        if !line.starts_with('{') {
            self.junk_lines.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(line, "runtime printed a line that is not a JSON-RPC object");
            return;
        }
        let envelope: Envelope<'_> = match serde_json::from_str(line) {
            Ok(envelope) => envelope,
            Err(error) => {
                self.junk_lines.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%error, line, "runtime printed a line that is not JSON-RPC");
                return;
            }
        };
        match (envelope.method, envelope.id) {
            (Some(method), Some(id)) => self.dispatch_server_request(&method, id, envelope.params),
            (Some(method), None) => {
                let params = envelope.params;
                let notification =
                    ServerNotification::decode(&method, params.unwrap_or(null_raw()));
                let notification = notification.unwrap_or_else(|error| {
                    // Keep the event (as raw JSON) rather than lose it; routing still works.
                    tracing::warn!(%error, %method, "notification payload did not match the schema");
                    ServerNotification::Unknown {
                        method: method.to_string(),
                        params: raw_to_value(params),
                    }
                });
                self.spans.usage(&notification);
                // Kept for the turn span, which closes once the completion has been routed.
                let completed = match &notification {
                    ServerNotification::TurnCompleted(n) => {
                        Some((n.turn.id.clone(), n.turn.status.clone()))
                    }
                    _ => None,
                };
                self.router.route_deferred(notification, params, wake);
                if let Some((turn_id, status)) = completed {
                    self.spans.completed(&turn_id, status.as_str());
                }
            }
            (None, Some(id)) => self.complete(id, envelope.result, envelope.error),
            (None, None) => {
                self.junk_lines.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(line, "runtime message has neither id nor method");
            }
        }
    }

    fn complete(&self, id: &RawValue, result: Option<&RawValue>, error: Option<&RawValue>) {
        let error = error.map(|raw| {
            serde_json::from_str::<RpcError>(raw.get()).map_err(|source| {
                // Not a JSON-RPC error object: junk as a message, but when it answers a request
                // we sent, its caller learns at once (with the raw text) instead of timing out.
                self.junk_lines.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%source, id = id.get(), error = raw.get(), "runtime replied with an error that is not a JSON-RPC error object");
                ReplyError::Malformed {
                    raw: truncate(raw.get(), 2000),
                    source,
                }
            })
        });
        let Ok(id) = serde_json::from_str::<i64>(id.get()) else {
            tracing::debug!(id = id.get(), "response to an id we never sent");
            return;
        };
        let Some(slot) = self.take_pending(id) else {
            tracing::debug!(id, "response for a request nobody waits for (timed out?)");
            return;
        };
        let reply = match error {
            Some(Ok(error)) => Err(ReplyError::Rpc(error)),
            Some(Err(malformed)) => Err(malformed),
            None => Ok(result.map_or_else(|| null_raw().to_owned(), ToOwned::to_owned)),
        };
        let _ = slot.send(reply);
    }

    fn take_pending(&self, id: i64) -> Option<ReplySlot> {
        self.pending
            .lock()
            .expect("pending lock poisoned")
            .remove(&id)
    }

    /// A line longer than the limit was skipped. When its start shows whose it was, that one
    /// learns: the caller of a reply gets [`Error::MessageTooLarge`], a server request gets a
    /// JSON-RPC error (the runtime would otherwise wait for its answer). Every such line is
    /// counted.
    fn oversized(self: &Arc<Self>, head: &[u8], size: usize, limit: usize) {
        self.oversized_messages.fetch_add(1, Ordering::Relaxed);
        let head_text = String::from_utf8_lossy(head);
        match oversized_owner(head) {
            Some(Owner::Reply(id)) => {
                tracing::warn!(
                    id,
                    size,
                    limit,
                    "runtime reply longer than max_message_bytes; skipped"
                );
                if let Some(slot) = self.take_pending(id) {
                    let _ = slot.send(Err(ReplyError::TooLarge { size, limit }));
                }
            }
            Some(Owner::Request(id, method)) => {
                tracing::warn!(%method, size, limit, "runtime request longer than max_message_bytes; skipped and answered with an error");
                let message = OutgoingReply {
                    id: &id,
                    result: None,
                    error: Some(&RpcError::new(
                        ErrorCode::INVALID_REQUEST,
                        format!(
                            "{method}: the request is {size} bytes, more than this client accepts \
                             ({limit}; CodexConfig::max_message_bytes)"
                        ),
                    )),
                };
                if let Ok(line) = encode_line(&message) {
                    let writer = self.writer.lock().expect("writer lock poisoned");
                    if let Some(writer) = writer.as_ref() {
                        let _ = writer.send(line);
                    }
                }
            }
            None => {
                tracing::warn!(size, limit, head = %head_text, "runtime message longer than max_message_bytes; skipped");
            }
        }
    }

    /// The handler for a request: its thread's override when one is installed (by `threadId`,
    /// or `conversationId` for the legacy kinds), else the client's.
    fn handler_for(&self, params: Option<&RawValue>) -> Arc<dyn ServerRequestHandler> {
        #[derive(Deserialize)]
        struct ThreadKey<'a> {
            #[serde(rename = "threadId", borrow, default)]
            thread_id: Option<Cow<'a, str>>,
            #[serde(rename = "conversationId", borrow, default)]
            conversation_id: Option<Cow<'a, str>>,
        }
        {
            let overrides = self.thread_handlers.read().expect("handler lock poisoned");
            if !overrides.is_empty() {
                let key = params
                    .and_then(|p| serde_json::from_str::<ThreadKey<'_>>(p.get()).ok())
                    .and_then(|k| k.thread_id.or(k.conversation_id));
                if let Some(handler) = key.and_then(|k| overrides.get(k.as_ref())) {
                    return Arc::clone(handler);
                }
            }
        }
        Arc::clone(&self.handler.read().expect("handler lock poisoned"))
    }

    /// The span of a server request, under its turn's span when that turn is traced (the
    /// params are read for `turnId` only then).
    fn server_request_span(&self, method: &str, params: Option<&RawValue>) -> tracing::Span {
        #[derive(Deserialize)]
        struct TurnKey<'a> {
            #[serde(rename = "turnId", borrow, default)]
            turn_id: Option<Cow<'a, str>>,
        }
        let key = if self.spans.tracing_turns() {
            params.and_then(|p| serde_json::from_str::<TurnKey<'_>>(p.get()).ok())
        } else {
            None
        };
        self.spans
            .server_request(method, key.as_ref().and_then(|k| k.turn_id.as_deref()))
    }

    fn dispatch_server_request(
        self: &Arc<Self>,
        method: &str,
        id: &RawValue,
        params: Option<&RawValue>,
    ) {
        let id = id.to_owned();
        let request =
            ServerRequest::decode(method, params.unwrap_or(null_raw())).unwrap_or_else(|error| {
                tracing::warn!(%error, method, "server request params did not match the schema");
                ServerRequest::Unknown {
                    method: method.to_string(),
                    params: raw_to_value(params),
                }
            });
        let handler = self.handler_for(params);
        let timeout = *self.handler_timeout.read().expect("handler lock poisoned");
        let span = self.server_request_span(method, params);
        let shared = Arc::clone(self);
        let method = method.to_string();
        self.handlers_in_flight.fetch_add(1, Ordering::Relaxed);
        self.runtime.spawn(async move {
            let started = std::time::Instant::now();
            let call =
                std::panic::AssertUnwindSafe(handler.handle(request).instrument(span.clone()))
                    .catch_unwind();
            let outcome = match timeout {
                Some(limit) => tokio::time::timeout(limit, call).await.ok(),
                None => Some(call.await),
            };
            let reply: ServerRequestReply = match outcome {
                Some(Ok(reply)) => reply,
                Some(Err(_panic)) => {
                    tracing::error!(%method, "server-request handler panicked");
                    Err(RpcError::new(
                        ErrorCode::INTERNAL_ERROR,
                        format!("client handler for {method} panicked"),
                    ))
                }
                None => Err(RpcError::new(
                    ErrorCode::INTERNAL_ERROR,
                    format!("client handler for {method} timed out"),
                )),
            };
            crate::spans::finish_server_request(&span, started, &reply);
            let message = match &reply {
                Ok(result) => OutgoingReply {
                    id: &id,
                    result: Some(result),
                    error: None,
                },
                Err(error) => OutgoingReply {
                    id: &id,
                    result: None,
                    error: Some(error),
                },
            };
            if let Ok(line) = encode_line(&message) {
                let writer = shared.writer.lock().expect("writer lock poisoned");
                if let Some(writer) = writer.as_ref() {
                    let _ = writer.send(line);
                }
            }
            shared.handlers_in_flight.fetch_sub(1, Ordering::Relaxed);
        });
    }
}

/// Whose an over-long message was, as far as its first bytes tell.
#[derive(Debug)]
enum Owner {
    /// A reply to our request with this id.
    Reply(i64),
    /// A server request with this id and method.
    Request(Box<RawValue>, String),
}

/// How many bytes of an over-long line are kept to tell whose it was: the runtime writes `id`
/// first in a reply (`{"id":7,"result":...`) and `method` and `id` before `params` in a request.
const OVERSIZED_HEAD: usize = 1024;

/// Reads the top-level members of a message's start, up to the first value that does not fit
/// in `head` (the big one), and says whose message it is.
fn oversized_owner(head: &[u8]) -> Option<Owner> {
    /// The next JSON value of `text` and what follows it.
    fn token(text: &str) -> Option<(&RawValue, &str)> {
        let mut stream = serde_json::Deserializer::from_str(text).into_iter::<&RawValue>();
        let value = stream.next()?.ok()?;
        Some((value, &text[stream.byte_offset()..]))
    }
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        // The head may end inside a character.
        Err(error) => std::str::from_utf8(&head[..error.valid_up_to()]).ok()?,
    };
    let (mut id, mut method, mut reply) = (None::<&RawValue>, None::<String>, false);
    let mut rest = text.trim_start().strip_prefix('{')?;
    while let Some((key, after)) = token(rest.trim_start()) {
        let Ok(key) = serde_json::from_str::<String>(key.get()) else {
            break;
        };
        let Some(after) = after.trim_start().strip_prefix(':') else {
            break;
        };
        reply |= key == "result" || key == "error";
        let Some((value, after)) = token(after.trim_start()) else {
            break;
        };
        match key.as_str() {
            "id" => id = Some(value),
            "method" => method = serde_json::from_str(value.get()).ok(),
            _ => {}
        }
        match after.trim_start().strip_prefix(',') {
            Some(next) => rest = next,
            None => break,
        }
    }
    let id = id.filter(|id| id.get() != "null")?;
    match method {
        Some(method) => Some(Owner::Request(id.to_owned(), method)),
        None if reply => serde_json::from_str(id.get()).ok().map(Owner::Reply),
        None => None,
    }
}

/// What one bounded line read produced.
#[derive(Debug, PartialEq)]
enum LineRead {
    /// A whole line is in the buffer (without its `\n` only at the end of the input).
    Line,
    /// The input ended.
    End,
    /// The line had this many bytes, more than the limit: its first [`OVERSIZED_HEAD`] bytes
    /// are in the buffer, the rest was skipped up to its `\n`.
    TooLong(usize),
}

/// `read_until(b'\n')` that never holds more than `limit` bytes of one line: a longer line is
/// skipped to its end (only its head is kept), so the next line is read as usual.
fn read_line_bounded(
    reader: &mut impl BufRead,
    line: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<LineRead> {
    let mut skipped: Option<usize> = None;
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if available.is_empty() {
            return Ok(match skipped {
                Some(size) => LineRead::TooLong(size),
                None if line.is_empty() => LineRead::End,
                None => LineRead::Line,
            });
        }
        let (used, ends) = match memchr::memchr(b'\n', available) {
            Some(at) => (at + 1, true),
            None => (available.len(), false),
        };
        match skipped.as_mut() {
            Some(size) => *size += used,
            None if line.len() + used - usize::from(ends) > limit => {
                let size = line.len() + used;
                let keep = OVERSIZED_HEAD.saturating_sub(line.len()).min(used);
                line.extend_from_slice(&available[..keep]);
                line.truncate(OVERSIZED_HEAD);
                skipped = Some(size);
            }
            None => line.extend_from_slice(&available[..used]),
        }
        reader.consume(used);
        if ends {
            return Ok(match skipped {
                Some(size) => LineRead::TooLong(size - 1),
                None => LineRead::Line,
            });
        }
    }
}

/// Raw params as a JSON value (null when absent), for payloads kept undecoded.
fn raw_to_value(params: Option<&RawValue>) -> serde_json::Value {
    params
        .and_then(|p| serde_json::from_str(p.get()).ok())
        .unwrap_or_default()
}

fn null_raw() -> &'static RawValue {
    static NULL: OnceLock<Box<RawValue>> = OnceLock::new();
    NULL.get_or_init(|| RawValue::from_string("null".into()).expect("null is JSON"))
}

fn reader_loop(reader: Box<dyn Read + Send>, shared: &Arc<Shared>, max_message: usize) {
    let mut reader = BufReader::with_capacity(256 * 1024, reader);
    let mut line = Vec::with_capacity(LINE_CAPACITY);
    let mut wake: Vec<Waker> = Vec::new();
    let mut unwoken_lines = 0usize;
    let cause = loop {
        if line.capacity() > LINE_CAPACITY_KEPT {
            // One big message must not keep its buffer for the life of the client.
            line = Vec::with_capacity(LINE_CAPACITY);
        }
        line.clear();
        match read_line_bounded(&mut reader, &mut line, max_message) {
            Ok(LineRead::End) => break "the runtime closed its stdout".to_string(),
            Ok(LineRead::TooLong(size)) => shared.oversized(&line, size, max_message),
            Ok(LineRead::Line) => {
                let trimmed = line.trim_ascii();
                if !trimmed.is_empty() {
                    // One UTF-8 check per line; the JSON parsers then read it as `str`.
                    match std::str::from_utf8(trimmed) {
                        Ok(text) => shared.handle_line(text, &mut wake),
                        Err(error) => {
                            shared.junk_lines.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(%error, line = %String::from_utf8_lossy(trimmed), "runtime printed a line that is not JSON-RPC");
                        }
                    }
                }
            }
            Err(error) => break format!("reading from the runtime failed: {error}"),
        }
        unwoken_lines += 1;
        // Wake before the next read could block (no complete line is buffered), and at least
        // every WAKE_BATCH_LINES lines so a long burst is delivered as it arrives.
        if unwoken_lines >= WAKE_BATCH_LINES || memchr::memchr(b'\n', reader.buffer()).is_none() {
            unwoken_lines = 0;
            wake.drain(..).for_each(Waker::wake);
        }
        if shared.router.under_pressure() {
            // Backpressure: a consumer's queue is full. Wake everyone first (the consumer we
            // wait for may be among them), then pause reading until it catches up; a caller
            // waiting for a reply makes us read on.
            unwoken_lines = 0;
            wake.drain(..).for_each(Waker::wake);
            shared.router.wait_for_room(|| shared.replies_awaited());
        }
    };
    wake.drain(..).for_each(Waker::wake);
    let (exit_status, stderr_tail) = match &shared.process {
        Some(process) => {
            // The last stderr lines (the reason) can still be on their way when stdout closes:
            // read stderr to its end, within a bound, so the error carries them.
            let status = process.finish(EXIT_DRAIN_LIMIT, STDERR_AFTER_EXIT);
            (
                status.map(|s| s.to_string()),
                process.stderr.tail(STDERR_TAIL_LINES, STDERR_TAIL_BYTES),
            )
        }
        None => (None, Vec::new()),
    };
    shared.mark_closed(ClosedReason {
        message: cause,
        exit_status,
        stderr_tail,
    });
}

fn writer_loop(writer: Box<dyn Write + Send>, rx: mpsc::Receiver<Vec<u8>>, shared: &Arc<Shared>) {
    let mut writer = BufWriter::with_capacity(64 * 1024, writer);
    while let Ok(line) = rx.recv() {
        let mut result = writer.write_all(&line);
        // Batch whatever else is queued, then flush once.
        while result.is_ok() {
            match rx.try_recv() {
                Ok(line) => result = writer.write_all(&line),
                Err(_) => break,
            }
        }
        if let Err(error) = result.and_then(|()| writer.flush()) {
            tracing::warn!(%error, "writing to the runtime failed");
            let _ = shared; // the reader reports the closed connection with the exit status
            return;
        }
    }
    // All senders are gone (close): dropping the writer closes the runtime's stdin.
}

impl Connection {
    /// Gives this (re-opened) connection the handlers and handler timeout of `previous`, so a
    /// reconnect keeps answering server requests the way the caller set up.
    pub(crate) fn inherit_handlers(&self, previous: &Connection) {
        let handler = Arc::clone(
            &previous
                .shared
                .handler
                .read()
                .expect("handler lock poisoned"),
        );
        *self.shared.handler.write().expect("handler lock poisoned") = handler;
        let overrides = previous
            .shared
            .thread_handlers
            .read()
            .expect("handler lock poisoned")
            .clone();
        *self
            .shared
            .thread_handlers
            .write()
            .expect("handler lock poisoned") = overrides;
        let timeout = *previous
            .shared
            .handler_timeout
            .read()
            .expect("handler lock poisoned");
        self.set_handler_timeout(timeout);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader of `len` bytes of `x` and then `rest`, made on the fly (nothing is allocated
    /// for the long part), in small reads like a pipe's.
    struct Flood {
        left: usize,
        rest: std::io::Cursor<Vec<u8>>,
    }

    impl Read for Flood {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.left == 0 {
                return self.rest.read(buf);
            }
            let n = buf.len().min(self.left).min(64 * 1024);
            buf[..n].fill(b'x');
            self.left -= n;
            Ok(n)
        }
    }

    #[test]
    fn an_over_long_line_is_skipped_without_being_buffered_whole_and_the_next_line_is_whole() {
        let flood = Flood {
            left: 50 << 20,
            rest: std::io::Cursor::new(b"yyy\n{\"id\":1,\"result\":{}}\n".to_vec()),
        };
        let mut reader = BufReader::with_capacity(256 * 1024, flood);
        let mut line = Vec::new();
        let outcome = read_line_bounded(&mut reader, &mut line, 1 << 20).unwrap();
        assert_eq!(outcome, LineRead::TooLong((50 << 20) + 3));
        assert!(
            line.capacity() <= 2 << 20,
            "the buffer stays within the limit's order, not the line's: {} bytes",
            line.capacity()
        );
        assert!(line.len() <= OVERSIZED_HEAD, "only the head is kept");
        line.clear();
        assert_eq!(
            read_line_bounded(&mut reader, &mut line, 1 << 20).unwrap(),
            LineRead::Line
        );
        assert_eq!(line, b"{\"id\":1,\"result\":{}}\n");
        line.clear();
        assert_eq!(
            read_line_bounded(&mut reader, &mut line, 1 << 20).unwrap(),
            LineRead::End
        );
    }

    #[test]
    fn a_line_of_exactly_the_limit_is_read_and_one_byte_more_is_not() {
        for (len, fits) in [(100, true), (101, false)] {
            let mut text = vec![b'a'; len];
            text.extend_from_slice(b"\r\nnext\n");
            let mut reader = BufReader::with_capacity(16, std::io::Cursor::new(text));
            let mut line = Vec::new();
            let outcome = read_line_bounded(&mut reader, &mut line, 101).unwrap();
            // The limit counts the line without its `\n` (a `\r` counts).
            match fits {
                true => assert_eq!(outcome, LineRead::Line),
                false => assert_eq!(outcome, LineRead::TooLong(len + 1)),
            }
            line.clear();
            read_line_bounded(&mut reader, &mut line, 101).unwrap();
            assert_eq!(line, b"next\n");
        }
    }

    #[test]
    fn the_start_of_an_over_long_message_tells_whose_it_was() {
        // The runtime's shapes (recorded fixtures): replies start with the id, server requests
        // with the method and the id.
        let reply = br#"{"id":2,"result":{"thread":{"id":"00000000-0000-7000-8000-000000000002","preview":"#;
        assert!(matches!(oversized_owner(reply), Some(Owner::Reply(2))));
        let error = br#"{"id":9,"error":{"code":-32600,"message":"xxxxxxxxxxxxxxxx"#;
        assert!(matches!(oversized_owner(error), Some(Owner::Reply(9))));
        let request = br#"{"method":"item/commandExecution/requestApproval","id":0,"params":{"kind":"command","threadId":"#;
        match oversized_owner(request) {
            Some(Owner::Request(id, method)) => {
                assert_eq!(id.get(), "0");
                assert_eq!(method, "item/commandExecution/requestApproval");
            }
            other => panic!("expected a request, got {other:?}"),
        }
        // A notification, a foreign id and plain text belong to nobody who waits.
        let note = br#"{"method":"item/completed","params":{"item":{"text":"xxxxxxxx"#;
        assert!(oversized_owner(note).is_none());
        assert!(oversized_owner(br#"{"id":"abc","result":{"x":"#).is_none());
        assert!(oversized_owner(b"xxxxxxxxxxxxxxxx").is_none());
        assert!(oversized_owner(br#"{"id":null,"error":{"#).is_none());
        // A head cut inside a multi-byte character still reads.
        let mut cut = br#"{"id":3,"result":{"text":""#.to_vec();
        cut.extend_from_slice(&"é".as_bytes()[..1]);
        assert!(matches!(oversized_owner(&cut), Some(Owner::Reply(3))));
    }
}
