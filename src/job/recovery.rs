//! Recovery: what jobs that died left behind, found and finished by the next job that can prove
//! its owner gone (its lease lapsed).
//!
//! - The upload's own ledger row: a journal left by the job this one took the upload over from
//!   is undone before this job publishes; a journal on an upload already published is settled.
//! - At start-up, for the pipeline: every abandoned journal of its uploads (the job's lease
//!   lapsed) is undone or settled; stashes in the archive and public stores whose job is gone
//!   and that no journal names are removed; so are stale temporary files of the stores and work
//!   folders of jobs whose lease lapsed.
//!
//! Nothing here fails a job: what cannot be cleaned now is noted and left for the next one.

use chrono::Utc;

use super::context::Job;
use super::lease;
use crate::error::JobError;
use crate::index::{ClaimOutcome, Journal, LedgerState, Owner};
use crate::pipeline::Pipeline;
use crate::publish::{Targets, journal};
use crate::store::{ObjectStore, Restore};

fn targets<'a>(job: &Job<'a>) -> Targets<'a> {
    let s = job.services;
    Targets {
        archive: s.archive.as_ref(),
        public: s.public.as_ref(),
        index: s.index.as_ref(),
    }
}

/// Undoes the unfinished publish another job left on the upload this job has just claimed.
pub(super) async fn take_over(
    job: &mut Job<'_>,
    source: &str,
    version: &str,
) -> Result<(), JobError> {
    let index = job.services.index.clone();
    let found = index
        .journal(source, version)
        .await
        .map_err(|e| JobError::from_boundary("reading the upload's publish journal failed", e))?;
    let Some(j) = found.filter(|j| j.job_id != job.id) else {
        return Ok(());
    };
    let note = journal::recover(targets(job), source, version, &j, false).await?;
    job.note(note);
    Ok(())
}

/// Settles the publish journal left on an upload that is already published.
pub(super) async fn settle_published(job: &mut Job<'_>, source: &str, version: &str) {
    let index = job.services.index.clone();
    let outcome = match index.journal(source, version).await {
        Ok(Some(j)) => journal::recover(targets(job), source, version, &j, true).await,
        Ok(None) => return,
        Err(e) => Err(JobError::from_boundary(
            "reading the publish journal failed",
            e,
        )),
    };
    match outcome {
        Ok(note) => job.note(note),
        Err(e) => job.note(format!(
            "could not settle a finished publish: {}",
            e.detail()
        )),
    }
}

/// Cleans up after the pipeline's jobs that died: abandoned journals, orphaned stashes, stale
/// temporary files and work folders.
pub(super) async fn sweep(job: &mut Job<'_>, pipeline: &Pipeline) {
    abandoned_journals(job, pipeline).await;
    orphaned_stashes(job).await;
    let services = job.services;
    let older_than = services.settings.lease;
    for store in [
        &services.public,
        &services.archive,
        &services.error,
        &services.reports,
        &services.incoming,
    ] {
        match store.sweep(older_than).await {
            Ok(0) => {}
            Ok(n) => job.note(format!(
                "removed {n} unfinished temporary files of {}",
                store.location()
            )),
            Err(e) => job.note(format!("could not clean {}: {e}", store.location())),
        }
    }
    work_folders(job);
}

async fn abandoned_journals(job: &mut Job<'_>, pipeline: &Pipeline) {
    let index = job.services.index.clone();
    let rows = match index.abandoned(&pipeline.name, Utc::now()).await {
        Ok(rows) => rows,
        Err(e) => {
            job.note(format!("could not look for abandoned publishes: {e}"));
            return;
        }
    };
    for row in rows {
        let result = if row.state.is_done() {
            journal::recover(
                targets(job),
                &row.source,
                &row.source_version,
                &row.journal,
                true,
            )
            .await
        } else {
            adopt_and_undo(
                job,
                &row.source,
                &row.source_version,
                &row.pipeline,
                row.state,
                &row.journal,
            )
            .await
        };
        match result {
            Ok(note) if note.is_empty() => {}
            Ok(note) => job.note(format!("{note} for {}", row.source)),
            Err(e) => job.note(format!("could not recover {}: {}", row.source, e.detail())),
        }
    }
}

/// Takes over a row whose job died mid-publish, undoes the publish and gives the row back in the
/// state it had (a failed claim the upload's next run takes again).
async fn adopt_and_undo(
    job: &mut Job<'_>,
    source: &str,
    version: &str,
    pipeline: &str,
    state: LedgerState,
    found: &Journal,
) -> Result<String, JobError> {
    let index = job.services.index.clone();
    let now = Utc::now();
    let claim = crate::index::Claim {
        source: source.to_string(),
        source_version: version.to_string(),
        job_id: job.id.clone(),
        pipeline: pipeline.to_string(),
        now,
        lease_until: now
            + chrono::Duration::from_std(job.services.settings.lease).unwrap_or_default(),
    };
    match index.claim(&claim).await {
        Ok(ClaimOutcome::Claimed { .. }) => {}
        // Someone else recovers it, or it was just published: not ours to touch.
        Ok(_) => return Ok(String::new()),
        Err(e) => {
            return Err(JobError::from_boundary(
                "taking over an abandoned publish failed",
                e,
            ));
        }
    }
    let current = index
        .journal(source, version)
        .await
        .map_err(|e| JobError::from_boundary("reading an abandoned publish journal failed", e))?
        .filter(|j| j.job_id == found.job_id);
    let note = match current {
        Some(j) => journal::recover(targets(job), source, version, &j, false).await?,
        None => String::new(),
    };
    let back = if state == LedgerState::Running {
        LedgerState::Failed
    } else {
        state
    };
    index
        .release(source, version, &job.id, back)
        .await
        .map_err(|e| JobError::from_boundary("giving back a recovered ledger row failed", e))?;
    Ok(note)
}

async fn orphaned_stashes(job: &mut Job<'_>) {
    let services = job.services;
    let mut stores: Vec<&dyn ObjectStore> = vec![services.public.as_ref()];
    if services.archive.location() != services.public.location() {
        stores.push(services.archive.as_ref());
    }
    let now = Utc::now();
    for store in stores {
        let names = match store.stashes().await {
            Ok(names) => names,
            Err(e) => {
                job.note(format!(
                    "could not list the stashes of {}: {e}",
                    store.location()
                ));
                continue;
            }
        };
        let mut owners: std::collections::BTreeMap<&str, Vec<&String>> = Default::default();
        for name in &names {
            // A name this layout never made belongs to no job we can prove gone.
            if let Some(owner) = crate::layout::stash_owner(name) {
                owners.entry(owner).or_default().push(name);
            }
        }
        let mut removed = 0;
        for (owner, stashes) in owners {
            if owner == job.id {
                continue;
            }
            match services.index.owner(owner, now).await {
                Ok(Owner::Gone) => {}
                Ok(_) => continue,
                Err(e) => {
                    job.note(format!("could not tell whether job {owner} is gone: {e}"));
                    continue;
                }
            }
            for stash in stashes {
                let restore = Restore::Stash {
                    stash: stash.clone(),
                };
                if store.settle(&restore).await.is_ok() {
                    removed += 1;
                }
            }
        }
        if removed > 0 {
            job.note(format!(
                "removed {removed} stashes left in {} by jobs that died",
                store.location()
            ));
        }
    }
}

/// Removes the work folders of jobs whose lease lapsed (the folder's heartbeat stopped).
fn work_folders(job: &mut Job<'_>) {
    let parent = super::intake::work_parent(job);
    let Ok(entries) = std::fs::read_dir(&parent) else {
        return;
    };
    let mine = crate::layout::work_folder_prefix(&job.id);
    let lease = job.services.settings.lease;
    let now = Utc::now();
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !name.starts_with(crate::layout::WORK_FOLDER_PREFIX) || name.starts_with(&mine) {
            continue;
        }
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        // A folder whose heartbeat never wrote is judged by its age.
        let gone = lease::folder_owner_gone(&path, now).unwrap_or_else(|| {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > lease)
        });
        if gone && std::fs::remove_dir_all(&path).is_ok() {
            removed += 1;
        }
    }
    if removed > 0 {
        job.note(format!(
            "removed {removed} work folders left in {} by jobs that died",
            parent.display()
        ));
    }
}
