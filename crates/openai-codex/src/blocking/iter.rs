//! The one driver behind the blocking event iterators ([`super::TurnIter`],
//! [`super::GoalTurnIter`]).
//!
//! Events that have already arrived are taken straight from the consumer's queue on the
//! caller's thread; only a wait goes through the client's runtime (`block_on`), which parks the
//! thread until the reader wakes it and keeps the stall watchdog's timer. A runtime hop per
//! event cost a blocking consumer about three times the CPU of an async one.

use futures::{Stream, StreamExt};

use super::codex::Codex;
use super::runtime::ensure_blocking_allowed;
use crate::error::Result;
use crate::goal_turn::GoalTurnStream;
use crate::router::TurnEvent;
use crate::turn::TurnStream;

/// An async event stream that may hand over an event without being polled.
pub(crate) trait ReadyEvents: Stream<Item = Result<TurnEvent>> + Unpin {
    /// The next event when it has already arrived (no wait, no runtime); `None`: poll.
    fn ready(&mut self) -> Option<Result<TurnEvent>> {
        None
    }
}

impl ReadyEvents for TurnStream {
    fn ready(&mut self) -> Option<Result<TurnEvent>> {
        self.try_next()
    }
}

// A goal's stream moves from one runtime turn to the next inside an async state machine, so
// every event goes through the runtime.
impl ReadyEvents for GoalTurnStream {}

/// Drives an event stream from a blocking caller; fused after the end or an error.
#[derive(Debug)]
pub(crate) struct EventIter<S> {
    stream: S,
    codex: Codex,
    done: bool,
}

impl<S: ReadyEvents> EventIter<S> {
    pub(crate) fn new(stream: S, codex: Codex) -> Self {
        Self {
            stream,
            codex,
            done: false,
        }
    }

    pub(crate) fn next_event(&mut self) -> Option<Result<TurnEvent>> {
        if self.done {
            return None;
        }
        if let Err(error) = ensure_blocking_allowed() {
            self.done = true;
            return Some(Err(error));
        }
        if let Some(event) = self.stream.ready() {
            return Some(event);
        }
        match self.codex.block_on(self.stream.next()) {
            Ok(Some(item)) => Some(item),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(error) => {
                self.done = true;
                Some(Err(error))
            }
        }
    }
}
