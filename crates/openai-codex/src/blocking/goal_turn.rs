//! `GoalTurn`: a goal run as one logical turn, for the blocking client.

use openai_codex_protocol as proto;

use super::codex::Codex;
use super::iter::EventIter;
use super::thread::Thread;
use super::turn::TurnHandle;
use crate::error::Result;
use crate::goal_turn::{AsyncGoalTurn, GoalTurnStream};
use crate::inputs::Input;
use crate::router::TurnEvent;
use crate::turn::{InterruptOutcome, TurnResult};

#[allow(unused_imports)] // referenced by the docs
use crate::error::Error;

/// A goal run as one logical turn: [`AsyncGoalTurn`] with blocking methods.
///
/// Cheap to clone; clones may be used from different OS threads (steer or interrupt from one
/// while another iterates the events). Dropping the last clone while the goal still runs
/// pauses the goal and interrupts its running turn.
///
/// ```no_run
/// # fn demo(thread: &openai_codex::Thread) -> openai_codex::Result<()> {
/// let goal = thread.start_goal("Make the test suite pass")?;
/// for event in goal.stream() {
///     println!("{:?}", event?);
/// }
/// let result = goal.run()?; // one result for every runtime turn of the goal
/// println!("{:?} ({:?})", result.final_response, goal.goal().status);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct GoalTurn {
    codex: Codex,
    inner: AsyncGoalTurn,
}

impl GoalTurn {
    /// The async twin of this handle, on the client's runtime.
    pub fn as_async(&self) -> &AsyncGoalTurn {
        &self.inner
    }

    /// The logical turn's id: the id of the goal's first runtime turn.
    pub fn id(&self) -> &str {
        self.inner.id()
    }

    /// The thread the goal runs on.
    pub fn thread_id(&self) -> &str {
        self.inner.thread_id()
    }

    /// The goal as last reported.
    pub fn goal(&self) -> proto::ThreadGoal {
        self.inner.goal()
    }

    /// The runtime turns of the goal so far, in the order they started.
    pub fn runtime_turns(&self) -> Vec<TurnHandle> {
        self.inner
            .runtime_turns()
            .into_iter()
            .map(|turn| TurnHandle::new(self.codex.clone(), turn))
            .collect()
    }

    /// The id of the runtime turn running now, if any.
    pub fn current_turn_id(&self) -> Option<String> {
        self.inner.current_turn_id()
    }

    /// Whether the logical turn is over.
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }

    /// The events of every runtime turn of the goal, in order, as a blocking iterator (see
    /// [`AsyncGoalTurn::stream`]).
    pub fn stream(&self) -> GoalTurnIter {
        GoalTurnIter {
            inner: EventIter::new(self.inner.stream(), self.codex.clone()),
        }
    }

    /// Waits for the logical turn to end and returns the merged result of its runtime turns
    /// (see [`AsyncGoalTurn::run`]).
    ///
    /// # Errors
    /// As the async twin; [`Error::BlockingInAsync`] inside a tokio runtime.
    pub fn run(&self) -> Result<TurnResult> {
        self.codex.call(self.inner.run())
    }

    /// Adds input to the runtime turn running now.
    ///
    /// # Errors
    /// As the async twin; [`Error::BlockingInAsync`] inside a tokio runtime.
    pub fn steer(&self, input: impl Into<Input>) -> Result<proto::TurnSteerResponse> {
        self.codex.call(self.inner.steer(input))
    }

    /// Pauses the goal and interrupts the runtime turn running now; the logical turn ends as
    /// `interrupted` ([`InterruptOutcome::Requested`]). A logical turn already over is left
    /// alone: [`InterruptOutcome::AlreadyFinished`] with its status.
    ///
    /// # Errors
    /// As the async twin; [`Error::BlockingInAsync`] inside a tokio runtime.
    pub fn interrupt(&self) -> Result<InterruptOutcome> {
        self.codex.call(self.inner.interrupt())
    }

    /// Pauses the goal and lets the running runtime turn finish.
    ///
    /// # Errors
    /// As the async twin; [`Error::BlockingInAsync`] inside a tokio runtime.
    pub fn pause(&self) -> Result<proto::ThreadGoal> {
        self.codex.call(self.inner.pause())
    }
}

/// A goal turn's events as a blocking iterator over the async [`GoalTurnStream`] (see
/// [`GoalTurn::stream`]).
#[derive(Debug)]
pub struct GoalTurnIter {
    inner: EventIter<GoalTurnStream>,
}

impl Iterator for GoalTurnIter {
    type Item = Result<TurnEvent>;

    fn next(&mut self) -> Option<Result<TurnEvent>> {
        self.inner.next_event()
    }
}

impl std::iter::FusedIterator for GoalTurnIter {}

impl Thread {
    /// Gives this thread a goal and returns it as one logical turn; see
    /// [`AsyncThread::start_goal`](crate::AsyncThread::start_goal).
    ///
    /// # Errors
    /// As the async twin; [`Error::BlockingInAsync`] inside a tokio runtime.
    pub fn start_goal(&self, objective: impl Into<String>) -> Result<GoalTurn> {
        let inner = self.codex().call(self.as_async().start_goal(objective))?;
        Ok(GoalTurn {
            codex: self.codex().clone(),
            inner,
        })
    }

    /// Gives this thread a goal and waits until the runtime is done with it; see
    /// [`AsyncThread::run_goal`](crate::AsyncThread::run_goal).
    ///
    /// # Errors
    /// As the async twin; [`Error::BlockingInAsync`] inside a tokio runtime.
    pub fn run_goal(&self, objective: impl Into<String>) -> Result<TurnResult> {
        self.codex().call(self.as_async().run_goal(objective))
    }
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn check<T: Send + Sync + 'static>() {}
    check::<GoalTurn>();
    fn send<T: Send + 'static>() {}
    send::<GoalTurnIter>();
}
