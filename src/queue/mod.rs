//! Queues: where each job's result event goes and where `replay` announces uploads — an SQS
//! queue in production, a folder on one machine — behind one small trait, chosen by URL.
//!
//! Every backend honours the guarantees documented on [`Queue`]; one conformance suite
//! (`tests/it/conformance/queue.rs`) proves them for each.

pub mod local;
pub mod sqs;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use crate::error::ErrorKind;
use crate::error::{BoundaryError, operations};
use crate::location::UrlError;

/// The largest message body SQS takes (256 KiB); every backend refuses a larger one.
pub const MAX_BODY: usize = 256 * 1024;

/// The most messages SQS takes in one request.
pub const BATCH: usize = 10;

/// A message attribute's value, typed as SQS types them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value")]
pub enum Attribute {
    String(String),
    /// A number, written as text.
    Number(String),
}

/// One message: a body (a JSON document) and attributes subscribers can filter on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub body: String,
    #[serde(default)]
    pub attributes: BTreeMap<String, Attribute>,
}

/// A message taken from a queue, with what `ack` needs to remove it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The id `send` returned for it.
    pub id: String,
    pub message: Message,
    /// Hands the message back to [`Queue::ack`].
    pub receipt: String,
}

/// A queue. Guarantees every backend honours:
/// - `send` delivers the whole message or fails: the body and attributes arrive as sent.
/// - `send_batch` takes any number of messages (sent in requests of at most [`BATCH`]) and
///   answers for each, in order: an id, or why that one was not sent.
/// - A body larger than [`MAX_BODY`] is refused as permanent, never cut.
/// - `receive` returns up to `max` messages, waiting at most `wait` for the first. A received
///   message is not received again until its visibility runs out (30 s on a local queue; the
///   queue's setting on SQS), and never once it is acknowledged with `ack`.
#[async_trait]
pub trait Queue: Send + Sync + std::fmt::Debug {
    /// Where messages go (a queue URL, a folder's `file://` URL).
    fn location(&self) -> String;

    /// Sends one message; returns its id.
    async fn send(&self, message: &Message) -> Result<String, QueueError>;

    /// Sends messages in as few requests as the backend allows; one answer per message.
    async fn send_batch(&self, messages: &[Message]) -> Vec<Result<String, QueueError>>;

    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<Received>, QueueError>;

    /// Removes a received message for good.
    async fn ack(&self, receipt: &str) -> Result<(), QueueError>;
}

operations! {
    /// The operation that failed, named in every queue error.
    pub enum QueueOp in "queue " {
        Open => "open",
        Send => "send to",
        Receive => "receive from",
        Ack => "ack on",
    }
}

/// A failed queue operation, naming the operation and the queue.
pub type QueueError = BoundaryError<QueueOp>;

/// Refuses a body no backend may carry, before any request.
fn check_size(location: &str, message: &Message) -> Result<(), QueueError> {
    if message.body.len() > MAX_BODY {
        return Err(QueueError::new(
            QueueOp::Send,
            location,
            ErrorKind::Permanent,
            format!(
                "the body has {} bytes; a queue takes at most {MAX_BODY}",
                message.body.len()
            ),
        ));
    }
    Ok(())
}

/// Where a queue lives, parsed once from its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueUrl {
    /// A local folder, `file:///path`: one JSON file per message.
    Local(PathBuf),
    /// An SQS queue URL (`https://sqs.<region>.amazonaws.com/<account>/<name>`).
    Sqs(String),
}

impl QueueUrl {
    pub fn parse(value: &str) -> Result<QueueUrl, UrlError> {
        let value = crate::location::non_empty(value)?;
        if value.starts_with("https://") || value.starts_with("http://") {
            return Ok(QueueUrl::Sqs(value.to_string()));
        }
        // A bare word is more likely a mistyped queue name than a folder: only file:// is local.
        if value.starts_with("file://")
            && let Some(path) = crate::location::local_path(value)
        {
            return path.map(QueueUrl::Local);
        }
        Err(UrlError::new(
            "an SQS queue URL starts with https:// (e.g. https://sqs.ap-southeast-2.amazonaws.com/123456789012/results); a local queue is a file:///folder URL",
        ))
    }

    pub fn is_sqs(&self) -> bool {
        matches!(self, QueueUrl::Sqs(_))
    }
}

impl std::fmt::Display for QueueUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QueueUrl::Local(dir) => f.write_str(&crate::location::file_url(dir)),
            QueueUrl::Sqs(url) => f.write_str(url),
        }
    }
}

/// Opens the queue a URL names: a local folder (created if missing), or an SQS queue on the
/// process's shared AWS clients. No message is sent.
pub fn open(url: &QueueUrl, aws: Option<&crate::aws::Aws>) -> Result<Box<dyn Queue>, QueueError> {
    match url {
        QueueUrl::Local(dir) => Ok(Box::new(local::LocalQueue::open(dir)?)),
        QueueUrl::Sqs(queue_url) => match aws {
            Some(aws) => Ok(Box::new(sqs::SqsQueue::new(aws.sqs.clone(), queue_url))),
            None => Err(QueueError::new(
                QueueOp::Open,
                queue_url,
                ErrorKind::Permanent,
                "an SQS queue was opened without AWS clients",
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_urls_name_sqs_or_a_folder() {
        assert_eq!(
            QueueUrl::parse("https://sqs.ap-southeast-2.amazonaws.com/1/results").unwrap(),
            QueueUrl::Sqs("https://sqs.ap-southeast-2.amazonaws.com/1/results".into())
        );
        assert_eq!(
            QueueUrl::parse("file:///var/results").unwrap(),
            QueueUrl::Local("/var/results".into())
        );
        let err = QueueUrl::parse("results").unwrap_err();
        assert!(err.reason.contains("https://"), "{err}");
        assert!(QueueUrl::parse("s3://bucket").is_err());
    }
}
