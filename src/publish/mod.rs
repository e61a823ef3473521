//! The publish step, all-or-nothing for the public store and the index.
//!
//! Order, as the reference: archive, early deletions, store, late deletions, then the harvest as
//! one index transaction; the objects of the collections' Parquet copies (`dataset`) are written
//! after the late deletions, journaled like the rest. The upload's own archive copy
//! (`_uploads/…/<name>.<job id>`) is never undone: the archive only grows. Every other write is
//! prepared first (the store says how to put its key back, keeping a stash of what it replaces
//! where it must) and the whole list is recorded as the upload's publish [`journal`] before the
//! first write; the index accepts the journal and the commit only from the job that holds the
//! claim. If any later step fails, the writes are undone in reverse order, so the public store and
//! the index are exactly as before the job (and a per-file archive copy that replaced an older one
//! is put back). After the index commit the stashes are dropped and the journal cleared. A job
//! that dies anywhere in between leaves the journal, and the next job to find it finishes or
//! undoes the publish. The commit also records the pipeline as the owner of every path written or
//! deleted; a path another pipeline took since the process step checked it refuses the commit,
//! and the job is rolled back and rejected.

mod collections;
mod dataset;
pub mod journal;

use std::path::{Path, PathBuf};

use crate::error::{Fault, JobError};
use crate::index::{Claim, FileRecord, HarvestBatch, Index, IndexChange, Ownership};
use crate::layout;
use crate::model::{FileCollection, PipelineFile, Upload};
use crate::pipeline::Pipeline;
use crate::store::staged::StagedCopies;
use crate::store::{InvalidKey, Key, ObjectStore, PutOptions, Restore};
use journal::{Entry, Place};

/// What a publish writes to: the archive and public stores and the index, nothing else.
#[derive(Clone, Copy)]
pub struct Targets<'a> {
    pub archive: &'a dyn ObjectStore,
    pub public: &'a dyn ObjectStore,
    pub index: &'a dyn Index,
}

/// What the job says before each write: whether it may still make one.
pub trait Permit: Send + Sync {
    /// `Err` (transient) when the job must stop writing: its deadline passed, or it cannot prove
    /// its claim for long enough that no other job could take the upload over mid-write.
    fn check(&self) -> Result<(), JobError>;

    /// `Err` (transient) when the job may not even undo what it wrote: it cannot prove its claim.
    /// A passed deadline still lets it undo, so a publish stopped at the deadline leaves nothing
    /// half done (the grace after the deadline bounds the undo).
    fn may_undo(&self) -> Result<(), JobError> {
        self.check()
    }
}

/// Who is publishing what, and where.
pub struct PublishRequest<'a> {
    pub targets: Targets<'a>,
    pub job_id: &'a str,
    pub pipeline: &'a Pipeline,
    pub upload: &'a Upload,
    pub permit: &'a dyn Permit,
    /// Copies written ahead into the archive and public stores, each placed by the put it was
    /// written for (see [`crate::store::staged`]).
    pub staged: &'a std::sync::Mutex<StagedCopies>,
}

/// Stores a local file under `key` in `store`, placing the copy written ahead of it there if
/// there is one.
async fn put(
    req: &PublishRequest<'_>,
    store: &dyn ObjectStore,
    key: &Key,
    local: &Path,
    opts: &PutOptions,
) -> Result<crate::store::Written, crate::store::StoreError> {
    let staged = req
        .staged
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take(&store.location(), local);
    match staged {
        Some(staged) => store.put_staged(key, local, opts, staged).await,
        None => store.put_file(key, local, opts).await,
    }
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

/// Publishes the collection. On error, the public store and the index are as they were, or, when
/// the job cannot finish the undo itself, the journal says how to make them so.
pub async fn publish(
    req: &PublishRequest<'_>,
    files: &mut FileCollection,
) -> Result<Publication, JobError> {
    let s = req.targets;
    req.permit.check()?;
    let upload_key = archive_upload(req).await?;
    let mut plan = plan(files)?;
    let harvests = collections::changes(req.pipeline, files)?;
    // The collections' Parquet objects are written in a folder of their own first, then stored
    // with the rest (the folder lives until this function returns); a job that changes no
    // collection makes no folder (nor removes one).
    let _parquet_dir = if harvests.is_empty() {
        None
    } else {
        let dir = dataset_dir(req)?;
        plan.extend(dataset::plan(s.public, &harvests, dir.path()).await?);
        Some(dir)
    };
    let entries = prepare(req, &plan).await?;
    if let Err(e) = apply(req, files, &plan, &entries).await {
        return Err(roll_back(req, files, &entries, e).await);
    }
    let mut batch = harvest_batch(req, files);
    batch.in_commit = collections::in_commit(&harvests);
    let committed = match s.index.commit(&batch).await {
        Ok(true) => true,
        Ok(false) => {
            return Err(transient(format!(
                "another job took over the claim on this upload before the index commit; it finishes or undoes what job {} wrote",
                req.job_id
            )));
        }
        Err(e) => {
            let err = collections::commit_failed(e);
            // The commit may have happened with only its answer lost: ask, after any of it
            // still on the way has ended.
            match s
                .index
                .committed(&req.upload.source, &req.upload.version, req.job_id)
                .await
            {
                Ok(true) => true,
                Ok(false) => return Err(roll_back(req, files, &entries, err).await),
                Err(_) => {
                    return Err(JobError {
                        message: format!(
                            "{}; whether the index commit happened cannot be known now, so the journal stays for the next run to finish or undo",
                            err.message
                        ),
                        ..err
                    });
                }
            }
        }
    };
    debug_assert!(committed);
    mark_harvested(files);
    collections::record(req.pipeline, files);
    dataset::record(s.public, files, &plan);
    let mut warnings = journal::settle_all(s, &entries).await;
    if let Err(e) = s
        .index
        .clear_journal(&req.upload.source, &req.upload.version, req.job_id)
        .await
    {
        warnings.push(format!("clearing the publish journal: {e}"));
    }
    Ok(Publication {
        upload_archive_url: s.archive.url_of(&upload_key),
        warnings: warnings
            .into_iter()
            .map(|w| format!("settling: {w}"))
            .collect(),
    })
}

fn transient(message: String) -> JobError {
    JobError {
        fault: Fault::Transient,
        message,
        source: None,
    }
}

/// A folder in the job's folder for the Parquet objects of the publish, removed when dropped.
fn dataset_dir(req: &PublishRequest<'_>) -> Result<tempfile::TempDir, JobError> {
    let job_folder = req
        .upload
        .local_path
        .parent()
        .ok_or_else(|| JobError::internal("the upload's copy is in no folder"))?;
    tempfile::Builder::new()
        .prefix("parquet-")
        .tempdir_in(job_folder)
        .map_err(|e| {
            JobError::internal(format!(
                "cannot make a folder for Parquet objects in {}: {e}",
                job_folder.display()
            ))
        })
}

/// Archives the upload itself and confirms the copy. Never undone.
async fn archive_upload(req: &PublishRequest<'_>) -> Result<Key, JobError> {
    let s = req.targets;
    let upload = req.upload;
    let upload_key = layout::archived_upload(&req.pipeline.name, &upload.name, req.job_id)
        .map_err(|e| JobError::internal(e.to_string()))?;
    let opts = PutOptions {
        content_type: Some(content_type_for(&upload.name).into()),
        sha256: Some(upload.sha256.clone()),
    };
    put(req, s.archive, &upload_key, &upload.local_path, &opts)
        .await
        .map_err(|e| JobError::from_boundary("archiving the upload failed", e))?;
    confirm(s, &upload_key, &upload.local_path).await?;
    Ok(upload_key)
}

/// One reversible write of the publish, in the order they are made.
struct Planned {
    place: Place,
    key: Key,
    /// The file it is for, by position in the collection.
    file: usize,
    change: Change,
    /// An object of a collection's Parquet copy (not the file itself).
    dataset: bool,
}

enum Change {
    Put { local: PathBuf, opts: PutOptions },
    Delete { late: bool },
}

/// Every reversible write, in order: per-file archive copies, early deletions, the new files,
/// late deletions (older versions, removed only once their replacements are stored).
fn plan(files: &FileCollection) -> Result<Vec<Planned>, JobError> {
    let mut plan = Vec::new();
    let content =
        |f: &PipelineFile, path: Option<&String>, what: &str| match (path, f.local_path.clone()) {
            (Some(path), Some(local)) => Ok((path.clone(), local)),
            _ => Err(JobError::internal(format!(
                "{}: {what} path or content missing at publish",
                f.name
            ))),
        };
    let put = |f: &PipelineFile, local: PathBuf| Change::Put {
        local,
        opts: PutOptions {
            content_type: Some(content_type_for(&f.name).into()),
            sha256: f.sha256.clone(),
        },
    };
    for (i, f) in files.iter().enumerate() {
        if f.publish_type.archive() && !f.is_deletion() {
            let (path, local) = content(f, f.archive_path.as_ref(), "archive")?;
            plan.push(Planned {
                place: Place::Archive,
                key: valid(layout::archived_file(&path))?,
                file: i,
                change: put(f, local),
                dataset: false,
            });
        }
    }
    let deletions = |late: bool, plan: &mut Vec<Planned>| -> Result<(), JobError> {
        for (i, f) in files.iter().enumerate() {
            if f.is_deletion() && f.is_late_deletion() == late && f.publish_type.delete() {
                plan.push(Planned {
                    place: Place::Public,
                    key: valid(layout::public_file(
                        f.dest_path.as_deref().unwrap_or_default(),
                    ))?,
                    file: i,
                    change: Change::Delete { late },
                    dataset: false,
                });
            }
        }
        Ok(())
    };
    deletions(false, &mut plan)?;
    for (i, f) in files.iter().enumerate() {
        if !f.is_deletion() && f.publish_type.store() {
            let (path, local) = content(f, f.dest_path.as_ref(), "destination")?;
            plan.push(Planned {
                place: Place::Public,
                key: valid(layout::public_file(&path))?,
                file: i,
                change: put(f, local),
                dataset: false,
            });
        }
    }
    deletions(true, &mut plan)?;
    Ok(plan)
}

/// Prepares every write (finding how to put each key back, stashing what must be kept) and
/// records the journal on the job's claim, before anything visible changes.
async fn prepare(req: &PublishRequest<'_>, plan: &[Planned]) -> Result<Vec<Entry>, JobError> {
    let s = req.targets;
    let mut entries = Vec::with_capacity(plan.len());
    for (n, p) in plan.iter().enumerate() {
        let prepared = match req.permit.check() {
            Ok(()) => s
                .store(p.place)
                .prepare(&p.key, &layout::stash_name(req.job_id, n))
                .await
                .map_err(|e| {
                    JobError::from_boundary(format!("preparing to change {} failed", p.key), e)
                }),
            Err(e) => Err(e),
        };
        let restore = match prepared {
            Ok(restore) => restore,
            Err(e) => {
                journal::settle_all(s, &entries).await;
                return Err(e);
            }
        };
        entries.push(Entry {
            place: p.place,
            key: p.key.to_string(),
            sha256: match &p.change {
                Change::Put { opts, local } => Some(match &opts.sha256 {
                    Some(sha256) => sha256.clone(),
                    None => sha256_of(local).await?,
                }),
                Change::Delete { .. } => None,
            },
            restore,
        });
    }
    let now = chrono::Utc::now();
    let claim = Claim {
        source: req.upload.source.clone(),
        source_version: req.upload.version.clone(),
        job_id: req.job_id.to_string(),
        pipeline: req.pipeline.name.clone(),
        now,
        lease_until: now,
    };
    let recorded = match req.permit.check() {
        Ok(()) => s
            .index
            .record_journal(&claim, &journal::journal(req.job_id, &entries))
            .await
            .map_err(|e| JobError::from_boundary("recording the publish journal failed", e)),
        Err(e) => Err(e),
    };
    match recorded {
        Ok(true) => Ok(entries),
        Ok(false) => {
            journal::settle_all(s, &entries).await;
            Err(transient(
                "the claim on this upload lapsed or was taken over before publishing: nothing written; the upload will be retried".into(),
            ))
        }
        Err(e) => {
            journal::settle_all(s, &entries).await;
            Err(e)
        }
    }
}

async fn sha256_of(path: &Path) -> Result<String, JobError> {
    let path = path.to_path_buf();
    crate::task::blocking(move || crate::digest::sha256_file(&path).map(|(_, sha256)| sha256))
        .await
        .map_err(|e| JobError::internal(e.to_string()))?
        .map_err(|e| JobError::internal(format!("cannot read a file to publish: {e}")))
}

/// Makes the planned writes, recording each on its file.
async fn apply(
    req: &PublishRequest<'_>,
    files: &mut FileCollection,
    plan: &[Planned],
    entries: &[Entry],
) -> Result<(), JobError> {
    let s = req.targets;
    let mut files: Vec<&mut PipelineFile> = files.iter_mut().collect();
    for (p, entry) in plan.iter().zip(entries) {
        req.permit.check()?;
        let store = s.store(p.place);
        let url = store.url_of(&p.key);
        let f = &mut files[p.file];
        if p.dataset {
            // The file's own record notes these once committed (`dataset::record`).
            match &p.change {
                Change::Put { local, opts } => put(req, store, &p.key, local, opts).await.map(drop),
                Change::Delete { .. } if entry.restore != Restore::Absent => {
                    store.delete(&p.key).await
                }
                Change::Delete { .. } => Ok(()),
            }
            .map_err(|e| {
                JobError::from_boundary(format!("writing the Parquet copy of {} failed", f.name), e)
            })?;
            continue;
        }
        match &p.change {
            Change::Put { local, opts } => {
                let what = if p.place == Place::Archive {
                    "archiving"
                } else {
                    "storing"
                };
                put(req, store, &p.key, local, opts)
                    .await
                    .map_err(|e| JobError::from_boundary(format!("{what} {} failed", f.name), e))?;
                if p.place == Place::Archive {
                    f.archived = true;
                    f.record("Published", format!("archived at {url}"));
                } else {
                    f.stored = true;
                    f.record("Published", format!("stored at {url}"));
                }
            }
            Change::Delete { late } => {
                // Deleting what is not there changes nothing (and in a versioned bucket would
                // only add a delete marker).
                if entry.restore != Restore::Absent {
                    store.delete(&p.key).await.map_err(|e| {
                        JobError::from_boundary(format!("deleting {} failed", p.key), e)
                    })?;
                }
                f.deleted = true;
                let what = if *late {
                    "deleted superseded"
                } else {
                    "deleted"
                };
                f.record("Published", format!("{what} {url}"));
            }
        }
    }
    Ok(())
}

/// Undoes the publish after `err`, and clears the journal once every write is undone. A job that
/// cannot undo in full leaves the journal for the next one, and fails transiently so it comes.
async fn roll_back(
    req: &PublishRequest<'_>,
    files: &mut FileCollection,
    entries: &[Entry],
    err: JobError,
) -> JobError {
    let s = req.targets;
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
    // A job that may have lost its claim leaves the undo to whoever takes the upload over, so
    // two jobs never undo and write the same keys at once.
    if let Err(stop) = req.permit.may_undo() {
        return JobError {
            fault: Fault::Transient,
            message: format!(
                "{}; {}: the publish journal stays for the next job to undo",
                err.detail(),
                stop.message
            ),
            source: None,
        };
    }
    let failures = journal::revert_all(s, entries).await;
    if failures.is_empty() {
        if let Err(e) = s
            .index
            .clear_journal(&req.upload.source, &req.upload.version, req.job_id)
            .await
        {
            tracing::warn!(error = %e, "the publish was undone but its journal stays");
        }
        return err;
    }
    tracing::error!(failures = ?failures, "rollback incomplete; the journal stays");
    JobError {
        fault: Fault::Transient,
        message: format!(
            "{}; rolling back then failed for {}: the publish journal stays, and the next run undoes the rest",
            err.detail(),
            failures.join(", ")
        ),
        source: None,
    }
}

/// Every index change of the publish and the ledger's move to published, as one batch, with the
/// owner of every path written or deleted (refused whole if another pipeline took one).
fn harvest_batch(req: &PublishRequest<'_>, files: &FileCollection) -> HarvestBatch {
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
    HarvestBatch {
        job_id: req.job_id.to_string(),
        source: req.upload.source.clone(),
        source_version: req.upload.version.clone(),
        changes,
        now: chrono::Utc::now(),
        in_commit: Vec::new(),
    }
}

fn mark_harvested(files: &mut FileCollection) {
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
}

/// Reads back an archived object and compares its size, so the incoming copy is removed only
/// after the archive copy is known to be whole.
async fn confirm(s: Targets<'_>, key: &Key, local: &Path) -> Result<(), JobError> {
    let expected = std::fs::metadata(local)
        .map(|m| m.len())
        .map_err(|e| JobError::internal(e.to_string()))?;
    match s.archive.head(key).await {
        Ok(Some(info)) if info.size == expected => Ok(()),
        Ok(Some(info)) => Err(transient(format!(
            "archive copy {key} has {} bytes, expected {expected}",
            info.size
        ))),
        Ok(None) => Err(transient(format!(
            "archive copy {key} is not readable after writing it"
        ))),
        Err(e) => Err(JobError::from_boundary(
            "confirming the archive copy failed",
            e,
        )),
    }
}
