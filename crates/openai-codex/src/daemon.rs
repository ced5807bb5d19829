//! The runtime's managed local daemon: one app-server per `CODEX_HOME` that several programs on
//! the machine share.
//!
//! `codex app-server daemon start` (runtime 0.163.0) copies the runtime into
//! `CODEX_HOME/packages/app-server-daemon/` (about 360 MB, once), starts it detached as
//! `codex app-server --listen unix:// --managed-daemon` and prints one JSON line with its pid and
//! socket. The control socket is `CODEX_HOME/app-server-control/app-server-control.sock`, a
//! symlink to a socket under the system temp folder; it speaks the same WebSocket-over-Unix as
//! `--listen unix://PATH`. (A plain `codex app-server --listen unix://` for that home listens on
//! the very same control socket, so programs find it the same way.)
//!
//! [`AsyncLocalDaemon`] runs those commands (`status`, `start`, `stop`) with the runtime the
//! configuration resolves, and connects a client to the daemon, starting it when it is not
//! running. [`Endpoint::local_daemon`] with [`Endpoint::start_if_needed`] does the same inside
//! [`AsyncCodex::connect`] (and on every reconnect, so a daemon that died is started again).
//!
//! The daemon's `pid-update-loop` helper keeps running after `daemon stop` in 0.163.0;
//! [`AsyncLocalDaemon::stop`] ends it too, so stopping leaves no process behind.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::codex::AsyncCodex;
use crate::config::CodexConfig;
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::transport::Transport;

/// Bound on one daemon command. `start` copies the runtime into the home the first time.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(180);
/// How long `stop` waits for the daemon's processes to exit.
const EXIT_WAIT: Duration = Duration::from_secs(5);

/// What a daemon command reported (`codex app-server daemon start|stop|version` print JSON).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct DaemonStatus {
    /// The runtime's word: `started`, `alreadyRunning`, `running`, `stopped` or `notRunning`.
    pub status: String,
    /// Whether the daemon runs (after the command).
    pub running: bool,
    /// The daemon's process id, when the command names it (`start`).
    pub pid: Option<u32>,
    /// The control socket.
    pub socket_path: Option<PathBuf>,
    /// The version of the running app-server, when it answered.
    pub app_server_version: Option<String>,
    /// The version of the runtime that ran the command.
    pub cli_version: Option<String>,
    /// The whole JSON the command printed (`Null` when it printed none).
    pub raw: Value,
}

impl DaemonStatus {
    fn parse(raw: Value) -> Self {
        let text = |key: &str| raw.get(key).and_then(Value::as_str).map(str::to_string);
        let status = text("status").unwrap_or_default();
        Self {
            running: matches!(status.as_str(), "started" | "alreadyRunning" | "running"),
            pid: raw
                .get("pid")
                .and_then(Value::as_u64)
                .and_then(|p| u32::try_from(p).ok()),
            socket_path: text("socketPath").map(PathBuf::from),
            app_server_version: text("appServerVersion"),
            cli_version: text("cliVersion"),
            status,
            raw,
        }
    }

    fn not_running() -> Self {
        Self {
            status: "notRunning".into(),
            running: false,
            pid: None,
            socket_path: None,
            app_server_version: None,
            cli_version: None,
            raw: Value::Null,
        }
    }
}

/// The managed local daemon of one `CODEX_HOME`.
///
/// The configuration says which runtime runs the daemon commands (resolved as for
/// [`AsyncCodex::new`]) and with which environment; `CODEX_HOME` is always `codex_home`.
///
/// # Examples
///
/// ```no_run
/// use openai_codex::{AsyncLocalDaemon, CodexConfig, ThreadStartOptions, TurnOptions};
///
/// # async fn example() -> openai_codex::Result<()> {
/// let home = dirs::home_dir().unwrap().join(".codex");
/// let daemon = AsyncLocalDaemon::new(home, CodexConfig::default());
/// // Starts the daemon unless it runs already; other programs connect to the same one.
/// let codex = daemon.connect().await?;
/// let thread = codex.thread_start(ThreadStartOptions::default()).await?;
/// thread.run("Hello", TurnOptions::default()).await?;
/// codex.close().await; // the daemon keeps running
/// daemon.stop().await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct AsyncLocalDaemon {
    codex_home: PathBuf,
    config: CodexConfig,
}

impl AsyncLocalDaemon {
    /// The daemon of `codex_home`, managed with the runtime `config` resolves.
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::{AsyncLocalDaemon, CodexConfig};
    ///
    /// let daemon = AsyncLocalDaemon::new("/home/me/.codex", CodexConfig::default());
    /// assert!(daemon.endpoint().to_string().ends_with("app-server-control.sock"));
    /// ```
    pub fn new(codex_home: impl Into<PathBuf>, config: CodexConfig) -> Self {
        Self {
            codex_home: codex_home.into(),
            config,
        }
    }

    /// The `CODEX_HOME` this daemon serves.
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::{AsyncLocalDaemon, CodexConfig};
    ///
    /// let daemon = AsyncLocalDaemon::new("/home/me/.codex", CodexConfig::default());
    /// assert_eq!(daemon.codex_home(), std::path::Path::new("/home/me/.codex"));
    /// ```
    pub fn codex_home(&self) -> &Path {
        &self.codex_home
    }

    /// The daemon's control socket as an endpoint that starts the daemon when it is not
    /// running ([`Endpoint::local_daemon`] + [`Endpoint::start_if_needed`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::{AsyncLocalDaemon, CodexConfig};
    ///
    /// let daemon = AsyncLocalDaemon::new("/home/me/.codex", CodexConfig::default());
    /// assert!(daemon.endpoint().is_unix());
    /// ```
    pub fn endpoint(&self) -> Endpoint {
        Endpoint::local_daemon(&self.codex_home).start_if_needed()
    }

    /// Connects a client to the daemon, starting it first when it is not running. Closing the
    /// client leaves the daemon running for the other programs.
    ///
    /// # Errors
    /// As [`AsyncLocalDaemon::start`] and [`AsyncCodex::connect`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(daemon: openai_codex::AsyncLocalDaemon) -> openai_codex::Result<()> {
    /// let codex = daemon.connect().await?;
    /// println!("daemon runtime {}", codex.metadata().server_version);
    /// # Ok(()) }
    /// ```
    pub async fn connect(&self) -> Result<AsyncCodex> {
        AsyncCodex::connect(self.endpoint(), self.config.clone()).await
    }

    /// Whether the daemon runs, and its versions (`codex app-server daemon version`).
    ///
    /// # Errors
    /// [`Error::Daemon`] when the command fails for another reason than a daemon that is not
    /// running; as [`crate::CodexConfig::resolve_or_install`] when no runtime is found.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(daemon: openai_codex::AsyncLocalDaemon) -> openai_codex::Result<()> {
    /// if !daemon.status().await?.running {
    ///     daemon.start().await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn status(&self) -> Result<DaemonStatus> {
        let output = self.run("version").await?;
        let socket = crate::endpoint::daemon_socket_path(&self.codex_home);
        // `exists` follows the symlink: a dangling one (the daemon's socket gone) is no daemon.
        if !output.status.success() && !socket.exists() {
            return Ok(DaemonStatus::not_running());
        }
        self.parse(output, "version")
    }

    /// Starts the daemon unless it runs already (`codex app-server daemon start`). The first
    /// start in a home copies the runtime into it (about 360 MB).
    ///
    /// # Errors
    /// [`Error::Daemon`] with the command's output when it fails; as
    /// [`crate::CodexConfig::resolve_or_install`] when no runtime is found.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(daemon: openai_codex::AsyncLocalDaemon) -> openai_codex::Result<()> {
    /// let status = daemon.start().await?;
    /// println!("{} (pid {:?})", status.status, status.pid);
    /// # Ok(()) }
    /// ```
    pub async fn start(&self) -> Result<DaemonStatus> {
        let output = self.run("start").await?;
        self.parse(output, "start")
    }

    /// Stops the daemon (`codex app-server daemon stop`) and waits until its processes have
    /// exited, its `pid-update-loop` helper included (the runtime leaves that one running).
    /// Every client connected to it loses its connection.
    ///
    /// # Errors
    /// [`Error::Daemon`] with the command's output when it fails, or when a daemon process is
    /// still running 5 s later.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(daemon: openai_codex::AsyncLocalDaemon) -> openai_codex::Result<()> {
    /// assert!(!daemon.stop().await?.running);
    /// # Ok(()) }
    /// ```
    pub async fn stop(&self) -> Result<DaemonStatus> {
        let state = self.codex_home.join("app-server-daemon");
        let server = pid_file(&state.join("daemon.pid"));
        let updater = pid_file(&state.join("daemon-updater.pid"));
        let output = self.run("stop").await?;
        let status = self.parse(output, "stop")?;
        let home = self.codex_home.clone();
        tokio::task::spawn_blocking(move || end_processes(&home, server, updater))
            .await
            .map_err(|e| self.failed("stop", format!("the wait for the exit failed: {e}")))??;
        Ok(status)
    }

    async fn run(&self, command: &'static str) -> Result<std::process::Output> {
        let config = self.config.clone();
        let binary = tokio::task::spawn_blocking(move || config.resolve_or_install())
            .await
            .map_err(|e| self.failed(command, format!("resolving the runtime failed: {e}")))??;
        let mut process = tokio::process::Command::new(&binary.path);
        for entry in &self.config.config_overrides {
            process.arg("--config").arg(entry);
        }
        process.args(["app-server", "daemon", command]);
        if let Some(path) =
            crate::config::child_path(&binary.path_prepend, std::env::var_os("PATH"))
        {
            process.env("PATH", path);
        }
        process
            .envs(&self.config.env)
            .env("CODEX_HOME", &self.codex_home)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(dir) = &self.config.cwd {
            process.current_dir(dir);
        }
        match tokio::time::timeout(COMMAND_TIMEOUT, process.output()).await {
            Ok(Ok(output)) => Ok(output),
            Ok(Err(source)) => Err(Error::Spawn {
                program: binary.path.display().to_string(),
                source,
            }),
            Err(_) => Err(self.failed(command, format!("no answer within {COMMAND_TIMEOUT:?}"))),
        }
    }

    fn parse(&self, output: std::process::Output, command: &'static str) -> Result<DaemonStatus> {
        let stdout = String::from_utf8_lossy(&output.stdout);
        let json = stdout
            .lines()
            .rev()
            .find_map(|line| serde_json::from_str::<Value>(line.trim()).ok())
            .filter(Value::is_object);
        match json {
            Some(raw) if output.status.success() => Ok(DaemonStatus::parse(raw)),
            _ => {
                let stderr = String::from_utf8_lossy(&output.stderr);
                // The runtime prints a backtrace after the error; its first lines say it.
                let said: Vec<&str> = stderr
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('{'))
                    .take_while(|l| !l.starts_with("Stack backtrace"))
                    .collect();
                Err(self.failed(command, format!("{} ({})", said.join(" "), output.status)))
            }
        }
    }

    fn failed(&self, command: &'static str, message: String) -> Error {
        Error::Daemon {
            command,
            codex_home: self.codex_home.display().to_string(),
            message,
        }
    }
}

/// Opens the connection to `endpoint`; for a local daemon endpoint that may start it, starts
/// the daemon when nothing listens on its socket, then connects again.
pub(crate) async fn open(endpoint: &Endpoint, config: &CodexConfig) -> Result<Transport> {
    if !endpoint.start_daemon {
        return Transport::connect(endpoint).await;
    }
    let Some(home) = endpoint.daemon_home.clone() else {
        return Err(Error::InvalidInput {
            field: "Endpoint::start_if_needed",
            message: format!(
                "`{endpoint}` is not a local daemon; only Endpoint::local_daemon(codex_home) \
                 can be started"
            ),
        });
    };
    match Transport::connect(endpoint).await {
        Err(Error::Connect { source, .. })
            if matches!(
                source.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            AsyncLocalDaemon::new(home, config.clone()).start().await?;
            Transport::connect(endpoint).await
        }
        other => other,
    }
}

/// A process recorded in one of the daemon's pid files: its id and its start time in clock
/// ticks since boot, so a recycled pid is never taken for it.
#[derive(Clone, Copy, Debug)]
struct Recorded {
    pid: u32,
    start_ticks: Option<u64>,
}

fn pid_file(path: &Path) -> Option<Recorded> {
    let raw: Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    Some(Recorded {
        pid: u32::try_from(raw.get("pid")?.as_u64()?).ok()?,
        start_ticks: raw
            .get("processIdentity")
            .and_then(|i| i.get("startTicks"))
            .and_then(Value::as_u64),
    })
}

/// Waits for the daemon to exit and ends its updater loop, which `daemon stop` leaves behind.
fn end_processes(home: &Path, server: Option<Recorded>, updater: Option<Recorded>) -> Result<()> {
    let failed = |message: String| Error::Daemon {
        command: "stop",
        codex_home: home.display().to_string(),
        message,
    };
    if let Some(updater) = updater.filter(|p| is_alive(*p, "pid-update-loop")) {
        terminate(updater.pid);
    }
    let deadline = std::time::Instant::now() + EXIT_WAIT;
    for (process, what) in [(server, "app-server"), (updater, "pid-update-loop")] {
        let Some(process) = process else { continue };
        while is_alive(process, what) {
            if std::time::Instant::now() >= deadline {
                return Err(failed(format!(
                    "the daemon's `{what}` process {} is still running",
                    process.pid
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    Ok(())
}

/// Whether the recorded process still runs (a zombie does not) with `marker` in its command
/// line. Where `/proc` is missing, nothing can be checked and the answer is no.
fn is_alive(process: Recorded, marker: &str) -> bool {
    let dir = PathBuf::from(format!("/proc/{}", process.pid));
    let Ok(stat) = std::fs::read_to_string(dir.join("stat")) else {
        return false;
    };
    // Fields after the command name, which is in parentheses and may hold spaces.
    let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
        return false;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    if fields.first() == Some(&"Z") {
        return false;
    }
    // `starttime` is field 22 of stat, the 20th after the name.
    let started = fields.get(19).and_then(|t| t.parse::<u64>().ok());
    if process.start_ticks.is_some() && started != process.start_ticks {
        return false;
    }
    std::fs::read(dir.join("cmdline"))
        .map(|cmd| String::from_utf8_lossy(&cmd).contains(marker))
        .unwrap_or(false)
}

#[cfg(unix)]
fn terminate(pid: u32) {
    if let Ok(pid) = i32::try_from(pid) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
}

#[cfg(not(unix))]
fn terminate(_pid: u32) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_runtimes_status_json() {
        let status = DaemonStatus::parse(serde_json::json!({
            "status": "started", "backend": "pid", "pid": 9848,
            "socketPath": "/h/app-server-control/app-server-control.sock",
            "cliVersion": "0.163.0", "appServerVersion": "0.163.0"
        }));
        assert!(status.running);
        assert_eq!(status.pid, Some(9848));
        assert_eq!(status.app_server_version.as_deref(), Some("0.163.0"));
        let stopped = DaemonStatus::parse(serde_json::json!({"status": "stopped"}));
        assert!(!stopped.running);
    }

    #[test]
    fn a_recycled_pid_is_not_the_recorded_process() {
        let me = Recorded {
            pid: std::process::id(),
            start_ticks: Some(u64::MAX),
        };
        assert!(!is_alive(me, ""));
    }
}
