//! `ocean-ingest status` after a scripted mix of real jobs (the binary, `run --incoming-key`):
//! published in two pipelines, rejected by the checks, a duplicate, an upload no pipeline claims,
//! an upload deferred because another job holds its claim (transient) and later retried once
//! that claim lapsed, and a claim a killed job left behind. On the embedded default (folders and
//! SQLite) and on S3 (moto) with PostgreSQL, `status --format json` reports exactly those counts,
//! failures and claims; `status --unrouted` lists the upload no pipeline routes.

use std::path::PathBuf;

use chrono::{DateTime, Duration, Utc};
use ocean_ingest::index::{Claim, ClaimOutcome, Index};
use ocean_ingest::store::{Key, ObjectStore, local::LocalStore};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::*;
use crate::servers::{Moto, PgDb, moto, pg};

/// Where the scripted uploads arrive.
pub enum Incoming {
    Local(LocalStore),
    S3 { moto: Moto, bucket: String },
}

/// A deployment the mix runs on: the binary's settings, the index (for the claims of jobs that
/// are not this binary's), and the incoming store.
pub struct Stage {
    pub env: Env,
    pub index: Box<dyn Index>,
    pub incoming: Incoming,
    /// Kept for the test's length (the database is dropped with it).
    _db: Option<PgDb>,
    /// The S3 bucket holding reports, for the production stage.
    reports_bucket: Option<String>,
}

/// The keys of the mix, as uploaded.
pub const P1: &str = "ANMN/NRS/IMOS_ANMN-NRS_CDEKOSTUZ_20140703T021045Z_NRSMAI_FV01_Profile-SBE-19plus_C-20160524T003914Z.nc";
pub const P2: &str = "ANMN/NRS/IMOS_ANMN-NRS_TZ_20180406T080000Z_NRSROT_FV01_NRSROT-1804-SBE39-27_END-20180413T064000Z_C-20200313T000000Z.nc";
pub const R1: &str = "ANMN/NRS/IMOS_ANMN-NRS_CDEKOSTUZ_20140703T021045Z_NRSMAI_FV00_Profile-BAD_C-20160524T003914Z.nc";
pub const T1: &str = "SRS/IMOS_SRSALT_PT_20160919T020500Z_BASS3A_FV01_SBE26d49m.nc";
pub const U1: &str = "ANMN/notes.txt";
/// Left in the incoming store: no pipeline routes it, no job runs it.
pub const WAITING: &str = "ANMN/README.txt";
/// The upload a killed job left claimed.
pub const KILLED: &str = "ACORN/IMOS_ACORN_V_20101201T050000Z_BONC_FV00_sea-state.nc";

impl Stage {
    /// The embedded default in a throwaway home.
    pub async fn embedded() -> Stage {
        let env = Env::new();
        let index =
            ocean_ingest::index::sqlite::SqliteIndex::open(&env.home().join("index.sqlite"))
                .await
                .unwrap();
        let incoming = LocalStore::open(&env.home().join("incoming")).unwrap();
        Stage {
            env,
            index: Box::new(index),
            incoming: Incoming::Local(incoming),
            _db: None,
            reports_bucket: None,
        }
    }

    /// S3 buckets on moto and a PostgreSQL index, as production runs; `None` when skipped.
    pub async fn production() -> Option<Stage> {
        let moto = moto().await?;
        let db = pg().await?;
        // The example pipelines harvest collections with geometry columns.
        crate::harvest::postgis(&db).await;
        let incoming = moto.bucket("incoming", false).await;
        let archive = moto.bucket("archive", true).await;
        let public = moto.bucket("public", true).await;
        let error = moto.bucket("error", true).await;
        let mut env = Env::new();
        moto.configure(&mut env);
        env.set("INGEST_INCOMING_URL", format!("s3://{incoming}"))
            .set("INGEST_ARCHIVE_URL", format!("s3://{archive}"))
            .set("INGEST_PUBLIC_URL", format!("s3://{public}"))
            .set("INGEST_ERROR_URL", format!("s3://{error}/errors"))
            .set("INGEST_REPORTS_URL", format!("s3://{error}/reports"))
            .set("INGEST_INDEX_URL", &db.url);
        // Remote boundaries take no pipelines compiled in: the example file, named.
        env.example_pipelines();
        let index = ocean_ingest::index::postgres::PostgresIndex::open(
            &db.url,
            &crate::servers::timeouts(),
        )
        .await
        .unwrap();
        Some(Stage {
            env,
            index: Box::new(index),
            incoming: Incoming::S3 {
                moto,
                bucket: incoming,
            },
            _db: Some(db),
            reports_bucket: Some(error),
        })
    }

    /// Puts a bundled file (or text) into the incoming store under `key`.
    pub async fn upload(&self, key: &str, bytes: Vec<u8>) {
        match &self.incoming {
            Incoming::Local(store) => {
                store
                    .put_bytes(&Key::new(key).unwrap(), bytes, &Default::default())
                    .await
                    .unwrap();
            }
            Incoming::S3 { moto, bucket } => moto.put(bucket, key, bytes).await,
        }
    }

    /// The upload's source URI, as its job records it.
    pub fn source(&self, key: &str) -> String {
        match &self.incoming {
            Incoming::Local(store) => store.url_of(&Key::new(key).unwrap()),
            Incoming::S3 { bucket, .. } => format!("s3://{bucket}/{key}"),
        }
    }

    /// Runs the job of an incoming key; its report.
    pub fn run(&self, key: &str) -> Value {
        let run = self
            .env
            .run(&["run", "--output", "json", "--incoming-key", key]);
        let report = run.report();
        assert_eq!(
            i64::from(run.code),
            report["exit_code"].as_i64().unwrap(),
            "{}",
            run.stderr
        );
        report
    }

    /// `status --format json` (plus `extra` arguments).
    pub fn status(&self, extra: &[&str]) -> Value {
        let mut args = vec!["status", "--format", "json"];
        args.extend(extra);
        let run = self.env.run(&args);
        assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
        serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", run.stdout, run.stderr))
    }

    /// Whether the report a status links to is stored there.
    pub async fn report_exists(&self, url: &str) -> bool {
        if let Some(path) = url.strip_prefix("file://") {
            let path = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
            return PathBuf::from(path.as_ref()).is_file();
        }
        let (Incoming::S3 { moto, .. }, Some(bucket)) = (&self.incoming, &self.reports_bucket)
        else {
            panic!("a report at {url} on a local stage");
        };
        let key = url
            .strip_prefix(&format!("s3://{bucket}/"))
            .unwrap_or_else(|| panic!("{url} is not in s3://{bucket}"));
        moto.get(bucket, key).await.is_some()
    }

    /// Claims an upload for a job that is not this binary's (another job at work, or one that
    /// was killed), with a lease ending `lease` from now.
    pub async fn claim_for(
        &self,
        job: &str,
        key: &str,
        bytes: &[u8],
        pipeline: &str,
        lease: Duration,
    ) {
        let now = Utc::now();
        let outcome = self
            .index
            .claim(&Claim {
                source: self.source(key),
                source_version: hex::encode(Sha256::digest(bytes)),
                job_id: job.into(),
                pipeline: pipeline.into(),
                now,
                lease_until: now + lease,
            })
            .await
            .unwrap();
        assert!(
            matches!(outcome, ClaimOutcome::Claimed { .. }),
            "{outcome:?}"
        );
    }
}

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(data(name)).unwrap()
}

/// The job ids of the mix, by what each job did.
#[derive(Debug, Default)]
pub struct Mix {
    pub published: String,
    pub timeseries: String,
    pub rejected: String,
    pub duplicate: String,
    pub unrouted: String,
    pub deferred: String,
}

/// Runs the first part of the mix: every outcome, and the two foreign claims (a live one that
/// defers T1's job, a lapsed one a killed job left on KILLED).
pub async fn run_mix(stage: &Stage) -> Mix {
    let mut mix = Mix::default();
    let outcome = |r: &Value, want: &str| {
        assert_eq!(r["outcome"], want, "{r:#}");
        r["job_id"].as_str().unwrap().to_string()
    };
    stage.upload(P1, bytes(PROFILE)).await;
    mix.published = outcome(&stage.run(P1), "published");
    stage.upload(P2, bytes(TEMPERATURE)).await;
    mix.timeseries = outcome(&stage.run(P2), "published");
    stage.upload(R1, bytes(PROFILE_BAD)).await;
    mix.rejected = outcome(&stage.run(R1), "rejected");
    // The same profile uploaded again: already ingested.
    stage.upload(P1, bytes(PROFILE)).await;
    mix.duplicate = outcome(&stage.run(P1), "duplicate");
    stage.upload(U1, b"field notes".to_vec()).await;
    mix.unrouted = outcome(&stage.run(U1), "rejected");
    stage.upload(WAITING, b"read me".to_vec()).await;
    // Another job is ingesting T1: this one is deferred (exit 75) and Batch would retry it.
    stage.upload(T1, bytes(SRS_ALT)).await;
    stage
        .claim_for(
            "holder",
            T1,
            &bytes(SRS_ALT),
            "srs_altimetry",
            Duration::minutes(30),
        )
        .await;
    let deferred = stage.run(T1);
    assert_eq!(deferred["exit_code"], 75, "{deferred:#}");
    mix.deferred = outcome(&deferred, "failed_transient");
    // A job claimed KILLED and was killed: its lease ran out an hour ago.
    stage
        .claim_for(
            "killed",
            KILLED,
            &bytes(ACORN),
            "acorn",
            Duration::hours(-1),
        )
        .await;
    mix
}

fn counts(status: &Value, pipeline: &str) -> Value {
    let p = status["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pipeline"] == pipeline)
        .unwrap_or_else(|| panic!("no pipeline {pipeline} in {status:#}"));
    json!({
        "jobs": p["jobs"], "uploads": p["uploads"], "published": p["published"],
        "files_published": p["files_published"], "rejected": p["rejected"],
        "duplicate": p["duplicate"], "failed": p["failed"],
        "failed_transient": p["failed_transient"], "failed_internal": p["failed_internal"],
    })
}

fn c(
    jobs: u64,
    uploads: u64,
    published: u64,
    files: u64,
    rejected: u64,
    duplicate: u64,
    transient: u64,
) -> Value {
    json!({
        "jobs": jobs, "uploads": uploads, "published": published, "files_published": files,
        "rejected": rejected, "duplicate": duplicate, "failed": transient,
        "failed_transient": transient, "failed_internal": 0,
    })
}

fn ids(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|f| f["job_id"].as_str().unwrap())
        .collect()
}

/// The status after the first part of the mix, then after the holder's lease lapsed and T1 was
/// retried.
async fn check_status(stage: &Stage) {
    let mix = run_mix(stage).await;
    let status = stage.status(&[]);
    assert_eq!(
        counts(&status, "anmn_nrs"),
        c(3, 2, 1, 1, 1, 1, 0),
        "{status:#}"
    );
    assert_eq!(
        counts(&status, "anmn_nrs_timeseries"),
        c(1, 1, 1, 1, 0, 0, 0)
    );
    assert_eq!(counts(&status, "srs_altimetry"), c(1, 1, 0, 0, 0, 0, 1));
    assert_eq!(counts(&status, "_unrouted"), c(1, 1, 0, 0, 1, 0, 0));
    assert_eq!(
        counts(&status, "acorn"),
        c(0, 0, 0, 0, 0, 0, 0),
        "a quiet stream says so"
    );
    let totals = &status["totals"];
    assert_eq!(
        (
            &totals["jobs"],
            &totals["uploads"],
            &totals["published"],
            &totals["rejected"]
        ),
        (&json!(6), &json!(5), &json!(2), &json!(2))
    );
    assert_eq!(
        (&totals["duplicate"], &totals["failed"]),
        (&json!(1), &json!(1))
    );
    // Latency: both publications measured from their upload's arrival in the incoming store.
    let latency = &status["latency"];
    assert_eq!(
        (&latency["count"], &latency["from_job_start"]),
        (&json!(2), &json!(0))
    );
    let (median, max) = (
        latency["median_seconds"].as_f64().unwrap(),
        latency["max_seconds"].as_f64().unwrap(),
    );
    assert!((0.0..=max).contains(&median) && max < 600.0, "{latency}");
    assert_eq!(status["pipelines"][0]["latency"]["count"], 1);
    // Failures, newest first, each with its reason and a report that is stored where it says.
    let failures = &status["failures"];
    assert_eq!(ids(failures), [&mix.deferred, &mix.unrouted, &mix.rejected]);
    let reason = |i: usize| failures[i]["reason"].as_str().unwrap_or_default();
    assert!(
        reason(0).contains("job holder holds a live claim"),
        "{}",
        reason(0)
    );
    assert!(reason(1).contains("no pipeline claims"), "{}", reason(1));
    assert!(reason(2).contains("failed cf:1.6"), "{}", reason(2));
    assert_eq!(failures[0]["outcome"], "failed_transient");
    assert_eq!(failures[0]["pipeline"], "srs_altimetry");
    assert_eq!(failures[2]["name"], R1.rsplit('/').next().unwrap());
    for f in failures.as_array().unwrap() {
        let report = f["report"].as_str().unwrap();
        assert!(stage.report_exists(report).await, "{report} is not stored");
        assert_eq!(f["later"], Value::Null);
    }
    // Claims: the holder's is live; the killed job's lapsed.
    let leases = &status["leases"];
    assert_eq!(ids(&leases["held"]), ["holder"]);
    assert_eq!(leases["held"][0]["source"], stage.source(T1));
    assert_eq!(leases["held"][0]["state"], "running");
    assert_eq!(ids(&leases["expired"]), ["killed"]);
    assert_eq!(leases["expired"][0]["pipeline"], "acorn");
    // The publications, newest first.
    assert_eq!(
        ids(&status["publications"]),
        [&mix.timeseries, &mix.published]
    );

    // The holder's lease lapses (its job died); the retried job takes the upload over.
    stage
        .claim_for(
            "holder",
            T1,
            &bytes(SRS_ALT),
            "srs_altimetry",
            Duration::seconds(-1),
        )
        .await;
    assert_eq!(
        ids(&stage.status(&[])["leases"]["expired"]),
        ["killed", "holder"]
    );
    let retried = stage.run(T1);
    assert_eq!(retried["outcome"], "published", "{retried:#}");
    assert!(
        retried["notes"]
            .to_string()
            .contains("took over from job holder"),
        "{retried:#}"
    );
    let status = stage.status(&["--since", "1h", "--failures", "2"]);
    assert_eq!(counts(&status, "srs_altimetry"), c(2, 1, 1, 1, 0, 0, 1));
    assert_eq!(
        ids(&status["failures"]),
        [&mix.deferred, &mix.unrouted],
        "--failures 2"
    );
    let later = &status["failures"][0]["later"];
    assert_eq!(
        (later["job_id"].as_str(), &later["outcome"]),
        (
            Some(retried["job_id"].as_str().unwrap()),
            &json!("published")
        )
    );
    assert_eq!(ids(&status["leases"]["held"]), Vec::<&str>::new());
    assert_eq!(ids(&status["leases"]["expired"]), ["killed"]);
    assert_eq!(status["latency"]["count"], 3);

    // The upload no pipeline routes still waits in the incoming store; T1's left it.
    let unrouted = stage.status(&["--unrouted"]);
    let keys: Vec<&str> = unrouted["unrouted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, [WAITING], "{unrouted:#}");
    assert!(unrouted["unrouted"][0]["waiting_seconds"].as_f64().unwrap() >= 0.0);
    let listed = stage.status(&["--unrouted", "--prefix", "SRS/"]);
    assert_eq!(listed["listed"], 0, "{listed:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn status_reports_the_mix_on_the_embedded_default() {
    let stage = Stage::embedded().await;
    check_status(&stage).await;
    // The text form: one aligned row per stream, the failures and the claims.
    let run = stage.env.run(&["status"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = run.stdout;
    let row = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no row {name}:\n{text}"))
            .to_string()
    };
    let header = text.lines().find(|l| l.starts_with("pipeline ")).unwrap();
    let column = header.find("failed").unwrap() + "failed".len();
    for name in ["anmn_nrs", "srs_altimetry", "acorn", "total"] {
        let r = row(name);
        assert!(
            r.len() >= column && r[..column].ends_with(|c: char| c.is_ascii_digit()),
            "the failed column lines up:\n{header}\n{r}"
        );
    }
    assert!(
        row("srs_altimetry").split_whitespace().take(8).eq([
            "srs_altimetry",
            "2",
            "1",
            "1",
            "1",
            "0",
            "0",
            "1"
        ]),
        "{text}"
    );
    assert!(text.contains("Expired claims (1)"), "{text}");
    assert!(text.contains("since: job"), "{text}");
    let unrouted = stage.env.run(&["status", "--unrouted"]);
    assert!(unrouted.stdout.contains(WAITING), "{}", unrouted.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn status_reports_the_mix_on_s3_and_postgres() {
    let Some(stage) = Stage::production().await else {
        return;
    };
    check_status(&stage).await;
}

#[test]
fn status_refuses_a_window_it_cannot_read() {
    let env = Env::new();
    let run = env.run(&["status", "--since", "yesterday"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("such as 90m, 24h, 7d or 2w"),
        "{}",
        run.stderr
    );
    let run = env.run(&["status", "--prefix", "x/"]);
    assert_eq!(run.code, 2, "--prefix needs --unrouted: {}", run.stderr);
}

/// When the time an upload arrived, as the job records it, is the incoming object's.
#[tokio::test(flavor = "multi_thread")]
async fn a_job_records_when_its_upload_arrived() {
    let stage = Stage::embedded().await;
    stage.upload(P2, bytes(TEMPERATURE)).await;
    let Incoming::Local(store) = &stage.incoming else {
        unreachable!()
    };
    let written: DateTime<Utc> = std::fs::metadata(store.path_of(&Key::new(P2).unwrap()))
        .unwrap()
        .modified()
        .unwrap()
        .into();
    let report = stage.run(P2);
    let recorded: DateTime<Utc> = report["input"]["uploaded_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(recorded, written);
    let published: DateTime<Utc> = report["published_at"].as_str().unwrap().parse().unwrap();
    assert!(recorded <= published && published <= Utc::now());
    let job = stage
        .index
        .job(report["job_id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.facts.files_published, 1);
    assert_eq!(
        job.facts.plots.len(),
        1,
        "the temperature series' quick look"
    );
    assert!(
        job.facts.plots[0].ends_with(".nc.png"),
        "{:?}",
        job.facts.plots
    );
    // A local file given by path has no upload time: the job's start stands in.
    let local = stage.env.ingest(&data(ACORN)).report();
    assert_eq!(local["input"]["uploaded_at"], Value::Null);
}
