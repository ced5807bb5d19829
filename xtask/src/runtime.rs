//! `cargo xtask runtime`: installs the pinned Codex runtime into the project, with the SDK's own
//! installer (`openai_codex::runtime::Installer`), so a Rust toolchain is all a machine needs.
//!
//! The runtime ships on the Python package index as the wheel `openai-codex-cli-bin`, which
//! carries `bin/codex`, a `codex-path/` folder of helpers (`rg`) and a `codex-resources/` folder
//! (`bwrap`). It goes into the project-pinned store, `target/codex-runtime/<version>/`, never a
//! global place. Running the very code path users run means every CI run exercises the installer
//! the SDK ships. The installer's knobs apply here too: `OPENAI_CODEX_INDEX_URL` (a mirror),
//! `OPENAI_CODEX_RUNTIME_WHEEL` (a local wheel file), `OPENAI_CODEX_RUNTIME_SHA256`.

use std::path::{Path, PathBuf};
use std::process::Command;

use openai_codex::runtime::{binary_in, project_store, Installer};

/// The runtime version this project is pinned to: the SDK's own pin.
pub(crate) const PINNED_VERSION: &str = openai_codex::runtime::PINNED_VERSION;

/// The project-pinned store: what the SDK looks in first when built inside this repository
/// (`.cargo/config.toml` names it), else `target/codex-runtime`.
fn store() -> PathBuf {
    project_store().unwrap_or_else(|| crate::workspace_root().join("target").join("codex-runtime"))
}

/// The runtime executable once installed: `<store>/<version>/codex_cli_bin/bin/codex`.
pub(crate) fn binary_path() -> PathBuf {
    binary_in(&store().join(PINNED_VERSION))
}

/// Installs the runtime unless it is already there, and returns the binary's path.
pub(crate) fn install() -> Result<PathBuf, String> {
    let binary = binary_path();
    // Installs made with pip before the SDK had an installer carry no `INSTALLED` marker; one
    // that runs and reports the pinned version is kept rather than downloaded again.
    if binary.is_file() && verify_version(&binary).is_ok() {
        eprintln!("codex runtime {PINNED_VERSION} already installed");
        return Ok(binary);
    }
    let store = store();
    let installer = Installer::new().store(&store);
    eprintln!(
        "installing codex runtime {PINNED_VERSION} (openai-codex-cli-bin, ~140 MB) from the {} into {}",
        installer.source_description(),
        store.display()
    );
    let installed = installer.install().map_err(|e| e.to_string())?;
    verify_version(&installed.binary)?;
    eprintln!(
        "codex runtime {PINNED_VERSION} installed ({}, sha256 {})",
        installed.wheel, installed.sha256
    );
    Ok(installed.binary)
}

fn verify_version(binary: &Path) -> Result<(), String> {
    let output = Command::new(binary)
        .arg("--version")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    let text = String::from_utf8_lossy(&output.stdout);
    if output.status.success() && text.split_whitespace().any(|w| w == PINNED_VERSION) {
        Ok(())
    } else {
        Err(format!(
            "{} --version printed {:?}, expected {PINNED_VERSION}",
            binary.display(),
            text.trim()
        ))
    }
}
