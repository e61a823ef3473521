//! The index in PostgreSQL (RDS in production): the same tables and guarantees as the SQLite
//! index. Migrations run at start-up under an advisory lock, so jobs starting together migrate
//! once; a claim is one INSERT … ON CONFLICT plus a row lock; a commit is one transaction.

mod connect;
mod tls;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use tokio_postgres::{Client, Row};

pub use connect::{ConnectSpec, is_transient, redact};
use connect::{Pool, error};

use crate::deadline::Timeouts;

use super::{
    Abandoned, Claim, ClaimOutcome, ErrorKind, FileRecord, HarvestBatch, Index, IndexChange,
    IndexError, IndexOp, IndexedFile, JobEnd, JobFacts, JobRow, Journal, LeaseEntry, LedgerEntry,
    LedgerState, Owner, Ownership, PathOwner, Refusal, owned_elsewhere,
};
use crate::layout::Area;
use crate::model::FileMetadata;

/// Schema migrations, applied in order; `ocean_ingest_schema` records those applied.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE indexed_file (
    dest_path     TEXT PRIMARY KEY,
    pipeline      TEXT NOT NULL,
    source        TEXT NOT NULL,
    size          BIGINT NOT NULL,
    sha256        TEXT NOT NULL,
    job_id        TEXT NOT NULL,
    first_indexed TIMESTAMPTZ NOT NULL,
    last_indexed  TIMESTAMPTZ NOT NULL,
    deleted       BOOLEAN NOT NULL DEFAULT FALSE,
    feature_type  TEXT,
    time_start    TEXT,
    time_end      TEXT,
    lat_min       DOUBLE PRECISION,
    lat_max       DOUBLE PRECISION,
    lon_min       DOUBLE PRECISION,
    lon_max       DOUBLE PRECISION,
    variables     JSONB NOT NULL DEFAULT '[]',
    attributes    JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX indexed_file_pipeline ON indexed_file (pipeline);
-- Prefix listings (LIKE 'IMOS/ANMN/%') use this whatever the database's collation.
CREATE INDEX indexed_file_dest_prefix ON indexed_file (dest_path text_pattern_ops);
CREATE TABLE ingest_ledger (
    source         TEXT NOT NULL,
    source_version TEXT NOT NULL,
    job_id         TEXT NOT NULL,
    pipeline       TEXT NOT NULL,
    state          TEXT NOT NULL,
    lease_until    TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, source_version)
);
CREATE TABLE job (
    job_id         TEXT PRIMARY KEY,
    source         TEXT NOT NULL,
    source_version TEXT NOT NULL,
    pipeline       TEXT NOT NULL,
    outcome        TEXT NOT NULL,
    started_at     TIMESTAMPTZ NOT NULL,
    finished_at    TIMESTAMPTZ NOT NULL,
    report_url     TEXT
);
"#,
    r#"
ALTER TABLE ingest_ledger ADD COLUMN journal_job TEXT;
ALTER TABLE ingest_ledger ADD COLUMN journal JSONB;
CREATE INDEX ingest_ledger_job ON ingest_ledger (job_id);
CREATE INDEX ingest_ledger_journal ON ingest_ledger (journal_job) WHERE journal_job IS NOT NULL;
"#,
    r#"
-- The job history the status page reads: what each job recorded beyond its outcome.
ALTER TABLE job ADD COLUMN uploaded_at TIMESTAMPTZ;
ALTER TABLE job ADD COLUMN published_at TIMESTAMPTZ;
ALTER TABLE job ADD COLUMN files_published INTEGER NOT NULL DEFAULT 0;
ALTER TABLE job ADD COLUMN error TEXT;
ALTER TABLE job ADD COLUMN plots JSONB NOT NULL DEFAULT '[]';
CREATE INDEX job_finished ON job (finished_at);
CREATE INDEX ingest_ledger_unfinished ON ingest_ledger (state) WHERE state IN ('running', 'published');
"#,
    r#"
CREATE TABLE owned_path (
    area     TEXT NOT NULL,
    path     TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    job_id   TEXT NOT NULL,
    since    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (area, path)
);
-- Harvested files already say which pipeline published them.
INSERT INTO owned_path (area, path, pipeline, job_id, since)
    SELECT 'public', dest_path, pipeline, job_id, first_indexed FROM indexed_file;
"#,
];

/// The advisory lock key migrations hold (any constant unique to this application).
const MIGRATION_LOCK: i64 = 0x6f63_6561_6e5f_6931; // "ocean_i1"

/// How many times an operation is tried when PostgreSQL reports a conflict or the connection drops.
const ATTEMPTS: u32 = 3;

/// The index in a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresIndex {
    pool: Arc<Pool>,
}

impl PostgresIndex {
    /// Connects and applies any pending migrations, every call bounded by `timeouts`.
    pub async fn open(url: &str, timeouts: &Timeouts) -> Result<PostgresIndex, IndexError> {
        let spec = ConnectSpec::parse(url).map_err(|e| {
            IndexError::new(IndexOp::Open, redact(url), ErrorKind::Permanent, e.reason)
        })?;
        PostgresIndex::connect(spec, timeouts).await
    }

    /// Connects to a parsed URL and applies any pending migrations.
    pub async fn connect(
        spec: ConnectSpec,
        timeouts: &Timeouts,
    ) -> Result<PostgresIndex, IndexError> {
        let index = PostgresIndex {
            pool: Arc::new(Pool::new(spec, *timeouts)?),
        };
        index.migrate().await?;
        Ok(index)
    }

    async fn migrate(&self) -> Result<(), IndexError> {
        self.retrying(IndexOp::Migrate, |client| {
            Box::pin(async move {
                let tx = client.transaction().await?;
                // Held to the end of the transaction: a second job waits, then finds nothing to do.
                tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
                    .await?;
                tx.batch_execute(
                    "CREATE TABLE IF NOT EXISTS ocean_ingest_schema (
                        version    INTEGER PRIMARY KEY,
                        applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                    )",
                )
                .await?;
                let applied: i32 = tx
                    .query_one(
                        "SELECT COALESCE(MAX(version), 0) FROM ocean_ingest_schema",
                        &[],
                    )
                    .await?
                    .get(0);
                for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
                    tx.batch_execute(sql).await?;
                    tx.execute(
                        "INSERT INTO ocean_ingest_schema (version) VALUES ($1)",
                        &[&((i + 1) as i32)],
                    )
                    .await?;
                }
                tx.commit().await
            })
        })
        .await
    }

    /// Runs `f` on a pooled connection, again on a fresh one when the failure is transient
    /// (every operation here is idempotent, so a retry after a lost acknowledgement is safe).
    /// Each attempt has the request limit and the whole call twice that: a server that stops
    /// answering ends the call as a transient failure, its connection closed.
    async fn retrying<T, F>(&self, op: IndexOp, f: F) -> Result<T, IndexError>
    where
        T: Send,
        F: for<'c> Fn(&'c mut Client) -> BoxFuture<'c, Result<T, tokio_postgres::Error>>
            + Send
            + Sync,
    {
        tracing::debug!(op = %op, index = %self.location(), "postgres");
        let timeouts = *self.pool.timeouts();
        let deadline = tokio::time::Instant::now() + timeouts.call();
        let mut attempt = 1;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let mut conn = match tokio::time::timeout(left, self.pool.get(op)).await {
                Ok(conn) => conn?,
                Err(_) => return Err(self.timed_out(op, &timeouts)),
            };
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let answered = tokio::time::timeout(left.min(timeouts.request), f(&mut conn)).await;
            let Ok(answered) = answered else {
                conn.discard();
                if attempt < ATTEMPTS && tokio::time::Instant::now() < deadline {
                    tracing::warn!(index = %self.location(), op = %op, attempt, "index operation timed out; retrying on a new connection");
                    attempt += 1;
                    continue;
                }
                return Err(self.timed_out(op, &timeouts));
            };
            match answered {
                Ok(v) => return Ok(v),
                Err(e) if attempt < ATTEMPTS && is_transient(&e) => {
                    tracing::warn!(index = %self.location(), op = %op, attempt, error = %connect::describe(&e), "index operation failed; retrying");
                    drop(conn);
                    tokio::time::sleep(Duration::from_millis(100 * 2u64.pow(attempt))).await;
                    attempt += 1;
                }
                Err(e) => return Err(error(op, self.pool.location(), e)),
            }
        }
    }

    fn timed_out(&self, op: IndexOp, t: &Timeouts) -> IndexError {
        IndexError::new(
            op,
            self.location(),
            ErrorKind::Transient,
            format!(
                "the database did not answer within {} s (INGEST_REQUEST_TIMEOUT_SECONDS={} per attempt)",
                t.call().as_secs(),
                t.request.as_secs()
            ),
        )
    }
}

const FILE_COLUMNS: &str = "dest_path, pipeline, source, size, sha256, job_id, first_indexed, last_indexed, deleted, \
     feature_type, time_start, time_end, lat_min, lat_max, lon_min, lon_max, variables, attributes";

fn file_row(r: &Row) -> IndexedFile {
    let variables: serde_json::Value = r.get(16);
    IndexedFile {
        record: FileRecord {
            dest_path: r.get(0),
            pipeline: r.get(1),
            source: r.get(2),
            size: r.get::<_, i64>(3) as u64,
            sha256: r.get(4),
            job_id: r.get(5),
            metadata: FileMetadata {
                feature_type: r.get(9),
                time_start: r.get(10),
                time_end: r.get(11),
                lat_min: r.get(12),
                lat_max: r.get(13),
                lon_min: r.get(14),
                lon_max: r.get(15),
                variables: serde_json::from_value(variables).unwrap_or_default(),
                attributes: r.get(17),
            },
        },
        first_indexed: r.get(6),
        last_indexed: r.get(7),
        deleted: r.get(8),
    }
}

const LEDGER_COLUMNS: &str = "source, source_version, job_id, pipeline, state, updated_at";

fn ledger_row(r: &Row) -> LedgerEntry {
    LedgerEntry {
        source: r.get(0),
        source_version: r.get(1),
        job_id: r.get(2),
        pipeline: r.get(3),
        state: LedgerState::parse(r.get(4)).unwrap_or(LedgerState::Failed),
        updated_at: r.get(5),
    }
}

const JOB_COLUMNS: &str = "job_id, source, source_version, pipeline, outcome, started_at, finished_at, report_url, \
     uploaded_at, published_at, files_published, error, plots";

fn job_row(r: &Row) -> JobRow {
    let plots: serde_json::Value = r.get(12);
    JobRow {
        job_id: r.get(0),
        source: r.get(1),
        source_version: r.get(2),
        pipeline: r.get(3),
        outcome: r.get(4),
        started_at: r.get(5),
        finished_at: r.get(6),
        report_url: r.get(7),
        facts: JobFacts {
            uploaded_at: r.get(8),
            published_at: r.get(9),
            files_published: r.get::<_, i32>(10).max(0) as u32,
            error: r.get(11),
            plots: serde_json::from_value(plots).unwrap_or_default(),
        },
    }
}

/// A journal from its two columns, when both are there.
fn journal_of(job: Option<String>, entries: Option<serde_json::Value>) -> Option<Journal> {
    Some(Journal {
        job_id: job?,
        entries: entries?,
    })
}

/// A LIKE pattern matching every text that starts with `prefix` literally.
fn like_prefix(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[async_trait]
impl Index for PostgresIndex {
    fn location(&self) -> String {
        self.pool.location().to_string()
    }

    async fn claim(&self, claim: &Claim) -> Result<ClaimOutcome, IndexError> {
        self.retrying(IndexOp::Claim, |client| {
            let c = claim.clone();
            Box::pin(async move {
                let tx = client.transaction().await?;
                // Of two jobs inserting at once, the second waits for the first to commit, then
                // inserts nothing and goes on to read (and lock) the winner's row.
                let inserted = tx
                    .execute(
                        "INSERT INTO ingest_ledger (source, source_version, job_id, pipeline, state, lease_until, updated_at)
                         VALUES ($1, $2, $3, $4, 'running', $5, $6)
                         ON CONFLICT (source, source_version) DO NOTHING",
                        &[&c.source, &c.source_version, &c.job_id, &c.pipeline, &c.lease_until, &c.now],
                    )
                    .await?;
                if inserted == 1 {
                    tx.commit().await?;
                    return Ok(ClaimOutcome::Claimed { took_over: None });
                }
                let row = tx
                    .query_one(
                        "SELECT job_id, state, lease_until FROM ingest_ledger
                         WHERE source = $1 AND source_version = $2 FOR UPDATE",
                        &[&c.source, &c.source_version],
                    )
                    .await?;
                let (job_id, state, until): (String, String, DateTime<Utc>) =
                    (row.get(0), row.get(1), row.get(2));
                let state = LedgerState::parse(&state).unwrap_or(LedgerState::Failed);
                let outcome = if state.is_done() {
                    ClaimOutcome::AlreadyDone { job_id, state }
                } else if state == LedgerState::Running && until > c.now && job_id != c.job_id {
                    ClaimOutcome::InProgress { job_id, until }
                } else {
                    tx.execute(
                        "UPDATE ingest_ledger SET job_id = $3, pipeline = $4, state = 'running', lease_until = $5, updated_at = $6
                         WHERE source = $1 AND source_version = $2",
                        &[&c.source, &c.source_version, &c.job_id, &c.pipeline, &c.lease_until, &c.now],
                    )
                    .await?;
                    ClaimOutcome::Claimed {
                        took_over: Some(job_id).filter(|j| *j != c.job_id),
                    }
                };
                tx.commit().await?;
                Ok(outcome)
            })
        })
        .await
    }

    async fn commit(&self, batch: &HarvestBatch) -> Result<bool, IndexError> {
        // A refusal (a path another pipeline owns, a failure of the work in the commit) rolls the
        // transaction back and comes out as the inner error: it is not the connection's, so
        // `retrying` must not retry it.
        self.retrying(IndexOp::Commit, |client| {
            let b = batch.clone();
            Box::pin(async move {
                let tx = client.transaction().await?;
                // The row first, locked: a job that no longer holds the claim harvests nothing,
                // and whoever asks whether this commit happened waits for it to end.
                let held = tx
                    .query_opt(
                        "SELECT job_id, state FROM ingest_ledger WHERE source = $1 AND source_version = $2 FOR UPDATE",
                        &[&b.source, &b.source_version],
                    )
                    .await?;
                if held.is_none_or(|r| r.get::<_, &str>(0) != b.job_id || r.get::<_, &str>(1) != "running") {
                    tx.rollback().await?;
                    return Ok(Ok(false));
                }
                // Ownership next: a path another pipeline owns refuses the batch before any
                // change. The insert takes the rows' locks, so of two racing pipelines the second
                // waits for the first to commit, then reads its owner. One statement for all the
                // paths (not one per path): a publish of many files stays a few round trips, and
                // the rows are locked in one order, so two batches cannot deadlock.
                let owns: Vec<&Ownership> = b
                    .changes
                    .iter()
                    .filter_map(|c| match c {
                        IndexChange::Own(own) => Some(own),
                        _ => None,
                    })
                    .collect();
                let mut refused = Vec::new();
                if !owns.is_empty() {
                    let mut sorted = owns.clone();
                    sorted.sort_by(|x, y| (x.area.as_str(), &x.path).cmp(&(y.area.as_str(), &y.path)));
                    let areas: Vec<&str> = sorted.iter().map(|o| o.area.as_str()).collect();
                    let paths: Vec<&str> = sorted.iter().map(|o| o.path.as_str()).collect();
                    let pipelines: Vec<&str> = sorted.iter().map(|o| o.pipeline.as_str()).collect();
                    let jobs: Vec<&str> = sorted.iter().map(|o| o.job_id.as_str()).collect();
                    tx.execute(
                        "INSERT INTO owned_path (area, path, pipeline, job_id, since)
                         SELECT a, p, pl, j, $5
                         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS o(a, p, pl, j, n)
                         ORDER BY n
                         ON CONFLICT (area, path) DO NOTHING",
                        &[&areas, &paths, &pipelines, &jobs, &b.now],
                    )
                    .await?;
                    let owners: HashMap<(String, String), String> = tx
                        .query(
                            "SELECT o.area, o.path, o.pipeline FROM owned_path o
                             JOIN unnest($1::text[], $2::text[]) AS u(a, p) ON o.area = u.a AND o.path = u.p",
                            &[&areas, &paths],
                        )
                        .await?
                        .iter()
                        .map(|r| ((r.get(0), r.get(1)), r.get(2)))
                        .collect();
                    for own in owns {
                        let key = (own.area.as_str().to_string(), own.path.clone());
                        match owners.get(&key) {
                            Some(owner) if *owner != own.pipeline => {
                                refused.push(owned_elsewhere(own, owner))
                            }
                            _ => {}
                        }
                    }
                }
                if !refused.is_empty() {
                    tx.rollback().await?;
                    return Ok(Err(Refusal::Owned(refused)));
                }
                for change in &b.changes {
                    match change {
                        IndexChange::Own(_) => {}
                        IndexChange::Upsert(f) => {
                            let m = &f.metadata;
                            let variables = serde_json::to_value(&m.variables).unwrap_or_default();
                            tx.execute(
                                &format!(
                                    "INSERT INTO indexed_file ({FILE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, FALSE, $8, $9, $10, $11, $12, $13, $14, $15, $16)
                                     ON CONFLICT (dest_path) DO UPDATE SET pipeline = excluded.pipeline, source = excluded.source,
                                       size = excluded.size, sha256 = excluded.sha256, job_id = excluded.job_id,
                                       last_indexed = excluded.last_indexed, deleted = FALSE, feature_type = excluded.feature_type,
                                       time_start = excluded.time_start, time_end = excluded.time_end, lat_min = excluded.lat_min,
                                       lat_max = excluded.lat_max, lon_min = excluded.lon_min, lon_max = excluded.lon_max,
                                       variables = excluded.variables, attributes = excluded.attributes"
                                ),
                                &[
                                    &f.dest_path,
                                    &f.pipeline,
                                    &f.source,
                                    &(f.size as i64),
                                    &f.sha256,
                                    &f.job_id,
                                    &b.now,
                                    &m.feature_type,
                                    &m.time_start,
                                    &m.time_end,
                                    &m.lat_min,
                                    &m.lat_max,
                                    &m.lon_min,
                                    &m.lon_max,
                                    &variables,
                                    &m.attributes,
                                ],
                            )
                            .await?;
                        }
                        IndexChange::MarkDeleted { dest_path, job_id } => {
                            tx.execute(
                                "UPDATE indexed_file SET deleted = TRUE, last_indexed = $2, job_id = $3
                                 WHERE dest_path = $1 AND NOT deleted",
                                &[dest_path, &b.now, job_id],
                            )
                            .await?;
                        }
                    }
                }
                for work in &b.in_commit {
                    if let Err(e) = work.postgres(&tx).await {
                        return Ok(Err(Refusal::Work(e)));
                    }
                }
                tx.execute(
                    "UPDATE ingest_ledger SET state = 'published', updated_at = $4
                     WHERE source = $1 AND source_version = $2 AND job_id = $3",
                    &[&b.source, &b.source_version, &b.job_id, &b.now],
                )
                .await?;
                tx.commit().await.map(|()| Ok(true))
            })
        })
        .await?
        .map_err(|e| e.into_index_error(IndexOp::Commit, self.location()))
    }

    async fn renew(&self, claim: &Claim) -> Result<bool, IndexError> {
        self.retrying(IndexOp::Renew, |client| {
            let c = claim.clone();
            Box::pin(async move {
                let n = client
                    .execute(
                        "UPDATE ingest_ledger SET lease_until = $4
                         WHERE source = $1 AND source_version = $2 AND job_id = $3 AND lease_until > $5",
                        &[&c.source, &c.source_version, &c.job_id, &c.lease_until, &c.now],
                    )
                    .await?;
                Ok(n == 1)
            })
        })
        .await
    }

    async fn journal(
        &self,
        source: &str,
        source_version: &str,
    ) -> Result<Option<Journal>, IndexError> {
        self.retrying(IndexOp::Journal, |client| {
            let (s, v) = (source.to_string(), source_version.to_string());
            Box::pin(async move {
                let row = client
                    .query_opt(
                        "SELECT journal_job, journal FROM ingest_ledger WHERE source = $1 AND source_version = $2",
                        &[&s, &v],
                    )
                    .await?;
                Ok(row.and_then(|r| journal_of(r.get(0), r.get(1))))
            })
        })
        .await
    }

    async fn record_journal(&self, claim: &Claim, journal: &Journal) -> Result<bool, IndexError> {
        self.retrying(IndexOp::Journal, |client| {
            let (c, j) = (claim.clone(), journal.clone());
            Box::pin(async move {
                let n = client
                    .execute(
                        "UPDATE ingest_ledger SET journal_job = $4, journal = $5
                         WHERE source = $1 AND source_version = $2 AND job_id = $3 AND state = 'running' AND lease_until > $6",
                        &[&c.source, &c.source_version, &c.job_id, &j.job_id, &j.entries, &c.now],
                    )
                    .await?;
                Ok(n == 1)
            })
        })
        .await
    }

    async fn clear_journal(
        &self,
        source: &str,
        source_version: &str,
        of_job: &str,
    ) -> Result<(), IndexError> {
        self.retrying(IndexOp::Journal, |client| {
            let (s, v, j) = (
                source.to_string(),
                source_version.to_string(),
                of_job.to_string(),
            );
            Box::pin(async move {
                client
                    .execute(
                        "UPDATE ingest_ledger SET journal_job = NULL, journal = NULL
                         WHERE source = $1 AND source_version = $2 AND journal_job = $3",
                        &[&s, &v, &j],
                    )
                    .await
                    .map(|_| ())
            })
        })
        .await
    }

    async fn committed(
        &self,
        source: &str,
        source_version: &str,
        job_id: &str,
    ) -> Result<bool, IndexError> {
        self.retrying(IndexOp::Committed, |client| {
            let (s, v, j) = (source.to_string(), source_version.to_string(), job_id.to_string());
            Box::pin(async move {
                // Locking the row waits for a commit of this job still on the way (it locked the
                // row first) to end one way or the other, so the answer stays true.
                let tx = client.transaction().await?;
                let row = tx
                    .query_opt(
                        "SELECT job_id, state FROM ingest_ledger WHERE source = $1 AND source_version = $2 FOR UPDATE",
                        &[&s, &v],
                    )
                    .await?;
                tx.commit().await?;
                Ok(row.is_some_and(|r| {
                    r.get::<_, &str>(0) == j
                        && LedgerState::parse(r.get(1)).is_some_and(LedgerState::is_done)
                }))
            })
        })
        .await
    }

    async fn abandoned(
        &self,
        pipeline: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Abandoned>, IndexError> {
        self.retrying(IndexOp::Abandoned, |client| {
            let p = pipeline.to_string();
            Box::pin(async move {
                let rows = client
                    .query(
                        "SELECT source, source_version, pipeline, state, journal_job, journal FROM ingest_ledger
                         WHERE journal_job IS NOT NULL AND pipeline = $1
                           AND (lease_until < $2 OR state IN ('published', 'succeeded'))
                         ORDER BY source, source_version",
                        &[&p, &now],
                    )
                    .await?;
                Ok(rows
                    .iter()
                    .filter_map(|r| {
                        Some(Abandoned {
                            source: r.get(0),
                            source_version: r.get(1),
                            pipeline: r.get(2),
                            state: LedgerState::parse(r.get(3)).unwrap_or(LedgerState::Failed),
                            journal: journal_of(r.get(4), r.get(5))?,
                        })
                    })
                    .collect())
            })
        })
        .await
    }

    async fn release(
        &self,
        source: &str,
        source_version: &str,
        job_id: &str,
        state: LedgerState,
    ) -> Result<(), IndexError> {
        self.retrying(IndexOp::Release, |client| {
            let (s, v, j) = (source.to_string(), source_version.to_string(), job_id.to_string());
            Box::pin(async move {
                let now = Utc::now();
                client
                    .execute(
                        "UPDATE ingest_ledger SET state = $4, journal_job = NULL, journal = NULL, lease_until = $5, updated_at = $5
                         WHERE source = $1 AND source_version = $2 AND job_id = $3",
                        &[&s, &v, &j, &state.as_str(), &now],
                    )
                    .await
                    .map(|_| ())
            })
        })
        .await
    }

    async fn owner(&self, job_id: &str, now: DateTime<Utc>) -> Result<Owner, IndexError> {
        self.retrying(IndexOp::Owner, |client| {
            let j = job_id.to_string();
            Box::pin(async move {
                let row = client
                    .query_one(
                        "SELECT EXISTS (SELECT 1 FROM ingest_ledger WHERE job_id = $1 AND lease_until > $2),
                                EXISTS (SELECT 1 FROM ingest_ledger WHERE journal_job = $1)",
                        &[&j, &now],
                    )
                    .await?;
                Ok(Owner::of(row.get(0), row.get(1)))
            })
        })
        .await
    }

    async fn finish(&self, end: &JobEnd) -> Result<(), IndexError> {
        self.retrying(IndexOp::Finish, |client| {
            let e = end.clone();
            Box::pin(async move {
                let tx = client.transaction().await?;
                if let Some(state) = e.ledger_state {
                    // A published upload stays published whatever happened after the commit.
                    tx.execute(
                        "UPDATE ingest_ledger SET state = CASE WHEN state = 'published' AND $4 <> 'succeeded' THEN 'published' ELSE $4 END,
                            updated_at = $5
                         WHERE source = $1 AND source_version = $2 AND job_id = $3",
                        &[&e.source, &e.source_version, &e.job_id, &state.as_str(), &e.finished_at],
                    )
                    .await?;
                }
                let f = &e.facts;
                let files = i32::try_from(f.files_published).unwrap_or(i32::MAX);
                let plots = serde_json::to_value(&f.plots).unwrap_or_default();
                tx.execute(
                    &format!(
                        "INSERT INTO job ({JOB_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                         ON CONFLICT (job_id) DO UPDATE SET outcome = excluded.outcome, finished_at = excluded.finished_at,
                           report_url = excluded.report_url, uploaded_at = excluded.uploaded_at,
                           published_at = excluded.published_at, files_published = excluded.files_published,
                           error = excluded.error, plots = excluded.plots"
                    ),
                    &[
                        &e.job_id,
                        &e.source,
                        &e.source_version,
                        &e.pipeline,
                        &e.outcome,
                        &e.started_at,
                        &e.finished_at,
                        &e.report_url,
                        &f.uploaded_at,
                        &f.published_at,
                        &files,
                        &f.error,
                        &plots,
                    ],
                )
                .await?;
                tx.commit().await
            })
        })
        .await
    }

    async fn get(&self, dest_path: &str) -> Result<Option<IndexedFile>, IndexError> {
        self.retrying(IndexOp::Get, |client| {
            let dest = dest_path.to_string();
            Box::pin(async move {
                let row = client
                    .query_opt(
                        &format!("SELECT {FILE_COLUMNS} FROM indexed_file WHERE dest_path = $1"),
                        &[&dest],
                    )
                    .await?;
                Ok(row.as_ref().map(file_row))
            })
        })
        .await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<IndexedFile>, IndexError> {
        self.retrying(IndexOp::List, |client| {
            let pattern = like_prefix(prefix);
            Box::pin(async move {
                let rows = client
                    .query(
                        &format!(
                            "SELECT {FILE_COLUMNS} FROM indexed_file WHERE dest_path LIKE $1 ESCAPE '\\' ORDER BY dest_path COLLATE \"C\""
                        ),
                        &[&pattern],
                    )
                    .await?;
                Ok(rows.iter().map(file_row).collect())
            })
        })
        .await
    }

    async fn path_owners(
        &self,
        area: Area,
        paths: &[String],
    ) -> Result<Vec<PathOwner>, IndexError> {
        self.retrying(IndexOp::PathOwners, |client| {
            let paths = paths.to_vec();
            Box::pin(async move {
                let rows = client
                    .query(
                        "SELECT path, pipeline, job_id, since FROM owned_path
                         WHERE area = $1 AND path = ANY($2) ORDER BY path COLLATE \"C\"",
                        &[&area.as_str(), &paths],
                    )
                    .await?;
                Ok(rows
                    .iter()
                    .map(|r| PathOwner {
                        ownership: Ownership {
                            area,
                            path: r.get(0),
                            pipeline: r.get(1),
                            job_id: r.get(2),
                        },
                        since: r.get(3),
                    })
                    .collect())
            })
        })
        .await
    }

    async fn ledger(
        &self,
        source: &str,
        source_version: &str,
    ) -> Result<Option<LedgerEntry>, IndexError> {
        self.retrying(IndexOp::Ledger, |client| {
            let (s, v) = (source.to_string(), source_version.to_string());
            Box::pin(async move {
                let row = client
                    .query_opt(
                        &format!(
                            "SELECT {LEDGER_COLUMNS} FROM ingest_ledger WHERE source = $1 AND source_version = $2"
                        ),
                        &[&s, &v],
                    )
                    .await?;
                Ok(row.as_ref().map(ledger_row))
            })
        })
        .await
    }

    async fn job(&self, job_id: &str) -> Result<Option<JobRow>, IndexError> {
        self.retrying(IndexOp::Job, |client| {
            let id = job_id.to_string();
            Box::pin(async move {
                let row = client
                    .query_opt(
                        &format!("SELECT {JOB_COLUMNS} FROM job WHERE job_id = $1"),
                        &[&id],
                    )
                    .await?;
                Ok(row.as_ref().map(job_row))
            })
        })
        .await
    }

    async fn history(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<JobRow>, IndexError> {
        self.retrying(IndexOp::History, |client| {
            Box::pin(async move {
                let rows = client
                    .query(
                        &format!(
                            "SELECT {JOB_COLUMNS} FROM job WHERE finished_at >= $1 AND finished_at < $2
                             ORDER BY finished_at, job_id COLLATE \"C\""
                        ),
                        &[&since, &until],
                    )
                    .await?;
                Ok(rows.iter().map(job_row).collect())
            })
        })
        .await
    }

    async fn leases(&self) -> Result<Vec<LeaseEntry>, IndexError> {
        self.retrying(IndexOp::Leases, |client| {
            Box::pin(async move {
                let rows = client
                    .query(
                        &format!(
                            "SELECT {LEDGER_COLUMNS}, lease_until FROM ingest_ledger
                             WHERE state IN ('running', 'published')
                             ORDER BY updated_at, source COLLATE \"C\", source_version COLLATE \"C\""
                        ),
                        &[],
                    )
                    .await?;
                Ok(rows
                    .iter()
                    .map(|r| LeaseEntry {
                        entry: ledger_row(r),
                        lease_until: r.get(6),
                    })
                    .collect())
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_match_prefixes_literally() {
        assert_eq!(like_prefix("IMOS/B_x%"), "IMOS/B\\_x\\%%");
        assert_eq!(like_prefix(""), "%");
        assert_eq!(like_prefix("a\\b"), "a\\\\b%");
    }
}
