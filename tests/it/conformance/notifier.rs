//! The Notifier conformance suite: what a message carries arrives whole (headers, both bodies,
//! attachments, inline images, non-ASCII text), `send` says where it went, and a message that
//! cannot be written is refused as permanent without anything being sent. Checked against the
//! outbox and against a real SMTP server (the test script's sink), each read back from where the
//! messages land.

use std::path::PathBuf;

use mail_parser::{MessageParser, MimeHeaders};
use ocean_ingest::notify::{
    Attachment, ErrorKind, Notification, Notifier, NotifyUrl, SmtpSettings, outbox::Outbox,
};

use super::{Guarantee, check_all, guarantees};
use crate::common::server;

/// A notifier and a way to read what it delivered.
pub struct Delivery {
    pub notifier: Box<dyn Notifier>,
    /// Where delivered messages land: an outbox folder, or the SMTP sink's folder.
    pub landed: PathBuf,
}

impl Delivery {
    /// The raw messages delivered for a job (their Message-ID carries the job id).
    fn delivered(&self, job_id: &str) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.landed)
            .into_iter()
            .flatten()
            .flatten()
        {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "eml") {
                continue;
            }
            let raw = std::fs::read(&path).unwrap();
            let id = MessageParser::default()
                .parse(&raw)
                .and_then(|m| m.message_id().map(str::to_string));
            if id.as_deref() == Some(&format!("{job_id}@ocean-ingest")) {
                out.push(raw);
            }
        }
        out
    }
}

/// Every guarantee of [`Notifier`], by name.
pub const GUARANTEES: &[(&str, Guarantee<Delivery>)] = guarantees![
    a_message_arrives_whole,
    sending_says_where_the_message_went,
    a_message_that_cannot_be_written_is_refused_and_not_sent,
];

/// Runs every guarantee against one notifier.
pub async fn check_notifier(delivery: &Delivery) {
    check_all(delivery, GUARANTEES).await;
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\nnot really a picture";

fn message() -> Notification {
    Notification {
        job_id: uuid::Uuid::now_v7().to_string(),
        from: "ocean-ingest <noreply@example.org>".into(),
        to: vec!["provider@example.com".into(), "owner@example.org".into()],
        reply_to: vec!["owner@example.org".into()],
        subject: "published: température à l’Île Maria — ü".into(),
        text: "Your file was published.\nTempérature: ok\n".into(),
        html: "<p>Your file was <b>published</b>: température</p><img src=\"cid:plot0\">".into(),
        attachments: vec![
            Attachment {
                filename: "check report.txt".into(),
                content_type: "text/plain".into(),
                content: "line one\nligne deux é\n".as_bytes().to_vec(),
                content_id: None,
            },
            Attachment {
                filename: "plot.png".into(),
                content_type: "image/png".into(),
                content: PNG.to_vec(),
                content_id: Some("plot0".into()),
            },
        ],
    }
}

/// The sender, recipients, reply-to, subject, both bodies, the attachment and the inline image
/// arrive as sent, non-ASCII text intact.
pub async fn a_message_arrives_whole(d: &Delivery) {
    let sent = message();
    d.notifier.send(&sent).await.unwrap();
    let delivered = d.delivered(&sent.job_id);
    assert_eq!(delivered.len(), 1, "delivered once");
    let m = MessageParser::default().parse(&delivered[0]).unwrap();
    assert_eq!(m.subject(), Some(sent.subject.as_str()));
    let addresses = |list: Option<&mail_parser::Address<'_>>| -> Vec<String> {
        list.map(|a| {
            a.iter()
                .filter_map(|x| x.address().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
    };
    assert_eq!(addresses(m.from()), ["noreply@example.org"]);
    assert_eq!(addresses(m.to()), sent.to);
    assert_eq!(addresses(m.reply_to()), sent.reply_to);
    // Mail carries lines ended by CRLF.
    assert_eq!(
        m.body_text(0)
            .map(|t| t.replace("\r\n", "\n").trim_end().to_string()),
        Some(sent.text.trim_end().to_string())
    );
    assert!(
        m.body_html(0).unwrap().contains("température"),
        "{:?}",
        m.body_html(0)
    );
    let report = m
        .attachments()
        .find(|a| a.attachment_name() == Some("check report.txt"))
        .expect("the attachment");
    assert_eq!(report.contents(), sent.attachments[0].content.as_slice());
    let plot = m
        .parts
        .iter()
        .find(|p| p.content_id() == Some("plot0"))
        .expect("the inline image, by its content id");
    assert_eq!(plot.contents(), PNG);
}

/// `send` answers where the message went, within the notifier's location, which carries no
/// credentials.
pub async fn sending_says_where_the_message_went(d: &Delivery) {
    let sent = message();
    let destination = d.notifier.send(&sent).await.unwrap();
    let location = d.notifier.location();
    assert!(
        destination.starts_with(&location),
        "{destination} is within {location}"
    );
    assert!(!location.contains('@'), "no credentials in {location}");
}

/// A message whose sender cannot be written is refused as permanent (a retry cannot help) and
/// nothing is delivered.
pub async fn a_message_that_cannot_be_written_is_refused_and_not_sent(d: &Delivery) {
    let bad = Notification {
        from: "not an address".into(),
        ..message()
    };
    let err = d.notifier.send(&bad).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Permanent, "{err}");
    assert!(err.to_string().contains(&d.notifier.location()), "{err}");
    assert!(d.delivered(&bad.job_id).is_empty());
}

#[tokio::test]
async fn the_outbox_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox");
    check_notifier(&Delivery {
        notifier: Box::new(Outbox::open(&outbox).unwrap()),
        landed: outbox,
    })
    .await;
}

#[tokio::test]
async fn smtp_conforms() {
    let (Some(url), Some(landed)) = (
        server("INGEST_TEST_SMTP_URL"),
        server("INGEST_TEST_SMTP_DIR"),
    ) else {
        return;
    };
    let (url, _) = NotifyUrl::parse(&url).unwrap();
    let smtp = SmtpSettings {
        username: None,
        password: None,
        timeout: std::time::Duration::from_secs(10),
    };
    check_notifier(&Delivery {
        notifier: ocean_ingest::notify::open(&url, &smtp).await.unwrap(),
        landed: landed.into(),
    })
    .await;
}
