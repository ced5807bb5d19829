//! The pinned Codex runtime: where it is stored, and (feature `install`, on by default) how it is
//! installed.
//!
//! The runtime ships on the Python package index as the wheel `openai-codex-cli-bin`, one wheel per
//! platform. The [`Installer`] fetches the wheel for this platform straight from the index (no
//! Python, no pip), checks its SHA-256 against the digests pinned in this crate
//! ([`PINNED_WHEELS`]), unpacks only what the runtime needs (`bin/`, `codex-path/`,
//! `codex-resources/`) and moves it into a *runtime store* in one rename, so a half-finished
//! install is never seen. A store holds one folder per version:
//!
//! ```text
//! <store>/
//!   0.163.0/
//!     codex_cli_bin/bin/codex         the runtime
//!     codex_cli_bin/codex-path/       helpers put first on the runtime's PATH (rg)
//!     codex_cli_bin/codex-resources/  more helpers (bwrap)
//!     INSTALLED                       written last: which wheel, which digest
//!   .lock-0.163.0                     file lock held by the process installing that version
//! ```
//!
//! The per-user store is `OPENAI_CODEX_RUNTIME_DIR` when set, else `<cache>/openai-codex/runtime`
//! (`$XDG_CACHE_HOME` or `~/.cache` on Linux, `~/Library/Caches` on macOS, `%LOCALAPPDATA%` on
//! Windows).

use std::path::{Path, PathBuf};

use crate::config::PINNED_RUNTIME_VERSION;

mod error;
#[cfg(feature = "install")]
mod index;
#[cfg(feature = "install")]
mod install;
mod platform;

pub use error::InstallError;
#[cfg(feature = "install")]
pub use install::{InstalledRuntime, Installer};
pub use platform::{current_platform_tags, wheel_matches_platform};

/// The package that carries the runtime on the Python package index.
pub const PACKAGE_NAME: &str = "openai-codex-cli-bin";

/// The index used when none is configured: PyPI's simple repository API.
pub const DEFAULT_INDEX_URL: &str = "https://pypi.org/simple";

/// Names another package index (a mirror; the same simple API as PyPI, JSON or HTML).
pub const INDEX_URL_ENV: &str = "OPENAI_CODEX_INDEX_URL";

/// Names the runtime store (instead of the per-user cache).
pub const RUNTIME_DIR_ENV: &str = "OPENAI_CODEX_RUNTIME_DIR";

/// Names a local wheel file to install instead of downloading one.
pub const RUNTIME_WHEEL_ENV: &str = "OPENAI_CODEX_RUNTIME_WHEEL";

/// Names the SHA-256 (hex) the wheel must have, instead of the pinned one. For wheels you build
/// or repackage yourself: whoever sets it could as well set `CODEX_BIN`.
pub const RUNTIME_SHA256_ENV: &str = "OPENAI_CODEX_RUNTIME_SHA256";

/// When set to `1`/`true`/`yes`, the SDK never downloads a runtime (sites that must not).
pub const NO_INSTALL_ENV: &str = "OPENAI_CODEX_NO_INSTALL";

/// The marker written into a version folder once everything else is in place.
pub(crate) const MARKER_FILE: &str = "INSTALLED";

/// One platform wheel of the pinned release and its SHA-256, as the index publishes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PinnedWheel {
    /// The wheel's file name.
    pub filename: &'static str,
    /// Its SHA-256, lowercase hex.
    pub sha256: &'static str,
}

/// Every platform wheel of `openai-codex-cli-bin` [`PINNED_RUNTIME_VERSION`] with its digest.
///
/// A wheel of the pinned version installs only when its bytes hash to the digest listed here (or
/// to one the caller names explicitly): a digest published by the index is never trusted alone.
pub const PINNED_WHEELS: &[PinnedWheel] = &[
    PinnedWheel {
        filename: "openai_codex_cli_bin-0.163.0-py3-none-macosx_10_9_x86_64.whl",
        sha256: "6b4a9e614e30442f9c2b804604b7fba12f218627f709fe5ba1960c01dac15ca1",
    },
    PinnedWheel {
        filename: "openai_codex_cli_bin-0.163.0-py3-none-macosx_11_0_arm64.whl",
        sha256: "dd0e6570930167f0e15ec94c5fb494a4a5a9dceb0a97113176c7b47c826cda05",
    },
    PinnedWheel {
        filename: "openai_codex_cli_bin-0.163.0-py3-none-manylinux_2_17_aarch64.whl",
        sha256: "bb2b0d117eeb02608738cf2bcdf51f6a036343d0028272e11a94e72b0d23b141",
    },
    PinnedWheel {
        filename: "openai_codex_cli_bin-0.163.0-py3-none-manylinux_2_17_x86_64.whl",
        sha256: "76db41fb07fdf9ddacbe892b48d21dfde270031ec0f5666b5e558114355f006d",
    },
    PinnedWheel {
        filename: "openai_codex_cli_bin-0.163.0-py3-none-musllinux_1_1_aarch64.whl",
        sha256: "64eca5277cf5158e43f78a231e51d7650d42071d5555b86de29cfffc86b700e1",
    },
    PinnedWheel {
        filename: "openai_codex_cli_bin-0.163.0-py3-none-musllinux_1_1_x86_64.whl",
        sha256: "0e2984865a16661eddf431ff26d5effd24fa00175b9e8b7a7e2c889276707cca",
    },
    PinnedWheel {
        filename: "openai_codex_cli_bin-0.163.0-py3-none-win_amd64.whl",
        sha256: "b759f212cc0deec6da9f297800797232c73d3f0d963842deaa02df965ee0b8b6",
    },
    PinnedWheel {
        filename: "openai_codex_cli_bin-0.163.0-py3-none-win_arm64.whl",
        sha256: "64c7d113e1bf6cefa87159c1d21115654a716e1b505295d8520aa91e399ad115",
    },
];

/// The pinned digest of a wheel file name, when it is one of [`PINNED_WHEELS`].
///
/// # Examples
///
/// ```
/// use openai_codex::runtime::pinned_sha256;
///
/// assert!(pinned_sha256("openai_codex_cli_bin-0.163.0-py3-none-win_amd64.whl").is_some());
/// assert!(pinned_sha256("something-else.whl").is_none());
/// ```
pub fn pinned_sha256(filename: &str) -> Option<&'static str> {
    PINNED_WHEELS
        .iter()
        .find(|w| w.filename == filename)
        .map(|w| w.sha256)
}

/// The per-user runtime store: `OPENAI_CODEX_RUNTIME_DIR` when set, else the platform's cache
/// folder + `openai-codex/runtime`. `None` when neither exists (no home folder).
///
/// # Examples
///
/// ```
/// if let Some(store) = openai_codex::runtime::user_store() {
///     println!("runtimes are cached in {}", store.display());
/// }
/// ```
pub fn user_store() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(RUNTIME_DIR_ENV).filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    dirs::cache_dir().map(|cache| cache.join("openai-codex").join("runtime"))
}

/// The runtime store inside this repository (`target/codex-runtime`, filled by
/// `cargo xtask runtime`), known only when the crate is built from its own repository (the
/// repository's `.cargo/config.toml` names it at compile time). `None` for every other build.
///
/// # Examples
///
/// ```
/// match openai_codex::runtime::project_store() {
///     Some(store) => println!("built in the SDK's repository; project runtimes in {}", store.display()),
///     None => println!("a normal dependency build: only the per-user store is used"),
/// }
/// ```
pub fn project_store() -> Option<PathBuf> {
    option_env!("OPENAI_CODEX_PROJECT_RUNTIME_DIR").map(PathBuf::from)
}

/// The version folder of `version` in `store`.
pub(crate) fn version_dir(store: &Path, version: &str) -> PathBuf {
    store.join(version)
}

/// The runtime executable inside a version folder.
///
/// # Examples
///
/// ```
/// use std::path::Path;
///
/// let bin = openai_codex::runtime::binary_in(Path::new("store/0.163.0"));
/// assert!(bin.ends_with("codex_cli_bin/bin/codex") || bin.ends_with("codex_cli_bin/bin/codex.exe"));
/// ```
pub fn binary_in(version_dir: &Path) -> PathBuf {
    version_dir
        .join("codex_cli_bin")
        .join("bin")
        .join(if cfg!(windows) { "codex.exe" } else { "codex" })
}

/// The complete install of `version` in `store`, if there is one: its binary exists and its
/// `INSTALLED` marker (written last) too.
///
/// # Examples
///
/// ```
/// use openai_codex::runtime::{installed_binary, user_store};
///
/// if let Some(bin) = user_store().and_then(|s| installed_binary(&s, "0.163.0")) {
///     println!("cached runtime: {}", bin.display());
/// }
/// ```
pub fn installed_binary(store: &Path, version: &str) -> Option<PathBuf> {
    let dir = version_dir(store, version);
    let bin = binary_in(&dir);
    (bin.is_file() && dir.join(MARKER_FILE).is_file()).then_some(bin)
}

/// Whether the environment forbids downloading a runtime (`OPENAI_CODEX_NO_INSTALL`).
pub(crate) fn install_forbidden_by_env() -> bool {
    std::env::var(NO_INSTALL_ENV)
        .map(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
        .unwrap_or(false)
}

/// The version this SDK installs by default.
pub const PINNED_VERSION: &str = PINNED_RUNTIME_VERSION;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pinned_wheel_is_of_the_pinned_version_with_a_full_digest() {
        assert_eq!(PINNED_WHEELS.len(), 8);
        for wheel in PINNED_WHEELS {
            assert!(
                wheel
                    .filename
                    .starts_with(&format!("openai_codex_cli_bin-{PINNED_VERSION}-")),
                "{}",
                wheel.filename
            );
            assert_eq!(wheel.sha256.len(), 64);
            assert!(wheel.sha256.bytes().all(|b| b.is_ascii_hexdigit()));
        }
    }

    #[test]
    fn this_platform_has_a_pinned_wheel() {
        assert!(
            PINNED_WHEELS
                .iter()
                .any(|w| wheel_matches_platform(w.filename).is_some()),
            "no pinned wheel for {:?}",
            current_platform_tags()
        );
    }

    #[test]
    fn an_install_without_its_marker_is_not_an_install() {
        let store = tempfile::tempdir().unwrap();
        let bin = binary_in(&version_dir(store.path(), "9.9.9"));
        std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
        std::fs::write(&bin, b"").unwrap();
        assert_eq!(installed_binary(store.path(), "9.9.9"), None);
        std::fs::write(version_dir(store.path(), "9.9.9").join(MARKER_FILE), b"{}").unwrap();
        assert_eq!(installed_binary(store.path(), "9.9.9"), Some(bin));
    }
}
