//! The blocking face of [`AsyncCodexPool`]: the same placement, driven from the caller's thread.

use std::sync::Arc;
use std::time::Duration;

use super::runtime::RuntimeThread;
use super::{Codex, Thread};
use crate::config::CodexConfig;
use crate::error::Result;
use crate::pool::{AsyncCodexPool, MemberStatus, PoolThreadPage};
use crate::thread::{AsyncThread, ThreadListOptions, ThreadResumeOptions, ThreadStartOptions};

/// Spreads threads over several runtimes (see [`AsyncCodexPool`]). Cheap to clone; the members
/// close when the last clone is dropped (or on [`CodexPool::close`]).
///
/// # Examples
///
/// ```no_run
/// use openai_codex::{CodexConfig, CodexPool, Endpoint, ThreadStartOptions, TurnOptions};
///
/// let pool = CodexPool::new(vec![
///     CodexConfig::default(),
///     CodexConfig::default().endpoint(Endpoint::parse("unix:///run/codex.sock")?),
/// ])?;
/// let thread = pool.thread_start(ThreadStartOptions::default())?;
/// let result = thread.run("Hello", TurnOptions::default())?;
/// pool.close();
/// # Ok::<(), openai_codex::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct CodexPool {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    pool: AsyncCodexPool,
    runtime: Arc<RuntimeThread>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let pool = self.pool.clone();
        if self.runtime.block_on(pool.close()).is_err() {
            let pool = self.pool.clone();
            self.runtime.spawn(async move { pool.close().await });
        }
    }
}

impl CodexPool {
    /// Starts or connects every member; see [`AsyncCodexPool::new`].
    ///
    /// # Errors
    /// As [`AsyncCodexPool::new`], plus [`crate::Error::BlockingInAsync`].
    pub fn new(members: Vec<CodexConfig>) -> Result<Self> {
        Self::with_health_interval(members, Duration::from_secs(2))
    }

    /// [`CodexPool::new`] with another interval between health checks.
    ///
    /// # Errors
    /// As [`AsyncCodexPool::new`], plus [`crate::Error::BlockingInAsync`].
    pub fn with_health_interval(members: Vec<CodexConfig>, interval: Duration) -> Result<Self> {
        let runtime = Arc::new(RuntimeThread::start()?);
        let pool = runtime.block_on(AsyncCodexPool::with_health_interval(members, interval))??;
        Ok(Self {
            inner: Arc::new(Inner { pool, runtime }),
        })
    }

    fn wrap(&self, thread: AsyncThread) -> Thread {
        let codex = Codex::borrowed(thread.codex().clone(), Arc::clone(&self.inner.runtime));
        Thread::new(codex, thread)
    }

    /// Starts a thread on the least busy healthy member; see [`AsyncCodexPool::thread_start`].
    ///
    /// # Errors
    /// As [`AsyncCodexPool::thread_start`], plus [`crate::Error::BlockingInAsync`].
    pub fn thread_start(&self, options: ThreadStartOptions) -> Result<Thread> {
        let thread = self
            .inner
            .runtime
            .block_on(self.inner.pool.thread_start(options))??;
        Ok(self.wrap(thread))
    }

    /// Resumes a thread on its member; see [`AsyncCodexPool::thread_resume`].
    ///
    /// # Errors
    /// As [`AsyncCodexPool::thread_resume`], plus [`crate::Error::BlockingInAsync`].
    pub fn thread_resume(&self, thread_id: &str, options: ThreadResumeOptions) -> Result<Thread> {
        let thread = self
            .inner
            .runtime
            .block_on(self.inner.pool.thread_resume(thread_id, options))??;
        Ok(self.wrap(thread))
    }

    /// The index of the member a thread was placed on.
    pub fn member_of(&self, thread_id: &str) -> Option<usize> {
        self.inner.pool.member_of(thread_id)
    }

    /// One page of the threads on every member, merged; see [`AsyncCodexPool::thread_list`].
    ///
    /// # Errors
    /// As [`AsyncCodexPool::thread_list`], plus [`crate::Error::BlockingInAsync`].
    pub fn thread_list(&self, options: ThreadListOptions) -> Result<PoolThreadPage> {
        self.inner
            .runtime
            .block_on(self.inner.pool.thread_list(options))?
    }

    /// Every member's state.
    pub fn members(&self) -> Vec<MemberStatus> {
        self.inner.pool.members()
    }

    /// Checks every member now; see [`AsyncCodexPool::check_health`].
    pub fn check_health(&self) {
        let _ = self.inner.runtime.block_on(self.inner.pool.check_health());
    }

    /// Closes every member's client. Idempotent.
    pub fn close(&self) {
        let pool = self.inner.pool.clone();
        if self.inner.runtime.block_on(pool.close()).is_err() {
            let pool = self.inner.pool.clone();
            self.inner.runtime.spawn(async move { pool.close().await });
        }
    }
}
