//! What a turn stream does when its consumer reads slower than the runtime writes.
//!
//! Every consumer of a turn has its own queue. Essential events (items, turn start and
//! completion, usage, errors) are always queued; the high-volume delta notifications are bounded
//! by [`CodexConfig::stream_buffer`](crate::CodexConfig::stream_buffer) (events) and
//! [`CodexConfig::stream_buffer_bytes`](crate::CodexConfig::stream_buffer_bytes) (their
//! approximate size in memory). What happens at the bound is this policy.

/// What happens when a consumer of a turn stream falls [`CodexConfig::stream_buffer`] deltas
/// (or [`CodexConfig::stream_buffer_bytes`] bytes) behind.
///
/// Set it for a client with [`CodexConfig::overflow`] and for one turn with
/// [`TurnOptions::overflow`](crate::TurnOptions::overflow).
///
/// [`CodexConfig::stream_buffer`]: crate::CodexConfig::stream_buffer
/// [`CodexConfig::stream_buffer_bytes`]: crate::CodexConfig::stream_buffer_bytes
/// [`CodexConfig::overflow`]: crate::CodexConfig::overflow
///
/// # Examples
///
/// ```
/// use openai_codex::{CodexConfig, OverflowPolicy, TurnOptions};
///
/// // The default: nothing is lost; a slow consumer slows the reading of the runtime's output.
/// assert_eq!(CodexConfig::default().overflow, OverflowPolicy::Backpressure);
/// // A live display that would rather skip text than fall behind, for one turn:
/// let options = TurnOptions::default().overflow(OverflowPolicy::DropDeltas);
/// assert_eq!(options.overflow, Some(OverflowPolicy::DropDeltas));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OverflowPolicy {
    /// Lossless (the default): when a consumer's queue is full, the SDK stops reading the
    /// runtime's output until that consumer catches up. Every delta is delivered; other turns
    /// and calls of the same client wait meanwhile (the runtime's own output buffer fills and
    /// it waits too).
    ///
    /// The pause never becomes a hang: the reader reads on while a request of the client waits
    /// for its reply (the reply may be queued behind the deltas), and a consumer that does not
    /// poll at all for [`CodexConfig::slow_consumer_timeout`](crate::CodexConfig::slow_consumer_timeout)
    /// (a turn handle kept but never read) is switched to [`OverflowPolicy::DropDeltas`] for
    /// the rest of its turn, with a warning in the log. A dropped handle stops counting at once.
    #[default]
    Backpressure,
    /// Bounded latency: past the bound, deltas for that consumer are dropped and a
    /// [`TurnEvent::Lagged`](crate::TurnEvent::Lagged) marker carrying the number dropped takes
    /// their place. Essential events are never dropped, so `run()` results stay complete; only
    /// streamed text can have gaps (the completed items still carry the whole text).
    DropDeltas,
}
