//! The Index conformance suite: claims, the harvest transaction, the ledger and the job history,
//! each guarantee a named function checked against each backend. Every guarantee uses its own
//! sources and destinations, so the list runs on one index, empty at the start; the history and
//! lease guarantees use times and sources no other guarantee does.

use chrono::{DateTime, Duration, Utc};
use ocean_ingest::index::{
    Claim, ClaimOutcome, ErrorKind, FileRecord, HarvestBatch, Index, IndexChange, JobEnd, JobFacts,
    Journal, LedgerState, Owner, Ownership, sqlite::SqliteIndex,
};
use ocean_ingest::layout::Area;
use ocean_ingest::model::FileMetadata;

use super::{Guarantee, check_all, guarantees};

/// Every guarantee of [`Index`], by name.
pub const GUARANTEES: &[(&str, Guarantee<dyn Index>)] = guarantees![
    the_first_claim_wins_while_its_lease_is_live,
    a_commit_harvests_every_change_and_publishes_the_upload,
    finishing_records_the_job_and_never_unpublishes,
    rejected_and_expired_claims_are_taken_over,
    a_job_that_never_claimed_leaves_the_ledger_alone,
    unharvest_marks_deleted_and_a_reharvest_restores,
    marking_a_missing_row_deleted_is_a_no_op,
    listings_take_the_prefix_literally_and_sort,
    concurrent_claims_have_one_winner,
    the_history_is_the_jobs_finished_in_a_window_oldest_first,
    the_history_keeps_what_each_job_recorded,
    leases_are_the_claims_whose_job_has_not_finished,
    a_lease_renews_only_while_live_and_held,
    journals_and_commits_need_the_claim,
    abandoned_journals_and_stash_owners_follow_the_lease,
    a_recovered_row_is_given_back,
    the_first_owner_of_a_path_is_recorded_in_the_commit_and_kept,
    a_commit_touching_another_pipelines_path_applies_nothing,
];

/// Runs every guarantee against an empty index.
pub async fn check_index(index: &(dyn Index + 'static)) {
    check_all(index, GUARANTEES).await;
}

const SOURCE: &str = "s3://incoming/ANMN/a.nc";

fn claim_of(source: &str, job: &str, version: &str, lease_secs: i64) -> Claim {
    let now = Utc::now();
    Claim {
        source: source.into(),
        source_version: version.into(),
        job_id: job.into(),
        pipeline: "anmn".into(),
        now,
        lease_until: now + Duration::seconds(lease_secs),
    }
}

fn claim(job: &str, version: &str, lease_secs: i64) -> Claim {
    claim_of(SOURCE, job, version, lease_secs)
}

fn record(dest: &str, job: &str) -> FileRecord {
    FileRecord {
        dest_path: dest.into(),
        pipeline: "anmn".into(),
        source: SOURCE.into(),
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
        source: SOURCE.into(),
        source_version: version.into(),
        changes,
        now: Utc::now(),
        in_commit: Vec::new(),
    }
}

fn end(job: &str, version: &str, state: Option<LedgerState>, outcome: &str) -> JobEnd {
    JobEnd {
        job_id: job.into(),
        source: SOURCE.into(),
        source_version: version.into(),
        pipeline: "anmn".into(),
        ledger_state: state,
        outcome: outcome.into(),
        started_at: Utc::now(),
        finished_at: Utc::now(),
        report_url: Some(format!("file:///reports/{job}.json")),
        facts: JobFacts::default(),
    }
}

async fn ledger_state(index: &dyn Index, version: &str) -> LedgerState {
    index.ledger(SOURCE, version).await.unwrap().unwrap().state
}

async fn listed(index: &dyn Index, prefix: &str) -> Vec<String> {
    index
        .list(prefix)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.record.dest_path)
        .collect()
}

/// Of two jobs claiming one upload version, the first wins and the second sees it in progress;
/// another version of the same key is a separate upload.
pub async fn the_first_claim_wins_while_its_lease_is_live(index: &dyn Index) {
    assert_eq!(
        index.claim(&claim("C1", "claim-v1", 600)).await.unwrap(),
        ClaimOutcome::Claimed { took_over: None }
    );
    match index.claim(&claim("C2", "claim-v1", 600)).await.unwrap() {
        ClaimOutcome::InProgress { job_id, .. } => assert_eq!(job_id, "C1"),
        other => panic!("expected InProgress, got {other:?}"),
    }
    assert_eq!(
        index.claim(&claim("C3", "claim-v2", 600)).await.unwrap(),
        ClaimOutcome::Claimed { took_over: None }
    );
}

/// The harvest commits every change and moves the ledger to published, atomically; every field
/// round-trips; a published upload is a duplicate for any later job.
pub async fn a_commit_harvests_every_change_and_publishes_the_upload(index: &dyn Index) {
    index.claim(&claim("J1", "v1", 600)).await.unwrap();
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
    assert!(index.get("IMOS/A/b.nc").await.unwrap().is_some());
    assert_eq!(ledger_state(index, "v1").await, LedgerState::Published);
    match index.claim(&claim("J4", "v1", 600)).await.unwrap() {
        ClaimOutcome::AlreadyDone { job_id, state } => {
            assert_eq!((job_id.as_str(), state), ("J1", LedgerState::Published))
        }
        other => panic!("expected AlreadyDone, got {other:?}"),
    }
}

fn own(area: Area, path: &str, pipeline: &str, job: &str) -> IndexChange {
    IndexChange::Own(Ownership {
        area,
        path: path.into(),
        pipeline: pipeline.into(),
        job_id: job.into(),
    })
}

/// The owners of `paths`, as (path, pipeline).
async fn owners(index: &dyn Index, area: Area, paths: &[&str]) -> Vec<(String, String)> {
    let paths: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
    let mut out: Vec<(String, String)> = index
        .path_owners(area, &paths)
        .await
        .unwrap()
        .into_iter()
        .map(|o| (o.ownership.path, o.ownership.pipeline))
        .collect();
    out.sort();
    out
}

/// A commit records the owner of every path it names — harvested or not, in the public store or
/// the archive — and the same pipeline committing again keeps it; the areas are apart.
pub async fn the_first_owner_of_a_path_is_recorded_in_the_commit_and_kept(index: &dyn Index) {
    index.claim(&claim("O1", "own-v1", 600)).await.unwrap();
    assert!(
        index
            .commit(&batch(
                "O1",
                "own-v1",
                vec![
                    IndexChange::Upsert(record("OWN/harvested.nc", "O1")),
                    own(Area::Public, "OWN/harvested.nc", "anmn", "O1"),
                    own(Area::Public, "OWN/upload_only.nc", "anmn", "O1"),
                    own(Area::Archive, "OWN/archive_only.nc", "anmn", "O1"),
                ],
            ))
            .await
            .unwrap()
    );
    assert_eq!(
        owners(
            index,
            Area::Public,
            &["OWN/harvested.nc", "OWN/upload_only.nc", "OWN/none.nc"]
        )
        .await,
        [
            ("OWN/harvested.nc".to_string(), "anmn".to_string()),
            ("OWN/upload_only.nc".to_string(), "anmn".to_string())
        ]
    );
    assert_eq!(
        owners(
            index,
            Area::Archive,
            &["OWN/archive_only.nc", "OWN/upload_only.nc"]
        )
        .await,
        [("OWN/archive_only.nc".to_string(), "anmn".to_string())]
    );
    index.claim(&claim("O2", "own-v2", 600)).await.unwrap();
    assert!(
        index
            .commit(&batch(
                "O2",
                "own-v2",
                vec![own(Area::Public, "OWN/upload_only.nc", "anmn", "O2")],
            ))
            .await
            .unwrap()
    );
    let first = index
        .path_owners(Area::Public, &["OWN/upload_only.nc".to_string()])
        .await
        .unwrap();
    assert_eq!(
        first[0].ownership.job_id, "O1",
        "the first owner's job stays"
    );
}

/// A commit naming a path another pipeline owns is refused as a conflict that names both
/// pipelines, and applies nothing: no row, no owner, the ledger not moved.
pub async fn a_commit_touching_another_pipelines_path_applies_nothing(index: &dyn Index) {
    index.claim(&claim("P1", "taken-v1", 600)).await.unwrap();
    assert!(
        index
            .commit(&batch(
                "P1",
                "taken-v1",
                vec![own(Area::Public, "TAKEN/theirs.nc", "first", "P1")],
            ))
            .await
            .unwrap()
    );
    index.claim(&claim("P2", "taken-v2", 600)).await.unwrap();
    let err = index
        .commit(&batch(
            "P2",
            "taken-v2",
            vec![
                IndexChange::Upsert(record("TAKEN/mine.nc", "P2")),
                own(Area::Public, "TAKEN/mine.nc", "second", "P2"),
                IndexChange::Upsert(record("TAKEN/theirs.nc", "P2")),
                own(Area::Public, "TAKEN/theirs.nc", "second", "P2"),
            ],
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict, "{err}");
    assert!(
        err.to_string().contains(
            "TAKEN/theirs.nc in the public store belongs to pipeline first; pipeline second may not"
        ),
        "{err}"
    );
    assert!(index.get("TAKEN/mine.nc").await.unwrap().is_none());
    assert!(index.get("TAKEN/theirs.nc").await.unwrap().is_none());
    assert_eq!(
        owners(index, Area::Public, &["TAKEN/mine.nc", "TAKEN/theirs.nc"]).await,
        [("TAKEN/theirs.nc".to_string(), "first".to_string())]
    );
    assert_eq!(ledger_state(index, "taken-v2").await, LedgerState::Running);
}

/// Finishing records the job and its final state; a failure after publication keeps the upload
/// published.
pub async fn finishing_records_the_job_and_never_unpublishes(index: &dyn Index) {
    index.claim(&claim("F1", "finish-v1", 600)).await.unwrap();
    index
        .commit(&batch(
            "F1",
            "finish-v1",
            vec![IndexChange::Upsert(record("IMOS/F/a.nc", "F1"))],
        ))
        .await
        .unwrap();
    index
        .finish(&end(
            "F1",
            "finish-v1",
            Some(LedgerState::Failed),
            "failed_internal",
        ))
        .await
        .unwrap();
    assert_eq!(
        ledger_state(index, "finish-v1").await,
        LedgerState::Published
    );
    index
        .finish(&end(
            "F1",
            "finish-v1",
            Some(LedgerState::Succeeded),
            "published",
        ))
        .await
        .unwrap();
    assert_eq!(
        ledger_state(index, "finish-v1").await,
        LedgerState::Succeeded
    );
    let job = index.job("F1").await.unwrap().expect("job history row");
    assert_eq!(job.outcome, "published");
    assert_eq!(job.report_url.as_deref(), Some("file:///reports/F1.json"));
}

/// A rejected or failed upload can be claimed again; an expired lease can be taken over.
pub async fn rejected_and_expired_claims_are_taken_over(index: &dyn Index) {
    index.claim(&claim("T3", "take-v2", 600)).await.unwrap();
    index
        .finish(&end(
            "T3",
            "take-v2",
            Some(LedgerState::Rejected),
            "rejected",
        ))
        .await
        .unwrap();
    assert_eq!(
        index.claim(&claim("T5", "take-v2", 600)).await.unwrap(),
        ClaimOutcome::Claimed {
            took_over: Some("T3".into())
        }
    );
    assert_eq!(
        index.claim(&claim("T6", "take-v3", -1)).await.unwrap(),
        ClaimOutcome::Claimed { took_over: None }
    );
    assert_eq!(
        index.claim(&claim("T7", "take-v3", 600)).await.unwrap(),
        ClaimOutcome::Claimed {
            took_over: Some("T6".into())
        }
    );
}

/// A job that never claimed (a duplicate, a deferral) is in the job history but leaves the
/// ledger to the job that holds the claim.
pub async fn a_job_that_never_claimed_leaves_the_ledger_alone(index: &dyn Index) {
    index.claim(&claim("N7", "never-v3", 600)).await.unwrap();
    index
        .finish(&end("N8", "never-v3", None, "duplicate"))
        .await
        .unwrap();
    assert_eq!(
        index
            .ledger(SOURCE, "never-v3")
            .await
            .unwrap()
            .unwrap()
            .job_id,
        "N7"
    );
    assert_eq!(index.job("N8").await.unwrap().unwrap().outcome, "duplicate");
}

/// Unharvest marks a row deleted; harvesting it again clears the flag and keeps the time it was
/// first indexed.
pub async fn unharvest_marks_deleted_and_a_reharvest_restores(index: &dyn Index) {
    index
        .claim(&claim("U1", "unharvest-v1", 600))
        .await
        .unwrap();
    index
        .commit(&batch(
            "U1",
            "unharvest-v1",
            vec![IndexChange::Upsert(record("IMOS/U/a.nc", "U1"))],
        ))
        .await
        .unwrap();
    let row = index.get("IMOS/U/a.nc").await.unwrap().unwrap();
    index
        .claim(&claim("U5", "unharvest-v2", 600))
        .await
        .unwrap();
    index
        .commit(&batch(
            "U5",
            "unharvest-v2",
            vec![IndexChange::MarkDeleted {
                dest_path: "IMOS/U/a.nc".into(),
                job_id: "U5".into(),
            }],
        ))
        .await
        .unwrap();
    let deleted = index.get("IMOS/U/a.nc").await.unwrap().unwrap();
    assert!(deleted.deleted);
    assert_eq!(deleted.record.job_id, "U5");
    index
        .claim(&claim("U7", "unharvest-v3", 600))
        .await
        .unwrap();
    index
        .commit(&batch(
            "U7",
            "unharvest-v3",
            vec![IndexChange::Upsert(record("IMOS/U/a.nc", "U7"))],
        ))
        .await
        .unwrap();
    let back = index.get("IMOS/U/a.nc").await.unwrap().unwrap();
    assert!(!back.deleted);
    assert_eq!(back.first_indexed, row.first_indexed);
    assert!(back.last_indexed >= row.last_indexed);
}

/// Marking a row that does not exist deleted changes nothing and is no error.
pub async fn marking_a_missing_row_deleted_is_a_no_op(index: &dyn Index) {
    index.claim(&claim("M7", "missing-v3", 600)).await.unwrap();
    index
        .commit(&batch(
            "M7",
            "missing-v3",
            vec![IndexChange::MarkDeleted {
                dest_path: "IMOS/none.nc".into(),
                job_id: "M7".into(),
            }],
        ))
        .await
        .unwrap();
    assert_eq!(index.get("IMOS/none.nc").await.unwrap(), None);
}

/// Listing by prefix is sorted by destination; `_` and `%` in a prefix are literal.
pub async fn listings_take_the_prefix_literally_and_sort(index: &dyn Index) {
    index.claim(&claim("L7", "list-v3", 600)).await.unwrap();
    index
        .commit(&batch(
            "L7",
            "list-v3",
            vec![
                IndexChange::Upsert(record("LIST/B_x/c.nc", "L7")),
                IndexChange::Upsert(record("LIST/Bax/d.nc", "L7")),
                IndexChange::Upsert(record("LIST/A/b.nc", "L7")),
                IndexChange::Upsert(record("LIST/A/a.nc", "L7")),
                IndexChange::Upsert(record("LIST/C%/e.nc", "L7")),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(
        listed(index, "LIST/A/").await,
        ["LIST/A/a.nc", "LIST/A/b.nc"]
    );
    assert_eq!(listed(index, "LIST/B_").await, ["LIST/B_x/c.nc"]);
    assert_eq!(listed(index, "LIST/C%").await, ["LIST/C%/e.nc"]);
    assert_eq!(listed(index, "LIST/").await.len(), 5);
    assert!(listed(index, "").await.len() >= 5);
}

/// Of many jobs claiming one upload at once, exactly one wins.
pub async fn concurrent_claims_have_one_winner(index: &dyn Index) {
    let source = "s3://incoming/ANMN/raced.nc";
    let claims: Vec<Claim> = (0..16)
        .map(|i| claim_of(source, &format!("R{i}"), "race", 600))
        .collect();
    let outcomes = futures::future::join_all(claims.iter().map(|c| index.claim(c))).await;
    let winners = outcomes
        .into_iter()
        .map(Result::unwrap)
        .filter(|o| matches!(o, ClaimOutcome::Claimed { .. }))
        .count();
    assert_eq!(winners, 1);
}

/// A time in 2001, to the millisecond: the history guarantees work on a stretch of time no other
/// guarantee's jobs (which finish now) fall in.
fn in_2001(day: u32, h: u32, m: u32, ms: i64) -> DateTime<Utc> {
    chrono::NaiveDate::from_ymd_opt(2001, 1, day)
        .unwrap()
        .and_hms_opt(h, m, 0)
        .unwrap()
        .and_utc()
        + Duration::milliseconds(ms)
}

/// The end of job `job` (outcome `outcome`) at `finished`.
fn ended(job: &str, outcome: &str, finished: DateTime<Utc>) -> JobEnd {
    JobEnd {
        job_id: job.into(),
        source: format!("s3://incoming/HISTORY/{job}.nc"),
        source_version: format!("v-{job}"),
        pipeline: "history".into(),
        ledger_state: None,
        outcome: outcome.into(),
        started_at: finished - Duration::seconds(5),
        finished_at: finished,
        report_url: Some(format!("s3://reports/history/{job}.json")),
        facts: JobFacts::default(),
    }
}

async fn history_ids(index: &dyn Index, since: DateTime<Utc>, until: DateTime<Utc>) -> Vec<String> {
    index
        .history(since, until)
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.job_id)
        .collect()
}

/// `history(since, until)` is exactly the jobs that finished at or after `since` and before
/// `until`, oldest first, ties by job id; a job finished twice (a retry of its end) is there
/// once, as it ended last.
pub async fn the_history_is_the_jobs_finished_in_a_window_oldest_first(index: &dyn Index) {
    let ends = [
        ("H3", in_2001(2, 10, 0, 0)),
        ("H1", in_2001(1, 23, 59, 999)),
        ("H5", in_2001(3, 0, 0, 0)),
        ("H4", in_2001(2, 10, 0, 0)),
        ("H2", in_2001(2, 0, 0, 0)),
    ];
    for (job, at) in ends {
        index.finish(&ended(job, "rejected", at)).await.unwrap();
    }
    let (day2, day3) = (in_2001(2, 0, 0, 0), in_2001(3, 0, 0, 0));
    assert_eq!(
        history_ids(index, day2, day3).await,
        ["H2", "H3", "H4"],
        "since included, until not, ties by id"
    );
    assert_eq!(
        history_ids(index, in_2001(1, 0, 0, 0), in_2001(4, 0, 0, 0)).await,
        ["H1", "H2", "H3", "H4", "H5"]
    );
    assert!(
        history_ids(index, in_2001(5, 0, 0, 0), in_2001(6, 0, 0, 0))
            .await
            .is_empty()
    );
    // A job's end recorded again (its finish retried) replaces the first, at its new time.
    index
        .finish(&ended("H2", "failed_transient", in_2001(2, 11, 0, 0)))
        .await
        .unwrap();
    assert_eq!(history_ids(index, day2, day3).await, ["H3", "H4", "H2"]);
    let rows = index.history(day2, day3).await.unwrap();
    assert_eq!(rows[2].outcome, "failed_transient");
}

/// Everything `finish` records comes back from `history` and `job`: the upload and publication
/// times to the millisecond, the files published, the error, the quick looks.
pub async fn the_history_keeps_what_each_job_recorded(index: &dyn Index) {
    let finished = in_2001(20, 12, 0, 250);
    let mut published = ended("K1", "published", finished);
    published.facts = JobFacts {
        uploaded_at: Some(in_2001(20, 11, 58, 1)),
        published_at: Some(in_2001(20, 11, 59, 999)),
        files_published: 3,
        error: None,
        plots: vec![
            "s3://reports/history/K1/a.nc.png".into(),
            "s3://reports/history/K1/b ü.nc.png".into(),
        ],
    };
    let mut rejected = ended("K2", "rejected", finished + Duration::milliseconds(1));
    rejected.facts.error =
        Some("IMOS_x.nc: 2 checks failed — «température» is not a CF standard name".into());
    for end in [&published, &rejected] {
        index.finish(end).await.unwrap();
    }
    let rows = index
        .history(in_2001(20, 0, 0, 0), in_2001(21, 0, 0, 0))
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    for (row, end) in rows.iter().zip([&published, &rejected]) {
        assert_eq!(row.job_id, end.job_id);
        assert_eq!(row.source, end.source);
        assert_eq!(row.source_version, end.source_version);
        assert_eq!(row.pipeline, end.pipeline);
        assert_eq!(row.outcome, end.outcome);
        assert_eq!(
            (row.started_at, row.finished_at),
            (end.started_at, end.finished_at)
        );
        assert_eq!(row.report_url, end.report_url);
        assert_eq!(row.facts, end.facts, "{}", end.job_id);
        assert_eq!(index.job(&end.job_id).await.unwrap().as_ref(), Some(row));
    }
}

/// `leases` lists exactly the rows still `running` or `published` (not finished), live or lapsed,
/// with the end of each lease; a row whose job finished is not there.
pub async fn leases_are_the_claims_whose_job_has_not_finished(index: &dyn Index) {
    let source = |name: &str| format!("s3://incoming/LEASES/{name}.nc");
    let mine =
        |leases: Vec<ocean_ingest::index::LeaseEntry>| -> Vec<(String, String, LedgerState)> {
            leases
                .into_iter()
                .map(|l| l.entry)
                .filter(|l| l.source.contains("/LEASES/"))
                .map(|l| {
                    (
                        l.job_id,
                        l.source.rsplit('/').next().unwrap().to_string(),
                        l.state,
                    )
                })
                .collect()
        };
    let live = claim_of(&source("live"), "LS1", "v1", 600);
    let lapsed = claim_of(&source("lapsed"), "LS2", "v1", -60);
    let committed = claim_of(&source("committed"), "LS3", "v1", 600);
    let done = claim_of(&source("done"), "LS4", "v1", 600);
    for c in [&live, &lapsed, &committed, &done] {
        index.claim(c).await.unwrap();
    }
    let commit = |c: &Claim| HarvestBatch {
        job_id: c.job_id.clone(),
        source: c.source.clone(),
        source_version: c.source_version.clone(),
        changes: vec![],
        now: Utc::now(),
        in_commit: Vec::new(),
    };
    assert!(index.commit(&commit(&committed)).await.unwrap());
    assert!(index.commit(&commit(&done)).await.unwrap());
    // The live job's heartbeat renews its lease: the list shows the renewed end, not the first.
    let live = later(&live, 0, 900);
    assert!(index.renew(&live).await.unwrap());
    index
        .finish(&JobEnd {
            job_id: "LS4".into(),
            source: done.source.clone(),
            source_version: "v1".into(),
            pipeline: "anmn".into(),
            ledger_state: Some(LedgerState::Succeeded),
            outcome: "published".into(),
            started_at: Utc::now(),
            finished_at: Utc::now(),
            report_url: None,
            facts: JobFacts::default(),
        })
        .await
        .unwrap();
    let leases = index.leases().await.unwrap();
    let mut listed = mine(leases.clone());
    listed.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        listed,
        [
            (
                "LS1".to_string(),
                "live.nc".to_string(),
                LedgerState::Running
            ),
            ("LS2".into(), "lapsed.nc".into(), LedgerState::Running),
            ("LS3".into(), "committed.nc".into(), LedgerState::Published),
        ]
    );
    let until = |job: &str| {
        leases
            .iter()
            .find(|l| l.entry.job_id == job)
            .unwrap()
            .lease_until
    };
    let near = |a: DateTime<Utc>, b: DateTime<Utc>| (a - b).num_milliseconds().abs() <= 1;
    assert!(
        near(until("LS1"), live.lease_until),
        "{} vs {}",
        until("LS1"),
        live.lease_until
    );
    assert!(near(until("LS2"), lapsed.lease_until));
    assert!(
        until("LS2") < Utc::now(),
        "a lapsed lease is listed with its end"
    );
    let entry = &leases
        .iter()
        .find(|l| l.entry.job_id == "LS1")
        .unwrap()
        .entry;
    assert_eq!(
        (entry.pipeline.as_str(), entry.source_version.as_str()),
        ("anmn", "v1")
    );
    // Oldest first.
    assert!(
        leases
            .windows(2)
            .all(|w| w[0].entry.updated_at <= w[1].entry.updated_at)
    );
}

/// `claim` as seen `secs` seconds from now, holding for `lease_secs` from then.
fn later(claim: &Claim, secs: i64, lease_secs: i64) -> Claim {
    let now = Utc::now() + Duration::seconds(secs);
    Claim {
        now,
        lease_until: now + Duration::seconds(lease_secs),
        ..claim.clone()
    }
}

fn journal_of(job: &str, n: i64) -> Journal {
    Journal {
        job_id: job.into(),
        entries: serde_json::json!([{ "place": "public", "key": format!("J/{n}.nc") }]),
    }
}

/// A renewal extends a live lease of the job's own, so no other job takes the upload over past
/// the first lease; a lease that lapsed is lost for good, even before anyone took it over, and a
/// job that does not hold the claim cannot renew it.
pub async fn a_lease_renews_only_while_live_and_held(index: &dyn Index) {
    let held = claim("L1", "lease-v1", 60);
    index.claim(&held).await.unwrap();
    assert!(
        index.renew(&later(&held, 30, 60)).await.unwrap(),
        "a live lease renews"
    );
    // Past the first lease (60 s) but within the renewed one (30 + 60 s): still the job's.
    match index
        .claim(&later(&claim("L2", "lease-v1", 60), 75, 60))
        .await
        .unwrap()
    {
        ClaimOutcome::InProgress { job_id, .. } => assert_eq!(job_id, "L1"),
        other => panic!("the renewed lease keeps the upload: {other:?}"),
    }
    assert!(
        !index
            .renew(&later(&claim("L2", "lease-v1", 60), 30, 60))
            .await
            .unwrap(),
        "a job that does not hold the claim cannot renew it"
    );
    let lapsed = claim("L3", "lease-v2", -1);
    index.claim(&lapsed).await.unwrap();
    assert!(
        !index.renew(&later(&lapsed, 0, 60)).await.unwrap(),
        "a lapsed lease is lost for good"
    );
}

/// Only the job holding a live claim records a journal or commits; a job whose upload was taken
/// over can do neither, and its commit applies nothing. `committed` tells whose commit took effect.
pub async fn journals_and_commits_need_the_claim(index: &dyn Index) {
    let first = claim("F1", "fence-v1", -1);
    index.claim(&first).await.unwrap();
    assert!(
        !index
            .record_journal(&first, &journal_of("F1", 1))
            .await
            .unwrap(),
        "no journal on a lapsed lease"
    );
    let second = claim("F2", "fence-v1", 600);
    assert_eq!(
        index.claim(&second).await.unwrap(),
        ClaimOutcome::Claimed {
            took_over: Some("F1".into())
        }
    );
    assert!(
        index
            .record_journal(&second, &journal_of("F2", 2))
            .await
            .unwrap()
    );
    assert_eq!(
        index.journal(SOURCE, "fence-v1").await.unwrap(),
        Some(journal_of("F2", 2))
    );
    let stale = batch(
        "F1",
        "fence-v1",
        vec![IndexChange::Upsert(record("FENCE/f1.nc", "F1"))],
    );
    assert!(
        !index.commit(&stale).await.unwrap(),
        "a taken-over job cannot commit"
    );
    assert!(
        index.get("FENCE/f1.nc").await.unwrap().is_none(),
        "nothing applied"
    );
    assert!(!index.committed(SOURCE, "fence-v1", "F1").await.unwrap());
    assert!(!index.committed(SOURCE, "fence-v1", "F2").await.unwrap());
    let fresh = batch(
        "F2",
        "fence-v1",
        vec![IndexChange::Upsert(record("FENCE/f2.nc", "F2"))],
    );
    assert!(index.commit(&fresh).await.unwrap());
    assert!(index.committed(SOURCE, "fence-v1", "F2").await.unwrap());
    assert!(!index.committed(SOURCE, "fence-v1", "F1").await.unwrap());
    assert_eq!(
        index.journal(SOURCE, "fence-v1").await.unwrap(),
        Some(journal_of("F2", 2)),
        "the journal stays for the job to settle"
    );
    // Only its own job clears a journal.
    index.clear_journal(SOURCE, "fence-v1", "F1").await.unwrap();
    assert!(index.journal(SOURCE, "fence-v1").await.unwrap().is_some());
    index.clear_journal(SOURCE, "fence-v1", "F2").await.unwrap();
    assert_eq!(index.journal(SOURCE, "fence-v1").await.unwrap(), None);
}

/// A journal is abandoned once its job's lease lapsed, or at once when its publish is committed;
/// a stash owner is live while its lease is, journaled while a journal names it, and gone after.
pub async fn abandoned_journals_and_stash_owners_follow_the_lease(index: &dyn Index) {
    let mine = |rows: Vec<ocean_ingest::index::Abandoned>| -> Vec<(String, LedgerState)> {
        rows.into_iter()
            .filter(|r| r.source_version.starts_with("abandon-"))
            .map(|r| (r.source_version, r.state))
            .collect()
    };
    let running = claim("A1", "abandon-v1", 60);
    index.claim(&running).await.unwrap();
    assert!(
        index
            .record_journal(&running, &journal_of("A1", 1))
            .await
            .unwrap()
    );
    let done = claim("A2", "abandon-v2", 600);
    index.claim(&done).await.unwrap();
    assert!(
        index
            .record_journal(&done, &journal_of("A2", 2))
            .await
            .unwrap()
    );
    assert!(
        index
            .commit(&batch("A2", "abandon-v2", vec![]))
            .await
            .unwrap()
    );

    let now = Utc::now();
    assert_eq!(
        mine(index.abandoned("anmn", now).await.unwrap()),
        vec![("abandon-v2".to_string(), LedgerState::Published)],
        "a live job's journal is its own; a committed one is anyone's to settle"
    );
    let past = now + Duration::seconds(120);
    let rows = index.abandoned("anmn", past).await.unwrap();
    let found = rows
        .iter()
        .find(|r| r.source_version == "abandon-v1")
        .expect("a lapsed job's journal is abandoned");
    assert_eq!(found.journal, journal_of("A1", 1));
    assert_eq!(found.pipeline, "anmn");
    assert_eq!(
        mine(rows),
        vec![
            ("abandon-v1".to_string(), LedgerState::Running),
            ("abandon-v2".to_string(), LedgerState::Published),
        ]
    );
    assert!(
        mine(index.abandoned("other", past).await.unwrap()).is_empty(),
        "only the pipeline's own rows"
    );

    assert_eq!(index.owner("A1", now).await.unwrap(), Owner::Live);
    assert_eq!(index.owner("A1", past).await.unwrap(), Owner::Journaled);
    index
        .clear_journal(SOURCE, "abandon-v1", "A1")
        .await
        .unwrap();
    assert_eq!(index.owner("A1", past).await.unwrap(), Owner::Gone);
    assert_eq!(index.owner("never-ran", now).await.unwrap(), Owner::Gone);
}

/// A job that took a row over only to recover it gives it back in the state asked, journal
/// cleared and claim free; a job that does not hold the row changes nothing.
pub async fn a_recovered_row_is_given_back(index: &dyn Index) {
    let dead = claim("G1", "give-v1", -1);
    index.claim(&dead).await.unwrap();
    let adopter = claim("G2", "give-v1", 600);
    index.claim(&adopter).await.unwrap();
    assert!(
        index
            .record_journal(&adopter, &journal_of("G2", 1))
            .await
            .unwrap()
    );
    index
        .release(SOURCE, "give-v1", "G1", LedgerState::Failed)
        .await
        .unwrap();
    assert_eq!(ledger_state(index, "give-v1").await, LedgerState::Running);
    assert!(index.journal(SOURCE, "give-v1").await.unwrap().is_some());
    index
        .release(SOURCE, "give-v1", "G2", LedgerState::Failed)
        .await
        .unwrap();
    assert_eq!(ledger_state(index, "give-v1").await, LedgerState::Failed);
    assert_eq!(index.journal(SOURCE, "give-v1").await.unwrap(), None);
    assert!(matches!(
        index.claim(&claim("G3", "give-v1", 600)).await.unwrap(),
        ClaimOutcome::Claimed { .. }
    ));
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
    let entry = index.ledger(SOURCE, "race").await.unwrap().unwrap();
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
