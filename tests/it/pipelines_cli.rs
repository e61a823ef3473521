//! `ocean-ingest pipelines validate|list`: every problem named with its line, pipeline and field.

use crate::common::*;

#[test]
fn the_example_pipelines_validate() {
    let env = Env::new();
    let run = env.run(&[
        "pipelines",
        "validate",
        concat!(env!("CARGO_MANIFEST_DIR"), "/examples/pipelines.toml"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains(": ok ("), "{}", run.stdout);
    // With no file given, the example compiled into the binary is used.
    let run = env.run(&["pipelines", "validate"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("embedded example"), "{}", run.stdout);
}

#[test]
fn every_problem_is_reported_with_line_pipeline_and_field() {
    let mut env = Env::new();
    let path = env.pipelines(
        r#"[[pipeline]]
name = "Bad Name"
keys = '(unclosed'
checks = ["cf:9.9"]
criteria = "picky"
owners = ["not-an-address"]

[[pipeline.files]]
include = 'x'
publish = "harvest_everything"

[[pipeline.files]]
include = 'y'
publish = "harvest_upload"
dest = "{{ unclosed"
"#,
    );
    let run = env.run(&["pipelines", "validate", path.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    let out = run.stderr;
    let origin = path.display().to_string();
    for expected in [
        format!("{origin}:2:8: pipeline \"Bad Name\", name: use lower-case letters"),
        format!("{origin}:3:8: pipeline \"Bad Name\", keys: invalid regular expression"),
        format!("{origin}:4:11: pipeline \"Bad Name\", checks[0]: unknown check suite \"cf:9.9\""),
        format!("{origin}:5:12: pipeline \"Bad Name\", criteria: unknown criteria \"picky\""),
        format!(
            "{origin}:6:11: pipeline \"Bad Name\", owners[0]: \"not-an-address\" is not an email address"
        ),
        format!(
            "{origin}:10:11: pipeline \"Bad Name\", files[0].publish: unknown publish type \"harvest_everything\""
        ),
        format!("{origin}:15:8: pipeline \"Bad Name\", files[1].dest: invalid template"),
    ] {
        assert!(out.contains(&expected), "missing {expected:?} in:\n{out}");
    }
    assert!(out.contains("7 problems"), "{out}");
}

#[test]
fn toml_syntax_errors_and_unknown_fields_name_their_line() {
    let mut env = Env::new();
    let path = env.pipelines("[[pipeline]]\nname = \"a\"\nkeys = '.*'\ndset = \"typo\"\n");
    let run = env.run(&["pipelines", "validate", path.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains(":4:1:") && run.stderr.contains("unknown field `dset`"),
        "{}",
        run.stderr
    );

    let path = env.pipelines("[[pipeline]\nname = \"a\"\n");
    let run = env.run(&["pipelines", "validate", path.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains(":1:"), "{}", run.stderr);
}

#[test]
fn a_rule_that_publishes_needs_a_destination() {
    let mut env = Env::new();
    let path = env.pipelines("[[pipeline]]\nname = \"a\"\nkeys = '.*'\n[[pipeline.files]]\ninclude = 'x'\npublish = \"harvest_upload\"\n");
    let run = env.run(&["pipelines", "validate", path.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("files[0].dest: publish type harvest_upload needs a dest template"),
        "{}",
        run.stderr
    );
}

#[test]
fn run_refuses_an_invalid_pipeline_file_before_touching_anything() {
    let mut env = Env::new();
    env.pipelines("[[pipeline]]\nname = \"a\"\nkeys = '(bad'\n[[pipeline.files]]\ninclude = 'x'\npublish = \"no_action\"\n");
    let run = env.run(&["run", data(ACORN).to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("keys: invalid regular expression"),
        "{}",
        run.stderr
    );
    assert!(!env.home().exists(), "no store was created");
}

#[test]
fn list_shows_each_pipeline_and_rule() {
    let env = Env::new();
    let run = env.run(&["pipelines", "list"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("anmn_nrs\n  keys:"), "{}", run.stdout);
    assert!(run.stdout.contains("→ upload_only"), "{}", run.stdout);
}

#[test]
fn overlapping_writes_are_reported_with_both_pipelines_and_their_lines() {
    let mut env = Env::new();
    let path = env.pipelines(
        r#"[[pipeline]]
name = "profiles"
keys = '^P/'

[[pipeline.files]]
include = '.*'
dest = "IMOS/ANMN/NRS/{{ attrs.site_code }}/{{ name }}"

[[pipeline]]
name = "series"
keys = '^S/'

[[pipeline.files]]
include = '.*'
dest = "IMOS/ANMN/NRS/{{ attrs.site_code }}/Temperature/{{ name }}"

[[pipeline]]
name = "chosen"
keys = '^C/'
writes = ["IMOS/ANMN/*/NRSMAI/", "OTHER/"]

[[pipeline.files]]
include = '.*'
publish = "archive_only"
archive = "ARCHIVED/{{ name }}"

[[pipeline]]
name = "apart"
keys = '^A/'
writes = ["IMOS/ANMN/NRS/*/Biogeochem_profiles/", "bad//pattern/"]

[[pipeline.files]]
include = '.*'
dest = "IMOS/ANMN/NRS/{{ attrs.site_code }}/Biogeochem_profiles/{{ name }}"
"#,
    );
    let run = env.run(&["pipelines", "validate", path.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    let out = run.stderr;
    let origin = path.display().to_string();
    for expected in [
        // Derived from the templates: both write IMOS/ANMN/NRS/…
        format!(
            "{origin}:15:8: pipeline \"series\", files[0].dest: may write IMOS/ANMN/NRS/ in the public store, where pipeline \"profiles\" may also write (IMOS/ANMN/NRS/, its files[0].dest at line 7)"
        ),
        // Declared: a wildcard folder meets a literal one, in each store.
        format!(
            "{origin}:20:11: pipeline \"chosen\", writes[0]: may write IMOS/ANMN/*/NRSMAI/ in the public store, where pipeline \"profiles\""
        ),
        format!(
            "{origin}:20:11: pipeline \"chosen\", writes[0]: may write IMOS/ANMN/*/NRSMAI/ in the public store, where pipeline \"series\""
        ),
        format!("{origin}:30:51: pipeline \"apart\", writes[1]: a pattern has no empty segments"),
        format!(
            "{origin}:30:11: pipeline \"apart\", writes[0]: may write IMOS/ANMN/NRS/*/Biogeochem_profiles/ in the public store, where pipeline \"profiles\""
        ),
    ] {
        assert!(out.contains(&expected), "missing {expected:?} in:\n{out}");
    }
    // Kept apart: a folder nobody else writes, and an archive only one pipeline writes in.
    assert!(!out.contains("may write OTHER/"), "{out}");
    assert!(
        !out.contains("in the archive, where pipeline \"profiles\""),
        "{out}"
    );
}
