//! Waiting for an API object to reach a state, in the manner of aws-sdk-rust's waiters: each
//! poll is classified by an acceptor into success, failure or retry; polls back off from a
//! minimum to a maximum delay; the caller gives the longest total wait; and `StopProvider`
//! ends the wait at once.

use std::future::Future;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

/// What one poll's observation means.
pub enum Acceptor<T> {
    Success(T),
    /// A terminal state the target cannot leave on its own.
    Failure(String),
    /// Still on its way; the string says where it is, for the timeout message.
    Retry(String),
}

#[derive(Debug, thiserror::Error)]
pub enum WaitError<E> {
    #[error("timed out after {waited:?} waiting for {what} (last seen: {last})")]
    Timeout { what: String, waited: Duration, last: String },
    #[error("{what} reached a state it cannot recover from: {reason}")]
    Failed { what: String, reason: String },
    #[error("stopped by Terraform while waiting for {what}")]
    Stopped { what: String },
    #[error("{0}")]
    Api(E),
}

#[derive(Clone, Copy, Debug)]
pub struct Waiter {
    pub min_delay: Duration,
    pub max_delay: Duration,
    pub max_wait: Duration,
}

impl Waiter {
    pub fn new(max_wait: Duration) -> Waiter {
        Waiter { min_delay: Duration::from_secs(2), max_delay: Duration::from_secs(30), max_wait }
    }

    pub fn with_delays(mut self, min: Duration, max: Duration) -> Waiter {
        self.min_delay = min;
        self.max_delay = max.max(min);
        self
    }

    /// Polls at once, then with exponential backoff and jitter until the acceptor decides,
    /// the time is up, or `stop` fires.
    pub async fn wait<T, E, F, Fut>(&self, what: &str, stop: &CancellationToken, mut poll: F) -> Result<T, WaitError<E>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Acceptor<T>, E>>,
    {
        let started = Instant::now();
        let mut attempt: u32 = 0;
        let mut last = "no answer yet".to_string();
        loop {
            // The deadline bounds the calls too: a poll that never answers ends the wait. Each
            // poll still gets a few seconds (or the whole wait, if shorter), so a slow answer
            // near the deadline is not taken for silence.
            let floor = self.max_wait.min(Duration::from_secs(5)).max(self.min_delay);
            let left = self.max_wait.saturating_sub(started.elapsed()).max(floor);
            let outcome = tokio::select! {
                _ = stop.cancelled() => return Err(WaitError::Stopped { what: what.to_string() }),
                outcome = tokio::time::timeout(left, poll()) => match outcome {
                    Ok(outcome) => outcome.map_err(WaitError::Api)?,
                    Err(_) => {
                        let last = format!("{last}; then a call that had not answered");
                        return Err(WaitError::Timeout { what: what.to_string(), waited: started.elapsed(), last });
                    }
                },
            };
            last = match outcome {
                Acceptor::Success(t) => return Ok(t),
                Acceptor::Failure(reason) => return Err(WaitError::Failed { what: what.to_string(), reason }),
                Acceptor::Retry(status) => status,
            };
            let waited = started.elapsed();
            if waited >= self.max_wait {
                return Err(WaitError::Timeout { what: what.to_string(), waited, last });
            }
            let delay = self.delay(attempt).min(self.max_wait - waited);
            attempt = attempt.saturating_add(1);
            tracing::debug!(what, status = %last, delay_ms = delay.as_millis() as u64, "waiting");
            tokio::select! {
                _ = stop.cancelled() => return Err(WaitError::Stopped { what: what.to_string() }),
                _ = tokio::time::sleep(delay) => {}
            }
        }
    }

    /// min * 2^attempt capped at max, less up to a quarter at random so many resources waiting
    /// together do not poll in lockstep.
    fn delay(&self, attempt: u32) -> Duration {
        let base = self.min_delay.saturating_mul(1u32 << attempt.min(16)).min(self.max_delay);
        base.saturating_sub(jitter(base / 4)).max(self.min_delay.min(base))
    }
}

/// Up to `max`, from the clock's low bits: enough to keep callers that met at once (waiters,
/// writers that conflicted) from meeting again.
pub fn jitter(max: Duration) -> Duration {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    max.mul_f64(f64::from(nanos % 1000) / 1000.0)
}

/// Sleeps `pause` before a busy object is asked again, then doubles it (up to 30 s): an object
/// that reports itself ready may still refuse for a moment, and asking again at once would
/// spin. False when Terraform stopped the provider meanwhile.
pub async fn pause_before_retry(stop: &CancellationToken, pause: &mut Duration) -> bool {
    let slept = tokio::select! {
        _ = stop.cancelled() => false,
        _ = tokio::time::sleep(*pause) => true,
    };
    *pause = (*pause * 2).min(Duration::from_secs(30));
    slept
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn quick(max_wait: Duration) -> Waiter {
        Waiter::new(max_wait).with_delays(Duration::from_millis(1), Duration::from_millis(4))
    }

    #[tokio::test]
    async fn succeeds_after_intermediate_states() {
        let polls = AtomicU32::new(0);
        let got: Result<&str, WaitError<()>> = quick(Duration::from_secs(5))
            .wait("replica", &CancellationToken::new(), || async {
                match polls.fetch_add(1, Ordering::SeqCst) {
                    0 => Ok(Acceptor::Retry("creating".into())),
                    1 => Ok(Acceptor::Retry("backing-up".into())),
                    _ => Ok(Acceptor::Success("available")),
                }
            })
            .await;
        assert_eq!(got.unwrap(), "available");
        assert_eq!(polls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn failure_state_ends_the_wait() {
        let got: Result<(), WaitError<()>> = quick(Duration::from_secs(5))
            .wait("replica", &CancellationToken::new(), || async { Ok(Acceptor::Failure("status failed".into())) })
            .await;
        assert!(matches!(got, Err(WaitError::Failed { .. })));
    }

    #[tokio::test]
    async fn times_out_with_the_last_status() {
        let got: Result<(), WaitError<()>> = quick(Duration::from_millis(20))
            .wait("replica", &CancellationToken::new(), || async { Ok(Acceptor::Retry("modifying".into())) })
            .await;
        match got {
            Err(WaitError::Timeout { last, .. }) => assert_eq!(last, "modifying"),
            other => panic!("expected a timeout, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_poll_that_never_answers_ends_at_the_deadline() {
        let got: Result<(), WaitError<()>> = quick(Duration::from_millis(50))
            .wait("replica", &CancellationToken::new(), || async {
                std::future::pending::<()>().await;
                Ok(Acceptor::Retry("unreachable".into()))
            })
            .await;
        match got {
            Err(WaitError::Timeout { last, .. }) => assert!(last.contains("had not answered"), "{last}"),
            other => panic!("expected a timeout, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn stop_ends_a_long_wait_promptly() {
        let stop = CancellationToken::new();
        let waiter = Waiter::new(Duration::from_secs(3600)).with_delays(Duration::from_secs(60), Duration::from_secs(60));
        let trigger = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            trigger.cancel();
        });
        let started = Instant::now();
        let got: Result<(), WaitError<()>> = waiter.wait("replica", &stop, || async { Ok(Acceptor::Retry("creating".into())) }).await;
        assert!(matches!(got, Err(WaitError::Stopped { .. })));
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
