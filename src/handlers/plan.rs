//! What a facility handler decides about an upload, as plain data the job applies: where each file
//! goes and how it is published, which published files are deleted, which files the handler made.
//!
//! A handler core returns these instead of changing the job's collection itself, so the core is
//! tested on files alone and the job applies every decision in one place (publish validates the
//! paths and keeps its ordering and rollback rules).

use std::path::{Path, PathBuf};

use crate::model::{CheckType, PublishType};

use super::HandlerError;

/// A file of the job as a core sees it: its name in the collection (a ZIP member's base name) and
/// its content in the job's work folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    pub name: String,
    pub path: PathBuf,
}

impl InputFile {
    pub fn new(name: impl Into<String>, path: impl Into<PathBuf>) -> InputFile {
        InputFile {
            name: name.into(),
            path: path.into(),
        }
    }

    /// The name's extension from its last dot, the dot included (`.csv`); empty without one.
    pub fn extension(&self) -> &str {
        self.name.rfind('.').map_or("", |i| &self.name[i..])
    }

    /// A file named by its own base name.
    pub fn from_path(path: &Path) -> InputFile {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        InputFile::new(name, path)
    }
}

/// How one file is published: a file of the collection, the upload itself, or a generated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The file's name in the collection (for the upload itself: the upload's name).
    pub name: String,
    pub publish: PublishType,
    /// The check the file gets in place of the pipeline's default for it; `None` keeps the
    /// default (NetCDF compliance or format, by the pipeline's checks).
    pub check: Option<CheckType>,
    /// Destination key in the public store, for files that are stored or harvested.
    pub dest: Option<String>,
    /// Key in the archive, for files whose publish type archives them.
    pub archive: Option<String>,
}

impl Placement {
    /// A file with a publish type and, where that type stores or harvests, a destination.
    pub fn new(name: &str, publish: PublishType, dest: Option<String>) -> Placement {
        Placement {
            name: name.to_string(),
            publish,
            check: None,
            dest,
            archive: None,
        }
    }

    /// A file that is neither checked nor published.
    pub fn no_action(name: &str) -> Placement {
        Placement {
            name: name.to_string(),
            publish: PublishType::NoAction,
            check: Some(CheckType::NoAction),
            dest: None,
            archive: None,
        }
    }

    pub fn with_check(mut self, check: CheckType) -> Placement {
        self.check = Some(check);
        self
    }

    pub fn with_archive(mut self, archive: String) -> Placement {
        self.archive = Some(archive);
        self
    }
}

/// A published file to remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deletion {
    /// Its key in the public store.
    pub key: String,
    /// `DeleteUnharvest` (removed from the store and the index) or `DeleteOnly`.
    pub publish: PublishType,
}

/// The last path component of a key or a path.
pub fn base_name(key: &str) -> &str {
    key.rsplit(['/', '\\']).next().unwrap_or(key)
}

/// `folder/name`, without doubling a slash.
pub fn join_key(folder: &str, name: &str) -> String {
    format!("{}/{}", folder.trim_end_matches('/'), name)
}

/// Reads a file the job unpacked; a failure here is the job's, not the provider's.
pub fn read_local(path: &Path) -> Result<Vec<u8>, HandlerError> {
    std::fs::read(path)
        .map_err(|e| HandlerError::Internal(format!("reading {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_join_and_split_as_store_keys() {
        assert_eq!(join_key("IMOS/ANFOG/", "a.nc"), "IMOS/ANFOG/a.nc");
        assert_eq!(join_key("IMOS/ANFOG", "a.nc"), "IMOS/ANFOG/a.nc");
        assert_eq!(base_name("IMOS/ANFOG/a.nc"), "a.nc");
        assert_eq!(base_name("a.nc"), "a.nc");
    }
}
