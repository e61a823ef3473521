//! One file of an ingest and everything decided about it, with an audit trail of each change.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{CheckType, PublishType};
use crate::layout::Area;
use crate::model::FileMetadata;

/// Where a file of the collection came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FileOrigin {
    /// The uploaded file itself.
    Upload,
    /// A member of an uploaded container (archive or manifest), at `path` inside it.
    Member { container: String, path: String },
    /// A deletion requested by the upload (delete or rsync manifest): done before additions.
    Deletion { requested_by: String },
    /// An older version replaced by the file `by`: deleted only after the new one is published.
    Superseded { by: String },
    /// A file the pipeline's handler `by` made in the job's work folder (a product, an index).
    Generated { by: String },
}

/// One change to a file's record, kept for the job report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub state: &'static str,
    pub event: String,
}

/// A file being ingested: its content, its rule, its check verdict and what publishing did.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineFile {
    pub name: String,
    pub origin: FileOrigin,
    /// The content, inside the job's temporary folder; `None` for deletions.
    #[serde(skip)]
    pub local_path: Option<PathBuf>,
    pub size: u64,
    pub sha256: Option<String>,
    pub check_type: CheckType,
    pub publish_type: PublishType,
    /// Index of the pipeline rule that claimed the file.
    #[serde(skip)]
    pub rule: Option<usize>,
    /// The handler that placed the file (its publish type, check, destination and archive path),
    /// in place of a rule: the process step keeps its paths as they are and only validates them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placed_by: Option<String>,
    pub dest_path: Option<String>,
    pub archive_path: Option<String>,
    /// Where the file is within its upload, as templates' `path` read it: the path a manifest
    /// names (relative to the manifest's folder, deletions included) or a member's path inside
    /// an archive; `None` for the uploaded file itself.
    #[serde(skip)]
    pub path: Option<String>,
    pub check_passed: Option<bool>,
    pub check_log: Vec<String>,
    #[serde(skip)]
    pub metadata: Option<FileMetadata>,
    /// The NetCDF header as pipeline templates read it (typed attributes, variables in file
    /// order with their attributes, dimensions); for the job only, never stored.
    #[serde(skip)]
    pub header: Option<std::sync::Arc<serde_json::Value>>,
    pub archived: bool,
    pub stored: bool,
    pub harvested: bool,
    pub deleted: bool,
    pub unharvested: bool,
    pub audit: Vec<AuditEntry>,
}

impl PipelineFile {
    /// A file with content at `local_path`; types are set when a rule claims it.
    pub fn addition(
        name: impl Into<String>,
        origin: FileOrigin,
        local_path: PathBuf,
        size: u64,
    ) -> Self {
        Self::new(
            name.into(),
            origin,
            Some(local_path),
            size,
            PublishType::DEFAULT_ADDITION,
        )
    }

    /// A request to remove the file published at `dest_path`.
    pub fn deletion(dest_path: impl Into<String>, requested_by: impl Into<String>) -> Self {
        let dest_path = dest_path.into();
        let name = dest_path
            .rsplit('/')
            .next()
            .unwrap_or(&dest_path)
            .to_string();
        let mut file = Self::new(
            name,
            FileOrigin::Deletion {
                requested_by: requested_by.into(),
            },
            None,
            0,
            PublishType::DEFAULT_DELETION,
        );
        file.check_type = CheckType::NoAction;
        file.dest_path = Some(dest_path);
        file
    }

    fn new(
        name: String,
        origin: FileOrigin,
        local_path: Option<PathBuf>,
        size: u64,
        publish_type: PublishType,
    ) -> Self {
        PipelineFile {
            name,
            origin,
            local_path,
            size,
            sha256: None,
            check_type: CheckType::NonEmpty,
            publish_type,
            rule: None,
            placed_by: None,
            dest_path: None,
            archive_path: None,
            path: None,
            check_passed: None,
            check_log: Vec::new(),
            metadata: None,
            header: None,
            archived: false,
            stored: false,
            harvested: false,
            deleted: false,
            unharvested: false,
            audit: Vec::new(),
        }
    }

    pub fn is_deletion(&self) -> bool {
        matches!(
            self.origin,
            FileOrigin::Deletion { .. } | FileOrigin::Superseded { .. }
        )
    }

    /// A deletion that waits until the additions are published (old versions).
    pub fn is_late_deletion(&self) -> bool {
        matches!(self.origin, FileOrigin::Superseded { .. })
    }

    /// The paths publishing this file writes or deletes, each with its area: the destination of
    /// a deletion, or of an addition that is stored or harvested, and the archive path of an
    /// addition that is archived.
    pub fn touches(&self) -> Vec<(Area, &str)> {
        let t = self.publish_type;
        let mut out = Vec::new();
        if let Some(dest) = self.dest_path.as_deref()
            && t != PublishType::NoAction
            && (self.is_deletion() || t.store() || t.harvest())
        {
            out.push((Area::Public, dest));
        }
        if let Some(archive) = self.archive_path.as_deref()
            && !self.is_deletion()
            && t.archive()
        {
            out.push((Area::Archive, archive));
        }
        out
    }

    /// What publishing does to the file's paths, as a verb for messages.
    pub fn touch_verb(&self) -> &'static str {
        match self.origin {
            FileOrigin::Deletion { .. } => "delete",
            FileOrigin::Superseded { .. } => "supersede",
            FileOrigin::Upload | FileOrigin::Member { .. } | FileOrigin::Generated { .. } => {
                "overwrite"
            }
        }
    }

    /// Whether every publish action its type asks for has happened.
    pub fn published(&self) -> bool {
        let t = self.publish_type;
        if t == PublishType::NoAction {
            return false;
        }
        (!t.archive() || self.archived)
            && (!t.store() || self.stored)
            && (!t.harvest() || self.harvested)
            && (!t.delete() || self.deleted)
            && (!t.unharvest() || self.unharvested)
    }

    /// Appends one line to the audit trail.
    pub fn record(&mut self, state: &'static str, event: impl Into<String>) {
        self.audit.push(AuditEntry {
            at: Utc::now(),
            state,
            event: event.into(),
        });
    }
}

/// All files of one ingest, in a stable order.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(transparent)]
pub struct FileCollection {
    files: Vec<PipelineFile>,
}

impl FileCollection {
    pub fn new(files: Vec<PipelineFile>) -> Self {
        FileCollection { files }
    }

    pub fn iter(&self) -> std::slice::Iter<'_, PipelineFile> {
        self.files.iter()
    }

    pub fn iter_mut(&mut self) -> std::slice::IterMut<'_, PipelineFile> {
        self.files.iter_mut()
    }

    pub fn push(&mut self, file: PipelineFile) {
        self.files.push(file);
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

impl<'a> IntoIterator for &'a FileCollection {
    type Item = &'a PipelineFile;
    type IntoIter = std::slice::Iter<'a, PipelineFile>;
    fn into_iter(self) -> Self::IntoIter {
        self.files.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_means_every_requested_action_happened() {
        let mut f = PipelineFile::addition("a.nc", FileOrigin::Upload, "/tmp/a.nc".into(), 3);
        f.publish_type = PublishType::HarvestArchiveUpload;
        f.stored = true;
        f.harvested = true;
        assert!(!f.published(), "archive still missing");
        f.archived = true;
        assert!(f.published());
        f.publish_type = PublishType::NoAction;
        assert!(!f.published(), "no action never counts as published");
    }

    #[test]
    fn a_deletion_is_named_after_its_destination() {
        let d = PipelineFile::deletion("IMOS/X/old.nc", "x.delete_manifest");
        assert_eq!(d.name, "old.nc");
        assert!(d.is_deletion());
        assert_eq!(d.publish_type, PublishType::DeleteUnharvest);
    }
}
