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

/// The JSON lines of a run, parsed.
fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Groups (name, priority) of one suite's report in a JSON line.
fn groups_of(line: &serde_json::Value, suite: &str) -> Vec<(String, String)> {
    line["suites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["suite"] == suite)
        .unwrap_or_else(|| panic!("no {suite} in {line}"))["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["name"].as_str().unwrap().to_string(),
                g["priority"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn compliance_checker_flags_run_suites_skip_checks_and_pick_the_format() {
    let env = Env::new();
    let good = data(GOOD);
    let file = good.to_str().unwrap();
    let theirs = env.run(&[
        "check",
        "-t",
        "cf:1.6",
        "-t",
        "imos:1.4",
        "--skip-checks",
        "check_units",
        "-f",
        "json",
        file,
    ]);
    assert_eq!(theirs.code, 0, "{}{}", theirs.stdout, theirs.stderr);
    let lines = json_lines(&theirs.stdout);
    assert_eq!(lines.len(), 1);
    let suites: Vec<&str> = lines[0]["suites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["suite"].as_str().unwrap())
        .collect();
    assert_eq!(suites, ["cf:1.6", "imos:1.4"]);
    // check_units scores CF's §3.1 groups (high and medium here): skipped, they are gone and
    // every other group stays.
    let all = env.run(&["check", "-t", "cf:1.6", "-f", "json", file]);
    let mut with_units = groups_of(&json_lines(&all.stdout)[0], "cf:1.6");
    let units: Vec<String> = with_units
        .iter()
        .filter(|(n, _)| n == "§3.1 Units")
        .map(|(_, p)| p.clone())
        .collect();
    assert_eq!(units, ["high", "medium"], "{with_units:?}");
    with_units.retain(|(n, _)| n != "§3.1 Units");
    assert_eq!(groups_of(&lines[0], "cf:1.6"), with_units);
    // Our own spellings mean the same.
    let ours = env.run(&[
        "check",
        "--suite",
        "cf:1.6",
        "-s",
        "imos:1.4",
        "--skip-check",
        "check_units",
        "--format",
        "json",
        file,
    ]);
    assert_eq!((ours.code, ours.stdout), (theirs.code, theirs.stdout));
    // -c is --criteria; the level suffix of --skip-checks is compliance-checker's.
    let lenient = env.run(&["check", "-c", "lenient", "-t", "cf:1.6", file]);
    assert_eq!(lenient.code, 0, "{}", lenient.stdout);
    assert!(
        lenient.stdout.contains("criteria lenient"),
        "{}",
        lenient.stdout
    );
    let medium = env.run(&[
        "check",
        "-t",
        "cf:1.6",
        "--skip-checks",
        "check_units:M",
        "-f",
        "json",
        file,
    ]);
    let kept = json_lines(&medium.stdout)[0]["suites"][0]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["name"] == "§3.1 Units")
        .map(|g| g["priority"].as_str().unwrap().to_string())
        .collect::<Vec<_>>();
    assert_eq!(kept, ["high"]);
}

#[test]
fn output_goes_to_one_file_one_file_per_input_or_stdout_as_compliance_checker() {
    let env = Env::new();
    let (good, bad) = (data(GOOD), data(FISHSOOP));
    let (good, bad) = (good.to_str().unwrap(), bad.to_str().unwrap());
    let out = env.dir.path().join("report.json");
    let run = env.run(&[
        "check",
        "-f",
        "json",
        "-o",
        out.to_str().unwrap(),
        good,
        bad,
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.stdout, "", "the report went to the file");
    let lines = json_lines(&std::fs::read_to_string(&out).unwrap());
    assert_eq!(lines.len(), 2);
    assert_eq!(
        (lines[0]["compliant"].clone(), lines[1]["compliant"].clone()),
        (true.into(), false.into())
    );
    // One output per input, in order.
    let (a, b) = (env.dir.path().join("a.txt"), env.dir.path().join("b.txt"));
    let run = env.run(&[
        "check",
        "-o",
        a.to_str().unwrap(),
        "-o",
        b.to_str().unwrap(),
        good,
        bad,
    ]);
    assert_eq!(run.code, 1);
    let a = std::fs::read_to_string(&a).unwrap();
    let b = std::fs::read_to_string(&b).unwrap();
    assert!(a.starts_with(&format!("{good}: compliant")), "{a}");
    assert!(b.starts_with(&format!("{bad}: NOT compliant")), "{b}");
    // - is stdout.
    let run = env.run(&["check", "-o", "-", good]);
    assert!(
        run.stdout.starts_with(&format!("{good}: compliant")),
        "{}",
        run.stdout
    );
    // Several formats into one named output: one file per format, named by extension.
    let both = env.dir.path().join("both.out");
    let run = env.run(&[
        "check",
        "-f",
        "text",
        "-f",
        "json",
        "-o",
        both.to_str().unwrap(),
        good,
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = std::fs::read_to_string(env.dir.path().join("both.txt")).unwrap();
    assert!(text.starts_with(&format!("{good}: compliant")), "{text}");
    let json = std::fs::read_to_string(env.dir.path().join("both.json")).unwrap();
    assert_eq!(json_lines(&json)[0]["compliant"], true);
    assert!(!both.exists());
    // Any other number of outputs is a usage error, before anything is checked or written.
    let c = env.dir.path().join("c.txt");
    let run = env.run(&[
        "check",
        "-o",
        c.to_str().unwrap(),
        "-o",
        "-",
        "-o",
        "-",
        good,
        bad,
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("3 --output files for 2 files"),
        "{}",
        run.stderr
    );
    assert!(!c.exists());
}

#[test]
fn list_tests_and_describe_checks_need_no_file() {
    let env = Env::new();
    let run = env.run(&["check", "-l"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let listed: Vec<&str> = run
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix(" - "))
        .collect();
    assert_eq!(listed, ["cf:1.6", "ghrsst:1.0", "imos:1.3", "imos:1.4"]);
    assert_eq!(env.run(&["check", "--list-tests"]).stdout, run.stdout);
    let run = env.run(&["check", "-D", "-t", "cf:1.6"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains(" cf:1.6 \n"), "{}", run.stdout);
    assert!(run.stdout.contains("\n- check_units\n"), "{}", run.stdout);
    assert!(!run.stdout.contains("imos"), "{}", run.stdout);
}

#[test]
fn suite_names_without_a_version_mean_what_they_mean_in_compliance_checker() {
    let env = Env::new();
    let good = data(GOOD);
    let run = env.run(&["check", "-t", "imos", "-f", "json", good.to_str().unwrap()]);
    assert_eq!(json_lines(&run.stdout)[0]["suites"][0]["suite"], "imos:1.4");
    let latest = env.run(&[
        "check",
        "-t",
        "imos:latest",
        "-f",
        "json",
        good.to_str().unwrap(),
    ]);
    assert_eq!(latest.stdout, run.stdout);
    // compliance-checker 5.0.2's `cf` is CF 1.8, which this build does not run: refused, not
    // silently replaced by another version.
    let run = env.run(&["check", "-t", "cf", good.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("cf means cf:1.8"), "{}", run.stderr);
    assert!(run.stderr.contains("cf:1.6"), "{}", run.stderr);
    // compliance-checker's -s skips a check; here it names a suite, and the error says so.
    let run = env.run(&["check", "-s", "check_units", good.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("--skip-checks check_units"),
        "{}",
        run.stderr
    );
}

#[test]
fn skip_checks_warn_about_unknown_levels_and_checks_in_the_log() {
    let env = Env::new();
    let good = data(GOOD);
    let run = env.run(&[
        "check",
        "--skip-checks",
        "check_units:X",
        "--skip-checks",
        "check_unitz",
        good.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let warnings: Vec<String> = json_lines(&run.stderr)
        .iter()
        .filter(|w| w["level"] == "WARN")
        .map(|w| w["message"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(warnings.len(), 2, "{}", run.stderr);
    assert!(
        warnings[0].contains("level \"X\" is not A, M or L"),
        "{warnings:?}"
    );
    assert!(
        warnings[1].contains("no check of cf:1.6 is named check_unitz"),
        "{warnings:?}"
    );
}

#[test]
fn check_help_lists_the_checker_options_in_compliance_checkers_order_with_our_aliases() {
    let env = Env::new();
    let run = env.run(&["check", "--help"]);
    assert_eq!(run.code, 0);
    let help = run.stdout;
    let at = |flag: &str| {
        help.find(flag)
            .unwrap_or_else(|| panic!("{flag} missing from:\n{help}"))
    };
    let order = [
        "-t, --test",
        "-c, --criteria",
        "--skip-checks",
        "-f, --format",
        "-o, --output",
        "-l, --list-tests",
        "-D, --describe-checks",
    ];
    for pair in order.windows(2) {
        assert!(
            at(pair[0]) < at(pair[1]),
            "{} after {}:\n{help}",
            pair[0],
            pair[1]
        );
    }
    assert!(help.contains("[aliases: -s, --suite]"), "{help}");
    assert!(help.contains("[alias: --skip-check]"), "{help}");
}
