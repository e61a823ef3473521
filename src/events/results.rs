//! Result events: after every job, its report (the `--output json` document) goes to a results
//! queue (SQS, or a folder on one machine), so other systems learn what happened without polling
//! the reports store. Delivery is best-effort: a failure is logged and noted in the report, never
//! changes the job's outcome.

use serde_json::Value;

use crate::layout;
use crate::queue::{Attribute, MAX_BODY, Message, Queue};
use crate::report::JobReport;

/// Sends the result and records a failure in the report (and the log).
pub async fn deliver(queue: &dyn Queue, report: &mut JobReport) {
    let sent = match message_of(report) {
        Ok(message) => queue.send(&message).await.map_err(|e| e.to_string()),
        Err(e) => Err(format!("the report cannot be written as JSON: {e}")),
    };
    match sent {
        Ok(id) => {
            tracing::debug!(message_id = %id, queue = %queue.location(), "result event sent")
        }
        Err(e) => {
            tracing::error!(error = %e, "could not send the result event");
            report
                .notes
                .push(format!("could not send the result event: {e}"));
        }
    }
}

/// A job's result event: the report as the body, with the outcome, pipeline, job id and exit
/// code as attributes, so subscribers can filter without parsing the body.
pub fn message_of(report: &JobReport) -> Result<Message, serde_json::Error> {
    let text = |s: &str| Attribute::String(s.to_string());
    Ok(Message {
        body: body_of(report)?,
        attributes: [
            ("outcome", text(report.outcome.as_str())),
            (
                "pipeline",
                text(report.pipeline.as_deref().unwrap_or(layout::UNROUTED)),
            ),
            ("job_id", text(&report.job_id)),
            ("exit_code", Attribute::Number(report.exit_code.to_string())),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
    })
}

/// The report as a message body. A report too large for SQS (thousands of files with long check
/// logs) loses its per-file logs first, then its file list, and says so.
pub fn body_of(report: &JobReport) -> Result<String, serde_json::Error> {
    let full = serde_json::to_string(report)?;
    if full.len() <= MAX_BODY {
        return Ok(full);
    }
    let mut doc: Value = serde_json::to_value(report)?;
    if let Some(files) = doc.get_mut("files").and_then(Value::as_array_mut) {
        for f in files.iter_mut() {
            if let Some(f) = f.as_object_mut() {
                f.remove("check_log");
                f.remove("audit");
            }
        }
    }
    doc["truncated"] =
        Value::String("check logs and audit trails removed; the stored report has them".into());
    let trimmed = serde_json::to_string(&doc)?;
    if trimmed.len() <= MAX_BODY {
        return Ok(trimmed);
    }
    let count = doc["files"].as_array().map_or(0, Vec::len);
    doc["files"] = Value::Array(Vec::new());
    doc["files_count"] = Value::from(count);
    doc["truncated"] = Value::String("the file list was removed; the stored report has it".into());
    serde_json::to_string(&doc)
}
