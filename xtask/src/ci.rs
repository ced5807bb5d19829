//! `cargo xtask ci`: every check CI runs, in order, failing at the first that fails.
//!
//! `.ci/run` installs the pinned runtime and then runs exactly this, so a developer can reproduce
//! CI with one command.

use std::process::Command;

/// One step: a name and the cargo arguments.
struct Step {
    name: &'static str,
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
}

const STEPS: &[Step] = &[
    Step {
        name: "format",
        args: &["fmt", "--all", "--", "--check"],
        env: &[],
    },
    Step {
        name: "generated code is up to date",
        args: &[
            "run", "--quiet", "--locked", "-p", "xtask", "--", "codegen", "--check",
        ],
        env: &[],
    },
    Step {
        name: "clippy",
        args: &[
            "clippy",
            "--locked",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        env: &[],
    },
    // The experimental surface (`--features experimental`): it compiles warning-free and the
    // protocol crate's tests hold for it too (counts, round trips of the recorded traffic).
    Step {
        name: "clippy, experimental surface",
        args: &[
            "clippy",
            "--locked",
            "--workspace",
            "--all-targets",
            "--features",
            "openai-codex/experimental",
            "--",
            "-D",
            "warnings",
        ],
        env: &[],
    },
    Step {
        name: "protocol tests, experimental surface",
        args: &[
            "test",
            "--locked",
            "-p",
            "openai-codex-protocol",
            "--features",
            "experimental",
        ],
        env: &[],
    },
    Step {
        name: "docs",
        args: &["doc", "--locked", "--workspace", "--no-deps"],
        env: &[("RUSTDOCFLAGS", "-D warnings")],
    },
    Step {
        name: "tests",
        args: &["test", "--locked", "--workspace"],
        env: &[],
    },
    // Every publishable crate packages, in dependency order: each is verified by building it
    // from its packaged sources alone, against its siblings' packages (a local registry cargo
    // makes), so a file left out, a path outside the crate or a dependency cycle fails here.
    // `--allow-dirty`: this checks the crates, not whether the checkout is committed. The
    // unpublished xtask and bench crates are left out, and so is the Python package's crate
    // (built by maturin into a wheel, not published to crates.io).
    Step {
        name: "package",
        args: &[
            "package",
            "--workspace",
            "--exclude",
            "xtask",
            "--exclude",
            "openai-codex-bench",
            "--exclude",
            "openai-codex-py",
            "--locked",
            "--allow-dirty",
        ],
        env: &[],
    },
    // The Python package: wheel built with maturin into a venv under target/, pytest against the
    // real runtime. Skips (successfully, saying why) when python3 with venv/pip is absent.
    Step {
        name: "python package",
        args: &[
            "run",
            "--quiet",
            "--locked",
            "-p",
            "xtask",
            "--",
            "python-test",
        ],
        env: &[],
    },
    // A smoke run of the benchmark harness (tiny workloads, one round, debug build, ~1 min):
    // every client, the Python venv and the report writer still work. No numbers are checked.
    // Without python3 (and its venv module) the Python clients are skipped with the reason.
    Step {
        name: "bench smoke",
        args: &[
            "run", "--quiet", "--locked", "-p", "xtask", "--", "bench", "--quick",
        ],
        env: &[],
    },
];

pub(crate) fn run() -> Result<(), String> {
    crate::runtime::install()?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    for step in STEPS {
        eprintln!("==> {}: cargo {}", step.name, step.args.join(" "));
        let status = Command::new(&cargo)
            .args(step.args)
            .envs(step.env.iter().copied())
            .current_dir(crate::workspace_root())
            .status()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if !status.success() {
            return Err(format!("step `{}` failed ({status})", step.name));
        }
    }
    eprintln!("==> all checks passed");
    Ok(())
}
