//! Faults the real runtime cannot be made to produce on demand, played by the fake app-server.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use openai_codex::types::{ServerNotification, ServerRequest, TurnStatus};
use openai_codex::{
    retry_on_overload, AsyncCodex, CodexConfig, Error, ErrorKind, GlobalEvent, OverflowPolicy,
    RetryOptions, ThreadListOptions, ThreadStartOptions, TurnEvent, TurnOptions,
};
use openai_codex_testkit::fake_server::{
    fake_app_server_bin, FakeScenario, RUNTIME_OVERLOAD_MESSAGE,
};
use serde_json::json;

fn config(scenario: &FakeScenario) -> CodexConfig {
    let mut config = CodexConfig::default()
        .codex_bin(fake_app_server_bin())
        .request_timeout(Duration::from_secs(10));
    for (key, value) in scenario.env() {
        config = config.env(key, value);
    }
    config
}

async fn client(scenario: FakeScenario) -> AsyncCodex {
    AsyncCodex::new(config(&scenario)).await.unwrap()
}

#[tokio::test]
async fn a_crash_mid_turn_fails_every_waiter_promptly_with_the_stderr_tail() {
    let codex = client(
        FakeScenario::new()
            .deltas(50)
            .slow_deltas_ms(20)
            .exit_mid_turn(5, 3, "boom: fatal error in core"),
    )
    .await;
    let thread_a = codex
        .thread_start(ThreadStartOptions::default())
        .await
        .unwrap();
    let turn = thread_a.turn("hi", TurnOptions::default()).await.unwrap();
    let mut stream = turn.stream();
    let mut got_error = None;
    while let Some(event) = stream.next().await {
        if let Err(e) = event {
            got_error = Some((e, Instant::now()));
            break;
        }
    }
    let (err, at) = got_error.expect("the stream fails instead of ending quietly");
    let Error::TransportClosed(reason) = &err else {
        panic!("{err}")
    };
    assert!(
        reason
            .stderr_tail
            .iter()
            .any(|l| l.contains("boom: fatal error in core")),
        "{reason:?}"
    );
    assert!(
        reason.exit_status.as_deref().unwrap_or("").contains('3'),
        "{reason:?}"
    );
    // Every later call fails at once with the same cause.
    let asked = Instant::now();
    let later = codex
        .thread_list(ThreadListOptions::default())
        .await
        .unwrap_err();
    assert!(later.is_transport_closed(), "{later}");
    assert!(
        asked.elapsed() < Duration::from_millis(100),
        "later calls fail at once"
    );
    assert!(at.elapsed() < Duration::from_secs(5));
    assert!(
        later.to_string().contains("boom: fatal error in core"),
        "{later}"
    );
    drop(stream);
    let err = turn.run().await.unwrap_err();
    assert!(err.is_transport_closed(), "{err}");
    codex.close().await;
}

#[tokio::test]
async fn a_crash_fails_pending_requests_within_100ms() {
    let codex = client(
        FakeScenario::new()
            .deltas(1000)
            .slow_deltas_ms(5)
            .exit_mid_turn(3, 9, "panic in runtime")
            .never_answer(["thread/list"]),
    )
    .await;
    let thread = codex
        .thread_start(ThreadStartOptions::default())
        .await
        .unwrap();
    let pending = {
        let codex = codex.clone();
        tokio::spawn(async move {
            let result = codex.thread_list(ThreadListOptions::default()).await;
            (result, Instant::now())
        })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    let turn = thread.turn("go", TurnOptions::default()).await.unwrap();
    let mut stream = turn.stream();
    let mut failed_at = None;
    while let Some(event) = stream.next().await {
        if event.is_err() {
            failed_at = Some(Instant::now());
        }
    }
    let failed_at = failed_at.expect("stream error");
    let (result, at) = pending.await.unwrap();
    assert!(result.unwrap_err().is_transport_closed());
    let gap = at.max(failed_at) - at.min(failed_at);
    assert!(
        gap < Duration::from_millis(100),
        "waiters failed {gap:?} apart"
    );
}

#[tokio::test]
async fn turn_completed_before_the_turn_start_response_is_not_lost() {
    let codex = client(
        FakeScenario::new()
            .deltas(4)
            .completed_before_response(true),
    )
    .await;
    let thread = codex
        .thread_start(ThreadStartOptions::default())
        .await
        .unwrap();
    let turn = thread.turn("early", TurnOptions::default()).await.unwrap();
    let events: Vec<_> =
        tokio::time::timeout(Duration::from_secs(5), turn.stream().collect::<Vec<_>>())
            .await
            .expect("the stream ends");
    let methods: Vec<String> = events
        .iter()
        .filter_map(|e| {
            e.as_ref()
                .ok()
                .and_then(TurnEvent::notification)
                .map(|n| n.method().to_string())
        })
        .collect();
    assert_eq!(methods.first().map(String::as_str), Some("turn/started"));
    assert_eq!(methods.last().map(String::as_str), Some("turn/completed"));
    assert_eq!(
        methods
            .iter()
            .filter(|m| *m == "item/agentMessage/delta")
            .count(),
        4
    );
    let result = turn.run().await.unwrap();
    assert_eq!(result.status, TurnStatus::Completed);
    codex.close().await;
}

#[tokio::test]
async fn junk_lines_are_skipped_and_unknown_notifications_are_routed() {
    let codex = client(
        FakeScenario::new()
            .junk_line(true)
            .unknown_notifications(true),
    )
    .await;
    let mut events = codex.events();
    let thread = codex
        .thread_start(ThreadStartOptions::default())
        .await
        .unwrap();
    let turn = thread.turn("x", TurnOptions::default()).await.unwrap();
    let mut unknown_in_turn = false;
    let mut stream = turn.stream();
    while let Some(event) = stream.next().await {
        if let TurnEvent::Notification(n) = event.unwrap() {
            if let ServerNotification::Unknown { method, .. } = &*n {
                assert_eq!(method, "fake/unknownTurnEvent");
                unknown_in_turn = true;
            }
        }
    }
    assert!(
        unknown_in_turn,
        "an unknown method with a turnId reaches the turn"
    );
    let mut unknown_global = false;
    while let Ok(Some(event)) =
        tokio::time::timeout(Duration::from_millis(500), events.next()).await
    {
        if let GlobalEvent::Notification(n) = event {
            if n.method() == "fake/unknownGlobalEvent" {
                unknown_global = true;
                break;
            }
        }
    }
    assert!(
        unknown_global,
        "an unknown method without a turn goes to the global stream"
    );
    assert!(codex.junk_lines() >= 1);
    assert_eq!(turn.run().await.unwrap().status, TurnStatus::Completed);
    codex.close().await;
}

#[tokio::test]
async fn a_never_answered_request_times_out_and_the_client_stays_usable() {
    let codex = client(FakeScenario::new().never_answer(["thread/list"])).await;
    let started = Instant::now();
    let err = codex
        .request_with_timeout::<openai_codex::types::requests::ThreadList>(
            Default::default(),
            Duration::from_millis(200),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
    codex
        .thread_start(ThreadStartOptions::default())
        .await
        .unwrap();
    codex.close().await;
}

#[tokio::test]
async fn unknown_server_requests_get_an_error_and_a_panicking_handler_does_not_kill_the_client() {
    let codex = client(
        FakeScenario::new()
            .server_requests(["item/tool/call"])
            .unknown_server_request(true),
    )
    .await;
    let calls = Arc::new(AtomicUsize::new(0));
    let calls2 = Arc::clone(&calls);
    codex.set_server_request_handler(move |request: ServerRequest| {
        calls2.fetch_add(1, Ordering::SeqCst);
        let method = request.method().to_string();
        async move {
            if method == "item/tool/call" {
                panic!("handler bug");
            }
            openai_codex::handler::decline_reply(&method)
        }
    });
    let thread = codex
        .thread_start(ThreadStartOptions::default())
        .await
        .unwrap();
    let turn = thread.turn("tools", TurnOptions::default()).await.unwrap();
    let mut replies = None;
    let mut stream = turn.stream();
    while let Some(event) = stream.next().await {
        if let TurnEvent::Notification(n) = event.unwrap() {
            if let ServerNotification::Unknown { method, params } = &*n {
                if method == "fake/serverRequestReplies" {
                    replies = Some(params.clone());
                }
            }
        }
    }
    drop(stream);
    let replies = replies.expect("the fake reports the replies it got");
    let replies = replies["replies"].as_array().unwrap();
    let tool = replies
        .iter()
        .find(|r| r["method"] == "item/tool/call")
        .unwrap();
    assert_eq!(tool["reply"]["error"]["code"], -32603, "{tool}");
    let unknown = replies
        .iter()
        .find(|r| r["method"] == "fake/unknownRequest");
    if let Some(unknown) = unknown {
        assert_eq!(unknown["reply"]["error"]["code"], -32601, "{unknown}");
    }
    assert!(calls.load(Ordering::SeqCst) >= 1);
    assert_eq!(turn.run().await.unwrap().status, TurnStatus::Completed);
    codex.close().await;
}

#[tokio::test]
async fn overload_errors_map_to_server_busy_and_retry_on_overload_recovers() {
    let scenario = FakeScenario::new()
        .error_for_times(
            "thread/list",
            -32001,
            RUNTIME_OVERLOAD_MESSAGE,
            Some(json!({"codexErrorInfo": "serverOverloaded"})),
            2,
        )
        .error_for(
            "model/list",
            -32001,
            "busy",
            Some(json!({"codex_error_info": "server_overloaded"})),
        );
    let codex = client(scenario).await;
    let err = codex
        .thread_list(ThreadListOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), Some(ErrorKind::ServerBusy));
    assert!(err.is_retryable());
    let attempts = AtomicUsize::new(0);
    let fast = RetryOptions {
        initial_delay: Duration::from_millis(10),
        ..RetryOptions::default()
    };
    retry_on_overload(
        || {
            attempts.fetch_add(1, Ordering::SeqCst);
            codex.thread_list(ThreadListOptions::default())
        },
        fast,
    )
    .await
    .unwrap();
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        2,
        "one overloaded answer left, then success"
    );
    let err = codex.models(false).await.unwrap_err();
    assert_eq!(
        err.kind(),
        Some(ErrorKind::ServerBusy),
        "snake_case marker too"
    );
    codex.close().await;
}

#[tokio::test]
async fn sixty_four_concurrent_turns_are_never_misrouted() {
    let codex = client(
        FakeScenario::new()
            .deltas(200)
            .concurrent(true)
            .delta_text("x"),
    )
    .await;
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let codex = codex.clone();
        tasks.push(tokio::spawn(async move {
            let thread = codex
                .thread_start(ThreadStartOptions::default())
                .await
                .unwrap();
            let turn = thread.turn("go", TurnOptions::default()).await.unwrap();
            let mut deltas = 0;
            let mut stream = turn.stream();
            while let Some(event) = stream.next().await {
                if let TurnEvent::Notification(n) = event.unwrap() {
                    match &*n {
                        ServerNotification::ItemAgentMessageDelta(d) => {
                            assert_eq!(d.turn_id, turn.id());
                            assert_eq!(d.thread_id, thread.id());
                            deltas += 1;
                        }
                        ServerNotification::TurnCompleted(c) => assert_eq!(c.turn.id, turn.id()),
                        _ => {}
                    }
                }
            }
            deltas
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), 200);
    }
    codex.close().await;
}

#[tokio::test]
async fn a_slow_consumer_gets_a_lag_marker_but_every_essential_event() {
    let scenario = FakeScenario::new().deltas(5000).delta_text("d");
    let codex = AsyncCodex::new(
        config(&scenario)
            .stream_buffer(64)
            .overflow(OverflowPolicy::DropDeltas),
    )
    .await
    .unwrap();
    let thread = codex
        .thread_start(ThreadStartOptions::default())
        .await
        .unwrap();
    let turn = thread.turn("flood", TurnOptions::default()).await.unwrap();
    // Let the whole turn arrive before reading anything.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut deltas = 0u64;
    let mut dropped = 0u64;
    let mut stream = turn.stream();
    while let Some(event) = stream.next().await {
        match event.unwrap() {
            TurnEvent::Notification(n) if n.method() == "item/agentMessage/delta" => deltas += 1,
            TurnEvent::Lagged { dropped: d } => dropped += d,
            _ => {}
        }
    }
    drop(stream);
    assert_eq!(
        deltas + dropped,
        5000,
        "every delta is either delivered or counted as dropped"
    );
    assert!(
        dropped > 0 && deltas <= 64,
        "deltas={deltas} dropped={dropped}"
    );
    let result = turn.run().await.unwrap();
    // The completed agent message still carries the full text: items are never dropped.
    assert_eq!(result.final_response.map(|t| t.len()), Some(5000));
    codex.close().await;
}

// ---------------------------------------------------------------- overload, as the runtime says it

/// The runtime's overload answer: code -32001, its exact message, no `data`.
fn runtime_overloads(method: &str, times: u64) -> FakeScenario {
    FakeScenario::new().error_for_times(method, -32001, RUNTIME_OVERLOAD_MESSAGE, None, times)
}

fn fast_retries() -> RetryOptions {
    RetryOptions {
        initial_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(20),
        ..RetryOptions::default()
    }
}

#[tokio::test]
async fn the_runtimes_overload_answer_is_server_busy_and_retry_on_overload_recovers() {
    let codex = client(runtime_overloads("thread/list", 2)).await;
    let err = codex
        .thread_list(ThreadListOptions::default())
        .await
        .unwrap_err();
    let rpc = err.rpc_error().expect("a JSON-RPC error");
    assert_eq!(
        (rpc.code.0, rpc.message.as_str(), &rpc.data),
        (-32001, "Server overloaded; retry later.", &None)
    );
    assert_eq!(err.kind(), Some(ErrorKind::ServerBusy), "{err}");
    assert!(err.is_retryable(), "{err}");
    assert!(openai_codex::is_retryable_error(&err));
    let attempts = AtomicUsize::new(0);
    retry_on_overload(
        || {
            attempts.fetch_add(1, Ordering::SeqCst);
            codex.thread_list(ThreadListOptions::default())
        },
        fast_retries(),
    )
    .await
    .expect("the second overload is retried, then the call succeeds");
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
    codex.close().await;
}

#[cfg(feature = "blocking")]
#[test]
fn the_runtimes_overload_answer_is_retried_through_the_blocking_api() {
    let codex = openai_codex::Codex::new(config(&runtime_overloads("thread/list", 2))).unwrap();
    let err = codex.thread_list(ThreadListOptions::default()).unwrap_err();
    assert_eq!(err.kind(), Some(ErrorKind::ServerBusy), "{err}");
    assert!(err.is_retryable(), "{err}");
    let mut attempts = 0;
    openai_codex::blocking::retry_on_overload(
        || {
            attempts += 1;
            codex.thread_list(ThreadListOptions::default())
        },
        fast_retries(),
    )
    .expect("the second overload is retried, then the call succeeds");
    assert_eq!(attempts, 2);
    codex.close();
}

// ---------------------------------------------------------------- non-object JSON on stdout

/// A peer on the in-memory transport: answers `initialize` like the runtime and every other
/// request with `{}`; right after `initialized` it writes `lines` verbatim. Returns every message
/// the SDK wrote, once the SDK closes its end.
fn raw_peer(
    stream: std::os::unix::net::UnixStream,
    lines: Vec<String>,
) -> std::thread::JoinHandle<Vec<serde_json::Value>> {
    use std::io::{BufRead, BufReader, Write};
    std::thread::spawn(move || {
        let mut out = stream.try_clone().unwrap();
        let mut seen = Vec::new();
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            let message: serde_json::Value = serde_json::from_str(&line).unwrap();
            let reply = match message["method"].as_str() {
                Some("initialize") => Some(json!({"id": message["id"], "result": {
                    "userAgent": "codex_fake/0.163.0 (Linux; x86_64) fake (t; 0)",
                    "codexHome": "codex-home", "platformFamily": "unix", "platformOs": "linux"}})),
                Some("initialized") => {
                    for line in &lines {
                        let _ = out.write_all(line.as_bytes());
                        let _ = out.write_all(b"\n");
                    }
                    None
                }
                Some(_) if message.get("id").is_some() => {
                    Some(json!({"id": message["id"], "result": {}}))
                }
                _ => None,
            };
            if let Some(reply) = reply {
                let _ = writeln!(out, "{reply}");
            }
            seen.push(message);
        }
        seen
    })
}

/// JSON texts that parse but are no JSON-RPC message: only an object can be one.
fn non_object_lines() -> Vec<String> {
    [
        r#"["not","a","jsonrpc","message"]"#,
        r#"[{"id":7,"method":"item/tool/call","params":{}}]"#,
        r#""item/tool/call""#,
        "42",
        "null",
    ]
    .map(String::from)
    .to_vec()
}

/// The SDK's replies (messages with an id and no method) among what it wrote.
fn replies(seen: &[serde_json::Value]) -> Vec<&serde_json::Value> {
    seen.iter()
        .filter(|m| m.get("method").is_none() && m.get("id").is_some())
        .collect()
}

#[tokio::test]
async fn a_json_array_on_stdout_is_a_junk_line_never_answered() {
    let (transport, theirs) = openai_codex::transport::Transport::in_memory().unwrap();
    let peer = raw_peer(theirs, non_object_lines());
    let codex = AsyncCodex::with_transport(CodexConfig::default(), transport)
        .await
        .unwrap();
    // Two round trips: every line written before them has been read and handled.
    for _ in 0..2 {
        codex.request_raw("probe/ping", json!({})).await.unwrap();
    }
    assert_eq!(
        codex.junk_lines(),
        5,
        "each non-object line is one junk line"
    );
    codex.close().await;
    let seen = peer.join().unwrap();
    assert_eq!(
        replies(&seen),
        Vec::<&serde_json::Value>::new(),
        "nothing was a request, so nothing is answered"
    );
}

#[cfg(feature = "blocking")]
#[test]
fn a_json_array_on_stdout_is_a_junk_line_never_answered_blocking() {
    let (transport, theirs) = openai_codex::transport::Transport::in_memory().unwrap();
    let peer = raw_peer(theirs, non_object_lines());
    let codex = openai_codex::Codex::with_transport(CodexConfig::default(), transport).unwrap();
    for _ in 0..2 {
        codex.request_raw("probe/ping", json!({})).unwrap();
    }
    assert_eq!(
        codex.junk_lines(),
        5,
        "each non-object line is one junk line"
    );
    codex.close();
    let seen = peer.join().unwrap();
    assert_eq!(replies(&seen), Vec::<&serde_json::Value>::new());
}

// ---------------------------------------------------------------- the runtime's stderr

/// A config that runs `script` with `sh` in place of the runtime.
fn shell_runtime(script: &str) -> CodexConfig {
    CodexConfig::default()
        .launch_args_override(["sh", "-c", script])
        .request_timeout(Duration::from_secs(60))
}

/// The real runtime's last stderr line when its home is missing (0.163.0).
const EXIT_REASON: &str =
    r#"Error: CODEX_HOME points to "missing-codex-home", but that path does not exist"#;

fn closed_reason(result: openai_codex::Result<AsyncCodex>) -> openai_codex::error::ClosedReason {
    match result {
        Err(Error::TransportClosed(reason)) => reason,
        Err(other) => panic!("expected a closed transport, got {other}"),
        Ok(_) => panic!("the shell runtime never answers initialize"),
    }
}

#[tokio::test]
async fn progress_written_with_carriage_returns_keeps_only_a_bounded_stderr_tail() {
    // 24 MB of progress-bar output: `\r`-separated, not one newline, then the exit reason.
    let script = format!(
        "yes 'downloading model catalog 42%' | head -n 800000 | tr '\\n' '\\r' >&2; \
         echo '{EXIT_REASON}' >&2; exit 1"
    );
    let reason = closed_reason(AsyncCodex::new(shell_runtime(&script)).await);
    assert_eq!(
        reason.stderr_tail.last().map(String::as_str),
        Some(EXIT_REASON),
        "the reason is the last line of the tail"
    );
    assert!(
        reason.stderr_tail[..reason.stderr_tail.len() - 1]
            .iter()
            .all(|l| l == "downloading model catalog 42%"),
        "each `\\r`-separated progress update is a line of its own"
    );
    let kept: usize = reason.stderr_tail.iter().map(String::len).sum();
    assert!(
        kept <= 16 * 1024,
        "the tail is bounded by bytes, not by lines: {kept} bytes kept"
    );
}

#[tokio::test]
async fn the_last_stderr_line_before_exit_reaches_the_error() {
    // stdout closes first; then a large stderr, a pause, and the reason, as the process exits.
    let script = format!(
        "exec 1>&-; yes 'WARN codex_core: still shutting down' | head -n 100000 >&2; \
         sleep 0.3; echo '{EXIT_REASON}' >&2; exit 1"
    );
    let reason = closed_reason(AsyncCodex::new(shell_runtime(&script)).await);
    assert_eq!(
        reason.stderr_tail.last().map(String::as_str),
        Some(EXIT_REASON),
        "{reason}"
    );
    assert!(
        reason.exit_status.as_deref().unwrap_or("").contains('1'),
        "{reason:?}"
    );
}

// ---------------------------------------------------------------- start-up warnings

/// A real runtime whose `config.toml` has a key it does not know: it answers `initialize`, then
/// sends a `configWarning` before anyone could have subscribed to `events()`.
fn home_with_an_unknown_config_key() -> openai_codex_testkit::RuntimeHome {
    openai_codex_testkit::RuntimeHome::builder()
        .config_line("unknown_sdk_test_key = 5")
        .build()
        .unwrap()
}

fn is_unknown_key_warning(event: &GlobalEvent) -> bool {
    match event {
        GlobalEvent::Notification(n) => match &**n {
            ServerNotification::ConfigWarning(w) => w.summary.contains("unknown_sdk_test_key"),
            _ => false,
        },
        _ => false,
    }
}

#[tokio::test]
async fn start_up_config_warnings_reach_the_first_events_subscriber() {
    let home = home_with_an_unknown_config_key();
    let codex = AsyncCodex::new(home.config()).await.unwrap();
    // A round trip first: by now the warning has certainly arrived, before any subscriber.
    codex
        .thread_list(ThreadListOptions::default())
        .await
        .unwrap();
    let mut events = codex.events();
    let found = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(event) = events.next().await {
            if is_unknown_key_warning(&event) {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(found, Ok(true), "the configWarning reaches events()");
    codex.close().await;
}

#[cfg(feature = "blocking")]
#[test]
fn start_up_config_warnings_reach_the_first_events_subscriber_blocking() {
    let home = home_with_an_unknown_config_key();
    let codex = openai_codex::Codex::new(home.config()).unwrap();
    codex.thread_list(ThreadListOptions::default()).unwrap();
    let events = codex.events();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let found = events.into_iter().any(|e| is_unknown_key_warning(&e));
        let _ = tx.send(found);
    });
    let found = rx.recv_timeout(Duration::from_secs(10));
    codex.close();
    assert_eq!(found, Ok(true), "the configWarning reaches events()");
}

// ---------------------------------------------------------------- malformed and oversized replies

/// A peer on the in-memory transport that answers `initialize` like the runtime and every
/// other request with the line `answer(method, id)` gives (verbatim), `{}` when it gives none.
/// Returns every message the SDK wrote, once the SDK closes its end.
fn answering_peer(
    stream: std::os::unix::net::UnixStream,
    answer: fn(&str, &serde_json::Value) -> Vec<String>,
) -> std::thread::JoinHandle<Vec<serde_json::Value>> {
    use std::io::{BufRead, BufReader, Write};
    std::thread::spawn(move || {
        let mut out = stream.try_clone().unwrap();
        let mut seen = Vec::new();
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            let message: serde_json::Value = serde_json::from_str(&line).unwrap();
            let lines = match (message["method"].as_str(), message.get("id")) {
                (Some("initialize"), Some(id)) => vec![json!({"id": id, "result": {
                    "userAgent": "codex_fake/0.163.0 (Linux; x86_64) fake (t; 0)",
                    "codexHome": "codex-home", "platformFamily": "unix", "platformOs": "linux"}})
                .to_string()],
                (Some(method), Some(id)) => match answer(method, id) {
                    lines if lines.is_empty() => vec![json!({"id": id, "result": {}}).to_string()],
                    lines => lines,
                },
                _ => Vec::new(),
            };
            for line in lines {
                let _ = out.write_all(line.as_bytes());
                let _ = out.write_all(b"\n");
            }
            seen.push(message);
        }
        seen
    })
}

/// `probe/malformedError` is answered with an `error` member that is the runtime's overload
/// text alone, not a `{code, message}` object.
fn malformed_error(method: &str, id: &serde_json::Value) -> Vec<String> {
    match method {
        "probe/malformedError" => {
            vec![json!({"id": id, "error": RUNTIME_OVERLOAD_MESSAGE}).to_string()]
        }
        _ => Vec::new(),
    }
}

fn assert_malformed_error(error: &Error) {
    match error {
        Error::Decode { what, raw, .. } => {
            assert!(what.contains("probe/malformedError"), "{what}");
            assert!(
                raw.contains(RUNTIME_OVERLOAD_MESSAGE),
                "the raw text: {raw}"
            );
        }
        other => panic!("expected a decode error carrying the raw reply, got {other:?}"),
    }
}

#[tokio::test]
async fn a_reply_with_a_malformed_error_fails_its_request_at_once_with_the_raw_text() {
    let (transport, theirs) = openai_codex::transport::Transport::in_memory().unwrap();
    let peer = answering_peer(theirs, malformed_error);
    let config = CodexConfig::default().request_timeout(Duration::from_secs(60));
    let codex = AsyncCodex::with_transport(config, transport).await.unwrap();
    let started = Instant::now();
    let error = codex
        .request_raw("probe/malformedError", json!({}))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "failed promptly, not at the 60 s timeout: {:?}",
        started.elapsed()
    );
    assert_malformed_error(&error);
    assert_eq!(codex.junk_lines(), 1, "the malformed reply is counted");
    codex.request_raw("probe/ping", json!({})).await.unwrap();
    codex.close().await;
    peer.join().unwrap();
}

#[cfg(feature = "blocking")]
#[test]
fn a_reply_with_a_malformed_error_fails_its_request_at_once_with_the_raw_text_blocking() {
    let (transport, theirs) = openai_codex::transport::Transport::in_memory().unwrap();
    let peer = answering_peer(theirs, malformed_error);
    let config = CodexConfig::default().request_timeout(Duration::from_secs(60));
    let codex = openai_codex::Codex::with_transport(config, transport).unwrap();
    let started = Instant::now();
    let error = codex
        .request_raw("probe/malformedError", json!({}))
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_malformed_error(&error);
    assert_eq!(codex.junk_lines(), 1);
    codex.request_raw("probe/ping", json!({})).unwrap();
    codex.close();
    peer.join().unwrap();
}

/// The limit the oversized tests set, and a text well past it.
const SMALL_LIMIT: usize = 64 << 10;

/// `probe/big` is answered with a 1 MiB reply, preceded by an over-long line with no owner and
/// an over-long server request (the runtime's approval shape), and followed by a notification
/// that must still arrive.
fn oversized(method: &str, id: &serde_json::Value) -> Vec<String> {
    let big = "x".repeat(1 << 20);
    match method {
        "probe/big" => vec![
            big.clone(),
            json!({"method": "item/commandExecution/requestApproval", "id": 77, "params": {
                "threadId": "t", "turnId": "u", "itemId": "call", "command": big.clone()}})
            .to_string(),
            json!({"id": id, "result": {"text": big}}).to_string(),
            json!({"method": "warning", "params": {"message": "after the big reply"}}).to_string(),
        ],
        _ => Vec::new(),
    }
}

fn assert_too_large(error: &Error) {
    match error {
        Error::MessageTooLarge {
            method,
            size,
            limit,
        } => {
            assert_eq!(method, "probe/big");
            assert!(*size > 1 << 20, "{size}");
            assert_eq!(*limit, SMALL_LIMIT);
            assert!(error.to_string().contains("max_message_bytes"), "{error}");
        }
        other => panic!("expected MessageTooLarge, got {other:?}"),
    }
}

/// The SDK's answer to the over-long server request (id 77): an error, not a silence.
fn assert_request_refused(seen: &[serde_json::Value]) {
    let answers: Vec<_> = replies(seen)
        .into_iter()
        .filter(|m| m["id"] == 77)
        .collect();
    assert_eq!(answers.len(), 1, "{seen:?}");
    assert!(answers[0]["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("max_message_bytes")));
}

#[tokio::test]
async fn an_over_long_message_is_skipped_counted_and_fails_only_its_own_request() {
    let (transport, theirs) = openai_codex::transport::Transport::in_memory().unwrap();
    let peer = answering_peer(theirs, oversized);
    let config = CodexConfig::default()
        .request_timeout(Duration::from_secs(60))
        .max_message_bytes(SMALL_LIMIT);
    let codex = AsyncCodex::with_transport(config, transport).await.unwrap();
    let mut events = codex.events();
    let started = Instant::now();
    let error = codex.request_raw("probe/big", json!({})).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_too_large(&error);
    // Nothing else is lost: the next line arrives whole and the client goes on.
    let next = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .unwrap();
    assert!(
        matches!(&next, Some(GlobalEvent::Notification(n)) if n.method() == "warning"),
        "{next:?}"
    );
    codex.request_raw("probe/ping", json!({})).await.unwrap();
    assert_eq!(codex.oversized_messages(), 3);
    assert_eq!(codex.junk_lines(), 0);
    codex.close().await;
    assert_request_refused(&peer.join().unwrap());
}

#[cfg(feature = "blocking")]
#[test]
fn an_over_long_message_is_skipped_counted_and_fails_only_its_own_request_blocking() {
    let (transport, theirs) = openai_codex::transport::Transport::in_memory().unwrap();
    let peer = answering_peer(theirs, oversized);
    let config = CodexConfig::default()
        .request_timeout(Duration::from_secs(60))
        .max_message_bytes(SMALL_LIMIT);
    let codex = openai_codex::Codex::with_transport(config, transport).unwrap();
    let mut events = codex.events();
    let started = Instant::now();
    let error = codex.request_raw("probe/big", json!({})).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_too_large(&error);
    let next = events.next();
    assert!(
        matches!(&next, Some(GlobalEvent::Notification(n)) if n.method() == "warning"),
        "{next:?}"
    );
    codex.request_raw("probe/ping", json!({})).unwrap();
    assert_eq!(codex.oversized_messages(), 3);
    codex.close();
    assert_request_refused(&peer.join().unwrap());
}
