//! Plays every scenario knob of the fake app-server through the raw JSON-RPC client, and checks
//! every message kind it emits against the checked-in 0.163.0 JSON Schema.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use openai_codex_testkit::fake_server::{self, FakeScenario, ALL_SERVER_REQUESTS};
use openai_codex_testkit::raw_client::RawClient;
use serde_json::{json, Value};

const T: Duration = Duration::from_secs(20);

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_codex-fake-app-server"))
}

fn spawn(sc: &FakeScenario) -> RawClient {
    RawClient::spawn(
        bin(),
        &[
            "--config",
            "model=\"x\"",
            "-c",
            "y=1",
            "app-server",
            "--listen",
            "stdio://",
        ],
        &sc.env(),
        None,
    )
    .expect("spawn the fake app-server")
}

async fn ok(c: &mut RawClient, method: &str, params: Value) -> Value {
    let r = c.request(method, params, T).await.expect("response");
    assert!(r.get("error").is_none(), "{method} failed: {r}");
    r["result"].clone()
}

/// Spawns, initializes and starts a thread.
async fn start(sc: &FakeScenario) -> (RawClient, String) {
    let mut c = spawn(sc);
    c.initialize(T).await.expect("initialize");
    let r = ok(&mut c, "thread/start", json!({})).await;
    let thread_id = r["thread"]["id"].as_str().expect("thread id").to_owned();
    (c, thread_id)
}

fn text_input(text: &str) -> Value {
    json!([{"type": "text", "text": text}])
}

async fn turn_start(c: &mut RawClient, thread_id: &str) -> String {
    let r = ok(
        c,
        "turn/start",
        json!({"threadId": thread_id, "input": text_input("hello")}),
    )
    .await;
    r["turn"]["id"].as_str().expect("turn id").to_owned()
}

fn method(m: &Value) -> &str {
    m.get("method").and_then(Value::as_str).unwrap_or_default()
}

fn is_turn_completed(m: &Value, turn_id: &str) -> bool {
    method(m) == "turn/completed" && m["params"]["turn"]["id"] == turn_id
}

/// Every message (backlog first) up to and including `turn/completed` of `turn_id`.
async fn until_completed(c: &mut RawClient, turn_id: &str) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let m = c.next_message(T).await.expect("message");
        let done = is_turn_completed(&m, turn_id);
        out.push(m);
        if done {
            return out;
        }
    }
}

fn turn_scoped(messages: &[Value], turn_id: &str) -> Vec<Value> {
    messages
        .iter()
        .filter(|m| {
            m.get("id").is_none()
                && (m["params"]["turnId"] == turn_id || m["params"]["turn"]["id"] == turn_id)
        })
        .cloned()
        .collect()
}

#[tokio::test]
async fn version_and_initialize() {
    let out = Command::new(bin())
        .args(["-c", "a=1", "--version"])
        .output()
        .expect("run --version");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "codex-cli 0.163.0\n");

    let mut c = spawn(&FakeScenario::new());
    let early = c.request("thread/list", json!({}), T).await.unwrap();
    assert_eq!(early["error"]["code"], -32600);
    assert_eq!(early["error"]["message"], "Not initialized");
    let init = c
        .request(
            "initialize",
            json!({"clientInfo": {"name": "my_app", "title": "x", "version": "9.9.9"}, "capabilities": {}}),
            T,
        )
        .await
        .unwrap();
    assert_eq!(
        init["result"],
        json!({"userAgent": "codex_fake/0.163.0 (Linux; x86_64) fake (my_app; 9.9.9)", "codexHome": "/fake/home",
               "platformFamily": "unix", "platformOs": "linux"})
    );
    c.send(&json!({"method": "initialized"})).await.unwrap();
    let again = c
        .request(
            "initialize",
            json!({"clientInfo": {"name": "a", "version": "1"}}),
            T,
        )
        .await
        .unwrap();
    assert_eq!(again["error"]["message"], "Already initialized");
    let unknown = c.request("no/such/method", json!({}), T).await.unwrap();
    assert_eq!(unknown["error"]["code"], -32600);
    assert!(c.shutdown(T).await.unwrap().success());
}

#[tokio::test]
async fn normal_turn_notification_order() {
    let (mut c, thread_id) = start(&FakeScenario::new().deltas(4).delta_text("ab\"c ")).await;
    let started = c.wait_notification("thread/started", T).await.unwrap();
    assert_eq!(started["params"]["thread"]["id"], thread_id.as_str());
    let turn_id = turn_start(&mut c, &thread_id).await;
    assert!(
        c.backlog().iter().all(|m| method(m) != "turn/started"),
        "the response comes before turn/started"
    );
    let all = until_completed(&mut c, &turn_id).await;
    assert!(
        all.iter().all(|m| m["emittedAtMs"].is_i64()),
        "every notification carries emittedAtMs"
    );
    let scoped = turn_scoped(&all, &turn_id);
    let methods: Vec<&str> = scoped.iter().map(method).collect();
    assert_eq!(
        methods,
        [
            "turn/started",
            "item/started",
            "item/completed",
            "item/started",
            "item/agentMessage/delta",
            "item/agentMessage/delta",
            "item/agentMessage/delta",
            "item/agentMessage/delta",
            "item/completed",
            "thread/tokenUsage/updated",
            "turn/completed"
        ]
    );
    assert_eq!(scoped[1]["params"]["item"]["type"], "userMessage");
    assert_eq!(scoped[1]["params"]["item"]["content"][0]["text"], "hello");
    assert_eq!(scoped[3]["params"]["item"]["type"], "agentMessage");
    let deltas: String = scoped[4..8]
        .iter()
        .map(|m| m["params"]["delta"].as_str().unwrap())
        .collect();
    assert_eq!(deltas, "ab\"c ab\"c ab\"c ab\"c ");
    assert_eq!(scoped[8]["params"]["item"]["text"], deltas.as_str());
    let turn = &scoped[10]["params"]["turn"];
    assert_eq!(turn["status"], "completed");
    assert!(
        turn["startedAt"].is_i64() && turn["completedAt"].is_i64() && turn["durationMs"].is_i64()
    );
    assert_eq!(turn["items"][0]["text"], deltas.as_str());
    assert!(all.iter().any(|m| method(m) == "thread/status/changed"));
    assert!(c.shutdown(T).await.unwrap().success());
}

#[tokio::test]
async fn concurrent_turns_interleave_round_robin() {
    const C: usize = 4;
    const N: usize = 50;
    let sc = FakeScenario::new()
        .deltas(N as u64)
        .interleave_after_turns(C)
        .stamp_deltas(true);
    let mut c = spawn(&sc);
    c.initialize(T).await.unwrap();
    let mut threads = Vec::new();
    for _ in 0..C {
        threads.push(
            ok(&mut c, "thread/start", json!({})).await["thread"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let mut turns = Vec::new();
    for t in &threads {
        turns.push(turn_start(&mut c, t).await);
    }
    let mut all = Vec::new();
    let mut completed = HashSet::new();
    while completed.len() < C {
        let m = c.next_message(T).await.unwrap();
        if method(&m) == "turn/completed" {
            completed.insert(m["params"]["turn"]["id"].as_str().unwrap().to_owned());
        }
        all.push(m);
    }
    // Which item belongs to which turn, from item/started.
    let mut item_turn = HashMap::new();
    for m in all.iter().filter(|m| method(m) == "item/started") {
        item_turn.insert(
            m["params"]["item"]["id"].clone(),
            m["params"]["turnId"].clone(),
        );
    }
    let first_delta = all
        .iter()
        .position(|m| method(m) == "item/agentMessage/delta")
        .unwrap();
    let last_turn_started = all
        .iter()
        .rposition(|m| method(m) == "turn/started")
        .unwrap();
    assert!(
        last_turn_started < first_delta,
        "no delta before all {C} turns started"
    );
    let deltas: Vec<&Value> = all
        .iter()
        .filter(|m| method(m) == "item/agentMessage/delta")
        .collect();
    assert_eq!(deltas.len(), C * N);
    let mut per_turn: HashMap<String, usize> = HashMap::new();
    for d in &deltas {
        let p = &d["params"];
        assert_eq!(
            item_turn[&p["itemId"]], p["turnId"],
            "delta carries its own turn id"
        );
        assert_eq!(
            p["threadId"],
            threads[turns
                .iter()
                .position(|t| p["turnId"] == t.as_str())
                .unwrap()]
            .as_str()
        );
        *per_turn
            .entry(p["turnId"].as_str().unwrap().to_owned())
            .or_default() += 1;
        let ns: i64 = p["delta"].as_str().unwrap().parse().expect("stamped delta");
        assert_eq!(p["sentAtNs"].as_i64(), Some(ns));
        assert!(ns > 0);
    }
    assert!(per_turn.values().all(|&n| n == N));
    for window in deltas.chunks(C) {
        let ids: HashSet<&str> = window
            .iter()
            .map(|d| d["params"]["turnId"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids.len(),
            C,
            "round-robin: every window of {C} deltas holds all turns"
        );
    }
    assert!(c.shutdown(T).await.unwrap().success());
}

#[tokio::test]
async fn sequential_turns_by_default_and_join() {
    let (mut c, thread_id) = start(&FakeScenario::new().deltas(2)).await;
    let turn_id = turn_start(&mut c, &thread_id).await;
    let all = until_completed(&mut c, &turn_id).await;
    assert_eq!(turn_scoped(&all, &turn_id).len(), 9);
    // steer / interrupt after the end
    let steer = c
        .request(
            "turn/steer",
            json!({"threadId": thread_id, "expectedTurnId": turn_id, "input": []}),
            T,
        )
        .await
        .unwrap();
    assert_eq!(steer["error"]["message"], "no active turn to steer");
    let int = c
        .request(
            "turn/interrupt",
            json!({"threadId": thread_id, "turnId": turn_id}),
            T,
        )
        .await
        .unwrap();
    assert_eq!(int["error"]["message"], "no active turn to interrupt");
    let bad = c
        .request("turn/start", json!({"threadId": "nope", "input": []}), T)
        .await
        .unwrap();
    assert_eq!(bad["error"]["message"], "thread not found: nope");
    assert!(c.shutdown(T).await.unwrap().success());
}

#[tokio::test]
async fn completed_before_response() {
    let (mut c, thread_id) = start(
        &FakeScenario::new()
            .completed_before_response(true)
            .deltas(3),
    )
    .await;
    let turn_id = turn_start(&mut c, &thread_id).await;
    let early: Vec<Value> = c.backlog().iter().cloned().collect();
    let scoped = turn_scoped(&early, &turn_id);
    assert_eq!(method(&scoped[0]), "turn/started");
    assert!(
        is_turn_completed(scoped.last().unwrap(), &turn_id),
        "turn/completed came before the response"
    );
    assert_eq!(
        scoped
            .iter()
            .filter(|m| method(m) == "item/agentMessage/delta")
            .count(),
        3
    );
    assert!(c.shutdown(T).await.unwrap().success());
}

#[tokio::test]
async fn unknown_notifications() {
    let (mut c, thread_id) = start(&FakeScenario::new().unknown_notifications(true)).await;
    let turn_id = turn_start(&mut c, &thread_id).await;
    let all = until_completed(&mut c, &turn_id).await;
    let with = all
        .iter()
        .find(|m| method(m) == "fake/unknownTurnEvent")
        .expect("unknown with turnId");
    assert_eq!(with["params"]["turnId"], turn_id.as_str());
    let without = all
        .iter()
        .find(|m| method(m) == "fake/unknownGlobalEvent")
        .expect("unknown without turnId");
    assert!(without["params"].get("turnId").is_none());
    assert!(c.shutdown(T).await.unwrap().success());
}

#[tokio::test]
async fn unknown_server_request_reply_is_recorded() {
    let (mut c, thread_id) = start(&FakeScenario::new().unknown_server_request(true)).await;
    let turn_id = turn_start(&mut c, &thread_id).await;
    let req = c
        .wait_for(T, |m| m.get("id").is_some() && m.get("method").is_some())
        .await
        .unwrap();
    assert_eq!(method(&req), "fake/unknownRequest");
    assert_eq!(req["id"], 0);
    assert_eq!(req["params"]["turnId"], turn_id.as_str());
    c.send(&json!({"id": 0, "result": {"answer": 42}}))
        .await
        .unwrap();
    let replies = c
        .wait_notification("fake/serverRequestReplies", T)
        .await
        .unwrap();
    assert_eq!(replies["params"]["turnId"], turn_id.as_str());
    assert_eq!(
        replies["params"]["replies"],
        json!([{"method": "fake/unknownRequest", "reply": {"id": 0, "result": {"answer": 42}}}])
    );
    let all = until_completed(&mut c, &turn_id).await;
    assert!(all.iter().any(|m| method(m) == "item/agentMessage/delta"));
    assert!(c.shutdown(T).await.unwrap().success());
}

#[tokio::test]
async fn all_server_request_kinds() {
    let (mut c, thread_id) = start(&FakeScenario::new().all_server_requests()).await;
    let turn_id = turn_start(&mut c, &thread_id).await;
    let mut seen = Vec::new();
    for (n, expected) in ALL_SERVER_REQUESTS.iter().enumerate() {
        let req = c
            .wait_for(T, |m| m.get("id").is_some() && m.get("method").is_some())
            .await
            .unwrap();
        assert_eq!(method(&req), *expected);
        assert_eq!(req["id"], n);
        seen.push(method(&req).to_owned());
        c.send(&json!({"id": req["id"], "result": {"decision": "accept", "n": n}}))
            .await
            .unwrap();
        let resolved = c
            .wait_notification("serverRequest/resolved", T)
            .await
            .unwrap();
        assert_eq!(resolved["params"]["requestId"], n);
    }
    let replies = c
        .wait_notification("fake/serverRequestReplies", T)
        .await
        .unwrap();
    let replies = replies["params"]["replies"].as_array().unwrap().clone();
    assert_eq!(replies.len(), 10);
    for (n, r) in replies.iter().enumerate() {
        assert_eq!(r["method"], ALL_SERVER_REQUESTS[n]);
        assert_eq!(r["reply"]["result"]["n"], n);
    }
    until_completed(&mut c, &turn_id).await;
    assert!(c.shutdown(T).await.unwrap().success());
}

#[tokio::test]
async fn error_replies() {
    let sc = FakeScenario::new()
        .error_for(
            "thread/list",
            -32001,
            fake_server::RUNTIME_OVERLOAD_MESSAGE,
            None,
        )
        .error_for(
            "model/list",
            -32001,
            "busy",
            Some(json!({"codex_error_info": "server_overloaded"})),
        )
        .error_for_times("account/read", -32050, "too many failed attempts", None, 1);
    let (mut c, _) = start(&sc).await;
    let r = c.request("thread/list", json!({}), T).await.unwrap();
    assert_eq!(
        r["error"],
        json!({"code": -32001, "message": "Server overloaded; retry later."})
    );
    let r = c.request("model/list", json!({}), T).await.unwrap();
    assert_eq!(
        r["error"]["data"],
        json!({"codex_error_info": "server_overloaded"})
    );
    let r = c.request("account/read", json!({}), T).await.unwrap();
    assert_eq!(
        r["error"],
        json!({"code": -32050, "message": "too many failed attempts"})
    );
    let r = c.request("account/read", json!({}), T).await.unwrap();
    assert_eq!(
        r["result"]["requiresOpenaiAuth"], false,
        "times: 1 fails only the first call"
    );
    assert!(c.shutdown(T).await.unwrap().success());
}

#[tokio::test]
async fn junk_line_before_response() {
    let (mut c, thread_id) = start(&FakeScenario::new().junk_line(true)).await;
    c.send(
        &json!({"id": 99, "method": "turn/start", "params": {"threadId": thread_id, "input": []}}),
    )
    .await
    .unwrap();
    let mut lines = Vec::new();
    loop {
        let line = c.next_line(T).await.unwrap();
        let is_response = serde_json::from_str::<Value>(&line).is_ok_and(|v| v["id"] == 99);
        lines.push(line);
        if is_response {
            break;
        }
    }
    let junk = lines
        .iter()
        .position(|l| serde_json::from_str::<Value>(l).is_err())
        .expect("a junk line");
    assert_eq!(
        junk,
        lines.len() - 2,
        "the junk line comes right before the response: {lines:?}"
    );
    assert!(c.shutdown(T).await.unwrap().success());
}

#[tokio::test]
async fn never_answered_method() {
    let (mut c, _) = start(&FakeScenario::new().never_answer(["thread/list"])).await;
    let err = c
        .request("thread/list", json!({}), Duration::from_millis(300))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    ok(&mut c, "model/list", json!({})).await;
    assert!(c.shutdown(T).await.unwrap().success());
}

#[tokio::test]
async fn exit_mid_turn_with_stderr_and_code() {
    let sc = FakeScenario::new()
        .deltas(100)
        .exit_mid_turn(5, 3, "boom: fatal");
    let mut child = Command::new(bin())
        .args(["app-server", "--listen", "stdio://"])
        .envs(sc.env())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input = [
        json!({"id": 1, "method": "initialize", "params": {"clientInfo": {"name": "t", "version": "1"}}}),
        json!({"method": "initialized"}),
        json!({"id": 2, "method": "thread/resume", "params": {"threadId": "thread-exit"}}),
        json!({"id": 3, "method": "turn/start", "params": {"threadId": "thread-exit", "input": []}}),
    ];
    let mut stdin = child.stdin.take().unwrap();
    for m in input {
        writeln!(stdin, "{m}").unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("boom: fatal"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.contains("item/agentMessage/delta"))
            .count(),
        5
    );
    assert!(!stdout.contains("turn/completed"));
}

#[tokio::test]
async fn failed_turn() {
    let error = json!({"message": "model exploded", "codexErrorInfo": "serverOverloaded", "additionalDetails": null});
    let (mut c, thread_id) = start(&FakeScenario::new().deltas(1).fail_turn(error.clone())).await;
    let turn_id = turn_start(&mut c, &thread_id).await;
    let all = until_completed(&mut c, &turn_id).await;
    let err = all
        .iter()
        .find(|m| method(m) == "error")
        .expect("error notification");
    assert_eq!(err["params"]["error"], error);
    assert_eq!(err["params"]["willRetry"], false);
    assert_eq!(err["params"]["turnId"], turn_id.as_str());
    let done = all.last().unwrap();
    assert_eq!(done["params"]["turn"]["status"], "failed");
    assert_eq!(done["params"]["turn"]["error"], error);
    assert!(
        all.iter()
            .all(|m| !(method(m) == "item/completed"
                && m["params"]["item"]["type"] == "agentMessage"))
    );
    assert!(c.shutdown(T).await.unwrap().success());
}

#[tokio::test]
async fn per_turn_overrides() {
    let sc = FakeScenario::new().deltas(1).turns([
        FakeScenario::new().fail_turn(json!(true)),
        FakeScenario::new().deltas(2),
    ]);
    let (mut c, thread_id) = start(&sc).await;
    let t1 = turn_start(&mut c, &thread_id).await;
    let first = until_completed(&mut c, &t1).await;
    assert_eq!(first.last().unwrap()["params"]["turn"]["status"], "failed");
    let t2 = turn_start(&mut c, &thread_id).await;
    let second = until_completed(&mut c, &t2).await;
    assert_eq!(
        second
            .iter()
            .filter(|m| method(m) == "item/agentMessage/delta")
            .count(),
        2
    );
    let t3 = turn_start(&mut c, &thread_id).await;
    let third = until_completed(&mut c, &t3).await;
    assert_eq!(
        third
            .iter()
            .filter(|m| method(m) == "item/agentMessage/delta")
            .count(),
        1
    );
    assert!(c.shutdown(T).await.unwrap().success());
}

#[tokio::test]
async fn slow_deltas_steer_and_interrupt() {
    let (mut c, thread_id) = start(&FakeScenario::new().deltas(1000).slow_deltas_ms(20)).await;
    let turn_id = turn_start(&mut c, &thread_id).await;
    c.wait_notification("item/agentMessage/delta", T)
        .await
        .unwrap();
    let wrong = c
        .request(
            "turn/steer",
            json!({"threadId": thread_id, "expectedTurnId": "wrong", "input": []}),
            T,
        )
        .await
        .unwrap();
    assert_eq!(
        wrong["error"]["message"],
        format!("expected active turn id `wrong` but found `{turn_id}`")
    );
    let steer = ok(
        &mut c,
        "turn/steer",
        json!({"threadId": thread_id, "expectedTurnId": turn_id, "input": text_input("steer: more")}),
    )
    .await;
    assert_eq!(steer, json!({"turnId": turn_id}));
    let steered = c
        .wait_for(T, |m| {
            method(m) == "item/completed"
                && m["params"]["item"]["content"][0]["text"] == "steer: more"
        })
        .await
        .unwrap();
    assert_eq!(steered["params"]["turnId"], turn_id.as_str());
    // A second turn/start joins the active turn.
    let joined = turn_start(&mut c, &thread_id).await;
    assert_eq!(joined, turn_id);
    let t0 = Instant::now();
    assert_eq!(
        ok(
            &mut c,
            "turn/interrupt",
            json!({"threadId": thread_id, "turnId": turn_id})
        )
        .await,
        json!({})
    );
    let all = until_completed(&mut c, &turn_id).await;
    assert!(t0.elapsed() < Duration::from_secs(2));
    assert_eq!(
        all.last().unwrap()["params"]["turn"]["status"],
        "interrupted"
    );
    assert!(
        all.iter()
            .filter(|m| method(m) == "item/agentMessage/delta")
            .count()
            < 100
    );
    assert!(c.shutdown(T).await.unwrap().success());
}

#[tokio::test]
async fn accounts_and_logins() {
    let (mut c, _) = start(&FakeScenario::new().login_outcome("pending")).await;
    let r = ok(
        &mut c,
        "account/login/start",
        json!({"type": "apiKey", "apiKey": "sk-x"}),
    )
    .await;
    assert_eq!(r, json!({"type": "apiKey"}));
    let done = c
        .wait_notification("account/login/completed", T)
        .await
        .unwrap();
    assert_eq!(done["params"]["loginId"], Value::Null);
    assert_eq!(done["params"]["success"], true);
    assert_eq!(
        ok(&mut c, "account/read", json!({})).await["account"],
        json!({"type": "apiKey"})
    );
    let r = ok(&mut c, "account/login/start", json!({"type": "chatgpt"})).await;
    let login_id = r["loginId"].as_str().unwrap().to_owned();
    assert!(r["authUrl"].as_str().unwrap().starts_with("https://"));
    assert_eq!(
        ok(&mut c, "account/login/cancel", json!({"loginId": login_id})).await,
        json!({"status": "canceled"})
    );
    let done = c
        .wait_notification("account/login/completed", T)
        .await
        .unwrap();
    assert_eq!(done["params"]["loginId"], login_id.as_str());
    assert_eq!(done["params"]["success"], false);
    assert_eq!(
        ok(&mut c, "account/login/cancel", json!({"loginId": login_id})).await,
        json!({"status": "notFound"})
    );
    let r = ok(
        &mut c,
        "account/login/start",
        json!({"type": "chatgptDeviceCode"}),
    )
    .await;
    assert!(
        r["verificationUrl"].is_string() && r["userCode"].is_string() && r["loginId"].is_string()
    );
    assert_eq!(ok(&mut c, "account/logout", json!({})).await, json!({}));
    assert!(c.shutdown(T).await.unwrap().success());
}

#[tokio::test]
async fn echo_requests_version_and_early_login() {
    let sc = FakeScenario::new()
        .echo_requests(true)
        .version("0.170.1")
        .login_outcome("success_before_response");
    let mut c = spawn(&sc);
    let init = c.initialize(T).await.unwrap();
    assert!(init["result"]["userAgent"]
        .as_str()
        .unwrap()
        .starts_with("codex_fake/0.170.1 "));
    let echo = c.wait_notification("fake/request", T).await.unwrap();
    assert_eq!(echo["params"]["method"], "initialize");
    assert_eq!(echo["params"]["params"]["clientInfo"]["name"], "testkit");
    let r = ok(&mut c, "account/login/start", json!({"type": "chatgpt"})).await;
    let early = c
        .backlog()
        .iter()
        .find(|m| method(m) == "account/login/completed")
        .cloned()
        .expect("completion before the response");
    assert_eq!(early["params"]["loginId"], r["loginId"]);
    assert_eq!(early["params"]["success"], true);
    assert!(c.shutdown(T).await.unwrap().success());
}

#[test]
fn builder_and_bin_lookup() {
    let sc = FakeScenario::new()
        .deltas(200_000)
        .completed_before_response(true)
        .error_for(
            "turn/start",
            -32001,
            fake_server::RUNTIME_OVERLOAD_MESSAGE,
            None,
        )
        .server_requests(["item/tool/call"])
        .exit_mid_turn(3, 4, "bye");
    let v = sc.to_value();
    assert_eq!(v["deltas"], 200_000);
    assert_eq!(v["error_for"]["turn/start"]["code"], -32001);
    fake_server::validate_scenario(&v).unwrap();
    assert!(fake_server::validate_scenario(&json!({"deltaz": 1})).is_err());
    assert!(fake_server::validate_scenario(&json!({"server_requests": "some"})).is_err());
    assert_eq!(
        fake_server::fake_env(&sc),
        vec![("CODEX_FAKE_SCENARIO".to_owned(), sc.to_json())]
    );
    let found = fake_server::fake_app_server_bin();
    assert_eq!(
        found.canonicalize().unwrap(),
        PathBuf::from(env!("CARGO_BIN_EXE_codex-fake-app-server"))
            .canonicalize()
            .unwrap()
    );
}

#[test]
fn scenario_file_and_bad_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scenario.json");
    std::fs::write(&path, r#"{"version": "9.8.7", "deltas": 1}"#).unwrap();
    let out = Command::new(bin())
        .arg("--version")
        .env("CODEX_FAKE_SCRIPT", &path)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "codex-cli 9.8.7\n");
    let out = Command::new(bin())
        .args(["app-server", "--listen", "stdio://"])
        .env("CODEX_FAKE_SCENARIO", r#"{"nope": true}"#)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope"));
}

// ------------------------------------------------------------------------------ schema

struct Schemas {
    dir: PathBuf,
    cache: HashMap<String, jsonschema::Validator>,
}

impl Schemas {
    fn new() -> Self {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../openai-codex-protocol/schema");
        Self {
            dir,
            cache: HashMap::new(),
        }
    }

    fn check(&mut self, file: &str, instance: &Value) {
        let errors = self.errors(file, instance);
        assert!(errors.is_empty(), "{file} rejects {instance}: {errors:?}");
    }

    fn errors(&mut self, file: &str, instance: &Value) -> Vec<String> {
        let dir = self.dir.clone();
        let validator = self.cache.entry(file.to_owned()).or_insert_with(|| {
            let text =
                std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
            let schema: Value = serde_json::from_str(&text).unwrap();
            jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{file}: {e}"))
        });
        validator
            .iter_errors(instance)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect()
    }
}

fn response_schema(method: &str) -> &'static str {
    match method {
        "initialize" => "v1/InitializeResponse.json",
        "thread/start" => "v2/ThreadStartResponse.json",
        "thread/resume" => "v2/ThreadResumeResponse.json",
        "thread/fork" => "v2/ThreadForkResponse.json",
        "thread/read" => "v2/ThreadReadResponse.json",
        "thread/list" => "v2/ThreadListResponse.json",
        "thread/archive" => "v2/ThreadArchiveResponse.json",
        "thread/unarchive" => "v2/ThreadUnarchiveResponse.json",
        "thread/name/set" => "v2/ThreadSetNameResponse.json",
        "thread/compact/start" => "v2/ThreadCompactStartResponse.json",
        "model/list" => "v2/ModelListResponse.json",
        "account/read" => "v2/GetAccountResponse.json",
        "account/login/start" => "v2/LoginAccountResponse.json",
        "account/login/cancel" => "v2/CancelLoginAccountResponse.json",
        "account/logout" => "v2/LogoutAccountResponse.json",
        "turn/start" => "v2/TurnStartResponse.json",
        "turn/steer" => "v2/TurnSteerResponse.json",
        "turn/interrupt" => "v2/TurnInterruptResponse.json",
        other => panic!("no response schema for {other}"),
    }
}

/// Drives one session through every method and message kind, validating as it goes.
struct Checked {
    c: RawClient,
    schemas: Schemas,
    methods: HashSet<String>,
}

impl Checked {
    async fn call(&mut self, method: &str, params: Value) -> Value {
        let r = self.c.request(method, params, T).await.unwrap();
        assert!(r.get("error").is_none(), "{method}: {r}");
        self.schemas.check(response_schema(method), &r["result"]);
        self.methods.insert(format!("response {method}"));
        r["result"].clone()
    }

    fn check_message(&mut self, m: &Value) {
        let name = method(m);
        if name.starts_with("fake/") {
            return;
        }
        if m.get("id").is_some() {
            self.schemas.check("ServerRequest.json", m);
            self.methods.insert(format!("request {name}"));
        } else {
            self.schemas.check("ServerNotification.json", m);
            self.methods.insert(format!("notification {name}"));
        }
    }

    /// Validates the backlog and answers server requests until `turn/completed` of `turn_id`.
    async fn finish_turn(&mut self, turn_id: &str) {
        loop {
            let m = self.c.next_message(T).await.unwrap();
            self.check_message(&m);
            if m.get("id").is_some() && m.get("method").is_some() {
                self.c
                    .send(&json!({"id": m["id"], "result": {}}))
                    .await
                    .unwrap();
            }
            if is_turn_completed(&m, turn_id) {
                return;
            }
        }
    }

    async fn drain(&mut self) {
        while let Ok(m) = self.c.next_message(Duration::from_millis(200)).await {
            self.check_message(&m);
        }
    }
}

#[tokio::test]
async fn every_message_validates_against_the_schema() {
    let sc = FakeScenario::new().deltas(2).turns([
        FakeScenario::new()
            .all_server_requests()
            .unknown_notifications(true)
            .unknown_server_request(true),
        FakeScenario::new().fail_turn(json!(true)),
        FakeScenario::new().slow_deltas_ms(50).deltas(100),
        FakeScenario::new()
            .completed_before_response(true)
            .stamp_deltas(true),
    ]);
    let c = spawn(&sc);
    let mut k = Checked {
        c,
        schemas: Schemas::new(),
        methods: HashSet::new(),
    };
    // The validators do reject bad shapes.
    let bad = json!({"turn": {"id": "x", "items": []}});
    assert!(!k
        .schemas
        .errors("v2/TurnStartResponse.json", &bad)
        .is_empty());
    let bad = json!({"method": "turn/completed", "params": {"threadId": "t"}});
    assert!(!k.schemas.errors("ServerNotification.json", &bad).is_empty());
    let init = k.c.initialize(T).await.unwrap();
    k.schemas
        .check(response_schema("initialize"), &init["result"]);
    let thread = k
        .call(
            "thread/start",
            json!({"cwd": "/tmp", "sandbox": "workspace-write", "approvalPolicy": "never"}),
        )
        .await;
    let tid = thread["thread"]["id"].as_str().unwrap().to_owned();
    for sandbox in ["read-only", "danger-full-access"] {
        k.call(
            "thread/start",
            json!({"sandbox": sandbox, "approvalsReviewer": "auto_review", "ephemeral": true}),
        )
        .await;
    }
    // turn 0: every server request, unknown notifications
    let t = k
        .call(
            "turn/start",
            json!({"threadId": tid, "input": text_input("hi")}),
        )
        .await;
    k.finish_turn(t["turn"]["id"].as_str().unwrap()).await;
    // turn 1: failed
    let t = k
        .call(
            "turn/start",
            json!({"threadId": tid, "input": text_input("fail")}),
        )
        .await;
    k.finish_turn(t["turn"]["id"].as_str().unwrap()).await;
    // turn 2: steer + join + interrupt
    let t = k
        .call("turn/start", json!({"threadId": tid, "input": []}))
        .await;
    let turn_id = t["turn"]["id"].as_str().unwrap().to_owned();
    k.call(
        "turn/steer",
        json!({"threadId": tid, "expectedTurnId": turn_id, "input": text_input("s")}),
    )
    .await;
    k.call(
        "turn/start",
        json!({"threadId": tid, "input": text_input("join")}),
    )
    .await;
    k.call(
        "thread/read",
        json!({"threadId": tid, "includeTurns": false}),
    )
    .await;
    k.call(
        "turn/interrupt",
        json!({"threadId": tid, "turnId": turn_id}),
    )
    .await;
    k.finish_turn(&turn_id).await;
    // turn 3: completed before the response, stamped deltas
    let t = k
        .call(
            "turn/start",
            json!({"threadId": tid, "input": text_input("early")}),
        )
        .await;
    k.finish_turn(t["turn"]["id"].as_str().unwrap()).await;
    // thread management
    k.call(
        "thread/read",
        json!({"threadId": tid, "includeTurns": true}),
    )
    .await;
    k.call("thread/list", json!({})).await;
    k.call(
        "thread/name/set",
        json!({"threadId": tid, "name": "My Thread"}),
    )
    .await;
    k.call("thread/compact/start", json!({"threadId": tid}))
        .await;
    let fork = k.call("thread/fork", json!({"threadId": tid})).await;
    assert_eq!(fork["thread"]["forkedFromId"], tid.as_str());
    k.call("thread/resume", json!({"threadId": tid})).await;
    let fork_id = fork["thread"]["id"].as_str().unwrap().to_owned();
    k.call("thread/archive", json!({"threadId": fork_id})).await;
    k.call("thread/list", json!({"archived": true})).await;
    k.call("thread/unarchive", json!({"threadId": fork_id}))
        .await;
    // models and accounts
    k.call("model/list", json!({"includeHidden": false})).await;
    k.call("account/read", json!({"refreshToken": false})).await;
    k.call(
        "account/login/start",
        json!({"type": "apiKey", "apiKey": "sk-x"}),
    )
    .await;
    k.call("account/read", json!({})).await;
    let login = k
        .call("account/login/start", json!({"type": "chatgpt"}))
        .await;
    k.call("account/login/cancel", json!({"loginId": login["loginId"]}))
        .await;
    k.call("account/login/start", json!({"type": "chatgptDeviceCode"}))
        .await;
    k.call("account/logout", json!({})).await;
    k.drain().await;

    for expected in [
        "notification thread/started",
        "notification turn/started",
        "notification item/started",
        "notification item/completed",
        "notification item/agentMessage/delta",
        "notification thread/tokenUsage/updated",
        "notification thread/status/changed",
        "notification turn/completed",
        "notification error",
        "notification serverRequest/resolved",
        "notification thread/name/updated",
        "notification thread/archived",
        "notification thread/unarchived",
        "notification account/login/completed",
        "notification account/updated",
    ] {
        assert!(k.methods.contains(expected), "{expected} was not seen");
    }
    for r in ALL_SERVER_REQUESTS {
        assert!(
            k.methods.contains(&format!("request {r}")),
            "{r} was not sent"
        );
    }
    assert!(k.c.shutdown(T).await.unwrap().success());
}
