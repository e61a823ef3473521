//! `run --event`, `run --incoming-key` and `replay` on the embedded default (no servers): event
//! parsing at the command line, key decoding, exit codes and summaries.

use std::io::Write;

use serde_json::Value;

use crate::common::*;

/// Copies a fixture into the local incoming store under `key`.
fn upload(env: &Env, key: &str, fixture: &str) {
    let path = env.home().join("incoming").join(key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::copy(data(fixture), path).unwrap();
}

fn write(env: &Env, name: &str, text: &str) -> String {
    let path = env.dir.path().join(name);
    std::fs::File::create(&path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    path.display().to_string()
}

#[test]
fn the_s3_test_event_does_nothing_and_succeeds() {
    let env = Env::new();
    let event = write(
        &env,
        "test.json",
        r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2024-05-01T00:00:00.000Z","Bucket":"incoming"}"#,
    );
    let run = env.run(&["run", "--event", &event]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.starts_with("ignored: s3:TestEvent"),
        "{}",
        run.stdout
    );
    assert!(
        !env.home().join("index.sqlite").exists(),
        "no store or index was even opened"
    );
}

#[test]
fn an_event_that_is_not_json_or_not_an_event_is_a_usage_error() {
    let env = Env::new();
    for (name, text) in [("a.json", "{nope"), ("b.json", r#"{"hello": 1}"#)] {
        let path = write(&env, name, text);
        let run = env.run(&["run", "--event", &path, "--output", "json"]);
        assert_eq!(run.code, 2, "{text}: {}", run.stderr);
        let doc: Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(doc["exit_code"], 2);
        assert!(doc["errors"][0]["message"].as_str().unwrap().contains(name));
    }
}

#[test]
fn an_event_for_a_bucket_that_is_not_the_incoming_store_names_it() {
    let env = Env::new();
    let event = write(
        &env,
        "e.json",
        r#"{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put",
            "s3":{"bucket":{"name":"other-bucket"},"object":{"key":"a.nc"}}}]}"#,
    );
    let run = env.run(&["run", "--event", &event]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("other-bucket"), "{}", run.stderr);
    assert!(
        run.stderr.contains("INGEST_INCOMING_URL=s3://other-bucket"),
        "{}",
        run.stderr
    );
}

#[test]
fn incoming_keys_are_decoded_when_the_encoding_says_url() {
    let mut env = Env::new();
    upload(&env, &format!("ANMN/new uploads+1/{PROFILE}"), PROFILE);
    env.set("INGEST_SOURCE_KEY_ENCODING", "url");
    let run = env.run(&[
        "run",
        "--output",
        "json",
        "--incoming-key",
        &format!("ANMN/new+uploads%2B1/{PROFILE}"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.report();
    assert_eq!(report["outcome"], "published");
    assert_eq!(
        report["input"]["key"],
        format!("ANMN/new uploads+1/{PROFILE}")
    );
    assert!(env.store("incoming").is_empty(), "removed once archived");
    let stash = env.home().join("incoming/.ingest/stash");
    assert_eq!(
        std::fs::read_dir(&stash).map(|d| d.count()).unwrap_or(0),
        0,
        "removing the upload keeps no rollback copy of it"
    );

    // Raw (the default): the same text is taken literally, and names nothing.
    env.set("INGEST_SOURCE_KEY_ENCODING", "raw");
    upload(&env, &format!("ANMN/new uploads+1/{PROFILE}"), PROFILE);
    let run = env.run(&[
        "run",
        "--output",
        "json",
        "--incoming-key",
        &format!("ANMN/new+uploads%2B1/{PROFILE}"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.report()["outcome"], "duplicate");
    assert!(
        run.report()["notes"]
            .to_string()
            .contains("no longer in the incoming store")
    );
}

#[test]
fn replay_runs_a_prefix_inline_and_sums_up() {
    let env = Env::new();
    upload(&env, &format!("ANMN/{PROFILE}"), PROFILE);
    upload(&env, &format!("ANMN/{PROFILE_BAD}"), PROFILE_BAD);
    upload(&env, &format!("OTHER/{PROFILE}"), PROFILE);

    let dry = env.run(&["replay", "--inline", "--dry-run", "--prefix", "ANMN/"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert_eq!(
        dry.stdout.matches("would run inline").count(),
        2,
        "{}",
        dry.stdout
    );
    assert_eq!(env.store("incoming").len(), 3, "a dry run changes nothing");

    let run = env.run(&[
        "replay",
        "--inline",
        "--concurrency",
        "2",
        "--prefix",
        "ANMN/",
    ]);
    assert_eq!(
        run.code, 1,
        "a rejection is the most severe outcome: {}",
        run.stderr
    );
    assert!(run.stdout.contains("published: file://"), "{}", run.stdout);
    assert!(run.stdout.contains("rejected: file://"), "{}", run.stdout);
    assert!(
        run.stdout
            .ends_with("replayed 2: ok 1, duplicate 0, rejected 1, failed 0\n"),
        "{}",
        run.stdout
    );
    assert_eq!(
        env.store("incoming").keys().collect::<Vec<_>>(),
        [&format!("OTHER/{PROFILE}")],
        "only the prefix was replayed"
    );
}

#[test]
fn replay_of_a_missing_key_says_so_and_exits_2() {
    let env = Env::new();
    upload(&env, &format!("ANMN/{PROFILE}"), PROFILE);
    let keys = write(
        &env,
        "keys.txt",
        &format!("# replay these\nANMN/{PROFILE}\n\nANMN/gone.nc\n"),
    );
    // Text logs, as on a terminal: the problem is a `missing:` line (JSON logs carry it as a
    // log line of kind `missing`, see stderr_json).
    let run = env.run(&[
        "--log-format",
        "text",
        "replay",
        "--inline",
        "--keys-from",
        &keys,
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("missing: file://"), "{}", run.stderr);
    assert!(run.stderr.contains("ANMN/gone.nc"), "{}", run.stderr);
    assert!(
        run.stdout
            .contains("replayed 2: ok 1, duplicate 0, rejected 0, failed 0, missing 1"),
        "{}",
        run.stdout
    );
}

#[test]
fn replay_needs_a_mode_and_something_to_replay() {
    let env = Env::new();
    let run = env.run(&["replay", "--prefix", "ANMN/"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let run = env.run(&["replay", "--inline"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let run = env.run(&[
        "replay",
        "--queue",
        "https://sqs.example/q",
        "--key",
        "a.nc",
    ]);
    assert_eq!(
        run.code, 2,
        "a local incoming store cannot be announced on a queue: {}",
        run.stderr
    );
    assert!(run.stderr.contains("s3://"), "{}", run.stderr);
}

#[test]
fn production_settings_are_checked_before_anything_runs() {
    for (var, value, expect) in [
        (
            "INGEST_INDEX_URL",
            "postgres://ingest:hunter2@db.example/ingest?sslmode=sometimes",
            "sslmode=sometimes",
        ),
        ("INGEST_S3_PART_SIZE", "1MiB", "between 5MiB and 5GiB"),
        ("INGEST_S3_MULTIPART_THRESHOLD", "lots", "16MiB"),
        ("INGEST_RESULTS_QUEUE_URL", "results", "https://"),
        ("INGEST_SOURCE_KEY_ENCODING", "base64", "base64"),
    ] {
        let mut env = Env::new();
        env.set(var, value);
        let run = env.ingest(&data(PROFILE));
        assert_eq!(run.code, 2, "{var}={value}: {}", run.stderr);
        assert!(run.stderr.contains(expect), "{var}={value}: {}", run.stderr);
        assert!(
            !run.stderr.contains("hunter2"),
            "the password stays out: {}",
            run.stderr
        );
        assert!(!env.home().join("public").exists(), "nothing ran");
    }
}
