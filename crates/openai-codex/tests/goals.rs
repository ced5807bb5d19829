//! Goals end to end: the real runtime runs goal turns by itself against the scripted model, and
//! the SDK hands them out as ordinary turn handles.

use std::time::Duration;

use openai_codex::types::{ThreadGoalStatus, ThreadItem, TurnStatus};
use openai_codex::{AsyncCodex, AsyncThread, Error, ThreadStartOptions, TurnOptions};
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
