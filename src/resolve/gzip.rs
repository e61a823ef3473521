//! gzip uploads: one file, named by dropping the `.gz` (`x.nc.gz` → `x.nc`, `x.gz` → `x`),
//! decompressed under the same caps as archives. Tar archives (`.tgz`, `.tar.gz`) are refused:
//! upload a ZIP instead. The decompressed file is not opened further (a `.zip.gz` gives a `.zip`
//! file, which a rule must claim like any other).

use std::path::Path;

use std::sync::atomic::Ordering;

use super::unpack::{Budget, Counting, UnpackError, Unpacked, WorkRoom, copy_bounded};
use crate::pipeline::UnpackLimits;

/// The name of the file inside a gzip upload, or why there is none.
pub fn inner_name(upload: &str) -> Result<String, String> {
    let lower = upload.to_ascii_lowercase();
    if lower.ends_with(".tgz") || lower.ends_with(".tar.gz") {
        return Err("tar archives are not accepted; put the files in a ZIP archive instead".into());
    }
    let stem = if lower.ends_with(".gz") {
        &upload[..upload.len() - 3]
    } else {
        upload
    };
    if stem.is_empty() || stem.ends_with('.') {
        return Err("the name leaves nothing once .gz is removed; name it like data.nc.gz".into());
    }
    Ok(stem.to_string())
}

/// Decompresses `src` (all gzip members, as `gunzip` does) into `dest`, within the pipeline's
/// `limits` and the work disk's `room`. The ratio divides by the bytes actually read (the size
/// the gzip trailer declares is never used).
pub fn gunzip(
    src: &Path,
    dest: &Path,
    limits: UnpackLimits,
    room: Option<WorkRoom>,
) -> Result<Unpacked, UnpackError> {
    let file = std::fs::File::open(src)?;
    let upload_size = file.metadata()?.len();
    let (counting, read) = Counting::new(file);
    let mut decoder = flate2::read::MultiGzDecoder::new(std::io::BufReader::new(counting));
    let label = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut budget = Budget::new(limits, room, upload_size);
    let consumed = || read.load(Ordering::Relaxed);
    copy_bounded(&mut decoder, dest, &label, &consumed, &mut budget).map_err(|e| match e {
        UnpackError::Refused(r) if r.contains("cannot be unpacked") => {
            UnpackError::Refused(format!("not a valid gzip file: {r}"))
        }
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn the_inner_name_drops_only_the_gz() {
        assert_eq!(inner_name("x.nc.gz").unwrap(), "x.nc");
        assert_eq!(inner_name("X.NC.GZ").unwrap(), "X.NC");
        assert_eq!(inner_name("x.gz").unwrap(), "x");
        assert_eq!(inner_name("a.b.c.gz").unwrap(), "a.b.c");
        assert!(inner_name("x.tgz").unwrap_err().contains("tar"));
        assert!(inner_name("x.tar.gz").unwrap_err().contains("tar"));
        assert!(inner_name(".gz").is_err());
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn decompresses_and_enforces_the_caps() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("x.nc.gz");
        std::fs::write(&src, gz(b"hello")).unwrap();
        let out = gunzip(
            &src,
            &dir.path().join("x.nc"),
            UnpackLimits::default(),
            None,
        )
        .unwrap();
        assert_eq!(out.size, 5);
        assert_eq!(std::fs::read(dir.path().join("x.nc")).unwrap(), b"hello");

        std::fs::write(&src, gz(&vec![0u8; 4 << 20])).unwrap();
        let err = gunzip(
            &src,
            &dir.path().join("bomb"),
            UnpackLimits::default(),
            None,
        )
        .unwrap_err();
        assert!(
            matches!(&err, UnpackError::Refused(r) if r.contains("expands more than 100:1")),
            "{err:?}"
        );

        std::fs::write(&src, b"not gzip at all").unwrap();
        let err = gunzip(&src, &dir.path().join("bad"), UnpackLimits::default(), None).unwrap_err();
        assert!(
            matches!(&err, UnpackError::Refused(r) if r.contains("not a valid gzip file")),
            "{err:?}"
        );
    }
}
