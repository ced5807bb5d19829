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
use std::io::{Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use std::path::PathBuf;

use crate::config::{child_path, BinarySource, CodexConfig};
use crate::error::{Error, Result};

/// How many bytes of the runtime's newest stderr lines are kept. Only the newest survive.
const STDERR_RING_BYTES: usize = 64 * 1024;
/// The longest stderr line kept whole; a longer one is kept in pieces of this size.
const STDERR_MAX_LINE: usize = 4 * 1024;

/// A line-oriented duplex connection to an app-server.
pub struct Transport {
    pub(crate) reader: Box<dyn Read + Send>,
    pub(crate) writer: Box<dyn Write + Send>,
    pub(crate) process: Option<ChildProcess>,
    /// Called once on close, after writing stopped (e.g. to shut a socket down both ways).
    pub(crate) closer: Option<Box<dyn FnOnce() + Send>>,
    /// The executable started and how it was found (for metadata and the version gate).
    pub(crate) launched: Option<(PathBuf, BinarySource)>,
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
            launched: None,
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
    /// with piped stdio; its stderr is drained into a ring of recent lines. When no runtime is
    /// found and the configuration allows it, the pinned runtime is installed first
    /// ([`CodexConfig::resolve_or_install`]), which blocks for the download.
    ///
    /// # Errors
    /// [`Error::RuntimeNotFound`] when no binary is found, [`Error::RuntimeInstall`] when
    /// installing it failed, [`Error::Spawn`] when it cannot start.
    pub fn spawn_stdio(config: &CodexConfig) -> Result<Self> {
        let (mut command, launched) = build_command(config)?;
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
            launched: Some(launched),
        })
    }
}

/// The argv and environment for launching the runtime.
fn build_command(config: &CodexConfig) -> Result<(Command, (PathBuf, BinarySource))> {
    let mut command;
    let launched;
    if let Some(argv) = &config.launch_args_override {
        let (program, args) = argv.split_first().ok_or(Error::InvalidInput {
            field: "launch_args_override",
            message: "must contain at least the program".into(),
        })?;
        command = Command::new(program);
        command.args(args);
        launched = (PathBuf::from(program), BinarySource::LaunchOverride);
    } else {
        let binary = config.resolve_or_install()?;
        command = Command::new(&binary.path);
        launched = (binary.path.clone(), binary.source);
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
    Ok((command, launched))
}

/// The newest stderr lines of the runtime, ANSI colour codes stripped, bounded by bytes.
///
/// Lines end at `\n` or `\r` (progress bars redraw with `\r` and may never write a newline). A
/// line longer than [`STDERR_MAX_LINE`] is kept in pieces of at most that size, so nothing
/// buffers more than that while waiting for a line end, however the runtime writes.
#[derive(Debug, Default)]
pub(crate) struct StderrRing {
    state: Mutex<RingState>,
    /// Signalled when the drain reaches the end of stderr.
    eof: Condvar,
}

#[derive(Debug, Default)]
struct RingState {
    lines: VecDeque<String>,
    /// Total length of `lines`, at most [`STDERR_RING_BYTES`].
    bytes: usize,
    /// The line being read (no line end seen yet), at most [`STDERR_MAX_LINE`] bytes.
    partial: Vec<u8>,
    eof: bool,
}

impl RingState {
    /// Appends bytes of the current line, emitting a piece whenever it reaches the size bound.
    fn extend(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let room = STDERR_MAX_LINE - self.partial.len();
            let (now, later) = bytes.split_at(room.min(bytes.len()));
            self.partial.extend_from_slice(now);
            bytes = later;
            if self.partial.len() >= STDERR_MAX_LINE {
                // Cut on a character boundary; the rest of a split character starts the next piece.
                let cut = utf8_cut(&self.partial);
                let rest = self.partial.split_off(cut);
                self.end_line();
                self.partial = rest;
            }
        }
    }

    /// Ends the current line: keeps it (unless blank) and forgets the oldest lines past the bound.
    fn end_line(&mut self) {
        let line = strip_ansi(&String::from_utf8_lossy(&self.partial));
        self.partial.clear();
        let line = line.trim_end();
        if line.is_empty() {
            return;
        }
        tracing::debug!(target: "openai_codex::runtime_stderr", "{line}");
        self.bytes += line.len();
        self.lines.push_back(line.to_string());
        while self.bytes > STDERR_RING_BYTES {
            match self.lines.pop_front() {
                Some(old) => self.bytes -= old.len(),
                None => break,
            }
        }
    }
}

/// Where to cut a full line buffer so no UTF-8 character is split: before a trailing incomplete
/// sequence (at most 3 bytes back), else at its end.
fn utf8_cut(bytes: &[u8]) -> usize {
    let len = bytes.len();
    for back in 1..=3.min(len) {
        let byte = bytes[len - back];
        if byte & 0b1100_0000 != 0b1000_0000 {
            // The start of the last character: cut before it unless it is complete.
            let width = match byte {
                b if b < 0x80 => 1,
                b if b >= 0xF0 => 4,
                b if b >= 0xE0 => 3,
                _ => 2,
            };
            return if back < width { len - back } else { len };
        }
    }
    len
}

impl StderrRing {
    fn drain(&self, mut stderr: impl Read) {
        let mut chunk = vec![0u8; 16 * 1024];
        loop {
            let read = match stderr.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            let mut state = self.state.lock().expect("stderr ring poisoned");
            let mut rest = &chunk[..read];
            while let Some(end) = rest.iter().position(|b| *b == b'\n' || *b == b'\r') {
                state.extend(&rest[..end]);
                state.end_line();
                rest = &rest[end + 1..];
            }
            state.extend(rest);
        }
        let mut state = self.state.lock().expect("stderr ring poisoned");
        state.end_line();
        state.eof = true;
        self.eof.notify_all();
    }

    /// The newest lines, oldest first: at most `lines` of them and `bytes` bytes in all.
    pub(crate) fn tail(&self, lines: usize, bytes: usize) -> Vec<String> {
        let state = self.state.lock().expect("stderr ring poisoned");
        let mut budget = bytes;
        let mut tail: Vec<String> = state
            .lines
            .iter()
            .rev()
            .take(lines)
            .take_while(|line| {
                let fits = line.len() <= budget;
                budget = budget.saturating_sub(line.len());
                fits
            })
            .cloned()
            .collect();
        tail.reverse();
        tail
    }

    /// Bytes held: kept lines plus the unfinished one.
    #[cfg(test)]
    fn held_bytes(&self) -> usize {
        let state = self.state.lock().expect("stderr ring poisoned");
        state.bytes + state.partial.len()
    }

    /// Waits up to `limit` for the drain to reach the end of stderr; whether it has.
    fn wait_eof(&self, limit: Duration) -> bool {
        let state = self.state.lock().expect("stderr ring poisoned");
        let (state, _) = self
            .eof
            .wait_timeout_while(state, limit, |state| !state.eof)
            .expect("stderr ring poisoned");
        state.eof
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

    /// Once stdout has closed: waits until stderr has been read to its end (the exit reason is
    /// often the last thing written, after stdout closed) and the process has exited, for at
    /// most `limit`. Once the process has exited, stderr gets at most `after_exit` more: a
    /// child of the runtime may still hold it open. Returns the exit status, when known.
    pub(crate) fn finish(&self, limit: Duration, after_exit: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        let mut exited: Option<(ExitStatus, Instant)> = None;
        loop {
            if exited.is_none() {
                exited = self.try_wait().map(|status| (status, Instant::now()));
            }
            let eof = self.stderr.wait_eof(Duration::from_millis(5));
            let now = Instant::now();
            let out_of_time = now.duration_since(started) >= limit;
            match exited {
                Some((status, at)) if eof || now.duration_since(at) >= after_exit => {
                    self.join_stderr_if_done();
                    return Some(status);
                }
                _ if out_of_time => {
                    self.join_stderr_if_done();
                    return exited.map(|(status, _)| status);
                }
                _ => {}
            }
        }
    }

    fn join_stderr_if_done(&self) {
        let mut slot = self.stderr_thread.lock().expect("stderr thread poisoned");
        if slot.as_ref().is_some_and(JoinHandle::is_finished) {
            if let Some(handle) = slot.take() {
                let _ = handle.join();
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
    fn ring_keeps_the_newest_lines_within_its_byte_bound() {
        let ring = StderrRing::default();
        let text: String = (0..20_000).map(|i| format!("line {i}\n")).collect();
        ring.drain(text.as_bytes());
        assert_eq!(
            ring.tail(3, usize::MAX),
            vec!["line 19997", "line 19998", "line 19999"]
        );
        let kept = ring.tail(usize::MAX, usize::MAX);
        let bytes: usize = kept.iter().map(String::len).sum();
        assert!(bytes <= STDERR_RING_BYTES, "{bytes}");
        assert!(
            bytes > STDERR_RING_BYTES - 16,
            "the bound is used, not undershot: {bytes}"
        );
        assert_eq!(
            ring.tail(40, 29).len(),
            2,
            "the tail asked for is bounded by bytes too"
        );
    }

    #[test]
    fn carriage_returns_and_newlines_both_end_lines() {
        let ring = StderrRing::default();
        ring.drain(&b"10%\r50%\r100%\r\ndone\r\n\n\x1b[31mERROR\x1b[0m last words"[..]);
        assert_eq!(
            ring.tail(10, usize::MAX),
            vec!["10%", "50%", "100%", "done", "ERROR last words"]
        );
    }

    /// A reader that yields `total` bytes of `pattern` and, at every read, checks that the ring
    /// holds no more than its bounds allow.
    struct Flood<'a> {
        ring: &'a StderrRing,
        pattern: &'a [u8],
        left: usize,
        offset: usize,
        max_held: usize,
    }

    impl Read for Flood<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.max_held = self.max_held.max(self.ring.held_bytes());
            let n = buf.len().min(self.left);
            for byte in &mut buf[..n] {
                *byte = self.pattern[self.offset % self.pattern.len()];
                self.offset += 1;
            }
            self.left -= n;
            Ok(n)
        }
    }

    #[test]
    fn a_flood_without_any_line_end_never_buffers_more_than_the_bounds() {
        for pattern in [&b"no line end, ever. "[..], "ünïcödé ".as_bytes()] {
            let ring = StderrRing::default();
            let mut flood = Flood {
                ring: &ring,
                pattern,
                left: 32 << 20,
                offset: 0,
                max_held: 0,
            };
            ring.drain(&mut flood);
            assert!(
                flood.max_held <= STDERR_RING_BYTES + STDERR_MAX_LINE,
                "held {} bytes while reading 32 MiB",
                flood.max_held
            );
            let tail = ring.tail(usize::MAX, usize::MAX);
            assert!(tail.iter().all(|l| l.len() <= STDERR_MAX_LINE));
            assert!(
                tail.iter().all(|l| !l.contains('\u{fffd}')),
                "pieces are cut between characters"
            );
        }
    }

    #[test]
    fn launch_override_is_used_verbatim() {
        let config = CodexConfig::default().launch_args_override(["/bin/echo", "a", "b"]);
        let (command, _) = build_command(&config).unwrap();
        assert_eq!(command.get_program(), "/bin/echo");
        let args: Vec<_> = command.get_args().collect();
        assert_eq!(args, ["a", "b"]);
    }
}
