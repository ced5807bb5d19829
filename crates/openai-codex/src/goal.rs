//! Goals: give a thread an objective and let the runtime work on it turn after turn.
//!
//! [`AsyncThread::goal_start`](crate::AsyncThread::goal_start) sets an active goal on an idle,
//! persisted thread. The runtime then starts turns by itself (no `turn/start` from the client)
//! and keeps going until the goal reaches another status: the model marks it `complete` with its
//! `update_goal` tool, the client pauses or clears it, or a limit is hit (`blocked`,
//! `usageLimited`, `budgetLimited`).
//!
//! [`AsyncGoalHandle`] observes that run: each goal turn arrives as an ordinary
//! [`AsyncTurnHandle`] (same routing guarantees as turns the client starts: every event of the
//! turn, none of other turns), and [`AsyncGoalHandle::run`] drives them all and returns when the
//! goal is no longer active.
//!
//! How goal status is observed: the router hands the handle a copy of every `thread/goal/updated`
//! and `thread/goal/cleared` of its thread, whether the notification carries a `turnId` (then it
//! is also part of that turn's stream) or not (then it is also on
//! [`AsyncCodex::events`](crate::AsyncCodex::events)), together with the thread's turn starts
//! and ends, in the order the runtime sent them. Any status other than `active` ends the goal's
//! run, as in the official SDK.
//!
//! The official Python SDK 0.163.0 has this machinery but no public entry point.

use std::time::Duration;

use openai_codex_protocol::{self as proto, requests, ServerNotification};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::error::{ClosedReason, Error, Result};
use crate::router::GoalSignal;
use crate::thread::AsyncThread;
use crate::turn::{AsyncTurnHandle, StreamSettings, TurnResult};

/// How a goal's run ended ([`AsyncGoalHandle::run`]).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct GoalResult {
    /// The goal as last reported: its final status (`complete`, `paused`, `blocked`, ...), time
    /// and tokens used. `None` when the goal was cleared.
    pub goal: Option<proto::ThreadGoal>,
    /// The goal's turns this call drove to the end, in order (failed turns included, with status
    /// `failed`; turns already taken with [`AsyncGoalHandle::next_turn`] are not repeated).
    pub turns: Vec<TurnResult>,
}

/// An active goal on a thread: its turns as they start, and its end.
#[derive(Debug)]
pub struct AsyncGoalHandle {
    thread: AsyncThread,
    goal: proto::ThreadGoal,
    signals: UnboundedReceiver<GoalSignal>,
    /// Whether this goal's own `thread/goal/updated` has been seen (a `thread/goal/cleared`
    /// before it is the echo of the clear that preceded the set).
    seen_update: bool,
    /// Whether a turn of the thread is running (started and not completed).
    running: Option<String>,
    ended: Option<Option<proto::ThreadGoal>>,
}

/// One thing that happened to a goal ([`AsyncGoalHandle::step`]).
pub(crate) enum GoalStep {
    /// The runtime started a turn for the goal.
    TurnStarted(AsyncTurnHandle),
    /// A turn of the thread completed: its id, and whether it was interrupted.
    TurnCompleted(String, bool),
    /// The goal's status changed, or nothing this handle tracks.
    GoalChanged,
}

fn is_terminal(status: &proto::ThreadGoalStatus) -> bool {
    *status != proto::ThreadGoalStatus::Active
}

impl AsyncGoalHandle {
    pub(crate) fn new(
        thread: AsyncThread,
        goal: proto::ThreadGoal,
        signals: UnboundedReceiver<GoalSignal>,
    ) -> Self {
        Self {
            thread,
            goal,
            signals,
            seen_update: false,
            running: None,
            ended: None,
        }
    }

    /// The thread the goal runs on.
    pub fn thread(&self) -> &AsyncThread {
        &self.thread
    }

    /// The goal as last seen (from `thread/goal/set` or the latest `thread/goal/updated`).
    pub fn goal(&self) -> &proto::ThreadGoal {
        &self.goal
    }

    /// Whether the goal is no longer active (or was cleared), as far as this handle has seen.
    pub fn is_finished(&self) -> bool {
        self.ended.is_some()
    }

    fn closed(&self) -> Error {
        Error::TransportClosed(
            self.thread
                .codex()
                .inner
                .conn()
                .closed_reason()
                .unwrap_or_else(|| ClosedReason {
                    message: "the connection closed".into(),
                    exit_status: None,
                    stderr_tail: Vec::new(),
                }),
        )
    }

    /// Applies one signal; returns a turn id when a turn started.
    fn apply(&mut self, signal: GoalSignal) -> Option<String> {
        match signal {
            GoalSignal::TurnStarted(turn_id) => {
                self.running = Some(turn_id.clone());
                return Some(turn_id);
            }
            GoalSignal::TurnCompleted(turn_id, _) => {
                if self.running.as_deref() == Some(turn_id.as_str()) {
                    self.running = None;
                }
            }
            GoalSignal::Goal(event) => match &*event {
                ServerNotification::ThreadGoalUpdated(update) => {
                    self.seen_update = true;
                    self.goal = update.goal.clone();
                    if is_terminal(&self.goal.status) {
                        self.ended = Some(Some(self.goal.clone()));
                    }
                }
                ServerNotification::ThreadGoalCleared(_) if self.seen_update => {
                    self.ended = Some(None);
                }
                _ => {}
            },
        }
        None
    }

    /// Waits for the next turn the runtime starts for this goal and returns its handle, or
    /// `None` once the goal is no longer active (complete, paused, blocked, limited, cleared).
    ///
    /// # Errors
    /// [`Error::Timeout`] when the goal is active but the runtime starts no turn within the
    /// client's request timeout while none is running; [`Error::TransportClosed`].
    pub async fn next_turn(&mut self) -> Result<Option<AsyncTurnHandle>> {
        loop {
            if self.ended.is_some() {
                return Ok(None);
            }
            if let GoalStep::TurnStarted(turn) = self.step().await? {
                return Ok(Some(turn));
            }
        }
    }

    /// The turn of this goal that is running, as far as this handle has seen.
    pub(crate) fn running_turn(&self) -> Option<&str> {
        self.running.as_deref()
    }

    /// The goal's end as seen so far: `Some(None)` when it was cleared, `Some(Some(goal))` for
    /// a terminal status.
    pub(crate) fn ended(&self) -> Option<&Option<proto::ThreadGoal>> {
        self.ended.as_ref()
    }

    /// Waits for the next thing that happens to the goal and applies it.
    ///
    /// While a turn runs this waits as long as the model works; while the goal is active and
    /// idle it waits at most the request timeout, then asks the runtime for the goal's status.
    pub(crate) async fn step(&mut self) -> Result<GoalStep> {
        let timeout = self.thread.codex().config().request_timeout;
        let signal = if self.running.is_some() || self.ended.is_some() {
            self.signals.recv().await
        } else {
            match tokio::time::timeout(timeout, self.signals.recv()).await {
                Ok(signal) => signal,
                Err(_) => {
                    // Maybe a status change we were not told about: ask.
                    return match self.get().await? {
                        Some(goal) if !is_terminal(&goal.status) => Err(Error::Timeout {
                            method: "thread/goal/set (waiting for the goal's next turn)".into(),
                            timeout,
                        }),
                        goal => {
                            if let Some(goal) = &goal {
                                self.goal = goal.clone();
                            }
                            self.ended = Some(goal);
                            Ok(GoalStep::GoalChanged)
                        }
                    };
                }
            }
        };
        let Some(signal) = signal else {
            return Err(self.closed());
        };
        let completed = match &signal {
            GoalSignal::TurnCompleted(turn_id, interrupted) => {
                Some((turn_id.clone(), *interrupted))
            }
            _ => None,
        };
        if let Some(turn_id) = self.apply(signal) {
            // The router buffered this turn's events from its `turn/started` on (or this
            // subscription is the first to see them), so the handle sees the whole turn,
            // with every item, even when it has already finished.
            let codex = self.thread.codex();
            let subscription = codex
                .inner
                .conn()
                .shared
                .router
                .subscribe_turn(&turn_id, None);
            return Ok(GoalStep::TurnStarted(AsyncTurnHandle::new(
                codex.clone(),
                self.thread.id().to_string(),
                turn_id,
                subscription,
                StreamSettings::resolve(codex, None, None),
            )));
        }
        Ok(match completed {
            Some((turn_id, interrupted)) => GoalStep::TurnCompleted(turn_id, interrupted),
            None => GoalStep::GoalChanged,
        })
    }

    /// Drives the goal to its end: runs every goal turn as it starts (collecting the results)
    /// and returns once the goal is no longer active and no turn of it runs any more.
    ///
    /// # Errors
    /// As [`AsyncGoalHandle::next_turn`] and [`AsyncTurnHandle::run`], except that failed turns
    /// are collected rather than returned as errors (the runtime decides whether the goal goes
    /// on after one).
    pub async fn run(&mut self) -> Result<GoalResult> {
        let mut turns = Vec::new();
        while let Some(turn) = self.next_turn().await? {
            match turn.run().await {
                Ok(result) => turns.push(result),
                Err(Error::TurnFailed(failed)) => turns.push(*failed.result),
                Err(other) => return Err(other),
            }
        }
        Ok(GoalResult {
            goal: self.ended.clone().flatten(),
            turns,
        })
    }

    /// Like [`run`](Self::run), with a time limit.
    ///
    /// # Errors
    /// [`Error::Timeout`] when the goal is still going after `limit` (it keeps going; pause it
    /// if it should stop).
    pub async fn run_timeout(&mut self, limit: Duration) -> Result<GoalResult> {
        match tokio::time::timeout(limit, self.run()).await {
            Ok(result) => result,
            Err(_) => Err(Error::Timeout {
                method: "goal run".into(),
                timeout: limit,
            }),
        }
    }

    /// Reads the thread's goal now (`thread/goal/get`); `None` when it has none.
    ///
    /// # Errors
    /// [`Error::JsonRpc`] when the runtime refuses.
    pub async fn get(&self) -> Result<Option<proto::ThreadGoal>> {
        self.thread.goal_get().await
    }

    /// Pauses the goal (`thread/goal/set` with status `paused`): the runtime starts no more
    /// turns for it; a running turn finishes. The handle's run then ends.
    ///
    /// # Errors
    /// [`Error::JsonRpc`] when the runtime refuses.
    pub async fn pause(&self) -> Result<proto::ThreadGoal> {
        let params = proto::ThreadGoalSetParams {
            objective: None,
            origin: Some(proto::ThreadGoalMutationOrigin::User),
            status: Some(proto::ThreadGoalStatus::Paused),
            thread_id: self.thread.id().to_string(),
            token_budget: None,
            extra: Default::default(),
        };
        let codex = self.thread.codex();
        Ok(codex.call::<requests::ThreadGoalSet>(&params).await?.goal)
    }

    /// Clears the goal (`thread/goal/clear`); returns whether there was one. The handle's run
    /// then ends.
    ///
    /// # Errors
    /// [`Error::JsonRpc`] when the runtime refuses.
    pub async fn clear(&self) -> Result<bool> {
        self.thread.goal_clear().await
    }
}

impl AsyncThread {
    /// Gives this thread a goal and lets the runtime work on it: clears any previous goal, sets
    /// `objective` with status `active`, and returns a handle that yields the turns the runtime
    /// starts for it ([`AsyncGoalHandle::next_turn`]) and waits for its end
    /// ([`AsyncGoalHandle::run`]).
    ///
    /// The thread must be idle and persisted: not ephemeral, with a rollout path (a thread
    /// started here has one at once). Goal starts and turn starts on one thread are serialized.
    ///
    /// ```no_run
    /// # async fn example(thread: openai_codex::AsyncThread) -> openai_codex::Result<()> {
    /// let mut goal = thread.goal_start("Make the test suite pass").await?;
    /// while let Some(turn) = goal.next_turn().await? {
    ///     let result = turn.run().await?;
    ///     println!("{:?}", result.final_response);
    /// }
    /// println!("goal ended as {:?}", goal.goal().status);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty objective or a thread that is ephemeral, not
    /// persisted, or busy (nothing is sent then, apart from `thread/read`); [`Error::JsonRpc`]
    /// when the runtime refuses (e.g. goals disabled with `[features] goals = false`).
    pub async fn goal_start(&self, objective: impl Into<String>) -> Result<AsyncGoalHandle> {
        let objective = objective.into();
        if objective.trim().is_empty() {
            return Err(Error::InvalidInput {
                field: "objective",
                message: "a goal needs a non-empty objective".into(),
            });
        }
        let codex = self.codex();
        let _guard = codex.inner.turn_locks.lock(self.id()).await;
        let thread = self.read(false).await?.thread;
        if thread.ephemeral {
            return Err(Error::InvalidInput {
                field: "thread",
                message: "an ephemeral thread cannot run a goal; start one with ephemeral(false)"
                    .into(),
            });
        }
        if thread.path.is_none() {
            return Err(Error::InvalidInput {
                field: "thread",
                message: "the thread is not persisted (it has no rollout path)".into(),
            });
        }
        if !matches!(thread.status, proto::ThreadStatus::Idle(_)) {
            return Err(Error::InvalidInput {
                field: "thread",
                message: format!(
                    "the thread must be idle to start a goal, but its status is {}",
                    serde_json::to_value(&thread.status)
                        .ok()
                        .and_then(|v| v.get("type").cloned())
                        .map_or_else(|| "unknown".to_string(), |t| t.to_string())
                ),
            });
        }
        self.goal_clear().await?;
        // Registered before the set, so the first goal turn cannot be missed.
        let signals = codex.inner.conn().shared.router.watch_goal(self.id());
        let params = proto::ThreadGoalSetParams {
            objective: Some(objective),
            origin: Some(proto::ThreadGoalMutationOrigin::User),
            status: Some(proto::ThreadGoalStatus::Active),
            thread_id: self.id().to_string(),
            token_budget: None,
            extra: Default::default(),
        };
        let goal = codex.call::<requests::ThreadGoalSet>(&params).await?.goal;
        Ok(AsyncGoalHandle::new(self.clone(), goal, signals))
    }

    /// The thread's goal (`thread/goal/get`); `None` when it has none.
    ///
    /// # Errors
    /// [`Error::JsonRpc`] when the runtime refuses.
    pub async fn goal_get(&self) -> Result<Option<proto::ThreadGoal>> {
        let params = proto::ThreadGoalGetParams {
            thread_id: self.id().to_string(),
            extra: Default::default(),
        };
        Ok(self
            .codex()
            .call::<requests::ThreadGoalGet>(&params)
            .await?
            .goal)
    }

    /// Clears the thread's goal (`thread/goal/clear`); returns whether there was one.
    ///
    /// # Errors
    /// [`Error::JsonRpc`] when the runtime refuses.
    pub async fn goal_clear(&self) -> Result<bool> {
        let params = proto::ThreadGoalClearParams {
            origin: Some(proto::ThreadGoalMutationOrigin::User),
            thread_id: self.id().to_string(),
            extra: Default::default(),
        };
        Ok(self
            .codex()
            .call::<requests::ThreadGoalClear>(&params)
            .await?
            .cleared)
    }
}
