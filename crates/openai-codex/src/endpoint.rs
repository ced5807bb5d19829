//! Endpoints: where a runtime that is already running listens, and how to authenticate to it.
//!
//! `codex app-server --listen ws://IP:PORT` and `--listen unix://PATH` both speak WebSocket (one
//! JSON-RPC message per text frame); the Unix listener is WebSocket over the socket, upgraded on
//! `/rpc`. An [`Endpoint`] names one of them, parsed from a URL (`unix:///path`, `ws://host:port`,
//! `wss://host:port/path`) or built in code, plus the credentials the listener expects:
//!
//! - [`Endpoint::capability_token`]: `--ws-auth capability-token` (sent as `Authorization: Bearer`);
//! - [`Endpoint::signed_bearer`]: `--ws-auth signed-bearer-token`; the SDK signs a short-lived
//!   HS256 JWT from the shared secret (issuer, audience, expiry) on every connect;
//! - [`Endpoint::header`]: any header the caller supplies (e.g. for a proxy in front).
//!
//! Credentials are only ever sent over `wss://`, a loopback `ws://` address or a Unix socket:
//! anything else fails with [`Error::InsecureEndpoint`] before a connection is opened.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};

/// The HTTP path the runtime upgrades to WebSocket on a Unix socket.
const UNIX_RPC_PATH: &str = "/rpc";
/// How long a signed bearer token stays valid by default.
const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(300);
/// Default ping interval on an idle WebSocket.
const DEFAULT_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(15);
/// Default time without any frame from the peer after which it is declared dead.
const DEFAULT_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(30);
/// Default bound on opening a connection (TCP/Unix connect, TLS and the upgrade).
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a running app-server listens and how to reach it.
///
/// # Examples
///
/// ```
/// use openai_codex::Endpoint;
///
/// let local: Endpoint = "ws://127.0.0.1:4500".parse()?;
/// assert_eq!(local.to_string(), "ws://127.0.0.1:4500/");
/// let socket = Endpoint::unix("/run/codex/app-server.sock");
/// assert_eq!(socket.to_string(), "unix:///run/codex/app-server.sock");
/// let remote = Endpoint::parse("wss://codex.internal:443")?.capability_token("s3cret");
/// assert!(!format!("{remote:?}").contains("s3cret"));
/// # Ok::<(), openai_codex::Error>(())
/// ```
#[derive(Clone)]
pub struct Endpoint {
    pub(crate) address: Address,
    pub(crate) auth: Option<Auth>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) extra_roots_pem: Vec<Vec<u8>>,
    pub(crate) keepalive: Option<Keepalive>,
    pub(crate) connect_timeout: Duration,
    /// The `CODEX_HOME` of a local daemon endpoint.
    pub(crate) daemon_home: Option<PathBuf>,
    /// Start the local daemon when nothing listens on its socket.
    pub(crate) start_daemon: bool,
}

/// The address part of an endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Address {
    /// WebSocket over a Unix socket.
    Unix(PathBuf),
    /// WebSocket over TCP, optionally with TLS.
    Web {
        secure: bool,
        host: String,
        port: u16,
        /// Path and query, starting with `/`.
        path: String,
    },
}

/// Ping/pong keepalive settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Keepalive {
    pub(crate) interval: Duration,
    pub(crate) timeout: Duration,
}

/// Credentials sent on the WebSocket upgrade request.
#[derive(Clone)]
pub(crate) enum Auth {
    CapabilityToken(String),
    SignedBearer(SignedBearer),
    Header { name: String, value: String },
}

/// The settings of `--ws-auth signed-bearer-token`: the SDK signs an HS256 JWT with the shared
/// secret on every connect.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use openai_codex::{Endpoint, SignedBearer};
///
/// let endpoint = Endpoint::parse("ws://127.0.0.1:4500")?.signed_bearer(
///     SignedBearer::new(b"the shared secret".to_vec())
///         .issuer("my-app")
///         .audience("codex-app-server")
///         .ttl(Duration::from_secs(60)),
/// );
/// # Ok::<(), openai_codex::Error>(())
/// ```
#[derive(Clone)]
pub struct SignedBearer {
    secret: Vec<u8>,
    issuer: Option<String>,
    audience: Option<String>,
    subject: Option<String>,
    ttl: Duration,
}

impl fmt::Debug for SignedBearer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedBearer")
            .field("secret", &"[redacted]")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("subject", &self.subject)
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl SignedBearer {
    /// Tokens signed with this shared secret (the bytes of `--ws-shared-secret-file`), valid for
    /// five minutes, without issuer or audience.
    ///
    /// # Examples
    ///
    /// ```
    /// let bearer = openai_codex::SignedBearer::new(std::fs::read("Cargo.toml")?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        Self {
            secret: secret.into(),
            issuer: None,
            audience: None,
            subject: None,
            ttl: DEFAULT_TOKEN_TTL,
        }
    }

    /// The `iss` claim (must match `--ws-issuer`).
    ///
    /// # Examples
    ///
    /// ```
    /// let bearer = openai_codex::SignedBearer::new(b"secret".to_vec()).issuer("my-app");
    /// ```
    #[must_use]
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// The `aud` claim (must match `--ws-audience`).
    ///
    /// # Examples
    ///
    /// ```
    /// let bearer = openai_codex::SignedBearer::new(b"secret".to_vec()).audience("codex");
    /// ```
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// The `sub` claim (who is connecting; informational).
    ///
    /// # Examples
    ///
    /// ```
    /// let bearer = openai_codex::SignedBearer::new(b"secret".to_vec()).subject("build-bot");
    /// ```
    #[must_use]
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// How long each signed token is valid (`exp = now + ttl`). A token is only checked on the
    /// upgrade, so a short lifetime does not end an open connection.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let bearer = openai_codex::SignedBearer::new(b"secret".to_vec()).ttl(Duration::from_secs(30));
    /// ```
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Signs a token valid from `now` for the configured lifetime.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the secret is empty or signing fails.
    pub fn sign_at(&self, now: SystemTime) -> Result<String> {
        #[derive(serde::Serialize)]
        struct Claims<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            iss: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            aud: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            sub: Option<&'a str>,
            iat: u64,
            exp: u64,
        }
        if self.secret.is_empty() {
            return Err(Error::InvalidInput {
                field: "SignedBearer::secret",
                message: "the shared secret is empty; pass the bytes of the runtime's --ws-shared-secret-file".into(),
            });
        }
        let iat = now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let claims = Claims {
            iss: self.issuer.as_deref(),
            aud: self.audience.as_deref(),
            sub: self.subject.as_deref(),
            iat,
            exp: iat.saturating_add(self.ttl.as_secs().max(1)),
        };
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(&self.secret),
        )
        .map_err(|error| Error::InvalidInput {
            field: "SignedBearer",
            message: format!("cannot sign the bearer token: {error}"),
        })
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::CapabilityToken(_) => f.write_str("CapabilityToken([redacted])"),
            Auth::SignedBearer(bearer) => bearer.fmt(f),
            Auth::Header { name, .. } => write!(f, "Header({name}: [redacted])"),
        }
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Endpoint")
            .field("url", &self.to_string())
            .field("auth", &self.auth)
            .field("headers", &headers)
            .field("extra_roots", &self.extra_roots_pem.len())
            .field("keepalive", &self.keepalive)
            .field("connect_timeout", &self.connect_timeout)
            .field("start_daemon", &self.start_daemon)
            .finish()
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.address {
            Address::Unix(path) => write!(f, "unix://{}", path.display()),
            Address::Web {
                secure,
                host,
                port,
                path,
            } => {
                let scheme = if *secure { "wss" } else { "ws" };
                if host.contains(':') {
                    write!(f, "{scheme}://[{host}]:{port}{path}")
                } else {
                    write!(f, "{scheme}://{host}:{port}{path}")
                }
            }
        }
    }
}

impl FromStr for Endpoint {
    type Err = Error;

    fn from_str(url: &str) -> Result<Self> {
        Self::parse(url)
    }
}

fn invalid(url: &str, message: impl fmt::Display) -> Error {
    Error::InvalidInput {
        field: "endpoint",
        message: format!(
            "`{url}`: {message}; expected unix:///absolute/path, ws://host:port or wss://host:port"
        ),
    }
}

impl Endpoint {
    fn with_address(address: Address) -> Self {
        Self {
            address,
            auth: None,
            headers: Vec::new(),
            extra_roots_pem: Vec::new(),
            keepalive: Some(Keepalive {
                interval: DEFAULT_KEEPALIVE_INTERVAL,
                timeout: DEFAULT_KEEPALIVE_TIMEOUT,
            }),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            daemon_home: None,
            start_daemon: false,
        }
    }

    /// Parses `unix:///absolute/path`, `ws://host:port[/path]` or `wss://host:port[/path]`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the problem (unknown scheme, relative socket path, missing
    /// host).
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::Endpoint;
    ///
    /// assert!(Endpoint::parse("ws://[::1]:4500").is_ok());
    /// assert!(Endpoint::parse("http://127.0.0.1:4500").is_err());
    /// ```
    pub fn parse(url: &str) -> Result<Self> {
        let url = url.trim();
        if let Some(path) = url.strip_prefix("unix://") {
            if path.is_empty() {
                return Err(invalid(
                    url,
                    "a bare unix:// names the runtime's default socket, which depends on the \
                     runtime's version; pass the socket path, or use Endpoint::local_daemon",
                ));
            }
            if !Path::new(path).is_absolute() {
                return Err(invalid(url, "the socket path must be absolute"));
            }
            return Ok(Self::unix(path));
        }
        let (secure, rest) = if let Some(rest) = url.strip_prefix("ws://") {
            (false, rest)
        } else if let Some(rest) = url.strip_prefix("wss://") {
            (true, rest)
        } else {
            return Err(invalid(url, "unsupported scheme"));
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], rest[i..].to_string()),
            None => (rest, String::new()),
        };
        let path = if path.is_empty() || path.starts_with('?') {
            format!("/{path}")
        } else {
            path
        };
        if authority.contains('@') {
            return Err(invalid(
                url,
                "credentials in the URL are not supported; use Endpoint::capability_token or Endpoint::header",
            ));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| invalid(url, "unclosed `[` in the host"))?;
            (host.to_string(), after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host.to_string(), Some(port)),
                None => (authority.to_string(), None),
            }
        };
        if host.is_empty() {
            return Err(invalid(url, "the host is missing"));
        }
        let port = match port {
            Some(port) => port
                .parse::<u16>()
                .map_err(|_| invalid(url, format!("`{port}` is not a port number")))?,
            None if secure => 443,
            None => 80,
        };
        Ok(Self::with_address(Address::Web {
            secure,
            host,
            port,
            path,
        }))
    }

    /// A runtime listening on a Unix socket (`codex app-server --listen unix://PATH`).
    ///
    /// # Examples
    ///
    /// ```
    /// let endpoint = openai_codex::Endpoint::unix("/run/codex.sock");
    /// ```
    pub fn unix(path: impl Into<PathBuf>) -> Self {
        Self::with_address(Address::Unix(path.into()))
    }

    /// The control socket of the runtime's managed local daemon (`codex app-server daemon
    /// start`): `<CODEX_HOME>/app-server-control/app-server-control.sock`. Connecting fails with
    /// [`Error::Connect`] when the daemon is not running, unless
    /// [`Endpoint::start_if_needed`] asks to start it (see [`crate::AsyncLocalDaemon`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let endpoint = openai_codex::Endpoint::local_daemon("/home/me/.codex");
    /// assert!(endpoint.to_string().ends_with("app-server-control/app-server-control.sock"));
    /// ```
    pub fn local_daemon(codex_home: impl AsRef<Path>) -> Self {
        let mut endpoint = Self::unix(daemon_socket_path(codex_home.as_ref()));
        endpoint.daemon_home = Some(codex_home.as_ref().to_path_buf());
        endpoint
    }

    /// For an [`Endpoint::local_daemon`]: when nothing listens on the control socket, start the
    /// daemon (`codex app-server daemon start`, with the runtime and environment of the
    /// client's [`CodexConfig`](crate::CodexConfig)) and connect to it; also on every
    /// reconnect. Other endpoints fail to connect with [`Error::InvalidInput`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use openai_codex::{AsyncCodex, CodexConfig, Endpoint};
    ///
    /// # async fn example() -> openai_codex::Result<()> {
    /// let endpoint = Endpoint::local_daemon("/home/me/.codex").start_if_needed();
    /// let codex = AsyncCodex::connect(endpoint, CodexConfig::default()).await?;
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn start_if_needed(mut self) -> Self {
        self.start_daemon = true;
        self
    }

    /// A runtime listening on TCP (`ws`), or behind TLS (`wss`), at `host:port`.
    ///
    /// # Examples
    ///
    /// ```
    /// let endpoint = openai_codex::Endpoint::websocket("127.0.0.1", 4500, false);
    /// assert_eq!(endpoint.to_string(), "ws://127.0.0.1:4500/");
    /// ```
    pub fn websocket(host: impl Into<String>, port: u16, secure: bool) -> Self {
        Self::with_address(Address::Web {
            secure,
            host: host.into(),
            port,
            path: "/".into(),
        })
    }

    /// Authenticates with a capability token (`--ws-auth capability-token`), sent as
    /// `Authorization: Bearer <token>`.
    ///
    /// # Examples
    ///
    /// ```
    /// let endpoint = openai_codex::Endpoint::websocket("127.0.0.1", 4500, false)
    ///     .capability_token("token from --ws-token-file");
    /// ```
    #[must_use]
    pub fn capability_token(mut self, token: impl Into<String>) -> Self {
        self.auth = Some(Auth::CapabilityToken(token.into().trim().to_string()));
        self
    }

    /// Authenticates with a JWT the SDK signs on every connect (`--ws-auth signed-bearer-token`).
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::{Endpoint, SignedBearer};
    ///
    /// let endpoint = Endpoint::websocket("127.0.0.1", 4500, false)
    ///     .signed_bearer(SignedBearer::new(b"shared secret".to_vec()).audience("codex"));
    /// ```
    #[must_use]
    pub fn signed_bearer(mut self, bearer: SignedBearer) -> Self {
        self.auth = Some(Auth::SignedBearer(bearer));
        self
    }

    /// Sends a caller-supplied credential header on the upgrade request (e.g. for an
    /// authenticating proxy). It counts as a credential: the same transport rule applies.
    ///
    /// # Examples
    ///
    /// ```
    /// let endpoint = openai_codex::Endpoint::websocket("127.0.0.1", 4500, false)
    ///     .auth_header("Authorization", "Bearer from-my-vault");
    /// ```
    #[must_use]
    pub fn auth_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.auth = Some(Auth::Header {
            name: name.into(),
            value: value.into(),
        });
        self
    }

    /// Adds a non-secret header to the upgrade request.
    ///
    /// # Examples
    ///
    /// ```
    /// let endpoint = openai_codex::Endpoint::websocket("127.0.0.1", 4500, false)
    ///     .header("x-request-origin", "ci");
    /// ```
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Trusts this PEM-encoded CA certificate for `wss://`, on top of the bundled web roots
    /// (for a private CA).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let endpoint = openai_codex::Endpoint::parse("wss://codex.internal:8443")?
    ///     .ca_certificate_pem(std::fs::read("ca.pem")?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn ca_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.extra_roots_pem.push(pem.into());
        self
    }

    /// Pings the runtime after `interval` without traffic, and declares the connection dead when
    /// nothing (not even a pong) arrived for `timeout`. Defaults: 15 s and 30 s.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let endpoint = openai_codex::Endpoint::unix("/run/codex.sock")
    ///     .keepalive(Duration::from_secs(5), Duration::from_secs(12));
    /// ```
    #[must_use]
    pub fn keepalive(mut self, interval: Duration, timeout: Duration) -> Self {
        self.keepalive = Some(Keepalive {
            interval: interval.max(Duration::from_millis(10)),
            timeout: timeout.max(interval),
        });
        self
    }

    /// Turns ping/pong keepalive off.
    ///
    /// # Examples
    ///
    /// ```
    /// let endpoint = openai_codex::Endpoint::unix("/run/codex.sock").no_keepalive();
    /// ```
    #[must_use]
    pub fn no_keepalive(mut self) -> Self {
        self.keepalive = None;
        self
    }

    /// Bounds opening the connection (connect, TLS, upgrade). Default 10 s.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let endpoint = openai_codex::Endpoint::unix("/run/codex.sock")
    ///     .connect_timeout(Duration::from_secs(2));
    /// ```
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Whether this is a Unix-socket endpoint.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(openai_codex::Endpoint::unix("/run/codex.sock").is_unix());
    /// ```
    pub fn is_unix(&self) -> bool {
        matches!(self.address, Address::Unix(_))
    }

    /// Whether credentials may travel to this endpoint: a Unix socket, `wss://`, or `ws://` to a
    /// loopback address (`127.0.0.0/8`, `::1`, `localhost`).
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::Endpoint;
    ///
    /// assert!(Endpoint::parse("ws://127.0.0.1:1")?.is_private());
    /// assert!(Endpoint::parse("wss://example.com")?.is_private());
    /// assert!(!Endpoint::parse("ws://10.0.0.5:4500")?.is_private());
    /// # Ok::<(), openai_codex::Error>(())
    /// ```
    pub fn is_private(&self) -> bool {
        match &self.address {
            Address::Unix(_) => true,
            Address::Web { secure: true, .. } => true,
            Address::Web { host, .. } => is_loopback_host(host),
        }
    }

    /// Refuses to send credentials over a plain connection to a non-loopback host.
    pub(crate) fn check_credentials_transport(&self) -> Result<()> {
        if self.auth.is_some() && !self.is_private() {
            return Err(Error::InsecureEndpoint {
                endpoint: self.to_string(),
            });
        }
        Ok(())
    }

    /// The `Authorization`-style header to send, signing a fresh JWT when configured.
    pub(crate) fn credential_header(&self) -> Result<Option<(String, String)>> {
        Ok(match &self.auth {
            None => None,
            Some(Auth::CapabilityToken(token)) => {
                Some(("Authorization".into(), format!("Bearer {token}")))
            }
            Some(Auth::SignedBearer(bearer)) => Some((
                "Authorization".into(),
                format!("Bearer {}", bearer.sign_at(SystemTime::now())?),
            )),
            Some(Auth::Header { name, value }) => Some((name.clone(), value.clone())),
        })
    }

    /// The URL of the upgrade request (`ws://localhost/rpc` on a Unix socket).
    pub(crate) fn request_url(&self) -> String {
        match &self.address {
            Address::Unix(_) => format!("ws://localhost{UNIX_RPC_PATH}"),
            Address::Web { .. } => {
                let text = self.to_string();
                text.replacen("wss://", "ws://", 1)
            }
        }
    }
}

/// The managed daemon's control socket under a `CODEX_HOME`.
pub(crate) fn daemon_socket_path(codex_home: &Path) -> PathBuf {
    codex_home
        .join("app-server-control")
        .join("app-server-control.sock")
}

fn is_loopback_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Something that names an endpoint: an [`Endpoint`] or a URL.
pub trait IntoEndpoint {
    /// Converts into an endpoint.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a malformed URL.
    fn into_endpoint(self) -> Result<Endpoint>;
}

impl IntoEndpoint for Endpoint {
    fn into_endpoint(self) -> Result<Endpoint> {
        Ok(self)
    }
}

impl IntoEndpoint for &str {
    fn into_endpoint(self) -> Result<Endpoint> {
        Endpoint::parse(self)
    }
}

impl IntoEndpoint for String {
    fn into_endpoint(self) -> Result<Endpoint> {
        Endpoint::parse(&self)
    }
}

impl IntoEndpoint for &String {
    fn into_endpoint(self) -> Result<Endpoint> {
        Endpoint::parse(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_schemes() {
        let e = Endpoint::parse("unix:///run/codex/x.sock").unwrap();
        assert_eq!(e.address, Address::Unix("/run/codex/x.sock".into()));
        assert_eq!(e.request_url(), "ws://localhost/rpc");
        let e = Endpoint::parse("ws://127.0.0.1:4500").unwrap();
        assert_eq!(e.to_string(), "ws://127.0.0.1:4500/");
        let e = Endpoint::parse("wss://codex.example.com/rpc?x=1").unwrap();
        assert_eq!(e.to_string(), "wss://codex.example.com:443/rpc?x=1");
        assert_eq!(e.request_url(), "ws://codex.example.com:443/rpc?x=1");
        let e = Endpoint::parse("ws://[::1]:9").unwrap();
        assert_eq!(e.to_string(), "ws://[::1]:9/");
        assert!(e.is_private());
    }

    #[test]
    fn rejects_bad_urls_with_the_reason() {
        for (url, needle) in [
            ("http://x:1", "unsupported scheme"),
            ("unix://relative.sock", "absolute"),
            ("unix://", "default socket"),
            ("ws://:4500", "host is missing"),
            ("ws://h:notaport", "not a port"),
            ("ws://user:pw@h:1", "credentials in the URL"),
        ] {
            let error = Endpoint::parse(url).unwrap_err().to_string();
            assert!(error.contains(needle), "{url}: {error}");
        }
    }

    #[test]
    fn credentials_only_over_private_transports() {
        let ok = [
            "unix:///run/x.sock",
            "ws://127.0.0.1:1",
            "ws://127.1.2.3:1",
            "ws://localhost:1",
            "ws://[::1]:1",
            "wss://example.com",
        ];
        for url in ok {
            let e = Endpoint::parse(url).unwrap().capability_token("t");
            e.check_credentials_transport().unwrap();
        }
        for url in ["ws://10.0.0.1:1", "ws://example.com:80", "ws://[::2]:1"] {
            let e = Endpoint::parse(url).unwrap().auth_header("X-Key", "k");
            let error = e.check_credentials_transport().unwrap_err();
            assert!(matches!(error, Error::InsecureEndpoint { .. }), "{url}");
            // Without credentials a plain address is allowed.
            Endpoint::parse(url)
                .unwrap()
                .check_credentials_transport()
                .unwrap();
        }
    }

    #[test]
    fn signed_bearer_has_the_claims_the_runtime_checks() {
        let bearer = SignedBearer::new(b"secret".to_vec())
            .issuer("iss")
            .audience("aud")
            .ttl(Duration::from_secs(60));
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let token = bearer.sign_at(now).unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.set_audience(&["aud"]);
        validation.set_issuer(&["iss"]);
        validation.validate_exp = false;
        let data = jsonwebtoken::decode::<serde_json::Value>(
            &token,
            &jsonwebtoken::DecodingKey::from_secret(b"secret"),
            &validation,
        )
        .unwrap();
        assert_eq!(data.claims["exp"], 1_000_060);
        assert_eq!(data.claims["iat"], 1_000_000);
        assert!(SignedBearer::new(Vec::new()).sign_at(now).is_err());
    }

    #[test]
    fn debug_hides_secrets() {
        let e = Endpoint::parse("ws://127.0.0.1:1")
            .unwrap()
            .signed_bearer(SignedBearer::new(b"topsecret".to_vec()));
        assert!(!format!("{e:?}").contains("topsecret"));
        let e = Endpoint::parse("ws://127.0.0.1:1")
            .unwrap()
            .auth_header("X-Key", "hunter2");
        assert!(!format!("{e:?}").contains("hunter2"));
    }
}
