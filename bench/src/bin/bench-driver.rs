//! The benchmark driver behind `cargo xtask bench`.
//!
//! Runs every client (ours async and blocking, the raw limit, the official Python SDK sync and
//! async) as a separate
//! process on each workload, `rounds` times in rotating order, then writes `BENCHMARKS.md` with
//! medians, min/max and per-round ratios against the raw-limit client, and a PNG chart of the
//! W4/W5 throughput. The scripted model (`MockModel`, inside a `RuntimeHome`) runs here, in the
//! driver; each client of a real-runtime workload gets the home's environment.
//!
//! ```text
//! bench-driver --root <workspace> --bin-dir <target/release> [--quick] [--rounds N]
//!              [--only w1-fake,w4,...] [--no-python] [--no-callgrind] [--out FILE] [--png FILE]
//! bench-driver --root <workspace> --bin-dir <target/release> --loaded [--runs N]
//! ```
//!
//! `--loaded` runs only W4 (200,000 deltas, one turn) with a CPU hog on every core, started
//! here: `--runs` runs (default 20) per API (ours async and blocking) with the default overflow
//! policy, then 5 per API with `OverflowPolicy::DropDeltas`, and writes one row per run
//! (deltas delivered and dropped) to `target/bench/loaded.md`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use codex_bench::{Report, CODEX_BIN_ENV};
use openai_codex::CodexConfig;
use openai_codex_testkit::fake_server::SCENARIO_ENV;
use openai_codex_testkit::RuntimeHome;

type Res<T> = Result<T, String>;

/// The official Python SDK release compared against.
const PYTHON_SDK: &str = "openai-codex==0.163.0";
/// Longest a single client process may run.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Debug, Clone)]
struct Opts {
    root: PathBuf,
    bin_dir: PathBuf,
    quick: bool,
    rounds: usize,
    only: Option<Vec<String>>,
    python: bool,
    callgrind: bool,
    out: PathBuf,
    png: PathBuf,
    command: String,
    loaded: bool,
    runs: usize,
}

impl Opts {
    fn parse() -> Res<Self> {
        let mut args = std::env::args().skip(1);
        let mut root = None;
        let mut bin_dir = None;
        let mut quick = false;
        let mut rounds = None;
        let mut only = None;
        let mut python = true;
        let mut callgrind = None;
        let mut out = None;
        let mut png = None;
        let mut command = "cargo xtask bench".to_string();
        let mut loaded = false;
        let mut runs = 20;
        while let Some(arg) = args.next() {
            let mut value = || args.next().ok_or(format!("{arg} needs a value"));
            match arg.as_str() {
                "--root" => root = Some(PathBuf::from(value()?)),
                "--bin-dir" => bin_dir = Some(PathBuf::from(value()?)),
                "--quick" => quick = true,
                "--rounds" => rounds = Some(value()?.parse().map_err(|e| format!("{e}"))?),
                "--only" => only = Some(value()?.split(',').map(str::to_string).collect()),
                "--no-python" => python = false,
                "--no-callgrind" => callgrind = Some(false),
                "--callgrind" => callgrind = Some(true),
                "--out" => out = Some(PathBuf::from(value()?)),
                "--png" => png = Some(PathBuf::from(value()?)),
                "--command" => command = value()?,
                "--loaded" => loaded = true,
                "--runs" => runs = value()?.parse().map_err(|e| format!("{e}"))?,
                other => return Err(format!("unknown argument {other}")),
            }
        }
        let root = root.ok_or("--root is required")?;
        let bin_dir = bin_dir.ok_or("--bin-dir is required")?;
        let scratch = root.join("target/bench");
        let (out, png) = if quick {
            (
                out.unwrap_or_else(|| scratch.join("BENCHMARKS-quick.md")),
                png.unwrap_or_else(|| scratch.join("throughput-quick.png")),
            )
        } else {
            (
                out.unwrap_or_else(|| root.join("BENCHMARKS.md")),
                png.unwrap_or_else(|| root.join("bench/throughput.png")),
            )
        };
        Ok(Self {
            root,
            bin_dir,
            quick,
            rounds: rounds.unwrap_or(if quick { 1 } else { 5 }),
            only,
            python,
            callgrind: callgrind.unwrap_or(!quick),
            out,
            png,
            command,
            loaded,
            runs,
        })
    }

    fn wants(&self, key: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|o| o.iter().any(|k| k == key))
    }
}

/// One client: a name and its argv prefix (the workload and its arguments follow).
#[derive(Debug, Clone)]
struct Client {
    name: &'static str,
    argv: Vec<String>,
}

/// One workload as run by every client.
#[derive(Debug, Clone)]
struct Workload {
    key: &'static str,
    title: String,
    /// The client workload name and its `key=value` arguments.
    args: Vec<String>,
    env: Vec<(String, String)>,
    cwd: Option<PathBuf>,
    expected_deltas: Option<u64>,
}

fn main() {
    if let Err(e) = run() {
        eprintln!("bench-driver: {e}");
        std::process::exit(1);
    }
}

fn run() -> Res<()> {
    let opts = Opts::parse()?;
    std::fs::create_dir_all(opts.root.join("target/bench/logs")).map_err(|e| e.to_string())?;
    let fake = opts.bin_dir.join("codex-fake-app-server");
    if !fake.exists() {
        return Err(format!("{} is missing (build it first)", fake.display()));
    }
    let runtime = CodexConfig::default()
        .resolve_binary()
        .map_err(|e| format!("the pinned runtime is needed (cargo xtask runtime): {e}"))?;

    let mut clients = vec![
        Client {
            name: "raw-limit",
            argv: vec![path_str(&opts.bin_dir.join("bench-raw"))],
        },
        Client {
            name: "ours-async",
            argv: vec![path_str(&opts.bin_dir.join("bench-ours"))],
        },
        Client {
            name: "ours-blocking",
            argv: vec![path_str(&opts.bin_dir.join("bench-ours-blocking"))],
        },
    ];
    if opts.python && !opts.loaded {
        if let Some(python) = setup_python(&opts.root)? {
            let script = path_str(&opts.root.join("bench/python/clients.py"));
            for (name, api) in [("python-sync", "sync"), ("python-async", "async")] {
                clients.push(Client {
                    name,
                    argv: vec![path_str(&python), script.clone(), api.to_string()],
                });
            }
        }
    }

    // The scripted model answers every model call with a short message.
    let home = RuntimeHome::new().map_err(|e| format!("cannot create the runtime home: {e}"))?;
    home.model().set_capture_bodies(false);
    let real_env = {
        let mut env = home.env_vars();
        env.push((CODEX_BIN_ENV.to_string(), path_str(&runtime.path)));
        env
    };
    let fake_env = |scenario: &str| {
        vec![
            (CODEX_BIN_ENV.to_string(), path_str(&fake)),
            (SCENARIO_ENV.to_string(), scenario.to_string()),
        ]
    };
    if opts.loaded {
        return run_loaded(&opts, &clients[1..3], &fake_env);
    }
    let q = opts.quick;
    let (w1_fake_iters, w1_real_iters, w3_turns) = if q { (3, 1, 3) } else { (10, 3, 50) };
    let (w4_deltas, w5_deltas, w5_threads) = if q {
        (20_000u64, 500u64, 8u64)
    } else {
        (200_000, 5_000, 64)
    };
    let w5_scenario = format!(
        r#"{{"deltas":{w5_deltas},"stamp_deltas":true,"interleave_after_turns":{w5_threads}}}"#
    );
    let workloads = vec![
        Workload {
            key: "w1-fake",
            title: format!("W1 cold start, fake app-server (client creation + initialize; median of {w1_fake_iters} starts per process)"),
            args: vec!["w1".into(), format!("iters={w1_fake_iters}")],
            env: fake_env("{}"),
            cwd: None,
            expected_deltas: None,
        },
        Workload {
            key: "w1-real",
            title: format!("W1 cold start, real runtime (client creation + initialize; median of {w1_real_iters} starts per process)"),
            args: vec!["w1".into(), format!("iters={w1_real_iters}")],
            env: real_env.clone(),
            cwd: Some(home.workspace().to_path_buf()),
            expected_deltas: None,
        },
        Workload {
            key: "w2",
            title: "W2 one turn, real runtime + scripted model (thread start + run)".into(),
            args: vec!["w2".into()],
            env: real_env.clone(),
            cwd: Some(home.workspace().to_path_buf()),
            expected_deltas: None,
        },
        Workload {
            key: "w3",
            title: format!("W3 {w3_turns} sequential turns on one thread, real runtime + scripted model"),
            args: vec!["w3".into(), format!("turns={w3_turns}")],
            env: real_env.clone(),
            cwd: Some(home.workspace().to_path_buf()),
            expected_deltas: None,
        },
        Workload {
            key: "w4",
            title: format!("W4 one turn of {w4_deltas} `item/agentMessage/delta` notifications, fake app-server"),
            args: vec!["w4".into()],
            env: fake_env(&format!(r#"{{"deltas":{w4_deltas}}}"#)),
            cwd: None,
            expected_deltas: Some(w4_deltas),
        },
        Workload {
            key: "w5",
            title: format!("W5 {w5_threads} concurrent turns on {w5_threads} threads, {w5_deltas} stamped deltas each, fake app-server"),
            args: vec!["w5".into(), format!("threads={w5_threads}")],
            env: fake_env(&w5_scenario),
            cwd: None,
            expected_deltas: Some(w5_deltas * w5_threads),
        },
    ];

    let started = Instant::now();
    let mut results: BTreeMap<&'static str, Vec<BTreeMap<&'static str, Report>>> = BTreeMap::new();
    for workload in workloads.iter().filter(|w| opts.wants(w.key)) {
        let rounds = results.entry(workload.key).or_default();
        for round in 0..opts.rounds {
            let mut this_round = BTreeMap::new();
            let n = clients.len();
            for k in 0..n {
                let client = &clients[(round + k) % n];
                let report = run_client(&opts, client, workload, round)?;
                if let Some(expected) = workload.expected_deltas {
                    if report.deltas + report.dropped != expected {
                        return Err(format!(
                            "{} on {}: {} deltas + {} dropped, expected {expected}",
                            client.name, workload.key, report.deltas, report.dropped
                        ));
                    }
                }
                eprintln!(
                    "  {:<7} round {} {:<13} {}",
                    workload.key,
                    round + 1,
                    client.name,
                    summary(workload.key, &report)
                );
                this_round.insert(client.name, report);
            }
            rounds.push(this_round);
        }
    }

    let callgrind = if opts.callgrind && opts.wants("w4") {
        Some(run_callgrind(&opts, &clients, &fake)?)
    } else {
        None
    };

    let names: Vec<&'static str> = clients.iter().map(|c| c.name).collect();
    let markdown = render(
        &opts,
        &names,
        &workloads,
        &results,
        callgrind.as_ref(),
        started.elapsed(),
    );
    if let Some(dir) = opts.out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    std::fs::write(&opts.out, markdown).map_err(|e| format!("{}: {e}", opts.out.display()))?;
    if results.contains_key("w4") || results.contains_key("w5") {
        let labels = [
            format!("W4: 1 turn x {w4_deltas}"),
            format!("W5: {w5_threads} turns x {w5_deltas}"),
        ];
        chart::draw(&opts.png, [&labels[0], &labels[1]], &names, &results)?;
        eprintln!("wrote {}", opts.png.display());
    }
    eprintln!(
        "wrote {} in {:.0} s",
        opts.out.display(),
        started.elapsed().as_secs_f64()
    );
    drop(home);
    Ok(())
}

/// `--loaded`: W4 with a busy thread on every core, one row per run.
fn run_loaded(
    opts: &Opts,
    clients: &[Client],
    fake_env: &dyn Fn(&str) -> Vec<(String, String)>,
) -> Res<()> {
    const DELTAS: u64 = 200_000;
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let hogs: Vec<_> = (0..cores)
        .map(|_| {
            let stop = std::sync::Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut x = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    x = std::hint::black_box(
                        x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1),
                    );
                }
            })
        })
        .collect();
    let load_before = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut rows = Vec::new();
    let mut outcome = Ok(());
    'policies: for (policy, runs) in [("default (backpressure)", opts.runs), ("drop", 5)] {
        let mut env = fake_env(&format!(r#"{{"deltas":{DELTAS}}}"#));
        if policy == "drop" {
            env.push(("BENCH_OVERFLOW".into(), "drop".into()));
        }
        let workload = Workload {
            key: "w4-loaded",
            title: String::new(),
            args: vec!["w4".into()],
            env,
            cwd: None,
            expected_deltas: Some(DELTAS),
        };
        for run in 0..runs {
            for client in clients {
                match run_client(opts, client, &workload, run) {
                    Ok(report) => {
                        eprintln!(
                            "  loaded {policy:<22} run {:>2} {:<13} delivered {:>6} dropped {:>6}",
                            run + 1,
                            client.name,
                            report.deltas,
                            report.dropped
                        );
                        rows.push((policy, run + 1, client.name, report));
                    }
                    Err(e) => {
                        outcome = Err(e);
                        break 'policies;
                    }
                }
            }
        }
    }
    let load_after = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for hog in hogs {
        let _ = hog.join();
    }
    outcome?;
    let mut md = String::new();
    let _ =
        writeln!(
        md,
        "W4 loaded: one turn of {DELTAS} deltas from the fake app-server, {cores} busy threads \
         (one per core) running in the driver meanwhile. Command: `{}`. \
         Load average (1/5/15 min) before: {}; after: {}.\n",
        opts.command,
        load_before.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        load_after.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
    );
    let _ = writeln!(
        md,
        "| policy | API | runs | 0 dropped | delivered per run | dropped per run | median time |"
    );
    let _ = writeln!(md, "|---|---|---:|---:|---|---|---:|");
    for policy in ["default (backpressure)", "drop"] {
        for client in clients {
            let these: Vec<&Report> = rows
                .iter()
                .filter(|(p, _, c, _)| *p == policy && *c == client.name)
                .map(|(_, _, _, r)| r)
                .collect();
            if these.is_empty() {
                continue;
            }
            let list = |f: &dyn Fn(&Report) -> u64| {
                these
                    .iter()
                    .map(|r| f(r).to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let clean = these.iter().filter(|r| r.dropped == 0).count();
            let secs = median(these.iter().map(|r| time_ns(r) as f64 / 1e9).collect());
            let _ = writeln!(
                md,
                "| {policy} | {} | {} | {clean}/{} | {} | {} | {secs:.2} s |",
                client.name,
                these.len(),
                these.len(),
                list(&|r| r.deltas),
                list(&|r| r.dropped),
            );
        }
    }
    let out = opts.root.join("target/bench/loaded.md");
    std::fs::write(&out, &md).map_err(|e| format!("{}: {e}", out.display()))?;
    print!("{md}");
    eprintln!("wrote {}", out.display());
    Ok(())
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Creates `target/bench-venv` with the official SDK (without its 140 MB runtime wheel: the
/// clients point `CodexConfig.codex_bin` at our installed runtime) unless it is already there.
/// `None`, with the reason printed, when this machine has no Python 3 with `venv` and `pip`: the
/// Python clients are then left out and everything else still runs.
fn setup_python(root: &Path) -> Res<Option<PathBuf>> {
    let venv = root.join("target/bench-venv");
    let python = venv.join("bin/python");
    let check = |python: &Path| {
        Command::new(python)
            .args([
                "-c",
                "import openai_codex, pydantic; assert openai_codex.__version__ == '0.163.0'",
            ])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if python.exists() && check(&python) {
        return Ok(Some(python));
    }
    if let Some(reason) = python_missing() {
        eprintln!(
            "==> skipping the official Python SDK's clients: {reason} (Python 3 with venv and pip \
             is needed only for this comparison)"
        );
        return Ok(None);
    }
    eprintln!("==> setting up {} ({PYTHON_SDK})", venv.display());
    let run = |program: &Path, args: &[&str]| -> Res<()> {
        let status = Command::new(program)
            .args(args)
            .status()
            .map_err(|e| format!("{}: {e}", program.display()))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("{} {args:?} failed: {status}", program.display()))
        }
    };
    run(Path::new("python3"), &["-m", "venv", &path_str(&venv)])?;
    let pip = venv.join("bin/pip");
    // `openai-codex` requires `openai-codex-cli-bin` (the runtime, ~140 MB); skip it and install
    // the other requirements from its metadata.
    run(&pip, &["install", "--quiet", "--no-deps", PYTHON_SDK])?;
    run(
        &pip,
        &["install", "--quiet", "pydantic>=2.12", "packaging>=26.2"],
    )?;
    if !check(&python) {
        return Err("the Python SDK does not import after installation".into());
    }
    Ok(Some(python))
}

/// Why the Python comparison cannot run here, if it cannot: no `python3`, or one without the
/// `venv` and `ensurepip` modules (Debian's python3 without `python3-venv`).
fn python_missing() -> Option<String> {
    match Command::new("python3")
        .args(["-c", "import venv, ensurepip"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Some("`python3` is not on PATH".to_string())
        }
        Err(e) => Some(format!("`python3` cannot be run ({e})")),
        Ok(status) if !status.success() => {
            Some("`python3` has no `venv`/`ensurepip` module (no pip)".to_string())
        }
        Ok(_) => None,
    }
}

fn run_client(opts: &Opts, client: &Client, workload: &Workload, round: usize) -> Res<Report> {
    let log = opts.root.join(format!(
        "target/bench/logs/{}-{}-{}.stderr",
        workload.key,
        client.name,
        round + 1
    ));
    let stderr = std::fs::File::create(&log).map_err(|e| e.to_string())?;
    let mut command = Command::new(&client.argv[0]);
    command
        .args(&client.argv[1..])
        .args(&workload.args)
        .envs(workload.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr);
    if let Some(cwd) = &workload.cwd {
        command.current_dir(cwd);
    }
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", client.name))?;
    let stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let deadline = Instant::now() + CLIENT_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "{} on {} timed out (log: {})",
                client.name,
                workload.key,
                log.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let out = reader.join().unwrap_or_default();
    if !status.success() {
        return Err(format!(
            "{} on {} failed ({status}); log: {}",
            client.name,
            workload.key,
            log.display()
        ));
    }
    let line = out.lines().rev().find(|l| l.starts_with('{')).unwrap_or("");
    serde_json::from_str(line).map_err(|e| {
        format!(
            "{} on {}: bad report {line:?}: {e} (log: {})",
            client.name,
            workload.key,
            log.display()
        )
    })
}

fn summary(key: &str, r: &Report) -> String {
    let ms = |ns: u64| ns as f64 / 1e6;
    match key {
        "w4" => format!(
            "{:.0} deltas/s, cpu {:.0} ms, rss {:.1} MB",
            throughput(r),
            ms(r.cpu_ns),
            r.vmhwm_kb as f64 / 1024.0
        ),
        "w5" => format!(
            "{:.0} deltas/s, p50 {:.0} µs, p99 {:.0} µs, rss {:.1} MB",
            throughput(r),
            r.lat_p50_ns as f64 / 1e3,
            r.lat_p99_ns as f64 / 1e3,
            r.vmhwm_kb as f64 / 1024.0
        ),
        _ => format!("{:.2} ms", ms(time_ns(r))),
    }
}

/// The round's time of a report: the median of its samples.
fn time_ns(r: &Report) -> u64 {
    let mut s = r.samples_ns.clone();
    s.sort_unstable();
    s.get(s.len() / 2).copied().unwrap_or(0)
}

fn throughput(r: &Report) -> f64 {
    r.deltas as f64 / (time_ns(r).max(1) as f64 / 1e9)
}

// ---------------------------------------------------------------------------------------------
// callgrind: instructions per delta

#[derive(Debug)]
struct Callgrind {
    small: u64,
    large: u64,
    per_delta: BTreeMap<&'static str, f64>,
}

/// Runs W4 under callgrind twice per Rust client (`small` and `large` deltas) and takes the
/// marginal instructions per delta, `(Ir(large) - Ir(small)) / (large - small)`, which leaves out
/// process start, handshake and thread start.
fn run_callgrind(opts: &Opts, clients: &[Client], fake: &Path) -> Res<Callgrind> {
    let (small, large) = if opts.quick {
        (1_000u64, 5_000u64)
    } else {
        (2_000, 22_000)
    };
    if Command::new("valgrind")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_err()
    {
        return Err("valgrind is not installed (use --no-callgrind)".into());
    }
    let mut per_delta = BTreeMap::new();
    for client in clients
        .iter()
        .filter(|c| matches!(c.name, "raw-limit" | "ours-async" | "ours-blocking"))
    {
        let mut ir = Vec::new();
        for deltas in [small, large] {
            let out = opts.root.join(format!(
                "target/bench/logs/callgrind-{}-{deltas}.out",
                client.name
            ));
            let status = Command::new("valgrind")
                .args([
                    "--tool=callgrind",
                    &format!("--callgrind-out-file={}", path_str(&out)),
                ])
                .arg(&client.argv[0])
                .arg("w4")
                .env(CODEX_BIN_ENV, fake)
                .env(SCENARIO_ENV, format!(r#"{{"deltas":{deltas}}}"#))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map_err(|e| format!("valgrind: {e}"))?;
            if !status.success() {
                return Err(format!("callgrind of {} failed: {status}", client.name));
            }
            let text = std::fs::read_to_string(&out).map_err(|e| e.to_string())?;
            let total = text
                .lines()
                .find_map(|l| {
                    l.strip_prefix("summary:")
                        .or_else(|| l.strip_prefix("totals:"))
                })
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
                .ok_or("no instruction total in the callgrind output")?;
            ir.push(total);
        }
        let per = (ir[1] as f64 - ir[0] as f64) / (large - small) as f64;
        eprintln!(
            "  callgrind {:<13} {per:.0} instructions/delta",
            client.name
        );
        per_delta.insert(client.name, per);
    }
    Ok(Callgrind {
        small,
        large,
        per_delta,
    })
}

// ---------------------------------------------------------------------------------------------
// statistics and the report

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn min(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

fn max(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

/// One metric of one client over the rounds, and its per-round ratio to raw-limit.
struct Series {
    values: Vec<f64>,
    ratios: Vec<f64>,
    diffs: Vec<f64>,
}

fn series(
    rounds: &[BTreeMap<&'static str, Report>],
    client: &str,
    metric: impl Fn(&Report) -> f64,
) -> Series {
    let mut s = Series {
        values: Vec::new(),
        ratios: Vec::new(),
        diffs: Vec::new(),
    };
    for round in rounds {
        let Some(r) = round.get(client) else { continue };
        let v = metric(r);
        s.values.push(v);
        if let Some(raw) = round.get("raw-limit") {
            let base = metric(raw);
            s.ratios.push(v / base);
            s.diffs.push(v - base);
        }
    }
    s
}

/// `median (min–max)` of a ratio series.
fn ratio_cell(r: &[f64]) -> String {
    if r.is_empty() {
        return "–".into();
    }
    format!("{:.3} ({:.3}–{:.3})", median(r.to_vec()), min(r), max(r))
}

fn machine_facts() -> Vec<(String, String)> {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or("unknown".into(), |kb| {
            format!("{:.1} GiB", kb as f64 / 1024.0 / 1024.0)
        });
    let cmd = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .output()
            .ok()
            .map(|o| {
                String::from_utf8_lossy(if o.stdout.is_empty() {
                    &o.stderr
                } else {
                    &o.stdout
                })
                .trim()
                .to_string()
            })
            .unwrap_or_else(|| "unknown".into())
    };
    vec![
        ("date (UTC)".into(), cmd("date", &["-u", "+%Y-%m-%d %H:%M"])),
        ("CPU".into(), format!("{cpu}, {cores} cores available")),
        ("memory".into(), mem),
        (
            "kernel".into(),
            read("/proc/sys/kernel/osrelease").trim().to_string(),
        ),
        ("rustc".into(), cmd("rustc", &["-V"])),
        ("python".into(), cmd("python3", &["-V"])),
        (
            "load average at start".into(),
            read("/proc/loadavg")
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" "),
        ),
    ]
}

fn render(
    opts: &Opts,
    names: &[&'static str],
    workloads: &[Workload],
    results: &BTreeMap<&'static str, Vec<BTreeMap<&'static str, Report>>>,
    callgrind: Option<&Callgrind>,
    elapsed: Duration,
) -> String {
    let mut md = String::new();
    let w = &mut md;
    let _ = writeln!(w, "# Benchmarks\n");
    let _ = writeln!(
        w,
        "Our SDK (`openai-codex`, async API `AsyncCodex` and blocking API `Codex`) against the \
         official Python SDK ({PYTHON_SDK}, sync and async) and a raw-limit client (a minimal Rust program that spawns the server, writes \
         the requests and parses each line into a `serde_json::Value`, with no routing or typing). \
         Every client is a separate process; in each round every client runs once, in rotating \
         order. Tables give the median over rounds with min–max, and the median (min–max) of the \
         per-round ratio against raw-limit. The machine is shared with other builds, so single \
         numbers are noisy; the per-round ratios are the figures to read.\n"
    );
    let _ = writeln!(
        w,
        "Not benchmarked: the community crate `codex-codes` (skipped).\n"
    );
    let _ = writeln!(w, "## Run\n");
    let _ = writeln!(w, "| | |\n|---|---|");
    let _ = writeln!(w, "| command | `{}` |", opts.command);
    let _ = writeln!(
        w,
        "| rounds | {} ({:.0} s in all) |",
        opts.rounds,
        elapsed.as_secs_f64()
    );
    for (k, v) in machine_facts() {
        let _ = writeln!(w, "| {k} | {v} |");
    }
    let _ = writeln!(
        w,
        "| runtime | codex 0.163.0 (pinned, `target/codex-runtime`), scripted model on 127.0.0.1 |"
    );
    let _ = writeln!(
        w,
        "| fake server | `codex-fake-app-server` (testkit), release build |\n"
    );

    let ms = |ns: f64| ns / 1e6;
    for workload in workloads {
        let Some(rounds) = results.get(workload.key) else {
            continue;
        };
        let _ = writeln!(w, "## {}\n", workload.title);
        match workload.key {
            "w4" => {
                let _ = writeln!(
                    w,
                    "Throughput through the public streaming API (ours-async: \
                     `AsyncTurnHandle::stream`; ours-blocking: `TurnHandle::stream`; Python: `TurnHandle.stream`), from `turn/start` to `turn/completed`. CPU time: \
                     the client process (all threads) over the same span. Peak RSS (W6): `VmHWM` \
                     at exit.\n"
                );
                let _ = writeln!(
                    w,
                    "| client | deltas/s median | min | max | × raw-limit (per round) | CPU ms | CPU ns/delta | peak RSS MB | dropped |"
                );
                let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
                for name in names {
                    let t = series(rounds, name, throughput);
                    if t.values.is_empty() {
                        continue;
                    }
                    let cpu = series(rounds, name, |r| r.cpu_ns as f64);
                    let per = series(rounds, name, |r| r.cpu_ns as f64 / r.deltas.max(1) as f64);
                    let rss = series(rounds, name, |r| r.vmhwm_kb as f64 / 1024.0);
                    let dropped = series(rounds, name, |r| r.dropped as f64);
                    let _ = writeln!(
                        w,
                        "| {name} | {:.0} | {:.0} | {:.0} | {} | {:.1} | {:.0} | {:.1} | {:.0} |",
                        median(t.values.clone()),
                        min(&t.values),
                        max(&t.values),
                        ratio_cell(&t.ratios),
                        ms(median(cpu.values)),
                        median(per.values),
                        median(rss.values),
                        max(&dropped.values),
                    );
                }
            }
            "w5" => {
                let _ = writeln!(
                    w,
                    "All turns through one client (ours-async: one tokio task per turn; \
                     ours-blocking: one OS thread per turn (scoped); Python sync: one OS thread \
                     per turn; Python async: one asyncio task per turn; raw: one loop). \
                     Latency: consumer receive time minus the server's stamp in the delta. Wall \
                     time from the first `turn/start` to the last `turn/completed`.\n"
                );
                let _ = writeln!(
                    w,
                    "| client | wall ms | deltas/s median | min | max | × raw-limit (per round) | p50 µs | p99 µs | max µs | CPU ms | peak RSS MB |"
                );
                let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
                for name in names {
                    let t = series(rounds, name, throughput);
                    if t.values.is_empty() {
                        continue;
                    }
                    let wall = series(rounds, name, |r| time_ns(r) as f64);
                    let p50 = series(rounds, name, |r| r.lat_p50_ns as f64);
                    let p99 = series(rounds, name, |r| r.lat_p99_ns as f64);
                    let pmax = series(rounds, name, |r| r.lat_max_ns as f64);
                    let cpu = series(rounds, name, |r| r.cpu_ns as f64);
                    let rss = series(rounds, name, |r| r.vmhwm_kb as f64 / 1024.0);
                    let _ = writeln!(
                        w,
                        "| {name} | {:.1} | {:.0} | {:.0} | {:.0} | {} | {:.0} | {:.0} | {:.0} | {:.1} | {:.1} |",
                        ms(median(wall.values)),
                        median(t.values.clone()),
                        min(&t.values),
                        max(&t.values),
                        ratio_cell(&t.ratios),
                        median(p50.values) / 1e3,
                        median(p99.values) / 1e3,
                        median(pmax.values) / 1e3,
                        ms(median(cpu.values)),
                        median(rss.values),
                    );
                }
            }
            _ => {
                let _ = writeln!(
                    w,
                    "| client | median ms | min ms | max ms | ÷ raw-limit (per round) | − raw-limit ms (per round, median) |"
                );
                let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|");
                for name in names {
                    let t = series(rounds, name, |r| time_ns(r) as f64);
                    if t.values.is_empty() {
                        continue;
                    }
                    let _ = writeln!(
                        w,
                        "| {name} | {:.2} | {:.2} | {:.2} | {} | {:+.2} |",
                        ms(median(t.values.clone())),
                        ms(min(&t.values)),
                        ms(max(&t.values)),
                        ratio_cell(&t.ratios),
                        ms(median(t.diffs)),
                    );
                }
            }
        }
        let _ = writeln!(w);
    }

    if results.contains_key("w4") || results.contains_key("w5") {
        let _ = writeln!(w, "## W6 peak RSS (`VmHWM` at exit), MB, median (max)\n");
        let _ = writeln!(w, "| client | W4 | W5 |\n|---|---:|---:|");
        for name in names {
            let cell = |key: &str| {
                results.get(key).map_or("–".to_string(), |rounds| {
                    let s = series(rounds, name, |r| r.vmhwm_kb as f64 / 1024.0);
                    if s.values.is_empty() {
                        "–".into()
                    } else {
                        format!("{:.1} ({:.1})", median(s.values.clone()), max(&s.values))
                    }
                })
            };
            let _ = writeln!(w, "| {name} | {} | {} |", cell("w4"), cell("w5"));
        }
        let _ = writeln!(w);
    }

    if let Some(cg) = callgrind {
        let _ = writeln!(w, "## Instructions per delta (callgrind, W4)\n");
        let _ = writeln!(
            w,
            "`valgrind --tool=callgrind` on the client process (all its threads; not the server), \
             W4 with {} and with {} deltas; instructions per delta = the difference of the two \
             totals ÷ {}, so process start, handshake and thread start cancel out.\n",
            cg.small,
            cg.large,
            cg.large - cg.small
        );
        let _ = writeln!(
            w,
            "| client | instructions/delta | ÷ raw-limit |\n|---|---:|---:|"
        );
        let raw = cg.per_delta.get("raw-limit").copied().unwrap_or(f64::NAN);
        for (name, per) in &cg.per_delta {
            let _ = writeln!(w, "| {name} | {per:.0} | {:.3} |", per / raw);
        }
        let _ = writeln!(w);
    }

    if results.contains_key("w4") || results.contains_key("w5") {
        let png = opts
            .png
            .strip_prefix(&opts.root)
            .unwrap_or(&opts.png)
            .to_string_lossy()
            .into_owned();
        let _ = writeln!(w, "## Chart\n\n![W4/W5 throughput by client]({png})\n");
    }

    for client in ["ours-async", "ours-blocking"] {
        if !results
            .values()
            .any(|rounds| rounds.iter().any(|r| r.contains_key(client)))
        {
            continue;
        }
        let _ = writeln!(w, "## Targets ({client})\n");
        let _ = writeln!(w, "| target | measured | met |\n|---|---|---|");
        let mut target = |name: &str, measured: String, met: Option<bool>| {
            let verdict = match met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "–",
            };
            let _ = writeln!(w, "| {name} | {measured} | {verdict} |");
        };
        let ratio = |key: &str, metric: &dyn Fn(&Report) -> f64| {
            results
                .get(key)
                .map(|rounds| median(series(rounds, client, metric).ratios))
        };
        let diff = |key: &str| {
            results
                .get(key)
                .map(|rounds| median(series(rounds, client, |r| time_ns(r) as f64).diffs))
        };
        let ours = |key: &str, metric: &dyn Fn(&Report) -> f64| {
            results
                .get(key)
                .map(|rounds| median(series(rounds, client, metric).values))
        };
        if let Some(r) = ratio("w4", &throughput) {
            target(
                "W4 throughput ≥ 1.2× raw-limit",
                format!("{r:.3}×"),
                Some(r >= 1.2),
            );
        }
        if let Some(cg) = callgrind {
            if let (Some(o), Some(r)) = (cg.per_delta.get(client), cg.per_delta.get("raw-limit")) {
                target(
                    "W4 fewer instructions per delta than raw-limit",
                    format!("{o:.0} vs {r:.0}"),
                    Some(o < r),
                );
            }
        }
        if let Some(r) = ratio("w5", &throughput) {
            target(
                "W5 throughput ≥ 1.0× raw-limit",
                format!("{r:.3}×"),
                Some(r >= 1.0),
            );
        }
        if let Some(p) = ours("w5", &|r| r.lat_p99_ns as f64) {
            target(
                "W5 p99 latency ≤ 2 ms",
                format!("{:.0} µs", p / 1e3),
                Some(p <= 2e6),
            );
        }
        for (key, limit) in [("w4", 6.0), ("w5", 10.0)] {
            if let Some(rounds) = results.get(key) {
                let s = series(rounds, client, |r| r.vmhwm_kb as f64 / 1024.0);
                let worst = max(&s.values);
                target(
                    &format!("W6 peak RSS in {} ≤ {limit} MB", key.to_uppercase()),
                    format!("{:.1} MB (max {worst:.1})", median(s.values.clone())),
                    Some(worst <= limit),
                );
            }
        }
        for key in ["w1-real", "w2", "w3"] {
            if let Some(r) = ratio(key, &|r| time_ns(r) as f64) {
                target(
                    &format!("{key} within 2 % of raw-limit (real runtime)"),
                    format!("{:+.1} %", (r - 1.0) * 100.0),
                    Some(r <= 1.02),
                );
            }
        }
        if let Some(d) = diff("w1-fake") {
            target(
                "W1 SDK overhead on the fake server ≤ 1.5 ms",
                format!("{:+.2} ms", d / 1e6),
                Some(d <= 1.5e6),
            );
        }
        let _ = writeln!(w);
    }
    md
}

// ---------------------------------------------------------------------------------------------
// the chart

mod chart {
    use std::collections::BTreeMap;
    use std::path::Path;

    use codex_bench::Report;
    use font8x8::UnicodeFonts;
    use plotters::prelude::*;

    type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

    /// Draws `text` with the built-in 8×8 bitmap font (no system font needed), scaled.
    fn text(area: &Area<'_>, x: i32, y: i32, s: &str, scale: i32, color: &RGBColor) {
        let mut cx = x;
        for ch in s.chars() {
            let glyph = font8x8::BASIC_FONTS
                .get(ch)
                .or_else(|| font8x8::LATIN_FONTS.get(ch))
                .unwrap_or([0; 8]);
            for (row, bits) in glyph.iter().enumerate() {
                for col in 0..8 {
                    if bits & (1 << col) != 0 {
                        let px = cx + col * scale;
                        let py = y + i32::try_from(row).unwrap_or(0) * scale;
                        if scale == 1 {
                            let _ = area.draw_pixel((px, py), color);
                        } else {
                            let _ = area.draw(&Rectangle::new(
                                [(px, py), (px + scale, py + scale)],
                                color.filled(),
                            ));
                        }
                    }
                }
            }
            cx += 8 * scale;
        }
    }

    fn text_width(s: &str, scale: i32) -> i32 {
        i32::try_from(s.chars().count()).unwrap_or(0) * 8 * scale
    }

    fn fmt_rate(v: f64) -> String {
        if v >= 1e6 {
            format!("{:.2}M/s", v / 1e6)
        } else if v >= 1e3 {
            format!("{:.0}k/s", v / 1e3)
        } else {
            format!("{v:.0}/s")
        }
    }

    const COLORS: [RGBColor; 5] = [
        RGBColor(120, 120, 120),
        RGBColor(214, 90, 40),
        RGBColor(60, 110, 180),
        RGBColor(90, 160, 90),
        RGBColor(150, 90, 170),
    ];

    pub(super) fn draw(
        path: &Path,
        labels: [&str; 2],
        names: &[&'static str],
        results: &BTreeMap<&'static str, Vec<BTreeMap<&'static str, Report>>>,
    ) -> Result<(), String> {
        let (width, height) = (1200u32, 520u32);
        let root = BitMapBackend::new(path, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        text(
            &root,
            20,
            14,
            "Deltas/s by client (median; higher is better)",
            2,
            &BLACK,
        );
        let panels = root.margin(50, 10, 10, 10).split_evenly((1, 2));
        for (panel, (key, label)) in panels.iter().zip([("w4", labels[0]), ("w5", labels[1])]) {
            let Some(rounds) = results.get(key) else {
                continue;
            };
            let values: Vec<(&str, f64)> = names
                .iter()
                .filter_map(|name| {
                    let v: Vec<f64> = rounds
                        .iter()
                        .filter_map(|r| r.get(name))
                        .map(super::throughput)
                        .collect();
                    (!v.is_empty()).then(|| (*name, super::median(v)))
                })
                .collect();
            let top = values.iter().map(|(_, v)| *v).fold(1.0, f64::max) * 1.15;
            let (pw, ph) = panel.dim_in_pixel();
            let (pw, ph) = (
                i32::try_from(pw).unwrap_or(0),
                i32::try_from(ph).unwrap_or(0),
            );
            text(panel, 10, 0, label, 2, &BLACK);
            let (plot_top, plot_bottom) = (40, ph - 40);
            let _ = panel.draw(&PathElement::new(
                vec![(10, plot_bottom), (pw - 10, plot_bottom)],
                BLACK,
            ));
            let n = i32::try_from(values.len().max(1)).unwrap_or(1);
            let slot = (pw - 20) / n;
            for (i, (name, v)) in values.iter().enumerate() {
                let i32i = i32::try_from(i).unwrap_or(0);
                let x0 = 10 + i32i * slot + slot / 6;
                let x1 = 10 + (i32i + 1) * slot - slot / 6;
                #[allow(clippy::cast_possible_truncation)]
                let h = ((v / top) * f64::from(plot_bottom - plot_top)) as i32;
                let y0 = plot_bottom - h.max(1);
                let _ = panel.draw(&Rectangle::new(
                    [(x0, y0), (x1, plot_bottom)],
                    COLORS[i % COLORS.len()].filled(),
                ));
                let value = fmt_rate(*v);
                let mid = (x0 + x1) / 2;
                text(
                    panel,
                    mid - text_width(&value, 1) / 2,
                    y0 - 12,
                    &value,
                    1,
                    &BLACK,
                );
                text(
                    panel,
                    mid - text_width(name, 1) / 2,
                    plot_bottom + 10,
                    name,
                    1,
                    &BLACK,
                );
            }
        }
        root.present().map_err(|e| e.to_string())?;
        Ok(())
    }
}
