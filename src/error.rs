//! Who is at fault when something goes wrong, and the exit code that tells AWS Batch what to do.

use serde::{Deserialize, Serialize};

/// Who is at fault for a failure. This alone decides the exit code, whether Batch retries, and who
/// is told: the provider hears about their data, never about our infrastructure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// The input itself is unacceptable (bad file, unclaimed file, bad manifest). Retrying cannot help.
    Input,
    /// The command line or the configuration is wrong. Retrying cannot help.
    Usage,
    /// Storage, database or network was unavailable. A retry with backoff may succeed.
    Transient,
    /// A bug, or an infrastructure state no retry will fix (e.g. access denied).
    Internal,
}

impl Fault {
    /// The process exit code for this fault, as DESIGN.md's contract with Batch's retry rules.
    pub fn exit_code(self) -> ExitCode {
        match self {
            Fault::Input => ExitCode::Rejected,
            Fault::Usage => ExitCode::Usage,
            Fault::Transient => ExitCode::Transient,
            Fault::Internal => ExitCode::Internal,
        }
    }
}

/// Exit codes of `ocean-ingest`. Batch retries only [`ExitCode::Transient`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitCode {
    /// Published, or nothing to do (duplicate event, already ingested).
    Ok = 0,
    /// Input rejected; provider notified; input kept in the error store.
    Rejected = 1,
    /// Usage or configuration error.
    Usage = 2,
    /// Internal error (bug): do not retry, raise an alarm.
    Internal = 70,
    /// Transient failure (storage, database or network): retry with backoff.
    Transient = 75,
}

impl ExitCode {
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The exit code of several jobs run by one command (an event with several records, a
    /// replay): transient (75) beats internal (70) beats usage (2) beats rejected (1) beats ok, so
    /// Batch retries the whole event whenever any record could succeed on a retry (the records
    /// already done are then duplicates).
    pub fn most_severe(self, other: ExitCode) -> ExitCode {
        let rank = |c: ExitCode| match c {
            ExitCode::Ok => 0,
            ExitCode::Rejected => 1,
            ExitCode::Usage => 2,
            ExitCode::Internal => 3,
            ExitCode::Transient => 4,
        };
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code.code())
    }
}

/// Implemented by every error type that crosses a boundary, so the job can classify any failure.
pub trait Classify {
    fn fault(&self) -> Fault;
}

/// A job-level error: what went wrong, whose fault it is, and the chain of causes.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct JobError {
    pub fault: Fault,
    pub message: String,
    #[source]
    pub source: Option<anyhow::Error>,
}

impl JobError {
    /// The input is unacceptable; `message` is shown to the provider, so it names the file and the fix.
    pub fn rejected(message: impl Into<String>) -> Self {
        JobError {
            fault: Fault::Input,
            message: message.into(),
            source: None,
        }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        JobError {
            fault: Fault::Internal,
            message: message.into(),
            source: None,
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        JobError {
            fault: Fault::Usage,
            message: message.into(),
            source: None,
        }
    }

    /// Wraps a boundary error, keeping its classification and its cause chain.
    pub fn from_boundary<E>(context: impl Into<String>, err: E) -> Self
    where
        E: Classify + std::error::Error + Send + Sync + 'static,
    {
        let fault = err.fault();
        JobError {
            fault,
            message: context.into(),
            source: Some(anyhow::Error::new(err)),
        }
    }

    /// The message followed by every cause, as one line: what reports and logs show.
    pub fn detail(&self) -> String {
        let mut out = self.message.clone();
        if let Some(source) = &self.source {
            for cause in source.chain() {
                out.push_str(": ");
                out.push_str(&cause.to_string());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_match_the_batch_contract() {
        assert_eq!(Fault::Input.exit_code().code(), 1);
        assert_eq!(Fault::Usage.exit_code().code(), 2);
        assert_eq!(Fault::Internal.exit_code().code(), 70);
        assert_eq!(Fault::Transient.exit_code().code(), 75);
        assert_eq!(ExitCode::Ok.code(), 0);
    }

    #[test]
    fn the_most_severe_exit_code_wins_and_transient_most_of_all() {
        use ExitCode::*;
        let all = [Ok, Rejected, Usage, Internal, Transient];
        let worst = |codes: &[ExitCode]| codes.iter().fold(Ok, |a, &b| a.most_severe(b));
        assert_eq!(worst(&all), Transient);
        assert_eq!(worst(&[Rejected, Internal, Ok]), Internal);
        assert_eq!(worst(&[Ok, Rejected]), Rejected);
        assert_eq!(worst(&[Usage, Rejected]), Usage);
        assert_eq!(worst(&[]), Ok);
    }

    #[test]
    fn detail_carries_the_cause_chain() {
        #[derive(Debug, thiserror::Error)]
        #[error("disk on fire")]
        struct Boom;
        impl Classify for Boom {
            fn fault(&self) -> Fault {
                Fault::Transient
            }
        }
        let err = JobError::from_boundary("archive failed", Boom);
        assert_eq!(err.fault, Fault::Transient);
        assert_eq!(err.detail(), "archive failed: disk on fire");
    }
}
