//! The state of every stream at a glance, read from the index's job history and ledger: what each
//! pipeline received, published, rejected and failed over a window, the latest failures and why,
//! the jobs that hold a lease now or lost theirs without finishing, and how long uploads take to
//! become public. `ocean-ingest status` prints it (`text`, or JSON), the dashboard page draws it
//! (`page`), and `unrouted` finds the incoming objects no pipeline routes.
//!
//! Upload time, for the latency: when the incoming object was written (S3's Last-Modified, a
//! local file's mtime), which the job records at intake; for an upload read from a local path
//! given on the command line, which has no such time, the job's start. Publication time: when
//! the job's harvest committed. Percentiles are nearest-rank.

pub mod page;
mod sparkline;
mod summary;
mod text;
pub mod unrouted;
mod window;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::index::{Index, IndexError, LedgerState};
use crate::pipeline::PipelineSet;
use crate::report::Outcome;

pub use text::render as render_text;
pub use window::{Since, Window};

/// How many failures and publications a status lists, newest first, unless asked otherwise.
pub const DEFAULT_LIMIT: usize = 10;

/// The days the dashboard draws unless asked otherwise.
pub const DEFAULT_DAYS: u32 = 14;

/// Job counts over a window (or one day of it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Jobs that finished (retries and duplicates each count).
    pub jobs: u64,
    /// Distinct uploads (source and version) those jobs took on.
    pub uploads: u64,
    /// Jobs that published their upload.
    pub published: u64,
    /// Files those jobs published.
    pub files_published: u64,
    pub rejected: u64,
    pub duplicate: u64,
    /// Jobs that failed, transiently or not (`failed_transient` + `failed_internal`).
    pub failed: u64,
    pub failed_transient: u64,
    pub failed_internal: u64,
}

/// How long uploads took from arrival to publication, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    /// Publications measured.
    pub count: usize,
    /// Of those, how many had no upload time (a local file given on the command line) and were
    /// measured from the job's start.
    pub from_job_start: usize,
    pub median_seconds: f64,
    pub p95_seconds: f64,
    pub max_seconds: f64,
}

/// One pipeline's jobs over the window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PipelineStatus {
    pub pipeline: String,
    /// Whether the pipeline file names it (a job history may name pipelines since renamed or
    /// removed, and `_unrouted` for uploads no pipeline claimed).
    pub configured: bool,
    #[serde(flatten)]
    pub counts: Counts,
    /// `None` when nothing was published.
    pub latency: Option<Latency>,
    /// The counts of each UTC day the window touches, oldest first.
    pub daily: Vec<Day>,
}

/// One UTC day's counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Day {
    pub date: NaiveDate,
    #[serde(flatten)]
    pub counts: Counts,
}

/// A later job of the same upload, after a failure: what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Later {
    pub job_id: String,
    pub outcome: Outcome,
    pub finished_at: DateTime<Utc>,
}

/// A job that was rejected or failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub job_id: String,
    pub pipeline: String,
    pub outcome: Outcome,
    pub finished_at: DateTime<Utc>,
    pub source: String,
    /// The upload's file name.
    pub name: String,
    /// The error's one-line message.
    pub reason: Option<String>,
    /// Where its JSON report is stored.
    pub report: Option<String>,
    /// The last later job of the same upload within the window, if any (a retry that published,
    /// a corrected upload of the same content…).
    pub later: Option<Later>,
}

/// A job that published.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Publication {
    pub job_id: String,
    pub pipeline: String,
    pub finished_at: DateTime<Utc>,
    pub name: String,
    pub files_published: u32,
    /// From upload (or job start) to publication.
    pub latency_seconds: Option<f64>,
    pub report: Option<String>,
    /// Where its quick-look plots are stored.
    pub plots: Vec<String>,
}

/// A job's claim on an upload it has not finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lease {
    pub job_id: String,
    pub pipeline: String,
    pub source: String,
    pub name: String,
    /// `running`, or `published` (the harvest committed, the job did not finish).
    pub state: LedgerState,
    /// When the job claimed the upload (or last moved its ledger row).
    pub since: DateTime<Utc>,
    pub lease_until: DateTime<Utc>,
}

/// Claims held now, and claims whose lease ended without the job finishing: jobs that were
/// killed, crashed or lost their machine. The next job of such an upload takes it over.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Leases {
    pub held: Vec<Lease>,
    pub expired: Vec<Lease>,
}

/// Everything a status says.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    pub generated_at: DateTime<Utc>,
    pub window: Window,
    /// The index it was read from (without credentials).
    pub index: String,
    /// The pipelines of the pipeline file in its order, then any others the history names.
    pub pipelines: Vec<PipelineStatus>,
    /// All pipelines together.
    pub totals: Counts,
    pub latency: Option<Latency>,
    /// The latest rejected and failed jobs, newest first.
    pub failures: Vec<Failure>,
    /// The latest publications, newest first.
    pub publications: Vec<Publication>,
    pub leases: Leases,
}

/// Reads the job history of `window` and the ledger's open claims, and sums them up per
/// pipeline; lists at most `limit` failures and publications.
pub async fn read(
    index: &dyn Index,
    pipelines: &PipelineSet,
    window: Window,
    limit: usize,
    now: DateTime<Utc>,
) -> Result<Status, IndexError> {
    let history = index.history(window.since, window.until).await?;
    let leases = index.leases().await?;
    let configured: Vec<&str> = pipelines
        .pipelines
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    Ok(summary::summarise(
        summary::Input {
            history: &history,
            leases,
            configured: &configured,
            window,
            limit,
            now,
        },
        index.location(),
    ))
}

/// The file name of an upload, from its source URI (decoded where the URI is a `file://` URL).
pub fn upload_name(source: &str) -> String {
    let last = source.rsplit('/').next().unwrap_or(source);
    if source.starts_with("file://") {
        percent_encoding::percent_decode_str(last)
            .decode_utf8_lossy()
            .into_owned()
    } else {
        last.to_string()
    }
}
