//! The job report: the one document that `--output json` prints, the reports store keeps, the
//! notification summarises and the result event carries.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Fault;
use crate::model::{PipelineFile, Upload};

/// How a job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Published,
    Rejected,
    Duplicate,
    FailedTransient,
    FailedInternal,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Published => "published",
            Outcome::Rejected => "rejected",
            Outcome::Duplicate => "duplicate",
            Outcome::FailedTransient => "failed_transient",
            Outcome::FailedInternal => "failed_internal",
        }
    }

    /// An outcome as the job history stores it (its serde name).
    pub fn parse(s: &str) -> Option<Outcome> {
        crate::model::parse_named("outcome", s).ok()
    }

    /// The outcome of a failure of this kind.
    pub fn of_fault(fault: Fault) -> Outcome {
        match fault {
            Fault::Input => Outcome::Rejected,
            Fault::Transient => Outcome::FailedTransient,
            Fault::Usage | Fault::Internal => Outcome::FailedInternal,
        }
    }
}

/// One state the job reached, and when.
#[derive(Debug, Clone, Serialize)]
pub struct StateRecord {
    pub state: &'static str,
    /// Milliseconds since the job started.
    pub elapsed_ms: u64,
}

/// One file of the collection, as reported: the file's record, with its title and whether it
/// was published.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    #[serde(flatten)]
    pub file: PipelineFile,
    /// The NetCDF `title` global attribute, when the file has one.
    pub title: Option<String>,
    pub published: bool,
}

impl std::ops::Deref for FileReport {
    type Target = PipelineFile;
    fn deref(&self) -> &PipelineFile {
        &self.file
    }
}

impl From<&PipelineFile> for FileReport {
    fn from(f: &PipelineFile) -> Self {
        FileReport {
            title: f
                .metadata
                .as_ref()
                .and_then(|m| m.attributes.get("title"))
                .and_then(|t| t.as_str())
                .map(str::to_string),
            published: f.published(),
            file: f.clone(),
        }
    }
}

/// Why a job did not publish.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorReport {
    pub fault: Fault,
    /// The state the job had reached when it failed.
    pub state: &'static str,
    pub message: String,
    /// The message with its chain of causes.
    pub detail: String,
}

/// What was sent to whom.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NotificationReport {
    pub recipients: Vec<String>,
    pub subject: String,
    pub delivered: bool,
    pub attempts: u32,
    pub error: Option<String>,
    /// Where the notifier put the message (outbox file or SMTP server).
    pub destination: Option<String>,
}

/// A quick-look plot of a published file, stored beside the report.
#[derive(Debug, Clone, Serialize)]
pub struct PlotReport {
    /// The file plotted.
    pub file: String,
    /// The variable drawn.
    pub variable: String,
    /// Where the PNG is stored (`None` if storing it failed; the notes say why).
    pub location: Option<String>,
}

/// Where the job put things.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Locations {
    /// The archive copy of the upload (on success).
    pub archive: Option<String>,
    /// The error-store copy of the upload (on failure).
    pub error_copy: Option<String>,
    /// Where this report is stored.
    pub report: Option<String>,
}

/// The whole story of one job.
#[derive(Debug, Clone, Serialize)]
pub struct JobReport {
    pub job_id: String,
    pub source: String,
    pub pipeline: Option<String>,
    pub outcome: Outcome,
    pub exit_code: u8,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub duration_ms: u64,
    /// When the harvest committed (the upload became public), for a job that got that far.
    pub published_at: Option<DateTime<Utc>>,
    /// The upload, once it was fetched.
    pub input: Option<Upload>,
    pub states: Vec<StateRecord>,
    pub files: Vec<FileReport>,
    pub error: Option<ErrorReport>,
    /// For a duplicate: the job that ingested this upload.
    pub duplicate_of: Option<String>,
    /// Plain-language notes (e.g. why a duplicate was skipped, what cleanup failed).
    pub notes: Vec<String>,
    pub locations: Locations,
    pub notification: Option<NotificationReport>,
    /// Quick-look plots of the published time series and profiles.
    pub plots: Vec<PlotReport>,
}

impl JobReport {
    /// The process exit code: that of the error's fault, 0 without an error. `exit_code` is this,
    /// as a number for the JSON document.
    pub fn exit(&self) -> crate::error::ExitCode {
        self.error
            .as_ref()
            .map_or(crate::error::ExitCode::Ok, |e| e.fault.exit_code())
    }

    /// The last state reached.
    pub fn last_state(&self) -> &'static str {
        self.states.last().map_or("Initial", |s| s.state)
    }
}
