//! Why installing the runtime failed, one variant per thing a user can fix.

use std::path::PathBuf;

/// A failed runtime install. Every message names what went wrong and how to fix it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InstallError {
    /// The index has no wheel of that version for this OS and CPU.
    #[error(
        "no {}=={version} wheel for this platform ({platform}) at {url}; the index has: {}. \
         Fix: install a codex binary yourself and set CODEX_BIN, or point \
         {} at an index that has one", super::PACKAGE_NAME, available.join(", "), super::INDEX_URL_ENV
    )]
    NoWheelForPlatform {
        /// The version asked for.
        version: String,
        /// This machine (`linux x86_64`).
        platform: String,
        /// The index page read.
        url: String,
        /// The wheel files the index lists for that version.
        available: Vec<String>,
    },
    /// The wheel's bytes do not hash to the expected digest. Nothing was installed.
    #[error(
        "SHA-256 mismatch for {file} ({origin}): expected {expected}, got {actual}. Nothing was \
         installed. The download was corrupted or the file is not the published wheel; if you \
         built it yourself, name its digest in {env}"
    )]
    DigestMismatch {
        /// The wheel file name.
        file: String,
        /// Where the expected digest came from (pinned in the SDK, given explicitly, the index).
        origin: String,
        /// The expected digest.
        expected: String,
        /// The digest of the bytes received.
        actual: String,
        /// The environment variable naming an explicit digest.
        env: &'static str,
    },
    /// The wheel is not one of the pinned release's files, and no digest was given for it.
    #[error(
        "no trusted SHA-256 for {file}: it is not one of the pinned wheels of this SDK. Fix: name \
         its digest in {env} (or CodexConfig::runtime_sha256)"
    )]
    UnknownDigest {
        /// The wheel file name.
        file: String,
        /// The environment variable naming an explicit digest.
        env: &'static str,
    },
    /// The index (or the wheel's URL) could not be reached or broke off.
    #[error(
        "cannot download {url}: {reason}. Fix: check the network, or set {env} to a reachable \
         mirror of the package index (or {wheel_env} to a wheel file on disk)"
    )]
    Network {
        /// The URL.
        url: String,
        /// What failed.
        reason: String,
        /// The environment variable naming a mirror.
        env: &'static str,
        /// The environment variable naming a local wheel.
        wheel_env: &'static str,
    },
    /// The index answered with something that is not a package page.
    #[error("unexpected answer from the package index at {url}: {reason}. Fix: set {env} to the index's simple API URL (like https://pypi.org/simple)")]
    BadIndex {
        /// The URL read.
        url: String,
        /// What was wrong.
        reason: String,
        /// The environment variable naming another index.
        env: &'static str,
    },
    /// The wheel is not a usable zip, or lacks the runtime.
    #[error("{file} is not a usable runtime wheel: {reason}")]
    BadWheel {
        /// The wheel file.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// The disk filled up while downloading or unpacking. Nothing was installed.
    #[error("disk full while writing {}: free space there (the runtime needs about 400 MB unpacked) or set OPENAI_CODEX_RUNTIME_DIR to a folder on a larger disk", path.display())]
    DiskFull {
        /// The file being written.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Another file-system error.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done (`create`, `write`, `rename`, ...).
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Another process held the install lock for too long.
    #[error("gave up waiting for the install lock {} after {waited_secs} s: another process is installing the runtime there; if none is, delete the lock file", path.display())]
    LockTimeout {
        /// The lock file.
        path: PathBuf,
        /// How long this process waited.
        waited_secs: u64,
    },
    /// No folder to install into: no cache folder and no `OPENAI_CODEX_RUNTIME_DIR`.
    #[error("no folder to install the runtime into: this user has no cache folder; set OPENAI_CODEX_RUNTIME_DIR")]
    NoStore,
    /// The installed binary does not run or reports another version.
    #[error("the installed runtime {} does not work: {reason}", path.display())]
    Broken {
        /// The binary.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
}

impl InstallError {
    /// Maps an I/O error on `path`, recognizing a full disk.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        let path = path.into();
        if is_disk_full(&source) {
            InstallError::DiskFull { path, source }
        } else {
            InstallError::Io {
                action,
                path,
                source,
            }
        }
    }
}

fn is_disk_full(error: &std::io::Error) -> bool {
    // ENOSPC (28 on Linux and macOS), EDQUOT (quota), ERROR_DISK_FULL / ERROR_HANDLE_DISK_FULL.
    error.kind() == std::io::ErrorKind::StorageFull
        || error.kind() == std::io::ErrorKind::QuotaExceeded
        || (cfg!(windows) && matches!(error.raw_os_error(), Some(112 | 39)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enospc_is_disk_full() {
        #[cfg(unix)]
        {
            let e = InstallError::io("write", "/x", std::io::Error::from_raw_os_error(28));
            assert!(matches!(e, InstallError::DiskFull { .. }), "{e:?}");
            assert!(e.to_string().contains("disk full"), "{e}");
        }
        let e = InstallError::io("write", "/x", std::io::Error::other("boom"));
        assert!(matches!(e, InstallError::Io { .. }));
    }
}
