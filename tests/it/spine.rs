//! End-to-end runs of the binary on the embedded default, asserting every side effect: the files
//! in each store, the index rows, the ledger, the outbox, the report, the exit code.

use std::path::Path;

use serde_json::Value;

use crate::common::*;

const SUCCESS_STATES: [&str; 10] = [
    "Initial",
    "Initialised",
    "Resolved",
    "Preprocessed",
    "Checked",
    "Processed",
    "Published",
    "Postprocessed",
    "NotifiedSuccess",
    "CompletedSuccess",
];

/// Asserts a successful publish of `name` to `dest` and returns the report.
fn assert_published(env: &Env, name: &str, pipeline: &str, dest: &str, harvested: bool) -> Value {
    let run = env.ingest(&data(name));
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    let report = run.report();
    assert_eq!(report["outcome"], "published");
    assert_eq!(report["exit_code"], 0);
    assert_eq!(report["pipeline"], pipeline);
    assert_eq!(states(&report), SUCCESS_STATES);
    let job_id = report["job_id"].as_str().unwrap();

    let file = &report["files"][0];
    assert_eq!(file["name"], name);
    assert_eq!(file["dest_path"], dest);
    assert_eq!(file["published"], true);
    assert_eq!(file["check_passed"], true);

    // The public store holds the exact bytes at the destination.
    let public = env.store("public");
    assert_eq!(
        public.get(dest),
        Some(&std::fs::read(data(name)).unwrap()),
        "public store: {:?}",
        public.keys()
    );
    // The archive keeps the upload itself under the job id.
    let archive = env.store("archive");
    assert!(
        archive.contains_key(&format!("_uploads/{pipeline}/{name}.{job_id}")),
        "archive: {:?}",
        archive.keys()
    );
    // The report is stored where the report says.
    let reports = env.store("reports");
    let stored: Value =
        serde_json::from_slice(&reports[&format!("{pipeline}/{job_id}.json")]).unwrap();
    assert_eq!(stored["outcome"], "published");
    assert_eq!(stored["job_id"], job_id);
    // The index has a row exactly when the publish type harvests.
    let rows = env.index_rows();
    let row = rows.iter().find(|r| r["dest_path"] == dest);
    assert_eq!(row.is_some(), harvested, "index rows: {rows:#?}");
    if let Some(row) = row {
        assert_eq!(row["job_id"], job_id);
        assert_eq!(row["pipeline"], pipeline);
        assert_eq!(row["deleted"], false);
        assert_eq!(row["size"], std::fs::metadata(data(name)).unwrap().len());
        assert_eq!(row["sha256"], report["input"]["sha256"]);
    }
    // Nothing was rejected.
    assert!(env.store("error").is_empty());
    // The copies written beside the check were placed, not left in the stores' bookkeeping.
    assert_eq!(env.store_temporaries(), Vec::<String>::new());
    report
}

#[test]
fn each_reference_fixture_is_published_where_the_reference_publishes_it() {
    let env = Env::new();
    let profile = assert_published(
        &env,
        PROFILE,
        "anmn_nrs",
        &format!("IMOS/ANMN/NRS/NRSMAI/Biogeochem_profiles/{PROFILE}"),
        true,
    );
    assert_published(
        &env,
        TEMPERATURE,
        "anmn_nrs_timeseries",
        &format!("IMOS/ANMN/NRS/NRSROT/Temperature/{TEMPERATURE}"),
        true,
    );
    assert_published(
        &env,
        SRS_ALT,
        "srs_altimetry",
        &format!("IMOS/SRS/ALTIMETRY/calibration_validation/SRSBASS3A/Pressure_gauge/{SRS_ALT}"),
        true,
    );
    assert_published(
        &env,
        ACORN,
        "acorn",
        &format!("IMOS/ACORN/vector/BONC/2010/12/01/{ACORN}"),
        false,
    );
    assert_published(
        &env,
        FISHSOOP,
        "soop_fishsoop",
        &format!("IMOS/SOOP/SOOP-FishSOOP/REALTIME/2024/03/{FISHSOOP}"),
        false,
    );
    assert_eq!(env.store("public").len(), 5);
    assert_eq!(env.index_rows().len(), 3);

    // The harvest recorded the profile's metadata from its coordinates and attributes.
    let rows = env.index_rows();
    let row = rows
        .iter()
        .find(|r| r["dest_path"].as_str().unwrap().ends_with(PROFILE))
        .unwrap();
    assert_eq!(row["feature_type"], "profile");
    assert_eq!(row["time_start"], "2014-07-03T02:10:45Z");
    assert!(
        (row["lat_min"].as_f64().unwrap() + 42.598).abs() < 1e-3,
        "{row}"
    );
    assert!(
        row["variables"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == "TEMP"),
        "{row}"
    );
    assert_eq!(row["attributes"]["site_code"], "NRSMAI");

    // The success notification went to the pipeline's success list.
    let job_id = profile["job_id"].as_str().unwrap();
    let outbox = env.outbox();
    assert_eq!(
        outbox[job_id]["to"],
        serde_json::json!(["anmn-data@example.org"])
    );
    assert!(
        outbox[job_id]["subject"]
            .as_str()
            .unwrap()
            .contains("published")
    );
    let eml = env.outbox_eml(job_id);
    assert!(eml.contains("Content-Type: text/html"), "{eml}");
    assert!(
        eml.contains("Biogeochem_profiles"),
        "the destination is in the message"
    );
}

#[test]
fn running_the_same_upload_twice_is_a_duplicate_with_no_second_copy_or_row() {
    let env = Env::new();
    let first = env.ingest(&data(PROFILE));
    assert_eq!(first.code, 0, "{}", first.stderr);
    let archive_before = env.store("archive");
    let rows_before = env.index_rows();

    let second = env.ingest(&data(PROFILE));
    assert_eq!(second.code, 0, "{}", second.stderr);
    let report = second.report();
    assert_eq!(report["outcome"], "duplicate");
    assert_eq!(report["exit_code"], 0);
    assert_eq!(report["duplicate_of"], first.report()["job_id"]);
    assert_eq!(states(&report), ["Initial", "CompletedSuccess"]);
    assert_eq!(
        env.store("archive"),
        archive_before,
        "no second archive copy"
    );
    assert_eq!(
        env.index_rows(),
        rows_before,
        "no second row, nothing changed"
    );
    assert_eq!(env.store("public").len(), 1);
    assert_eq!(env.outbox().len(), 1, "a duplicate notifies nobody");
    let ledger = env.ledger();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].1, "succeeded");
}

/// Asserts a rejection: exit 1, the upload kept in the error store, nothing public or indexed.
fn assert_rejected(env: &Env, name: &str, pipeline: &str, reason: &str) -> Value {
    let run = env.ingest(&data(name));
    assert_eq!(
        run.code, 1,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    let report = run.report();
    assert_eq!(report["outcome"], "rejected");
    assert_eq!(report["exit_code"], 1);
    let message = report["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(reason),
        "{message:?} should contain {reason:?}"
    );
    assert_eq!(report["error"]["fault"], "input");
    assert_eq!(states(&report).last().unwrap(), "CompletedError");
    assert!(states(&report).contains(&"NotifiedError".to_string()));
    let job_id = report["job_id"].as_str().unwrap();
    let error = env.store("error");
    let kept = error
        .get(&format!("{pipeline}/{name}.{job_id}"))
        .unwrap_or_else(|| panic!("error store: {:?}", error.keys()));
    assert_eq!(
        kept,
        &std::fs::read(data(name)).unwrap(),
        "the upload is kept byte for byte"
    );
    assert!(
        env.store("public").is_empty(),
        "nothing reaches the public store"
    );
    assert!(env.index_rows().is_empty(), "nothing reaches the index");
    assert!(
        env.store("archive").is_empty(),
        "a rejected upload is not archived"
    );
    // What was copied ahead for a publish that did not come is gone.
    assert_eq!(env.store_temporaries(), Vec::<String>::new());
    assert_eq!(
        report["locations"]["error_copy"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap(),
        format!("{name}.{job_id}")
    );
    report
}

#[test]
fn an_empty_file_is_rejected() {
    let env = Env::new();
    let report = assert_rejected(&env, "empty.nc", "unittest", "empty file");
    assert_eq!(report["files"][0]["check_passed"], false);
    assert_eq!(report["files"][0]["check_log"][0], "empty file (0 bytes)");
    let job_id = report["job_id"].as_str().unwrap();
    assert_eq!(
        env.outbox()[job_id]["to"],
        serde_json::json!(["data-team@example.org"])
    );
    assert_eq!(env.ledger()[0].1, "rejected");
}

#[test]
fn a_text_file_named_nc_is_rejected_as_invalid_netcdf() {
    let env = Env::new();
    let report = assert_rejected(
        &env,
        "not_a_netcdf_file.nc",
        "unittest",
        "invalid NetCDF file",
    );
    let log = report["files"][0]["check_log"][0].as_str().unwrap();
    assert!(
        !log.contains("/tmp"),
        "the message names no temporary path: {log}"
    );
}

#[test]
fn a_file_without_the_attribute_its_destination_needs_is_rejected_by_name() {
    let mut env = Env::new();
    // Format checks only, so the file reaches the process step (the example pipeline's compliance
    // checks reject it earlier, as the next test shows).
    env.pipelines(
        r#"
[[pipeline]]
name = "anmn_nrs"
keys = '(^|/)IMOS_ANMN-NRS_'
owners = ["anmn-data@example.org"]
[[pipeline.files]]
include = 'IMOS_ANMN-NRS_'
check = "format"
dest = "IMOS/ANMN/NRS/{{ attrs.site_code }}/Biogeochem_profiles/{{ name }}"
"#,
    );
    let report = assert_rejected(
        &env,
        PROFILE_BAD,
        "anmn_nrs",
        "no global attribute site_code",
    );
    // The check passed; the failure came when building the destination.
    assert_eq!(report["files"][0]["check_passed"], true);
    assert_eq!(report["error"]["state"], "Checked");
}

#[test]
fn a_profile_failing_cf_and_imos_compliance_is_rejected_with_the_failing_groups() {
    let env = Env::new();
    let report = assert_rejected(
        &env,
        PROFILE_BAD,
        "anmn_nrs",
        "failed cf:1.6 (241/244), imos:1.4 (100/122)",
    );
    assert_eq!(
        report["error"]["state"], "Preprocessed",
        "rejected by the check step"
    );
    let file = &report["files"][0];
    assert_eq!(file["check_type"], "nc_compliance");
    assert_eq!(file["check_passed"], false);
    let log: Vec<&str> = file["check_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(log.contains(&"cf:1.6: FAILED (241/244 points)"), "{log:#?}");
    assert!(
        log.iter().any(|l| l.contains("[medium] §2.6 Attributes")),
        "{log:#?}"
    );
    assert!(
        log.iter().any(|l| l.starts_with("imos:1.4: FAILED")),
        "{log:#?}"
    );
}
#[test]
fn the_uploader_hears_about_a_rejection_with_the_owners() {
    let env = Env::new();
    let run = env.run(&[
        "run",
        "--output",
        "json",
        "--uploader",
        "provider@example.com",
        data("empty.nc").to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1);
    let job_id = run.report()["job_id"].as_str().unwrap().to_string();
    assert_eq!(
        env.outbox()[&job_id]["to"],
        serde_json::json!(["provider@example.com", "data-team@example.org"])
    );
    let eml = env.outbox_eml(&job_id);
    assert!(
        eml.contains("empty.nc.check.txt"),
        "the failing file's check report is attached"
    );
}

#[test]
fn an_upload_no_pipeline_claims_is_rejected_and_kept() {
    let mut env = Env::new();
    env.pipelines(
        r#"
[[pipeline]]
name = "only_anmn"
keys = '^ANMN/'
[[pipeline.files]]
include = '.*'
publish = "upload_only"
dest = "X/{{ name }}"
"#,
    );
    let run = env.ingest(&data(SRS_ALT));
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.report();
    assert!(
        report["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no pipeline claims")
    );
    assert_eq!(report["pipeline"], Value::Null);
    let job_id = report["job_id"].as_str().unwrap();
    assert!(
        env.store("error")
            .contains_key(&format!("_unrouted/{SRS_ALT}.{job_id}"))
    );
    assert!(
        env.store("reports")
            .contains_key(&format!("_unrouted/{job_id}.json"))
    );
}

#[test]
fn upload_guards_and_unclaimed_files_reject_before_anything_is_written() {
    let mut env = Env::new();
    // The pipeline claims every key, so that its guards, not routing, refuse the uploads.
    env.set("INGEST_PIPELINES_ALLOW_CATCH_ALL", "true");
    env.pipelines(
        r#"
[[pipeline]]
name = "strict"
keys = '.*'
allowed_extensions = [".nc"]
allowed_regexes = ['IMOS_']
[[pipeline.files]]
include = 'IMOS_ANMN'
publish = "upload_only"
dest = "X/{{ name }}"
"#,
    );
    let csv = env.dir.path().join("table.csv");
    std::fs::write(&csv, "a,b\n1,2\n").unwrap();
    let run = env.ingest(&csv);
    assert_eq!(run.code, 1);
    assert!(
        run.report()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("accepts only .nc files"),
        "{}",
        run.stdout
    );

    let run = env.ingest(&data("test_manifest.nc"));
    assert_eq!(run.code, 1);
    assert!(
        run.report()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does not match any allowed pattern")
    );

    let run = env.ingest(&data(SRS_ALT));
    assert_eq!(run.code, 1);
    let msg = run.report()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("no rule of pipeline strict claims") && msg.contains(SRS_ALT),
        "{msg}"
    );
    assert!(env.store("public").is_empty());
    assert_eq!(env.store("error").len(), 3, "every rejected upload is kept");
}

#[test]
fn an_upload_in_the_incoming_store_is_removed_only_once_kept_safe() {
    let env = Env::new();
    let incoming = env.home().join("incoming/ANMN/NRS");
    std::fs::create_dir_all(&incoming).unwrap();
    std::fs::copy(data(PROFILE), incoming.join(PROFILE)).unwrap();
    std::fs::copy(data("empty.nc"), incoming.join("empty.nc")).unwrap();

    let run = env.ingest(&incoming.join(PROFILE));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.report();
    assert_eq!(report["input"]["key"], format!("ANMN/NRS/{PROFILE}"));
    assert!(
        !incoming.join(PROFILE).exists(),
        "removed from incoming after archiving"
    );
    assert!(
        env.store("archive")
            .keys()
            .any(|k| k.ends_with(&format!("{PROFILE}.{}", report["job_id"].as_str().unwrap())))
    );

    let run = env.ingest(&incoming.join("empty.nc"));
    assert_eq!(run.code, 1);
    assert!(
        !incoming.join("empty.nc").exists(),
        "removed from incoming after the error-store copy"
    );
    assert_eq!(env.store("error").len(), 1);

    // A redelivered event for an object already processed is nothing to do.
    let redelivered = env.run(&[
        "run",
        "--output",
        "json",
        &format!("file://{}", incoming.join(PROFILE).display()),
    ]);
    assert_eq!(
        redelivered.code, 2,
        "a missing local path is a usage error: {}",
        redelivered.stderr
    );
}

#[test]
fn a_local_file_outside_the_home_is_left_where_it_is() {
    let env = Env::new();
    let mine = env.dir.path().join(PROFILE);
    std::fs::copy(data(PROFILE), &mine).unwrap();
    assert_eq!(env.ingest(&mine).code, 0);
    assert!(mine.exists());
}

#[test]
fn an_unavailable_index_is_transient_and_loses_nothing() {
    let mut env = Env::new();
    let incoming = env.home().join("incoming");
    std::fs::create_dir_all(&incoming).unwrap();
    std::fs::copy(data(PROFILE), incoming.join(PROFILE)).unwrap();
    // A database file in a folder that cannot exist (its parent is a file).
    let blocker = env.dir.path().join("blocker");
    std::fs::write(&blocker, "").unwrap();
    env.set(
        "INGEST_INDEX_URL",
        format!("sqlite://{}/index.sqlite", blocker.display()),
    );
    let run = env.ingest(&incoming.join(PROFILE));
    assert_ne!(run.code, 0);
    assert!(
        run.code == 75 || run.code == 70,
        "exit {}: {}",
        run.code,
        run.stderr
    );
    assert!(run.stderr.contains("index"), "{}", run.stderr);
    assert!(
        incoming.join(PROFILE).exists(),
        "the upload stays in incoming for the retry"
    );
    assert!(env.store("public").is_empty());
}

#[test]
fn the_json_report_has_every_documented_field() {
    let env = Env::new();
    let report = env.ingest(&data(SRS_ALT)).report();
    for field in [
        "job_id",
        "source",
        "pipeline",
        "outcome",
        "exit_code",
        "states",
        "files",
        "error",
    ] {
        assert!(report.get(field).is_some(), "missing {field}");
    }
    for s in report["states"].as_array().unwrap() {
        assert!(s["state"].is_string() && s["elapsed_ms"].is_u64(), "{s}");
    }
    let file = &report["files"][0];
    for field in [
        "name",
        "check_type",
        "check_passed",
        "check_log",
        "publish_type",
        "dest_path",
        "archive_path",
        "published",
    ] {
        assert!(file.get(field).is_some(), "missing files[].{field}");
    }
    assert_eq!(file["check_type"], "nc_compliance");
    assert_eq!(file["publish_type"], "harvest_upload");
    assert!(
        file["audit"].as_array().unwrap().len() >= 3,
        "the audit trail records each change"
    );
    assert!(report["source"].as_str().unwrap().starts_with("file:///"));
}

#[test]
fn the_text_summary_says_what_happened_and_where() {
    let env = Env::new();
    let run = env.run(&["run", data(ACORN).to_str().unwrap()]);
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.starts_with(&format!("published: {ACORN}")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("→ IMOS/ACORN/vector/BONC/2010/12/01/"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("report: file://"), "{}", run.stdout);
}

/// `run` ends its process the moment its jobs are done, without tearing it down: what it
/// printed is all there when stdout is a file (not only a pipe), and the exit code is the
/// outcome's.
#[test]
fn run_prints_its_whole_output_to_a_file_and_exits_with_the_outcome() {
    let env = Env::new();
    let printed = |args: &[&str], to: &str| {
        let path = env.dir.path().join(to);
        let status = env
            .command(args)
            .stdout(std::fs::File::create(&path).unwrap())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("the binary runs");
        (status.code(), std::fs::read_to_string(&path).unwrap())
    };
    let acorn = data(ACORN);
    let (code, json) = printed(
        &["run", "--output", "json", acorn.to_str().unwrap()],
        "published.json",
    );
    assert_eq!(code, Some(0), "{json}");
    let report: Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert_eq!(report["outcome"], "published");
    assert!(json.ends_with("}\n"), "{json:?}");

    let empty = data("empty.nc");
    let (code, text) = printed(&["run", empty.to_str().unwrap()], "rejected.txt");
    assert_eq!(code, Some(1), "{text}");
    assert!(text.starts_with("rejected: empty.nc"), "{text}");
    assert!(
        text.contains("report: file://") && text.ends_with('\n'),
        "{text:?}"
    );
}

#[test]
fn each_state_transition_is_one_structured_log_line() {
    let env = Env::new();
    let run = env.ingest(&data(ACORN));
    let job_id = run.report()["job_id"].as_str().unwrap().to_string();
    let transitions: Vec<Value> = run
        .stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["message"] == "state")
        .collect();
    let logged: Vec<&str> = transitions
        .iter()
        .map(|v| v["state"].as_str().unwrap())
        .collect();
    assert_eq!(logged, SUCCESS_STATES);
    for t in &transitions {
        assert_eq!(t["job_id"], job_id.as_str());
        assert!(t["elapsed_ms"].is_u64());
        assert!(t["pipeline"].is_string());
    }
}

#[test]
fn bad_settings_and_sources_are_usage_errors() {
    let mut env = Env::new();
    let run = env.run(&["run", "/no/such/file.nc"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("/no/such/file.nc"), "{}", run.stderr);
    env.set("INGEST_PUBLIC_URL", "ftp://somewhere");
    let run = env.run(&["run", data(ACORN).to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("INGEST_PUBLIC_URL"), "{}", run.stderr);
}

#[test]
fn an_upload_another_job_is_ingesting_is_retried_later_not_skipped() {
    let env = Env::new();
    let incoming = env.home().join("incoming");
    std::fs::create_dir_all(&incoming).unwrap();
    std::fs::copy(data(ACORN), incoming.join(ACORN)).unwrap();
    // Another job holds a live claim on this exact upload (an SQS message delivered twice).
    env.claim_elsewhere(&incoming, ACORN, "acorn");

    let run = env.ingest(&incoming.join(ACORN));
    assert_eq!(
        run.code, 75,
        "retry later, never exit 0 for an upload nobody finished: {}",
        run.stdout
    );
    let report = run.report();
    assert_eq!(report["outcome"], "failed_transient");
    assert_eq!(report["duplicate_of"], "other-job");
    assert!(
        incoming.join(ACORN).exists(),
        "the upload stays for the retry"
    );
    assert!(
        env.store("error").is_empty(),
        "the other job owns the upload: nothing copied"
    );
    assert!(env.outbox().is_empty(), "nobody is told about a deferral");
    assert_eq!(
        env.ledger()[0].2,
        "other-job",
        "the other job's claim is untouched"
    );
}

#[test]
fn a_transient_failure_is_reported_only_when_batch_has_no_attempt_left() {
    let mut env = Env::new();
    // The job's work folder cannot be made (its parent is a file): a transient failure.
    let blocker = env.dir.path().join("blocker");
    std::fs::write(&blocker, "").unwrap();
    env.set(
        "INGEST_WORK_DIR",
        blocker.join("work").display().to_string(),
    );
    env.set("INGEST_OPS_EMAIL", "ops@example.org");
    env.set("INGEST_MAX_ATTEMPTS", "3");
    // No wait before exit 75 on the early attempt (tests/it/backoff.rs has the wait).
    env.set("INGEST_RETRY_BACKOFF_SECONDS", "0");

    env.set("AWS_BATCH_JOB_ATTEMPT", "1");
    let first = env.ingest(&data(ACORN));
    assert_eq!(first.code, 75, "{}", first.stderr);
    let report = first.report();
    assert!(
        report["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("attempt 1 of 3")),
        "{report}"
    );
    assert!(
        env.outbox().is_empty(),
        "nobody is told while Batch will retry"
    );

    env.set("AWS_BATCH_JOB_ATTEMPT", "3");
    let last = env.ingest(&data(ACORN));
    assert_eq!(last.code, 75);
    let job_id = last.report()["job_id"].as_str().unwrap().to_string();
    // The failure came before routing, so the data team stands in for the pipeline's owners.
    assert_eq!(
        env.outbox()[&job_id]["to"],
        serde_json::json!(["ops@example.org"])
    );
}

/// A netCDF-4 file of a few kilobytes declaring 30 billion values it never wrote (HDF5 stores no
/// chunk until one is written and reads the fill value for each): made with libnetcdf, as ncgen
/// cannot write a dimension this long.
fn declaring_30_billion_values(path: &Path) {
    let mut file = netcdf::create(path).unwrap();
    file.add_dimension("TIME", 30_000_000_000).unwrap();
    file.add_attribute("Conventions", "CF-1.6").unwrap();
    file.add_attribute("title", "30 billion values, none written")
        .unwrap();
    let mut time = file.add_variable::<f64>("TIME", &["TIME"]).unwrap();
    time.set_chunking(&[1 << 20]).unwrap();
    for (name, value) in [
        ("standard_name", "time"),
        ("long_name", "time"),
        ("units", "days since 1950-01-01 00:00:00 UTC"),
        ("axis", "T"),
    ] {
        time.put_attribute(name, value).unwrap();
    }
}

const SERIES: &str = r#"
[[pipeline]]
name = "series"
keys = '(^|/)HOSTILE_'
checks = ["cf:1.6", "imos:1.4"]
owners = ["data-team@example.org"]

[[pipeline.files]]
include = '.*\.nc$'
publish = "harvest_upload"
dest = "SERIES/{{ name }}"
"#;

#[test]
fn a_file_declaring_more_values_than_one_file_may_have_read_is_rejected_unread() {
    let mut env = Env::new();
    env.pipelines(SERIES);
    let upload = env.dir.path().join("HOSTILE_30G.nc");
    declaring_30_billion_values(&upload);
    assert!(std::fs::metadata(&upload).unwrap().len() < 100_000);
    // Read value by value, the IMOS suite's tests of TIME would take hours: refused
    // before a value is read, a rejection naming the variable and the setting.
    let run = env.ingest(&upload);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let report = run.report();
    assert_eq!(report["outcome"], "rejected");
    assert_eq!(report["error"]["fault"], "input");
    let log = report["files"][0]["check_log"].to_string();
    assert!(
        log.contains("variable TIME declares 30000000000 values")
            && log.contains("(17179869184, INGEST_MAX_FILE_VALUES)"),
        "{log}"
    );
    assert!(env.store("public").is_empty());

    // The checker a provider runs says the same.
    let check = env.run(&["check", "-t", "imos:1.4", upload.to_str().unwrap()]);
    assert_eq!(check.code, 1, "{}\n{}", check.stdout, check.stderr);
    assert!(
        check
            .stdout
            .contains("variable TIME declares 30000000000 values"),
        "{}",
        check.stdout
    );
}

#[test]
fn the_limit_on_values_read_is_a_setting() {
    let mut env = Env::new();
    env.pipelines(&SERIES.replace("HOSTILE_", "IMOS_ANMN-NRS_TZ_"));
    let name = "IMOS_ANMN-NRS_TZ_20180406T080000Z_NRSROT_FV01_NRSROT-1804-SBE39-27_END-20180413T064000Z_C-20200313T000000Z.nc";
    env.set("INGEST_MAX_FILE_VALUES", "100");
    let run = env.ingest(&data(name));
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let log = run.report()["files"][0]["check_log"].to_string();
    assert!(log.contains("(100, INGEST_MAX_FILE_VALUES)"), "{log}");
    // The flag and the default: the same file is read whole and checked.
    env.vars.remove("INGEST_MAX_FILE_VALUES");
    let run = env.run(&[
        "--max-file-values",
        "100",
        "check",
        "-t",
        "imos:1.4",
        data(name).to_str().unwrap(),
    ]);
    assert!(
        run.stdout.contains("(100, INGEST_MAX_FILE_VALUES)"),
        "{}",
        run.stdout
    );
    let run = env.run(&["check", "-t", "imos:1.4", data(name).to_str().unwrap()]);
    assert!(run.stdout.contains("imos:1.4"), "{}", run.stdout);
    assert!(
        !run.stdout.contains("INGEST_MAX_FILE_VALUES"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_variable_in_one_huge_compressed_chunk_is_rejected_unread() {
    let mut env = Env::new();
    env.pipelines(SERIES);
    // 100 MB of zeros in one chunk, deflated to a few hundred kilobytes: HDF5 would inflate all
    // of it for every read of a piece of it.
    let upload = env.dir.path().join("HOSTILE_chunk.nc");
    {
        let n = 25_000_000;
        let mut file = netcdf::create(&upload).unwrap();
        file.add_dimension("TIME", n).unwrap();
        let mut time = file.add_variable::<f32>("TIME", &["TIME"]).unwrap();
        time.set_chunking(&[n]).unwrap();
        time.set_compression(9, true).unwrap();
        time.put_attribute("standard_name", "time").unwrap();
        time.put_attribute("units", "days since 1950-01-01 00:00:00 UTC")
            .unwrap();
        time.put_values(&vec![0f32; n], ..).unwrap();
    }
    assert!(std::fs::metadata(&upload).unwrap().len() < 2_000_000);
    let run = env.ingest(&upload);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let report = run.report();
    assert_eq!(report["error"]["fault"], "input");
    let log = report["files"][0]["check_log"].to_string();
    assert!(
        log.contains("variable TIME is stored in chunks of 100000000 bytes")
            && log.contains("nccopy -c TIME/262144"),
        "{log}"
    );
}

#[test]
fn an_hdf5_file_whose_groups_form_a_cycle_is_rejected_as_invalid() {
    use hdf5_sys::h5f::{H5F_ACC_TRUNC, H5Fclose, H5Fcreate};
    use hdf5_sys::h5g::{H5Gclose, H5Gcreate2};
    use hdf5_sys::h5l::H5Lcreate_hard;
    use hdf5_sys::h5p::H5P_DEFAULT;
    use std::ffi::CString;

    let mut env = Env::new();
    env.pipelines(SERIES);
    // A few kilobytes: group /a holds a hard link back to the root.
    let upload = env.dir.path().join("HOSTILE_cycle.nc");
    let name = |s: &str| CString::new(s).unwrap();
    // SAFETY: plain C calls on NUL-terminated names in this test's own process; every
    // identifier opened is closed.
    unsafe {
        let file = H5Fcreate(
            name(upload.to_str().unwrap()).as_ptr(),
            H5F_ACC_TRUNC,
            H5P_DEFAULT,
            H5P_DEFAULT,
        );
        assert!(file >= 0);
        let group = H5Gcreate2(
            file,
            name("/a").as_ptr(),
            H5P_DEFAULT,
            H5P_DEFAULT,
            H5P_DEFAULT,
        );
        assert!(group >= 0);
        H5Gclose(group);
        let root = name("/");
        let back = name("/a/back");
        assert!(
            H5Lcreate_hard(
                file,
                root.as_ptr(),
                file,
                back.as_ptr(),
                H5P_DEFAULT,
                H5P_DEFAULT
            ) >= 0
        );
        H5Fclose(file);
    }
    let run = env.ingest(&upload);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let report = run.report();
    assert_eq!(report["error"]["fault"], "input");
    let message = report["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("invalid NetCDF file (its groups nest more than 64 deep"),
        "{message}"
    );
    let kept = env.store("error");
    assert_eq!(kept.len(), 1, "the upload is kept: {:?}", kept.keys());
}
