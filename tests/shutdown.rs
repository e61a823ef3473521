//! A stop signal (SIGTERM from Batch on timeout or Spot reclaim) during a job that has not started
//! publishing: the job stops at its next step as a transient failure, keeps the upload in incoming
//! and in the error store, releases its claim, and publishes nothing; the retry then succeeds.
//!
//! Its own test binary, because the stop request is process-wide.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use ocean_ingest::index::LedgerState;
use ocean_ingest::job::{JobRequest, Outcome, Services};
use ocean_ingest::pipeline::PipelineSet;
use ocean_ingest::settings::{Settings, SettingsArgs};
use ocean_ingest::source::Source;
use ocean_ingest::store::{
    Key, ObjectInfo, ObjectStore, Origin, PutOptions, Restore, StoreError, Written,
};

const PROFILE: &str =
    "IMOS_ANMN-NRS_CDEKOSTUZ_20140703T021045Z_NRSMAI_FV01_Profile-SBE-19plus_C-20160524T003914Z.nc";

/// An incoming store that asks the process to stop once the upload has been fetched, as a
/// SIGTERM arriving during the download would.
#[derive(Debug)]
struct StopAfterFetch(Arc<dyn ObjectStore>);

#[async_trait]
impl ObjectStore for StopAfterFetch {
    fn location(&self) -> String {
        self.0.location()
    }
    async fn head(&self, key: &Key) -> Result<Option<ObjectInfo>, StoreError> {
        self.0.head(key).await
    }
    async fn get_to_file(&self, key: &Key, dest: &Path) -> Result<ObjectInfo, StoreError> {
        let info = self.0.get_to_file(key, dest).await;
        ocean_ingest::shutdown::request();
        info
    }
    async fn put_file(
        &self,
        key: &Key,
        src: &Path,
        opts: &PutOptions,
    ) -> Result<Written, StoreError> {
        self.0.put_file(key, src, opts).await
    }
    async fn put_bytes(
        &self,
        key: &Key,
        bytes: Vec<u8>,
        opts: &PutOptions,
    ) -> Result<Written, StoreError> {
        self.0.put_bytes(key, bytes, opts).await
    }
    async fn delete(&self, key: &Key) -> Result<(), StoreError> {
        self.0.delete(key).await
    }
    async fn prepare(&self, key: &Key, stash: &str) -> Result<Restore, StoreError> {
        self.0.prepare(key, stash).await
    }
    async fn stashes(&self) -> Result<Vec<String>, StoreError> {
        self.0.stashes().await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        self.0.list(prefix).await
    }
    async fn undo(&self, key: &Key, restore: &Restore) -> Result<(), StoreError> {
        self.0.undo(key, restore).await
    }
    async fn settle(&self, restore: &Restore) -> Result<(), StoreError> {
        self.0.settle(restore).await
    }
    fn origin_of(&self, key: &Key) -> Origin {
        self.0.origin_of(key)
    }
    async fn put_copy(
        &self,
        key: &Key,
        from: &Origin,
        size: u64,
        opts: &PutOptions,
    ) -> Result<Written, StoreError> {
        self.0.put_copy(key, from, size, opts).await
    }
}

#[tokio::test]
async fn a_stop_before_publishing_is_a_transient_failure_that_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("var");
    std::fs::create_dir_all(home.join("incoming/ANMN")).unwrap();
    std::fs::create_dir_all(dir.path().join("work")).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(PROFILE);
    std::fs::copy(&fixture, home.join("incoming/ANMN").join(PROFILE)).unwrap();
    let args = SettingsArgs {
        work_dir: Some(dir.path().join("work")),
        ..SettingsArgs::embedded(home.clone())
    };
    let settings = Settings::resolve(&args).unwrap();
    let services = Services::build(settings, PipelineSet::load(None).unwrap())
        .await
        .unwrap();
    let stopping = Services {
        incoming: Arc::new(StopAfterFetch(services.incoming.clone())),
        ..services.clone()
    };
    let key = Key::new(format!("ANMN/{PROFILE}")).unwrap();
    let request = || JobRequest {
        source: Source::Incoming(key.clone()),
        pipeline: None,
        uploader: None,
    };

    let report = ocean_ingest::job::run(&stopping, request()).await;
    assert_eq!(report.outcome, Outcome::FailedTransient);
    assert_eq!(report.exit_code, 75);
    let error = report.error.as_ref().unwrap();
    assert!(error.message.contains("stop signal"), "{}", error.message);
    assert_eq!(
        error.state, "Initialised",
        "stopped at the first step after the fetch"
    );
    let states: Vec<&str> = report.states.iter().map(|s| s.state).collect();
    assert_eq!(
        states,
        ["Initial", "Initialised", "NotifiedError", "CompletedError"]
    );
    // Nothing published; the upload is in incoming (for the retry) and in the error store.
    assert!(services.public.list("").await.unwrap().is_empty());
    assert!(services.index.list("").await.unwrap().is_empty());
    assert!(services.incoming.head(&key).await.unwrap().is_some());
    assert_eq!(services.error.list("").await.unwrap().len(), 1);
    // The claim is released, so the retry may take the upload.
    let source = report.source.clone();
    let version = report.input.as_ref().unwrap().sha256.clone();
    let ledger = services
        .index
        .ledger(&source, &version)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ledger.state, LedgerState::Failed);

    // The retry (a new process, so no stop request) publishes.
    let retry = {
        // The stop request is process-wide; the retry stands for a fresh process.
        ocean_ingest::shutdown::reset_for_tests();
        ocean_ingest::job::run(&services, request()).await
    };
    assert_eq!(retry.outcome, Outcome::Published, "{:?}", retry.error);
    assert!(
        retry.notes.iter().any(|n| n.contains("took over")),
        "{:?}",
        retry.notes
    );
    assert!(services.incoming.head(&key).await.unwrap().is_none());
    assert_eq!(services.public.list("").await.unwrap().len(), 1);
    assert!(
        services.error.list("").await.unwrap().is_empty(),
        "the earlier failure is cleared"
    );
}
