//! Time limits: the network deadlines every boundary applies to its calls, and the job's own
//! deadline, so that a stalled server ends a job (exit 75) instead of holding it and its claim.

use std::time::Duration;

use tokio::time::Instant;

/// The limits on every network call to S3, SQS and PostgreSQL, built once from the settings and
/// handed to each boundary as it opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing a connection (TCP, TLS and, for PostgreSQL, the start-up and login).
    pub connect: Duration,
    /// One attempt of one request (an S3 or SQS call until its response starts; one PostgreSQL
    /// statement or transaction). A call with its retries takes at most twice this.
    pub request: Duration,
    /// How long a transfer may move no data before it counts as stalled (S3 upload and download
    /// streams; PostgreSQL's TCP keepalive).
    pub idle: Duration,
}

impl Timeouts {
    /// The longest one call may take, its retries included.
    pub fn call(&self) -> Duration {
        self.request * 2
    }
}

/// How much of its lease a job must still hold to start a write: one call with its retries and a
/// little for the clocks of two machines to disagree. A job whose claim could lapse sooner makes
/// no further write, so no other job can take the upload over while one of its writes is on the way.
pub fn lease_margin(timeouts: &Timeouts) -> Duration {
    timeouts.call() + Duration::from_secs(2)
}

/// When a job must have stopped taking new steps: past it, a job that has not published stops as
/// a transient failure, and one that is publishing rolls back.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    at: Instant,
    limit: Duration,
}

impl Deadline {
    /// The deadline `limit` from now.
    pub fn after(limit: Duration) -> Deadline {
        Deadline {
            at: Instant::now() + limit,
            limit,
        }
    }

    pub fn passed(&self) -> bool {
        Instant::now() >= self.at
    }

    pub fn at(&self) -> Instant {
        self.at
    }

    /// The limit it was set with, for messages.
    pub fn limit(&self) -> Duration {
        self.limit
    }

    /// Why a job stopped at this deadline.
    pub fn message(&self, doing: &str) -> String {
        format!(
            "the job's deadline ({} s, INGEST_JOB_DEADLINE_SECONDS) passed {doing}; the upload will be retried",
            self.limit.as_secs()
        )
    }
}
