//! Rust futures as asyncio awaitables, and the one tokio runtime they run on.
//!
//! An awaitable is an `asyncio.Future` of the running loop; a tokio task drives the Rust future
//! and hands its outcome to the loop with `call_soon_threadsafe`. Cancelling the asyncio future
//! aborts the task (so the Rust future is dropped, which is how a cancelled `run()` interrupts
//! its turn).
//!
//! Why not a bridge crate: a tokio worker that takes the GIL while the interpreter is finalizing
//! kills the process (`PyGILState_Release ... finalizing`). Here every task that may take the
//! GIL is counted, and an `atexit` hook ([`shutdown`]) stops new ones from taking it and waits
//! (GIL released, at most [`EXIT_WAIT`]) for those already under way.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::types::PyCFunction;
use pyo3::BoundObject;

/// The longest the exit hook waits for tasks that are handing a result to Python.
const EXIT_WAIT: Duration = Duration::from_secs(2);

static EXITING: AtomicBool = AtomicBool::new(false);
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// The runtime every SDK future of the extension runs on (blocking calls drive theirs with
/// `block_on` from the calling thread; awaitables are tasks on its workers).
pub(crate) fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .thread_name("openai-codex-py")
            .enable_all()
            .build()
            .expect("cannot start the tokio runtime of openai_codex_rs")
    })
}

/// Counts a task that may take the GIL until it is dropped.
struct InFlight;

impl InFlight {
    fn new() -> Self {
        IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
        Self
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The `atexit` hook: from now on no task takes the GIL; waits for those that already might.
#[pyfunction]
pub fn shutdown(py: Python<'_>) {
    EXITING.store(true, Ordering::SeqCst);
    py.detach(|| {
        let deadline = Instant::now() + EXIT_WAIT;
        while IN_FLIGHT.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    });
}

/// An `asyncio.Future` on the running loop that resolves to `fut`'s value or raises its error.
pub(crate) fn awaitable<'py, T>(
    py: Python<'py>,
    fut: impl Future<Output = PyResult<T>> + Send + 'static,
) -> PyResult<Bound<'py, PyAny>>
where
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    let event_loop = py.import("asyncio")?.call_method0("get_running_loop")?;
    let future = event_loop.call_method0("create_future")?;
    let bridge = py.import("openai_codex_rs._bridge")?;
    let resolve = bridge.getattr("_resolve")?.unbind();
    let reject = bridge.getattr("_reject")?.unbind();
    let loop_ref = event_loop.unbind();
    let future_ref = future.clone().unbind();
    let in_flight = InFlight::new();
    let task = runtime().spawn(async move {
        let outcome = fut.await;
        if EXITING.load(Ordering::SeqCst) {
            // The interpreter is going away: nobody awaits this any more, and taking the GIL
            // now could kill the process. The Python references are released without it.
            drop(in_flight);
            return;
        }
        Python::attach(|py| {
            let (callback, value) = match outcome.and_then(|v| {
                v.into_pyobject(py)
                    .map(|o| o.into_bound().into_any().unbind())
                    .map_err(Into::into)
            }) {
                Ok(value) => (resolve, value),
                Err(error) => (reject, error.into_value(py).into_any()),
            };
            // A closed loop means nobody waits for the result; there is nothing to tell.
            let _ =
                loop_ref.call_method1(py, "call_soon_threadsafe", (callback, future_ref, value));
        });
        drop(in_flight);
    });
    let abort = task.abort_handle();
    let on_done = PyCFunction::new_closure(
        py,
        None,
        None,
        move |args: &Bound<'_, pyo3::types::PyTuple>, _kwargs| -> PyResult<()> {
            let done = args.get_item(0)?;
            if done.call_method0("cancelled")?.is_truthy()? {
                abort.abort();
            }
            Ok(())
        },
    )?;
    future.call_method1("add_done_callback", (on_done,))?;
    Ok(future)
}
