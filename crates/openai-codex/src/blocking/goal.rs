//! `GoalHandle`: a thread goal of the blocking client.

use std::time::Duration;

use openai_codex_protocol as proto;

use super::codex::Codex;
use super::thread::Thread;
use super::turn::TurnHandle;
use crate::error::Result;
use crate::goal::{AsyncGoalHandle, GoalResult};

#[allow(unused_imports)] // referenced by the docs
use crate::error::Error;

/// An active goal on a thread: [`AsyncGoalHandle`] with blocking methods.
///
/// ```no_run
/// # fn demo(thread: &openai_codex::Thread) -> openai_codex::Result<()> {
/// let mut goal = thread.goal_start("Make the test suite pass")?;
/// while let Some(turn) = goal.next_turn()? {
///     println!("{:?}", turn.run()?.final_response);
/// }
/// println!("goal ended as {:?}", goal.goal().status);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct GoalHandle {
    codex: Codex,
    thread: Thread,
    inner: AsyncGoalHandle,
}

impl GoalHandle {
    pub(crate) fn new(codex: Codex, thread: Thread, inner: AsyncGoalHandle) -> Self {
        Self {
            codex,
            thread,
            inner,
        }
    }

    /// The thread the goal runs on.
    pub fn thread(&self) -> &Thread {
        &self.thread
    }

    /// The goal as last reported.
    pub fn goal(&self) -> &proto::ThreadGoal {
        self.inner.goal()
    }

    /// Whether the goal has ended (a terminal status, or cleared).
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }

    /// The goal's next turn, once the runtime starts it; `None` when the goal has ended.
    ///
    /// # Errors
    /// As [`AsyncGoalHandle::next_turn`]; [`Error::BlockingInAsync`] inside a tokio runtime.
    pub fn next_turn(&mut self) -> Result<Option<TurnHandle>> {
        let codex = self.codex.clone();
        let next = codex.call(self.inner.next_turn())?;
        Ok(next.map(|turn| TurnHandle::new(codex, turn)))
    }

    /// Drives every remaining goal turn to its end and returns how the goal ended.
    ///
    /// # Errors
    /// As [`AsyncGoalHandle::run`]; [`Error::BlockingInAsync`] inside a tokio runtime.
    pub fn run(&mut self) -> Result<GoalResult> {
        let codex = self.codex.clone();
        codex.call(self.inner.run())
    }

    /// [`GoalHandle::run`] with a time limit.
    ///
    /// # Errors
    /// As [`AsyncGoalHandle::run_timeout`]; [`Error::BlockingInAsync`] inside a tokio runtime.
    pub fn run_timeout(&mut self, limit: Duration) -> Result<GoalResult> {
        let codex = self.codex.clone();
        codex.call(self.inner.run_timeout(limit))
    }

    /// The goal as the runtime has it now.
    ///
    /// # Errors
    /// As [`AsyncGoalHandle::get`]; [`Error::BlockingInAsync`] inside a tokio runtime.
    pub fn get(&self) -> Result<Option<proto::ThreadGoal>> {
        self.codex.call(self.inner.get())
    }

    /// Pauses the goal.
    ///
    /// # Errors
    /// As [`AsyncGoalHandle::pause`]; [`Error::BlockingInAsync`] inside a tokio runtime.
    pub fn pause(&self) -> Result<proto::ThreadGoal> {
        self.codex.call(self.inner.pause())
    }

    /// Clears the goal.
    ///
    /// # Errors
    /// As [`AsyncGoalHandle::clear`]; [`Error::BlockingInAsync`] inside a tokio runtime.
    pub fn clear(&self) -> Result<bool> {
        self.codex.call(self.inner.clear())
    }
}

impl Thread {
    /// Starts a goal on this idle, persisted thread; see [`AsyncThread::goal_start`].
    ///
    /// [`AsyncThread::goal_start`]: crate::AsyncThread::goal_start
    ///
    /// # Errors
    /// As the async twin; [`Error::BlockingInAsync`] inside a tokio runtime.
    pub fn goal_start(&self, objective: impl Into<String>) -> Result<GoalHandle> {
        let inner = self.codex().call(self.as_async().goal_start(objective))?;
        Ok(GoalHandle::new(self.codex().clone(), self.clone(), inner))
    }

    /// The thread's goal, if any.
    ///
    /// # Errors
    /// As the async twin; [`Error::BlockingInAsync`] inside a tokio runtime.
    pub fn goal_get(&self) -> Result<Option<proto::ThreadGoal>> {
        self.codex().call(self.as_async().goal_get())
    }

    /// Clears the thread's goal; `true` when there was one.
    ///
    /// # Errors
    /// As the async twin; [`Error::BlockingInAsync`] inside a tokio runtime.
    pub fn goal_clear(&self) -> Result<bool> {
        self.codex().call(self.as_async().goal_clear())
    }

    /// Installs a typed handler for server requests of this thread only.
    pub fn set_handler(&self, handler: impl crate::approval::RequestHandler) {
        self.as_async().set_handler(handler);
    }

    /// Removes this thread's handler (the client's applies again).
    pub fn clear_handler(&self) {
        self.as_async().clear_handler();
    }
}

impl Codex {
    /// Installs a typed handler for server requests (see [`crate::approval`]).
    pub fn set_handler(&self, handler: impl crate::approval::RequestHandler) {
        self.async_client().set_handler(handler);
    }

    /// Installs a typed handler for server requests of one thread.
    pub fn set_thread_handler(
        &self,
        thread_id: &str,
        handler: impl crate::approval::RequestHandler,
    ) {
        self.async_client().set_thread_handler(thread_id, handler);
    }

    /// Removes a thread's handler.
    pub fn clear_thread_handler(&self, thread_id: &str) {
        self.async_client().clear_thread_handler(thread_id);
    }
}
