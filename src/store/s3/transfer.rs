//! Moving bytes to, from and within S3 without holding an object in memory: streamed downloads
//! (hashed on the way), single-request uploads from a file, multipart uploads and copies in parts
//! above a threshold.

use std::path::Path;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart};
use futures::{StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::errors::store_error;
use crate::store::local::io_error;
use crate::store::{ErrorKind, StoreError, StoreOp, Transfer};

/// S3 allows at most this many parts in one multipart upload.
const MAX_PARTS: u64 = 10_000;
/// A single CopyObject request copies at most 5 GiB.
const MAX_SINGLE_COPY: u64 = 5 * 1024 * 1024 * 1024;

/// One object of one bucket, with its URL for error messages.
pub(super) struct Target<'a> {
    pub client: &'a Client,
    pub bucket: &'a str,
    pub key: &'a str,
    pub url: &'a str,
}

/// What an upload sends.
pub(super) enum Body<'a> {
    File { path: &'a Path, size: u64 },
    Bytes(Vec<u8>),
}

/// How the object is described.
pub(super) struct Meta<'a> {
    pub content_type: Option<&'a str>,
    pub sha256: &'a str,
}

/// The metadata key that holds an object's hex SHA-256.
pub(super) const SHA256_META: &str = "sha256";

/// Uploads a body; returns the version id S3 gave the new object, if any.
pub(super) async fn upload(
    t: &Target<'_>,
    body: Body<'_>,
    meta: &Meta<'_>,
    transfer: &Transfer,
) -> Result<Option<String>, StoreError> {
    let (stream, size) = match body {
        Body::File { path, size } if size >= transfer.multipart_threshold => {
            return upload_in_parts(t, path, size, meta, transfer).await;
        }
        Body::File { path, size } => (
            ByteStream::read_from()
                .path(path)
                .build()
                .await
                .map_err(|e| {
                    StoreError::new(
                        StoreOp::Put,
                        t.url,
                        ErrorKind::Permanent,
                        format!("cannot read {}: {e}", path.display()),
                    )
                })?,
            size,
        ),
        Body::Bytes(bytes) => {
            let size = bytes.len() as u64;
            (ByteStream::from(bytes), size)
        }
    };
    let out = t
        .client
        .put_object()
        .bucket(t.bucket)
        .key(t.key)
        .set_content_type(meta.content_type.map(str::to_string))
        .content_length(size as i64)
        .metadata(SHA256_META, meta.sha256)
        .body(stream)
        .send()
        .await
        .map_err(|e| store_error(StoreOp::Put, t.url, e))?;
    Ok(real_version(out.version_id))
}

/// The part size for an object: the configured size, grown so the parts fit S3's limit.
pub(super) fn part_size(size: u64, configured: u64) -> u64 {
    configured.max(size.div_ceil(MAX_PARTS))
}

async fn upload_in_parts(
    t: &Target<'_>,
    path: &Path,
    size: u64,
    meta: &Meta<'_>,
    transfer: &Transfer,
) -> Result<Option<String>, StoreError> {
    let created = t
        .client
        .create_multipart_upload()
        .bucket(t.bucket)
        .key(t.key)
        .set_content_type(meta.content_type.map(str::to_string))
        .metadata(SHA256_META, meta.sha256)
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .send()
        .await
        .map_err(|e| store_error(StoreOp::Put, t.url, e))?;
    let upload_id = created.upload_id.ok_or_else(|| {
        StoreError::new(
            StoreOp::Put,
            t.url,
            ErrorKind::Transient,
            "S3 started a multipart upload without an upload id",
        )
    })?;
    let part = part_size(size, transfer.part_size);
    let parts = size.div_ceil(part).max(1);
    let uploaded: Result<Vec<CompletedPart>, StoreError> = futures::stream::iter(1..=parts)
        .map(|n| {
            let offset = (n - 1) * part;
            let length = part.min(size - offset);
            let upload_id = upload_id.clone();
            async move {
                // Each part streams from its slice of the file; the SDK can re-read it to retry.
                let body = ByteStream::read_from()
                    .path(path)
                    .offset(offset)
                    .length(Length::Exact(length))
                    .build()
                    .await
                    .map_err(|e| {
                        StoreError::new(
                            StoreOp::Put,
                            t.url,
                            ErrorKind::Permanent,
                            format!("cannot read {}: {e}", path.display()),
                        )
                    })?;
                let out = t
                    .client
                    .upload_part()
                    .bucket(t.bucket)
                    .key(t.key)
                    .upload_id(upload_id)
                    .part_number(n as i32)
                    .content_length(length as i64)
                    .checksum_algorithm(ChecksumAlgorithm::Crc32)
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| store_error(StoreOp::Put, t.url, e))?;
                Ok(CompletedPart::builder()
                    .part_number(n as i32)
                    .set_e_tag(out.e_tag)
                    .set_checksum_crc32(out.checksum_crc32)
                    .build())
            }
        })
        .buffered(transfer.concurrency.max(1))
        .try_collect()
        .await;
    complete(t, &upload_id, uploaded, StoreOp::Put).await
}

/// Completes a multipart upload from its parts, or aborts it when a part failed or the completion
/// itself fails. Returns the version the completion created.
async fn complete(
    t: &Target<'_>,
    upload_id: &str,
    parts: Result<Vec<CompletedPart>, StoreError>,
    op: StoreOp,
) -> Result<Option<String>, StoreError> {
    let completed = match parts {
        Ok(parts) => parts,
        Err(e) => {
            abort(t, upload_id).await;
            return Err(e);
        }
    };
    let done = t
        .client
        .complete_multipart_upload()
        .bucket(t.bucket)
        .key(t.key)
        .upload_id(upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(completed))
                .build(),
        )
        .send()
        .await;
    match done {
        Ok(out) => Ok(real_version(out.version_id)),
        Err(e) => {
            abort(t, upload_id).await;
            Err(store_error(op, t.url, e))
        }
    }
}

/// Drops the parts of a failed upload so they neither linger nor cost storage.
async fn abort(t: &Target<'_>, upload_id: &str) {
    if let Err(e) = t
        .client
        .abort_multipart_upload()
        .bucket(t.bucket)
        .key(t.key)
        .upload_id(upload_id)
        .send()
        .await
    {
        tracing::warn!(url = t.url, upload_id, error = %aws_sdk_s3::error::DisplayErrorContext(&e), "could not abort a failed multipart upload; a lifecycle rule for incomplete uploads will remove its parts");
    }
}

/// The object a copy reads: a key of the target's bucket or of another bucket S3 can read with
/// the same credentials.
pub(super) struct CopyFrom<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
}

/// Copies an object server-side, in parts when large. Without `meta` the source's metadata and
/// content type are carried over; with it they are replaced (an upload from a provider carries
/// no SHA-256 of ours).
pub(super) async fn copy(
    t: &Target<'_>,
    from: CopyFrom<'_>,
    size: u64,
    meta: Option<&Meta<'_>>,
    op: StoreOp,
    transfer: &Transfer,
) -> Result<Option<String>, StoreError> {
    let source = copy_source(from.bucket, from.key);
    let metadata = meta.map(|m| {
        std::collections::HashMap::from([(SHA256_META.to_string(), m.sha256.to_string())])
    });
    let content_type = meta.and_then(|m| m.content_type.map(str::to_string));
    if size < transfer.multipart_threshold.min(MAX_SINGLE_COPY) {
        let directive = meta.map(|_| aws_sdk_s3::types::MetadataDirective::Replace);
        let out = t
            .client
            .copy_object()
            .bucket(t.bucket)
            .key(t.key)
            .copy_source(source)
            .set_metadata_directive(directive)
            .set_metadata(metadata)
            .set_content_type(content_type)
            .send()
            .await
            .map_err(|e| store_error(op, t.url, e))?;
        return Ok(real_version(out.version_id));
    }
    // UploadPartCopy does not carry metadata over: read it from the source (unless replaced)
    // and set it anew.
    let (content_type, metadata) = match meta {
        Some(_) => (content_type, metadata),
        None => {
            let head = t
                .client
                .head_object()
                .bucket(from.bucket)
                .key(from.key)
                .send()
                .await
                .map_err(|e| store_error(op, t.url, e))?;
            (head.content_type, head.metadata)
        }
    };
    let created = t
        .client
        .create_multipart_upload()
        .bucket(t.bucket)
        .key(t.key)
        .set_content_type(content_type)
        .set_metadata(metadata)
        .send()
        .await
        .map_err(|e| store_error(op, t.url, e))?;
    let upload_id = created.upload_id.ok_or_else(|| {
        StoreError::new(
            op,
            t.url,
            ErrorKind::Transient,
            "S3 started a multipart copy without an upload id",
        )
    })?;
    let part = part_size(size, transfer.part_size);
    let parts = size.div_ceil(part).max(1);
    let copied: Result<Vec<CompletedPart>, StoreError> = futures::stream::iter(1..=parts)
        .map(|n| {
            let first = (n - 1) * part;
            let last = (first + part).min(size) - 1;
            let (upload_id, source) = (upload_id.clone(), source.clone());
            async move {
                let out = t
                    .client
                    .upload_part_copy()
                    .bucket(t.bucket)
                    .key(t.key)
                    .upload_id(upload_id)
                    .part_number(n as i32)
                    .copy_source(source)
                    .copy_source_range(format!("bytes={first}-{last}"))
                    .send()
                    .await
                    .map_err(|e| store_error(op, t.url, e))?;
                Ok(CompletedPart::builder()
                    .part_number(n as i32)
                    .set_e_tag(out.copy_part_result.and_then(|r| r.e_tag))
                    .build())
            }
        })
        .buffered(transfer.concurrency.max(1))
        .try_collect()
        .await;
    complete(t, &upload_id, copied, op).await
}

/// What a download learnt about the object.
pub(super) struct Downloaded {
    pub size: u64,
    pub version: Option<String>,
    /// SHA-256 of the bytes written (equal to the recorded one, where the object records one).
    pub sha256: String,
    /// The object's Last-Modified time.
    pub modified: Option<chrono::DateTime<chrono::Utc>>,
}

/// An SDK timestamp as a chrono time (`None` out of chrono's range).
pub(super) fn to_chrono(t: &aws_smithy_types::DateTime) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

/// What a download did.
pub(super) enum Download {
    Done(Downloaded),
    /// The response said the object is larger than allowed: its body was not read.
    TooLarge {
        size: u64,
        modified: Option<chrono::DateTime<chrono::Utc>>,
    },
}

/// Streams an object into `dest` (or only through the hash, with no `dest`), checking its length
/// and, where the object records one, its SHA-256. An object larger than `max` bytes (by the
/// response's length, before any byte of the body is read) is left unread.
pub(super) async fn download(
    t: &Target<'_>,
    dest: Option<&Path>,
    max: Option<u64>,
) -> Result<Download, StoreError> {
    let out = t
        .client
        .get_object()
        .bucket(t.bucket)
        .key(t.key)
        .send()
        .await
        .map_err(|e| store_error(StoreOp::Get, t.url, e))?;
    let expected = out.content_length.map(|n| n as u64);
    let recorded_sha256 = out
        .metadata
        .as_ref()
        .and_then(|m| m.get(SHA256_META))
        .map(|s| s.to_ascii_lowercase());
    let version = real_version(out.version_id).or(out.e_tag);
    let modified = out.last_modified.as_ref().and_then(to_chrono);
    if let (Some(max), Some(size)) = (max, expected)
        && size > max
    {
        return Ok(Download::TooLarge { size, modified });
    }
    let mut body = out.body;
    let mut file = match dest {
        Some(dest) => Some(
            tokio::fs::File::create(dest)
                .await
                .map_err(|e| io_error(StoreOp::Get, t.url, e))?,
        ),
        None => None,
    };
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| {
            StoreError::new(
                StoreOp::Get,
                t.url,
                ErrorKind::Transient,
                format!("the download broke off after {size} bytes: {e}"),
            )
        })?;
        hasher.update(&chunk);
        size += chunk.len() as u64;
        if let Some(file) = file.as_mut() {
            file.write_all(&chunk)
                .await
                .map_err(|e| io_error(StoreOp::Get, t.url, e))?;
        }
    }
    if let Some(file) = file.as_mut() {
        file.flush()
            .await
            .map_err(|e| io_error(StoreOp::Get, t.url, e))?;
    }
    if let Some(expected) = expected.filter(|&n| n != size) {
        // A short read is the network's doing: the object itself may be whole.
        return Err(StoreError::new(
            StoreOp::Get,
            t.url,
            ErrorKind::Transient,
            format!("the download ended after {size} of {expected} bytes"),
        ));
    }
    let actual = hex::encode(hasher.finalize());
    if let Some(recorded) = recorded_sha256.filter(|recorded| *recorded != actual) {
        // The whole object arrived, but it is not what was stored: a retry reads the same
        // bytes again, so this needs a person (restore a version, or re-upload).
        return Err(StoreError::new(
            StoreOp::Get,
            t.url,
            ErrorKind::Permanent,
            format!(
                "the object is corrupt: its content has SHA-256 {actual} but its metadata records {recorded}; restore an earlier version or upload it again"
            ),
        ));
    }
    Ok(Download::Done(Downloaded {
        size,
        version,
        sha256: actual,
        modified,
    }))
}

/// A version id that names a version: S3 answers "null" for objects written while the bucket
/// was not versioned.
pub(super) fn real_version(version: Option<String>) -> Option<String> {
    version.filter(|v| !v.is_empty() && v != "null")
}

/// `bucket/key` as CopyObject wants it: the key percent-encoded, `/` kept.
fn copy_source(bucket: &str, key: &str) -> String {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    const KEEP: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'/')
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    format!("{bucket}/{}", utf8_percent_encode(key, KEEP))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_grow_to_fit_the_part_limit() {
        const MIB: u64 = 1024 * 1024;
        assert_eq!(part_size(11 * MIB, 5 * MIB), 5 * MIB);
        let huge = 200 * 1024 * MIB;
        assert!(huge.div_ceil(part_size(huge, 16 * MIB)) <= MAX_PARTS);
    }

    #[test]
    fn copy_sources_are_encoded_but_keep_slashes() {
        assert_eq!(copy_source("b", "a b/c+d.nc"), "b/a%20b/c%2Bd.nc");
        assert_eq!(real_version(Some("null".into())), None);
        assert_eq!(real_version(Some("3HL4".into())).as_deref(), Some("3HL4"));
    }
}
