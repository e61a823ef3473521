//! A folder as a queue: the embedded default's results queue. Each message is one JSON file,
//! named so that a listing gives them in the order they were sent, and written under a temporary
//! name then renamed, so a reader never sees half a message. A received message moves aside
//! until it is acknowledged, or back into the queue once its visibility runs out, as on SQS.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

use super::{ErrorKind, Message, Queue, QueueError, QueueOp, Received, check_size};

/// Where a message waits while it is being written.
const PARTIAL: &str = ".partial";

/// Where received messages wait for their acknowledgement, as `<visible again at>-<id>.json`.
const RECEIVED: &str = ".received";

/// How long a received message stays hidden before it is delivered again (SQS's default).
const VISIBILITY: Duration = Duration::from_secs(30);

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

#[derive(Debug, Clone)]
pub struct LocalQueue {
    dir: PathBuf,
}

impl LocalQueue {
    /// Opens (creating if needed) a queue in `dir`.
    pub fn open(dir: &Path) -> Result<LocalQueue, QueueError> {
        let location = crate::location::file_url(dir);
        for folder in [PARTIAL, RECEIVED] {
            std::fs::create_dir_all(dir.join(folder))
                .map_err(|e| io(QueueOp::Open, &location, e))?;
        }
        Ok(LocalQueue {
            dir: dir.to_path_buf(),
        })
    }

    fn send_one(&self, message: &Message) -> Result<String, QueueError> {
        let location = self.location();
        check_size(&location, message)?;
        // Version 7 ids sort by time, so a listing is the order of sending.
        let id = uuid::Uuid::now_v7().to_string();
        let name = format!("{id}.json");
        let body = serde_json::to_vec(message).map_err(|e| {
            QueueError::new(
                QueueOp::Send,
                &location,
                ErrorKind::Permanent,
                e.to_string(),
            )
        })?;
        let partial = self.dir.join(PARTIAL).join(&name);
        std::fs::write(&partial, body)
            .and_then(|()| std::fs::rename(&partial, self.dir.join(&name)))
            .map_err(|e| io(QueueOp::Send, &location, e))?;
        Ok(id)
    }

    /// Puts back the received messages whose visibility ran out.
    fn reappear(&self) -> Result<(), QueueError> {
        let location = self.location();
        let received = self.dir.join(RECEIVED);
        let entries =
            std::fs::read_dir(&received).map_err(|e| io(QueueOp::Receive, &location, e))?;
        let now = now_ms();
        for entry in entries.flatten() {
            let receipt = entry.file_name().to_string_lossy().into_owned();
            if let Some((until, name)) = receipt.split_once('-')
                && until.parse::<u128>().is_ok_and(|until| until <= now)
            {
                match std::fs::rename(entry.path(), self.dir.join(name)) {
                    // Acknowledged meanwhile: nothing to put back.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    other => other.map_err(|e| io(QueueOp::Receive, &location, e))?,
                }
            }
        }
        Ok(())
    }

    /// The waiting messages' files, oldest first.
    fn waiting(&self) -> Result<Vec<PathBuf>, QueueError> {
        let entries =
            std::fs::read_dir(&self.dir).map_err(|e| io(QueueOp::Receive, &self.location(), e))?;
        let mut files: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        Ok(files)
    }
}

fn io(op: QueueOp, location: &str, e: std::io::Error) -> QueueError {
    QueueError::new(op, location, ErrorKind::of_io(&e), e.to_string()).with_source(e)
}

#[async_trait]
impl Queue for LocalQueue {
    fn location(&self) -> String {
        crate::location::file_url(&self.dir)
    }

    async fn send(&self, message: &Message) -> Result<String, QueueError> {
        self.send_one(message)
    }

    async fn send_batch(&self, messages: &[Message]) -> Vec<Result<String, QueueError>> {
        messages.iter().map(|m| self.send_one(m)).collect()
    }

    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<Received>, QueueError> {
        let deadline = Instant::now() + wait;
        loop {
            self.reappear()?;
            let files = self.waiting()?;
            if !files.is_empty() || Instant::now() >= deadline {
                let mut out = Vec::new();
                for path in files.into_iter().take(max) {
                    let name = path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    let receipt = format!("{}-{name}", now_ms() + VISIBILITY.as_millis());
                    let hidden = self.dir.join(RECEIVED).join(&receipt);
                    match std::fs::rename(&path, &hidden) {
                        // Another reader took it first.
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                        other => other.map_err(|e| io(QueueOp::Receive, &self.location(), e))?,
                    }
                    let text = std::fs::read(&hidden)
                        .map_err(|e| io(QueueOp::Receive, &self.location(), e))?;
                    let message: Message = serde_json::from_slice(&text).map_err(|e| {
                        QueueError::new(
                            QueueOp::Receive,
                            self.location(),
                            ErrorKind::Permanent,
                            format!("{}: not a message ({e})", path.display()),
                        )
                    })?;
                    out.push(Received {
                        id: name.trim_end_matches(".json").to_string(),
                        message,
                        receipt,
                    });
                }
                return Ok(out);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn ack(&self, receipt: &str) -> Result<(), QueueError> {
        // A receipt is a file name this queue gave out; anything else names no message.
        if receipt.contains(['/', '\\']) || !receipt.ends_with(".json") {
            return Err(QueueError::new(
                QueueOp::Ack,
                self.location(),
                ErrorKind::Permanent,
                format!("{receipt:?} is not a receipt of this queue"),
            ));
        }
        match std::fs::remove_file(self.dir.join(RECEIVED).join(receipt)) {
            Ok(()) => Ok(()),
            // Acknowledging twice is harmless, as it is on SQS.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(QueueOp::Ack, &self.location(), e)),
        }
    }
}
