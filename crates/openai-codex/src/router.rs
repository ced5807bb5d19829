//! The router: hands every notification to whoever waits for it.
//!
//! Three routes, checked in order:
//! 1. `account/login/completed` with a `loginId` goes to that login's slot.
//! 2. A notification carrying a turn id (`params.turnId` or `params.turn.id`) goes to that turn's
//!    channel, where every subscriber has its own queue.
//! 3. Everything else goes to the global broadcast ([`crate::AsyncCodex::events`]). What arrives
//!    before its first subscriber (the runtime's start-up `configWarning`s come during
//!    `initialize`, before anyone can subscribe) is kept for that subscriber, up to
//!    [`EARLY_GLOBAL_LIMIT`] events.
//!
//! Invariants:
//! - The reader thread never blocks here. Queues are unbounded for essential events and bounded
//!   for deltas, by count and by approximate bytes (`StreamLimits`). At the bound, a queue
//!   whose policy is [`OverflowPolicy::DropDeltas`] drops the delta and carries a
//!   [`TurnEvent::Lagged`] marker at that position instead; one whose policy is
//!   [`OverflowPolicy::Backpressure`] keeps it and reports pressure, and the reader waits in
//!   `Router::wait_for_room` (outside every lock) before it reads the next line.
//! - A batch a consumer has taken out of its queue no longer counts against the bound: the bound
//!   covers what waits in the shared queue, so a consumer holds at most one bound in its batch
//!   and one in the queue.
//! - A turn's stream ends at its first `turn/completed`; later completions of a finished turn are
//!   counted ([`crate::AsyncCodex::duplicate_completions`]) and logged, never queued.
//! - Events of a turn nobody has subscribed to yet are buffered ("orphan" channels), so the events
//!   the runtime sends before the `turn/start` response are not lost. At most
//!   [`ORPHAN_TURN_LIMIT`] orphan channels are kept; the oldest is evicted first.
//! - A slow consumer only delays itself: each subscriber has its own queue and waker.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use futures::Stream;
use openai_codex_protocol::ServerNotification;
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::sync::{broadcast, oneshot};

use crate::error::{ClosedReason, Error, Result};
use crate::overflow::OverflowPolicy;

/// How many turns with no subscriber the router buffers events for.
pub const ORPHAN_TURN_LIMIT: usize = 256;
/// How many login completions nobody waits for are kept (newest win).
const UNCLAIMED_LOGIN_LIMIT: usize = 32;
/// Capacity of the global event broadcast; slower subscribers see a lag marker.
const GLOBAL_CAPACITY: usize = 1024;
/// How many global events that arrive before the first [`crate::AsyncCodex::events`] subscriber
/// are kept for it (the oldest: start-up warnings come first); it gets a lag marker for the rest.
pub const EARLY_GLOBAL_LIMIT: usize = 256;
/// How long the reader waits for the first subscriber of a turn whose buffered events reach the
/// bound under backpressure. A turn started by `turn()` is subscribed within milliseconds of its
/// `turn/start` response; one nobody asked for (another client's, a goal turn nobody watches)
/// must not hold the reader longer than this.
const ORPHAN_PATIENCE: Duration = Duration::from_secs(2);
/// How often a waiting reader looks again (a consumer's catching up also wakes it at once).
const ROOM_POLL: Duration = Duration::from_millis(20);
/// Approximate heap cost of one queued delta beyond its text: the `Arc`, the enum, three ids
/// and the queue slot.
const DELTA_OVERHEAD: usize = 160;

/// The bounds of every consumer queue of turn streams, and what happens at them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StreamLimits {
    /// Deltas waiting in one consumer's queue.
    pub(crate) events: usize,
    /// Approximate bytes of the deltas waiting in one consumer's queue.
    pub(crate) bytes: usize,
    /// The client's default policy (a turn can override it for its own handle).
    pub(crate) policy: OverflowPolicy,
    /// How long backpressure waits for a consumer that does not poll at all.
    pub(crate) patience: Duration,
}

impl StreamLimits {
    pub(crate) fn from_config(config: &crate::CodexConfig) -> Self {
        Self {
            events: config.stream_buffer,
            bytes: config.stream_buffer_bytes,
            policy: config.overflow,
            patience: config.slow_consumer_timeout,
        }
    }

    #[cfg(test)]
    fn dropping(events: usize) -> Self {
        Self {
            events,
            bytes: usize::MAX,
            policy: OverflowPolicy::DropDeltas,
            patience: Duration::from_secs(30),
        }
    }
}

/// One event of a turn stream.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum TurnEvent {
    /// A notification of this turn.
    Notification(Arc<ServerNotification>),
    /// This consumer fell behind and `dropped` delta notifications were skipped here. Items,
    /// turn and usage events are never dropped, so `run()` results stay complete.
    Lagged {
        /// How many deltas were dropped at this point.
        dropped: u64,
    },
}

impl TurnEvent {
    /// The notification, unless this is a lag marker.
    pub fn notification(&self) -> Option<&ServerNotification> {
        match self {
            TurnEvent::Notification(n) => Some(n),
            TurnEvent::Lagged { .. } => None,
        }
    }

    /// The notification's method (`item/completed`, `turn/completed`, ...); `None` for a lag
    /// marker.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(turn: openai_codex::AsyncTurnHandle) -> openai_codex::Result<()> {
    /// use futures::StreamExt;
    ///
    /// let mut events = turn.stream();
    /// while let Some(event) = events.next().await {
    ///     let event = event?;
    ///     println!("{:?} {:?} {:?}", event.thread_id(), event.turn_id(), event.method());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn method(&self) -> Option<&str> {
        self.notification().map(ServerNotification::method)
    }

    /// The turn the notification names (`turnId`, or `turn.id` on `turn/started` and
    /// `turn/completed`); `None` for a lag marker.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(turn: openai_codex::AsyncTurnHandle) -> openai_codex::Result<()> {
    /// use futures::StreamExt;
    ///
    /// let mut events = turn.stream();
    /// while let Some(event) = events.next().await {
    ///     assert_eq!(event?.turn_id(), Some(turn.id()));
    /// }
    /// # Ok(()) }
    /// ```
    pub fn turn_id(&self) -> Option<&str> {
        self.notification().and_then(ServerNotification::turn_id)
    }

    /// The thread the notification names (`threadId`); `None` for a lag marker.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(turn: openai_codex::AsyncTurnHandle) -> openai_codex::Result<()> {
    /// use futures::StreamExt;
    ///
    /// let mut events = turn.stream();
    /// while let Some(event) = events.next().await {
    ///     assert_eq!(event?.thread_id(), Some(turn.thread_id()));
    /// }
    /// # Ok(()) }
    /// ```
    pub fn thread_id(&self) -> Option<&str> {
        self.notification().and_then(ServerNotification::thread_id)
    }
}

/// One event of the global stream ([`crate::AsyncCodex::events`]).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum GlobalEvent {
    /// A notification that belongs to no turn and no login.
    Notification(Arc<ServerNotification>),
    /// This subscriber fell behind and missed `missed` notifications.
    Lagged {
        /// How many were missed.
        missed: u64,
    },
}

/// What a goal watcher sees ([`Router::watch_goal`]).
#[derive(Clone, Debug)]
pub(crate) enum GoalSignal {
    /// A turn started on the thread.
    TurnStarted(String),
    /// A turn of the thread completed: its id, and whether it was interrupted.
    TurnCompleted(String, bool),
    /// `thread/goal/updated` or `thread/goal/cleared`.
    Goal(Arc<ServerNotification>),
}

/// The routing keys of a notification, read without decoding the payload.
#[derive(Deserialize, Default)]
struct RouteKeys<'a> {
    #[serde(rename = "turnId", borrow, default)]
    turn_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    turn: Option<TurnKey<'a>>,
    #[serde(rename = "loginId", borrow, default)]
    login_id: Option<Cow<'a, str>>,
    #[serde(rename = "threadId", borrow, default)]
    thread_id: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct TurnKey<'a> {
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
}

/// The turn id of the high-volume delta notifications, read from the decoded payload (it is the
/// payload's `turnId`, exactly what [`RouteKeys`] would find). `None` for everything else.
fn delta_turn_id(notification: &ServerNotification) -> Option<&str> {
    match notification {
        ServerNotification::ItemAgentMessageDelta(n) => Some(&n.turn_id),
        ServerNotification::ItemReasoningTextDelta(n) => Some(&n.turn_id),
        ServerNotification::ItemReasoningSummaryTextDelta(n) => Some(&n.turn_id),
        ServerNotification::ItemCommandExecutionOutputDelta(n) => Some(&n.turn_id),
        _ => None,
    }
}

/// Whether a notification may be dropped for a lagging consumer: deltas only.
fn is_droppable(method: &str) -> bool {
    method.ends_with("/delta") || method.ends_with("Delta")
}

/// The approximate memory a queued delta holds (its text, ids and fixed overhead).
fn delta_cost(notification: &ServerNotification) -> usize {
    let text = match notification {
        ServerNotification::ItemAgentMessageDelta(n) => n.delta.len() + n.item_id.len(),
        ServerNotification::ItemReasoningTextDelta(n) => n.delta.len() + n.item_id.len(),
        ServerNotification::ItemReasoningSummaryTextDelta(n) => n.delta.len() + n.item_id.len(),
        ServerNotification::ItemCommandExecutionOutputDelta(n) => n.delta.len() + n.item_id.len(),
        // Other deltas (kept as raw JSON or rarer kinds): a generous flat estimate.
        _ => 4 * DELTA_OVERHEAD,
    };
    text + DELTA_OVERHEAD
}

enum Entry {
    Event(Arc<ServerNotification>),
    Lagged(u64),
}

/// One consumer's queue.
struct SubQueue {
    entries: VecDeque<Entry>,
    /// Deltas in `entries` (a batch the consumer took out no longer counts).
    deltas: usize,
    /// Approximate bytes of those deltas.
    bytes: usize,
    waker: Option<Waker>,
    /// Set once `turn/completed` has been queued: after it, the stream ends.
    completed: bool,
    policy: OverflowPolicy,
    /// Bumped by the consumer on every poll, so a waiting reader can tell a slow consumer (it
    /// still polls) from one that stopped reading.
    activity: Arc<AtomicU64>,
}

impl SubQueue {
    fn new(policy: OverflowPolicy) -> Self {
        Self {
            entries: VecDeque::new(),
            deltas: 0,
            bytes: 0,
            waker: None,
            completed: false,
            policy,
            activity: Arc::default(),
        }
    }

    fn full(&self, limits: &StreamLimits) -> bool {
        self.deltas >= limits.events || self.bytes >= limits.bytes
    }

    /// Queues one event; returns whether the queue is now over its bound under backpressure
    /// (the reader must wait for room before reading on).
    fn push(
        &mut self,
        event: &Arc<ServerNotification>,
        droppable: bool,
        cost: usize,
        limits: &StreamLimits,
    ) -> bool {
        if droppable {
            if self.policy == OverflowPolicy::DropDeltas && self.full(limits) {
                match self.entries.back_mut() {
                    Some(Entry::Lagged(n)) => *n += 1,
                    _ => self.entries.push_back(Entry::Lagged(1)),
                }
                return false;
            }
            self.deltas += 1;
            self.bytes += cost;
        }
        self.entries.push_back(Entry::Event(Arc::clone(event)));
        droppable && self.policy == OverflowPolicy::Backpressure && self.full(limits)
    }
}

/// A queue the reader has to wait for before it reads on.
struct Pressure {
    channel: Arc<TurnChannel>,
    /// The subscriber, or `None` for the buffer of a turn nobody has subscribed to yet.
    sub: Option<u64>,
}

#[derive(Default)]
struct ChannelState {
    next_sub: u64,
    subs: Vec<(u64, SubQueue)>,
    /// Events buffered while nobody is subscribed; the first subscriber takes them. Before any
    /// subscriber it follows the client's policy (the subscriber is on its way); after the last
    /// subscriber left, it drops deltas (nobody may ever come back for them).
    orphan: Option<SubQueue>,
    /// The turn's essential events so far, each with the number of deltas that came before it
    /// (since the previous one): a consumer that joins late replays these, with lag markers in
    /// place of the deltas, so every consumer sees every item, usage and completion event
    /// without the channel keeping every delta.
    history: Vec<(u64, Arc<ServerNotification>)>,
    /// Deltas since the last essential event.
    deltas_since: u64,
    completed: bool,
    closed: Option<ClosedReason>,
}

impl ChannelState {
    fn replay(&self, policy: OverflowPolicy) -> SubQueue {
        let mut queue = SubQueue::new(policy);
        for (before, event) in &self.history {
            if *before > 0 {
                queue.entries.push_back(Entry::Lagged(*before));
            }
            queue.entries.push_back(Entry::Event(Arc::clone(event)));
        }
        if self.deltas_since > 0 {
            queue.entries.push_back(Entry::Lagged(self.deltas_since));
        }
        queue.completed = self.completed;
        queue
    }
}

/// All consumers of one turn.
#[derive(Default)]
pub(crate) struct TurnChannel {
    state: Mutex<ChannelState>,
}

#[derive(Default)]
struct TurnTable {
    channels: HashMap<String, Arc<TurnChannel>>,
    /// Turn ids whose channels have no subscriber, oldest first.
    orphans: VecDeque<String>,
    /// Completion payloads of recently finished turns, for handles made after the fact.
    finished: VecDeque<(String, Arc<ServerNotification>)>,
}

enum LoginSlot {
    Waiting(oneshot::Sender<std::result::Result<Arc<ServerNotification>, ClosedReason>>),
    Done(Arc<ServerNotification>),
}

/// The global stream: the live broadcast, and what came before its first subscriber.
struct GlobalState {
    /// `None` once the connection is closed.
    sender: Option<broadcast::Sender<Arc<ServerNotification>>>,
    /// Events published before anyone subscribed, kept for the first subscriber; `None` once
    /// that subscriber took them.
    early: Option<VecDeque<Arc<ServerNotification>>>,
    /// Events past [`EARLY_GLOBAL_LIMIT`] that could not be kept for the first subscriber.
    early_missed: u64,
}

/// One subscriber of the global stream: the early backlog (first subscriber only), then live.
pub(crate) struct GlobalSubscription {
    backlog: VecDeque<Arc<ServerNotification>>,
    missed: u64,
    receiver: Option<broadcast::Receiver<Arc<ServerNotification>>>,
}

impl GlobalSubscription {
    /// The next event; `None` once the connection has closed and everything was seen.
    pub(crate) async fn next(&mut self) -> Option<GlobalEvent> {
        if let Some(event) = self.backlog.pop_front() {
            return Some(GlobalEvent::Notification(event));
        }
        if self.missed > 0 {
            let missed = std::mem::take(&mut self.missed);
            return Some(GlobalEvent::Lagged { missed });
        }
        let receiver = self.receiver.as_mut()?;
        match receiver.recv().await {
            Ok(event) => Some(GlobalEvent::Notification(event)),
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                Some(GlobalEvent::Lagged { missed })
            }
            Err(broadcast::error::RecvError::Closed) => {
                self.receiver = None;
                None
            }
        }
    }
}

/// Routes notifications to turns, logins and the global stream.
pub(crate) struct Router {
    turns: Mutex<TurnTable>,
    logins: Mutex<(HashMap<String, LoginSlot>, VecDeque<String>)>,
    global: Mutex<GlobalState>,
    closed: Mutex<Option<ClosedReason>>,
    /// Per-thread listeners for new turns (compaction and goal turns start by themselves).
    turn_watchers: Watchers<String>,
    /// Per-thread goal listeners: turn starts and ends plus every `thread/goal/*` notification of
    /// the thread, in the order the runtime sent them (copies; normal routing is unchanged).
    goal_watchers: Watchers<GoalSignal>,
    /// Turns started and not yet completed, by id (for placement decisions).
    running: Mutex<std::collections::HashSet<String>>,
    limits: StreamLimits,
    /// Queues over their bound under backpressure, for the reader to wait on.
    pressure: Mutex<Vec<Pressure>>,
    under_pressure: AtomicBool,
    /// The reader waits here for a consumer to take its batch; consumers notify it when
    /// `reader_waiting` is set.
    room: (Mutex<()>, Condvar),
    reader_waiting: AtomicBool,
    duplicate_completions: AtomicU64,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router").finish_non_exhaustive()
    }
}

impl Router {
    pub(crate) fn new(limits: StreamLimits) -> Self {
        let (global, _) = broadcast::channel(GLOBAL_CAPACITY);
        Self {
            turns: Mutex::default(),
            logins: Mutex::default(),
            global: Mutex::new(GlobalState {
                sender: Some(global),
                early: Some(VecDeque::new()),
                early_missed: 0,
            }),
            closed: Mutex::new(None),
            turn_watchers: Watchers::default(),
            goal_watchers: Watchers::default(),
            running: Mutex::default(),
            limits: StreamLimits {
                events: limits.events.max(1),
                bytes: limits.bytes.max(1),
                ..limits
            },
            pressure: Mutex::default(),
            under_pressure: AtomicBool::new(false),
            room: (Mutex::new(()), Condvar::new()),
            reader_waiting: AtomicBool::new(false),
            duplicate_completions: AtomicU64::new(0),
        }
    }

    /// How many `turn/completed` notifications arrived for turns that had already completed.
    pub(crate) fn duplicate_completions(&self) -> u64 {
        self.duplicate_completions.load(Ordering::Relaxed)
    }

    /// Whether some queue is over its bound under backpressure (the reader should call
    /// [`Router::wait_for_room`] before it reads the next line). One relaxed load.
    pub(crate) fn under_pressure(&self) -> bool {
        self.under_pressure.load(Ordering::Relaxed)
    }

    /// Blocks the reader until every queue that reported pressure has room again, its consumer
    /// left, the connection closed, `reply_awaited()` says a caller waits for a reply (which may
    /// be queued behind the deltas: reading on is the only way to deliver it), or a consumer
    /// did not poll at all for the patience (it is then switched to dropping deltas, logged).
    /// Call it with no lock held and with every deferred waker woken.
    pub(crate) fn wait_for_room(&self, reply_awaited: impl Fn() -> bool) {
        let list = std::mem::take(&mut *self.pressure.lock().expect("router poisoned"));
        self.under_pressure.store(false, Ordering::Relaxed);
        for pressure in list {
            self.wait_for(&pressure, &reply_awaited);
        }
    }

    fn wait_for(&self, pressure: &Pressure, reply_awaited: &impl Fn() -> bool) {
        let patience = match pressure.sub {
            Some(_) => self.limits.patience,
            None => self.limits.patience.min(ORPHAN_PATIENCE),
        };
        let mut seen_activity = None;
        let mut idle_since = Instant::now();
        let (lock, condvar) = &self.room;
        let mut guard = lock.lock().expect("router poisoned");
        self.reader_waiting.store(true, Ordering::SeqCst);
        loop {
            {
                let mut state = pressure.channel.state.lock().expect("channel poisoned");
                if state.closed.is_some() {
                    break;
                }
                let queue = match pressure.sub {
                    Some(id) => state
                        .subs
                        .iter_mut()
                        .find(|(s, _)| *s == id)
                        .map(|(_, q)| q),
                    None => state.orphan.as_mut(),
                };
                let Some(queue) = queue else {
                    // The consumer left, or the buffer was claimed by a subscriber (whose own
                    // pushes report pressure from now on).
                    break;
                };
                if !queue.full(&self.limits) || queue.policy != OverflowPolicy::Backpressure {
                    break;
                }
                let activity = queue.activity.load(Ordering::Relaxed);
                if seen_activity != Some(activity) {
                    seen_activity = Some(activity);
                    idle_since = Instant::now();
                } else if idle_since.elapsed() >= patience {
                    tracing::warn!(
                        ?patience,
                        "a turn stream consumer has not polled while its queue is full; \
                         dropping its deltas from now on (lag markers) so other turns go on"
                    );
                    queue.policy = OverflowPolicy::DropDeltas;
                    break;
                }
            }
            if reply_awaited() {
                break;
            }
            guard = condvar
                .wait_timeout(guard, ROOM_POLL)
                .expect("router poisoned")
                .0;
        }
        self.reader_waiting.store(false, Ordering::SeqCst);
        drop(guard);
    }

    /// A consumer took its batch: let a waiting reader look again.
    fn notify_room(&self) {
        if self.reader_waiting.load(Ordering::SeqCst) {
            let _guard = self.room.0.lock().expect("router poisoned");
            self.room.1.notify_all();
        }
    }

    /// Routes one decoded notification; `params` is its raw payload (for the routing keys).
    #[cfg(test)]
    pub(crate) fn route(&self, notification: ServerNotification, params: Option<&RawValue>) {
        let mut wake = Vec::new();
        self.route_deferred(notification, params, &mut wake);
        wake.into_iter().for_each(Waker::wake);
    }

    /// Routes one decoded notification; `params` is its raw payload (for the routing keys).
    /// Turn subscribers that got the event are not woken but their wakers appended to `wake`,
    /// so the reader can wake each consumer once per batch of lines.
    pub(crate) fn route_deferred(
        &self,
        notification: ServerNotification,
        params: Option<&RawValue>,
        wake: &mut Vec<Waker>,
    ) {
        // Hot path: deltas carry their turn id as a typed field; no second parse of the params.
        if delta_turn_id(&notification).is_some() {
            let event = Arc::new(notification);
            if let Some(turn_id) = delta_turn_id(&event) {
                self.route_turn(turn_id, &event, wake);
            }
            return;
        }
        let keys = params
            .and_then(|p| serde_json::from_str::<RouteKeys<'_>>(p.get()).ok())
            .unwrap_or_default();
        let method = notification.method();
        if method == "account/login/completed" {
            if let Some(login_id) = keys.login_id.as_deref() {
                self.route_login(login_id, Arc::new(notification));
                return;
            }
        }
        let turn_id = keys.turn_id.or_else(|| keys.turn.and_then(|t| t.id));
        if let Some(thread_id) = keys.thread_id.as_deref() {
            let signal = match (method, turn_id.as_deref()) {
                ("turn/started", Some(turn_id)) => {
                    Some(GoalSignal::TurnStarted(turn_id.to_string()))
                }
                // A repeated completion is no news for a goal either.
                ("turn/completed", Some(turn_id)) if self.already_completed(turn_id) => None,
                ("turn/completed", Some(turn_id)) => {
                    let interrupted = matches!(
                        &notification,
                        ServerNotification::TurnCompleted(n)
                            if n.turn.status == openai_codex_protocol::TurnStatus::Interrupted
                    );
                    Some(GoalSignal::TurnCompleted(turn_id.to_string(), interrupted))
                }
                (m, _) if m.starts_with("thread/goal/") => {
                    Some(GoalSignal::Goal(Arc::new(notification.clone())))
                }
                _ => None,
            };
            if let Some(signal) = signal {
                self.goal_watchers.announce(thread_id, &signal);
            }
        }
        if let Some(turn_id) = turn_id.as_deref() {
            match method {
                "turn/started" => {
                    let mut running = self.running.lock().expect("router poisoned");
                    running.insert(turn_id.to_string());
                }
                "turn/completed" => {
                    self.running
                        .lock()
                        .expect("router poisoned")
                        .remove(turn_id);
                }
                _ => {}
            }
        }
        match turn_id {
            Some(turn_id) => {
                if notification.method() == "turn/started" {
                    if let Some(thread_id) = keys.thread_id.as_deref() {
                        self.turn_watchers.announce(thread_id, &turn_id.to_string());
                    }
                }
                self.route_turn(&turn_id, &Arc::new(notification), wake)
            }
            None => self.publish_global(Arc::new(notification)),
        }
    }

    fn publish_global(&self, event: Arc<ServerNotification>) {
        if let ServerNotification::Unknown { method, .. } = &*event {
            tracing::debug!(method, "unknown notification");
        }
        let mut global = self.global.lock().expect("router poisoned");
        // Before the first subscriber, keep (a bounded number of) events for it; after it, an
        // event nobody receives is dropped, never queued forever.
        if let Some(early) = global.early.as_mut() {
            if early.len() < EARLY_GLOBAL_LIMIT {
                early.push_back(Arc::clone(&event));
            } else {
                global.early_missed += 1;
            }
        }
        if let Some(sender) = global.sender.as_ref() {
            let _ = sender.send(event);
        }
    }

    fn route_turn(&self, turn_id: &str, event: &Arc<ServerNotification>, wake: &mut Vec<Waker>) {
        let completed = event.method() == "turn/completed";
        let droppable = is_droppable(event.method());
        let cost = if droppable { delta_cost(event) } else { 0 };
        let channel = {
            let mut table = self.turns.lock().expect("router poisoned");
            match table.channels.get(turn_id) {
                Some(channel) => Arc::clone(channel),
                None if table.finished.iter().any(|(id, _)| id == turn_id) => {
                    // Completed and already forgotten by every consumer: nothing of it is
                    // delivered again.
                    drop(table);
                    self.duplicate_completions
                        .fetch_add(u64::from(completed), Ordering::Relaxed);
                    tracing::warn!(
                        turn_id,
                        method = event.method(),
                        "event for a turn that already completed; not delivered"
                    );
                    return;
                }
                None => {
                    let channel = Arc::new(TurnChannel::default());
                    channel.state.lock().expect("channel poisoned").orphan =
                        Some(SubQueue::new(self.limits.policy));
                    table
                        .channels
                        .insert(turn_id.to_string(), Arc::clone(&channel));
                    table.orphans.push_back(turn_id.to_string());
                    evict_orphans(&mut table);
                    channel
                }
            }
        };
        let mut pressure = Vec::new();
        {
            let mut state = channel.state.lock().expect("channel poisoned");
            if state.completed {
                // The turn's stream ended at its first completion. A late duplicate or a replay
                // must neither reach consumers nor rebuild their results.
                self.duplicate_completions.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    turn_id,
                    method = event.method(),
                    "event for a turn that already completed; not delivered"
                );
                return;
            }
            if completed {
                state.completed = true;
            }
            if droppable {
                state.deltas_since += 1;
            } else {
                let before = std::mem::take(&mut state.deltas_since);
                state.history.push((before, Arc::clone(event)));
            }
            for (id, queue) in &mut state.subs {
                if queue.push(event, droppable, cost, &self.limits) {
                    pressure.push(Some(*id));
                }
                queue.completed |= completed;
                if let Some(waker) = queue.waker.take() {
                    wake.push(waker);
                }
            }
            if let Some(orphan) = state.orphan.as_mut() {
                if orphan.push(event, droppable, cost, &self.limits) {
                    pressure.push(None);
                }
                orphan.completed |= completed;
            }
        }
        if !pressure.is_empty() {
            let mut list = self.pressure.lock().expect("router poisoned");
            list.extend(pressure.into_iter().map(|sub| Pressure {
                channel: Arc::clone(&channel),
                sub,
            }));
            self.under_pressure.store(true, Ordering::Relaxed);
        }
        if completed {
            let mut table = self.turns.lock().expect("router poisoned");
            table
                .finished
                .push_back((turn_id.to_string(), Arc::clone(event)));
            if table.finished.len() > ORPHAN_TURN_LIMIT {
                table.finished.pop_front();
            }
        }
    }

    /// Subscribes to a turn. The first subscriber of a channel gets everything buffered so far
    /// (events that arrived before anyone asked); later ones start from now.
    /// `policy` is this subscriber's overflow policy (`None`: the client's).
    pub(crate) fn subscribe_turn(
        self: &Arc<Self>,
        turn_id: &str,
        policy: Option<OverflowPolicy>,
    ) -> TurnSubscription {
        let policy = policy.unwrap_or(self.limits.policy);
        let closed = self.closed.lock().expect("router poisoned").clone();
        let channel = {
            let mut table = self.turns.lock().expect("router poisoned");
            let channel = table
                .channels
                .entry(turn_id.to_string())
                .or_default()
                .clone();
            table.orphans.retain(|id| id != turn_id);
            channel
        };
        let id = {
            let mut state = channel.state.lock().expect("channel poisoned");
            let mut queue = match state.orphan.take() {
                Some(orphan) => orphan,
                // A late consumer: replay what the others have seen, deltas as lag markers.
                None if !state.subs.is_empty() => state.replay(policy),
                None => SubQueue::new(policy),
            };
            queue.policy = policy;
            let activity = Arc::clone(&queue.activity);
            let id = state.next_sub;
            state.next_sub += 1;
            state.subs.push((id, queue));
            if state.closed.is_none() {
                state.closed = closed;
            }
            (id, activity)
        };
        let (id, activity) = id;
        TurnSubscription {
            router: Arc::clone(self),
            turn_id: turn_id.to_string(),
            channel,
            id,
            local: VecDeque::new(),
            activity,
        }
    }

    /// The `turn/completed` notification of a recently finished turn, if it is remembered.
    pub(crate) fn finished_turn(&self, turn_id: &str) -> Option<Arc<ServerNotification>> {
        let table = self.turns.lock().expect("router poisoned");
        table
            .finished
            .iter()
            .rev()
            .find(|(id, _)| id == turn_id)
            .map(|(_, event)| Arc::clone(event))
    }

    fn unsubscribe(&self, turn_id: &str, channel: &Arc<TurnChannel>, id: u64) {
        let mut table = self.turns.lock().expect("router poisoned");
        let mut state = channel.state.lock().expect("channel poisoned");
        state.subs.retain(|(sub, _)| *sub != id);
        if !state.subs.is_empty() {
            return;
        }
        let same = table
            .channels
            .get(turn_id)
            .is_some_and(|c| Arc::ptr_eq(c, channel));
        if state.completed || state.closed.is_some() {
            if same {
                table.channels.remove(turn_id);
            }
        } else if same {
            // Nobody listens to a live turn any more: buffer it (bounded) like any orphan, so a
            // later subscriber still sees what happens next.
            state.orphan = Some(SubQueue::new(OverflowPolicy::DropDeltas));
            drop(state);
            table.orphans.push_back(turn_id.to_string());
            evict_orphans(&mut table);
        }
    }

    /// Learns the id of every turn that starts on `thread_id` from now on, until the receiver
    /// is dropped.
    pub(crate) fn watch_thread_turns(
        &self,
        thread_id: &str,
    ) -> tokio::sync::mpsc::UnboundedReceiver<String> {
        self.turn_watchers.watch(thread_id)
    }

    /// Learns every turn start and end and every `thread/goal/*` notification of `thread_id`
    /// from now on, in order, until the receiver is dropped.
    pub(crate) fn watch_goal(
        &self,
        thread_id: &str,
    ) -> tokio::sync::mpsc::UnboundedReceiver<GoalSignal> {
        self.goal_watchers.watch(thread_id)
    }

    /// Subscribes to the live global stream only, for the SDK's own watchers: the early backlog
    /// stays for the first user subscriber. `None` once the connection is closed.
    pub(crate) fn subscribe_global_live(
        &self,
    ) -> Option<broadcast::Receiver<Arc<ServerNotification>>> {
        let global = self.global.lock().expect("router poisoned");
        global.sender.as_ref().map(broadcast::Sender::subscribe)
    }

    /// Whether a `turn/completed` of this turn has already been routed.
    fn already_completed(&self, turn_id: &str) -> bool {
        let table = self.turns.lock().expect("router poisoned");
        match table.channels.get(turn_id) {
            Some(channel) => channel.state.lock().expect("channel poisoned").completed,
            None => table.finished.iter().any(|(id, _)| id == turn_id),
        }
    }

    /// Subscribes to the global stream. The first subscriber also gets what was published
    /// before it (even after the connection closed); the lock makes the hand-over exact: every
    /// event is either in the backlog or received live, never both, never neither.
    pub(crate) fn subscribe_global(&self) -> GlobalSubscription {
        let mut global = self.global.lock().expect("router poisoned");
        let backlog = global.early.take().unwrap_or_default();
        GlobalSubscription {
            backlog,
            missed: std::mem::take(&mut global.early_missed),
            receiver: global.sender.as_ref().map(broadcast::Sender::subscribe),
        }
    }

    fn route_login(&self, login_id: &str, event: Arc<ServerNotification>) {
        let mut logins = self.logins.lock().expect("router poisoned");
        match logins.0.remove(login_id) {
            Some(LoginSlot::Waiting(sender)) => {
                let _ = sender.send(Ok(event));
            }
            _ => {
                logins
                    .0
                    .insert(login_id.to_string(), LoginSlot::Done(event));
                logins.1.push_back(login_id.to_string());
                while logins.1.len() > UNCLAIMED_LOGIN_LIMIT {
                    if let Some(old) = logins.1.pop_front() {
                        if matches!(logins.0.get(&old), Some(LoginSlot::Done(_))) {
                            logins.0.remove(&old);
                        }
                    }
                }
            }
        }
    }

    /// Waits for the completion of one login. Completions for other ids are untouched.
    pub(crate) async fn wait_login(&self, login_id: &str) -> Result<Arc<ServerNotification>> {
        let receiver = {
            let mut logins = self.logins.lock().expect("router poisoned");
            if let Some(LoginSlot::Done(event)) = logins.0.get(login_id) {
                let event = Arc::clone(event);
                logins.0.remove(login_id);
                logins.1.retain(|id| id != login_id);
                return Ok(event);
            }
            if let Some(reason) = self.closed.lock().expect("router poisoned").clone() {
                return Err(Error::TransportClosed(reason));
            }
            let (sender, receiver) = oneshot::channel();
            logins
                .0
                .insert(login_id.to_string(), LoginSlot::Waiting(sender));
            receiver
        };
        match receiver.await {
            Ok(Ok(event)) => Ok(event),
            Ok(Err(reason)) => Err(Error::TransportClosed(reason)),
            Err(_) => Err(Error::Protocol(format!(
                "login {login_id} was waited for twice at once"
            ))),
        }
    }

    /// Forgets a login waiter (when `wait()` times out or is dropped).
    pub(crate) fn forget_login(&self, login_id: &str) {
        let mut logins = self.logins.lock().expect("router poisoned");
        if matches!(logins.0.get(login_id), Some(LoginSlot::Waiting(_))) {
            logins.0.remove(login_id);
        }
    }

    /// How many turns have started and not completed.
    pub(crate) fn running_turns(&self) -> usize {
        self.running.lock().expect("router poisoned").len()
    }

    /// The connection is gone: every consumer learns why, now and on every later call.
    pub(crate) fn fail_all(&self, reason: &ClosedReason) {
        self.running.lock().expect("router poisoned").clear();
        *self.closed.lock().expect("router poisoned") = Some(reason.clone());
        self.global.lock().expect("router poisoned").sender.take();
        let channels: Vec<Arc<TurnChannel>> = {
            let table = self.turns.lock().expect("router poisoned");
            table.channels.values().cloned().collect()
        };
        for channel in channels {
            let mut state = channel.state.lock().expect("channel poisoned");
            state.closed = Some(reason.clone());
            let wakers: Vec<Waker> = state
                .subs
                .iter_mut()
                .filter_map(|(_, q)| q.waker.take())
                .collect();
            drop(state);
            wakers.into_iter().for_each(Waker::wake);
        }
        let mut logins = self.logins.lock().expect("router poisoned");
        for (_, slot) in logins.0.drain() {
            if let LoginSlot::Waiting(sender) = slot {
                let _ = sender.send(Err(reason.clone()));
            }
        }
        logins.1.clear();
        drop(logins);
        self.turn_watchers.clear();
        self.goal_watchers.clear();
    }

    #[cfg(test)]
    pub(crate) fn channel_count(&self) -> usize {
        self.turns.lock().unwrap().channels.len()
    }
}

/// Per-thread listeners of one kind of signal; a listener leaves when its receiver is dropped.
struct Watchers<T> {
    by_thread: Mutex<HashMap<String, Vec<tokio::sync::mpsc::UnboundedSender<T>>>>,
}

impl<T> Default for Watchers<T> {
    fn default() -> Self {
        Self {
            by_thread: Mutex::default(),
        }
    }
}

impl<T: Clone> Watchers<T> {
    fn announce(&self, thread_id: &str, signal: &T) {
        let mut watchers = self.by_thread.lock().expect("router poisoned");
        if let Some(list) = watchers.get_mut(thread_id) {
            list.retain(|w| w.send(signal.clone()).is_ok());
            if list.is_empty() {
                watchers.remove(thread_id);
            }
        }
    }

    fn watch(&self, thread_id: &str) -> tokio::sync::mpsc::UnboundedReceiver<T> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        self.by_thread
            .lock()
            .expect("router poisoned")
            .entry(thread_id.to_string())
            .or_default()
            .push(tx);
        rx
    }

    fn clear(&self) {
        self.by_thread.lock().expect("router poisoned").clear();
    }
}

fn evict_orphans(table: &mut TurnTable) {
    while table.orphans.len() > ORPHAN_TURN_LIMIT {
        let Some(old) = table.orphans.pop_front() else {
            break;
        };
        let idle = table
            .channels
            .get(&old)
            .is_some_and(|c| c.state.lock().expect("channel poisoned").subs.is_empty());
        if idle {
            table.channels.remove(&old);
        }
    }
}

/// One consumer of a turn: a `Stream` of [`TurnEvent`]s that ends after `turn/completed`.
pub(crate) struct TurnSubscription {
    router: Arc<Router>,
    turn_id: String,
    channel: Arc<TurnChannel>,
    id: u64,
    /// Entries taken from the shared queue in one batch (one lock per batch, not per event).
    /// They are this consumer's from then on and no longer count against the queue's bound.
    local: VecDeque<Entry>,
    /// Shared with the queue: bumped on every poll (see [`SubQueue::activity`]).
    activity: Arc<AtomicU64>,
}

impl std::fmt::Debug for TurnSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnSubscription")
            .field("turn_id", &self.turn_id)
            .finish_non_exhaustive()
    }
}

impl TurnSubscription {
    /// Whether this subscriber has already yielded `turn/completed` (nothing more will come).
    pub(crate) fn is_finished(&self) -> bool {
        if !self.local.is_empty() {
            return false;
        }
        let state = self.channel.state.lock().expect("channel poisoned");
        state
            .subs
            .iter()
            .find(|(id, _)| *id == self.id)
            .is_none_or(|(_, q)| q.completed && q.entries.is_empty())
    }

    /// The next event if one is already here, without waiting and without a task context: from
    /// the batch taken before, else the whole queue taken as the next batch. `None` when the
    /// stream would have to wait, has ended or failed (`poll_next` says which).
    pub(crate) fn try_next(&mut self) -> Option<TurnEvent> {
        self.activity.fetch_add(1, Ordering::Relaxed);
        if let Some(entry) = self.local.pop_front() {
            return Some(Self::yield_entry(entry));
        }
        let mut guard = self.channel.state.lock().expect("channel poisoned");
        let (_, queue) = guard.subs.iter_mut().find(|(id, _)| *id == self.id)?;
        if queue.entries.is_empty() {
            return None;
        }
        std::mem::swap(&mut self.local, &mut queue.entries);
        queue.deltas = 0;
        queue.bytes = 0;
        drop(guard);
        self.router.notify_room();
        self.local.pop_front().map(Self::yield_entry)
    }

    fn yield_entry(entry: Entry) -> TurnEvent {
        match entry {
            Entry::Event(event) => TurnEvent::Notification(event),
            Entry::Lagged(dropped) => TurnEvent::Lagged { dropped },
        }
    }
}

impl Stream for TurnSubscription {
    type Item = Result<TurnEvent>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        this.activity.fetch_add(1, Ordering::Relaxed);
        if let Some(entry) = this.local.pop_front() {
            return Poll::Ready(Some(Ok(Self::yield_entry(entry))));
        }
        let channel = Arc::clone(&this.channel);
        let mut guard = channel.state.lock().expect("channel poisoned");
        let state = &mut *guard;
        let Some((_, queue)) = state.subs.iter_mut().find(|(id, _)| *id == this.id) else {
            return Poll::Ready(None);
        };
        if !queue.entries.is_empty() {
            // Take the whole backlog at once (`local` is empty: the swap also recycles its
            // capacity for the shared queue). The batch is ours now: the queue is empty.
            std::mem::swap(&mut this.local, &mut queue.entries);
            queue.deltas = 0;
            queue.bytes = 0;
            drop(guard);
            this.router.notify_room();
            let entry = this.local.pop_front().expect("swapped a non-empty queue");
            return Poll::Ready(Some(Ok(Self::yield_entry(entry))));
        }
        if queue.completed {
            return Poll::Ready(None);
        }
        match &state.closed {
            Some(reason) => {
                // Yield the failure once, then end.
                queue.completed = true;
                Poll::Ready(Some(Err(Error::TransportClosed(reason.clone()))))
            }
            None => {
                if !queue
                    .waker
                    .as_ref()
                    .is_some_and(|w| w.will_wake(cx.waker()))
                {
                    queue.waker = Some(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }
}

impl Drop for TurnSubscription {
    fn drop(&mut self) {
        self.router
            .unsubscribe(&self.turn_id, &self.channel, self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use serde_json::json;

    fn note(method: &str, params: serde_json::Value) -> (ServerNotification, Box<RawValue>) {
        let raw = RawValue::from_string(params.to_string()).unwrap();
        // Minimal payloads that do not fit the schema stay `Unknown`, as the reader keeps them.
        let decoded = ServerNotification::decode(method, &raw).unwrap_or_else(|_| {
            ServerNotification::Unknown {
                method: method.to_string(),
                params: params.clone(),
            }
        });
        (decoded, raw)
    }

    fn route(router: &Router, method: &str, params: serde_json::Value) {
        let (n, raw) = note(method, params);
        router.route(n, Some(&raw));
    }

    fn methods(events: &[Result<TurnEvent>]) -> Vec<String> {
        events
            .iter()
            .map(|e| match e {
                Ok(TurnEvent::Notification(n)) => n.method().to_string(),
                Ok(TurnEvent::Lagged { dropped }) => format!("lagged:{dropped}"),
                Err(e) => format!("err:{e}"),
            })
            .collect()
    }

    #[tokio::test]
    async fn events_before_subscription_are_kept_and_stream_ends_after_completion() {
        let router = Arc::new(Router::new(StreamLimits::dropping(100)));
        route(
            &router,
            "turn/started",
            json!({"threadId": "t", "turn": {"id": "u1"}}),
        );
        route(
            &router,
            "item/agentMessage/delta",
            json!({"threadId": "t", "turnId": "u1", "itemId": "i", "delta": "a"}),
        );
        route(
            &router,
            "turn/completed",
            json!({"threadId": "t", "turn": {"id": "u1"}}),
        );
        let sub = router.subscribe_turn("u1", None);
        let events: Vec<_> = sub.collect().await;
        assert_eq!(
            methods(&events),
            ["turn/started", "item/agentMessage/delta", "turn/completed"]
        );
        assert_eq!(
            router.channel_count(),
            0,
            "a finished, unsubscribed turn is forgotten"
        );
        assert!(router.finished_turn("u1").is_some());
    }

    #[tokio::test]
    async fn turns_do_not_see_each_others_events() {
        let router = Arc::new(Router::new(StreamLimits::dropping(100)));
        let a = router.subscribe_turn("a", None);
        let b = router.subscribe_turn("b", None);
        for (turn, text) in [("a", "1"), ("b", "2"), ("a", "3")] {
            route(
                &router,
                "item/agentMessage/delta",
                json!({"threadId": "t", "turnId": turn, "itemId": "i", "delta": text}),
            );
        }
        route(
            &router,
            "turn/completed",
            json!({"threadId": "t", "turn": {"id": "a"}}),
        );
        route(
            &router,
            "turn/completed",
            json!({"threadId": "t", "turn": {"id": "b"}}),
        );
        assert_eq!(a.collect::<Vec<_>>().await.len(), 3);
        assert_eq!(b.collect::<Vec<_>>().await.len(), 2);
    }

    #[tokio::test]
    async fn a_late_consumer_replays_every_essential_event_with_lag_markers() {
        let router = Arc::new(Router::new(StreamLimits::dropping(100)));
        let first = router.subscribe_turn("u", None);
        route(
            &router,
            "turn/started",
            json!({"threadId": "t", "turn": {"id": "u"}}),
        );
        for i in 0..3 {
            route(
                &router,
                "item/agentMessage/delta",
                json!({"threadId": "t", "turnId": "u", "itemId": "i", "delta": i.to_string()}),
            );
        }
        route(
            &router,
            "item/completed",
            json!({"threadId": "t", "turnId": "u", "item": {"type": "agentMessage", "id": "i", "text": "012"}}),
        );
        let late = router.subscribe_turn("u", None);
        route(
            &router,
            "item/agentMessage/delta",
            json!({"threadId": "t", "turnId": "u", "itemId": "j", "delta": "x"}),
        );
        route(
            &router,
            "turn/completed",
            json!({"threadId": "t", "turn": {"id": "u"}}),
        );
        assert_eq!(
            methods(&late.collect::<Vec<_>>().await),
            [
                "turn/started",
                "lagged:3",
                "item/completed",
                "item/agentMessage/delta",
                "turn/completed"
            ]
        );
        assert_eq!(
            first.collect::<Vec<_>>().await.len(),
            7,
            "the first consumer saw everything"
        );
    }

    #[tokio::test]
    async fn a_lagging_consumer_drops_deltas_but_never_essentials() {
        let router = Arc::new(Router::new(StreamLimits::dropping(2)));
        let sub = router.subscribe_turn("u", None);
        for i in 0..5 {
            route(
                &router,
                "item/agentMessage/delta",
                json!({"threadId": "t", "turnId": "u", "itemId": "i", "delta": i.to_string()}),
            );
        }
        route(
            &router,
            "item/completed",
            json!({"threadId": "t", "turnId": "u", "item": {"type": "agentMessage", "id": "i", "text": "01234"}}),
        );
        route(
            &router,
            "turn/completed",
            json!({"threadId": "t", "turn": {"id": "u"}}),
        );
        let events: Vec<_> = sub.collect().await;
        assert_eq!(
            methods(&events),
            [
                "item/agentMessage/delta",
                "item/agentMessage/delta",
                "lagged:3",
                "item/completed",
                "turn/completed"
            ]
        );
    }

    async fn next_global(sub: &mut GlobalSubscription) -> String {
        match sub.next().await {
            Some(GlobalEvent::Notification(n)) => n.method().to_string(),
            other => panic!("expected a notification, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn global_events_before_the_first_subscriber_are_kept_for_it_bounded() {
        let router = Arc::new(Router::new(StreamLimits::dropping(10)));
        route(&router, "configWarning", json!({"summary": "first"}));
        for i in 0..EARLY_GLOBAL_LIMIT + 5 {
            route(&router, "warning", json!({"message": format!("w{i}")}));
        }
        // The SDK's own watchers (reconnect) leave the backlog to the first user subscriber.
        let _watcher = router.subscribe_global_live().unwrap();
        let mut first = router.subscribe_global();
        let mut second = router.subscribe_global();
        assert_eq!(next_global(&mut first).await, "configWarning");
        for _ in 1..EARLY_GLOBAL_LIMIT {
            assert_eq!(next_global(&mut first).await, "warning");
        }
        assert!(
            matches!(first.next().await, Some(GlobalEvent::Lagged { missed: 6 })),
            "the events past the bound are counted, not kept"
        );
        // After the first subscriber, each one starts from now.
        route(&router, "deprecationNotice", json!({"summary": "later"}));
        assert_eq!(next_global(&mut first).await, "deprecationNotice");
        assert_eq!(next_global(&mut second).await, "deprecationNotice");
        // What arrived before a close still reaches a first subscriber after it.
        let closed = Arc::new(Router::new(StreamLimits::dropping(10)));
        route(&closed, "configWarning", json!({"summary": "bad config"}));
        closed.fail_all(&ClosedReason {
            message: "gone".into(),
            exit_status: None,
            stderr_tail: Vec::new(),
        });
        let mut late = closed.subscribe_global();
        assert_eq!(next_global(&mut late).await, "configWarning");
        assert!(late.next().await.is_none());
    }

    #[tokio::test]
    async fn global_and_login_routes() {
        let router = Arc::new(Router::new(StreamLimits::dropping(10)));
        let mut global = router.subscribe_global();
        route(&router, "warning", json!({"message": "careful"}));
        assert_eq!(next_global(&mut global).await, "warning");
        // A completion that arrives before anyone waits is kept for its own id only.
        route(
            &router,
            "account/login/completed",
            json!({"loginId": "L1", "success": true}),
        );
        let done = router.wait_login("L1").await.unwrap();
        assert_eq!(done.method(), "account/login/completed");
        // API-key completions (no loginId) are global.
        route(
            &router,
            "account/login/completed",
            json!({"loginId": null, "success": true}),
        );
        assert_eq!(next_global(&mut global).await, "account/login/completed");
    }

    #[tokio::test]
    async fn fail_all_reaches_streams_and_logins() {
        let router = Arc::new(Router::new(StreamLimits::dropping(10)));
        let mut sub = router.subscribe_turn("u", None);
        let waiter = {
            let router = Arc::clone(&router);
            tokio::spawn(async move { router.wait_login("L").await })
        };
        tokio::task::yield_now().await;
        let reason = ClosedReason {
            message: "runtime exited".into(),
            exit_status: Some("exit status: 3".into()),
            stderr_tail: vec!["boom".into()],
        };
        router.fail_all(&reason);
        let err = sub.next().await.unwrap().unwrap_err();
        assert!(err.to_string().contains("boom"), "{err}");
        assert!(sub.next().await.is_none());
        assert!(waiter.await.unwrap().unwrap_err().is_transport_closed());
        let mut late = router.subscribe_turn("v", None);
        assert!(late.next().await.unwrap().is_err());
    }

    #[tokio::test]
    async fn goal_watchers_see_turns_and_goal_events_of_their_thread_in_order() {
        let router = Arc::new(Router::new(StreamLimits::dropping(10)));
        let mut watcher = router.watch_goal("t");
        let mut global = router.subscribe_global();
        route(
            &router,
            "turn/started",
            json!({"threadId": "t", "turn": {"id": "u1"}}),
        );
        route(
            &router,
            "turn/started",
            json!({"threadId": "other", "turn": {"id": "x"}}),
        );
        route(
            &router,
            "thread/goal/updated",
            json!({"threadId": "t", "turnId": "u1", "goal": {}}),
        );
        route(
            &router,
            "turn/completed",
            json!({"threadId": "t", "turn": {"id": "u1"}}),
        );
        route(&router, "thread/goal/cleared", json!({"threadId": "t"}));
        let mut seen = Vec::new();
        while let Ok(signal) = watcher.try_recv() {
            seen.push(match signal {
                GoalSignal::TurnStarted(id) => format!("started {id}"),
                GoalSignal::TurnCompleted(id, _) => format!("completed {id}"),
                GoalSignal::Goal(n) => n.method().to_string(),
            });
        }
        assert_eq!(
            seen,
            [
                "started u1",
                "thread/goal/updated",
                "completed u1",
                "thread/goal/cleared"
            ]
        );
        // Copies only: the turn-scoped update is still in the turn's stream, the thread-level
        // clear still on the global stream.
        let events: Vec<_> = router.subscribe_turn("u1", None).collect().await;
        assert!(methods(&events).contains(&"thread/goal/updated".to_string()));
        assert_eq!(next_global(&mut global).await, "thread/goal/cleared");
    }

    fn delta(router: &Router, turn: &str, text: &str) {
        route(
            router,
            "item/agentMessage/delta",
            json!({"threadId": "t", "turnId": turn, "itemId": "i", "delta": text}),
        );
    }

    #[tokio::test]
    async fn a_batch_taken_by_the_consumer_no_longer_counts_against_the_bound() {
        let router = Arc::new(Router::new(StreamLimits::dropping(4)));
        let mut sub = router.subscribe_turn("u", None);
        for _ in 0..4 {
            delta(&router, "u", "a");
        }
        // The consumer takes the batch of 4 and has read one of them so far.
        assert!(sub.next().await.is_some());
        for _ in 0..4 {
            delta(&router, "u", "b");
        }
        route(
            &router,
            "turn/completed",
            json!({"threadId": "t", "turn": {"id": "u"}}),
        );
        let rest = methods(&sub.collect::<Vec<_>>().await);
        assert!(
            !rest.iter().any(|m| m.starts_with("lagged")),
            "4 unread in the queue fit the bound of 4: {rest:?}"
        );
        assert_eq!(rest.len(), 3 + 4 + 1);
    }

    #[tokio::test]
    async fn deltas_are_bounded_by_bytes_as_well_as_by_count() {
        let limits = StreamLimits {
            bytes: 3 * (1000 + DELTA_OVERHEAD),
            ..StreamLimits::dropping(1000)
        };
        let router = Arc::new(Router::new(limits));
        let sub = router.subscribe_turn("u", None);
        let big = "x".repeat(999);
        for _ in 0..10 {
            delta(&router, "u", &big);
        }
        route(
            &router,
            "turn/completed",
            json!({"threadId": "t", "turn": {"id": "u"}}),
        );
        assert_eq!(
            methods(&sub.collect::<Vec<_>>().await),
            [
                "item/agentMessage/delta",
                "item/agentMessage/delta",
                "item/agentMessage/delta",
                "lagged:7",
                "turn/completed"
            ]
        );
    }

    #[tokio::test]
    async fn a_repeated_completion_is_counted_and_never_queued() {
        let router = Arc::new(Router::new(StreamLimits::dropping(10)));
        let sub = router.subscribe_turn("u", None);
        for _ in 0..2 {
            route(
                &router,
                "turn/completed",
                json!({"threadId": "t", "turn": {"id": "u"}}),
            );
        }
        assert_eq!(methods(&sub.collect::<Vec<_>>().await), ["turn/completed"]);
        // Also once every consumer has gone and the channel is forgotten.
        route(
            &router,
            "turn/completed",
            json!({"threadId": "t", "turn": {"id": "u"}}),
        );
        assert_eq!(router.duplicate_completions(), 2);
        assert_eq!(router.channel_count(), 0);
    }

    fn backpressure(events: usize, patience: Duration) -> StreamLimits {
        StreamLimits {
            policy: OverflowPolicy::Backpressure,
            patience,
            ..StreamLimits::dropping(events)
        }
    }

    #[tokio::test]
    async fn backpressure_keeps_every_delta_and_the_reader_waits_until_the_consumer_reads() {
        let router = Arc::new(Router::new(backpressure(2, Duration::from_secs(30))));
        let mut sub = router.subscribe_turn("u", None);
        delta(&router, "u", "1");
        assert!(!router.under_pressure());
        delta(&router, "u", "2");
        assert!(router.under_pressure(), "the queue is at its bound");
        let reader = {
            let router = Arc::clone(&router);
            std::thread::spawn(move || {
                let started = Instant::now();
                router.wait_for_room(|| false);
                started.elapsed()
            })
        };
        std::thread::sleep(Duration::from_millis(200));
        assert!(!reader.is_finished(), "the reader waits for the consumer");
        assert!(sub.next().await.is_some());
        let waited = reader.join().unwrap();
        assert!(waited >= Duration::from_millis(200), "{waited:?}");
        for i in 3..10 {
            delta(&router, "u", &i.to_string());
        }
        route(
            &router,
            "turn/completed",
            json!({"threadId": "t", "turn": {"id": "u"}}),
        );
        let rest = methods(&sub.collect::<Vec<_>>().await);
        assert_eq!(rest.len(), 1 + 7 + 1, "nothing dropped: {rest:?}");
    }

    #[test]
    fn the_reader_never_waits_for_a_consumer_that_left_or_stopped_polling() {
        let router = Arc::new(Router::new(backpressure(2, Duration::from_millis(200))));
        // Left: the pressure goes with it.
        let sub = router.subscribe_turn("a", None);
        delta(&router, "a", "1");
        delta(&router, "a", "2");
        drop(sub);
        let started = Instant::now();
        router.wait_for_room(|| false);
        assert!(started.elapsed() < Duration::from_millis(100));
        // Stopped polling: after the patience it drops deltas instead.
        let sub = router.subscribe_turn("b", None);
        delta(&router, "b", "1");
        delta(&router, "b", "2");
        let started = Instant::now();
        router.wait_for_room(|| false);
        assert!(started.elapsed() >= Duration::from_millis(200));
        delta(&router, "b", "3");
        assert!(!router.under_pressure(), "the silent consumer drops now");
        // A caller waiting for a reply: read on at once.
        let _other = router.subscribe_turn("c", None);
        delta(&router, "c", "1");
        delta(&router, "c", "2");
        let started = Instant::now();
        router.wait_for_room(|| true);
        assert!(started.elapsed() < Duration::from_millis(100));
        drop(sub);
    }

    #[test]
    fn orphan_channels_are_bounded() {
        let router = Arc::new(Router::new(StreamLimits::dropping(10)));
        for i in 0..(ORPHAN_TURN_LIMIT + 50) {
            route(
                &router,
                "turn/started",
                json!({"threadId": "t", "turn": {"id": format!("u{i}")}}),
            );
        }
        assert_eq!(router.channel_count(), ORPHAN_TURN_LIMIT);
    }
}
