//! Opt-in reconnection to an endpoint after the connection is lost.
//!
//! With [`CodexConfig::reconnect`](crate::CodexConfig::reconnect) set on a client that connected
//! to an endpoint, a supervisor task waits for the connection to end; unless the client was
//! closed, it re-opens the connection with exponential backoff, runs `initialize` again, carries
//! the installed handlers over and swaps the new connection in. What was in flight is never
//! replayed: every pending call, turn stream and login waiter already failed with the close
//! reason (a running turn is reported as ended by the disconnect), and calls made while the
//! connection is down fail the same way. Threads live in the runtime's home: after a reconnect,
//! `thread_resume` loads one again and a new turn runs on it.
//!
//! A re-opened connection passes the same version gate as the first one: when the runtime now
//! behind the endpoint has a version the policy refuses, reconnecting stops and every call gets
//! [`Error::RuntimeVersionMismatch`].

use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::codex::ClientInner;
use crate::config::CodexConfig;
use crate::endpoint::Endpoint;
use crate::error::Error;
use crate::rpc::Connection;
use crate::version::Mismatch;

/// How to re-open a lost connection: up to `max_attempts` tries, waiting `initial_delay` before
/// the first and doubling up to `max_delay` between the next ones.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use openai_codex::{CodexConfig, ReconnectPolicy};
///
/// let config = CodexConfig::default().reconnect(
///     ReconnectPolicy::default()
///         .max_attempts(20)
///         .initial_delay(Duration::from_millis(200))
///         .max_delay(Duration::from_secs(10)),
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReconnectPolicy {
    /// Attempts after each loss before giving up (the client then stays closed).
    pub max_attempts: u32,
    /// Wait before the first attempt.
    pub initial_delay: Duration,
    /// The longest wait between attempts.
    pub max_delay: Duration,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 10,
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl ReconnectPolicy {
    /// Sets the number of attempts per loss.
    ///
    /// # Examples
    ///
    /// ```
    /// let policy = openai_codex::ReconnectPolicy::default().max_attempts(3);
    /// assert_eq!(policy.max_attempts, 3);
    /// ```
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Sets the wait before the first attempt.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let policy = openai_codex::ReconnectPolicy::default().initial_delay(Duration::from_millis(50));
    /// ```
    #[must_use]
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// Sets the longest wait between attempts.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let policy = openai_codex::ReconnectPolicy::default().max_delay(Duration::from_secs(30));
    /// ```
    #[must_use]
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The wait before attempt `n` (0-based).
    fn delay(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.min(20));
        self.initial_delay
            .saturating_mul(factor)
            .min(self.max_delay.max(self.initial_delay))
    }
}

/// Starts the supervisor when the client connected to an endpoint with a reconnect policy.
pub(crate) fn supervise(inner: &Arc<ClientInner>) {
    let (Some(policy), Some(endpoint)) = (
        inner.config.reconnect.clone(),
        inner.config.endpoint.clone(),
    ) else {
        return;
    };
    let weak = Arc::downgrade(inner);
    tokio::spawn(async move { supervisor(weak, policy, endpoint).await });
}

async fn supervisor(weak: Weak<ClientInner>, policy: ReconnectPolicy, endpoint: Endpoint) {
    loop {
        let Some(inner) = weak.upgrade() else { return };
        let conn = inner.conn();
        let config = inner.config.clone();
        drop(inner);
        wait_closed(&conn).await;
        let mut attempt = 0;
        let fresh = loop {
            if weak.upgrade().is_none_or(|i| i.is_closing()) {
                return;
            }
            tokio::time::sleep(policy.delay(attempt)).await;
            attempt += 1;
            match reopen(&endpoint, &config, &conn).await {
                Ok(fresh) => break Some(fresh),
                Err(Reopen::Refused(refusal)) => {
                    // Another runtime now answers at the endpoint, one the policy refuses:
                    // trying again would only reach it again.
                    tracing::error!(endpoint = %endpoint, error = %refusal.to_error(), "not reconnecting");
                    if let Some(inner) = weak.upgrade() {
                        let _ = inner.refused.set(refusal);
                    }
                    return;
                }
                Err(Reopen::Failed(error)) => {
                    tracing::warn!(%error, attempt, endpoint = %endpoint, "reconnect attempt failed");
                    if attempt >= policy.max_attempts {
                        break None;
                    }
                }
            }
        };
        let Some(fresh) = fresh else {
            tracing::error!(endpoint = %endpoint, attempts = attempt, "giving up reconnecting");
            return;
        };
        let rejected = match weak.upgrade() {
            Some(inner) => inner.replace_conn(fresh).err(),
            None => Some(fresh),
        };
        if let Some(unused) = rejected {
            let grace = config.shutdown_grace;
            let _ = tokio::task::spawn_blocking(move || unused.shutdown_blocking(grace)).await;
            return;
        }
        tracing::info!(endpoint = %endpoint, "reconnected");
    }
}

/// Resolves when the connection has closed (its global stream ends then).
async fn wait_closed(conn: &Connection) {
    let Some(mut events) = conn.shared.router.subscribe_global_live() else {
        return;
    };
    loop {
        if let Err(tokio::sync::broadcast::error::RecvError::Closed) = events.recv().await {
            return;
        }
    }
}

/// Why a reconnect attempt did not give a connection.
enum Reopen {
    /// Worth another attempt (refused, unreachable, handshake failed).
    Failed(Error),
    /// The runtime answered, but with a version the policy refuses.
    Refused(Mismatch),
}

impl From<Error> for Reopen {
    fn from(error: Error) -> Self {
        Reopen::Failed(error)
    }
}

/// Opens a new connection, runs `initialize` and the version gate, as at connect.
async fn reopen(
    endpoint: &Endpoint,
    config: &CodexConfig,
    previous: &Connection,
) -> std::result::Result<Connection, Reopen> {
    let transport = crate::daemon::open(endpoint, config).await?;
    let conn = Connection::start(transport, Arc::new(crate::handler::DeclineAll), config)?;
    conn.inherit_handlers(previous);
    let checked = match crate::metadata::initialize(&conn, config).await {
        Ok(metadata) => crate::version::check_endpoint(
            config.version_policy,
            &metadata.server_version,
            &endpoint.to_string(),
        )
        .map_err(Reopen::Refused),
        Err(error) => Err(Reopen::Failed(error)),
    };
    if let Err(why) = checked {
        let grace = config.shutdown_grace;
        let conn2 = conn.clone();
        let _ = tokio::task::spawn_blocking(move || conn2.shutdown_blocking(grace)).await;
        return Err(why);
    }
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = ReconnectPolicy::default()
            .initial_delay(Duration::from_millis(100))
            .max_delay(Duration::from_millis(1000));
        let delays: Vec<u128> = (0..6).map(|n| policy.delay(n).as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1000, 1000]);
    }
}
