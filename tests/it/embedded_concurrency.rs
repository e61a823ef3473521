//! Several jobs at once on one embedded home: processes started together on a home that has no
//! index yet all open (and create) the SQLite index, and every job ends with its own outcome —
//! none with a transient or internal failure because another process held the database.

use std::process::Child;

use crate::common::*;

/// Every `.nc` file routes to one pipeline that checks CF leniently (a catch-all, opted into).
const PIPELINE: &str = include_str!("../data/pipelines/any-nc-cf-lenient.toml");

#[test]
fn jobs_started_together_on_a_fresh_home_all_end_with_their_own_outcome() {
    let mut env = Env::new();
    env.pipelines(PIPELINE);
    env.set("INGEST_PIPELINES_ALLOW_CATCH_ALL", "true");
    let files = [TEMPERATURE, PROFILE, PROFILE_BAD, SRS_ALT, ACORN, FISHSOOP];
    // Two rounds: the first creates the index (migrations, journal mode) under contention, the
    // second opens the existing one while other processes write to it.
    for round in 0..2 {
        let children: Vec<(&str, Child)> = files
            .iter()
            .map(|f| {
                let path = data(f);
                let child = env
                    .command(&["run", "--output", "json", path.to_str().unwrap()])
                    .spawn()
                    .expect("the binary starts");
                (*f, child)
            })
            .collect();
        for (file, child) in children {
            let out = child.wait_with_output().unwrap();
            let code = out.status.code().unwrap_or(-1);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                code == 0 || code == 1,
                "round {round}: {file} exited {code}:\n{stderr}"
            );
            assert!(
                !stderr.contains("database is locked"),
                "round {round}: {file}:\n{stderr}"
            );
            let run = Run {
                code,
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: stderr.into_owned(),
            };
            assert!(
                run.report()["job_id"].is_string(),
                "round {round}: {file}: a job ran and reported: {}",
                run.stdout
            );
        }
    }
}
