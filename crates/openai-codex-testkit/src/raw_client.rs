//! A tiny untyped JSON-RPC client over a child's stdio, for tests that drive a server directly
//! (the real runtime or the fake app-server) without the SDK in between.

use std::collections::VecDeque;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// A raw JSON-RPC connection to a child process speaking one JSON object per line.
#[derive(Debug)]
pub struct RawClient {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Lines<BufReader<ChildStdout>>,
    next_id: i64,
    /// Messages read while waiting for something else (notifications, server requests).
    backlog: VecDeque<Value>,
}

impl RawClient {
    /// Spawns `program args..` with extra environment variables; stderr is inherited.
    ///
    /// # Errors
    /// When the process cannot be started.
    pub fn spawn(
        program: &Path,
        args: &[&str],
        envs: &[(String, String)],
        cwd: Option<&Path>,
    ) -> std::io::Result<Self> {
        let mut command = Command::new(program);
        command
            .args(args)
            .envs(envs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        if let Some(dir) = cwd {
            command.current_dir(dir);
        }
        let mut child = command.spawn()?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout is piped");
        Ok(Self {
            child,
            stdin,
            lines: BufReader::new(stdout).lines(),
            next_id: 1,
            backlog: VecDeque::new(),
        })
    }

    /// Writes one JSON value as a line.
    ///
    /// # Errors
    /// When stdin is closed.
    pub async fn send(&mut self, message: &Value) -> std::io::Result<()> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| std::io::Error::other("stdin already closed"))?;
        let mut line = serde_json::to_vec(message)?;
        line.push(b'\n');
        stdin.write_all(&line).await?;
        stdin.flush().await
    }

    /// Writes raw bytes (for example a line that is not JSON).
    ///
    /// # Errors
    /// When stdin is closed.
    pub async fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| std::io::Error::other("stdin already closed"))?;
        stdin.write_all(bytes).await?;
        stdin.flush().await
    }

    /// Reads the next message (from the backlog first), failing after `timeout`.
    ///
    /// # Errors
    /// On timeout, EOF or a line that is not JSON.
    pub async fn next_message(&mut self, timeout: Duration) -> std::io::Result<Value> {
        if let Some(v) = self.backlog.pop_front() {
            return Ok(v);
        }
        self.read_line(timeout).await
    }

    async fn read_line(&mut self, timeout: Duration) -> std::io::Result<Value> {
        let line = tokio::time::timeout(timeout, self.lines.next_line())
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no message in time"))??
            .ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "stdout closed")
            })?;
        serde_json::from_str(&line).map_err(|e| std::io::Error::other(format!("{e}: {line}")))
    }

    /// Reads the next raw line, whatever it holds.
    ///
    /// # Errors
    /// On timeout or EOF.
    pub async fn next_line(&mut self, timeout: Duration) -> std::io::Result<String> {
        tokio::time::timeout(timeout, self.lines.next_line())
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no line in time"))??
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "stdout closed"))
    }

    /// Sends a request and waits for its response, keeping everything else in the backlog.
    /// Returns the whole response object (`result` or `error`).
    ///
    /// # Errors
    /// On timeout or EOF.
    pub async fn request(
        &mut self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> std::io::Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"id": id, "method": method, "params": params}))
            .await?;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let message = self.read_line(left).await?;
            if message.get("id") == Some(&json!(id)) && message.get("method").is_none() {
                return Ok(message);
            }
            self.backlog.push_back(message);
        }
    }

    /// Waits for the first message (backlog first) for which `pred` holds; the others are kept.
    ///
    /// # Errors
    /// On timeout or EOF.
    pub async fn wait_for(
        &mut self,
        timeout: Duration,
        mut pred: impl FnMut(&Value) -> bool,
    ) -> std::io::Result<Value> {
        if let Some(pos) = self.backlog.iter().position(&mut pred) {
            return Ok(self.backlog.remove(pos).expect("position is valid"));
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let message = self.read_line(left).await?;
            if pred(&message) {
                return Ok(message);
            }
            self.backlog.push_back(message);
        }
    }

    /// Waits for a notification with this method.
    ///
    /// # Errors
    /// On timeout or EOF.
    pub async fn wait_notification(
        &mut self,
        method: &str,
        timeout: Duration,
    ) -> std::io::Result<Value> {
        self.wait_for(timeout, |m| {
            m.get("method").and_then(Value::as_str) == Some(method) && m.get("id").is_none()
        })
        .await
    }

    /// Runs the `initialize` handshake and sends `initialized`; returns the response.
    ///
    /// # Errors
    /// On timeout, EOF or an error response.
    pub async fn initialize(&mut self, timeout: Duration) -> std::io::Result<Value> {
        let response = self
            .request(
                "initialize",
                json!({"clientInfo": {"name": "testkit", "title": "Testkit", "version": "0.0.0"},
                       "capabilities": {"experimentalApi": true}}),
                timeout,
            )
            .await?;
        if response.get("error").is_some() {
            return Err(std::io::Error::other(format!(
                "initialize failed: {response}"
            )));
        }
        self.send(&json!({"method": "initialized"})).await?;
        Ok(response)
    }

    /// Messages read but not yet consumed.
    pub fn backlog(&self) -> &VecDeque<Value> {
        &self.backlog
    }

    /// Closes stdin (the server should exit on EOF).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// The child process.
    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }

    /// Closes stdin and waits for the process to exit (killing it after `timeout`).
    ///
    /// # Errors
    /// When waiting fails.
    pub async fn shutdown(
        mut self,
        timeout: Duration,
    ) -> std::io::Result<std::process::ExitStatus> {
        self.stdin = None;
        match tokio::time::timeout(timeout, self.child.wait()).await {
            Ok(status) => status,
            Err(_) => {
                self.child.kill().await?;
                self.child.wait().await
            }
        }
    }
}
