//! A directory as an object store: the embedded default for archive, public, error and reports.
//!
//! Writes go to a temporary file under `<root>/.ingest/tmp` and are renamed into place, so a reader
//! never sees half an object. An overwrite or delete first moves the old object to
//! `<root>/.ingest/stash`, which is what `undo` puts back and `settle` removes.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::{
    ErrorKind, Key, ObjectInfo, ObjectStore, PutOptions, RESERVED_PREFIX, StoreError, StoreOp,
    UndoToken, Written,
};

#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    /// Opens (creating if needed) a store rooted at `root`.
    pub fn open(root: &Path) -> Result<LocalStore, StoreError> {
        let url = file_url(root);
        for dir in [
            root.to_path_buf(),
            root.join(RESERVED_PREFIX).join("tmp"),
            root.join(RESERVED_PREFIX).join("stash"),
        ] {
            fs::create_dir_all(&dir).map_err(|e| io_error(StoreOp::Open, &url, e))?;
        }
        let root = root
            .canonicalize()
            .map_err(|e| io_error(StoreOp::Open, &url, e))?;
        Ok(LocalStore { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file that holds `key`.
    pub fn path_of(&self, key: &Key) -> PathBuf {
        // Key validation already refused `..`, absolute paths and backslashes, so this stays inside.
        self.root.join(key.as_str())
    }

    fn tmp_dir(&self) -> PathBuf {
        self.root.join(RESERVED_PREFIX).join("tmp")
    }

    fn stash_dir(&self) -> PathBuf {
        self.root.join(RESERVED_PREFIX).join("stash")
    }

    /// Moves the current object at `path` (if any) aside, returning the stash name.
    fn stash_existing(
        &self,
        path: &Path,
        url: &str,
        op: StoreOp,
    ) -> Result<Option<String>, StoreError> {
        if !path.is_file() {
            return Ok(None);
        }
        let name = uuid::Uuid::now_v7().simple().to_string();
        fs::rename(path, self.stash_dir().join(&name)).map_err(|e| io_error(op, url, e))?;
        Ok(Some(name))
    }

    fn put_with(
        &self,
        key: &Key,
        write: impl FnOnce(&mut fs::File) -> io::Result<()>,
    ) -> Result<Written, StoreError> {
        let url = self.url_of(key);
        let path = self.path_of(key);
        let mut tmp = tempfile::NamedTempFile::new_in(self.tmp_dir())
            .map_err(|e| io_error(StoreOp::Put, &url, e))?;
        write(tmp.as_file_mut()).map_err(|e| io_error(StoreOp::Put, &url, e))?;
        tmp.as_file_mut()
            .flush()
            .and_then(|_| tmp.as_file().sync_all())
            .map_err(|e| io_error(StoreOp::Put, &url, e))?;
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| io_error(StoreOp::Put, &url, e))?;
        }
        if path.is_dir() {
            return Err(StoreError::new(
                StoreOp::Put,
                url,
                ErrorKind::Permanent,
                "a folder of the same name exists in the store",
            ));
        }
        let stash = self.stash_existing(&path, &url, StoreOp::Put)?;
        if let Err(e) = tmp.persist(&path) {
            // Put the old object back so a failed put changes nothing.
            if let Some(name) = &stash {
                let _ = fs::rename(self.stash_dir().join(name), &path);
            }
            return Err(io_error(StoreOp::Put, &url, e.error));
        }
        let undo = match stash {
            Some(stash) => UndoToken::Restore { stash },
            None => UndoToken::Remove,
        };
        Ok(Written {
            key: key.clone(),
            version: None,
            undo,
        })
    }

    fn info(&self, key: &Key, meta: &fs::Metadata) -> ObjectInfo {
        let version = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| format!("{}.{:09}-{}", d.as_secs(), d.subsec_nanos(), meta.len()));
        ObjectInfo {
            key: key.clone(),
            size: meta.len(),
            version,
            sha256: None,
            modified: meta
                .modified()
                .ok()
                .map(chrono::DateTime::<chrono::Utc>::from),
        }
    }

    fn walk(&self, dir: &Path, out: &mut Vec<ObjectInfo>, url: &str) -> Result<(), StoreError> {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_error(StoreOp::List, url, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| io_error(StoreOp::List, url, e))?;
            let path = entry.path();
            let file_type = entry
                .file_type()
                .map_err(|e| io_error(StoreOp::List, url, e))?;
            if file_type.is_dir() {
                if dir == self.root && entry.file_name() == RESERVED_PREFIX {
                    continue;
                }
                self.walk(&path, out, url)?;
            } else if file_type.is_file() {
                let rel = path
                    .strip_prefix(&self.root)
                    .expect("walk stays under the root");
                let Some(rel) = rel.to_str() else { continue };
                let rel = rel.replace(std::path::MAIN_SEPARATOR, "/");
                if let Ok(key) = Key::new(rel) {
                    let meta = entry
                        .metadata()
                        .map_err(|e| io_error(StoreOp::List, url, e))?;
                    out.push(self.info(&key, &meta));
                }
            }
        }
        Ok(())
    }

    /// Removes folders left empty by a delete, up to the root, so listings stay tidy.
    fn prune_empty_parents(&self, path: &Path) {
        let mut dir = path.parent();
        while let Some(d) = dir {
            if d == self.root || fs::remove_dir(d).is_err() {
                break;
            }
            dir = d.parent();
        }
    }
}

#[async_trait]
impl ObjectStore for LocalStore {
    fn location(&self) -> String {
        file_url(&self.root)
    }

    async fn head(&self, key: &Key) -> Result<Option<ObjectInfo>, StoreError> {
        let store = self.clone();
        let key = key.clone();
        blocking(move || match fs::metadata(store.path_of(&key)) {
            Ok(meta) if meta.is_file() => Ok(Some(store.info(&key, &meta))),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(StoreOp::Head, &store.url_of(&key), e)),
        })
        .await
    }

    async fn get_to_file(&self, key: &Key, dest: &Path) -> Result<ObjectInfo, StoreError> {
        let store = self.clone();
        let key = key.clone();
        let dest = dest.to_path_buf();
        blocking(move || {
            let url = store.url_of(&key);
            let src = store.path_of(&key);
            let mut input = fs::File::open(&src).map_err(|e| io_error(StoreOp::Get, &url, e))?;
            let meta = input
                .metadata()
                .map_err(|e| io_error(StoreOp::Get, &url, e))?;
            if !meta.is_file() {
                return Err(StoreError::new(
                    StoreOp::Get,
                    url,
                    ErrorKind::NotFound,
                    "not a file",
                ));
            }
            let mut output =
                fs::File::create(&dest).map_err(|e| io_error(StoreOp::Get, &url, e))?;
            let (_, sha256) = crate::digest::copy_hashed(&mut input, &mut output)
                .map_err(|e| io_error(StoreOp::Get, &url, e))?;
            Ok(ObjectInfo {
                sha256: Some(sha256),
                ..store.info(&key, &meta)
            })
        })
        .await
    }

    async fn put_file(
        &self,
        key: &Key,
        src: &Path,
        _opts: &PutOptions,
    ) -> Result<Written, StoreError> {
        let store = self.clone();
        let key = key.clone();
        let src = src.to_path_buf();
        blocking(move || {
            store.put_with(&key, |out| {
                let mut input = fs::File::open(&src)?;
                io::copy(&mut input, out).map(|_| ())
            })
        })
        .await
    }

    async fn put_bytes(
        &self,
        key: &Key,
        bytes: Vec<u8>,
        _opts: &PutOptions,
    ) -> Result<Written, StoreError> {
        let store = self.clone();
        let key = key.clone();
        blocking(move || store.put_with(&key, |out| out.write_all(&bytes))).await
    }

    async fn delete(&self, key: &Key) -> Result<Written, StoreError> {
        let store = self.clone();
        let key = key.clone();
        blocking(move || {
            let url = store.url_of(&key);
            let path = store.path_of(&key);
            let undo = match store.stash_existing(&path, &url, StoreOp::Delete)? {
                Some(stash) => {
                    store.prune_empty_parents(&path);
                    UndoToken::Restore { stash }
                }
                None => UndoToken::Nothing,
            };
            Ok(Written {
                key,
                version: None,
                undo,
            })
        })
        .await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        let store = self.clone();
        let prefix = prefix.to_string();
        blocking(move || {
            let url = format!("{}/{}", store.location(), prefix);
            // Walk only the deepest folder the prefix names, then filter by the full prefix.
            let folder = match prefix.rfind('/') {
                Some(i) => store.root.join(&prefix[..i]),
                None => store.root.clone(),
            };
            let mut out = Vec::new();
            store.walk(&folder, &mut out, &url)?;
            out.retain(|o| o.key.as_str().starts_with(&prefix));
            out.sort_by(|a, b| a.key.cmp(&b.key));
            Ok(out)
        })
        .await
    }

    async fn undo(&self, written: &Written) -> Result<(), StoreError> {
        let store = self.clone();
        let written = written.clone();
        blocking(move || {
            let url = store.url_of(&written.key);
            let path = store.path_of(&written.key);
            match &written.undo {
                UndoToken::Nothing => Ok(()),
                UndoToken::Remove => match fs::remove_file(&path) {
                    Ok(()) => {
                        store.prune_empty_parents(&path);
                        Ok(())
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                    Err(e) => Err(io_error(StoreOp::Undo, &url, e)),
                },
                UndoToken::Restore { stash } => {
                    if let Some(parent) = path.parent() {
                        fs::create_dir_all(parent).map_err(|e| io_error(StoreOp::Undo, &url, e))?;
                    }
                    fs::rename(store.stash_dir().join(stash), &path)
                        .map_err(|e| io_error(StoreOp::Undo, &url, e))
                }
                UndoToken::DeleteVersion { .. } => Err(StoreError::new(
                    StoreOp::Undo,
                    url,
                    ErrorKind::Permanent,
                    "a versioned-store receipt was given to a local store",
                )),
            }
        })
        .await
    }

    async fn settle(&self, written: &Written) -> Result<(), StoreError> {
        let UndoToken::Restore { stash } = &written.undo else {
            return Ok(());
        };
        let path = self.stash_dir().join(stash);
        let url = self.url_of(&written.key);
        blocking(move || match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error(StoreOp::Settle, &url, e)),
        })
        .await
    }
}

pub use crate::location::file_url;

/// A store error from an I/O error, classified by [`ErrorKind::of_io`].
pub(crate) fn io_error(op: StoreOp, url: &str, err: io::Error) -> StoreError {
    StoreError::new(op, url, ErrorKind::of_io(&err), err.to_string()).with_source(err)
}

/// Runs blocking file work off the async runtime's worker threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    crate::task::blocking(f).await.unwrap_or_else(|e| {
        Err(StoreError::new(
            StoreOp::Open,
            "file://",
            ErrorKind::Permanent,
            format!("store task failed: {e}"),
        ))
    })
}
