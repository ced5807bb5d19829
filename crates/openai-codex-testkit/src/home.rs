//! [`RuntimeHome`]: a throwaway `CODEX_HOME` wired to a [`MockModel`], plus a workspace folder.
//!
//! Each home lives in its own folder under `<target>/testkit-homes/` (not the system temp
//! directory: the runtime refuses to create its helper binaries under it and says so on stderr):
//!
//! ```text
//! <target>/testkit-homes/home-XXXXXX/
//!   codex-home/     CODEX_HOME: config.toml, catalog.json, and whatever the runtime writes
//!   workspace/      the thread cwd for tests
//! ```
//!
//! `<target>` is `OPENAI_CODEX_TESTKIT_HOMES`'s parent when that variable names the homes folder
//! directly, else `CARGO_TARGET_DIR`, else this workspace's `target/`. The folder is removed when
//! the home is dropped, unless `OPENAI_CODEX_TESTKIT_KEEP=1` is set (handy to read the runtime's
//! rollout files after a failure).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use openai_codex::config::ResolvedBinary;
use openai_codex::CodexConfig;
use serde_json::json;

use crate::model::MockModel;
use crate::raw_client::RawClient;

/// The model slug the generated config and catalog use.
pub const MOCK_MODEL_SLUG: &str = "mock-model";

/// A temporary `CODEX_HOME` configured for a [`MockModel`], with a workspace folder.
///
/// ```no_run
/// use openai_codex_testkit::{ResponseScript, RuntimeHome};
///
/// let home = RuntimeHome::new().unwrap();
/// home.model().push(ResponseScript::text("Hello."));
/// let config = home.config(); // CODEX_HOME set; the SDK resolves the runtime and its PATH
/// # let _ = config;
/// ```
#[derive(Debug)]
pub struct RuntimeHome {
    // Field order is drop order: stop the model before the folder goes away.
    model: MockModel,
    codex_home: PathBuf,
    workspace: PathBuf,
    codex_bin: Option<PathBuf>,
    root: Option<tempfile::TempDir>,
}

/// Options for a [`RuntimeHome`]. Obtain one with [`RuntimeHome::builder`].
#[derive(Clone, Debug)]
#[must_use]
pub struct RuntimeHomeBuilder {
    top_level: Vec<String>,
    features: Vec<(String, bool)>,
    provider: Vec<String>,
    extra_toml: Vec<String>,
    chatgpt_base_url: Option<ChatgptBaseUrl>,
    codex_bin: Option<PathBuf>,
}

#[derive(Clone, Debug)]
enum ChatgptBaseUrl {
    Mock,
    Url(String),
}

impl Default for RuntimeHomeBuilder {
    fn default() -> Self {
        Self {
            top_level: Vec::new(),
            features: vec![
                // No github.com / chatgpt.com lookups.
                ("plugins".into(), false),
                // No login shell per new thread: a big speed-up, and no profile noise.
                ("shell_snapshot".into(), false),
                // Fail at once instead of retrying forever when the mock is gone.
                ("unbounded_connection_retries".into(), false),
            ],
            provider: [
                "wire_api = \"responses\"",
                // One attempt per request: scripted failures surface at once, without backoff.
                "request_max_retries = 0",
                "stream_max_retries = 0",
                "stream_idle_timeout_ms = 300000",
            ]
            .map(String::from)
            .to_vec(),
            extra_toml: Vec::new(),
            chatgpt_base_url: None,
            codex_bin: None,
        }
    }
}

impl RuntimeHomeBuilder {
    /// Adds a top-level `key = value` line (placed before every table), for example
    /// `model_reasoning_effort = "high"`.
    pub fn config_line(mut self, line: impl Into<String>) -> Self {
        self.top_level.push(line.into());
        self
    }

    /// Sets a `[features]` flag (overriding the kit's defaults `plugins = false`,
    /// `shell_snapshot = false`, `unbounded_connection_retries = false`).
    pub fn feature(mut self, name: impl Into<String>, enabled: bool) -> Self {
        let name = name.into();
        self.features.retain(|(n, _)| *n != name);
        self.features.push((name, enabled));
        self
    }

    /// Adds a `key = value` line to the `[model_providers.mock]` table, for example
    /// `stream_max_retries = 2` (later lines override the kit's defaults).
    pub fn provider_line(mut self, line: impl Into<String>) -> Self {
        let line = line.into();
        // TOML forbids duplicate keys, so a line replaces an earlier one with the same key.
        let key = toml_key(&line).to_owned();
        self.provider.retain(|l| toml_key(l) != key);
        self.provider.push(line);
        self
    }

    /// Appends raw TOML at the end of `config.toml` (new tables such as `[mcp_servers.x]`).
    pub fn extra_toml(mut self, toml: impl Into<String>) -> Self {
        self.extra_toml.push(toml.into());
        self
    }

    /// Sets `requires_openai_auth = true` on the mock provider: the runtime then sends the stored
    /// API key or ChatGPT token as `Authorization: Bearer ...`, and `account/read` reports
    /// `requiresOpenaiAuth: true`.
    pub fn requires_openai_auth(self, required: bool) -> Self {
        self.provider_line(format!("requires_openai_auth = {required}"))
    }

    /// Sets `chatgpt_base_url` (for ChatGPT-login tests; the runtime calls `/backend-api/...`).
    pub fn chatgpt_base_url(mut self, url: impl Into<String>) -> Self {
        self.chatgpt_base_url = Some(ChatgptBaseUrl::Url(url.into()));
        self
    }

    /// Points `chatgpt_base_url` at the mock (`http://127.0.0.1:<port>/backend-api/`); the mock
    /// records those calls and answers them with 404.
    pub fn chatgpt_base_url_on_mock(mut self) -> Self {
        self.chatgpt_base_url = Some(ChatgptBaseUrl::Mock);
        self
    }

    /// Uses this runtime executable (in [`RuntimeHome::config`] and for spawning) instead of
    /// letting the SDK resolve the pinned one.
    pub fn codex_bin(mut self, path: impl Into<PathBuf>) -> Self {
        self.codex_bin = Some(path.into());
        self
    }

    /// Starts a [`MockModel`] and writes the home.
    ///
    /// # Errors
    /// When the mock cannot start or the folders and files cannot be written.
    pub fn build(self) -> std::io::Result<RuntimeHome> {
        let model = MockModel::start()?;
        let parent = homes_dir();
        std::fs::create_dir_all(&parent)?;
        let root = tempfile::Builder::new()
            .prefix("home-")
            .tempdir_in(&parent)?;
        let codex_home = root.path().join("codex-home");
        let workspace = root.path().join("workspace");
        std::fs::create_dir_all(&codex_home)?;
        std::fs::create_dir_all(&workspace)?;
        let catalog = codex_home.join("catalog.json");
        std::fs::write(&catalog, catalog_json())?;
        std::fs::write(
            codex_home.join("config.toml"),
            self.config_toml(&model, &catalog),
        )?;
        let mut root = Some(root);
        if std::env::var_os("OPENAI_CODEX_TESTKIT_KEEP").is_some_and(|v| !v.is_empty() && v != "0")
        {
            if let Some(dir) = root.as_mut() {
                dir.disable_cleanup(true);
            }
        }
        Ok(RuntimeHome {
            model,
            codex_home,
            workspace,
            codex_bin: self.codex_bin,
            root,
        })
    }

    fn config_toml(&self, model: &MockModel, catalog: &Path) -> String {
        let mut toml = String::new();
        let _ = writeln!(toml, "model = {}", quote(MOCK_MODEL_SLUG));
        let _ = writeln!(toml, "model_provider = \"mock\"");
        let _ = writeln!(
            toml,
            "model_catalog_json = {}",
            quote(&catalog.to_string_lossy())
        );
        let _ = writeln!(toml, "check_for_update_on_startup = false");
        // The workspace sits inside this repository's target folder; without this the runtime
        // would treat the repository as the project and send its AGENTS.md files to the model.
        let _ = writeln!(toml, "project_root_markers = []");
        match &self.chatgpt_base_url {
            Some(ChatgptBaseUrl::Mock) => {
                let url = format!("{}/backend-api/", model.url());
                let _ = writeln!(toml, "chatgpt_base_url = {}", quote(&url));
            }
            Some(ChatgptBaseUrl::Url(url)) => {
                let _ = writeln!(toml, "chatgpt_base_url = {}", quote(url));
            }
            None => {}
        }
        for line in &self.top_level {
            let _ = writeln!(toml, "{line}");
        }
        toml.push_str(
            "\n[analytics]\nenabled = false\n\n[feedback]\nenabled = false\n\n[features]\n",
        );
        for (name, enabled) in &self.features {
            let _ = writeln!(toml, "{name} = {enabled}");
        }
        toml.push_str("\n[model_providers.mock]\nname = \"mock\"\n");
        let _ = writeln!(toml, "base_url = {}", quote(&model.base_url()));
        for line in &self.provider {
            let _ = writeln!(toml, "{line}");
        }
        for extra in &self.extra_toml {
            let _ = writeln!(toml, "\n{extra}");
        }
        toml
    }
}

impl RuntimeHome {
    /// A home with the default options and a fresh [`MockModel`].
    ///
    /// # Errors
    /// When the mock cannot start or the files cannot be written.
    pub fn new() -> std::io::Result<Self> {
        Self::builder().build()
    }

    /// Options for a home.
    pub fn builder() -> RuntimeHomeBuilder {
        RuntimeHomeBuilder::default()
    }

    /// The mock model this home's config points at.
    pub fn model(&self) -> &MockModel {
        &self.model
    }

    /// The `CODEX_HOME` folder.
    pub fn codex_home(&self) -> &Path {
        &self.codex_home
    }

    /// The workspace folder, meant as the thread cwd (and the runtime's cwd).
    pub fn workspace(&self) -> &Path {
        &self.workspace
    }

    /// The `config.toml` path.
    pub fn config_path(&self) -> PathBuf {
        self.codex_home.join("config.toml")
    }

    /// An SDK configuration for this home: `CODEX_HOME` and the runtime's cwd (the workspace).
    /// The SDK resolves the runtime binary and puts its helper folders on `PATH` itself.
    pub fn config(&self) -> CodexConfig {
        let mut config = CodexConfig::default()
            .env("CODEX_HOME", self.codex_home.to_string_lossy())
            .cwd(&self.workspace);
        if let Some(bin) = &self.codex_bin {
            config = config.codex_bin(bin);
        }
        config
    }

    /// Resolves the runtime binary the way the SDK does for [`config`](Self::config).
    ///
    /// # Errors
    /// When no runtime is found (the error names where it looked and how to install it).
    pub fn resolve_runtime(&self) -> openai_codex::Result<ResolvedBinary> {
        self.config().resolve_binary()
    }

    /// The environment for a runtime process spawned by hand (a raw client, an example
    /// program): `CODEX_HOME`, and `PATH` with the runtime's helper folders (`codex-path`,
    /// `codex-resources`) first, so it finds its bundled `rg` and `bwrap`.
    pub fn env_vars(&self) -> Vec<(String, String)> {
        let prepend = self
            .resolve_runtime()
            .map(|resolved| resolved.path_prepend)
            .unwrap_or_default();
        let inherited = std::env::var_os("PATH").unwrap_or_default();
        let entries: Vec<PathBuf> = prepend
            .iter()
            .cloned()
            .chain(
                std::env::split_paths(&inherited)
                    .filter(|dir| !dir.as_os_str().is_empty() && !prepend.contains(dir)),
            )
            .collect();
        let path = std::env::join_paths(entries)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| inherited.to_string_lossy().into_owned());
        vec![
            (
                "CODEX_HOME".to_owned(),
                self.codex_home.to_string_lossy().into_owned(),
            ),
            ("PATH".to_owned(), path),
        ]
    }

    /// Spawns `codex app-server --listen stdio://` for this home (cwd = the workspace) and
    /// connects a [`RawClient`] to it. The handshake is left to the caller
    /// ([`RawClient::initialize`]). Must be called inside a tokio runtime.
    ///
    /// # Errors
    /// When the runtime is not found or cannot be started.
    pub fn spawn_app_server(&self) -> std::io::Result<RawClient> {
        let resolved = self
            .resolve_runtime()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::NotFound, e.to_string()))?;
        RawClient::spawn(
            &resolved.path,
            &["app-server", "--listen", "stdio://"],
            &self.env_vars(),
            Some(&self.workspace),
        )
    }

    /// Keeps the folder on disk after the home is dropped, and returns its path.
    pub fn keep(&mut self) -> PathBuf {
        match self.root.as_mut() {
            Some(root) => {
                root.disable_cleanup(true);
                root.path().to_path_buf()
            }
            None => self.codex_home.clone(),
        }
    }
}

/// A [`RuntimeHome`] and the [`CodexConfig`] for it, for tests that just want to start.
#[derive(Debug)]
#[non_exhaustive]
pub struct TestEnv {
    /// SDK configuration for [`home`](Self::home).
    pub config: CodexConfig,
    /// The home; it owns the mock model.
    pub home: RuntimeHome,
}

impl TestEnv {
    /// Creates a default [`RuntimeHome`] and its config.
    ///
    /// # Panics
    /// When the home cannot be created (a test cannot go on without it).
    pub fn start() -> Self {
        let home = RuntimeHome::new().expect("create a testkit RuntimeHome");
        Self {
            config: home.config(),
            home,
        }
    }

    /// The mock model.
    pub fn model(&self) -> &MockModel {
        self.home.model()
    }

    /// The workspace folder.
    pub fn workspace(&self) -> &Path {
        self.home.workspace()
    }
}

/// Where homes are created: see the module docs.
fn homes_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("OPENAI_CODEX_TESTKIT_HOMES").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    // This crate sits at <workspace>/crates/openai-codex-testkit.
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = match std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        Some(dir) if Path::new(&dir).is_absolute() => PathBuf::from(dir),
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    };
    target.join("testkit-homes")
}

/// The model catalog for [`MOCK_MODEL_SLUG`] (without it the runtime warns on every thread and
/// offers no `apply_patch` tool).
pub fn catalog_json() -> String {
    let catalog = json!({"models": [{
        "slug": MOCK_MODEL_SLUG,
        "display_name": "Mock Model",
        "description": "Scripted fake model",
        "default_reasoning_level": "medium",
        "supported_reasoning_levels": [
            {"effort": "low", "description": "low"},
            {"effort": "medium", "description": "medium"},
            {"effort": "high", "description": "high"}
        ],
        "shell_type": "shell_command",
        "visibility": "list",
        "supported_in_api": true,
        "priority": 1,
        "upgrade": null,
        "base_instructions": "You are a mock agent.",
        "supports_reasoning_summaries": true,
        "support_verbosity": false,
        "default_verbosity": null,
        "apply_patch_tool_type": "freeform",
        "truncation_policy": {"mode": "tokens", "limit": 10000},
        "supports_parallel_tool_calls": true,
        "context_window": 128000,
        "experimental_supported_tools": []
    }]});
    serde_json::to_string_pretty(&catalog).expect("serialize catalog")
}

/// The key of a `key = value` line.
fn toml_key(line: &str) -> &str {
    line.split('=').next().unwrap_or("").trim()
}

/// A TOML basic string.
fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_config_and_catalog_outside_the_temp_dir() {
        let home = RuntimeHome::builder()
            .config_line("model_reasoning_effort = \"high\"")
            .feature("goals", false)
            .provider_line("stream_max_retries = 2")
            .requires_openai_auth(true)
            .chatgpt_base_url_on_mock()
            .build()
            .unwrap();
        // Homes live under the project's target dir (`testkit-homes`), so they are outside the
        // system temp dir unless the checkout itself is inside it.
        let under_homes = home
            .codex_home()
            .ancestors()
            .any(|a| a.file_name() == Some(std::ffi::OsStr::new("testkit-homes")));
        assert!(under_homes || std::env::var_os("OPENAI_CODEX_TESTKIT_HOMES").is_some());
        let checkout = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let temp = std::env::temp_dir();
        if !checkout.starts_with(&temp) {
            assert!(!home.codex_home().starts_with(&temp));
        }
        assert!(home.workspace().is_dir());
        let toml = std::fs::read_to_string(home.config_path()).unwrap();
        let port = home.model().port();
        assert!(toml.contains(&format!("base_url = \"http://127.0.0.1:{port}/v1\"")));
        assert!(toml.contains(&format!(
            "chatgpt_base_url = \"http://127.0.0.1:{port}/backend-api/\""
        )));
        assert!(toml.contains("requires_openai_auth = true"));
        assert!(toml.contains("goals = false"));
        assert_eq!(toml.matches("stream_max_retries").count(), 1, "{toml}");
        assert!(toml.contains("stream_max_retries = 2"));
        let effort = toml.find("model_reasoning_effort").unwrap();
        assert!(
            effort < toml.find("[analytics]").unwrap(),
            "top level: {toml}"
        );
        let catalog: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(home.codex_home().join("catalog.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(catalog["models"][0]["slug"], "mock-model");
        let env = home.env_vars();
        assert_eq!(env[0].0, "CODEX_HOME");
        assert_eq!(env[1].0, "PATH");
        let root = home.codex_home().parent().unwrap().to_path_buf();
        drop(home);
        assert!(!root.exists(), "removed on drop");
    }

    #[test]
    fn quote_escapes() {
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
