//! Copies written ahead: a local file (or a small object's bytes, such as a quick look) copied
//! into the stores it will go to while the job is still deciding whether it may publish,
//! invisible there until a put places it.
//!
//! A store that writes through a temporary file and a rename (the local store) spends most of a
//! large put making the copy durable. Written ahead, beside the check that reads the same file,
//! the put that follows only renames it into place. A copy is placed only when the file is still
//! what it copied (same file, size and modification time, and the SHA-256 the job records for
//! it); otherwise the put copies the file as it would have, and the copy written ahead is
//! dropped. Bytes are placed only by the put of the same bytes (their SHA-256). Nothing here is
//! ever visible in a store: a dropped or abandoned copy is a temporary file of the store's
//! bookkeeping, removed on drop or by the store's sweep.

use std::fs::{File, Metadata};
use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use sha2::{Digest, Sha256};

/// A file as it was when read (copied here, opened ahead by the check): which file it is and
/// when it last changed. A write, a truncation, or a file renamed over it changes the stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    /// The stamp of the file at `path` now, if it can be read.
    pub(crate) fn of_path(path: &Path) -> Option<Stamp> {
        std::fs::metadata(path).ok().map(|m| Stamp::of(&m))
    }

    fn of(meta: &Metadata) -> Stamp {
        Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

/// A copy of a local file written into one store's bookkeeping, waiting to be placed at a key.
#[derive(Debug)]
pub struct Staged {
    copy: tempfile::TempPath,
    /// The location of the store that holds the copy (`ObjectStore::location`).
    store: String,
    source: PathBuf,
    stamp: Stamp,
    sha256: String,
}

impl Staged {
    /// The location of the store the copy was written into.
    pub fn store(&self) -> &str {
        &self.store
    }

    /// Whether this is a copy of `src` as it is now, whose content has the SHA-256 `sha256`:
    /// the same file, unchanged since it was copied, and the hash the job records for it.
    pub fn copies(&self, src: &Path, sha256: &str) -> bool {
        self.source == src
            && self.sha256 == sha256
            && std::fs::metadata(src).is_ok_and(|m| Stamp::of(&m) == self.stamp)
    }

    /// The copy, to be renamed into place.
    pub fn into_copy(self) -> tempfile::TempPath {
        self.copy
    }
}

/// Copies `src` once into each of `into` (a store's location and its staging folder), reading
/// it once and hashing it on the way, and makes every copy durable. Stops with
/// `ErrorKind::Interrupted` as soon as `cancel` is set; a file that changed while it was being
/// copied is an error, and in every error the copies made so far are removed.
pub fn stage(
    src: &Path,
    into: &[(String, PathBuf)],
    cancel: &AtomicBool,
) -> io::Result<Vec<Staged>> {
    let mut input = File::open(src)?;
    let stamp = Stamp::of(&input.metadata()?);
    let mut copies = Vec::with_capacity(into.len());
    for (_, folder) in into {
        copies.push(new_copy(folder)?);
    }
    let mut hasher = Sha256::new();
    // Pieces of 1 MiB: few system calls, and a cancel is seen within one piece.
    let mut buf = vec![0u8; 1 << 20];
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(io::Error::new(
                io::ErrorKind::Interrupted,
                "no longer needed",
            ));
        }
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        for copy in &mut copies {
            copy.as_file_mut().write_all(&buf[..n])?;
        }
    }
    for copy in &copies {
        copy.as_file().sync_all()?;
    }
    if Stamp::of(&std::fs::metadata(src)?) != stamp {
        return Err(io::Error::other(format!(
            "{} changed while it was being copied",
            src.display()
        )));
    }
    let sha256 = hex::encode(hasher.finalize());
    Ok(into
        .iter()
        .zip(copies)
        .map(|((store, _), copy)| Staged {
            copy: copy.into_temp_path(),
            store: store.clone(),
            source: src.to_path_buf(),
            stamp,
            sha256: sha256.clone(),
        })
        .collect())
}

/// Bytes written ahead into one store's staging folder (a quick look drawn while the job
/// publishes), durable and invisible there until a put places them.
#[derive(Debug)]
pub struct StagedBytes {
    copy: tempfile::TempPath,
    /// The location of the store that holds the copy (`ObjectStore::location`).
    store: String,
    sha256: [u8; 32],
}

impl StagedBytes {
    /// Whether this is a copy of `bytes` written into the store at `store`.
    pub fn holds(&self, store: &str, bytes: &[u8]) -> bool {
        self.store == store && self.sha256 == <[u8; 32]>::from(Sha256::digest(bytes))
    }

    /// The copy, to be renamed into place.
    pub fn into_copy(self) -> tempfile::TempPath {
        self.copy
    }
}

/// Writes `bytes` into `folder`, the staging folder of the store at `store`, and makes them
/// durable; the copy is removed when dropped unplaced.
pub fn stage_bytes(bytes: &[u8], store: String, folder: &Path) -> io::Result<StagedBytes> {
    let mut copy = new_copy(folder)?;
    copy.as_file_mut().write_all(bytes)?;
    copy.as_file().sync_all()?;
    Ok(StagedBytes {
        copy: copy.into_temp_path(),
        store,
        sha256: Sha256::digest(bytes).into(),
    })
}

/// A new, empty copy in the staging folder `folder`, removed when dropped.
fn new_copy(folder: &Path) -> io::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(".staged-")
        .tempfile_in(folder)
}

/// The copies a job wrote ahead, each taken once by the put it was written for.
#[derive(Debug, Default)]
pub struct StagedCopies {
    copies: Vec<Staged>,
}

impl StagedCopies {
    pub fn new(copies: Vec<Staged>) -> StagedCopies {
        StagedCopies { copies }
    }

    /// The copy of `src` written into the store at `store`, if there is one left.
    pub fn take(&mut self, store: &str, src: &Path) -> Option<Staged> {
        let i = self
            .copies
            .iter()
            .position(|c| c.store == store && c.source == src)?;
        Some(self.copies.swap_remove(i))
    }

    pub fn is_empty(&self) -> bool {
        self.copies.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folders(dir: &Path) -> Vec<(String, PathBuf)> {
        ["a", "b"]
            .iter()
            .map(|n| {
                let f = dir.join(n);
                std::fs::create_dir_all(&f).unwrap();
                (format!("file:///{n}"), f)
            })
            .collect()
    }

    fn entries(dir: &Path) -> usize {
        std::fs::read_dir(dir).unwrap().count()
    }

    #[test]
    fn one_read_makes_a_copy_in_each_folder_with_the_files_hash() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("f.nc");
        std::fs::write(&src, vec![7u8; 3 << 20]).unwrap();
        let into = folders(dir.path());
        let staged = stage(&src, &into, &AtomicBool::new(false)).unwrap();
        let (_, sha256) = crate::digest::sha256_file(&src).unwrap();
        assert_eq!(staged.len(), 2);
        for (s, (store, _)) in staged.iter().zip(&into) {
            assert_eq!(s.store(), store);
            assert!(s.copies(&src, &sha256));
            assert!(!s.copies(&src, "0000"), "another hash matched");
            assert_eq!(
                std::fs::read(&s.copy).unwrap(),
                std::fs::read(&src).unwrap()
            );
        }
        drop(staged);
        assert_eq!(
            entries(&into[0].1) + entries(&into[1].1),
            0,
            "a dropped copy stayed"
        );
    }

    #[test]
    fn a_file_changed_after_its_copy_is_not_what_the_copy_is_of() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("f.nc");
        std::fs::write(&src, b"first").unwrap();
        let into = folders(dir.path());
        let staged = stage(&src, &into[..1], &AtomicBool::new(false)).unwrap();
        let (_, sha256) = crate::digest::sha256_file(&src).unwrap();
        // Same size, rewritten in place: the change time moves even when the clock's tick hides
        // it from the modification time.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&src, b"other").unwrap();
        assert!(!staged[0].copies(&src, &sha256));
        // Replaced by another file of the same content: not the file that was copied.
        let other = dir.path().join("g.nc");
        std::fs::write(&other, b"first").unwrap();
        std::fs::rename(&other, &src).unwrap();
        assert!(!staged[0].copies(&src, &sha256));
    }

    #[test]
    fn a_cancelled_copy_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("f.nc");
        std::fs::write(&src, vec![1u8; 1 << 20]).unwrap();
        let into = folders(dir.path());
        let err = stage(&src, &into, &AtomicBool::new(true)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Interrupted);
        assert_eq!(entries(&into[0].1) + entries(&into[1].1), 0);
    }

    #[test]
    fn each_copy_is_taken_once_by_its_store_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("f.nc");
        std::fs::write(&src, b"x").unwrap();
        let into = folders(dir.path());
        let mut copies = StagedCopies::new(stage(&src, &into, &AtomicBool::new(false)).unwrap());
        assert!(copies.take("file:///a", &dir.path().join("g.nc")).is_none());
        assert!(copies.take("file:///a", &src).is_some());
        assert!(copies.take("file:///a", &src).is_none());
        assert!(copies.take("file:///b", &src).is_some());
        assert!(copies.is_empty());
    }
}
