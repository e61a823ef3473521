//! The bounded copy every unpacker uses: streams a decompressing reader to a file in the job
//! folder, hashing as it goes, and stops as soon as a cap is passed, so a bomb never fills the disk.
//!
//! Every cap is judged on what is actually inflated and actually read, counted while it happens —
//! never on the sizes an archive's headers claim, which a hostile archive forges: the bytes
//! written for a member against the compressed bytes read for it (per member), the bytes written
//! for the whole upload against the upload's size on disk (overall), the total against the
//! pipeline's cap and against the room the work disk has for the upload.

use std::fs;
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use crate::error::{Fault, JobError};
use crate::pipeline::{RATIO_FLOOR, UnpackLimits};

/// Why unpacking stopped.
#[derive(Debug)]
pub enum UnpackError {
    /// The upload is unacceptable; the message says why, naming the member.
    Refused(String),
    /// Our own disk failed.
    Local(io::Error),
}

impl From<io::Error> for UnpackError {
    fn from(e: io::Error) -> Self {
        UnpackError::Local(e)
    }
}

impl UnpackError {
    /// The job error for an upload named `upload`.
    pub fn into_job_error(self, upload: &str) -> JobError {
        match self {
            UnpackError::Refused(reason) => JobError::rejected(format!("{upload}: {reason}")),
            UnpackError::Local(e) => {
                let fault = match e.kind() {
                    io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => Fault::Transient,
                    _ => Fault::Internal,
                };
                JobError {
                    fault,
                    message: format!("unpacking {upload} into the job folder failed: {e}"),
                    source: None,
                }
            }
        }
    }
}

/// How many bytes the work disk has for one upload's unpacked files, and where that figure comes
/// from (named in the rejection, so an operator knows what to raise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkRoom {
    pub bytes: u64,
    pub why: String,
}

impl WorkRoom {
    /// The room for an upload of `upload_size` bytes already in the work folder `dir`: the
    /// configured most a job may use (`configured`, from `INGEST_WORK_MAX_BYTES`), else the size
    /// of the disk the folder is on. Both are what the upload could have on an otherwise empty
    /// disk, so passing them is the upload's own doing and a retry cannot help. `None` when the
    /// disk's size cannot be read (the pipeline's caps still hold).
    pub fn of(dir: &Path, configured: Option<u64>, upload_size: u64) -> Option<WorkRoom> {
        let whole = WorkRoom::whole(dir, configured)?;
        Some(WorkRoom {
            bytes: whole.bytes.saturating_sub(upload_size),
            why: format!(
                "{}, {upload_size} of them taken by the upload itself",
                whole.why
            ),
        })
    }

    /// All a job may use of the work disk under `dir`: `INGEST_WORK_MAX_BYTES` (`configured`)
    /// when set, else the disk's size. An upload larger than this cannot be fetched, however
    /// often the job is retried. `None` when the disk's size cannot be read.
    pub fn whole(dir: &Path, configured: Option<u64>) -> Option<WorkRoom> {
        Some(match configured {
            Some(max) => WorkRoom {
                bytes: max,
                why: format!("INGEST_WORK_MAX_BYTES is {max}"),
            },
            None => {
                let size = disk_size(dir).ok()?;
                WorkRoom {
                    bytes: size,
                    why: format!("the work folder's disk holds {size} bytes"),
                }
            }
        })
    }
}

/// The size of the file system `dir` is on (not its free space: what it could hold at all).
pub fn disk_size(dir: &Path) -> io::Result<u64> {
    let stat = rustix::fs::statvfs(dir).map_err(io::Error::from)?;
    Ok(stat.f_blocks.saturating_mul(stat.f_frsize))
}

/// What is left of the caps while one upload unpacks.
#[derive(Debug, Clone)]
pub struct Budget {
    pub limits: UnpackLimits,
    /// The room on the work disk, when known.
    pub room: Option<WorkRoom>,
    /// The upload's own size: what the whole-upload ratio divides by.
    pub upload_size: u64,
    /// Bytes unpacked so far, all members together.
    pub used: u64,
}

impl Budget {
    pub fn new(limits: UnpackLimits, room: Option<WorkRoom>, upload_size: u64) -> Budget {
        Budget {
            limits,
            room,
            upload_size,
            used: 0,
        }
    }

    /// Why `more` further bytes would pass a cap on the total, if they would; `what` says what
    /// the upload does (`"unpacks to"`, `"names files that add up to"`).
    fn passes_total(&self, more: u64, what: &str, label: &str) -> Option<String> {
        let used = self.used + more;
        if used > self.limits.max_bytes {
            return Some(format!(
                "{what} more than {} bytes (the pipeline's max_unpacked_bytes) at {label}",
                self.limits.max_bytes
            ));
        }
        if let Some(room) = self.room.as_ref().filter(|r| used > r.bytes) {
            return Some(format!(
                "{what} more than the {} bytes the work disk has for it ({}) at {label}: no retry can make it fit; split it into smaller uploads",
                room.bytes, room.why
            ));
        }
        None
    }

    /// Counts a file a manifest names (fetched as is, not compressed) against the caps.
    pub fn take(&mut self, bytes: u64, label: &str) -> Result<(), String> {
        if let Some(reason) = self.passes_total(bytes, "names files that add up to", label) {
            return Err(reason);
        }
        self.used += bytes;
        Ok(())
    }
}

/// Counts every byte read through it, so a ratio divides by what was really read from the upload.
#[derive(Debug)]
pub struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R> Counting<R> {
    pub fn new(inner: R) -> (Counting<R>, Arc<AtomicU64>) {
        let read = Arc::new(AtomicU64::new(0));
        (
            Counting {
                inner,
                read: read.clone(),
            },
            read,
        )
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl<R: io::Seek> io::Seek for Counting<R> {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// Size and SHA-256 of an unpacked member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unpacked {
    pub size: u64,
    pub sha256: String,
}

/// Copies `reader` (the decompressed member `label`) to a new file at `dest`, enforcing every cap
/// as bytes arrive. `compressed` says how many bytes of the upload have been read for this
/// member so far (counted by a [`Counting`] reader, never taken from a header).
pub fn copy_bounded(
    reader: &mut dyn Read,
    dest: &Path,
    label: &str,
    compressed: &dyn Fn() -> u64,
    budget: &mut Budget,
) -> Result<Unpacked, UnpackError> {
    if let Some(parent) = dest.parent() {
        fs::create_dir_all(parent).map_err(|e| disk_full(e, label, budget))?;
    }
    let mut out = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dest)
        .map_err(|e| disk_full(e, label, budget))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    let max_ratio = budget.limits.max_ratio;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(UnpackError::Refused(format!(
                    "{label} cannot be unpacked: {e}"
                )));
            }
        };
        if let Some(reason) = budget.passes_total(n as u64, "unpacks to", label) {
            return Err(UnpackError::Refused(reason));
        }
        size += n as u64;
        budget.used += n as u64;
        let read = compressed().max(1);
        if size > RATIO_FLOOR && size / read > max_ratio {
            return Err(UnpackError::Refused(format!(
                "{label} expands more than {max_ratio}:1 ({size} bytes from {read} bytes read so far; the pipeline's max_compression_ratio): refused as a likely decompression bomb"
            )));
        }
        let whole = budget.upload_size.max(1);
        if budget.used > RATIO_FLOOR && budget.used / whole > max_ratio {
            return Err(UnpackError::Refused(format!(
                "the upload expands more than {max_ratio}:1 overall ({} bytes unpacked from {whole} bytes, the pipeline's max_compression_ratio) at {label}: refused as a likely decompression bomb",
                budget.used
            )));
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])
            .map_err(|e| disk_full(e, label, budget))?;
    }
    out.flush().map_err(|e| disk_full(e, label, budget))?;
    Ok(Unpacked {
        size,
        sha256: hex::encode(hasher.finalize()),
    })
}

/// A full work disk while unpacking is the upload's doing: nothing but its own members is being
/// written, so the same upload fills the disk again on every retry. It is refused, naming the
/// member; any other local failure stays ours.
fn disk_full(e: io::Error, label: &str, budget: &Budget) -> UnpackError {
    match e.kind() {
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => UnpackError::Refused(format!(
            "the work disk filled up at {label} after {} bytes unpacked: the upload needs more room than a job has; split it into smaller uploads",
            budget.used
        )),
        _ => UnpackError::Local(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_work_room_is_the_configured_or_the_disk_size_less_the_upload() {
        let dir = tempfile::tempdir().unwrap();
        let room = WorkRoom::of(dir.path(), Some(1000), 300).unwrap();
        assert_eq!(room.bytes, 700);
        assert!(
            room.why.contains("INGEST_WORK_MAX_BYTES is 1000"),
            "{room:?}"
        );
        let disk = WorkRoom::of(dir.path(), None, 0).unwrap();
        assert!(
            disk.bytes > 0 && disk.why.contains("disk holds"),
            "{disk:?}"
        );
        assert_eq!(WorkRoom::of(dir.path(), Some(10), 300).unwrap().bytes, 0);
    }

    #[test]
    fn a_bomb_that_fills_the_work_disk_is_a_rejection_not_a_transient_failure() {
        let budget = Budget::new(UnpackLimits::default(), None, 10);
        let full = io::Error::from(io::ErrorKind::StorageFull);
        match disk_full(full, "entry \"big.nc\"", &budget) {
            UnpackError::Refused(r) => {
                assert!(r.contains("work disk filled up at entry \"big.nc\""), "{r}")
            }
            other => panic!("{other:?}"),
        }
        let denied = io::Error::from(io::ErrorKind::PermissionDenied);
        assert!(matches!(
            disk_full(denied, "x", &budget),
            UnpackError::Local(_)
        ));
    }
}
