//! The bounded copy every unpacker uses: streams a decompressing reader to a file in the job
//! folder, hashing as it goes, and stops as soon as a cap is passed, so a bomb never fills the disk.

use std::fs;
use std::io::{self, Read, Write};
use std::path::Path;

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

/// What is left of the caps while one upload unpacks.
#[derive(Debug, Clone)]
pub struct Budget {
    pub limits: UnpackLimits,
    /// Bytes unpacked so far, all members together.
    pub used: u64,
}

impl Budget {
    pub fn new(limits: UnpackLimits) -> Budget {
        Budget { limits, used: 0 }
    }
}

/// Size and SHA-256 of an unpacked member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unpacked {
    pub size: u64,
    pub sha256: String,
}

/// Copies `reader` (the decompressed member `label`, `compressed` bytes in the upload) to a new
/// file at `dest`, enforcing the total-size cap and the compression-ratio cap as bytes arrive.
pub fn copy_bounded(
    reader: &mut dyn Read,
    dest: &Path,
    label: &str,
    compressed: u64,
    budget: &mut Budget,
) -> Result<Unpacked, UnpackError> {
    if let Some(parent) = dest.parent() {
        fs::create_dir_all(parent)?;
    }
    let mut out = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dest)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    let limits = budget.limits;
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
        size += n as u64;
        budget.used += n as u64;
        if budget.used > limits.max_bytes {
            return Err(UnpackError::Refused(format!(
                "unpacks to more than {} bytes (the pipeline's max_unpacked_bytes) at {label}",
                limits.max_bytes
            )));
        }
        if size > RATIO_FLOOR && size / compressed.max(1) > limits.max_ratio {
            return Err(UnpackError::Refused(format!(
                "{label} expands more than {}:1 ({compressed} bytes compressed; the pipeline's max_compression_ratio): refused as a likely decompression bomb",
                limits.max_ratio
            )));
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])?;
    }
    out.flush()?;
    Ok(Unpacked {
        size,
        sha256: hex::encode(hasher.finalize()),
    })
}
