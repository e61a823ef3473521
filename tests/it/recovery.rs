//! Nothing lost, nothing overwritten, nothing stuck, nothing left behind: jobs run as the real
//! binary against S3/SQS, PostgreSQL and SMTP through the fault proxy (tests/it/fault_proxy.rs),
//! which stalls, resets or slows a server at a chosen point; jobs killed with SIGKILL at spread-out
//! moments and stopped with a double SIGTERM while publishing; a rejection whose error-store copy
//! fails. Every job ends 0 or 75 within its deadline, and after a rerun the public store and the
//! index agree, the upload is archived and gone from incoming, and no stash, journal or work
//! folder of a job is left.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ocean_ingest::error::Classify;

use crate::common::*;
use crate::fault_proxy::{Fault, Proxy, Trigger};
use crate::servers::{Moto, PgDb, moto, pg};

const PIPELINES: &str = r#"
[[pipeline]]
name = "faults"
keys = '^FAULTS/'
owners = ["owner@example.org"]
notify_success = ["owner@example.org"]

[[pipeline.files]]
include = '.*\.nc$'
check = "format"
dest = "FAULTS/{{ name }}"
"#;

const UPLOAD: &str = "FAULTS/batch.zip";

/// Deadlines short enough for tests, long enough for a loaded machine's healthy servers.
const SHORT: &[(&str, &str)] = &[
    ("INGEST_CONNECT_TIMEOUT_SECONDS", "2"),
    ("INGEST_REQUEST_TIMEOUT_SECONDS", "3"),
    ("INGEST_IDLE_TIMEOUT_SECONDS", "3"),
    ("INGEST_LEASE_SECONDS", "12"),
    ("INGEST_SMTP_TIMEOUT_SECONDS", "3"),
    ("INGEST_JOB_DEADLINE_SECONDS", "20"),
    ("AWS_MAX_ATTEMPTS", "2"),
];
/// The longest a job with [`SHORT`] may take: its deadline, then four calls with their retries
/// and a notification to roll back and report.
const JOB_BOUND: Duration = Duration::from_secs(20 + 4 * 6 + 3 + 5);

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(data(name)).unwrap()
}

/// The upload: a new file, and a new content for a file published before (an overwrite).
fn upload() -> Vec<u8> {
    zip_of(&[
        (PROFILE, &bytes(PROFILE)),
        ("replaced.nc", &bytes("test_manifest.nc")),
        (TEMPERATURE, &bytes(TEMPERATURE)),
    ])
}

fn first_upload() -> Vec<u8> {
    zip_of(&[("replaced.nc", &bytes("bad.nc"))])
}

fn socket(url: &str) -> SocketAddr {
    let rest = url.split("://").nth(1).unwrap();
    let host_port = rest.split(['/', '?']).next().unwrap();
    let host_port = host_port.rsplit('@').next().unwrap();
    host_port.parse().unwrap()
}

/// The production backends, each behind its own fault proxy.
struct Prod {
    rt: tokio::runtime::Runtime,
    moto: Moto,
    db: PgDb,
    env: Env,
    s3: Proxy,
    pg: Proxy,
    smtp: Proxy,
    buckets: BTreeMap<&'static str, String>,
}

impl Prod {
    fn new() -> Option<Prod> {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let moto = rt.block_on(moto())?;
        let db = rt.block_on(pg())?;
        let smtp_url = server("INGEST_TEST_SMTP_URL")?;
        let s3 = Proxy::spawn(socket(&moto.endpoint));
        let pg = Proxy::spawn(socket(&db.url));
        let smtp = Proxy::spawn(socket(&smtp_url));
        let mut buckets = BTreeMap::new();
        for (name, versioned) in [
            ("incoming", false),
            ("archive", true),
            ("public", false),
            ("error", false),
        ] {
            buckets.insert(
                name,
                rt.block_on(moto.bucket(&format!("r-{name}"), versioned)),
            );
        }
        let (queue, _) = rt.block_on(moto.queue("r-results"));
        let mut env = Env::new();
        env.pipelines(PIPELINES);
        moto.configure(&mut env);
        env.set("AWS_ENDPOINT_URL", format!("http://{}", s3.addr));
        let proxied = |name: &str| format!("s3://{}", buckets[name]);
        env.set("INGEST_INCOMING_URL", proxied("incoming"))
            .set("INGEST_ARCHIVE_URL", proxied("archive"))
            .set("INGEST_PUBLIC_URL", proxied("public"))
            .set("INGEST_ERROR_URL", format!("{}/errors", proxied("error")))
            .set(
                "INGEST_REPORTS_URL",
                format!("{}/reports", proxied("error")),
            )
            .set("INGEST_RESULTS_QUEUE_URL", queue)
            .set(
                "INGEST_INDEX_URL",
                format!(
                    "postgres://postgres@{}/{}?sslmode=disable",
                    pg.addr, db.name
                ),
            )
            .set(
                "INGEST_NOTIFY_URL",
                format!("smtp://{}?tls=none", smtp.addr),
            )
            .set("INGEST_OPS_EMAIL", "ops@example.org");
        for (k, v) in SHORT {
            env.set(k, *v);
        }
        Some(Prod {
            rt,
            moto,
            db,
            env,
            s3,
            pg,
            smtp,
            buckets,
        })
    }

    fn put(&self, bucket: &str, key: &str, body: Vec<u8>) {
        self.rt
            .block_on(self.moto.put(&self.buckets[bucket], key, body));
    }

    fn keys(&self, bucket: &str) -> Vec<String> {
        self.rt.block_on(self.moto.keys(&self.buckets[bucket]))
    }

    fn ingest(&self, key: &str) -> (Run, Duration) {
        let started = Instant::now();
        let run = self
            .env
            .run(&["run", "--output", "json", "--incoming-key", key]);
        (run, started.elapsed())
    }

    /// The public bucket's files with the SHA-256 each carries.
    fn public(&self) -> BTreeMap<String, String> {
        let bucket = &self.buckets["public"];
        self.keys("public")
            .into_iter()
            .filter(|k| !k.starts_with(".ingest/"))
            .map(|k| {
                let head = self
                    .rt
                    .block_on(self.moto.aws.s3.head_object().bucket(bucket).key(&k).send())
                    .unwrap();
                let sha = head
                    .metadata
                    .unwrap_or_default()
                    .get("sha256")
                    .cloned()
                    .unwrap_or_default();
                (k, sha)
            })
            .collect()
    }

    /// The index's live rows: destination and SHA-256.
    fn index(&self) -> BTreeMap<String, String> {
        self.rt.block_on(async {
            let client = self.db.client().await;
            client
                .query(
                    "SELECT dest_path, sha256 FROM indexed_file WHERE NOT deleted",
                    &[],
                )
                .await
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect()
        })
    }

    fn journals(&self) -> i64 {
        self.rt.block_on(async {
            let client = self.db.client().await;
            client
                .query_one(
                    "SELECT count(*) FROM ingest_ledger WHERE journal_job IS NOT NULL",
                    &[],
                )
                .await
                .unwrap()
                .get(0)
        })
    }

    /// Everything that must hold once the upload is in: published and indexed alike, archived,
    /// gone from incoming, and no stash or journal left.
    fn assert_converged(&self, context: &str) {
        let public = self.public();
        assert_eq!(
            public,
            self.index(),
            "public store and index agree: {context}"
        );
        let names: Vec<&str> = public
            .keys()
            .map(|k| k.rsplit('/').next().unwrap())
            .collect();
        for name in [PROFILE, TEMPERATURE, "replaced.nc"] {
            assert!(names.contains(&name), "{name} published: {context}");
        }
        assert_eq!(
            public["FAULTS/replaced.nc"],
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes(
                "test_manifest.nc"
            ))),
            "the overwrite is in: {context}"
        );
        assert!(
            !self.keys("incoming").contains(&UPLOAD.to_string()),
            "{context}"
        );
        assert!(
            self.keys("archive")
                .iter()
                .any(|k| k.starts_with("_uploads/faults/batch.zip.")),
            "archived: {context}"
        );
        let debris: Vec<String> = self
            .keys("public")
            .into_iter()
            .filter(|k| k.starts_with(".ingest/"))
            .collect();
        assert!(debris.is_empty(), "no stash left: {debris:?}: {context}");
        assert_eq!(self.journals(), 0, "no journal left: {context}");
    }

    /// The upload is somewhere safe: still in incoming, or archived.
    fn assert_nothing_lost(&self, context: &str) {
        let kept = self.keys("incoming").contains(&UPLOAD.to_string())
            || self
                .keys("archive")
                .iter()
                .any(|k| k.starts_with("_uploads/faults/batch.zip."));
        assert!(kept, "the upload is lost: {context}");
    }
}

/// Publishes the first version of `replaced.nc`, then puts the upload in incoming.
fn prepared() -> Option<Prod> {
    let prod = Prod::new()?;
    prod.put("incoming", "FAULTS/first.zip", first_upload());
    let (run, _) = prod.ingest("FAULTS/first.zip");
    assert_eq!(run.code, 0, "setting up: {}\n{}", run.stdout, run.stderr);
    prod.put("incoming", UPLOAD, upload());
    Some(prod)
}

/// One cell of the matrix: the fault at its point, then a rerun with every server healthy.
fn scenario(server: &str, trigger: Trigger, fault: Fault, published_anyway: bool) {
    let Some(prod) = prepared() else { return };
    let proxy = match server {
        "s3" => &prod.s3,
        "pg" => &prod.pg,
        "smtp" => &prod.smtp,
        other => panic!("no proxy for {other}"),
    };
    proxy.arm(trigger.clone(), fault);
    let (run, took) = prod.ingest(UPLOAD);
    let context = format!(
        "{server} {fault:?} at {trigger:?}: exit {} after {took:?}\n{}\n{}",
        run.code,
        run.stdout,
        run.stderr
            .lines()
            .rev()
            .take(30)
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(proxy.triggered(), "the fault never fired: {context}");
    assert!(run.code == 0 || run.code == 75, "{context}");
    assert!(took < JOB_BOUND, "not within the deadline: {context}");
    if published_anyway {
        assert_eq!(run.code, 0, "{context}");
    }
    prod.assert_nothing_lost(&context);
    proxy.heal();
    let (rerun, took) = prod.ingest(UPLOAD);
    let context = format!(
        "{context}\nrerun: exit {} after {took:?}\n{}\n{}",
        rerun.code,
        rerun.stdout,
        rerun
            .stderr
            .lines()
            .rev()
            .take(30)
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(rerun.code, 0, "{context}");
    prod.assert_converged(&context);
}

fn archive_put() -> Trigger {
    Trigger::before("/_uploads/faults/batch.zip.")
}

fn public_put() -> Trigger {
    // Well into the body of the first new file's upload.
    Trigger::after(&["PUT /r-public-"], 3000)
}

const BEFORE_COMMIT: &str = "UPDATE ingest_ledger SET state = 'published'";

#[test]
fn a_stalled_s3_before_the_archive_copy_ends_75_and_a_rerun_converges() {
    scenario("s3", archive_put(), Fault::Stall, false);
}

#[test]
fn a_reset_s3_before_the_archive_copy_ends_75_and_a_rerun_converges() {
    scenario("s3", archive_put(), Fault::Reset, false);
}

#[test]
fn a_stalled_s3_mid_upload_ends_75_and_a_rerun_converges() {
    scenario("s3", public_put(), Fault::Stall, false);
}

#[test]
fn a_reset_s3_mid_upload_ends_75_and_a_rerun_converges() {
    scenario("s3", public_put(), Fault::Reset, false);
}

#[test]
fn a_slow_s3_mid_upload_still_publishes() {
    scenario("s3", public_put(), Fault::Slow(200_000), true);
}

#[test]
fn a_stalled_postgres_before_the_index_commit_ends_75_and_a_rerun_converges() {
    scenario("pg", Trigger::before(BEFORE_COMMIT), Fault::Stall, false);
}

#[test]
fn a_reset_postgres_before_the_index_commit_ends_75_and_a_rerun_converges() {
    scenario("pg", Trigger::before(BEFORE_COMMIT), Fault::Reset, false);
}

#[test]
fn a_stalled_postgres_after_the_index_commit_converges() {
    scenario(
        "pg",
        Trigger::after(&[BEFORE_COMMIT, "COMMIT"], 2),
        Fault::Stall,
        false,
    );
}

#[test]
fn a_reset_postgres_after_the_index_commit_converges() {
    scenario(
        "pg",
        Trigger::after(&[BEFORE_COMMIT, "COMMIT"], 2),
        Fault::Reset,
        false,
    );
}

#[test]
fn a_stalled_smtp_before_notifying_keeps_the_publication() {
    scenario("smtp", Trigger::before("MAIL FROM"), Fault::Stall, true);
}

#[test]
fn a_reset_smtp_before_notifying_keeps_the_publication() {
    scenario("smtp", Trigger::before("MAIL FROM"), Fault::Reset, true);
}

#[test]
fn a_stalled_sqs_result_event_keeps_the_publication() {
    scenario(
        "s3",
        Trigger::before("AmazonSQS.SendMessage"),
        Fault::Stall,
        true,
    );
}

#[test]
fn a_reset_sqs_result_event_keeps_the_publication() {
    scenario(
        "s3",
        Trigger::before("AmazonSQS.SendMessage"),
        Fault::Reset,
        true,
    );
}

/// A double SIGTERM while the job publishes (the second ends the process at once, as Batch's
/// SIGKILL would): the rerun, started straight away, waits for the dead job's short lease to
/// lapse, undoes its half publish from the journal and publishes: converged within one lease.
#[test]
fn after_a_double_stop_signal_mid_publish_a_rerun_converges_within_a_lease() {
    let Some(prod) = prepared() else { return };
    // Slow S3 from the first public write on, so the signals land mid-publish.
    prod.s3.arm(public_put(), Fault::Slow(20_000));
    let mut cmd = prod
        .env
        .command(&["run", "--output", "json", "--incoming-key", UPLOAD]);
    let child = cmd.spawn().unwrap();
    let started = Instant::now();
    while !prod.s3.triggered() && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(prod.s3.triggered(), "the job never began publishing");
    std::thread::sleep(Duration::from_millis(300));
    let pid = child.id().to_string();
    for _ in 0..2 {
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(75),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        prod.journals() > 0,
        "the signals landed mid-publish: a journal is left"
    );
    prod.assert_nothing_lost("after the double stop");
    prod.s3.heal();
    let (rerun, took) = prod.ingest(UPLOAD);
    assert_eq!(rerun.code, 0, "{}\n{}", rerun.stdout, rerun.stderr);
    assert!(
        took < Duration::from_secs(12 + 20),
        "converged within the lease (12 s) and a run: {took:?}"
    );
    let report = rerun.report();
    assert!(
        report["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("undid the unfinished publish")),
        "{report:#}"
    );
    prod.assert_converged("rerun after a double stop");
}

/// An upload of `replaced.nc` and `n` small files: each write stays well within its limits while
/// a slowed publish of them all lasts long.
fn many(n: usize) -> Vec<u8> {
    let mut entries: Vec<(String, Vec<u8>)> =
        vec![("replaced.nc".into(), bytes("test_manifest.nc"))];
    entries.extend((0..n).map(|i| (format!("copy-{i:02}.nc"), bytes(PROFILE))));
    let refs: Vec<(&str, &[u8])> = entries
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    zip_of(&refs)
}

/// A job still publishing at its whole-job deadline (S3 slowed, every call within its own
/// limits) makes no further write, rolls back and ends 75 a little after the deadline, leaving
/// nothing half published; a rerun converges. (Without a job deadline it ran on to the end.)
#[test]
fn a_job_past_its_deadline_rolls_back_and_ends_75() {
    let Some(mut prod) = Prod::new() else { return };
    prod.put("incoming", "FAULTS/first.zip", first_upload());
    let (first, _) = prod.ingest("FAULTS/first.zip");
    assert_eq!(first.code, 0, "{}\n{}", first.stdout, first.stderr);
    prod.put("incoming", UPLOAD, many(30));
    let before = prod.public();
    prod.env.set("INGEST_JOB_DEADLINE_SECONDS", "8");
    prod.s3.arm(public_put(), Fault::Slow(30_000));
    let (run, took) = prod.ingest(UPLOAD);
    let context = format!(
        "exit {} after {took:?}\n{}\n{}",
        run.code, run.stdout, run.stderr
    );
    assert!(
        prod.s3.triggered(),
        "the job reached its publish: {context}"
    );
    assert_eq!(run.code, 75, "{context}");
    let message = run.report()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        message.contains("INGEST_JOB_DEADLINE_SECONDS") && message.contains("while publishing"),
        "stopped by the job deadline while publishing: {message}: {context}"
    );
    // The deadline, then at most the write on the way and the rollback, report and notification.
    assert!(
        took < Duration::from_secs(8 + 4 * 6 + 3 + 5),
        "ended soon after its deadline: {context}"
    );
    assert_eq!(prod.public(), before, "rolled back: {context}");
    assert_eq!(prod.public(), prod.index(), "{context}");
    assert_eq!(prod.journals(), 0, "nothing left to recover: {context}");
    assert!(
        prod.keys("incoming").contains(&UPLOAD.to_string()),
        "the upload stays in incoming: {context}"
    );
    prod.s3.heal();
    prod.env.set("INGEST_JOB_DEADLINE_SECONDS", "60");
    let (rerun, _) = prod.ingest(UPLOAD);
    let context = format!("{}\n{}", rerun.stdout, rerun.stderr);
    assert_eq!(rerun.code, 0, "{context}");
    let public = prod.public();
    assert_eq!(public.len(), 31, "{context}");
    assert_eq!(public, prod.index(), "{context}");
    assert_eq!(
        public["FAULTS/replaced.nc"],
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes(
            "test_manifest.nc"
        ))),
        "{context}"
    );
    assert_eq!(prod.journals(), 0, "{context}");
    assert!(
        !prod
            .keys("public")
            .iter()
            .any(|k| k.starts_with(".ingest/")),
        "no stash left: {context}"
    );
}

/// A job whose publish outlasts its lease (12 s) keeps its claim, because its heartbeat renews
/// it: a second run of the upload started well past the first lease defers (75) instead of
/// taking the upload over, and the first job publishes. (A lease that was not renewed would
/// have been taken over here.)
#[test]
fn a_job_outliving_its_lease_keeps_its_claim_by_its_heartbeat() {
    let Some(mut prod) = Prod::new() else { return };
    prod.env.set("INGEST_JOB_DEADLINE_SECONDS", "300");
    prod.put("incoming", UPLOAD, many(40));
    prod.s3
        .arm(Trigger::before("PUT /r-public-"), Fault::Slow(30_000));
    let mut first = prod
        .env
        .command(&["run", "--output", "json", "--incoming-key", UPLOAD])
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !prod.s3.triggered() && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(prod.s3.triggered(), "the first job never began publishing");
    // Well past the lease the first job claimed with (the claim came before its publish).
    std::thread::sleep(Duration::from_secs(14));
    assert!(
        first.try_wait().unwrap().is_none(),
        "the first job still publishes, past its first lease"
    );
    // The second run talks to S3 directly, so only the claim can hold it back.
    let second = prod
        .env
        .command(&["run", "--output", "json", "--incoming-key", UPLOAD])
        .env("AWS_ENDPOINT_URL", &prod.moto.endpoint)
        .output()
        .unwrap();
    let second_out = String::from_utf8_lossy(&second.stdout).into_owned();
    let first = first.wait_with_output().unwrap();
    let context = format!(
        "second: {second_out}\n{}\nfirst: {}\n{}",
        String::from_utf8_lossy(&second.stderr),
        String::from_utf8_lossy(&first.stdout),
        String::from_utf8_lossy(&first.stderr)
    );
    assert_eq!(second.status.code(), Some(75), "{context}");
    let second_report: serde_json::Value = serde_json::from_str(&second_out).unwrap();
    assert!(
        second_report["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("holds a live claim"),
        "the second run deferred to the live job: {context}"
    );
    assert_eq!(first.status.code(), Some(0), "{context}");
    let public = prod.public();
    assert_eq!(public.len(), 41, "{context}");
    assert_eq!(public, prod.index(), "{context}");
    assert_eq!(prod.journals(), 0, "{context}");
}

/// A rejection whose copy to the error store fails is not final: exit 75, the upload stays in
/// incoming for the retry (before, the job exited 1 and stranded it there).
#[test]
fn a_rejection_the_error_store_cannot_keep_is_retried() {
    let Some(moto) = tokio::runtime::Runtime::new().unwrap().block_on(moto()) else {
        return;
    };
    let mut env = Env::new();
    moto.configure(&mut env);
    env.example_pipelines().set(
        "INGEST_ERROR_URL",
        format!("s3://{}", crate::servers::unique("no-such-bucket")),
    );
    let incoming = env.home().join("incoming/ANMN");
    std::fs::create_dir_all(&incoming).unwrap();
    let upload = incoming.join(PROFILE_BAD);
    std::fs::copy(data(PROFILE_BAD), &upload).unwrap();
    let run = env.ingest(&upload);
    assert_eq!(run.code, 75, "{}\n{}", run.stdout, run.stderr);
    let report = run.report();
    assert!(
        report["error"]["message"]
            .as_str()
            .unwrap()
            .contains("could not be kept in the error store"),
        "{report:#}"
    );
    assert!(upload.exists(), "the upload stays in incoming");
    assert_eq!(
        env.ledger()[0].1,
        "failed",
        "the claim is free for the retry"
    );
}

/// A local home (SQLite index, local stores) whose pipeline already published `replaced.nc`, and
/// an upload in incoming that overwrites it and adds thirty files, so a publish lasts long
/// enough to be killed inside. Short leases, so a killed job is provably gone within seconds.
fn killable() -> (Env, PathBuf) {
    let mut env = Env::new();
    env.pipelines(PIPELINES);
    env.set("INGEST_LEASE_SECONDS", "6")
        .set("INGEST_REQUEST_TIMEOUT_SECONDS", "1");
    let incoming = env.home().join("incoming/FAULTS");
    std::fs::create_dir_all(&incoming).unwrap();
    std::fs::write(incoming.join("first.zip"), first_upload()).unwrap();
    let first = env.ingest(&incoming.join("first.zip"));
    assert_eq!(first.code, 0, "{}", first.stderr);
    let mut entries: Vec<(String, Vec<u8>)> =
        vec![("replaced.nc".into(), bytes("test_manifest.nc"))];
    for i in 0..30 {
        entries.push((format!("copy-{i:02}.nc"), bytes(PROFILE)));
    }
    let refs: Vec<(&str, &[u8])> = entries
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    // The first job's success removed the emptied incoming folder.
    std::fs::create_dir_all(&incoming).unwrap();
    std::fs::write(incoming.join("batch.zip"), zip_of(&refs)).unwrap();
    (env, incoming.join("batch.zip"))
}

const KILLABLE: &[&str] = &[
    "run",
    "--output",
    "json",
    "--incoming-key",
    "FAULTS/batch.zip",
];

/// The public folder's files with their SHA-256, every entry under its root included.
fn public_files(env: &Env) -> BTreeMap<String, String> {
    env.store("public")
        .into_iter()
        .map(|(k, v)| (k, hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&v))))
        .collect()
}

/// Everything under the local public store's root is a published file (a live index row with
/// the same content) or a folder holding one: no stash, temporary file or bookkeeping folder.
fn assert_only_published(env: &Env, context: &str) {
    let root = env.home().join("public");
    let rows: BTreeMap<String, String> = env
        .index_rows()
        .iter()
        .filter(|r| r["deleted"] == false)
        .map(|r| {
            (
                r["dest_path"].as_str().unwrap().to_string(),
                r["sha256"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let key = path
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if path.is_dir() {
                assert!(
                    rows.keys().any(|k| k.starts_with(&format!("{key}/"))),
                    "{key}/ under the public root holds no published file: {context}"
                );
                stack.push(path);
            } else {
                let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
                    std::fs::read(&path).unwrap(),
                ));
                assert_eq!(
                    rows.get(&key),
                    Some(&sha),
                    "{key} under the public root is not a published file: {context}"
                );
            }
        }
    }
    assert_eq!(
        public_files(env),
        rows,
        "public folder and index agree: {context}"
    );
}

/// The work folders of jobs left in the env's work folder.
fn work_folders(env: &Env) -> Vec<String> {
    std::fs::read_dir(env.dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("ocean-ingest-"))
        .collect()
}

/// The stashes the local stores keep beside their folders.
fn stashes(env: &Env) -> Vec<String> {
    ["public", "archive"]
        .iter()
        .flat_map(|store| {
            let stash = env.home().join(format!(".{store}.ingest/stash"));
            std::fs::read_dir(&stash)
                .map(|d| {
                    d.flatten()
                        .map(|e| format!("{store}: {}", e.file_name().to_string_lossy()))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
        .collect()
}

fn sqlite_journals(env: &Env) -> i64 {
    let conn = rusqlite::Connection::open(env.home().join("index.sqlite")).unwrap();
    conn.query_row(
        "SELECT count(*) FROM ingest_ledger WHERE journal_job IS NOT NULL",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

/// No work folder, stash or journal of any job is left, and the public folder holds only
/// published files.
fn assert_nothing_left(env: &Env, context: &str) {
    let folders = work_folders(env);
    assert!(
        folders.is_empty(),
        "work folders left: {folders:?}: {context}"
    );
    let left = stashes(env);
    assert!(left.is_empty(), "stashes left: {left:?}: {context}");
    for store in ["public", "archive"] {
        assert!(
            !env.home().join(store).join(".ingest").exists(),
            "bookkeeping inside the {store} folder: {context}"
        );
    }
    assert_eq!(sqlite_journals(env), 0, "journals left: {context}");
    assert_only_published(env, context);
}

/// A seed for the moments of the kills: `INGEST_TEST_SEED` to replay a failure, else the clock.
fn seed() -> u64 {
    std::env::var("INGEST_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        })
}

/// A fraction in [0, 1) from a xorshift generator (enough to spread kills; no crate needed).
fn next_fraction(state: &mut u64) -> f64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    (*state >> 11) as f64 / (1u64 << 53) as f64
}

/// Jobs killed with SIGKILL at random moments of a publish that overwrites, stashes and adds (one
/// moment drawn in each eighth of a whole job, so the kills cover it from start to end): after
/// the next run converges, no work folder, stash or journal of theirs is left and the public
/// folder holds exactly the published files.
#[test]
fn jobs_killed_at_random_moments_leave_nothing_behind_after_the_next_run() {
    // How long a whole job takes here, to spread the kills over it.
    let (clean, upload) = killable();
    let started = Instant::now();
    assert_eq!(clean.ingest(&upload).code, 0);
    let whole = started.elapsed();
    let expected = public_files(&clean);
    let seed = seed();
    let mut state = seed | 1;

    for k in 0..8u32 {
        let (env, _) = killable();
        let at = whole.mul_f64((f64::from(k) + next_fraction(&mut state)) / 8.0);
        let mut child = env.command(KILLABLE).spawn().unwrap();
        std::thread::sleep(at);
        child.kill().unwrap();
        child.wait().unwrap();
        let rerun = env.run(KILLABLE);
        let context = format!(
            "killed after {at:?} of {whole:?} (INGEST_TEST_SEED={seed}): {}\n{}",
            rerun.stdout, rerun.stderr
        );
        // The rerun may find the upload done already (the kill came after the commit).
        assert_eq!(rerun.code, 0, "{context}");
        if rerun.stdout.contains("\"outcome\": \"duplicate\"") && !work_folders(&env).is_empty() {
            // Killed after it had published and removed the upload, before its own folder: the
            // rerun had nothing to wait for, and the folder's lease was live, so its owner could
            // not yet be proven gone. Once the lease lapses, the next job of the pipeline clears it.
            std::thread::sleep(Duration::from_secs(7));
            let later = env.run(KILLABLE);
            assert_eq!(later.code, 0, "{context}\n{}", later.stderr);
        }
        assert_eq!(
            public_files(&env),
            expected,
            "the public folder holds exactly the publication: {context}"
        );
        assert_nothing_left(&env, &context);
    }
}

/// A job killed mid-publish leaves a work folder, a stash and a journal. Once its lease lapsed,
/// the next job of the pipeline removes them all, even one with nothing to ingest itself: the
/// half publish is undone (or, had it committed, settled), and the upload's own rerun then
/// publishes it.
#[test]
fn a_killed_jobs_leftovers_are_cleared_by_any_later_job_of_its_pipeline() {
    let (env, _) = killable();
    let before = public_files(&env);
    let mut child = env.command(KILLABLE).spawn().unwrap();
    // Kill once the publish has begun: the overwritten file's stash is in place.
    let started = Instant::now();
    while stashes(&env).is_empty() && started.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let killed = Instant::now();
    assert!(!stashes(&env).is_empty(), "the job was killed mid-publish");
    assert_eq!(
        work_folders(&env).len(),
        1,
        "the killed job left its work folder"
    );

    // A job of the same pipeline while the dead job's lease still runs: nothing is provably
    // gone yet, so its stash and journal stay.
    let other = env.run(&[
        "run",
        "--output",
        "json",
        "--incoming-key",
        "FAULTS/not-there.zip",
    ]);
    assert_eq!(other.code, 0, "{}\n{}", other.stdout, other.stderr);
    if killed.elapsed() < Duration::from_secs(5) {
        assert!(
            !stashes(&env).is_empty(),
            "a stash of a job whose lease is live is kept"
        );
    }

    std::thread::sleep(Duration::from_secs(7));
    let sweep = env.run(&[
        "run",
        "--output",
        "json",
        "--incoming-key",
        "FAULTS/not-there.zip",
    ]);
    let context = format!("{}\n{}", sweep.stdout, sweep.stderr);
    assert_eq!(sweep.code, 0, "{context}");
    assert_nothing_left(&env, &context);
    // Killed within milliseconds of its first stash, the job had not committed: its half
    // publish is undone, the overwritten file back. (Had it committed, all 31 files stand.)
    let now = public_files(&env);
    assert!(
        now == before || now.len() == 31,
        "neither undone nor complete: {now:?}: {context}"
    );

    let rerun = env.run(KILLABLE);
    let context = format!("{}\n{}", rerun.stdout, rerun.stderr);
    assert_eq!(rerun.code, 0, "{context}");
    assert_eq!(public_files(&env).len(), 31, "{context}");
    assert_nothing_left(&env, &context);
}

/// PostgreSQL that accepts the connection but never answers its start-up: opening the index
/// fails as transient within the connect limit instead of waiting on the server.
#[tokio::test]
async fn a_stalled_postgres_start_up_fails_within_the_connect_limit() {
    let Some(db) = pg().await else { return };
    let proxy = Proxy::start(socket(&db.url)).await;
    // The start-up message names the user; nothing from it on reaches the server.
    proxy.arm(Trigger::before("user"), Fault::Stall);
    let url = format!(
        "postgres://postgres@{}/{}?sslmode=disable",
        proxy.addr, db.name
    );
    let timeouts = ocean_ingest::deadline::Timeouts {
        connect: Duration::from_secs(2),
        request: Duration::from_secs(3),
        idle: Duration::from_secs(3),
    };
    let started = Instant::now();
    let err = ocean_ingest::index::postgres::PostgresIndex::open(&url, &timeouts)
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(proxy.triggered(), "the start-up reached the proxy: {err}");
    assert_eq!(err.fault(), ocean_ingest::error::Fault::Transient, "{err}");
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(2 * 6 + 2),
        "failed by the connect limit, retries included: {took:?}: {err}"
    );
}
