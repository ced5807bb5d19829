//! [`MockModel`]: a scripted fake of the OpenAI Responses API, as the Codex runtime uses it.
//!
//! The runtime, configured with a custom provider whose `base_url` is [`MockModel::base_url`],
//! sends every model call as `POST /v1/responses` with `stream: true`. The mock answers each one
//! with a [`ResponseScript`] rendered as server-sent events and records the request.
//!
//! # Which script answers a request
//!
//! * An auto-review ("guardian") request (header `x-openai-subagent: guardian`, or a
//!   `codex_output_schema` text format with an `outcome` property) gets the review verdict
//!   ([`MockModel::set_review_verdict`], [`Verdict::Allow`] by default).
//! * A compaction request (`x-codex-turn-metadata` with `request_kind: "compaction"`) gets the
//!   compaction script ([`MockModel::set_compaction_summary`]).
//! * Any other request takes the next queued script ([`MockModel::push`]); when the queue is empty
//!   the responder picks one ([`MockModel::set_responder`]); when there is no responder either,
//!   the default response answers: a single assistant message `"ok"`
//!   ([`MockModel::set_default_response`] changes it).
//!
//! Review and compaction requests never consume the queue, so a test scripts only the turn it
//! cares about.
//!
//! # Threading
//!
//! The server runs on a thread of its own with a single-threaded tokio runtime, so it works the
//! same under `#[test]` and `#[tokio::test]` (any flavor), and a test that blocks its own runtime
//! cannot stall it. Dropping the mock (or [`MockModel::shutdown`]) stops the thread and closes
//! every connection, including hanging ones.

mod request;
mod script;

pub use request::{CapturedRequest, RequestKind, ToolOutput};
pub use script::{AssistantMessage, ExecCommand, Phase, Reasoning, ResponseScript, Usage, Verdict};

use std::collections::VecDeque;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdTcpListener};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::serve::ListenerExt;
use axum::Router;
use bytes::Bytes;
use serde_json::Value;

use script::{Frame, Rendered};

/// Picks a script for a turn request when the queue is empty.
type Responder = Arc<dyn Fn(&CapturedRequest) -> ResponseScript + Send + Sync>;

/// A scripted Responses-API server on `127.0.0.1` with an ephemeral port.
///
/// ```
/// use std::time::Duration;
/// use openai_codex_testkit::{MockModel, ResponseScript};
///
/// let model = MockModel::start().unwrap();
/// model.push(ResponseScript::text("Hello there."));
/// assert!(model.base_url().starts_with("http://127.0.0.1:"));
/// // ... run a turn against a runtime configured with `model.base_url()` ...
/// assert!(model.wait_for_requests(0, Duration::from_secs(1)).is_ok());
/// ```
pub struct MockModel {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: Mutex<Option<(tokio::sync::oneshot::Sender<()>, JoinHandle<()>)>>,
}

/// State shared between the test's handle and the server thread.
struct Shared {
    state: Mutex<ScriptState>,
    /// Signalled whenever a request is recorded (for the blocking waits).
    arrived: Condvar,
    /// The number of recorded requests (for the async waits).
    count: tokio::sync::watch::Sender<usize>,
    /// Source of the numbers in generated ids (`resp_N`, `msg_N`, `call_N`, ...), unique per mock.
    next_id: AtomicU64,
    /// Arrival number of the next request.
    next_index: AtomicUsize,
}

struct ScriptState {
    queue: VecDeque<ResponseScript>,
    responder: Option<Responder>,
    default_response: ResponseScript,
    review_verdict: Verdict,
    compaction: ResponseScript,
    requests: Vec<CapturedRequest>,
    /// Whether recorded requests keep their JSON body (see [`MockModel::set_capture_bodies`]).
    capture_bodies: bool,
}

/// [`MockModel::wait_for_requests`] gave up before enough requests arrived.
#[derive(Clone, Debug)]
pub struct WaitTimeout {
    /// How many requests were awaited.
    pub wanted: usize,
    /// What had arrived when the wait gave up.
    pub received: Vec<CapturedRequest>,
}

impl fmt::Display for WaitTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "waited for {} model requests, {} arrived",
            self.wanted,
            self.received.len()
        )
    }
}

impl std::error::Error for WaitTimeout {}

/// The compaction summary used until [`MockModel::set_compaction_summary`] changes it.
pub const DEFAULT_COMPACTION_SUMMARY: &str = "Summary of the conversation so far (scripted).";

impl MockModel {
    /// Binds `127.0.0.1:0` and starts serving on a background thread. Takes about a millisecond.
    ///
    /// # Errors
    /// When the socket cannot be bound or the thread or runtime cannot be created.
    pub fn start() -> std::io::Result<Self> {
        let listener = StdTcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(ScriptState {
                queue: VecDeque::new(),
                responder: None,
                default_response: ResponseScript::text("ok"),
                review_verdict: Verdict::Allow,
                compaction: ResponseScript::text(DEFAULT_COMPACTION_SUMMARY),
                requests: Vec::new(),
                capture_bodies: true,
            }),
            arrived: Condvar::new(),
            count: tokio::sync::watch::Sender::new(0),
            next_id: AtomicU64::new(1),
            next_index: AtomicUsize::new(0),
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let thread = std::thread::Builder::new()
            .name(format!("mock-model-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => listener.tap_io(|tcp| {
                            // SSE events are small writes; do not let Nagle hold them back.
                            let _ = tcp.set_nodelay(true);
                        }),
                        Err(_) => return,
                    };
                    tokio::select! {
                        _ = axum::serve(listener, app) => {}
                        _ = stop_rx => {}
                    }
                });
                // Dropping the runtime cancels every connection task, including hanging streams,
                // so the peer sees its connection closed.
                drop(runtime);
            })?;
        Ok(Self {
            shared,
            addr,
            shutdown: Mutex::new(Some((stop_tx, thread))),
        })
    }

    /// The socket address (`127.0.0.1:<port>`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:<port>/v1`: the provider `base_url` for the runtime's config.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Queues a script for the next turn request (first in, first out).
    pub fn push(&self, script: ResponseScript) {
        self.lock().queue.push_back(script);
    }

    /// Queues several scripts in order.
    pub fn push_all(&self, scripts: impl IntoIterator<Item = ResponseScript>) {
        self.lock().queue.extend(scripts);
    }

    /// How many queued scripts are still unused.
    pub fn queued(&self) -> usize {
        self.lock().queue.len()
    }

    /// Drops every queued script.
    pub fn clear_queue(&self) {
        self.lock().queue.clear();
    }

    /// Answers turn requests with `responder` whenever the queue is empty. It runs on the mock's
    /// thread, outside any lock, once per request.
    pub fn set_responder<F>(&self, responder: F)
    where
        F: Fn(&CapturedRequest) -> ResponseScript + Send + Sync + 'static,
    {
        self.lock().responder = Some(Arc::new(responder));
    }

    /// Removes the responder.
    pub fn clear_responder(&self) {
        self.lock().responder = None;
    }

    /// The script used when the queue is empty and there is no responder (default: the text
    /// `"ok"`).
    pub fn set_default_response(&self, script: ResponseScript) {
        self.lock().default_response = script;
    }

    /// The verdict for auto-review requests (default [`Verdict::Allow`]).
    pub fn set_review_verdict(&self, verdict: Verdict) {
        self.lock().review_verdict = verdict;
    }

    /// The summary text returned for compaction requests (default
    /// [`DEFAULT_COMPACTION_SUMMARY`]).
    pub fn set_compaction_summary(&self, summary: impl Into<String>) {
        self.set_compaction_response(ResponseScript::text(summary));
    }

    /// Any script for compaction requests (for example an HTTP error).
    pub fn set_compaction_response(&self, script: ResponseScript) {
        self.lock().compaction = script;
    }

    /// Whether recorded requests keep their JSON body (default `true`). Each body holds the whole
    /// history and tool list (tens of kilobytes), so long benchmarks may turn this off; requests
    /// are still classified and counted, and headers are kept.
    pub fn set_capture_bodies(&self, capture: bool) {
        self.lock().capture_bodies = capture;
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<CapturedRequest> {
        self.lock().requests.clone()
    }

    /// The turn requests received so far (no review, compaction or stray requests).
    pub fn turn_requests(&self) -> Vec<CapturedRequest> {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.kind == RequestKind::Turn)
            .cloned()
            .collect()
    }

    /// The review requests received so far.
    pub fn review_requests(&self) -> Vec<CapturedRequest> {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.kind == RequestKind::Review)
            .cloned()
            .collect()
    }

    /// The most recent request.
    pub fn last_request(&self) -> Option<CapturedRequest> {
        self.lock().requests.last().cloned()
    }

    /// How many requests arrived so far.
    pub fn request_count(&self) -> usize {
        self.lock().requests.len()
    }

    /// Forgets the recorded requests (the count starts again at zero).
    pub fn clear_requests(&self) {
        self.lock().requests.clear();
        self.shared.count.send_replace(0);
    }

    /// Blocks until at least `n` requests (of any kind) arrived and returns them all. In async
    /// tests use [`wait_for_requests_async`](Self::wait_for_requests_async): blocking a
    /// single-threaded test runtime would also stop whatever drives the runtime process.
    ///
    /// # Errors
    /// [`WaitTimeout`] with what did arrive when `timeout` passes first.
    pub fn wait_for_requests(
        &self,
        n: usize,
        timeout: Duration,
    ) -> Result<Vec<CapturedRequest>, WaitTimeout> {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        while state.requests.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(WaitTimeout {
                    wanted: n,
                    received: state.requests.clone(),
                });
            }
            state = self
                .shared
                .arrived
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        Ok(state.requests.clone())
    }

    /// Like [`wait_for_requests`](Self::wait_for_requests), without blocking the async runtime.
    ///
    /// # Errors
    /// [`WaitTimeout`] with what did arrive when `timeout` passes first.
    pub async fn wait_for_requests_async(
        &self,
        n: usize,
        timeout: Duration,
    ) -> Result<Vec<CapturedRequest>, WaitTimeout> {
        let mut count = self.shared.count.subscribe();
        let reached = tokio::time::timeout(timeout, count.wait_for(|c| *c >= n)).await;
        let requests = self.requests();
        match reached {
            Ok(Ok(_)) => Ok(requests),
            _ => Err(WaitTimeout {
                wanted: n,
                received: requests,
            }),
        }
    }

    /// Stops the server and closes every connection. Idempotent; [`Drop`] calls it too. Requests
    /// arriving afterwards are refused at the TCP level.
    pub fn shutdown(&self) {
        let stop = self
            .shutdown
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some((stop_tx, thread)) = stop {
            let _ = stop_tx.send(());
            let _ = thread.join();
        }
    }

    fn lock(&self) -> MutexGuard<'_, ScriptState> {
        self.shared.lock()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, ScriptState> {
        // A panicking responder must not poison the mock for the rest of the test.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Records the request and chooses its script.
    fn record_and_pick(&self, mut request: CapturedRequest) -> Option<ResponseScript> {
        let mut state = self.lock();
        let capture_bodies = state.capture_bodies;
        let kind = request.kind;
        let picked = match kind {
            RequestKind::Other => Ok(None),
            RequestKind::Review => Ok(Some(state.review_verdict.script())),
            RequestKind::Compaction => Ok(Some(state.compaction.clone())),
            RequestKind::Turn => match state.queue.pop_front() {
                Some(script) => Ok(Some(script)),
                None => match &state.responder {
                    Some(responder) => Err(Arc::clone(responder)),
                    None => Ok(Some(state.default_response.clone())),
                },
            },
        };
        let script = match picked {
            Ok(script) => {
                if !capture_bodies {
                    request.body = Value::Null;
                }
                state.requests.push(request);
                script
            }
            Err(responder) => {
                // The responder may take its time (or call back into the mock): run it unlocked.
                drop(state);
                let script = responder(&request);
                if !capture_bodies {
                    request.body = Value::Null;
                }
                state = self.lock();
                state.requests.push(request);
                Some(script)
            }
        };
        let count = state.requests.len();
        drop(state);
        self.count.send_replace(count);
        self.arrived.notify_all();
        script
    }
}

impl Drop for MockModel {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl fmt::Debug for MockModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("MockModel")
            .field("addr", &self.addr)
            .field("queued", &state.queue.len())
            .field("requests", &state.requests.len())
            .field("responder", &state.responder.is_some())
            .field("review_verdict", &state.review_verdict)
            .finish()
    }
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let headers = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let path = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |pq| pq.as_str().to_owned());
    let index = shared.next_index.fetch_add(1, Ordering::Relaxed);
    let captured = CapturedRequest::new(index, parts.method.to_string(), path, headers, body);
    let Some(script) = shared.record_and_pick(captured) else {
        return json_response(
            404,
            r#"{"error":{"message":"not served by the mock model"}}"#,
        );
    };
    match script.render(&|| shared.next_id()) {
        Rendered::HttpError { status, body } => json_response(status, &body),
        Rendered::HangBeforeHeaders => std::future::pending().await,
        Rendered::Stream(frames) => Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "text/event-stream")
            .header(header::CACHE_CONTROL, "no-cache")
            .body(Body::from_stream(play(frames)))
            .expect("valid SSE response"),
    }
}

fn json_response(status: u16, body: &str) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .expect("valid error response")
}

/// Plays frames back as a body stream: data is written, sleeps wait, `Cut` fails the body (hyper
/// then aborts the connection mid-chunk) and `Hang` never yields again.
fn play(
    frames: Vec<Frame>,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    futures::stream::unfold(frames.into_iter(), |mut frames| async move {
        loop {
            match frames.next()? {
                Frame::Data(bytes) => return Some((Ok(bytes), frames)),
                Frame::Sleep(duration) => tokio::time::sleep(duration).await,
                Frame::Cut => {
                    return Some((
                        Err(std::io::Error::new(
                            std::io::ErrorKind::ConnectionAborted,
                            "scripted stream cut",
                        )),
                        frames,
                    ))
                }
                Frame::Hang => std::future::pending::<()>().await,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;

    /// Posts `body` to the mock with a plain socket and returns the whole HTTP response.
    fn post(model: &MockModel, headers: &str, body: &str) -> String {
        let mut stream = TcpStream::connect(model.addr()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(
            stream,
            "POST /v1/responses HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
             connection: close\r\n{headers}content-length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response);
        response
    }

    #[test]
    fn queue_then_default_from_a_sync_test() {
        let model = MockModel::start().unwrap();
        model.push(
            ResponseScript::new()
                .message(AssistantMessage::final_answer("Hello there").chunks(2))
                .usage(Usage::new(10, 2)),
        );
        let first = post(&model, "", r#"{"input":[]}"#);
        assert!(first.starts_with("HTTP/1.1 200"), "{first}");
        assert!(first.contains("text/event-stream"));
        assert!(first.contains("event: response.output_text.delta\ndata: "));
        assert!(first.contains(r#""phase":"final_answer""#));
        assert!(first.contains(r#""total_tokens":12"#));
        let second = post(&model, "", "{}");
        assert!(second.contains(r#""text":"ok""#), "default reply: {second}");
        let requests = model.wait_for_requests(2, Duration::from_secs(5)).unwrap();
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[0].body, serde_json::json!({"input": []}));
    }

    #[test]
    fn review_and_compaction_do_not_consume_the_queue() {
        let model = MockModel::start().unwrap();
        model.push(ResponseScript::text("queued"));
        model.set_review_verdict(Verdict::Deny);
        let review = post(&model, "x-openai-subagent: guardian\r\n", "{}");
        assert!(review.contains(r#"\"outcome\":\"deny\""#), "{review}");
        let compaction = post(
            &model,
            "x-codex-turn-metadata: {\"request_kind\":\"compaction\"}\r\n",
            "{}",
        );
        assert!(
            compaction.contains("Summary of the conversation"),
            "{compaction}"
        );
        assert_eq!(model.queued(), 1);
        let turn = post(&model, "", "{}");
        assert!(turn.contains("queued"));
        let kinds: Vec<_> = model.requests().iter().map(|r| r.kind).collect();
        assert_eq!(
            kinds,
            vec![
                RequestKind::Review,
                RequestKind::Compaction,
                RequestKind::Turn
            ]
        );
    }

    #[test]
    fn responder_errors_and_shutdown() {
        let model = MockModel::start().unwrap();
        model.set_responder(|request| ResponseScript::text(format!("echo {}", request.body["n"])));
        model.push(ResponseScript::server_overloaded());
        let overloaded = post(&model, "", "{}");
        assert!(overloaded.starts_with("HTTP/1.1 503"), "{overloaded}");
        assert!(overloaded.contains("server_is_overloaded"));
        let echoed = post(&model, "", r#"{"n":7}"#);
        assert!(echoed.contains("echo 7"), "{echoed}");
        model.push(ResponseScript::hang_before_headers());
        let addr = model.addr();
        let hanging = std::thread::spawn(move || {
            let mut stream = TcpStream::connect(addr).unwrap();
            stream
                .write_all(b"POST /v1/responses HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}")
                .unwrap();
            let mut buf = Vec::new();
            let _ = stream.read_to_end(&mut buf);
            buf
        });
        model.wait_for_requests(3, Duration::from_secs(5)).unwrap();
        let started = Instant::now();
        model.shutdown();
        assert!(
            hanging.join().unwrap().is_empty(),
            "closed without an answer"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(TcpStream::connect(addr).is_err(), "refused after shutdown");
    }

    #[test]
    fn serves_hundreds_of_requests_on_one_keep_alive_connection() {
        use std::io::{BufRead, BufReader};
        let model = MockModel::start().unwrap();
        model.set_capture_bodies(false);
        let mut stream = TcpStream::connect(model.addr()).unwrap();
        stream.set_nodelay(true).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let body = format!(r#"{{"input":[],"tools":"{}"}}"#, "x".repeat(30_000));
        let request = format!(
            "POST /v1/responses HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        let started = Instant::now();
        for _ in 0..200 {
            stream.write_all(request.as_bytes()).unwrap();
            let mut line = String::new();
            // Headers, then the chunked body up to its terminating zero-size chunk.
            while line != "\r\n" {
                line.clear();
                reader.read_line(&mut line).unwrap();
            }
            loop {
                line.clear();
                reader.read_line(&mut line).unwrap();
                let size = usize::from_str_radix(line.trim(), 16).unwrap();
                let mut chunk = vec![0; size + 2];
                reader.read_exact(&mut chunk).unwrap();
                if size == 0 {
                    break;
                }
            }
        }
        let elapsed = started.elapsed();
        assert_eq!(model.request_count(), 200);
        assert!(model.requests()[0].body.is_null(), "bodies not kept");
        // About 0.5 ms per request in a debug build; generous for loaded machines.
        assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    }
}
