//! The Terraform module counts job outcomes per pipeline with a CloudWatch Logs metric filter on
//! the job log group (infra/dashboard.tf). These tests read that filter's pattern and dimensions
//! from the module and apply them, as CloudWatch Logs does, to the JSON lines real jobs write on
//! stderr: each job's outcome line matches once, its dimensions give the job's pipeline and
//! outcome, and no other line of the job matches (nothing counted twice).

use serde_json::Value;

use crate::common::*;

const MODULE_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/infra/dashboard.tf");

/// One comparison of a JSON filter pattern: `$.a.b = "text"`, `$.a = *` (the field exists).
#[derive(Debug)]
struct Term {
    path: Vec<String>,
    value: Expect,
}

#[derive(Debug)]
enum Expect {
    Exists,
    Text(String),
}

/// The part of CloudWatch Logs' JSON filter pattern syntax the module uses: `{ term && term }`,
/// each term `$.selector = "string"` or `$.selector = *`, optionally in parentheses. Anything else
/// fails the test, so a pattern this reader does not understand is never taken as matching.
fn parse_pattern(pattern: &str) -> Vec<Term> {
    let body = pattern
        .trim()
        .strip_prefix('{')
        .and_then(|p| p.strip_suffix('}'))
        .unwrap_or_else(|| panic!("not a JSON filter pattern: {pattern}"));
    assert!(
        !body.contains("||"),
        "`||` in the pattern is not read here: {pattern}"
    );
    body.split("&&")
        .map(|term| {
            let term = term.trim();
            let term = term
                .strip_prefix('(')
                .and_then(|t| t.strip_suffix(')'))
                .unwrap_or(term)
                .trim();
            let (selector, value) = term
                .split_once(" = ")
                .unwrap_or_else(|| panic!("only `=` comparisons are read here: {term}"));
            let path = selector
                .trim()
                .strip_prefix("$.")
                .unwrap_or_else(|| panic!("a selector starts with `$.`: {term}"))
                .split('.')
                .map(str::to_string)
                .collect();
            let value = match value.trim() {
                "*" => Expect::Exists,
                quoted => {
                    let text = quoted
                        .strip_prefix('"')
                        .and_then(|q| q.strip_suffix('"'))
                        .unwrap_or_else(|| panic!("a value is `*` or quoted: {term}"));
                    assert!(
                        !text.contains('*'),
                        "wildcards inside a string are not read here: {term}"
                    );
                    Expect::Text(text.to_string())
                }
            };
            Term { path, value }
        })
        .collect()
}

fn field<'a>(line: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(line, |v, k| v.get(k))
}

fn matches(terms: &[Term], line: &Value) -> bool {
    terms
        .iter()
        .all(|t| match (&t.value, field(line, &t.path)) {
            (_, None) => false,
            (Expect::Exists, Some(_)) => true,
            (Expect::Text(want), Some(got)) => got.as_str() == Some(want.as_str()),
        })
}

/// A quoted HCL string's text (the module's patterns escape only `"` and `\`).
fn hcl_string(quoted: &str) -> String {
    let inner = quoted
        .trim()
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or_else(|| panic!("not a quoted string: {quoted}"));
    inner.replace("\\\"", "\"").replace("\\\\", "\\")
}

/// The outcome filter as the module declares it: its pattern (the local it names) and its
/// dimensions (name → selector).
fn outcome_filter() -> (String, Vec<(String, Vec<String>)>) {
    let tf = std::fs::read_to_string(MODULE_FILE).unwrap();
    let block = tf
        .split("resource \"aws_cloudwatch_log_metric_filter\" \"job_outcomes\" {")
        .nth(1)
        .expect("the module declares the job outcome filter");
    let block = &block[..block.find("\n}\n").expect("the block ends")];
    let local = block
        .lines()
        .find_map(|l| l.trim().strip_prefix("pattern"))
        .and_then(|l| l.trim().strip_prefix('='))
        .map(str::trim)
        .and_then(|l| l.strip_prefix("local."))
        .expect("the filter's pattern is a local");
    let pattern = tf
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once('=')?;
            (name.trim() == local).then(|| hcl_string(value))
        })
        .unwrap_or_else(|| panic!("local {local} is defined"));
    let dims = block
        .split("dimensions = {")
        .nth(1)
        .expect("the filter has dimensions");
    let dims = dims[..dims.find('}').unwrap()]
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(name, selector)| {
            let selector = hcl_string(selector);
            let path = selector
                .strip_prefix("$.")
                .unwrap_or_else(|| panic!("a dimension's selector starts with `$.`: {selector}"))
                .split('.')
                .map(str::to_string)
                .collect();
            (name.trim().to_string(), path)
        })
        .collect::<Vec<_>>();
    (pattern, dims)
}

/// The dimensions CloudWatch would give the metric for `line`: each a string field the pattern
/// requires to be there.
fn dimensions_of(dims: &[(String, Vec<String>)], line: &Value) -> Vec<(String, String)> {
    dims.iter()
        .map(|(name, path)| {
            let value = field(line, path)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| panic!("dimension {name}: no text at {path:?} in {line}"));
            (name.clone(), value.to_string())
        })
        .collect()
}

/// Every stderr line of a run that is JSON (libnetcdf may print other things).
fn log_lines(run: &Run) -> Vec<Value> {
    run.stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(Value::is_object)
        .collect()
}

/// Asserts the filter counts the run's job exactly once, under its pipeline and outcome.
fn assert_counted_once(run: &Run, want_pipeline: &str, want_outcome: &str) {
    let (pattern, dims) = outcome_filter();
    let terms = parse_pattern(&pattern);
    let lines = log_lines(run);
    assert!(!lines.is_empty(), "no JSON log lines:\n{}", run.stderr);
    let matched: Vec<&Value> = lines.iter().filter(|l| matches(&terms, l)).collect();
    assert_eq!(
        matched.len(),
        1,
        "the pattern {pattern} must match the job's outcome line and nothing else:\n{}",
        run.stderr
    );
    let report = run.report();
    assert_eq!(report["outcome"], want_outcome, "{}", run.stdout);
    let mut got = dimensions_of(&dims, matched[0]);
    got.sort();
    let mut want = vec![
        ("Outcome".to_string(), want_outcome.to_string()),
        ("Pipeline".to_string(), want_pipeline.to_string()),
    ];
    want.sort();
    assert_eq!(got, want, "the dimensions of {}", matched[0]);
}

#[test]
fn the_outcome_filter_counts_each_job_once_under_its_pipeline_and_outcome() {
    let env = Env::new();
    assert_counted_once(&env.ingest(&data(PROFILE)), "anmn_nrs", "published");
    assert_counted_once(&env.ingest(&data(PROFILE)), "anmn_nrs", "duplicate");
    assert_counted_once(&env.ingest(&data(PROFILE_BAD)), "anmn_nrs", "rejected");
    // No pipeline claims a CSV: the line names the unrouted pseudo-pipeline.
    let csv = env.dir.path().join("notes.csv");
    std::fs::write(&csv, "a,b\n1,2\n").unwrap();
    assert_counted_once(&env.ingest(&csv), "_unrouted", "rejected");

    // Another job holds a live claim on the upload (an SQS message delivered twice): this job
    // defers it, a transient failure of the pipeline that routed it.
    let env = Env::new();
    let incoming = env.home().join("incoming");
    std::fs::create_dir_all(&incoming).unwrap();
    std::fs::copy(data(ACORN), incoming.join(ACORN)).unwrap();
    env.claim_elsewhere(&incoming, ACORN, "acorn");
    assert_counted_once(
        &env.ingest(&incoming.join(ACORN)),
        "acorn",
        "failed_transient",
    );
}

#[test]
fn the_pattern_reader_refuses_what_it_does_not_understand_and_can_fail() {
    let line: Value =
        serde_json::json!({"message": "job finished", "pipeline": "p", "outcome": "published"});
    let (pattern, _) = outcome_filter();
    assert!(matches(&parse_pattern(&pattern), &line));
    let other: Value = serde_json::json!({"message": "state", "pipeline": "p", "state": "Initial"});
    assert!(!matches(&parse_pattern(&pattern), &other));
    let no_outcome: Value = serde_json::json!({"message": "job finished", "pipeline": "p"});
    assert!(!matches(&parse_pattern(&pattern), &no_outcome));
    for unread in [
        "{ $.a = 1 || $.b = 2 }",
        "{ $.a != \"x\" }",
        "[ip, user]",
        "{ $.a = \"x*\" }",
    ] {
        assert!(
            std::panic::catch_unwind(|| parse_pattern(unread)).is_err(),
            "{unread}"
        );
    }
}
