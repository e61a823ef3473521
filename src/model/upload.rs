//! The upload a job ingests: its one identity, from the fetch to the report.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// The uploaded object, copied into the job's folder so nobody can change it under the job. The
/// job routes, claims, resolves, publishes and reports it by this one description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Upload {
    pub name: String,
    /// The key the pipeline was routed by: the incoming key, or the file name of a local file.
    pub key: String,
    /// Where it came from, as a URI (`file://…`, or the incoming store's URL of the object).
    #[serde(skip)]
    pub source: String,
    pub size: u64,
    pub sha256: String,
    /// The version the ledger knows it by (S3 version/ETag, or the SHA-256 for local files).
    pub version: String,
    /// When it arrived: the incoming object's modification time (S3's Last-Modified). `None` for
    /// a local file given on the command line, whose age says nothing about its upload.
    pub uploaded_at: Option<DateTime<Utc>>,
    /// The copy in the job's folder.
    #[serde(skip)]
    pub local_path: PathBuf,
    /// Why the upload was not copied into the job's folder: it cannot fit the work disk. Then
    /// `local_path` names nothing, the job rejects the upload with this reason, and its
    /// error-store copy is made from the incoming store.
    #[serde(skip)]
    pub not_fetched: Option<String>,
}
