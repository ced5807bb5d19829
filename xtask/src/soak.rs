//! `cargo xtask soak [--turns N] [--per-client N] [--deltas N]`: a long run of one client at a
//! time on the fake app-server, watching this process's resident memory.
//!
//! Turn after turn goes through one client: each streams `--deltas` agent-message deltas after
//! two approval requests (answered by the default handler, which declines), and every seventh
//! is interrupted as soon as it has started. The last turn of every `--per-client` turns makes
//! the fake runtime crash mid-turn (as `exit_mid_turn` does: stdout flushed, a reason on stderr,
//! exit code 1); the soak checks that the turn fails with the crash and goes on with a new
//! client. After each block it prints the resident set size; it fails when the last reading is
//! not within 10 % of the first (memory must stay flat however long a process runs), or when a
//! turn loses deltas, or when a crash does not reach the caller as `TransportClosed`.
//!
//! Resident memory is read with glibc's malloc limited to one arena (`MALLOC_ARENA_MAX=1`, set
//! by re-running this command with it unless the variable is already set): glibc gives threads
//! new arenas, up to eight per core, and every new client brings new threads (reader, writer,
//! stderr), so otherwise the RSS steps up with each arena created, whatever the program frees.
//! Measured on this workload: default arenas +23 % from turn 1,000 to 10,000, two arenas +10 %,
//! one arena flat; so the check reads the program's memory, not the allocator's arena count.
//!
//! With `PROPTEST_CASES` set, the soak also runs the SDK's property tests (if the workspace has
//! any) with that many cases per property afterwards.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use futures::StreamExt;
use openai_codex::types::ServerNotification;
use openai_codex::{AsyncCodex, CodexConfig, ThreadStartOptions, TurnEvent, TurnOptions};
use openai_codex_testkit::fake_server::SCENARIO_ENV;
use serde_json::{json, Value};

/// The first and last readings may differ by at most this fraction of the first.
const FLAT: f64 = 0.10;
/// Every this many turns (counting from 1) is interrupted right after it starts.
const INTERRUPT_EVERY: usize = 7;

#[derive(Debug, Default)]
struct Tally {
    completed: u64,
    interrupted: u64,
    crashed: u64,
    deltas: u64,
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let status = Command::new(exe)
            .arg("soak")
            .args(args)
            .env("MALLOC_ARENA_MAX", "1")
            .status()
            .map_err(|e| format!("cannot re-run the soak: {e}"))?;
        return if status.success() {
            Ok(())
        } else {
            Err(format!("soak failed ({status})"))
        };
    }
    println!(
        "MALLOC_ARENA_MAX={}",
        std::env::var("MALLOC_ARENA_MAX").unwrap_or_default()
    );
    let mut turns = 10_000usize;
    let mut per_client = 1_000usize;
    let mut deltas = 50u64;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .ok_or(format!("{arg} needs a value"))?
                .parse::<u64>()
                .map_err(|e| format!("{arg}: {e}"))
        };
        match arg.as_str() {
            "--turns" => turns = usize::try_from(value()?).map_err(|e| e.to_string())?,
            "--per-client" => per_client = usize::try_from(value()?).map_err(|e| e.to_string())?,
            "--deltas" => deltas = value()?,
            other => return Err(format!("unknown soak argument {other}")),
        }
    }
    if per_client < 2 || turns < per_client {
        return Err("--per-client must be at least 2 and at most --turns".into());
    }
    let fake = build_fake()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let (readings, tally) = runtime.block_on(soak(&fake, turns, per_client, deltas))?;
    drop(runtime);
    println!(
        "{turns} turns in {:.0} s: {} completed, {} interrupted, {} crashed (planned), {} deltas",
        started.elapsed().as_secs_f64(),
        tally.completed,
        tally.interrupted,
        tally.crashed,
        tally.deltas
    );
    let (first_turn, first) = readings[0];
    let (last_turn, last) = *readings.last().expect("at least one block");
    let drift = (last as f64 - first as f64) / first as f64;
    println!(
        "rss at turn {first_turn}: {first} KiB; at turn {last_turn}: {last} KiB ({:+.1} %)",
        drift * 100.0
    );
    if drift.abs() > FLAT {
        return Err(format!(
            "resident memory is not flat: {first} KiB at turn {first_turn}, {last} KiB at turn \
             {last_turn} ({:+.1} %, the limit is ±{:.0} %)",
            drift * 100.0,
            FLAT * 100.0
        ));
    }
    if let Ok(cases) = std::env::var("PROPTEST_CASES") {
        run_proptests(&cases)?;
    }
    Ok(())
}

/// Builds the fake app-server (debug profile, like the tests) and returns its path.
fn build_fake() -> Result<PathBuf, String> {
    let root = crate::workspace_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let status = Command::new(cargo)
        .args(["build", "--quiet", "-p", "openai-codex-testkit", "--bins"])
        .current_dir(&root)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("building the fake app-server failed ({status})"));
    }
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    Ok(target.join("debug").join("codex-fake-app-server"))
}

/// The scenario of one client's runtime: `per_client` turns, the last of which crashes.
fn scenario(per_client: usize, deltas: u64) -> Value {
    let mut turns = vec![json!({}); per_client - 1];
    turns.push(json!({"exit_mid_turn": {
        "after_deltas": deltas / 2,
        "code": 1,
        "stderr": "soak: planned crash of the runtime"
    }}));
    json!({
        "deltas": deltas,
        "delta_text": "soak ",
        "server_requests": [
            "item/commandExecution/requestApproval",
            "item/fileChange/requestApproval"
        ],
        "turns": turns,
    })
}

/// Resident set size of this process, in KiB.
fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

async fn soak(
    fake: &Path,
    turns: usize,
    per_client: usize,
    deltas: u64,
) -> Result<(Vec<(usize, u64)>, Tally), String> {
    let scenario = scenario(per_client, deltas).to_string();
    let mut tally = Tally::default();
    let mut readings = Vec::new();
    let mut done = 0usize;
    while done < turns {
        let config = CodexConfig::default()
            .codex_bin(fake)
            .env(SCENARIO_ENV, scenario.clone())
            .request_timeout(Duration::from_secs(30));
        let codex = AsyncCodex::new(config).await.map_err(|e| e.to_string())?;
        let thread = codex
            .thread_start(ThreadStartOptions::default())
            .await
            .map_err(|e| e.to_string())?;
        for i in 0..per_client {
            done += 1;
            let last = i + 1 == per_client;
            // A turn of the fake runtime takes milliseconds; one that takes this long is a hang.
            let limit = Duration::from_secs(60);
            match tokio::time::timeout(limit, one_turn(&thread, done, last, deltas, &mut tally))
                .await
            {
                Ok(outcome) => outcome?,
                Err(_) => {
                    return Err(format!(
                        "turn {done} did not finish within {limit:?} (client: {} duplicate \
                         completions, {} junk lines)",
                        codex.duplicate_completions(),
                        codex.junk_lines()
                    ))
                }
            }
        }
        codex.close().await;
        drop(thread);
        drop(codex);
        let rss = rss_kb();
        println!("turn {done:>6}: rss {rss} KiB");
        readings.push((done, rss));
    }
    Ok((readings, tally))
}

async fn one_turn(
    thread: &openai_codex::AsyncThread,
    n: usize,
    crashes: bool,
    deltas: u64,
    tally: &mut Tally,
) -> Result<(), String> {
    let turn = thread
        .turn(format!("soak turn {n}"), TurnOptions::default())
        .await
        .map_err(|e| format!("turn {n}: {e}"))?;
    let interrupt = n % INTERRUPT_EVERY == 0 && !crashes;
    if interrupt {
        // The turn may already be over; the runtime then refuses, which is fine.
        let _ = turn.interrupt().await;
    }
    let mut seen = 0u64;
    let mut stream = turn.stream();
    let mut failure = None;
    while let Some(event) = stream.next().await {
        match event {
            Ok(TurnEvent::Notification(note)) => {
                if let ServerNotification::ItemAgentMessageDelta(_) = &*note {
                    seen += 1;
                }
            }
            Ok(TurnEvent::Lagged { dropped }) => {
                return Err(format!(
                    "turn {n}: {dropped} deltas dropped under the default policy"
                ))
            }
            Ok(_) => {}
            Err(error) => {
                failure = Some(error);
                break;
            }
        }
    }
    drop(stream);
    tally.deltas += seen;
    if crashes {
        return match failure {
            Some(error)
                if error.is_transport_closed() && error.to_string().contains("planned crash") =>
            {
                tally.crashed += 1;
                Ok(())
            }
            Some(error) => Err(format!("turn {n}: the crash arrived as {error}")),
            None => Err(format!(
                "turn {n}: the runtime crashed but the turn ended quietly"
            )),
        };
    }
    if let Some(error) = failure {
        return Err(format!("turn {n}: {error}"));
    }
    let result = turn.run().await.map_err(|e| format!("turn {n}: {e}"))?;
    match result.status {
        openai_codex::types::TurnStatus::Completed => {
            if seen != deltas {
                return Err(format!("turn {n}: {seen} of {deltas} deltas arrived"));
            }
            tally.completed += 1;
        }
        openai_codex::types::TurnStatus::Interrupted if interrupt => tally.interrupted += 1,
        other => return Err(format!("turn {n}: status {other:?}")),
    }
    Ok(())
}

/// Runs the SDK's tests (its property tests among them) with `cases` cases per property, when
/// the SDK has property tests.
fn run_proptests(cases: &str) -> Result<(), String> {
    let root = crate::workspace_root();
    let has_proptests = std::fs::read_to_string(root.join("crates/openai-codex/Cargo.toml"))
        .is_ok_and(|manifest| manifest.contains("proptest"));
    if !has_proptests {
        println!("PROPTEST_CASES={cases}: the workspace has no property tests; skipped");
        return Ok(());
    }
    println!("property tests with PROPTEST_CASES={cases}");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let status = Command::new(cargo)
        .args(["test", "--quiet", "-p", "openai-codex"])
        .env("PROPTEST_CASES", cases)
        .current_dir(&root)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("property tests failed ({status})"))
    }
}
