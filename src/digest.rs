//! SHA-256 of content, streamed: how the job, the stores and the resolvers fingerprint a file
//! without holding it in memory, and without reading it twice when it is being copied anyway.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

/// Copies `reader` into `writer`, returning the byte count and the hex SHA-256 of what was copied.
pub fn copy_hashed(reader: &mut impl Read, writer: &mut impl Write) -> io::Result<(u64, String)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        writer.write_all(&buf[..n])?;
        size += n as u64;
    }
    writer.flush()?;
    Ok((size, hex::encode(hasher.finalize())))
}

/// Size and SHA-256 of a file.
pub fn sha256_file(path: &Path) -> io::Result<(u64, String)> {
    copy_hashed(&mut File::open(path)?, &mut io::sink())
}

/// Copies a file (creating or truncating `dest`) and returns the size and SHA-256 of the copy.
pub fn copy_file_hashed(src: &Path, dest: &Path) -> io::Result<(u64, String)> {
    copy_hashed(&mut File::open(src)?, &mut File::create(dest)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_and_hashes_in_one_pass() {
        let dir = tempfile::tempdir().unwrap();
        let (src, dest) = (dir.path().join("a"), dir.path().join("b"));
        let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&src, &content).unwrap();
        let expected = hex::encode(Sha256::digest(&content));
        assert_eq!(
            copy_file_hashed(&src, &dest).unwrap(),
            (content.len() as u64, expected.clone())
        );
        assert_eq!(std::fs::read(&dest).unwrap(), content);
        assert_eq!(
            sha256_file(&dest).unwrap(),
            (content.len() as u64, expected)
        );
        assert_eq!(
            sha256_file(&dir.path().join("empty").with_extension(""))
                .map_err(|e| e.kind())
                .unwrap_err(),
            io::ErrorKind::NotFound
        );
    }
}
