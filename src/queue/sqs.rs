//! An SQS queue: the production results queue, and the pipelines' event queues `replay` sends to.
//! Errors go through the one AWS classifier shared with S3.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};

use super::{
    Attribute, BATCH, ErrorKind, Message, Queue, QueueError, QueueOp, Received, check_size,
};
use crate::aws::errors::{Service, describe};

/// A queue on SQS, by its URL.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: Client,
    url: String,
}

impl SqsQueue {
    /// A queue on the process's shared SQS client. No request is made.
    pub fn new(client: Client, url: &str) -> SqsQueue {
        SqsQueue {
            client,
            url: url.to_string(),
        }
    }

    fn error(&self, op: QueueOp, kind: ErrorKind, message: impl Into<String>) -> QueueError {
        QueueError::new(op, &self.url, kind, message)
    }

    fn sdk_error<E>(
        &self,
        op: QueueOp,
        err: aws_sdk_sqs::error::SdkError<E, aws_sdk_sqs::config::http::HttpResponse>,
    ) -> QueueError
    where
        E: aws_sdk_sqs::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let (kind, message) = describe(Service::Sqs, &err);
        self.error(op, kind, message).with_source(err)
    }

    fn attributes(
        &self,
        message: &Message,
    ) -> Result<std::collections::HashMap<String, MessageAttributeValue>, QueueError> {
        message
            .attributes
            .iter()
            .map(|(name, value)| {
                let (kind, text) = match value {
                    Attribute::String(s) => ("String", s),
                    Attribute::Number(n) => ("Number", n),
                };
                MessageAttributeValue::builder()
                    .data_type(kind)
                    .string_value(text)
                    .build()
                    .map(|v| (name.clone(), v))
                    .map_err(|e| self.error(QueueOp::Send, ErrorKind::Permanent, e.to_string()))
            })
            .collect()
    }

    /// Sends up to [`BATCH`] messages in one request.
    async fn send_chunk(&self, chunk: &[Message]) -> Vec<Result<String, QueueError>> {
        let mut answers: Vec<Option<Result<String, QueueError>>> = Vec::new();
        let mut entries = Vec::new();
        for (i, message) in chunk.iter().enumerate() {
            let entry = check_size(&self.url, message)
                .and_then(|()| self.attributes(message))
                .and_then(|attributes| {
                    SendMessageBatchRequestEntry::builder()
                        .id(format!("m{i}"))
                        .message_body(&message.body)
                        .set_message_attributes(Some(attributes).filter(|a| !a.is_empty()))
                        .build()
                        .map_err(|e| self.error(QueueOp::Send, ErrorKind::Permanent, e.to_string()))
                });
            match entry {
                Ok(entry) => {
                    entries.push(entry);
                    answers.push(None);
                }
                Err(e) => answers.push(Some(Err(e))),
            }
        }
        if entries.is_empty() {
            return answers.into_iter().flatten().collect();
        }
        let sent = self
            .client
            .send_message_batch()
            .queue_url(&self.url)
            .set_entries(Some(entries))
            .send()
            .await;
        let index = |id: &str| id.trim_start_matches('m').parse::<usize>().ok();
        match sent {
            Ok(out) => {
                for ok in out.successful {
                    if let Some(slot) = index(&ok.id).and_then(|i| answers.get_mut(i)) {
                        *slot = Some(Ok(ok.message_id));
                    }
                }
                for failed in out.failed {
                    let kind = if failed.sender_fault {
                        ErrorKind::Permanent
                    } else {
                        ErrorKind::Transient
                    };
                    let text = format!(
                        "{} {}",
                        failed.code,
                        failed.message.as_deref().unwrap_or_default()
                    );
                    if let Some(slot) = index(&failed.id).and_then(|i| answers.get_mut(i)) {
                        *slot = Some(Err(self.error(QueueOp::Send, kind, text.trim_end())));
                    }
                }
            }
            Err(e) => {
                let err = self.sdk_error(QueueOp::Send, e);
                for slot in answers.iter_mut().filter(|a| a.is_none()) {
                    *slot = Some(Err(self.error(err.op, err.kind, err.message.clone())));
                }
            }
        }
        answers
            .into_iter()
            .map(|a| {
                a.unwrap_or_else(|| {
                    Err(self.error(
                        QueueOp::Send,
                        ErrorKind::Transient,
                        "SQS answered neither success nor failure for this message",
                    ))
                })
            })
            .collect()
    }
}

#[async_trait]
impl Queue for SqsQueue {
    fn location(&self) -> String {
        self.url.clone()
    }

    async fn send(&self, message: &Message) -> Result<String, QueueError> {
        check_size(&self.url, message)?;
        let out = self
            .client
            .send_message()
            .queue_url(&self.url)
            .message_body(&message.body)
            .set_message_attributes(Some(self.attributes(message)?).filter(|a| !a.is_empty()))
            .send()
            .await
            .map_err(|e| self.sdk_error(QueueOp::Send, e))?;
        Ok(out.message_id.unwrap_or_default())
    }

    async fn send_batch(&self, messages: &[Message]) -> Vec<Result<String, QueueError>> {
        let mut out = Vec::with_capacity(messages.len());
        for chunk in messages.chunks(BATCH) {
            out.extend(self.send_chunk(chunk).await);
        }
        out
    }

    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<Received>, QueueError> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(max.clamp(1, BATCH) as i32)
            .wait_time_seconds(wait.as_secs().min(20) as i32)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| self.sdk_error(QueueOp::Receive, e))?;
        Ok(out
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(|m| {
                let attributes: BTreeMap<String, Attribute> = m
                    .message_attributes
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|(name, value)| {
                        let text = value.string_value?;
                        let attribute = match value.data_type.as_str() {
                            t if t.starts_with("Number") => Attribute::Number(text),
                            _ => Attribute::String(text),
                        };
                        Some((name, attribute))
                    })
                    .collect();
                Received {
                    id: m.message_id.unwrap_or_default(),
                    message: Message {
                        body: m.body.unwrap_or_default(),
                        attributes,
                    },
                    receipt: m.receipt_handle.unwrap_or_default(),
                }
            })
            .collect())
    }

    async fn ack(&self, receipt: &str) -> Result<(), QueueError> {
        self.client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|e| self.sdk_error(QueueOp::Ack, e))?;
        Ok(())
    }
}
