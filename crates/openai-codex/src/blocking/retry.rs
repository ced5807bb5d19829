//! `retry_on_overload` for blocking code.

use crate::error::Result;
use crate::retry::RetryOptions;

#[allow(unused_imports)] // referenced by the docs
use crate::error::Error;

/// Runs `op` until it succeeds, fails with a non-retryable error, or runs out of attempts,
/// sleeping the calling thread between attempts: the blocking twin of
/// [`crate::retry_on_overload`], with the same [`RetryOptions`] (3 attempts, 0.25 s doubling up
/// to 2 s, ±20 % jitter by default). Only errors for which [`Error::is_retryable`] holds are
/// retried; a failed turn that already did work is not retried ([`Error::NotRetried`] says why).
///
/// ```no_run
/// # fn demo(codex: &openai_codex::Codex) -> openai_codex::Result<()> {
/// use openai_codex::{blocking, RetryOptions};
/// let models = blocking::retry_on_overload(|| codex.models(false), RetryOptions::default())?;
/// # Ok(()) }
/// ```
///
/// # Errors
/// The last error, unchanged, or [`Error::NotRetried`]; [`Error::InvalidInput`] when `max_attempts` is 0;
/// [`Error::BlockingInAsync`] inside a tokio runtime (where sleeping would stall the executor).
pub fn retry_on_overload<T, F>(mut op: F, options: RetryOptions) -> Result<T>
where
    F: FnMut() -> Result<T>,
{
    super::runtime::ensure_blocking_allowed()?;
    options.validate()?;
    let mut failures = 0;
    loop {
        match op() {
            Ok(value) => return Ok(value),
            Err(error) => {
                failures += 1;
                if failures >= options.max_attempts || !error.is_retryable() {
                    return Err(crate::retry::explain_no_retry(error));
                }
                let delay = options.jittered(failures);
                tracing::debug!(%error, ?delay, attempt = failures, "retrying after overload");
                if !delay.is_zero() {
                    std::thread::sleep(delay);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ErrorCode, RpcError};
    use std::time::{Duration, Instant};

    fn busy() -> Error {
        Error::JsonRpc {
            method: "m".into(),
            error: Box::new(RpcError::new(
                ErrorCode(-32001),
                "Server overloaded; retry later.",
            )),
        }
    }

    fn fast() -> RetryOptions {
        RetryOptions {
            initial_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(20),
            ..RetryOptions::default()
        }
    }

    #[test]
    fn retries_overload_with_backoff_then_succeeds() {
        let mut calls = 0;
        let started = Instant::now();
        let value = retry_on_overload(
            || {
                calls += 1;
                if calls < 3 {
                    Err(busy())
                } else {
                    Ok(7)
                }
            },
            fast(),
        )
        .unwrap();
        assert_eq!((value, calls), (7, 3));
        // 10 ms then 20 ms, each within ±20 %.
        assert!(started.elapsed() >= Duration::from_millis(24));
    }

    #[test]
    fn stops_at_max_attempts_and_on_non_retryable_errors() {
        let mut calls = 0;
        let err = retry_on_overload(
            || {
                calls += 1;
                Err::<(), _>(busy())
            },
            fast(),
        )
        .unwrap_err();
        assert!(err.is_retryable());
        assert_eq!(calls, 3);

        calls = 0;
        let _ = retry_on_overload(
            || {
                calls += 1;
                Err::<(), _>(Error::Protocol("no".into()))
            },
            fast(),
        );
        assert_eq!(calls, 1);
        let zero = RetryOptions {
            max_attempts: 0,
            ..RetryOptions::default()
        };
        assert!(matches!(
            retry_on_overload(|| Ok(1), zero),
            Err(Error::InvalidInput { .. })
        ));
    }

    #[tokio::test]
    async fn refuses_to_sleep_inside_an_async_runtime() {
        let err = retry_on_overload(|| Ok(1), RetryOptions::default()).unwrap_err();
        assert!(matches!(err, Error::BlockingInAsync));
    }
}
