//! Goals as one logical turn: [`AsyncThread::start_goal`] and [`AsyncThread::run_goal`].
//!
//! The runtime works on a goal in as many turns as it needs, starting each by itself.
//! [`AsyncGoalTurn`] presents them as one turn, as the official SDK's newer versions do: one
//! handle with one id (the first runtime turn's), one stream carrying the events of every goal
//! turn in order, one merged [`TurnResult`], and `steer`/`interrupt` that act on whichever
//! runtime turn is running at the time.
//!
//! A background task follows the goal (turn starts and ends, goal status) from the moment the
//! goal is set, so steering and interrupting work whether or not anyone is reading the stream.
//! The logical turn ends when the goal is no longer active (complete, paused, blocked, limited,
//! cleared) and no turn of it runs, or when one of its runtime turns is interrupted.
//!
//! Giving up pauses the goal rather than leaving it active with nobody watching: dropping the
//! future of [`AsyncGoalTurn::run`] (or of [`AsyncThread::run_goal`]) before it finishes, or
//! dropping the last clone of the handle, pauses the goal and interrupts its running turn in
//! the background, as [`AsyncGoalTurn::interrupt`] does in the foreground.
//!
//! For per-turn control (one handle per runtime turn) use [`AsyncThread::goal_start`].

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use openai_codex_protocol::{self as proto, requests};
use tokio::sync::watch;

use crate::error::{ClosedReason, Error, Result};
use crate::goal::{AsyncGoalHandle, GoalStep};
use crate::inputs::Input;
use crate::router::TurnEvent;
use crate::thread::AsyncThread;
use crate::turn::{final_response, AsyncTurnHandle, InterruptOutcome, TurnResult};

/// Why following the goal stopped early, kept so every consumer gets the same error.
#[derive(Clone, Debug)]
enum Failure {
    Closed(ClosedReason),
    Timeout {
        method: String,
        timeout: std::time::Duration,
    },
    Other(String),
}

impl Failure {
    fn from_error(error: &Error) -> Self {
        match error {
            Error::TransportClosed(reason) => Failure::Closed(reason.clone()),
            Error::Timeout { method, timeout } => Failure::Timeout {
                method: method.clone(),
                timeout: *timeout,
            },
            other => Failure::Other(other.to_string()),
        }
    }

    fn to_error(&self) -> Error {
        match self {
            Failure::Closed(reason) => Error::TransportClosed(reason.clone()),
            Failure::Timeout { method, timeout } => Error::Timeout {
                method: method.clone(),
                timeout: *timeout,
            },
            Failure::Other(message) => Error::Protocol(message.clone()),
        }
    }
}

/// What the tracker has learned about the goal.
#[derive(Debug)]
struct State {
    goal: proto::ThreadGoal,
    /// Every runtime turn of the goal, in the order they started.
    turns: Vec<AsyncTurnHandle>,
    /// The runtime turn running now.
    running: Option<String>,
    /// The logical turn is over; no more runtime turns will be added.
    finished: bool,
    /// Following the goal failed (the runtime went away, or the goal stalled).
    failure: Option<Failure>,
    /// The caller interrupted the logical turn.
    interrupted: bool,
}

/// State shared by the handles and the tracker task.
#[derive(Debug)]
struct Core {
    thread: AsyncThread,
    id: String,
    state: Mutex<State>,
    /// Bumped after every change of `state`.
    changed: watch::Sender<u64>,
    /// Whether the background pause/interrupt has been sent (sent at most once).
    cancel_sent: AtomicBool,
    /// Where background clean-up runs (the client's runtime, also for the blocking client).
    runtime: tokio::runtime::Handle,
}

impl Core {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("goal turn state poisoned")
    }

    fn update(&self, change: impl FnOnce(&mut State)) {
        change(&mut self.lock());
        self.changed.send_modify(|version| *version += 1);
    }

    fn is_finished(&self) -> bool {
        self.lock().finished
    }

    /// Pauses the goal and interrupts its running turn, from a task of its own: used when the
    /// caller gave up without waiting.
    fn cancel_in_background(self: &Arc<Self>) {
        if self.is_finished() || self.cancel_sent.swap(true, Ordering::SeqCst) {
            return;
        }
        let core = Arc::clone(self);
        self.runtime.spawn(async move {
            if let Err(error) = core.stop().await {
                tracing::debug!(%error, "pausing an abandoned goal failed");
            }
        });
    }

    /// Pauses the goal, then interrupts the running turn; marks the logical turn interrupted.
    ///
    /// The outcome is `Requested` even when the runtime turn ended meanwhile ("no active turn"):
    /// the goal is paused, so no further turn starts and the logical turn ends `interrupted`.
    async fn stop(&self) -> Result<InterruptOutcome> {
        self.update(|state| state.interrupted = true);
        pause(&self.thread).await?;
        let running = {
            let state = self.lock();
            state
                .running
                .as_ref()
                .and_then(|id| state.turns.iter().find(|t| t.id() == id).cloned())
        };
        if let Some(turn) = running {
            turn.interrupt().await?;
        }
        Ok(InterruptOutcome::Requested)
    }

    /// How the logical turn ended, when it has: `interrupted` once interrupted, otherwise the
    /// last runtime turn's status; `None` when following the goal failed or that turn's
    /// completion is unknown.
    fn finished_status(&self) -> Option<proto::TurnStatus> {
        let state = self.lock();
        if !state.finished || state.failure.is_some() {
            return None;
        }
        if state.interrupted {
            return Some(proto::TurnStatus::Interrupted);
        }
        match state.turns.last() {
            Some(turn) => turn.result().map(|result| result.status),
            None => Some(proto::TurnStatus::Completed),
        }
    }
}

async fn pause(thread: &AsyncThread) -> Result<proto::ThreadGoal> {
    let params = proto::ThreadGoalSetParams {
        objective: None,
        origin: Some(proto::ThreadGoalMutationOrigin::User),
        status: Some(proto::ThreadGoalStatus::Paused),
        thread_id: thread.id().to_string(),
        token_budget: None,
        extra: Default::default(),
    };
    Ok(thread
        .codex()
        .call::<requests::ThreadGoalSet>(&params)
        .await?
        .goal)
}

/// Follows the goal until the logical turn is over.
async fn track(core: Arc<Core>, mut goal: AsyncGoalHandle) {
    loop {
        match goal.step().await {
            Ok(GoalStep::TurnStarted(turn)) => core.update(|state| {
                state.running = Some(turn.id().to_string());
                state.turns.push(turn);
            }),
            Ok(GoalStep::TurnCompleted(turn_id, interrupted)) => {
                core.update(|state| {
                    if state.running.as_deref() == Some(turn_id.as_str()) {
                        state.running = None;
                    }
                    // An interrupted runtime turn ends the logical turn, whoever interrupted it.
                    if interrupted && state.turns.iter().any(|t| t.id() == turn_id) {
                        state.finished = true;
                    }
                });
            }
            Ok(GoalStep::GoalChanged) => {}
            Err(error) => {
                core.update(|state| {
                    state.failure = Some(Failure::from_error(&error));
                    state.finished = true;
                });
                return;
            }
        }
        let ended = goal.ended().is_some() && goal.running_turn().is_none();
        core.update(|state| {
            state.goal = goal.goal().clone();
            if ended {
                state.finished = true;
            }
        });
        if core.is_finished() {
            return;
        }
    }
}

/// Owns the tracker: the last handle to go away stops it, and pauses a goal still running.
#[derive(Debug)]
struct Owner {
    core: Arc<Core>,
    tracker: tokio::task::AbortHandle,
}

impl Drop for Owner {
    fn drop(&mut self) {
        self.core.cancel_in_background();
        self.tracker.abort();
    }
}

/// A goal run as one logical turn ([`AsyncThread::start_goal`]).
///
/// Cheap to clone; clones share everything. Dropping the last clone while the goal still runs
/// pauses the goal and interrupts its running turn.
#[derive(Clone, Debug)]
pub struct AsyncGoalTurn {
    owner: Arc<Owner>,
}

impl AsyncGoalTurn {
    fn core(&self) -> &Arc<Core> {
        &self.owner.core
    }

    /// The logical turn's id: the id of the goal's first runtime turn.
    ///
    /// ```no_run
    /// # async fn example(goal: openai_codex::AsyncGoalTurn) {
    /// println!("goal turn {} on thread {}", goal.id(), goal.thread_id());
    /// # }
    /// ```
    pub fn id(&self) -> &str {
        &self.core().id
    }

    /// The thread the goal runs on.
    pub fn thread_id(&self) -> &str {
        self.core().thread.id()
    }

    /// The goal as last reported (its status, time and tokens used).
    ///
    /// ```no_run
    /// # async fn example(goal: openai_codex::AsyncGoalTurn) {
    /// println!("{:?}, {} tokens", goal.goal().status, goal.goal().tokens_used);
    /// # }
    /// ```
    pub fn goal(&self) -> proto::ThreadGoal {
        self.core().lock().goal.clone()
    }

    /// The runtime turns of the goal so far, in the order they started (each an ordinary turn
    /// handle: its own stream and result).
    pub fn runtime_turns(&self) -> Vec<AsyncTurnHandle> {
        self.core().lock().turns.clone()
    }

    /// The id of the runtime turn running now, if any.
    pub fn current_turn_id(&self) -> Option<String> {
        self.core().lock().running.clone()
    }

    /// Whether the logical turn is over (no more runtime turns will run for it).
    pub fn is_finished(&self) -> bool {
        self.core().is_finished()
    }

    /// The events of every runtime turn of the goal, in order, each turn's from its
    /// `turn/started` to its `turn/completed`; the stream ends when the logical turn does.
    /// Events keep the runtime's own turn ids ([`runtime_turns`](Self::runtime_turns) lists
    /// them); deltas a slow consumer missed appear as [`TurnEvent::Lagged`].
    ///
    /// Several streams may run at once; each sees every turn. A stream ends with an error item
    /// when the runtime goes away or the goal stalls.
    ///
    /// ```no_run
    /// # async fn example(goal: openai_codex::AsyncGoalTurn) -> openai_codex::Result<()> {
    /// use futures::StreamExt;
    /// use openai_codex::types::ServerNotification;
    ///
    /// let mut events = goal.stream();
    /// while let Some(event) = events.next().await {
    ///     if let Some(ServerNotification::ItemAgentMessageDelta(d)) = event?.notification() {
    ///         print!("{}", d.delta);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn stream(&self) -> GoalTurnStream {
        let reader = StreamState {
            owner: Arc::clone(&self.owner),
            changes: self.core().changed.subscribe(),
            next: 0,
            current: None,
            done: false,
        };
        GoalTurnStream {
            inner: futures::stream::unfold(reader, StreamState::next_event).boxed(),
        }
    }

    /// Waits for the logical turn to end and returns one result for all its runtime turns:
    /// the first turn's id and start, the last one's completion, every item in order, the
    /// answer (the last final answer of any of them), the last usage report. Its status is the
    /// last runtime turn's, `interrupted` after [`interrupt`](Self::interrupt), and `failed`
    /// when any runtime turn failed.
    ///
    /// Dropping this future before it finishes pauses the goal and interrupts its running
    /// turn.
    ///
    /// # Errors
    /// [`Error::TurnFailed`] (with the merged result) when a runtime turn failed;
    /// [`Error::TransportClosed`] when the runtime went away first; [`Error::Timeout`] when the
    /// goal stays active but the runtime starts no turn for it within the request timeout.
    ///
    /// ```no_run
    /// # async fn example(goal: openai_codex::AsyncGoalTurn) -> openai_codex::Result<()> {
    /// let result = goal.run().await?;
    /// println!("{:?}: {:?}", goal.goal().status, result.final_response);
    /// # Ok(()) }
    /// ```
    pub async fn run(&self) -> Result<TurnResult> {
        let mut guard = CancelOnDrop {
            core: Some(Arc::clone(self.core())),
        };
        let outcome = self.run_inner().await;
        guard.core = None;
        outcome
    }

    async fn run_inner(&self) -> Result<TurnResult> {
        let mut changes = self.core().changed.subscribe();
        let mut results = Vec::new();
        loop {
            changes.borrow_and_update();
            let (next, finished, failure) = {
                let state = self.core().lock();
                (
                    state.turns.get(results.len()).cloned(),
                    state.finished,
                    state.failure.clone(),
                )
            };
            if let Some(turn) = next {
                match turn.run().await {
                    Ok(result) => results.push(result),
                    Err(Error::TurnFailed(failed)) => results.push(*failed.result),
                    Err(other) => return Err(other),
                }
                continue;
            }
            if finished {
                if let Some(failure) = failure {
                    return Err(failure.to_error());
                }
                break;
            }
            if changes.changed().await.is_err() {
                break;
            }
        }
        let interrupted = self.core().lock().interrupted;
        merge(self.id(), results, interrupted).into_result()
    }

    /// Adds input to the runtime turn running now (waiting for the next one to start when the
    /// goal is between turns).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the logical turn is over (nothing to steer);
    /// [`Error::JsonRpc`] when the runtime refuses; [`Error::InvalidInput`] for a local image
    /// that cannot be read.
    ///
    /// ```no_run
    /// # async fn example(goal: openai_codex::AsyncGoalTurn) -> openai_codex::Result<()> {
    /// goal.steer("Also update the changelog.").await?;
    /// # Ok(()) }
    /// ```
    pub async fn steer(&self, input: impl Into<Input>) -> Result<proto::TurnSteerResponse> {
        let input = input.into();
        let mut changes = self.core().changed.subscribe();
        let mut refused: Option<(String, Error)> = None;
        loop {
            changes.borrow_and_update();
            let (running, finished) = {
                let state = self.core().lock();
                let running = state
                    .running
                    .as_ref()
                    .and_then(|id| state.turns.iter().find(|t| t.id() == id).cloned());
                (running, state.finished)
            };
            match running {
                // The turn refused while it was ending: try the next one, once.
                Some(turn)
                    if refused
                        .as_ref()
                        .is_none_or(|(refused_id, _)| refused_id != turn.id()) =>
                {
                    match turn.steer(input.clone()).await {
                        Err(error @ Error::JsonRpc { .. }) if refused.is_none() => {
                            refused = Some((turn.id().to_string(), error));
                        }
                        outcome => return outcome,
                    }
                }
                _ if finished => {
                    return Err(refused.map_or_else(
                        || Error::InvalidInput {
                            field: "turn",
                            message: format!(
                                "goal turn {} has finished; there is no runtime turn to steer",
                                self.id()
                            ),
                        },
                        |(_, error)| error,
                    ))
                }
                _ => {
                    if changes.changed().await.is_err() {
                        return Err(Error::Protocol("the goal tracker stopped".into()));
                    }
                }
            }
        }
    }

    /// Stops the logical turn: pauses the goal (so the runtime starts no further turn for it),
    /// then interrupts the runtime turn running now. The logical turn then ends with status
    /// `interrupted`; the goal stays `paused` (resume it with `thread/goal/set`, or start a new
    /// goal), and the outcome is [`InterruptOutcome::Requested`].
    ///
    /// A logical turn that is already over is left alone: the outcome is
    /// [`InterruptOutcome::AlreadyFinished`] with its status (`None` when following the goal
    /// failed), and nothing is sent, as with [`AsyncTurnHandle::interrupt`].
    ///
    /// # Errors
    /// [`Error::JsonRpc`] when the runtime refuses.
    ///
    /// ```no_run
    /// # async fn example(goal: openai_codex::AsyncGoalTurn) -> openai_codex::Result<()> {
    /// use openai_codex::InterruptOutcome;
    ///
    /// if let InterruptOutcome::AlreadyFinished { status } = goal.interrupt().await? {
    ///     println!("the goal turn had already finished: {status:?}");
    /// }
    /// let result = goal.run().await?; // status: interrupted, unless it had finished
    /// # Ok(()) }
    /// ```
    pub async fn interrupt(&self) -> Result<InterruptOutcome> {
        if self.is_finished() {
            return Ok(InterruptOutcome::AlreadyFinished {
                status: self.core().finished_status(),
            });
        }
        self.core().stop().await
    }

    /// Pauses the goal and lets the running runtime turn finish: the logical turn then ends
    /// with that turn's status, and the goal stays `paused`.
    ///
    /// # Errors
    /// [`Error::JsonRpc`] when the runtime refuses.
    pub async fn pause(&self) -> Result<proto::ThreadGoal> {
        pause(&self.core().thread).await
    }
}

/// Pauses the goal when a `run()` future is dropped before it finished.
struct CancelOnDrop {
    core: Option<Arc<Core>>,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(core) = self.core.take() {
            core.cancel_in_background();
        }
    }
}

/// One result for a goal's runtime turns (see [`AsyncGoalTurn::run`]).
fn merge(id: &str, turns: Vec<TurnResult>, interrupted: bool) -> TurnResult {
    let first = turns.first();
    let last = turns.last();
    let started_at = first.and_then(|t| t.started_at);
    let completed_at = last.and_then(|t| t.completed_at);
    let failed = turns
        .iter()
        .rev()
        .find(|t| t.status == proto::TurnStatus::Failed);
    let status = if interrupted {
        proto::TurnStatus::Interrupted
    } else if failed.is_some() {
        proto::TurnStatus::Failed
    } else {
        last.map_or(proto::TurnStatus::Completed, |t| t.status.clone())
    };
    let error = failed
        .and_then(|t| t.error.clone())
        .or_else(|| last.and_then(|t| t.error.clone()));
    let duration_ms = match (started_at, completed_at) {
        (Some(start), Some(end)) => Some((end - start).max(0) * 1000),
        _ => turns.iter().map(|t| t.duration_ms).sum(),
    };
    let usage = turns.iter().rev().find_map(|t| t.usage.clone());
    let items: Vec<proto::ThreadItem> = turns.into_iter().flat_map(|t| t.items).collect();
    TurnResult {
        id: id.to_string(),
        status,
        error,
        started_at,
        completed_at,
        duration_ms,
        final_response: final_response(&items),
        items,
        usage,
    }
}

/// A stream of a goal turn's events (see [`AsyncGoalTurn::stream`]).
pub struct GoalTurnStream {
    inner: BoxStream<'static, Result<TurnEvent>>,
}

impl std::fmt::Debug for GoalTurnStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoalTurnStream").finish_non_exhaustive()
    }
}

impl Stream for GoalTurnStream {
    type Item = Result<TurnEvent>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}

struct StreamState {
    /// Keeps the goal followed while the stream is read.
    owner: Arc<Owner>,
    changes: watch::Receiver<u64>,
    /// The index of the next runtime turn to stream.
    next: usize,
    current: Option<crate::turn::TurnStream>,
    done: bool,
}

impl StreamState {
    async fn next_event(mut self) -> Option<(Result<TurnEvent>, Self)> {
        loop {
            if self.done {
                return None;
            }
            if let Some(current) = self.current.as_mut() {
                match current.next().await {
                    Some(event) => return Some((event, self)),
                    None => {
                        self.current = None;
                        continue;
                    }
                }
            }
            self.changes.borrow_and_update();
            let (next, finished, failure) = {
                let state = self.owner.core.lock();
                (
                    state.turns.get(self.next).cloned(),
                    state.finished,
                    state.failure.clone(),
                )
            };
            if let Some(turn) = next {
                self.next += 1;
                self.current = Some(turn.stream());
                continue;
            }
            if finished {
                self.done = true;
                return failure.map(|failure| (Err(failure.to_error()), self));
            }
            if self.changes.changed().await.is_err() {
                return None;
            }
        }
    }
}

impl AsyncThread {
    /// Gives this thread a goal and returns it as one logical turn: the runtime works on the
    /// goal turn after turn, and the handle streams all of them, steers and interrupts
    /// whichever is running, and merges their results (see [`AsyncGoalTurn`]).
    ///
    /// Returns once the runtime has started the goal's first turn (its id is the logical
    /// turn's id). The thread must be idle and persisted, as for
    /// [`goal_start`](Self::goal_start), which gives per-turn control instead.
    ///
    /// ```no_run
    /// # async fn example(thread: openai_codex::AsyncThread) -> openai_codex::Result<()> {
    /// let goal = thread.start_goal("Make the test suite pass").await?;
    /// let result = goal.run().await?;
    /// println!("{:?} after {} turns", result.final_response, goal.runtime_turns().len());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`goal_start`](Self::goal_start); [`Error::Timeout`] when the runtime starts no turn
    /// for the goal within the request timeout, and [`Error::Protocol`] when the goal ends
    /// before any turn started (the goal is paused in both cases).
    pub async fn start_goal(&self, objective: impl Into<String>) -> Result<AsyncGoalTurn> {
        let mut goal = self.goal_start(objective).await?;
        // Dropping this future from here on must not leave the goal active.
        let mut paused_on_drop = PauseOnDrop {
            thread: Some(self.clone()),
        };
        let first = loop {
            let step = match goal.step().await {
                Ok(step) => step,
                Err(error) => {
                    paused_on_drop.thread = None;
                    let _ = pause(self).await;
                    return Err(error);
                }
            };
            match step {
                GoalStep::TurnStarted(turn) => break turn,
                _ if goal.ended().is_some() => {
                    paused_on_drop.thread = None;
                    return Err(Error::Protocol(format!(
                        "the goal ended ({}) before the runtime started a turn for it",
                        goal.ended()
                            .and_then(|g| g.as_ref())
                            .map_or_else(|| "cleared".to_string(), |g| format!("{:?}", g.status))
                    )));
                }
                _ => {}
            }
        };
        paused_on_drop.thread = None;
        let (changed, _) = watch::channel(0);
        let core = Arc::new(Core {
            thread: self.clone(),
            id: first.id().to_string(),
            state: Mutex::new(State {
                goal: goal.goal().clone(),
                running: Some(first.id().to_string()),
                turns: vec![first],
                finished: false,
                failure: None,
                interrupted: false,
            }),
            changed,
            cancel_sent: AtomicBool::new(false),
            runtime: tokio::runtime::Handle::current(),
        });
        let tracker = core
            .runtime
            .spawn(track(Arc::clone(&core), goal))
            .abort_handle();
        Ok(AsyncGoalTurn {
            owner: Arc::new(Owner { core, tracker }),
        })
    }

    /// Gives this thread a goal and waits until the runtime is done with it; returns the
    /// merged result of all the goal's turns ([`start_goal`](Self::start_goal) then
    /// [`AsyncGoalTurn::run`]). Dropping the future before it finishes pauses the goal.
    ///
    /// ```no_run
    /// # async fn example(thread: openai_codex::AsyncThread) -> openai_codex::Result<()> {
    /// let result = thread.run_goal("Write the release notes").await?;
    /// println!("{:?}", result.final_response);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`start_goal`](Self::start_goal) and [`AsyncGoalTurn::run`].
    pub async fn run_goal(&self, objective: impl Into<String>) -> Result<TurnResult> {
        self.start_goal(objective).await?.run().await
    }
}

/// Pauses the goal when `start_goal` is dropped before its first turn started.
struct PauseOnDrop {
    thread: Option<AsyncThread>,
}

impl Drop for PauseOnDrop {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    let _ = pause(&thread).await;
                });
            }
        }
    }
}
