//! The job report: the one document that `--output json` prints, the reports store keeps, the
//! notification summarises and the result event carries.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::Fault;
use crate::model::{AuditEntry, CheckType, FileOrigin, PipelineFile, PublishType};

/// How a job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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

/// The uploaded object.
#[derive(Debug, Clone, Serialize)]
pub struct InputReport {
    pub name: String,
    /// The key the pipeline was routed by.
    pub key: String,
    pub size: u64,
    pub sha256: String,
    /// The version the ledger knows it by (S3 version/ETag, or the SHA-256 for local files).
    pub version: String,
}

/// One file of the collection, as reported.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub name: String,
    /// The NetCDF `title` global attribute, when the file has one.
    pub title: Option<String>,
    pub origin: FileOrigin,
    pub size: u64,
    pub sha256: Option<String>,
    pub check_type: CheckType,
    pub check_passed: Option<bool>,
    pub check_log: Vec<String>,
    pub publish_type: PublishType,
    pub dest_path: Option<String>,
    pub archive_path: Option<String>,
    pub archived: bool,
    pub stored: bool,
    pub harvested: bool,
    pub deleted: bool,
    pub unharvested: bool,
    pub published: bool,
    pub audit: Vec<AuditEntry>,
}

impl From<&PipelineFile> for FileReport {
    fn from(f: &PipelineFile) -> Self {
        FileReport {
            name: f.name.clone(),
            title: f
                .metadata
                .as_ref()
                .and_then(|m| m.attributes.get("title"))
                .and_then(|t| t.as_str())
                .map(str::to_string),
            origin: f.origin.clone(),
            size: f.size,
            sha256: f.sha256.clone(),
            check_type: f.check_type,
            check_passed: f.check_passed,
            check_log: f.check_log.clone(),
            publish_type: f.publish_type,
            dest_path: f.dest_path.clone(),
            archive_path: f.archive_path.clone(),
            archived: f.archived,
            stored: f.stored,
            harvested: f.harvested,
            deleted: f.deleted,
            unharvested: f.unharvested,
            published: f.published(),
            audit: f.audit.clone(),
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
    pub input: Option<InputReport>,
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
