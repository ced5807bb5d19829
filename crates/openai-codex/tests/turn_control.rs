//! Joining a running turn, interrupt outcomes, event accessors, retrying failed turns and the
//! thread list filters, end to end: the real runtime against the testkit's scripted model.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures::StreamExt;
use openai_codex::types::{ThreadItem, TurnStatus};
use openai_codex::{
    retry_on_overload, ApprovalMode, AsyncCodex, Error, InterruptOutcome, RetryOptions, Sandbox,
    ThreadListOptions, ThreadStartOptions, TurnOptions,
};
use openai_codex_testkit::{AssistantMessage, ExecCommand, ResponseScript, RuntimeHome};

async fn start() -> (RuntimeHome, AsyncCodex) {
    let home = RuntimeHome::new().unwrap();
    let codex = AsyncCodex::new(home.config()).await.unwrap();
    (home, codex)
}

fn slow(text: &str) -> ResponseScript {
    ResponseScript::new()
        .message(AssistantMessage::final_answer(text).chunks(8))
        .delay_between(Duration::from_millis(150))
}

fn user_texts(items: &[ThreadItem]) -> Vec<String> {
    items
        .iter()
        .filter_map(|item| match item {
            ThreadItem::UserMessage(m) => Some(serde_json::to_string(&m.content).unwrap()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn joining_a_running_turn_sees_it_from_its_start() {
    let (home, codex) = start().await;
    home.model()
        .push(slow("one two three four five six seven eight"));
    home.model().push(ResponseScript::text("joined answer"));
    let thread = codex
        .thread_start(ThreadStartOptions::default())
        .await
        .unwrap();
    let first = thread
        .turn("first prompt", TurnOptions::default())
        .await
        .unwrap();
    home.model()
        .wait_for_requests_async(1, Duration::from_secs(20))
        .await
        .unwrap();
    // The thread is busy: this input joins the running turn.
    let joined = thread
        .turn("second prompt", TurnOptions::default())
        .await
        .unwrap();
    assert_eq!(joined.id(), first.id());

    // The joined handle's stream starts at the turn's start: the first prompt's item is there,
    // although it completed before the handle existed. Every event names this turn and thread.
    let mut events = joined.stream();
    let mut methods = Vec::new();
    while let Some(event) = events.next().await {
        let event = event.unwrap();
        if let Some(turn_id) = event.turn_id() {
            assert_eq!(turn_id, first.id(), "{:?}", event.method());
        }
        if let Some(thread_id) = event.thread_id() {
            assert_eq!(thread_id, thread.id(), "{:?}", event.method());
        }
        methods.extend(event.method().map(str::to_owned));
    }
    drop(events);
    assert_eq!(
        methods.last().map(String::as_str),
        Some("turn/completed"),
        "{methods:?}"
    );
    assert!(methods.iter().any(|m| m == "item/completed"), "{methods:?}");

    let joined_result = joined.run().await.unwrap();
    let first_result = first.run().await.unwrap();
    assert_eq!(joined_result, first_result);
    assert_eq!(
        joined_result.final_response.as_deref(),
        Some("joined answer")
    );
    let prompts = user_texts(&joined_result.items);
    assert_eq!(prompts.len(), 2, "{prompts:?}");
    assert!(prompts[0].contains("first prompt"), "{prompts:?}");
    assert!(prompts[1].contains("second prompt"), "{prompts:?}");
    codex.close().await;
}

#[tokio::test]
async fn interrupt_says_whether_the_turn_was_still_running() {
    let (home, codex) = start().await;
    home.model().push(slow("a b c d e f g h"));
    home.model().push(ResponseScript::text("quick"));
    let thread = codex
        .thread_start(ThreadStartOptions::default())
        .await
        .unwrap();

    let running = thread.turn("slow", TurnOptions::default()).await.unwrap();
    home.model()
        .wait_for_requests_async(1, Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(
        running.interrupt().await.unwrap(),
        InterruptOutcome::Requested
    );
    assert_eq!(running.run().await.unwrap().status, TurnStatus::Interrupted);
    // Again, now that it has finished: the caller is told, at once, and nothing hangs.
    let again = tokio::time::timeout(Duration::from_secs(2), running.interrupt())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        again,
        InterruptOutcome::AlreadyFinished {
            status: Some(TurnStatus::Interrupted)
        }
    );

    let done = thread.turn("quick", TurnOptions::default()).await.unwrap();
    done.run().await.unwrap();
    let outcome = done.interrupt().await.unwrap();
    assert!(outcome.is_already_finished());
    assert_eq!(
        outcome,
        InterruptOutcome::AlreadyFinished {
            status: Some(TurnStatus::Completed)
        }
    );
    // A handle made later for the finished turn says the same.
    let later = thread.turn_handle(done.id()).await.unwrap();
    assert!(later.interrupt().await.unwrap().is_already_finished());
    codex.close().await;
}

#[tokio::test]
async fn interrupt_right_after_starting_a_turn_interrupts_it() {
    let (home, codex) = start().await;
    let thread = codex
        .thread_start(ThreadStartOptions::default())
        .await
        .unwrap();
    // No wait for the model's request: the interrupt follows `turn()` at once, when the
    // runtime may not have made the turn active yet. Several times, as it is a race.
    for round in 0..3 {
        home.model().push(slow("a b c d e f g h i j k l m n o p"));
        let turn = thread.turn("slow", TurnOptions::default()).await.unwrap();
        let outcome = turn.interrupt().await.unwrap();
        assert_eq!(outcome, InterruptOutcome::Requested, "round {round}");
        let result = tokio::time::timeout(Duration::from_secs(20), turn.run())
            .await
            .expect("the interrupted turn ends")
            .unwrap();
        assert_eq!(result.status, TurnStatus::Interrupted, "round {round}");
    }
    codex.close().await;
}

#[tokio::test]
async fn an_overloaded_turn_that_did_nothing_is_retried() {
    let (home, codex) = start().await;
    home.model().push(ResponseScript::server_overloaded());
    home.model().push(ResponseScript::text("second time lucky"));
    let thread = codex
        .thread_start(ThreadStartOptions::default())
        .await
        .unwrap();
    let attempts = AtomicU32::new(0);
    let result = retry_on_overload(
        || {
            attempts.fetch_add(1, Ordering::SeqCst);
            thread.run("hello", TurnOptions::default())
        },
        RetryOptions {
            initial_delay: Duration::from_millis(10),
            ..RetryOptions::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
    assert_eq!(result.final_response.as_deref(), Some("second time lucky"));
    codex.close().await;
}

#[tokio::test]
async fn an_overloaded_turn_that_ran_a_command_is_not_sent_again() {
    let (home, codex) = start().await;
    let marker = home.workspace().join("ran.txt");
    home.model().push(
        ResponseScript::new().exec_command(
            ExecCommand::new(format!("echo ran >> {}", marker.display())).login(false),
        ),
    );
    home.model().push(ResponseScript::server_overloaded());
    // Would answer a second attempt (which must not happen).
    home.model()
        .push(ResponseScript::text("should not be reached"));
    let thread = codex
        .thread_start(
            ThreadStartOptions::default()
                .cwd(home.workspace())
                .sandbox(Sandbox::WorkspaceWrite)
                .approval_mode(ApprovalMode::DenyAll),
        )
        .await
        .unwrap();
    let attempts = AtomicU32::new(0);
    let err = retry_on_overload(
        || {
            attempts.fetch_add(1, Ordering::SeqCst);
            thread.run("append a line", TurnOptions::default())
        },
        RetryOptions {
            initial_delay: Duration::from_millis(10),
            ..RetryOptions::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(attempts.load(Ordering::SeqCst), 1);
    let Error::NotRetried { reason, source } = &err else {
        panic!("expected NotRetried, got {err}")
    };
    assert!(reason.contains("commandExecution"), "{reason}");
    assert!(err.to_string().contains("not retried"), "{err}");
    let Error::TurnFailed(failed) = source.as_ref() else {
        panic!("the source is the failed turn: {source}")
    };
    assert!(failed.is_overloaded() && failed.did_work());
    assert!(failed
        .result
        .items
        .iter()
        .any(|item| matches!(item, ThreadItem::CommandExecution(_))));
    assert!(!err.is_retryable() && !source.is_retryable());
    // The command ran exactly once.
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "ran\n");
    assert_eq!(home.model().turn_requests().len(), 2);
    codex.close().await;
}

#[tokio::test]
async fn thread_list_takes_the_obvious_arguments_and_the_python_filters() {
    let (home, codex) = start().await;
    let thread = codex
        .thread_start(ThreadStartOptions::default().cwd(home.workspace()))
        .await
        .unwrap();
    thread.run("hi", TurnOptions::default()).await.unwrap();
    let workspace = home.workspace().to_string_lossy().into_owned();

    let page = codex
        .thread_list(
            ThreadListOptions::default()
                .limit(10)
                .cwd(workspace.as_str())
                .use_state_db_only(false),
        )
        .await
        .unwrap();
    assert!(page.data.iter().any(|t| t.id == thread.id()));
    let elsewhere = codex
        .thread_list(ThreadListOptions::default().cwd(["/nonexistent-a", "/nonexistent-b"]))
        .await
        .unwrap();
    assert!(elsewhere.data.is_empty());
    // No thread is in a section that does not exist.
    let section = codex
        .thread_list(ThreadListOptions::default().section_id("no-such-section"))
        .await
        .unwrap();
    assert!(
        section.data.iter().all(|t| t.id != thread.id()),
        "{:?}",
        section.data
    );
    codex.close().await;
}
