//! The blocking face of [`AsyncLocalDaemon`].

use std::path::{Path, PathBuf};

use super::runtime::RuntimeThread;
use super::Codex;
use crate::config::CodexConfig;
use crate::daemon::{AsyncLocalDaemon, DaemonStatus};
use crate::endpoint::Endpoint;
use crate::error::Result;

/// The managed local daemon of one `CODEX_HOME` (see [`AsyncLocalDaemon`]), driven from the
/// caller's thread.
///
/// # Examples
///
/// ```no_run
/// use openai_codex::{CodexConfig, LocalDaemon, ThreadStartOptions, TurnOptions};
///
/// let daemon = LocalDaemon::new("/home/me/.codex", CodexConfig::default());
/// let codex = daemon.connect()?; // starts the daemon unless it runs already
/// let thread = codex.thread_start(ThreadStartOptions::default())?;
/// thread.run("Hello", TurnOptions::default())?;
/// codex.close();
/// daemon.stop()?;
/// # Ok::<(), openai_codex::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct LocalDaemon {
    inner: AsyncLocalDaemon,
    config: CodexConfig,
}

impl LocalDaemon {
    /// The daemon of `codex_home`; see [`AsyncLocalDaemon::new`].
    pub fn new(codex_home: impl Into<PathBuf>, config: CodexConfig) -> Self {
        Self {
            inner: AsyncLocalDaemon::new(codex_home, config.clone()),
            config,
        }
    }

    /// The `CODEX_HOME` this daemon serves.
    pub fn codex_home(&self) -> &Path {
        self.inner.codex_home()
    }

    /// The control socket as an endpoint that starts the daemon when needed; see
    /// [`AsyncLocalDaemon::endpoint`].
    pub fn endpoint(&self) -> Endpoint {
        self.inner.endpoint()
    }

    /// Connects a blocking client to the daemon, starting it first when it is not running.
    ///
    /// # Errors
    /// As [`AsyncLocalDaemon::connect`], plus [`crate::Error::BlockingInAsync`].
    pub fn connect(&self) -> Result<Codex> {
        Codex::connect(self.inner.endpoint(), self.config.clone())
    }

    /// Whether the daemon runs; see [`AsyncLocalDaemon::status`].
    ///
    /// # Errors
    /// As [`AsyncLocalDaemon::status`], plus [`crate::Error::BlockingInAsync`].
    pub fn status(&self) -> Result<DaemonStatus> {
        RuntimeThread::start()?.block_on(self.inner.status())?
    }

    /// Starts the daemon unless it runs already; see [`AsyncLocalDaemon::start`].
    ///
    /// # Errors
    /// As [`AsyncLocalDaemon::start`], plus [`crate::Error::BlockingInAsync`].
    pub fn start(&self) -> Result<DaemonStatus> {
        RuntimeThread::start()?.block_on(self.inner.start())?
    }

    /// Stops the daemon and waits for its processes to exit; see [`AsyncLocalDaemon::stop`].
    ///
    /// # Errors
    /// As [`AsyncLocalDaemon::stop`], plus [`crate::Error::BlockingInAsync`].
    pub fn stop(&self) -> Result<DaemonStatus> {
        RuntimeThread::start()?.block_on(self.inner.stop())?
    }
}
