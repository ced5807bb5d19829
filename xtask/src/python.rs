//! `cargo xtask python-test`: the Python package (`crates/openai-codex-py`) end to end.
//!
//! 1. A virtual environment of its own, `target/py-venv`, with maturin and pytest from PyPI, and
//!    a `.pth` line that puts the pinned runtime (`<store>/0.163.0`, installed by
//!    `cargo xtask runtime` from the `openai-codex-cli-bin` wheel) on its path, so the package
//!    imports `codex_cli_bin` without downloading the 140 MB wheel a second time.
//! 2. The test helpers: `codex-scripted-model` (the testkit's scripted model over stdin/stdout)
//!    and `codex-fake-app-server`.
//! 3. `maturin build` (debug profile, to keep CI time down) into `target/py-wheels`, and
//!    `pip install --no-deps` of that wheel (its dependency is the runtime already on the path).
//! 4. pytest over `crates/openai-codex-py/tests` (which also runs the examples).
//!
//! Without `python3` (or its `venv`/`pip`), it prints why and succeeds: the Rust checks never
//! depend on Python being there.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What pytest is run with; maturin is pinned because it decides the wheel's layout.
const MATURIN: &str = "maturin==1.16.0";
const PYTEST: &str = "pytest>=8,<10";

fn run(command: &mut Command) -> Result<(), String> {
    let shown = format!("{command:?}");
    let status = command
        .status()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed ({status})"))
    }
}

fn output(command: &mut Command) -> Result<String, String> {
    let shown = format!("{command:?}");
    let out = command
        .output()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{shown} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Why the Python suite cannot run here, if it cannot.
fn missing_python() -> Option<String> {
    match Command::new("python3")
        .args([
            "-c",
            "import venv, ensurepip, sys; assert sys.version_info >= (3, 10)",
        ])
        .output()
    {
        Err(_) => Some("python3 is not installed".into()),
        Ok(out) if !out.status.success() => Some(
            "python3 >= 3.10 with venv and pip (ensurepip) is needed for the Python package".into(),
        ),
        Ok(_) => None,
    }
}

/// Creates (once) the venv with maturin and pytest; returns its `python`.
fn venv(root: &Path) -> Result<PathBuf, String> {
    let venv = root.join("target/py-venv");
    let python = venv.join("bin/python");
    let ready = python.exists()
        && Command::new(&python)
            .args(["-c", "import pytest, maturin"])
            .output()
            .is_ok_and(|o| o.status.success());
    if !ready {
        eprintln!("==> creating {}", venv.display());
        run(Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&venv))?;
        run(Command::new(&python).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            MATURIN,
            PYTEST,
        ]))?;
    }
    let site = output(Command::new(&python).args([
        "-c",
        "import sysconfig; print(sysconfig.get_paths()['purelib'])",
    ]))?;
    // `<root>/codex_cli_bin/bin/codex`: the root is where `codex_cli_bin` imports from.
    let binary = crate::runtime::install()?;
    let runtime = binary
        .ancestors()
        .nth(3)
        .ok_or("the runtime binary has no install root")?
        .to_path_buf();
    std::fs::write(
        Path::new(&site).join("codex_runtime.pth"),
        format!("{}\n", runtime.display()),
    )
    .map_err(|e| format!("cannot write the runtime .pth into {site}: {e}"))?;
    Ok(python)
}

pub(crate) fn run_tests(args: &[String]) -> Result<(), String> {
    if let Some(reason) = missing_python() {
        eprintln!("==> python-test SKIPPED: {reason}");
        return Ok(());
    }
    let root = crate::workspace_root();
    let python = venv(&root)?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());

    eprintln!("==> building the test helpers");
    run(Command::new(&cargo).current_dir(&root).args([
        "build",
        "--quiet",
        "-p",
        "openai-codex-testkit",
        "--bin",
        "codex-scripted-model",
        "--bin",
        "codex-fake-app-server",
    ]))?;
    let bin_dir = root.join("target/debug");

    eprintln!("==> building the wheel (maturin, debug profile)");
    let wheels = root.join("target/py-wheels");
    let _ = std::fs::remove_dir_all(&wheels);
    run(Command::new(python.with_file_name("maturin"))
        .current_dir(&root)
        .args([
            "build",
            "--quiet",
            "-m",
            "crates/openai-codex-py/Cargo.toml",
        ])
        .arg("--out")
        .arg(&wheels)
        .arg("--interpreter")
        .arg(&python))?;
    let wheel = std::fs::read_dir(&wheels)
        .map_err(|e| format!("{}: {e}", wheels.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .ok_or("maturin wrote no wheel")?;
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--force-reinstall",
            "--no-deps",
        ])
        .arg(&wheel))?;
    // The wheel's one dependency, openai-codex-cli-bin==0.163.0, is the runtime on the path (see
    // `venv`); the suite checks that the package finds it first.

    eprintln!("==> pytest");
    let mut pytest = Command::new(&python);
    pytest
        .current_dir(&root)
        .args(["-m", "pytest", "crates/openai-codex-py/tests", "-q"])
        .args(args)
        .env("CODEX_SCRIPTED_MODEL", bin_dir.join("codex-scripted-model"))
        .env(
            "CODEX_FAKE_APP_SERVER_BIN",
            bin_dir.join("codex-fake-app-server"),
        )
        // The suite checks which runtime the package finds by itself.
        .env_remove("CODEX_BIN");
    run(&mut pytest)
}
