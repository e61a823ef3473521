//! Every log line of a job carries its `job_id` (and its `key`), even with two jobs running at
//! once in one process (`replay --inline --concurrency 2`), including the lines of the S3, SQLite
//! and PostgreSQL code and of blocking tasks: JSON logs at debug level, read back line by line.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::common::*;
use crate::servers::{moto, pg};

/// What the lines of a run say, grouped by the job each names.
struct Lines {
    /// Every stderr line, parsed, in order.
    all: Vec<Value>,
    /// Key → job id, from the replay's summary lines.
    jobs: BTreeMap<String, String>,
}

/// Runs `replay --inline --concurrency 2` over every incoming object, with debug logs of our code.
fn replay_two(env: &mut Env) -> Lines {
    env.set("RUST_LOG", "info,ocean_ingest=debug");
    let run = env.run(&["replay", "--inline", "--concurrency", "2", "--prefix", ""]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("replayed 2: ok 2"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    // `published: <url of the object> (job <id>)`
    let jobs: BTreeMap<String, String> = run
        .stdout
        .lines()
        .filter_map(|l| {
            let l = l.strip_prefix("published: ")?;
            let (url, job) = l.rsplit_once(" (job ")?;
            let key = url.rsplit('/').next()?.to_string();
            Some((key, job.trim_end_matches(')').to_string()))
        })
        .collect();
    assert_eq!(jobs.len(), 2, "{}", run.stdout);
    // Lines that are not JSON are not log lines: libnetcdf's HDF5 library prints its own
    // diagnostics to stderr.
    let all = run
        .stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| {
            serde_json::from_str::<Value>(l)
                .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {l}"))
        })
        .collect();
    Lines { all, jobs }
}

impl Lines {
    /// Asserts every line from the first job's first line to the last job's last names one of
    /// the two jobs and that job's key (the lines before and after are the process's own:
    /// opening the boundaries, listing the objects), that each job's lines include lines logged
    /// by `targets`, and that the two jobs ran at the same time.
    fn assert_each_line_names_its_job(&self, targets: &[&str]) {
        let key_of: BTreeMap<&str, &str> = self
            .jobs
            .iter()
            .map(|(k, j)| (j.as_str(), k.as_str()))
            .collect();
        let named = |l: &Value| l.get("job_id").is_some();
        let first = self.all.iter().position(named).expect("lines of the jobs");
        let last = self.all.iter().rposition(named).expect("lines of the jobs");
        let mut order = Vec::new();
        let mut seen: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        for line in &self.all[first..=last] {
            let job = line["job_id"]
                .as_str()
                .unwrap_or_else(|| panic!("a line without a job_id: {line}"));
            let key = key_of
                .get(job)
                .unwrap_or_else(|| panic!("a line naming an unknown job: {line}"));
            assert!(
                line["key"].as_str().is_some_and(|k| k.ends_with(key)),
                "a line of job {job} names another key: {line}"
            );
            let target = line["target"].as_str().unwrap_or_default();
            seen.entry(job).or_default().insert(target.to_string());
            if order.last() != Some(&job) {
                order.push(job);
            }
        }
        for (job, key) in &key_of {
            let targets_seen = &seen[job];
            for target in targets {
                assert!(
                    targets_seen.iter().any(|t| t.starts_with(target)),
                    "job {job} ({key}) logged nothing from {target}: {targets_seen:?}"
                );
            }
        }
        // A job's lines are not all together: the other job logged in between.
        assert!(
            order.len() > 2,
            "the two jobs did not run at the same time: {order:?}"
        );
    }
}

fn two_uploads(env: &Env) {
    let incoming = env.home().join("incoming");
    std::fs::create_dir_all(&incoming).unwrap();
    for name in [PROFILE, TEMPERATURE] {
        std::fs::copy(data(name), incoming.join(name)).unwrap();
    }
}

#[test]
fn two_jobs_at_once_each_log_line_names_its_own_job() {
    let mut env = Env::new();
    two_uploads(&env);
    let lines = replay_two(&mut env);
    lines.assert_each_line_names_its_job(&[
        "ocean_ingest::job",
        // Run on the blocking pool, inside the job's span.
        "ocean_ingest::index::sqlite",
    ]);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_jobs_at_once_on_s3_and_postgres_each_log_line_names_its_own_job() {
    let (Some(moto), Some(db)) = (moto().await, pg().await) else {
        return;
    };
    // The example pipeline harvests the temperature series into a collection with a geometry.
    crate::harvest::postgis(&db).await;
    let incoming = moto.bucket("incoming", false).await;
    let stores = moto.bucket("stores", true).await;
    for name in [PROFILE, TEMPERATURE] {
        moto.put(&incoming, name, std::fs::read(data(name)).unwrap())
            .await;
    }
    let mut env = Env::new();
    moto.configure(&mut env);
    env.example_pipelines()
        .set("INGEST_INCOMING_URL", format!("s3://{incoming}"))
        .set("INGEST_ARCHIVE_URL", format!("s3://{stores}/archive"))
        .set("INGEST_PUBLIC_URL", format!("s3://{stores}/public"))
        .set("INGEST_ERROR_URL", format!("s3://{stores}/error"))
        .set("INGEST_REPORTS_URL", format!("s3://{stores}/reports"))
        .set("INGEST_INDEX_URL", &db.url);
    let lines = tokio::task::spawn_blocking(move || replay_two(&mut env))
        .await
        .unwrap();
    lines.assert_each_line_names_its_job(&[
        "ocean_ingest::job",
        "ocean_ingest::store::s3",
        "ocean_ingest::index::postgres",
    ]);
}
