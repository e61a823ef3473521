//! The fault-injection matrix (tests/it/faults.rs) on the production backends: S3 stores on moto
//! and the index in PostgreSQL. Every write failing in turn must leave the public bucket and the
//! index as they were — by deleting the versions the job wrote (versioned public bucket) or by
//! restoring stashed copies (unversioned) — and a rerun must publish everything.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use ocean_ingest::index::postgres::PostgresIndex;
use ocean_ingest::job::Services;
use ocean_ingest::pipeline::PipelineSet;
use ocean_ingest::store::Transfer;
use ocean_ingest::store::s3::S3Store;

use crate::faults::{fault_matrix, local_services, rsync_scenario, zip_scenario};
use crate::servers::{Moto, PgDb, moto, pg};

/// Builds fresh S3 buckets and a fresh database for each run of the matrix; keeps the
/// databases so they are dropped when the test ends.
async fn production_services(
    moto: &Moto,
    databases: &Mutex<Vec<PgDb>>,
    public_versioned: bool,
    home: PathBuf,
    pipelines: PipelineSet,
) -> Services {
    let db = pg().await.expect("checked before the matrix");
    let index = PostgresIndex::open(&db.url, &crate::servers::timeouts())
        .await
        .unwrap();
    databases.lock().unwrap().push(db);
    let store = |bucket: &str, prefix: &str| -> Arc<dyn ocean_ingest::store::ObjectStore> {
        Arc::new(S3Store::new(&moto.aws, bucket, prefix, Transfer::default()))
    };
    let incoming = moto.bucket("f-incoming", false).await;
    let archive = moto.bucket("f-archive", true).await;
    let public = moto.bucket("f-public", public_versioned).await;
    let error = moto.bucket("f-error", false).await;
    // The local services give the settings (work folder, lease) and the notifier.
    let local = local_services(home, pipelines).await;
    Services {
        incoming: store(&incoming, ""),
        archive: store(&archive, ""),
        public: store(&public, ""),
        error: store(&error, "errors"),
        reports: store(&error, "reports"),
        index: Arc::new(index),
        ..local
    }
}

async fn run_matrix(rsync: bool, public_versioned: bool) {
    let Some(moto) = moto().await else { return };
    if pg().await.is_none() {
        return;
    }
    let databases = Mutex::new(Vec::new());
    let make = |home: PathBuf, pipelines: PipelineSet| {
        production_services(&moto, &databases, public_versioned, home, pipelines)
    };
    let scenario = if rsync {
        rsync_scenario()
    } else {
        zip_scenario()
    };
    fault_matrix(&scenario, make).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_rsync_publish_is_all_or_nothing_on_s3_and_postgres_with_a_versioned_public_bucket() {
    run_matrix(true, true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_rsync_publish_is_all_or_nothing_on_s3_and_postgres_with_an_unversioned_public_bucket() {
    run_matrix(true, false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_zip_publish_is_all_or_nothing_on_s3_and_postgres_with_a_versioned_public_bucket() {
    run_matrix(false, true).await;
}
