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

/// Reading a pipeline file checks every pattern's syntax and compiles none (a job compiles
/// those it matches with); `validate` compiles them all, so the one fault a parse cannot see,
/// a pattern too big to compile, is refused with its field before a job meets it.
#[test]
fn validate_compiles_every_pattern_and_refuses_one_too_big() {
    let mut env = Env::new();
    let path = env.pipelines(
        "[[pipeline]]\nname = \"a\"\nkeys = '^A/'\n[[pipeline.files]]\ninclude = 'x'\npublish = \"no_action\"\n\
         [[pipeline.files]]\ninclude = '\\w{1000}\\.nc'\npublish = \"no_action\"\n",
    );
    let run = env.run(&["pipelines", "validate", path.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("pipeline \"a\", files[1].include")
            && run.stderr.contains("size limit"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("files[0]"), "{}", run.stderr);
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

#[test]
fn the_imos_pipelines_validate() {
    let env = Env::new();
    let run = env.run(&[
        "pipelines",
        "validate",
        concat!(env!("CARGO_MANIFEST_DIR"), "/examples/imos/pipelines.toml"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains(": ok (") && run.stdout.contains("3 vocabularies"),
        "{}",
        run.stdout
    );
}

/// Templates that could only fail at run time, in a branch the sample file may not take, are
/// refused by `validate`, each at its own line with the reason.
#[test]
fn templates_that_can_only_fail_at_run_time_are_refused_with_line_and_reason() {
    let mut env = Env::new();
    let path = env.pipelines(
        r#"[[pipeline]]
name = "broken"
keys = '^X/'

[[pipeline.files]]
include = 'a_(?P<year>\d{4})\.nc$'
dest = """
{%- if name == 'a_2000.nc' -%}
{%- set ns = nsx(a=1) -%}
{%- endif -%}
X/{{ m.year }}"""

[[pipeline.files]]
include = 'b_.*\.nc$'
dest = """
{%- if attrs.kind == 'x' %}{% set folder = 'x' %}{% endif -%}
X/{{ folder }}/{{ name }}"""

[[pipeline.files]]
include = 'c_(?P<year>\d{4})\.nc$'
dest = """
{%- if attrs.kind == 'x' -%}
X/{{ m.yaer }}/{{ attrs.x }}
{%- else -%}
X/{{ name | nofilter }}
{%- endif %}"""
"#,
    );
    let run = env.run(&["pipelines", "validate", path.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    let out = run.stderr;
    let origin = path.display().to_string();
    for expected in [
        format!("{origin}:9: pipeline \"broken\", files[0].dest: unknown function nsx()"),
        format!(
            "{origin}:17: pipeline \"broken\", files[1].dest: folder is set only in one branch of the {{% if %}} at line 1"
        ),
        format!(
            "{origin}:23: pipeline \"broken\", files[2].dest: the rule's include pattern has no group named yaer (it has: year)"
        ),
        format!("{origin}:25: pipeline \"broken\", files[2].dest: unknown filter nofilter"),
    ] {
        assert!(out.contains(&expected), "missing {expected:?} in:\n{out}");
    }
}

#[test]
fn route_says_where_an_upload_would_go_or_why_not() {
    let env = Env::new();
    let imos = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/imos/pipelines.toml");
    let run = env.run(&[
        "pipelines",
        "route",
        "--pipelines",
        imos,
        "SRS/IMOS_SRS-Surface-Waves_MW_JASON-2_FV02_052S-000E-DM00.nc",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("pipeline: srs_surface_waves"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "dest:     IMOS/SRS/Surface-Waves/Wave-Wind-Altimetry-DM00/JASON-2/060S_000E/IMOS_SRS-Surface-Waves_MW_JASON-2_FV02_052S-000E-DM00.nc"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("publish:  harvest_upload"),
        "{}",
        run.stdout
    );
    // A rule whose templates read the file: the file's attributes decide.
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/imos/srs/IMOS_SRSALT_PT_20160919T020500Z_BASS3A_FV01_SBE26d49m.nc"
    );
    let run = env.run(&[
        "pipelines",
        "route",
        "--pipelines",
        imos,
        "SRS/IMOS_SRSALT_PT_20160919T020500Z_BASS3A_FV01_SBE26d49m.nc",
        file,
    ]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("IMOS/SRS/ALTIMETRY/calibration_validation/SRSBASS3A/Pressure_gauge/"),
        "{}",
        run.stdout
    );
    // An upload rule that leaves the files to the file rules (members = "rules") archives the
    // upload beside them: the file goes where its file rule says.
    let run = env.run(&[
        "pipelines",
        "route",
        "--pipelines",
        imos,
        "BGC_DB/bgc_trip.csv",
    ]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("dest:     IMOS/BGC_DB/harvested_from_CSIRO/bgc_trip.csv"),
        "{}",
        run.stdout
    );
    let run = env.run(&["pipelines", "route", "--pipelines", imos, "SRS/bad.nc"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .contains("refused:  bad.nc: no SRS stream takes this name"),
        "{}",
        run.stdout
    );
}

#[test]
fn harvest_declarations_are_validated_naming_the_file_and_the_field() {
    let mut env = Env::new();
    let path = env.pipelines(
        r#"[[pipeline]]
name = "moorings"
keys = '^A/'
harvest = "harvest/broken.toml"

[[pipeline.files]]
include = 'x'
dest = "X/{{ name }}"
harvest = "harvest/missing.toml"

[[pipeline.files]]
include = 'y'
publish = "upload_only"
dest = "Y/{{ name }}"
harvest = "harvest/broken.toml"

[[pipeline]]
name = "inline"
keys = '^B/'

[[pipeline.files]]
include = 'z'
dest = "Z/{{ name }}"

[pipeline.harvest]
schema = "Upper"

[[pipeline.harvest.tables]]
name = "measurement"
rows = "sideways"
columns = ["TIME"]
"#,
    );
    let dir = path.parent().unwrap().join("harvest");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("broken.toml"),
        "schema = \"anmn_ts\"\n[[tables]]\nname = \"measurement\"\nrows = \"samples\"\ncolumns = [{ name = \"TEMP\", type = \"decimal\" }]\n",
    )
    .unwrap();
    let run = env.run(&["pipelines", "validate", path.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    let out = run.stderr;
    let origin = path.display().to_string();
    for expected in [
        format!(
            "{origin}:4:11: pipeline \"moorings\", harvest: harvest/broken.toml: tables[0].columns[0].type:"
        ),
        format!(
            "{origin}:9:11: pipeline \"moorings\", files[0].harvest: cannot read harvest/missing.toml"
        ),
        format!(
            "{origin}:15:11: pipeline \"moorings\", files[1].harvest: publish type upload_only does not harvest"
        ),
        "pipeline \"inline\", harvest.schema: \"Upper\": use lower case".to_string(),
        "pipeline \"inline\", harvest.tables[0].rows: unknown value \"sideways\"".to_string(),
    ] {
        assert!(out.contains(&expected), "missing {expected:?} in:\n{out}");
    }

    // Fixed, the same file validates, and the example declaration loads by path, its Parquet
    // copy included (a publish writes it with the rest); a Parquet copy of a file table is
    // refused, naming the declaration file and the field.
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/harvest/anmn_ts.toml");
    let text = std::fs::read_to_string(example).unwrap();
    assert!(
        text.contains("\n[parquet]\n"),
        "the example declares a Parquet copy"
    );
    std::fs::write(dir.join("missing.toml"), &text).unwrap();
    std::fs::write(
        dir.join("broken.toml"),
        text.replace(
            "[parquet]\ntable = \"measurement\"",
            "[parquet]\ntable = \"file_metadata\"",
        ),
    )
    .unwrap();
    let fixed = std::fs::read_to_string(&path)
        .unwrap()
        .replace("publish = \"upload_only\"\n", "")
        .replace("schema = \"Upper\"", "schema = \"inline_ts\"")
        .replace("\"sideways\"", "\"samples\"\ndimensions = [\"TIME\"]");
    std::fs::write(&path, fixed).unwrap();
    let run = env.run(&["pipelines", "validate", path.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    let refused = format!(
        "{origin}:4:11: pipeline \"moorings\", harvest: harvest/broken.toml: parquet.table: the dataset holds samples or CSV rows"
    );
    assert!(
        run.stderr.contains(&refused),
        "missing {refused:?} in:\n{}",
        run.stderr
    );
    std::fs::write(dir.join("broken.toml"), &text).unwrap();
    let run = env.run(&["pipelines", "validate", path.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

/// A pipeline names a registered handler, with the parameters it takes: `validate` refuses an
/// unknown name or parameter at its line, saying what would fix it; an upload rule's members
/// cannot have destinations of their own.
#[test]
fn handlers_are_checked_by_name_and_parameters() {
    let mut env = Env::new();
    let path = env.pipelines(
        r#"[[pipeline]]
name = "gliders"
keys = '^ANFOG/'
handler = "anfgo"

[[pipeline]]
name = "tags"
keys = '^TAGS/'
handler = "aatams_sattag"

[pipeline.handler_params]
mode = "delayed"

[[pipeline]]
name = "ships"
keys = '^SHIPS/'
handler = "tmv_log"

[pipeline.handler_params]
vessel = "vessels"

[[pipeline]]
name = "plain"
keys = '^PLAIN/'

[pipeline.handler_params]
mode = "dm"

[[pipeline.files]]
include = '.*'
dest = "X/{{ name }}"

[[pipeline]]
name = "images"
keys = '^IMAGES/'

[[pipeline.files]]
include = '.*'
dest = "X/{{ name }}"

[[pipeline.upload]]
include = 'images_.*\.zip$'
dest = "X/{{ name }}"
members = "upload_only"

[[pipeline]]
name = "surveys"
keys = '^SURVEYS/'
handler = "nsw_oeh_survey"

[[pipeline]]
name = "tables"
keys = '^TABLES/'
table_schemas = "no-such-folder"

[[pipeline.files]]
include = '.*'
dest = "TABLES/{{ name }}"
"#,
    );
    let run = env.run(&["pipelines", "validate", path.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    let out = run.stderr;
    let origin = path.display().to_string();
    for expected in [
        format!(
            "{origin}:49:11: pipeline \"surveys\", writes: handler \"nsw_oeh_survey\" places the files itself: declare where it writes"
        ),
        format!(
            "{origin}:44:11: pipeline \"images\", upload[0].members: members of an upload published whole have no destination of their own: use no_action, archive_only or rules (the file rules place them), not upload_only"
        ),
        format!(
            "{origin}:4:11: pipeline \"gliders\", handler: unknown handler \"anfgo\"; known handlers: default, aatams_sattag, anfog, atf_acoustic_index, nsw_oeh_survey, tmv_log, wave_monthly, burst_average, xbt_bufr"
        ),
        format!(
            "{origin}:9:11: pipeline \"tags\", handler: handler_params.mode of handler \"aatams_sattag\" is \"delayed\"; use \"dm\" or \"nrt\""
        ),
        format!(
            "{origin}:17:11: pipeline \"ships\", handler: handler \"tmv_log\" takes no parameter \"vessel\"; it takes: vessels"
        ),
        "pipeline \"plain\", handler_params: handler_params without a handler has no effect"
            .to_string(),
        format!(
            "{origin}:54:17: pipeline \"tables\", table_schemas: cannot read the table schema folder"
        ),
    ] {
        assert!(out.contains(&expected), "missing {expected:?} in:\n{out}");
    }
    // Handlers that place files need no rules; the default handler does.
    assert!(!out.contains("pipeline \"gliders\", files:"), "{out}");
}
