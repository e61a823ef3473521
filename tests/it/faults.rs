//! Fault injection: every boundary wrapped so that the N-th write (store put/delete/undo/settle,
//! index claim/commit/finish) fails with a transient error, for every N across one publish that
//! stores, overwrites, supersedes and deletes. After each failed job the public store and the
//! index are exactly as before it (byte for byte, row for row), the upload is in the error store
//! and still in incoming, and a rerun publishes it all. A harvesting publish (rows loaded into a
//! collection, a superseded version's and a deletion's rows removed) adds the collection's rows,
//! per table and destination, to what must be as before.
//!
//! [`fault_matrix`] takes a function that builds fresh, empty services for a folder, so the same
//! matrix runs on any backend: the local one here; an S3 + PostgreSQL variant is one more call
//! with a function that builds those services.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use ocean_ingest::index::{
    Abandoned, Claim, ClaimOutcome, HarvestBatch, Index, IndexError, IndexOp, IndexedFile, JobEnd,
    JobRow, Journal, LedgerEntry, LedgerState, Owner, PathOwner,
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
#[derive(Debug, Default)]
pub struct Faults {
    count: AtomicUsize,
    fail_at: AtomicUsize,
    writes: Mutex<Vec<String>>,
}

impl Faults {
    /// Fails the `n`-th write from now on (1-based); 0 fails none.
    pub fn arm(&self, n: usize) {
        self.count.store(0, Ordering::SeqCst);
        self.fail_at.store(n, Ordering::SeqCst);
        self.writes.lock().unwrap().clear();
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
    fn check(&self, op: StoreOp, key: &Key) -> Result<(), StoreError> {
        if self.faults.hit(format!("{} {op} {key}", self.name)) {
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
        self.check(StoreOp::Put, key)?;
        self.inner.put_file(key, src, opts).await
    }
    async fn put_bytes(
        &self,
        key: &Key,
        bytes: Vec<u8>,
        opts: &PutOptions,
    ) -> Result<Written, StoreError> {
        self.check(StoreOp::Put, key)?;
        self.inner.put_bytes(key, bytes, opts).await
    }
    async fn delete(&self, key: &Key) -> Result<(), StoreError> {
        self.check(StoreOp::Delete, key)?;
        self.inner.delete(key).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        self.inner.list(prefix).await
    }
    async fn prepare(&self, key: &Key, stash: &str) -> Result<Restore, StoreError> {
        self.check(StoreOp::Prepare, key)?;
        self.inner.prepare(key, stash).await
    }
    async fn undo(&self, key: &Key, restore: &Restore) -> Result<(), StoreError> {
        self.check(StoreOp::Undo, key)?;
        self.inner.undo(key, restore).await
    }
    async fn settle(&self, restore: &Restore) -> Result<(), StoreError> {
        let what = Key::new(format!(
            "stash-of/{}",
            serde_json::to_string(restore).unwrap().len()
        ))
        .unwrap();
        self.check(StoreOp::Settle, &what)?;
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
        self.check(StoreOp::Put, key)?;
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
    fn check(&self, op: IndexOp) -> Result<(), IndexError> {
        if self.faults.hit(format!("index {op}")) {
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
        self.check(IndexOp::Claim)?;
        self.inner.claim(claim).await
    }
    async fn commit(&self, batch: &HarvestBatch) -> Result<bool, IndexError> {
        self.check(IndexOp::Commit)?;
        self.inner.commit(batch).await
    }
    // Renewals come with time, not with the job's steps: never counted.
    async fn renew(&self, claim: &Claim) -> Result<bool, IndexError> {
        self.inner.renew(claim).await
    }
    async fn journal(&self, source: &str, version: &str) -> Result<Option<Journal>, IndexError> {
        self.inner.journal(source, version).await
    }
    async fn record_journal(&self, claim: &Claim, journal: &Journal) -> Result<bool, IndexError> {
        self.check(IndexOp::Journal)?;
        self.inner.record_journal(claim, journal).await
    }
    async fn clear_journal(
        &self,
        source: &str,
        version: &str,
        of_job: &str,
    ) -> Result<(), IndexError> {
        self.check(IndexOp::Journal)?;
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
        self.check(IndexOp::Release)?;
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
        self.check(IndexOp::Finish)?;
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
    let args = SettingsArgs {
        work_dir: Some(home.join("work")),
        log_format: LogFormat::Json,
        ..SettingsArgs::embedded(home.clone())
    };
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

/// The rows of every collection table in a local index, per (table, destination), with each
/// harvested destination's deleted flag: empty when nothing was ever harvested.
fn collection_rows(s: &Services) -> Vec<(String, String, i64)> {
    let location = s.index.location();
    let Some(path) = location.strip_prefix("sqlite://") else {
        // Read from the local index only: `fault_matrix` refuses a harvesting scenario elsewhere.
        return Vec::new();
    };
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
/// writes than N, and checks all-or-nothing after each.
pub async fn fault_matrix<F, Fut>(scenario: &Scenario, make: F)
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
    assert!(
        !harvests || s.index.location().starts_with("sqlite://"),
        "{}: collection rows are compared on a SQLite index only",
        scenario.name
    );
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
    let expected_public = snapshot(s.public.as_ref(), &tmp).await;
    let expected_rows = stable_rows(&s.index.list("").await.unwrap());
    let expected_collections = collection_rows(&s);
    assert_ne!(
        expected_public, before_public,
        "the upload changes the public store"
    );
    assert_ne!(
        expected_rows,
        stable_rows(&before_rows),
        "the upload changes the index"
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
        let collections_before = collection_rows(&s);
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
            break;
        }
        let failed_write = &writes[n - 1];
        if report.exit_code == 0 {
            // The fault hit a write after the commit (settle, report, ledger end, cleanup):
            // the publication stands, complete.
            assert_eq!(
                snapshot(s.public.as_ref(), &tmp).await,
                expected_public,
                "{}: fault at write {n} ({failed_write}) left the public store incomplete",
                scenario.name
            );
            assert_eq!(
                stable_rows(&s.index.list("").await.unwrap()),
                expected_rows,
                "{}: fault at write {n} ({failed_write})",
                scenario.name
            );
            assert_eq!(
                collection_rows(&s),
                expected_collections,
                "{}: fault at write {n} ({failed_write})",
                scenario.name
            );
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
            collection_rows(&s),
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
        assert_eq!(
            snapshot(s.public.as_ref(), &tmp).await,
            expected_public,
            "rerun: {context}"
        );
        assert_eq!(
            stable_rows(&s.index.list("").await.unwrap()),
            expected_rows,
            "rerun: {context}"
        );
        assert_eq!(
            collection_rows(&s),
            expected_collections,
            "rerun: {context}"
        );
        assert!(
            s.error.list("").await.unwrap().is_empty(),
            "the rerun's success clears the earlier failure from the error store: {context}"
        );
    }
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
/// point, a row per TIME sample, the files' attributes.
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
columns = [{ name = "site_code", type = "text", required = true }, { name = "geom", geometry = "point", precision = 6 }]

[[pipeline.harvest.tables]]
name = "measurement"
rows = "samples"
dimensions = ["TIME"]
quality_control = true
primary_key = ["file_id", "TIME"]
columns = [{ name = "TIME", type = "timestamptz", required = true }, { name = "TEMP", type = "real" }, { name = "DEPTH", type = "real" }]
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

#[tokio::test]
async fn a_harvesting_publish_with_supersede_and_deletion_leaves_no_rows_on_any_fault() {
    let scenario = harvest_scenario();
    fault_matrix(&scenario, local_services).await;
    // The matrix compared collection rows; make sure there were rows to compare.
    let dir = tempfile::tempdir().unwrap();
    let s = prepare(&scenario, dir.path(), &local_services).await;
    let rows = collection_rows(&s);
    assert!(
        rows.iter()
            .any(|(t, url, n)| t == "anmn_ts__measurement" && url.ends_with(NSW) && *n > 0),
        "{rows:?}"
    );
}

// Another backend is one more test: `fault_matrix(&rsync_scenario(), its_services).await`, with
// `its_services(dir, pipelines)` building fresh, empty stores and index for that backend.

#[tokio::test]
async fn an_rsync_publish_with_deletion_supersede_and_overwrite_is_all_or_nothing_locally() {
    fault_matrix(&rsync_scenario(), local_services).await;
}

#[tokio::test]
async fn a_zip_publish_with_a_supersede_and_an_overwrite_is_all_or_nothing_locally() {
    fault_matrix(&zip_scenario(), local_services).await;
}
