//! What a job ingests: a local file, or an object in the incoming store, named on the command
//! line as a path, a `file://` URI or an `s3://` URI.

use std::path::{Path, PathBuf};

use crate::settings::{BoundaryUrl, Settings};
use crate::store::Key;

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
            return match &settings.incoming {
                BoundaryUrl::S3 { bucket: b, prefix } if b == bucket => {
                    let key = if prefix.is_empty() {
                        key
                    } else {
                        key.strip_prefix(prefix.as_str())
                            .and_then(|k| k.strip_prefix('/'))
                            .ok_or_else(|| {
                                fail(format!(
                                    "the key is outside the incoming store's prefix {prefix}/"
                                ))
                            })?
                    };
                    Key::new(key)
                        .map(Source::Incoming)
                        .map_err(|e| fail(e.to_string()))
                }
                other => Err(fail(format!(
                    "the bucket {bucket} is not the incoming store ({}); set INGEST_INCOMING_URL=s3://{bucket}",
                    other.to_url()
                ))),
            };
        }
        let path = match BoundaryUrl::parse(arg) {
            Ok(BoundaryUrl::Local(p)) => p,
            Ok(other) => {
                return Err(fail(format!(
                    "{} is not a source; give a path, file:// or s3:// URI",
                    other.scheme()
                )));
            }
            Err(e) => return Err(fail(e)),
        };
        let meta = std::fs::metadata(&path).map_err(|e| fail(format!("cannot read it: {e}")))?;
        if !meta.is_file() {
            return Err(fail("not a regular file".into()));
        }
        let path = path.canonicalize().map_err(|e| fail(e.to_string()))?;
        if let BoundaryUrl::Local(dir) = &settings.incoming
            && let Some(key) = key_inside(dir, &path)
        {
            return Ok(Source::Incoming(key));
        }
        Ok(Source::LocalFile(path))
    }

    /// The file name of the upload.
    pub fn name(&self) -> &str {
        match self {
            Source::LocalFile(p) => p.file_name().and_then(|n| n.to_str()).unwrap_or("upload"),
            Source::Incoming(k) => k.file_name(),
        }
    }
}

fn key_inside(dir: &Path, path: &Path) -> Option<Key> {
    let dir = dir.canonicalize().ok()?;
    let rel = path.strip_prefix(&dir).ok()?;
    Key::new(rel.to_str()?.replace(std::path::MAIN_SEPARATOR, "/")).ok()
}
