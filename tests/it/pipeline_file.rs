//! Where a process's pipeline file comes from: a path, an `s3://` object fetched and validated
//! at start (on moto), or — only on the embedded default — the example compiled in; and the
//! opt-in a pipeline that claims every key needs.

use serde_json::Value;

use crate::common::*;
use crate::servers::{Moto, moto, unique};

/// A pipeline anchored to the ANMN NRS naming convention, publishing each file as it is.
const NRS: &str = r#"
[[pipeline]]
name = "nrs_from_s3"
keys = '(^|/)IMOS_ANMN-NRS_'
allowed_extensions = [".nc"]
owners = ["data-team@example.org"]

[[pipeline.files]]
include = '.*\.nc$'
check = "format"
publish = "upload_only"
dest = "FROM_S3/{{ name }}"
"#;

/// The same pipeline claiming every .nc key: a catch-all route.
fn catch_all() -> String {
    NRS.replace("'(^|/)IMOS_ANMN-NRS_'", r"'\.nc$'")
}

/// A bucket holding `objects` (key, text), and an Env whose binary reaches moto.
async fn config_bucket(moto: &Moto, objects: &[(&str, &str)]) -> (String, Env) {
    let bucket = moto.bucket("config", false).await;
    for (key, text) in objects {
        moto.put(&bucket, key, text.as_bytes().to_vec()).await;
    }
    let mut env = Env::new();
    moto.configure(&mut env);
    (bucket, env)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pipeline_file_in_s3_is_fetched_at_start_and_routes_the_job() {
    let Some(moto) = moto().await else { return };
    let (bucket, mut env) = config_bucket(&moto, &[("ingest/pipelines.toml", NRS)]).await;
    let url = format!("s3://{bucket}/ingest/pipelines.toml");
    env.set("INGEST_PIPELINES", &url);

    let run = env.run(&["run", "--format", "json", data(PROFILE).to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = run.report();
    assert_eq!(report["pipeline"], "nrs_from_s3", "{report}");
    assert!(
        env.store("public")
            .contains_key(&format!("FROM_S3/{PROFILE}")),
        "published as the fetched file says: {:?}",
        env.store("public").keys()
    );
    // The fetched copy lived in the work folder only for the start.
    let leftovers: Vec<_> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("pipelines-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // The commands that read pipeline files take the URL too, as FILE or from the setting.
    let run = env.run(&["pipelines", "validate", &url]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains(&url), "{}", run.stdout);
    let run = env.run(&["pipelines", "list", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["origin"], url.as_str());
    assert_eq!(doc["pipelines"][0]["name"], "nrs_from_s3");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_unreadable_or_invalid_object_is_a_configuration_error_naming_it() {
    let Some(moto) = moto().await else { return };
    let invalid = "[[pipeline]]\nname = \"ok\"\nkeys = '^A/'\n\n[[pipeline.files]]\ninclude = 'x'\npublish = \"harvest_everything\"\n";
    let (bucket, mut env) = config_bucket(
        &moto,
        &[("invalid.toml", invalid), ("catch-all.toml", &catch_all())],
    )
    .await;
    let absent_bucket = unique("absent");
    for (url, expected) in [
        (
            format!("s3://{bucket}/missing.toml"),
            format!(
                "s3://{bucket}/missing.toml: no such pipeline file: put it there, or set INGEST_PIPELINES"
            ),
        ),
        (
            format!("s3://{absent_bucket}/pipelines.toml"),
            // S3 answers a HEAD in a missing bucket with a bare 404, as for a missing object.
            format!("s3://{absent_bucket}/pipelines.toml: no such pipeline file"),
        ),
        (
            format!("s3://{bucket}/invalid.toml"),
            format!(
                "s3://{bucket}/invalid.toml:7:11: pipeline \"ok\", files[0].publish: unknown publish type"
            ),
        ),
        (
            format!("s3://{bucket}/catch-all.toml"),
            format!(
                "s3://{bucket}/catch-all.toml:4:8: pipeline \"nrs_from_s3\", keys: a catch-all route"
            ),
        ),
    ] {
        env.set("INGEST_PIPELINES", &url);
        let run = env.run(&["run", "--format", "json", data(PROFILE).to_str().unwrap()]);
        assert_eq!(run.code, 2, "{url}: {}\n{}", run.stdout, run.stderr);
        assert!(run.messages().contains(&expected), "{url}: {}", run.stderr);
        let report = run.report();
        assert_eq!(report["exit_code"], 2, "{url}: {report}");
        assert_eq!(report["error"]["fault"], "usage", "{url}: {report}");
        assert!(
            !env.home().join("public").exists(),
            "{url}: nothing ran before the pipeline file was valid"
        );
        let run = env.run(&["pipelines", "validate"]);
        assert_eq!(run.code, 2, "{url}: {}", run.stderr);
        assert!(run.messages().contains(&expected), "{url}: {}", run.stderr);
    }

    // A setting that names no object is refused as it is read, before anything is fetched.
    for url in [format!("s3://{bucket}"), format!("s3://{bucket}/folder/")] {
        env.set("INGEST_PIPELINES", &url);
        for args in [
            &["run", data(PROFILE).to_str().unwrap()][..],
            &["pipelines", "validate"],
        ] {
            let run = env.run(args);
            assert_eq!(run.code, 2, "{url} {args:?}: {}", run.stderr);
            assert!(
                run.messages().contains(&format!(
                    "INGEST_PIPELINES: names a bucket or folder, not the pipeline file's object: \
                     s3://bucket/key (got \"{url}\")"
                )),
                "{url} {args:?}: {}",
                run.stderr
            );
        }
    }

    // A binary object (a data file named by mistake) is no pipeline file.
    moto.put(&bucket, "data.nc", vec![0x89, b'H', b'D', b'F', 0xff, 0xfe])
        .await;
    let url = format!("s3://{bucket}/data.nc");
    let run = env.run(&["pipelines", "validate", &url]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("{url}: the pipeline file is not UTF-8 text")),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fetch_that_a_retry_may_fix_is_transient() {
    let Some(moto) = moto().await else { return };
    let mut env = Env::new();
    moto.configure(&mut env);
    // Nothing listens there: the connection is refused, as in an S3 outage.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    env.set("AWS_ENDPOINT_URL", &endpoint)
        .set("INGEST_PIPELINES", "s3://config/pipelines.toml");
    let run = env.run(&["run", data(PROFILE).to_str().unwrap()]);
    assert_eq!(run.code, 75, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("cannot fetch the pipeline file s3://config/pipelines.toml"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_catch_all_pipeline_is_refused_without_the_opt_in() {
    let mut env = Env::new();
    let path = env.pipelines(&catch_all());
    let file = path.to_str().unwrap();
    let run = env.run(&["run", data(PROFILE).to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    for expected in [
        format!("{file}:4:8: pipeline \"nrs_from_s3\", keys: a catch-all route"),
        "claims every key ending in \".nc\", whatever its folder and name".to_string(),
        "INGEST_PIPELINES_ALLOW_CATCH_ALL=true".to_string(),
    ] {
        assert!(
            run.messages().contains(&expected),
            "{expected}: {}",
            run.stderr
        );
    }
    assert!(!env.home().exists(), "nothing ran");
    let run = env.run(&["pipelines", "validate", file]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("a catch-all route"), "{}", run.stderr);

    // The opt-in, by variable or flag.
    let run = env.run(&["--allow-catch-all", "pipelines", "validate", file]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    env.set("INGEST_PIPELINES_ALLOW_CATCH_ALL", "true");
    let run = env.run(&["pipelines", "validate", file]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = env.ingest(&data(PROFILE));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        env.store("public")
            .contains_key(&format!("FROM_S3/{PROFILE}"))
    );
}

#[test]
fn the_example_file_has_no_catch_all_and_the_demo_one_needs_the_opt_in() {
    let env = Env::new();
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
    let run = env.run(&[
        "pipelines",
        "validate",
        &format!("{examples}/pipelines.toml"),
    ]);
    assert_eq!(
        run.code, 0,
        "a copy of the example deploys as it is: {}",
        run.stderr
    );
    let demo = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/pipeline/demo-catch-all.toml"
    );
    let run = env.run(&["pipelines", "validate", demo]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("pipeline \"unittest\", keys: a catch-all route"),
        "{}",
        run.stderr
    );
    // `pipelines list` says which pipeline is a catch-all.
    let run = env.run(&["pipelines", "list", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    let pipelines = doc["pipelines"].as_array().unwrap();
    let catch_alls: Vec<&str> = pipelines
        .iter()
        .filter(|p| !p["catch_all"].is_null())
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(catch_alls, ["unittest"], "{}", run.stdout);
}

#[test]
fn the_example_stands_in_only_when_everything_is_local() {
    // The embedded default: the example with its demo catch-all runs any NetCDF file.
    let env = Env::new();
    let run = env.ingest(&data(ACORN));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("running the example pipelines"),
        "{}",
        run.stderr
    );

    // Anything deployed and no pipeline file: refused before any boundary is touched.
    for (var, value) in [
        ("INGEST_PUBLIC_URL", "s3://public-bucket"),
        ("INGEST_INDEX_URL", "postgres://ingest@127.0.0.1:1/ingest"),
        ("INGEST_NOTIFY_URL", "smtp://127.0.0.1:1?tls=none"),
    ] {
        let mut env = Env::new();
        env.set(var, value);
        let run = env.run(&["run", data(ACORN).to_str().unwrap()]);
        assert_eq!(run.code, 2, "{var}: {}", run.stderr);
        assert!(
            run.stderr
                .contains("no pipeline file: set INGEST_PIPELINES")
                && run.stderr.contains(var),
            "{var}: {}",
            run.stderr
        );
        assert!(!env.home().exists(), "{var}: nothing ran");
    }
}
