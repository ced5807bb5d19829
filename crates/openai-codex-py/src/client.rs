//! The client, thread, turn and login objects the Python package wraps.
//!
//! Each operation comes twice: `name(...)` blocks the calling Python thread with the GIL
//! released, and `name_async(...)` returns an asyncio awaitable. Both run the same SDK future
//! on the one tokio runtime of the extension, so the blocking and async faces cannot drift.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use openai_codex::{
    AsyncChatgptLoginHandle, AsyncCodex, AsyncDeviceCodeLoginHandle, AsyncThread, AsyncTurnHandle,
    Error, TurnEvent, TurnResult, TurnStream,
};
use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::prelude::*;
use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::Mutex;

use crate::bridge::runtime;
use crate::errors::to_py_err;
use crate::options::{parse, ConfigKw, ForkKw, ListKw, ResumeKw, StartKw, TurnKw, WireInput};

/// How often a blocking wait comes back to Python to run signal handlers (Ctrl-C).
const SIGNAL_POLL: Duration = Duration::from_millis(50);

/// How long a Ctrl-C'd `run()` waits for the interrupted turn to finish before it gives up on
/// it; the turn is interrupted either way, so the client stays usable.
const INTERRUPT_GRACE: Duration = Duration::from_secs(10);

/// The most events one `next_batch` hands to Python: enough to make the per-call cost vanish
/// on a delta flood, small enough that a slow consumer holds little.
const MAX_BATCH: usize = 512;

type SdkResult<T> = openai_codex::Result<T>;

/// Runs `fut` to completion on the shared runtime with the GIL released, coming back every
/// [`SIGNAL_POLL`] to run Python's signal handlers. A handler's exception (KeyboardInterrupt)
/// abandons the call and is raised.
fn block_on<T: Send>(
    py: Python<'_>,
    fut: impl Future<Output = SdkResult<T>> + Send,
) -> PyResult<T> {
    let mut fut = std::pin::pin!(fut);
    loop {
        let step = py.detach(|| {
            runtime().block_on(async { tokio::time::timeout(SIGNAL_POLL, fut.as_mut()).await })
        });
        match step {
            Ok(result) => return result.map_err(to_py_err),
            Err(_elapsed) => py.check_signals()?,
        }
    }
}

/// An asyncio awaitable resolving to the future's value, or raising its error.
fn awaitable<'py, T>(
    py: Python<'py>,
    fut: impl Future<Output = SdkResult<T>> + Send + 'static,
) -> PyResult<Bound<'py, PyAny>>
where
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    crate::bridge::awaitable(py, async move { fut.await.map_err(to_py_err) })
}

fn to_json<T: Serialize>(value: &T) -> String {
    // Protocol values always serialize: they came from JSON.
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// A [`TurnResult`] as the JSON object `TurnResult` of the Python package is built from.
pub(crate) fn turn_result_json(result: &TurnResult) -> Value {
    json!({
        "id": result.id,
        "status": result.status,
        "error": result.error,
        "started_at": result.started_at,
        "completed_at": result.completed_at,
        "duration_ms": result.duration_ms,
        "final_response": result.final_response,
        "items": result.items,
        "usage": result.usage,
    })
}

/// A running Codex runtime and the connection to it (the SDK's [`AsyncCodex`]).
#[pyclass(frozen, module = "openai_codex_rs._core")]
#[derive(Debug)]
pub struct CoreClient {
    codex: AsyncCodex,
}

async fn start(config: openai_codex::CodexConfig) -> SdkResult<CoreClient> {
    Ok(CoreClient {
        codex: AsyncCodex::new(config).await?,
    })
}

fn thread_of(thread: SdkResult<AsyncThread>) -> SdkResult<CoreThread> {
    thread.map(|thread| CoreThread { thread })
}

/// The account and model calls, by name: each maps to one SDK call whose response is returned
/// as JSON (`null` for the calls that answer nothing).
async fn simple_call(codex: AsyncCodex, call: &str, arg: Value) -> SdkResult<String> {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    Ok(match call {
        "login_api_key" => {
            codex.login_api_key(&text(&arg)).await?;
            "null".to_owned()
        }
        "account" => to_json(&codex.account(arg.as_bool().unwrap_or(false)).await?),
        "logout" => {
            codex.logout().await?;
            "null".to_owned()
        }
        "models" => to_json(&codex.models(arg.as_bool().unwrap_or(false)).await?),
        "thread_archive" => to_json(&codex.thread_archive(&text(&arg)).await?),
        other => {
            return Err(Error::InvalidInput {
                field: "call",
                message: format!("no such call {other:?}"),
            })
        }
    })
}

#[pymethods]
impl CoreClient {
    /// Starts the runtime and runs the `initialize` handshake (blocking).
    #[staticmethod]
    fn start(py: Python<'_>, config_json: &str) -> PyResult<Self> {
        let config = parse::<ConfigKw>("CodexConfig", config_json)?.into_config()?;
        block_on(py, start(config))
    }

    /// Starts the runtime and runs the `initialize` handshake (awaitable).
    #[staticmethod]
    fn start_async<'py>(py: Python<'py>, config_json: &str) -> PyResult<Bound<'py, PyAny>> {
        let config = parse::<ConfigKw>("CodexConfig", config_json)?.into_config()?;
        awaitable(py, start(config))
    }

    /// The `initialize` response as JSON, plus where the runtime binary came from.
    fn metadata_json(&self) -> String {
        let metadata = self.codex.metadata();
        let mut raw = metadata.raw.clone();
        if let Value::Object(map) = &mut raw {
            map.insert(
                "binary".into(),
                json!(metadata.binary.as_ref().map(|p| p.display().to_string())),
            );
        }
        raw.to_string()
    }

    /// The runtime's process id (None for a connection to a running runtime).
    fn runtime_pid(&self) -> Option<u32> {
        self.codex.runtime_pid()
    }

    /// Lines of runtime stdout that were not JSON-RPC, counted and skipped.
    fn junk_lines(&self) -> u64 {
        self.codex.junk_lines()
    }

    /// Whether the client is closed or its connection is gone.
    fn is_closed(&self) -> bool {
        self.codex.is_closed()
    }

    /// Stops the runtime (blocking; idempotent).
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let codex = self.codex.clone();
        block_on(py, async move {
            codex.close().await;
            Ok(())
        })
    }

    /// Stops the runtime (awaitable; idempotent).
    fn close_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let codex = self.codex.clone();
        awaitable(py, async move {
            codex.close().await;
            Ok(())
        })
    }

    /// Any JSON-RPC request by method name; the result as JSON (blocking).
    fn request(&self, py: Python<'_>, method: String, params_json: &str) -> PyResult<String> {
        let params: Value = parse("params", params_json)?;
        let codex = self.codex.clone();
        block_on(py, async move {
            Ok(codex.request_raw(&method, params).await?.to_string())
        })
    }

    /// Any JSON-RPC request by method name; the result as JSON (awaitable).
    fn request_async<'py>(
        &self,
        py: Python<'py>,
        method: String,
        params_json: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let params: Value = parse("params", params_json)?;
        let codex = self.codex.clone();
        awaitable(py, async move {
            Ok(codex.request_raw(&method, params).await?.to_string())
        })
    }

    /// `login_api_key`, `account`, `logout`, `models` or `thread_archive` with its one
    /// argument; the response as JSON (blocking).
    fn call(&self, py: Python<'_>, name: String, arg_json: &str) -> PyResult<String> {
        let arg: Value = parse("argument", arg_json)?;
        let codex = self.codex.clone();
        block_on(py, async move { simple_call(codex, &name, arg).await })
    }

    /// [`call`](Self::call), awaitable.
    fn call_async<'py>(
        &self,
        py: Python<'py>,
        name: String,
        arg_json: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let arg: Value = parse("argument", arg_json)?;
        let codex = self.codex.clone();
        awaitable(py, async move { simple_call(codex, &name, arg).await })
    }

    /// `thread/start`.
    fn thread_start(&self, py: Python<'_>, kw_json: &str) -> PyResult<CoreThread> {
        let options = parse::<StartKw>("thread_start arguments", kw_json)?.into_options()?;
        let codex = self.codex.clone();
        block_on(
            py,
            async move { thread_of(codex.thread_start(options).await) },
        )
    }

    /// `thread/start` (awaitable).
    fn thread_start_async<'py>(
        &self,
        py: Python<'py>,
        kw_json: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = parse::<StartKw>("thread_start arguments", kw_json)?.into_options()?;
        let codex = self.codex.clone();
        awaitable(
            py,
            async move { thread_of(codex.thread_start(options).await) },
        )
    }

    /// `thread/resume`.
    fn thread_resume(&self, py: Python<'_>, id: String, kw_json: &str) -> PyResult<CoreThread> {
        let options = parse::<ResumeKw>("thread_resume arguments", kw_json)?.into_options()?;
        let codex = self.codex.clone();
        block_on(py, async move {
            thread_of(codex.thread_resume(&id, options).await)
        })
    }

    /// `thread/resume` (awaitable).
    fn thread_resume_async<'py>(
        &self,
        py: Python<'py>,
        id: String,
        kw_json: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = parse::<ResumeKw>("thread_resume arguments", kw_json)?.into_options()?;
        let codex = self.codex.clone();
        awaitable(py, async move {
            thread_of(codex.thread_resume(&id, options).await)
        })
    }

    /// `thread/fork`.
    fn thread_fork(&self, py: Python<'_>, id: String, kw_json: &str) -> PyResult<CoreThread> {
        let options = parse::<ForkKw>("thread_fork arguments", kw_json)?.into_options()?;
        let codex = self.codex.clone();
        block_on(py, async move {
            thread_of(codex.thread_fork(&id, options).await)
        })
    }

    /// `thread/fork` (awaitable).
    fn thread_fork_async<'py>(
        &self,
        py: Python<'py>,
        id: String,
        kw_json: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = parse::<ForkKw>("thread_fork arguments", kw_json)?.into_options()?;
        let codex = self.codex.clone();
        awaitable(py, async move {
            thread_of(codex.thread_fork(&id, options).await)
        })
    }

    /// `thread/unarchive`, then loaded so it can run turns.
    fn thread_unarchive(&self, py: Python<'_>, id: String) -> PyResult<CoreThread> {
        let codex = self.codex.clone();
        block_on(
            py,
            async move { thread_of(codex.thread_unarchive(&id).await) },
        )
    }

    /// `thread/unarchive` (awaitable).
    fn thread_unarchive_async<'py>(
        &self,
        py: Python<'py>,
        id: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let codex = self.codex.clone();
        awaitable(
            py,
            async move { thread_of(codex.thread_unarchive(&id).await) },
        )
    }

    /// `thread/list`; the response as JSON.
    fn thread_list(&self, py: Python<'_>, kw_json: &str) -> PyResult<String> {
        let options = parse::<ListKw>("thread_list arguments", kw_json)?.into_options();
        let codex = self.codex.clone();
        block_on(py, async move {
            Ok(to_json(&codex.thread_list(options).await?))
        })
    }

    /// `thread/list` (awaitable).
    fn thread_list_async<'py>(
        &self,
        py: Python<'py>,
        kw_json: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = parse::<ListKw>("thread_list arguments", kw_json)?.into_options();
        let codex = self.codex.clone();
        awaitable(py, async move {
            Ok(to_json(&codex.thread_list(options).await?))
        })
    }

    /// A thread object for an id, without a request.
    fn thread(&self, id: String) -> CoreThread {
        CoreThread {
            thread: self.codex.thread(id),
        }
    }

    /// `account/login/start` with a ChatGPT browser login (blocking).
    fn login_chatgpt(&self, py: Python<'_>) -> PyResult<CoreLogin> {
        let codex = self.codex.clone();
        block_on(py, async move {
            Ok(CoreLogin {
                login: Login::Browser(codex.login_chatgpt().await?),
            })
        })
    }

    /// `account/login/start` with a ChatGPT browser login (awaitable).
    fn login_chatgpt_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let codex = self.codex.clone();
        awaitable(py, async move {
            Ok(CoreLogin {
                login: Login::Browser(codex.login_chatgpt().await?),
            })
        })
    }

    /// `account/login/start` with a device code (blocking).
    fn login_chatgpt_device_code(&self, py: Python<'_>) -> PyResult<CoreLogin> {
        let codex = self.codex.clone();
        block_on(py, async move {
            Ok(CoreLogin {
                login: Login::DeviceCode(codex.login_chatgpt_device_code().await?),
            })
        })
    }

    /// `account/login/start` with a device code (awaitable).
    fn login_chatgpt_device_code_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let codex = self.codex.clone();
        awaitable(py, async move {
            Ok(CoreLogin {
                login: Login::DeviceCode(codex.login_chatgpt_device_code().await?),
            })
        })
    }
}

/// A thread (the SDK's [`AsyncThread`]).
#[pyclass(frozen, module = "openai_codex_rs._core")]
#[derive(Debug)]
pub struct CoreThread {
    thread: AsyncThread,
}

#[pymethods]
impl CoreThread {
    /// The thread id.
    #[getter]
    fn id(&self) -> String {
        self.thread.id().to_owned()
    }

    /// `turn/start`: a handle of the started (or joined) turn (blocking).
    fn turn(&self, py: Python<'_>, input_json: &str, kw_json: &str) -> PyResult<CoreTurn> {
        let input = parse::<WireInput>("input", input_json)?.into_run_input()?;
        let options = parse::<TurnKw>("turn arguments", kw_json)?.into_options()?;
        let thread = self.thread.clone();
        block_on(py, async move {
            Ok(CoreTurn::new(thread.turn(input, options).await?))
        })
    }

    /// `turn/start` (awaitable).
    fn turn_async<'py>(
        &self,
        py: Python<'py>,
        input_json: &str,
        kw_json: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let input = parse::<WireInput>("input", input_json)?.into_run_input()?;
        let options = parse::<TurnKw>("turn arguments", kw_json)?.into_options()?;
        let thread = self.thread.clone();
        awaitable(py, async move {
            Ok(CoreTurn::new(thread.turn(input, options).await?))
        })
    }

    /// `thread/read`; the response as JSON.
    fn read(&self, py: Python<'_>, include_turns: bool) -> PyResult<String> {
        let thread = self.thread.clone();
        block_on(py, async move {
            Ok(to_json(&thread.read(include_turns).await?))
        })
    }

    /// `thread/read` (awaitable).
    fn read_async<'py>(&self, py: Python<'py>, include_turns: bool) -> PyResult<Bound<'py, PyAny>> {
        let thread = self.thread.clone();
        awaitable(py, async move {
            Ok(to_json(&thread.read(include_turns).await?))
        })
    }

    /// `thread/name/set`; the response as JSON.
    fn set_name(&self, py: Python<'_>, name: String) -> PyResult<String> {
        let thread = self.thread.clone();
        block_on(
            py,
            async move { Ok(to_json(&thread.set_name(name).await?)) },
        )
    }

    /// `thread/name/set` (awaitable).
    fn set_name_async<'py>(&self, py: Python<'py>, name: String) -> PyResult<Bound<'py, PyAny>> {
        let thread = self.thread.clone();
        awaitable(
            py,
            async move { Ok(to_json(&thread.set_name(name).await?)) },
        )
    }

    /// `thread/compact/start`; the response as JSON.
    fn compact(&self, py: Python<'_>) -> PyResult<String> {
        let thread = self.thread.clone();
        block_on(py, async move { Ok(to_json(&thread.compact().await?)) })
    }

    /// `thread/compact/start` (awaitable).
    fn compact_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let thread = self.thread.clone();
        awaitable(py, async move { Ok(to_json(&thread.compact().await?)) })
    }
}

/// One consumer's stream of a turn and an error it yielded after a batch was already taken.
#[derive(Debug, Default)]
struct StreamState {
    stream: Option<TurnStream>,
    pending: Option<Error>,
    done: bool,
}

/// A turn (the SDK's [`AsyncTurnHandle`]) and the stream Python iterates.
#[pyclass(frozen, module = "openai_codex_rs._core")]
#[derive(Debug)]
pub struct CoreTurn {
    handle: AsyncTurnHandle,
    state: Arc<Mutex<StreamState>>,
}

/// One event for Python: `(method, the whole notification as JSON)`.
type WireEvent = (String, String);

fn wire_event(event: TurnEvent) -> WireEvent {
    match event {
        TurnEvent::Notification(n) => (n.method().to_owned(), to_json(&*n)),
        TurnEvent::Lagged { dropped } => (
            "sdk/lagged".to_owned(),
            json!({"method": "sdk/lagged", "params": {"dropped": dropped}}).to_string(),
        ),
        // A newer SDK's event kind: named so a program can see it, never dropped silently.
        _ => (
            "sdk/unknown".to_owned(),
            json!({"method": "sdk/unknown"}).to_string(),
        ),
    }
}

/// The next events of the turn: waits for one, then takes what is already there (up to
/// [`MAX_BATCH`]). `None` once the turn's stream has ended.
async fn next_batch(
    handle: AsyncTurnHandle,
    state: Arc<Mutex<StreamState>>,
) -> SdkResult<Option<Vec<WireEvent>>> {
    let mut state = state.lock().await;
    if let Some(error) = state.pending.take() {
        return Err(error);
    }
    if state.done {
        return Ok(None);
    }
    let stream = state.stream.get_or_insert_with(|| handle.stream());
    let first = match stream.next().await {
        None => {
            state.done = true;
            return Ok(None);
        }
        Some(event) => event?,
    };
    let mut batch = vec![wire_event(first)];
    let mut pending = None;
    let mut ended = false;
    while batch.len() < MAX_BATCH {
        match stream.next().now_or_never() {
            Some(Some(Ok(event))) => batch.push(wire_event(event)),
            Some(Some(Err(error))) => {
                pending = Some(error);
                break;
            }
            Some(None) => {
                ended = true;
                break;
            }
            None => break,
        }
    }
    state.pending = pending;
    state.done = ended;
    Ok(Some(batch))
}

impl CoreTurn {
    fn new(handle: AsyncTurnHandle) -> Self {
        Self {
            handle,
            state: Arc::default(),
        }
    }
}

async fn run_json(handle: AsyncTurnHandle) -> SdkResult<String> {
    Ok(turn_result_json(&handle.run().await?).to_string())
}

#[pymethods]
impl CoreTurn {
    /// The turn id.
    #[getter]
    fn id(&self) -> String {
        self.handle.id().to_owned()
    }

    /// The thread id.
    #[getter]
    fn thread_id(&self) -> String {
        self.handle.thread_id().to_owned()
    }

    /// The next batch of events, or None at the end (blocking).
    fn next_batch(&self, py: Python<'_>) -> PyResult<Option<Vec<WireEvent>>> {
        block_on(py, next_batch(self.handle.clone(), Arc::clone(&self.state)))
    }

    /// The next batch of events, or None at the end (awaitable).
    fn next_batch_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        awaitable(py, next_batch(self.handle.clone(), Arc::clone(&self.state)))
    }

    /// Waits for the turn to finish; the `TurnResult` as JSON (blocking). Ctrl-C interrupts the
    /// turn (`turn/interrupt`), waits for it to end, then raises `KeyboardInterrupt`.
    fn run(&self, py: Python<'_>) -> PyResult<String> {
        let handle = self.handle.clone();
        match block_on(py, run_json(handle.clone())) {
            Err(error) if error.is_instance_of::<PyKeyboardInterrupt>(py) => {
                let _ = py.detach(|| {
                    runtime().block_on(async {
                        tokio::time::timeout(INTERRUPT_GRACE, async {
                            let _ = handle.interrupt().await;
                            handle.run().await
                        })
                        .await
                    })
                });
                Err(error)
            }
            other => other,
        }
    }

    /// Waits for the turn to finish (awaitable). Cancelling the awaiting task interrupts the
    /// turn, as Ctrl-C does for `run()`.
    fn run_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let handle = self.handle.clone();
        awaitable(py, async move {
            let guard = InterruptOnDrop(Some(handle.clone()));
            let result = run_json(handle).await;
            guard.disarm();
            result
        })
    }

    /// `turn/steer`; the response as JSON (blocking).
    fn steer(&self, py: Python<'_>, input_json: &str) -> PyResult<String> {
        let input = parse::<WireInput>("input", input_json)?.into_input()?;
        let handle = self.handle.clone();
        block_on(py, async move { Ok(to_json(&handle.steer(input).await?)) })
    }

    /// `turn/steer` (awaitable).
    fn steer_async<'py>(&self, py: Python<'py>, input_json: &str) -> PyResult<Bound<'py, PyAny>> {
        let input = parse::<WireInput>("input", input_json)?.into_input()?;
        let handle = self.handle.clone();
        awaitable(py, async move { Ok(to_json(&handle.steer(input).await?)) })
    }

    /// `turn/interrupt` (blocking). An already finished turn is not an error: `{}` as the
    /// runtime answers a successful interrupt.
    fn interrupt(&self, py: Python<'_>) -> PyResult<String> {
        let handle = self.handle.clone();
        block_on(py, async move {
            handle.interrupt().await?;
            Ok("{}".to_owned())
        })
    }

    /// `turn/interrupt` (awaitable).
    fn interrupt_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let handle = self.handle.clone();
        awaitable(py, async move {
            handle.interrupt().await?;
            Ok("{}".to_owned())
        })
    }
}

/// Interrupts the turn when an awaiting task is cancelled (the future dropped mid-way).
struct InterruptOnDrop(Option<AsyncTurnHandle>);

impl InterruptOnDrop {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for InterruptOnDrop {
    fn drop(&mut self) {
        if let Some(handle) = self.0.take() {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move {
                    let _ = handle.interrupt().await;
                });
            }
        }
    }
}

/// A ChatGPT login in progress (browser or device code).
#[pyclass(frozen, module = "openai_codex_rs._core")]
#[derive(Debug)]
pub struct CoreLogin {
    login: Login,
}

#[derive(Debug, Clone)]
enum Login {
    /// `login_chatgpt()`.
    Browser(AsyncChatgptLoginHandle),
    /// `login_chatgpt_device_code()`.
    DeviceCode(AsyncDeviceCodeLoginHandle),
}

impl CoreLogin {
    fn wait_future(&self) -> impl Future<Output = SdkResult<String>> + Send + 'static {
        let handle = self.clone_inner();
        async move {
            let done = match handle {
                Login::Browser(h) => h.wait().await?,
                Login::DeviceCode(h) => h.wait().await?,
            };
            Ok(to_json(&done))
        }
    }

    fn cancel_future(&self) -> impl Future<Output = SdkResult<String>> + Send + 'static {
        let handle = self.clone_inner();
        async move {
            let done = match handle {
                Login::Browser(h) => h.cancel().await?,
                Login::DeviceCode(h) => h.cancel().await?,
            };
            Ok(to_json(&done))
        }
    }

    fn clone_inner(&self) -> Login {
        self.login.clone()
    }
}

#[pymethods]
impl CoreLogin {
    /// The login's fields as JSON (`login_id`, `auth_url` or `verification_url`/`user_code`).
    fn fields_json(&self) -> String {
        match &self.login {
            Login::Browser(h) => {
                json!({"login_id": h.login_id, "auth_url": h.auth_url}).to_string()
            }
            Login::DeviceCode(h) => json!({"login_id": h.login_id,
                    "verification_url": h.verification_url, "user_code": h.user_code})
            .to_string(),
        }
    }

    /// Waits for this login's `account/login/completed` (blocking).
    fn wait(&self, py: Python<'_>) -> PyResult<String> {
        block_on(py, self.wait_future())
    }

    /// Waits for this login's completion (awaitable).
    fn wait_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        awaitable(py, self.wait_future())
    }

    /// `account/login/cancel` (blocking).
    fn cancel(&self, py: Python<'_>) -> PyResult<String> {
        block_on(py, self.cancel_future())
    }

    /// `account/login/cancel` (awaitable).
    fn cancel_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        awaitable(py, self.cancel_future())
    }
}
