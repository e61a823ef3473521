//! ZIP uploads: every regular file, through the folders inside the archive, unpacked into the job
//! folder under caps. Symbolic links, special files, encrypted members, paths that could escape
//! and names that collide are refused, naming the entry. Archives inside the archive are not
//! opened (as the reference): they are files like any other and need a rule that claims them.

use std::collections::BTreeSet;
use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use super::paths::relative_path;
use super::unpack::{Budget, UnpackError, Unpacked, copy_bounded};
use crate::pipeline::UnpackLimits;

/// One regular file of the archive, unpacked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipMember {
    /// Its normalised path inside the archive.
    pub path: String,
    pub unpacked: Unpacked,
}

/// Folders that macOS adds to archives it makes; never data.
const MACOS_METADATA: &str = "__MACOSX/";

const S_IFMT: u32 = 0o170000;
const S_IFREG: u32 = 0o100000;
const S_IFDIR: u32 = 0o040000;
const S_IFLNK: u32 = 0o120000;

/// Unpacks every regular file of the archive at `archive` under `out`, in archive order.
/// Skipped entries (folders, macOS metadata) are described in the returned notes.
pub fn unpack(
    archive: &Path,
    out: &Path,
    limits: UnpackLimits,
) -> Result<(Vec<ZipMember>, Vec<String>), UnpackError> {
    let refuse = |msg: String| Err(UnpackError::Refused(msg));
    let mut file = fs::File::open(archive)?;
    let declared = declared_entries(&mut file)?;
    let mut zip = match ::zip::ZipArchive::new(file) {
        Ok(z) => z,
        Err(e) => return refuse(format!("not a readable ZIP archive: {e}")),
    };
    // The reader keeps one entry per name, so a repeated name would silently hide a member.
    if let Some(declared) = declared
        && declared != zip.len()
    {
        return refuse(format!(
            "the archive lists {declared} entries but only {} distinct names: an entry name is repeated",
            zip.len()
        ));
    }
    if zip.len() > limits.max_entries {
        return refuse(format!(
            "the archive has {} entries, more than the pipeline's max_archive_entries ({})",
            zip.len(),
            limits.max_entries
        ));
    }
    let mut budget = Budget::new(limits);
    let mut members = Vec::new();
    let mut notes = Vec::new();
    let mut files: BTreeSet<String> = BTreeSet::new();
    let mut folders: BTreeSet<String> = BTreeSet::new();
    for i in 0..zip.len() {
        let mut entry = match zip.by_index(i) {
            Ok(e) => e,
            Err(e) => return refuse(format!("entry {i} cannot be read: {e}")),
        };
        let raw = String::from_utf8_lossy(entry.name_raw()).into_owned();
        if raw.starts_with(MACOS_METADATA) {
            notes.push(format!("skipped macOS metadata {raw}"));
            continue;
        }
        let mode = entry.unix_mode().map(|m| m & S_IFMT).unwrap_or(0);
        if mode == S_IFLNK {
            return refuse(format!(
                "entry {raw:?} is a symbolic link: archives may hold only files and folders"
            ));
        }
        if mode != 0 && mode != S_IFREG && mode != S_IFDIR {
            return refuse(format!(
                "entry {raw:?} is not a regular file (mode {mode:o})"
            ));
        }
        if entry.encrypted() {
            return refuse(format!(
                "entry {raw:?} is encrypted: upload an archive without a password"
            ));
        }
        let path = match relative_path(&raw) {
            Ok(p) => p,
            Err(reason) => return refuse(format!("entry {raw:?} is refused: {reason}")),
        };
        if entry.is_dir() || mode == S_IFDIR {
            folders.insert(path);
            continue;
        }
        if !files.insert(path.clone()) {
            return refuse(format!(
                "entry {raw:?} repeats the path {path} of an earlier entry"
            ));
        }
        let label = format!("entry {raw:?}");
        let compressed = entry.compressed_size();
        let unpacked = copy_bounded(
            &mut entry as &mut dyn Read,
            &out.join(&path),
            &label,
            compressed,
            &mut budget,
        )
        .map_err(|e| match e {
            // A name that is a file here and a folder elsewhere cannot both exist.
            UnpackError::Local(io)
                if matches!(
                    io.kind(),
                    std::io::ErrorKind::AlreadyExists
                        | std::io::ErrorKind::NotADirectory
                        | std::io::ErrorKind::IsADirectory
                ) =>
            {
                UnpackError::Refused(format!(
                    "entry {raw:?} collides with another entry that uses {path} as a file or folder"
                ))
            }
            other => other,
        })?;
        members.push(ZipMember { path, unpacked });
    }
    // A file named like a folder another entry lives in.
    for f in &files {
        if files
            .range(format!("{f}/")..)
            .next()
            .is_some_and(|g| g.starts_with(&format!("{f}/")))
            || folders.contains(f)
        {
            return refuse(format!("the path {f} is both a file and a folder"));
        }
    }
    if members.is_empty() {
        return refuse("the archive holds no files".into());
    }
    Ok((members, notes))
}

/// The entry count the archive's end-of-central-directory record declares; `None` when it
/// cannot tell (ZIP64 archives say 0xFFFF there, or the record is not found: the reader decides).
fn declared_entries(file: &mut fs::File) -> std::io::Result<Option<usize>> {
    let len = file.metadata()?.len();
    // The record is 22 bytes plus a comment of up to 65 535 bytes, at the very end.
    let tail_len = len.min(22 + 65_535);
    file.seek(SeekFrom::Start(len - tail_len))?;
    let mut tail = vec![0u8; tail_len as usize];
    file.read_exact(&mut tail)?;
    file.seek(SeekFrom::Start(0))?;
    let Some(at) = tail.windows(4).rposition(|w| w == [0x50, 0x4b, 0x05, 0x06]) else {
        return Ok(None);
    };
    let Some(count) = tail.get(at + 10..at + 12) else {
        return Ok(None);
    };
    let count = u16::from_le_bytes([count[0], count[1]]);
    Ok((count != u16::MAX).then_some(count as usize))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use ::zip::write::SimpleFileOptions;

    use super::*;

    fn build(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = ::zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, body) in entries {
            if name.ends_with('/') {
                w.add_directory(*name, SimpleFileOptions::default())
                    .unwrap();
            } else {
                w.start_file(*name, SimpleFileOptions::default()).unwrap();
                w.write_all(body).unwrap();
            }
        }
        w.finish().unwrap().into_inner()
    }

    fn run(bytes: &[u8], limits: UnpackLimits) -> Result<Vec<ZipMember>, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("u.zip");
        std::fs::write(&path, bytes).unwrap();
        match unpack(&path, &dir.path().join("out"), limits) {
            Ok((m, _)) => {
                for member in &m {
                    assert_eq!(
                        std::fs::metadata(dir.path().join("out").join(&member.path))
                            .unwrap()
                            .len(),
                        member.unpacked.size
                    );
                }
                Ok(m)
            }
            Err(UnpackError::Refused(r)) => Err(r),
            Err(UnpackError::Local(e)) => panic!("local error {e}"),
        }
    }

    #[test]
    fn every_file_through_folders_is_unpacked() {
        let bytes = build(&[
            ("top.nc", b"1"),
            ("a/", b""),
            ("a/b/deep.nc", b"22"),
            ("__MACOSX/a/._deep.nc", b"junk"),
        ]);
        let members = run(&bytes, UnpackLimits::default()).unwrap();
        let paths: Vec<&str> = members.iter().map(|m| m.path.as_str()).collect();
        assert_eq!(paths, ["top.nc", "a/b/deep.nc"]);
        assert_eq!(members[1].unpacked.size, 2);
    }

    #[test]
    fn hostile_entries_are_refused_by_name() {
        for (name, reason) in [
            ("../evil.nc", "'..'"),
            ("/etc/evil.nc", "absolute"),
            ("a\\evil.nc", "backslash"),
        ] {
            let err = run(&build(&[(name, b"x")]), UnpackLimits::default()).unwrap_err();
            assert!(
                err.contains(name.replace('\\', "\\\\").as_str()) && err.contains(reason),
                "{err}"
            );
        }
        let err = run(
            &build(&[("a/x.nc", b"1"), ("a//x.nc", b"2")]),
            UnpackLimits::default(),
        )
        .unwrap_err();
        assert!(err.contains("repeats the path a/x.nc"), "{err}");
        let err = run(
            &build(&[("a", b"1"), ("a/x.nc", b"2")]),
            UnpackLimits::default(),
        )
        .unwrap_err();
        assert!(
            err.contains("collides") || err.contains("both a file and a folder"),
            "{err}"
        );
    }

    #[test]
    fn symbolic_links_are_refused() {
        let mut w = ::zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        w.add_symlink("link.nc", "/etc/passwd", SimpleFileOptions::default())
            .unwrap();
        let bytes = w.finish().unwrap().into_inner();
        let err = run(&bytes, UnpackLimits::default()).unwrap_err();
        assert!(err.contains("\"link.nc\" is a symbolic link"), "{err}");
    }

    #[test]
    fn a_repeated_raw_name_is_refused_not_hidden() {
        // Two entries written under different names, then renamed to the same name in place.
        let bytes = build(&[("a.nc", b"first"), ("b.nc", b"second")]);
        let patched = replace_all(&bytes, b"b.nc", b"a.nc");
        let err = run(&patched, UnpackLimits::default()).unwrap_err();
        assert!(err.contains("an entry name is repeated"), "{err}");
    }

    #[test]
    fn caps_stop_bombs_and_floods() {
        let zeros = vec![0u8; 3 << 20];
        let err = run(&build(&[("bomb.nc", &zeros)]), UnpackLimits::default()).unwrap_err();
        assert!(err.contains("expands more than 100:1"), "{err}");
        let small = UnpackLimits {
            max_bytes: 1000,
            ..UnpackLimits::default()
        };
        let err = run(
            &build(&[("a.nc", &[1u8; 600]), ("b.nc", &[2u8; 600])]),
            small,
        )
        .unwrap_err();
        assert!(
            err.contains("more than 1000 bytes") && err.contains("b.nc"),
            "{err}"
        );
        let few = UnpackLimits {
            max_entries: 2,
            ..UnpackLimits::default()
        };
        let err = run(&build(&[("a", b"1"), ("b", b"2"), ("c", b"3")]), few).unwrap_err();
        assert!(
            err.contains("3 entries") && err.contains("max_archive_entries"),
            "{err}"
        );
        let err = run(b"PK\x03\x04 not really", UnpackLimits::default()).unwrap_err();
        assert!(err.contains("not a readable ZIP archive"), "{err}");
        let err = run(&build(&[("only/", b"")]), UnpackLimits::default()).unwrap_err();
        assert!(err.contains("holds no files"), "{err}");
    }

    fn replace_all(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
        let mut out = haystack.to_vec();
        let mut i = 0;
        while i + from.len() <= out.len() {
            if &out[i..i + from.len()] == from {
                out[i..i + from.len()].copy_from_slice(to);
                i += from.len();
            } else {
                i += 1;
            }
        }
        out
    }
}
