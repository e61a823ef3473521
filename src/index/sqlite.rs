//! The index in one SQLite file: the embedded default. Writers serialise on the database lock
//! (`BEGIN IMMEDIATE`), which makes claims atomic across processes on one machine.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use chrono::{DateTime, Utc};

use super::{
    Abandoned, Claim, ClaimOutcome, ErrorKind, FileRecord, HarvestBatch, Index, IndexChange,
    IndexError, IndexOp, IndexedFile, JobEnd, JobFacts, JobRow, Journal, LeaseEntry, LedgerEntry,
    LedgerState, Owner, Ownership, PathOwner, Refusal, owned_elsewhere, parse_ts, ts,
};
use crate::layout::Area;
use crate::model::FileMetadata;

/// Schema migrations, applied in order; `PRAGMA user_version` counts those applied.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE indexed_file (
    dest_path     TEXT PRIMARY KEY,
    pipeline      TEXT NOT NULL,
    source        TEXT NOT NULL,
    size          INTEGER NOT NULL,
    sha256        TEXT NOT NULL,
    job_id        TEXT NOT NULL,
    first_indexed TEXT NOT NULL,
    last_indexed  TEXT NOT NULL,
    deleted       INTEGER NOT NULL DEFAULT 0,
    feature_type  TEXT,
    time_start    TEXT,
    time_end      TEXT,
    lat_min       REAL,
    lat_max       REAL,
    lon_min       REAL,
    lon_max       REAL,
    variables     TEXT NOT NULL DEFAULT '[]',
    attributes    TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX indexed_file_pipeline ON indexed_file (pipeline);
CREATE TABLE ingest_ledger (
    source         TEXT NOT NULL,
    source_version TEXT NOT NULL,
    job_id         TEXT NOT NULL,
    pipeline       TEXT NOT NULL,
    state          TEXT NOT NULL,
    lease_until    TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (source, source_version)
);
CREATE TABLE job (
    job_id         TEXT PRIMARY KEY,
    source         TEXT NOT NULL,
    source_version TEXT NOT NULL,
    pipeline       TEXT NOT NULL,
    outcome        TEXT NOT NULL,
    started_at     TEXT NOT NULL,
    finished_at    TEXT NOT NULL,
    report_url     TEXT
);
"#,
    r#"
ALTER TABLE ingest_ledger ADD COLUMN journal_job TEXT;
ALTER TABLE ingest_ledger ADD COLUMN journal TEXT;
CREATE INDEX ingest_ledger_job ON ingest_ledger (job_id);
CREATE INDEX ingest_ledger_journal ON ingest_ledger (journal_job);
"#,
    r#"
-- The job history the status page reads: what each job recorded beyond its outcome.
ALTER TABLE job ADD COLUMN uploaded_at TEXT;
ALTER TABLE job ADD COLUMN published_at TEXT;
ALTER TABLE job ADD COLUMN files_published INTEGER NOT NULL DEFAULT 0;
ALTER TABLE job ADD COLUMN error TEXT;
ALTER TABLE job ADD COLUMN plots TEXT NOT NULL DEFAULT '[]';
CREATE INDEX job_finished ON job (finished_at);
CREATE INDEX ingest_ledger_unfinished ON ingest_ledger (state) WHERE state IN ('running', 'published');
"#,
    r#"
CREATE TABLE owned_path (
    area     TEXT NOT NULL,
    path     TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    job_id   TEXT NOT NULL,
    since    TEXT NOT NULL,
    PRIMARY KEY (area, path)
);
-- Harvested files already say which pipeline published them.
INSERT INTO owned_path (area, path, pipeline, job_id, since)
    SELECT 'public', dest_path, pipeline, job_id, first_indexed FROM indexed_file;
"#,
];

#[derive(Debug, Clone)]
pub struct SqliteIndex {
    path: PathBuf,
    conn: Arc<Mutex<Connection>>,
}

fn err(op: IndexOp, path: &Path, e: rusqlite::Error) -> IndexError {
    use rusqlite::ErrorCode::*;
    let transient = matches!(
        e.sqlite_error_code(),
        Some(DatabaseBusy | DatabaseLocked | DiskFull | SystemIoFailure | CannotOpen | OutOfMemory)
    );
    let kind = if transient {
        ErrorKind::Transient
    } else {
        ErrorKind::Permanent
    };
    IndexError::new(op, location(path), kind, e.to_string()).with_source(e)
}

/// The index's location for messages: `sqlite://<path>`.
fn location(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// A blocking database call that panicked or was cancelled.
fn crashed(op: IndexOp, path: &Path, e: tokio::task::JoinError) -> IndexError {
    IndexError::new(op, location(path), ErrorKind::Permanent, e.to_string())
}

impl SqliteIndex {
    pub async fn open(path: &Path) -> Result<SqliteIndex, IndexError> {
        let path = path.to_path_buf();
        let p = path.clone();
        let conn = crate::task::blocking(move || -> Result<Connection, IndexError> {
            if let Some(parent) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| {
                    IndexError::new(
                        IndexOp::Open,
                        location(&p),
                        ErrorKind::Permanent,
                        e.to_string(),
                    )
                    .with_source(e)
                })?;
            }
            if !p.exists() {
                create(&p)?;
            }
            // Jobs started together on one home open (and may create) the database at the same
            // moment. The busy timeout covers waiting for each other's transactions, but not every
            // lock SQLite takes while a database file is first set up (the switch to WAL, the
            // recovery of a WAL left by a killed process): those report "database is locked" at
            // once, so opening is retried until the same timeout has passed.
            let started = Instant::now();
            let mut pause = Duration::from_millis(10);
            loop {
                match connect(&p) {
                    Ok(conn) => return Ok(conn),
                    Err((op, e)) if busy(&e) && started.elapsed() < BUSY_TIMEOUT => {
                        tracing::debug!(op = %op, error = %e, "sqlite busy while opening; retrying");
                        std::thread::sleep(pause);
                        pause = (pause * 2).min(Duration::from_millis(500));
                    }
                    Err((op, e)) => return Err(err(op, &p, e)),
                }
            }
        })
        .await
        .map_err(|e| crashed(IndexOp::Open, &path, e))??;
        Ok(SqliteIndex {
            path,
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn with<T: Send + 'static>(
        &self,
        op: IndexOp,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, IndexError> {
        let conn = self.conn.clone();
        let path = self.path.clone();
        crate::task::blocking(move || {
            tracing::debug!(op = %op, "sqlite");
            let mut guard = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut guard).map_err(|e| err(op, &path, e))
        })
        .await
        .map_err(|e| crashed(op, &self.path, e))?
    }
}

/// How long a call waits for other processes holding the database before it fails (transient).
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `write` with the connection's commits unsynced (`PRAGMA synchronous = OFF`), then puts
/// the connection's setting back whatever `write` returned: for a write whose loss in a crash
/// leaves a state the jobs already recover from; the next synced commit makes it durable.
fn unsynced<T>(
    conn: &mut Connection,
    write: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    let synced: i64 = conn.query_row("PRAGMA synchronous", [], |r| r.get(0))?;
    conn.pragma_update(None, "synchronous", "OFF")?;
    let written = write(conn);
    conn.pragma_update(None, "synchronous", synced)?;
    written
}

/// The WAL pages past which a commit checkpoints them into the database: what every job's open
/// reads at most (see `connect`). Near the balance of the two costs here: a frame read at open
/// ~7 µs, a checkpoint ~1.5 ms, ~10 pages a job.
const WAL_PAGES: i64 = 64;

/// Opens the database in WAL mode with its migrations applied, or says which step failed.
fn connect(path: &Path) -> Result<Connection, (IndexOp, rusqlite::Error)> {
    let open = |e| (IndexOp::Open, e);
    let mut conn = Connection::open(path).map_err(open)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(open)?;
    // Closing the last connection would checkpoint the WAL into the database: two more fsyncs
    // at the end of every job. The WAL is as durable as the database and the next connection
    // reads it, so it is left as it is.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
        .map_err(open)?;
    // But every job is a new process, the first connection to the database, and SQLite then
    // rebuilds the WAL's index by reading and checksumming every frame in it: with SQLite's
    // default of a checkpoint at 1,000 pages, a home's WAL grew by ~10 pages a job to 4 MB, and
    // every job's open read it (1.3–1.9 ms more a job at 240 frames). A commit that leaves more
    // than WAL_PAGES pages checkpoints them (one job in several, ~1 ms, its two fsyncs), so no
    // job reads more than a few hundred kilobytes of WAL.
    conn.pragma_update(None, "wal_autocheckpoint", WAL_PAGES)
        .map_err(open)?;
    // WAL is recorded in the database file: once set, nobody needs the exclusive lock the switch
    // takes again.
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .map_err(open)?;
    if !mode.eq_ignore_ascii_case("wal") {
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open)?;
    }
    migrate(&mut conn).map_err(|e| (IndexOp::Migrate, e))?;
    Ok(conn)
}

/// A new index as the migrations make it (the tests' `build_empty`): every migration applied,
/// WAL mode recorded in its header, nothing in it. A new home's first job writes these bytes
/// instead of having SQLite build them (parsing and running every migration, a WAL and its
/// shared memory made, checkpointed and removed): about a millisecond of that job. The test
/// `the_embedded_empty_index_is_what_the_migrations_make` keeps it equal to what the migrations
/// make; were it ever behind them, connecting applies the migrations it lacks.
const EMPTY: &[u8] = include_bytes!("empty-index.sqlite");

/// Makes a new database at `path` whole or not at all: written beside it under a name of its
/// own ([`EMPTY`]), made durable with one `fsync`, then linked into place — which fails,
/// leaving the database another process linked first, when one is there already. Creating it
/// in place took seven `fsync`s (the rollback journal of the switch to WAL, the WAL, the folder
/// twice), the first job of a new home waiting on each; a process killed half-way leaves a file
/// no job opens rather than a half-made index.
///
/// The folder is not synced for the link: until a first commit, an index lost in a crash holds
/// nothing and the next job makes it again; and that first commit syncs the folder itself (SQLite
/// syncs the folder of a WAL it opened, with the WAL's first sync), which makes the link durable
/// with the WAL's name, before the commit returns.
fn create(path: &Path) -> Result<(), IndexError> {
    let io = |what: &str, e: std::io::Error| {
        let kind = match e.kind() {
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::NotFound => {
                ErrorKind::Permanent
            }
            _ => ErrorKind::Transient,
        };
        IndexError::new(IndexOp::Open, location(path), kind, format!("{what}: {e}")).with_source(e)
    };
    let folder = match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(d) => d.to_path_buf(),
        None => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = draft_prefix(&name);
    sweep_drafts(&folder, &prefix);
    let mut draft = tempfile::Builder::new()
        .prefix(&prefix)
        .tempfile_in(&folder)
        .map_err(|e| io("cannot make the new index beside its place", e))?;
    {
        use std::io::Write;
        let file = draft.as_file_mut();
        file.write_all(EMPTY)
            .map_err(|e| io("cannot write the new index", e))?;
        file.sync_all()
            .map_err(|e| io("cannot make the new index durable", e))?;
    }
    let draft = draft.into_temp_path();
    match std::fs::hard_link(&draft, path) {
        Ok(()) => {}
        // Another job of this home made it first: that one is the index.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io("cannot put the new index in place", e)),
    }
    // The draft's own name goes when `draft` drops; the index keeps the link.
    Ok(())
}

/// Builds an empty index at `path` the slow way, through SQLite: WAL mode and every migration,
/// with no syncs (nothing here needs to survive a crash), then closed, which checkpoints the
/// WAL into the file and removes it. [`EMPTY`] is what this makes.
#[cfg(test)]
fn build_empty(path: &Path) -> rusqlite::Result<()> {
    let mut conn = Connection::open(path)?;
    conn.pragma_update(None, "synchronous", "OFF")?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    migrate(&mut conn)?;
    conn.close().map_err(|(_, e)| e)
}

/// The name a database's draft starts with: hidden, beside the database.
fn draft_prefix(name: &str) -> String {
    format!(".{name}.new-")
}

/// A draft is seconds old at most while its creator lives (it takes milliseconds); one older
/// than this is a killed creator's.
const DRAFT_ABANDONED: Duration = Duration::from_secs(600);

/// Removes the drafts of creators killed half-way, so a hard stop leaves nothing behind.
fn sweep_drafts(folder: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with(prefix) {
            continue;
        }
        let age = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok());
        if age.is_some_and(|a| a > DRAFT_ABANDONED) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Whether an error is another connection holding a lock.
fn busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let applied: usize = tx.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
    }
    tx.commit()
}

/// A journal from its two columns, when both are there and the entries parse.
fn journal_of(job: Option<String>, entries: Option<String>) -> Option<Journal> {
    Some(Journal {
        job_id: job?,
        entries: serde_json::from_str(&entries?).ok()?,
    })
}

const FILE_COLUMNS: &str = "dest_path, pipeline, source, size, sha256, job_id, first_indexed, last_indexed, deleted, \
     feature_type, time_start, time_end, lat_min, lat_max, lon_min, lon_max, variables, attributes";

const JOB_COLUMNS: &str = "job_id, source, source_version, pipeline, outcome, started_at, finished_at, report_url, \
     uploaded_at, published_at, files_published, error, plots";

const LEDGER_COLUMNS: &str = "source, source_version, job_id, pipeline, state, updated_at";

fn ledger_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<LedgerEntry> {
    Ok(LedgerEntry {
        source: r.get(0)?,
        source_version: r.get(1)?,
        job_id: r.get(2)?,
        pipeline: r.get(3)?,
        state: LedgerState::parse(&r.get::<_, String>(4)?).unwrap_or(LedgerState::Failed),
        updated_at: parse_ts(&r.get::<_, String>(5)?),
    })
}

fn job_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<JobRow> {
    let time = |i: usize| -> rusqlite::Result<Option<DateTime<Utc>>> {
        Ok(r.get::<_, Option<String>>(i)?.as_deref().map(parse_ts))
    };
    Ok(JobRow {
        job_id: r.get(0)?,
        source: r.get(1)?,
        source_version: r.get(2)?,
        pipeline: r.get(3)?,
        outcome: r.get(4)?,
        started_at: parse_ts(&r.get::<_, String>(5)?),
        finished_at: parse_ts(&r.get::<_, String>(6)?),
        report_url: r.get(7)?,
        facts: JobFacts {
            uploaded_at: time(8)?,
            published_at: time(9)?,
            files_published: r.get::<_, i64>(10)?.clamp(0, u32::MAX as i64) as u32,
            error: r.get(11)?,
            plots: serde_json::from_str(&r.get::<_, String>(12)?).unwrap_or_default(),
        },
    })
}

fn file_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<IndexedFile> {
    let variables: String = r.get(16)?;
    let attributes: String = r.get(17)?;
    Ok(IndexedFile {
        record: FileRecord {
            dest_path: r.get(0)?,
            pipeline: r.get(1)?,
            source: r.get(2)?,
            size: r.get::<_, i64>(3)? as u64,
            sha256: r.get(4)?,
            job_id: r.get(5)?,
            metadata: FileMetadata {
                feature_type: r.get(9)?,
                time_start: r.get(10)?,
                time_end: r.get(11)?,
                lat_min: r.get(12)?,
                lat_max: r.get(13)?,
                lon_min: r.get(14)?,
                lon_max: r.get(15)?,
                variables: serde_json::from_str(&variables).unwrap_or_default(),
                attributes: serde_json::from_str(&attributes).unwrap_or_default(),
            },
        },
        first_indexed: parse_ts(&r.get::<_, String>(6)?),
        last_indexed: parse_ts(&r.get::<_, String>(7)?),
        deleted: r.get::<_, i64>(8)? != 0,
    })
}

#[async_trait]
impl Index for SqliteIndex {
    fn location(&self) -> String {
        location(&self.path)
    }

    async fn claim(&self, claim: &Claim) -> Result<ClaimOutcome, IndexError> {
        let c = claim.clone();
        self.with(IndexOp::Claim, move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let existing = tx
                .query_row(
                    "SELECT job_id, state, lease_until FROM ingest_ledger WHERE source = ?1 AND source_version = ?2",
                    params![c.source, c.source_version],
                    |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)),
                )
                .optional()?;
            let outcome = match existing {
                None => {
                    tx.execute(
                        "INSERT INTO ingest_ledger (source, source_version, job_id, pipeline, state, lease_until, updated_at)
                         VALUES (?1, ?2, ?3, ?4, 'running', ?5, ?6)",
                        params![c.source, c.source_version, c.job_id, c.pipeline, ts(&c.lease_until), ts(&c.now)],
                    )?;
                    ClaimOutcome::Claimed { took_over: None }
                }
                Some((job_id, state, lease_until)) => {
                    let state = LedgerState::parse(&state).unwrap_or(LedgerState::Failed);
                    let until = parse_ts(&lease_until);
                    if state.is_done() {
                        ClaimOutcome::AlreadyDone { job_id, state }
                    } else if state == LedgerState::Running && until > c.now && job_id != c.job_id {
                        ClaimOutcome::InProgress { job_id, until }
                    } else {
                        tx.execute(
                            "UPDATE ingest_ledger SET job_id = ?3, pipeline = ?4, state = 'running', lease_until = ?5, updated_at = ?6
                             WHERE source = ?1 AND source_version = ?2",
                            params![c.source, c.source_version, c.job_id, c.pipeline, ts(&c.lease_until), ts(&c.now)],
                        )?;
                        ClaimOutcome::Claimed { took_over: Some(job_id).filter(|j| *j != c.job_id) }
                    }
                }
            };
            tx.commit()?;
            Ok(outcome)
        })
        .await
    }

    async fn commit(&self, batch: &HarvestBatch) -> Result<bool, IndexError> {
        let b = batch.clone();
        self.with(IndexOp::Commit, move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let now = ts(&b.now);
            let held: Option<(String, String)> = tx
                .query_row(
                    "SELECT job_id, state FROM ingest_ledger WHERE source = ?1 AND source_version = ?2",
                    params![b.source, b.source_version],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            if held.is_none_or(|(job, state)| job != b.job_id || state != "running") {
                return Ok(Ok(false));
            }
            // Ownership first: a path another pipeline owns refuses the batch before any change.
            let mut refused = Vec::new();
            for change in &b.changes {
                if let IndexChange::Own(own) = change {
                    tx.execute(
                        "INSERT INTO owned_path (area, path, pipeline, job_id, since) VALUES (?1, ?2, ?3, ?4, ?5)
                         ON CONFLICT (area, path) DO NOTHING",
                        params![own.area.as_str(), own.path, own.pipeline, own.job_id, now],
                    )?;
                    let owner: String = tx.query_row(
                        "SELECT pipeline FROM owned_path WHERE area = ?1 AND path = ?2",
                        params![own.area.as_str(), own.path],
                        |r| r.get(0),
                    )?;
                    if owner != own.pipeline {
                        refused.push(owned_elsewhere(own, &owner));
                    }
                }
            }
            if !refused.is_empty() {
                // Dropping the transaction rolls every statement of it back.
                return Ok(Err(Refusal::Owned(refused)));
            }
            for change in &b.changes {
                match change {
                    IndexChange::Own(_) => {}
                    IndexChange::Upsert(f) => {
                        let m = &f.metadata;
                        tx.execute(
                            &format!(
                                "INSERT INTO indexed_file ({FILE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, 0, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
                                 ON CONFLICT (dest_path) DO UPDATE SET pipeline = excluded.pipeline, source = excluded.source,
                                   size = excluded.size, sha256 = excluded.sha256, job_id = excluded.job_id,
                                   last_indexed = excluded.last_indexed, deleted = 0, feature_type = excluded.feature_type,
                                   time_start = excluded.time_start, time_end = excluded.time_end, lat_min = excluded.lat_min,
                                   lat_max = excluded.lat_max, lon_min = excluded.lon_min, lon_max = excluded.lon_max,
                                   variables = excluded.variables, attributes = excluded.attributes"
                            ),
                            params![
                                f.dest_path,
                                f.pipeline,
                                f.source,
                                f.size as i64,
                                f.sha256,
                                f.job_id,
                                now,
                                m.feature_type,
                                m.time_start,
                                m.time_end,
                                m.lat_min,
                                m.lat_max,
                                m.lon_min,
                                m.lon_max,
                                serde_json::to_string(&m.variables).unwrap_or_else(|_| "[]".into()),
                                m.attributes.to_string(),
                            ],
                        )?;
                    }
                    IndexChange::MarkDeleted { dest_path, job_id } => {
                        tx.execute(
                            "UPDATE indexed_file SET deleted = 1, last_indexed = ?2, job_id = ?3 WHERE dest_path = ?1 AND deleted = 0",
                            params![dest_path, now, job_id],
                        )?;
                    }
                }
            }
            // A failure of the work in the commit rolls the transaction back (dropping it) and
            // comes out as the inner error.
            for work in &b.in_commit {
                if let Err(e) = work.sqlite(&tx) {
                    return Ok(Err(Refusal::Work(e)));
                }
            }
            tx.execute(
                "UPDATE ingest_ledger SET state = 'published', updated_at = ?4 WHERE source = ?1 AND source_version = ?2 AND job_id = ?3",
                params![b.source, b.source_version, b.job_id, now],
            )?;
            tx.commit().map(|()| Ok(true))
        })
        .await?
        .map_err(|e| e.into_index_error(IndexOp::Commit, self.location()))
    }

    async fn renew(&self, claim: &Claim) -> Result<bool, IndexError> {
        let c = claim.clone();
        self.with(IndexOp::Renew, move |conn| {
            conn.execute(
                "UPDATE ingest_ledger SET lease_until = ?4 WHERE source = ?1 AND source_version = ?2 AND job_id = ?3 AND lease_until > ?5",
                params![c.source, c.source_version, c.job_id, ts(&c.lease_until), ts(&c.now)],
            )
            .map(|n| n == 1)
        })
        .await
    }

    async fn journal(
        &self,
        source: &str,
        source_version: &str,
    ) -> Result<Option<Journal>, IndexError> {
        let (s, v) = (source.to_string(), source_version.to_string());
        self.with(IndexOp::Journal, move |conn| {
            let row: Option<(Option<String>, Option<String>)> = conn
                .query_row(
                    "SELECT journal_job, journal FROM ingest_ledger WHERE source = ?1 AND source_version = ?2",
                    params![s, v],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            Ok(row.and_then(|(job, entries)| journal_of(job, entries)))
        })
        .await
    }

    async fn record_journal(&self, claim: &Claim, journal: &Journal) -> Result<bool, IndexError> {
        let c = claim.clone();
        let j = journal.clone();
        self.with(IndexOp::Journal, move |conn| {
            conn.execute(
                "UPDATE ingest_ledger SET journal_job = ?4, journal = ?5
                 WHERE source = ?1 AND source_version = ?2 AND job_id = ?3 AND state = 'running' AND lease_until > ?6",
                params![c.source, c.source_version, c.job_id, j.job_id, j.entries.to_string(), ts(&c.now)],
            )
            .map(|n| n == 1)
        })
        .await
    }

    async fn clear_journal(
        &self,
        source: &str,
        source_version: &str,
        of_job: &str,
    ) -> Result<(), IndexError> {
        let (s, v, j) = (
            source.to_string(),
            source_version.to_string(),
            of_job.to_string(),
        );
        // Written without an fsync of its own: a clear that a crash loses leaves the journal of a
        // publish already committed, which the next job settles again (settling is idempotent),
        // just as after a crash a moment before the clear. The job's next commit (its finish)
        // syncs the WAL, and this clear with it: frames reach the WAL in order, and SQLite keeps
        // a commit after a crash only with every commit before it.
        self.with(IndexOp::Journal, move |conn| {
            unsynced(conn, |conn| {
                conn.execute(
                    "UPDATE ingest_ledger SET journal_job = NULL, journal = NULL WHERE source = ?1 AND source_version = ?2 AND journal_job = ?3",
                    params![s, v, j],
                )
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
        let (s, v, j) = (
            source.to_string(),
            source_version.to_string(),
            job_id.to_string(),
        );
        self.with(IndexOp::Committed, move |conn| {
            let row: Option<(String, String)> = conn
                .query_row(
                    "SELECT job_id, state FROM ingest_ledger WHERE source = ?1 AND source_version = ?2",
                    params![s, v],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            Ok(row.is_some_and(|(job, state)| {
                job == j && LedgerState::parse(&state).is_some_and(LedgerState::is_done)
            }))
        })
        .await
    }

    async fn abandoned(
        &self,
        pipeline: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<Abandoned>, IndexError> {
        let (p, now) = (pipeline.to_string(), ts(&now));
        self.with(IndexOp::Abandoned, move |conn| {
            let mut stmt = conn.prepare(
                "SELECT source, source_version, pipeline, state, journal_job, journal FROM ingest_ledger
                 WHERE journal_job IS NOT NULL AND pipeline = ?1
                   AND (lease_until < ?2 OR state IN ('published', 'succeeded'))
                 ORDER BY source, source_version",
            )?;
            let rows = stmt.query_map(params![p, now], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (source, source_version, pipeline, state, job, entries) = row?;
                if let Some(journal) = journal_of(job, entries) {
                    out.push(Abandoned {
                        source,
                        source_version,
                        pipeline,
                        state: LedgerState::parse(&state).unwrap_or(LedgerState::Failed),
                        journal,
                    });
                }
            }
            Ok(out)
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
        let (s, v, j) = (
            source.to_string(),
            source_version.to_string(),
            job_id.to_string(),
        );
        let now = ts(&chrono::Utc::now());
        self.with(IndexOp::Release, move |conn| {
            conn.execute(
                "UPDATE ingest_ledger SET state = ?4, journal_job = NULL, journal = NULL, lease_until = ?5, updated_at = ?5
                 WHERE source = ?1 AND source_version = ?2 AND job_id = ?3",
                params![s, v, j, state.as_str(), now],
            )
            .map(|_| ())
        })
        .await
    }

    async fn owner(
        &self,
        job_id: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Owner, IndexError> {
        let (j, now) = (job_id.to_string(), ts(&now));
        self.with(IndexOp::Owner, move |conn| {
            let (live, journaled): (i64, i64) = conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM ingest_ledger WHERE job_id = ?1 AND lease_until > ?2),
                        EXISTS (SELECT 1 FROM ingest_ledger WHERE journal_job = ?1)",
                params![j, now],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            Ok(Owner::of(live != 0, journaled != 0))
        })
        .await
    }

    async fn finish(&self, end: &JobEnd) -> Result<(), IndexError> {
        let e = end.clone();
        self.with(IndexOp::Finish, move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if let Some(state) = e.ledger_state {
                // A published upload stays published whatever happened after the commit (a failed
                // notification must not make a rerun publish it twice).
                tx.execute(
                    "UPDATE ingest_ledger SET state = CASE WHEN state = 'published' AND ?4 <> 'succeeded' THEN 'published' ELSE ?4 END,
                        updated_at = ?5
                     WHERE source = ?1 AND source_version = ?2 AND job_id = ?3",
                    params![e.source, e.source_version, e.job_id, state.as_str(), ts(&e.finished_at)],
                )?;
            }
            let f = &e.facts;
            tx.execute(
                &format!(
                    "INSERT INTO job ({JOB_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
                     ON CONFLICT (job_id) DO UPDATE SET outcome = excluded.outcome, finished_at = excluded.finished_at,
                       report_url = excluded.report_url, uploaded_at = excluded.uploaded_at,
                       published_at = excluded.published_at, files_published = excluded.files_published,
                       error = excluded.error, plots = excluded.plots"
                ),
                params![
                    e.job_id,
                    e.source,
                    e.source_version,
                    e.pipeline,
                    e.outcome,
                    ts(&e.started_at),
                    ts(&e.finished_at),
                    e.report_url,
                    f.uploaded_at.as_ref().map(ts),
                    f.published_at.as_ref().map(ts),
                    f.files_published as i64,
                    f.error,
                    serde_json::to_string(&f.plots).unwrap_or_else(|_| "[]".into()),
                ],
            )?;
            tx.commit()
        })
        .await
    }

    async fn get(&self, dest_path: &str) -> Result<Option<IndexedFile>, IndexError> {
        let dest = dest_path.to_string();
        self.with(IndexOp::Get, move |conn| {
            conn.query_row(
                &format!("SELECT {FILE_COLUMNS} FROM indexed_file WHERE dest_path = ?1"),
                [dest],
                file_row,
            )
            .optional()
        })
        .await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<IndexedFile>, IndexError> {
        let prefix = prefix.to_string();
        self.with(IndexOp::List, move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {FILE_COLUMNS} FROM indexed_file WHERE substr(dest_path, 1, length(?1)) = ?1 ORDER BY dest_path"
            ))?;
            stmt.query_map([prefix], file_row)?.collect()
        })
        .await
    }

    async fn path_owners(
        &self,
        area: Area,
        paths: &[String],
    ) -> Result<Vec<PathOwner>, IndexError> {
        let paths = paths.to_vec();
        self.with(IndexOp::PathOwners, move |conn| {
            let mut stmt = conn.prepare(
                "SELECT pipeline, job_id, since FROM owned_path WHERE area = ?1 AND path = ?2",
            )?;
            let mut out = Vec::new();
            for path in paths {
                let found = stmt
                    .query_row(params![area.as_str(), path], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                        ))
                    })
                    .optional()?;
                if let Some((pipeline, job_id, since)) = found {
                    out.push(PathOwner {
                        ownership: Ownership {
                            area,
                            path,
                            pipeline,
                            job_id,
                        },
                        since: parse_ts(&since),
                    });
                }
            }
            Ok(out)
        })
        .await
    }

    async fn ledger(
        &self,
        source: &str,
        source_version: &str,
    ) -> Result<Option<LedgerEntry>, IndexError> {
        let (s, v) = (source.to_string(), source_version.to_string());
        self.with(IndexOp::Ledger, move |conn| {
            conn.query_row(
                &format!(
                    "SELECT {LEDGER_COLUMNS} FROM ingest_ledger WHERE source = ?1 AND source_version = ?2"
                ),
                params![s, v],
                ledger_row,
            )
            .optional()
        })
        .await
    }

    async fn job(&self, job_id: &str) -> Result<Option<JobRow>, IndexError> {
        let id = job_id.to_string();
        self.with(IndexOp::Job, move |conn| {
            conn.query_row(
                &format!("SELECT {JOB_COLUMNS} FROM job WHERE job_id = ?1"),
                [id],
                job_row,
            )
            .optional()
        })
        .await
    }

    async fn history(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<JobRow>, IndexError> {
        let (since, until) = (ts(&since), ts(&until));
        self.with(IndexOp::History, move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {JOB_COLUMNS} FROM job WHERE finished_at >= ?1 AND finished_at < ?2
                 ORDER BY finished_at, job_id"
            ))?;
            stmt.query_map([since, until], job_row)?.collect()
        })
        .await
    }

    async fn leases(&self) -> Result<Vec<LeaseEntry>, IndexError> {
        self.with(IndexOp::Leases, move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {LEDGER_COLUMNS}, lease_until FROM ingest_ledger
                 WHERE state IN ('running', 'published') ORDER BY updated_at, source, source_version"
            ))?;
            stmt.query_map([], |r| {
                Ok(LeaseEntry {
                    entry: ledger_row(r)?,
                    lease_until: parse_ts(&r.get::<_, String>(6)?),
                })
            })?
            .collect()
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(folder: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// What the migrations decide of an index: its schema, every table's rows counted, its
    /// version, page size and journal mode, and whether it is sound.
    type Shape = (
        Vec<(String, String, Option<String>, i64)>,
        i64,
        i64,
        String,
        String,
    );

    fn shape(path: &Path) -> Shape {
        let conn = Connection::open(path).unwrap();
        let pragma = |name: &str| -> String {
            conn.query_row(&format!("PRAGMA {name}"), [], |r| {
                r.get::<_, rusqlite::types::Value>(0)
            })
            .map(|v| format!("{v:?}"))
            .unwrap()
        };
        let mut schema: Vec<(String, String, Option<String>, i64)> = conn
            .prepare("SELECT type, name, sql FROM sqlite_master ORDER BY type, name")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, 0)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for (kind, name, _, rows) in &mut schema {
            if kind == "table" {
                *rows = conn
                    .query_row(&format!("SELECT count(*) FROM \"{name}\""), [], |r| {
                        r.get(0)
                    })
                    .unwrap();
            }
        }
        let number = |name: &str| -> i64 {
            conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
                .unwrap()
        };
        (
            schema,
            number("user_version"),
            number("page_size"),
            pragma("journal_mode"),
            pragma("integrity_check"),
        )
    }

    /// Where the embedded empty index is kept, and how to write it again.
    const EMPTY_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/index/empty-index.sqlite");
    const REWRITE: &str = "OCEAN_INGEST_WRITE_EMPTY_INDEX";

    #[test]
    fn the_embedded_empty_index_is_what_the_migrations_make() {
        let dir = tempfile::tempdir().unwrap();
        let built = dir.path().join("built.sqlite");
        build_empty(&built).unwrap();
        if std::env::var_os(REWRITE).is_some() {
            std::fs::copy(&built, EMPTY_FILE).unwrap();
        }
        let embedded = dir.path().join("embedded.sqlite");
        std::fs::write(&embedded, EMPTY).unwrap();
        let (want, got) = (shape(&built), shape(&embedded));
        assert_eq!(
            got, want,
            "{EMPTY_FILE} is not the index the migrations make: write it again with \
             {REWRITE}=1 cargo test --lib the_embedded_empty_index (then rebuild)"
        );
        assert_eq!(want.1 as usize, MIGRATIONS.len());
        assert_eq!(want.3, "Text(\"wal\")");
        assert_eq!(want.4, "Text(\"ok\")");
        assert!(want.0.iter().any(|(kind, ..)| kind == "table"));
        assert!(
            want.0.iter().all(|(.., rows)| *rows == 0),
            "rows in an empty index"
        );
    }

    #[tokio::test]
    async fn a_new_index_is_made_whole_in_wal_mode_with_nothing_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("i.sqlite");
        let index = SqliteIndex::open(&path).await.unwrap();
        let conn = Connection::open(&path).unwrap();
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version as usize, MIGRATIONS.len());
        drop((conn, index));
        // The database and, while WAL is kept between jobs, its WAL and shared memory: no draft.
        for name in names(dir.path()) {
            assert!(
                ["i.sqlite", "i.sqlite-wal", "i.sqlite-shm"].contains(&name.as_str()),
                "{name} left beside the index"
            );
        }
    }

    #[tokio::test]
    async fn the_wal_every_job_reads_at_open_stays_small() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("i.sqlite");
        let wal = dir.path().join("i.sqlite-wal");
        // Commits of a page or more each, by connections opened one after another, as jobs.
        for round in 0..4 {
            let index = SqliteIndex::open(&path).await.unwrap();
            for n in 0..100 {
                let job = format!("J{round}-{n}");
                index
                    .with(IndexOp::Job, move |c| {
                        c.execute(
                            "INSERT INTO job (job_id, source, source_version, pipeline, outcome, \
                             started_at, finished_at) VALUES (?1, 's', 'v', 'p', 'ok', 't', 't')",
                            [job],
                        )
                    })
                    .await
                    .unwrap();
            }
        }
        // The WAL file keeps its largest size; its frames are 4 KiB pages with a 24-byte header.
        let frames = (std::fs::metadata(&wal).unwrap().len() - 32) / (4096 + 24);
        assert!(
            frames <= WAL_PAGES as u64 + 8,
            "the WAL grew to {frames} pages: a job's open reads them all"
        );
        let jobs: i64 = Connection::open(&path)
            .unwrap()
            .query_row("SELECT count(*) FROM job", [], |r| r.get(0))
            .unwrap();
        assert_eq!(jobs, 400, "a checkpoint lost a commit");
    }

    #[tokio::test]
    async fn a_journal_is_cleared_unsynced_and_the_connection_synced_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("i.sqlite");
        let index = SqliteIndex::open(&path).await.unwrap();
        let synchronous = |index: &SqliteIndex| {
            let conn = index.conn.lock().unwrap();
            conn.query_row("PRAGMA synchronous", [], |r| r.get::<_, i64>(0))
                .unwrap()
        };
        let before = synchronous(&index);
        assert_eq!(before, 2, "commits are synced in full (FULL)");
        index
            .with(IndexOp::Journal, |c| {
                c.execute(
                    "INSERT INTO ingest_ledger (source, source_version, job_id, pipeline, state, \
                     lease_until, updated_at, journal_job, journal) \
                     VALUES ('s', 'v', 'J', 'p', 'claimed', 't', 't', 'J', '[]')",
                    [],
                )
            })
            .await
            .unwrap();
        index.clear_journal("s", "v", "J").await.unwrap();
        assert_eq!(
            synchronous(&index),
            before,
            "the clear left commits unsynced"
        );
        let journal: Option<String> = Connection::open(&path)
            .unwrap()
            .query_row("SELECT journal_job FROM ingest_ledger", [], |r| r.get(0))
            .unwrap();
        assert_eq!(journal, None, "the journal was not cleared");

        // A write that fails puts the setting back too.
        let mut conn = index.conn.lock().unwrap();
        let failed = unsynced(&mut conn, |c| c.execute("UPDATE nowhere SET x = 1", []));
        assert!(failed.is_err());
        let now: i64 = conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        assert_eq!(now, before);
    }

    #[tokio::test]
    async fn creating_where_an_index_is_keeps_that_index() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("i.sqlite");
        drop(SqliteIndex::open(&path).await.unwrap());
        Connection::open(&path)
            .unwrap()
            .execute(
                "INSERT INTO job (job_id, source, source_version, pipeline, outcome, started_at, finished_at) \
                 VALUES ('J', 's', 'v', 'p', 'ok', 't', 't')",
                [],
            )
            .unwrap();
        // As a job that found no index a moment before another linked its own.
        create(&path).unwrap();
        let jobs: i64 = Connection::open(&path)
            .unwrap()
            .query_row("SELECT count(*) FROM job", [], |r| r.get(0))
            .unwrap();
        assert_eq!(jobs, 1, "the index in place was replaced");
        assert!(!names(dir.path()).iter().any(|n| n.contains(".new-")));
    }

    #[tokio::test]
    async fn a_killed_creators_draft_is_removed_and_a_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join(".i.sqlite.new-old");
        let young = dir.path().join(".i.sqlite.new-young");
        std::fs::write(&old, b"half a database").unwrap();
        std::fs::write(&young, b"being made").unwrap();
        let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
        std::fs::File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(hour_ago)
            .unwrap();
        drop(
            SqliteIndex::open(&dir.path().join("i.sqlite"))
                .await
                .unwrap(),
        );
        assert!(!old.exists(), "an abandoned draft stayed");
        assert!(
            young.exists(),
            "a draft that may be another job's was removed"
        );
    }
}
