//! The wait before exiting 75 on an attempt AWS Batch will retry. Batch re-queues a retried job
//! at once, so without a wait every attempt of a job hit by an outage is spent within a minute or
//! two. The wait is base × 2^(attempt − 1), ±25 % at random (so the jobs of one outage do not all
//! come back together), never on the last attempt, at most [`MAX`], and never past the job's
//! deadline when one is set. It comes after the jobs have ended — their claims released, their
//! reports stored — so no other job waits on an upload while this one sleeps, and a stop signal
//! cuts it short.

use std::time::Duration;

use tokio::time::Instant;

use crate::settings::{Attempt, Settings};

/// The longest wait. Batch counts the wait in the attempt's timeout, and an attempt stopped by
/// its timeout is never retried: so the wait stays well inside the shortest sensible timeout,
/// and, where the job has a deadline, ends before it.
pub const MAX: Duration = Duration::from_secs(300);

/// What decides the wait of one process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// This attempt and Batch's last, when Batch runs the process.
    pub attempt: Option<Attempt>,
    /// The wait after the first attempt, before its jitter.
    pub base: Duration,
    /// When the process must have finished, if it has a deadline: the wait ends before it.
    pub deadline: Option<Instant>,
}

impl Backoff {
    /// The process's backoff, as its settings say, called as the process starts: the wait ends
    /// by the job deadline (`INGEST_JOB_DEADLINE_SECONDS` from now), which the operator keeps
    /// below Batch's attempt timeout, so the wait never makes Batch stop the attempt for its
    /// timeout (which it would not retry).
    pub fn of(settings: &Settings) -> Backoff {
        Backoff {
            attempt: settings.attempt,
            base: settings.retry_backoff,
            deadline: Instant::now().checked_add(settings.job_deadline),
        }
    }

    /// How long to wait before exiting 75, given a uniform random number in [0, 1) for the
    /// jitter; `None` when no wait is due (no retry will come, or no base).
    pub fn delay(&self, now: Instant, unit: f64) -> Option<Duration> {
        let attempt = self.attempt.filter(|a| a.will_retry())?;
        if self.base.is_zero() {
            return None;
        }
        let doubling = 2f64.powi(attempt.current.saturating_sub(1).min(30) as i32);
        let jitter = 0.75 + 0.5 * unit.clamp(0.0, 1.0);
        // In seconds first: a huge base times a large power of two must not overflow.
        let seconds = (self.base.as_secs_f64() * doubling * jitter).min(MAX.as_secs_f64());
        let mut wait = Duration::from_secs_f64(seconds);
        if let Some(deadline) = self.deadline {
            wait = wait.min(deadline.saturating_duration_since(now));
        }
        (!wait.is_zero()).then_some(wait)
    }

    /// Waits before exit 75 when a wait is due: logged as one line, cut short by a stop signal.
    pub async fn wait(&self) {
        if crate::shutdown::requested() {
            // Stopped by Batch (timeout, Spot) or by hand: exit now.
            return;
        }
        let Some(wait) = self.delay(Instant::now(), fastrand::f64()) else {
            return;
        };
        let attempt = self.attempt.expect("a wait is due only under Batch");
        tracing::info!(
            attempt = attempt.current,
            max_attempts = attempt.max,
            base_seconds = self.base.as_secs_f64(),
            wait_ms = wait.as_millis() as u64,
            "transient failure: waiting before exit 75, since Batch retries at once"
        );
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = crate::shutdown::stopped() => {
                tracing::warn!("stop requested: the wait before exit 75 is cut short");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backoff(current: u32, max: u32, base: u64) -> Backoff {
        Backoff {
            attempt: Some(Attempt { current, max }),
            base: Duration::from_secs(base),
            deadline: None,
        }
    }

    #[test]
    fn the_wait_doubles_with_each_attempt_within_its_jitter() {
        let now = Instant::now();
        for (attempt, expected) in [(1, 60.0), (2, 120.0), (3, 240.0)] {
            let b = backoff(attempt, 9, 60);
            let low = b.delay(now, 0.0).unwrap().as_secs_f64();
            let mid = b.delay(now, 0.5).unwrap().as_secs_f64();
            let high = b.delay(now, 0.999_999).unwrap().as_secs_f64();
            assert_eq!(mid, expected, "attempt {attempt}");
            assert!(
                (low - expected * 0.75).abs() < 1e-6,
                "attempt {attempt}: {low}"
            );
            assert!(
                (high - expected * 1.25).abs() < 1e-3,
                "attempt {attempt}: {high}"
            );
        }
    }

    #[test]
    fn no_wait_on_the_last_attempt_outside_batch_or_with_no_base() {
        let now = Instant::now();
        assert_eq!(backoff(3, 3, 60).delay(now, 0.5), None, "the last attempt");
        assert_eq!(backoff(4, 3, 60).delay(now, 0.5), None, "past the last");
        assert_eq!(backoff(1, 1, 60).delay(now, 0.5), None, "a single attempt");
        assert_eq!(backoff(1, 3, 0).delay(now, 0.5), None, "no base");
        let outside = Backoff {
            attempt: None,
            ..backoff(1, 3, 60)
        };
        assert_eq!(outside.delay(now, 0.5), None, "not under Batch");
    }

    #[test]
    fn the_wait_is_capped_and_ends_before_the_deadline() {
        let now = Instant::now();
        assert_eq!(backoff(9, 10, 60).delay(now, 0.999), Some(MAX));
        assert_eq!(
            backoff(40, 50, 60).delay(now, 0.5),
            Some(MAX),
            "no overflow"
        );
        assert_eq!(
            backoff(2, 3, u64::MAX).delay(now, 0.5),
            Some(MAX),
            "no overflow"
        );
        let mut b = backoff(2, 3, 60);
        b.deadline = Some(now + Duration::from_secs(30));
        assert_eq!(b.delay(now, 0.5), Some(Duration::from_secs(30)));
        b.deadline = Some(now);
        assert_eq!(b.delay(now, 0.5), None, "the deadline has come");
    }
}
