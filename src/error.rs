//! Who is at fault when something goes wrong, and the exit code that tells AWS Batch what to do;
//! and the one shape every boundary's errors take (operation, kind, location, cause).

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

/// Whether a retry can help a failed boundary operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The object, row or message is not there.
    NotFound,
    /// Throttling, 5xx, timeouts, connection failures, full disks: retry with backoff.
    Transient,
    /// Access denied, a missing bucket, an invalid request or URL: retrying will not help.
    Permanent,
    /// The change would take over what another owner holds (a path another pipeline published):
    /// refused as a whole, and no retry will change the owner.
    Conflict,
}

impl ErrorKind {
    /// The kind of a local I/O failure: a missing file is not-found; a full disk, exhausted
    /// handles or an interruption may clear up; permissions and the like will not.
    pub fn of_io(err: &std::io::Error) -> ErrorKind {
        use std::io::ErrorKind as Io;
        match err.kind() {
            Io::NotFound => ErrorKind::NotFound,
            Io::Interrupted
            | Io::TimedOut
            | Io::WouldBlock
            | Io::StorageFull
            | Io::QuotaExceeded
            | Io::ResourceBusy => ErrorKind::Transient,
            _ => ErrorKind::Permanent,
        }
    }
}

/// The operations of one boundary (store, index, notifier, queue), named in its errors.
pub trait Operation: Copy + std::fmt::Debug + std::fmt::Display + Send + Sync + 'static {
    /// What a message calls the boundary before the operation (`"index "`), or `""` where the
    /// operation's own name says it (`put`, `get` of a store).
    const BOUNDARY: &'static str;
}

/// Declares a boundary's operations: the enum, the words each is named by in messages, and the
/// boundary's own name (see [`Operation::BOUNDARY`]).
macro_rules! operations {
    (
        $(#[$meta:meta])*
        pub enum $name:ident in $boundary:literal {
            $($(#[$vmeta:meta])* $variant:ident => $words:literal),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vmeta])* $variant),*
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(match self {
                    $($name::$variant => $words),*
                })
            }
        }

        impl $crate::error::Operation for $name {
            const BOUNDARY: &'static str = $boundary;
        }
    };
}
pub(crate) use operations;

/// A failed boundary operation: the one error shape of every boundary. It names the operation and
/// where (an object's URL, a database, a server, a queue), says whether a retry can help, and keeps
/// the underlying error as its source.
#[derive(Debug)]
pub struct BoundaryError<Op> {
    pub op: Op,
    pub kind: ErrorKind,
    /// Where the operation went, without credentials.
    pub location: String,
    pub message: String,
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl<Op: Operation> BoundaryError<Op> {
    pub fn new(
        op: Op,
        location: impl Into<String>,
        kind: ErrorKind,
        message: impl Into<String>,
    ) -> Self {
        BoundaryError {
            op,
            kind,
            location: location.into(),
            message: message.into(),
            source: None,
        }
    }

    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    pub fn is_not_found(&self) -> bool {
        self.kind == ErrorKind::NotFound
    }

    pub fn is_transient(&self) -> bool {
        self.kind == ErrorKind::Transient
    }
}

impl<Op: Operation> std::fmt::Display for BoundaryError<Op> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}{} {}: {}",
            Op::BOUNDARY,
            self.op,
            self.location,
            self.message
        )
    }
}

impl<Op: Operation> std::error::Error for BoundaryError<Op> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl<Op: Operation> Classify for BoundaryError<Op> {
    fn fault(&self) -> Fault {
        match self.kind {
            ErrorKind::Transient => Fault::Transient,
            // A missing object where one must exist, or a refused request, is not fixed by a retry.
            ErrorKind::NotFound | ErrorKind::Permanent => Fault::Internal,
            // The upload asks to write what belongs to another pipeline: the input is at fault.
            ErrorKind::Conflict => Fault::Input,
        }
    }
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
