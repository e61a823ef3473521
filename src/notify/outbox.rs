//! A folder as the notifier: each message becomes `<job_id>.eml` (exactly what SMTP would carry)
//! and `<job_id>.json` (recipients and subject, for scripts and tests).

use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::{ErrorKind, Notification, Notifier, NotifyError, NotifyOp, to_message};

#[derive(Debug, Clone)]
pub struct Outbox {
    dir: PathBuf,
}

impl Outbox {
    pub fn open(dir: &Path) -> Result<Outbox, NotifyError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            NotifyError::new(
                NotifyOp::Open,
                dir.display().to_string(),
                ErrorKind::Permanent,
                format!("cannot create the outbox folder: {e}"),
            )
        })?;
        Ok(Outbox {
            dir: dir.to_path_buf(),
        })
    }

    fn error(&self, message: impl Into<String>) -> NotifyError {
        NotifyError::new(
            NotifyOp::Send,
            self.location(),
            ErrorKind::Permanent,
            message,
        )
    }
}

#[async_trait]
impl Notifier for Outbox {
    fn location(&self) -> String {
        crate::location::file_url(&self.dir)
    }

    async fn send(&self, n: &Notification) -> Result<String, NotifyError> {
        let message = to_message(n).map_err(|e| self.error(e))?;
        let eml = self.dir.join(format!("{}.eml", n.job_id));
        let meta = self.dir.join(format!("{}.json", n.job_id));
        let summary = serde_json::json!({
            "job_id": n.job_id,
            "from": n.from,
            "to": n.to,
            "reply_to": n.reply_to,
            "subject": n.subject,
            "attachments": n.attachments.iter().map(|a| serde_json::json!({
                "filename": a.filename, "content_type": a.content_type, "inline": a.content_id.is_some(), "size": a.content.len()
            })).collect::<Vec<_>>(),
        });
        // Write to temporary names and rename, so a reader never sees half a message.
        for (path, bytes) in [
            (&eml, message.formatted()),
            (
                &meta,
                serde_json::to_vec_pretty(&summary).unwrap_or_default(),
            ),
        ] {
            let tmp = path.with_extension("partial");
            std::fs::write(&tmp, bytes)
                .and_then(|_| std::fs::rename(&tmp, path))
                .map_err(|e| {
                    NotifyError::new(
                        NotifyOp::Send,
                        self.location(),
                        ErrorKind::of_io(&e),
                        format!("{}: {e}", path.display()),
                    )
                    .with_source(e)
                })?;
        }
        Ok(crate::location::file_url(&eml))
    }
}
