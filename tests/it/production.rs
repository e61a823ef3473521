//! End to end on the production backends: S3 buckets and SQS queues on moto, the index in
//! PostgreSQL. An upload's S3 event arrives through SQS; the binary runs it from the message body;
//! the side effects are read back from S3, PostgreSQL and the results queue; replays are checked.

use std::io::Write;
use std::process::{Command, Stdio};

use aws_sdk_s3::types::{Event, NotificationConfiguration, QueueConfiguration};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::common::*;
use crate::servers::{Moto, PgDb, moto, pg};

/// The buckets and queues of one deployment.
struct Deployment {
    moto: Moto,
    db: PgDb,
    incoming: String,
    archive: String,
    public: String,
    error: String,
    events: String,
    results: String,
    env: Env,
}

async fn deploy() -> Option<Deployment> {
    let moto = moto().await?;
    let db = pg().await?;
    let incoming = moto.bucket("incoming", false).await;
    let archive = moto.bucket("archive", true).await;
    let public = moto.bucket("public", true).await;
    let error = moto.bucket("error", true).await;
    let (events, events_arn) = moto.queue("uploads").await;
    let (results, _) = moto.queue("results").await;
    moto.aws
        .s3
        .put_bucket_notification_configuration()
        .bucket(&incoming)
        .notification_configuration(
            NotificationConfiguration::builder()
                .queue_configurations(
                    QueueConfiguration::builder()
                        .queue_arn(events_arn)
                        .events(Event::from("s3:ObjectCreated:*"))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mut env = Env::new();
    moto.configure(&mut env);
    env.example_pipelines()
        .set("INGEST_INCOMING_URL", format!("s3://{incoming}"))
        .set("INGEST_ARCHIVE_URL", format!("s3://{archive}"))
        .set("INGEST_PUBLIC_URL", format!("s3://{public}"))
        .set("INGEST_ERROR_URL", format!("s3://{error}/errors"))
        .set("INGEST_REPORTS_URL", format!("s3://{error}/reports"))
        .set("INGEST_INDEX_URL", &db.url)
        .set("INGEST_RESULTS_QUEUE_URL", &results);
    Some(Deployment {
        moto,
        db,
        incoming,
        archive,
        public,
        error,
        events,
        results,
        env,
    })
}

/// Runs the binary with `stdin` piped in.
fn run_with_stdin(env: &Env, args: &[&str], stdin: &str) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ocean-ingest"));
    cmd.args(args)
        .current_dir(env.dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, _) in
        std::env::vars().filter(|(k, _)| k.starts_with("INGEST_") || k.starts_with("AWS_"))
    {
        cmd.env_remove(k);
    }
    cmd.envs(&env.vars);
    let mut child = cmd.spawn().expect("the binary runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

impl Deployment {
    /// The next message body on the upload queue that is not S3's test event.
    async fn next_upload_event(&self) -> String {
        for _ in 0..10 {
            for m in self.moto.receive(&self.events, 2).await {
                let body = m.body.unwrap();
                if !body.contains("s3:TestEvent") {
                    return body;
                }
            }
        }
        panic!("no upload event arrived on {}", self.events);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_event_through_sqs_publishes_to_s3_and_postgres_and_a_replay_is_a_duplicate() {
    let Some(d) = deploy().await else { return };
    let bytes = std::fs::read(data(PROFILE)).unwrap();
    let sha = hex::encode(Sha256::digest(&bytes));
    let key = format!("ANMN/NRS/{PROFILE}");
    d.moto.put(&d.incoming, &key, bytes.clone()).await;

    // The message body S3 put on the queue, run as Batch runs it.
    let body = d.next_upload_event().await;
    let run = run_with_stdin(&d.env, &["run", "--event", "-", "--output", "json"], &body);
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    let report = &doc["jobs"][0];
    assert_eq!(report["outcome"], "published", "{doc:#}");
    assert_eq!(report["source"], format!("s3://{}/{key}", d.incoming));
    let job_id = report["job_id"].as_str().unwrap().to_string();
    let dest = format!("IMOS/ANMN/NRS/NRSMAI/Biogeochem_profiles/{PROFILE}");

    // The public bucket has the exact bytes, with their SHA-256 and type, as a new version.
    assert_eq!(d.moto.get(&d.public, &dest).await.unwrap(), bytes);
    let head = d
        .moto
        .aws
        .s3
        .head_object()
        .bucket(&d.public)
        .key(&dest)
        .send()
        .await
        .unwrap();
    assert_eq!(head.metadata.unwrap().get("sha256"), Some(&sha));
    assert_eq!(head.content_type.as_deref(), Some("application/x-netcdf"));
    assert!(head.version_id.is_some_and(|v| v != "null"));
    // The archive keeps the upload under the job id; the incoming object is gone.
    let archived = format!("_uploads/anmn_nrs/{PROFILE}.{job_id}");
    assert_eq!(d.moto.get(&d.archive, &archived).await.unwrap(), bytes);
    assert_eq!(d.moto.get(&d.incoming, &key).await, None);
    assert_eq!(
        d.moto.keys(&d.incoming).await,
        Vec::<String>::new(),
        "nothing left behind"
    );
    // The report is stored under the reports prefix of the error bucket; no error copy.
    let stored = d
        .moto
        .get(&d.error, &format!("reports/anmn_nrs/{job_id}.json"))
        .await
        .expect("the job report is stored");
    assert_eq!(
        serde_json::from_slice::<Value>(&stored).unwrap()["outcome"],
        "published"
    );
    assert!(
        d.moto
            .keys(&d.error)
            .await
            .iter()
            .all(|k| k.starts_with("reports/"))
    );

    // PostgreSQL has the harvested row, the ledger entry and the job.
    let pg = d.db.client().await;
    let row = pg
        .query_one(
            "SELECT pipeline, source, size, sha256, job_id, deleted, feature_type, attributes->>'site_code'
             FROM indexed_file WHERE dest_path = $1",
            &[&dest],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "anmn_nrs");
    assert_eq!(
        row.get::<_, String>(1),
        format!("s3://{}/{key}", d.incoming)
    );
    assert_eq!(row.get::<_, i64>(2), bytes.len() as i64);
    assert_eq!(row.get::<_, String>(3), sha);
    assert_eq!(row.get::<_, String>(4), job_id);
    assert!(!row.get::<_, bool>(5));
    assert_eq!(row.get::<_, Option<String>>(6).as_deref(), Some("profile"));
    assert_eq!(row.get::<_, Option<String>>(7).as_deref(), Some("NRSMAI"));
    let ledger = pg
        .query_one(
            "SELECT state, job_id FROM ingest_ledger WHERE source_version = $1",
            &[&sha],
        )
        .await
        .unwrap();
    assert_eq!(ledger.get::<_, String>(0), "succeeded");
    assert_eq!(ledger.get::<_, String>(1), job_id);
    let job = pg
        .query_one(
            "SELECT outcome, report_url FROM job WHERE job_id = $1",
            &[&job_id],
        )
        .await
        .unwrap();
    assert_eq!(job.get::<_, String>(0), "published");
    assert_eq!(
        job.get::<_, Option<String>>(1),
        Some(format!("s3://{}/reports/anmn_nrs/{job_id}.json", d.error))
    );

    // The result event is on the results queue, with filterable attributes.
    let results = d.moto.receive(&d.results, 2).await;
    assert_eq!(results.len(), 1);
    let event: Value = serde_json::from_str(results[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(event["job_id"], job_id.as_str());
    assert_eq!(event["outcome"], "published");
    let attrs = results[0].message_attributes.as_ref().unwrap();
    assert_eq!(attrs["outcome"].string_value.as_deref(), Some("published"));
    assert_eq!(attrs["pipeline"].string_value.as_deref(), Some("anmn_nrs"));

    // The provider uploads the same file again; replaying its key inline is a duplicate.
    d.moto.put(&d.incoming, &key, bytes.clone()).await;
    let _ = d.next_upload_event().await;
    let replay = d.env.run(&["replay", "--inline", "--key", &key]);
    assert_eq!(
        replay.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        replay.stdout, replay.stderr
    );
    assert!(
        replay
            .stdout
            .contains(&format!("duplicate: s3://{}/{key}", d.incoming)),
        "{}",
        replay.stdout
    );
    assert!(
        replay
            .stdout
            .contains("replayed 1: ok 0, duplicate 1, rejected 0, failed 0"),
        "{}",
        replay.stdout
    );
    assert_eq!(
        d.moto.get(&d.incoming, &key).await,
        None,
        "the duplicate's upload is removed"
    );
    let rows: i64 = pg
        .query_one("SELECT count(*) FROM indexed_file", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 1, "no second row");
    let duplicate = d.moto.receive(&d.results, 2).await;
    assert_eq!(duplicate.len(), 1, "inline replays send result events too");
    assert_eq!(
        duplicate[0].message_attributes.as_ref().unwrap()["outcome"]
            .string_value
            .as_deref(),
        Some("duplicate")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_with_a_space_and_a_plus_survives_the_event_and_the_replay_queue() {
    let Some(d) = deploy().await else { return };
    let bytes = std::fs::read(data(PROFILE)).unwrap();
    let key = format!("ANMN/NRS/new uploads+more/{PROFILE}");
    d.moto.put(&d.incoming, &key, bytes.clone()).await;
    let body = d.next_upload_event().await;
    assert!(
        !body.contains("new uploads+more"),
        "the event key is encoded: {body}"
    );

    // A replay onto the queue sends the same shape, the key encoded as S3 encodes it.
    let replay = d
        .env
        .run(&["replay", "--queue", &d.events, "--prefix", "ANMN/NRS/new "]);
    assert_eq!(
        replay.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        replay.stdout, replay.stderr
    );
    assert!(
        replay.stdout.contains("replayed 1: ok 1"),
        "{}",
        replay.stdout
    );
    let replayed = d.next_upload_event().await;
    let event: Value = serde_json::from_str(&replayed).unwrap();
    let record = &event["Records"][0];
    assert_eq!(record["eventSource"], "aws:s3");
    assert_eq!(record["eventName"], "ObjectCreated:Put");
    assert_eq!(record["s3"]["bucket"]["name"], d.incoming.as_str());
    assert_eq!(
        record["s3"]["object"]["key"],
        format!("ANMN/NRS/new+uploads%2Bmore/{PROFILE}")
    );
    assert_eq!(record["s3"]["object"]["size"], bytes.len());

    // The job run from S3's own event finds the object under its real name.
    let run = run_with_stdin(&d.env, &["run", "--event", "-", "--output", "json"], &body);
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["jobs"][0]["outcome"], "published", "{doc:#}");
    assert_eq!(doc["jobs"][0]["input"]["key"], key.as_str());
    assert_eq!(d.moto.get(&d.incoming, &key).await, None);

    // The replayed event for the same object, run later, finds nothing left to do.
    let again = run_with_stdin(
        &d.env,
        &["run", "--event", "-", "--output", "json"],
        &replayed,
    );
    assert_eq!(again.code, 0, "{}", again.stderr);
    let doc: Value = serde_json::from_str(&again.stdout).unwrap();
    assert_eq!(doc["jobs"][0]["outcome"], "duplicate", "{doc:#}");

    // The Batch job definition's form: the raw event key, decoded by INGEST_SOURCE_KEY_ENCODING.
    d.moto.put(&d.incoming, &key, bytes).await;
    let mut env = d.env;
    env.set("INGEST_SOURCE_KEY_ENCODING", "url");
    let run = env.run(&[
        "run",
        "--output",
        "json",
        "--incoming-key",
        &format!("ANMN/NRS/new+uploads%2Bmore/{PROFILE}"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.report()["outcome"], "duplicate");
    assert_eq!(run.report()["input"]["key"], key.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_for_another_bucket_is_a_usage_error_naming_it_and_the_test_event_is_a_no_op() {
    let Some(d) = deploy().await else { return };
    let event = serde_json::json!({"Records": [{
        "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": "somebody-elses"}, "object": {"key": "a.nc"}}
    }]});
    let run = run_with_stdin(&d.env, &["run", "--event", "-"], &event.to_string());
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("somebody-elses"), "{}", run.stderr);

    // The test event S3 sends when the notification is set up is on the queue: it does nothing.
    let messages = d.moto.receive(&d.events, 1).await;
    let test = messages
        .iter()
        .filter_map(|m| m.body.clone())
        .find(|b| b.contains("s3:TestEvent"))
        .expect("moto sent the test event");
    let run = run_with_stdin(&d.env, &["run", "--event", "-"], &test);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.starts_with("ignored: s3:TestEvent"),
        "{}",
        run.stdout
    );
    assert!(
        d.moto.receive(&d.results, 1).await.is_empty(),
        "no job, no result event"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_result_event_that_cannot_be_sent_is_noted_and_changes_nothing() {
    let Some(moto) = moto().await else { return };
    let mut env = Env::new();
    moto.configure(&mut env);
    env.example_pipelines().set(
        "INGEST_RESULTS_QUEUE_URL",
        format!(
            "{}/{}/no-such-queue",
            moto.endpoint,
            crate::servers::ACCOUNT
        ),
    );
    let run = env.ingest(&data(PROFILE));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.report();
    assert_eq!(report["outcome"], "published");
    let notes = report["notes"].to_string();
    assert!(notes.contains("could not send the result event"), "{notes}");
    assert!(notes.contains("no-such-queue"), "{notes}");
}

#[tokio::test(flavor = "multi_thread")]
async fn replaying_a_prefix_onto_the_queue_sends_one_event_per_object_in_batches() {
    let Some(d) = deploy().await else { return };
    let keys: Vec<String> = (0..23).map(|i| format!("many/{i:02} x.nc")).collect();
    for k in &keys {
        d.moto.put(&d.incoming, k, b"x".to_vec()).await;
    }
    // Drain S3's own events first.
    let mut drained = 0;
    while drained < keys.len() {
        let got = d.moto.receive(&d.events, 1).await;
        if got.is_empty() {
            break;
        }
        drained += got
            .iter()
            .filter(|m| !m.body.as_deref().unwrap_or_default().contains("TestEvent"))
            .count();
    }
    let run = d
        .env
        .run(&["replay", "--queue", &d.events, "--prefix", "many/"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .ends_with("replayed 23: ok 23, duplicate 0, rejected 0, failed 0\n"),
        "{}",
        run.stdout
    );
    let mut announced = Vec::new();
    for _ in 0..10 {
        for m in d.moto.receive(&d.events, 1).await {
            let event: Value = serde_json::from_str(m.body.as_deref().unwrap()).unwrap();
            let records = ocean_ingest::events::parse(&event.to_string()).unwrap();
            for r in records {
                if let ocean_ingest::events::EventRecord::ObjectCreated { key, .. } = r {
                    announced.push(key);
                }
            }
        }
        if announced.len() == keys.len() {
            break;
        }
    }
    announced.sort();
    assert_eq!(announced, keys);
}

/// An upload larger than all the work disk a job has is refused for good without being fetched:
/// read only through a hash (its identity in the ledger and the report), copied server-side into
/// the error bucket (in parts, as it is large, with its SHA-256 recorded on the copy), removed
/// from incoming. Exit 1: a retry could never fetch it. (Fetched, it filled the disk, and every
/// retry did the same.)
#[tokio::test(flavor = "multi_thread")]
async fn an_upload_larger_than_the_work_disk_goes_to_the_error_bucket_unfetched() {
    let Some(mut d) = deploy().await else { return };
    // 11 MiB that do not repeat, over 5 MiB parts: a multipart copy.
    let bytes: Vec<u8> = (0..11u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let sha = hex::encode(Sha256::digest(&bytes));
    let key = format!("ANMN/NRS/{PROFILE}");
    d.moto.put(&d.incoming, &key, bytes.clone()).await;
    d.env
        .set("INGEST_WORK_MAX_BYTES", "1MiB")
        .set("INGEST_S3_MULTIPART_THRESHOLD", "5MiB")
        .set("INGEST_S3_PART_SIZE", "5MiB");
    let run = d
        .env
        .run(&["run", "--output", "json", "--incoming-key", &key]);
    assert_eq!(
        run.code, 1,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    let report = run.report();
    assert_eq!(report["outcome"], "rejected", "{report:#}");
    let message = report["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "{PROFILE} is 11534336 bytes, more than the 1048576 bytes the work disk has for a job (INGEST_WORK_MAX_BYTES is 1048576)"
        )),
        "{message}"
    );
    assert_eq!(report["input"]["sha256"], sha.as_str(), "{report:#}");
    let copy = format!(
        "errors/anmn_nrs/{PROFILE}.{}",
        report["job_id"].as_str().unwrap()
    );
    assert_eq!(d.moto.get(&d.error, &copy).await, Some(bytes));
    let head = d
        .moto
        .aws
        .s3
        .head_object()
        .bucket(&d.error)
        .key(&copy)
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.metadata.unwrap_or_default().get("sha256"),
        Some(&sha),
        "the copy records its SHA-256"
    );
    assert_eq!(d.moto.get(&d.incoming, &key).await, None);
    assert_eq!(d.moto.keys(&d.public).await, Vec::<String>::new());
    assert_eq!(d.moto.keys(&d.archive).await, Vec::<String>::new());
}
