//! The steps that end a job: keeping a failed upload in the error store, removing the incoming
//! object once its copy is safe elsewhere, clearing earlier failures of a name that now
//! published, and finalising — the ledger's last word and the stored report.

use chrono::Utc;
use tracing::{error, info, warn};

use super::context::Job;
use super::dashboard;
use super::intake::Claimed;
use crate::index::{JobEnd, JobFacts, LedgerState};
use crate::layout;
use crate::model::Upload;
use crate::report::JobReport;
use crate::source::Source;
use crate::store::{Key, PutOptions};

/// Copies a failed upload to the error store as `<pipeline>/<name>.<job_id>`; its URL, or `None`
/// (with a note) when the copy could not be made. Nothing is removed from incoming here.
pub(super) async fn keep_in_error_store(
    job: &mut Job<'_>,
    upload: &Upload,
    pipeline: Option<&str>,
) -> Option<String> {
    let store = &job.services.error;
    let key = match layout::error_copy(pipeline.unwrap_or(layout::UNROUTED), &upload.name, &job.id)
    {
        Ok(key) => key,
        Err(e) => {
            job.note(format!("no error-store key for the upload: {e}"));
            return None;
        }
    };
    let opts = PutOptions {
        content_type: Some(crate::publish::content_type_for(&upload.name).into()),
        sha256: Some(upload.sha256.clone()),
    };
    let kept = match (&upload.not_fetched, &job.request.source) {
        // Never in the work folder: copied from where it is, store to store.
        (Some(_), Source::Incoming(incoming_key)) => {
            let from = job.services.incoming.origin_of(incoming_key);
            store.put_copy(&key, &from, upload.size, &opts).await
        }
        _ => store.put_file(&key, &upload.local_path, &opts).await,
    };
    match kept {
        Ok(_) => Some(store.url_of(&key)),
        Err(e) => {
            error!(error = %e, "could not keep the upload in the error store");
            job.note(format!("could not keep the upload in the error store: {e}"));
            None
        }
    }
}

/// Removes the incoming object after its copy was confirmed elsewhere, for good: no copy is kept
/// for an undo (the archive or error store holds the upload).
pub(super) async fn remove_incoming(job: &mut Job<'_>, key: &Key) {
    let incoming = &job.services.incoming;
    if let Err(e) = incoming.delete(key).await {
        warn!(error = %e, "could not remove the incoming object");
        let url = incoming.url_of(key);
        job.note(format!(
            "could not remove {url} from the incoming store: {e}"
        ));
    }
}

/// On success, earlier failed uploads of the same name are no longer needed in the error store.
pub(super) async fn clear_earlier_failures(job: &mut Job<'_>, pipeline: &str, name: &str) {
    let store = &job.services.error;
    let prefix = layout::error_copies_prefix(pipeline, name);
    let objects = match store.list(&prefix).await {
        Ok(objects) => objects,
        Err(e) => {
            job.note(format!("could not list earlier failed uploads: {e}"));
            return;
        }
    };
    for o in objects {
        // Only `<name>.<job id>`: never another file whose name merely starts the same.
        let rest = &o.key.as_str()[prefix.len()..];
        if rest.contains('.') || rest.contains('/') {
            continue;
        }
        let note = match store.delete(&o.key).await {
            Ok(()) => format!("removed earlier failed upload {}", store.url_of(&o.key)),
            Err(e) => format!("could not remove earlier failed upload {}: {e}", o.key),
        };
        job.note(note);
    }
}

/// Records the job's end in the index and stores the report. Only a job that holds the claim
/// moves the ledger to `state`; the others (a duplicate, a deferral, a failure before the claim)
/// leave the ledger to the job that holds it, and only the job history records them. Failures
/// here are logged and noted in the returned report; they do not change the outcome.
pub(super) async fn finalise(
    job: &mut Job<'_>,
    mut report: JobReport,
    claim: Option<&Claimed>,
    state: LedgerState,
    version: &str,
) -> JobReport {
    let services = job.services;
    report.finished_at = Utc::now();
    report.duration_ms = job.elapsed_ms();
    let pipeline = report
        .pipeline
        .clone()
        .unwrap_or_else(|| layout::UNROUTED.to_string());
    let end = JobEnd {
        job_id: job.id.clone(),
        source: report.source.clone(),
        source_version: version.to_string(),
        pipeline: pipeline.clone(),
        ledger_state: claim.map(|_| state),
        outcome: report.outcome.as_str().to_string(),
        started_at: report.started_at,
        finished_at: report.finished_at,
        report_url: report.locations.report.clone(),
        facts: facts(&report),
    };
    // The index's record of the end and the stored report are independent writes, each waiting
    // on its own `fsync`: they are made side by side. The report is stored as it stands; should
    // the index (or the dashboard after it) fail, the report says so and is stored again.
    let recorded = async {
        match services.index.finish(&end).await {
            Ok(()) if services.settings.dashboard => {
                dashboard::rewrite(services).await.err().map(|e| {
                    warn!(error = %e, "could not rewrite the dashboard");
                    format!("could not rewrite the dashboard: {e}")
                })
            }
            Ok(()) => None,
            Err(e) => {
                error!(error = %e, "could not record the job's end in the index");
                Some(format!("could not record the job's end in the index: {e}"))
            }
        }
    };
    match layout::job_report(&pipeline, &job.id) {
        Ok(key) => {
            let (trouble, stored) = tokio::join!(recorded, store_report(services, &key, &report));
            let stored = match trouble {
                Some(note) => {
                    report.notes.push(note);
                    store_report(services, &key, &report).await
                }
                None => stored,
            };
            if let Err(e) = stored {
                error!(error = %e, "could not store the job report");
                report
                    .notes
                    .push(format!("could not store the job report: {e}"));
                report.locations.report = None;
            }
        }
        Err(e) => {
            report.notes.extend(recorded.await);
            report.notes.push(format!("no key for the job report: {e}"));
        }
    }
    // The job's outcome line: a log metric filter can count job outcomes per pipeline from it,
    // so it names the pipeline even when no pipeline claimed the upload.
    info!(
        pipeline = %pipeline,
        outcome = report.outcome.as_str(),
        exit_code = report.exit_code,
        files_published = end.facts.files_published,
        duration_ms = report.duration_ms,
        "job finished"
    );
    report
}

/// Stores the job's report as JSON under `key`.
async fn store_report(
    services: &super::Services,
    key: &Key,
    report: &JobReport,
) -> Result<(), crate::store::StoreError> {
    let body = serde_json::to_vec_pretty(report).unwrap_or_default();
    let opts = PutOptions {
        content_type: Some("application/json".into()),
        sha256: None,
    };
    services.reports.put_bytes(key, body, &opts).await.map(drop)
}

/// What the job history keeps of the job, from its report.
fn facts(report: &JobReport) -> JobFacts {
    JobFacts {
        uploaded_at: report.input.as_ref().and_then(|u| u.uploaded_at),
        published_at: report.published_at,
        files_published: report
            .files
            .iter()
            .filter(|f| f.published)
            .count()
            .try_into()
            .unwrap_or(u32::MAX),
        error: report.error.as_ref().map(|e| e.message.clone()),
        plots: report
            .plots
            .iter()
            .filter_map(|p| p.location.clone())
            .collect(),
    }
}
