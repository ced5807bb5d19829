//! A real runtime listening on a WebSocket (`--listen ws://127.0.0.1:PORT`) or a Unix socket
//! (`--listen unix://PATH`), for tests of the SDK's network transports.
//!
//! [`RuntimeHome::listen`] starts it with the home's environment; the bound address is read from
//! the runtime's own stderr banner (`listening on: ws://127.0.0.1:46645`), so port 0 works.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::home::RuntimeHome;

/// How long to wait for the listener to come up.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Where a listening runtime binds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Listen {
    /// `ws://127.0.0.1:PORT` (0 picks a free port).
    Loopback(u16),
    /// `unix://PATH`.
    Unix(PathBuf),
}

/// A runtime process listening for connections. Killed (and reaped) on drop.
#[derive(Debug)]
pub struct ListeningRuntime {
    child: Option<Child>,
    url: String,
    port: Option<u16>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl RuntimeHome {
    /// Starts `codex app-server --listen <listen> <extra_args..>` for this home (cwd = the
    /// workspace) and waits until it accepts connections. `extra_args` are appended verbatim,
    /// e.g. `["--ws-auth", "capability-token", "--ws-token-file", path]`.
    ///
    /// # Errors
    /// When the runtime is not found, cannot start, or does not listen within 30 s (the error
    /// carries its stderr).
    pub fn listen(
        &self,
        listen: &Listen,
        extra_args: &[&str],
    ) -> std::io::Result<ListeningRuntime> {
        let resolved = self
            .resolve_runtime()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::NotFound, e.to_string()))?;
        let url = match listen {
            Listen::Loopback(port) => format!("ws://127.0.0.1:{port}"),
            Listen::Unix(path) => format!("unix://{}", path.display()),
        };
        let mut command = Command::new(&resolved.path);
        command
            .args(["app-server", "--listen", &url])
            .args(extra_args)
            .envs(self.env_vars())
            .current_dir(self.workspace())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn()?;
        let stderr = child.stderr.take().expect("stderr is piped");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (port_tx, port_rx) = std::sync::mpsc::channel::<u16>();
        {
            let lines = Arc::clone(&lines);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if let Some(port) = bound_port(&line) {
                        let _ = port_tx.send(port);
                    }
                    lines.lock().expect("stderr lines").push(line);
                }
            });
        }
        let mut runtime = ListeningRuntime {
            child: Some(child),
            url,
            port: None,
            stderr: lines,
        };
        let deadline = Instant::now() + READY_TIMEOUT;
        match listen {
            Listen::Loopback(_) => {
                let port = port_rx
                    .recv_timeout(READY_TIMEOUT)
                    .map_err(|_| runtime.startup_error("no `listening on:` line"))?;
                runtime.port = Some(port);
                runtime.url = format!("ws://127.0.0.1:{port}");
            }
            Listen::Unix(path) => {
                while !path.exists() {
                    if Instant::now() >= deadline || runtime.exited() {
                        return Err(runtime.startup_error("the socket did not appear"));
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
        Ok(runtime)
    }
}

/// The port in the runtime's `listening on: ws://IP:PORT` banner line.
fn bound_port(line: &str) -> Option<u16> {
    let addr = line
        .split("listening on: ws://")
        .nth(1)?
        .split_whitespace()
        .next()?;
    addr.rsplit(':').next()?.parse().ok()
}

impl ListeningRuntime {
    /// The URL to connect to (`ws://127.0.0.1:PORT` with the bound port, or `unix://PATH`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The bound TCP port (WebSocket listeners only).
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The socket path (Unix listeners only).
    pub fn socket_path(&self) -> Option<&Path> {
        self.url.strip_prefix("unix://").map(Path::new)
    }

    /// The runtime's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// What the runtime wrote to stderr so far.
    pub fn stderr(&self) -> Vec<String> {
        self.stderr.lock().expect("stderr lines").clone()
    }

    /// Kills the runtime (SIGKILL) and reaps it: the abrupt death of a remote peer.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn exited(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_some())
    }

    fn startup_error(&mut self, what: &str) -> std::io::Error {
        self.kill();
        std::io::Error::other(format!(
            "the runtime did not start listening on {}: {what}; stderr:\n{}",
            self.url,
            self.stderr().join("\n")
        ))
    }
}

impl Drop for ListeningRuntime {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_port_from_the_banner() {
        assert_eq!(
            bound_port("  listening on: ws://127.0.0.1:46645"),
            Some(46645)
        );
        assert_eq!(bound_port("readyz: http://127.0.0.1:46645/readyz"), None);
    }
}
