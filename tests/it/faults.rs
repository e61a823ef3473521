//! Fault injection: every boundary wrapped so that the N-th write (store put/delete/undo/settle,
//! index claim/commit/finish, and inside the index's commit each collection change once its rows
//! are written) fails with a transient error, for every N across one publish that stores,
//! overwrites, supersedes and deletes. After each failed job the public store and the index are
//! exactly as before it (byte for byte, row for row), the upload is in the error store and still
//! in incoming, and a rerun publishes it all, leaving no stash behind. A harvesting publish (rows
//! loaded into a collection and its Parquet copy, a superseded version's and a deletion's rows
//! and objects removed) adds the collection's rows, per table and destination, to what must be
//! as before; its Parquet objects are in the public store, compared byte for byte with the rest.
//!
//! [`fault_matrix`] takes a function that builds fresh, empty services for a folder, so the same
//! matrix runs on any backend: the local one here, S3 + PostgreSQL in `production_faults`.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures::future::BoxFuture;
use ocean_ingest::index::{
    Abandoned, Claim, ClaimOutcome, HarvestBatch, InCommit, InCommitError, Index, IndexError,
    IndexOp, IndexedFile, JobEnd, JobRow, Journal, LedgerEntry, LedgerState, Owner, PathOwner,
};
use ocean_ingest::job::{JobReport, JobRequest, Services};
use ocean_ingest::layout::Area;
use ocean_ingest::logging::LogFormat;
use ocean_ingest::pipeline::PipelineSet;
use ocean_ingest::settings::{Settings, SettingsArgs};
use ocean_ingest::source::Source;
use ocean_ingest::store::{
    ErrorKind, Key, ObjectInfo, ObjectStore, Origin, PutOptions, Restore, StoreError, StoreOp,
    Written,
};

use crate::common::*;
use crate::conformance::store::snapshot;

/// Counts writes across every wrapped boundary and fails the one numbered `fail_at` (once).
/// In crash mode the armed write never returns instead: the job stops there, as if killed.
#[derive(Debug, Default)]
pub struct Faults {
    count: AtomicUsize,
    fail_at: AtomicUsize,
    writes: Mutex<Vec<String>>,
    crash: std::sync::atomic::AtomicBool,
    /// Told when a crashing write is reached.
    pub crashed: tokio::sync::Notify,
}

impl Faults {
    /// Fails the `n`-th write from now on (1-based); 0 fails none.
    pub fn arm(&self, n: usize) {
        self.count.store(0, Ordering::SeqCst);
        self.fail_at.store(n, Ordering::SeqCst);
        self.writes.lock().unwrap().clear();
        self.crash.store(false, Ordering::SeqCst);
    }

    /// Stops the job at the `n`-th write from now on (1-based): the write is never made and
    /// never returns.
    pub fn arm_crash(&self, n: usize) {
        self.arm(n);
        self.crash.store(true, Ordering::SeqCst);
    }

    /// In crash mode, parks the caller for good (telling [`Faults::crashed`]); otherwise returns.
    async fn crash_here(&self) {
        if self.crash.load(Ordering::SeqCst) {
            self.crashed.notify_one();
            futures::future::pending::<()>().await;
        }
    }

    /// Counts one write; true when it is the one to fail.
    fn hit(&self, what: String) -> bool {
        let n = self.count.fetch_add(1, Ordering::SeqCst) + 1;
        self.writes.lock().unwrap().push(what);
        n == self.fail_at.load(Ordering::SeqCst)
    }

    pub fn writes(&self) -> Vec<String> {
        self.writes.lock().unwrap().clone()
    }
}

/// An object store that delegates to a real one and fails the armed write.
#[derive(Debug)]
pub struct FailingStore {
    pub inner: Arc<dyn ObjectStore>,
    pub faults: Arc<Faults>,
    pub name: &'static str,
}

impl FailingStore {
    async fn check(&self, op: StoreOp, key: &Key) -> Result<(), StoreError> {
        if self.faults.hit(format!("{} {op} {key}", self.name)) {
            self.faults.crash_here().await;
            Err(StoreError::new(
                op,
                self.inner.url_of(key),
                ErrorKind::Transient,
                "injected fault",
            ))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl ObjectStore for FailingStore {
    fn location(&self) -> String {
        self.inner.location()
    }
    fn url_of(&self, key: &Key) -> String {
        self.inner.url_of(key)
    }
    async fn head(&self, key: &Key) -> Result<Option<ObjectInfo>, StoreError> {
        self.inner.head(key).await
    }
    async fn get_to_file(&self, key: &Key, dest: &Path) -> Result<ObjectInfo, StoreError> {
        self.inner.get_to_file(key, dest).await
    }
    async fn put_file(
        &self,
        key: &Key,
        src: &Path,
        opts: &PutOptions,
    ) -> Result<Written, StoreError> {
        self.check(StoreOp::Put, key).await?;
        self.inner.put_file(key, src, opts).await
    }
    async fn put_bytes(
        &self,
        key: &Key,
        bytes: Vec<u8>,
        opts: &PutOptions,
    ) -> Result<Written, StoreError> {
        self.check(StoreOp::Put, key).await?;
        self.inner.put_bytes(key, bytes, opts).await
    }
    async fn delete(&self, key: &Key) -> Result<(), StoreError> {
        self.check(StoreOp::Delete, key).await?;
        self.inner.delete(key).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        self.inner.list(prefix).await
    }
    async fn prepare(&self, key: &Key, stash: &str) -> Result<Restore, StoreError> {
        self.check(StoreOp::Prepare, key).await?;
        self.inner.prepare(key, stash).await
    }
    async fn undo(&self, key: &Key, restore: &Restore) -> Result<(), StoreError> {
        self.check(StoreOp::Undo, key).await?;
        self.inner.undo(key, restore).await
    }
    async fn settle(&self, restore: &Restore) -> Result<(), StoreError> {
        let what = Key::new(format!(
            "stash-of/{}",
            serde_json::to_string(restore).unwrap().len()
        ))
        .unwrap();
        self.check(StoreOp::Settle, &what).await?;
        self.inner.settle(restore).await
    }
    async fn stashes(&self) -> Result<Vec<String>, StoreError> {
        self.inner.stashes().await
    }
    async fn sweep(&self, older_than: std::time::Duration) -> Result<usize, StoreError> {
        self.inner.sweep(older_than).await
    }
    async fn sha256(&self, key: &Key) -> Result<Option<String>, StoreError> {
        self.inner.sha256(key).await
    }
    fn origin_of(&self, key: &Key) -> Origin {
        self.inner.origin_of(key)
    }
    async fn put_copy(
        &self,
        key: &Key,
        from: &Origin,
        size: u64,
        opts: &PutOptions,
    ) -> Result<Written, StoreError> {
        self.check(StoreOp::Put, key).await?;
        self.inner.put_copy(key, from, size, opts).await
    }
}

/// An index that delegates to a real one and fails the armed write.
#[derive(Debug)]
pub struct FailingIndex {
    pub inner: Arc<dyn Index>,
    pub faults: Arc<Faults>,
}

impl FailingIndex {
    async fn check(&self, op: IndexOp) -> Result<(), IndexError> {
        if self.faults.hit(format!("index {op}")) {
            self.faults.crash_here().await;
            Err(IndexError::new(
                op,
                self.inner.location(),
                ErrorKind::Transient,
                "injected fault",
            ))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl Index for FailingIndex {
    fn location(&self) -> String {
        self.inner.location()
    }
    async fn claim(&self, claim: &Claim) -> Result<ClaimOutcome, IndexError> {
        self.check(IndexOp::Claim).await?;
        self.inner.claim(claim).await
    }
    async fn commit(&self, batch: &HarvestBatch) -> Result<bool, IndexError> {
        self.check(IndexOp::Commit).await?;
        let mut batch = batch.clone();
        batch.in_commit = batch
            .in_commit
            .into_iter()
            .enumerate()
            .map(|(n, inner)| {
                Arc::new(FailingWork {
                    inner,
                    faults: self.faults.clone(),
                    n: n + 1,
                }) as Arc<dyn InCommit>
            })
            .collect();
        self.inner.commit(&batch).await
    }
    // Renewals come with time, not with the job's steps: never counted.
    async fn renew(&self, claim: &Claim) -> Result<bool, IndexError> {
        self.inner.renew(claim).await
    }
    async fn journal(&self, source: &str, version: &str) -> Result<Option<Journal>, IndexError> {
        self.inner.journal(source, version).await
    }
    async fn record_journal(&self, claim: &Claim, journal: &Journal) -> Result<bool, IndexError> {
        self.check(IndexOp::Journal).await?;
        self.inner.record_journal(claim, journal).await
    }
    async fn clear_journal(
        &self,
        source: &str,
        version: &str,
        of_job: &str,
    ) -> Result<(), IndexError> {
        self.check(IndexOp::Journal).await?;
        self.inner.clear_journal(source, version, of_job).await
    }
    async fn committed(
        &self,
        source: &str,
        version: &str,
        job_id: &str,
    ) -> Result<bool, IndexError> {
        self.inner.committed(source, version, job_id).await
    }
    async fn abandoned(
        &self,
        pipeline: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<Abandoned>, IndexError> {
        self.inner.abandoned(pipeline, now).await
    }
    async fn release(
        &self,
        source: &str,
        version: &str,
        job_id: &str,
        state: LedgerState,
    ) -> Result<(), IndexError> {
        self.check(IndexOp::Release).await?;
        self.inner.release(source, version, job_id, state).await
    }
    async fn owner(
        &self,
        job_id: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Owner, IndexError> {
        self.inner.owner(job_id, now).await
    }
    async fn finish(&self, end: &JobEnd) -> Result<(), IndexError> {
        self.check(IndexOp::Finish).await?;
        self.inner.finish(end).await
    }
    async fn get(&self, dest_path: &str) -> Result<Option<IndexedFile>, IndexError> {
        self.inner.get(dest_path).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<IndexedFile>, IndexError> {
        self.inner.list(prefix).await
    }
    async fn path_owners(
        &self,
        area: Area,
        paths: &[String],
    ) -> Result<Vec<PathOwner>, IndexError> {
        self.inner.path_owners(area, paths).await
    }
    async fn ledger(
        &self,
        source: &str,
        source_version: &str,
    ) -> Result<Option<LedgerEntry>, IndexError> {
        self.inner.ledger(source, source_version).await
    }
    async fn job(&self, job_id: &str) -> Result<Option<JobRow>, IndexError> {
        self.inner.job(job_id).await
    }
    async fn history(
        &self,
        since: chrono::DateTime<chrono::Utc>,
        until: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<JobRow>, IndexError> {
        self.inner.history(since, until).await
    }
    async fn leases(&self) -> Result<Vec<ocean_ingest::index::LeaseEntry>, IndexError> {
        self.inner.leases().await
    }
}

/// Work inside the index's commit (a collection change: rows loaded or removed) that counts as a
/// write once done and fails when armed, its rows written in the transaction that must then roll
/// back.
#[derive(Debug)]
struct FailingWork {
    inner: Arc<dyn InCommit>,
    faults: Arc<Faults>,
    n: usize,
}

impl FailingWork {
    fn check(&self) -> Result<(), InCommitError> {
        if self.faults.hit(format!(
            "index commit: collection change {} written",
            self.n
        )) {
            Err(InCommitError {
                kind: ErrorKind::Transient,
                source: "injected fault".into(),
            })
        } else {
            Ok(())
        }
    }
}

impl InCommit for FailingWork {
    fn postgres<'a>(
        &'a self,
        tx: &'a tokio_postgres::Transaction<'_>,
    ) -> BoxFuture<'a, Result<(), InCommitError>> {
        Box::pin(async move {
            self.inner.postgres(tx).await?;
            self.check()
        })
    }

    fn sqlite(&self, tx: &rusqlite::Transaction<'_>) -> Result<(), InCommitError> {
        self.inner.sqlite(tx)?;
        self.check()
    }
}

/// The same services with every store and the index behind the fault counter.
pub fn with_faults(s: &Services, faults: &Arc<Faults>) -> Services {
    let wrap = |inner: &Arc<dyn ObjectStore>, name| -> Arc<dyn ObjectStore> {
        Arc::new(FailingStore {
            inner: inner.clone(),
            faults: faults.clone(),
            name,
        })
    };
    Services {
        incoming: wrap(&s.incoming, "incoming"),
        archive: wrap(&s.archive, "archive"),
        public: wrap(&s.public, "public"),
        error: wrap(&s.error, "error"),
        reports: wrap(&s.reports, "reports"),
        index: Arc::new(FailingIndex {
            inner: s.index.clone(),
            faults: faults.clone(),
        }),
        ..s.clone()
    }
}

/// The local services of the embedded default, rooted at `home`.
pub async fn local_services(home: PathBuf, pipelines: PipelineSet) -> Services {
    leased_services(home, pipelines, None).await
}

/// The local services with a short lease (8 s, its calls 1 s), so that a job that died is
/// provably gone, and its upload taken over by the next run, within seconds.
pub async fn short_lease_services(home: PathBuf, pipelines: PipelineSet) -> Services {
    leased_services(home, pipelines, Some(8)).await
}

async fn leased_services(home: PathBuf, pipelines: PipelineSet, lease: Option<u64>) -> Services {
    let mut args = SettingsArgs {
        work_dir: Some(home.join("work")),
        log_format: LogFormat::Json,
        ..SettingsArgs::embedded(home.clone())
    };
    if let Some(seconds) = lease {
        args.lease_seconds = seconds;
        args.request_timeout_seconds = 1;
    }
    std::fs::create_dir_all(home.join("work")).unwrap();
    let settings = Settings::resolve(&args).unwrap();
    Services::build(settings, pipelines).await.unwrap()
}

/// One publish to inject faults into: what is published before it, and the upload itself.
pub struct Scenario {
    pub name: &'static str,
    pub pipelines: &'static str,
    /// Incoming objects ingested one by one before the job (each must publish).
    pub before: Vec<(String, Vec<u8>)>,
    /// Incoming objects the upload refers to (not ingested themselves).
    pub referenced: Vec<(String, Vec<u8>)>,
    pub upload: (String, Vec<u8>),
    /// File origins (report `kind`s) the clean run must publish, so the matrix covers them.
    pub covers: &'static [&'static str],
}

async fn put(store: &dyn ObjectStore, key: &str, bytes: &[u8]) {
    store
        .put_bytes(
            &Key::new(key).unwrap(),
            bytes.to_vec(),
            &PutOptions::default(),
        )
        .await
        .unwrap();
}

async fn ingest(s: &Services, key: &str) -> JobReport {
    ocean_ingest::job::run(
        s,
        JobRequest {
            source: Source::Incoming(Key::new(key).unwrap()),
            pipeline: None,
            uploader: None,
        },
    )
    .await
}

/// The index rows without what differs from run to run (job ids, timestamps).
fn stable_rows(rows: &[IndexedFile]) -> Vec<(String, bool, String, u64)> {
    rows.iter()
        .map(|r| {
            (
                r.record.dest_path.clone(),
                r.deleted,
                r.record.sha256.clone(),
                r.record.size,
            )
        })
        .collect()
}

/// The full URLs of PostgreSQL indexes by their location (which names no credentials), so the
/// matrix can read their collection tables.
static PG_URLS: Mutex<BTreeMap<String, String>> = Mutex::new(BTreeMap::new());

/// Makes a PostgreSQL index's collection tables readable by [`fault_matrix`].
pub fn register_pg(location: String, url: String) {
    PG_URLS.lock().unwrap().insert(location, url);
}

/// A connection to the registered PostgreSQL index of `s`.
pub async fn pg_client(s: &Services) -> tokio_postgres::Client {
    let location = s.index.location();
    let url = PG_URLS
        .lock()
        .unwrap()
        .get(&location)
        .cloned()
        .unwrap_or_else(|| panic!("{location}: register_pg it to read its collection tables"));
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
}

/// The rows of every collection table, per (table, destination), with each harvested
/// destination's deleted flag: empty when nothing was ever harvested.
async fn collection_rows(s: &Services) -> Vec<(String, String, i64)> {
    let location = s.index.location();
    match location.strip_prefix("sqlite://") {
        Some(path) => sqlite_collection_rows(path),
        None => pg_collection_rows(&pg_client(s).await).await,
    }
}

fn sqlite_collection_rows(path: &str) -> Vec<(String, String, i64)> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let names = |sql: &str| -> Vec<String> {
        let mut stmt = conn.prepare(sql).unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let mut out = Vec::new();
    for files in names(
        r"SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%\_\_indexed_file' ESCAPE '\' ORDER BY 1",
    ) {
        let mut stmt = conn
            .prepare(&format!("SELECT url, deleted FROM {files} ORDER BY url"))
            .unwrap();
        let rows = stmt
            .query_map([], |r| Ok((files.clone(), r.get(0)?, r.get(1)?)))
            .unwrap();
        out.extend(rows.map(Result::unwrap));
        for table in names(
            r"SELECT m.name FROM sqlite_master m WHERE m.type = 'table' AND m.name LIKE '%\_\_%' ESCAPE '\' AND EXISTS (SELECT 1 FROM pragma_table_info(m.name) WHERE name = 'file_id') ORDER BY 1",
        ) {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT f.url, count(*) FROM {table} x JOIN {files} f ON f.id = x.file_id GROUP BY 1 ORDER BY 1"
                ))
                .unwrap();
            let rows = stmt
                .query_map([], |r| Ok((table.clone(), r.get(0)?, r.get(1)?)))
                .unwrap();
            out.extend(rows.map(Result::unwrap));
        }
    }
    out
}

/// [`collection_rows`] of a PostgreSQL index: every `indexed_file` of a collection (the one with
/// a `url`) and every table with a `file_id`, per destination.
async fn pg_collection_rows(client: &tokio_postgres::Client) -> Vec<(String, String, i64)> {
    let names = |sql: &'static str| async move {
        client
            .query(sql, &[])
            .await
            .unwrap()
            .iter()
            .map(|r| {
                format!(
                    "\"{}\".\"{}\"",
                    r.get::<_, String>(0),
                    r.get::<_, String>(1)
                )
            })
            .collect::<Vec<String>>()
    };
    let files_tables = names(
        "SELECT table_schema::text, table_name::text FROM information_schema.columns WHERE table_name = 'indexed_file' AND column_name = 'url' ORDER BY 1",
    )
    .await;
    let data_tables = names(
        "SELECT c.table_schema::text, c.table_name::text FROM information_schema.columns c JOIN information_schema.tables t USING (table_schema, table_name) WHERE c.column_name = 'file_id' AND t.table_type = 'BASE TABLE' ORDER BY 1, 2",
    )
    .await;
    let mut out = Vec::new();
    for files in files_tables {
        let rows = client
            .query(
                &format!("SELECT url, deleted::int::int8 FROM {files} ORDER BY url"),
                &[],
            )
            .await
            .unwrap();
        out.extend(rows.iter().map(|r| (files.clone(), r.get(0), r.get(1))));
        for table in &data_tables {
            let rows = client
                .query(
                    &format!(
                        "SELECT f.url, count(*) FROM {table} x JOIN {files} f ON f.id = x.file_id GROUP BY 1 ORDER BY 1"
                    ),
                    &[],
                )
                .await
                .unwrap();
            out.extend(rows.iter().map(|r| (table.clone(), r.get(0), r.get(1))));
        }
    }
    out
}

/// What a publish leaves: the public store's objects, the index rows and the collection rows.
#[derive(Debug, PartialEq)]
struct Published {
    public: Vec<(String, Vec<u8>)>,
    rows: Vec<(String, bool, String, u64)>,
    collections: Vec<(String, String, i64)>,
}

impl Published {
    async fn of(s: &Services, tmp: &Path) -> Published {
        Published {
            public: snapshot(s.public.as_ref(), tmp).await,
            rows: stable_rows(&s.index.list("").await.unwrap()),
            collections: collection_rows(s).await,
        }
    }

    /// Checks `s` holds what this publication left, part by part (so a failure names the part).
    async fn check(&self, s: &Services, tmp: &Path, context: &str) {
        let now = Published::of(s, tmp).await;
        assert_eq!(now.public, self.public, "public store: {context}");
        assert_eq!(now.rows, self.rows, "index: {context}");
        assert_eq!(
            now.collections, self.collections,
            "collection rows: {context}"
        );
    }
}

/// Checks no stash is left in the public and archive stores.
async fn no_stash_left(s: &Services, context: &str) {
    for store in [&s.public, &s.archive] {
        let left = store.stashes().await.unwrap();
        assert!(left.is_empty(), "stashes left {left:?}: {context}");
    }
}

/// Sets up the scenario's published state on fresh services; returns them with the upload in
/// incoming, ready to ingest.
async fn prepare<F, Fut>(scenario: &Scenario, dir: &Path, make: &F) -> Services
where
    F: Fn(PathBuf, PipelineSet) -> Fut,
    Fut: Future<Output = Services>,
{
    let set = PipelineSet::parse(scenario.pipelines, scenario.name).unwrap();
    let s = make(dir.to_path_buf(), set).await;
    for (key, bytes) in &scenario.before {
        put(s.incoming.as_ref(), key, bytes).await;
        let report = ingest(&s, key).await;
        assert_eq!(report.exit_code, 0, "setting up {key}: {:#?}", report.error);
    }
    for (key, bytes) in &scenario.referenced {
        put(s.incoming.as_ref(), key, bytes).await;
    }
    put(s.incoming.as_ref(), &scenario.upload.0, &scenario.upload.1).await;
    s
}

/// Runs the scenario's upload with the N-th write failing, for every N until a run has fewer
/// writes than N, and checks all-or-nothing after each. Returns the writes of the run without a
/// fault, in order.
pub async fn fault_matrix<F, Fut>(scenario: &Scenario, make: F) -> Vec<String>
where
    F: Fn(PathBuf, PipelineSet) -> Fut,
    Fut: Future<Output = Services>,
{
    // A clean run gives the state every successful run must end in.
    let clean_dir = tempfile::tempdir().unwrap();
    let s = prepare(scenario, clean_dir.path(), &make).await;
    let set = PipelineSet::parse(scenario.pipelines, scenario.name).unwrap();
    let harvests = set
        .pipelines
        .iter()
        .any(|p| p.harvest.is_some() || p.rules.iter().any(|r| r.harvest.is_some()));
    let tmp = clean_dir.path().join("snap");
    std::fs::create_dir_all(&tmp).unwrap();
    let before_public = snapshot(s.public.as_ref(), &tmp).await;
    let before_rows = s.index.list("").await.unwrap();
    let report = ingest(&s, &scenario.upload.0).await;
    assert_eq!(report.exit_code, 0, "clean run: {:#?}", report.error);
    let doc = serde_json::to_value(&report).unwrap();
    for kind in scenario.covers {
        assert!(
            doc["files"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["origin"]["kind"] == *kind && f["published"] == true),
            "{}: the clean run publishes no {kind} file: {:#}",
            scenario.name,
            doc["files"]
        );
    }
    let expected = Published::of(&s, &tmp).await;
    assert_ne!(
        expected.public, before_public,
        "the upload changes the public store"
    );
    assert_ne!(
        expected.rows,
        stable_rows(&before_rows),
        "the upload changes the index"
    );
    assert!(
        !harvests || !expected.collections.is_empty(),
        "{}: the harvesting publish loads collection rows",
        scenario.name
    );

    let (upload_key, upload_bytes) = &scenario.upload;
    let upload_name = upload_key.rsplit('/').next().unwrap();
    let mut failures = 0;
    for n in 1.. {
        let dir = tempfile::tempdir().unwrap();
        let s = prepare(scenario, dir.path(), &make).await;
        let tmp = dir.path().join("snap");
        std::fs::create_dir_all(&tmp).unwrap();
        let public_before = snapshot(s.public.as_ref(), &tmp).await;
        let rows_before = s.index.list("").await.unwrap();
        let collections_before = collection_rows(&s).await;
        let archive_before = snapshot(s.archive.as_ref(), &tmp).await;

        let faults = Arc::new(Faults::default());
        let faulty = with_faults(&s, &faults);
        faults.arm(n);
        let report = ingest(&faulty, upload_key).await;
        let writes = faults.writes();
        if writes.len() < n {
            assert_eq!(
                report.exit_code, 0,
                "no fault injected: {:#?}",
                report.error
            );
            assert!(failures > 0, "some write must be able to fail the job");
            eprintln!(
                "{}: {} writes, {failures} of them fail the job when they fail",
                scenario.name,
                n - 1
            );
            return writes;
        }
        let failed_write = &writes[n - 1];
        if report.exit_code == 0 {
            // The fault hit a write after the commit (settle, report, ledger end, cleanup):
            // the publication stands, complete.
            let context = format!(
                "{}: fault at write {n} ({failed_write}) left the publication incomplete",
                scenario.name
            );
            expected.check(&s, &tmp, &context).await;
            continue;
        }
        failures += 1;
        let context = format!(
            "{}: fault at write {n} ({failed_write}); writes: {writes:#?}; report error: {:#?}",
            scenario.name, report.error
        );
        assert_eq!(report.exit_code, 75, "{context}");
        assert_eq!(
            snapshot(s.public.as_ref(), &tmp).await,
            public_before,
            "public store changed: {context}"
        );
        assert_eq!(
            s.index.list("").await.unwrap(),
            rows_before,
            "index changed: {context}"
        );
        assert_eq!(
            collection_rows(&s).await,
            collections_before,
            "collection rows changed: {context}"
        );
        let archive_after = snapshot(s.archive.as_ref(), &tmp).await;
        for entry in &archive_before {
            assert!(
                archive_after.contains(entry),
                "the archive only grows, but lost {}: {context}",
                entry.0
            );
        }
        // The upload is safe twice over: in the error store and still in incoming for the retry.
        let kept = s
            .error
            .list(&format!(
                "{}/{upload_name}.",
                report.pipeline.as_deref().unwrap()
            ))
            .await
            .unwrap();
        assert_eq!(kept.len(), 1, "error copy: {context}");
        let copy = tmp.join("copy");
        s.error.get_to_file(&kept[0].key, &copy).await.unwrap();
        assert_eq!(&std::fs::read(&copy).unwrap(), upload_bytes, "{context}");
        assert!(
            s.incoming
                .head(&Key::new(upload_key.as_str()).unwrap())
                .await
                .unwrap()
                .is_some(),
            "the upload stays in incoming: {context}"
        );

        // Batch's retry: the same upload, no fault.
        let rerun = ingest(&s, upload_key).await;
        assert_eq!(
            rerun.exit_code, 0,
            "rerun after {context}: {:#?}",
            rerun.error
        );
        expected.check(&s, &tmp, &format!("rerun: {context}")).await;
        assert!(
            s.error.list("").await.unwrap().is_empty(),
            "the rerun's success clears the earlier failure from the error store: {context}"
        );
        no_stash_left(&s, &format!("rerun: {context}")).await;
    }
    unreachable!("the loop ends when a run has fewer writes than the fault's number")
}

/// Stops the scenario's upload for good at each write `crash_at` picks among those a clean run
/// makes (as a killed job stops: nothing undone, its journal and claim left, its heartbeat gone).
/// Once its lease lapsed, a job of the same pipeline with nothing to ingest finds what it left:
/// the public store, the index and the collections are then exactly as before the upload (or, when
/// it had committed, as after a clean run). Then the upload's rerun publishes it: all as after a
/// clean run. No stash and no journal is left either time. `make` must give services with a
/// short lease. Returns the writes crashed at.
pub async fn crash_matrix<F, Fut>(
    scenario: &Scenario,
    make: F,
    crash_at: impl Fn(&str) -> bool,
) -> Vec<String>
where
    F: Fn(PathBuf, PipelineSet) -> Fut,
    Fut: Future<Output = Services>,
{
    let clean_dir = tempfile::tempdir().unwrap();
    let s = prepare(scenario, clean_dir.path(), &make).await;
    let faults = Arc::new(Faults::default());
    faults.arm(0);
    let report = ingest(&with_faults(&s, &faults), &scenario.upload.0).await;
    assert_eq!(report.exit_code, 0, "clean run: {:#?}", report.error);
    let writes = faults.writes();
    let tmp = clean_dir.path().join("snap");
    std::fs::create_dir_all(&tmp).unwrap();
    let expected = Published::of(&s, &tmp).await;
    let pipeline = report.pipeline.clone().unwrap();
    let commit_at = writes.iter().position(|w| w == "index commit").unwrap() + 1;
    let nothing_left = |s: &Services, context: String| {
        let pipeline = pipeline.clone();
        let s = s.clone();
        async move {
            no_stash_left(&s, &context).await;
            let journals = s
                .index
                .abandoned(&pipeline, chrono::Utc::now() + chrono::Duration::days(1))
                .await
                .unwrap();
            assert!(journals.is_empty(), "journals left: {context}");
        }
    };

    let mut crashed = Vec::new();
    for (i, write) in writes.iter().enumerate().filter(|(_, w)| crash_at(w)) {
        let n = i + 1;
        let dir = tempfile::tempdir().unwrap();
        let s = prepare(scenario, dir.path(), &make).await;
        let tmp = dir.path().join("snap");
        std::fs::create_dir_all(&tmp).unwrap();
        let before = Published::of(&s, &tmp).await;
        let faults = Arc::new(Faults::default());
        let faulty = with_faults(&s, &faults);
        faults.arm_crash(n);
        let context = format!("{}: stopped at write {n} ({write})", scenario.name);
        tokio::select! {
            report = ingest(&faulty, &scenario.upload.0) => {
                panic!("{context}: the job ended instead: {:#?}", report.error)
            }
            () = faults.crashed.notified() => {}
        }
        // The job is dropped where it stood. Once its lease lapsed, any job of the pipeline
        // undoes (or, committed, settles) what it left.
        tokio::time::sleep(s.settings.lease + std::time::Duration::from_secs(1)).await;
        let other = ingest(&s, "FAULTS/not-there.zip").await;
        let swept = format!("{context}; the next job's notes: {:#?}", other.notes);
        assert_eq!(other.exit_code, 0, "{swept}: {:#?}", other.error);
        let left = if n > commit_at { &expected } else { &before };
        left.check(&s, &tmp, &swept).await;
        nothing_left(&s, swept).await;

        let rerun = ingest(&s, &scenario.upload.0).await;
        let context = format!("{context}; rerun notes: {:#?}", rerun.notes);
        assert_eq!(rerun.exit_code, 0, "{context}: {:#?}", rerun.error);
        expected.check(&s, &tmp, &context).await;
        nothing_left(&s, context).await;
        crashed.push(write.clone());
    }
    crashed
}

const FAULT_PIPELINES: &str = r#"
[[pipeline]]
name = "faults"
keys = '^FAULTS/'
allow_delete_manifests = true

[[pipeline.files]]
include = 'IMOS_ANMN-NRS_'
check = "format"
dest = "IMOS/ANMN/NRS/{{ imos.platform }}/{{ name }}"
supersede = "same_product_older_creation"

[[pipeline.files]]
include = '.*\.nc$'
check = "format"
publish = "harvest_archive_upload"
dest = "FAULTS/{{ name }}"
"#;

/// A newer version of the bundled profile: same product, later creation date.
fn newer_profile() -> String {
    PROFILE.replace("_C-20160524T003914Z", "_C-20200101T000000Z")
}

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(data(name)).unwrap()
}

/// Published before each scenario: the old profile, a file to overwrite, a file to delete.
fn published_before() -> Vec<(String, Vec<u8>)> {
    vec![
        (format!("FAULTS/{PROFILE}"), bytes(PROFILE)),
        ("FAULTS/replaced.nc".into(), bytes("bad.nc")),
        ("FAULTS/doomed.nc".into(), bytes("test_manifest.nc")),
    ]
}

/// An rsync manifest that adds a new version of a published product (supersede), a new file
/// and a new content for a published destination (overwrite), and deletes a published file.
pub fn rsync_scenario() -> Scenario {
    let rsync = format!(
        "sending incremental file list\n>f+++++++++ new/{}\n>f+++++++++ new/fresh.nc\n>f.st...... new/replaced.nc\n*deleting   doomed.nc\n",
        newer_profile()
    );
    Scenario {
        name: "rsync",
        pipelines: FAULT_PIPELINES,
        before: published_before(),
        referenced: vec![
            (format!("FAULTS/new/{}", newer_profile()), bytes(PROFILE)),
            ("FAULTS/new/fresh.nc".into(), bytes(TEMPERATURE)),
            ("FAULTS/new/replaced.nc".into(), bytes("test_manifest.nc")),
        ],
        upload: ("FAULTS/sync.rsync_manifest".into(), rsync.into_bytes()),
        covers: &["member", "deletion", "superseded"],
    }
}

/// A ZIP of three files: a new version of a published product, a new file, an overwrite.
pub fn zip_scenario() -> Scenario {
    Scenario {
        name: "zip",
        pipelines: FAULT_PIPELINES,
        before: published_before(),
        referenced: Vec::new(),
        upload: (
            "FAULTS/batch.zip".into(),
            zip_of(&[
                (&format!("new/{}", newer_profile()), &bytes(PROFILE)),
                ("fresh.nc", &bytes(TEMPERATURE)),
                ("replaced.nc", &bytes("test_manifest.nc")),
            ]),
        ),
        covers: &["member", "superseded"],
    }
}

/// A pipeline harvesting ANMN time series into an `anmn_ts` collection: a row per file with its
/// point, a row per TIME sample, the files' attributes, and a Parquet copy of the samples (an
/// object per file, partitioned by site and year).
const HARVEST_PIPELINES: &str = r#"
[[pipeline]]
name = "faults"
keys = '^FAULTS/'
allow_delete_manifests = true

[[pipeline.files]]
include = 'IMOS_ANMN-N'
check = "format"
dest = "FAULTS/{{ name }}"
supersede = "same_product_older_creation"

[pipeline.harvest]
schema = "anmn_ts"
attributes = true

[[pipeline.harvest.tables]]
name = "file_metadata"
rows = "file"
columns = [{ name = "site_code", type = "text", required = true }, { name = "geom", geometry = "point", precision = 6 }, { name = "time_coverage_start", type = "timestamptz" }]

[[pipeline.harvest.tables]]
name = "measurement"
rows = "samples"
dimensions = ["TIME"]
quality_control = true
primary_key = ["file_id", "TIME"]
columns = [{ name = "TIME", type = "timestamptz", required = true }, { name = "TEMP", type = "real" }, { name = "DEPTH", type = "real" }]

[pipeline.harvest.parquet]
table = "measurement"
file_columns = ["site_code", "geom"]
partition_by = ["site_code", "year"]
"#;

const NSW: &str = "IMOS_ANMN-NSW_TZ_20141118T130000Z_BMP070_FV01_BMP070-1411-Aqualogger-520PT-16_END-20150504T063500Z_C-20160901T044727Z.nc";

/// An rsync manifest that adds a newer version of a harvested time series (its rows replace the
/// older one's) and deletes another harvested series (its rows leave).
pub fn harvest_scenario() -> Scenario {
    let newer = TEMPERATURE.replace("_C-20200313T000000Z", "_C-20220101T000000Z");
    let rsync =
        format!("sending incremental file list\n>f+++++++++ new/{newer}\n*deleting   {NSW}\n");
    Scenario {
        name: "harvest",
        pipelines: HARVEST_PIPELINES,
        before: vec![
            (format!("FAULTS/{TEMPERATURE}"), bytes(TEMPERATURE)),
            (format!("FAULTS/{NSW}"), bytes(&format!("harvest/{NSW}"))),
        ],
        referenced: vec![(format!("FAULTS/new/{newer}"), bytes(TEMPERATURE))],
        upload: ("FAULTS/sync.rsync_manifest".into(), rsync.into_bytes()),
        covers: &["member", "deletion", "superseded"],
    }
}

/// The keys of the harvest scenario's Parquet copy in a public store.
pub async fn dataset_keys(s: &Services) -> Vec<String> {
    s.public
        .list("anmn_ts/measurement/")
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key.to_string())
        .collect()
}

/// Checks what the harvest scenario's matrix covered: faults at the Parquet copy's writes and
/// at each collection change inside the commit; and what its upload publishes: the superseded
/// and the deleted series' rows and objects gone, the new version's there.
pub async fn check_harvest_coverage<F, Fut>(writes: &[String], dir: &Path, make: F) -> Services
where
    F: Fn(PathBuf, PipelineSet) -> Fut,
    Fut: Future<Output = Services>,
{
    for write in [
        "public prepare anmn_ts/measurement/site_code=NRSROT/",
        "public put anmn_ts/measurement/site_code=NRSROT/",
        "public delete anmn_ts/measurement/site_code=BMP070/",
        "index commit: collection change 3 written",
    ] {
        assert!(
            writes.iter().any(|w| w.starts_with(write)),
            "no {write:?} among the faulted writes: {writes:#?}"
        );
    }
    let scenario = harvest_scenario();
    let s = prepare(&scenario, dir, &make).await;
    let rows = collection_rows(&s).await;
    assert!(
        rows.iter()
            .any(|(t, url, n)| t.contains("measurement") && url.ends_with(NSW) && *n > 0),
        "{rows:?}"
    );
    let before = dataset_keys(&s).await;
    assert_eq!(before.len(), 2, "{before:?}");
    let report = ingest(&s, &scenario.upload.0).await;
    assert_eq!(report.exit_code, 0, "{:#?}", report.error);
    let after = dataset_keys(&s).await;
    let newer = TEMPERATURE.replace("_C-20200313T000000Z", "_C-20220101T000000Z");
    assert_eq!(
        after,
        [format!(
            "anmn_ts/measurement/site_code=NRSROT/year=2018/{}",
            ocean_ingest::harvest::parquet::object_name(&format!("FAULTS/{newer}"))
        )],
        "before: {before:?}"
    );
    s
}

/// The writes a harvesting publish is stopped at in [`crash_matrix`]: each of its Parquet copy
/// (prepare, put, delete), the index commit, and the first settle after it.
pub fn dataset_crash_points() -> impl Fn(&str) -> bool {
    let settled = std::cell::Cell::new(false);
    move |write: &str| {
        if write.starts_with("public settle") && !settled.replace(true) {
            return true;
        }
        write.contains(" anmn_ts/measurement/") || write == "index commit"
    }
}

/// Checks a crash matrix stopped the job at each kind of the Parquet copy's writes.
pub fn check_dataset_crashes(crashed: &[String]) {
    for op in ["prepare", "put", "delete"] {
        assert!(
            crashed
                .iter()
                .any(|w| w.starts_with(&format!("public {op} anmn_ts/measurement/"))),
            "never stopped at a Parquet {op}: {crashed:#?}"
        );
    }
    assert!(crashed.iter().any(|w| w == "index commit"), "{crashed:#?}");
    assert!(
        crashed.iter().any(|w| w.starts_with("public settle")),
        "{crashed:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_harvesting_publish_stopped_at_each_parquet_write_converges_on_the_rerun() {
    let crashed = crash_matrix(
        &harvest_scenario(),
        short_lease_services,
        dataset_crash_points(),
    )
    .await;
    check_dataset_crashes(&crashed);
}

#[tokio::test]
async fn a_harvesting_publish_with_supersede_and_deletion_leaves_no_rows_on_any_fault() {
    let writes = fault_matrix(&harvest_scenario(), local_services).await;
    let dir = tempfile::tempdir().unwrap();
    check_harvest_coverage(&writes, dir.path(), local_services).await;
}

#[tokio::test]
async fn an_rsync_publish_with_deletion_supersede_and_overwrite_is_all_or_nothing_locally() {
    fault_matrix(&rsync_scenario(), local_services).await;
}

#[tokio::test]
async fn a_zip_publish_with_a_supersede_and_an_overwrite_is_all_or_nothing_locally() {
    fault_matrix(&zip_scenario(), local_services).await;
}
