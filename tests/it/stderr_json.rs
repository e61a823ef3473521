//! Logs CloudWatch can read: with `--log-format json` every line `run`, `check` and
//! `replay --inline` write on stderr is one JSON object, and every line written inside a job
//! carries the job's id — whatever the C libraries make of the file: netCDF-3 and netCDF-4 files,
//! files that do not open (text, empty, a truncated HDF5 file), and files without the attributes
//! libnetcdf probes for (which made HDF5 print its error stacks on worker threads). Run over the
//! project's test data and the shared IMOS corpus.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::*;

/// Every `.nc` file routes to one pipeline that checks CF leniently, so that most files go on to
/// metadata, quick looks and publishing (the reads on worker threads) and some are rejected.
/// `scripts/check-stderr.sh` uses the same file.
const PIPELINE: &str = include_str!("../data/pipelines/any-nc-cf-lenient.toml");

/// The project's NetCDF fixtures, plus a netCDF-4 file cut short (HDF5 cannot open it).
fn project_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(data(""))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "nc"))
        .collect();
    files.sort();
    let truncated = dir.join("truncated_netcdf4.nc");
    let whole = std::fs::read(data(TEMPERATURE)).unwrap();
    assert_eq!(&whole[1..4], b"HDF", "the fixture is netCDF-4");
    std::fs::write(&truncated, &whole[..whole.len() / 3]).unwrap();
    files.push(truncated);
    files
}

/// The shared corpus's NetCDF files (None, said, when it is absent and not required).
fn corpus_files() -> Option<Vec<PathBuf>> {
    let dir = corpus()?;
    let mut files = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "nc") {
                files.push(p);
            }
        }
    }
    files.sort();
    Some(files)
}

/// The job id a JSON log line carries, as a field of its own or of the span it was logged in.
fn job_id(line: &Value) -> Option<&str> {
    line.get("job_id")
        .or_else(|| line.get("span").and_then(|s| s.get("job_id")))
        .or_else(|| line.get("fields").and_then(|f| f.get("job_id")))
        .and_then(Value::as_str)
}

/// Parses every stderr line as a JSON object, failing on the first that is not (naming the
/// command and quoting the line).
fn json_lines(what: &str, stderr: &str) -> Vec<Value> {
    stderr
        .lines()
        .map(|l| {
            assert!(
                !l.contains("HDF5-DIAG"),
                "{what}: HDF5 printed on stderr: {l}"
            );
            match serde_json::from_str::<Value>(l) {
                Ok(v) if v.is_object() => v,
                _ => panic!("{what}: a stderr line that is not a JSON object: {l:?}"),
            }
        })
        .collect()
}

/// `run` of each file in its own process (a job per file), one after the other on the same
/// embedded home: every line JSON, every line with the job's id; and the job's own report names
/// the same id.
fn run_each(env: &Env, files: &[PathBuf]) {
    let runs = files.iter().map(|f| {
        let f = f.to_str().unwrap();
        let run = env.run(&["--log-format", "json", "run", "--output", "json", f]);
        (f.to_string(), run)
    });
    for (file, run) in runs {
        let what = format!("run {file}");
        let lines = json_lines(&what, &run.stderr);
        let report = run.report();
        let Some(id) = report["job_id"].as_str() else {
            // Nothing ran (no job was created): nothing to carry.
            continue;
        };
        for line in &lines {
            assert_eq!(
                job_id(line),
                Some(id),
                "{what}: a log line of job {id} without its id: {line}"
            );
        }
    }
}

/// `replay --inline` of every file in one process, several jobs at once on worker threads:
/// every line JSON; every line of the job machinery carries a job id (the replay driver's own
/// summary lines are outside any job).
fn replay_all(env: &Env, files: &[PathBuf], prefix: &str) {
    for (i, f) in files.iter().enumerate() {
        // Distinct keys, so files of the same name in different corpus folders all run.
        let key = env
            .home()
            .join("incoming")
            .join(prefix)
            .join(format!("{i:03}"))
            .join(f.file_name().unwrap());
        std::fs::create_dir_all(key.parent().unwrap()).unwrap();
        std::fs::copy(f, key).unwrap();
    }
    let run = env.run(&[
        "--log-format",
        "json",
        "replay",
        "--inline",
        "--concurrency",
        "4",
        "--prefix",
        prefix,
    ]);
    assert!(
        run.stdout.contains(&format!("replayed {}:", files.len())),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    let what = format!("replay --inline --prefix {prefix}");
    let lines = json_lines(&what, &run.stderr);
    assert!(!lines.is_empty(), "{what}: no log lines at all");
    for line in &lines {
        let target = line["target"].as_str().unwrap_or_default();
        if target.starts_with("ocean_ingest::cli::replay") && job_id(line).is_none() {
            continue;
        }
        assert!(
            job_id(line).is_some(),
            "{what}: a log line inside a job without its id: {line}"
        );
    }
}

/// `check` of every file in one process: every line JSON (the verdicts go to stdout).
fn check_all(env: &Env, files: &[PathBuf]) {
    let mut args = vec![
        "--log-format",
        "json",
        "check",
        "-t",
        "cf:1.6",
        "-t",
        "imos:1.4",
        "-f",
        "json",
    ];
    let names: Vec<&str> = files.iter().map(|f| f.to_str().unwrap()).collect();
    args.extend(names.iter().copied());
    let run = env.run(&args);
    assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
    json_lines("check", &run.stderr);
    assert_eq!(
        run.stdout.lines().count(),
        files.len(),
        "one verdict per file"
    );
}

#[test]
fn stderr_is_json_with_job_ids_on_the_project_test_data() {
    let mut env = Env::new();
    env.pipelines(PIPELINE);
    // It claims every .nc file on purpose: a catch-all route, opted into.
    env.set("INGEST_PIPELINES_ALLOW_CATCH_ALL", "true");
    let files = project_files(env.dir.path());
    check_all(&env, &files);
    run_each(&env, &files);
    replay_all(&env, &files, "project/");
}

#[test]
fn stderr_is_json_with_job_ids_on_the_imos_corpus() {
    let Some(files) = corpus_files() else {
        return;
    };
    let mut env = Env::new();
    env.pipelines(PIPELINE);
    // It claims every .nc file on purpose: a catch-all route, opted into.
    env.set("INGEST_PIPELINES_ALLOW_CATCH_ALL", "true");
    check_all(&env, &files);
    run_each(&env, &files);
    replay_all(&env, &files, "corpus/");
}

/// What stops a command before or outside a job — settings that do not load, an upload replay
/// cannot find — goes out as JSON log lines too when logs are JSON: the level, the `kind` a
/// terminal shows as the line's prefix, and the message naming what is wrong.
#[test]
fn errors_outside_a_job_are_json_lines_when_logs_are_json() {
    let mut env = Env::new();
    let missing = env.dir.path().join("no-such-pipelines.toml");
    env.set("INGEST_PIPELINES", missing.to_str().unwrap());
    let file = data(TEMPERATURE);
    let run = env.run(&["--log-format", "json", "run", file.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let lines = json_lines("run with settings that do not load", &run.stderr);
    let error = lines
        .iter()
        .find(|l| l["kind"] == "error")
        .unwrap_or_else(|| panic!("no error line: {}", run.stderr));
    assert_eq!(error["level"], "ERROR", "{error}");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("no-such-pipelines.toml")),
        "the message names the file: {error}"
    );

    let mut env = Env::new();
    env.pipelines(PIPELINE);
    env.set("INGEST_PIPELINES_ALLOW_CATCH_ALL", "true");
    let run = env.run(&[
        "--log-format",
        "json",
        "replay",
        "--inline",
        "--key",
        "ANMN/gone.nc",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let lines = json_lines("replay of a missing key", &run.stderr);
    let missing = lines
        .iter()
        .find(|l| l["kind"] == "missing")
        .unwrap_or_else(|| panic!("no line for the missing key: {}", run.stderr));
    assert_eq!(missing["level"], "WARN", "{missing}");
    assert!(
        missing["message"]
            .as_str()
            .is_some_and(|m| m.contains("ANMN/gone.nc")),
        "{missing}"
    );
}
