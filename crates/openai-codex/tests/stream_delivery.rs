//! What reaches a turn's consumers, played by the fake app-server: one completion per turn,
//! every delta under backpressure (the default), delivered + dropped = sent under the drop
//! policy, no stall of the reader for a consumer that left or never reads, and the inactivity
//! watchdog for a turn that goes silent. Async and blocking.

use std::time::{Duration, Instant};

use futures::StreamExt;
use openai_codex::types::{ServerNotification, TurnStatus};
use openai_codex::{
    AsyncCodex, CodexConfig, Error, OverflowPolicy, ThreadStartOptions, TurnEvent, TurnOptions,
};
use openai_codex_testkit::fake_server::{fake_app_server_bin, FakeScenario};

/// Deltas of the flood turns (the W4 size).
const FLOOD: u64 = 200_000;

fn config(scenario: &FakeScenario) -> CodexConfig {
    let mut config = CodexConfig::default()
        .codex_bin(fake_app_server_bin())
        .request_timeout(Duration::from_secs(30));
    for (key, value) in scenario.env() {
        config = config.env(key, value);
    }
    config
}

/// Counts (delivered deltas, dropped deltas, completions) of one event.
#[derive(Debug, Default, PartialEq)]
struct Tally {
    deltas: u64,
    dropped: u64,
    completions: u64,
}

impl Tally {
    fn add(&mut self, event: &TurnEvent) {
        match event {
            TurnEvent::Notification(n) => match &**n {
                ServerNotification::ItemAgentMessageDelta(_) => self.deltas += 1,
                ServerNotification::TurnCompleted(_) => self.completions += 1,
                _ => {}
            },
            TurnEvent::Lagged { dropped } => self.dropped += dropped,
            _ => {}
        }
    }
}

/// Waits (briefly) until the client has seen `n` duplicate completions.
fn wait_for_duplicates(count: impl Fn() -> u64, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while count() < n && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(count(), n, "the duplicate completion was seen and counted");
}

// ------------------------------------------------------------------ duplicate completions

#[tokio::test]
async fn a_repeated_turn_completion_is_not_delivered_and_the_result_keeps_its_answer() {
    let scenario = FakeScenario::new().deltas(3).duplicate_completion(true);
    let codex = AsyncCodex::new(config(&scenario)).await.unwrap();
    let thread = codex
        .thread_start(ThreadStartOptions::default())
        .await
        .unwrap();
    let turn = thread.turn("hi", TurnOptions::default()).await.unwrap();
    // Let both completions arrive before anything is read.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut tally = Tally::default();
    let mut stream = turn.stream();
    while let Some(event) = stream.next().await {
        tally.add(&event.unwrap());
    }
    drop(stream);
    assert_eq!(
        tally.completions, 1,
        "the stream ends at the first completion"
    );
    let result = turn.run().await.unwrap();
    assert_eq!(result.status, TurnStatus::Completed);
    assert_eq!(
        result.final_response.as_deref(),
        Some("Hello. Hello. Hello. ")
    );
    assert_eq!(result.items.len(), 2, "user message and agent message");
    let codex2 = codex.clone();
    tokio::task::spawn_blocking(move || wait_for_duplicates(|| codex2.duplicate_completions(), 1))
        .await
        .unwrap();
    // A second turn on the same thread is unaffected.
    let again = thread.run("again", TurnOptions::default()).await.unwrap();
    assert_eq!(
        again.final_response.as_deref(),
        Some("Hello. Hello. Hello. ")
    );
    codex.close().await;
}

#[cfg(feature = "blocking")]
#[test]
fn a_repeated_turn_completion_is_not_delivered_and_the_result_keeps_its_answer_blocking() {
    let scenario = FakeScenario::new().deltas(3).duplicate_completion(true);
    let codex = openai_codex::Codex::new(config(&scenario)).unwrap();
    let thread = codex.thread_start(ThreadStartOptions::default()).unwrap();
    let turn = thread.turn("hi", TurnOptions::default()).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let result = turn.run().unwrap();
    assert_eq!(result.status, TurnStatus::Completed);
    assert_eq!(
        result.final_response.as_deref(),
        Some("Hello. Hello. Hello. ")
    );
    assert_eq!(result.items.len(), 2);
    // The handle's stream after the end is empty: no second completion shows up later.
    assert_eq!(turn.stream().count(), 0);
    wait_for_duplicates(|| codex.duplicate_completions(), 1);
    codex.close();
}

// ------------------------------------------------------------------ overflow policies

#[tokio::test]
async fn a_slow_consumer_loses_no_delta_under_the_default_policy() {
    let scenario = FakeScenario::new().deltas(FLOOD).delta_text("d");
    let codex = AsyncCodex::new(config(&scenario)).await.unwrap();
    assert_eq!(codex.config().overflow, OverflowPolicy::Backpressure);
    let thread = codex
        .thread_start(ThreadStartOptions::default())
        .await
        .unwrap();
    let turn = thread.turn("flood", TurnOptions::default()).await.unwrap();
    // Far behind from the start: the runtime could have written the whole turn meanwhile.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut tally = Tally::default();
    let mut stream = turn.stream();
    let mut n = 0u64;
    while let Some(event) = stream.next().await {
        tally.add(&event.unwrap());
        n += 1;
        if n % 20_000 == 0 {
            // A slow consumer: it pauses now and then.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    drop(stream);
    assert_eq!(
        tally,
        Tally {
            deltas: FLOOD,
            dropped: 0,
            completions: 1
        }
    );
    let result = turn.run().await.unwrap();
    assert_eq!(result.final_response.map(|t| t.len()), Some(FLOOD as usize));
    codex.close().await;
}

#[cfg(feature = "blocking")]
#[test]
fn a_slow_consumer_loses_no_delta_under_the_default_policy_blocking() {
    let scenario = FakeScenario::new().deltas(FLOOD).delta_text("d");
    let codex = openai_codex::Codex::new(config(&scenario)).unwrap();
    let thread = codex.thread_start(ThreadStartOptions::default()).unwrap();
    let turn = thread.turn("flood", TurnOptions::default()).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let mut tally = Tally::default();
    for (n, event) in turn.stream().enumerate() {
        tally.add(&event.unwrap());
        if n % 20_000 == 19_999 {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    assert_eq!(
        tally,
        Tally {
            deltas: FLOOD,
            dropped: 0,
            completions: 1
        }
    );
    codex.close();
}

#[tokio::test]
async fn under_the_drop_policy_delivered_plus_dropped_equals_sent() {
    let scenario = FakeScenario::new().deltas(FLOOD).delta_text("d");
    let codex = AsyncCodex::new(config(&scenario).stream_buffer(1024))
        .await
        .unwrap();
    let thread = codex
        .thread_start(ThreadStartOptions::default())
        .await
        .unwrap();
    // Per turn: the client keeps its lossless default.
    let options = TurnOptions::default().overflow(OverflowPolicy::DropDeltas);
    let turn = thread.turn("flood", options).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut tally = Tally::default();
    let mut stream = turn.stream();
    while let Some(event) = stream.next().await {
        tally.add(&event.unwrap());
    }
    drop(stream);
    assert_eq!(tally.deltas + tally.dropped, FLOOD, "{tally:?}");
    assert!(tally.dropped > 0, "the consumer fell behind: {tally:?}");
    assert_eq!(tally.completions, 1);
    // Essential events are never dropped: the completed message carries the whole text.
    let result = turn.run().await.unwrap();
    assert_eq!(result.final_response.map(|t| t.len()), Some(FLOOD as usize));
    codex.close().await;
}

#[cfg(feature = "blocking")]
#[test]
fn under_the_drop_policy_delivered_plus_dropped_equals_sent_blocking() {
    let scenario = FakeScenario::new().deltas(FLOOD).delta_text("d");
    let config = config(&scenario)
        .stream_buffer(1024)
        .overflow(OverflowPolicy::DropDeltas);
    let codex = openai_codex::Codex::new(config).unwrap();
    let thread = codex.thread_start(ThreadStartOptions::default()).unwrap();
    let turn = thread.turn("flood", TurnOptions::default()).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let mut tally = Tally::default();
    for event in turn.stream() {
        tally.add(&event.unwrap());
    }
    assert_eq!(tally.deltas + tally.dropped, FLOOD, "{tally:?}");
    assert!(tally.dropped > 0, "{tally:?}");
    let result = turn.run().unwrap();
    assert_eq!(result.final_response.map(|t| t.len()), Some(FLOOD as usize));
    codex.close();
}

#[tokio::test]
async fn a_dropped_turn_handle_does_not_stall_other_turns_under_backpressure() {
    let scenario = FakeScenario::new().deltas(FLOOD).delta_text("d");
    // A patience far beyond the test's limit: only the handle's leaving may unblock the reader.
    let config = config(&scenario).slow_consumer_timeout(Duration::from_secs(120));
    let codex = AsyncCodex::new(config).await.unwrap();
    let a = codex
        .thread_start(ThreadStartOptions::default())
        .await
        .unwrap();
    let b = codex
        .thread_start(ThreadStartOptions::default())
        .await
        .unwrap();
    drop(
        a.turn("flood, unread", TurnOptions::default())
            .await
            .unwrap(),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let result = tokio::time::timeout(
        Duration::from_secs(60),
        b.run("after it", TurnOptions::default()),
    )
    .await
    .expect("the other thread's turn finishes")
    .unwrap();
    assert_eq!(result.final_response.map(|t| t.len()), Some(FLOOD as usize));
    codex.close().await;
}

#[tokio::test]
async fn a_turn_handle_that_is_never_read_stalls_others_only_for_the_slow_consumer_timeout() {
    let scenario = FakeScenario::new().deltas(FLOOD).delta_text("d");
    let config = config(&scenario).slow_consumer_timeout(Duration::from_millis(500));
    let codex = AsyncCodex::new(config).await.unwrap();
    let a = codex
        .thread_start(ThreadStartOptions::default())
        .await
        .unwrap();
    let b = codex
        .thread_start(ThreadStartOptions::default())
        .await
        .unwrap();
    let kept = a.turn("flood, kept", TurnOptions::default()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let result = tokio::time::timeout(
        Duration::from_secs(60),
        b.run("after it", TurnOptions::default()),
    )
    .await
    .expect("the other thread's turn finishes")
    .unwrap();
    assert_eq!(result.status, TurnStatus::Completed);
    // The kept handle fell back to dropping deltas, but its result is whole.
    let kept = kept.run().await.unwrap();
    assert_eq!(kept.final_response.map(|t| t.len()), Some(FLOOD as usize));
    codex.close().await;
}

// ------------------------------------------------------------------ watchdog

#[tokio::test]
async fn a_silent_turn_fails_with_stalled_and_is_interrupted() {
    let scenario = FakeScenario::new().deltas(2).go_silent(true);
    let config = config(&scenario).turn_stall_timeout(Some(Duration::from_millis(400)));
    let codex = AsyncCodex::new(config).await.unwrap();
    let thread = codex
        .thread_start(ThreadStartOptions::default())
        .await
        .unwrap();
    let turn = thread.turn("hi", TurnOptions::default()).await.unwrap();
    let started = Instant::now();
    let error = tokio::time::timeout(Duration::from_secs(10), turn.run())
        .await
        .expect("the watchdog ends the wait")
        .unwrap_err();
    let Error::Stalled { turn_id, after } = &error else {
        panic!("{error}")
    };
    assert_eq!(turn_id, turn.id());
    assert_eq!(*after, Duration::from_millis(400));
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert!(error.to_string().contains("turn_stall_timeout"), "{error}");
    // The SDK interrupted the turn: the runtime ends it as interrupted.
    let result = tokio::time::timeout(Duration::from_secs(10), turn.run())
        .await
        .expect("the interrupted completion arrives")
        .unwrap();
    assert_eq!(result.status, TurnStatus::Interrupted);
    codex.close().await;
}

#[tokio::test]
async fn the_stall_timeout_can_be_set_and_turned_off_per_turn() {
    let scenario = FakeScenario::new().deltas(2).go_silent(true);
    let codex = AsyncCodex::new(config(&scenario).turn_stall_timeout(None))
        .await
        .unwrap();
    let thread = codex
        .thread_start(ThreadStartOptions::default())
        .await
        .unwrap();
    let options = TurnOptions::default().stall_timeout(Duration::from_millis(300));
    let error = tokio::time::timeout(Duration::from_secs(10), thread.run("hi", options))
        .await
        .expect("the per-turn watchdog ends the wait")
        .unwrap_err();
    assert!(matches!(error, Error::Stalled { .. }), "{error}");

    let codex =
        AsyncCodex::new(config(&scenario).turn_stall_timeout(Some(Duration::from_millis(200))))
            .await
            .unwrap();
    let thread = codex
        .thread_start(ThreadStartOptions::default())
        .await
        .unwrap();
    let options = TurnOptions::default().stall_timeout(Duration::MAX);
    let turn = thread.turn("hi", options).await.unwrap();
    assert!(
        tokio::time::timeout(Duration::from_secs(1), turn.run())
            .await
            .is_err(),
        "with the watchdog off for this turn, a silent turn keeps waiting"
    );
    turn.interrupt().await.unwrap();
    assert_eq!(turn.run().await.unwrap().status, TurnStatus::Interrupted);
    codex.close().await;
}

#[cfg(feature = "blocking")]
#[test]
fn a_silent_turn_fails_with_stalled_and_is_interrupted_blocking() {
    let scenario = FakeScenario::new().deltas(2).go_silent(true);
    let config = config(&scenario).turn_stall_timeout(Some(Duration::from_millis(400)));
    let codex = openai_codex::Codex::new(config).unwrap();
    let thread = codex.thread_start(ThreadStartOptions::default()).unwrap();
    let turn = thread.turn("hi", TurnOptions::default()).unwrap();
    let error = turn.run().unwrap_err();
    assert!(matches!(error, Error::Stalled { .. }), "{error}");
    assert_eq!(turn.run().unwrap().status, TurnStatus::Interrupted);
    codex.close();
}

#[test]
fn the_timeout_error_names_the_settings_that_exist() {
    let error = Error::Timeout {
        method: "thread/list".into(),
        timeout: Duration::from_secs(5),
    };
    let text = error.to_string();
    assert!(text.contains("CodexConfig::request_timeout"), "{text}");
    assert!(text.contains("request_with_timeout"), "{text}");
}
