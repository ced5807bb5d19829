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

    /// Lists threads on every healthy member (one page each, as `options` asks) and merges
    /// them, most recently updated first.
    ///
    /// # Errors
    /// The first member's error when a healthy member fails to answer.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(pool: openai_codex::AsyncCodexPool) -> openai_codex::Result<()> {
    /// for thread in pool.thread_list(Default::default()).await? {
    ///     println!("{}", thread.id);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn thread_list(&self, options: ThreadListOptions) -> Result<Vec<proto::Thread>> {
        let clients: Vec<AsyncCodex> = self
            .inner
            .members
            .iter()
            .filter(|m| m.healthy.load(Ordering::SeqCst))
            .filter_map(Member::client)
            .collect();
        let pages =
            futures::future::join_all(clients.iter().map(|c| c.thread_list(options.clone()))).await;
        let mut threads = Vec::new();
        for page in pages {
            threads.extend(page?.data);
        }
        threads.sort_by_key(|t| std::cmp::Reverse(t.updated_at));
        Ok(threads)
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
