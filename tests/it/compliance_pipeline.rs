//! The pipeline's nc_compliance check: the pipeline file's checks, criteria and skip_checks
//! decide; a failing file's report goes into the job report and the provider's notification.

use crate::common::*;

const FISHSOOP: &str = "IMOS_SOOP-FishSOOP_TP_20240310T094642Z_FV00_786.nc";
const ACORN: &str = "IMOS_ACORN_V_20101201T050000Z_BONC_FV00_sea-state.nc";

fn pipeline(criteria: &str, skip: &str) -> String {
    format!(
        r#"
[[pipeline]]
name = "checked"
keys = '^IMOS_'
allowed_extensions = [".nc"]
checks = ["cf:1.6"]
criteria = "{criteria}"
skip_checks = [{skip}]
owners = ["data-team@example.org"]

[[pipeline.files]]
include = '.*\.nc$'
check = "nc_compliance"
publish = "upload_only"
dest = "CHECKED/{{{{ name }}}}"
"#
    )
}

#[test]
fn a_file_failing_cf_is_rejected_with_its_failed_groups_in_the_report_and_the_email() {
    let mut env = Env::new();
    env.pipelines(&pipeline("lenient", ""));
    let run = env.run(&[
        "run",
        "--output",
        "json",
        "--uploader",
        "provider@example.com",
        data(FISHSOOP).to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let report = run.report();
    let file = &report["files"][0];
    assert_eq!(file["check_type"], "nc_compliance");
    assert_eq!(file["check_passed"], false);
    let log = file["check_log"].to_string();
    assert!(log.contains("cf:1.6: FAILED"), "{log}");
    assert!(log.contains("§3.1 Units"), "{log}");
    assert!(env.store("public").is_empty());
    let job_id = report["job_id"].as_str().unwrap();
    let eml = env.outbox_eml(job_id);
    assert!(
        eml.contains(&format!("{FISHSOOP}.check.txt")),
        "the check report is attached"
    );
}

#[test]
fn criteria_and_skip_checks_from_the_pipeline_file_decide() {
    // ACORN fails cf:1.6 at normal (medium groups) and passes at lenient.
    let mut env = Env::new();
    env.pipelines(&pipeline("normal", ""));
    assert_eq!(env.ingest(&data(ACORN)).code, 1);
    let mut env = Env::new();
    env.pipelines(&pipeline("lenient", ""));
    let run = env.ingest(&data(ACORN));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        env.store("public")
            .contains_key(&format!("CHECKED/{ACORN}"))
    );
    // FishSOOP's only high failure comes from check_units: skipping it lets the file through.
    let mut env = Env::new();
    env.pipelines(&pipeline("lenient", "\"check_units\""));
    let run = env.ingest(&data(FISHSOOP));
    assert_eq!(run.code, 0, "{}", run.stderr);
}
