//! Test support for the handler cores: the reference's test inputs under `tests/data/imos/`,
//! unpacked into a temporary work folder as the resolve step would.

use std::path::{Path, PathBuf};

use super::plan::InputFile;

/// A file of `tests/data/imos/`.
pub fn imos_data(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/imos")
        .join(relative)
}

/// Every regular file of a ZIP, unpacked under a temporary folder, named by its base name (as the
/// collection names ZIP members), in archive order.
pub fn unzip(archive: &Path) -> (tempfile::TempDir, Vec<InputFile>) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = std::fs::File::open(archive).expect("the test ZIP exists");
    let mut zip = zip::ZipArchive::new(file).expect("a ZIP");
    let mut files = Vec::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).expect("an entry");
        if entry.is_dir() {
            continue;
        }
        let name = entry.name().rsplit('/').next().expect("a name").to_string();
        let path = dir.path().join(format!("{i}-{name}"));
        let mut out = std::fs::File::create(&path).expect("a file");
        std::io::copy(&mut entry, &mut out).expect("unpacked");
        files.push(InputFile::new(name, path));
    }
    (dir, files)
}

/// Writes `content` as `name` in `dir` and returns it as a collection file.
pub fn write_file(dir: &Path, name: &str, content: &[u8]) -> InputFile {
    let path = dir.join(name);
    std::fs::write(&path, content).expect("written");
    InputFile::new(name, path)
}
