//! `CodexConfig`: how to launch (or reach) the runtime and how this client introduces itself.
//!
//! The binary is resolved in a fixed, documented order (see [`CodexConfig::resolve_binary`]):
//! 1. [`CodexConfig::codex_bin`], when set;
//! 2. the `CODEX_BIN` environment variable, when set and non-empty;
//! 3. the project-pinned runtime installed by `cargo xtask runtime` (or the folder named by
//!    `OPENAI_CODEX_RUNTIME_DIR`), when present;
//! 4. `codex` on `PATH`.
//!
//! Whichever binary is used, its sibling `codex-path/` and `codex-resources/` folders (when present)
//! go first on the child's `PATH`, so the runtime finds its bundled `rg` and `bwrap`.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::overflow::OverflowPolicy;

/// The runtime version this SDK is generated against and pinned to.
pub const PINNED_RUNTIME_VERSION: &str = "0.163.0";

/// The default time a request may wait for its response before failing with
/// [`Error::Timeout`]. Turn streams are not bounded by it: a turn lasts as long as the model works.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// The default [`CodexConfig::stream_buffer`]: unread deltas per consumer.
pub const DEFAULT_STREAM_BUFFER: usize = 65_536;
/// The default [`CodexConfig::stream_buffer_bytes`]: 32 MiB of unread deltas per consumer.
pub const DEFAULT_STREAM_BUFFER_BYTES: usize = 32 << 20;
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
            .field("request_timeout", &self.request_timeout)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("stream_buffer", &self.stream_buffer)
            .field("endpoint", &self.endpoint)
            .field("reconnect", &self.reconnect)
            .field("stream_buffer_bytes", &self.stream_buffer_bytes)
            .field("overflow", &self.overflow)
            .field("slow_consumer_timeout", &self.slow_consumer_timeout)
            .field("turn_stall_timeout", &self.turn_stall_timeout)
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
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            shutdown_grace: Duration::from_secs(2),
            endpoint: None,
            reconnect: None,
            stream_buffer: DEFAULT_STREAM_BUFFER,
            stream_buffer_bytes: DEFAULT_STREAM_BUFFER_BYTES,
            overflow: OverflowPolicy::Backpressure,
            slow_consumer_timeout: DEFAULT_SLOW_CONSUMER_TIMEOUT,
            turn_stall_timeout: Some(DEFAULT_TURN_STALL_TIMEOUT),
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

    /// Finds the runtime binary in the documented order (see the module docs).
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
        resolve_binary(self.codex_bin.as_deref(), std::env::var_os("CODEX_BIN"))
    }
}

/// How the runtime binary was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BinarySource {
    /// [`CodexConfig::codex_bin`].
    Config,
    /// The `CODEX_BIN` environment variable.
    EnvVar,
    /// The project-pinned runtime (`cargo xtask runtime` or `OPENAI_CODEX_RUNTIME_DIR`).
    Pinned,
    /// `codex` found on `PATH`.
    Path,
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

/// The folder the project installs the pinned runtime into (`cargo xtask runtime`), or the one
/// named by `OPENAI_CODEX_RUNTIME_DIR`. It holds `codex_cli_bin/bin/codex`.
///
/// # Examples
///
/// ```
/// let dir = openai_codex::config::pinned_runtime_dir();
/// println!("the pinned runtime lives in {}", dir.display());
/// ```
pub fn pinned_runtime_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("OPENAI_CODEX_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    // This crate sits at <workspace>/crates/openai-codex; the pinned runtime is installed under
    // the workspace's target folder so a clean clone needs no global install.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/codex-runtime")
        .join(PINNED_RUNTIME_VERSION)
}

fn pinned_binary() -> PathBuf {
    pinned_runtime_dir()
        .join("codex_cli_bin")
        .join("bin")
        .join(if cfg!(windows) { "codex.exe" } else { "codex" })
}

fn resolve_binary(explicit: Option<&Path>, env_bin: Option<OsString>) -> Result<ResolvedBinary> {
    let mut looked = Vec::new();
    if let Some(path) = explicit {
        if path.is_file() {
            return Ok(resolved(path.to_path_buf(), BinarySource::Config));
        }
        return Err(Error::RuntimeNotFound {
            looked: vec![format!("CodexConfig::codex_bin = {}", path.display())],
            hint: "fix CodexConfig::codex_bin to point at an existing codex executable".into(),
        });
    }
    if let Some(value) = env_bin.filter(|v| !v.is_empty()) {
        let path = PathBuf::from(value);
        if path.is_file() {
            return Ok(resolved(path, BinarySource::EnvVar));
        }
        return Err(Error::RuntimeNotFound {
            looked: vec![format!("CODEX_BIN = {}", path.display())],
            hint: "fix or unset the CODEX_BIN environment variable".into(),
        });
    }
    looked.push("CodexConfig::codex_bin (unset)".to_string());
    looked.push("CODEX_BIN (unset)".to_string());
    let pinned = pinned_binary();
    if pinned.is_file() {
        return Ok(resolved(pinned, BinarySource::Pinned));
    }
    looked.push(format!("pinned runtime {}", pinned.display()));
    if let Some(found) = find_on_path("codex") {
        return Ok(resolved(found, BinarySource::Path));
    }
    looked.push("`codex` on PATH".to_string());
    Err(Error::RuntimeNotFound {
        looked,
        hint: format!(
            "run `cargo xtask runtime` in this repository to install the pinned runtime \
             {PINNED_RUNTIME_VERSION}, or set CODEX_BIN / CodexConfig::codex_bin"
        ),
    })
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
        let err = resolve_binary(Some(Path::new("/nonexistent/codex")), None).unwrap_err();
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
        let found = resolve_binary(None, Some(bin.clone().into_os_string())).unwrap();
        assert_eq!(found.source, BinarySource::EnvVar);
        assert_eq!(found.path, bin);
        assert_eq!(found.path_prepend, vec![dir.path().join("codex-path")]);
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
