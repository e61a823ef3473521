//! Rules against what is published, end to end: `[pipeline.files.published]` (an upload compared
//! with the version at its destination, from the index or the object's own header; published
//! versions of another name replaced and removed, at most as many as the rule says) and
//! `primary` (one file of the upload places the others).

use crate::common::*;

const PIPELINES: &str = r#"
[[pipeline]]
name = "radar"
keys = '^RADAR/'

[[pipeline.files]]
include = 'IMOS_ACORN_'
check = "format"
dest = "R/{{ name }}"
[pipeline.files.published]
require = [{ that = "attrs.date_created >= published.attrs.date_created", reason = "created {{ attrs.date_created }}, older than {{ published.dest }} (created {{ published.attrs.date_created }})" }]

[[pipeline]]
name = "deployments"
keys = '^DEPLOY/'
primary = '.*\.nc$'

[[pipeline.files]]
include = '.*\.nc$'
check = "format"
dest = "D/{{ attrs.date_created[:4] }}/{{ name }}"
[pipeline.files.published]
versions = '.*\.nc$'
at_most = 1

[[pipeline.files]]
include = '.*\.txt$'
publish = "upload_only"
on_delete = "delete_only"
dest = "{{ primary.dest_dir }}/{{ name }}"
[pipeline.files.published]
versions = '.*\.txt$'
at_most = 1

[[pipeline.files]]
include = '.*\.raw$'
publish = "archive_only"
archive = "RAW/{{ primary.dest_dir }}/{{ primary.stem }}-{{ name }}"
"#;

const NAME: &str = "IMOS_ACORN_V_20170101T003000Z_ROT_FV01_1-hour-avg.nc";

/// The ACORN file as published (created 2017-04-28T16:20:30Z), or a copy created `older` or
/// `newer`.
fn acorn(which: &str) -> Vec<u8> {
    let rel = match which {
        "published" => format!("imos/acorn/{NAME}"),
        other => format!("imos/acorn/built/{other}/{NAME}"),
    };
    std::fs::read(data(&rel)).unwrap()
}

fn setup() -> Env {
    let mut env = Env::new();
    env.pipelines(PIPELINES);
    env
}

fn public_keys(env: &Env) -> Vec<String> {
    env.store("public").into_keys().collect()
}

#[test]
fn an_upload_older_than_the_indexed_version_is_refused_and_a_newer_one_replaces_it() {
    let env = setup();
    let key = format!("RADAR/{NAME}");
    published(&env, &key, &acorn("published"));
    rejected(
        &env,
        &key,
        &acorn("older"),
        &[&format!(
            "{NAME}: created 2017-04-27T16:20:28Z, older than R/{NAME} (created 2017-04-28T16:20:30Z)"
        )],
    );
    published(&env, &key, &acorn("newer"));
    assert_eq!(
        env.store("public")[&format!("R/{NAME}")],
        acorn("newer"),
        "the newer version overwrites the published one"
    );
}

#[test]
fn a_version_stored_but_not_indexed_is_compared_by_its_own_header() {
    let env = setup();
    let stored = env.home().join("public/R").join(NAME);
    std::fs::create_dir_all(stored.parent().unwrap()).unwrap();
    std::fs::write(&stored, acorn("published")).unwrap();
    let key = format!("RADAR/{NAME}");
    rejected(
        &env,
        &key,
        &acorn("older"),
        &["(created 2017-04-28T16:20:30Z)"],
    );
    // Nothing at the destination: nothing to compare with.
    std::fs::remove_file(&stored).unwrap();
    published(&env, &key, &acorn("older"));
}

#[test]
fn the_primary_file_places_the_others_and_replaces_the_versions_of_each_kind() {
    let env = setup();
    let nc = acorn("published");
    let first = zip_of(&[
        ("A.nc", &nc),
        ("notes-1.txt", b"first"),
        ("scan.raw", b"raw bytes"),
    ]);
    let report = published(&env, "DEPLOY/first.zip", &first);
    assert_eq!(
        public_keys(&env),
        ["D/2017/A.nc", "D/2017/notes-1.txt"],
        "{report}"
    );
    assert!(
        env.store("archive").contains_key("RAW/D/2017/A-scan.raw"),
        "{:?}",
        env.store("archive").keys().collect::<Vec<_>>()
    );

    let second = zip_of(&[("B.nc", &nc), ("notes-2.txt", b"second")]);
    let report = published(&env, "DEPLOY/second.zip", &second);
    assert_eq!(public_keys(&env), ["D/2017/B.nc", "D/2017/notes-2.txt"]);
    let removed: Vec<(String, String)> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["origin"]["kind"] == "superseded")
        .map(|f| {
            (
                f["dest_path"].as_str().unwrap().to_string(),
                f["publish_type"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        removed,
        [
            ("D/2017/A.nc".to_string(), "delete_unharvest".to_string()),
            ("D/2017/notes-1.txt".to_string(), "delete_only".to_string()),
        ]
    );
    let rows = env.index_rows();
    let live: Vec<&str> = rows
        .iter()
        .filter(|r| r["deleted"] == false)
        .map(|r| r["dest_path"].as_str().unwrap())
        .collect();
    assert_eq!(live, ["D/2017/B.nc"]);

    // The same name again: overwritten, nothing removed.
    let report = published(&env, "DEPLOY/again.zip", &zip_of(&[("B.nc", &nc)]));
    assert!(
        !report["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["origin"]["kind"] == "superseded"),
        "{report}"
    );
}

#[test]
fn an_upload_needs_exactly_one_primary_file_and_a_rule_at_most_its_versions() {
    let env = setup();
    let nc = acorn("published");
    rejected(
        &env,
        "DEPLOY/none.zip",
        &zip_of(&[("notes.txt", b"x")]),
        &[
            "none.zip: pipeline deployments expects exactly one file matching '.*\\.nc$' in an upload (it places the others), found 0",
        ],
    );
    rejected(
        &env,
        "DEPLOY/two.zip",
        &zip_of(&[("A.nc", &nc), ("B.nc", &nc)]),
        &["found 2: A.nc, B.nc"],
    );
    for n in ["x-1.txt", "x-2.txt"] {
        let p = env.home().join("public/D/2017").join(n);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, n).unwrap();
    }
    rejected(
        &env,
        "DEPLOY/three.zip",
        &zip_of(&[("A.nc", &nc), ("notes.txt", b"x")]),
        &[
            "notes.txt: 2 published files in D/2017/ are versions of it (D/2017/x-1.txt, D/2017/x-2.txt), at most 1 expected",
        ],
    );
}

#[test]
fn broken_declarations_are_refused_with_their_line() {
    let mut env = Env::new();
    let path = env.pipelines(
        r#"[[pipeline]]
name = "a"
keys = '^A/'

[[pipeline.files]]
include = '.*'
dest = "X/{{ primary.dest_dir }}/{{ name }}"
[pipeline.files.published]
at_most = 0

[[pipeline]]
name = "b"
keys = '^B/'
primary = '.*\.nc('

[[pipeline.files]]
include = '.*'
dest = "X/{{ published.dest }}/{{ primary.folder }}"
[pipeline.files.published]
versions = '.*\.nc$'
require = [{ that = "published.size > 0", reason = "{{ published.name }}" }]
"#,
    );
    let origin = path.display().to_string();
    refused_by_validate(
        &env,
        &path,
        &[
            format!(
                "{origin}:7: pipeline \"a\", files[0].dest: primary is known only in pipelines that declare primary = '<pattern>'"
            ),
            format!(
                "{origin}:9:11: pipeline \"a\", files[0].published.at_most: at_most must be 1 or more"
            ),
            format!(
                "{origin}:9:11: pipeline \"a\", files[0].published.at_most: at_most counts the versions a `versions` pattern finds"
            ),
            format!("{origin}:14:11: pipeline \"b\", primary: "),
            format!(
                "{origin}:18: pipeline \"b\", files[0].dest: published is known only in the require of [pipeline.files.published]"
            ),
            format!("{origin}:18: pipeline \"b\", files[0].dest: primary has no field folder"),
            format!(
                "{origin}:21: pipeline \"b\", files[0].published.require[0].that: published has no field size; it has dest, name, attrs"
            ),
        ],
    );
}
