//! Object storage: the archive, public, error and reports stores behind one small trait.
//!
//! Every backend honours the guarantees documented on [`ObjectStore`]; one conformance suite
//! (`tests/it/conformance/store.rs`) proves them for each.

mod key;
pub mod local;
pub mod s3;

use std::path::Path;

use async_trait::async_trait;
use serde::Serialize;

use crate::error::{Classify, Fault};
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
}

/// Options for a write.
#[derive(Debug, Clone, Default)]
pub struct PutOptions {
    pub content_type: Option<String>,
    /// Hex SHA-256 of the content, recorded beside the object where the backend can.
    pub sha256: Option<String>,
}

/// A receipt for one write (put or delete), enough to reverse it with [`ObjectStore::undo`] or to
/// make it final with [`ObjectStore::settle`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Written {
    pub key: Key,
    /// The version this write created (S3 version id or delete marker), where versioned.
    pub version: Option<String>,
    /// What undoing the write needs, in the backend's own terms.
    pub undo: UndoToken,
}

/// How a backend reverses one write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UndoToken {
    /// The write changed nothing (e.g. deleting an absent object).
    Nothing,
    /// Remove the object the write created; nothing was there before.
    Remove,
    /// Put back the previous object, kept aside by a local store under `stash`.
    Restore { stash: String },
    /// Delete the object version this write created (S3 versioning brings back the previous one).
    DeleteVersion { version: String },
}

/// Object storage. Guarantees every backend honours:
/// - `put_*` is atomic: readers see the old object or the whole new one, never a partial one.
/// - `get_to_file` and `head` report a missing object as `Ok(None)` / [`StoreErrorKind::NotFound`].
/// - `delete` of a missing object succeeds (deletes are idempotent, as retries need).
/// - `undo(w)` restores the key to exactly what it was before the write `w`, provided no later
///   write to the same key is still in place; `settle(w)` drops what `undo` would have needed.
/// - `list` returns every key under the prefix (all pages), sorted, never the reserved `.ingest/`.
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

    /// Stores a local file under `key`, streaming it.
    async fn put_file(
        &self,
        key: &Key,
        src: &Path,
        opts: &PutOptions,
    ) -> Result<Written, StoreError>;

    /// Stores a small in-memory object (reports, plots).
    async fn put_bytes(
        &self,
        key: &Key,
        bytes: Vec<u8>,
        opts: &PutOptions,
    ) -> Result<Written, StoreError>;

    async fn delete(&self, key: &Key) -> Result<Written, StoreError>;

    /// Deletes an object for good, keeping nothing for an undo (the incoming object once its copy
    /// is safe elsewhere). Backends override it where a reversible delete costs a copy.
    async fn remove(&self, key: &Key) -> Result<(), StoreError> {
        let written = self.delete(key).await?;
        self.settle(&written).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError>;

    /// Reverses one earlier write of this store (rollback).
    async fn undo(&self, written: &Written) -> Result<(), StoreError>;

    /// Makes one earlier write final (commit): drops any copy kept for `undo`.
    async fn settle(&self, written: &Written) -> Result<(), StoreError>;
}

/// The operation that failed, named in every store error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreOp {
    Open,
    Head,
    Get,
    Put,
    Delete,
    List,
    Undo,
    Settle,
}

impl std::fmt::Display for StoreOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            StoreOp::Open => "open",
            StoreOp::Head => "head",
            StoreOp::Get => "get",
            StoreOp::Put => "put",
            StoreOp::Delete => "delete",
            StoreOp::List => "list",
            StoreOp::Undo => "undo",
            StoreOp::Settle => "settle",
        };
        f.write_str(name)
    }
}

/// Whether a retry can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreErrorKind {
    NotFound,
    /// Throttling, 5xx, timeouts, connection failures, full disks: retry with backoff.
    Transient,
    /// Access denied, missing bucket, invalid request: retrying will not help.
    Permanent,
}

/// A failed store operation, naming the operation and the object's URL.
#[derive(Debug, thiserror::Error)]
#[error("{op} {url}: {message}")]
pub struct StoreError {
    pub op: StoreOp,
    pub url: String,
    pub kind: StoreErrorKind,
    pub message: String,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl StoreError {
    pub fn new(
        op: StoreOp,
        url: impl Into<String>,
        kind: StoreErrorKind,
        message: impl Into<String>,
    ) -> Self {
        StoreError {
            op,
            url: url.into(),
            kind,
            message: message.into(),
            source: None,
        }
    }

    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    pub fn is_not_found(&self) -> bool {
        self.kind == StoreErrorKind::NotFound
    }
}

impl Classify for StoreError {
    fn fault(&self) -> Fault {
        match self.kind {
            StoreErrorKind::Transient => Fault::Transient,
            // A missing object where one must exist, or a refused request, is not fixed by a retry.
            StoreErrorKind::NotFound | StoreErrorKind::Permanent => Fault::Internal,
        }
    }
}

/// Opens the store a URL names: a path or `file://` directory, or `s3://bucket/optional/prefix`
/// on the process's shared AWS clients.
pub async fn open(
    url: &str,
    aws: Option<&crate::aws::Aws>,
) -> Result<Box<dyn ObjectStore>, StoreError> {
    match crate::settings::BoundaryUrl::parse(url) {
        Ok(crate::settings::BoundaryUrl::Local(path)) => {
            Ok(Box::new(local::LocalStore::open(&path)?))
        }
        Ok(crate::settings::BoundaryUrl::S3 { bucket, prefix }) => match aws {
            Some(aws) => Ok(Box::new(s3::S3Store::new(aws, &bucket, &prefix))),
            None => Err(StoreError::new(
                StoreOp::Open,
                url,
                StoreErrorKind::Permanent,
                "an s3:// store was opened without AWS clients",
            )),
        },
        Ok(other) => Err(StoreError::new(
            StoreOp::Open,
            url,
            StoreErrorKind::Permanent,
            format!(
                "{} is not an object store URL (use a directory path, file:// or s3://)",
                other.scheme()
            ),
        )),
        Err(e) => Err(StoreError::new(
            StoreOp::Open,
            url,
            StoreErrorKind::Permanent,
            e.to_string(),
        )),
    }
}
