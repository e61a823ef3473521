//! What a job ingests: a local file, or an object in the incoming store, named on the command
//! line as a path, a `file://` URI or an `s3://` URI.

use std::path::{Path, PathBuf};

use crate::settings::{KeyEncoding, Settings};
use crate::store::{Key, StoreUrl};
use crate::vars;

/// The upload a job ingests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file on this machine outside the incoming store. It is read, never moved or removed.
    LocalFile(PathBuf),
    /// An object in the incoming store, removed once it is safe in the archive or error store.
    Incoming(Key),
}

/// A source argument that names nothing the job can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{arg}: {reason}")]
pub struct SourceError {
    pub arg: String,
    pub reason: String,
}

impl Source {
    /// Interprets a command-line source. A local path inside a local incoming store becomes that
    /// store's key, so it is handled exactly as an upload would be.
    pub fn parse(arg: &str, settings: &Settings) -> Result<Source, SourceError> {
        let fail = |reason: String| SourceError {
            arg: arg.to_string(),
            reason,
        };
        if let Some(rest) = arg.strip_prefix("s3://") {
            let (bucket, key) = rest
                .split_once('/')
                .ok_or_else(|| fail("an s3:// source needs a key after the bucket".into()))?;
            let key = source_key(key, settings).map_err(|e| fail(e.reason))?;
            return Source::incoming_object(Some(bucket), &key, settings)
                .map_err(|e| fail(e.reason));
        }
        let path = match crate::location::local_path(arg) {
            Some(Ok(p)) => p,
            Some(Err(e)) => return Err(fail(e.reason)),
            None => {
                return Err(fail(format!(
                    "{}:// is not a source; give a path, file:// or s3:// URI",
                    crate::location::scheme(arg).unwrap_or_default()
                )));
            }
        };
        let meta = std::fs::metadata(&path).map_err(|e| fail(format!("cannot read it: {e}")))?;
        if !meta.is_file() {
            return Err(fail("not a regular file".into()));
        }
        let path = path.canonicalize().map_err(|e| fail(e.to_string()))?;
        if let StoreUrl::Local(dir) = &settings.incoming
            && let Some(key) = key_inside(dir, &path)
        {
            return Ok(Source::Incoming(key));
        }
        Ok(Source::LocalFile(path))
    }

    /// An object of the incoming store named by its key in the bucket (events, `--incoming-key`),
    /// already decoded. `bucket`, when given, must be the incoming store's; a key outside the
    /// store's prefix is refused. With a local incoming store the key is relative to its folder.
    pub fn incoming_object(
        bucket: Option<&str>,
        bucket_key: &str,
        settings: &Settings,
    ) -> Result<Source, SourceError> {
        let fail = |reason: String| SourceError {
            arg: match bucket {
                Some(b) => format!("s3://{b}/{bucket_key}"),
                None => bucket_key.to_string(),
            },
            reason,
        };
        let key = match (&settings.incoming, bucket) {
            (StoreUrl::S3 { bucket: b, prefix }, given) if given.is_none_or(|g| g == b) => {
                if prefix.is_empty() {
                    bucket_key
                } else {
                    bucket_key
                        .strip_prefix(prefix.as_str())
                        .and_then(|k| k.strip_prefix('/'))
                        .ok_or_else(|| {
                            fail(format!(
                                "the key is outside the incoming store's prefix {prefix}/"
                            ))
                        })?
                }
            }
            (StoreUrl::Local(_), None) => bucket_key,
            // An S3 store without a bucket given is the first arm: only another bucket is left.
            (other, bucket) => {
                let bucket = bucket.unwrap_or_default();
                return Err(fail(format!(
                    "the bucket {bucket} is not the incoming store ({other}); set {}=s3://{bucket}",
                    vars::INCOMING_URL
                )));
            }
        };
        Key::new(key)
            .map(Source::Incoming)
            .map_err(|e| fail(e.to_string()))
    }

    /// The file name of the upload.
    pub fn name(&self) -> &str {
        match self {
            Source::LocalFile(p) => p.file_name().and_then(|n| n.to_str()).unwrap_or("upload"),
            Source::Incoming(k) => k.file_name(),
        }
    }
}

/// A key as given on the command line, decoded when INGEST_SOURCE_KEY_ENCODING=url.
pub fn source_key(given: &str, settings: &Settings) -> Result<String, SourceError> {
    match settings.source_key_encoding {
        KeyEncoding::Raw => Ok(given.to_string()),
        KeyEncoding::Url => crate::events::decode_event_key(given).map_err(|e| SourceError {
            arg: given.to_string(),
            reason: format!("{e} ({}=url)", vars::SOURCE_KEY_ENCODING),
        }),
    }
}

fn key_inside(dir: &Path, path: &Path) -> Option<Key> {
    let dir = dir.canonicalize().ok()?;
    let rel = path.strip_prefix(&dir).ok()?;
    Key::new(rel.to_str()?.replace(std::path::MAIN_SEPARATOR, "/")).ok()
}
