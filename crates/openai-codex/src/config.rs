//! `CodexConfig`: how to launch (or reach) the runtime and how this client introduces itself.
//!
//! The binary is resolved in a fixed, documented order (see [`CodexConfig::resolve_binary`]):
//! 1. [`CodexConfig::codex_bin`], when set;
//! 2. the `CODEX_BIN` environment variable, when set and non-empty;
//! 3. the project-pinned runtime installed by `cargo xtask runtime` into this repository's
//!    `target/codex-runtime/` (known only to builds made inside the SDK's own repository);
//! 4. the pinned runtime in the per-user store ([`crate::runtime::user_store`]:
//!    [`CodexConfig::runtime_dir`], `OPENAI_CODEX_RUNTIME_DIR`, or the user's cache folder; an
//!    explicit store replaces step 3 too);
//! 5. with the `install` feature and [`CodexConfig::install_runtime`] on (the default): the pinned
//!    runtime, downloaded into that store now (one log line says so);
//! 6. `codex` on `PATH`.
//!
//! Whichever binary is used, its sibling `codex-path/` and `codex-resources/` folders (when present)
//! go first on the child's `PATH`, so the runtime finds its bundled `rg` and `bwrap`. After the
//! `initialize` handshake the runtime's version passes the [`VersionPolicy`] gate.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::overflow::OverflowPolicy;
use crate::runtime;
pub use crate::version::VersionPolicy;

/// The runtime version this SDK is generated against and pinned to.
pub const PINNED_RUNTIME_VERSION: &str = "0.163.0";

/// The default time a request may wait for its response before failing with
/// [`Error::Timeout`]. Turn streams are not bounded by it: a turn lasts as long as the model works.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// The default [`CodexConfig::stream_buffer`]: unread deltas per consumer.
pub const DEFAULT_STREAM_BUFFER: usize = 65_536;
/// The default [`CodexConfig::stream_buffer_bytes`]: 32 MiB of unread deltas per consumer.
pub const DEFAULT_STREAM_BUFFER_BYTES: usize = 32 << 20;
/// The default [`CodexConfig::max_message_bytes`]: 128 MiB. The runtime's own WebSocket
/// listener takes messages of up to 16 MiB; over stdio nothing bounds what it writes, and a
/// thread's whole history (`thread/read`, `thread/resume` with many turns of command output
/// and diffs) or an item with an inline image can be far bigger, so the default leaves 8 times
/// that room. It only exists so that a runaway line cannot exhaust the client's memory.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 128 << 20;
/// The default [`CodexConfig::slow_consumer_timeout`].
pub const DEFAULT_SLOW_CONSUMER_TIMEOUT: Duration = Duration::from_secs(30);
/// The default [`CodexConfig::turn_stall_timeout`]: 15 minutes, three times the runtime's own
/// idle timeout of a model stream (5 minutes, after which it retries and says so with an event),
/// so only a runtime that is truly stuck trips it.
pub const DEFAULT_TURN_STALL_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// Configuration of a [`crate::AsyncCodex`] / `Codex` client.
///
/// Every field has a sensible default, so `CodexConfig::default()` launches the resolved runtime
/// with the inherited environment. Fields mirror the Python SDK's `CodexConfig`, plus timeouts and
/// buffering bounds that it lacks.
///
/// `Debug` output hides the values of environment variables whose names look secret (`KEY`,
/// `TOKEN`, `SECRET`, `PASSWORD`, `AUTH`, `CREDENTIAL`), such as `OPENAI_API_KEY`.
#[derive(Clone)]
#[non_exhaustive]
pub struct CodexConfig {
    /// Explicit path of the `codex` executable. Takes precedence over every other lookup.
    pub codex_bin: Option<PathBuf>,
    /// A complete argv to launch instead of `<codex> [--config ..] app-server --listen stdio://`.
    /// When set, `codex_bin` and `config_overrides` are ignored and `PATH` is left untouched.
    pub launch_args_override: Option<Vec<String>>,
    /// Each entry becomes `--config <entry>` before `app-server` (TOML `key=value`).
    pub config_overrides: Vec<String>,
    /// Working directory of the runtime process (inherited when `None`).
    pub cwd: Option<PathBuf>,
    /// Variables set on top of the inherited environment of the runtime process.
    pub env: BTreeMap<String, String>,
    /// `clientInfo.name` sent in `initialize`; the runtime uses it as the request originator.
    pub client_name: String,
    /// `clientInfo.title` sent in `initialize`.
    pub client_title: String,
    /// `clientInfo.version` sent in `initialize`.
    pub client_version: String,
    /// `capabilities.experimentalApi` sent in `initialize`.
    pub experimental_api: bool,
    /// Whether a turn's tracing span (`codex.turn`) carries its prompt text (field `prompt`).
    /// Off by default: prompts may hold what a service must not log.
    pub trace_prompts: bool,
    /// How long a request waits for its response by default. Never unbounded.
    pub request_timeout: Duration,
    /// How long `close()` waits for the runtime to exit after its stdin is closed, before it is
    /// terminated (and then, after the same grace again, killed).
    pub shutdown_grace: Duration,
    /// How many unread delta notifications a turn stream queues per consumer before the
    /// [`overflow`](Self::overflow) policy applies. A batch the consumer has already taken
    /// does not count. Essential events (items, turn start and completion, usage, errors) are
    /// never dropped and not bounded by it.
    pub stream_buffer: usize,
    /// A runtime that is already running to connect to instead of launching one. When set,
    /// the launch fields (`codex_bin`, `launch_args_override`, `config_overrides`, `cwd`, `env`)
    /// are not used.
    pub endpoint: Option<crate::endpoint::Endpoint>,
    /// Re-open a lost endpoint connection (off by default; only for endpoints).
    pub reconnect: Option<crate::reconnect::ReconnectPolicy>,
    /// The same bound in approximate bytes of the queued deltas (their text plus a fixed
    /// overhead per event), whichever is reached first: a few huge deltas (command output)
    /// are bounded like many small ones.
    pub stream_buffer_bytes: usize,
    /// The longest message (one line of the runtime's output, without its line end) the client
    /// reads. A longer one is skipped up to its end and counted
    /// ([`crate::AsyncCodex::oversized_messages`]); nothing else is lost. When its start shows
    /// it is the reply to a request, that request fails with [`Error::MessageTooLarge`]; when
    /// it is a server request, the runtime gets a JSON-RPC error as its answer.
    pub max_message_bytes: usize,
    /// What a turn stream does when its consumer falls behind by the bounds above:
    /// [`OverflowPolicy::Backpressure`] (default, lossless) or [`OverflowPolicy::DropDeltas`].
    /// A turn can override it ([`TurnOptions::overflow`](crate::TurnOptions::overflow)).
    pub overflow: OverflowPolicy,
    /// Under backpressure, how long the SDK waits for a consumer whose queue is full and that
    /// does not poll at all (a handle kept but never read) before that consumer's deltas are
    /// dropped with a lag marker, so the other turns of the client go on.
    pub slow_consumer_timeout: Duration,
    /// The turn inactivity watchdog: a turn stream (or `run()`) that waits this long without any
    /// event of its turn fails with [`Error::Stalled`] and the SDK asks
    /// the runtime to interrupt the turn. `None` turns it off. A turn can override it
    /// ([`TurnOptions::stall_timeout`](crate::TurnOptions::stall_timeout)). Time spent by the
    /// client's server-request handlers (an approval waiting for a person) does not count.
    pub turn_stall_timeout: Option<Duration>,
    /// Whether a client that finds no pinned runtime installs it into the per-user store before
    /// it falls back to `codex` on `PATH` (feature `install`). `OPENAI_CODEX_NO_INSTALL=1` turns
    /// it off for the whole machine.
    pub install_runtime: bool,
    /// The runtime store to look in and install into, instead of `OPENAI_CODEX_RUNTIME_DIR` or
    /// the user's cache folder. When set (here or by that variable), the project-pinned folder
    /// is not consulted.
    pub runtime_dir: Option<PathBuf>,
    /// The package index to install from (simple API root, like `https://pypi.org/simple`);
    /// default: `OPENAI_CODEX_INDEX_URL`, else PyPI.
    pub package_index: Option<String>,
    /// A local `openai-codex-cli-bin` wheel to install instead of downloading one; default:
    /// `OPENAI_CODEX_RUNTIME_WHEEL`.
    pub runtime_wheel: Option<PathBuf>,
    /// The SHA-256 (hex) the installed wheel must have instead of the digest pinned in the SDK,
    /// for a wheel you built or repackaged; default: `OPENAI_CODEX_RUNTIME_SHA256`.
    pub runtime_sha256: Option<String>,
    /// Which runtime versions are accepted after `initialize` (default: the pinned minor).
    pub version_policy: VersionPolicy,
}

/// Whether an environment variable's value should stay out of `Debug` output.
fn looks_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ["KEY", "TOKEN", "SECRET", "PASSWORD", "AUTH", "CREDENTIAL"]
        .iter()
        .any(|marker| upper.contains(marker))
}

impl std::fmt::Debug for CodexConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let env: BTreeMap<&str, &str> = self
            .env
            .iter()
            .map(|(k, v)| {
                let shown = if looks_secret(k) {
                    "[redacted]"
                } else {
                    v.as_str()
                };
                (k.as_str(), shown)
            })
            .collect();
        f.debug_struct("CodexConfig")
            .field("codex_bin", &self.codex_bin)
            .field("launch_args_override", &self.launch_args_override)
            .field("config_overrides", &self.config_overrides)
            .field("cwd", &self.cwd)
            .field("env", &env)
            .field("client_name", &self.client_name)
            .field("client_title", &self.client_title)
            .field("client_version", &self.client_version)
            .field("experimental_api", &self.experimental_api)
            .field("trace_prompts", &self.trace_prompts)
            .field("request_timeout", &self.request_timeout)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("stream_buffer", &self.stream_buffer)
            .field("endpoint", &self.endpoint)
            .field("reconnect", &self.reconnect)
            .field("stream_buffer_bytes", &self.stream_buffer_bytes)
            .field("max_message_bytes", &self.max_message_bytes)
            .field("overflow", &self.overflow)
            .field("slow_consumer_timeout", &self.slow_consumer_timeout)
            .field("turn_stall_timeout", &self.turn_stall_timeout)
            .field("install_runtime", &self.install_runtime)
            .field("runtime_dir", &self.runtime_dir)
            .field("package_index", &self.package_index)
            .field("runtime_wheel", &self.runtime_wheel)
            .field("runtime_sha256", &self.runtime_sha256)
            .field("version_policy", &self.version_policy)
            .finish()
    }
}

impl Default for CodexConfig {
    fn default() -> Self {
        Self {
            codex_bin: None,
            launch_args_override: None,
            config_overrides: Vec::new(),
            cwd: None,
            env: BTreeMap::new(),
            client_name: "openai_codex_rust".to_string(),
            client_title: "Codex Rust SDK".to_string(),
            client_version: env!("CARGO_PKG_VERSION").to_string(),
            experimental_api: true,
            trace_prompts: false,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            shutdown_grace: Duration::from_secs(2),
            endpoint: None,
            reconnect: None,
            stream_buffer: DEFAULT_STREAM_BUFFER,
            stream_buffer_bytes: DEFAULT_STREAM_BUFFER_BYTES,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            overflow: OverflowPolicy::Backpressure,
            slow_consumer_timeout: DEFAULT_SLOW_CONSUMER_TIMEOUT,
            turn_stall_timeout: Some(DEFAULT_TURN_STALL_TIMEOUT),
            install_runtime: true,
            runtime_dir: None,
            package_index: None,
            runtime_wheel: None,
            runtime_sha256: None,
            version_policy: VersionPolicy::default(),
        }
    }
}

impl CodexConfig {
    /// A default configuration.
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::CodexConfig;
    ///
    /// let config = CodexConfig::new();
    /// assert!(config.codex_bin.is_none());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses this executable as the runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::CodexConfig;
    ///
    /// let config = CodexConfig::default().codex_bin("/opt/codex/bin/codex");
    /// ```
    #[must_use]
    pub fn codex_bin(mut self, path: impl Into<PathBuf>) -> Self {
        self.codex_bin = Some(path.into());
        self
    }

    /// Launches exactly this argv instead of the resolved runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::CodexConfig;
    ///
    /// let config = CodexConfig::default()
    ///     .launch_args_override(["/opt/codex/bin/codex", "app-server", "--listen", "stdio://"]);
    /// ```
    #[must_use]
    pub fn launch_args_override<I, S>(mut self, argv: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.launch_args_override = Some(argv.into_iter().map(Into::into).collect());
        self
    }

    /// Adds one `--config key=value` override.
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::CodexConfig;
    ///
    /// let config = CodexConfig::default()
    ///     .config_override("model_reasoning_effort=\"high\"")
    ///     .config_override("sandbox_mode=\"read-only\"");
    /// ```
    #[must_use]
    pub fn config_override(mut self, entry: impl Into<String>) -> Self {
        self.config_overrides.push(entry.into());
        self
    }

    /// Sets the runtime's working directory.
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::CodexConfig;
    ///
    /// let config = CodexConfig::default().cwd("/path/to/project");
    /// ```
    #[must_use]
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    /// Sets one environment variable for the runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::CodexConfig;
    ///
    /// let config = CodexConfig::default().env("CODEX_HOME", "/var/lib/my-app/codex-home");
    /// ```
    #[must_use]
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    /// Sets `clientInfo.name`.
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::CodexConfig;
    ///
    /// let config = CodexConfig::default().client_name("my_tool").client_title("My Tool").client_version("1.2.3");
    /// ```
    #[must_use]
    pub fn client_name(mut self, name: impl Into<String>) -> Self {
        self.client_name = name.into();
        self
    }

    /// Sets `clientInfo.title`.
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::CodexConfig;
    ///
    /// let config = CodexConfig::default().client_title("My Tool");
    /// ```
    #[must_use]
    pub fn client_title(mut self, title: impl Into<String>) -> Self {
        self.client_title = title.into();
        self
    }

    /// Sets `clientInfo.version`.
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::CodexConfig;
    ///
    /// let config = CodexConfig::default().client_version("1.2.3");
    /// ```
    #[must_use]
    pub fn client_version(mut self, version: impl Into<String>) -> Self {
        self.client_version = version.into();
        self
    }

    /// Sets `capabilities.experimentalApi`.
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::CodexConfig;
    ///
    /// let config = CodexConfig::default().experimental_api(false);
    /// ```
    #[must_use]
    pub fn experimental_api(mut self, enabled: bool) -> Self {
        self.experimental_api = enabled;
        self
    }

    /// Puts each turn's prompt text into its tracing span (`codex.turn`, field `prompt`).
    ///
    /// The SDK opens spans for the client (`codex.client`: runtime pid, endpoint), every
    /// request (`codex.request`: method, id, duration, error kind), every turn it starts
    /// (`codex.turn`: thread id, turn id, status and token usage at completion) and every server
    /// request (`codex.server_request`, under its turn: kind, decision, handler time). They carry
    /// no credentials, and no prompt text unless this is on.
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::CodexConfig;
    ///
    /// let config = CodexConfig::default().trace_prompts(true);
    /// assert!(config.trace_prompts);
    /// ```
    #[must_use]
    pub fn trace_prompts(mut self, enabled: bool) -> Self {
        self.trace_prompts = enabled;
        self
    }

    /// Sets the default request timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use openai_codex::CodexConfig;
    ///
    /// let config = CodexConfig::default().request_timeout(Duration::from_secs(30));
    /// ```
    #[must_use]
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets the shutdown grace period used by `close()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use openai_codex::CodexConfig;
    ///
    /// let config = CodexConfig::default().shutdown_grace(Duration::from_millis(500));
    /// ```
    #[must_use]
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// Sets the per-consumer delta buffer bound of turn streams.
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::CodexConfig;
    ///
    /// let config = CodexConfig::default().stream_buffer(4096);
    /// assert_eq!(config.stream_buffer, 4096);
    /// ```
    #[must_use]
    pub fn stream_buffer(mut self, events: usize) -> Self {
        self.stream_buffer = events.max(16);
        self
    }

    /// Connects to a runtime that is already running at `endpoint` instead of launching one
    /// (see [`crate::AsyncCodex::connect`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::{CodexConfig, Endpoint};
    ///
    /// let config = CodexConfig::default().endpoint(Endpoint::unix("/run/codex.sock"));
    /// assert!(config.endpoint.is_some());
    /// ```
    #[must_use]
    pub fn endpoint(mut self, endpoint: crate::endpoint::Endpoint) -> Self {
        self.endpoint = Some(endpoint);
        self
    }

    /// Re-opens the endpoint connection after it is lost, per `policy` (see
    /// [`crate::reconnect`]). Has no effect on a runtime the client launched itself.
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::{CodexConfig, Endpoint, ReconnectPolicy};
    ///
    /// let config = CodexConfig::default()
    ///     .endpoint(Endpoint::unix("/run/codex.sock"))
    ///     .reconnect(ReconnectPolicy::default());
    /// ```
    #[must_use]
    pub fn reconnect(mut self, policy: crate::reconnect::ReconnectPolicy) -> Self {
        self.reconnect = Some(policy);
        self
    }

    /// Sets the per-consumer delta buffer bound of turn streams in approximate bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::CodexConfig;
    ///
    /// let config = CodexConfig::default().stream_buffer_bytes(4 << 20);
    /// assert_eq!(config.stream_buffer_bytes, 4 << 20);
    /// ```
    #[must_use]
    pub fn stream_buffer_bytes(mut self, bytes: usize) -> Self {
        self.stream_buffer_bytes = bytes.max(4096);
        self
    }

    /// Sets the longest message the client reads (see [`CodexConfig::max_message_bytes`]; at
    /// least 64 KiB).
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::CodexConfig;
    ///
    /// let config = CodexConfig::default().max_message_bytes(512 << 20);
    /// assert_eq!(config.max_message_bytes, 512 << 20);
    /// ```
    #[must_use]
    pub fn max_message_bytes(mut self, bytes: usize) -> Self {
        self.max_message_bytes = bytes.max(64 << 10);
        self
    }

    /// Sets the overflow policy of every turn stream of the client.
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::{CodexConfig, OverflowPolicy};
    ///
    /// let config = CodexConfig::default().overflow(OverflowPolicy::DropDeltas);
    /// assert_eq!(config.overflow, OverflowPolicy::DropDeltas);
    /// ```
    #[must_use]
    pub fn overflow(mut self, policy: OverflowPolicy) -> Self {
        self.overflow = policy;
        self
    }

    /// Sets how long backpressure waits for a consumer that stopped polling.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use openai_codex::CodexConfig;
    ///
    /// let config = CodexConfig::default().slow_consumer_timeout(Duration::from_secs(5));
    /// assert_eq!(config.slow_consumer_timeout, Duration::from_secs(5));
    /// ```
    #[must_use]
    pub fn slow_consumer_timeout(mut self, timeout: Duration) -> Self {
        self.slow_consumer_timeout = timeout;
        self
    }

    /// Sets (`Some`) or turns off (`None`) the turn inactivity watchdog.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use openai_codex::CodexConfig;
    ///
    /// let config = CodexConfig::default().turn_stall_timeout(Some(Duration::from_secs(120)));
    /// assert_eq!(config.turn_stall_timeout, Some(Duration::from_secs(120)));
    /// let off = CodexConfig::default().turn_stall_timeout(None);
    /// assert_eq!(off.turn_stall_timeout, None);
    /// ```
    #[must_use]
    pub fn turn_stall_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.turn_stall_timeout = timeout;
        self
    }

    /// Turns installing the pinned runtime on or off (on by default; see
    /// [`CodexConfig::install_runtime`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::CodexConfig;
    ///
    /// // A site that must not download: the pinned folders, then `codex` on PATH.
    /// let config = CodexConfig::default().install_runtime(false);
    /// assert!(!config.install_runtime);
    /// ```
    #[must_use]
    pub fn install_runtime(mut self, install: bool) -> Self {
        self.install_runtime = install;
        self
    }

    /// Uses this runtime store (one folder per version) instead of the per-user one.
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::CodexConfig;
    ///
    /// let config = CodexConfig::default().runtime_dir("/opt/my-app/codex-runtimes");
    /// ```
    #[must_use]
    pub fn runtime_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.runtime_dir = Some(dir.into());
        self
    }

    /// Installs from this package index (a mirror's simple API root).
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::CodexConfig;
    ///
    /// let config = CodexConfig::default().package_index("https://pypi.mirror.example/simple");
    /// ```
    #[must_use]
    pub fn package_index(mut self, url: impl Into<String>) -> Self {
        self.package_index = Some(url.into());
        self
    }

    /// Installs this local wheel file instead of downloading one.
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::CodexConfig;
    ///
    /// let config = CodexConfig::default()
    ///     .runtime_wheel("wheels/openai_codex_cli_bin-0.163.0-py3-none-manylinux_2_17_x86_64.whl");
    /// ```
    #[must_use]
    pub fn runtime_wheel(mut self, path: impl Into<PathBuf>) -> Self {
        self.runtime_wheel = Some(path.into());
        self
    }

    /// Requires the installed wheel to have this SHA-256 (hex) instead of the pinned digest.
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::CodexConfig;
    ///
    /// let config = CodexConfig::default()
    ///     .runtime_sha256("76db41fb07fdf9ddacbe892b48d21dfde270031ec0f5666b5e558114355f006d");
    /// ```
    #[must_use]
    pub fn runtime_sha256(mut self, hex: impl Into<String>) -> Self {
        self.runtime_sha256 = Some(hex.into());
        self
    }

    /// Sets which runtime versions are accepted after `initialize`.
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::{config::VersionPolicy, CodexConfig};
    ///
    /// let config = CodexConfig::default().version_policy(VersionPolicy::Exact);
    /// assert_eq!(config.version_policy, VersionPolicy::Exact);
    /// ```
    #[must_use]
    pub fn version_policy(mut self, policy: VersionPolicy) -> Self {
        self.version_policy = policy;
        self
    }

    /// Finds the runtime binary in the documented order (see the module docs), without
    /// installing anything: when only step 5 (installing) is left, this reports not found.
    ///
    /// # Errors
    /// [`Error::RuntimeNotFound`] naming every place looked, and the command that installs the
    /// pinned runtime; or when an explicit `codex_bin`/`CODEX_BIN` path does not exist.
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::CodexConfig;
    ///
    /// match CodexConfig::default().resolve_binary() {
    ///     Ok(found) => println!("{} ({:?})", found.path.display(), found.source),
    ///     Err(error) => eprintln!("{error}"),
    /// }
    /// ```
    pub fn resolve_binary(&self) -> Result<ResolvedBinary> {
        self.lookup(false)
    }

    /// [`CodexConfig::resolve_binary`], installing the pinned runtime when nothing pinned is
    /// found and installing is allowed. This is what [`crate::AsyncCodex::new`] runs; it blocks
    /// for the download (~140 MB), so call it off async threads.
    ///
    /// # Errors
    /// As [`CodexConfig::resolve_binary`], plus [`Error::RuntimeInstall`] when the install fails
    /// and no `codex` is on `PATH` either.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use openai_codex::CodexConfig;
    ///
    /// let found = CodexConfig::default().resolve_or_install()?;
    /// println!("{}", found.path.display());
    /// # Ok::<(), openai_codex::Error>(())
    /// ```
    pub fn resolve_or_install(&self) -> Result<ResolvedBinary> {
        self.lookup(true)
    }

    /// Whether step 5 (installing) may run: the feature is built in, the knob is on and
    /// `OPENAI_CODEX_NO_INSTALL` does not forbid it.
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::CodexConfig;
    ///
    /// assert!(!CodexConfig::default().install_runtime(false).installs_runtime());
    /// ```
    pub fn installs_runtime(&self) -> bool {
        cfg!(feature = "install") && self.install_runtime && !runtime::install_forbidden_by_env()
    }

    /// The stores looked in: the project store (unless a store is named explicitly) and the
    /// per-user store.
    fn stores(&self) -> (Option<PathBuf>, Option<PathBuf>) {
        match &self.runtime_dir {
            Some(dir) => (None, Some(dir.clone())),
            None if std::env::var_os(runtime::RUNTIME_DIR_ENV).is_some_and(|d| !d.is_empty()) => {
                (None, runtime::user_store())
            }
            None => (runtime::project_store(), runtime::user_store()),
        }
    }

    fn lookup(&self, install: bool) -> Result<ResolvedBinary> {
        let mut steps = Lookup::new(self.codex_bin.as_deref(), std::env::var_os("CODEX_BIN"))?;
        if let Some(found) = steps.found.take() {
            return Ok(found);
        }
        let (project, user) = self.stores();
        if let Some(found) = steps.stores(project.as_deref(), user.as_deref()) {
            return Ok(found);
        }
        if install && self.installs_runtime() {
            match self.install_now() {
                Ok(found) => return Ok(found),
                Err(error) => {
                    // A runtime on PATH still beats no runtime; the version gate judges it.
                    if let Some(found) = find_on_path("codex") {
                        tracing::warn!(
                            "installing the pinned codex runtime failed ({error}); using {} from PATH",
                            found.display()
                        );
                        return Ok(resolved(found, BinarySource::Path));
                    }
                    return Err(error);
                }
            }
        }
        steps.path_or_not_found(self.installs_runtime(), find_on_path("codex"))
    }

    #[cfg(feature = "install")]
    fn install_now(&self) -> Result<ResolvedBinary> {
        let installer = runtime::Installer::from_config(self);
        tracing::info!(
            "no pinned codex runtime {PINNED_RUNTIME_VERSION} found; installing it from the {} into {}",
            installer.source_description(),
            installer
                .target_store()
                .map(|s| s.display().to_string())
                .unwrap_or_else(|_| "(no store)".into())
        );
        let installed = installer.install()?;
        let source = if installed.fresh {
            BinarySource::Installed
        } else {
            BinarySource::Cache
        };
        Ok(resolved(installed.binary, source))
    }

    #[cfg(not(feature = "install"))]
    fn install_now(&self) -> Result<ResolvedBinary> {
        unreachable!("installs_runtime() is false without the `install` feature")
    }
}

/// How the runtime binary was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum BinarySource {
    /// [`CodexConfig::codex_bin`].
    Config,
    /// The `CODEX_BIN` environment variable.
    EnvVar,
    /// The project-pinned runtime (`cargo xtask runtime`, in the SDK's repository).
    Pinned,
    /// The pinned runtime, already in the per-user store.
    Cache,
    /// The pinned runtime, installed into the per-user store by this lookup.
    Installed,
    /// `codex` found on `PATH`.
    Path,
    /// [`CodexConfig::launch_args_override`]: the argv was given whole.
    LaunchOverride,
}

impl BinarySource {
    /// How a user would say where the binary came from, for messages.
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::config::BinarySource;
    ///
    /// assert_eq!(BinarySource::Path.describe(), "found on PATH");
    /// ```
    pub fn describe(self) -> &'static str {
        match self {
            BinarySource::Config => "set by CodexConfig::codex_bin",
            BinarySource::EnvVar => "set by the CODEX_BIN environment variable",
            BinarySource::Pinned => "the project-pinned runtime (cargo xtask runtime)",
            BinarySource::Cache => "the pinned runtime in the per-user store",
            BinarySource::Installed => "installed just now into the per-user store",
            BinarySource::Path => "found on PATH",
            BinarySource::LaunchOverride => "given by CodexConfig::launch_args_override",
        }
    }
}

/// A resolved runtime binary and the helper folders that go first on its `PATH`.
#[derive(Clone, Debug)]
pub struct ResolvedBinary {
    /// The executable.
    pub path: PathBuf,
    /// Where it was found.
    pub source: BinarySource,
    /// Existing sibling helper folders (`codex-path/`, `codex-resources/`), in `PATH` order.
    pub path_prepend: Vec<PathBuf>,
}

/// The steps of the lookup that need no installer, with the trail of places looked.
struct Lookup {
    looked: Vec<String>,
    found: Option<ResolvedBinary>,
}

impl Lookup {
    fn new(explicit: Option<&Path>, env_bin: Option<OsString>) -> Result<Self> {
        if let Some(path) = explicit {
            if path.is_file() {
                return Ok(Self::found(resolved(
                    path.to_path_buf(),
                    BinarySource::Config,
                )));
            }
            return Err(Error::RuntimeNotFound {
                looked: vec![format!("CodexConfig::codex_bin = {}", path.display())],
                hint: "fix CodexConfig::codex_bin to point at an existing codex executable".into(),
            });
        }
        if let Some(value) = env_bin.filter(|v| !v.is_empty()) {
            let path = PathBuf::from(value);
            if path.is_file() {
                return Ok(Self::found(resolved(path, BinarySource::EnvVar)));
            }
            return Err(Error::RuntimeNotFound {
                looked: vec![format!("CODEX_BIN = {}", path.display())],
                hint: "fix or unset the CODEX_BIN environment variable".into(),
            });
        }
        Ok(Self {
            looked: vec![
                "CodexConfig::codex_bin (unset)".to_string(),
                "CODEX_BIN (unset)".to_string(),
            ],
            found: None,
        })
    }

    fn found(found: ResolvedBinary) -> Self {
        Self {
            looked: Vec::new(),
            found: Some(found),
        }
    }

    fn stores(&mut self, project: Option<&Path>, user: Option<&Path>) -> Option<ResolvedBinary> {
        if let Some(store) = project {
            // xtask's installs predate the marker file; the folder only ever appears by rename.
            let bin = runtime::binary_in(&store.join(PINNED_RUNTIME_VERSION));
            if bin.is_file() {
                return Some(resolved(bin, BinarySource::Pinned));
            }
            self.looked
                .push(format!("project-pinned runtime {}", bin.display()));
        }
        match user {
            Some(store) => {
                if let Some(bin) = runtime::installed_binary(store, PINNED_RUNTIME_VERSION) {
                    return Some(resolved(bin, BinarySource::Cache));
                }
                self.looked.push(format!(
                    "per-user store {}",
                    store.join(PINNED_RUNTIME_VERSION).display()
                ));
            }
            None => self
                .looked
                .push("per-user store (no cache folder for this user)".into()),
        }
        None
    }

    fn path_or_not_found(
        mut self,
        installs: bool,
        on_path: Option<PathBuf>,
    ) -> Result<ResolvedBinary> {
        if let Some(found) = on_path {
            return Ok(resolved(found, BinarySource::Path));
        }
        self.looked.push("`codex` on PATH".to_string());
        let how = if installs {
            "`AsyncCodex::new` installs it"
        } else {
            "installing is off (CodexConfig::install_runtime / OPENAI_CODEX_NO_INSTALL / no `install` feature)"
        };
        Err(Error::RuntimeNotFound {
            looked: self.looked,
            hint: format!(
                "install the pinned runtime {PINNED_RUNTIME_VERSION} with `cargo install openai-codex` \
                 then `openai-codex install` (or `cargo xtask runtime` in the SDK's repository); \
                 {how}; or set CODEX_BIN / CodexConfig::codex_bin"
            ),
        })
    }
}

fn resolved(path: PathBuf, source: BinarySource) -> ResolvedBinary {
    // The wheel layout is <pkg>/bin/codex with <pkg>/codex-path and <pkg>/codex-resources.
    let mut path_prepend = Vec::new();
    if let Some(pkg) = path.parent().and_then(Path::parent) {
        for helper in ["codex-path", "codex-resources"] {
            let dir = pkg.join(helper);
            if dir.is_dir() {
                path_prepend.push(dir);
            }
        }
    }
    ResolvedBinary {
        path,
        source,
        path_prepend,
    }
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Builds the child's `PATH`: the helper folders first, then the inherited entries without
/// duplicates of them and without empty entries.
pub(crate) fn child_path(prepend: &[PathBuf], inherited: Option<OsString>) -> Option<OsString> {
    if prepend.is_empty() {
        return None;
    }
    let rest = inherited
        .as_deref()
        .map(|p| std::env::split_paths(p).collect::<Vec<_>>())
        .unwrap_or_default();
    let entries = prepend.iter().cloned().chain(
        rest.into_iter()
            .filter(|dir| !dir.as_os_str().is_empty() && !prepend.contains(dir)),
    );
    std::env::join_paths(entries).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_missing_binary_names_the_field() {
        let err = Lookup::new(Some(Path::new("/nonexistent/codex")), None)
            .err()
            .unwrap();
        let text = err.to_string();
        assert!(text.contains("CodexConfig::codex_bin"), "{text}");
        assert!(text.contains("/nonexistent/codex"), "{text}");
    }

    #[test]
    fn env_var_wins_over_pinned_and_path() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin").join("codex");
        std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
        std::fs::create_dir_all(dir.path().join("codex-path")).unwrap();
        std::fs::write(&bin, b"").unwrap();
        let found = Lookup::new(None, Some(bin.clone().into_os_string()))
            .unwrap()
            .found
            .unwrap();
        assert_eq!(found.source, BinarySource::EnvVar);
        assert_eq!(found.path, bin);
        assert_eq!(found.path_prepend, vec![dir.path().join("codex-path")]);
    }

    #[test]
    fn project_store_then_user_store_then_the_not_found_hint() {
        let project = tempfile::tempdir().unwrap();
        let user = tempfile::tempdir().unwrap();
        let mut steps = Lookup::new(None, None).unwrap();
        assert!(steps
            .stores(Some(project.path()), Some(user.path()))
            .is_none());
        // A user-store folder without its marker is a half-finished install: not used.
        let cached = runtime::binary_in(&user.path().join(PINNED_RUNTIME_VERSION));
        std::fs::create_dir_all(cached.parent().unwrap()).unwrap();
        std::fs::write(&cached, b"").unwrap();
        assert!(steps.stores(None, Some(user.path())).is_none());
        std::fs::write(
            user.path().join(PINNED_RUNTIME_VERSION).join("INSTALLED"),
            b"{}",
        )
        .unwrap();
        let found = steps
            .stores(Some(project.path()), Some(user.path()))
            .unwrap();
        assert_eq!((found.source, found.path), (BinarySource::Cache, cached));
        let pinned = runtime::binary_in(&project.path().join(PINNED_RUNTIME_VERSION));
        std::fs::create_dir_all(pinned.parent().unwrap()).unwrap();
        std::fs::write(&pinned, b"").unwrap();
        let found = steps
            .stores(Some(project.path()), Some(user.path()))
            .unwrap();
        assert_eq!((found.source, found.path), (BinarySource::Pinned, pinned));
    }

    #[test]
    fn not_found_names_the_install_command_and_the_knob() {
        let mut steps = Lookup::new(None, None).unwrap();
        steps.looked.push("somewhere".into());
        let text = steps
            .path_or_not_found(false, None)
            .unwrap_err()
            .to_string();
        assert!(text.contains("openai-codex install"), "{text}");
        assert!(text.contains("installing is off"), "{text}");
        assert!(text.contains("somewhere"), "{text}");
    }

    #[test]
    fn child_path_puts_helpers_first_once() {
        let helper = PathBuf::from("/opt/codex/codex-path");
        let inherited =
            std::env::join_paths(["/usr/bin", "/opt/codex/codex-path", "/bin"]).unwrap();
        let joined = child_path(std::slice::from_ref(&helper), Some(inherited)).unwrap();
        let parts: Vec<PathBuf> = std::env::split_paths(&joined).collect();
        assert_eq!(
            parts,
            vec![helper, PathBuf::from("/usr/bin"), PathBuf::from("/bin")]
        );
    }
}
