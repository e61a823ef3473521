//! Turns a job report into the message a person reads: subject, plain text and HTML (with the
//! quick-look plots inline), and each failing file's check report attached.

use std::sync::LazyLock;

use minijinja::{Environment, context};

use super::{Attachment, Notification};
use crate::report::{JobReport, Outcome};

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    crate::html::environment(&[
        ("email.txt", include_str!("../../templates/email.txt.j2")),
        ("email.html", include_str!("../../templates/email.html.j2")),
    ])
});

/// An image shown inline in the HTML body.
#[derive(Debug, Clone)]
pub struct InlinePlot {
    /// What the plot shows (the variable's label).
    pub title: String,
    /// The file plotted.
    pub file: String,
    /// The PNG's file name.
    pub filename: String,
    pub png: Vec<u8>,
}

/// The Content-ID of the `i`-th plot, which the HTML refers to as `cid:…`.
pub fn plot_cid(i: usize) -> String {
    format!("plot{i}@ocean-ingest")
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

/// The subject's first words: what happened, readable in a list of messages.
fn verdict(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Published => "published",
        Outcome::Rejected => "rejected",
        Outcome::Duplicate => "already ingested",
        Outcome::FailedTransient => "failed, will be retried",
        Outcome::FailedInternal => "failed (internal error)",
    }
}

fn advice(outcome: Outcome) -> Option<&'static str> {
    match outcome {
        Outcome::Rejected => Some(
            "Correct the file(s) listed below and upload again. Nothing from this upload was published; \
             the upload is kept in the error store.",
        ),
        Outcome::FailedTransient => Some(
            "Nothing was published. The job is retried automatically; act only if the retries fail too.",
        ),
        Outcome::FailedInternal => Some(
            "Nothing was published. The data team must investigate; the upload is kept in the error store.",
        ),
        _ => None,
    }
}

/// The step that leaves a state: the one that failed when a job stopped there.
fn step_after(state: &str) -> &'static str {
    match state {
        "Initial" => "initialise",
        "Initialised" => "resolve",
        "Resolved" => "preprocess",
        "Preprocessed" => "check",
        "Checked" => "process",
        "Processed" => "publish",
        "Published" => "postprocess",
        "Postprocessed" => "notify",
        _ => "complete",
    }
}

fn human_duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64;
    let mut unit = "";
    for u in UNITS {
        value /= 1024.0;
        unit = u;
        if value < 1024.0 {
            break;
        }
    }
    format!("{value:.1} {unit} ({bytes} bytes)")
}

/// Composes the notification for a report. `to` must already be the right recipients: the
/// infrastructure detail of a failure is shown, which only the data team may receive.
pub fn compose(
    report: &JobReport,
    from: &str,
    to: Vec<String>,
    reply_to: Vec<String>,
    plots: &[InlinePlot],
) -> Result<Notification, String> {
    let name = report
        .input
        .as_ref()
        .map_or(report.source.as_str(), |i| i.name.as_str());
    let (headline, tone) = headline(report, name);
    let subject = format!(
        "[ocean-ingest] {}: {}{}",
        verdict(report.outcome),
        name,
        report
            .pipeline
            .as_ref()
            .map(|p| format!(" ({p})"))
            .unwrap_or_default()
    );
    // Providers read rejections: they get the check reports, never our internals.
    let for_team = matches!(
        report.outcome,
        Outcome::FailedTransient | Outcome::FailedInternal
    );
    let failed_step = report.error.as_ref().map(|e| step_after(e.state));
    let plot_refs: Vec<_> = plots
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let location = report
                .plots
                .iter()
                .find(|r| r.file == p.file)
                .and_then(|r| r.location.clone());
            context! { title => p.title.clone(), file => p.file.clone(), cid => plot_cid(i), location }
        })
        .collect();
    let ctx = context! {
        subject => subject.clone(),
        headline,
        tone,
        name,
        source => report.source.clone(),
        size => report.input.as_ref().map(|i| human_size(i.size)),
        sha256 => report.input.as_ref().map(|i| i.sha256.clone()),
        pipeline => report.pipeline.clone(),
        job_id => report.job_id.clone(),
        outcome => report.outcome.as_str(),
        states => report.states.iter().map(|s| s.state).collect::<Vec<_>>(),
        failed_step,
        duration => human_duration(report.duration_ms),
        error => report.error.clone(),
        show_detail => for_team,
        notes => if for_team { report.notes.clone() } else { Vec::new() },
        advice => advice(report.outcome),
        files => report.files.clone(),
        locations => report.locations.clone(),
        stored_plots => report.plots.clone(),
        plots => plot_refs,
    };
    let render = |t: &str| {
        TEMPLATES
            .get_template(t)
            .and_then(|t| t.render(&ctx))
            .map_err(|e| format!("the {t} template failed: {e}"))
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
            content: check_report(&f.name, &f.check_type.to_string(), &f.check_log),
            content_id: None,
        })
        .collect();
    for (i, p) in plots.iter().enumerate() {
        attachments.push(Attachment {
            filename: p.filename.clone(),
            content_type: "image/png".into(),
            content: p.png.clone(),
            content_id: Some(plot_cid(i)),
        });
    }
    Ok(Notification {
        job_id: report.job_id.clone(),
        from: from.to_string(),
        to,
        reply_to,
        subject,
        text,
        html,
        attachments,
    })
}

/// The attached check report of one failing file: what was checked and every finding.
fn check_report(name: &str, check_type: &str, log: &[String]) -> Vec<u8> {
    let mut out = format!("{name}\n{check_type} check: FAILED\n\n");
    for line in log {
        out.push_str(line);
        out.push('\n');
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Fault;
    use crate::model::Upload;
    use crate::report::{ErrorReport, Locations, StateRecord};

    fn report(outcome: Outcome, name: &str) -> JobReport {
        let at = chrono::DateTime::parse_from_rfc3339("2024-01-02T03:04:05Z")
            .unwrap()
            .to_utc();
        JobReport {
            job_id: "J1".into(),
            source: format!("file:///in/{name}"),
            pipeline: Some("anmn_nrs".into()),
            outcome,
            exit_code: 0,
            started_at: at,
            finished_at: at,
            duration_ms: 1500,
            published_at: None,
            input: Some(Upload {
                name: name.into(),
                key: name.into(),
                source: format!("file:///in/{name}"),
                size: 16384,
                sha256: "ab".repeat(32),
                version: "v".into(),
                uploaded_at: None,
                local_path: format!("/work/{name}").into(),
                not_fetched: None,
            }),
            states: ["Initial", "Initialised", "Resolved"]
                .into_iter()
                .map(|state| StateRecord {
                    state,
                    elapsed_ms: 1,
                })
                .collect(),
            files: vec![],
            error: None,
            duplicate_of: None,
            notes: vec!["the index was slow: retried".into()],
            locations: Locations::default(),
            notification: None,
            plots: vec![],
        }
    }

    fn failed(mut r: JobReport, fault: Fault) -> JobReport {
        r.error = Some(ErrorReport {
            fault,
            state: "Resolved",
            message: "the index is unavailable".into(),
            detail: "the index is unavailable: connection refused to 10.0.0.7:5432".into(),
        });
        r
    }

    fn send(r: &JobReport) -> Notification {
        compose(
            r,
            "ocean-ingest <noreply@x.org>",
            vec!["a@x.org".into()],
            vec![],
            &[],
        )
        .unwrap()
    }

    #[test]
    fn a_provider_never_sees_infrastructure_detail_or_notes() {
        let n = send(&failed(report(Outcome::Rejected, "a.nc"), Fault::Input));
        for body in [&n.text, &n.html] {
            assert!(body.contains("the index is unavailable"), "{body}");
            assert!(!body.contains("10.0.0.7"), "{body}");
            assert!(!body.contains("retried"), "{body}");
        }
        let n = send(&failed(
            report(Outcome::FailedTransient, "a.nc"),
            Fault::Transient,
        ));
        for body in [&n.text, &n.html] {
            assert!(
                body.contains("10.0.0.7"),
                "the data team gets the detail: {body}"
            );
            assert!(body.contains("the index was slow"), "{body}");
            assert!(
                body.contains("preprocess"),
                "the failed step is named: {body}"
            );
        }
        assert!(
            n.subject
                .starts_with("[ocean-ingest] failed, will be retried: a.nc")
        );
    }

    #[test]
    fn names_are_escaped_in_html_and_kept_verbatim_in_text() {
        let n = send(&report(Outcome::Published, "<b>Température</b>&ü.nc"));
        assert!(
            n.html.contains("&lt;b&gt;Température&lt;/b&gt;&amp;ü.nc"),
            "{}",
            n.html
        );
        assert!(!n.html.contains("<b>Température"));
        assert!(n.text.contains("<b>Température</b>&ü.nc"));
        assert!(n.subject.contains("<b>Température</b>&ü.nc"));
        assert!(n.text.contains("16.0 KiB (16384 bytes)"), "{}", n.text);
    }

    #[test]
    fn plots_are_inline_images_referenced_by_the_html() {
        let plot = InlinePlot {
            title: "TEMP".into(),
            file: "a.nc".into(),
            filename: "a.nc.png".into(),
            png: b"\x89PNG".to_vec(),
        };
        let n = compose(
            &report(Outcome::Published, "a.nc"),
            "x@x.org",
            vec!["a@x.org".into()],
            vec!["owner@x.org".into()],
            &[plot],
        )
        .unwrap();
        assert!(
            n.html.contains(&format!("cid:{}", plot_cid(0))),
            "{}",
            n.html
        );
        let inline = &n.attachments[0];
        assert_eq!(inline.content_id.as_deref(), Some("plot0@ocean-ingest"));
        assert_eq!(inline.content_type, "image/png");
        assert_eq!(n.reply_to, ["owner@x.org"]);
    }
}
