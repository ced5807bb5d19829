//! `cargo xtask demo`: one real Codex turn, streamed to the terminal.
//!
//! 1. Installs the pinned runtime when it is missing (`cargo xtask runtime`).
//! 2. Builds the SDK's `demo` example (ordinary SDK code: start, thread, streamed turn).
//! 3. With credentials (`OPENAI_API_KEY`, or a Codex login in `$CODEX_HOME/auth.json` or
//!    `~/.codex/auth.json`) it runs the demo as is, against the real model. Without them it runs
//!    the demo through the testkit's `offline_demo`, which points the same pinned runtime at a
//!    scripted model on `127.0.0.1`, so the demo works on a fresh machine with no account.

use std::path::PathBuf;
use std::process::{Command, Stdio};

pub(crate) fn run() -> Result<(), String> {
    crate::runtime::install()?;
    let demo = build_example("openai-codex", "demo")?;
    let status = match credentials() {
        Some(found) => {
            eprintln!("using {found}");
            Command::new(&demo).status()
        }
        None => {
            let offline = build_example("openai-codex-testkit", "offline_demo")?;
            Command::new(offline).arg(&demo).status()
        }
    }
    .map_err(|e| format!("cannot run {}: {e}", demo.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the demo failed ({status})"))
    }
}

/// Where the runtime will find credentials, if anywhere.
fn credentials() -> Option<String> {
    if std::env::var("OPENAI_API_KEY").is_ok_and(|key| !key.trim().is_empty()) {
        return Some("the API key in OPENAI_API_KEY".into());
    }
    let home = std::env::var_os("CODEX_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".codex")))?;
    let auth = home.join("auth.json");
    auth.is_file()
        .then(|| format!("the Codex login in {}", auth.display()))
}

/// Builds one example and returns its executable, as cargo reports it.
fn build_example(package: &str, example: &str) -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    eprintln!("building the `{example}` example ...");
    let output = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--message-format=json-render-diagnostics",
        ])
        .args(["-p", package, "--example", example])
        .current_dir(crate::workspace_root())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cannot build the `{example}` example ({})",
            output.status
        ));
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact")
        .filter(|message| message["target"]["name"] == example)
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| format!("cargo built no executable for the `{example}` example"))
}
