//! The job's lease: a heartbeat that keeps the job's work folder and, once it has one, its claim
//! on the upload alive, and the proof, asked for before every write, that the claim still holds.
//!
//! A claim is held for the lease length from its last renewal and renewed every quarter of it,
//! so a job that dies loses it within one lease (two minutes by default) and the next run of the
//! upload takes over. A renewal the ledger refuses (the lease lapsed, another job took over)
//! loses the claim for good. A job that cannot prove its claim for one more call with its
//! retries (a renewal not answered in time) makes no further write: no other job can take the
//! upload over while one of its writes is on the way.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use crate::deadline::Deadline;
use crate::error::{Fault, JobError};
use crate::index::{Claim, Index};

/// The name of the file in a work folder that says until when its job holds it.
pub const FOLDER_LEASE: &str = "lease";

/// A handle on the job's lease, shared with the heartbeat.
#[derive(Clone)]
pub(super) struct Lease(Arc<Shared>);

struct Shared {
    length: Duration,
    margin: Duration,
    /// The work folder whose lease file each beat rewrites; `None` once the job let it go, so a
    /// beat never writes into a folder being removed.
    folder: Mutex<Option<PathBuf>>,
    /// The ledger row the job claimed, once it has.
    claim: Mutex<Option<Claim>>,
    /// Until when the claim holds for certain (its last renewal's start plus the lease length).
    valid_until: Mutex<Instant>,
    lost: AtomicBool,
}

/// Renews the lease until dropped.
pub(super) struct Heartbeat {
    lease: Lease,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Heartbeat {
    /// Starts renewing the lease on `folder` (and later the claim) every quarter lease.
    pub fn start(
        index: Arc<dyn Index>,
        folder: &Path,
        length: Duration,
        margin: Duration,
    ) -> Heartbeat {
        let lease = Lease(Arc::new(Shared {
            length,
            margin,
            folder: Mutex::new(Some(folder.to_path_buf())),
            claim: Mutex::new(None),
            valid_until: Mutex::new(Instant::now()),
            lost: AtomicBool::new(false),
        }));
        write_folder_lease(folder, Utc::now() + length);
        let shared = lease.0.clone();
        let task = tokio::spawn(async move {
            let every = (length / 4).max(Duration::from_millis(100));
            loop {
                tokio::time::sleep(every).await;
                renew(&shared, index.as_ref()).await;
            }
        });
        Heartbeat { lease, task }
    }

    pub fn lease(&self) -> Lease {
        self.lease.clone()
    }

    /// Stops writing the folder's lease file, for the folder to be removed while the claim is
    /// still renewed; a write under way finishes first.
    pub fn release_folder(&self) {
        *self
            .lease
            .0
            .folder
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = None;
    }
}

async fn renew(shared: &Shared, index: &dyn Index) {
    let now = Utc::now();
    {
        let folder = shared.folder.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(folder) = folder.as_deref() {
            write_folder_lease(folder, now + shared.length);
        }
    }
    let claim = shared
        .claim
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let Some(mut claim) = claim else { return };
    if shared.lost.load(Ordering::SeqCst) {
        return;
    }
    let started = Instant::now();
    claim.now = now;
    claim.lease_until = now + chrono::Duration::from_std(shared.length).unwrap_or_default();
    match index.renew(&claim).await {
        Ok(true) => {
            *shared.valid_until.lock().unwrap_or_else(|p| p.into_inner()) = started + shared.length
        }
        Ok(false) => {
            tracing::error!(
                "the claim on the upload lapsed or was taken over: the job stops before writing more"
            );
            shared.lost.store(true, Ordering::SeqCst);
        }
        Err(e) => {
            tracing::warn!(error = %e, "renewing the claim failed; trying again at the next beat")
        }
    }
}

/// Writes until when the folder's job holds it, and which process it is (read by
/// [`folder_owner_gone`]).
fn write_folder_lease(folder: &Path, until: DateTime<Utc>) {
    let text = format!("{}\n{}\n{}\n", until.to_rfc3339(), host(), process::id());
    let _ = std::fs::write(folder.join(FOLDER_LEASE), text);
}

/// Whether the job that owns a work folder is provably gone: its process no longer runs on this
/// machine, or its lease lapsed before `now`. `None` when the folder says nothing (no lease file).
pub(super) fn folder_owner_gone(folder: &Path, now: DateTime<Utc>) -> Option<bool> {
    let text = std::fs::read_to_string(folder.join(FOLDER_LEASE)).ok()?;
    let mut lines = text.lines();
    let until = DateTime::parse_from_rfc3339(lines.next()?.trim()).ok()?;
    if until.with_timezone(&Utc) < now {
        return Some(true);
    }
    let (owner_host, pid) = (lines.next(), lines.next());
    Some(match (owner_host, pid) {
        (Some(h), Some(pid)) if h == host() => !process::same(pid.trim()),
        _ => false,
    })
}

/// This machine's name (a container's own), so a process id is only read where it means something.
fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

mod process {
    /// This process's id, with its start time, so a reused id is not mistaken for it.
    pub fn id() -> String {
        let pid = std::process::id();
        format!("{pid} {}", start_time(pid).unwrap_or_default())
    }

    /// Whether the process `pid` written by [`id`] (`"<pid> <start>"`) still runs.
    pub fn runs(pid: u32) -> bool {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
    }

    fn start_time(pid: u32) -> Option<String> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // Field 22, counted after the command name in parentheses (which may hold spaces).
        let rest = &stat[stat.rfind(')')? + 2..];
        rest.split(' ').nth(19).map(str::to_string)
    }

    pub fn same(written: &str) -> bool {
        let mut parts = written.split(' ');
        let (Some(pid), start) = (
            parts.next().and_then(|p| p.parse::<u32>().ok()),
            parts.next(),
        ) else {
            return false;
        };
        runs(pid) && start.is_none_or(|s| start_time(pid).as_deref() == Some(s))
    }
}

impl Lease {
    /// The job now holds `claim`, made when `made` (an instant taken before the claim was asked).
    pub fn claimed(&self, claim: Claim, made: Instant) {
        *self.0.valid_until.lock().unwrap_or_else(|p| p.into_inner()) = made + self.0.length;
        *self.0.claim.lock().unwrap_or_else(|p| p.into_inner()) = Some(claim);
    }

    /// `Err` (transient) when the job can no longer prove its claim for one more call.
    pub fn check(&self) -> Result<(), JobError> {
        let stop = |message: String| {
            Err(JobError {
                fault: Fault::Transient,
                message,
                source: None,
            })
        };
        if self.0.lost.load(Ordering::SeqCst) {
            return stop("the claim on this upload lapsed or was taken over by another job; the upload will be retried".into());
        }
        if self
            .0
            .claim
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_none()
        {
            return Ok(());
        }
        let valid_until = *self.0.valid_until.lock().unwrap_or_else(|p| p.into_inner());
        if valid_until.saturating_duration_since(Instant::now()) < self.0.margin {
            return stop(format!(
                "the claim on this upload could not be renewed in time (the index did not answer), so it may lapse within {} s; the upload will be retried",
                self.0.margin.as_secs()
            ));
        }
        Ok(())
    }
}

/// What the job checks before each write of a publish: its lease and its deadline.
pub(super) struct JobPermit {
    pub lease: Lease,
    pub deadline: Deadline,
}

impl crate::publish::Permit for JobPermit {
    fn check(&self) -> Result<(), JobError> {
        if self.deadline.passed() {
            return Err(JobError {
                fault: Fault::Transient,
                message: self.deadline.message("while publishing"),
                source: None,
            });
        }
        self.lease.check()
    }

    fn may_undo(&self) -> Result<(), JobError> {
        self.lease.check()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Beats every 100 ms, so a test sees several in half a second.
    const SHORT: Duration = Duration::from_millis(400);

    async fn heartbeat(folder: &Path, home: &Path) -> Heartbeat {
        let index = crate::index::sqlite::SqliteIndex::open(&home.join("index.sqlite"))
            .await
            .unwrap();
        Heartbeat::start(Arc::new(index), folder, SHORT, Duration::ZERO)
    }

    #[tokio::test]
    async fn each_beat_rewrites_the_folder_lease_until_the_folder_is_released() {
        let home = tempfile::tempdir().unwrap();
        let folder = home.path().join("work");
        std::fs::create_dir(&folder).unwrap();
        let beat = heartbeat(&folder, home.path()).await;
        assert_eq!(folder_owner_gone(&folder, Utc::now()), Some(false));

        // A beat puts back a lease file that went: the folder is still the job's.
        std::fs::remove_file(folder.join(FOLDER_LEASE)).unwrap();
        tokio::time::sleep(SHORT / 2).await;
        assert!(
            folder.join(FOLDER_LEASE).exists(),
            "a beat rewrote the lease"
        );

        // Released, the folder is the remover's while the heartbeat still runs (for the claim):
        // no beat writes into it again, so a removal never finds a lease file put back half-way.
        beat.release_folder();
        std::fs::remove_file(folder.join(FOLDER_LEASE)).unwrap();
        tokio::time::sleep(SHORT).await;
        assert!(
            !folder.join(FOLDER_LEASE).exists(),
            "no beat wrote into a released folder"
        );
        std::fs::remove_dir(&folder).unwrap();
        drop(beat);
    }
}
