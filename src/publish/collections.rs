//! The publish's changes to collection tables: which files load into (or leave) which declared
//! collection, as work in the index's commit; and a failed load classified as its cause says.

use std::sync::Arc;

use crate::error::{Classify, JobError};
use crate::harvest::{CollectionChange, HarvestError, HarvestFile};
use crate::index::{InCommit, IndexError};
use crate::model::FileCollection;
use crate::pipeline::Pipeline;

/// What the files of a publish change in their collections, removals first (so a destination
/// removed and loaded again in one job keeps the load): every unharvested deletion (asked for,
/// or a superseded version) with a collection removes its rows; every harvested file with one
/// loads its rows. Each change comes with its file's position in the collection.
pub fn changes(
    pipeline: &Pipeline,
    files: &FileCollection,
) -> Result<Vec<(usize, CollectionChange)>, JobError> {
    let mut unloads = Vec::new();
    let mut loads = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let (Some(dest), Some(collection)) = (&f.dest_path, pipeline.harvest_for(f.rule)) else {
            continue;
        };
        if f.is_deletion() && f.publish_type.unharvest() {
            unloads.push((
                i,
                CollectionChange::Unload {
                    collection,
                    dest_path: dest.clone(),
                },
            ));
        } else if !f.is_deletion() && f.publish_type.harvest() {
            let path = f
                .local_path
                .clone()
                .ok_or_else(|| JobError::internal(format!("{}: no content to harvest", f.name)))?;
            loads.push((
                i,
                CollectionChange::Load {
                    collection,
                    file: HarvestFile {
                        path,
                        dest_path: dest.clone(),
                        size: f.size,
                        sha256: f.sha256.clone().unwrap_or_default(),
                    },
                },
            ));
        }
    }
    unloads.extend(loads);
    Ok(unloads)
}

/// The changes as work for the index's commit.
pub fn in_commit(changes: &[(usize, CollectionChange)]) -> Vec<Arc<dyn InCommit>> {
    changes
        .iter()
        .map(|(_, c)| Arc::new(c.clone()) as Arc<dyn InCommit>)
        .collect()
}

/// Notes in each file's audit trail the collection its rows went into or left, once committed.
pub fn record(pipeline: &Pipeline, files: &mut FileCollection) {
    for f in files.iter_mut().filter(|f| f.dest_path.is_some()) {
        let Some(c) = pipeline.harvest_for(f.rule) else {
            continue;
        };
        if f.is_deletion() && f.unharvested {
            f.record(
                "Published",
                format!("rows removed from collection {}", c.schema),
            );
        } else if !f.is_deletion() && f.harvested {
            f.record(
                "Published",
                format!("rows loaded into collection {}", c.schema),
            );
        }
    }
}

/// The job error of a failed index commit. A harvest that failed on the file's content (a
/// variable missing, a value its column cannot hold) rejects the upload; a declaration the
/// database cannot take is the configuration's fault; the rest keep the index's classification.
pub fn commit_failed(e: IndexError) -> JobError {
    let cause = std::error::Error::source(&e)
        .and_then(|s| s.downcast_ref::<HarvestError>())
        .map(|h| h.fault());
    let mut err = JobError::from_boundary("harvesting into the index failed", e);
    if let Some(fault) = cause {
        err.fault = fault;
    }
    err
}
