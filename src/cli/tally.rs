//! Counting the outcomes of several jobs run by one command (an event's records, a replay) and
//! the exit code they add up to.

use crate::error::ExitCode;
use crate::report::{JobReport, Outcome};

/// Outcomes so far, and the most severe exit code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub ok: usize,
    pub duplicate: usize,
    pub rejected: usize,
    pub failed: usize,
    /// Nothing to do (test events, removals).
    pub ignored: usize,
    /// Named objects that are not in the store.
    pub missing: usize,
    code: Option<ExitCode>,
}

impl Tally {
    /// Counts a finished job by its outcome.
    pub fn add_report(&mut self, report: &JobReport) {
        match report.outcome {
            Outcome::Published => self.ok += 1,
            Outcome::Duplicate => self.duplicate += 1,
            Outcome::Rejected => self.rejected += 1,
            Outcome::FailedTransient | Outcome::FailedInternal => self.failed += 1,
        }
        self.add_code(report.exit());
    }

    /// A success that ran no job (an event sent to a queue).
    pub fn add_ok(&mut self) {
        self.ok += 1;
        self.add_code(ExitCode::Ok);
    }

    /// A failure before or outside a job.
    pub fn add_failure(&mut self, code: ExitCode) {
        self.failed += 1;
        self.add_code(code);
    }

    /// An event record that asked for nothing.
    pub fn add_ignored(&mut self) {
        self.ignored += 1;
        self.add_code(ExitCode::Ok);
    }

    /// An object that was named but is not there: the caller's mistake (exit 2).
    pub fn add_missing(&mut self) {
        self.missing += 1;
        self.add_code(ExitCode::Usage);
    }

    fn add_code(&mut self, code: ExitCode) {
        self.code = Some(self.code.unwrap_or(ExitCode::Ok).most_severe(code));
    }

    /// Everything counted.
    pub fn total(&self) -> usize {
        self.ok + self.duplicate + self.rejected + self.failed + self.ignored + self.missing
    }

    /// The most severe exit code of everything counted (0 when nothing was).
    pub fn exit_code(&self) -> ExitCode {
        self.code.unwrap_or(ExitCode::Ok)
    }

    /// `<label> N: ok X, duplicate D, rejected R, failed F` (plus ignored and missing when any).
    pub fn line(&self, label: &str) -> String {
        let mut out = format!(
            "{label} {}: ok {}, duplicate {}, rejected {}, failed {}",
            self.total(),
            self.ok,
            self.duplicate,
            self.rejected,
            self.failed
        );
        if self.ignored > 0 {
            out.push_str(&format!(", ignored {}", self.ignored));
        }
        if self.missing > 0 {
            out.push_str(&format!(", missing {}", self.missing));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_keeps_the_most_severe_code() {
        let mut t = Tally::default();
        assert_eq!(t.exit_code(), ExitCode::Ok);
        t.add_ok();
        t.add_ignored();
        t.add_missing();
        assert_eq!(t.exit_code(), ExitCode::Usage);
        t.add_failure(ExitCode::Transient);
        t.add_failure(ExitCode::Internal);
        assert_eq!(t.exit_code(), ExitCode::Transient);
        assert_eq!(
            t.line("replayed"),
            "replayed 5: ok 1, duplicate 0, rejected 0, failed 2, ignored 1, missing 1"
        );
    }
}
