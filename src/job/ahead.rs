//! The archive and public copies written ahead, beside the check: what the check only reads is
//! copied at the same time into the stores it will go to, where nobody sees it until publish
//! places it (`store::staged`). The publish waits for them, not the check: the steps between go
//! on while the copies reach the disk. Cancelled, and removed, when the check rejects the upload
//! or the job stops before its publish.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::services::Services;
use crate::model::{FileCollection, Upload};
use crate::store::ObjectStore;
use crate::store::staged::{self, Staged, StagedCopies};

/// Copies being written on a blocking thread while the check runs.
pub(super) struct Ahead {
    cancel: Arc<AtomicBool>,
    task: Option<tokio::task::JoinHandle<Vec<Staged>>>,
}

/// A store's location and staging folder, when it has one.
fn folder(store: &dyn ObjectStore) -> Option<(String, PathBuf)> {
    Some((store.location(), store.staging_folder()?))
}

/// Starts copying, into each store that takes copies written ahead, what the publish would put
/// there: the upload itself into the archive, and each file to check into the archive and the
/// public store as its publish type says. Stores that take none (S3) are left out.
pub(super) fn start(services: &Services, upload: &Upload, files: &FileCollection) -> Ahead {
    let archive = folder(services.archive.as_ref());
    let public = folder(services.public.as_ref());
    // Per file to copy, the folders it goes to: one read of it makes every copy.
    let mut plan: Vec<(PathBuf, Vec<(String, PathBuf)>)> = Vec::new();
    let mut add = |src: &PathBuf, into: &Option<(String, PathBuf)>| {
        let Some(into) = into else { return };
        match plan.iter_mut().find(|(s, _)| s == src) {
            Some((_, folders)) => folders.push(into.clone()),
            None => plan.push((src.clone(), vec![into.clone()])),
        }
    };
    if upload.not_fetched.is_none() {
        add(&upload.local_path, &archive);
    }
    for f in files
        .iter()
        .filter(|f| !f.is_deletion() && f.check_passed.is_none())
    {
        let Some(local) = &f.local_path else { continue };
        if f.publish_type.archive() {
            add(local, &archive);
        }
        if f.publish_type.store() {
            add(local, &public);
        }
    }
    let cancel = Arc::new(AtomicBool::new(false));
    let task = (!plan.is_empty()).then(|| {
        let cancel = cancel.clone();
        // Not awaited on a rejection, so started at once.
        crate::task::spawn_blocking(move || {
            let mut copies = Vec::new();
            for (src, into) in plan {
                match staged::stage(&src, &into, &cancel) {
                    Ok(staged) => copies.extend(staged),
                    Err(_) if cancel.load(Ordering::Relaxed) => break,
                    // The put copies it then, as it would have without this.
                    Err(e) => {
                        tracing::debug!(file = %src.display(), error = %e, "not copied ahead")
                    }
                }
            }
            copies
        })
    });
    Ahead { cancel, task }
}

impl Ahead {
    /// Waits for the copies (the check passed, the publish begins) and hands them to it.
    pub(super) async fn finish(mut self) -> StagedCopies {
        match self.task.take() {
            Some(task) => StagedCopies::new(task.await.unwrap_or_default()),
            None => StagedCopies::default(),
        }
    }
}

impl Drop for Ahead {
    /// Not finished: the upload goes no further, so copying stops within a piece, and what was
    /// copied is removed as the thread lets it go.
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}
