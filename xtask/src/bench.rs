//! `cargo xtask bench [--quick] [driver options]`: builds the benchmark clients and runs
//! `bench-driver` (see `bench/src/bin/bench-driver.rs` and `BENCHMARKS.md`).
//!
//! The full run builds with `--release` and rewrites `BENCHMARKS.md` and `bench/throughput.png`.
//! `--quick` is a smoke test of the harness (tiny workloads, one round, no callgrind, output under
//! `target/bench/`); it reuses the debug build unless `--release` is also given, and runs in CI.
//!
//! `--transports` runs `bench-transports` instead: W1 (ready) and W4 (stream) over stdio, a Unix
//! socket and a WebSocket as ratios to stdio, and W5-shaped load through the pool over 1, 2 and 4
//! fake app-servers; the report goes to stdout and `target/bench/transports.md`.

use std::process::Command;

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let quick = args.iter().any(|a| a == "--quick");
    let release = !quick || args.iter().any(|a| a == "--release");
    crate::runtime::install()?;
    let root = crate::workspace_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut build = Command::new(&cargo);
    build.args([
        "build",
        "--quiet",
        "-p",
        "openai-codex-bench",
        "-p",
        "openai-codex-testkit",
        "--bins",
    ]);
    if release {
        build.arg("--release");
    }
    let status = build
        .current_dir(&root)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("building the benchmark clients failed ({status})"));
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), std::path::PathBuf::from);
    let bin_dir = target.join(if release { "release" } else { "debug" });
    if args.iter().any(|a| a == "--transports") {
        // Transports (stdio / unix / ws) and the pool, against the fake app-server.
        let out_dir = target.join("bench");
        std::fs::create_dir_all(&out_dir).map_err(|e| format!("cannot create {out_dir:?}: {e}"))?;
        let mut command = Command::new(bin_dir.join("bench-transports"));
        command
            .env("BENCH_CODEX_BIN", bin_dir.join("codex-fake-app-server"))
            .arg("--out")
            .arg(out_dir.join("transports.md"))
            .current_dir(&root);
        if quick {
            command.arg("--quick");
        }
        let status = command
            .status()
            .map_err(|e| format!("cannot run bench-transports: {e}"))?;
        return if status.success() {
            Ok(())
        } else {
            Err(format!("bench-transports failed ({status})"))
        };
    }
    let passthrough: Vec<&String> = args.iter().filter(|a| *a != "--release").collect();
    let command = std::iter::once("cargo xtask bench")
        .chain(args.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ");
    let status = Command::new(bin_dir.join("bench-driver"))
        .arg("--root")
        .arg(&root)
        .arg("--bin-dir")
        .arg(&bin_dir)
        .arg("--command")
        .arg(command)
        .args(passthrough)
        .current_dir(&root)
        .status()
        .map_err(|e| format!("cannot run bench-driver: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("bench-driver failed ({status})"))
    }
}
