//! The WebSocket transport: a runtime listening on `ws://`, `wss://` or `unix://`.
//!
//! The connection layer (`rpc`) reads and writes JSON lines on blocking streams from OS threads,
//! which keeps stdio fast. A WebSocket connection presents the same line-oriented pair: two tasks
//! on the tokio runtime own the socket, the reader task turns every text frame into a line for
//! [`FrameReader`], and every line written to [`FrameWriter`] becomes one text frame (split into
//! continuation frames past the size the runtime advertises). So routing, handlers, turns and the
//! blocking API never see which transport carries the messages.
//!
//! A closed or dead connection (close frame, reset, no pong within the keepalive timeout) ends
//! the reader with an error naming the endpoint, which `rpc` records as the close reason for
//! every waiter.

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc as std_mpsc, Arc};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

use crate::endpoint::{Address, Endpoint, Keepalive};
use crate::error::{Error, Result};
use crate::transport::Transport;

/// The response header in which the runtime advertises the largest unfragmented message.
const MAX_UNFRAGMENTED_HEADER: &str = "x-codex-websocket-max-unfragmented-message-bytes";
/// Used when the runtime does not advertise a limit (its 0.163.0 value).
const DEFAULT_MAX_UNFRAGMENTED: usize = 16 * 1024 * 1024;
/// The largest message accepted from the runtime (a long thread's history can be large).
const MAX_INCOMING_MESSAGE: usize = 1024 * 1024 * 1024;

/// What the reader task hands to the reader thread.
enum Chunk {
    Line(Vec<u8>),
    End(String),
}

/// Opens a WebSocket connection to `endpoint` and wraps it as a line transport.
pub(crate) async fn connect(endpoint: &Endpoint) -> Result<Transport> {
    endpoint.check_credentials_transport()?;
    let name = endpoint.to_string();
    let credential = endpoint.credential_header()?;
    let mut request =
        endpoint
            .request_url()
            .into_client_request()
            .map_err(|e| Error::InvalidInput {
                field: "endpoint",
                message: format!("`{name}` is not a valid WebSocket URL: {e}"),
            })?;
    let headers = credential.iter().chain(endpoint.headers.iter());
    for (header, value) in headers {
        let header_name =
            tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(header.as_bytes())
                .map_err(|e| Error::InvalidInput {
                    field: "endpoint header",
                    message: format!("`{header}` is not a valid header name: {e}"),
                })?;
        let mut header_value = HeaderValue::from_str(value).map_err(|e| Error::InvalidInput {
            field: "endpoint header",
            message: format!("the value of `{header}` is not a valid header value: {e}"),
        })?;
        header_value.set_sensitive(true);
        request.headers_mut().append(header_name, header_value);
    }
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_INCOMING_MESSAGE))
        .max_frame_size(Some(MAX_INCOMING_MESSAGE));
    let limit = endpoint.connect_timeout;
    let timed_out = || Error::Connect {
        endpoint: name.clone(),
        source: io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no WebSocket connection within {limit:?}"),
        ),
    };
    match &endpoint.address {
        Address::Unix(path) => {
            #[cfg(unix)]
            {
                let open = async {
                    let connect = |source| Error::Connect {
                        endpoint: name.clone(),
                        source,
                    };
                    let target = socket_target(path).map_err(connect)?;
                    let stream = tokio::net::UnixStream::connect(target)
                        .await
                        .map_err(connect)?;
                    upgrade(endpoint, request, stream, config).await
                };
                tokio::time::timeout(limit, open)
                    .await
                    .map_err(|_| timed_out())?
            }
            #[cfg(not(unix))]
            {
                let _ = (path, request, config);
                Err(Error::InvalidInput {
                    field: "endpoint",
                    message: format!("`{name}`: Unix sockets are not available on this platform"),
                })
            }
        }
        Address::Web {
            secure, host, port, ..
        } => {
            let open = async {
                let tcp = tokio::net::TcpStream::connect((host.as_str(), *port))
                    .await
                    .map_err(|source| Error::Connect {
                        endpoint: name.clone(),
                        source,
                    })?;
                let _ = tcp.set_nodelay(true);
                if *secure {
                    let tls = tls_connect(endpoint, host, tcp).await?;
                    upgrade(endpoint, request, tls, config).await
                } else {
                    upgrade(endpoint, request, tcp, config).await
                }
            };
            tokio::time::timeout(limit, open)
                .await
                .map_err(|_| timed_out())?
        }
    }
}

/// The path to connect to for a Unix socket. A socket address holds about 100 bytes of path
/// (108 on Linux, 104 on macOS); the local daemon's control socket under a deep `CODEX_HOME`
/// can be longer, but it is a symlink to a short path under the temp folder, which then
/// serves. A long path that does not exist is reported as missing, not as too long.
#[cfg(unix)]
fn socket_target(path: &std::path::Path) -> io::Result<std::path::PathBuf> {
    const ROOM: usize = 100;
    if path.as_os_str().len() < ROOM {
        return Ok(path.to_path_buf());
    }
    let resolved = std::fs::canonicalize(path)?;
    Ok(if resolved.as_os_str().len() < path.as_os_str().len() {
        resolved
    } else {
        path.to_path_buf()
    })
}

async fn tls_connect(
    endpoint: &Endpoint,
    host: &str,
    tcp: tokio::net::TcpStream,
) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    use tokio_rustls::rustls;
    let name = endpoint.to_string();
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for pem in &endpoint.extra_roots_pem {
        let mut reader = pem.as_slice();
        for cert in rustls_pemfile_certs(&mut reader) {
            roots.add(cert).map_err(|e| Error::InvalidInput {
                field: "Endpoint::ca_certificate_pem",
                message: format!("not a usable CA certificate: {e}"),
            })?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls {
            endpoint: name.clone(),
            source: io::Error::other(e),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let server_name = rustls::pki_types::ServerName::try_from(host.to_string()).map_err(|e| {
        Error::InvalidInput {
            field: "endpoint",
            message: format!("`{host}` is not a valid TLS server name: {e}"),
        }
    })?;
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(server_name, tcp)
        .await
        .map_err(|source| Error::Tls {
            endpoint: name,
            source,
        })
}

/// Decodes every `CERTIFICATE` block of a PEM text.
fn rustls_pemfile_certs(
    reader: &mut &[u8],
) -> Vec<tokio_rustls::rustls::pki_types::CertificateDer<'static>> {
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::CertificateDer;
    CertificateDer::pem_slice_iter(reader)
        .filter_map(std::result::Result::ok)
        .collect()
}

async fn upgrade<S>(
    endpoint: &Endpoint,
    request: tokio_tungstenite::tungstenite::handshake::client::Request,
    stream: S,
    config: WebSocketConfig,
) -> Result<Transport>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let name = endpoint.to_string();
    let (ws, response) =
        match tokio_tungstenite::client_async_with_config(request, stream, Some(config)).await {
            Ok(pair) => pair,
            Err(WsError::Http(response)) => {
                let status = response.status().as_u16();
                let reason = response
                    .body()
                    .as_deref()
                    .map(|b| String::from_utf8_lossy(b).trim().to_string())
                    .filter(|b| !b.is_empty())
                    .unwrap_or_else(|| {
                        response
                            .status()
                            .canonical_reason()
                            .unwrap_or("no reason given")
                            .to_string()
                    });
                return Err(if status == 401 || status == 403 {
                    Error::AuthRejected {
                        endpoint: name,
                        status,
                        reason,
                    }
                } else {
                    Error::Handshake {
                        endpoint: name,
                        status: Some(status),
                        reason,
                    }
                });
            }
            Err(WsError::Io(source)) => {
                return Err(Error::Connect {
                    endpoint: name,
                    source,
                })
            }
            Err(other) => {
                return Err(Error::Handshake {
                    endpoint: name,
                    status: None,
                    reason: other.to_string(),
                })
            }
        };
    let max_unfragmented = response
        .headers()
        .get(MAX_UNFRAGMENTED_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(DEFAULT_MAX_UNFRAGMENTED);
    Ok(start_pumps(ws, name, max_unfragmented, endpoint.keepalive))
}

/// Spawns the reader and writer tasks and returns the blocking line pair over them.
fn start_pumps<S>(
    ws: WebSocketStream<S>,
    name: String,
    max_unfragmented: usize,
    keepalive: Option<Keepalive>,
) -> Transport
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sink, mut stream) = ws.split();
    let (line_tx, line_rx) = std_mpsc::channel::<Chunk>();
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<String>();
    // Set once when either side decides the connection is over; the other side stops too.
    let (dead_tx, mut dead_rx) = watch::channel::<Option<String>>(None);
    let dead_tx = Arc::new(dead_tx);
    let started = Instant::now();
    // Milliseconds since `started` at which the last frame of any kind arrived.
    let last_heard = Arc::new(AtomicU64::new(0));

    {
        let name = name.clone();
        let last_heard = Arc::clone(&last_heard);
        let dead_tx = Arc::clone(&dead_tx);
        tokio::spawn(async move {
            let end = loop {
                let next = tokio::select! {
                    next = stream.next() => next,
                    reason = wait_dead(&mut dead_rx) => break reason,
                };
                let millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                last_heard.store(millis, Ordering::Relaxed);
                match next {
                    Some(Ok(Message::Text(text))) => {
                        let mut line = Vec::with_capacity(text.len() + 1);
                        line.extend_from_slice(text.as_bytes());
                        line.push(b'\n');
                        if line_tx.send(Chunk::Line(line)).is_err() {
                            break "the client stopped reading".to_string();
                        }
                    }
                    Some(Ok(Message::Binary(data))) => {
                        let mut line = data.to_vec();
                        line.push(b'\n');
                        if line_tx.send(Chunk::Line(line)).is_err() {
                            break "the client stopped reading".to_string();
                        }
                    }
                    Some(Ok(Message::Close(frame))) => {
                        break match frame {
                            Some(frame) if !frame.reason.is_empty() => format!(
                                "the connection to {name} was closed by the runtime ({}: {})",
                                u16::from(frame.code),
                                frame.reason
                            ),
                            Some(frame) => format!(
                                "the connection to {name} was closed by the runtime (code {})",
                                u16::from(frame.code)
                            ),
                            None => format!("the connection to {name} was closed by the runtime"),
                        };
                    }
                    Some(Ok(_)) => {} // ping (answered by tungstenite), pong, raw frame
                    Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) | None => {
                        break format!("the connection to {name} was closed");
                    }
                    Some(Err(error)) => {
                        break format!("the connection to {name} failed: {error}");
                    }
                }
            };
            let _ = dead_tx.send(Some(end.clone()));
            let _ = line_tx.send(Chunk::End(end));
        });
    }

    {
        let name = name.clone();
        let dead_tx = Arc::clone(&dead_tx);
        let mut dead_rx = dead_tx.subscribe();
        tokio::spawn(async move {
            let mut ticker = keepalive.map(|k| {
                let mut t = tokio::time::interval(k.interval);
                t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                t
            });
            let failure = loop {
                let line = tokio::select! {
                    line = out_rx.recv() => line,
                    _ = async {
                        match ticker.as_mut() {
                            Some(t) => { t.tick().await; }
                            None => std::future::pending::<()>().await,
                        }
                    } => {
                        let Some(k) = keepalive else { continue };
                        let heard = Duration::from_millis(last_heard.load(Ordering::Relaxed));
                        let silent = started.elapsed().saturating_sub(heard);
                        if silent >= k.timeout {
                            break Some(format!(
                                "the connection to {name} is dead: no frame (not even a pong) for {silent:?}"
                            ));
                        }
                        if silent >= k.interval {
                            if let Err(error) = sink.send(Message::Ping(Default::default())).await {
                                break Some(format!("the connection to {name} failed: {error}"));
                            }
                        }
                        continue;
                    }
                    _ = wait_dead(&mut dead_rx) => break None,
                };
                let Some(line) = line else {
                    // The client closed: say goodbye properly.
                    let _ = sink.send(Message::Close(None)).await;
                    break None;
                };
                let mut result = send_line(&mut sink, line, max_unfragmented).await;
                // Batch whatever else is queued, then flush once.
                while result.is_ok() {
                    match out_rx.try_recv() {
                        Ok(line) => result = send_line(&mut sink, line, max_unfragmented).await,
                        Err(_) => break,
                    }
                }
                if let Err(error) = result {
                    break Some(format!("writing to {name} failed: {error}"));
                }
                if let Err(error) = sink.flush().await {
                    break Some(format!("writing to {name} failed: {error}"));
                }
            };
            if let Some(reason) = failure {
                let _ = dead_tx.send(Some(reason));
            }
        });
    }

    let closer_dead = Arc::clone(&dead_tx);
    let closer_name = name.clone();
    Transport::from_streams(
        FrameReader {
            rx: line_rx,
            current: Vec::new(),
            pos: 0,
            end: None,
        },
        FrameWriter {
            tx: out_tx,
            partial: Vec::new(),
        },
    )
    .on_close(move || {
        // The writer task has sent the close frame (its queue closed first); give the peer a
        // moment to answer it, then stop reading either way.
        std::thread::sleep(Duration::from_millis(20));
        closer_dead.send_if_modified(|dead| {
            if dead.is_none() {
                *dead = Some(format!(
                    "the connection to {closer_name} was closed by the client"
                ));
                true
            } else {
                false
            }
        });
    })
}

/// Waits until the connection is declared over and returns why (owned, so no lock is held).
async fn wait_dead(dead: &mut watch::Receiver<Option<String>>) -> String {
    match dead.wait_for(Option::is_some).await {
        Ok(reason) => reason.clone().unwrap_or_default(),
        Err(_) => String::new(),
    }
}

async fn send_line<S>(
    sink: &mut futures::stream::SplitSink<WebSocketStream<S>, Message>,
    line: String,
    max_unfragmented: usize,
) -> std::result::Result<(), WsError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    if line.len() <= max_unfragmented {
        return sink.feed(Message::Text(line.into())).await;
    }
    // Larger than the runtime takes in one frame: a text frame plus continuation frames.
    let bytes = tokio_tungstenite::tungstenite::Bytes::from(line.into_bytes());
    let mut offset = 0;
    while offset < bytes.len() {
        let end = (offset + max_unfragmented).min(bytes.len());
        let opcode = if offset == 0 {
            OpCode::Data(Data::Text)
        } else {
            OpCode::Data(Data::Continue)
        };
        let frame = Frame::message(bytes.slice(offset..end), opcode, end == bytes.len());
        sink.feed(Message::Frame(frame)).await?;
        offset = end;
    }
    Ok(())
}

/// The blocking read side: lines from the reader task, newline-terminated.
struct FrameReader {
    rx: std_mpsc::Receiver<Chunk>,
    current: Vec<u8>,
    pos: usize,
    end: Option<String>,
}

impl Read for FrameReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.current.len() {
            if let Some(end) = &self.end {
                return Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    end.clone(),
                ));
            }
            // Block for one chunk, then take whatever else is ready so the reader batches.
            let first = self.rx.recv();
            self.current.clear();
            self.pos = 0;
            let mut next = first.map_err(|_| ());
            loop {
                match next {
                    Ok(Chunk::Line(line)) => {
                        if self.current.is_empty() {
                            self.current = line;
                        } else {
                            self.current.extend_from_slice(&line);
                        }
                    }
                    Ok(Chunk::End(reason)) => {
                        self.end = Some(reason);
                        break;
                    }
                    Err(()) => {
                        self.end = Some("the WebSocket reader stopped".into());
                        break;
                    }
                }
                if self.current.len() >= buf.len() {
                    break;
                }
                next = match self.rx.try_recv() {
                    Ok(chunk) => Ok(chunk),
                    Err(std_mpsc::TryRecvError::Empty) => break,
                    Err(std_mpsc::TryRecvError::Disconnected) => Err(()),
                };
            }
            if self.current.is_empty() {
                let end = self.end.clone().unwrap_or_default();
                return Err(io::Error::new(io::ErrorKind::ConnectionAborted, end));
            }
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The blocking write side: every complete line becomes one message for the writer task.
struct FrameWriter {
    tx: mpsc::UnboundedSender<String>,
    partial: Vec<u8>,
}

impl Write for FrameWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while let Some(i) = rest.iter().position(|&b| b == b'\n') {
            let line = if self.partial.is_empty() {
                rest[..i].to_vec()
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(&rest[..i]);
                line
            };
            rest = &rest[i + 1..];
            if line.is_empty() {
                continue;
            }
            let text = String::from_utf8(line)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            self.tx
                .send(text)
                .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the connection closed"))?;
        }
        self.partial.extend_from_slice(rest);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_turns_lines_into_messages_across_writes() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut writer = FrameWriter {
            tx,
            partial: Vec::new(),
        };
        writer.write_all(b"{\"a\":1}\n{\"b\"").unwrap();
        writer.write_all(b":2}\n\n").unwrap();
        assert_eq!(rx.try_recv().unwrap(), "{\"a\":1}");
        assert_eq!(rx.try_recv().unwrap(), "{\"b\":2}");
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn reader_batches_lines_and_reports_the_end() {
        let (tx, rx) = std_mpsc::channel();
        tx.send(Chunk::Line(b"one\n".to_vec())).unwrap();
        tx.send(Chunk::Line(b"two\n".to_vec())).unwrap();
        tx.send(Chunk::End("the connection to ws://x closed".into()))
            .unwrap();
        let mut reader = FrameReader {
            rx,
            current: Vec::new(),
            pos: 0,
            end: None,
        };
        let mut buf = [0u8; 64];
        let n = reader.read(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"one\ntwo\n");
        let error = reader.read(&mut buf).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::ConnectionAborted);
        assert!(error.to_string().contains("ws://x"));
    }
}
