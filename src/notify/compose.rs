//! Turns a job report into the message a person reads: subject, plain text and HTML, with each
//! failing file's check report attached.

use std::sync::LazyLock;

use minijinja::{Environment, context};

use super::{Attachment, Notification};
use crate::job::{JobReport, Outcome};

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.add_template("email.txt", include_str!("../../templates/email.txt.j2"))
        .expect("text template is valid");
    env.add_template("email.html", include_str!("../../templates/email.html.j2"))
        .expect("html template is valid");
    // HTML is escaped by file extension; the text template must not be.
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            minijinja::AutoEscape::Html
        } else {
            minijinja::AutoEscape::None
        }
    });
    env
});

/// An image shown inline in the HTML body.
#[derive(Debug, Clone)]
pub struct InlinePlot {
    pub title: String,
    pub filename: String,
    pub png: Vec<u8>,
}

fn headline(report: &JobReport, name: &str) -> (String, &'static str) {
    match report.outcome {
        Outcome::Published => {
            let n = report.files.iter().filter(|f| f.published).count();
            (
                format!(
                    "{name} was published ({n} file{})",
                    if n == 1 { "" } else { "s" }
                ),
                "ok",
            )
        }
        Outcome::Rejected => (format!("{name} was rejected"), "bad"),
        Outcome::Duplicate => (format!("{name} was already ingested"), "ok"),
        Outcome::FailedTransient => (
            format!("{name} could not be processed yet; it will be retried"),
            "warn",
        ),
        Outcome::FailedInternal => (
            format!("{name} could not be processed (internal error)"),
            "bad",
        ),
    }
}

fn advice(outcome: Outcome) -> Option<&'static str> {
    match outcome {
        Outcome::Rejected => Some(
            "Correct the file(s) listed below and upload again. Nothing from this upload was published; \
             the upload is kept in the error store.",
        ),
        Outcome::FailedTransient => {
            Some("No action is needed from the provider: the job is retried automatically.")
        }
        Outcome::FailedInternal => {
            Some("The data team must investigate; the upload is kept in the error store.")
        }
        _ => None,
    }
}

fn human_duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

/// Composes the notification for a report. `to` must already be the right recipients.
pub fn compose(
    report: &JobReport,
    from: &str,
    to: Vec<String>,
    plots: &[InlinePlot],
) -> Result<Notification, String> {
    let name = report
        .input
        .as_ref()
        .map_or(report.source.as_str(), |i| i.name.as_str());
    let (headline, tone) = headline(report, name);
    let subject = format!(
        "[ocean-ingest] {} {}{}",
        report.outcome.as_str().replace('_', " "),
        name,
        report
            .pipeline
            .as_ref()
            .map(|p| format!(" ({p})"))
            .unwrap_or_default()
    );
    let show_detail = !matches!(report.outcome, Outcome::Rejected);
    let plot_refs: Vec<_> = plots
        .iter()
        .enumerate()
        .map(|(i, p)| context! { title => p.title.clone(), cid => format!("plot{i}@ocean-ingest") })
        .collect();
    let ctx = context! {
        subject => subject.clone(),
        headline,
        tone,
        source => report.source.clone(),
        input => report.input.clone(),
        pipeline => report.pipeline.clone(),
        job_id => report.job_id.clone(),
        outcome => report.outcome.as_str(),
        last_state => report.last_state(),
        duration => human_duration(report.duration_ms),
        error => report.error.clone(),
        show_detail,
        advice => advice(report.outcome),
        files => report.files.clone(),
        locations => report.locations.clone(),
        plots => plot_refs,
    };
    let render = |t: &str| {
        TEMPLATES
            .get_template(t)
            .and_then(|t| t.render(&ctx))
            .map_err(|e| e.to_string())
    };
    let text = render("email.txt")?;
    let html = render("email.html")?;
    let mut attachments: Vec<Attachment> = report
        .files
        .iter()
        .filter(|f| f.check_passed == Some(false))
        .map(|f| Attachment {
            filename: format!("{}.check.txt", f.name),
            content_type: "text/plain; charset=utf-8".into(),
            content: f.check_log.join("\n").into_bytes(),
            content_id: None,
        })
        .collect();
    for (i, p) in plots.iter().enumerate() {
        attachments.push(Attachment {
            filename: p.filename.clone(),
            content_type: "image/png".into(),
            content: p.png.clone(),
            content_id: Some(format!("plot{i}@ocean-ingest")),
        });
    }
    Ok(Notification {
        job_id: report.job_id.clone(),
        from: from.to_string(),
        to,
        subject,
        text,
        html,
        attachments,
    })
}
