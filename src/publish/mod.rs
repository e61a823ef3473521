//! The publish step, all-or-nothing for the public store and the index.
//!
//! Order, as the reference: archive, early deletions, store, late deletions, then the harvest as
//! one index transaction. The upload's own archive copy (`_uploads/…/<name>.<job id>`) is never
//! undone: the archive only grows. Every other write leaves a receipt; if any later step fails,
//! the receipts are undone in reverse order, so the public store and the index are exactly as
//! before the job (and a per-file archive copy that replaced an older one is put back). Only after
//! the index commit are the receipts settled. The commit also records the pipeline as the owner
//! of every path written or deleted; a path another pipeline took since the process step checked
//! it refuses the commit, and the job is rolled back and rejected.

use std::path::Path;

use crate::error::{Fault, JobError};
use crate::index::{FileRecord, HarvestBatch, Index, IndexChange, Ownership};
use crate::layout;
use crate::model::{FileCollection, Upload};
use crate::pipeline::Pipeline;
use crate::store::{InvalidKey, Key, ObjectStore, PutOptions, Written};

/// What a publish writes to: the archive and public stores and the index, nothing else.
#[derive(Clone, Copy)]
pub struct Targets<'a> {
    pub archive: &'a dyn ObjectStore,
    pub public: &'a dyn ObjectStore,
    pub index: &'a dyn Index,
}

/// Who is publishing what, and where.
pub struct PublishRequest<'a> {
    pub targets: Targets<'a>,
    pub job_id: &'a str,
    pub pipeline: &'a Pipeline,
    pub upload: &'a Upload,
}

/// What a successful publish leaves behind.
#[derive(Debug, Clone)]
pub struct Publication {
    /// The archive copy of the upload, confirmed.
    pub upload_archive_url: String,
    /// Problems settling receipts (the publish itself succeeded).
    pub warnings: Vec<String>,
}

/// The MIME type a published file is stored with.
pub fn content_type_for(name: &str) -> &'static str {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".nc") {
        "application/x-netcdf"
    } else if lower.ends_with(".csv") {
        "text/csv"
    } else if lower.ends_with(".json") {
        "application/json"
    } else if lower.ends_with(".zip") {
        "application/zip"
    } else {
        "application/octet-stream"
    }
}

/// A key from the layout; the process step validated every path, so an invalid one is a bug.
fn valid(key: Result<Key, InvalidKey>) -> Result<Key, JobError> {
    key.map_err(|e| JobError::internal(format!("a validated path became invalid: {e}")))
}

/// Publishes the collection. On error, the public store and the index are as they were.
pub async fn publish(
    req: &PublishRequest<'_>,
    files: &mut FileCollection,
) -> Result<Publication, JobError> {
    let s = req.targets;

    // 1. Archive: the upload itself, then each file whose type asks for it. Never undone.
    let upload = req.upload;
    let upload_key = layout::archived_upload(&req.pipeline.name, &upload.name, req.job_id)
        .map_err(|e| JobError::internal(e.to_string()))?;
    let opts = PutOptions {
        content_type: Some(content_type_for(&upload.name).into()),
        sha256: Some(upload.sha256.clone()),
    };
    s.archive
        .put_file(&upload_key, &upload.local_path, &opts)
        .await
        .map_err(|e| JobError::from_boundary("archiving the upload failed", e))?;
    confirm(s, &upload_key, &upload.local_path).await?;

    // 2–5. Per-file archive copies, public store and index, with receipts for rollback.
    let mut archived: Vec<Written> = Vec::new();
    let mut receipts: Vec<Written> = Vec::new();
    let outcome = match archive_files(req, files, &mut archived).await {
        Ok(()) => write_public_and_index(req, files, &mut receipts).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => {
            let mut warnings = Vec::new();
            for (store, w) in receipts
                .iter()
                .map(|w| (s.public, w))
                .chain(archived.iter().map(|w| (s.archive, w)))
            {
                if let Err(e) = store.settle(w).await {
                    warnings.push(format!("settling {}: {e}", store.url_of(&w.key)));
                }
            }
            Ok(Publication {
                upload_archive_url: s.archive.url_of(&upload_key),
                warnings,
            })
        }
        Err(err) => {
            let mut undo_failures = Vec::new();
            for (store, w) in receipts
                .iter()
                .rev()
                .map(|w| (s.public, w))
                .chain(archived.iter().rev().map(|w| (s.archive, w)))
            {
                if let Err(e) = store.undo(w).await {
                    undo_failures.push(format!("{}: {e}", store.url_of(&w.key)));
                }
            }
            for f in files.iter_mut() {
                if f.archived || f.stored || f.deleted || f.harvested || f.unharvested {
                    f.archived = false;
                    f.stored = false;
                    f.deleted = false;
                    f.harvested = false;
                    f.unharvested = false;
                    f.record("Published", "rolled back");
                }
            }
            if undo_failures.is_empty() {
                Err(err)
            } else {
                tracing::error!(failures = ?undo_failures, "rollback incomplete");
                Err(JobError {
                    fault: Fault::Internal,
                    message: format!(
                        "{}; rolling back then failed for {}",
                        err.detail(),
                        undo_failures.join(", ")
                    ),
                    source: None,
                })
            }
        }
    }
}

/// Archives each file whose type asks for it, at its archive path. A new version replaces the
/// archived one (a versioned archive bucket keeps the earlier versions); if the job fails, the
/// replaced copy is put back, so the archive never holds a version that was not published.
async fn archive_files(
    req: &PublishRequest<'_>,
    files: &mut FileCollection,
    archived: &mut Vec<Written>,
) -> Result<(), JobError> {
    let s = req.targets;
    for f in files
        .iter_mut()
        .filter(|f| f.publish_type.archive() && !f.is_deletion())
    {
        let (Some(path), Some(local)) = (f.archive_path.clone(), f.local_path.clone()) else {
            return Err(JobError::internal(format!(
                "{}: archive path or content missing at publish",
                f.name
            )));
        };
        let opts = PutOptions {
            content_type: Some(content_type_for(&f.name).into()),
            sha256: f.sha256.clone(),
        };
        let archive_key = valid(layout::archived_file(&path))?;
        let w = s
            .archive
            .put_file(&archive_key, &local, &opts)
            .await
            .map_err(|e| JobError::from_boundary(format!("archiving {} failed", f.name), e))?;
        archived.push(w);
        f.archived = true;
        f.record(
            "Published",
            format!("archived at {}", s.archive.url_of(&archive_key)),
        );
    }
    Ok(())
}

/// Reads back an archived object and compares its size, so the incoming copy is removed only
/// after the archive copy is known to be whole.
async fn confirm(s: Targets<'_>, key: &Key, local: &Path) -> Result<(), JobError> {
    let expected = std::fs::metadata(local)
        .map(|m| m.len())
        .map_err(|e| JobError::internal(e.to_string()))?;
    match s.archive.head(key).await {
        Ok(Some(info)) if info.size == expected => Ok(()),
        Ok(Some(info)) => Err(JobError {
            fault: Fault::Transient,
            message: format!(
                "archive copy {key} has {} bytes, expected {expected}",
                info.size
            ),
            source: None,
        }),
        Ok(None) => Err(JobError {
            fault: Fault::Transient,
            message: format!("archive copy {key} is not readable after writing it"),
            source: None,
        }),
        Err(e) => Err(JobError::from_boundary(
            "confirming the archive copy failed",
            e,
        )),
    }
}

async fn write_public_and_index(
    req: &PublishRequest<'_>,
    files: &mut FileCollection,
    receipts: &mut Vec<Written>,
) -> Result<(), JobError> {
    let s = req.targets;
    // Early deletions: what the upload asked to remove.
    delete_public(s, files, receipts, false).await?;
    // Store: the new files.
    for f in files
        .iter_mut()
        .filter(|f| !f.is_deletion() && f.publish_type.store())
    {
        let dest = valid(layout::public_file(
            f.dest_path.as_deref().unwrap_or_default(),
        ))?;
        let local = f
            .local_path
            .clone()
            .ok_or_else(|| JobError::internal(format!("{}: no content to store", f.name)))?;
        let opts = PutOptions {
            content_type: Some(content_type_for(&f.name).into()),
            sha256: f.sha256.clone(),
        };
        let w = s
            .public
            .put_file(&dest, &local, &opts)
            .await
            .map_err(|e| JobError::from_boundary(format!("storing {} failed", f.name), e))?;
        receipts.push(w);
        f.stored = true;
        f.record("Published", format!("stored at {}", s.public.url_of(&dest)));
    }
    // Late deletions: older versions, removed only once their replacements are stored.
    delete_public(s, files, receipts, true).await?;
    // Harvest: one transaction for every index change and the ledger's move to published, with
    // the owner of every path written or deleted (refused whole if another pipeline took one).
    let mut changes = Vec::new();
    for f in files.iter() {
        for (area, path) in f.touches() {
            changes.push(IndexChange::Own(Ownership {
                area,
                path: path.to_string(),
                pipeline: req.pipeline.name.clone(),
                job_id: req.job_id.to_string(),
            }));
        }
    }
    for f in files.iter() {
        let Some(dest) = f.dest_path.clone() else {
            continue;
        };
        if f.is_deletion() && f.publish_type.unharvest() {
            changes.push(IndexChange::MarkDeleted {
                dest_path: dest,
                job_id: req.job_id.to_string(),
            });
        } else if !f.is_deletion() && f.publish_type.harvest() {
            changes.push(IndexChange::Upsert(FileRecord {
                dest_path: dest,
                pipeline: req.pipeline.name.clone(),
                source: req.upload.source.clone(),
                size: f.size,
                sha256: f.sha256.clone().unwrap_or_default(),
                job_id: req.job_id.to_string(),
                metadata: f.metadata.clone().unwrap_or_default(),
            }));
        }
    }
    let batch = HarvestBatch {
        job_id: req.job_id.to_string(),
        source: req.upload.source.clone(),
        source_version: req.upload.version.clone(),
        changes,
        now: chrono::Utc::now(),
    };
    s.index
        .commit(&batch)
        .await
        .map_err(|e| JobError::from_boundary("harvesting into the index failed", e))?;
    for f in files.iter_mut() {
        if f.dest_path.is_none() {
            continue;
        }
        if f.is_deletion() && f.publish_type.unharvest() {
            f.unharvested = true;
            f.record("Published", "marked deleted in the index");
        } else if !f.is_deletion() && f.publish_type.harvest() {
            f.harvested = true;
            f.record("Published", "harvested into the index");
        }
    }
    Ok(())
}

/// Removes from the public store the deletions of one kind: those the upload asked for (early) or
/// the older versions it supersedes (late), keeping a receipt of each for rollback.
async fn delete_public(
    s: Targets<'_>,
    files: &mut FileCollection,
    receipts: &mut Vec<Written>,
    late: bool,
) -> Result<(), JobError> {
    for f in files
        .iter_mut()
        .filter(|f| f.is_deletion() && f.is_late_deletion() == late && f.publish_type.delete())
    {
        let dest = valid(layout::public_file(
            f.dest_path.as_deref().unwrap_or_default(),
        ))?;
        let w = s
            .public
            .delete(&dest)
            .await
            .map_err(|e| JobError::from_boundary(format!("deleting {dest} failed"), e))?;
        receipts.push(w);
        f.deleted = true;
        let what = if late {
            "deleted superseded"
        } else {
            "deleted"
        };
        f.record("Published", format!("{what} {}", s.public.url_of(&dest)));
    }
    Ok(())
}
