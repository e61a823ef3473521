//! Intake: the steps that take an upload on, each named. Make the job's work folder; fetch the
//! upload into it, hashing it on the way; route it to its pipeline; claim it in the ledger; apply
//! the pipeline's upload guards. The claim is proven by a [`Claimed`] only [`claim`] can make.

use chrono::Utc;
use tempfile::TempDir;

use super::context::Job;
use crate::error::{Fault, JobError};
use crate::index::{Claim, ClaimOutcome};
use crate::model::Upload;
use crate::pipeline::Pipeline;
use crate::source::Source;

/// Proof that this job holds the ledger's claim on its upload. Only [`claim`] makes one, so a
/// state holding it has claimed, and only such a job moves the ledger when it ends.
#[derive(Debug)]
pub(super) struct Claimed {
    _proof: (),
}

/// The job's own folder, removed with everything in it when the job ends.
pub(super) struct WorkDir(TempDir);

impl WorkDir {
    pub fn path(&self) -> &std::path::Path {
        self.0.path()
    }
}

/// Makes the job's work folder, with the folder the upload is copied into.
pub(super) fn work_folder(job: &Job<'_>) -> Result<WorkDir, JobError> {
    let parent = job
        .services
        .settings
        .work_dir
        .clone()
        .unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::Builder::new()
        .prefix("ocean-ingest-")
        .tempdir_in(parent)
        .map_err(|e| JobError {
            fault: Fault::Transient,
            message: format!("cannot create the job's work folder: {e}"),
            source: None,
        })?;
    std::fs::create_dir_all(dir.path().join("upload"))
        .map_err(|e| JobError::internal(format!("cannot prepare the work folder: {e}")))?;
    Ok(WorkDir(dir))
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
            match incoming.get_to_file(key, &local_path).await {
                Ok(info) => match info.sha256 {
                    Some(sha256) => (key.to_string(), info.size, sha256, info.modified),
                    None => {
                        return Err(JobError::internal(format!(
                            "the incoming store gave no SHA-256 for {key} (every backend must)"
                        )));
                    }
                },
                Err(e) if e.is_not_found() => return Ok(Fetched::Gone),
                Err(e) => {
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

/// Claims this version of the upload in the ledger for the length of the lease.
pub(super) async fn claim(
    job: &mut Job<'_>,
    upload: &Upload,
    pipeline: &Pipeline,
) -> Result<LedgerAnswer, JobError> {
    let services = job.services;
    let now = Utc::now();
    let claim = Claim {
        source: upload.source.clone(),
        source_version: upload.version.clone(),
        job_id: job.id.clone(),
        pipeline: pipeline.name.clone(),
        now,
        lease_until: now
            + chrono::Duration::from_std(services.settings.lease)
                .unwrap_or(chrono::Duration::hours(1)),
    };
    let outcome = services
        .index
        .claim(&claim)
        .await
        .map_err(|e| JobError::from_boundary("claiming the upload in the ledger failed", e))?;
    Ok(match outcome {
        ClaimOutcome::Claimed { took_over } => {
            if let Some(previous) = took_over {
                job.note(format!(
                    "took over from job {previous}, which did not finish"
                ));
            }
            LedgerAnswer::Claimed(Claimed { _proof: () })
        }
        ClaimOutcome::AlreadyDone { job_id, .. } => {
            job.note(format!(
                "this version of the upload was already ingested by job {job_id}"
            ));
            LedgerAnswer::AlreadyDone { job_id }
        }
        ClaimOutcome::InProgress { job_id, until } => {
            job.note(format!(
                "job {job_id} is ingesting this upload (its claim holds until {until}); retry later"
            ));
            LedgerAnswer::InProgress { job_id }
        }
    })
}

/// The pipeline's upload guards: allowed extensions and name patterns.
pub(super) fn guard(pipeline: &Pipeline, upload: &Upload) -> Result<(), JobError> {
    pipeline
        .accepts_upload(&upload.name)
        .map_err(JobError::rejected)
}
