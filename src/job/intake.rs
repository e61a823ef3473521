//! Intake: the steps that take an upload on, each named. Make the job's work folder; fetch the
//! upload into it, hashing it on the way; route it to its pipeline; claim it in the ledger; apply
//! the pipeline's upload guards. The claim is proven by a [`Claimed`] only [`claim`] can make.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use tempfile::TempDir;

use super::context::Job;
use super::lease::{Heartbeat, Lease};
use crate::error::{Fault, JobError};
use crate::index::{Claim, ClaimOutcome};
use crate::model::Upload;
use crate::pipeline::Pipeline;
use crate::resolve::unpack::WorkRoom;
use crate::source::Source;
use crate::store::{Bounded, ObjectInfo};

/// Proof that this job holds the ledger's claim on its upload. Only [`claim`] makes one, so a
/// state holding it has claimed, and only such a job moves the ledger when it ends. It carries
/// the lease the heartbeat renews, which says whether the claim still holds.
pub(super) struct Claimed {
    pub lease: Lease,
}

/// The job's own folder, removed with everything in it when the job ends, and the heartbeat that
/// keeps it (and the claim) alive until then: a folder whose lease lapsed is debris of a job that
/// died, which the next job removes.
pub(super) struct WorkDir {
    // Stopped before the folder goes.
    heartbeat: Heartbeat,
    path: PathBuf,
    /// `None` once its removal started.
    dir: Option<TempDir>,
    removing: Option<tokio::task::JoinHandle<()>>,
}

impl WorkDir {
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    pub fn lease(&self) -> Lease {
        self.heartbeat.lease()
    }

    /// Starts removing the folder on a thread of its own, for a job that will read nothing in it
    /// again, while the heartbeat goes on renewing its claim. Removing folders waits on the file
    /// system's journal (a millisecond to several per folder on a busy disk), which a job's last
    /// steps — its notification, its ledger entry and its report — need not wait for.
    /// [`WorkDir::removed`] waits for it.
    ///
    /// `readers` (what still holds files of the folder open: the memos of its NetCDF files) are
    /// dropped on that thread first. Closing HDF5's last handle on a file flushes its caches,
    /// and the removal frees the blocks of each file no handle holds; the handle closed on the
    /// job's own thread at its end cost that thread 0.3–0.4 ms a job (BENCHMARKS.md, "The work
    /// folder's files closed where they are removed").
    pub fn remove_ahead(&mut self, readers: impl Send + 'static) {
        let Some(dir) = self.dir.take() else { return };
        self.heartbeat.release_folder();
        let path = self.path.clone();
        self.removing = Some(tokio::task::spawn_blocking(move || {
            remove_folder(dir, &path, readers)
        }));
    }

    /// Waits until the removal [`WorkDir::remove_ahead`] started is done.
    pub async fn removed(&mut self) {
        if let Some(task) = self.removing.take() {
            let _ = task.await;
        }
    }
}

/// Drops `readers`, then removes the folder `dir` (at `path`), saying so when it cannot.
fn remove_folder(dir: TempDir, path: &Path, readers: impl Send) {
    drop(readers);
    if let Err(e) = dir.close() {
        tracing::warn!(folder = %path.display(), error = %e, "could not remove the work folder");
    }
}

/// The folder job folders are made in.
pub(super) fn work_parent(job: &Job<'_>) -> std::path::PathBuf {
    job.services
        .settings
        .work_dir
        .clone()
        .unwrap_or_else(std::env::temp_dir)
}

/// Makes the job's work folder, with the folder the upload is copied into, and starts its
/// heartbeat.
pub(super) fn work_folder(job: &Job<'_>) -> Result<WorkDir, JobError> {
    let parent = work_parent(job);
    let dir = tempfile::Builder::new()
        .prefix(&crate::layout::work_folder_prefix(&job.id))
        .tempdir_in(parent)
        .map_err(|e| JobError {
            fault: Fault::Transient,
            message: format!("cannot create the job's work folder: {e}"),
            source: None,
        })?;
    std::fs::create_dir_all(dir.path().join("upload"))
        .map_err(|e| JobError::internal(format!("cannot prepare the work folder: {e}")))?;
    let settings = &job.services.settings;
    let heartbeat = Heartbeat::start(
        job.services.index.clone(),
        dir.path(),
        settings.lease,
        crate::deadline::lease_margin(&settings.timeouts),
    );
    Ok(WorkDir {
        heartbeat,
        path: dir.path().to_path_buf(),
        dir: Some(dir),
        removing: None,
    })
}

/// What fetching found.
pub(super) enum Fetched {
    Upload(Upload),
    /// The incoming object is gone: already processed or removed.
    Gone,
}

/// Copies the upload into the work folder, hashing it while it is copied (it is never read a
/// second time for that).
pub(super) async fn fetch(job: &Job<'_>, work: &WorkDir) -> Result<Fetched, JobError> {
    let name = job.request.source.name().to_string();
    let local_path = work.path().join("upload").join(&name);
    let (key, size, sha256, uploaded_at) = match &job.request.source {
        Source::LocalFile(path) => {
            let (from, to) = (path.clone(), local_path.clone());
            let copied =
                crate::task::blocking(move || crate::digest::copy_file_hashed(&from, &to)).await;
            match copied
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string()))
            {
                Ok((size, sha256)) => (name.clone(), size, sha256, None),
                Err(e) => {
                    return Err(JobError::usage(format!(
                        "cannot read {}: {e}",
                        path.display()
                    )));
                }
            }
        }
        Source::Incoming(key) => {
            let incoming = &job.services.incoming;
            // All the work disk a job has: an upload larger than that is not fetched (one
            // request either way: the download answers its size before its body).
            let room = WorkRoom::whole(work.path(), job.services.settings.work_max_bytes);
            let fetched = match &room {
                Some(room) => {
                    incoming
                        .get_to_file_within(key, &local_path, room.bytes)
                        .await
                }
                None => incoming
                    .get_to_file(key, &local_path)
                    .await
                    .map(Bounded::Fetched),
            };
            match (fetched, room) {
                (Ok(Bounded::Fetched(info)), _) => match info.sha256 {
                    Some(sha256) => (key.to_string(), info.size, sha256, info.modified),
                    None => {
                        return Err(JobError::internal(format!(
                            "the incoming store gave no SHA-256 for {key} (every backend must)"
                        )));
                    }
                },
                (Ok(Bounded::TooLarge(info)), Some(room)) => {
                    return too_big_to_fetch(job, work, key, &name, &info, &room).await;
                }
                (Ok(Bounded::TooLarge(_)), None) => {
                    return Err(JobError::internal(
                        "an unbounded fetch stopped as too large".to_string(),
                    ));
                }
                (Err(e), _) if e.is_not_found() => return Ok(Fetched::Gone),
                (Err(e), _) => {
                    return Err(JobError::from_boundary(
                        format!("fetching {key} from the incoming store failed"),
                        e,
                    ));
                }
            }
        }
    };
    Ok(Fetched::Upload(Upload {
        name,
        key,
        source: job.source.clone(),
        size,
        version: sha256.clone(),
        sha256,
        uploaded_at,
        local_path,
        not_fetched: None,
    }))
}

/// An incoming object that by its own size cannot fit the work disk (`room`): no retry can fetch
/// it, so it is only read through a hash (its identity in the ledger), and the job rejects it.
async fn too_big_to_fetch(
    job: &Job<'_>,
    work: &WorkDir,
    key: &crate::store::Key,
    name: &str,
    info: &ObjectInfo,
    room: &WorkRoom,
) -> Result<Fetched, JobError> {
    let incoming = &job.services.incoming;
    let looked_up =
        |e| JobError::from_boundary(format!("reading {key} in the incoming store failed"), e);
    let Some(sha256) = incoming.sha256(key).await.map_err(looked_up)? else {
        return Ok(Fetched::Gone);
    };
    let reason = format!(
        "{name} is {} bytes, more than the {} bytes the work disk has for a job ({}): it cannot be fetched to be checked, so it is refused without being opened; split it into smaller uploads, or give the jobs more disk (INGEST_WORK_MAX_BYTES, the job's ephemeral storage)",
        info.size, room.bytes, room.why
    );
    Ok(Fetched::Upload(Upload {
        name: name.to_string(),
        key: key.to_string(),
        source: job.source.clone(),
        size: info.size,
        version: sha256.clone(),
        sha256,
        uploaded_at: info.modified,
        local_path: work.path().join("upload").join(name),
        not_fetched: Some(reason),
    }))
}

/// The pipeline that owns the upload: the one asked for, or the first whose keys match.
pub(super) fn route<'s>(job: &Job<'s>, upload: &Upload) -> Result<&'s Pipeline, JobError> {
    let pipelines = &job.services.pipelines;
    match &job.request.pipeline {
        Some(forced) => pipelines.by_name(forced).ok_or_else(|| {
            let known: Vec<&str> = pipelines
                .pipelines
                .iter()
                .map(|p| p.name.as_str())
                .collect();
            JobError::usage(format!(
                "no pipeline named {forced} in {} (known: {})",
                pipelines.origin,
                known.join(", ")
            ))
        }),
        None => pipelines.route(&upload.key).ok_or_else(|| {
            JobError::rejected(format!(
                "no pipeline claims {}: its key matches no pipeline's keys pattern in {}",
                upload.key, pipelines.origin
            ))
        }),
    }
}

/// What the ledger answered the claim.
pub(super) enum LedgerAnswer {
    /// This job holds the upload now.
    Claimed(Claimed),
    /// A job already ingested this version of the upload.
    AlreadyDone { job_id: String },
    /// Another job holds a live claim on it.
    InProgress { job_id: String },
}

/// Claims this version of the upload in the ledger for the length of the lease. When another
/// job holds a claim that lapses within one lease of ours, waits to see whether it is renewed: a
/// live job renews within a quarter lease (then this job defers), a dead one does not (then this
/// job takes over), so a rerun right after a job was killed converges instead of retrying blind.
pub(super) async fn claim(
    job: &mut Job<'_>,
    upload: &Upload,
    pipeline: &Pipeline,
    work: &WorkDir,
) -> Result<LedgerAnswer, JobError> {
    let services = job.services;
    let length = services.settings.lease;
    let lease = chrono::Duration::from_std(length).unwrap_or(chrono::Duration::minutes(2));
    let me = job.id.clone();
    let ask = |now| Claim {
        source: upload.source.clone(),
        source_version: upload.version.clone(),
        job_id: me.clone(),
        pipeline: pipeline.name.clone(),
        now,
        lease_until: now + lease,
    };
    let mut seen: Option<chrono::DateTime<Utc>> = None;
    let waited = tokio::time::Instant::now();
    loop {
        let made = tokio::time::Instant::now();
        let claim = ask(Utc::now());
        let outcome =
            services.index.claim(&claim).await.map_err(|e| {
                JobError::from_boundary("claiming the upload in the ledger failed", e)
            })?;
        match outcome {
            ClaimOutcome::Claimed { took_over } => {
                if let Some(previous) = took_over {
                    job.note(format!(
                        "took over from job {previous}, which did not finish"
                    ));
                }
                let lease = work.lease();
                lease.claimed(claim, made);
                return Ok(LedgerAnswer::Claimed(Claimed { lease }));
            }
            ClaimOutcome::AlreadyDone { job_id, .. } => {
                job.note(format!(
                    "this version of the upload was already ingested by job {job_id}"
                ));
                return Ok(LedgerAnswer::AlreadyDone { job_id });
            }
            ClaimOutcome::InProgress { job_id, until } => {
                let now = Utc::now();
                let left = (until - now).to_std().unwrap_or_default();
                let renewed = seen.is_some_and(|s| until > s);
                // A lease longer than ours belongs to a job configured otherwise: not worth
                // waiting for. One that was renewed is held by a live job.
                if renewed
                    || left > length + Duration::from_secs(1)
                    || waited.elapsed() > length * 2
                {
                    job.note(format!(
                        "job {job_id} is ingesting this upload (its claim holds until {until}); retry later"
                    ));
                    return Ok(LedgerAnswer::InProgress { job_id });
                }
                if seen.is_none() {
                    job.note(format!(
                        "job {job_id} holds a claim on this upload until {until}: waiting to see whether it is still alive"
                    ));
                }
                seen = Some(until);
                let poll = (length / 8).clamp(Duration::from_millis(200), Duration::from_secs(5));
                tokio::time::sleep(poll.min(left + Duration::from_millis(50))).await;
            }
        }
    }
}

/// The pipeline's upload guards: allowed extensions and name patterns; before them, an upload
/// too big to fetch is refused.
pub(super) fn guard(pipeline: &Pipeline, upload: &Upload) -> Result<(), JobError> {
    if let Some(reason) = &upload.not_fetched {
        return Err(JobError::rejected(reason.clone()));
    }
    pipeline
        .accepts_upload(&upload.name)
        .map_err(JobError::rejected)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Records, when dropped, whether its file was still there.
    struct Reader {
        file: PathBuf,
        saw_file: Arc<AtomicBool>,
    }

    impl Drop for Reader {
        fn drop(&mut self) {
            self.saw_file.store(self.file.exists(), Ordering::SeqCst);
        }
    }

    #[test]
    fn the_folders_readers_let_go_of_its_files_before_it_is_removed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().to_path_buf();
        let file = path.join("upload.nc");
        std::fs::write(&file, b"data").expect("write");
        let saw_file = Arc::new(AtomicBool::new(false));
        let reader = Reader {
            file,
            saw_file: saw_file.clone(),
        };
        super::remove_folder(dir, &path, vec![reader]);
        assert!(
            saw_file.load(Ordering::SeqCst),
            "the reader was dropped after its file was removed"
        );
        assert!(!path.exists(), "the folder is still there");
    }
}
