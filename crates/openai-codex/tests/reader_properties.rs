//! Property tests of the reader and decoder: whatever the runtime's stdout carries (arbitrary
//! bytes, lines split across reads or merged into one, CR/LF endings, very long lines, non-UTF-8,
//! deeply nested JSON, every message kind with mutated fields), the client
//! - never panics and stays usable,
//! - never answers anything but a server request, and answers each request exactly once,
//! - never loses or reorders a valid turn event,
//! - counts exactly the junk lines as junk.
//!
//! The runtime is played by a peer on the in-memory transport, so each case is one client and
//! no process. Case count: `PROPTEST_CASES` (default 32 here, enough for CI); raise it for a
//! longer run, e.g. `PROPTEST_CASES=5000 cargo test -p openai-codex --test reader_properties`.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::time::Duration;

use futures::StreamExt;
use openai_codex::transport::Transport;
use openai_codex::types::ServerNotification;
use openai_codex::{AsyncCodex, CodexConfig, TurnEvent, TurnOptions};
use proptest::prelude::*;
use serde_json::{json, Value};

const THREAD: &str = "00000000-0000-7000-8000-00000000000a";
const TURN: &str = "00000000-0000-7000-8000-00000000000b";
/// Turn ids that mutated notifications may carry: never the turn under test.
const OTHER_TURNS: [&str; 3] = ["other-turn-1", "other-turn-2", "other-turn-3"];
/// Response ids the client never used (its own ids are small integers).
const FIRST_FOREIGN_ID: i64 = 1_000_000;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32)
}

// ---------------------------------------------------------------- the runtime's shapes

/// The valid events of the turn under test, in the runtime's shapes (recorded fixtures of
/// 0.163.0), for an agent message made of `deltas`.
fn turn_events(deltas: &[String]) -> Vec<Value> {
    let text: String = deltas.concat();
    let item = |text: &str| {
        json!({"type": "agentMessage", "id": "msg_1", "text": text, "phase": "final_answer",
               "memoryCitation": null, "delivery": null, "questions": null})
    };
    let mut events = vec![
        json!({"method": "turn/started", "params": {"threadId": THREAD, "turn": {"id": TURN,
            "rootTurnId": TURN, "items": [], "itemsView": "notLoaded", "status": "inProgress",
            "error": null, "startedAt": 1, "completedAt": null, "durationMs": null}},
            "emittedAtMs": 1}),
        json!({"method": "item/started", "params": {"item": item(""), "threadId": THREAD,
            "turnId": TURN, "startedAtMs": 1}, "emittedAtMs": 1}),
    ];
    events.extend(deltas.iter().map(|delta| {
        json!({"method": "item/agentMessage/delta", "params": {"threadId": THREAD,
            "turnId": TURN, "itemId": "msg_1", "delta": delta}, "emittedAtMs": 1})
    }));
    events.push(
        json!({"method": "item/completed", "params": {"item": item(&text),
        "threadId": THREAD, "turnId": TURN, "completedAtMs": 1}, "emittedAtMs": 1}),
    );
    events.push(
        json!({"method": "turn/completed", "params": {"threadId": THREAD, "turn": {
        "id": TURN, "rootTurnId": TURN, "items": [item(&text)], "itemsView": "summary",
        "status": "completed", "error": null, "startedAt": 1, "completedAt": 1,
        "durationMs": 1}}, "emittedAtMs": 1}),
    );
    events
}

fn turn_start_result() -> Value {
    json!({"turn": {"id": TURN, "rootTurnId": TURN, "items": [], "itemsView": "notLoaded",
        "status": "inProgress", "error": null, "startedAt": null, "completedAt": null,
        "durationMs": null}})
}

/// What identifies a turn event in order: its method and, for a delta, its text.
fn event_key(event: &Value) -> (String, Option<String>) {
    (
        event["method"].as_str().unwrap_or_default().to_string(),
        event["params"]["delta"].as_str().map(str::to_string),
    )
}

fn notification_key(n: &ServerNotification) -> (String, Option<String>) {
    let delta = match n {
        ServerNotification::ItemAgentMessageDelta(d) => Some(d.delta.clone()),
        _ => None,
    };
    (n.method().to_string(), delta)
}

// ---------------------------------------------------------------- what the stream carries

/// One line the runtime writes, and what the client must make of it.
#[derive(Clone, Debug)]
enum Line {
    /// A line that is no JSON-RPC message: counted as junk.
    Junk(Vec<u8>),
    /// Only whitespace: skipped, not counted.
    Blank(Vec<u8>),
    /// A server request: answered exactly once, with this id.
    Request(Value),
    /// A message that is neither junk nor a request (notification of another turn or of
    /// nobody's, response to an id never sent): routed or ignored, never answered.
    Quiet(Value),
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(Value::from),
        any::<String>().prop_map(Value::from),
    ]
}

fn any_json() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Any JSON but an object.
fn non_object_json() -> impl Strategy<Value = Value> {
    any_json().prop_map(|v| match v {
        Value::Object(m) => Value::Array(m.into_values().collect()),
        other => other,
    })
}

/// A JSON value that is neither a string nor null: not a method name.
fn not_a_method() -> impl Strategy<Value = Value> {
    any_json().prop_filter("a string or null is a valid method member", |v| {
        !v.is_string() && !v.is_null()
    })
}

fn request_id() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        (-1e9f64..1e9).prop_map(Value::from),
        // Not valid JSON-RPC, but a request all the same: echoed back as sent.
        any_json().prop_filter("null is no id", |v| !v.is_null()),
    ]
}

fn foreign_response_id() -> impl Strategy<Value = Value> {
    prop_oneof![
        (FIRST_FOREIGN_ID..i64::MAX).prop_map(Value::from),
        "[a-z]{1,12}".prop_map(Value::from),
    ]
}

const KNOWN_METHODS: [&str; 6] = [
    "item/agentMessage/delta",
    "item/completed",
    "turn/completed",
    "configWarning",
    "item/commandExecution/requestApproval",
    "item/tool/call",
];

fn method_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(KNOWN_METHODS.to_vec()).prop_map(String::from),
        any::<String>(),
    ]
}

/// Params of a mutated message: arbitrary, or the known fields with wrong types, but never
/// pointing at the turn under test.
fn mutated_params() -> impl Strategy<Value = Value> {
    prop_oneof![
        any_json(),
        (
            prop::sample::select(OTHER_TURNS.to_vec()),
            any_json(),
            any_json()
        )
            .prop_map(
                |(turn, delta, item)| json!({"threadId": THREAD, "turnId": turn, "delta": delta,
                "item": item, "turn": {"id": turn}})
            ),
        (any_json(), any_json()).prop_map(|(thread, turn)| json!({"threadId": thread,
            "turnId": turn})),
    ]
}

fn bytes_of(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap()
}

/// Whether bytes are a message by the client's rules (a JSON object with a non-null id or
/// method), so that "arbitrary bytes" stay junk.
fn looks_like_a_message(bytes: &[u8]) -> bool {
    match serde_json::from_slice::<Value>(bytes.trim_ascii()) {
        Ok(Value::Object(map)) => {
            map.get("id").is_some_and(|v| !v.is_null())
                || map.get("method").is_some_and(|v| !v.is_null())
        }
        _ => false,
    }
}

fn junk_line() -> impl Strategy<Value = Line> {
    prop_oneof![
        // Arbitrary bytes (non-UTF-8 included), CRs inside, no line end.
        prop::collection::vec(any::<u8>().prop_filter("no LF", |b| *b != b'\n'), 1..200)
            .prop_filter("not blank, not a message", |b| {
                !b.trim_ascii().is_empty() && !looks_like_a_message(b)
            }),
        // A very long line.
        (100_000usize..1_500_000).prop_map(|n| vec![b'x'; n]),
        // JSON that is no object, arrays shaped like messages included.
        non_object_json().prop_map(|v| bytes_of(&v)),
        (request_id(), method_name(), any_json())
            .prop_map(|(id, method, params)| bytes_of(&json!([id, method, params]))),
        // Deeply nested arrays and objects (past serde_json's recursion limit too).
        (1usize..3000).prop_map(|d| format!("{}{}", "[".repeat(d), "]".repeat(d)).into_bytes()),
        (1usize..3000)
            .prop_map(|d| { format!("{}1{}", "{\"a\":".repeat(d), "}".repeat(d)).into_bytes() }),
        // Objects with neither id nor method.
        any_json().prop_map(|v| bytes_of(&json!({"jsonrpc": "2.0", "result": v}))),
        // A message whose method is not a string.
        (not_a_method(), any_json())
            .prop_map(|(m, p)| bytes_of(&json!({"method": m, "params": p}))),
        (request_id(), not_a_method())
            .prop_map(|(id, m)| bytes_of(&json!({"id": id, "method": m}))),
        // A response whose error is not an object.
        (
            foreign_response_id(),
            json_leaf().prop_filter("null is no error", |v| !v.is_null())
        )
            .prop_map(|(id, e)| bytes_of(&json!({"id": id, "error": e}))),
        // A truncated message.
        (foreign_response_id(), 1usize..40).prop_map(|(id, cut)| {
            let mut b = bytes_of(&json!({"id": id, "result": {"ok": true}}));
            b.truncate(b.len().saturating_sub(cut).max(1));
            b
        }),
    ]
    .prop_map(Line::Junk)
}

fn line() -> impl Strategy<Value = Line> {
    prop_oneof![
        6 => junk_line(),
        1 => prop::collection::vec(prop::sample::select(vec![b' ', b'\t', b'\r']), 0..4)
            .prop_map(Line::Blank),
        2 => (request_id(), method_name(), mutated_params())
            .prop_map(|(id, method, params)| Line::Request(
                json!({"id": id, "method": method, "params": params}))),
        2 => (method_name(), mutated_params())
            .prop_map(|(method, params)| Line::Quiet(json!({"method": method, "params": params}))),
        1 => (foreign_response_id(), any_json())
            .prop_map(|(id, result)| Line::Quiet(json!({"id": id, "result": result}))),
        1 => (foreign_response_id(), any::<i64>(), any::<String>(), any_json())
            .prop_map(|(id, code, message, data)| Line::Quiet(
                json!({"id": id, "error": {"code": code, "message": message, "data": data}}))),
    ]
}

fn delta_text() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => any::<String>(),
        1 => Just(String::new()),
        1 => (10_000usize..300_000).prop_map(|n| "d".repeat(n)),
    ]
}

#[derive(Debug)]
struct Case {
    /// The runtime's stdout, in order: noise lines with the turn's events spread among them.
    lines: Vec<Line>,
    /// Where each valid turn event goes among `lines` (sorted).
    events: Vec<Value>,
    /// Per line: `\r\n` instead of `\n`.
    crlf: Vec<bool>,
    /// How the bytes are cut into writes.
    chunks: Vec<usize>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(delta_text(), 0..40),
        prop::collection::vec(line(), 0..40),
        prop::collection::vec(any::<bool>(), 128),
        prop::collection::vec(1usize..8192, 1..32),
        any::<u64>(),
    )
        .prop_map(|(deltas, noise, crlf, chunks, seed)| {
            let events = turn_events(&deltas);
            // Interleave: a deterministic shuffle of the noise between the turn's events.
            let mut lines = Vec::new();
            let mut rng = seed;
            let mut noise = noise.into_iter();
            for _ in &events {
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1);
                for _ in 0..(rng >> 61) {
                    if let Some(line) = noise.next() {
                        lines.push(line);
                    }
                }
                lines.push(Line::Quiet(Value::Null)); // placeholder for `event`
            }
            lines.extend(noise);
            Case {
                lines,
                events,
                crlf,
                chunks,
            }
        })
}

impl Case {
    /// The bytes of stdout, and the expected junk count and request ids.
    fn render(&self) -> (Vec<u8>, u64, Vec<Value>) {
        let mut out = Vec::new();
        let mut junk = 0;
        let mut requests = Vec::new();
        let mut events = self.events.iter();
        for (i, line) in self.lines.iter().enumerate() {
            match line {
                Line::Quiet(Value::Null) => {
                    out.extend(bytes_of(events.next().expect("one event per placeholder")))
                }
                Line::Quiet(message) => out.extend(bytes_of(message)),
                Line::Request(message) => {
                    // The id as the peer will read it back (parsing the same text the client
                    // echoes): float ids need not survive a parse unchanged.
                    let wire = bytes_of(message);
                    let read_back: Value = serde_json::from_slice(&wire).unwrap();
                    requests.push(read_back["id"].clone());
                    out.extend(wire);
                }
                Line::Junk(bytes) => {
                    junk += 1;
                    out.extend(bytes);
                }
                Line::Blank(bytes) => out.extend(bytes),
            }
            if self.crlf[i % self.crlf.len()] {
                out.push(b'\r');
            }
            out.push(b'\n');
        }
        (out, junk, requests)
    }
}

// ---------------------------------------------------------------- the peer

/// The runtime's side of the in-memory transport: what the client wrote arrives on `inbox`.
struct Peer {
    out: UnixStream,
    inbox: mpsc::Receiver<Value>,
    seen: Vec<Value>,
}

impl Peer {
    fn start(stream: UnixStream) -> Self {
        let out = stream.try_clone().unwrap();
        let (tx, inbox) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                let message = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("the client wrote invalid JSON ({e}): {line}"));
                if tx.send(message).is_err() {
                    break;
                }
            }
        });
        Self {
            out,
            inbox,
            seen: Vec::new(),
        }
    }

    /// Waits for the client's message with this method (keeping the others in `seen`).
    fn expect(&mut self, method: &str) -> Value {
        loop {
            let message = self
                .inbox
                .recv_timeout(Duration::from_secs(20))
                .unwrap_or_else(|_| panic!("the client never sent {method}"));
            if message["method"] == method {
                return message;
            }
            self.seen.push(message);
        }
    }

    fn send(&mut self, message: &Value) {
        let mut line = bytes_of(message);
        line.push(b'\n');
        self.out.write_all(&line).unwrap();
    }

    /// Writes `bytes` in pieces of the given sizes (cycled), so lines are split across reads
    /// and several lines share one.
    fn write_in_pieces(&mut self, mut bytes: &[u8], sizes: &[usize]) {
        for size in sizes.iter().cycle() {
            if bytes.is_empty() {
                break;
            }
            let (now, later) = bytes.split_at((*size).min(bytes.len()));
            self.out.write_all(now).unwrap();
            self.out.flush().unwrap();
            bytes = later;
        }
    }

    /// The client's replies (an id, no method) received so far.
    fn replies(&mut self) -> Vec<Value> {
        while let Ok(message) = self.inbox.try_recv() {
            self.seen.push(message);
        }
        self.seen
            .iter()
            .filter(|m| m.get("method").is_none() && m.get("id").is_some())
            .cloned()
            .collect()
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    })
}

fn sorted(mut ids: Vec<Value>) -> Vec<String> {
    let mut ids: Vec<String> = ids.drain(..).map(|id| id.to_string()).collect();
    ids.sort();
    ids
}

fn check(case: &Case) -> Result<(), TestCaseError> {
    let rt = runtime();
    let (stdout, junk, requests) = case.render();
    let (transport, theirs) = Transport::in_memory().unwrap();
    let mut peer = Peer::start(theirs);
    let config = CodexConfig::default().request_timeout(Duration::from_secs(20));
    let connecting = rt.spawn(AsyncCodex::with_transport(config, transport));
    let initialize = peer.expect("initialize");
    peer.send(&json!({"id": initialize["id"], "result": {
        "userAgent": "codex_fake/0.163.0 (Linux; x86_64) fake (t; 0)", "codexHome": "codex-home",
        "platformFamily": "unix", "platformOs": "linux"}}));
    let codex = rt.block_on(connecting).unwrap().unwrap();
    peer.expect("initialized");

    // Everything is written while `turn/start` waits; its response comes last, so by the time
    // the turn handle exists every line before it has been read and handled.
    let thread = codex.thread(THREAD);
    let starting = rt.spawn(async move { thread.turn("go", TurnOptions::default()).await });
    let start = peer.expect("turn/start");
    peer.write_in_pieces(&stdout, &case.chunks);
    peer.send(&json!({"id": start["id"], "result": turn_start_result()}));
    let turn = rt.block_on(starting).unwrap().unwrap();

    // Never loses or reorders a valid turn event.
    let events = rt
        .block_on(async {
            tokio::time::timeout(Duration::from_secs(20), turn.stream().collect::<Vec<_>>()).await
        })
        .expect("the turn's stream ends");
    let got: Vec<(String, Option<String>)> = events
        .iter()
        .map(|event| match event {
            Ok(TurnEvent::Notification(n)) => notification_key(n),
            other => (format!("{other:?}"), None),
        })
        .collect();
    let want: Vec<(String, Option<String>)> = case.events.iter().map(event_key).collect();
    prop_assert_eq!(got, want);

    // Junk count matches.
    prop_assert_eq!(codex.junk_lines(), junk);

    // Every request answered exactly once, nothing else answered.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while peer.replies().len() < requests.len() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    // A last round trip: a stray reply to a non-request would have been written by now.
    let probing = {
        let codex = codex.clone();
        rt.spawn(async move { codex.request_raw("probe/ping", json!({})).await })
    };
    let probe = peer.expect("probe/ping");
    peer.send(&json!({"id": probe["id"], "result": {}}));
    rt.block_on(probing).unwrap().unwrap();
    let replies = peer.replies();
    prop_assert_eq!(
        sorted(replies.iter().map(|r| r["id"].clone()).collect()),
        sorted(requests)
    );
    prop_assert!(!codex.is_closed(), "the reader survived");
    rt.block_on(codex.close());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        max_shrink_iters: 256,
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_reader_survives_any_stdout_and_keeps_every_valid_turn_event(case in case()) {
        check(&case)?;
    }
}
