//! Transports: how bytes reach the runtime and come back.
//!
//! A [`Transport`] is a pair of blocking byte streams, one JSON message per line in each
//! direction, plus (for a spawned runtime) the child process that owns them. The connection
//! (`rpc`) runs one reader thread and one writer thread over them, so the router never sees how the
//! bytes travel: a WebSocket or Unix-socket transport only has to offer the same line-oriented
//! `Read`/`Write` pair.
//!
//! Three transports exist: [`Transport::spawn_stdio`] (the runtime as a child process),
//! [`Transport::connect`] (a runtime listening on `ws://`, `wss://` or `unix://`, see the
//! `websocket` module) and [`Transport::in_memory`] (a socket pair, for tests without any process).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::config::{child_path, CodexConfig};
use crate::error::{Error, Result};

/// How many stderr lines the ring keeps. Only the newest survive.
const STDERR_RING_LINES: usize = 400;

/// A line-oriented duplex connection to an app-server.
pub struct Transport {
    pub(crate) reader: Box<dyn Read + Send>,
    pub(crate) writer: Box<dyn Write + Send>,
    pub(crate) process: Option<ChildProcess>,
    /// Called once on close, after writing stopped (e.g. to shut a socket down both ways).
    pub(crate) closer: Option<Box<dyn FnOnce() + Send>>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("process", &self.process)
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// Wraps any pair of byte streams (for custom transports).
    pub fn from_streams(
        reader: impl Read + Send + 'static,
        writer: impl Write + Send + 'static,
    ) -> Self {
        Self {
            reader: Box::new(reader),
            writer: Box::new(writer),
            process: None,
            closer: None,
        }
    }

    /// Adds a callback run once when the connection closes (after writing stopped), for
    /// transports where dropping the writer does not end the reader (sockets).
    #[must_use]
    pub fn on_close(mut self, closer: impl FnOnce() + Send + 'static) -> Self {
        self.closer = Some(Box::new(closer));
        self
    }

    /// An in-memory transport and the peer's end of it, for tests without a process: whatever
    /// the SDK writes can be read from the peer, and lines written to the peer reach the SDK.
    ///
    /// # Errors
    /// When the OS cannot create a socket pair.
    #[cfg(unix)]
    pub fn in_memory() -> Result<(Self, std::os::unix::net::UnixStream)> {
        let (ours, theirs) = std::os::unix::net::UnixStream::pair()?;
        let writer = ours.try_clone()?;
        let closer = ours.try_clone()?;
        let transport = Self::from_streams(ours, writer).on_close(move || {
            let _ = closer.shutdown(std::net::Shutdown::Both);
        });
        Ok((transport, theirs))
    }

    /// Connects to a runtime that is already listening (`ws://`, `wss://`, `unix://`): the
    /// WebSocket upgrade (with the endpoint's credentials), then one JSON-RPC message per frame.
    ///
    /// # Errors
    /// [`Error::InsecureEndpoint`] before connecting when credentials would travel in the clear;
    /// [`Error::Connect`], [`Error::Tls`], [`Error::AuthRejected`] or [`Error::Handshake`] when
    /// the connection cannot be opened.
    pub async fn connect(endpoint: &crate::endpoint::Endpoint) -> Result<Self> {
        crate::websocket::connect(endpoint).await
    }

    /// Spawns the runtime as configured (`<codex> [--config ..] app-server --listen stdio://`)
    /// with piped stdio; its stderr is drained into a ring of recent lines.
    ///
    /// # Errors
    /// [`Error::RuntimeNotFound`] when no binary is found, [`Error::Spawn`] when it cannot start.
    pub fn spawn_stdio(config: &CodexConfig) -> Result<Self> {
        let mut command = build_command(config)?;
        let program = format!("{:?}", command.get_program());
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // A process group of its own: a terminal's Ctrl-C (SIGINT to the foreground group) is
        // for the program, which may use it to interrupt a turn, not a reason for the runtime to
        // die. The runtime still ends with the program: its stdin closes and it exits on EOF.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command
            .spawn()
            .map_err(|source| Error::Spawn { program, source })?;
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let ring = Arc::new(StderrRing::default());
        let drain = {
            let ring = Arc::clone(&ring);
            std::thread::Builder::new()
                .name("codex-stderr".into())
                .spawn(move || ring.drain(stderr))?
        };
        Ok(Self {
            reader: Box::new(stdout),
            writer: Box::new(stdin),
            process: Some(ChildProcess {
                child: Arc::new(Mutex::new(child)),
                stderr: ring,
                stderr_thread: Mutex::new(Some(drain)),
            }),
            closer: None,
        })
    }
}

/// The argv and environment for launching the runtime.
fn build_command(config: &CodexConfig) -> Result<Command> {
    let mut command;
    if let Some(argv) = &config.launch_args_override {
        let (program, args) = argv.split_first().ok_or(Error::InvalidInput {
            field: "launch_args_override",
            message: "must contain at least the program".into(),
        })?;
        command = Command::new(program);
        command.args(args);
    } else {
        let binary = config.resolve_binary()?;
        command = Command::new(&binary.path);
        for entry in &config.config_overrides {
            command.arg("--config").arg(entry);
        }
        command.args(["app-server", "--listen", "stdio://"]);
        if let Some(path) = child_path(&binary.path_prepend, std::env::var_os("PATH")) {
            command.env("PATH", path);
        }
    }
    command.envs(&config.env);
    if let Some(dir) = &config.cwd {
        command.current_dir(dir);
    }
    Ok(command)
}

/// The newest stderr lines of the runtime, ANSI colour codes stripped.
#[derive(Debug, Default)]
pub(crate) struct StderrRing {
    lines: Mutex<VecDeque<String>>,
}

impl StderrRing {
    fn drain(&self, stderr: impl Read) {
        let mut reader = BufReader::new(stderr);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = strip_ansi(&String::from_utf8_lossy(&buf));
                    let line = line.trim_end_matches(['\n', '\r']).to_string();
                    tracing::debug!(target: "openai_codex::runtime_stderr", "{line}");
                    let mut lines = self.lines.lock().expect("stderr ring poisoned");
                    if lines.len() == STDERR_RING_LINES {
                        lines.pop_front();
                    }
                    lines.push_back(line);
                }
            }
        }
    }

    /// The last `n` lines, oldest first.
    pub(crate) fn tail(&self, n: usize) -> Vec<String> {
        let lines = self.lines.lock().expect("stderr ring poisoned");
        lines
            .iter()
            .skip(lines.len().saturating_sub(n))
            .cloned()
            .collect()
    }
}

/// Removes ANSI escape sequences (`ESC [ ... letter`) from a line.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// A spawned runtime process: the child and its stderr ring.
#[derive(Debug)]
pub(crate) struct ChildProcess {
    child: Arc<Mutex<Child>>,
    pub(crate) stderr: Arc<StderrRing>,
    stderr_thread: Mutex<Option<JoinHandle<()>>>,
}

impl ChildProcess {
    /// The OS process id.
    pub(crate) fn id(&self) -> u32 {
        self.child.lock().expect("child poisoned").id()
    }

    /// The exit status if the process has exited (reaping it).
    pub(crate) fn try_wait(&self) -> Option<ExitStatus> {
        self.child
            .lock()
            .expect("child poisoned")
            .try_wait()
            .ok()
            .flatten()
    }

    /// Polls for exit for up to `limit`.
    pub(crate) fn wait_for_exit(&self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Waits (briefly) until stderr has been read to its end, so the tail is complete.
    pub(crate) fn finish_stderr(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        let mut slot = self.stderr_thread.lock().expect("stderr thread poisoned");
        if let Some(handle) = slot.as_ref() {
            while !handle.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            if handle.is_finished() {
                if let Some(handle) = slot.take() {
                    let _ = handle.join();
                }
            }
        }
    }

    /// Stops the process: wait `grace` for it to exit by itself (its stdin is already closed),
    /// then SIGTERM, wait `grace` again, then SIGKILL; always reaps it. Blocking.
    pub(crate) fn shutdown(&self, grace: Duration) -> Option<ExitStatus> {
        if let Some(status) = self.wait_for_exit(grace) {
            return Some(status);
        }
        self.terminate();
        if let Some(status) = self.wait_for_exit(grace) {
            return Some(status);
        }
        let mut child = self.child.lock().expect("child poisoned");
        let _ = child.kill();
        child.wait().ok()
    }

    #[cfg(unix)]
    fn terminate(&self) {
        use nix::sys::signal::{kill, Signal};
        use nix::unistd::Pid;
        let pid = self.id();
        if let Ok(pid) = i32::try_from(pid) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
    }

    #[cfg(not(unix))]
    fn terminate(&self) {
        let _ = self.child.lock().expect("child poisoned").kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_ansi_colours() {
        assert_eq!(
            strip_ansi("\u{1b}[2m2026\u{1b}[0m \u{1b}[31mERROR\u{1b}[0m boom"),
            "2026 ERROR boom"
        );
    }

    #[test]
    fn ring_keeps_the_newest_lines() {
        let ring = StderrRing::default();
        let text: String = (0..500).map(|i| format!("line {i}\n")).collect();
        ring.drain(text.as_bytes());
        let tail = ring.tail(3);
        assert_eq!(tail, vec!["line 497", "line 498", "line 499"]);
        assert_eq!(ring.tail(1000).len(), STDERR_RING_LINES);
    }

    #[test]
    fn launch_override_is_used_verbatim() {
        let config = CodexConfig::default().launch_args_override(["/bin/echo", "a", "b"]);
        let command = build_command(&config).unwrap();
        assert_eq!(command.get_program(), "/bin/echo");
        let args: Vec<_> = command.get_args().collect();
        assert_eq!(args, ["a", "b"]);
    }
}
