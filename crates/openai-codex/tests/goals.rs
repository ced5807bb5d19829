//! Goals end to end: the real runtime runs goal turns by itself against the scripted model, and
//! the SDK hands them out as ordinary turn handles.

use std::time::Duration;

use openai_codex::types::{ThreadGoalStatus, ThreadItem, TurnStatus};
use openai_codex::{
    AsyncCodex, AsyncThread, Error, InterruptOutcome, ThreadStartOptions, TurnOptions,
};
use openai_codex_testkit::{AssistantMessage, ExecCommand, ResponseScript, RuntimeHome};
use serde_json::json;

const LIMIT: Duration = Duration::from_secs(60);

fn ws(home: &RuntimeHome) -> String {
    home.workspace().to_string_lossy().into_owned()
}

/// A thread that ran one turn, so it is persisted and idle.
async fn persisted_thread(home: &RuntimeHome, codex: &AsyncCodex) -> AsyncThread {
    home.model().push(ResponseScript::text("Ready."));
    let thread = codex
        .thread_start(ThreadStartOptions::default().cwd(ws(home)))
        .await
        .unwrap();
    thread
        .run("Get ready", TurnOptions::default())
        .await
        .unwrap();
    thread
}

#[tokio::test]
async fn goal_runs_its_turns_until_the_model_marks_it_complete() {
    let home = RuntimeHome::new().unwrap();
    let codex = AsyncCodex::new(home.config()).await.unwrap();
    let thread = persisted_thread(&home, &codex).await;
    // The runtime offers the goal tools; `update_goal` takes `status` (complete/blocked/paused).
    let tools = home.model().turn_requests()[0].body["tools"].clone();
    let update = tools
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "update_goal")
        .expect("update_goal offered")
        .clone();
    assert_eq!(update["parameters"]["required"], json!(["status"]));

    // Goal turn 1: run a command, make progress, leave the goal active.
    home.model()
        .push(ResponseScript::new().exec_command(ExecCommand::new("echo step-one").login(false)));
    home.model()
        .push(ResponseScript::new().message(AssistantMessage::final_answer("Step one done.")));
    // Goal turn 2 (started by the runtime on its own): mark the goal complete, then answer.
    home.model()
        .push(ResponseScript::new().function_call("update_goal", &json!({"status": "complete"})));
    home.model()
        .push(ResponseScript::new().message(AssistantMessage::final_answer("Report written.")));

    let mut goal = thread.goal_start("Write the report").await.unwrap();
    assert_eq!(goal.goal().status, ThreadGoalStatus::Active);
    assert_eq!(goal.goal().objective, "Write the report");
    let outcome = goal.run_timeout(LIMIT).await.unwrap();

    let final_goal = outcome.goal.expect("the goal was not cleared");
    assert_eq!(final_goal.status, ThreadGoalStatus::Complete);
    assert!(goal.is_finished());
    let answers: Vec<_> = outcome
        .turns
        .iter()
        .map(|t| (t.status.clone(), t.final_response.clone()))
        .collect();
    assert_eq!(
        answers,
        [
            (TurnStatus::Completed, Some("Step one done.".to_owned())),
            (TurnStatus::Completed, Some("Report written.".to_owned())),
        ]
    );
    // The handles saw the whole turns (every item), not just the completion summary.
    assert!(outcome.turns[0].items.iter().any(|i| matches!(
        i,
        ThreadItem::CommandExecution(c) if c.aggregated_output.as_deref().is_some_and(|o| o.contains("step-one"))
    )));
    // The runtime told the model about the goal, and the thread's goal is now complete.
    let requests = home.model().turn_requests();
    assert!(requests[1].body["input"]
        .to_string()
        .contains("Write the report"));
    assert_eq!(
        thread.goal_get().await.unwrap().unwrap().status,
        ThreadGoalStatus::Complete
    );
    // Nothing runs any more: the next call says so at once.
    assert!(goal.next_turn().await.unwrap().is_none());
    codex.close().await;
}

#[tokio::test]
async fn goal_turns_arrive_as_handles_and_pause_ends_the_run() {
    let home = RuntimeHome::new().unwrap();
    let codex = AsyncCodex::new(home.config()).await.unwrap();
    let thread = persisted_thread(&home, &codex).await;
    home.model().push(
        ResponseScript::new()
            .pause(Duration::from_millis(300))
            .message(AssistantMessage::final_answer("Still working.")),
    );
    let mut goal = thread.goal_start("Keep going").await.unwrap();
    let turn = goal
        .next_turn()
        .await
        .unwrap()
        .expect("the runtime starts a goal turn");
    assert_eq!(turn.thread_id(), thread.id());
    let paused = goal.pause().await.unwrap();
    assert_eq!(paused.status, ThreadGoalStatus::Paused);
    let result = turn.run().await.unwrap();
    assert_eq!(result.id, turn.id());
    assert!(goal.next_turn().await.unwrap().is_none());
    assert_eq!(goal.goal().status, ThreadGoalStatus::Paused);
    assert_eq!(
        thread.goal_get().await.unwrap().unwrap().status,
        ThreadGoalStatus::Paused
    );
    assert!(goal.clear().await.unwrap());
    assert!(thread.goal_get().await.unwrap().is_none());
    codex.close().await;
}

#[tokio::test]
async fn goal_start_refuses_ephemeral_busy_and_empty() {
    let home = RuntimeHome::new().unwrap();
    let codex = AsyncCodex::new(home.config()).await.unwrap();
    let ephemeral = codex
        .thread_start(ThreadStartOptions::default().cwd(ws(&home)).ephemeral(true))
        .await
        .unwrap();
    let err = ephemeral.goal_start("Anything").await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidInput {
                field: "thread",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("ephemeral"), "{err}");

    let thread = persisted_thread(&home, &codex).await;
    let err = thread.goal_start("  ").await.unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidInput {
            field: "objective",
            ..
        }
    ));

    home.model().push(ResponseScript::new().hang());
    let busy = thread
        .turn("Work slowly", TurnOptions::default())
        .await
        .unwrap();
    // Once the model has been asked, the runtime reports the thread as active.
    let before = home.model().request_count();
    home.model()
        .wait_for_requests_async(before + 1, LIMIT)
        .await
        .unwrap();
    let refused = thread.goal_start("Anything").await.unwrap_err();
    assert!(
        matches!(
            refused,
            Error::InvalidInput {
                field: "thread",
                ..
            }
        ),
        "{refused}"
    );
    assert!(refused.to_string().contains("idle"), "{refused}");
    busy.interrupt().await.unwrap();
    assert_eq!(busy.run().await.unwrap().status, TurnStatus::Interrupted);
    // No goal was set by the refused calls.
    assert!(thread.goal_get().await.unwrap().is_none());
    codex.close().await;
}

// ---- Goals as one logical turn (`start_goal` / `run_goal`) ----

/// Queues a goal turn that marks the goal complete and then answers `answer`.
fn push_completing_turn(home: &RuntimeHome, answer: &str) {
    home.model()
        .push(ResponseScript::new().function_call("update_goal", &json!({"status": "complete"})));
    home.model()
        .push(ResponseScript::new().message(AssistantMessage::final_answer(answer)));
}

/// Waits until the model has been asked `count` times in all.
async fn wait_for_model_requests(home: &RuntimeHome, count: usize) {
    home.model()
        .wait_for_requests_async(count, LIMIT)
        .await
        .unwrap();
}

/// Waits (bounded) until the thread's goal has `status`; the goal as last read.
async fn wait_for_goal_status(
    thread: &AsyncThread,
    status: ThreadGoalStatus,
) -> openai_codex::types::ThreadGoal {
    let deadline = std::time::Instant::now() + LIMIT;
    loop {
        let goal = thread.goal_get().await.unwrap().expect("the goal exists");
        if goal.status == status || std::time::Instant::now() > deadline {
            return goal;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn run_goal_that_completes_in_its_first_turn_returns_one_result() {
    let home = RuntimeHome::new().unwrap();
    let codex = AsyncCodex::new(home.config()).await.unwrap();
    let thread = persisted_thread(&home, &codex).await;
    push_completing_turn(&home, "Done in one go.");

    let result = tokio::time::timeout(LIMIT, thread.run_goal("Say hello"))
        .await
        .unwrap()
        .unwrap();

    assert_eq!(result.status, TurnStatus::Completed);
    assert_eq!(result.final_response.as_deref(), Some("Done in one go."));
    // The update_goal call is one of the turn's items.
    assert!(
        result
            .items
            .iter()
            .any(|i| matches!(i, ThreadItem::AgentMessage(m) if m.text == "Done in one go.")),
        "{:?}",
        result.items
    );
    // One runtime turn: the logical id is that turn's id, as the thread's history shows.
    let history = thread.read(true).await.unwrap().thread.turns;
    assert_eq!(history.len(), 2, "the setup turn and one goal turn");
    assert_eq!(result.id, history[1].id);
    assert_eq!(
        thread.goal_get().await.unwrap().unwrap().status,
        ThreadGoalStatus::Complete
    );
    codex.close().await;
}

#[tokio::test]
async fn a_goal_over_several_runtime_turns_is_one_stream_and_one_merged_result() {
    let home = RuntimeHome::new().unwrap();
    let codex = AsyncCodex::new(home.config()).await.unwrap();
    let thread = persisted_thread(&home, &codex).await;
    // Runtime turn 1: a command, progress, the goal stays active.
    home.model()
        .push(ResponseScript::new().exec_command(ExecCommand::new("echo step-one").login(false)));
    home.model()
        .push(ResponseScript::new().message(AssistantMessage::final_answer("Step one done.")));
    // Runtime turn 2 (started by the runtime): complete the goal.
    push_completing_turn(&home, "Report written.");

    let goal = thread.start_goal("Write the report").await.unwrap();
    assert_eq!(goal.thread_id(), thread.id());
    let reader = {
        let goal = goal.clone();
        tokio::spawn(async move {
            use futures::StreamExt;
            let mut events = goal.stream();
            let mut seen = Vec::new();
            while let Some(event) = events.next().await {
                if let Some(n) = event.unwrap().notification() {
                    seen.push(n.clone());
                }
            }
            seen
        })
    };
    let result = tokio::time::timeout(LIMIT, goal.run())
        .await
        .unwrap()
        .unwrap();
    let events = reader.await.unwrap();

    let turn_ids: Vec<String> = goal
        .runtime_turns()
        .iter()
        .map(|t| t.id().to_string())
        .collect();
    assert_eq!(turn_ids.len(), 2, "two runtime turns");
    assert_eq!(goal.id(), turn_ids[0]);
    assert!(goal.is_finished());
    assert_eq!(goal.goal().status, ThreadGoalStatus::Complete);
    // The stream carried both turns whole, in order: started, ..., completed, started, ...
    use openai_codex::types::ServerNotification as N;
    let boundaries: Vec<(String, String)> = events
        .iter()
        .filter_map(|n| match n {
            N::TurnStarted(s) => Some(("started".into(), s.turn.id.clone())),
            N::TurnCompleted(c) => Some(("completed".into(), c.turn.id.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        boundaries,
        [
            ("started".to_string(), turn_ids[0].clone()),
            ("completed".to_string(), turn_ids[0].clone()),
            ("started".to_string(), turn_ids[1].clone()),
            ("completed".to_string(), turn_ids[1].clone()),
        ]
    );
    let streamed_items = events
        .iter()
        .filter(|n| matches!(n, N::ItemCompleted(_)))
        .count();
    // One merged result: every item of both turns, the last answer, the first turn's id.
    assert_eq!(result.id, turn_ids[0]);
    assert_eq!(result.status, TurnStatus::Completed);
    assert_eq!(result.final_response.as_deref(), Some("Report written."));
    assert_eq!(result.items.len(), streamed_items);
    let texts: Vec<&str> = result
        .items
        .iter()
        .filter_map(|i| match i {
            ThreadItem::AgentMessage(m) => Some(m.text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(texts, ["Step one done.", "Report written."]);
    assert!(result.items.iter().any(|i| matches!(
        i,
        ThreadItem::CommandExecution(c) if c.aggregated_output.as_deref().is_some_and(|o| o.contains("step-one"))
    )));
    let first = goal.runtime_turns()[0].result().unwrap();
    let last = goal.runtime_turns()[1].result().unwrap();
    assert_eq!(result.started_at, first.started_at);
    assert_eq!(result.completed_at, last.completed_at);
    // run() again gives the same answer.
    assert_eq!(goal.run().await.unwrap(), result);
    codex.close().await;
}

#[tokio::test]
async fn steering_a_goal_reaches_the_runtime_turn_that_is_running() {
    let home = RuntimeHome::new().unwrap();
    let codex = AsyncCodex::new(home.config()).await.unwrap();
    let thread = persisted_thread(&home, &codex).await;
    // The first goal request hangs until the steer makes the runtime ask again.
    home.model().push(ResponseScript::new().hang());
    push_completing_turn(&home, "Changelog updated too.");

    let goal = thread.start_goal("Ship the release").await.unwrap();
    wait_for_model_requests(&home, 2).await;
    let current = goal.current_turn_id().expect("a runtime turn runs");
    let steered = goal.steer("Also update the changelog").await.unwrap();
    assert_eq!(steered.turn_id, current);
    let result = tokio::time::timeout(LIMIT, goal.run())
        .await
        .unwrap()
        .unwrap();

    assert_eq!(
        result.final_response.as_deref(),
        Some("Changelog updated too.")
    );
    let asked_after_steer = home.model().turn_requests()[2..].iter().any(|r| {
        r.user_texts()
            .iter()
            .any(|t| t.contains("Also update the changelog"))
    });
    assert!(asked_after_steer, "the model saw the steered input");
    // Nothing left to steer once the logical turn is over: a typed error, nothing sent.
    let err = goal.steer("too late").await.unwrap_err();
    assert!(
        matches!(err, Error::InvalidInput { field: "turn", .. }),
        "{err}"
    );
    assert!(err.to_string().contains("finished"), "{err}");
    codex.close().await;
}

#[tokio::test]
async fn interrupting_a_goal_stops_its_turn_and_pauses_the_goal() {
    let home = RuntimeHome::new().unwrap();
    let codex = AsyncCodex::new(home.config()).await.unwrap();
    let thread = persisted_thread(&home, &codex).await;
    home.model().push(ResponseScript::new().hang());

    let goal = thread.start_goal("Work forever").await.unwrap();
    wait_for_model_requests(&home, 2).await;
    assert_eq!(goal.interrupt().await.unwrap(), InterruptOutcome::Requested);
    let result = tokio::time::timeout(LIMIT, goal.run())
        .await
        .unwrap()
        .unwrap();

    assert_eq!(result.status, TurnStatus::Interrupted);
    assert_eq!(result.id, goal.id());
    assert_eq!(goal.runtime_turns().len(), 1);
    assert_eq!(
        goal.runtime_turns()[0].result().unwrap().status,
        TurnStatus::Interrupted
    );
    assert_eq!(
        thread.goal_get().await.unwrap().unwrap().status,
        ThreadGoalStatus::Paused
    );
    // The runtime starts nothing more for the goal.
    let asked = home.model().request_count();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(home.model().request_count(), asked);
    // Already over: nothing is sent, and the caller learns how it ended.
    assert_eq!(
        goal.interrupt().await.unwrap(),
        InterruptOutcome::AlreadyFinished {
            status: Some(TurnStatus::Interrupted)
        }
    );
    codex.close().await;
}

#[tokio::test]
async fn dropping_a_goal_run_or_its_handle_pauses_the_goal() {
    let home = RuntimeHome::new().unwrap();
    let codex = AsyncCodex::new(home.config()).await.unwrap();

    // Giving up on run() (here: a timeout around it) pauses the goal and stops its turn.
    let thread = persisted_thread(&home, &codex).await;
    home.model().push(ResponseScript::new().hang());
    let goal = thread.start_goal("Take your time").await.unwrap();
    wait_for_model_requests(&home, 2).await;
    let gave_up = tokio::time::timeout(Duration::from_millis(200), goal.run()).await;
    assert!(gave_up.is_err(), "the goal is still running");
    let status = wait_for_goal_status(&thread, ThreadGoalStatus::Paused).await;
    assert_eq!(status.status, ThreadGoalStatus::Paused);
    let turn = goal.runtime_turns()[0].clone();
    let stopped = tokio::time::timeout(LIMIT, turn.run())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stopped.status, TurnStatus::Interrupted);

    // Dropping the last handle does the same.
    let other = persisted_thread(&home, &codex).await;
    home.model().push(ResponseScript::new().hang());
    let before = home.model().request_count();
    let goal = other.start_goal("Take your time too").await.unwrap();
    wait_for_model_requests(&home, before + 1).await;
    let turn = goal.runtime_turns()[0].clone();
    drop(goal);
    let status = wait_for_goal_status(&other, ThreadGoalStatus::Paused).await;
    assert_eq!(status.status, ThreadGoalStatus::Paused);
    let stopped = tokio::time::timeout(LIMIT, turn.run())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stopped.status, TurnStatus::Interrupted);
    codex.close().await;
}

#[tokio::test]
async fn a_runtime_that_exits_mid_goal_fails_run_and_stream_promptly() {
    let home = RuntimeHome::new().unwrap();
    let codex = AsyncCodex::new(home.config()).await.unwrap();
    let thread = persisted_thread(&home, &codex).await;
    home.model().push(ResponseScript::new().hang());
    let goal = thread.start_goal("Never finishes").await.unwrap();
    wait_for_model_requests(&home, 2).await;
    let mut events = goal.stream();
    let pid = codex.runtime_pid().unwrap();
    std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    let started = std::time::Instant::now();
    let err = tokio::time::timeout(Duration::from_secs(10), goal.run())
        .await
        .expect("run() returns promptly")
        .unwrap_err();
    assert!(err.is_transport_closed(), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let last = tokio::time::timeout(Duration::from_secs(10), async {
        use futures::StreamExt;
        let mut last = None;
        while let Some(event) = events.next().await {
            last = Some(event);
        }
        last
    })
    .await
    .expect("the stream ends promptly");
    let last = last.expect("the stream yields the failure");
    assert!(last.unwrap_err().is_transport_closed());
    assert!(goal.is_finished());
    assert!(goal.steer("anyone?").await.is_err());
}

#[test]
fn blocking_run_goal_and_goal_turn() {
    use openai_codex::Codex;
    let home = RuntimeHome::new().unwrap();
    let codex = Codex::new(home.config()).unwrap();
    home.model().push(ResponseScript::text("Ready."));
    let thread = codex
        .thread_start(ThreadStartOptions::default().cwd(ws(&home)))
        .unwrap();
    thread.run("Get ready", TurnOptions::default()).unwrap();

    push_completing_turn(&home, "Blocking goal done.");
    let result = thread.run_goal("Finish quickly").unwrap();
    assert_eq!(
        result.final_response.as_deref(),
        Some("Blocking goal done.")
    );

    push_completing_turn(&home, "Streamed goal done.");
    let goal = thread.start_goal("Finish again").unwrap();
    let completed = goal
        .stream()
        .filter_map(|e| {
            e.unwrap()
                .notification()
                .is_some_and(|n| n.method() == "turn/completed")
                .then_some(())
        })
        .count();
    assert_eq!(completed, 1);
    let result = goal.run().unwrap();
    assert_eq!(
        result.final_response.as_deref(),
        Some("Streamed goal done.")
    );
    assert_eq!(result.id, goal.id());
    assert_eq!(goal.goal().status, ThreadGoalStatus::Complete);
    assert_eq!(
        goal.interrupt().unwrap(),
        InterruptOutcome::AlreadyFinished {
            status: Some(TurnStatus::Completed)
        }
    );

    // Interrupting a goal that is working: requested, and the logical turn ends interrupted.
    home.model().push(ResponseScript::new().hang());
    let before = home.model().request_count();
    let goal = thread.start_goal("Work forever").unwrap();
    home.model().wait_for_requests(before + 1, LIMIT).unwrap();
    assert_eq!(goal.interrupt().unwrap(), InterruptOutcome::Requested);
    assert_eq!(goal.run().unwrap().status, TurnStatus::Interrupted);
    codex.close();
}
