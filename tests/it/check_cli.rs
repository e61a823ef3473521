//! `ocean-ingest check`: reports per file (text or one JSON object per line) and the exit codes
//! 0 (all compliant), 1 (any not) and 2 (usage errors).

use crate::common::*;

const GOOD: &str =
    "IMOS_ANMN-NRS_CDEKOSTUZ_20140703T021045Z_NRSMAI_FV01_Profile-SBE-19plus_C-20160524T003914Z.nc";
const FISHSOOP: &str = "IMOS_SOOP-FishSOOP_TP_20240310T094642Z_FV00_786.nc";

#[test]
fn json_reports_one_line_per_file_with_suites_and_groups() {
    let env = Env::new();
    let (good, bad) = (data(GOOD), data(FISHSOOP));
    let run = env.run(&[
        "check",
        "--suite",
        "cf:1.6",
        "--format",
        "json",
        good.to_str().unwrap(),
        bad.to_str().unwrap(),
        data("not_a_netcdf_file.nc").to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let lines: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["compliant"], true);
    assert_eq!(lines[0]["error"], serde_json::Value::Null);
    let suite = &lines[0]["suites"][0];
    assert_eq!(suite["suite"], "cf:1.6");
    assert_eq!(suite["scored"], suite["possible"]);
    let group = &suite["groups"][0];
    for key in ["name", "priority", "scored", "possible", "messages"] {
        assert!(group.get(key).is_some(), "{key} in {group}");
    }
    // FishSOOP fails cf:1.6 at HIGH priority (its featureType), as the reference says.
    assert_eq!(lines[1]["compliant"], false);
    let failed: Vec<&str> = lines[1]["suites"][0]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["priority"] == "high" && g["scored"] != g["possible"])
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert!(!failed.is_empty(), "{}", lines[1]);
    assert!(
        lines[2]["error"]
            .as_str()
            .unwrap()
            .starts_with("invalid NetCDF file"),
        "{}",
        lines[2]
    );
    assert_eq!(lines[2]["suites"], serde_json::json!([]));
}

#[test]
fn text_report_lists_the_failed_groups_by_priority_and_exit_codes_follow_the_verdict() {
    let env = Env::new();
    let run = env.run(&["check", data(GOOD).to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("compliant"), "{}", run.stdout);
    let run = env.run(&[
        "check",
        "--criteria",
        "lenient",
        data(FISHSOOP).to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("NOT compliant"), "{}", run.stdout);
    assert!(run.stdout.contains("High priority:"), "{}", run.stdout);
}

#[test]
fn usage_errors_exit_2() {
    let env = Env::new();
    let run = env.run(&["check", "--suite", "cf:9.9", data(GOOD).to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("unknown check suite \"cf:9.9\""),
        "{}",
        run.stderr
    );
    let run = env.run(&["check", "no-such-file.nc"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("no-such-file.nc: no such file"),
        "{}",
        run.stderr
    );
    assert_eq!(env.run(&["check"]).code, 2);
}
