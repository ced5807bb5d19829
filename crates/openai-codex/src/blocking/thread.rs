//! `Thread`: a conversation thread of the blocking client.

use openai_codex_protocol as proto;

use super::codex::Codex;
use super::turn::TurnHandle;
use crate::error::Result;
use crate::inputs::RunInput;
use crate::thread::{AsyncThread, TurnOptions};
use crate::turn::TurnResult;

#[allow(unused_imports)] // referenced by the docs
use crate::error::Error;

/// A conversation thread: [`AsyncThread`] with blocking methods. Cheap to clone; it keeps its
/// [`Codex`] alive.
///
/// ```no_run
/// # fn demo(codex: &openai_codex::Codex) -> openai_codex::Result<()> {
/// use openai_codex::{ThreadStartOptions, TurnOptions};
///
/// let thread = codex.thread_start(ThreadStartOptions::default())?;
/// let first = thread.run("Name three prime numbers", TurnOptions::default())?;
/// let second = thread.run("And their sum?", TurnOptions::default())?;
/// println!("{:?} / {:?}", first.final_response, second.final_response);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Thread {
    codex: Codex,
    inner: AsyncThread,
}

impl PartialEq for Thread {
    fn eq(&self, other: &Self) -> bool {
        self.inner == other.inner
    }
}

impl Thread {
    pub(crate) fn new(codex: Codex, inner: AsyncThread) -> Self {
        Self { codex, inner }
    }

    /// The thread id.
    pub fn id(&self) -> &str {
        self.inner.id()
    }

    /// The client this thread belongs to.
    pub fn codex(&self) -> &Codex {
        &self.codex
    }

    /// The async twin of this thread, on the client's runtime.
    pub fn as_async(&self) -> &AsyncThread {
        &self.inner
    }

    /// Starts a turn and waits for its result: the common path.
    ///
    /// # Errors
    /// As [`Thread::turn`] and [`TurnHandle::run`] (a failed turn is [`Error::TurnFailed`]
    /// with its partial result).
    pub fn run(&self, input: impl Into<RunInput>, options: TurnOptions) -> Result<TurnResult> {
        self.codex.call(self.inner.run(input, options))
    }

    /// Runs a turn whose final answer must be a `T` (its strict schema is sent as the output
    /// schema) and parses the answer: the blocking twin of
    /// [`AsyncThread::run_typed`](crate::AsyncThread::run_typed).
    ///
    /// # Errors
    /// As [`AsyncThread::run_typed`](crate::AsyncThread::run_typed); [`Error::BlockingInAsync`]
    /// inside a tokio runtime.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn example(thread: openai_codex::Thread) -> openai_codex::Result<()> {
    /// #[derive(serde::Deserialize, schemars::JsonSchema)]
    /// struct Capital {
    ///     city: String,
    /// }
    ///
    /// let answer = thread.run_typed::<Capital>("Capital of France?", Default::default())?;
    /// println!("{}", answer.value.city);
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "typed")]
    pub fn run_typed<T>(
        &self,
        input: impl Into<RunInput>,
        options: TurnOptions,
    ) -> Result<crate::structured::TypedTurnResult<T>>
    where
        T: serde::de::DeserializeOwned + schemars::JsonSchema,
    {
        self.codex.call(self.inner.run_typed::<T>(input, options))
    }

    /// Starts a turn and returns its handle without waiting. Turn starts on one thread are
    /// serialized; turns on different threads go out in parallel.
    ///
    /// If the thread already has an active turn, the runtime adds this input to it (like a
    /// steer) and the handle is for that active turn, seeing its events from now on.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for bad input or options (nothing is sent); [`Error::JsonRpc`]
    /// when the runtime refuses; [`Error::BlockingInAsync`] inside a tokio runtime.
    pub fn turn(&self, input: impl Into<RunInput>, options: TurnOptions) -> Result<TurnHandle> {
        let handle = self.codex.call(self.inner.turn(input, options))?;
        Ok(TurnHandle::new(self.codex.clone(), handle))
    }

    /// A handle to an existing turn of this thread (for example one started by a goal or by
    /// another client). If the turn has already finished, the handle resolves at once.
    ///
    /// # Errors
    /// [`Error::JsonRpc`] when the thread's history cannot be read; [`Error::BlockingInAsync`]
    /// inside a tokio runtime.
    pub fn turn_handle(&self, turn_id: &str) -> Result<TurnHandle> {
        let handle = self.codex.call(self.inner.turn_handle(turn_id))?;
        Ok(TurnHandle::new(self.codex.clone(), handle))
    }

    /// Reads the thread (with its turns when `include_turns`).
    ///
    /// # Errors
    /// [`Error::JsonRpc`] for an unknown or unloaded thread; [`Error::BlockingInAsync`] inside a
    /// tokio runtime.
    pub fn read(&self, include_turns: bool) -> Result<proto::ThreadReadResponse> {
        self.codex.call(self.inner.read(include_turns))
    }

    /// Renames the thread.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty name; [`Error::JsonRpc`] for an unknown thread;
    /// [`Error::BlockingInAsync`] inside a tokio runtime.
    pub fn set_name(&self, name: impl Into<String>) -> Result<proto::ThreadSetNameResponse> {
        self.codex.call(self.inner.set_name(name))
    }

    /// Starts compacting the thread's history and returns at once (the compaction runs as a
    /// turn of its own). Use [`Thread::compact_turn`] to wait for it.
    ///
    /// # Errors
    /// [`Error::JsonRpc`] for an unknown thread; [`Error::BlockingInAsync`] inside a tokio
    /// runtime.
    pub fn compact(&self) -> Result<proto::ThreadCompactStartResponse> {
        self.codex.call(self.inner.compact())
    }

    /// Starts compacting and returns the handle of the compaction turn, so it can be waited for
    /// (`.run()`) before the next turn (the runtime refuses turns while it compacts).
    ///
    /// # Errors
    /// As [`Thread::compact`]; [`Error::Timeout`] when no compaction turn starts.
    pub fn compact_turn(&self) -> Result<TurnHandle> {
        let handle = self.codex.call(self.inner.compact_turn())?;
        Ok(TurnHandle::new(self.codex.clone(), handle))
    }
}
