//! A package index on 127.0.0.1 for installer tests: the simple API's JSON page for
//! `openai-codex-cli-bin` and the wheels it lists, which the tests build themselves.

#![allow(dead_code)] // each test binary uses a different part

use std::io::{BufRead, BufReader, Cursor, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

/// The pinned runtime version (the stand-in reports it unless told otherwise).
pub const PINNED: &str = openai_codex::config::PINNED_RUNTIME_VERSION;

/// A wheel file the index serves.
#[derive(Clone)]
pub struct Wheel {
    pub filename: String,
    pub bytes: Vec<u8>,
    /// The digest the index publishes (normally the real one).
    pub published_sha256: String,
}

impl Wheel {
    pub fn new(filename: impl Into<String>, bytes: Vec<u8>) -> Self {
        let published_sha256 = sha256(&bytes);
        Self {
            filename: filename.into(),
            bytes,
            published_sha256,
        }
    }

    pub fn sha256(&self) -> String {
        sha256(&self.bytes)
    }
}

pub fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The wheel file name of `version` for this machine (the platform tag the real release uses).
pub fn wheel_name(version: &str) -> String {
    let platform = if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        "manylinux_2_17_x86_64"
    } else if cfg!(all(target_os = "linux", target_arch = "aarch64")) {
        "manylinux_2_17_aarch64"
    } else if cfg!(all(target_os = "macos", target_arch = "aarch64")) {
        "macosx_11_0_arm64"
    } else if cfg!(target_os = "macos") {
        "macosx_10_9_x86_64"
    } else {
        "win_amd64"
    };
    format!("openai_codex_cli_bin-{version}-py3-none-{platform}.whl")
}

/// A `bin/codex` stand-in: prints `codex-cli <version>` for `--version`, and as an app-server
/// answers `initialize` the way the real runtime does (its user agent carries the version),
/// then reads until stdin closes.
pub fn stand_in_script(version: &str) -> String {
    format!(
        r#"#!/bin/sh
if [ "$1" = "--version" ]; then echo "codex-cli {version}"; exit 0; fi
while IFS= read -r line; do
  case "$line" in
    *'"method":"initialize"'*)
      id=$(printf '%s\n' "$line" | sed -n 's/.*"id":\([0-9][0-9]*\).*/\1/p')
      printf '{{"id":%s,"result":{{"userAgent":"openai_codex_rust/{version} (Debian 12.0.0; x86_64) xterm (openai_codex_rust; 0.1.0)","codexHome":"/home/user/.codex","platformFamily":"unix","platformOs":"linux"}}}}\n' "$id";;
  esac
done
"#
    )
}

/// Builds a wheel laid out like the real one: the runtime folders plus Python glue and
/// metadata that the installer must leave out.
pub fn build_wheel(codex_script: &str, version: &str) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let exec = SimpleFileOptions::default().unix_permissions(0o755);
    let plain = SimpleFileOptions::default().unix_permissions(0o644);
    let mut add = |name: &str, body: &[u8], options: SimpleFileOptions| {
        zip.start_file(name, options).unwrap();
        zip.write_all(body).unwrap();
    };
    add("codex_cli_bin/__init__.py", b"# glue\n", plain);
    add("codex_cli_bin/bin/codex", codex_script.as_bytes(), exec);
    add("codex_cli_bin/codex-path/rg", b"#!/bin/sh\necho rg\n", exec);
    add(
        "codex_cli_bin/codex-package.json",
        br#"{"layoutVersion":1,"entrypoint":"bin/codex","resourcesDir":"codex-resources","pathDir":"codex-path"}"#,
        plain,
    );
    // Some wheel tools drop mode bits; the installer must still make helpers executable.
    add(
        "codex_cli_bin/codex-resources/bwrap",
        b"#!/bin/sh\necho bwrap\n",
        plain,
    );
    add(
        &format!("openai_codex_cli_bin-{version}.dist-info/METADATA"),
        b"Name: openai-codex-cli-bin\n",
        plain,
    );
    zip.finish().unwrap().into_inner()
}

/// How the server answers wheel downloads.
#[derive(Default)]
struct State {
    wheels: Mutex<Vec<Wheel>>,
    /// Send the headers and half the body, then close the connection.
    cut_downloads: AtomicBool,
    downloads: AtomicUsize,
    page_hits: AtomicUsize,
}

/// The index server. It stops accepting when dropped (its listener thread is detached and
/// ends with the test process).
pub struct IndexServer {
    port: u16,
    state: Arc<State>,
}

impl IndexServer {
    pub fn start(wheels: Vec<Wheel>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(State::default());
        *state.wheels.lock().unwrap() = wheels;
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = Arc::clone(&shared);
                std::thread::spawn(move || {
                    let _ = handle(stream, port, &state);
                });
            }
        });
        Self { port, state }
    }

    /// The simple API root to configure (`http://127.0.0.1:PORT/simple`).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/simple", self.port)
    }

    pub fn cut_downloads(&self, cut: bool) {
        self.state.cut_downloads.store(cut, Ordering::SeqCst);
    }

    pub fn downloads(&self) -> usize {
        self.state.downloads.load(Ordering::SeqCst)
    }

    pub fn page_hits(&self) -> usize {
        self.state.page_hits.load(Ordering::SeqCst)
    }
}

fn handle(stream: TcpStream, port: u16, state: &State) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" || header == "\n" {
            break;
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    let mut out = stream;
    if path == "/simple/openai-codex-cli-bin/" {
        state.page_hits.fetch_add(1, Ordering::SeqCst);
        let files: Vec<serde_json::Value> = state
            .wheels
            .lock()
            .unwrap()
            .iter()
            .map(|w| {
                serde_json::json!({
                    "filename": w.filename,
                    // Relative, as mirrors often serve them.
                    "url": format!("../../files/{}", w.filename),
                    "hashes": {"sha256": w.published_sha256},
                    "requires-python": ">=3.10",
                    "yanked": false,
                })
            })
            .collect();
        let body = serde_json::json!({
            "meta": {"api-version": "1.1"},
            "name": "openai-codex-cli-bin",
            "files": files,
        })
        .to_string();
        return respond(
            &mut out,
            "200 OK",
            "application/vnd.pypi.simple.v1+json",
            body.as_bytes(),
            body.len(),
        );
    }
    if let Some(name) = path.strip_prefix("/files/") {
        let wheel = state
            .wheels
            .lock()
            .unwrap()
            .iter()
            .find(|w| w.filename == name)
            .cloned();
        if let Some(wheel) = wheel {
            state.downloads.fetch_add(1, Ordering::SeqCst);
            if state.cut_downloads.load(Ordering::SeqCst) {
                let half = &wheel.bytes[..wheel.bytes.len() / 2];
                return respond(
                    &mut out,
                    "200 OK",
                    "application/zip",
                    half,
                    wheel.bytes.len(),
                );
            }
            return respond(
                &mut out,
                "200 OK",
                "application/zip",
                &wheel.bytes,
                wheel.bytes.len(),
            );
        }
    }
    let _ = port;
    respond(&mut out, "404 Not Found", "text/plain", b"not found", 9)
}

/// Writes a response whose Content-Length is `length` (more than `body` for a cut-off one).
fn respond(
    out: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &[u8],
    length: usize,
) -> std::io::Result<()> {
    write!(
        out,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    )?;
    out.write_all(body)?;
    out.flush()?;
    out.shutdown(std::net::Shutdown::Both)
}
