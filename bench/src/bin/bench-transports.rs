//! Transports and the pool, measured in one run (`cargo xtask bench --transports [--quick]`).
//!
//! Against the fake app-server (release build of the testkit's `codex-fake-app-server`):
//! - W1 ready: time until a client is ready (stdio: spawn + initialize; unix/ws: connect +
//!   upgrade + initialize to a server already listening), median of `iters` per transport;
//! - W4 stream: one turn of `deltas` agent-message deltas through the streaming API, median of
//!   `rounds` per transport, as deltas per second;
//! - pool: W5-shaped load (`threads` concurrent turns of `w5_deltas` stamped deltas) through
//!   `AsyncCodexPool` over 1, 2 and 4 fake app-servers (child processes).
//!
//! Ratios are to stdio in the same run. Prints a markdown report; with `--out FILE` writes it too.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use openai_codex::types::ServerNotification;
use openai_codex::{
    AsyncCodex, AsyncCodexPool, CodexConfig, ThreadStartOptions, TurnEvent, TurnOptions,
};
use openai_codex_testkit::fake_server::SCENARIO_ENV;

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn fake_bin() -> PathBuf {
    PathBuf::from(codex_bench::codex_bin())
}

fn listen(listen: &str, scenario: &str) -> Server {
    let mut child = Command::new(fake_bin())
        .args(["app-server", "--listen", listen])
        .env(SCENARIO_ENV, scenario)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the fake app-server");
    let url = if let Some(path) = listen.strip_prefix("unix://") {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !std::path::Path::new(path).exists() {
            assert!(Instant::now() < deadline, "the socket did not appear");
            std::thread::sleep(Duration::from_millis(5));
        }
        listen.to_string()
    } else {
        let stderr = child.stderr.take().expect("piped");
        let mut lines = BufReader::new(stderr).lines();
        loop {
            let line = lines.next().expect("banner").expect("stderr");
            if let Some(addr) = line.split("listening on: ").nth(1) {
                break addr.trim().to_string();
            }
        }
    };
    Server { child, url }
}

fn stdio_config(scenario: &str) -> CodexConfig {
    CodexConfig::default()
        .codex_bin(fake_bin())
        .env(SCENARIO_ENV, scenario)
}

async fn ready(transport: &str, url: &str, scenario: &str) -> (Duration, AsyncCodex) {
    let start = Instant::now();
    let codex = if transport == "stdio" {
        AsyncCodex::new(stdio_config(scenario)).await
    } else {
        AsyncCodex::connect(url, CodexConfig::default()).await
    }
    .expect("client ready");
    (start.elapsed(), codex)
}

async fn stream_turn(codex: &AsyncCodex) -> (Duration, u64) {
    let thread = codex
        .thread_start(ThreadStartOptions::default())
        .await
        .expect("thread");
    let start = Instant::now();
    let turn = thread
        .turn("Stream", TurnOptions::default())
        .await
        .expect("turn");
    let mut stream = turn.stream();
    let mut deltas = 0u64;
    while let Some(event) = stream.next().await {
        if let TurnEvent::Notification(n) = event.expect("event") {
            if matches!(&*n, ServerNotification::ItemAgentMessageDelta(_)) {
                deltas += 1;
            }
        }
    }
    (start.elapsed(), deltas)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

async fn pool_run(members: usize, threads: usize, deltas: u64) -> f64 {
    let per_member = threads.div_ceil(members);
    let scenario = format!(
        r#"{{"deltas":{deltas},"stamp_deltas":true,"interleave_after_turns":{per_member}}}"#
    );
    let pool = AsyncCodexPool::new((0..members).map(|_| stdio_config(&scenario)).collect())
        .await
        .expect("pool");
    let mut handles = Vec::new();
    for _ in 0..threads {
        handles.push(
            pool.thread_start(ThreadStartOptions::default())
                .await
                .expect("thread"),
        );
    }
    let start = Instant::now();
    let tasks: Vec<_> = handles
        .into_iter()
        .map(|thread| {
            tokio::spawn(async move {
                let turn = thread.turn("Stream", TurnOptions::default()).await?;
                let mut stream = turn.stream();
                let mut n = 0u64;
                while let Some(event) = stream.next().await {
                    if let TurnEvent::Notification(e) = event? {
                        if matches!(&*e, ServerNotification::ItemAgentMessageDelta(_)) {
                            n += 1;
                        }
                    }
                }
                Ok::<_, openai_codex::Error>(n)
            })
        })
        .collect();
    let mut total = 0u64;
    for task in tasks {
        total += task.await.expect("task").expect("turn");
    }
    let elapsed = start.elapsed().as_secs_f64();
    pool.close().await;
    total as f64 / elapsed
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let out = args
        .iter()
        .position(|a| a == "--out")
        .and_then(|i| args.get(i + 1).cloned());
    let (iters, rounds, deltas, threads, w5_deltas) = if quick {
        (3, 1, 20_000u64, 8usize, 500u64)
    } else {
        (10, 3, 200_000, 64, 5_000)
    };
    let load_before = load_average();
    let dir = std::env::temp_dir().join(format!("codex-bench-transports-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let w4_scenario = format!(r#"{{"deltas":{deltas}}}"#);
    let unix_url = format!("unix://{}", dir.join("fake.sock").display());
    let servers = [
        ("unix", Some(listen(&unix_url, &w4_scenario))),
        ("ws", Some(listen("ws://127.0.0.1:0", &w4_scenario))),
        ("stdio", None),
    ];
    let mut rows = Vec::new();
    for (transport, server) in &servers {
        let url = server.as_ref().map_or("", |s| s.url.as_str());
        let mut w1 = Vec::new();
        for _ in 0..iters {
            let (t, codex) = ready(transport, url, &w4_scenario).await;
            w1.push(t.as_secs_f64() * 1e3);
            codex.close().await;
        }
        let mut w4 = Vec::new();
        for _ in 0..rounds {
            let (_, codex) = ready(transport, url, &w4_scenario).await;
            let (t, n) = stream_turn(&codex).await;
            assert_eq!(n, deltas, "every delta arrived over {transport}");
            w4.push(n as f64 / t.as_secs_f64());
            codex.close().await;
        }
        rows.push((*transport, median(w1), median(w4)));
    }
    let (_, stdio_w1, stdio_w4) = rows[2];
    let mut report = String::new();
    report.push_str(&format!(
        "## Transports (fake app-server; W1 median of {iters}, W4 {deltas} deltas, median of {rounds})\n\n"
    ));
    report.push_str("| transport | W1 ready (ms) | W1 ÷ stdio | W4 deltas/s | W4 ÷ stdio |\n");
    report.push_str("|---|---:|---:|---:|---:|\n");
    for (transport, w1, w4) in &rows {
        report.push_str(&format!(
            "| {transport} | {w1:.2} | {:.2}× | {w4:.0} | {:.2}× |\n",
            w1 / stdio_w1,
            w4 / stdio_w4
        ));
    }
    report.push_str(&format!(
        "\nW1 over stdio includes spawning the server; over unix/ws the server is already listening.\n\n## Pool (W5-shaped: {threads} concurrent turns × {w5_deltas} stamped deltas, fake app-servers as children)\n\n"
    ));
    report.push_str("| members | deltas/s | ÷ 1 member |\n|---:|---:|---:|\n");
    let mut base = None;
    for members in [1usize, 2, 4] {
        let mut runs = Vec::new();
        for _ in 0..rounds {
            runs.push(pool_run(members, threads, w5_deltas).await);
        }
        let rate = median(runs);
        let base = *base.get_or_insert(rate);
        report.push_str(&format!(
            "| {members} | {rate:.0} | {:.2}× |\n",
            rate / base
        ));
    }
    report.push_str(&format!(
        "\nLoad average (1/5/15 min) before: {load_before}; after: {}; {} cores.\n",
        load_average(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    ));
    drop(servers);
    let _ = std::fs::remove_dir_all(&dir);
    print!("{report}");
    if let Some(out) = out {
        std::fs::write(&out, &report).expect("write the report");
    }
}
