//! The installer: wheel → verified → unpacked → moved into the store in one rename.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fs4::fs_std::FileExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::InstallError;
use super::index::{self, network_error, IndexFile};
use super::{
    binary_in, installed_binary, pinned_sha256, platform, user_store, version_dir,
    DEFAULT_INDEX_URL, INDEX_URL_ENV, MARKER_FILE, PACKAGE_NAME, PINNED_VERSION,
    RUNTIME_SHA256_ENV, RUNTIME_WHEEL_ENV,
};
use crate::config::CodexConfig;

/// The wheel entries the runtime needs; everything else in the wheel (Python glue, metadata) is
/// left out. `bin/` holds `codex` and the helper executables it starts from beside itself;
/// `codex-package.json` describes the package layout, and without it the runtime refuses to
/// start its managed daemon ("this CLI has no complete local package").
const WANTED: &[&str] = &[
    "codex_cli_bin/bin/",
    "codex_cli_bin/codex-path/",
    "codex_cli_bin/codex-resources/",
    "codex_cli_bin/codex-package.json",
];

/// Installs `openai-codex-cli-bin` for this platform into a runtime store.
///
/// Built from the environment ([`Installer::new`]) or a client configuration
/// ([`Installer::from_config`]), adjusted with the builder methods, run with
/// [`Installer::install`]. Installing is idempotent: a complete install is found and returned
/// without touching the network.
///
/// # Examples
///
/// ```no_run
/// use openai_codex::runtime::Installer;
///
/// let installed = Installer::new().install()?;
/// println!("codex {} at {}", installed.version, installed.binary.display());
/// # Ok::<(), openai_codex::runtime::InstallError>(())
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct Installer {
    version: String,
    store: Option<PathBuf>,
    index_url: String,
    wheel: Option<PathBuf>,
    expected_sha256: Option<String>,
    progress: bool,
    lock_wait: Duration,
}

/// A complete install in a store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InstalledRuntime {
    /// The runtime executable.
    pub binary: PathBuf,
    /// The version folder (`<store>/<version>`).
    pub dir: PathBuf,
    /// The runtime version.
    pub version: String,
    /// The wheel it came from (file name).
    pub wheel: String,
    /// The wheel's SHA-256.
    pub sha256: String,
    /// Where the wheel came from (URL or local path).
    pub origin: String,
    /// Whether this call installed it (`false`: it was already there).
    #[serde(skip)]
    pub fresh: bool,
}

impl Default for Installer {
    fn default() -> Self {
        Self::new()
    }
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Installer {
    /// The pinned version into the per-user store, with the index, local wheel and digest named
    /// by `OPENAI_CODEX_INDEX_URL`, `OPENAI_CODEX_RUNTIME_WHEEL` and `OPENAI_CODEX_RUNTIME_SHA256`
    /// when set. Progress is shown when stderr is a terminal.
    ///
    /// # Examples
    ///
    /// ```
    /// let installer = openai_codex::runtime::Installer::new();
    /// # let _ = installer;
    /// ```
    pub fn new() -> Self {
        Self {
            version: PINNED_VERSION.to_string(),
            store: None,
            index_url: env_nonempty(INDEX_URL_ENV).unwrap_or_else(|| DEFAULT_INDEX_URL.to_string()),
            wheel: env_nonempty(RUNTIME_WHEEL_ENV).map(PathBuf::from),
            expected_sha256: env_nonempty(RUNTIME_SHA256_ENV),
            progress: true,
            lock_wait: Duration::from_secs(30 * 60),
        }
    }

    /// [`Installer::new`] with the configuration's settings on top (`runtime_dir`,
    /// `package_index`, `runtime_wheel`, `runtime_sha256`).
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::{runtime::Installer, CodexConfig};
    ///
    /// let config = CodexConfig::default().package_index("https://mirror.example/simple");
    /// let installer = Installer::from_config(&config);
    /// # let _ = installer;
    /// ```
    pub fn from_config(config: &CodexConfig) -> Self {
        let mut installer = Self::new();
        if let Some(dir) = &config.runtime_dir {
            installer.store = Some(dir.clone());
        }
        if let Some(url) = &config.package_index {
            installer.index_url = url.clone();
        }
        if let Some(wheel) = &config.runtime_wheel {
            installer.wheel = Some(wheel.clone());
        }
        if let Some(sha) = &config.runtime_sha256 {
            installer.expected_sha256 = Some(sha.clone());
        }
        installer
    }

    /// Installs this version instead of the pinned one. A version other than the pinned one has no
    /// pinned digests: the index's published digest is used (and said so in the log) unless
    /// [`Installer::expected_sha256`] names one.
    ///
    /// # Examples
    ///
    /// ```
    /// let installer = openai_codex::runtime::Installer::new().version("0.163.0");
    /// # let _ = installer;
    /// ```
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// Installs into this store instead of the per-user one.
    ///
    /// # Examples
    ///
    /// ```
    /// let installer = openai_codex::runtime::Installer::new().store("target/codex-runtime");
    /// # let _ = installer;
    /// ```
    pub fn store(mut self, dir: impl Into<PathBuf>) -> Self {
        self.store = Some(dir.into());
        self
    }

    /// Reads the package from this index (simple API root, like `https://pypi.org/simple`).
    ///
    /// # Examples
    ///
    /// ```
    /// let installer = openai_codex::runtime::Installer::new().index_url("https://mirror.example/simple");
    /// # let _ = installer;
    /// ```
    pub fn index_url(mut self, url: impl Into<String>) -> Self {
        self.index_url = url.into();
        self
    }

    /// Installs this wheel file instead of downloading one.
    ///
    /// # Examples
    ///
    /// ```
    /// let installer = openai_codex::runtime::Installer::new()
    ///     .wheel("openai_codex_cli_bin-0.163.0-py3-none-manylinux_2_17_x86_64.whl");
    /// # let _ = installer;
    /// ```
    pub fn wheel(mut self, path: impl Into<PathBuf>) -> Self {
        self.wheel = Some(path.into());
        self
    }

    /// The SHA-256 (hex) the wheel must have, for a wheel that is not one of the pinned files
    /// (one you built or repackaged). It replaces the pinned digest; nothing is installed unless
    /// the bytes match it.
    ///
    /// # Examples
    ///
    /// ```
    /// let installer = openai_codex::runtime::Installer::new()
    ///     .expected_sha256("76db41fb07fdf9ddacbe892b48d21dfde270031ec0f5666b5e558114355f006d");
    /// # let _ = installer;
    /// ```
    pub fn expected_sha256(mut self, hex: impl Into<String>) -> Self {
        self.expected_sha256 = Some(hex.into());
        self
    }

    /// Whether to draw a progress bar (only ever on a terminal).
    ///
    /// # Examples
    ///
    /// ```
    /// let installer = openai_codex::runtime::Installer::new().progress(false);
    /// # let _ = installer;
    /// ```
    pub fn progress(mut self, show: bool) -> Self {
        self.progress = show;
        self
    }

    /// How long to wait for another process that is installing the same version (default 30
    /// minutes).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let installer = openai_codex::runtime::Installer::new().lock_wait(Duration::from_secs(60));
    /// # let _ = installer;
    /// ```
    pub fn lock_wait(mut self, wait: Duration) -> Self {
        self.lock_wait = wait;
        self
    }

    /// The store this installer writes to.
    ///
    /// # Errors
    /// [`InstallError::NoStore`] when none is set and the user has no cache folder.
    ///
    /// # Examples
    ///
    /// ```
    /// if let Ok(store) = openai_codex::runtime::Installer::new().target_store() {
    ///     println!("installs go to {}", store.display());
    /// }
    /// ```
    pub fn target_store(&self) -> Result<PathBuf, InstallError> {
        self.store
            .clone()
            .or_else(user_store)
            .ok_or(InstallError::NoStore)
    }

    /// Where the wheel would come from: the local file, or the index URL.
    ///
    /// # Examples
    ///
    /// ```
    /// println!("{}", openai_codex::runtime::Installer::new().source_description());
    /// ```
    pub fn source_description(&self) -> String {
        match &self.wheel {
            Some(path) => format!("wheel file {}", path.display()),
            None => format!("package index {}", self.index_url),
        }
    }

    /// Installs (or finds) the runtime and returns where it is.
    ///
    /// # Errors
    /// An [`InstallError`] naming what failed and the fix; nothing half-installed is left behind.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let installed = openai_codex::runtime::Installer::new().progress(false).install()?;
    /// assert!(installed.binary.is_file());
    /// # Ok::<(), openai_codex::runtime::InstallError>(())
    /// ```
    pub fn install(&self) -> Result<InstalledRuntime, InstallError> {
        let store = self.target_store()?;
        std::fs::create_dir_all(&store).map_err(|e| InstallError::io("create", &store, e))?;
        if let Some(found) = self.existing(&store) {
            return Ok(found);
        }
        let lock_path = store.join(format!(".lock-{}", self.version));
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| InstallError::io("create", &lock_path, e))?;
        self.acquire(&lock, &lock_path)?;
        // Another process may have finished while this one waited.
        if let Some(found) = self.existing(&store) {
            return Ok(found);
        }
        let result = self.install_locked(&store);
        let _ = FileExt::unlock(&lock);
        result
    }

    fn existing(&self, store: &Path) -> Option<InstalledRuntime> {
        let binary = installed_binary(store, &self.version)?;
        let dir = version_dir(store, &self.version);
        let marker = std::fs::read_to_string(dir.join(MARKER_FILE)).ok();
        let mut found: InstalledRuntime = marker
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_else(|| InstalledRuntime {
                binary: binary.clone(),
                dir: dir.clone(),
                version: self.version.clone(),
                wheel: String::new(),
                sha256: String::new(),
                origin: String::new(),
                fresh: false,
            });
        // The store may have moved since the marker was written.
        found.binary = binary;
        found.dir = dir;
        found.fresh = false;
        Some(found)
    }

    fn acquire(&self, lock: &File, path: &Path) -> Result<(), InstallError> {
        let started = Instant::now();
        let mut said = false;
        loop {
            match FileExt::try_lock_exclusive(lock) {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(e) => return Err(InstallError::io("lock", path, e)),
            }
            if !said {
                tracing::info!(
                    "waiting for another process installing codex runtime {} (lock {})",
                    self.version,
                    path.display()
                );
                said = true;
            }
            if started.elapsed() >= self.lock_wait {
                return Err(InstallError::LockTimeout {
                    path: path.to_path_buf(),
                    waited_secs: started.elapsed().as_secs(),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn install_locked(&self, store: &Path) -> Result<InstalledRuntime, InstallError> {
        // Under the lock nobody else works on this version: leftovers of a crashed installer and
        // an incomplete version folder (no marker) can go.
        let staging_prefix = format!(".staging-{}-", self.version);
        if let Ok(entries) = std::fs::read_dir(store) {
            for entry in entries.flatten() {
                if entry
                    .file_name()
                    .to_string_lossy()
                    .starts_with(&staging_prefix)
                {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        let target = version_dir(store, &self.version);
        if target.exists() {
            std::fs::remove_dir_all(&target).map_err(|e| InstallError::io("remove", &target, e))?;
        }
        let staging = Staging(store.join(format!(
            "{staging_prefix}{}-{}",
            std::process::id(),
            fastrand::u64(..)
        )));
        std::fs::create_dir_all(&staging.0)
            .map_err(|e| InstallError::io("create", &staging.0, e))?;

        let (wheel_path, wheel_name, origin, sha256) = match &self.wheel {
            Some(path) => self.verify_local(path)?,
            None => self.download(&staging.0)?,
        };
        let unpacked = staging.0.join("unpacked");
        unpack(&wheel_path, &wheel_name, &unpacked)?;
        check_runs(&binary_in(&unpacked), &self.version)?;
        let marker = InstalledRuntime {
            binary: binary_in(&target),
            dir: target.clone(),
            version: self.version.clone(),
            wheel: wheel_name,
            sha256,
            origin,
            fresh: true,
        };
        let marker_path = unpacked.join(MARKER_FILE);
        let text = serde_json::to_string_pretty(&marker).expect("marker serializes");
        std::fs::write(&marker_path, text)
            .map_err(|e| InstallError::io("write", &marker_path, e))?;
        // The one step that makes it visible: a rename within the store's file system.
        std::fs::rename(&unpacked, &target)
            .map_err(|e| InstallError::io("rename", &unpacked, e))?;
        tracing::info!(
            "installed codex runtime {} into {}",
            self.version,
            target.display()
        );
        Ok(marker)
    }

    /// The digest a wheel must have, and where that expectation comes from.
    fn expected_for(
        &self,
        filename: &str,
        published: Option<&str>,
    ) -> Result<(String, &'static str), InstallError> {
        if let Some(hex) = &self.expected_sha256 {
            return Ok((hex.trim().to_ascii_lowercase(), "digest given explicitly"));
        }
        if let Some(pinned) = pinned_sha256(filename) {
            return Ok((pinned.to_string(), "digest pinned in the SDK"));
        }
        if self.version != PINNED_VERSION {
            if let Some(published) = published {
                tracing::warn!(
                    "codex runtime {} is not the pinned {PINNED_VERSION}: trusting the digest the \
                     index publishes for {filename}",
                    self.version
                );
                return Ok((published.to_string(), "digest published by the index"));
            }
        }
        Err(InstallError::UnknownDigest {
            file: filename.to_string(),
            env: RUNTIME_SHA256_ENV,
        })
    }

    fn verify_local(&self, path: &Path) -> Result<(PathBuf, String, String, String), InstallError> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (expected, origin) = self.expected_for(&name, None)?;
        let mut file = File::open(path).map_err(|e| InstallError::io("open", path, e))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = file
                .read(&mut buf)
                .map_err(|e| InstallError::io("read", path, e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        let actual = hex(&hasher.finalize());
        if actual != expected {
            return Err(InstallError::DigestMismatch {
                file: name,
                origin: origin.to_string(),
                expected,
                actual,
                env: RUNTIME_SHA256_ENV,
            });
        }
        Ok((path.to_path_buf(), name, path.display().to_string(), actual))
    }

    fn choose(&self, files: Vec<IndexFile>, page: String) -> Result<IndexFile, InstallError> {
        let of_version: Vec<IndexFile> = files
            .into_iter()
            .filter(|f| wheel_version(&f.filename).as_deref() == Some(self.version.as_str()))
            .collect();
        of_version
            .iter()
            .filter_map(|f| platform::wheel_matches_platform(&f.filename).map(|rank| (rank, f)))
            .min_by_key(|(rank, _)| *rank)
            .map(|(_, f)| f.clone())
            .ok_or_else(|| InstallError::NoWheelForPlatform {
                version: self.version.clone(),
                platform: platform::describe(),
                url: page,
                available: if of_version.is_empty() {
                    vec!["(no file of that version)".into()]
                } else {
                    of_version.iter().map(|f| f.filename.clone()).collect()
                },
            })
    }

    fn download(&self, staging: &Path) -> Result<(PathBuf, String, String, String), InstallError> {
        let agent = index::agent();
        let files = index::list_files(&agent, &self.index_url, PACKAGE_NAME)?;
        let chosen = self.choose(files, index::page_url(&self.index_url, PACKAGE_NAME))?;
        let (expected, origin) = self.expected_for(&chosen.filename, chosen.sha256.as_deref())?;
        let dest = staging.join(&chosen.filename);
        tracing::info!(
            "downloading codex runtime {} ({}) from {}",
            self.version,
            chosen.filename,
            chosen.url
        );
        let response = agent
            .get(&chosen.url)
            .call()
            .map_err(|e| network_error(&chosen.url, e))?;
        let length = response
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let bar = self.progress_bar(length, &chosen.filename);
        let mut reader = response.into_body().into_reader();
        let file = File::create(&dest).map_err(|e| InstallError::io("create", &dest, e))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 256 * 1024];
        let mut received: u64 = 0;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    bar.abandon();
                    return Err(network_error(
                        &chosen.url,
                        format!("broke off after {received} bytes: {e}"),
                    ));
                }
            };
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n])
                .map_err(|e| InstallError::io("write", &dest, e))?;
            received += n as u64;
            bar.set_position(received);
        }
        out.flush()
            .map_err(|e| InstallError::io("write", &dest, e))?;
        bar.finish_and_clear();
        if let Some(length) = length.filter(|&l| l != received) {
            return Err(network_error(
                &chosen.url,
                format!("broke off after {received} of {length} bytes"),
            ));
        }
        let actual = hex(&hasher.finalize());
        if actual != expected {
            return Err(InstallError::DigestMismatch {
                file: chosen.filename,
                origin: origin.to_string(),
                expected,
                actual,
                env: RUNTIME_SHA256_ENV,
            });
        }
        Ok((dest, chosen.filename, chosen.url, actual))
    }

    fn progress_bar(&self, length: Option<u64>, name: &str) -> indicatif::ProgressBar {
        if !self.progress || !std::io::stderr().is_terminal() {
            return indicatif::ProgressBar::hidden();
        }
        let bar = indicatif::ProgressBar::with_draw_target(
            length,
            indicatif::ProgressDrawTarget::stderr(),
        );
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{msg} {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} {eta}",
        ) {
            bar.set_style(style);
        }
        bar.set_message(format!("codex runtime {} ({name})", self.version));
        bar
    }
}

/// Removes a staging folder unless it was consumed.
struct Staging(PathBuf);

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The version field of a wheel file name (`name-version-py-abi-platform.whl`).
fn wheel_version(filename: &str) -> Option<String> {
    let stem = filename.strip_suffix(".whl")?;
    let mut parts = stem.split('-');
    let name = parts.next()?;
    if !name
        .replace(['-', '.'], "_")
        .eq_ignore_ascii_case("openai_codex_cli_bin")
    {
        return None;
    }
    parts.next().map(str::to_string)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Extracts the wanted folders of the wheel into `dest` (which becomes the version folder).
fn unpack(wheel: &Path, name: &str, dest: &Path) -> Result<(), InstallError> {
    let bad = |reason: String| InstallError::BadWheel {
        file: name.to_string(),
        reason,
    };
    let file = File::open(wheel).map_err(|e| InstallError::io("open", wheel, e))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| bad(format!("not a zip ({e})")))?;
    let mut found_binary = false;
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| bad(format!("entry {i}: {e}")))?;
        // `enclosed_name` refuses absolute paths and `..`: a wheel cannot write outside `dest`.
        let Some(relative) = entry.enclosed_name() else {
            continue;
        };
        let as_text = relative.to_string_lossy().replace('\\', "/");
        if !WANTED.iter().any(|prefix| as_text.starts_with(prefix)) {
            continue;
        }
        let out = dest.join(&relative);
        if entry.is_dir() {
            std::fs::create_dir_all(&out).map_err(|e| InstallError::io("create", &out, e))?;
            continue;
        }
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent).map_err(|e| InstallError::io("create", parent, e))?;
        }
        let mut target = File::create(&out).map_err(|e| InstallError::io("create", &out, e))?;
        std::io::copy(&mut entry, &mut target).map_err(|e| {
            if e.kind() == std::io::ErrorKind::InvalidData {
                bad(format!("{as_text}: {e}"))
            } else {
                InstallError::io("write", &out, e)
            }
        })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // These folders hold executables only (codex, rg, bwrap, ...), and some wheel tools
            // drop the mode bits, so every file gets rwxr-xr-x.
            std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o755))
                .map_err(|e| InstallError::io("chmod", &out, e))?;
        }
        if out == binary_in(dest) {
            found_binary = true;
        }
    }
    if !found_binary {
        return Err(bad(format!(
            "it has no {}",
            binary_in(Path::new("")).display()
        )));
    }
    Ok(())
}

/// Runs `<binary> --version` and checks that it names `version`.
fn check_runs(binary: &Path, version: &str) -> Result<(), InstallError> {
    let output = std::process::Command::new(binary)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| InstallError::Broken {
            path: binary.to_path_buf(),
            reason: format!("cannot run it: {e}"),
        })?;
    let text = String::from_utf8_lossy(&output.stdout);
    if output.status.success() && text.split_whitespace().any(|w| w == version) {
        Ok(())
    } else {
        Err(InstallError::Broken {
            path: binary.to_path_buf(),
            reason: format!(
                "`--version` printed {:?} ({}), expected {version}",
                text.trim(),
                output.status
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wheel_versions_are_read_from_file_names() {
        assert_eq!(
            wheel_version("openai_codex_cli_bin-0.163.0-py3-none-win_amd64.whl").as_deref(),
            Some("0.163.0")
        );
        assert_eq!(wheel_version("other-0.163.0-py3-none-win_amd64.whl"), None);
        assert_eq!(wheel_version("openai_codex_cli_bin-0.163.0.tar.gz"), None);
    }

    #[test]
    fn the_pinned_digest_wins_over_the_index_for_pinned_files() {
        let installer = Installer::new()
            .index_url("http://127.0.0.1:9/simple")
            .version(PINNED_VERSION);
        let mut installer = installer;
        installer.expected_sha256 = None;
        let name = "openai_codex_cli_bin-0.163.0-py3-none-win_amd64.whl";
        let (expected, origin) = installer.expected_for(name, Some("00")).unwrap();
        assert_eq!(expected, pinned_sha256(name).unwrap());
        assert_eq!(origin, "digest pinned in the SDK");
        // A file of the pinned version that is not pinned is refused, whatever the index says.
        let err = installer
            .expected_for("openai_codex_cli_bin-0.163.0-py3-none-any.whl", Some("00"))
            .unwrap_err();
        assert!(matches!(err, InstallError::UnknownDigest { .. }), "{err}");
    }
}
