//! A new user's project: a crate outside this workspace that depends on `openai-codex` by path,
//! whose `main.rs` is the README's quickstart verbatim. Run as a user would (fresh `HOME`, empty
//! cache, no `CODEX_BIN`, no build inside this repository), it must install the pinned runtime
//! from a package index and complete a turn.
//!
//! The index is a server on 127.0.0.1. The wheel it serves is laid out like the real one; its
//! `bin/codex` is a launcher that `exec`s this repository's pinned runtime, and its helper folders
//! hold the real `rg` and `bwrap`. So the SDK's install path runs end to end (index page, download,
//! digest, unpack, atomic move, resolution, version gate) and the turn runs on the real runtime
//! against the scripted model, without copying the 300 MB binary into a zip on every test run
//! (a real download of the real wheel is `install.rs`'s `a_real_install_from_the_public_index`).
#![cfg(all(unix, feature = "install"))]

mod support;

use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use openai_codex::config::BinarySource;
use openai_codex::CodexConfig;
use openai_codex_testkit::{ResponseScript, RuntimeHome};
use support::index::{wheel_name, IndexServer, Wheel, PINNED};

/// This crate's folder, the workspace root and its target folder (shared with the downstream
/// build so that it reuses the dependencies already compiled for the workspace).
fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn workspace_root() -> PathBuf {
    crate_dir().join("../..").canonicalize().unwrap()
}

fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is <target>/tmp")
        .to_path_buf()
}

/// The first ```rust block of the README: the quickstart a user pastes into `main.rs`.
fn readme_quickstart() -> String {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let start = readme
        .find("```rust")
        .expect("the README has a Rust quickstart");
    let body = &readme[start..];
    let body = &body[body.find('\n').unwrap() + 1..];
    let end = body.find("\n```").expect("the quickstart block is closed");
    let code = body[..=end].to_string();
    assert!(
        code.contains("AsyncCodex::new(CodexConfig::default())"),
        "the README's first Rust block is no longer the quickstart:\n{code}"
    );
    code
}

/// A wheel of the pinned version under a local build tag (so its digest is given explicitly, as
/// for any repackaged wheel), whose `bin/codex` runs `runtime`.
fn launcher_wheel(runtime: &Path, helpers: &[PathBuf]) -> Wheel {
    use zip::write::SimpleFileOptions;
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let exec = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .unix_permissions(0o755);
    let launcher = format!("#!/bin/sh\nexec '{}' \"$@\"\n", runtime.display());
    zip.start_file("codex_cli_bin/bin/codex", exec).unwrap();
    zip.write_all(launcher.as_bytes()).unwrap();
    for dir in helpers {
        let folder = dir.file_name().unwrap().to_string_lossy().into_owned();
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let mut bytes = Vec::new();
            std::fs::File::open(entry.path())
                .unwrap()
                .read_to_end(&mut bytes)
                .unwrap();
            let name = format!(
                "codex_cli_bin/{folder}/{}",
                entry.file_name().to_string_lossy()
            );
            zip.start_file(name, exec).unwrap();
            zip.write_all(&bytes).unwrap();
        }
    }
    zip.start_file("codex_cli_bin/__init__.py", SimpleFileOptions::default())
        .unwrap();
    zip.write_all(b"# glue the installer leaves out\n").unwrap();
    let bytes = zip.finish().unwrap().into_inner();
    let platform = wheel_name(PINNED).rsplit('-').next().unwrap().to_string();
    Wheel::new(
        format!("openai_codex_cli_bin-{PINNED}-1local-py3-none-{platform}"),
        bytes,
    )
}

/// Writes the downstream project: the manifest a user writes (docs/getting-started.md), the
/// workspace's lock file (same dependency versions, so the shared target folder is reused and no
/// registry is needed), and the README quickstart as `main.rs`.
fn write_project(dir: &Path) {
    let manifest = format!(
        r#"[package]
name = "codex-downstream-quickstart"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
openai-codex = {{ path = "{}" }}
tokio = {{ version = "1", features = ["macros", "rt-multi-thread"] }}

# Not part of any other workspace.
[workspace]
"#,
        crate_dir().display()
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::copy(workspace_root().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("src/main.rs"), readme_quickstart()).unwrap();
}

/// Builds the project the way its owner would, with nothing of this repository's build set-up:
/// the repository's `.cargo/config.toml` (which tells SDK builds made here where the
/// project-pinned runtime is) is not on the path from the project's folder, and the variables
/// this test process got from its own cargo are dropped.
fn build(project: &Path) -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["build", "--offline", "--quiet", "--manifest-path"])
        .arg(project.join("Cargo.toml"))
        .current_dir(project);
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if (name.starts_with("CARGO_") && name != "CARGO_HOME")
            || name.starts_with("OPENAI_CODEX_")
            || name.starts_with("CODEX_")
        {
            command.env_remove(name.as_ref());
        }
    }
    let target = target_dir();
    command.env("CARGO_TARGET_DIR", &target);
    let started = Instant::now();
    let output = command.output().expect("cargo runs");
    eprintln!(
        "downstream project built in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        output.status.success(),
        "the downstream project does not build:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    target.join("debug").join("codex-downstream-quickstart")
}

/// Runs the built program as a user process: only `PATH`, a fresh `HOME`, the `CODEX_HOME` of
/// the scripted model, and the index to install from.
fn run_as_user(
    program: &Path,
    home_dir: &Path,
    runtime_home: &RuntimeHome,
    index: &IndexServer,
    wheel: &Wheel,
) -> std::process::Output {
    let mut child = Command::new(program)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", home_dir)
        .env("CODEX_HOME", runtime_home.codex_home())
        .env("OPENAI_CODEX_INDEX_URL", index.url())
        .env("OPENAI_CODEX_RUNTIME_SHA256", wheel.sha256())
        .current_dir(runtime_home.workspace())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the quickstart starts");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!(
                "the quickstart did not finish within 120 s; stderr:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Where the SDK keeps runtimes for a user whose home is `home` (no `XDG_CACHE_HOME`).
fn user_store(home: &Path) -> PathBuf {
    let cache = if cfg!(target_os = "macos") {
        home.join("Library/Caches")
    } else {
        home.join(".cache")
    };
    cache.join("openai-codex").join("runtime")
}

#[test]
fn the_readme_quickstart_installs_the_runtime_and_completes_a_turn_in_a_new_project() {
    let runtime = CodexConfig::default()
        .resolve_binary()
        .expect("the pinned runtime is needed: run `cargo xtask runtime`");
    assert_eq!(
        runtime.source,
        BinarySource::Pinned,
        "this repository's pinned runtime"
    );
    let wheel = launcher_wheel(&runtime.path, &runtime.path_prepend);
    let index = IndexServer::start(vec![wheel.clone()]);

    let project = tempfile::Builder::new()
        .prefix("codex-downstream-")
        .tempdir()
        .unwrap();
    write_project(project.path());
    let program = build(project.path());

    // The user's home sits in the target folder, not the system temp folder, like a real home.
    let home_dir = tempfile::Builder::new()
        .prefix("downstream-home-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let runtime_home = RuntimeHome::new().unwrap();
    runtime_home
        .model()
        .push(ResponseScript::text("Hello from the scripted model."));

    let started = Instant::now();
    let first = run_as_user(&program, home_dir.path(), &runtime_home, &index, &wheel);
    eprintln!(
        "first run (install + turn) took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(first.status.success(), "the quickstart failed:\n{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&first.stdout).trim(),
        "Hello from the scripted model.",
        "stderr:\n{stderr}"
    );
    // The turn reached the model through the installed runtime.
    assert_eq!(
        runtime_home
            .model()
            .turn_requests()
            .last()
            .and_then(|r| r.last_user_text())
            .as_deref(),
        Some("Say hello in one sentence.")
    );
    // Installed once, complete, into the user's cache.
    assert_eq!(index.downloads(), 1);
    let version_dir = user_store(home_dir.path()).join(PINNED);
    assert!(version_dir.join("INSTALLED").is_file());
    assert!(version_dir.join("codex_cli_bin/bin/codex").is_file());
    assert!(version_dir.join("codex_cli_bin/codex-path").is_dir());
    assert!(!version_dir.join("codex_cli_bin/__init__.py").exists());

    // The next run of the program finds the cached runtime and downloads nothing.
    runtime_home
        .model()
        .push(ResponseScript::text("Hello again."));
    let second = run_as_user(&program, home_dir.path(), &runtime_home, &index, &wheel);
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&second.stdout).trim(),
        "Hello again."
    );
    assert_eq!(index.downloads(), 1, "the second run used the cache");
}
