//! The publish journal: every reversible write a publish is about to make, recorded on the
//! upload's ledger row before the first of them, so that whoever finds it later — the job itself
//! after a failure, the next run of the same upload, or any job of the pipeline once the writer's
//! lease lapsed — can undo an unfinished publish (or settle a committed one) exactly.
//!
//! An entry holds what its write leaves (the content's SHA-256, or nothing for a delete) and how
//! to restore the key ([`Restore`], found before the write). Undoing an entry puts the key back
//! only while it still holds what the write left: a write that never happened, or a key someone
//! has written since, is left as it is and only the stash is dropped. So undoing is right whether
//! the job died before, during or after the write, and doing it twice changes nothing.

use serde::{Deserialize, Serialize};

use super::Targets;
use crate::error::{Fault, JobError};
use crate::index::Journal;
use crate::store::{Key, ObjectStore, Restore, StoreError};

/// Which store an entry's key is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Place {
    Archive,
    Public,
}

/// One write the publish is about to make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub place: Place,
    pub key: String,
    /// What the write leaves: its content's SHA-256, or `None` for a delete.
    pub sha256: Option<String>,
    pub restore: Restore,
}

impl Targets<'_> {
    /// The store a journal entry writes to.
    pub fn store(&self, place: Place) -> &dyn ObjectStore {
        match place {
            Place::Archive => self.archive,
            Place::Public => self.public,
        }
    }
}

/// The journal of `job_id` holding `entries`.
pub fn journal(job_id: &str, entries: &[Entry]) -> Journal {
    Journal {
        job_id: job_id.to_string(),
        entries: serde_json::to_value(entries).expect("journal entries serialise"),
    }
}

/// The entries of a journal read back.
pub fn entries(journal: &Journal) -> Result<Vec<Entry>, JobError> {
    serde_json::from_value(journal.entries.clone()).map_err(|e| {
        JobError::internal(format!(
            "the publish journal of job {} cannot be read: {e}",
            journal.job_id
        ))
    })
}

/// Undoes one entry's write if the key still holds what it left; otherwise drops its stash.
pub async fn revert(targets: Targets<'_>, entry: &Entry) -> Result<(), StoreError> {
    let store = targets.store(entry.place);
    let Ok(key) = Key::new(entry.key.as_str()) else {
        return Ok(());
    };
    let present = store.head(&key).await?.is_some();
    let left_as_written = match (&entry.sha256, present) {
        (None, present) => !present,
        (Some(_), false) => false,
        (Some(sha256), true) => store.sha256(&key).await?.as_deref() == Some(sha256.as_str()),
    };
    if left_as_written {
        store.undo(&key, &entry.restore).await
    } else {
        store.settle(&entry.restore).await
    }
}

/// Undoes every entry, last first; the failures, each naming its object.
pub async fn revert_all(targets: Targets<'_>, entries: &[Entry]) -> Vec<String> {
    let mut failures = Vec::new();
    for entry in entries.iter().rev() {
        if let Err(e) = revert(targets, entry).await {
            failures.push(e.to_string());
        }
    }
    failures
}

/// Makes every entry final (their writes are committed): drops the stashes; the failures.
pub async fn settle_all(targets: Targets<'_>, entries: &[Entry]) -> Vec<String> {
    let mut failures = Vec::new();
    for entry in entries {
        if let Err(e) = targets.store(entry.place).settle(&entry.restore).await {
            failures.push(e.to_string());
        }
    }
    failures
}

/// Finishes what a job that did not live to do it left: settles a committed publish, undoes an
/// uncommitted one, then clears the journal. A note for the report says what was done.
pub async fn recover(
    targets: Targets<'_>,
    source: &str,
    source_version: &str,
    journal: &Journal,
    committed: bool,
) -> Result<String, JobError> {
    let entries = entries(journal)?;
    let (failures, done) = if committed {
        (settle_all(targets, &entries).await, "settled")
    } else {
        (revert_all(targets, &entries).await, "undid")
    };
    if !failures.is_empty() {
        return Err(JobError {
            fault: Fault::Transient,
            message: format!(
                "the unfinished publish of job {} could not be {} in full: {}",
                journal.job_id,
                if committed { "settled" } else { "undone" },
                failures.join("; ")
            ),
            source: None,
        });
    }
    targets
        .index
        .clear_journal(source, source_version, &journal.job_id)
        .await
        .map_err(|e| JobError::from_boundary("clearing a recovered publish journal failed", e))?;
    Ok(format!(
        "{done} the unfinished publish of job {} ({} writes)",
        journal.job_id,
        entries.len()
    ))
}
