//! Where a boundary lives: the URL forms every boundary's own URL type shares (a local path or
//! `file://` URL, a scheme), and the error a URL that names nothing usable gives.

use std::path::{Path, PathBuf};

/// A URL that names no usable place for a boundary, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct UrlError {
    pub reason: String,
}

impl UrlError {
    pub fn new(reason: impl Into<String>) -> UrlError {
        UrlError {
            reason: reason.into(),
        }
    }
}

/// The scheme of a URL (`s3` for `s3://…`), or `None` for a plain path.
pub fn scheme(value: &str) -> Option<&str> {
    value.split_once("://").map(|(scheme, _)| scheme)
}

/// A local folder named by a path (`/path`, `./path`) or a `file://` URL; `None` when the value
/// has another scheme (the caller's own, or one it does not know).
pub fn local_path(value: &str) -> Option<Result<PathBuf, UrlError>> {
    match value.strip_prefix("file://") {
        Some(rest) if rest.starts_with('/') => Some(
            url::Url::parse(value)
                .map_err(|e| UrlError::new(e.to_string()))
                .and_then(|url| {
                    url.to_file_path()
                        .map_err(|_| UrlError::new("not a local file URL"))
                }),
        ),
        Some(rest) => Some(Ok(PathBuf::from(rest))),
        None if scheme(value).is_some() => None,
        None => Some(Ok(PathBuf::from(value))),
    }
}

/// The `file://` URL of a local path, as reports and logs show it.
pub fn file_url(path: &Path) -> String {
    url::Url::from_file_path(path)
        .map(|u| u.to_string())
        .unwrap_or_else(|_| format!("file://{}", path.display()))
}

/// The value trimmed, refused when empty.
pub fn non_empty(value: &str) -> Result<&str, UrlError> {
    match value.trim() {
        "" => Err(UrlError::new("empty URL")),
        v => Ok(v),
    }
}

/// The error for a scheme a boundary does not take, listing those it does.
pub fn unknown_scheme(value: &str, expected: &str) -> UrlError {
    match scheme(value) {
        Some(s) => UrlError::new(format!("unknown scheme {s}:// (use {expected})")),
        None => UrlError::new(format!("not a URL this takes (use {expected})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_file_urls_are_local() {
        assert_eq!(
            local_path("file:///tmp/x%20y").unwrap().unwrap(),
            PathBuf::from("/tmp/x y")
        );
        assert_eq!(
            local_path("var/public").unwrap().unwrap(),
            PathBuf::from("var/public")
        );
        assert_eq!(
            local_path("file://rel/dir").unwrap().unwrap(),
            PathBuf::from("rel/dir")
        );
        assert!(local_path("s3://bucket").is_none());
        assert_eq!(scheme("ftp://x"), Some("ftp"));
        assert!(non_empty("  ").is_err());
    }
}
