//! Paths that come from an upload (archive member names, manifest entries), made safe: relative,
//! normalised, never outside the collection or the manifest's own folder.

use crate::store::Key;

/// Normalises an archive member or manifest path: `/`-separated, relative, with `.` and empty
/// segments dropped. Refuses absolute paths, drive letters, backslashes and any `..` segment
/// (even one that would stay inside: a provider never needs it and it hides intent).
pub fn relative_path(raw: &str) -> Result<String, String> {
    if raw.is_empty() {
        return Err("the path is empty".into());
    }
    if raw.starts_with('/') {
        return Err("the path is absolute".into());
    }
    if raw.contains('\\') {
        return Err("the path contains a backslash (use '/' between folders)".into());
    }
    let bytes = raw.as_bytes();
    if bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic() {
        return Err("the path starts with a drive letter".into());
    }
    let mut segments = Vec::new();
    for segment in raw.split('/') {
        match segment {
            "" | "." => {}
            ".." => return Err("the path has a '..' segment".into()),
            s => segments.push(s),
        }
    }
    if segments.is_empty() {
        return Err("the path names no file".into());
    }
    let joined = segments.join("/");
    Key::new(joined.clone()).map_err(|e| e.reason.to_string())?;
    Ok(joined)
}

/// Where the entries of one manifest may come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestScope {
    /// The manifest's folder as a key prefix (`ANMN/NRS`; empty at the root): relative entries
    /// start here.
    pub folder: String,
    /// How an absolute entry spells that folder (`ANMN/NRS` in a store; the folder's absolute
    /// path for a local manifest), without leading or trailing `/`.
    pub absolute_folder: String,
}

impl ManifestScope {
    /// The scope of a manifest stored under `key` in the incoming store.
    pub fn for_key(key: &str) -> ManifestScope {
        let folder = key.rsplit_once('/').map_or("", |(dir, _)| dir).to_string();
        ManifestScope {
            absolute_folder: folder.clone(),
            folder,
        }
    }

    /// The scope of a manifest read from a local folder.
    pub fn for_folder(dir: &std::path::Path) -> ManifestScope {
        ManifestScope {
            folder: String::new(),
            absolute_folder: dir.to_string_lossy().trim_matches('/').to_string(),
        }
    }

    /// How the scope reads in messages.
    pub fn describe(&self) -> String {
        if self.absolute_folder.is_empty() {
            "the top of the incoming store".into()
        } else {
            format!("{}/", self.absolute_folder)
        }
    }

    /// A key this scope made, relative to the manifest's folder (what the manifest named).
    pub fn relative<'k>(&self, key: &'k Key) -> &'k str {
        let k = key.as_str();
        if self.folder.is_empty() {
            return k;
        }
        k.strip_prefix(self.folder.as_str())
            .and_then(|rest| rest.strip_prefix('/'))
            .unwrap_or(k)
    }

    /// The key one manifest entry names: relative to the manifest's folder, or absolute but
    /// inside it. Anything else is refused with the reason.
    pub fn key_for(&self, raw: &str) -> Result<Key, String> {
        let raw = raw.trim();
        if raw.contains("://") {
            return Err(format!(
                "{raw:?} is a URL; name the file relative to the manifest's folder {}",
                self.describe()
            ));
        }
        let relative = match raw.strip_prefix('/') {
            Some(absolute) => {
                let inside = if self.absolute_folder.is_empty() {
                    Some(absolute)
                } else {
                    absolute
                        .strip_prefix(self.absolute_folder.as_str())
                        .and_then(|rest| rest.strip_prefix('/'))
                };
                inside.ok_or_else(|| {
                    format!(
                        "{raw:?} is outside the manifest's folder {}: a manifest may name only files under its own folder",
                        self.describe()
                    )
                })?
            }
            None => raw,
        };
        let relative = relative_path(relative).map_err(|reason| format!("{raw:?}: {reason}"))?;
        Key::under(&self.folder, &relative).map_err(|e| format!("{raw:?}: {}", e.reason))
    }
}

/// The last segment of a `/`-separated path: the file name rules are matched against.
pub fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_paths_are_normalised_or_refused_with_the_reason() {
        assert_eq!(relative_path("a/./b//c.nc").unwrap(), "a/b/c.nc");
        assert_eq!(relative_path("c.nc").unwrap(), "c.nc");
        for (bad, reason) in [
            ("../evil.nc", "'..'"),
            ("a/../../evil.nc", "'..'"),
            ("a/../b.nc", "'..'"),
            ("/etc/passwd", "absolute"),
            ("C:/x.nc", "drive letter"),
            ("a\\b.nc", "backslash"),
            ("", "empty"),
            ("./", "names no file"),
            ("a/b\u{7}.nc", "control character"),
        ] {
            let err = relative_path(bad).unwrap_err();
            assert!(err.contains(reason), "{bad:?}: {err}");
        }
    }

    #[test]
    fn manifest_entries_stay_in_the_manifests_folder() {
        let scope = ManifestScope::for_key("ANMN/NRS/upload.manifest");
        assert_eq!(scope.key_for("a.nc").unwrap().as_str(), "ANMN/NRS/a.nc");
        assert_eq!(
            scope.key_for(" sub/a.nc ").unwrap().as_str(),
            "ANMN/NRS/sub/a.nc"
        );
        assert_eq!(
            scope.key_for("/ANMN/NRS/a.nc").unwrap().as_str(),
            "ANMN/NRS/a.nc"
        );
        for (bad, reason) in [
            (
                "/ANMN/OTHER/a.nc",
                "outside the manifest's folder ANMN/NRS/",
            ),
            ("/ANMN/NRSX/a.nc", "outside"),
            ("/tmp/tmpabc/test_manifest.nc", "outside"),
            ("../SOOP/a.nc", "'..'"),
            ("s3://bucket/ANMN/NRS/a.nc", "is a URL"),
            ("", "empty"),
        ] {
            let err = scope.key_for(bad).unwrap_err();
            assert!(err.contains(reason), "{bad:?}: {err}");
        }
        let root = ManifestScope::for_key("x.manifest");
        assert_eq!(root.key_for("/a/b.nc").unwrap().as_str(), "a/b.nc");
    }

    #[test]
    fn a_key_reads_back_as_the_path_the_manifest_named() {
        let scope = ManifestScope::for_key("Argo/dac/x.rsync_manifest");
        for named in [
            "csiro/1/D1_001.nc",
            "/Argo/dac/csiro/1/D1_001.nc",
            "./csiro//1/D1_001.nc",
        ] {
            let key = scope.key_for(named).unwrap();
            assert_eq!(scope.relative(&key), "csiro/1/D1_001.nc", "{named}");
        }
        let root = ManifestScope::for_key("x.manifest");
        assert_eq!(root.relative(&root.key_for("a/b.nc").unwrap()), "a/b.nc");
    }

    #[test]
    fn a_local_manifest_may_name_absolute_paths_inside_its_folder() {
        let scope = ManifestScope::for_folder(std::path::Path::new("/data/upload"));
        assert_eq!(
            scope.key_for("/data/upload/x/a.nc").unwrap().as_str(),
            "x/a.nc"
        );
        assert_eq!(scope.key_for("a.nc").unwrap().as_str(), "a.nc");
        assert!(scope.key_for("/data/other/a.nc").is_err());
    }
}
