//! `TurnHandle`: one turn of the blocking client, and `TurnIter`, its events as an iterator.

use openai_codex_protocol as proto;

use super::codex::Codex;
use super::iter::EventIter;
use crate::error::{Error, Result};
use crate::inputs::Input;
use crate::router::TurnEvent;
use crate::turn::{AsyncTurnHandle, InterruptOutcome, TurnResult, TurnStream};

/// A handle to one turn: iterate its events, steer it, interrupt it, or wait for its result.
///
/// Cheap to clone; clones share the subscription and the collected result, and may be used from
/// different OS threads (steer or interrupt from one while another iterates the events).
///
/// ```no_run
/// # fn demo(thread: &openai_codex::Thread) -> openai_codex::Result<()> {
/// use openai_codex::types::ServerNotification;
/// use openai_codex::{TurnEvent, TurnOptions};
///
/// let turn = thread.turn("Write a haiku", TurnOptions::default())?;
/// for event in turn.stream() {
///     if let TurnEvent::Notification(n) = event? {
///         if let ServerNotification::ItemAgentMessageDelta(delta) = &*n {
///             print!("{}", delta.delta);
///         }
///     }
/// }
/// let result = turn.run()?; // the same result the iterator collected
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct TurnHandle {
    codex: Codex,
    inner: AsyncTurnHandle,
}

impl TurnHandle {
    pub(crate) fn new(codex: Codex, inner: AsyncTurnHandle) -> Self {
        Self { codex, inner }
    }

    /// The async twin of this handle, on the client's runtime.
    pub fn as_async(&self) -> &AsyncTurnHandle {
        &self.inner
    }

    /// The turn id.
    pub fn id(&self) -> &str {
        self.inner.id()
    }

    /// The thread this turn belongs to.
    pub fn thread_id(&self) -> &str {
        self.inner.thread_id()
    }

    /// The result, if the turn has finished and its completion was seen.
    pub fn result(&self) -> Option<TurnResult> {
        self.inner.result()
    }

    /// This turn's notifications as a blocking iterator, in order, ending after
    /// `turn/completed` (see [`AsyncTurnHandle::stream`]).
    ///
    /// The first iterator sees the turn from its start. Dropping an iterator mid-turn is safe:
    /// the next `stream()` or `run()` continues where it stopped. A finished turn's iterator is
    /// empty.
    pub fn stream(&self) -> TurnIter {
        TurnIter {
            inner: EventIter::new(self.inner.stream(), self.codex.clone()),
        }
    }

    /// Waits for the turn to finish and returns its result.
    ///
    /// # Errors
    /// [`Error::TurnFailed`] (carrying the partial result) when the turn failed;
    /// [`Error::TransportClosed`] when the runtime went away first; [`Error::BlockingInAsync`]
    /// inside a tokio runtime. An interrupted turn is not an error: its status says
    /// `interrupted`.
    pub fn run(&self) -> Result<TurnResult> {
        self.codex.call(self.inner.run())
    }

    /// Waits for the turn and parses its final answer into `T`: the blocking twin of
    /// [`AsyncTurnHandle::run_typed`].
    ///
    /// # Errors
    /// As [`AsyncTurnHandle::run_typed`]; [`Error::BlockingInAsync`] inside a tokio runtime.
    #[cfg(feature = "typed")]
    pub fn run_typed<T: serde::de::DeserializeOwned>(
        &self,
    ) -> Result<crate::structured::TypedTurnResult<T>> {
        self.codex.call(self.inner.run_typed::<T>())
    }

    /// Adds input to the running turn (sent with this turn's id as `expectedTurnId`).
    ///
    /// # Errors
    /// [`Error::JsonRpc`] when the turn is no longer active or another turn is active;
    /// [`Error::InvalidInput`] for a local image that cannot be read; [`Error::BlockingInAsync`]
    /// inside a tokio runtime.
    pub fn steer(&self, input: impl Into<Input>) -> Result<proto::TurnSteerResponse> {
        self.codex.call(self.inner.steer(input))
    }

    /// Interrupts the turn; it then completes with status `interrupted`. A turn that has
    /// already finished gives [`InterruptOutcome::AlreadyFinished`] at once.
    ///
    /// # Errors
    /// [`Error::JsonRpc`] when the runtime refuses for another reason;
    /// [`Error::BlockingInAsync`] inside a tokio runtime.
    pub fn interrupt(&self) -> Result<InterruptOutcome> {
        self.codex.call(self.inner.interrupt())
    }
}

/// One turn's events as a blocking iterator over the async [`TurnStream`] (see
/// [`TurnHandle::stream`]).
///
/// Each `next()` waits for the turn's next event; events that have already arrived are taken
/// on the caller's thread without a trip through the client's runtime. Items are `Err` when the
/// connection closes mid-turn, or, once, [`Error::BlockingInAsync`] when called inside a tokio
/// runtime (the iterator then ends; a new `stream()` outside the runtime continues the turn).
#[derive(Debug)]
pub struct TurnIter {
    inner: EventIter<TurnStream>,
}

impl Iterator for TurnIter {
    type Item = Result<TurnEvent>;

    fn next(&mut self) -> Option<Result<TurnEvent>> {
        self.inner.next_event()
    }
}

impl std::iter::FusedIterator for TurnIter {}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn check<T: Send + Sync + 'static>() {}
    check::<TurnHandle>();
    fn send<T: Send + 'static>() {}
    send::<TurnIter>();
    let _ = Error::BlockingInAsync;
}
