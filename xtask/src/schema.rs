//! `cargo xtask schema`: regenerates the checked-in JSON Schema bundle from the pinned runtime.
//!
//! Runs `codex app-server generate-json-schema --out <tmp>` with the runtime that
//! `cargo xtask runtime` installs, then replaces `crates/openai-codex-protocol/schema/` with the
//! result and records the runtime's version in `schema/RUNTIME_VERSION`. The experimental bundle
//! (`generate-json-schema --experimental`) goes to `schema/experimental/`: only its two combined
//! files, which are all codegen reads (the per-method files would double the checked-in size).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The checked-in bundle the generator reads by default.
pub(crate) fn schema_dir() -> PathBuf {
    crate::workspace_root()
        .join("crates")
        .join("openai-codex-protocol")
        .join("schema")
}

pub(crate) fn run() -> Result<(), String> {
    let binary = crate::runtime::install()?;
    let version = runtime_version(&binary)?;
    if version != crate::runtime::PINNED_VERSION {
        return Err(format!(
            "{} reports version {version}, but the project is pinned to {}",
            binary.display(),
            crate::runtime::PINNED_VERSION
        ));
    }

    let staging = crate::workspace_root()
        .join("target")
        .join(format!("schema-staging-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging)
        .map_err(|e| format!("cannot create {}: {e}", staging.display()))?;
    let experimental = staging.join("experimental");
    let experimental_full = crate::workspace_root().join("target").join(format!(
        "schema-staging-experimental-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&experimental_full);
    let generated = generate(&binary, &staging, false).and_then(|()| {
        generate(&binary, &experimental_full, true)?;
        std::fs::create_dir_all(&experimental)
            .map_err(|e| format!("cannot create {}: {e}", experimental.display()))?;
        for file in EXPERIMENTAL_FILES {
            std::fs::copy(experimental_full.join(file), experimental.join(file))
                .map_err(|e| format!("cannot copy the experimental {file}: {e}"))?;
        }
        for dir in [&staging, &experimental] {
            std::fs::write(dir.join("RUNTIME_VERSION"), format!("{version}\n"))
                .map_err(|e| format!("cannot write RUNTIME_VERSION: {e}"))?;
        }
        Ok(())
    });
    let _ = std::fs::remove_dir_all(&experimental_full);
    if let Err(error) = generated {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(error);
    }

    let target = schema_dir();
    if target.exists() {
        std::fs::remove_dir_all(&target)
            .map_err(|e| format!("cannot remove {}: {e}", target.display()))?;
    }
    copy_tree(&staging, &target)?;
    let _ = std::fs::remove_dir_all(&staging);
    eprintln!(
        "schema bundle of codex {version} written to {}; run `cargo xtask codegen` next",
        target.display()
    );
    Ok(())
}

/// The files of the experimental bundle that are checked in (what codegen reads).
const EXPERIMENTAL_FILES: &[&str] = &[
    "codex_app_server_protocol.schemas.json",
    "codex_app_server_protocol.v2.schemas.json",
];

/// Runs `generate-json-schema` (with `--experimental` when asked) into `out`.
fn generate(binary: &Path, out: &Path, experimental: bool) -> Result<(), String> {
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let mut command = Command::new(binary);
    command.args(["app-server", "generate-json-schema"]);
    if experimental {
        command.arg("--experimental");
    }
    let status = command
        .arg("--out")
        .arg(out)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{} app-server generate-json-schema{}` failed ({status})",
            binary.display(),
            if experimental { " --experimental" } else { "" }
        ))
    }
}

/// The version `codex --version` prints (`codex-cli 0.163.0` → `0.163.0`).
fn runtime_version(binary: &Path) -> Result<String, String> {
    let output = Command::new(binary)
        .arg("--version")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.split_whitespace()
        .last()
        .filter(|_| output.status.success())
        .map(str::to_string)
        .ok_or_else(|| format!("{} --version printed {:?}", binary.display(), text.trim()))
}

/// Recursively copies `from` into the (new) directory `to`.
pub(crate) fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("cannot create {}: {e}", to.display()))?;
    let entries =
        std::fs::read_dir(from).map_err(|e| format!("cannot read {}: {e}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", from.display()))?;
        let path = entry.path();
        let dest = to.join(entry.file_name());
        if path.is_dir() {
            copy_tree(&path, &dest)?;
        } else {
            std::fs::copy(&path, &dest).map_err(|e| {
                format!("cannot copy {} to {}: {e}", path.display(), dest.display())
            })?;
        }
    }
    Ok(())
}
