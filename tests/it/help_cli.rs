//! What `--help` shows — never a credential from the environment, each command's own options
//! before the ingest settings — and the one output flag, `--format text|json`.

use serde_json::Value;

use crate::common::*;

/// Every help screen of the binary.
const HELP: &[&[&str]] = &[
    &["--help"],
    &["-h"],
    &["run", "--help"],
    &["run", "-h"],
    &["check", "--help"],
    &["pipelines", "--help"],
    &["pipelines", "validate", "--help"],
    &["pipelines", "list", "--help"],
    &["replay", "--help"],
    &["help", "run"],
];

/// An Env with every setting that can carry a credential set, each value marked `S3CRET`.
fn with_secrets() -> Env {
    let mut env = Env::new();
    env.set(
        "INGEST_INDEX_URL",
        "postgres://ingest:S3CRET-db@db.example:5432/ingest?sslmode=verify-full",
    )
    .set(
        "INGEST_NOTIFY_URL",
        "smtp://AKIAS3CRETUSER:S3CRET-smtp@email-smtp.example:587",
    )
    .set("INGEST_SMTP_USERNAME", "AKIAS3CRETUSER2")
    .set("INGEST_SMTP_PASSWORD", "S3CRET-password")
    // Not a credential: help shows it, as it shows every other setting's value.
    .set("INGEST_NOTIFY_FROM", "ingest@shown.example");
    env
}

#[test]
fn help_never_prints_a_secret_value() {
    let env = with_secrets();
    for args in HELP {
        let run = env.run(args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        // Help wraps lines to the terminal: one space between words, whatever the wrapping.
        let all = format!("{}{}", run.stdout, run.stderr)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        assert!(!all.contains("S3CRET"), "{args:?} prints a secret:\n{all}");
        if args.len() == 1 || args[0] == "run" {
            // The settings are there, with the variable that sets each, and values that are not
            // secret are shown: the secrets are hidden, not the settings.
            for shown in [
                "[env: INGEST_INDEX_URL]",
                "[env: INGEST_NOTIFY_URL]",
                "[env: INGEST_SMTP_USERNAME]",
                "[env: INGEST_SMTP_PASSWORD]",
                "[env: INGEST_NOTIFY_FROM=ingest@shown.example]",
            ] {
                assert!(all.contains(shown), "{args:?}: no {shown}:\n{all}");
            }
        }
    }
}

#[test]
fn each_command_shows_its_own_options_before_the_ingest_settings() {
    let env = Env::new();
    for (args, own) in [
        (&["check", "--help"][..], "--format"),
        (&["run", "--help"][..], "--format"),
        (&["run", "--help"][..], "--incoming-key"),
        (&["pipelines", "list", "--help"][..], "--format"),
        (&["replay", "--help"][..], "--inline"),
    ] {
        let run = env.run(args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        let help = &run.stdout;
        let heading = help
            .find("\nIngest settings:\n")
            .unwrap_or_else(|| panic!("{args:?}: no settings heading:\n{help}"));
        let own_at = help
            .find(own)
            .unwrap_or_else(|| panic!("{args:?}: no {own}:\n{help}"));
        assert!(own_at < heading, "{args:?}: {own} comes first:\n{help}");
        let home = help.find("--home <DIR>").unwrap();
        assert!(home > heading, "{args:?}: --home is a setting:\n{help}");
    }
}

#[test]
fn run_prints_its_report_with_format_and_the_old_output_spelling() {
    let env = Env::new();
    let file = data(PROFILE);
    let run = env.run(&["run", "--format", "json", file.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.report()["outcome"], "published");
    let run = env.run(&["run", "--output", "json", file.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.report()["outcome"], "duplicate");
    let run = env.run(&["run", "--format", "text", file.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        serde_json::from_str::<Value>(&run.stdout).is_err(),
        "{}",
        run.stdout
    );
    let run = env.run(&["run", "--format", "yaml", file.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("[possible values: text, json]"),
        "{}",
        run.stderr
    );
}

#[test]
fn pipelines_list_prints_json_for_a_machine() {
    let env = Env::new();
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/pipelines.toml");
    let run = env.run(&["pipelines", "list", "--format", "json", file]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["origin"], file);
    let nrs = doc["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "anmn_nrs")
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(nrs["keys"].as_str().unwrap().contains("ANMN"), "{nrs}");
    assert!(nrs["catch_all"].is_null(), "{nrs}");
    let rules = nrs["rules"].as_array().unwrap();
    assert!(!rules.is_empty(), "{nrs}");
    for rule in rules {
        assert!(rule["include"].is_string(), "{rule}");
        assert!(rule["publish"].is_string(), "{rule}");
    }
    // The text listing is the same pipelines, for a person.
    let text = env.run(&["pipelines", "list", file]);
    let names: Vec<&str> = doc["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for name in names {
        assert!(
            text.stdout.contains(&format!("{name}\n")),
            "{name}: {}",
            text.stdout
        );
    }
}

#[test]
fn pipelines_list_shows_rule_patterns_as_written() {
    let mut env = Env::new();
    let path = env.pipelines(
        "[[pipeline]]\nname = \"p\"\nkeys = '^P/'\n[[pipeline.files]]\ninclude = '(a|b)\\.nc'\nexclude = '(c)'\npublish = \"no_action\"\n",
    );
    let run = env.run(&[
        "pipelines",
        "list",
        "--format",
        "json",
        path.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    let rule = &doc["pipelines"][0]["rules"][0];
    assert_eq!(rule["include"], r"(a|b)\.nc", "{rule}");
    assert_eq!(rule["exclude"], "(c)", "{rule}");
    let run = env.run(&["pipelines", "list", path.to_str().unwrap()]);
    assert!(
        run.stdout.contains(r"files[0]: (a|b)\.nc → no_action"),
        "{}",
        run.stdout
    );
}
