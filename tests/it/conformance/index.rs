//! The Index conformance suite: claims, the harvest transaction, the ledger and the job history,
//! checked against each backend. `check_index` takes an empty index.

use chrono::{Duration, Utc};
use ocean_ingest::index::{
    Claim, ClaimOutcome, FileRecord, HarvestBatch, Index, IndexChange, JobEnd, LedgerState,
    sqlite::SqliteIndex,
};
use ocean_ingest::model::FileMetadata;

fn claim(job: &str, version: &str, lease_secs: i64) -> Claim {
    let now = Utc::now();
    Claim {
        source: "s3://incoming/ANMN/a.nc".into(),
        source_version: version.into(),
        job_id: job.into(),
        pipeline: "anmn".into(),
        now,
        lease_until: now + Duration::seconds(lease_secs),
    }
}

fn record(dest: &str, job: &str) -> FileRecord {
    FileRecord {
        dest_path: dest.into(),
        pipeline: "anmn".into(),
        source: "s3://incoming/ANMN/a.nc".into(),
        size: 42,
        sha256: "ab".repeat(32),
        job_id: job.into(),
        metadata: FileMetadata {
            feature_type: Some("timeSeries".into()),
            time_start: Some("2020-01-01T00:00:00Z".into()),
            time_end: Some("2020-02-01T00:00:00Z".into()),
            lat_min: Some(-42.5),
            lat_max: Some(-42.5),
            lon_min: Some(148.25),
            lon_max: Some(148.25),
            variables: vec!["TIME".into(), "TEMP".into()],
            attributes: serde_json::json!({"site_code": "NRSMAI", "title": "Température ünïcode"}),
        },
    }
}

fn batch(job: &str, version: &str, changes: Vec<IndexChange>) -> HarvestBatch {
    HarvestBatch {
        job_id: job.into(),
        source: "s3://incoming/ANMN/a.nc".into(),
        source_version: version.into(),
        changes,
        now: Utc::now(),
    }
}

fn end(job: &str, version: &str, state: Option<LedgerState>, outcome: &str) -> JobEnd {
    JobEnd {
        job_id: job.into(),
        source: "s3://incoming/ANMN/a.nc".into(),
        source_version: version.into(),
        pipeline: "anmn".into(),
        ledger_state: state,
        outcome: outcome.into(),
        started_at: Utc::now(),
        finished_at: Utc::now(),
        report_url: Some(format!("file:///reports/{job}.json")),
    }
}

/// Runs every guarantee against an empty index.
pub async fn check_index(index: &dyn Index) {
    // The first claim wins; a second job sees it in progress while the lease is live.
    assert_eq!(
        index.claim(&claim("J1", "v1", 600)).await.unwrap(),
        ClaimOutcome::Claimed { took_over: None }
    );
    match index.claim(&claim("J2", "v1", 600)).await.unwrap() {
        ClaimOutcome::InProgress { job_id, .. } => assert_eq!(job_id, "J1"),
        other => panic!("expected InProgress, got {other:?}"),
    }
    // Another version of the same key is a separate upload.
    assert_eq!(
        index.claim(&claim("J3", "v2", 600)).await.unwrap(),
        ClaimOutcome::Claimed { took_over: None }
    );

    // The harvest commits every change and moves the ledger to published, atomically.
    index
        .commit(&batch(
            "J1",
            "v1",
            vec![
                IndexChange::Upsert(record("IMOS/A/a.nc", "J1")),
                IndexChange::Upsert(record("IMOS/A/b.nc", "J1")),
            ],
        ))
        .await
        .unwrap();
    let row = index.get("IMOS/A/a.nc").await.unwrap().expect("harvested");
    assert_eq!(
        row.record,
        record("IMOS/A/a.nc", "J1"),
        "every field round-trips, unicode included"
    );
    assert!(!row.deleted);
    assert_eq!(row.first_indexed, row.last_indexed);
    assert_eq!(
        index
            .ledger("s3://incoming/ANMN/a.nc", "v1")
            .await
            .unwrap()
            .unwrap()
            .state,
        LedgerState::Published
    );
    // A published upload is a duplicate for any later job.
    match index.claim(&claim("J4", "v1", 600)).await.unwrap() {
        ClaimOutcome::AlreadyDone { job_id, state } => {
            assert_eq!((job_id.as_str(), state), ("J1", LedgerState::Published))
        }
        other => panic!("expected AlreadyDone, got {other:?}"),
    }

    // Finishing records the job and the final state; a failure after publication keeps it published.
    index
        .finish(&end(
            "J1",
            "v1",
            Some(LedgerState::Failed),
            "failed_internal",
        ))
        .await
        .unwrap();
    assert_eq!(
        index
            .ledger("s3://incoming/ANMN/a.nc", "v1")
            .await
            .unwrap()
            .unwrap()
            .state,
        LedgerState::Published
    );
    index
        .finish(&end("J1", "v1", Some(LedgerState::Succeeded), "published"))
        .await
        .unwrap();
    assert_eq!(
        index
            .ledger("s3://incoming/ANMN/a.nc", "v1")
            .await
            .unwrap()
            .unwrap()
            .state,
        LedgerState::Succeeded
    );
    let job = index.job("J1").await.unwrap().expect("job history row");
    assert_eq!(job.outcome, "published");
    assert_eq!(job.report_url.as_deref(), Some("file:///reports/J1.json"));

    // A rejected or failed upload can be claimed again; an expired lease can be taken over.
    index
        .finish(&end("J3", "v2", Some(LedgerState::Rejected), "rejected"))
        .await
        .unwrap();
    assert_eq!(
        index.claim(&claim("J5", "v2", 600)).await.unwrap(),
        ClaimOutcome::Claimed {
            took_over: Some("J3".into())
        }
    );
    assert_eq!(
        index.claim(&claim("J6", "v3", -1)).await.unwrap(),
        ClaimOutcome::Claimed { took_over: None }
    );
    assert_eq!(
        index.claim(&claim("J7", "v3", 600)).await.unwrap(),
        ClaimOutcome::Claimed {
            took_over: Some("J6".into())
        }
    );
    // A job that never claimed leaves the ledger alone.
    index
        .finish(&end("J8", "v3", None, "duplicate"))
        .await
        .unwrap();
    assert_eq!(
        index
            .ledger("s3://incoming/ANMN/a.nc", "v3")
            .await
            .unwrap()
            .unwrap()
            .job_id,
        "J7"
    );
    assert_eq!(index.job("J8").await.unwrap().unwrap().outcome, "duplicate");

    // Unharvest marks deleted; re-harvest clears the flag and keeps the first-indexed time.
    index
        .commit(&batch(
            "J5",
            "v2",
            vec![IndexChange::MarkDeleted {
                dest_path: "IMOS/A/a.nc".into(),
                job_id: "J5".into(),
            }],
        ))
        .await
        .unwrap();
    let deleted = index.get("IMOS/A/a.nc").await.unwrap().unwrap();
    assert!(deleted.deleted);
    assert_eq!(deleted.record.job_id, "J5");
    index
        .commit(&batch(
            "J7",
            "v3",
            vec![IndexChange::Upsert(record("IMOS/A/a.nc", "J7"))],
        ))
        .await
        .unwrap();
    let back = index.get("IMOS/A/a.nc").await.unwrap().unwrap();
    assert!(!back.deleted);
    assert_eq!(back.first_indexed, row.first_indexed);
    assert!(back.last_indexed >= row.last_indexed);
    // Marking a missing row deleted is a no-op, not an error.
    index
        .commit(&batch(
            "J7",
            "v3",
            vec![IndexChange::MarkDeleted {
                dest_path: "IMOS/none.nc".into(),
                job_id: "J7".into(),
            }],
        ))
        .await
        .unwrap();
    assert_eq!(index.get("IMOS/none.nc").await.unwrap(), None);

    // Listing by prefix, sorted; `_` and `%` in a prefix are literal.
    index
        .commit(&batch(
            "J7",
            "v3",
            vec![
                IndexChange::Upsert(record("IMOS/B_x/c.nc", "J7")),
                IndexChange::Upsert(record("IMOS/Bax/d.nc", "J7")),
            ],
        ))
        .await
        .unwrap();
    let listed: Vec<String> = index
        .list("IMOS/A/")
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.record.dest_path)
        .collect();
    assert_eq!(listed, ["IMOS/A/a.nc", "IMOS/A/b.nc"]);
    let listed: Vec<String> = index
        .list("IMOS/B_")
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.record.dest_path)
        .collect();
    assert_eq!(listed, ["IMOS/B_x/c.nc"]);
    assert_eq!(index.list("").await.unwrap().len(), 4);
}

/// Of many jobs claiming one upload at once, exactly one wins.
pub async fn check_claim_race(index: std::sync::Arc<dyn Index>) {
    let mut handles = Vec::new();
    for i in 0..16 {
        let index = index.clone();
        handles.push(tokio::spawn(async move {
            index
                .claim(&claim(&format!("R{i}"), "race", 600))
                .await
                .unwrap()
        }));
    }
    assert_one_winner(handles).await;
}

/// The same race between indexes opened at once, as separate jobs starting together would have
/// them (each opening, and migrating, on its own connection).
pub async fn check_claim_race_across_jobs<F, Fut>(open: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Box<dyn Index>> + Send + 'static,
{
    let mut handles = Vec::new();
    for i in 0..8 {
        let opening = open();
        handles.push(tokio::spawn(async move {
            let index = opening.await;
            index
                .claim(&claim(&format!("R{i}"), "race", 600))
                .await
                .unwrap()
        }));
    }
    assert_one_winner(handles).await;
    let index = open().await;
    let entry = index
        .ledger("s3://incoming/ANMN/a.nc", "race")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.state, LedgerState::Running);
}

async fn assert_one_winner(handles: Vec<tokio::task::JoinHandle<ClaimOutcome>>) {
    let mut winners = 0;
    for h in handles {
        if matches!(h.await.unwrap(), ClaimOutcome::Claimed { .. }) {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
}

#[tokio::test]
async fn sqlite_index_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let index = SqliteIndex::open(&dir.path().join("i.sqlite"))
        .await
        .unwrap();
    check_index(&index).await;
}

#[tokio::test]
async fn sqlite_claims_race_to_one_winner_across_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("i.sqlite");
    check_claim_race_across_jobs(|| {
        let path = path.clone();
        async move { Box::new(SqliteIndex::open(&path).await.unwrap()) as Box<dyn Index> }
    })
    .await;
}

#[tokio::test]
async fn sqlite_claims_race_in_one_process() {
    let dir = tempfile::tempdir().unwrap();
    let index = SqliteIndex::open(&dir.path().join("i.sqlite"))
        .await
        .unwrap();
    check_claim_race(std::sync::Arc::new(index)).await;
}
