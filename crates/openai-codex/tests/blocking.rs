//! The blocking API end to end: the real runtime against the testkit's scripted model, driven
//! from plain OS threads (and, once, from inside a tokio runtime, where it must refuse).
#![cfg(feature = "blocking")]

use std::sync::mpsc;
use std::time::{Duration, Instant};

use openai_codex::blocking::{self, Events, TurnIter};
use openai_codex::types::{self as proto, ServerNotification, TurnStatus};
use openai_codex::{
    Codex, CodexConfig, Error, ErrorKind, GlobalEvent, RetryOptions, Thread, ThreadStartOptions,
    TurnEvent, TurnOptions,
};
use openai_codex_testkit::{AssistantMessage, ResponseScript, RuntimeHome};

fn start() -> (RuntimeHome, Codex) {
    let home = RuntimeHome::new().unwrap();
    let codex = Codex::new(home.config()).unwrap();
    (home, codex)
}

fn pid_alive(pid: u32) -> bool {
    // A reaped process has no /proc entry; a zombie would still show one.
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Drains a turn iterator: (method names in order, concatenated agent-message deltas).
fn drain(turn_id: &str, events: TurnIter) -> (Vec<String>, String) {
    let mut methods = Vec::new();
    let mut text = String::new();
    for event in events {
        let TurnEvent::Notification(n) = event.unwrap() else {
            panic!("lagged on a tiny turn")
        };
        match &*n {
            ServerNotification::ItemAgentMessageDelta(d) => {
                assert_eq!(d.turn_id, turn_id);
                text.push_str(&d.delta);
            }
            ServerNotification::ItemCompleted(c) => assert_eq!(c.turn_id, turn_id),
            ServerNotification::TurnCompleted(c) => assert_eq!(c.turn.id, turn_id),
            _ => {}
        }
        methods.push(n.method().to_string());
    }
    (methods, text)
}

#[test]
fn quickstart_runs_a_turn_and_returns_the_final_answer() {
    let (home, codex) = start();
    home.model()
        .push(ResponseScript::new().message(AssistantMessage::final_answer("Hello, blocking.")));
    assert_eq!(codex.metadata().server_name, "codex");
    assert!(!codex.is_closed());
    let thread = codex.thread_start(ThreadStartOptions::default()).unwrap();
    assert_eq!(thread.codex().runtime_pid(), codex.runtime_pid());
    let result = thread.run("Say hello", TurnOptions::default()).unwrap();
    assert_eq!(result.status, TurnStatus::Completed);
    assert_eq!(result.final_response.as_deref(), Some("Hello, blocking."));
    assert_eq!(
        home.model().turn_requests()[0].last_user_text().as_deref(),
        Some("Say hello")
    );
    assert_eq!(thread.read(false).unwrap().thread.id, thread.id());
    assert_eq!(codex.thread(thread.id()), thread);

    // A failed turn is the same typed error as in async code.
    home.model().push(ResponseScript::server_error());
    let err = thread
        .run("fail please", TurnOptions::default())
        .unwrap_err();
    let Error::TurnFailed(failed) = &err else {
        panic!("{err}")
    };
    assert_eq!(failed.result.status, TurnStatus::Failed);

    // So is a JSON-RPC error, and retry_on_overload passes it through untouched.
    let mut attempts = 0;
    let err = blocking::retry_on_overload(
        || {
            attempts += 1;
            codex.request_raw("no/suchMethod", serde_json::json!({}))
        },
        RetryOptions::default(),
    )
    .unwrap_err();
    assert_eq!(attempts, 1);
    assert!(err.kind().is_some(), "{err}");
    codex.close();
}

#[test]
fn start_up_errors_are_the_async_ones_and_leave_no_thread_behind() {
    let err = Codex::new(CodexConfig::default().codex_bin("/nonexistent/codex")).unwrap_err();
    assert!(matches!(err, Error::RuntimeNotFound { .. }), "{err}");
}

#[test]
fn stream_is_an_iterator_that_can_be_dropped_mid_turn_and_resumed() {
    let (home, codex) = start();
    home.model().push(
        ResponseScript::new()
            .message(AssistantMessage::new("a b c d e f").chunks(6))
            .delay_between(Duration::from_millis(30)),
    );
    let thread = codex.thread_start(ThreadStartOptions::default()).unwrap();
    let turn = thread
        .turn("Stream please", TurnOptions::default())
        .unwrap();

    // Take two events, drop the iterator mid-turn, and continue with a fresh one.
    let mut first = turn.stream();
    let head: Vec<String> = first
        .by_ref()
        .take(2)
        .map(|e| e.unwrap().notification().unwrap().method().to_string())
        .collect();
    drop(first);
    assert_eq!(head[0], "turn/started");
    let (rest, text) = drain(turn.id(), turn.stream());
    assert_eq!(rest.last().map(String::as_str), Some("turn/completed"));
    assert_eq!(
        head.iter()
            .chain(&rest)
            .filter(|m| *m == "turn/started")
            .count(),
        1,
        "no event is seen twice"
    );
    assert!(text.ends_with("f"), "{text}");

    // run() after the iterator finished returns the collected result, twice; a finished turn's
    // iterator is empty.
    let result = turn.run().unwrap();
    assert_eq!(result, turn.run().unwrap());
    assert_eq!(result.final_response.as_deref(), Some("a b c d e f"));
    assert_eq!(turn.result(), Some(result));
    assert_eq!(turn.stream().count(), 0);

    // A whole turn through the iterator: every event in order.
    home.model()
        .push(ResponseScript::new().message(AssistantMessage::new("x y z").chunks(3)));
    let turn = thread.turn("again", TurnOptions::default()).unwrap();
    let (methods, text) = drain(turn.id(), turn.stream());
    assert_eq!(methods.first().map(String::as_str), Some("turn/started"));
    assert_eq!(methods.last().map(String::as_str), Some("turn/completed"));
    assert_eq!(text, "x y z");
    codex.close();
}

#[test]
fn steer_and_interrupt_on_a_slow_stream() {
    let (home, codex) = start();
    let slow = || {
        ResponseScript::new()
            .message(AssistantMessage::new("one two three four five six").chunks(6))
            .delay_between(Duration::from_millis(150))
    };
    home.model().push(slow());
    home.model().push(ResponseScript::text("steered answer"));
    home.model().push(slow());
    let thread = codex.thread_start(ThreadStartOptions::default()).unwrap();

    let turn = thread.turn("slow one", TurnOptions::default()).unwrap();
    home.model()
        .wait_for_requests(1, Duration::from_secs(20))
        .unwrap();
    let steered = turn.steer("also consider this").unwrap();
    assert_eq!(steered.turn_id, turn.id());
    let result = turn.run().unwrap();
    assert_eq!(result.status, TurnStatus::Completed);
    assert_eq!(result.final_response.as_deref(), Some("steered answer"));
    let last = home.model().turn_requests().pop().unwrap();
    assert_eq!(last.last_user_text().as_deref(), Some("also consider this"));
    let err = turn.steer("too late").unwrap_err();
    assert_eq!(err.kind(), Some(ErrorKind::InvalidRequest));

    // Interrupt from another OS thread while this one iterates the events.
    let turn = thread.turn("slow two", TurnOptions::default()).unwrap();
    home.model()
        .wait_for_requests(3, Duration::from_secs(20))
        .unwrap();
    let interrupter = {
        let turn = turn.clone();
        std::thread::spawn(move || turn.interrupt())
    };
    let (methods, _) = drain(turn.id(), turn.stream());
    interrupter.join().unwrap().unwrap();
    assert_eq!(methods.last().map(String::as_str), Some("turn/completed"));
    let result = turn.run().unwrap();
    assert_eq!(result.status, TurnStatus::Interrupted);
    assert_eq!(result.final_response, None);
    // A second interrupt of a finished turn returns at once.
    let started = Instant::now();
    turn.interrupt().unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));
    codex.close();
}

#[test]
fn interrupt_right_after_starting_a_turn_interrupts_it() {
    let (home, codex) = start();
    let thread = codex.thread_start(ThreadStartOptions::default()).unwrap();
    // The interrupt follows `turn()` at once, when the runtime may not have made the turn
    // active yet (or is still winding up the previous one). Several times, as it is a race.
    for round in 0..3 {
        home.model().push(
            ResponseScript::new()
                .message(AssistantMessage::new("a b c d e f g h i j k l").chunks(12))
                .delay_between(Duration::from_millis(150)),
        );
        let turn = thread.turn("slow", TurnOptions::default()).unwrap();
        let outcome = turn.interrupt().unwrap();
        assert!(!outcome.is_already_finished(), "round {round}: {outcome:?}");
        assert_eq!(
            turn.run().unwrap().status,
            TurnStatus::Interrupted,
            "round {round}"
        );
    }
    codex.close();
}

#[test]
fn concurrent_turns_from_many_os_threads_each_get_their_own_answer() {
    let (home, codex) = start();
    home.model().set_responder(|request| {
        let text = request.last_user_text().unwrap_or_default();
        ResponseScript::new().message(AssistantMessage::new(format!("echo: {text}")).chunks(3))
    });
    let workers: Vec<_> = (0..8)
        .map(|n| {
            let codex = codex.clone();
            std::thread::spawn(move || {
                let thread = codex.thread_start(ThreadStartOptions::default()).unwrap();
                let turn = thread
                    .turn(format!("task {n}"), TurnOptions::default())
                    .unwrap();
                let (_, deltas) = drain(turn.id(), turn.stream());
                let answer = turn.run().unwrap().final_response.unwrap();
                (n, deltas, answer)
            })
        })
        .collect();
    // Meanwhile this thread keeps using the same client.
    let thread = codex.thread_start(ThreadStartOptions::default()).unwrap();
    let mine = thread.run("main", TurnOptions::default()).unwrap();
    assert_eq!(mine.final_response.as_deref(), Some("echo: main"));
    for worker in workers {
        let (n, deltas, answer) = worker.join().unwrap();
        assert_eq!(answer, format!("echo: task {n}"));
        assert_eq!(deltas, answer);
    }
    codex.close();
}

#[test]
fn login_with_an_api_key_then_account_and_logout() {
    let home = RuntimeHome::builder()
        .requires_openai_auth(true)
        .build()
        .unwrap();
    let codex = Codex::new(home.config()).unwrap();
    let before = codex.account(false).unwrap();
    assert!(before.account.is_none(), "{before:?}");
    codex.login_api_key("sk-test-blocking-0123456789").unwrap();
    let account = codex.account(false).unwrap();
    assert!(
        matches!(account.account, Some(proto::Account::ApiKey(_))),
        "{account:?}"
    );
    assert!(account.requires_openai_auth);
    codex.logout().unwrap();
    assert!(codex.account(false).unwrap().account.is_none());
    codex.close();
}

#[test]
fn global_events_arrive_on_the_blocking_iterator_and_end_at_close() {
    let (_home, codex) = start();
    let events: Events = codex.events();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for event in events {
            if tx.send(event).is_err() {
                break;
            }
        }
    });
    let thread = codex.thread_start(ThreadStartOptions::default()).unwrap();
    thread.set_name("blocking thread").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left).expect("no thread/name/updated event") {
            GlobalEvent::Notification(n) => {
                if let ServerNotification::ThreadNameUpdated(u) = &*n {
                    assert_eq!(u.thread_id, thread.id());
                    break;
                }
            }
            other => panic!("{other:?}"),
        }
    }
    codex.close();
    reader.join().unwrap(); // the iterator ended when the connection closed
}

#[test]
fn close_reaps_the_runtime_and_later_calls_fail_with_transport_closed() {
    let (_home, codex) = start();
    let thread = codex.thread_start(ThreadStartOptions::default()).unwrap();
    let pid = codex.runtime_pid().unwrap();
    assert!(pid_alive(pid));
    codex.close();
    assert!(!pid_alive(pid), "close() reaps the runtime");
    assert!(codex.is_closed());
    codex.close(); // idempotent
    let err = codex.models(false).unwrap_err();
    assert!(matches!(err, Error::TransportClosed(_)), "{err}");
    let err = thread.run("too late", TurnOptions::default()).unwrap_err();
    assert!(err.is_transport_closed(), "{err}");
    let err = codex.request_raw("thread/list", serde_json::json!({}));
    assert!(err.unwrap_err().is_transport_closed());
}

#[test]
fn dropping_the_last_handle_reaps_the_runtime_and_threads_keep_the_client_alive() {
    let (home, codex) = start();
    home.model().push(ResponseScript::text("still here"));
    let pid = codex.runtime_pid().unwrap();
    let thread: Thread = codex.thread_start(ThreadStartOptions::default()).unwrap();
    drop(codex);
    let result = thread.run("hello?", TurnOptions::default()).unwrap();
    assert_eq!(result.final_response.as_deref(), Some("still here"));
    assert!(pid_alive(pid));
    drop(thread);
    // Outside an async runtime the drop waits for the shutdown.
    assert!(
        !pid_alive(pid),
        "runtime {pid} still there after the last drop"
    );
}

#[tokio::test]
async fn inside_a_tokio_runtime_every_blocking_call_refuses_quickly() {
    let started = Instant::now();
    let home = RuntimeHome::new().unwrap();
    assert!(matches!(
        Codex::new(home.config()),
        Err(Error::BlockingInAsync)
    ));
    // A client made on a plain thread, then used from async code.
    let config = home.config();
    let codex = std::thread::spawn(move || Codex::new(config))
        .join()
        .unwrap()
        .unwrap();
    let thread = codex.thread("not-used");
    assert!(matches!(codex.models(false), Err(Error::BlockingInAsync)));
    assert!(matches!(
        codex.thread_start(ThreadStartOptions::default()),
        Err(Error::BlockingInAsync)
    ));
    assert!(matches!(
        thread.run("x", TurnOptions::default()),
        Err(Error::BlockingInAsync)
    ));
    assert!(matches!(
        blocking::retry_on_overload(|| Ok(()), RetryOptions::default()),
        Err(Error::BlockingInAsync)
    ));
    // Iterators say so once, then end, instead of blocking.
    assert_eq!(codex.events().next().map(|_| ()), None);
    assert!(started.elapsed() < Duration::from_secs(10));

    // The async escape hatch works here, on the same connection.
    let models = codex.async_client().models(false).await.unwrap();
    assert!(!models.data.is_empty());
    let pid = codex.runtime_pid().unwrap();
    // close() and drop inside a runtime neither block nor panic; the shutdown finishes on the
    // client's own thread.
    let quick = Instant::now();
    codex.close();
    drop(thread);
    drop(codex);
    assert!(
        quick.elapsed() < Duration::from_secs(1),
        "{:?}",
        quick.elapsed()
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while pid_alive(pid) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!pid_alive(pid), "runtime {pid} still there");
}

#[tokio::test]
async fn turn_iterators_inside_a_runtime_yield_blocking_in_async_once() {
    let home = RuntimeHome::new().unwrap();
    home.model().push(ResponseScript::text("done"));
    let config = home.config();
    let (codex, turn) = std::thread::spawn(move || {
        let codex = Codex::new(config).unwrap();
        let thread = codex.thread_start(ThreadStartOptions::default()).unwrap();
        let turn = thread.turn("hi", TurnOptions::default()).unwrap();
        (codex, turn)
    })
    .join()
    .unwrap();
    let mut events = turn.stream();
    assert!(matches!(events.next(), Some(Err(Error::BlockingInAsync))));
    assert!(events.next().is_none());
    drop(events);
    // Back on a plain thread the turn continues where it was.
    let result = std::thread::spawn(move || {
        let result = turn.run();
        codex.close();
        result
    })
    .join()
    .unwrap()
    .unwrap();
    assert_eq!(result.final_response.as_deref(), Some("done"));
}
