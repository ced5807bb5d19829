//! Developer commands for this workspace, run as `cargo xtask <command>`.
//!
//! Each command is a module of its own; `main` only dispatches.

mod bench;
mod ci;
mod codegen;
mod demo;
mod fixtures;
mod python;
mod runtime;
mod schema;
mod soak;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  demo               a real Codex turn streamed to the terminal (offline: against a scripted model)
  bench [--quick] [--rounds N] [--only w1-fake,w1-real,w2,w3,w4,w5] [--no-python] [--no-callgrind]
                     benchmarks: ours vs the official Python SDK vs a raw-limit client; writes
                     BENCHMARKS.md and bench/throughput.png (--quick: a smoke run into target/bench)
  bench --transports [--quick]
                     W1/W4 over stdio, unix and ws (ratios to stdio) and the pool over 1/2/4 fake
                     app-servers; writes target/bench/transports.md
  bench --loaded [--runs N]
                     W4 with a CPU hog on every core, N runs per API (default 20), delivered and
                     dropped deltas per run, into target/bench/loaded.md
  soak [--turns N] [--per-client N] [--deltas N]
                     10,000 turns (deltas, approvals, interrupts; a runtime crash and a new client
                     every 1,000) on the fake app-server; RSS every block, fails unless flat (10 %)
  ci                 run every CI check: fmt, codegen --check, clippy, docs, tests
  python-test [PYTEST ARGS..]
                     build the Python package's wheel (maturin) into target/py-venv and run its
                     pytest suite and examples against the real runtime (skips without python3)
  runtime            install the pinned Codex runtime into target/codex-runtime (idempotent)
  schema             regenerate the JSON Schema bundle from the pinned runtime
  codegen [--check] [--schema-dir DIR] [--out-dir DIR]
                     generate the protocol crate's Rust code from the schema (--check: fail on drift)
  record-fixtures [--out-dir DIR] [SCENARIO..]
                     record real app-server traffic (pinned runtime + scripted model) as JSON lines
                     into crates/openai-codex-protocol/tests/fixtures
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo::run(),
        Some("bench") => bench::run(&args[1..]),
        Some("ci") => ci::run(),
        Some("soak") => soak::run(&args[1..]),
        Some("python-test") => python::run_tests(&args[1..]),
        Some("runtime") => runtime::install().map(|bin| println!("{}", bin.display())),
        Some("schema") => schema::run(),
        Some("codegen") => codegen::run(&args[1..]),
        Some("record-fixtures") => fixtures::run(&args[1..]),
        Some("-h" | "--help" | "help") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command `{other}`\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: xtask lives one level below it.
pub(crate) fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is inside the workspace")
        .to_path_buf()
}
