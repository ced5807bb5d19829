//! Turns: `AsyncTurnHandle` (stream, steer, interrupt, run) and `TurnResult`.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::{Stream, StreamExt};
use openai_codex_protocol::{self as proto, requests, ServerNotification};

use crate::codex::AsyncCodex;
use crate::error::{Error, Result, TurnFailed};
use crate::inputs::Input;
use crate::overflow::OverflowPolicy;
use crate::router::{TurnEvent, TurnSubscription};

/// What a finished turn produced.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct TurnResult {
    /// The turn id.
    pub id: String,
    /// `completed`, `interrupted` (or `failed`, inside [`Error::TurnFailed`]).
    pub status: proto::TurnStatus,
    /// The runtime's error for a failed turn.
    pub error: Option<proto::TurnError>,
    /// When the turn started (Unix seconds).
    pub started_at: Option<i64>,
    /// When the turn completed (Unix seconds).
    pub completed_at: Option<i64>,
    /// How long the turn took.
    pub duration_ms: Option<i64>,
    /// The answer: the last agent message with phase `final_answer`, else the last agent
    /// message without a phase, else `None`.
    pub final_response: Option<String>,
    /// Every item completed in this turn (`item/completed`), in order.
    pub items: Vec<proto::ThreadItem>,
    /// The turn's last token usage report.
    pub usage: Option<proto::ThreadTokenUsage>,
}

impl TurnResult {
    /// Builds the result from a completed turn and the collected items and usage.
    pub(crate) fn from_parts(
        turn: proto::Turn,
        items: Vec<proto::ThreadItem>,
        usage: Option<proto::ThreadTokenUsage>,
    ) -> Self {
        let final_response = final_response(&items);
        Self {
            id: turn.id,
            status: turn.status,
            error: turn.error,
            started_at: turn.started_at,
            completed_at: turn.completed_at,
            duration_ms: turn.duration_ms,
            final_response,
            items,
            usage,
        }
    }

    /// `Ok(self)` unless the turn failed, in which case [`Error::TurnFailed`] carries it.
    pub(crate) fn into_result(self) -> Result<Self> {
        if self.status == proto::TurnStatus::Failed {
            Err(Error::TurnFailed(TurnFailed {
                result: Box::new(self),
            }))
        } else {
            Ok(self)
        }
    }
}

/// The official SDK's rule: walk agent messages from last to first; the first `final_answer`
/// wins; otherwise the last phase-less message; commentary never counts.
pub(crate) fn final_response(items: &[proto::ThreadItem]) -> Option<String> {
    let mut phaseless = None;
    for item in items.iter().rev() {
        if let proto::ThreadItem::AgentMessage(message) = item {
            match &message.phase {
                Some(proto::MessagePhase::FinalAnswer) => return Some(message.text.clone()),
                None if phaseless.is_none() => phaseless = Some(message.text.clone()),
                _ => {}
            }
        }
    }
    phaseless
}

/// Collects a turn's result from its events.
#[derive(Debug, Default)]
struct Collector {
    /// The `item/completed` events so far. Kept as the shared events, not as copies: when the
    /// turn completes, an event nobody else holds any more gives its item up without a copy
    /// (an agent message can be megabytes).
    items: Vec<Arc<ServerNotification>>,
    usage: Option<proto::ThreadTokenUsage>,
    result: Option<TurnResult>,
}

impl Collector {
    fn take_items(&mut self) -> Vec<proto::ThreadItem> {
        std::mem::take(&mut self.items)
            .into_iter()
            .filter_map(|event| match Arc::try_unwrap(event) {
                Ok(ServerNotification::ItemCompleted(n)) => Some(n.item),
                Ok(_) => None,
                Err(shared) => match &*shared {
                    ServerNotification::ItemCompleted(n) => Some(n.item.clone()),
                    _ => None,
                },
            })
            .collect()
    }

    fn observe(&mut self, turn_id: &str, event: &Arc<ServerNotification>) {
        match &**event {
            ServerNotification::ItemCompleted(_) => self.items.push(Arc::clone(event)),
            ServerNotification::ThreadTokenUsageUpdated(n) => {
                self.usage = Some(n.token_usage.clone());
            }
            // Already published by a replaying stream: keep that one.
            ServerNotification::TurnCompleted(_) | ServerNotification::Unknown { .. }
                if self.result.is_some() =>
            {
                self.items.clear();
            }
            ServerNotification::TurnCompleted(n) if n.turn.id == turn_id => {
                let items = self.take_items();
                // Everything but the turn's own item list (the result carries the items seen).
                let turn = proto::Turn {
                    completed_at: n.turn.completed_at,
                    duration_ms: n.turn.duration_ms,
                    error: n.turn.error.clone(),
                    id: n.turn.id.clone(),
                    items: Vec::new(),
                    items_view: n.turn.items_view.clone(),
                    root_turn_id: n.turn.root_turn_id.clone(),
                    started_at: n.turn.started_at,
                    status: n.turn.status.clone(),
                    extra: Default::default(),
                };
                self.result = Some(TurnResult::from_parts(turn, items, self.usage.clone()));
            }
            ServerNotification::Unknown { method, params } if method == "turn/completed" => {
                // The payload did not match the schema; still end the turn with what we know.
                let status = params
                    .pointer("/turn/status")
                    .and_then(|s| serde_json::from_value(s.clone()).ok())
                    .unwrap_or(proto::TurnStatus::Unknown("undecodable".into()));
                let turn = proto::Turn {
                    completed_at: None,
                    duration_ms: None,
                    error: params
                        .pointer("/turn/error")
                        .and_then(|e| serde_json::from_value(e.clone()).ok()),
                    id: turn_id.to_string(),
                    items: Vec::new(),
                    items_view: None,
                    root_turn_id: None,
                    started_at: None,
                    status,
                    extra: Default::default(),
                };
                let items = self.take_items();
                self.result = Some(TurnResult::from_parts(turn, items, self.usage.clone()));
            }
            _ => {}
        }
    }
}

/// How one turn's streams behave: the turn's own settings, else the client's.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StreamSettings {
    /// The overflow policy of the handle's subscriptions (`None`: the client's).
    pub(crate) overflow: Option<OverflowPolicy>,
    /// The inactivity watchdog (`None`: off).
    pub(crate) stall_timeout: Option<Duration>,
}

impl StreamSettings {
    /// The client's defaults, overridden by whatever the turn's options set.
    pub(crate) fn resolve(
        codex: &AsyncCodex,
        overflow: Option<OverflowPolicy>,
        stall_timeout: Option<Duration>,
    ) -> Self {
        let stall_timeout = match stall_timeout {
            Some(Duration::MAX) => None,
            Some(limit) => Some(limit),
            None => codex.inner.config.turn_stall_timeout,
        };
        Self {
            overflow,
            stall_timeout,
        }
    }
}

#[derive(Debug)]
struct HandleState {
    settings: StreamSettings,
    /// The handle's own subscriber: everything since the turn started. A stream borrows it and
    /// gives it back when dropped, so a later `stream()`/`run()` continues where it stopped.
    subscription: Mutex<Option<TurnSubscription>>,
    collector: Mutex<Collector>,
}

/// A handle to one turn: stream its events, steer it, interrupt it, or wait for its result.
///
/// Cheap to clone; clones share the subscription and the collected result. `run()` may be
/// called any number of times (also after `stream()` finished) and returns the same result.
#[derive(Clone, Debug)]
pub struct AsyncTurnHandle {
    codex: AsyncCodex,
    thread_id: String,
    id: String,
    state: Arc<HandleState>,
}

impl AsyncTurnHandle {
    /// A handle over a subscription made with `settings.overflow`.
    pub(crate) fn new(
        codex: AsyncCodex,
        thread_id: String,
        id: String,
        subscription: TurnSubscription,
        settings: StreamSettings,
    ) -> Self {
        Self {
            codex,
            thread_id,
            id,
            state: Arc::new(HandleState {
                settings,
                subscription: Mutex::new(Some(subscription)),
                collector: Mutex::default(),
            }),
        }
    }

    /// A handle whose result is already known (a turn that finished before the handle existed).
    pub(crate) fn finished(codex: AsyncCodex, thread_id: String, result: TurnResult) -> Self {
        Self {
            codex,
            thread_id,
            id: result.id.clone(),
            state: Arc::new(HandleState {
                settings: StreamSettings {
                    overflow: None,
                    stall_timeout: None,
                },
                subscription: Mutex::new(None),
                collector: Mutex::new(Collector {
                    result: Some(result),
                    ..Collector::default()
                }),
            }),
        }
    }

    /// The turn id.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(turn: openai_codex::AsyncTurnHandle) -> openai_codex::Result<()> {
    /// println!("turn {} of thread {}", turn.id(), turn.thread_id());
    /// # Ok(()) }
    /// ```
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The thread this turn belongs to.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(turn: openai_codex::AsyncTurnHandle) -> openai_codex::Result<()> {
    /// println!("turn {} of thread {}", turn.id(), turn.thread_id());
    /// # Ok(()) }
    /// ```
    pub fn thread_id(&self) -> &str {
        &self.thread_id
    }

    /// The result, if the turn has finished and its completion was seen.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(turn: openai_codex::AsyncTurnHandle) -> openai_codex::Result<()> {
    /// if let Some(result) = turn.result() {
    ///     println!("already finished: {:?}", result.status);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn result(&self) -> Option<TurnResult> {
        self.state
            .collector
            .lock()
            .expect("collector poisoned")
            .result
            .clone()
    }

    /// This turn's notifications, in order, ending after `turn/completed`. Every
    /// [`TurnEvent::Notification`] belongs to this turn; [`TurnEvent::Lagged`] marks deltas
    /// dropped because this consumer fell far behind (see `CodexConfig::stream_buffer`).
    ///
    /// The first stream sees the turn from its start. Dropping a stream mid-turn is safe: the
    /// next `stream()` or `run()` continues where it stopped. While one stream is active, another
    /// `stream()` on a clone first replays every essential event of the turn so far (items,
    /// usage, status; the deltas it missed appear as [`TurnEvent::Lagged`] markers), then
    /// continues live, so each consumer sees every item and the completion. A finished turn's stream
    /// is empty.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(turn: openai_codex::AsyncTurnHandle) -> openai_codex::Result<()> {
    /// use futures::StreamExt;
    /// use openai_codex::types::ServerNotification;
    ///
    /// let mut events = turn.stream();
    /// while let Some(event) = events.next().await {
    ///     if let Some(ServerNotification::ItemAgentMessageDelta(d)) = event?.notification() {
    ///         print!("{}", d.delta);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn stream(&self) -> TurnStream {
        let finished = self.result().is_some();
        let (subscription, own) = if finished {
            (None, None)
        } else {
            let own = self
                .state
                .subscription
                .lock()
                .expect("subscription poisoned")
                .take();
            match own {
                Some(own) => (Some(own), None),
                // Another stream holds the handle's subscriber: this one replays the turn into
                // a collector of its own, so neither sees the other's items twice.
                None => (
                    Some(
                        self.codex
                            .inner
                            .conn()
                            .shared
                            .router
                            .subscribe_turn(&self.id, self.state.settings.overflow),
                    ),
                    Some(Collector::default()),
                ),
            }
        };
        TurnStream {
            subscription,
            state: Arc::clone(&self.state),
            turn_id: self.id.clone(),
            replay: own,
            codex: self.codex.clone(),
            thread_id: self.thread_id.clone(),
            watchdog: None,
            armed: false,
            stalled: false,
        }
    }

    /// Waits for the turn to finish and returns its result.
    ///
    /// # Errors
    /// [`Error::TurnFailed`] (carrying the partial result: items, usage, the `TurnError`) when
    /// the turn failed; [`Error::TransportClosed`] when the runtime went away first. An
    /// interrupted turn is not an error: its status says `interrupted`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(turn: openai_codex::AsyncTurnHandle) -> openai_codex::Result<()> {
    /// let result = turn.run().await?;
    /// println!("{:?}: {:?}", result.status, result.final_response);
    /// # Ok(()) }
    /// ```
    pub async fn run(&self) -> Result<TurnResult> {
        if let Some(result) = self.result() {
            return result.into_result();
        }
        let mut stream = self.stream();
        while let Some(event) = stream.next().await {
            event?;
        }
        drop(stream);
        match self.result() {
            Some(result) => result.into_result(),
            None => Err(Error::Protocol(format!(
                "turn {} stream ended without turn/completed",
                self.id
            ))),
        }
    }

    /// Waits for the turn like [`AsyncTurnHandle::run`] and parses its final answer into `T`
    /// (for a turn started with an output schema, for example with
    /// [`crate::structured::strict_schema`]).
    ///
    /// # Errors
    /// [`Error::StructuredOutput`] (with the raw answer and the whole [`TurnResult`]) when the
    /// answer is missing or does not parse; otherwise as [`AsyncTurnHandle::run`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(thread: openai_codex::AsyncThread) -> openai_codex::Result<()> {
    /// use openai_codex::structured::strict_schema;
    /// use openai_codex::TurnOptions;
    ///
    /// #[derive(serde::Deserialize, schemars::JsonSchema)]
    /// struct Verdict {
    ///     ok: bool,
    /// }
    ///
    /// let options = TurnOptions::default().output_schema(strict_schema::<Verdict>()?);
    /// let turn = thread.turn("Do the tests pass?", options).await?;
    /// let verdict = turn.run_typed::<Verdict>().await?;
    /// println!("ok: {}", verdict.value.ok);
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "typed")]
    pub async fn run_typed<T: serde::de::DeserializeOwned>(
        &self,
    ) -> Result<crate::structured::TypedTurnResult<T>> {
        crate::structured::parse(self.run().await?)
    }

    /// Adds input to the running turn (sent with this turn's id as `expectedTurnId`).
    ///
    /// # Errors
    /// [`Error::JsonRpc`] when the turn is no longer active ("no active turn to steer") or
    /// another turn is active; [`Error::InvalidInput`] for a local image that cannot be read.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(turn: openai_codex::AsyncTurnHandle) -> openai_codex::Result<()> {
    /// turn.steer("Also update the changelog.").await?;
    /// # Ok(()) }
    /// ```
    pub async fn steer(&self, input: impl Into<Input>) -> Result<proto::TurnSteerResponse> {
        let params = proto::TurnSteerParams {
            client_user_message_id: None,
            expected_turn_id: self.id.clone(),
            input: input.into().to_wire()?,
            thread_id: self.thread_id.clone(),
            #[cfg(feature = "experimental")]
            additional_context: None,
            #[cfg(feature = "experimental")]
            responsesapi_client_metadata: None,
            extra: Default::default(),
        };
        self.codex.call::<requests::TurnSteer>(&params).await
    }

    /// Interrupts the turn; it then completes with status `interrupted`
    /// ([`InterruptOutcome::Requested`]).
    ///
    /// A turn that has already finished is not interrupted: the outcome is
    /// [`InterruptOutcome::AlreadyFinished`] with its status. When the handle already saw the
    /// completion, nothing is sent (the runtime would hold a repeated interrupt until the
    /// thread's next turn ends); when the turn ended meanwhile, the runtime's "no active turn to
    /// interrupt" answer becomes that outcome too, as the official SDK reports it (an error
    /// there). An interrupt sent right after [`AsyncThread::turn`](crate::AsyncThread::turn),
    /// before the runtime has made the turn active, is sent again until it lands (or the turn's
    /// completion arrives, or 3 s pass), so it is not mistaken for a finished turn.
    ///
    /// # Errors
    /// [`Error::JsonRpc`] when the runtime refuses for another reason, or when another turn of
    /// the thread stays the active one for 3 s.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(turn: openai_codex::AsyncTurnHandle) -> openai_codex::Result<()> {
    /// use openai_codex::InterruptOutcome;
    ///
    /// match turn.interrupt().await? {
    ///     InterruptOutcome::Requested => println!("interrupting"),
    ///     InterruptOutcome::AlreadyFinished { status } => println!("already finished: {status:?}"),
    ///     other => println!("{other:?}"), // the enum is non_exhaustive
    /// }
    /// let result = turn.run().await?; // status: interrupted, unless it had finished
    /// # Ok(()) }
    /// ```
    pub async fn interrupt(&self) -> Result<InterruptOutcome> {
        if let Some(status) = self.finished_status() {
            return Ok(InterruptOutcome::AlreadyFinished {
                status: Some(status),
            });
        }
        let params = proto::TurnInterruptParams {
            thread_id: self.thread_id.clone(),
            turn_id: self.id.clone(),
            extra: Default::default(),
        };
        // The runtime answers `turn/start` before it makes the turn active, so an interrupt sent
        // right after `turn()` can meet "no active turn", or "expected active turn id .. but
        // found .." while the thread's previous turn is still being wound up (its completion
        // already sent), although this turn is about to run (and would then run to its end).
        // Only a completion the router has seen proves the turn finished: until one arrives,
        // try again shortly, for a bounded time.
        let deadline = tokio::time::Instant::now() + NOT_YET_ACTIVE_WAIT;
        let mut pause = Duration::from_millis(5);
        loop {
            match self.codex.call::<requests::TurnInterrupt>(&params).await {
                Ok(_) => return Ok(InterruptOutcome::Requested),
                Err(error) if is_no_active_turn(&error) || is_other_turn_active(&error) => {
                    let status = self.finished_status();
                    if status.is_some() {
                        return Ok(InterruptOutcome::AlreadyFinished { status });
                    }
                    if tokio::time::Instant::now() >= deadline {
                        return if is_no_active_turn(&error) {
                            Ok(InterruptOutcome::AlreadyFinished { status })
                        } else {
                            Err(error)
                        };
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(100));
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// The status of this turn's completion, when this handle or the router has seen it.
    fn finished_status(&self) -> Option<proto::TurnStatus> {
        if let Some(result) = self.result() {
            return Some(result.status);
        }
        let done = self
            .codex
            .inner
            .conn()
            .shared
            .router
            .finished_turn(&self.id)?;
        match &*done {
            ServerNotification::TurnCompleted(n) => Some(n.turn.status.clone()),
            _ => Some(proto::TurnStatus::Unknown("finished".into())),
        }
    }
}

/// How long [`AsyncTurnHandle::interrupt`] keeps trying while the runtime says "no active
/// turn" but no completion of the turn has arrived: the gap between the runtime's answer to
/// `turn/start` and the turn becoming active is milliseconds; a turn that finished without its
/// completion reaching this client (a completion the router no longer keeps) ends the wait.
const NOT_YET_ACTIVE_WAIT: Duration = Duration::from_secs(3);

/// The runtime's answer to interrupting a turn while another turn of the thread is the active
/// one: `expected active turn id <ours> but found <other>`.
fn is_other_turn_active(error: &Error) -> bool {
    error
        .rpc_error()
        .is_some_and(|rpc| rpc.message.starts_with("expected active turn id"))
}

/// The runtime's answer to interrupting a turn that is no longer running.
fn is_no_active_turn(error: &Error) -> bool {
    error
        .rpc_error()
        .is_some_and(|rpc| rpc.message.contains("no active turn"))
}

/// What [`AsyncTurnHandle::interrupt`] did.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum InterruptOutcome {
    /// The runtime accepted the interrupt; the turn completes with status `interrupted`.
    Requested,
    /// The turn had already finished, so there was nothing to interrupt.
    AlreadyFinished {
        /// How it finished, when known (`None` when only the runtime's "no active turn"
        /// answer says so).
        status: Option<proto::TurnStatus>,
    },
}

impl InterruptOutcome {
    /// Whether the turn had already finished.
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::InterruptOutcome;
    ///
    /// assert!(!InterruptOutcome::Requested.is_already_finished());
    /// ```
    pub fn is_already_finished(&self) -> bool {
        matches!(self, InterruptOutcome::AlreadyFinished { .. })
    }
}

/// A stream of one turn's events (see [`AsyncTurnHandle::stream`]).
///
/// With a stall timeout set (`CodexConfig::turn_stall_timeout`, `TurnOptions::stall_timeout`),
/// a stream that waits that long without an event of its turn yields [`Error::Stalled`] once,
/// asks the runtime to interrupt the turn, and ends. The time a server-request handler of the
/// client spends on a reply (an approval waiting for a person) does not count.
#[derive(Debug)]
pub struct TurnStream {
    subscription: Option<TurnSubscription>,
    state: Arc<HandleState>,
    turn_id: String,
    /// The collector of a stream that replays the turn beside the handle's own subscriber
    /// (`None` for the handle's own, which feeds the shared collector).
    replay: Option<Collector>,
    codex: AsyncCodex,
    thread_id: String,
    /// Armed while the stream waits; made on the first wait (it needs the tokio timer, which a
    /// blocking caller only has inside `poll`).
    watchdog: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Whether the watchdog counts from an earlier wait (no event since).
    armed: bool,
    stalled: bool,
}

impl TurnStream {
    /// Called when the subscription has nothing: arms or checks the watchdog. `true` when the
    /// turn has been silent for the whole stall timeout.
    fn stalled_now(&mut self, cx: &mut Context<'_>, armed: bool) -> bool {
        let Some(limit) = self.state.settings.stall_timeout else {
            return false;
        };
        let deadline = tokio::time::Instant::now()
            .checked_add(limit)
            .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(86_400 * 365));
        let sleep = self
            .watchdog
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if !armed {
            sleep.as_mut().reset(deadline);
        }
        if sleep.as_mut().poll(cx).is_pending() {
            return false;
        }
        if self.codex.inner.conn().handlers_busy() {
            // A handler is still deciding (a person may be reading an approval): the runtime
            // waits for us, so its silence is not a stall. Look again one period later.
            sleep.as_mut().reset(deadline);
            let _ = sleep.as_mut().poll(cx);
            return false;
        }
        true
    }

    fn stall(&mut self) -> Error {
        self.stalled = true;
        let limit = self.state.settings.stall_timeout.unwrap_or_default();
        tracing::warn!(turn_id = %self.turn_id, ?limit, "turn stalled; interrupting it");
        let codex = self.codex.clone();
        let params = proto::TurnInterruptParams {
            thread_id: self.thread_id.clone(),
            turn_id: self.turn_id.clone(),
            extra: Default::default(),
        };
        // The interrupt goes out even when the caller drops everything after the error; the
        // runtime then ends the turn with status `interrupted`.
        tokio::spawn(async move {
            if let Err(error) = codex.call::<requests::TurnInterrupt>(&params).await {
                tracing::debug!(%error, "interrupting a stalled turn failed");
            }
        });
        Error::Stalled {
            turn_id: self.turn_id.clone(),
            after: limit,
        }
    }
}

impl TurnStream {
    /// Feeds a delivered notification to the collector this stream reports to.
    fn observe(&mut self, event: &TurnEvent) {
        if let TurnEvent::Notification(n) = event {
            let mut shared = self.state.collector.lock().expect("collector poisoned");
            match self.replay.as_mut() {
                Some(replay) => {
                    replay.observe(&self.turn_id, n);
                    // The first consumer to see the completion publishes the result.
                    if shared.result.is_none() {
                        shared.result = replay.result.take();
                    }
                }
                None => shared.observe(&self.turn_id, n),
            }
        }
    }

    /// The next event if it has already arrived: no waiting, no task context, no runtime. The
    /// blocking iterator takes what is there this way and only waits (through the runtime, for
    /// the watchdog's timer) when nothing is. `None`: call `poll_next`.
    pub(crate) fn try_next(&mut self) -> Option<Result<TurnEvent>> {
        if self.stalled {
            return None;
        }
        let event = self.subscription.as_mut()?.try_next()?;
        self.armed = false;
        self.observe(&event);
        Some(Ok(event))
    }
}

impl Stream for TurnStream {
    type Item = Result<TurnEvent>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.stalled {
            return Poll::Ready(None);
        }
        let Some(subscription) = self.subscription.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = Pin::new(subscription).poll_next(cx);
        // The watchdog counts from the first wait after an event.
        if polled.is_pending() {
            let armed = self.armed;
            if self.stalled_now(cx, armed) {
                let error = self.stall();
                return Poll::Ready(Some(Err(error)));
            }
            self.armed = true;
            return Poll::Pending;
        }
        self.armed = false;
        match polled {
            Poll::Ready(Some(Ok(event))) => {
                self.observe(&event);
                Poll::Ready(Some(Ok(event)))
            }
            Poll::Ready(None) => {
                self.subscription = None;
                Poll::Ready(None)
            }
            other => other,
        }
    }
}

impl Drop for TurnStream {
    fn drop(&mut self) {
        if let Some(subscription) = self.subscription.take() {
            // Only the handle's own subscriber goes back: it fed the shared collector.
            if self.replay.is_none() && !subscription.is_finished() {
                let mut slot = self
                    .state
                    .subscription
                    .lock()
                    .expect("subscription poisoned");
                if slot.is_none() {
                    *slot = Some(subscription);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn items(v: serde_json::Value) -> Vec<proto::ThreadItem> {
        serde_json::from_value(v).unwrap()
    }

    fn msg(text: &str, phase: serde_json::Value) -> serde_json::Value {
        json!({"type": "agentMessage", "id": text, "text": text, "phase": phase})
    }

    #[test]
    fn final_response_follows_the_phase_rules() {
        let all = items(json!([
            msg("c", json!("commentary")),
            msg("FINAL", json!("final_answer")),
            msg("trailing", json!(null))
        ]));
        assert_eq!(final_response(&all).as_deref(), Some("FINAL"));
        let two = items(json!([
            msg("first", json!(null)),
            msg("second", json!(null))
        ]));
        assert_eq!(final_response(&two).as_deref(), Some("second"));
        let only = items(json!([msg("only commentary", json!("commentary"))]));
        assert_eq!(final_response(&only), None);
        assert_eq!(final_response(&[]), None);
    }
}
