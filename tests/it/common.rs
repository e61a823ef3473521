//! Helpers shared by the integration tests: a throwaway home, the binary, and readers for the side
//! effects (store contents, index rows, outbox messages).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The bundled fixtures (tests/data).
pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

pub const PROFILE: &str =
    "IMOS_ANMN-NRS_CDEKOSTUZ_20140703T021045Z_NRSMAI_FV01_Profile-SBE-19plus_C-20160524T003914Z.nc";
pub const PROFILE_BAD: &str =
    "IMOS_ANMN-NRS_CDEKOSTUZ_20140703T021045Z_NRSMAI_FV00_Profile-BAD_C-20160524T003914Z.nc";
pub const TEMPERATURE: &str = "IMOS_ANMN-NRS_TZ_20180406T080000Z_NRSROT_FV01_NRSROT-1804-SBE39-27_END-20180413T064000Z_C-20200313T000000Z.nc";
pub const SRS_ALT: &str = "IMOS_SRSALT_PT_20160919T020500Z_BASS3A_FV01_SBE26d49m.nc";
pub const ACORN: &str = "IMOS_ACORN_V_20101201T050000Z_BONC_FV00_sea-state.nc";
pub const FISHSOOP: &str = "IMOS_SOOP-FishSOOP_TP_20240310T094642Z_FV00_786.nc";

/// The shared IMOS corpus (../shared/imos-corpus beside the checkout, or INGEST_CORPUS_DIR).
/// Missing: the test fails when the run requires it (INGEST_TEST_REQUIRE_CORPUS=1, as CI sets),
/// else it is skipped with a message saying where it was looked for.
pub fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("INGEST_CORPUS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/imos-corpus"));
    if dir.join("reference/verdicts.tsv").is_file() {
        return Some(dir);
    }
    if std::env::var("INGEST_TEST_REQUIRE_CORPUS").as_deref() == Ok("1") {
        panic!(
            "corpus not found at {} and INGEST_TEST_REQUIRE_CORPUS=1: put the IMOS corpus beside \
             the checkout (../shared/imos-corpus) or set INGEST_CORPUS_DIR",
            dir.display()
        );
    }
    eprintln!("SKIPPED: corpus not found at {}", dir.display());
    None
}

/// A real server the test needs, from the variable scripts/test.sh exports. Missing: the test
/// fails when the run requires servers (INGEST_TEST_REQUIRE_SERVERS=1, as scripts/test.sh sets),
/// else it is skipped with a message saying how to run it.
pub fn server(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ if std::env::var("INGEST_TEST_REQUIRE_SERVERS").as_deref() == Ok("1") => {
            panic!(
                "{var} is not set but this run requires the test servers (start them with scripts/test.sh)"
            )
        }
        _ => {
            eprintln!("SKIPPED: {var} is not set; run scripts/test.sh to start the test servers");
            None
        }
    }
}

/// The result of one run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// What stderr says, whatever the log format: each JSON log line's `message` (quotes and line
    /// breaks as written), other lines as they are.
    pub fn messages(&self) -> String {
        self.stderr
            .lines()
            .map(|l| match serde_json::from_str::<Value>(l) {
                Ok(Value::Object(line)) => line
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or(l)
                    .to_string(),
                _ => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The job report printed by `--output json`.
    pub fn report(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

/// A throwaway ocean-ingest home (the embedded default) and a working directory to run in.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub vars: BTreeMap<String, String>,
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut vars = BTreeMap::new();
        vars.insert(
            "INGEST_HOME".into(),
            dir.path().join("var").display().to_string(),
        );
        vars.insert("INGEST_WORK_DIR".into(), dir.path().display().to_string());
        vars.insert("INGEST_LOG_FORMAT".into(), "json".into());
        Env { dir, vars }
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("var")
    }

    pub fn set(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.vars.insert(key.into(), value.into());
        self
    }

    /// Writes a pipeline file and points INGEST_PIPELINES at it.
    pub fn pipelines(&mut self, toml: &str) -> PathBuf {
        let path = self.dir.path().join("pipelines.toml");
        std::fs::write(&path, toml).unwrap();
        self.set("INGEST_PIPELINES", path.display().to_string());
        path
    }

    /// Points INGEST_PIPELINES at the example pipeline file (no catch-all): what a deployment
    /// with remote boundaries needs, since the example compiled in stands in only for the
    /// embedded default.
    pub fn example_pipelines(&mut self) -> &mut Self {
        self.set(
            "INGEST_PIPELINES",
            concat!(env!("CARGO_MANIFEST_DIR"), "/examples/pipelines.toml"),
        )
    }

    /// `ocean-ingest ARGS` ready to run in the env's folder, with only our variables set, its
    /// output captured.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ocean-ingest"));
        cmd.args(args).current_dir(self.dir.path());
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("INGEST_")) {
            cmd.env_remove(k);
        }
        cmd.envs(&self.vars)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        cmd
    }

    /// Runs `ocean-ingest ARGS` in the env's folder, with only our variables set.
    pub fn run(&self, args: &[&str]) -> Run {
        let out = self.command(args).output().expect("the binary runs");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `run --output json SOURCE`.
    pub fn ingest(&self, source: &Path) -> Run {
        self.run(&["run", "--output", "json", source.to_str().unwrap()])
    }

    /// Has a job other than the binary's ("other-job", of `pipeline`) hold a live claim, for ten
    /// minutes, on the upload `name` in the local folder `incoming` of this home.
    pub fn claim_elsewhere(&self, incoming: &Path, name: &str, pipeline: &str) {
        use ocean_ingest::index::Index;
        use sha2::Digest;
        let sha = hex::encode(sha2::Sha256::digest(
            std::fs::read(incoming.join(name)).unwrap(),
        ));
        let url = ocean_ingest::store::local::file_url(&incoming.canonicalize().unwrap());
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            let index =
                ocean_ingest::index::sqlite::SqliteIndex::open(&self.home().join("index.sqlite"))
                    .await
                    .unwrap();
            let now = chrono::Utc::now();
            let claim = ocean_ingest::index::Claim {
                source: format!("{url}/{name}"),
                source_version: sha,
                job_id: "other-job".into(),
                pipeline: pipeline.into(),
                now,
                lease_until: now + chrono::Duration::minutes(10),
            };
            assert!(matches!(
                index.claim(&claim).await.unwrap(),
                ocean_ingest::index::ClaimOutcome::Claimed { .. }
            ));
        });
    }

    /// Every file of a local store (relative key → bytes), without its bookkeeping folder.
    pub fn store(&self, name: &str) -> BTreeMap<String, Vec<u8>> {
        let root = self.home().join(name);
        let mut out = BTreeMap::new();
        walk(&root, &root, &mut out);
        out
    }

    /// The temporary files left in the bookkeeping of the home's local stores (`.<store>.ingest/tmp`).
    pub fn store_temporaries(&self) -> Vec<String> {
        let mut left = Vec::new();
        for store in ["incoming", "archive", "public", "error", "reports"] {
            let tmp = self.home().join(format!(".{store}.ingest/tmp"));
            for entry in std::fs::read_dir(&tmp).into_iter().flatten().flatten() {
                left.push(format!("{store}: {}", entry.file_name().to_string_lossy()));
            }
        }
        left
    }

    /// The index's published-file rows as JSON objects, ordered by destination.
    pub fn index_rows(&self) -> Vec<Value> {
        let path = self.home().join("index.sqlite");
        if !path.exists() {
            return Vec::new();
        }
        let conn = rusqlite::Connection::open(path).unwrap();
        let mut stmt = conn
            .prepare("SELECT dest_path, pipeline, source, size, sha256, job_id, deleted, feature_type, time_start, time_end, lat_min, lat_max, lon_min, lon_max, variables, attributes FROM indexed_file ORDER BY dest_path")
            .unwrap();
        stmt.query_map([], |r| {
            Ok(serde_json::json!({
                "dest_path": r.get::<_, String>(0)?,
                "pipeline": r.get::<_, String>(1)?,
                "source": r.get::<_, String>(2)?,
                "size": r.get::<_, i64>(3)?,
                "sha256": r.get::<_, String>(4)?,
                "job_id": r.get::<_, String>(5)?,
                "deleted": r.get::<_, i64>(6)? != 0,
                "feature_type": r.get::<_, Option<String>>(7)?,
                "time_start": r.get::<_, Option<String>>(8)?,
                "time_end": r.get::<_, Option<String>>(9)?,
                "lat_min": r.get::<_, Option<f64>>(10)?,
                "lat_max": r.get::<_, Option<f64>>(11)?,
                "lon_min": r.get::<_, Option<f64>>(12)?,
                "lon_max": r.get::<_, Option<f64>>(13)?,
                "variables": serde_json::from_str::<Value>(&r.get::<_, String>(14)?).unwrap(),
                "attributes": serde_json::from_str::<Value>(&r.get::<_, String>(15)?).unwrap(),
            }))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    }

    /// Ledger rows: (source, state, job_id).
    pub fn ledger(&self) -> Vec<(String, String, String)> {
        let conn = rusqlite::Connection::open(self.home().join("index.sqlite")).unwrap();
        let mut stmt = conn
            .prepare("SELECT source, state, job_id FROM ingest_ledger ORDER BY source")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// The outbox's message summaries (`<job_id>.json`), by job id.
    pub fn outbox(&self) -> BTreeMap<String, Value> {
        let dir = self.home().join("outbox");
        let mut out = BTreeMap::new();
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "json") {
                let v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
                out.insert(path.file_stem().unwrap().to_string_lossy().into_owned(), v);
            }
        }
        out
    }

    /// The raw message the outbox holds for a job.
    pub fn outbox_eml(&self, job_id: &str) -> String {
        std::fs::read_to_string(self.home().join("outbox").join(format!("{job_id}.eml"))).unwrap()
    }
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == ".ingest") {
                continue;
            }
            walk(root, &path, out);
        } else {
            let key = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.insert(key, std::fs::read(&path).unwrap());
        }
    }
}

/// The states a report went through, in order.
pub fn states(report: &Value) -> Vec<String> {
    report["states"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap().to_string())
        .collect()
}

/// A ZIP archive of `(path, content)` entries, built in memory (deflated).
pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    for (name, body) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(body).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// Puts an object into the local incoming store.
pub fn put(env: &Env, key: &str, content: &[u8]) -> PathBuf {
    let path = env.home().join("incoming").join(key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, content).unwrap();
    path
}

/// Uploads an object to incoming and ingests it.
pub fn upload(env: &Env, key: &str, content: &[u8]) -> Run {
    let path = put(env, key, content);
    env.ingest(&path)
}

pub fn published(env: &Env, key: &str, content: &[u8]) -> Value {
    let run = upload(env, key, content);
    assert_eq!(run.code, 0, "{key}: {}\n{}", run.stdout, run.stderr);
    run.report()
}

/// Asserts that the rejected upload `key` is kept byte for byte in the error store, where the
/// rejection's `report` says.
pub fn kept_in_error_store(env: &Env, key: &str, content: &[u8], report: &Value) {
    let name = key.rsplit('/').next().unwrap();
    let copy = format!(
        "{}/{name}.{}",
        report["pipeline"].as_str().unwrap(),
        report["job_id"].as_str().unwrap()
    );
    assert_eq!(
        env.store("error").get(&copy).map(Vec::as_slice),
        Some(content),
        "{key}: the upload is kept in the error store as {copy}"
    );
}

/// Asserts that the upload `key` of `content` was rejected with every `reason` in the message and
/// kept byte for byte in the error store; `context` starts every failure. The job's report.
pub fn rejection(
    env: &Env,
    run: &Run,
    context: &str,
    key: &str,
    content: &[u8],
    reasons: &[&str],
) -> Value {
    assert_eq!(run.code, 1, "{context}: {}\n{}", run.stdout, run.stderr);
    let report = run.report();
    assert_eq!(report["outcome"], "rejected", "{context}");
    let message = report["error"]["message"].as_str().unwrap();
    for reason in reasons {
        assert!(
            message.contains(reason),
            "{context}: {reason:?} not in {message}"
        );
    }
    kept_in_error_store(env, key, content, &report);
    report
}

/// Asserts a rejection whose message has every `reason`, with the upload kept byte for byte in
/// the error store and the public store and index untouched.
pub fn rejected(env: &Env, key: &str, content: &[u8], reasons: &[&str]) -> Value {
    let public = env.store("public");
    let rows = env.index_rows();
    let run = upload(env, key, content);
    let report = rejection(env, &run, key, key, content, reasons);
    assert_eq!(env.store("public"), public, "{key}: nothing published");
    assert_eq!(env.index_rows(), rows, "{key}: nothing harvested");
    report
}

/// Runs `pipelines validate` on the pipeline file at `path`, asserting that it is refused (exit
/// 2) and that what it says holds every `expected` line.
pub fn refused_by_validate(env: &Env, path: &Path, expected: &[String]) {
    let run = env.run(&["pipelines", "validate", path.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    for e in expected {
        assert!(run.stderr.contains(e), "missing {e:?} in:\n{}", run.stderr);
    }
}
