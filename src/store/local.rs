//! A directory as an object store: the embedded default for archive, public, error and reports.
//!
//! Nothing but objects lives in the store's folder, so a copy or sync of it publishes nothing
//! else. Its bookkeeping sits beside it, in `.<name>.ingest/` of the parent folder (on the same
//! file system, which atomic renames need; a store folder that is a mount point of its own keeps
//! it in `<root>/.ingest/`, which listings skip): writes go to a temporary file under `tmp/` and
//! are renamed into place, so a reader never sees half an object, and `prepare` hard-links the
//! object a change will replace or delete into `stash/`, which is what `undo` puts back and
//! `settle` removes.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;

use super::{
    ErrorKind, Key, ObjectInfo, ObjectStore, Origin, PutOptions, RESERVED_PREFIX, Restore,
    StoreError, StoreOp, Written,
    staged::{Staged, StagedBytes},
};

#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
    /// The bookkeeping folder, holding `tmp/` and `stash/`.
    books: PathBuf,
}

impl LocalStore {
    /// Opens (creating if needed) a store rooted at `root`.
    pub fn open(root: &Path) -> Result<LocalStore, StoreError> {
        let url = file_url(root);
        fs::create_dir_all(root).map_err(|e| io_error(StoreOp::Open, &url, e))?;
        let root = root
            .canonicalize()
            .map_err(|e| io_error(StoreOp::Open, &url, e))?;
        let books = bookkeeping_folder(&root);
        // `stash/` is made by the first prepare that needs it: most jobs replace nothing, and a
        // new home's stores are opened by a job that runs once per process.
        fs::create_dir_all(books.join("tmp")).map_err(|e| io_error(StoreOp::Open, &url, e))?;
        Ok(LocalStore { root, books })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder holding the store's temporary files and stashes.
    pub fn bookkeeping(&self) -> &Path {
        &self.books
    }

    /// The file that holds `key`.
    pub fn path_of(&self, key: &Key) -> PathBuf {
        // Key validation already refused `..`, absolute paths and backslashes, so this stays inside.
        self.root.join(key.as_str())
    }

    fn tmp_dir(&self) -> PathBuf {
        self.books.join("tmp")
    }

    fn stash_path(&self, stash: &str, url: &str, op: StoreOp) -> Result<PathBuf, StoreError> {
        if stash.is_empty() || stash.contains(['/', '\\']) || stash.starts_with('.') {
            return Err(StoreError::new(
                op,
                url,
                ErrorKind::Permanent,
                format!("{stash:?} is not a stash name"),
            ));
        }
        Ok(self.books.join("stash").join(stash))
    }

    fn put_with(
        &self,
        key: &Key,
        write: impl FnOnce(&mut fs::File) -> io::Result<()>,
    ) -> Result<Written, StoreError> {
        let url = self.url_of(key);
        let mut tmp = tempfile::NamedTempFile::new_in(self.tmp_dir())
            .map_err(|e| io_error(StoreOp::Put, &url, e))?;
        write(tmp.as_file_mut()).map_err(|e| io_error(StoreOp::Put, &url, e))?;
        tmp.as_file_mut()
            .flush()
            .and_then(|_| tmp.as_file().sync_all())
            .map_err(|e| io_error(StoreOp::Put, &url, e))?;
        self.place(key, tmp.into_temp_path())
    }

    /// Renames a durable temporary file of this store into place as `key`.
    fn place(&self, key: &Key, tmp: tempfile::TempPath) -> Result<Written, StoreError> {
        let url = self.url_of(key);
        let path = self.path_of(key);
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
        tmp.persist(&path)
            .map_err(|e| io_error(StoreOp::Put, &url, e.error))?;
        Ok(Written {
            key: key.clone(),
            version: None,
        })
    }

    /// Renames `copy`, written ahead into this store, into place as `key`; `None` when the sweep
    /// of temporary files older than a lease took it first (a long job's copy), and the caller
    /// writes the object as it would have without one.
    fn place_ahead(
        &self,
        key: &Key,
        copy: tempfile::TempPath,
    ) -> Result<Option<Written>, StoreError> {
        if !copy.exists() {
            return Ok(None);
        }
        self.place(key, copy).map(Some)
    }

    /// Removes the file at `path` (gone already is fine) and the folders it leaves empty.
    fn remove_object(&self, path: &Path, url: &str, op: StoreOp) -> Result<(), StoreError> {
        match fs::remove_file(path) {
            Ok(()) => {
                self.prune_empty_parents(path);
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error(op, url, e)),
        }
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
            // Nothing is listed below a missing folder, or below a file.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) =>
            {
                return Ok(());
            }
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
            // A key below a stored file (`a.nc/b`) names nothing, as on S3.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) =>
            {
                Ok(None)
            }
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

    fn staging_folder(&self) -> Option<PathBuf> {
        Some(self.tmp_dir())
    }

    async fn put_staged(
        &self,
        key: &Key,
        src: &Path,
        opts: &PutOptions,
        staged: Staged,
    ) -> Result<Written, StoreError> {
        let store = self.clone();
        let (k, source) = (key.clone(), src.to_path_buf());
        let sha256 = opts.sha256.clone();
        let placed = blocking(move || {
            let usable = staged.store() == store.location()
                && sha256.is_some_and(|h| staged.copies(&source, &h));
            if !usable {
                return Ok(None);
            }
            store.place_ahead(&k, staged.into_copy())
        })
        .await?;
        match placed {
            Some(written) => Ok(written),
            None => self.put_file(key, src, opts).await,
        }
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

    async fn put_bytes_staged(
        &self,
        key: &Key,
        bytes: Vec<u8>,
        opts: &PutOptions,
        staged: Option<StagedBytes>,
    ) -> Result<Written, StoreError> {
        let Some(staged) = staged.filter(|s| s.holds(&self.location(), &bytes)) else {
            return self.put_bytes(key, bytes, opts).await;
        };
        let store = self.clone();
        let k = key.clone();
        let placed = blocking(move || store.place_ahead(&k, staged.into_copy())).await?;
        match placed {
            Some(written) => Ok(written),
            None => self.put_bytes(key, bytes, opts).await,
        }
    }

    async fn delete(&self, key: &Key) -> Result<(), StoreError> {
        let store = self.clone();
        let key = key.clone();
        blocking(move || {
            store.remove_object(&store.path_of(&key), &store.url_of(&key), StoreOp::Delete)
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

    async fn prepare(&self, key: &Key, stash: &str) -> Result<Restore, StoreError> {
        let store = self.clone();
        let key = key.clone();
        let stash = stash.to_string();
        blocking(move || {
            let url = store.url_of(&key);
            let path = store.path_of(&key);
            if !path.is_file() {
                return Ok(Restore::Absent);
            }
            let kept = store.stash_path(&stash, &url, StoreOp::Prepare)?;
            if let Some(folder) = kept.parent() {
                fs::create_dir_all(folder).map_err(|e| io_error(StoreOp::Prepare, &url, e))?;
            }
            // A prepare that is tried again starts afresh.
            let _ = fs::remove_file(&kept);
            // A second name for the same file: a put renames a new file over the key and a
            // delete unlinks it, and either way the old content lives on under the stash.
            if fs::hard_link(&path, &kept).is_err() {
                fs::copy(&path, &kept).map_err(|e| io_error(StoreOp::Prepare, &url, e))?;
            }
            Ok(Restore::Stash { stash })
        })
        .await
    }

    async fn undo(&self, key: &Key, restore: &Restore) -> Result<(), StoreError> {
        let store = self.clone();
        let key = key.clone();
        let restore = restore.clone();
        blocking(move || {
            let url = store.url_of(&key);
            let path = store.path_of(&key);
            match &restore {
                Restore::Absent => store.remove_object(&path, &url, StoreOp::Undo),
                Restore::Stash { stash } => {
                    let kept = store.stash_path(stash, &url, StoreOp::Undo)?;
                    if !kept.is_file() {
                        // Put back already (an undo done twice) or never needed.
                        return Ok(());
                    }
                    if let Some(parent) = path.parent() {
                        fs::create_dir_all(parent).map_err(|e| io_error(StoreOp::Undo, &url, e))?;
                    }
                    fs::rename(&kept, &path).map_err(|e| io_error(StoreOp::Undo, &url, e))
                }
                Restore::Version { .. } => Err(StoreError::new(
                    StoreOp::Undo,
                    url,
                    ErrorKind::Permanent,
                    "a versioned-store restore was given to a local store",
                )),
            }
        })
        .await
    }

    async fn settle(&self, restore: &Restore) -> Result<(), StoreError> {
        let Restore::Stash { stash } = restore else {
            return Ok(());
        };
        let url = format!("{}#stash/{stash}", self.location());
        let kept = self.stash_path(stash, &url, StoreOp::Settle)?;
        blocking(move || match fs::remove_file(&kept) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error(StoreOp::Settle, &url, e)),
        })
        .await
    }

    async fn stashes(&self) -> Result<Vec<String>, StoreError> {
        let dir = self.books.join("stash");
        let url = self.location();
        blocking(move || {
            let mut names = Vec::new();
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                // No prepare has needed a stash yet.
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(names),
                Err(e) => return Err(io_error(StoreOp::Stashes, &url, e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| io_error(StoreOp::Stashes, &url, e))?;
                if let Some(name) = entry.file_name().to_str() {
                    names.push(name.to_string());
                }
            }
            names.sort();
            Ok(names)
        })
        .await
    }

    async fn sweep(&self, older_than: Duration) -> Result<usize, StoreError> {
        let dir = self.tmp_dir();
        let url = self.location();
        blocking(move || {
            let mut removed = 0;
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) => return Err(io_error(StoreOp::Delete, &url, e)),
            };
            for entry in entries.flatten() {
                let stale = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > older_than);
                if stale && fs::remove_file(entry.path()).is_ok() {
                    removed += 1;
                }
            }
            Ok(removed)
        })
        .await
    }

    fn origin_of(&self, key: &Key) -> Origin {
        Origin::File {
            path: self.path_of(key),
            url: self.url_of(key),
        }
    }

    async fn put_copy(
        &self,
        key: &Key,
        from: &Origin,
        _size: u64,
        opts: &PutOptions,
    ) -> Result<Written, StoreError> {
        match from {
            Origin::File { path, .. } => self.put_file(key, path, opts).await,
            Origin::S3 { url, .. } => Err(StoreError::new(
                StoreOp::Put,
                self.url_of(key),
                ErrorKind::Permanent,
                format!(
                    "a local store cannot copy {url} without passing it through the job's disk; keep this store on S3 beside an S3 incoming store"
                ),
            )),
        }
    }

    async fn sha256(&self, key: &Key) -> Result<Option<String>, StoreError> {
        let path = self.path_of(key);
        let url = self.url_of(key);
        blocking(move || match crate::digest::sha256_file(&path) {
            Ok((_, sha256)) => Ok(Some(sha256)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(StoreOp::Head, &url, e)),
        })
        .await
    }
}

/// Where a store rooted at `root` keeps its bookkeeping: `.<name>.ingest/` beside the root when
/// that folder can be made on the root's own file system, else `.ingest/` inside the root.
fn bookkeeping_folder(root: &Path) -> PathBuf {
    let inside = root.join(RESERVED_PREFIX);
    let (Some(parent), Some(name)) = (root.parent(), root.file_name()) else {
        return inside;
    };
    let beside = parent.join(format!(".{}{}", name.to_string_lossy(), ".ingest"));
    if fs::create_dir_all(&beside).is_err() {
        return inside;
    }
    if same_file_system(root, &beside) {
        beside
    } else {
        let _ = fs::remove_dir(&beside);
        inside
    }
}

#[cfg(unix)]
fn same_file_system(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file_system(_: &Path, _: &Path) -> bool {
    false
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
