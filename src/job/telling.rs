//! Telling the right people how a job went: the recipients the outcome calls for, the message
//! composed from the draft report, delivered with a few retries. A notification that fails is
//! written down, never raised: it must not undo or fail a publication.

use tracing::error;

use super::context::Job;
use crate::notify::compose::InlinePlot;
use crate::notify::{compose, deliver, recipients};
use crate::pipeline::Pipeline;
use crate::report::{JobReport, NotificationReport, Outcome};

/// Sends the job's notification about `draft`; `None` when nobody is to be told (the notes say
/// why).
pub(super) async fn tell(
    job: &mut Job<'_>,
    draft: &JobReport,
    pipeline: Option<&Pipeline>,
    plots: &[InlinePlot],
) -> Option<NotificationReport> {
    let services = job.services;
    // A transient failure that Batch will retry is not news yet: the data team hears once, when the
    // last attempt fails too.
    if draft.outcome == Outcome::FailedTransient
        && let Some(attempt) = services.settings.attempt.filter(|a| a.will_retry())
    {
        job.note(format!(
            "attempt {} of {} failed transiently: no notification; Batch retries the job",
            attempt.current, attempt.max
        ));
        return None;
    }
    let (owners, success) = pipeline.map_or((&[][..], &[][..]), |p| {
        (&p.owners[..], &p.notify_success[..])
    });
    let ops = &services.settings.ops_email;
    let to = recipients::for_outcome(
        draft.outcome,
        job.request.uploader.as_deref(),
        owners,
        success,
        ops,
    );
    if to.is_empty() {
        job.note("no recipients for this outcome: no notification sent");
        return None;
    }
    let reply_to = recipients::reply_to(draft.outcome, owners, ops);
    let message = match compose::compose(
        draft,
        &services.settings.notify_from,
        to.clone(),
        reply_to,
        plots,
    ) {
        Ok(m) => m,
        Err(e) => {
            error!(error = %e, "composing the notification failed");
            return Some(NotificationReport {
                recipients: to,
                error: Some(e),
                ..Default::default()
            });
        }
    };
    Some(
        deliver::deliver(
            services.notifier.as_ref(),
            &message,
            deliver::RetryPolicy::within(services.settings.smtp.timeout),
        )
        .await,
    )
}
