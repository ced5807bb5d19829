//! The benchmark client for this SDK's async API (`AsyncCodex`), driven by `bench-driver`.
//!
//! `bench-ours <w1|w2|w3|w4|w5> [iters=N] [turns=N] [threads=N]`; prints one JSON report line.

use std::time::Instant;

use codex_bench::{cpu_ns, finish, stamped_latency, unix_ns, Args, Histogram, Report};
use futures::StreamExt;
use openai_codex::types::ServerNotification;
use openai_codex::{
    AsyncCodex, CodexConfig, OverflowPolicy, ThreadStartOptions, TurnEvent, TurnOptions,
};

fn config() -> CodexConfig {
    let config = CodexConfig::new().codex_bin(codex_bench::codex_bin());
    // `bench-driver --loaded` also measures the drop policy.
    if std::env::var("BENCH_OVERFLOW").as_deref() == Ok("drop") {
        config.overflow(OverflowPolicy::DropDeltas)
    } else {
        config
    }
}

fn nanos(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let mut report = Report::default();
    match args.workload.as_str() {
        "w1" => {
            for _ in 0..args.num("iters", 1) {
                let start = Instant::now();
                let codex = AsyncCodex::new(config()).await?;
                report.samples_ns.push(nanos(start));
                codex.close().await;
            }
        }
        "w2" => {
            let codex = AsyncCodex::new(config()).await?;
            let start = Instant::now();
            let thread = codex.thread_start(ThreadStartOptions::default()).await?;
            let result = thread.run("Say hi", TurnOptions::default()).await?;
            report.samples_ns.push(nanos(start));
            assert!(result.final_response.is_some(), "the turn answered");
            codex.close().await;
        }
        "w3" => {
            let codex = AsyncCodex::new(config()).await?;
            let thread = codex.thread_start(ThreadStartOptions::default()).await?;
            let start = Instant::now();
            for i in 0..args.num("turns", 50) {
                let result = thread
                    .run(format!("Turn {i}: say hi"), TurnOptions::default())
                    .await?;
                assert!(result.final_response.is_some(), "the turn answered");
            }
            report.samples_ns.push(nanos(start));
            codex.close().await;
        }
        "w4" => {
            let codex = AsyncCodex::new(config()).await?;
            let thread = codex.thread_start(ThreadStartOptions::default()).await?;
            let cpu = cpu_ns();
            let start = Instant::now();
            let turn = thread.turn("Stream", TurnOptions::default()).await?;
            let mut stream = turn.stream();
            let mut bytes = 0usize;
            while let Some(event) = stream.next().await {
                match event? {
                    TurnEvent::Notification(n) => {
                        if let ServerNotification::ItemAgentMessageDelta(d) = &*n {
                            report.deltas += 1;
                            bytes += d.delta.len();
                        }
                    }
                    TurnEvent::Lagged { dropped } => report.dropped += dropped,
                    _ => {}
                }
            }
            report.samples_ns.push(nanos(start));
            report.cpu_ns = cpu_ns() - cpu;
            assert!(bytes > 0, "deltas carry text");
            drop(stream);
            codex.close().await;
        }
        "w5" => {
            let codex = AsyncCodex::new(config()).await?;
            let mut threads = Vec::new();
            for _ in 0..args.num("threads", 64) {
                threads.push(codex.thread_start(ThreadStartOptions::default()).await?);
            }
            let cpu = cpu_ns();
            let start = Instant::now();
            let tasks: Vec<_> = threads
                .into_iter()
                .map(|thread| {
                    tokio::spawn(async move {
                        let mut hist = Histogram::default();
                        let (mut deltas, mut dropped) = (0u64, 0u64);
                        let turn = thread.turn("Stream", TurnOptions::default()).await?;
                        let mut stream = turn.stream();
                        while let Some(event) = stream.next().await {
                            match event? {
                                TurnEvent::Notification(n) => {
                                    if let ServerNotification::ItemAgentMessageDelta(d) = &*n {
                                        deltas += 1;
                                        if let Some(l) = stamped_latency(&d.delta, unix_ns()) {
                                            hist.record(l);
                                        }
                                    }
                                }
                                TurnEvent::Lagged { dropped: n } => dropped += n,
                                _ => {}
                            }
                        }
                        Ok::<_, openai_codex::Error>((hist, deltas, dropped))
                    })
                })
                .collect();
            let mut hist = Histogram::default();
            for task in tasks {
                let (h, deltas, dropped) = task.await??;
                hist.merge(&h);
                report.deltas += deltas;
                report.dropped += dropped;
            }
            report.samples_ns.push(nanos(start));
            report.cpu_ns = cpu_ns() - cpu;
            hist.fill(&mut report);
            codex.close().await;
        }
        other => return Err(format!("unknown workload {other}").into()),
    }
    finish(report);
    Ok(())
}
