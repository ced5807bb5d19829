//! `retry_on_overload`: retry an operation while the server says it is overloaded.

use std::future::Future;
use std::time::Duration;

use crate::error::{Error, Result};

/// Backoff settings for [`retry_on_overload`]. The defaults match the official SDK: 3 attempts,
/// 0.25 s doubling up to 2 s, ±20 % jitter.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryOptions {
    /// Total attempts, at least 1.
    pub max_attempts: u32,
    /// Delay before the second attempt.
    pub initial_delay: Duration,
    /// Upper bound of the delay.
    pub max_delay: Duration,
    /// Relative jitter applied to each delay (0.2 = ±20 %).
    pub jitter_ratio: f64,
}

impl Default for RetryOptions {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(2),
            jitter_ratio: 0.2,
        }
    }
}

impl RetryOptions {
    /// The delay before attempt `n + 1` (after `n` failures, `n >= 1`), before jitter.
    pub(crate) fn base_delay(&self, failures: u32) -> Duration {
        let mut delay = self.initial_delay.min(self.max_delay);
        for _ in 1..failures {
            delay = (delay * 2).min(self.max_delay);
        }
        delay
    }

    pub(crate) fn jittered(&self, failures: u32) -> Duration {
        let base = self.base_delay(failures).as_secs_f64();
        let spread = base * self.jitter_ratio.clamp(0.0, 1.0);
        let offset = (fastrand::f64() * 2.0 - 1.0) * spread;
        Duration::from_secs_f64((base + offset).max(0.0))
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.max_attempts < 1 {
            return Err(Error::InvalidInput {
                field: "max_attempts",
                message: "must be at least 1".into(),
            });
        }
        Ok(())
    }
}

/// Runs `op` until it succeeds, fails with a non-retryable error, or runs out of attempts.
/// Only errors for which [`Error::is_retryable`] holds are retried.
///
/// Around a turn (`thread.run(..)`), a turn that failed for overload is retried only when it did
/// nothing past the user's input. One that already ran commands, changed files or answered in
/// part is not sent again (that would repeat its work): the result is [`Error::NotRetried`],
/// saying why, with the [`Error::TurnFailed`] (and its partial result) as its source.
///
/// ```no_run
/// # async fn demo(codex: openai_codex::AsyncCodex) -> openai_codex::Result<()> {
/// use openai_codex::{retry_on_overload, RetryOptions};
/// let models = retry_on_overload(|| codex.models(false), RetryOptions::default()).await?;
/// # Ok(()) }
/// ```
///
/// # Errors
/// The last error, unchanged, or [`Error::NotRetried`] as above; [`Error::InvalidInput`] when
/// `max_attempts` is 0.
pub async fn retry_on_overload<T, F, Fut>(mut op: F, options: RetryOptions) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    options.validate()?;
    let mut failures = 0;
    loop {
        match op().await {
            Ok(value) => return Ok(value),
            Err(error) => {
                failures += 1;
                if failures >= options.max_attempts || !error.is_retryable() {
                    return Err(explain_no_retry(error));
                }
                let delay = options.jittered(failures);
                tracing::debug!(%error, ?delay, attempt = failures, "retrying after overload");
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }
}

/// The error a retry loop gives up with: an overload it refused to retry becomes
/// [`Error::NotRetried`] saying why; anything else is returned unchanged.
pub(crate) fn explain_no_retry(error: Error) -> Error {
    let Error::TurnFailed(failed) = &error else {
        return error;
    };
    if !failed.is_overloaded() || !failed.did_work() {
        return error;
    }
    let mut kinds: Vec<String> = Vec::new();
    for item in failed.work_items() {
        let kind = serde_json::to_value(item)
            .ok()
            .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned))
            .unwrap_or_else(|| "item".to_owned());
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    let count = failed.work_items().count();
    Error::NotRetried {
        reason: format!(
            "turn {} failed for overload after it had already produced {count} item(s) past \
             the user's input ({}); sending the prompt again would repeat that work. Inspect \
             the partial result and start a new turn if that is safe",
            failed.result.id,
            kinds.join(", ")
        ),
        source: Box::new(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ErrorCode, RpcError};
    use std::sync::atomic::{AtomicU32, Ordering};

    fn busy() -> Error {
        Error::JsonRpc {
            method: "m".into(),
            error: Box::new(RpcError::new(
                ErrorCode(-32001),
                "Server overloaded; retry later.",
            )),
        }
    }

    #[test]
    fn default_backoff_doubles_to_the_cap() {
        let o = RetryOptions::default();
        assert_eq!(o.base_delay(1), Duration::from_millis(250));
        assert_eq!(o.base_delay(2), Duration::from_millis(500));
        assert_eq!(o.base_delay(5), Duration::from_secs(2));
        for _ in 0..100 {
            let d = o.jittered(1).as_secs_f64();
            assert!((0.2..=0.3).contains(&d), "{d}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_overload_then_succeeds() {
        let calls = AtomicU32::new(0);
        let started = tokio::time::Instant::now();
        let value = retry_on_overload(
            || async {
                if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                    Err(busy())
                } else {
                    Ok(7)
                }
            },
            RetryOptions::default(),
        )
        .await
        .unwrap();
        assert_eq!(value, 7);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        let waited = started.elapsed().as_secs_f64();
        assert!((0.6..=0.9).contains(&waited), "{waited}");
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_max_attempts_and_skips_non_retryable() {
        let calls = AtomicU32::new(0);
        let err = retry_on_overload(
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(busy())
            },
            RetryOptions::default(),
        )
        .await
        .unwrap_err();
        assert!(err.is_retryable());
        assert_eq!(calls.load(Ordering::SeqCst), 3);

        calls.store(0, Ordering::SeqCst);
        let _ = retry_on_overload(
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(Error::Protocol("no".into()))
            },
            RetryOptions::default(),
        )
        .await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let zero = RetryOptions {
            max_attempts: 0,
            ..RetryOptions::default()
        };
        assert!(retry_on_overload(|| async { Ok(1) }, zero).await.is_err());
    }
}
