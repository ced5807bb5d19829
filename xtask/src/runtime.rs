//! `cargo xtask runtime`: installs the pinned Codex runtime from PyPI into the project.
//!
//! The runtime ships as the wheel `openai-codex-cli-bin`, which carries `bin/codex`, a `codex-path/`
//! folder of helpers (`rg`) and a `codex-resources/` folder (`bwrap`). We install it with pip into
//! `target/codex-runtime/<version>/`, never globally, so a clean clone is all a machine needs.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The runtime version this project is pinned to. The SDK crate pins the same number.
pub(crate) const PINNED_VERSION: &str = "0.163.0";

/// Where the runtime lives once installed: `<root>/codex_cli_bin/bin/codex`.
pub(crate) fn install_root() -> PathBuf {
    crate::workspace_root()
        .join("target")
        .join("codex-runtime")
        .join(PINNED_VERSION)
}

pub(crate) fn binary_path() -> PathBuf {
    install_root()
        .join("codex_cli_bin")
        .join("bin")
        .join("codex")
}

/// Installs the runtime unless it is already there, and returns the binary's path.
pub(crate) fn install() -> Result<PathBuf, String> {
    let binary = binary_path();
    if binary.is_file() && verify_version(&binary).is_ok() {
        eprintln!("codex runtime {PINNED_VERSION} already installed");
        return Ok(binary);
    }
    let root = install_root();
    let staging = root.with_extension("partial");
    // A half-finished earlier attempt is thrown away: pip --target is not resumable.
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging)
        .map_err(|e| format!("cannot create {}: {e}", staging.display()))?;

    let python = find_python()?;
    eprintln!(
        "installing codex runtime {PINNED_VERSION} from PyPI (openai-codex-cli-bin, ~140 MB) into {}",
        root.display()
    );
    let status = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--disable-pip-version-check",
        ])
        .args(["--no-input", "--progress-bar", "on", "--target"])
        .arg(&staging)
        .arg(format!("openai-codex-cli-bin=={PINNED_VERSION}"))
        .status()
        .map_err(|e| format!("cannot run `{python} -m pip`: {e}. Install pip for {python}."))?;
    if !status.success() {
        return Err(format!(
            "pip could not install openai-codex-cli-bin=={PINNED_VERSION} ({status}). \
             Check that PyPI is reachable (pip's output above says why), then run `cargo xtask runtime` again."
        ));
    }
    let _ = std::fs::remove_dir_all(&root);
    std::fs::rename(&staging, &root).map_err(|e| {
        format!(
            "cannot move {} to {}: {e}",
            staging.display(),
            root.display()
        )
    })?;
    verify_version(&binary)?;
    eprintln!("codex runtime {PINNED_VERSION} installed");
    Ok(binary)
}

fn find_python() -> Result<String, String> {
    for candidate in ["python3", "python"] {
        let ok = Command::new(candidate)
            .args(["-m", "pip", "--version"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if ok {
            return Ok(candidate.to_string());
        }
    }
    Err(
        "neither `python3 -m pip` nor `python -m pip` works; install Python 3 with pip \
         (e.g. `apt-get install python3-pip`), then run `cargo xtask runtime` again"
            .to_string(),
    )
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
