//! An S3 bucket (or a prefix of one) as an object store: the production backend of every store.
//!
//! Rollback: `prepare` reads what is at a key before a change. In a versioned bucket (production)
//! that is the current version's id, and `undo` deletes every version and delete marker made since,
//! which makes it current again. Where the current object has no version id (an unversioned
//! bucket, or an object from before versioning), it is first copied to
//! `<prefix>/.ingest/stash/<stash>`, which `undo` copies back and `settle` removes; the stash name
//! says which job made it, so the next job can remove what a job that died left behind (a bucket
//! lifecycle rule expiring `.ingest/stash/` after a few days is the last resort).

mod errors;
mod transfer;

use std::path::Path;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use sha2::{Digest, Sha256};

use transfer::{Body, CopyFrom, Download, Meta, SHA256_META, Target, real_version};

use super::Transfer;
use super::{
    Bounded, ErrorKind, Key, ObjectInfo, ObjectStore, Origin, PutOptions, RESERVED_PREFIX, Restore,
    StoreError, StoreOp, Written,
};

/// How many versions `undo` removes at most to reach the one `prepare` found: a job writes a key
/// once, and the SDK's retries may write it a few times more.
const MAX_UNDONE_VERSIONS: usize = 16;
use crate::aws::Aws;

/// A store in one S3 bucket, below an optional prefix.
#[derive(Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
    /// Without slashes at either end; empty for the whole bucket.
    prefix: String,
    transfer: Transfer,
}

impl std::fmt::Debug for S3Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Store")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// The current object at a key, as a write needs to know it.
struct Current {
    size: u64,
    /// Its version id, when the bucket gave it one.
    version: Option<String>,
}

impl S3Store {
    /// A store on `bucket` below `prefix`, using the process's shared clients. No request is made.
    pub fn new(aws: &Aws, bucket: &str, prefix: &str, transfer: Transfer) -> S3Store {
        S3Store::with_client(aws.s3.clone(), bucket, prefix, transfer)
    }

    /// A store on an explicitly built client (tests, tools).
    pub fn with_client(client: Client, bucket: &str, prefix: &str, transfer: Transfer) -> S3Store {
        S3Store {
            client,
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
            transfer,
        }
    }

    /// The bucket key of a store key.
    fn full(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}/{key}", self.prefix)
        }
    }

    fn url_of_full(&self, full: &str) -> String {
        format!("s3://{}/{full}", self.bucket)
    }

    /// One debug line per operation; inside a job's span it carries the job's fields.
    fn log(&self, op: StoreOp, key: &str) {
        tracing::debug!(op = %op, object = %self.url_of_full(&self.full(key)), "s3");
    }

    /// One GET into `dest`, left unread when the object is larger than `max`.
    async fn fetch(&self, key: &Key, dest: &Path, max: Option<u64>) -> Result<Bounded, StoreError> {
        self.log(StoreOp::Get, key.as_str());
        let full = self.full(key.as_str());
        let url = self.url_of(key);
        Ok(
            match transfer::download(&self.target(&full, &url), Some(dest), max).await? {
                Download::Done(got) => Bounded::Fetched(ObjectInfo {
                    key: key.clone(),
                    size: got.size,
                    version: got.version,
                    sha256: Some(got.sha256),
                    modified: got.modified,
                }),
                Download::TooLarge { size, modified } => Bounded::TooLarge(ObjectInfo {
                    key: key.clone(),
                    size,
                    version: None,
                    sha256: None,
                    modified,
                }),
            },
        )
    }

    /// A key of this bucket as the source of a copy.
    fn within<'a>(&'a self, full: &'a str) -> CopyFrom<'a> {
        CopyFrom {
            bucket: &self.bucket,
            key: full,
        }
    }

    fn target<'a>(&'a self, key: &'a str, url: &'a str) -> Target<'a> {
        Target {
            client: &self.client,
            bucket: &self.bucket,
            key,
            url,
        }
    }

    /// The bucket key of a stash, in the reserved folder no listing shows.
    fn stash_key(&self, stash: &str) -> String {
        self.full(&format!("{RESERVED_PREFIX}/stash/{stash}"))
    }

    /// The latest version (or delete marker) of exactly `full` and whether `version` is among
    /// its versions at all.
    async fn latest_version(
        &self,
        full: &str,
        version: &str,
    ) -> Result<(Option<String>, bool), StoreError> {
        let url = self.url_of_full(full);
        let out = self
            .client
            .list_object_versions()
            .bucket(&self.bucket)
            .prefix(full)
            .send()
            .await
            .map_err(|e| errors::store_error(StoreOp::Undo, &url, e))?;
        let mut latest = None;
        let mut found = false;
        let versions = out
            .versions
            .unwrap_or_default()
            .into_iter()
            .map(|v| (v.key, v.version_id, v.is_latest));
        let markers = out
            .delete_markers
            .unwrap_or_default()
            .into_iter()
            .map(|m| (m.key, m.version_id, m.is_latest));
        for (key, id, is_latest) in versions.chain(markers) {
            if key.as_deref() != Some(full) {
                continue;
            }
            found |= id.as_deref() == Some(version);
            if is_latest == Some(true) {
                latest = id;
            }
        }
        Ok((latest, found))
    }

    async fn current(&self, full: &str, op: StoreOp) -> Result<Option<Current>, StoreError> {
        let url = self.url_of_full(full);
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(full)
            .send()
            .await
        {
            Ok(out) => Ok(Some(Current {
                size: out.content_length.unwrap_or_default().max(0) as u64,
                version: real_version(out.version_id),
            })),
            Err(e) => {
                let err = errors::store_error(op, &url, e);
                if err.is_not_found() {
                    Ok(None)
                } else {
                    Err(err)
                }
            }
        }
    }

    async fn delete_full(
        &self,
        full: &str,
        version: Option<&str>,
        op: StoreOp,
    ) -> Result<Option<String>, StoreError> {
        let url = self.url_of_full(full);
        match self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(full)
            .set_version_id(version.map(str::to_string))
            .send()
            .await
        {
            Ok(out) => Ok(out.version_id),
            Err(e) => {
                let err = errors::store_error(op, &url, e);
                // Gone already is what a delete wants.
                if err.is_not_found() {
                    Ok(None)
                } else {
                    Err(err)
                }
            }
        }
    }

    async fn write(
        &self,
        key: &Key,
        body: Body<'_>,
        opts: &PutOptions,
        sha256: String,
    ) -> Result<Written, StoreError> {
        let full = self.full(key.as_str());
        let url = self.url_of(key);
        let meta = Meta {
            content_type: opts.content_type.as_deref(),
            sha256: &sha256,
        };
        let version =
            transfer::upload(&self.target(&full, &url), body, &meta, &self.transfer).await?;
        Ok(Written {
            key: key.clone(),
            version,
        })
    }
}

#[async_trait]
impl ObjectStore for S3Store {
    fn location(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }

    async fn head(&self, key: &Key) -> Result<Option<ObjectInfo>, StoreError> {
        self.log(StoreOp::Head, key.as_str());
        let full = self.full(key.as_str());
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(&full)
            .send()
            .await
        {
            Ok(out) => Ok(Some(ObjectInfo {
                key: key.clone(),
                size: out.content_length.unwrap_or_default().max(0) as u64,
                sha256: out
                    .metadata
                    .as_ref()
                    .and_then(|m| m.get(SHA256_META))
                    .cloned(),
                version: real_version(out.version_id).or(out.e_tag),
                modified: out.last_modified.as_ref().and_then(transfer::to_chrono),
            })),
            Err(e) => {
                let err = errors::store_error(StoreOp::Head, &self.url_of(key), e);
                if err.is_not_found() {
                    Ok(None)
                } else {
                    Err(err)
                }
            }
        }
    }

    async fn get_to_file(&self, key: &Key, dest: &Path) -> Result<ObjectInfo, StoreError> {
        match self.fetch(key, dest, None).await? {
            Bounded::Fetched(info) | Bounded::TooLarge(info) => Ok(info),
        }
    }

    async fn get_to_file_within(
        &self,
        key: &Key,
        dest: &Path,
        max: u64,
    ) -> Result<Bounded, StoreError> {
        self.fetch(key, dest, Some(max)).await
    }

    async fn put_file(
        &self,
        key: &Key,
        src: &Path,
        opts: &PutOptions,
    ) -> Result<Written, StoreError> {
        self.log(StoreOp::Put, key.as_str());
        let url = self.url_of(key);
        let size = tokio::fs::metadata(src)
            .await
            .map_err(|e| crate::store::local::io_error(StoreOp::Put, &url, e))?
            .len();
        let sha256 = match &opts.sha256 {
            Some(s) => s.clone(),
            None => {
                let path = src.to_path_buf();
                crate::task::blocking(move || {
                    crate::digest::sha256_file(&path).map(|(_, sha256)| sha256)
                })
                .await
                .map_err(|e| {
                    StoreError::new(StoreOp::Put, &url, ErrorKind::Permanent, e.to_string())
                })?
                .map_err(|e| crate::store::local::io_error(StoreOp::Put, &url, e))?
            }
        };
        self.write(key, Body::File { path: src, size }, opts, sha256)
            .await
    }

    async fn put_bytes(
        &self,
        key: &Key,
        bytes: Vec<u8>,
        opts: &PutOptions,
    ) -> Result<Written, StoreError> {
        self.log(StoreOp::Put, key.as_str());
        let sha256 = opts
            .sha256
            .clone()
            .unwrap_or_else(|| hex::encode(Sha256::digest(&bytes)));
        self.write(key, Body::Bytes(bytes), opts, sha256).await
    }

    async fn delete(&self, key: &Key) -> Result<(), StoreError> {
        self.log(StoreOp::Delete, key.as_str());
        self.delete_full(&self.full(key.as_str()), None, StoreOp::Delete)
            .await
            .map(|_| ())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        self.log(StoreOp::List, prefix);
        let full_prefix = self.full(prefix);
        let url = self.url_of_full(&full_prefix);
        let strip = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(&full_prefix)
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| errors::store_error(StoreOp::List, &url, e))?;
            for object in page.contents.unwrap_or_default() {
                let Some(rel) = object.key.as_deref().and_then(|k| k.strip_prefix(&strip)) else {
                    continue;
                };
                // The reserved folder (stashes) and keys no store could have written stay out.
                let Ok(key) = Key::new(rel) else {
                    continue;
                };
                out.push(ObjectInfo {
                    key,
                    size: object.size.unwrap_or_default().max(0) as u64,
                    version: object.e_tag,
                    sha256: None,
                    modified: object.last_modified.as_ref().and_then(transfer::to_chrono),
                });
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    async fn prepare(&self, key: &Key, stash: &str) -> Result<Restore, StoreError> {
        self.log(StoreOp::Prepare, key.as_str());
        let full = self.full(key.as_str());
        match self.current(&full, StoreOp::Prepare).await? {
            None => Ok(Restore::Absent),
            Some(Current {
                version: Some(version),
                ..
            }) => Ok(Restore::Version { version }),
            Some(Current {
                size,
                version: None,
            }) => {
                let kept = self.stash_key(stash);
                let url = self.url_of(key);
                transfer::copy(
                    &self.target(&kept, &url),
                    self.within(&full),
                    size,
                    None,
                    StoreOp::Prepare,
                    &self.transfer,
                )
                .await?;
                Ok(Restore::Stash {
                    stash: stash.to_string(),
                })
            }
        }
    }

    async fn undo(&self, key: &Key, restore: &Restore) -> Result<(), StoreError> {
        self.log(StoreOp::Undo, key.as_str());
        let full = self.full(key.as_str());
        let url = self.url_of(key);
        match restore {
            // Whatever is there now came after: remove it, version by version (in a versioned
            // bucket deleting a version makes the one before current, which was nothing).
            Restore::Absent => {
                for _ in 0..MAX_UNDONE_VERSIONS {
                    match self.current(&full, StoreOp::Undo).await? {
                        None => return Ok(()),
                        Some(c) => {
                            self.delete_full(&full, c.version.as_deref(), StoreOp::Undo)
                                .await?;
                        }
                    }
                }
                Err(self.too_many_versions(&url))
            }
            Restore::Version { version } => {
                for _ in 0..MAX_UNDONE_VERSIONS {
                    let (latest, found) = self.latest_version(&full, version).await?;
                    if !found {
                        return Err(StoreError::new(
                            StoreOp::Undo,
                            url,
                            ErrorKind::Permanent,
                            format!(
                                "version {version} is gone, so the previous object cannot be made current again"
                            ),
                        ));
                    }
                    match latest {
                        Some(latest) if latest != *version => {
                            self.delete_full(&full, Some(&latest), StoreOp::Undo)
                                .await?;
                        }
                        _ => return Ok(()),
                    }
                }
                Err(self.too_many_versions(&url))
            }
            Restore::Stash { stash } => {
                let kept = self.stash_key(stash);
                let Some(copy) = self.current(&kept, StoreOp::Undo).await? else {
                    // Put back already (an undo done twice), or settled.
                    return Ok(());
                };
                transfer::copy(
                    &self.target(&full, &url),
                    self.within(&kept),
                    copy.size,
                    None,
                    StoreOp::Undo,
                    &self.transfer,
                )
                .await?;
                self.delete_full(&kept, None, StoreOp::Undo)
                    .await
                    .map(|_| ())
            }
        }
    }

    async fn settle(&self, restore: &Restore) -> Result<(), StoreError> {
        match restore {
            Restore::Stash { stash } => {
                self.log(StoreOp::Settle, stash);
                self.delete_full(&self.stash_key(stash), None, StoreOp::Settle)
                    .await
                    .map(|_| ())
            }
            _ => Ok(()),
        }
    }

    async fn sha256(&self, key: &Key) -> Result<Option<String>, StoreError> {
        let Some(info) = self.head(key).await? else {
            return Ok(None);
        };
        if info.sha256.is_some() {
            return Ok(info.sha256);
        }
        // An object written by someone else (a provider's upload) records none: hash its bytes
        // as they stream past.
        self.log(StoreOp::Get, key.as_str());
        let full = self.full(key.as_str());
        let url = self.url_of(key);
        match transfer::download(&self.target(&full, &url), None, None).await {
            Ok(Download::Done(got)) => Ok(Some(got.sha256)),
            // Only a bounded download stops short.
            Ok(Download::TooLarge { .. }) => Err(StoreError::new(
                StoreOp::Get,
                url,
                ErrorKind::Permanent,
                "an unbounded download stopped as too large",
            )),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn origin_of(&self, key: &Key) -> Origin {
        Origin::S3 {
            bucket: self.bucket.clone(),
            key: self.full(key.as_str()),
            url: self.url_of(key),
        }
    }

    async fn put_copy(
        &self,
        key: &Key,
        from: &Origin,
        size: u64,
        opts: &PutOptions,
    ) -> Result<Written, StoreError> {
        let (bucket, source) = match from {
            Origin::S3 { bucket, key, .. } => (bucket, key),
            Origin::File { path, .. } => return self.put_file(key, path, opts).await,
        };
        self.log(StoreOp::Put, key.as_str());
        let full = self.full(key.as_str());
        let url = self.url_of(key);
        let Some(sha256) = opts.sha256.as_deref() else {
            return Err(StoreError::new(
                StoreOp::Put,
                url,
                ErrorKind::Permanent,
                "a copy needs the SHA-256 of what it copies, to record it with the copy",
            ));
        };
        let meta = Meta {
            content_type: opts.content_type.as_deref(),
            sha256,
        };
        let version = transfer::copy(
            &self.target(&full, &url),
            CopyFrom {
                bucket,
                key: source,
            },
            size,
            Some(&meta),
            StoreOp::Put,
            &self.transfer,
        )
        .await?;
        Ok(Written {
            key: key.clone(),
            version,
        })
    }

    async fn stashes(&self) -> Result<Vec<String>, StoreError> {
        let prefix = self.stash_key("");
        let url = self.url_of_full(&prefix);
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(&prefix)
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| errors::store_error(StoreOp::Stashes, &url, e))?;
            for object in page.contents.unwrap_or_default() {
                if let Some(name) = object.key.as_deref().and_then(|k| k.strip_prefix(&prefix)) {
                    out.push(name.to_string());
                }
            }
        }
        out.sort();
        Ok(out)
    }
}

impl S3Store {
    fn too_many_versions(&self, url: &str) -> StoreError {
        StoreError::new(
            StoreOp::Undo,
            url,
            ErrorKind::Permanent,
            format!(
                "more than {MAX_UNDONE_VERSIONS} versions were written since the change was prepared: refusing to remove more"
            ),
        )
    }
}
