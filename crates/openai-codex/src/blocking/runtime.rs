//! The runtime thread every blocking handle shares.
//!
//! A [`RuntimeThread`] owns a multi-thread tokio runtime (two workers) that lives on an OS thread
//! of its own, `codex-blocking`. That thread builds the runtime, hands its [`Handle`] back, and
//! then only waits for the signal to shut down. The workers keep the async core's handler tasks
//! and timers running between the user's calls, so notifications, approvals and timeouts flow
//! even while nobody is inside a blocking method.
//!
//! A blocking call runs its future with [`Handle::block_on`] on the caller's own thread: the
//! future is polled there, while the runtime's workers drive I/O, timers and spawned tasks. That
//! needs no `'static` bound and no channel per call, and a panic in the future reaches the caller
//! as it would in async code.
//!
//! Invariants:
//! - Nothing blocks on the runtime from inside a tokio runtime: every blocking entry point calls
//!   [`ensure_blocking_allowed`] first and returns [`Error::BlockingInAsync`] instead.
//! - The runtime is created, used for the final `close()`, and dropped only on `codex-blocking`,
//!   never on a user's thread, so dropping a blocking handle never panics inside a runtime.
//! - Dropping the last handle waits for the shutdown (so the runtime process is reaped when the
//!   drop returns) only where waiting is safe: outside any tokio runtime and off the
//!   `codex-blocking` thread. Elsewhere the shutdown finishes in the background.

use std::future::Future;
use std::sync::mpsc;
use std::sync::Mutex;
use std::thread::{JoinHandle, ThreadId};
use std::time::Duration;

use tokio::runtime::Handle;

use crate::codex::AsyncCodex;
use crate::error::{Error, Result};

/// How many worker threads the blocking runtime has: one keeps handler tasks and timers going
/// while another is busy with a slow handler.
const WORKER_THREADS: usize = 2;

/// How long the runtime may take to stop its tasks after the client is closed. Handler tasks
/// that are still running (for example blocked in `spawn_blocking` on user input) are abandoned.
const RUNTIME_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(2);

/// Fails with [`Error::BlockingInAsync`] when called from inside a tokio runtime, where blocking
/// would stall (or, on a current-thread runtime, deadlock) the caller's executor.
pub(crate) fn ensure_blocking_allowed() -> Result<()> {
    if Handle::try_current().is_ok() {
        Err(Error::BlockingInAsync)
    } else {
        Ok(())
    }
}

/// A tokio runtime on a thread of its own; see the module docs.
#[derive(Debug)]
pub(crate) struct RuntimeThread {
    handle: Handle,
    /// Sends the client to close (or nothing, when the sender is dropped) and stops the runtime.
    stop: Mutex<Option<mpsc::Sender<AsyncCodex>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    thread_id: ThreadId,
}

impl RuntimeThread {
    /// Starts the `codex-blocking` thread and its runtime.
    ///
    /// # Errors
    /// [`Error::BlockingInAsync`] inside a tokio runtime; [`Error::Io`] when the thread or the
    /// runtime cannot be created.
    pub(crate) fn start() -> Result<Self> {
        ensure_blocking_allowed()?;
        let (ready_tx, ready_rx) = mpsc::sync_channel::<std::io::Result<Handle>>(1);
        let (stop_tx, stop_rx) = mpsc::channel::<AsyncCodex>();
        let thread = std::thread::Builder::new()
            .name("codex-blocking".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(WORKER_THREADS)
                    .thread_name("codex-blocking-worker")
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        let _ = ready_tx.send(Err(error));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(runtime.handle().clone()));
                drop(ready_tx);
                // Park until the last blocking handle goes away. A client arrives when one was
                // created; a dropped sender (start-up failed) just stops the runtime.
                if let Ok(codex) = stop_rx.recv() {
                    runtime.block_on(codex.close());
                    drop(codex);
                }
                runtime.shutdown_timeout(RUNTIME_SHUTDOWN_TIMEOUT);
            })?;
        let thread_id = thread.thread().id();
        let handle = match ready_rx.recv() {
            Ok(Ok(handle)) => handle,
            Ok(Err(error)) => {
                let _ = thread.join();
                return Err(Error::Io(error));
            }
            Err(_) => {
                let _ = thread.join();
                return Err(Error::Protocol(
                    "the blocking runtime thread exited during start-up".into(),
                ));
            }
        };
        Ok(Self {
            handle,
            stop: Mutex::new(Some(stop_tx)),
            thread: Mutex::new(Some(thread)),
            thread_id,
        })
    }

    /// Runs `future` to completion on the caller's thread, with the runtime driving its I/O,
    /// timers and spawned tasks.
    ///
    /// # Errors
    /// [`Error::BlockingInAsync`] inside a tokio runtime (the future is then not polled).
    pub(crate) fn block_on<F: Future>(&self, future: F) -> Result<F::Output> {
        ensure_blocking_allowed()?;
        Ok(self.handle.block_on(future))
    }

    /// Spawns a task on the runtime without waiting for it (usable from anywhere).
    pub(crate) fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(self.handle.spawn(future));
    }

    /// Closes `codex` on the runtime thread, then stops the runtime. Waits for both when that is
    /// safe (see the module docs). Idempotent.
    pub(crate) fn shutdown(&self, codex: Option<AsyncCodex>) {
        let stop = self.stop.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let (Some(stop), Some(codex)) = (stop.as_ref(), codex) {
            let _ = stop.send(codex);
        }
        drop(stop);
        let may_wait =
            Handle::try_current().is_err() && std::thread::current().id() != self.thread_id;
        if may_wait {
            let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(thread) = thread {
                // A panic on the runtime thread has nothing left to tell; never re-raise it in drop.
                let _ = thread.join();
            }
        }
    }
}

impl Drop for RuntimeThread {
    fn drop(&mut self) {
        self.shutdown(None);
    }
}
