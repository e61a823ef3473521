//! Everything a provider uploads, end to end through the binary: ZIP and gzip archives, the five
//! manifest kinds, deletions with every deletion publish type, the publish-type matrix, CSV table
//! schemas — and hostile archives and manifests, each rejected with a precise reason while the
//! upload is kept in the error store and nothing is published.

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::Value;

use crate::common::*;

const PIPELINES: &str = r#"
[[pipeline]]
name = "prov_a"
keys = '^PROV_A/'
allow_delete_manifests = true
max_archive_entries = 5
owners = ["a@example.org"]

[[pipeline.files]]
include = 'unharvest_'
check = "format"
dest = "A/{{ name }}"
on_delete = "unharvest_only"

[[pipeline.files]]
include = 'keep_'
check = "format"
dest = "A/{{ name }}"
on_delete = "delete_only"

[[pipeline.files]]
include = 'ignore_'
check = "format"
dest = "A/{{ name }}"
on_delete = "no_action"

[[pipeline.files]]
include = '.*\.nc$'
check = "format"
dest = "A/{{ name }}"

[[pipeline.files]]
include = '.*\.csv$'
dest = "A/tables/{{ name }}"
table_schema = "schemas/stations.json"

[[pipeline]]
name = "prov_b"
keys = '^PROV_B/'
allow_delete_manifests = true

[[pipeline.files]]
include = '.*'
check = "no_action"
dest = "B/{{ name }}"
allowed_dest = ['B/', 'UNITTEST/']

[[pipeline]]
name = "nocheck"
keys = '^NOCHECK/'

[[pipeline.files]]
include = '.*\.nc$'
check = "no_action"
dest = "NOCHECK/{{ name }}"

[[pipeline]]
name = "nodelete"
keys = '^NODELETE/'

[[pipeline.files]]
include = '.*'
check = "no_action"
dest = "ND/{{ name }}"

[[pipeline]]
name = "loose"
keys = '^loose'

[[pipeline.files]]
include = '.*'
check = "no_action"
dest = "L/{{ name }}"

[[pipeline]]
name = "matrix"
keys = '^MATRIX/'

[[pipeline.files]]
include = 'no_action_'
check = "no_action"
publish = "no_action"

[[pipeline.files]]
include = 'archive_only_'
check = "no_action"
publish = "archive_only"
archive = "M/archived/{{ name }}"

[[pipeline.files]]
include = 'upload_only_'
check = "no_action"
publish = "upload_only"
dest = "M/{{ name }}"

[[pipeline.files]]
include = 'harvest_only_'
check = "no_action"
publish = "harvest_only"
dest = "M/{{ name }}"

[[pipeline.files]]
include = 'harvest_archive_upload_'
check = "no_action"
publish = "harvest_archive_upload"
dest = "M/{{ name }}"

[[pipeline.files]]
include = 'harvest_archive_'
check = "no_action"
publish = "harvest_archive"
dest = "M/{{ name }}"

[[pipeline.files]]
include = 'harvest_upload_'
check = "no_action"
publish = "harvest_upload"
dest = "M/{{ name }}"
"#;

const STATIONS_SCHEMA: &str = r#"{
  "fields": [
    {"name": "station", "type": "string", "constraints": {"required": true, "unique": true}},
    {"name": "depth", "type": "number", "constraints": {"minimum": 0}},
    {"name": "day", "type": "date"}
  ]
}"#;

fn env() -> Env {
    let mut env = Env::new();
    let schemas = env.dir.path().join("schemas");
    std::fs::create_dir_all(&schemas).unwrap();
    std::fs::write(schemas.join("stations.json"), STATIONS_SCHEMA).unwrap();
    env.pipelines(PIPELINES);
    env
}

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(data(name)).unwrap()
}

fn public_keys(env: &Env) -> Vec<String> {
    env.store("public").into_keys().collect()
}

fn row<'a>(rows: &'a [Value], dest: &str) -> Option<&'a Value> {
    rows.iter().find(|r| r["dest_path"] == dest)
}

#[test]
fn a_zip_publishes_every_file_through_its_folders() {
    let env = env();
    let zip = zip_of(&[
        ("top/a.nc", &bytes("test_manifest.nc")),
        ("top/sub/b.nc", &bytes(TEMPERATURE)),
        ("__MACOSX/top/._a.nc", b"resource fork"),
    ]);
    let report = published(&env, "PROV_A/batch.zip", &zip);
    assert_eq!(public_keys(&env), ["A/a.nc", "A/b.nc"]);
    assert_eq!(env.store("public")["A/b.nc"], bytes(TEMPERATURE));
    assert_eq!(env.index_rows().len(), 2);
    let files = report["files"].as_array().unwrap();
    assert_eq!(files[1]["origin"]["kind"], "member");
    assert_eq!(files[1]["origin"]["path"], "top/sub/b.nc");
    assert!(
        report["notes"]
            .to_string()
            .contains("skipped macOS metadata"),
        "{}",
        report["notes"]
    );
    let job = report["job_id"].as_str().unwrap();
    assert_eq!(
        env.store("archive")[&format!("_uploads/prov_a/batch.zip.{job}")],
        zip,
        "the archive keeps the ZIP itself"
    );
}

#[test]
fn a_zip_with_one_bad_file_publishes_nothing_when_checks_are_on() {
    let env = env();
    let zip = zip_of(&[
        ("good.nc", &bytes("test_manifest.nc")),
        ("bad.nc", &bytes("not_a_netcdf_file.nc")),
    ]);
    let report = rejected(
        &env,
        "PROV_A/good_and_bad.zip",
        &zip,
        &["1 of 2 file(s) failed their checks", "bad.nc (format"],
    );
    assert_eq!(report["files"][0]["check_passed"], true);
    assert_eq!(report["files"][1]["check_passed"], false);
    assert!(env.store("public").is_empty());
}

#[test]
fn the_reference_good_and_bad_zip_publishes_both_files_without_checks() {
    let env = env();
    published(&env, "NOCHECK/good_and_bad.zip", &bytes("good_and_bad.zip"));
    assert_eq!(
        public_keys(&env),
        [
            "NOCHECK/IMOS_ANMN-NRS_MT_20161109T231108Z_NRSMAI_FV00_NRSMAI-Surface-21-2016-11-MET-BAD.nc",
            "NOCHECK/IMOS_ANMN-NRS_MT_20161109T231108Z_NRSMAI_FV00_NRSMAI-Surface-21-2016-11-MET-realtime.nc",
        ]
    );
}

#[test]
fn the_reference_good_and_bad_zip_publishes_nothing_with_compliance_checks() {
    let mut env = Env::new();
    env.pipelines(
        r#"
[[pipeline]]
name = "anmn_met"
keys = '^ANMN/'
checks = ["cf:1.6", "imos:1.3"]

[[pipeline.files]]
include = '.*\.nc$'
dest = "IMOS/ANMN/{{ name }}"
"#,
    );
    rejected(
        &env,
        "ANMN/good_and_bad.zip",
        &bytes("good_and_bad.zip"),
        // The "good" member has no `history` attribute, which compliance-checker 5.0.2 (the
        // production version, our parity target) also fails at medium priority (§2.6); the BAD
        // member fails more. Either way the whole upload publishes nothing.
        &["2 of 2 file(s) failed their checks", "MET-BAD.nc"],
    );
}

fn zip_with_symlink() -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    w.start_file("fine.nc", opts).unwrap();
    w.write_all(&bytes("test_manifest.nc")).unwrap();
    w.add_symlink("evil.nc", "/etc/passwd", opts).unwrap();
    w.finish().unwrap().into_inner()
}

#[test]
fn hostile_archives_are_rejected_naming_the_entry() {
    let env = env();
    let good = bytes("test_manifest.nc");
    let zeros = vec![0u8; 4 << 20];
    let cases: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
        (
            "traversal.zip",
            zip_of(&[("ok.nc", &good), ("../../PROV_B/evil.nc", &good)]),
            vec!["entry \"../../PROV_B/evil.nc\" is refused", "'..'"],
        ),
        (
            "absolute.zip",
            zip_of(&[("/etc/evil.nc", &good)]),
            vec!["entry \"/etc/evil.nc\" is refused", "absolute"],
        ),
        (
            "symlink.zip",
            zip_with_symlink(),
            vec!["entry \"evil.nc\" is a symbolic link"],
        ),
        (
            "bomb.zip",
            zip_of(&[("bomb.nc", &zeros)]),
            vec![
                "entry \"bomb.nc\" expands more than 100:1",
                "max_compression_ratio",
            ],
        ),
        (
            "flood.zip",
            zip_of(&[
                ("1.nc", &good),
                ("2.nc", &good),
                ("3.nc", &good),
                ("4.nc", &good),
                ("5.nc", &good),
                ("6.nc", &good),
            ]),
            vec!["6 entries", "max_archive_entries (5)"],
        ),
        (
            "twice.zip",
            zip_of(&[("d/x.nc", &good), ("d/./x.nc", &good)]),
            vec!["entry \"d/./x.nc\" repeats the path d/x.nc"],
        ),
        (
            "notzip.zip",
            b"this is not an archive".to_vec(),
            vec!["not a readable ZIP archive"],
        ),
        (
            "nested.zip",
            zip_of(&[("inner.zip", &zip_of(&[("x.nc", &good)]))]),
            vec!["no rule of pipeline prov_a claims inner.zip"],
        ),
    ];
    for (name, content, reasons) in cases {
        let key = format!("PROV_A/{name}");
        rejected(&env, &key, &content, &reasons);
        assert!(
            !env.home().join("incoming").join(&key).exists(),
            "a rejected upload leaves incoming once kept"
        );
    }
    assert_eq!(env.store("error").len(), 8);
}

fn gz(content: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(content).unwrap();
    e.finish().unwrap()
}

#[test]
fn a_gzip_upload_publishes_the_file_under_its_own_name() {
    let env = env();
    let report = published(&env, "PROV_A/x.nc.gz", &gz(&bytes("test_manifest.nc")));
    assert_eq!(report["files"][0]["name"], "x.nc");
    assert_eq!(env.store("public")["A/x.nc"], bytes("test_manifest.nc"));
    rejected(
        &env,
        "PROV_A/several.tgz",
        &gz(b"tar"),
        &["tar archives are not accepted"],
    );
    rejected(
        &env,
        "PROV_A/bomb.nc.gz",
        &gz(&vec![0u8; 4 << 20]),
        &["expands more than 100:1"],
    );
}

#[test]
fn a_plain_manifest_publishes_the_files_it_names_from_its_own_folder() {
    let env = env();
    put(&env, "PROV_A/batch/one.nc", &bytes("test_manifest.nc"));
    put(&env, "PROV_A/batch/sub/two.nc", &bytes(TEMPERATURE));
    let report = published(
        &env,
        "PROV_A/batch/files.manifest",
        b"one.nc\n\n/PROV_A/batch/sub/two.nc\n",
    );
    assert_eq!(public_keys(&env), ["A/one.nc", "A/two.nc"]);
    assert_eq!(
        report["files"][1]["origin"]["path"],
        "PROV_A/batch/sub/two.nc"
    );
    // The files a manifest names are read, never removed; the manifest itself is.
    let incoming = env.home().join("incoming/PROV_A/batch");
    assert!(incoming.join("one.nc").exists() && incoming.join("sub/two.nc").exists());
    assert!(!incoming.join("files.manifest").exists());
}

#[test]
fn the_reference_manifests_publish_and_delete_what_they_say() {
    let env = env();
    // map manifest: a chosen destination, allowed by the rule's allowed_dest.
    put(&env, "PROV_B/test_manifest.nc", &bytes("test_manifest.nc"));
    published(
        &env,
        "PROV_B/test.map_manifest",
        &bytes("test.map_manifest"),
    );
    assert_eq!(public_keys(&env), ["UNITTEST/NOT/A/REAL/PATH"]);

    // delete manifest: the fixture removes that destination (and two that do not exist).
    let report = published(
        &env,
        "PROV_B/test.delete_manifest",
        &bytes("test.delete_manifest"),
    );
    assert!(public_keys(&env).is_empty());
    assert_eq!(report["files"].as_array().unwrap().len(), 3);
    assert_eq!(report["files"][0]["origin"]["kind"], "deletion");
    let rows = env.index_rows();
    assert_eq!(
        row(&rows, "UNITTEST/NOT/A/REAL/PATH").unwrap()["deleted"],
        true
    );

    // json manifest: good.nc is missing, so nothing is published…
    put(&env, "PROV_B/bad.nc", &bytes("bad.nc"));
    rejected(
        &env,
        "PROV_B/test.json_manifest",
        &bytes("test.json_manifest"),
        &["files[0]: PROV_B/good.nc is not in the incoming store"],
    );
    // …until it is there.
    put(&env, "PROV_B/good.nc", &bytes("test_manifest.nc"));
    published(
        &env,
        "PROV_B/test.json_manifest",
        &bytes("test.json_manifest"),
    );
    assert_eq!(public_keys(&env), ["B/good.nc", "UNITTEST/NOT/A/REAL/PATH"]);
    assert_eq!(
        env.store("public")["UNITTEST/NOT/A/REAL/PATH"],
        bytes("bad.nc")
    );

    // rsync manifest: one addition, and one deletion placed by the rule from the file name.
    published(&env, "PROV_B/1900728_Rtraj.nc", b"an Argo trajectory");
    assert!(public_keys(&env).contains(&"B/1900728_Rtraj.nc".to_string()));
    let report = published(
        &env,
        "PROV_B/test.rsync_manifest",
        &bytes("test.rsync_manifest"),
    );
    let keys = public_keys(&env);
    assert!(keys.contains(&"B/test_manifest.nc".to_string()), "{keys:?}");
    assert!(
        !keys.contains(&"B/1900728_Rtraj.nc".to_string()),
        "{keys:?}"
    );
    let deletion = &report["files"][1];
    assert_eq!(deletion["dest_path"], "B/1900728_Rtraj.nc");
    assert_eq!(deletion["published"], true);
}

#[test]
fn hostile_and_malformed_manifests_are_rejected_precisely() {
    let env = env();
    put(&env, "PROV_B/secret.nc", &bytes("test_manifest.nc"));
    put(&env, "PROV_A/other.nc", &bytes("test_manifest.nc"));
    rejected(
        &env,
        "PROV_A/batch/steal.manifest",
        b"../../PROV_B/secret.nc\n/PROV_B/secret.nc\n/PROV_A/other.nc\n/tmp/tmpx1/test_manifest.nc\ns3://incoming/PROV_B/secret.nc\n",
        &[
            "line 1: \"../../PROV_B/secret.nc\": the path has a '..' segment",
            "line 2: \"/PROV_B/secret.nc\" is outside the manifest's folder PROV_A/batch/",
            "line 3: \"/PROV_A/other.nc\" is outside the manifest's folder PROV_A/batch/",
            "line 4: \"/tmp/tmpx1/test_manifest.nc\" is outside",
            "line 5: \"s3://incoming/PROV_B/secret.nc\" is a URL",
        ],
    );
    rejected(
        &env,
        "PROV_A/missing.manifest",
        b"other.nc\nnot_there.nc\n",
        &["line 2: PROV_A/not_there.nc is not in the incoming store"],
    );
    rejected(
        &env,
        "PROV_A/twice.manifest",
        b"other.nc\n./other.nc\n",
        &["line 2: PROV_A/other.nc is named twice"],
    );
    rejected(
        &env,
        "PROV_B/bad.map_manifest",
        b"secret.nc,B/secret.nc\nsecret.nc\n",
        &[
            "malformed .map_manifest manifest",
            "line 2: expected local_path,dest_path",
        ],
    );
    rejected(
        &env,
        "PROV_B/bad.json_manifest",
        br#"{"files": [{"local_path": "secret.nc", "dest": "B/x.nc"}]}"#,
        &["malformed .json_manifest manifest", "unknown field `dest`"],
    );
    rejected(
        &env,
        "PROV_B/bad.rsync_manifest",
        b"sending incremental file list\n>f+++++++++ secret.nc\nrm -rf /\n",
        &["line 3: not an rsync --itemize-changes line: \"rm -rf /\""],
    );
    rejected(
        &env,
        "PROV_B/link.rsync_manifest",
        b"cL+++++++++ secret.nc -> /etc/passwd\n",
        &["line 1: \"secret.nc -> /etc/passwd\" is a link"],
    );
    rejected(
        &env,
        "PROV_B/bad.delete_manifest",
        b"B/a.nc\n../escape.nc\n",
        &["line 2: \"../escape.nc\" is not a destination path"],
    );
    // A destination chosen in a manifest needs the rule's allowed_dest, and must match it.
    rejected(
        &env,
        "PROV_A/chosen.map_manifest",
        b"other.nc,A/elsewhere/other.nc\n",
        &["the manifest names its destination", "no allowed_dest"],
    );
    rejected(
        &env,
        "PROV_B/outside.map_manifest",
        b"secret.nc,IMOS/ANMN/secret.nc\n",
        &["destination IMOS/ANMN/secret.nc is not allowed by the rule's allowed_dest"],
    );
    assert!(env.store("public").is_empty());
    // The objects the manifests named are untouched.
    assert!(env.home().join("incoming/PROV_B/secret.nc").exists());
}

#[test]
fn deletions_need_the_pipelines_permission_and_a_rule() {
    let env = env();
    rejected(
        &env,
        "NODELETE/x.delete_manifest",
        b"ND/a.nc\n",
        &["does not accept deletions (allow_delete_manifests = false)"],
    );
    rejected(
        &env,
        "NODELETE/x.rsync_manifest",
        b"*deleting   a.nc\n",
        &["does not accept deletions"],
    );
    rejected(
        &env,
        "PROV_A/x.delete_manifest",
        b"A/readme.txt\n",
        &["no rule of pipeline prov_a claims readme.txt"],
    );
    // One provider cannot unpublish another's file, even where its rules would claim the name.
    published(&env, "PROV_B/theirs.nc", &bytes("test_manifest.nc"));
    rejected(
        &env,
        "PROV_A/y.delete_manifest",
        b"B/theirs.nc\n",
        &["B/theirs.nc was published by pipeline prov_b; pipeline prov_a may not delete it"],
    );
    assert!(public_keys(&env).contains(&"B/theirs.nc".to_string()));
}

#[test]
fn each_deletion_publish_type_does_exactly_what_it_says() {
    let env = env();
    let nc = bytes("test_manifest.nc");
    for name in ["unharvest_x.nc", "keep_x.nc", "ignore_x.nc", "plain_x.nc"] {
        published(&env, &format!("PROV_A/{name}"), &nc);
    }
    published(
        &env,
        "PROV_A/all.delete_manifest",
        b"A/unharvest_x.nc\nA/keep_x.nc\nA/ignore_x.nc\nA/plain_x.nc\n",
    );
    let public = public_keys(&env);
    let rows = env.index_rows();
    let state = |dest: &str| {
        (
            public.contains(&dest.to_string()),
            row(&rows, dest).unwrap()["deleted"].as_bool().unwrap(),
        )
    };
    // (still in the public store, marked deleted in the index)
    assert_eq!(state("A/unharvest_x.nc"), (true, true), "unharvest_only");
    assert_eq!(state("A/keep_x.nc"), (false, false), "delete_only");
    assert_eq!(state("A/ignore_x.nc"), (true, false), "no_action");
    assert_eq!(state("A/plain_x.nc"), (false, true), "delete_unharvest");
}

#[test]
fn each_addition_publish_type_writes_exactly_where_it_says() {
    let env = env();
    let names = [
        "no_action_f",
        "archive_only_f",
        "upload_only_f",
        "harvest_only_f",
        "harvest_archive_f",
        "harvest_upload_f",
        "harvest_archive_upload_f",
    ];
    let entries: Vec<(String, Vec<u8>)> = names
        .iter()
        .map(|n| (n.to_string(), n.as_bytes().to_vec()))
        .collect();
    let refs: Vec<(&str, &[u8])> = entries
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let report = published(&env, "MATRIX/all.zip", &zip_of(&refs));
    let public = env.store("public");
    let archive = env.store("archive");
    let rows = env.index_rows();
    let mut got = BTreeMap::new();
    for n in names {
        let archived = archive.contains_key(&format!("M/{n}"))
            || archive.contains_key(&format!("M/archived/{n}"));
        got.insert(
            n,
            (
                archived,
                public.contains_key(&format!("M/{n}")),
                row(&rows, &format!("M/{n}")).is_some(),
            ),
        );
    }
    // (archived, stored, harvested)
    let expected = BTreeMap::from([
        ("no_action_f", (false, false, false)),
        ("archive_only_f", (true, false, false)),
        ("upload_only_f", (false, true, false)),
        ("harvest_only_f", (false, false, true)),
        ("harvest_archive_f", (true, false, true)),
        ("harvest_upload_f", (false, true, true)),
        ("harvest_archive_upload_f", (true, true, true)),
    ]);
    assert_eq!(got, expected);
    let published: Vec<bool> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["published"].as_bool().unwrap())
        .collect();
    assert_eq!(published, [false, true, true, true, true, true, true]);
}

#[test]
fn a_csv_is_checked_against_its_table_schema() {
    let env = env();
    published(
        &env,
        "PROV_A/stations.csv",
        b"station,depth,day\nNRSMAI,10.5,2020-01-02\nNRSROT,,2020-01-03\n",
    );
    assert!(public_keys(&env).contains(&"A/tables/stations.csv".to_string()));
    let report = rejected(
        &env,
        "PROV_A/broken.csv",
        b"station,depth,day\nNRSMAI,-3,2020-01-02\nNRSMAI,1,02/01/2020\n",
        &[
            "broken.csv (table_schema: 3 error(s) against table schema schemas/stations.json",
            "row 2, column 2 (depth): -3 is below the minimum 0",
        ],
    );
    let log: Vec<&str> = report["files"][0]["check_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(
        log[1..],
        [
            "row 2, column 2 (depth): -3 is below the minimum 0",
            "row 3, column 1 (station): \"NRSMAI\" must be unique but repeats row 2",
            "row 3, column 3 (day): \"02/01/2020\" is not a date",
        ]
    );
}

#[test]
fn a_success_clears_earlier_failures_of_the_same_name_only() {
    let env = env();
    rejected(
        &env,
        "PROV_A/x.nc",
        &bytes("not_a_netcdf_file.nc"),
        &["x.nc (format"],
    );
    rejected(&env, "PROV_A/x.nc", &bytes("empty.nc"), &["empty file"]);
    rejected(
        &env,
        "PROV_A/x.nc.gz",
        b"not gzip",
        &["not a valid gzip file"],
    );
    rejected(&env, "PROV_A/xx.nc", &bytes("empty.nc"), &["empty file"]);
    assert_eq!(env.store("error").len(), 4);
    let report = published(&env, "PROV_A/x.nc", &bytes("test_manifest.nc"));
    let left: Vec<String> = env.store("error").into_keys().collect();
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(
        left.iter().any(|k| k.starts_with("prov_a/x.nc.gz.")),
        "{left:?}"
    );
    assert!(
        left.iter().any(|k| k.starts_with("prov_a/xx.nc.")),
        "{left:?}"
    );
    assert_eq!(
        report["notes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n
                .as_str()
                .unwrap()
                .starts_with("removed earlier failed upload"))
            .count(),
        2
    );
}

#[test]
fn pipelines_with_table_schemas_are_validated_at_load() {
    let mut env = env();
    env.pipelines(
        r#"
[[pipeline]]
name = "tables"
keys = '^T/'

[[pipeline.files]]
include = '.*\.csv$'
check = "table_schema"
dest = "T/{{ name }}"

[[pipeline.files]]
include = '.*\.txt$'
table_schema = "schemas/missing.json"
dest = "T/{{ name }}"
"#,
    );
    let run = env.run(&["pipelines", "validate"]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stderr
            .contains("files[0].check: table_schema needs a schema"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("files[1].table_schema: cannot read the table schema"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_local_manifest_names_files_beside_it_and_nothing_else() {
    let env = env();
    let dir = env.dir.path().join("provider");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("a.nc"), b"a").unwrap();
    std::fs::write(dir.join("sub/b.nc"), b"b").unwrap();
    std::fs::write(env.dir.path().join("outside.nc"), b"secret").unwrap();
    std::os::unix::fs::symlink(env.dir.path().join("outside.nc"), dir.join("link.nc")).unwrap();

    let manifest = dir.join("loose.manifest");
    std::fs::write(&manifest, "a.nc\n../outside.nc\n").unwrap();
    let run = env.ingest(&manifest);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.report()["error"]["message"]
            .to_string()
            .contains("line 2: \\\"../outside.nc\\\": the path has a '..' segment"),
        "{}",
        run.report()["error"]
    );

    std::fs::write(&manifest, "link.nc\n").unwrap();
    let run = env.ingest(&manifest);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.report()["error"]["message"]
            .to_string()
            .contains("link.nc is not in the folder"),
        "{}",
        run.report()["error"]
    );

    std::fs::write(&manifest, format!("a.nc\n{}/sub/b.nc\n", dir.display())).unwrap();
    let run = env.ingest(&manifest);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(public_keys(&env), ["L/a.nc", "L/b.nc"]);
    assert!(
        manifest.exists(),
        "a local file outside the incoming store is only read"
    );
}
