//! Delivering one message with a few retries, and recording what happened: a notification that
//! cannot be sent is written down, never raised, so it can neither fail nor undo a publication.

use std::time::Duration;

use tracing::{error, warn};

use super::{Notification, Notifier};
use crate::report::NotificationReport;

/// How hard to try before giving up on a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// The wait before the second attempt; it doubles before each further one.
    pub backoff: Duration,
    /// The whole delivery, every attempt and wait included, ends within this.
    pub within: Duration,
}

impl RetryPolicy {
    /// Three attempts with a short backoff, all within `within`.
    pub fn within(within: Duration) -> RetryPolicy {
        RetryPolicy {
            attempts: 3,
            backoff: Duration::from_millis(250),
            within,
        }
    }
}

/// Sends `message`, retrying transient failures (a server down or deferring) up to the policy's
/// attempts; a permanent failure (a refused sender, bad credentials) is not retried, since the
/// same message would be refused again. A server that stalls cannot hold the job: the whole
/// delivery ends within the policy's limit, undelivered if need be.
pub async fn deliver(
    notifier: &dyn Notifier,
    message: &Notification,
    policy: RetryPolicy,
) -> NotificationReport {
    let mut report = NotificationReport {
        recipients: message.to.clone(),
        subject: message.subject.clone(),
        ..Default::default()
    };
    let until = tokio::time::Instant::now() + policy.within;
    if tokio::time::timeout_at(until, attempts(notifier, message, policy, &mut report))
        .await
        .is_err()
    {
        report.delivered = false;
        report.destination = None;
        report.error = Some(format!(
            "not delivered within {} s (INGEST_SMTP_TIMEOUT_SECONDS){}",
            policy.within.as_secs(),
            report
                .error
                .as_deref()
                .map(|e| format!("; last error: {e}"))
                .unwrap_or_default()
        ));
    }
    if !report.delivered {
        error!(
            attempts = report.attempts,
            error = report.error.as_deref().unwrap_or("-"),
            "notification not delivered; the job keeps its outcome"
        );
    }
    report
}

/// The attempts themselves, recording each in `report`.
async fn attempts(
    notifier: &dyn Notifier,
    message: &Notification,
    policy: RetryPolicy,
    report: &mut NotificationReport,
) {
    let attempts = policy.attempts.max(1);
    for attempt in 1..=attempts {
        report.attempts = attempt;
        match notifier.send(message).await {
            Ok(destination) => {
                report.delivered = true;
                report.error = None;
                report.destination = Some(destination);
                return;
            }
            Err(e) => {
                let retry = e.is_transient() && attempt < attempts;
                warn!(attempt, transient = e.is_transient(), error = %e, "notification failed");
                report.error = Some(if e.is_transient() {
                    e.to_string()
                } else {
                    format!("{e} (permanent: not retried)")
                });
                if !retry {
                    break;
                }
                tokio::time::sleep(policy.backoff * 2u32.saturating_pow(attempt - 1)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;

    use super::*;
    use crate::notify::NotifyError;

    /// Fails with the given errors in turn, then succeeds.
    #[derive(Debug)]
    struct Flaky {
        failures: Mutex<Vec<bool>>,
        calls: Mutex<u32>,
    }

    impl Flaky {
        fn new(transient_failures: &[bool]) -> Flaky {
            let mut failures = transient_failures.to_vec();
            failures.reverse();
            Flaky {
                failures: Mutex::new(failures),
                calls: Mutex::new(0),
            }
        }
    }

    #[async_trait]
    impl Notifier for Flaky {
        fn location(&self) -> String {
            "flaky://".into()
        }

        async fn send(&self, _: &Notification) -> Result<String, NotifyError> {
            *self.calls.lock().unwrap() += 1;
            match self.failures.lock().unwrap().pop() {
                Some(transient) => Err(NotifyError::new(
                    crate::notify::NotifyOp::Send,
                    self.location(),
                    if transient {
                        crate::notify::ErrorKind::Transient
                    } else {
                        crate::notify::ErrorKind::Permanent
                    },
                    if transient { "down" } else { "550 refused" },
                )),
                None => Ok("flaky://sent".into()),
            }
        }
    }

    fn message() -> Notification {
        Notification {
            job_id: "J".into(),
            from: "a@x.org".into(),
            to: vec!["b@x.org".into()],
            reply_to: vec![],
            subject: "s".into(),
            text: "t".into(),
            html: "h".into(),
            attachments: vec![],
        }
    }

    const QUICK: RetryPolicy = RetryPolicy {
        attempts: 3,
        backoff: Duration::from_millis(1),
        within: Duration::from_secs(30),
    };

    /// Never answers.
    #[derive(Debug)]
    struct Stalled;

    #[async_trait]
    impl Notifier for Stalled {
        fn location(&self) -> String {
            "stalled://".into()
        }

        async fn send(&self, _: &Notification) -> Result<String, NotifyError> {
            std::future::pending().await
        }
    }

    #[tokio::test]
    async fn a_stalled_server_cannot_hold_the_delivery_past_its_limit() {
        let policy = RetryPolicy {
            within: Duration::from_secs(1),
            ..QUICK
        };
        let report = deliver(&Stalled, &message(), policy).await;
        assert!(!report.delivered);
        assert!(
            report.error.unwrap().contains("not delivered within 1 s"),
            "says why"
        );
    }

    #[tokio::test]
    async fn a_transient_failure_is_retried_until_it_succeeds() {
        let n = Flaky::new(&[true, true]);
        let report = deliver(&n, &message(), QUICK).await;
        assert!(report.delivered);
        assert_eq!(report.attempts, 3);
        assert_eq!(report.error, None);
        assert_eq!(report.destination.as_deref(), Some("flaky://sent"));
        assert_eq!(report.recipients, ["b@x.org"]);
    }

    #[tokio::test]
    async fn an_outage_gives_up_after_the_last_attempt_and_says_why() {
        let n = Flaky::new(&[true, true, true, true]);
        let report = deliver(&n, &message(), QUICK).await;
        assert!(!report.delivered);
        assert_eq!(report.attempts, 3);
        assert_eq!(*n.calls.lock().unwrap(), 3);
        assert!(report.error.unwrap().contains("down"));
    }

    #[tokio::test]
    async fn a_permanent_refusal_is_not_retried() {
        let n = Flaky::new(&[false]);
        let report = deliver(&n, &message(), QUICK).await;
        assert!(!report.delivered);
        assert_eq!(report.attempts, 1);
        assert!(report.error.unwrap().contains("not retried"));
    }
}
