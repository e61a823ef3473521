//! An S3 bucket (or a prefix of one) as an object store: the production backend of every store.
//!
//! Rollback: in a versioned bucket (production), a write's receipt names the version it created
//! (or the delete marker), and `undo` deletes exactly that version, which makes the previous one
//! current again. Where the current object has no version id (an unversioned bucket, or an object
//! from before versioning), the object is first copied to `<prefix>/.ingest/stash/<id>`, which
//! `undo` copies back and `settle` removes. A bucket lifecycle rule expiring `.ingest/stash/` after
//! a few days cleans up after jobs that died between the two.

mod errors;
mod transfer;

use std::path::Path;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use sha2::{Digest, Sha256};

use transfer::{Body, Meta, SHA256_META, Target, real_version};

use super::Transfer;
use super::{
    ErrorKind, Key, ObjectInfo, ObjectStore, PutOptions, RESERVED_PREFIX, StoreError, StoreOp,
    UndoToken, Written,
};
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

    fn target<'a>(&'a self, key: &'a str, url: &'a str) -> Target<'a> {
        Target {
            client: &self.client,
            bucket: &self.bucket,
            key,
            url,
        }
    }

    /// A fresh bucket key for a rollback copy, in the reserved folder no listing shows.
    fn new_stash(&self) -> String {
        self.full(&format!(
            "{RESERVED_PREFIX}/stash/{}",
            uuid::Uuid::now_v7().simple()
        ))
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

    /// Before replacing or deleting `full`: how the change will be undone. An object without a
    /// version id is copied to a stash first, since S3 keeps nothing of it otherwise.
    async fn prepare_change(&self, full: &str, op: StoreOp) -> Result<Prior, StoreError> {
        match self.current(full, op).await? {
            None => Ok(Prior::Absent),
            Some(Current {
                version: Some(_), ..
            }) => Ok(Prior::Versioned),
            Some(Current {
                size,
                version: None,
            }) => {
                let stash = self.new_stash();
                let url = self.url_of_full(full);
                transfer::copy(&self.target(&stash, &url), full, size, op, &self.transfer).await?;
                Ok(Prior::Stashed(stash))
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
        let prior = self.prepare_change(&full, StoreOp::Put).await?;
        let meta = Meta {
            content_type: opts.content_type.as_deref(),
            sha256: &sha256,
        };
        let version =
            match transfer::upload(&self.target(&full, &url), body, &meta, &self.transfer).await {
                Ok(v) => v,
                Err(e) => {
                    // The old object is untouched (S3 writes are atomic); only the stash must go.
                    if let Prior::Stashed(stash) = &prior {
                        let _ = self.delete_full(stash, None, StoreOp::Put).await;
                    }
                    return Err(e);
                }
            };
        let undo = match (prior, &version) {
            (Prior::Stashed(stash), _) => UndoToken::Restore { stash },
            (Prior::Absent, Some(v)) => UndoToken::DeleteVersion { version: v.clone() },
            (Prior::Absent, None) => UndoToken::Remove,
            // A versioned object overwritten while versioning is suspended gets the "null"
            // version; deleting it brings the previous one back all the same.
            (Prior::Versioned, v) => UndoToken::DeleteVersion {
                version: v.clone().unwrap_or_else(|| "null".into()),
            },
        };
        Ok(Written {
            key: key.clone(),
            version,
            undo,
        })
    }
}

/// What was at a key before a change.
enum Prior {
    Absent,
    /// A version the bucket keeps: deleting the new version restores it.
    Versioned,
    /// Copied to this bucket key.
    Stashed(String),
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
        self.log(StoreOp::Get, key.as_str());
        let full = self.full(key.as_str());
        let url = self.url_of(key);
        let got = transfer::download(&self.target(&full, &url), dest).await?;
        Ok(ObjectInfo {
            key: key.clone(),
            size: got.size,
            version: got.version,
            sha256: Some(got.sha256),
            modified: got.modified,
        })
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

    async fn delete(&self, key: &Key) -> Result<Written, StoreError> {
        self.log(StoreOp::Delete, key.as_str());
        let full = self.full(key.as_str());
        let prior = self.prepare_change(&full, StoreOp::Delete).await?;
        if matches!(prior, Prior::Absent) {
            return Ok(Written {
                key: key.clone(),
                version: None,
                undo: UndoToken::Nothing,
            });
        }
        let marker = match self.delete_full(&full, None, StoreOp::Delete).await {
            Ok(m) => m,
            Err(e) => {
                if let Prior::Stashed(stash) = &prior {
                    let _ = self.delete_full(stash, None, StoreOp::Delete).await;
                }
                return Err(e);
            }
        };
        let undo = match prior {
            Prior::Stashed(stash) => UndoToken::Restore { stash },
            // The delete left a marker; removing the marker makes the object current again.
            _ => UndoToken::DeleteVersion {
                version: marker.clone().unwrap_or_else(|| "null".into()),
            },
        };
        Ok(Written {
            key: key.clone(),
            version: real_version(marker),
            undo,
        })
    }

    async fn remove(&self, key: &Key) -> Result<(), StoreError> {
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

    async fn undo(&self, written: &Written) -> Result<(), StoreError> {
        self.log(StoreOp::Undo, written.key.as_str());
        let full = self.full(written.key.as_str());
        match &written.undo {
            UndoToken::Nothing => Ok(()),
            UndoToken::Remove => self
                .delete_full(&full, None, StoreOp::Undo)
                .await
                .map(|_| ()),
            UndoToken::DeleteVersion { version } => self
                .delete_full(&full, Some(version), StoreOp::Undo)
                .await
                .map(|_| ()),
            UndoToken::Restore { stash } => {
                let url = self.url_of(&written.key);
                let size = match self.current(stash, StoreOp::Undo).await? {
                    Some(c) => c.size,
                    None => {
                        return Err(StoreError::new(
                            StoreOp::Undo,
                            url,
                            ErrorKind::Permanent,
                            format!(
                                "the rollback copy {} is gone, so the previous object cannot be restored",
                                self.url_of_full(stash)
                            ),
                        ));
                    }
                };
                transfer::copy(
                    &self.target(&full, &url),
                    stash,
                    size,
                    StoreOp::Undo,
                    &self.transfer,
                )
                .await?;
                self.delete_full(stash, None, StoreOp::Undo)
                    .await
                    .map(|_| ())
            }
        }
    }

    async fn settle(&self, written: &Written) -> Result<(), StoreError> {
        self.log(StoreOp::Settle, written.key.as_str());
        match &written.undo {
            UndoToken::Restore { stash } => self
                .delete_full(stash, None, StoreOp::Settle)
                .await
                .map(|_| ()),
            _ => Ok(()),
        }
    }
}
