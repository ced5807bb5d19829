//! A placement layer over several runtimes: child processes and/or endpoints.
//!
//! [`AsyncCodexPool`] is not a scheduler: it runs nothing itself and queues nothing. It places
//! each new thread on the healthy member with the fewest running turns (then the fewest threads
//! placed, so a burst of starts spreads), and every later call on that thread goes to that
//! member, because a thread lives in its runtime's home. Members are checked in the background:
//! one whose connection is gone, or (for a `ws://` endpoint) whose `/readyz` does not answer 200,
//! gets no new threads; the check re-opens a lost member's connection, and it rejoins when
//! healthy. Turns running on a member that goes down fail with [`Error::TransportClosed`], as on
//! a single client. Running N replicas is the orchestrator's job (see `docs/deploying.md`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use openai_codex_protocol as proto;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::codex::AsyncCodex;
use crate::config::CodexConfig;
use crate::endpoint::Address;
use crate::error::{ClosedReason, Error, Result};
use crate::thread::{AsyncThread, ThreadListOptions, ThreadResumeOptions, ThreadStartOptions};

/// How often members are checked by default.
const DEFAULT_HEALTH_INTERVAL: Duration = Duration::from_secs(2);
/// Bound on one readiness probe or reconnect attempt of the health check.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// Threads on one page of [`AsyncCodexPool::thread_list`] when `limit` is not given.
const DEFAULT_LIST_PAGE: usize = 25;

/// One page of [`AsyncCodexPool::thread_list`]: threads of every member, in one order.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct PoolThreadPage {
    /// The threads, merged by the requested sort key and direction.
    pub data: Vec<proto::Thread>,
    /// Pass as `ThreadListOptions::cursor` for the next page; `None` after the last page.
    pub next_cursor: Option<String>,
}

/// One member's state, as [`AsyncCodexPool::members`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemberStatus {
    /// The member's position in the list the pool was built from.
    pub index: usize,
    /// The endpoint URL, or `child` for a runtime the pool launched.
    pub name: String,
    /// Whether the member takes new threads.
    pub healthy: bool,
    /// Turns running on the member.
    pub running_turns: usize,
    /// Threads the pool placed (or resumed) on the member.
    pub threads: usize,
}

struct Member {
    config: CodexConfig,
    name: String,
    client: RwLock<Option<AsyncCodex>>,
    healthy: AtomicBool,
    threads: AtomicUsize,
}

impl Member {
    fn client(&self) -> Option<AsyncCodex> {
        self.client.read().expect("member lock poisoned").clone()
    }

    fn running_turns(&self) -> usize {
        self.client().map_or(0, |c| c.running_turns())
    }
}

struct PoolInner {
    members: Vec<Member>,
    /// Thread id -> member index.
    placements: Mutex<HashMap<String, usize>>,
    /// Serializes placement decisions, so concurrent starts see each other's choices.
    placing: tokio::sync::Mutex<()>,
    closed: AtomicBool,
}

/// Spreads threads over several runtimes. Cheap to clone.
///
/// # Examples
///
/// ```no_run
/// use openai_codex::{AsyncCodexPool, CodexConfig, Endpoint, ThreadStartOptions, TurnOptions};
///
/// # async fn example() -> openai_codex::Result<()> {
/// let token = std::fs::read_to_string("/run/secrets/codex-token")?;
/// let members = vec![
///     CodexConfig::default(), // a child process
///     CodexConfig::default().endpoint(Endpoint::parse("wss://codex-0.codex:4500")?.capability_token(&token)),
///     CodexConfig::default().endpoint(Endpoint::parse("wss://codex-1.codex:4500")?.capability_token(&token)),
/// ];
/// let pool = AsyncCodexPool::new(members).await?;
/// let thread = pool.thread_start(ThreadStartOptions::default()).await?;
/// let result = thread.run("Hello", TurnOptions::default()).await?;
/// pool.close().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AsyncCodexPool {
    inner: Arc<PoolInner>,
}

impl std::fmt::Debug for AsyncCodexPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncCodexPool")
            .field("members", &self.members())
            .finish()
    }
}

impl AsyncCodexPool {
    /// Starts or connects every member (in parallel) and checks them every 2 s. A member that
    /// cannot be reached now is kept as unhealthy and retried by the checks.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty list; the first member's error when none can be
    /// reached.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example() -> openai_codex::Result<()> {
    /// use openai_codex::{AsyncCodexPool, CodexConfig};
    /// let pool = AsyncCodexPool::new(vec![CodexConfig::default(), CodexConfig::default()]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn new(members: Vec<CodexConfig>) -> Result<Self> {
        Self::with_health_interval(members, DEFAULT_HEALTH_INTERVAL).await
    }

    /// [`AsyncCodexPool::new`] with another interval between health checks.
    ///
    /// # Errors
    /// As [`AsyncCodexPool::new`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example() -> openai_codex::Result<()> {
    /// use std::time::Duration;
    /// use openai_codex::{AsyncCodexPool, CodexConfig};
    /// let pool = AsyncCodexPool::with_health_interval(
    ///     vec![CodexConfig::default()],
    ///     Duration::from_millis(500),
    /// ).await?;
    /// # Ok(()) }
    /// ```
    pub async fn with_health_interval(
        members: Vec<CodexConfig>,
        interval: Duration,
    ) -> Result<Self> {
        if members.is_empty() {
            return Err(Error::InvalidInput {
                field: "members",
                message: "a pool needs at least one member (a CodexConfig per runtime)".into(),
            });
        }
        let started = futures::future::join_all(members.iter().cloned().map(AsyncCodex::new)).await;
        let mut first_error = None;
        let members: Vec<Member> = members
            .into_iter()
            .zip(started)
            .map(|(config, client)| {
                let name = config
                    .endpoint
                    .as_ref()
                    .map_or_else(|| "child".to_string(), ToString::to_string);
                let client = match client {
                    Ok(client) => Some(client),
                    Err(error) => {
                        tracing::warn!(%error, member = %name, "pool member unavailable");
                        first_error.get_or_insert(error);
                        None
                    }
                };
                Member {
                    healthy: AtomicBool::new(client.is_some()),
                    config,
                    name,
                    client: RwLock::new(client),
                    threads: AtomicUsize::new(0),
                }
            })
            .collect();
        if members.iter().all(|m| m.client().is_none()) {
            return Err(first_error.expect("every member failed"));
        }
        let inner = Arc::new(PoolInner {
            members,
            placements: Mutex::default(),
            placing: tokio::sync::Mutex::new(()),
            closed: AtomicBool::new(false),
        });
        let weak = Arc::downgrade(&inner);
        tokio::spawn(health_loop(weak, interval));
        Ok(Self { inner })
    }

    /// Starts a thread on the healthy member with the fewest running turns (then the fewest
    /// threads placed).
    ///
    /// # Errors
    /// [`Error::TransportClosed`] when no member is healthy; otherwise as
    /// [`AsyncCodex::thread_start`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(pool: openai_codex::AsyncCodexPool) -> openai_codex::Result<()> {
    /// let thread = pool.thread_start(openai_codex::ThreadStartOptions::default()).await?;
    /// println!("placed on member {:?}", pool.member_of(thread.id()));
    /// # Ok(()) }
    /// ```
    pub async fn thread_start(&self, options: ThreadStartOptions) -> Result<AsyncThread> {
        let (index, client) = {
            let _placing = self.inner.placing.lock().await;
            let index = self.pick()?;
            let member = &self.inner.members[index];
            member.threads.fetch_add(1, Ordering::SeqCst);
            (index, member.client().ok_or_else(|| no_member("gone"))?)
        };
        let started = client.thread_start(options).await;
        match started {
            Ok(thread) => {
                self.inner
                    .placements
                    .lock()
                    .expect("pool lock poisoned")
                    .insert(thread.id().to_string(), index);
                Ok(thread)
            }
            Err(error) => {
                self.inner.members[index]
                    .threads
                    .fetch_sub(1, Ordering::SeqCst);
                if error.is_transport_closed() {
                    self.inner.members[index]
                        .healthy
                        .store(false, Ordering::SeqCst);
                }
                Err(error)
            }
        }
    }

    /// Resumes a thread on the member it lives on (as placed by this pool), e.g. after that
    /// member came back.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a thread this pool did not place; [`Error::TransportClosed`]
    /// while its member is down; otherwise as [`AsyncCodex::thread_resume`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(pool: openai_codex::AsyncCodexPool) -> openai_codex::Result<()> {
    /// let thread = pool.thread_resume("<thread id>", Default::default()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn thread_resume(
        &self,
        thread_id: &str,
        options: ThreadResumeOptions,
    ) -> Result<AsyncThread> {
        let index = self
            .member_of(thread_id)
            .ok_or_else(|| Error::InvalidInput {
                field: "thread_id",
                message: format!(
                "thread {thread_id} was not placed by this pool; resume it on its runtime's client"
            ),
            })?;
        let member = &self.inner.members[index];
        let client = member
            .client()
            .filter(|c| !c.is_closed())
            .ok_or_else(|| no_member(&member.name))?;
        client.thread_resume(thread_id, options).await
    }

    /// The index of the member a thread was placed on.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn example(pool: openai_codex::AsyncCodexPool) {
    /// assert_eq!(pool.member_of("unknown"), None);
    /// # }
    /// ```
    pub fn member_of(&self, thread_id: &str) -> Option<usize> {
        self.inner
            .placements
            .lock()
            .expect("pool lock poisoned")
            .get(thread_id)
            .copied()
    }

    /// One page of the threads on every member, merged into one order, with a cursor for the
    /// next page.
    ///
    /// The members are read as one list: each member's own list is merged by the sort key
    /// `options` asks for (the runtime's default: `created_at`, newest first), and a page holds
    /// at most `options.limit` threads (default 25). The cursor (opaque) keeps each member's
    /// place; no thread is skipped or listed twice while the lists do not change. Each page
    /// reads every member's list from its top down to the page (the runtime's own cursors skip
    /// threads created in the same second), so deep pages cost more than the first. Pass the returned
    /// [`next_cursor`](PoolThreadPage::next_cursor) as `options.cursor`, with the same other
    /// options, for the next page; it is `None` after the last one. A member that is down when
    /// the first page is read is left out of the listing; one that goes down while later pages
    /// are read fails the call (retry the same cursor once it is back). Threads listed here can
    /// be resumed through the pool ([`AsyncCodexPool::thread_resume`]).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a cursor that did not come from this pool's `thread_list`;
    /// [`Error::TransportClosed`] when a member still being paged through is down; the
    /// member's error when it fails to answer.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(pool: openai_codex::AsyncCodexPool) -> openai_codex::Result<()> {
    /// use openai_codex::ThreadListOptions;
    ///
    /// let mut options = ThreadListOptions::default().limit(50);
    /// loop {
    ///     let page = pool.thread_list(options.clone()).await?;
    ///     for thread in &page.data {
    ///         println!("{} on member {:?}", thread.id, pool.member_of(&thread.id));
    ///     }
    ///     match page.next_cursor {
    ///         Some(cursor) => options = options.cursor(cursor),
    ///         None => break,
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn thread_list(&self, options: ThreadListOptions) -> Result<PoolThreadPage> {
        let page_size = options.limit.map_or(DEFAULT_LIST_PAGE, |l| {
            usize::try_from(l.max(1)).unwrap_or(usize::MAX)
        });
        let positions = match options.cursor.as_deref() {
            Some(cursor) => listing::decode(cursor, self.inner.members.len())?,
            None => self
                .inner
                .members
                .iter()
                .map(|m| {
                    // Down at the start: left out of this listing.
                    if m.healthy.load(Ordering::SeqCst)
                        && m.client().is_some_and(|c| !c.is_closed())
                    {
                        listing::Position::At(0)
                    } else {
                        listing::Position::Done
                    }
                })
                .collect(),
        };
        let reads = self
            .inner
            .members
            .iter()
            .zip(&positions)
            .map(|(member, position)| {
                let options = options.clone();
                async move {
                    let listing::Position::At(listed) = position else {
                        return Ok(listing::Run::default());
                    };
                    let client = member
                        .client()
                        .filter(|c| !c.is_closed())
                        .ok_or_else(|| no_member(&member.name))?;
                    listing::read_run(&client, options, *listed, page_size).await
                }
            });
        let mut runs = futures::future::try_join_all(reads).await?;
        let order = listing::Order::of(&options);
        let (data, taken) = listing::merge(&mut runs, &order, page_size);
        {
            let mut placements = self.inner.placements.lock().expect("pool lock poisoned");
            for (thread, &member) in data.iter().zip(&taken) {
                placements.entry(thread.id.clone()).or_insert(member);
            }
        }
        let next: Vec<listing::Position> = positions
            .iter()
            .zip(&runs)
            .map(|(position, run)| run.advance(position))
            .collect();
        let next_cursor = next
            .iter()
            .any(|p| !matches!(p, listing::Position::Done))
            .then(|| listing::encode(&next));
        Ok(PoolThreadPage { data, next_cursor })
    }

    /// Every member's state.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn example(pool: openai_codex::AsyncCodexPool) {
    /// for member in pool.members() {
    ///     println!("{} healthy={} running={}", member.name, member.healthy, member.running_turns);
    /// }
    /// # }
    /// ```
    pub fn members(&self) -> Vec<MemberStatus> {
        self.inner
            .members
            .iter()
            .enumerate()
            .map(|(index, m)| MemberStatus {
                index,
                name: m.name.clone(),
                healthy: m.healthy.load(Ordering::SeqCst),
                running_turns: m.running_turns(),
                threads: m.threads.load(Ordering::SeqCst),
            })
            .collect()
    }

    /// Checks every member now (the background check does the same periodically): probes
    /// readiness, re-opens lost connections, and updates who takes new threads.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(pool: openai_codex::AsyncCodexPool) {
    /// pool.check_health().await;
    /// # }
    /// ```
    pub async fn check_health(&self) {
        check_all(&self.inner).await;
    }

    /// Closes every member's client (stopping the runtimes the pool launched). Idempotent.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(pool: openai_codex::AsyncCodexPool) {
    /// pool.close().await;
    /// # }
    /// ```
    pub async fn close(&self) {
        self.inner.closed.store(true, Ordering::SeqCst);
        let clients: Vec<AsyncCodex> = self
            .inner
            .members
            .iter()
            .filter_map(|m| m.client.write().expect("member lock poisoned").take())
            .collect();
        futures::future::join_all(clients.iter().map(AsyncCodex::close)).await;
    }

    fn pick(&self) -> Result<usize> {
        let candidates = self.inner.members.iter().enumerate().filter(|(_, m)| {
            m.healthy.load(Ordering::SeqCst) && m.client().is_some_and(|c| !c.is_closed())
        });
        candidates
            .min_by_key(|(_, m)| (m.running_turns(), m.threads.load(Ordering::SeqCst)))
            .map(|(index, _)| index)
            .ok_or_else(|| no_member("every member"))
    }
}

fn no_member(which: &str) -> Error {
    Error::TransportClosed(ClosedReason {
        message: format!("no healthy pool member ({which} is down); the health check retries"),
        exit_status: None,
        stderr_tail: Vec::new(),
    })
}

async fn health_loop(weak: Weak<PoolInner>, interval: Duration) {
    loop {
        tokio::time::sleep(interval).await;
        let Some(inner) = weak.upgrade() else { return };
        if inner.closed.load(Ordering::SeqCst) {
            return;
        }
        check_all(&inner).await;
    }
}

async fn check_all(inner: &Arc<PoolInner>) {
    futures::future::join_all(inner.members.iter().map(|m| check_member(inner, m))).await;
}

async fn check_member(inner: &PoolInner, member: &Member) {
    let alive = member.client().filter(|c| !c.is_closed());
    if alive.is_none() && !inner.closed.load(Ordering::SeqCst) {
        // Lost (or never reached): try to re-open it. A child member gets a new process on the
        // same home; an endpoint member a new connection.
        let attempt =
            tokio::time::timeout(PROBE_TIMEOUT * 5, AsyncCodex::new(member.config.clone()));
        match attempt.await {
            Ok(Ok(client)) => {
                if inner.closed.load(Ordering::SeqCst) {
                    client.close().await;
                    return;
                }
                *member.client.write().expect("member lock poisoned") = Some(client);
            }
            _ => {
                member.healthy.store(false, Ordering::SeqCst);
                return;
            }
        }
    }
    let ready = match &member.config.endpoint {
        Some(endpoint) => match &endpoint.address {
            Address::Web {
                secure: false,
                host,
                port,
                ..
            } => readyz(host, *port).await,
            // wss:// and unix://: the live connection is the signal.
            _ => true,
        },
        None => true,
    };
    member.healthy.store(ready, Ordering::SeqCst);
}

/// `GET /readyz` on the runtime's WebSocket port answers 200 when it accepts work.
async fn readyz(host: &str, port: u16) -> bool {
    let probe = async {
        let mut stream = tokio::net::TcpStream::connect((host, port)).await.ok()?;
        let request =
            format!("GET /readyz HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut head = [0u8; 16];
        let mut read = 0;
        while read < 12 {
            let n = stream.read(&mut head[read..]).await.ok()?;
            if n == 0 {
                break;
            }
            read += n;
        }
        Some(head[..read].starts_with(b"HTTP/1.1 200") || head[..read].starts_with(b"HTTP/1.0 200"))
    };
    tokio::time::timeout(PROBE_TIMEOUT, probe)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}

/// The merged listing behind [`AsyncCodexPool::thread_list`]: per-member positions, the
/// threads read from each member, the k-way merge, and the pool cursor that carries the
/// positions.
///
/// A member's position is how many of its threads were already listed, counted from the top of
/// its list. Its runtime's own cursor is not kept: the 0.163.0 runtime's `nextCursor` is the
/// timestamp of the page's last thread, and the next page starts strictly before that second,
/// so threads created in the same second as a page's last one are skipped (measured: 8 threads
/// over 3 s, pages of 3, listed 7). Reading from the top with `limit = position + page` loses
/// nothing, at the cost of re-reading the threads before the position on each page; the
/// runtime's cursor is followed only when it returns fewer threads than asked.
mod listing {
    use std::collections::VecDeque;

    use base64::Engine as _;
    use openai_codex_protocol as proto;

    use crate::codex::AsyncCodex;
    use crate::error::{Error, Result};
    use crate::thread::ThreadListOptions;

    /// Marks a pool cursor (and its format version).
    const CURSOR_PREFIX: &str = "pool1.";

    /// Where the listing stands on one member.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub(super) enum Position {
        /// Nothing more to list from this member (or it was down when the listing began).
        Done,
        /// This many of the member's threads were listed already.
        At(usize),
    }

    /// What was read from one member for this page.
    #[derive(Debug, Default)]
    pub(super) struct Run {
        /// Threads after the member's position not yet merged, in the member's order.
        pending: VecDeque<proto::Thread>,
        /// Whether the member has threads beyond those read.
        more: bool,
        /// Threads merged into the page.
        taken: usize,
    }

    impl Run {
        fn head(&self) -> Option<&proto::Thread> {
            self.pending.front()
        }

        /// The member's position after this page.
        pub(super) fn advance(&self, from: &Position) -> Position {
            match from {
                Position::Done => Position::Done,
                Position::At(_) if self.pending.is_empty() && !self.more => Position::Done,
                Position::At(listed) => Position::At(listed + self.taken),
            }
        }
    }

    /// Reads the member's first `listed + want` threads (or all it has) and keeps those after
    /// the first `listed`.
    pub(super) async fn read_run(
        client: &AsyncCodex,
        options: ThreadListOptions,
        listed: usize,
        want: usize,
    ) -> Result<Run> {
        let needed = listed.saturating_add(want);
        let mut threads = Vec::new();
        let mut cursor = None;
        let more = loop {
            let mut page_options = options.clone();
            page_options.cursor = cursor.take();
            let missing = needed.saturating_sub(threads.len());
            // One more than needed tells whether the member has more without another call.
            page_options.limit = Some(u32::try_from(missing + 1).unwrap_or(u32::MAX));
            let page = client.thread_list(page_options).await?;
            let got = page.data.len();
            threads.extend(page.data);
            if threads.len() > needed {
                break true;
            }
            match page.next_cursor {
                Some(next) if got > 0 => cursor = Some(next),
                _ => break false,
            }
        };
        threads.truncate(needed);
        Ok(Run {
            pending: threads.into_iter().skip(listed).collect(),
            more,
            taken: 0,
        })
    }

    /// The order the members' lists are merged in: the requested sort key and direction.
    pub(super) struct Order {
        key: fn(&proto::Thread) -> Option<i64>,
        ascending: bool,
    }

    impl Order {
        pub(super) fn of(options: &ThreadListOptions) -> Self {
            let key: fn(&proto::Thread) -> Option<i64> = match options.sort_key {
                None | Some(proto::ThreadSortKey::CreatedAt) => |t| Some(t.created_at),
                Some(proto::ThreadSortKey::UpdatedAt) => |t| Some(t.updated_at),
                Some(proto::ThreadSortKey::RecencyAt) => |t| t.recency_at.or(Some(t.updated_at)),
                // No timestamp to compare: members follow one another.
                Some(_) => |_| None,
            };
            let ascending = matches!(options.sort_direction, Some(proto::SortDirection::Asc));
            Self { key, ascending }
        }

        /// Whether `a` goes strictly before `b` (ties keep the member order).
        fn before(&self, a: &proto::Thread, b: &proto::Thread) -> bool {
            match ((self.key)(a), (self.key)(b)) {
                (Some(a), Some(b)) if self.ascending => a < b,
                (Some(a), Some(b)) => a > b,
                _ => false,
            }
        }
    }

    /// Takes up to `limit` threads from the runs' heads in `order`, and for each the member it
    /// came from. Each member's own order is kept, so its position stays exact.
    pub(super) fn merge(
        runs: &mut [Run],
        order: &Order,
        limit: usize,
    ) -> (Vec<proto::Thread>, Vec<usize>) {
        let mut data = Vec::new();
        let mut members = Vec::new();
        while data.len() < limit {
            let mut best: Option<usize> = None;
            for (index, run) in runs.iter().enumerate() {
                let Some(head) = run.head() else { continue };
                let better = match best.and_then(|b| runs[b].head()) {
                    Some(current) => order.before(head, current),
                    None => true,
                };
                if better {
                    best = Some(index);
                }
            }
            let Some(index) = best else { break };
            let run = &mut runs[index];
            if let Some(thread) = run.pending.pop_front() {
                run.taken += 1;
                data.push(thread);
                members.push(index);
            }
        }
        (data, members)
    }

    pub(super) fn encode(positions: &[Position]) -> String {
        let wire: Vec<Option<usize>> = positions
            .iter()
            .map(|p| match p {
                Position::Done => None,
                Position::At(listed) => Some(*listed),
            })
            .collect();
        let json = serde_json::to_vec(&wire).unwrap_or_default();
        format!(
            "{CURSOR_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
        )
    }

    pub(super) fn decode(cursor: &str, members: usize) -> Result<Vec<Position>> {
        let invalid = |why: String| Error::InvalidInput {
            field: "ThreadListOptions::cursor",
            message: format!(
                "{why}; pass the next_cursor of a previous AsyncCodexPool::thread_list page of \
                 this pool, or no cursor for the first page"
            ),
        };
        let wire: Vec<Option<usize>> = cursor
            .strip_prefix(CURSOR_PREFIX)
            .and_then(|body| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(body)
                    .ok()
            })
            .and_then(|json| serde_json::from_slice(&json).ok())
            .ok_or_else(|| invalid(format!("`{cursor}` is not a pool cursor")))?;
        if wire.len() != members {
            return Err(invalid(format!(
                "the cursor is for a pool of {} members, this pool has {members}",
                wire.len()
            )));
        }
        Ok(wire
            .into_iter()
            .map(|p| p.map_or(Position::Done, Position::At))
            .collect())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn thread(id: &str, created_at: i64) -> proto::Thread {
            serde_json::from_value(serde_json::json!({
                "id": id, "createdAt": created_at, "updatedAt": created_at, "cliVersion": "0.163.0",
                "cwd": "/w", "ephemeral": false, "modelProvider": "openai", "preview": "",
                "sessionId": id, "source": "appServer", "status": {"type": "notLoaded"}, "turns": []
            }))
            .unwrap()
        }

        fn run(items: &[(&str, i64)], more: bool) -> Run {
            Run {
                pending: items.iter().map(|(id, at)| thread(id, *at)).collect(),
                more,
                taken: 0,
            }
        }

        #[test]
        fn merges_newest_first_and_keeps_each_members_place() {
            let mut runs = vec![
                run(&[("a9", 9), ("a5", 5), ("a1", 1)], false),
                run(&[("b8", 8), ("b7", 7), ("b2", 2)], true),
            ];
            let order = Order::of(&ThreadListOptions::default());
            let (data, members) = merge(&mut runs, &order, 4);
            let ids: Vec<&str> = data.iter().map(|t| t.id.as_str()).collect();
            assert_eq!(ids, ["a9", "b8", "b7", "a5"]);
            assert_eq!(members, [0, 1, 1, 0]);
            assert_eq!(runs[0].advance(&Position::At(3)), Position::At(5));
            assert_eq!(runs[1].advance(&Position::At(0)), Position::At(2));
        }

        #[test]
        fn a_member_read_to_its_end_is_done_and_ascending_order_is_honoured() {
            let mut runs = vec![run(&[("a1", 1)], false), run(&[("b2", 2)], false)];
            let order =
                Order::of(&ThreadListOptions::default().sort_direction(proto::SortDirection::Asc));
            let (data, _) = merge(&mut runs, &order, 10);
            assert_eq!(data.len(), 2);
            assert_eq!(data[0].id, "a1");
            assert_eq!(runs[0].advance(&Position::At(0)), Position::Done);
            assert_eq!(runs[1].advance(&Position::At(4)), Position::Done);
        }

        #[test]
        fn cursors_round_trip_and_foreign_ones_are_refused() {
            let positions = vec![Position::Done, Position::At(3), Position::At(0)];
            let cursor = encode(&positions);
            assert_eq!(decode(&cursor, 3).unwrap(), positions);
            let error = decode(&cursor, 2).unwrap_err().to_string();
            assert!(error.contains("pool of 3 members"), "{error}");
            let error = decode("runtime-cursor", 3).unwrap_err().to_string();
            assert!(error.contains("not a pool cursor"), "{error}");
        }
    }
}
