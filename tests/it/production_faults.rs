//! The fault-injection matrix (tests/it/faults.rs) on the production backends: S3 stores on moto
//! and the index in PostgreSQL. Every write failing in turn must leave the public bucket and the
//! index as they were — by deleting the versions the job wrote (versioned public bucket) or by
//! restoring stashed copies (unversioned) — and a rerun must publish everything. A harvesting
//! publish there (PostGIS tables filled by binary COPY, a Parquet copy in the public bucket)
//! leaves no row and no object on any fault, and its rerun loads everything exactly once.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use ocean_ingest::index::postgres::PostgresIndex;
use ocean_ingest::job::Services;
use ocean_ingest::pipeline::PipelineSet;
use ocean_ingest::store::Transfer;
use ocean_ingest::store::s3::S3Store;

use crate::faults::{
    check_dataset_crashes, check_harvest_coverage, crash_matrix, dataset_crash_points,
    dataset_keys, fault_matrix, harvest_scenario, local_services, pg_client, register_pg,
    rsync_scenario, short_lease_services, zip_scenario,
};
use crate::harvest::{dataset_matches_measurement, postgis, pyarrow};
use crate::servers::{Moto, PgDb, moto, pg};

/// Builds fresh S3 buckets and a fresh database for each run of the matrix; keeps the
/// databases so they are dropped when the test ends.
async fn production_services(
    moto: &Moto,
    databases: &Mutex<Vec<PgDb>>,
    public_versioned: bool,
    short_lease: bool,
    home: PathBuf,
    pipelines: PipelineSet,
) -> Services {
    let db = pg().await.expect("checked before the matrix");
    if pipelines.pipelines.iter().any(|p| p.harvest.is_some()) {
        postgis(&db).await;
    }
    let index = PostgresIndex::open(&db.url, &crate::servers::timeouts())
        .await
        .unwrap();
    register_pg(ocean_ingest::index::Index::location(&index), db.url.clone());
    databases.lock().unwrap().push(db);
    let store = |bucket: &str, prefix: &str| -> Arc<dyn ocean_ingest::store::ObjectStore> {
        Arc::new(S3Store::new(&moto.aws, bucket, prefix, Transfer::default()))
    };
    let incoming = moto.bucket("f-incoming", false).await;
    let archive = moto.bucket("f-archive", true).await;
    let public = moto.bucket("f-public", public_versioned).await;
    let error = moto.bucket("f-error", false).await;
    // The local services give the settings (work folder, lease) and the notifier.
    let local = if short_lease {
        short_lease_services(home, pipelines).await
    } else {
        local_services(home, pipelines).await
    };
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
        production_services(&moto, &databases, public_versioned, false, home, pipelines)
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

/// Faults at each write of a harvesting publish on S3 and PostgreSQL with PostGIS: the index
/// rows, each collection change's rows (COPY) in the commit, the public bucket's files and the
/// Parquet objects. Then the dataset of a clean publish, read back with pyarrow, holds the rows
/// of the PostgreSQL table.
#[tokio::test(flavor = "multi_thread")]
async fn a_harvesting_publish_is_all_or_nothing_on_s3_and_postgis() {
    let Some(moto) = moto().await else { return };
    if pg().await.is_none() {
        return;
    }
    let databases = Mutex::new(Vec::new());
    let make = |home: PathBuf, pipelines: PipelineSet| {
        production_services(&moto, &databases, true, false, home, pipelines)
    };
    let writes = fault_matrix(&harvest_scenario(), &make).await;
    let dir = tempfile::tempdir().unwrap();
    let s = check_harvest_coverage(&writes, dir.path(), &make).await;
    let client = pg_client(&s).await;
    let geoms: i64 = client
        .query_one(
            "SELECT count(*) FROM anmn_ts.file_metadata WHERE ST_IsValid(geom) AND ST_SRID(geom) = 4326",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(geoms, 1, "the one published series' point");
    let Some(python) = pyarrow() else { return };
    let root = dir.path().join("dataset");
    for key in dataset_keys(&s).await {
        let local = root.join(key.strip_prefix("anmn_ts/measurement/").unwrap());
        std::fs::create_dir_all(local.parent().unwrap()).unwrap();
        s.public
            .get_to_file(
                &ocean_ingest::store::Key::new(key.as_str()).unwrap(),
                &local,
            )
            .await
            .unwrap();
    }
    let read = dataset_matches_measurement(&python, &root, &client).await;
    assert!(!read["rows"].as_array().unwrap().is_empty());
}

/// A harvesting publish on S3 and PostgreSQL stopped for good (as if killed) at each write of its
/// Parquet copy, at its index commit and at its first settle: the rerun, once the dead job's lease
/// lapsed, undoes or settles what it left and publishes; rows, objects and files end as after a
/// clean run (whose dataset the test above reads back as the table's rows), nothing left over.
#[tokio::test(flavor = "multi_thread")]
async fn a_harvesting_publish_stopped_at_each_parquet_write_converges_on_s3_and_postgis() {
    let Some(moto) = moto().await else { return };
    if pg().await.is_none() {
        return;
    }
    let databases = Mutex::new(Vec::new());
    let make = |home: PathBuf, pipelines: PipelineSet| {
        production_services(&moto, &databases, false, true, home, pipelines)
    };
    let crashed = crash_matrix(&harvest_scenario(), &make, dataset_crash_points()).await;
    check_dataset_crashes(&crashed);
}
