//! Result events: after every job, its report (the `--output json` document) goes to a results
//! queue, so other systems learn what happened without polling the reports store. Delivery is
//! best-effort: a failure is logged and noted in the report, never changes the job's outcome.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_sqs::types::MessageAttributeValue;
use serde_json::Value;

use crate::job::JobReport;
use crate::layout;
use crate::settings::Settings;

/// SQS refuses message bodies above 256 KiB.
const MAX_BODY: usize = 256 * 1024;

/// Where result events go.
#[async_trait]
pub trait ResultSink: Send + Sync + std::fmt::Debug {
    /// Where events go (a queue URL).
    fn location(&self) -> String;

    /// Sends one job's result; returns the message id.
    async fn publish(&self, report: &JobReport) -> Result<String, ResultError>;
}

/// A result event that could not be sent.
#[derive(Debug, thiserror::Error)]
#[error("result event to {location}: {message}")]
pub struct ResultError {
    pub location: String,
    pub message: String,
}

/// The results sink the settings name, if any.
pub fn open(settings: &Settings, aws: Option<&crate::aws::Aws>) -> Option<Arc<dyn ResultSink>> {
    let queue = settings.results_queue.as_ref()?;
    let aws = aws?;
    Some(Arc::new(SqsResults {
        client: aws.sqs.clone(),
        queue_url: queue.clone(),
    }))
}

/// Sends the result and records a failure in the report (and the log).
pub async fn deliver(sink: &dyn ResultSink, report: &mut JobReport) {
    match sink.publish(report).await {
        Ok(id) => {
            tracing::debug!(job_id = %report.job_id, message_id = %id, queue = %sink.location(), "result event sent")
        }
        Err(e) => {
            tracing::error!(job_id = %report.job_id, error = %e, "could not send the result event");
            report
                .notes
                .push(format!("could not send the result event: {e}"));
        }
    }
}

/// Result events on an SQS queue, with the outcome and pipeline as message attributes so
/// subscribers can filter without parsing the body.
#[derive(Debug, Clone)]
pub struct SqsResults {
    pub client: aws_sdk_sqs::Client,
    pub queue_url: String,
}

#[async_trait]
impl ResultSink for SqsResults {
    fn location(&self) -> String {
        self.queue_url.clone()
    }

    async fn publish(&self, report: &JobReport) -> Result<String, ResultError> {
        let fail = |message: String| ResultError {
            location: self.queue_url.clone(),
            message,
        };
        let body = body_of(report).map_err(|e| fail(e.to_string()))?;
        let attribute = |kind: &str, value: String| {
            MessageAttributeValue::builder()
                .data_type(kind)
                .string_value(value)
                .build()
                .map_err(|e| fail(e.to_string()))
        };
        let out = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .message_attributes(
                "outcome",
                attribute("String", report.outcome.as_str().into())?,
            )
            .message_attributes(
                "pipeline",
                attribute(
                    "String",
                    report
                        .pipeline
                        .clone()
                        .unwrap_or_else(|| layout::UNROUTED.into()),
                )?,
            )
            .message_attributes("job_id", attribute("String", report.job_id.clone())?)
            .message_attributes(
                "exit_code",
                attribute("Number", report.exit_code.to_string())?,
            )
            .send()
            .await
            .map_err(|e| fail(aws_sdk_sqs::error::DisplayErrorContext(&e).to_string()))?;
        Ok(out.message_id.unwrap_or_default())
    }
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
