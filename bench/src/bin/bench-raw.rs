//! The raw-limit benchmark client: spawns the server, writes the requests, and parses every line
//! into a `serde_json::Value`, with no routing, no typing and no extra threads. What any client
//! must at least do; the SDK is measured against it.
//!
//! `bench-raw <w1|w2|w3|w4|w5> [iters=N] [turns=N] [threads=N]`; prints one JSON report line.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Instant;

use codex_bench::{cpu_ns, finish, unix_ns, Args, Histogram, Report};
use serde_json::{json, Value};

struct Raw {
    child: Child,
    stdin: BufWriter<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    line: Vec<u8>,
    next_id: u64,
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

impl Raw {
    fn spawn() -> Res<Self> {
        let mut child = Command::new(codex_bench::codex_bin())
            .args(["app-server", "--listen", "stdio://"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdin = BufWriter::new(child.stdin.take().ok_or("stdin")?);
        let stdout = BufReader::with_capacity(256 * 1024, child.stdout.take().ok_or("stdout")?);
        Ok(Self {
            child,
            stdin,
            stdout,
            line: Vec::with_capacity(4096),
            next_id: 1,
        })
    }

    fn send(&mut self, message: &Value) -> Res<()> {
        serde_json::to_writer(&mut self.stdin, message)?;
        self.stdin.write_all(b"\n")?;
        self.stdin.flush()?;
        Ok(())
    }

    /// Sends a request and returns its id (the response is read by the caller's loop).
    fn request(&mut self, method: &str, params: Value) -> Res<u64> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"id": id, "method": method, "params": params}))?;
        Ok(id)
    }

    /// The next message, parsed into a `Value`.
    fn next(&mut self) -> Res<Value> {
        loop {
            self.line.clear();
            if self.stdout.read_until(b'\n', &mut self.line)? == 0 {
                return Err("the server closed its stdout".into());
            }
            if self.line.trim_ascii().is_empty() {
                continue;
            }
            return Ok(serde_json::from_slice(&self.line)?);
        }
    }

    /// Sends a request and reads messages until its response.
    fn call(&mut self, method: &str, params: Value) -> Res<Value> {
        let id = self.request(method, params)?;
        loop {
            let message = self.next()?;
            if message.get("method").is_none() && message["id"].as_u64() == Some(id) {
                if let Some(error) = message.get("error") {
                    return Err(format!("{method} failed: {error}").into());
                }
                return Ok(message["result"].clone());
            }
        }
    }

    fn initialize() -> Res<Self> {
        let mut raw = Self::spawn()?;
        raw.call(
            "initialize",
            json!({"clientInfo": {"name": "bench_raw", "title": "bench raw", "version": "0.0.0"},
                   "capabilities": {"experimentalApi": true}}),
        )?;
        raw.send(&json!({"method": "initialized"}))?;
        Ok(raw)
    }

    fn thread_start(&mut self) -> Res<String> {
        let result = self.call(
            "thread/start",
            json!({"approvalPolicy": "on-request", "approvalsReviewer": "auto_review"}),
        )?;
        Ok(result["thread"]["id"]
            .as_str()
            .ok_or("thread id")?
            .to_string())
    }

    fn turn_start_params(thread_id: &str, text: &str) -> Value {
        json!({"threadId": thread_id, "input": [{"type": "text", "text": text}]})
    }

    /// Runs one turn to completion, returning the final agent message.
    fn run_turn(&mut self, thread_id: &str, text: &str) -> Res<Option<String>> {
        let result = self.call("turn/start", Self::turn_start_params(thread_id, text))?;
        let turn_id = result["turn"]["id"].as_str().ok_or("turn id")?.to_string();
        let mut answer = None;
        loop {
            let message = self.next()?;
            match message["method"].as_str() {
                Some("item/completed") if message["params"]["item"]["type"] == "agentMessage" => {
                    answer = message["params"]["item"]["text"]
                        .as_str()
                        .map(str::to_string);
                }
                Some("turn/completed") if message["params"]["turn"]["id"] == turn_id.as_str() => {
                    return Ok(answer);
                }
                _ => {}
            }
        }
    }

    /// Closes stdin and waits (2 s at most) for the server to exit, then kills it.
    fn close(mut self) {
        drop(self.stdin);
        let deadline = Instant::now() + std::time::Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nanos(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

fn main() -> Res<()> {
    let args = Args::parse();
    let mut report = Report::default();
    match args.workload.as_str() {
        "w1" => {
            for _ in 0..args.num("iters", 1) {
                let start = Instant::now();
                let raw = Raw::initialize()?;
                report.samples_ns.push(nanos(start));
                raw.close();
            }
        }
        "w2" => {
            let mut raw = Raw::initialize()?;
            let start = Instant::now();
            let thread = raw.thread_start()?;
            let answer = raw.run_turn(&thread, "Say hi")?;
            report.samples_ns.push(nanos(start));
            assert!(answer.is_some(), "the turn answered");
            raw.close();
        }
        "w3" => {
            let mut raw = Raw::initialize()?;
            let thread = raw.thread_start()?;
            let start = Instant::now();
            for i in 0..args.num("turns", 50) {
                let answer = raw.run_turn(&thread, &format!("Turn {i}: say hi"))?;
                assert!(answer.is_some(), "the turn answered");
            }
            report.samples_ns.push(nanos(start));
            raw.close();
        }
        "w4" => {
            let mut raw = Raw::initialize()?;
            let thread = raw.thread_start()?;
            let cpu = cpu_ns();
            let start = Instant::now();
            raw.request("turn/start", Raw::turn_start_params(&thread, "Stream"))?;
            let mut bytes = 0usize;
            loop {
                let message = raw.next()?;
                match message["method"].as_str() {
                    Some("item/agentMessage/delta") => {
                        report.deltas += 1;
                        bytes += message["params"]["delta"].as_str().map_or(0, str::len);
                    }
                    Some("turn/completed") => break,
                    _ => {}
                }
            }
            report.samples_ns.push(nanos(start));
            report.cpu_ns = cpu_ns() - cpu;
            assert!(bytes > 0, "deltas carry text");
            raw.close();
        }
        "w5" => {
            let mut raw = Raw::initialize()?;
            let n = args.num("threads", 64);
            let mut threads = Vec::new();
            for _ in 0..n {
                threads.push(raw.thread_start()?);
            }
            let cpu = cpu_ns();
            let start = Instant::now();
            for thread in &threads {
                raw.request("turn/start", Raw::turn_start_params(thread, "Stream"))?;
            }
            let mut hist = Histogram::default();
            let mut completed = 0;
            while completed < n {
                let message = raw.next()?;
                match message["method"].as_str() {
                    Some("item/agentMessage/delta") => {
                        report.deltas += 1;
                        if let Some(sent) = message["params"]["sentAtNs"].as_u64() {
                            hist.record(unix_ns().saturating_sub(sent));
                        }
                    }
                    Some("turn/completed") => completed += 1,
                    _ => {}
                }
            }
            report.samples_ns.push(nanos(start));
            report.cpu_ns = cpu_ns() - cpu;
            hist.fill(&mut report);
            raw.close();
        }
        other => return Err(format!("unknown workload {other}").into()),
    }
    finish(report);
    Ok(())
}
