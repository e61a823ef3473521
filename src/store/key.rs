//! Object keys: the one validated form of a path inside a store, shared by every backend.

use std::fmt;

/// A relative, `/`-separated object key that is safe on every backend: no empty, `.` or `..`
/// segments, none longer than 255 bytes, no leading slash, no backslash or control characters,
/// and nothing under the `.ingest/` prefix that local stores keep for their own bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Key(String);

/// Why a string is not a valid [`Key`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid object key {key:?}: {reason}")]
pub struct InvalidKey {
    pub key: String,
    pub reason: &'static str,
}

/// The longest name one path segment may have, in bytes (a file system's limit).
const MAX_SEGMENT: usize = 255;

/// The prefix local stores reserve for temporary files and rollback copies.
pub const RESERVED_PREFIX: &str = ".ingest";

impl Key {
    pub fn new(key: impl Into<String>) -> Result<Key, InvalidKey> {
        let key = key.into();
        let fail = |reason| {
            Err(InvalidKey {
                key: key.clone(),
                reason,
            })
        };
        if key.is_empty() {
            return fail("it is empty");
        }
        if key.len() > 1024 {
            return fail("it is longer than 1024 bytes");
        }
        if key.starts_with('/') {
            return fail("it starts with '/'");
        }
        if key.contains('\\') {
            return fail("it contains a backslash");
        }
        if key.chars().any(char::is_control) {
            return fail("it contains a control character");
        }
        for segment in key.split('/') {
            match segment {
                "" => return fail("it has an empty path segment"),
                "." | ".." => return fail("it has a '.' or '..' segment"),
                // A file tree (a local store, the public mirror) holds no longer name.
                s if s.len() > MAX_SEGMENT => {
                    return fail("a name in it is longer than 255 bytes");
                }
                _ => {}
            }
        }
        if key.split('/').next() == Some(RESERVED_PREFIX) {
            return fail("the '.ingest/' prefix is reserved");
        }
        Ok(Key(key))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last path segment: the file name.
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    /// This key below `prefix` (which may be empty).
    pub fn under(prefix: &str, rest: &str) -> Result<Key, InvalidKey> {
        let prefix = prefix.trim_matches('/');
        if prefix.is_empty() {
            Key::new(rest)
        } else {
            Key::new(format!("{prefix}/{rest}"))
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Key {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_paths() {
        let key = Key::new("IMOS/ANMN/NRS/NRSMAI/file name.nc").unwrap();
        assert_eq!(key.file_name(), "file name.nc");
        assert_eq!(Key::under("", "a.nc").unwrap().as_str(), "a.nc");
        assert_eq!(Key::under("x/", "a.nc").unwrap().as_str(), "x/a.nc");
    }

    #[test]
    fn refuses_paths_that_could_escape_or_collide() {
        for bad in [
            "",
            "/abs",
            "a//b",
            "a/../b",
            "./a",
            "a\\b",
            "a\u{0}b",
            ".ingest/tmp/x",
            "a/",
        ] {
            assert!(Key::new(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(
            Key::new("a/.ingest/b").is_ok(),
            "only the top-level prefix is reserved"
        );
        assert!(Key::new(format!("a/{}.nc", "x".repeat(252))).is_ok());
        let too_long = Key::new(format!("a/{}.nc", "x".repeat(253))).unwrap_err();
        assert!(
            too_long.reason.contains("longer than 255 bytes"),
            "{too_long}"
        );
    }
}
