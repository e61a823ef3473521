//! Object storage: the archive, public, error and reports stores behind one small trait.
//!
//! Every backend honours the guarantees documented on [`ObjectStore`]; one conformance suite
//! (`tests/it/conformance/store.rs`) proves them for each.

mod key;
pub mod local;
pub mod s3;
pub mod staged;

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use crate::error::ErrorKind;
use crate::error::{BoundaryError, operations};
use crate::location::UrlError;
pub use key::{InvalidKey, Key, RESERVED_PREFIX};

/// What is known about one stored object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectInfo {
    pub key: Key,
    pub size: u64,
    /// A backend version of the object's content (S3 ETag or version id; local: modification stamp).
    pub version: Option<String>,
    /// SHA-256 of the content: from `get_to_file`, always that of the bytes it wrote (computed
    /// while copying, so nobody reads the file again to hash it); from `head` and `list`, where the
    /// backend records it (S3 object metadata).
    pub sha256: Option<String>,
    /// When the object was written, as the backend records it (S3's Last-Modified, to the
    /// second; a local file's modification time): for an upload, when it arrived.
    pub modified: Option<DateTime<Utc>>,
}

/// Options for a write.
#[derive(Debug, Clone, Default)]
pub struct PutOptions {
    pub content_type: Option<String>,
    /// Hex SHA-256 of the content, recorded beside the object where the backend can.
    pub sha256: Option<String>,
}

/// What a write made: the key and, in a versioned store, the version it created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Written {
    pub key: Key,
    /// The version this write created (S3 version id), where versioned.
    pub version: Option<String>,
}

/// How to put one key back as it was before a change: what [`ObjectStore::prepare`] found there
/// (and, where the backend keeps nothing of an overwritten object, the copy it put aside). It is
/// decided before the change is made, so a journal can record it first and a later job can undo
/// a change whose writer died at any point of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Restore {
    /// Nothing was there: undoing removes whatever the change left.
    Absent,
    /// The store keeps versions and this one was current: undoing removes every version (and
    /// delete marker) made since, which makes it current again.
    Version { version: String },
    /// The previous object was put aside under this stash name: undoing puts it back,
    /// settling drops it.
    Stash { stash: String },
}

/// Object storage. Guarantees every backend honours:
/// - `put_*` is atomic: readers see the old object or the whole new one, never a partial one.
/// - `get_to_file` and `head` report a missing object as `Ok(None)` / [`ErrorKind::NotFound`].
/// - `delete` is for good, and deleting a missing object succeeds (retries need that).
/// - `prepare(key, stash)` changes nothing visible; `undo(key, r)` with the [`Restore`] it gave
///   puts the key back as it was, whether the change was then made or not, once or twice, and
///   doing it again changes nothing; `settle(r)` drops what `undo` would have needed.
/// - `list` returns every key under the prefix (all pages), sorted, and nothing else: no stash,
///   no temporary file (a local store keeps those outside its folder).
/// - `stashes` names every stash the store holds, so debris of a job that died can be found.
/// - `head`, `get_to_file` and `list` report when each object was written (`modified`).
#[async_trait]
pub trait ObjectStore: Send + Sync + std::fmt::Debug {
    /// Where this store lives, as a URL (`file:///…`, `s3://bucket/prefix`).
    fn location(&self) -> String;

    /// The URL of one object in this store, for reports and logs.
    fn url_of(&self, key: &Key) -> String {
        format!("{}/{}", self.location().trim_end_matches('/'), key)
    }

    async fn head(&self, key: &Key) -> Result<Option<ObjectInfo>, StoreError>;

    /// Streams the object to a local file (created or truncated), never holding it in memory, and
    /// returns the SHA-256 of what it wrote in `sha256`.
    async fn get_to_file(&self, key: &Key, dest: &Path) -> Result<ObjectInfo, StoreError>;

    /// [`ObjectStore::get_to_file`] for an object that may not be larger than `max` bytes: one
    /// that is (by the size the store reports before any byte is read) is not fetched, and
    /// nothing is written. This default asks for the size first; a store whose download reports
    /// the size before its body answers from the download itself, in one request.
    async fn get_to_file_within(
        &self,
        key: &Key,
        dest: &Path,
        max: u64,
    ) -> Result<Bounded, StoreError> {
        if let Some(info) = self.head(key).await?
            && info.size > max
        {
            return Ok(Bounded::TooLarge(info));
        }
        self.get_to_file(key, dest).await.map(Bounded::Fetched)
    }

    /// Stores a local file under `key`, streaming it.
    async fn put_file(
        &self,
        key: &Key,
        src: &Path,
        opts: &PutOptions,
    ) -> Result<Written, StoreError>;

    /// The folder where this store takes copies written ahead of their put ([`staged`]): on its
    /// own file system, outside every listing, swept like its temporary files. `None` for a store
    /// that has none (its puts stream over the network).
    fn staging_folder(&self) -> Option<PathBuf> {
        None
    }

    /// Stores `src` under `key` as [`ObjectStore::put_file`] does, placing `staged` (a copy of
    /// `src` written ahead into this store) instead of copying when it is a copy of `src` as it is
    /// now, with the SHA-256 `opts` gives.
    async fn put_staged(
        &self,
        key: &Key,
        src: &Path,
        opts: &PutOptions,
        staged: staged::Staged,
    ) -> Result<Written, StoreError> {
        drop(staged);
        self.put_file(key, src, opts).await
    }

    /// Stores a small in-memory object (reports, plots).
    async fn put_bytes(
        &self,
        key: &Key,
        bytes: Vec<u8>,
        opts: &PutOptions,
    ) -> Result<Written, StoreError>;

    /// Writes `bytes` ahead into this store's staging folder ([`ObjectStore::staging_folder`]),
    /// durable and invisible until [`ObjectStore::put_bytes_staged`] places them: for a small
    /// object the job knows before it may store it. `None` for a store without a staging folder,
    /// or when the copy could not be written (the put then writes the bytes as it would have).
    fn stage_bytes(&self, bytes: &[u8]) -> Option<staged::StagedBytes> {
        let folder = self.staging_folder()?;
        staged::stage_bytes(bytes, self.location(), &folder)
            .inspect_err(|e| tracing::debug!(store = %self.location(), error = %e, "not staged"))
            .ok()
    }

    /// Stores `bytes` under `key` as [`ObjectStore::put_bytes`] does, placing `staged` instead of
    /// writing them when it is a copy of these bytes written into this store.
    async fn put_bytes_staged(
        &self,
        key: &Key,
        bytes: Vec<u8>,
        opts: &PutOptions,
        staged: Option<staged::StagedBytes>,
    ) -> Result<Written, StoreError> {
        drop(staged);
        self.put_bytes(key, bytes, opts).await
    }

    /// Deletes an object for good (a change that must be reversible is prepared first).
    async fn delete(&self, key: &Key) -> Result<(), StoreError>;

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError>;

    /// Readies a reversible change of `key`: finds what is there and, where the backend would
    /// keep nothing of it once overwritten or deleted, puts a copy aside as `stash` (a name the
    /// caller makes, saying which job it belongs to; the store keeps it opaque).
    async fn prepare(&self, key: &Key, stash: &str) -> Result<Restore, StoreError>;

    /// Puts `key` back as `prepare` found it.
    async fn undo(&self, key: &Key, restore: &Restore) -> Result<(), StoreError>;

    /// Makes a prepared change final: drops the copy kept for `undo`, if any.
    async fn settle(&self, restore: &Restore) -> Result<(), StoreError>;

    /// The names of the stashes this store holds.
    async fn stashes(&self) -> Result<Vec<String>, StoreError>;

    /// Removes what writes that never finished left behind (a local store's temporary files)
    /// when it is older than `older_than`; the number removed.
    async fn sweep(&self, _older_than: std::time::Duration) -> Result<usize, StoreError> {
        Ok(0)
    }

    /// The SHA-256 of the object at `key` (`None` when absent): the one recorded with it, else
    /// its bytes read through a hash, never kept.
    async fn sha256(&self, key: &Key) -> Result<Option<String>, StoreError> {
        Ok(self.head(key).await?.and_then(|info| info.sha256))
    }

    /// Where another store can copy the object at `key` from (see [`ObjectStore::put_copy`]).
    fn origin_of(&self, key: &Key) -> Origin;

    /// Stores under `key` a copy of an object of another store (or of this one) without its
    /// bytes passing through the job's disk: a server-side copy between S3 buckets, a file copy
    /// between local stores. `size` is the object's. A local store cannot copy an S3 object this
    /// way (a permanent error saying so).
    async fn put_copy(
        &self,
        key: &Key,
        from: &Origin,
        size: u64,
        opts: &PutOptions,
    ) -> Result<Written, StoreError>;
}

/// What a bounded fetch ([`ObjectStore::get_to_file_within`]) found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bounded {
    /// Fetched, as `get_to_file` reports it.
    Fetched(ObjectInfo),
    /// Larger than allowed: not fetched (no SHA-256 known).
    TooLarge(ObjectInfo),
}

/// Where an object's bytes are, for a copy made by another store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A file on this machine: an object of a local store.
    File { path: PathBuf, url: String },
    /// An S3 object, which S3 copies server-side into any bucket the same credentials write.
    S3 {
        bucket: String,
        key: String,
        url: String,
    },
}

impl Origin {
    /// The object's URL, for messages.
    pub fn url(&self) -> &str {
        match self {
            Origin::File { url, .. } | Origin::S3 { url, .. } => url,
        }
    }
}

operations! {
    /// The operation that failed, named in every store error (its name says the boundary).
    pub enum StoreOp in "" {
        Open => "open",
        Head => "head",
        Get => "get",
        Put => "put",
        Delete => "delete",
        List => "list",
        Prepare => "prepare",
        Undo => "undo",
        Settle => "settle",
        Stashes => "list stashes",
    }
}

/// A failed store operation, naming the operation and the object's URL.
pub type StoreError = BoundaryError<StoreOp>;

/// How large objects travel to a remote store (S3): uploads and copies of at least
/// `multipart_threshold` bytes go in parts of `part_size`, `concurrency` parts at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transfer {
    pub multipart_threshold: u64,
    /// S3 needs at least 5 MiB for every part but the last, and at most 5 GiB.
    pub part_size: u64,
    /// Parts in flight at once for one object.
    pub concurrency: usize,
}

/// The part size and multipart threshold unless settings say otherwise.
pub const DEFAULT_PART_SIZE: u64 = 16 * 1024 * 1024;

/// The smallest and largest part S3 takes.
pub const PART_SIZES: std::ops::RangeInclusive<u64> = 5 * 1024 * 1024..=5 * 1024 * 1024 * 1024;

impl Default for Transfer {
    fn default() -> Self {
        Transfer {
            multipart_threshold: DEFAULT_PART_SIZE,
            part_size: DEFAULT_PART_SIZE,
            concurrency: 4,
        }
    }
}

/// Where an object store lives, parsed once from its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// A local directory (`/path`, `./path` or `file:///path`).
    Local(PathBuf),
    /// `s3://bucket/optional/prefix`: keys live below the prefix.
    S3 { bucket: String, prefix: String },
}

impl StoreUrl {
    pub fn parse(value: &str) -> Result<StoreUrl, UrlError> {
        let value = crate::location::non_empty(value)?;
        if let Some(rest) = value.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(UrlError::new("s3:// URL without a bucket"));
            }
            return Ok(StoreUrl::S3 {
                bucket: bucket.to_string(),
                prefix: prefix.trim_matches('/').to_string(),
            });
        }
        match crate::location::local_path(value) {
            Some(path) => path.map(StoreUrl::Local),
            None => Err(crate::location::unknown_scheme(
                value,
                "a directory path, file:// or s3://",
            )),
        }
    }

    pub fn is_s3(&self) -> bool {
        matches!(self, StoreUrl::S3 { .. })
    }
}

impl std::fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreUrl::Local(p) => write!(f, "{}", p.display()),
            StoreUrl::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            StoreUrl::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

/// Opens the store a URL names: a local directory, or an S3 bucket (below a prefix) on the
/// process's shared AWS clients.
pub async fn open(
    url: &StoreUrl,
    aws: Option<&crate::aws::Aws>,
    transfer: Transfer,
) -> Result<Box<dyn ObjectStore>, StoreError> {
    match url {
        StoreUrl::Local(path) => Ok(Box::new(local::LocalStore::open(path)?)),
        StoreUrl::S3 { bucket, prefix } => match aws {
            Some(aws) => Ok(Box::new(s3::S3Store::new(aws, bucket, prefix, transfer))),
            None => Err(StoreError::new(
                StoreOp::Open,
                url.to_string(),
                ErrorKind::Permanent,
                "an s3:// store was opened without AWS clients",
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_directories_and_buckets() {
        assert_eq!(
            StoreUrl::parse("s3://bucket/a/b/").unwrap(),
            StoreUrl::S3 {
                bucket: "bucket".into(),
                prefix: "a/b".into()
            }
        );
        assert_eq!(
            StoreUrl::parse("file:///tmp/x%20y").unwrap(),
            StoreUrl::Local("/tmp/x y".into())
        );
        assert_eq!(
            StoreUrl::parse("var/public").unwrap(),
            StoreUrl::Local("var/public".into())
        );
        assert!(
            StoreUrl::parse("ftp://x")
                .unwrap_err()
                .reason
                .contains("unknown scheme")
        );
        assert!(StoreUrl::parse("s3:///key").is_err());
        assert!(StoreUrl::parse("sqlite://x").is_err());
    }
}
