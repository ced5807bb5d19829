//! `--listen ws://127.0.0.1:PORT` and `--listen unix://PATH` for the fake app-server, as the real
//! runtime serves them: WebSocket (over TCP or the Unix socket), one JSON-RPC message per text
//! frame, the same startup banner on stderr, and the
//! `x-codex-websocket-max-unfragmented-message-bytes` header on the upgrade response. Clients are
//! served one after another, each with a fresh server state, until the process is killed.

use std::io::{self, BufReader, Read, Write};
use std::sync::mpsc as std_mpsc;

use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::Message;

use super::scenario::Scenarios;

/// The value the runtime 0.163.0 advertises.
const MAX_UNFRAGMENTED: &str = "16777216";

/// Serves `listen` (`ws://IP:PORT` or `unix://PATH`). Returns the exit code.
pub(crate) fn serve(listen: &str) -> i32 {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start a runtime: {error}");
            return 1;
        }
    };
    runtime.block_on(async {
        if let Some(addr) = listen.strip_prefix("ws://") {
            let listener = match tokio::net::TcpListener::bind(addr).await {
                Ok(listener) => listener,
                Err(error) => {
                    eprintln!("cannot bind {addr}: {error}");
                    return 1;
                }
            };
            let bound = listener
                .local_addr()
                .map_or_else(|_| addr.to_string(), |a| a.to_string());
            // The real runtime's banner, so the same port-discovery code works for both.
            eprintln!("codex app-server (WebSockets)\n  listening on: ws://{bound}");
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return 1;
                };
                let _ = stream.set_nodelay(true);
                serve_one(stream).await;
            }
        } else if let Some(path) = listen.strip_prefix("unix://") {
            let listener = match tokio::net::UnixListener::bind(path) {
                Ok(listener) => listener,
                Err(error) => {
                    eprintln!("cannot bind {path}: {error}");
                    return 1;
                }
            };
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return 1;
                };
                serve_one(stream).await;
            }
        } else {
            eprintln!("unsupported --listen {listen}");
            2
        }
    })
}

// The upgrade callback's error type is tungstenite's HTTP response, fixed by its trait.
#[allow(clippy::result_large_err)]
async fn serve_one<S>(stream: S)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let scenarios = match Scenarios::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("bad scenario: {e}");
            return;
        }
    };
    let advertise = |_: &Request, mut response: Response| {
        if let Ok(value) = MAX_UNFRAGMENTED.parse() {
            response
                .headers_mut()
                .insert("x-codex-websocket-max-unfragmented-message-bytes", value);
        }
        Ok(response)
    };
    let Ok(ws) = tokio_tungstenite::accept_hdr_async(stream, advertise).await else {
        return;
    };
    let (mut sink, mut source) = ws.split();
    let (in_tx, in_rx) = std_mpsc::channel::<Vec<u8>>();
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<String>();
    let reader = tokio::spawn(async move {
        while let Some(Ok(message)) = source.next().await {
            let mut line = match message {
                Message::Text(text) => text.as_bytes().to_vec(),
                Message::Binary(data) => data.to_vec(),
                Message::Close(_) => break,
                _ => continue,
            };
            line.push(b'\n');
            if in_tx.send(line).is_err() {
                break;
            }
        }
    });
    let writer = tokio::spawn(async move {
        while let Some(line) = out_rx.recv().await {
            if sink.feed(Message::Text(line.into())).await.is_err() {
                return;
            }
            while let Ok(line) = out_rx.try_recv() {
                if sink.feed(Message::Text(line.into())).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
        let _ = sink.send(Message::Close(None)).await;
    });
    let output = LineFrames {
        tx: out_tx,
        partial: Vec::new(),
    };
    let input = move || {
        BufReader::new(ChannelRead {
            rx: in_rx,
            current: Vec::new(),
            pos: 0,
        })
    };
    let _ = tokio::task::spawn_blocking(move || {
        super::server::run_on(scenarios, input, Box::new(output))
    })
    .await;
    reader.abort();
    let _ = writer.await;
}

/// Incoming frames as a byte stream of lines; EOF when the client is gone.
struct ChannelRead {
    rx: std_mpsc::Receiver<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
}

impl Read for ChannelRead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.current.len() {
            match self.rx.recv() {
                Ok(line) => {
                    self.current = line;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Every complete line written becomes one text frame.
struct LineFrames {
    tx: mpsc::UnboundedSender<String>,
    partial: Vec<u8>,
}

impl Write for LineFrames {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while let Some(i) = rest.iter().position(|&b| b == b'\n') {
            let mut line = std::mem::take(&mut self.partial);
            line.extend_from_slice(&rest[..i]);
            rest = &rest[i + 1..];
            if line.is_empty() {
                continue;
            }
            let text = String::from_utf8_lossy(&line).into_owned();
            self.tx
                .send(text)
                .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "client gone"))?;
        }
        self.partial.extend_from_slice(rest);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
