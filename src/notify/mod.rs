//! Notifications to providers and the data team: who is told what, the message itself, and the
//! notifier backends (a local outbox; SMTP), chosen by URL.

pub mod compose;
pub mod deliver;
pub mod outbox;
pub mod recipients;
pub mod smtp;

use std::path::PathBuf;

use async_trait::async_trait;

pub use crate::error::ErrorKind;
use crate::error::{BoundaryError, operations};
use crate::location::UrlError;
pub use smtp::{SmtpEndpoint, UrlCredentials};

/// A file attached to a message, or shown inline in its HTML body when `content_id` is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: String,
    pub content_type: String,
    pub content: Vec<u8>,
    pub content_id: Option<String>,
}

/// A message ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub job_id: String,
    pub from: String,
    pub to: Vec<String>,
    /// Where replies go (the pipeline's owners, so a provider's answer reaches the data team).
    pub reply_to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub attachments: Vec<Attachment>,
}

/// Sends notifications. `send` either delivers the whole message or fails; it never sends part.
#[async_trait]
pub trait Notifier: Send + Sync + std::fmt::Debug {
    /// Where messages go (outbox folder or server, without credentials).
    fn location(&self) -> String;

    /// Sends one message; returns where it went (a file, a server's reply).
    async fn send(&self, message: &Notification) -> Result<String, NotifyError>;
}

operations! {
    /// The operation that failed, named in every notifier error.
    pub enum NotifyOp in "notify " {
        /// Opening the notifier (an outbox folder, an SMTP transport).
        Open => "open at",
        /// Sending one message.
        Send => "via",
    }
}

/// A failed delivery, or a notifier that cannot be opened.
pub type NotifyError = BoundaryError<NotifyOp>;

/// How to reach an SMTP server beyond its URL: credentials and time limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    pub username: Option<String>,
    pub password: Option<crate::secret::Secret>,
    /// The limit on one whole delivery: connecting, sending and any retries.
    pub timeout: std::time::Duration,
}

/// Where notifications go, parsed once from the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyUrl {
    /// An outbox folder (a path or `file://` URL).
    Outbox(PathBuf),
    /// An SMTP server, `smtp://` or `smtps://`.
    Smtp(SmtpEndpoint),
}

impl NotifyUrl {
    /// Refuses SMTP credentials the server's URL cannot carry safely (over `tls=none`), or a
    /// password without a user; an outbox needs none.
    pub fn check_credentials(&self, smtp: &SmtpSettings) -> Result<(), UrlError> {
        match self {
            NotifyUrl::Outbox(_) => Ok(()),
            NotifyUrl::Smtp(endpoint) => endpoint.check_credentials(smtp),
        }
    }

    /// Parses a notifier URL without I/O. The credentials of an `smtp://user:password@host` URL
    /// are returned apart: the URL that is kept, logged and reported never carries them.
    pub fn parse(value: &str) -> Result<(NotifyUrl, Option<UrlCredentials>), UrlError> {
        let value = crate::location::non_empty(value)?;
        if value.starts_with("smtp://") || value.starts_with("smtps://") {
            let (endpoint, credentials) = SmtpEndpoint::parse_with_credentials(value)?;
            return Ok((NotifyUrl::Smtp(endpoint), credentials));
        }
        match crate::location::local_path(value) {
            Some(path) => Ok((NotifyUrl::Outbox(path?), None)),
            None => Err(UrlError::new(
                "notifications go to a directory (outbox) or an smtp:// / smtps:// server",
            )),
        }
    }
}

impl std::fmt::Display for NotifyUrl {
    /// The URL without credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotifyUrl::Outbox(dir) => write!(f, "{}", dir.display()),
            NotifyUrl::Smtp(endpoint) => f.write_str(&endpoint.location()),
        }
    }
}

/// Opens the notifier a URL names. No I/O beyond creating an outbox folder: an SMTP server that is
/// down is found out when a message is sent, and must not stop a job from starting.
pub async fn open(url: &NotifyUrl, smtp: &SmtpSettings) -> Result<Box<dyn Notifier>, NotifyError> {
    match url {
        NotifyUrl::Outbox(dir) => Ok(Box::new(outbox::Outbox::open(dir)?)),
        NotifyUrl::Smtp(endpoint) => Ok(Box::new(smtp::SmtpNotifier::new(endpoint.clone(), smtp)?)),
    }
}

/// Builds the RFC 5322 message (multipart: text, HTML with inline images, attachments).
fn to_message(n: &Notification) -> Result<lettre::Message, String> {
    use lettre::message::{Attachment as Part, MultiPart, SinglePart, header::ContentType};
    let mut builder = lettre::Message::builder()
        .from(
            n.from
                .parse()
                .map_err(|e| format!("sender {:?}: {e}", n.from))?,
        )
        .subject(n.subject.clone())
        .message_id(Some(format!("<{}@ocean-ingest>", n.job_id)));
    for to in &n.to {
        builder = builder.to(to.parse().map_err(|e| format!("recipient {to:?}: {e}"))?);
    }
    for r in &n.reply_to {
        builder = builder.reply_to(r.parse().map_err(|e| format!("reply-to {r:?}: {e}"))?);
    }
    let content_type =
        |ct: &str| ContentType::parse(ct).map_err(|e| format!("content type {ct:?}: {e}"));
    let alternative = MultiPart::alternative().singlepart(SinglePart::plain(n.text.clone()));
    let inline: Vec<&Attachment> = n
        .attachments
        .iter()
        .filter(|a| a.content_id.is_some())
        .collect();
    let alternative = if inline.is_empty() {
        alternative.singlepart(SinglePart::html(n.html.clone()))
    } else {
        let mut related = MultiPart::related().singlepart(SinglePart::html(n.html.clone()));
        for a in inline {
            let cid = a.content_id.clone().unwrap_or_default();
            related = related.singlepart(
                Part::new_inline_with_name(cid, a.filename.clone())
                    .body(a.content.clone(), content_type(&a.content_type)?),
            );
        }
        alternative.multipart(related)
    };
    let mut mixed = MultiPart::mixed().multipart(alternative);
    for a in n.attachments.iter().filter(|a| a.content_id.is_none()) {
        mixed = mixed.singlepart(
            Part::new(a.filename.clone()).body(a.content.clone(), content_type(&a.content_type)?),
        );
    }
    builder.multipart(mixed).map_err(|e| e.to_string())
}
