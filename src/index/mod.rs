//! The index: the harvest target the portal reads (one row per published file, with metadata),
//! the job ledger that makes every job idempotent, and the job history the status page reads.
//! One trait, chosen by URL.

pub mod postgres;
pub mod sqlite;

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::deadline::Timeouts;
pub use crate::error::ErrorKind;
use crate::error::{BoundaryError, operations};
use crate::layout::Area;
use crate::location::UrlError;
use crate::model::FileMetadata;

/// A job's claim on one version of one upload.
#[derive(Debug, Clone)]
pub struct Claim {
    pub source: String,
    pub source_version: String,
    pub job_id: String,
    pub pipeline: String,
    pub now: DateTime<Utc>,
    /// Until when the claim holds; after that another job may take the upload over.
    pub lease_until: DateTime<Utc>,
}

/// What the ledger says about a claimed upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// This job owns the upload now. `took_over` names an earlier job that failed or expired.
    Claimed { took_over: Option<String> },
    /// A job already ingested this version of the upload.
    AlreadyDone { job_id: String, state: LedgerState },
    /// Another job holds a live claim on it.
    InProgress {
        job_id: String,
        until: DateTime<Utc>,
    },
}

/// Ledger states of an upload version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerState {
    Running,
    /// The index commit happened: the upload is published even if the job had not finished.
    Published,
    Succeeded,
    Rejected,
    Failed,
}

impl LedgerState {
    pub fn as_str(self) -> &'static str {
        match self {
            LedgerState::Running => "running",
            LedgerState::Published => "published",
            LedgerState::Succeeded => "succeeded",
            LedgerState::Rejected => "rejected",
            LedgerState::Failed => "failed",
        }
    }

    /// A state as the ledger stores it (its serde name).
    pub fn parse(s: &str) -> Option<LedgerState> {
        crate::model::parse_named("ledger state", s).ok()
    }

    /// Whether an upload in this state counts as ingested: a rerun is a duplicate.
    pub fn is_done(self) -> bool {
        matches!(self, LedgerState::Published | LedgerState::Succeeded)
    }
}

/// The end of a job, for the ledger and the job history.
#[derive(Debug, Clone)]
pub struct JobEnd {
    pub job_id: String,
    pub source: String,
    pub source_version: String,
    pub pipeline: String,
    /// The ledger's new state; `None` for a job that never claimed the upload (it leaves the
    /// ledger alone, and only the job history records it).
    pub ledger_state: Option<LedgerState>,
    pub outcome: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub report_url: Option<String>,
    pub facts: JobFacts,
}

/// What the job history keeps of a job beyond its outcome, for the status page: when its upload
/// arrived and when it was published, what it published, why it failed, its quick looks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct JobFacts {
    /// When the upload arrived: the incoming object's modification time (S3's Last-Modified, a
    /// local file's mtime), where the job read it from the incoming store.
    pub uploaded_at: Option<DateTime<Utc>>,
    /// When the job's harvest committed: the moment the upload became public.
    pub published_at: Option<DateTime<Utc>>,
    /// Files the job published (additions and deletions).
    pub files_published: u32,
    /// Why the job did not publish: its error's one-line message.
    pub error: Option<String>,
    /// Where its quick-look plots are stored (URLs in the reports store).
    pub plots: Vec<String>,
}

/// A ledger row whose job has not finished: still `running`, or `published` and not yet closed.
/// While its lease holds, a job is working on the upload; once it lapsed, the job stopped without
/// finishing (killed, crashed, or its machine went away) and the next job of the upload takes it
/// over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeaseEntry {
    /// The ledger row; its `updated_at` is when the job claimed the upload (or last moved it).
    #[serde(flatten)]
    pub entry: LedgerEntry,
    pub lease_until: DateTime<Utc>,
}

/// One published file's record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileRecord {
    pub dest_path: String,
    pub pipeline: String,
    pub source: String,
    pub size: u64,
    pub sha256: String,
    pub job_id: String,
    pub metadata: FileMetadata,
}

/// A row of the index as read back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndexedFile {
    #[serde(flatten)]
    pub record: FileRecord,
    pub first_indexed: DateTime<Utc>,
    pub last_indexed: DateTime<Utc>,
    pub deleted: bool,
}

/// A pipeline's claim on one path of the public store or the archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ownership {
    pub area: Area,
    pub path: String,
    pub pipeline: String,
    /// The job that first wrote (or deleted) the path.
    pub job_id: String,
}

/// A path's owner as read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathOwner {
    #[serde(flatten)]
    pub ownership: Ownership,
    /// When the path became the pipeline's.
    pub since: DateTime<Utc>,
}

/// One change of a job's harvest.
// A batch holds a handful of changes, so the size of the larger variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum IndexChange {
    /// Add or replace the record at its destination (clearing any deleted flag).
    Upsert(FileRecord),
    /// Mark the record at `dest_path` deleted (a no-op when there is none).
    MarkDeleted { dest_path: String, job_id: String },
    /// The path is the pipeline's: recorded when it has no owner yet; the whole batch is refused
    /// when another pipeline owns it.
    Own(Ownership),
}

/// Everything one job writes to the index, applied in one transaction together with the ledger's
/// move to [`LedgerState::Published`].
#[derive(Debug, Clone)]
pub struct HarvestBatch {
    pub job_id: String,
    pub source: String,
    pub source_version: String,
    pub changes: Vec<IndexChange>,
    pub now: DateTime<Utc>,
    /// Work done in the same transaction before the ledger moves (a publish's collection rows):
    /// it commits with the index rows or not at all, in this order.
    pub in_commit: Vec<Arc<dyn InCommit>>,
}

/// Work a commit does inside its transaction besides the index's own rows. The index defines
/// the seam; the layers above fill it (`harvest` loads and removes collection rows with it).
pub trait InCommit: Send + Sync + std::fmt::Debug {
    /// Runs inside a PostgreSQL index's commit.
    fn postgres<'a>(
        &'a self,
        tx: &'a tokio_postgres::Transaction<'_>,
    ) -> BoxFuture<'a, Result<(), InCommitError>>;

    /// Runs inside a SQLite index's commit.
    fn sqlite(&self, tx: &rusqlite::Transaction<'_>) -> Result<(), InCommitError>;
}

/// A failure of work inside a commit: the commit rolls back and fails with this as its source.
#[derive(Debug)]
pub struct InCommitError {
    pub kind: ErrorKind,
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl InCommitError {
    /// The commit's error: the operation and index, the work's kind, its error as the source.
    pub(crate) fn into_index_error(self, op: IndexOp, location: String) -> IndexError {
        let mut e = IndexError::new(op, location, self.kind, "rolled back");
        e.source = Some(self.source);
        e
    }
}

/// Why a commit applied nothing though the index answered: another pipeline owns a path of the
/// batch (each refusal's message), or the work inside the commit failed.
#[derive(Debug)]
pub(crate) enum Refusal {
    Owned(Vec<String>),
    Work(InCommitError),
}

impl Refusal {
    /// The commit's error: a conflict naming both pipelines of each path, or the work's error.
    pub(crate) fn into_index_error(self, op: IndexOp, location: String) -> IndexError {
        match self {
            Refusal::Owned(refused) => {
                IndexError::new(op, location, ErrorKind::Conflict, refused.join("; "))
            }
            Refusal::Work(e) => e.into_index_error(op, location),
        }
    }
}

/// A publish journal: the reversible writes a job is about to make, recorded on the ledger row of
/// the upload it holds before it makes any of them, and cleared once they are settled or undone.
/// What an entry says is the publish step's business; the index keeps it whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    /// The job that wrote it (and whose stashes it names).
    pub job_id: String,
    pub entries: serde_json::Value,
}

/// A ledger row holding the journal of a job that no longer holds a live lease: a publish that
/// job did not live to finish or undo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Abandoned {
    pub source: String,
    pub source_version: String,
    pub pipeline: String,
    pub state: LedgerState,
    pub journal: Journal,
}

/// What the ledger knows of a job that owns a stash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// It holds a live lease: it may still need its stashes.
    Live,
    /// It is gone but its journal is still on a ledger row: whoever recovers that row uses them.
    Journaled,
    /// It is gone and nothing refers to its stashes.
    Gone,
}

impl Owner {
    /// The owner's standing from what the ledger says: a live lease, a journal on some row.
    pub fn of(live: bool, journaled: bool) -> Owner {
        match (live, journaled) {
            (true, _) => Owner::Live,
            (false, true) => Owner::Journaled,
            (false, false) => Owner::Gone,
        }
    }
}

/// A ledger row as read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LedgerEntry {
    pub source: String,
    pub source_version: String,
    pub job_id: String,
    pub pipeline: String,
    pub state: LedgerState,
    pub updated_at: DateTime<Utc>,
}

/// A job history row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobRow {
    pub job_id: String,
    pub source: String,
    pub source_version: String,
    pub pipeline: String,
    pub outcome: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub report_url: Option<String>,
    #[serde(flatten)]
    pub facts: JobFacts,
}

/// The index. Guarantees every backend honours:
/// - `claim` is atomic: of two jobs claiming one (source, version), exactly one gets `Claimed`
///   while the other's lease is live.
/// - `renew` extends only a lease that is still live and still the job's: once lapsed, a claim is
///   lost for good, even if nobody took it over yet.
/// - `record_journal` writes only while the job holds a live claim; `commit` applies the whole
///   batch and the ledger move in one transaction, or nothing, and only while the job holds the
///   claim (`false` otherwise): a job whose upload was taken over can neither begin nor finish a
///   publish.
/// - Ownership: a path's first owner stays its owner. `commit` records the owner of each
///   [`IndexChange::Own`] path that has none, and refuses the whole batch with
///   [`ErrorKind::Conflict`] (applying nothing) when another pipeline owns one of them — so of
///   two pipelines racing for one path, one wins and the other's publish is rolled back.
/// - `committed` tells whether a job's commit took effect, after any of its transactions still on
///   the way has ended.
/// - `list` returns rows whose destination starts with the prefix, sorted by destination.
/// - `history` returns exactly the jobs whose finish time is in `[since, until)`, each once, oldest
///   first (ties by job id), with everything `finish` recorded (timestamps at least to the millisecond).
/// - `leases` returns exactly the ledger rows still `running` or `published`, oldest first (ties
///   by source), each with the end of its lease.
#[async_trait]
pub trait Index: Send + Sync + std::fmt::Debug {
    /// Where the index lives (the URL without credentials).
    fn location(&self) -> String;

    async fn claim(&self, claim: &Claim) -> Result<ClaimOutcome, IndexError>;

    /// Harvests the batch and moves the ledger to published, if the batch's job still holds the
    /// claim (`false`, and nothing applied, when it does not). A journal on the row stays, for
    /// the job to settle and clear.
    async fn commit(&self, batch: &HarvestBatch) -> Result<bool, IndexError>;

    /// Extends the job's lease to `claim.lease_until` if it still holds a live one at `claim.now`.
    async fn renew(&self, claim: &Claim) -> Result<bool, IndexError>;

    /// The journal on an upload's ledger row, if any.
    async fn journal(
        &self,
        source: &str,
        source_version: &str,
    ) -> Result<Option<Journal>, IndexError>;

    /// Records the job's journal on the row it claims, if it still holds a live claim.
    async fn record_journal(&self, claim: &Claim, journal: &Journal) -> Result<bool, IndexError>;

    /// Removes the journal of job `of_job` from an upload's row (a later journal stays).
    async fn clear_journal(
        &self,
        source: &str,
        source_version: &str,
        of_job: &str,
    ) -> Result<(), IndexError>;

    /// Whether `job_id`'s commit of this upload took effect.
    async fn committed(
        &self,
        source: &str,
        source_version: &str,
        job_id: &str,
    ) -> Result<bool, IndexError>;

    /// The pipeline's rows holding a journal that its job left: its lease lapsed before `now`, or
    /// its publish is committed (settling that needs nobody's leave).
    async fn abandoned(
        &self,
        pipeline: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Abandoned>, IndexError>;

    /// Ends the claim `job_id` holds on a row it took over only to recover it: the state given,
    /// the journal cleared. Nothing happens if another job holds the row.
    async fn release(
        &self,
        source: &str,
        source_version: &str,
        job_id: &str,
        state: LedgerState,
    ) -> Result<(), IndexError>;

    /// Whether the job owning a stash may still need it.
    async fn owner(&self, job_id: &str, now: DateTime<Utc>) -> Result<Owner, IndexError>;

    /// Records how a job ended: the ledger state (unless already published) and the job history.
    async fn finish(&self, end: &JobEnd) -> Result<(), IndexError>;

    async fn get(&self, dest_path: &str) -> Result<Option<IndexedFile>, IndexError>;

    async fn list(&self, prefix: &str) -> Result<Vec<IndexedFile>, IndexError>;

    /// The owners of those of `paths` (in `area`) that have one.
    async fn path_owners(&self, area: Area, paths: &[String])
    -> Result<Vec<PathOwner>, IndexError>;

    async fn ledger(
        &self,
        source: &str,
        source_version: &str,
    ) -> Result<Option<LedgerEntry>, IndexError>;

    async fn job(&self, job_id: &str) -> Result<Option<JobRow>, IndexError>;

    /// The jobs that finished at or after `since` and before `until`, oldest first.
    async fn history(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<JobRow>, IndexError>;

    /// The ledger rows whose job has not finished, live or lapsed, oldest first.
    async fn leases(&self) -> Result<Vec<LeaseEntry>, IndexError>;
}

operations! {
    /// The operation that failed, named in every index error.
    pub enum IndexOp in "index " {
        Open => "open",
        Migrate => "migrate",
        Claim => "claim",
        Commit => "commit",
        Renew => "renew",
        Journal => "journal",
        Committed => "committed",
        Abandoned => "abandoned",
        Release => "release",
        Owner => "owner",
        Finish => "finish",
        Get => "get",
        List => "list",
        PathOwners => "path owners",
        Ledger => "ledger",
        Job => "job",
        History => "history",
        Leases => "leases",
    }
}

/// A failed index operation, naming the operation and the database (without credentials).
pub type IndexError = BoundaryError<IndexOp>;

/// Where the index lives, parsed once from its URL.
#[derive(Debug, Clone)]
pub enum IndexUrl {
    /// `sqlite://path` (relative) or `sqlite:///absolute/path`.
    Sqlite(PathBuf),
    /// `postgres://…` or `postgresql://…`, with libpq's TLS parameters read.
    Postgres(Box<postgres::ConnectSpec>),
}

impl IndexUrl {
    /// Parses an index URL without any I/O.
    pub fn parse(value: &str) -> Result<IndexUrl, UrlError> {
        let value = crate::location::non_empty(value)?;
        if let Some(rest) = value.strip_prefix("sqlite://") {
            if rest.is_empty() {
                return Err(UrlError::new("sqlite:// URL without a path"));
            }
            return Ok(IndexUrl::Sqlite(PathBuf::from(rest)));
        }
        if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            return postgres::ConnectSpec::parse(value)
                .map(|spec| IndexUrl::Postgres(Box::new(spec)));
        }
        Err(UrlError::new(
            "the index must be a sqlite:// or postgres:// URL",
        ))
    }
}

impl std::fmt::Display for IndexUrl {
    /// The URL without credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IndexUrl::Sqlite(p) => write!(f, "sqlite://{}", p.display()),
            IndexUrl::Postgres(spec) => f.write_str(&spec.location),
        }
    }
}

/// Opens the index a URL names, applying migrations; every call to a database server is bounded
/// by `timeouts`.
pub async fn open(url: &IndexUrl, timeouts: &Timeouts) -> Result<Box<dyn Index>, IndexError> {
    match url {
        IndexUrl::Sqlite(path) => Ok(Box::new(sqlite::SqliteIndex::open(path).await?)),
        IndexUrl::Postgres(spec) => Ok(Box::new(
            postgres::PostgresIndex::connect(spec.as_ref().clone(), timeouts).await?,
        )),
    }
}

/// The message of a refused [`IndexChange::Own`]: who owns the path and who asked for it.
pub(crate) fn owned_elsewhere(own: &Ownership, owner: &str) -> String {
    format!(
        "{} in {} belongs to pipeline {owner}; pipeline {} may not write or delete it",
        own.path,
        own.area.store(),
        own.pipeline
    )
}

/// Timestamps are stored as RFC 3339 text with milliseconds, in UTC, so they sort as text.
pub(crate) fn ts(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub(crate) fn parse_ts(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledger_states_read_back_as_they_are_stored() {
        use LedgerState::*;
        for state in [Running, Published, Succeeded, Rejected, Failed] {
            assert_eq!(LedgerState::parse(state.as_str()), Some(state));
        }
        assert_eq!(LedgerState::parse("done"), None);
    }

    #[test]
    fn index_urls_name_sqlite_or_postgres() {
        assert!(matches!(
            IndexUrl::parse("sqlite:///abs/i.db").unwrap(),
            IndexUrl::Sqlite(p) if p == std::path::Path::new("/abs/i.db")
        ));
        let pg = IndexUrl::parse("postgres://app:secret@db:5432/ingest").unwrap();
        assert_eq!(
            pg.to_string(),
            "postgres://app@db:5432/ingest",
            "no password shown"
        );
        assert!(IndexUrl::parse("sqlite://").is_err());
        assert!(IndexUrl::parse("s3://bucket").is_err());
    }
}
