//! One job: the state machine that takes one upload from the incoming store to published (or to
//! the error store), and the services it runs against.
//!
//! `states` holds the states and the driver; each step the states take lives in its own module:
//! `intake` (fetch, route, claim, guard), `checking` (the check step, the only maker of checked
//! files), `telling` (the notification) and `finish` (the error store, the incoming store, the
//! ledger and the stored report). Every log line of a job is inside its `job` span.

mod ahead;
mod checking;
mod context;
mod dashboard;
mod finish;
mod intake;
mod lease;
mod recovery;
mod services;
mod states;
mod telling;

pub use crate::report::{JobReport, Outcome};
pub use services::Services;

use tracing::Instrument;

use crate::source::Source;

/// What to ingest, and how.
#[derive(Debug, Clone)]
pub struct JobRequest {
    pub source: Source,
    /// Use this pipeline instead of routing by key.
    pub pipeline: Option<String>,
    /// The uploader's address, told about their upload where known.
    pub uploader: Option<String>,
}

/// Runs one job to completion, then sends its result event where one is configured. Never panics
/// on bad input and always returns a report; the exit code is in `report.exit_code`.
///
/// Everything the job does runs inside one `job` span carrying its `job_id`, `pipeline` (once
/// routed) and `key`, so every line any boundary logs for it says which job it belongs to.
pub async fn run(services: &Services, request: JobRequest) -> JobReport {
    let id = uuid::Uuid::now_v7().to_string();
    let key = match &request.source {
        Source::Incoming(key) => key.to_string(),
        Source::LocalFile(_) => request.source.name().to_string(),
    };
    let span = tracing::info_span!(
        "job",
        job_id = %id,
        pipeline = tracing::field::Empty,
        key = %key
    );
    async {
        let mut job = context::Job::start(services, request, id);
        // The job stops taking steps at its deadline and rolls back; should a step still not end
        // (every call is bounded, so it should), the job is abandoned a little later, before
        // Batch's own timeout: whatever it left, its journal lets the next run finish or undo.
        let settings = &services.settings;
        let grace = settings.timeouts.call() * 4 + settings.smtp.timeout;
        let abandon_at = job.deadline.at() + grace;
        let mut report = match tokio::time::timeout_at(abandon_at, states::drive(&mut job)).await {
            Ok(report) => report,
            Err(_) => {
                let error = crate::error::JobError {
                    fault: crate::error::Fault::Transient,
                    message: format!(
                        "{}, and the job did not end within {} s after it: abandoned; the next run finishes or undoes what it left",
                        job.deadline.message("while the job ran"),
                        grace.as_secs()
                    ),
                    source: None,
                };
                tracing::error!(error = %error.message, "job abandoned at its deadline");
                let at = job.last_state();
                job.report(
                    Outcome::FailedTransient,
                    context::Known {
                        error: Some((&error, at)),
                        ..Default::default()
                    },
                )
            }
        };
        if let Some(queue) = &services.results {
            crate::events::results::deliver(queue.as_ref(), &mut report).await;
        }
        report
    }
    .instrument(span)
    .await
}
