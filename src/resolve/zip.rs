//! ZIP uploads: every regular file, through the folders inside the archive, unpacked into the job
//! folder under caps. Symbolic links, special files, encrypted members, paths that could escape
//! and names that collide are refused, naming the entry. Archives inside the archive are not
//! opened (as the reference): they are files like any other and need a rule that claims them.
//!
//! Nothing the archive says about itself is trusted: the entries are counted and their names
//! compared by walking the central directory record by record (ZIP64 included), whatever count
//! its end record declares, and every cap is judged on the bytes actually read and inflated
//! ([`super::unpack`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::Ordering;

use super::paths::relative_path;
use super::unpack::{Budget, Counting, UnpackError, Unpacked, WorkRoom, copy_bounded};
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

/// Unpacks every regular file of the archive at `archive` under `out`, in archive order, within
/// the pipeline's `limits` and the work disk's `room`. Skipped entries (folders, macOS metadata)
/// are described in the returned notes.
pub fn unpack(
    archive: &Path,
    out: &Path,
    limits: UnpackLimits,
    room: Option<WorkRoom>,
) -> Result<(Vec<ZipMember>, Vec<String>), UnpackError> {
    let refuse = |msg: String| Err(UnpackError::Refused(msg));
    let mut file = fs::File::open(archive)?;
    let upload_size = file.metadata()?.len();
    let names = match central_directory(&mut file, limits.max_entries) {
        Ok(names) => names,
        Err(reason) => return refuse(format!("not a readable ZIP archive: {reason}")),
    };
    if names.len() > limits.max_entries {
        return refuse(format!(
            "the archive has at least {} entries, more than the pipeline's max_archive_entries ({})",
            names.len(),
            limits.max_entries
        ));
    }
    // The reader keeps one entry per name, so a repeated name would silently hide a member.
    let mut counts: BTreeMap<&[u8], usize> = BTreeMap::new();
    for name in &names {
        *counts.entry(name.as_slice()).or_default() += 1;
    }
    if let Some((name, n)) = counts.iter().find(|(_, n)| **n > 1) {
        return refuse(format!(
            "entry {:?} appears {n} times in the central directory: an entry name is repeated, which would hide a member",
            String::from_utf8_lossy(name)
        ));
    }
    let (counting, read) = Counting::new(file);
    let mut zip = match ::zip::ZipArchive::new(counting) {
        Ok(z) => z,
        Err(e) => return refuse(format!("not a readable ZIP archive: {e}")),
    };
    if zip.len() != names.len() {
        return refuse(format!(
            "the central directory holds {} entries but the archive declares {}: an entry would be hidden",
            names.len(),
            zip.len()
        ));
    }
    let mut budget = Budget::new(limits, room, upload_size);
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
        // The compressed bytes this member has really read, whatever its header claims.
        let start = read.load(Ordering::Relaxed);
        let consumed = || read.load(Ordering::Relaxed) - start;
        let unpacked = copy_bounded(
            &mut entry as &mut dyn Read,
            &out.join(&path),
            &label,
            &consumed,
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

const END_OF_DIRECTORY: u64 = 0x0605_4b50;
const ZIP64_LOCATOR: u64 = 0x0706_4b50;
const ZIP64_END_OF_DIRECTORY: u64 = 0x0606_4b50;
const DIRECTORY_ENTRY: u64 = 0x0201_4b50;

fn u16_at(b: &[u8], at: usize) -> u64 {
    u16::from_le_bytes([b[at], b[at + 1]]) as u64
}

fn u32_at(b: &[u8], at: usize) -> u64 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("four bytes")) as u64
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("eight bytes"))
}

/// The raw name of every entry of the central directory, found by walking its records one by one
/// from where the end record (or the ZIP64 end record it points to) says the directory starts —
/// never by the entry count either record declares, which a hostile archive forges. Stops after
/// `limit + 1` entries: one more than the cap is enough to refuse.
fn central_directory(file: &mut fs::File, limit: usize) -> Result<Vec<Vec<u8>>, String> {
    let io = |e: std::io::Error| e.to_string();
    let len = file.metadata().map_err(io)?.len();
    // The end record is 22 bytes plus a comment of up to 65 535 bytes, at the very end.
    let tail_len = len.min(22 + 65_535);
    file.seek(SeekFrom::Start(len - tail_len)).map_err(io)?;
    let mut tail = vec![0u8; tail_len as usize];
    file.read_exact(&mut tail).map_err(io)?;
    let at = tail
        .windows(4)
        .rposition(|w| u32_at(w, 0) == END_OF_DIRECTORY)
        .filter(|at| at + 22 <= tail.len())
        .ok_or("no end-of-central-directory record")?;
    let end_pos = len - tail_len + at as u64;
    let end = &tail[at..at + 22];
    let (mut size, mut offset, mut dir_end) = (u32_at(end, 12), u32_at(end, 16), end_pos);
    // A ZIP64 locator sits just before the end record; its record holds the 64-bit fields.
    if end_pos >= 20 {
        let mut locator = [0u8; 20];
        file.seek(SeekFrom::Start(end_pos - 20)).map_err(io)?;
        file.read_exact(&mut locator).map_err(io)?;
        if u32_at(&locator, 0) == ZIP64_LOCATOR {
            let record_pos = u64_at(&locator, 8);
            let mut record = [0u8; 56];
            let found = record_pos
                .checked_add(56)
                .filter(|e| *e <= end_pos)
                .is_some()
                && file.seek(SeekFrom::Start(record_pos)).is_ok()
                && file.read_exact(&mut record).is_ok()
                && u32_at(&record, 0) == ZIP64_END_OF_DIRECTORY;
            if !found {
                return Err("the ZIP64 end record is not where its locator says".into());
            }
            (size, offset, dir_end) = (u64_at(&record, 40), u64_at(&record, 48), record_pos);
        }
    }
    // Data prepended to the archive (a self-extractor) shifts every offset by the same amount.
    let shift = dir_end.saturating_sub(size).saturating_sub(offset);
    let mut start = offset;
    for candidate in [offset, offset.saturating_add(shift)] {
        let mut sig = [0u8; 4];
        if candidate + 4 <= dir_end
            && file.seek(SeekFrom::Start(candidate)).is_ok()
            && file.read_exact(&mut sig).is_ok()
            && u32_at(&sig, 0) == DIRECTORY_ENTRY
        {
            start = candidate;
            break;
        }
    }
    file.seek(SeekFrom::Start(start)).map_err(io)?;
    let mut reader = BufReader::new((&mut *file).take(dir_end.saturating_sub(start)));
    let mut names = Vec::new();
    let mut header = [0u8; 46];
    while names.len() <= limit {
        match reader.read_exact(&mut header) {
            Ok(()) if u32_at(&header, 0) == DIRECTORY_ENTRY => {}
            _ => break,
        }
        let (name_len, extra_len, comment_len) = (
            u16_at(&header, 28),
            u16_at(&header, 30),
            u16_at(&header, 32),
        );
        let mut name = vec![0u8; name_len as usize];
        reader
            .read_exact(&mut name)
            .map_err(|_| "an entry of the central directory is cut short".to_string())?;
        std::io::copy(
            &mut (&mut reader).take(extra_len + comment_len),
            &mut std::io::sink(),
        )
        .map_err(io)?;
        names.push(name);
    }
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    Ok(names)
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
        match unpack(&path, &dir.path().join("out"), limits, None) {
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
