//! The wait before exit 75 on an attempt AWS Batch will retry: Batch re-queues a retried job at
//! once, so the process itself spaces the attempts of an outage. The outage here is a PostgreSQL
//! index on a port where nothing listens.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::*;

/// An Env whose index is unreachable (a transient failure), running as attempt `attempt` of
/// three under Batch, with a backoff base of `base` seconds.
fn outage(attempt: Option<u32>, base: u64) -> Env {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut env = Env::new();
    env.set(
        "INGEST_INDEX_URL",
        format!("postgres://ingest@127.0.0.1:{port}/ingest?connect_timeout=2"),
    )
    .set(
        "INGEST_PIPELINES",
        concat!(env!("CARGO_MANIFEST_DIR"), "/examples/pipelines.toml"),
    )
    .set("INGEST_MAX_ATTEMPTS", "3")
    .set("INGEST_RETRY_BACKOFF_SECONDS", base.to_string());
    if let Some(attempt) = attempt {
        env.set("AWS_BATCH_JOB_ATTEMPT", attempt.to_string());
    }
    env
}

/// The log line of the wait, if the process waited.
fn wait_line(stderr: &str) -> Option<Value> {
    stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.contains("waiting before exit 75"))
        })
}

#[test]
fn an_early_attempt_waits_before_exit_75_and_the_last_does_not() {
    let env = outage(Some(1), 1);
    let started = Instant::now();
    let run = env.run(&["run", data(PROFILE).to_str().unwrap()]);
    let took = started.elapsed();
    assert_eq!(run.code, 75, "{}", run.stderr);
    let line = wait_line(&run.stderr).unwrap_or_else(|| panic!("no wait: {}", run.stderr));
    let wait = line["wait_ms"].as_u64().unwrap();
    assert!((750..=1250).contains(&wait), "1 s ±25 %: {line}");
    assert_eq!(line["attempt"], 1, "{line}");
    assert!(took >= Duration::from_millis(wait), "{took:?} < {wait} ms");

    // The second attempt waits twice as long.
    let run = outage(Some(2), 1).run(&["run", data(PROFILE).to_str().unwrap()]);
    assert_eq!(run.code, 75, "{}", run.stderr);
    let wait = wait_line(&run.stderr).unwrap()["wait_ms"].as_u64().unwrap();
    assert!((1500..=2500).contains(&wait), "2 s ±25 %: {wait}");

    // No retry follows the last attempt, and outside Batch no retry comes at all: no wait.
    for attempt in [Some(3), None] {
        let run = outage(attempt, 600).run(&["run", data(PROFILE).to_str().unwrap()]);
        assert_eq!(run.code, 75, "{attempt:?}: {}", run.stderr);
        assert!(
            wait_line(&run.stderr).is_none(),
            "{attempt:?}: {}",
            run.stderr
        );
    }
}

#[test]
fn a_stop_signal_cuts_the_wait_short() {
    let env = outage(Some(1), 250);
    let mut child = env
        .command(&["run", data(PROFILE).to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let mut line = String::new();
    while wait_line(&seen).is_none() {
        line.clear();
        let n = stderr.read_line(&mut line).unwrap();
        assert!(n > 0, "exited without waiting: {seen}");
        seen.push_str(&line);
    }
    // Batch's SIGTERM (attempt timeout, Spot reclaim) during the wait.
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(75), "{seen}{rest}");
    assert!(
        rest.contains("the wait before exit 75 is cut short"),
        "{rest}"
    );
}
