//! The resolve step: turns an upload into the collection of files to ingest, and gives each file
//! its rule, check type and publish type. A single file is its own collection; a ZIP or gzip
//! upload is unpacked into the job folder; a manifest names files in the incoming store (or, for
//! a local manifest, beside it) and files to delete. A file no rule claims, and anything unsafe
//! in an archive or a manifest, rejects the upload here, before anything is written.

pub mod gzip;
pub mod manifest;
pub mod paths;
pub mod unpack;
pub mod zip;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::JobError;
use crate::model::{FileCollection, FileOrigin, PipelineFile, Upload};
use crate::pipeline::Pipeline;
use crate::store::{Key, ObjectStore};
use manifest::{Entry, ManifestKind};
use paths::ManifestScope;

/// How many problems one rejection lists.
const LISTED_PROBLEMS: usize = 20;

/// Where the files a manifest names are read from.
#[derive(Debug, Clone)]
pub enum References {
    /// The incoming store, under the manifest's own folder (its key's prefix).
    Incoming(Arc<dyn ObjectStore>),
    /// A local folder: the folder of a manifest given as a local file outside the incoming store.
    Folder(PathBuf),
}

impl References {
    /// Where the references are, for messages.
    pub fn describe(&self) -> String {
        match self {
            References::Incoming(_) => "the incoming store".into(),
            References::Folder(dir) => format!("the folder {}", dir.display()),
        }
    }
}

/// What resolving needs besides the upload.
#[derive(Debug, Clone)]
pub struct ResolveContext<'a> {
    pub pipeline: &'a Pipeline,
    pub references: References,
    /// Where unpacked and fetched files go (inside the job's folder).
    pub workdir: PathBuf,
    /// The room the work disk has for what the upload unpacks or names, when known.
    pub room: Option<unpack::WorkRoom>,
}

/// The files of an upload, and notes for the report (what was skipped and why).
#[derive(Debug, Default)]
pub struct Resolution {
    pub files: FileCollection,
    pub notes: Vec<String>,
}

/// Resolves an upload into files.
pub async fn resolve(ctx: &ResolveContext<'_>, upload: &Upload) -> Result<Resolution, JobError> {
    let lower = upload.name.to_ascii_lowercase();
    if lower.ends_with(".zip") {
        resolve_zip(ctx, upload).await
    } else if lower.ends_with(".gz") || lower.ends_with(".tgz") {
        resolve_gzip(ctx, upload).await
    } else if let Some(kind) = ManifestKind::of(&upload.name) {
        resolve_manifest(ctx, upload, kind).await
    } else {
        let mut file = PipelineFile::addition(
            &upload.name,
            FileOrigin::Upload,
            upload.local_path.to_path_buf(),
            upload.size,
        );
        file.sha256 = Some(upload.sha256.to_string());
        file.record("Resolved", "resolved as a single file");
        Ok(Resolution {
            files: FileCollection::new(vec![file]),
            notes: Vec::new(),
        })
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, JobError> {
    crate::task::blocking(f)
        .await
        .map_err(|e| JobError::internal(format!("the resolve step crashed: {e}")))
}

async fn resolve_zip(ctx: &ResolveContext<'_>, upload: &Upload) -> Result<Resolution, JobError> {
    let (archive, out, limits, room) = (
        upload.local_path.to_path_buf(),
        ctx.workdir.join("unzipped"),
        ctx.pipeline.unpack,
        ctx.room.clone(),
    );
    let (members, notes) = blocking(move || zip::unpack(&archive, &out, limits, room))
        .await?
        .map_err(|e| e.into_job_error(&upload.name))?;
    let out = ctx.workdir.join("unzipped");
    let files = members
        .into_iter()
        .map(|m| {
            let mut f = PipelineFile::addition(
                paths::file_name(&m.path),
                FileOrigin::Member {
                    container: upload.name.to_string(),
                    path: m.path.clone(),
                },
                out.join(&m.path),
                m.unpacked.size,
            );
            f.sha256 = Some(m.unpacked.sha256);
            f.path = Some(m.path.clone());
            f.record(
                "Resolved",
                format!("unpacked from {} ({})", upload.name, m.path),
            );
            f
        })
        .collect();
    Ok(Resolution {
        files: FileCollection::new(files),
        notes,
    })
}

async fn resolve_gzip(ctx: &ResolveContext<'_>, upload: &Upload) -> Result<Resolution, JobError> {
    let inner = gzip::inner_name(&upload.name)
        .map_err(|reason| JobError::rejected(format!("{}: {reason}", upload.name)))?;
    // The inner name must be a plain file name (it comes from ours, so this is a safety net).
    paths::relative_path(&inner)
        .map_err(|reason| JobError::rejected(format!("{}: {reason}", upload.name)))?;
    let dest = ctx.workdir.join("gunzipped").join(&inner);
    let (src, to, limits, room) = (
        upload.local_path.to_path_buf(),
        dest.clone(),
        ctx.pipeline.unpack,
        ctx.room.clone(),
    );
    let unpacked = blocking(move || gzip::gunzip(&src, &to, limits, room))
        .await?
        .map_err(|e| e.into_job_error(&upload.name))?;
    let mut f = PipelineFile::addition(
        inner.clone(),
        FileOrigin::Member {
            container: upload.name.to_string(),
            path: inner.clone(),
        },
        dest,
        unpacked.size,
    );
    f.sha256 = Some(unpacked.sha256);
    f.path = Some(inner.clone());
    f.record("Resolved", format!("decompressed from {}", upload.name));
    Ok(Resolution {
        files: FileCollection::new(vec![f]),
        notes: Vec::new(),
    })
}

/// One rejection naming every problem (the first [`LISTED_PROBLEMS`]).
fn reject_all(upload: &str, what: &str, problems: &[String]) -> JobError {
    let mut listed: Vec<&str> = problems
        .iter()
        .take(LISTED_PROBLEMS)
        .map(String::as_str)
        .collect();
    let more = problems.len().saturating_sub(LISTED_PROBLEMS);
    let tail = format!("… and {more} more");
    if more > 0 {
        listed.push(&tail);
    }
    JobError::rejected(format!("{upload}: {what}: {}", listed.join("; ")))
}

/// A manifest entry, checked and placed.
enum Planned {
    Add {
        at: String,
        key: Key,
        dest: Option<String>,
    },
    Delete(Box<PipelineFile>),
}

async fn resolve_manifest(
    ctx: &ResolveContext<'_>,
    upload: &Upload,
    kind: ManifestKind,
) -> Result<Resolution, JobError> {
    let pipeline = ctx.pipeline;
    let bytes = tokio::fs::read(&upload.local_path)
        .await
        .map_err(|e| JobError::internal(format!("reading the manifest in the job folder: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        JobError::rejected(format!(
            "{}: a manifest must be UTF-8 text ({e})",
            upload.name
        ))
    })?;
    let what = format!("malformed {} manifest", kind.extension());
    let entries = manifest::parse(kind, &text).map_err(|p| reject_all(&upload.name, &what, &p))?;

    let deletions = entries.iter().filter(|e| e.is_deletion()).count();
    if deletions > 0 && !pipeline.allow_delete_manifests {
        return Err(JobError::rejected(format!(
            "{}: the manifest asks to delete {deletions} published file(s), but pipeline {} does not accept deletions (allow_delete_manifests = false); ask the data team",
            upload.name, pipeline.name
        )));
    }
    if entries.len() > pipeline.unpack.max_entries {
        return Err(JobError::rejected(format!(
            "{}: the manifest names {} files, more than the pipeline's max_archive_entries ({})",
            upload.name,
            entries.len(),
            pipeline.unpack.max_entries
        )));
    }

    let scope = match &ctx.references {
        References::Incoming(_) => ManifestScope::for_key(&upload.key),
        References::Folder(dir) => ManifestScope::for_folder(dir),
    };
    let mut problems = Vec::new();
    let mut planned = Vec::new();
    let mut seen = BTreeSet::new();
    for entry in entries {
        match entry {
            Entry::Add { at, path, dest } => match scope.key_for(&path) {
                Ok(key) if !seen.insert(key.clone()) => {
                    problems.push(format!("{at}: {key} is named twice"))
                }
                Ok(key) => planned.push(Planned::Add { at, key, dest }),
                Err(reason) => problems.push(format!("{at}: {reason}")),
            },
            Entry::DeleteDest { at, dest } => match Key::new(dest.clone()) {
                Ok(_) => planned.push(Planned::Delete(Box::new(PipelineFile::deletion(
                    dest,
                    &upload.name,
                )))),
                Err(e) => problems.push(format!(
                    "{at}: {dest:?} is not a destination path: {}",
                    e.reason
                )),
            },
            Entry::DeleteName { at, path } => match paths::relative_path(&path) {
                Ok(p) => {
                    let mut f = PipelineFile::deletion(paths::file_name(&p), &upload.name);
                    // The rule's dest template gives its destination (see process::assign_paths).
                    f.dest_path = None;
                    f.path = Some(p);
                    planned.push(Planned::Delete(Box::new(f)));
                }
                Err(reason) => problems.push(format!("{at}: {path:?}: {reason}")),
            },
        }
    }
    if !problems.is_empty() {
        return Err(reject_all(
            &upload.name,
            "refused manifest entries",
            &problems,
        ));
    }

    let fetched_root = ctx.workdir.join("referenced");
    let mut files = Vec::new();
    let mut budget = unpack::Budget::new(pipeline.unpack, ctx.room.clone(), upload.size);
    for plan in planned {
        let (at, key, dest) = match plan {
            Planned::Delete(mut f) => {
                f.record("Resolved", format!("deletion requested by {}", upload.name));
                files.push(*f);
                continue;
            }
            Planned::Add { at, key, dest } => (at, key, dest),
        };
        let local = fetched_root.join(key.as_str());
        let Some((size, sha256)) = fetch(&ctx.references, &key, &local).await? else {
            problems.push(format!(
                "{at}: {key} is not in {}",
                ctx.references.describe()
            ));
            continue;
        };
        if let Err(reason) = budget.take(size, key.as_str()) {
            return Err(JobError::rejected(format!("{}: {reason}", upload.name)));
        }
        let mut f = PipelineFile::addition(
            key.file_name(),
            FileOrigin::Member {
                container: upload.name.to_string(),
                path: key.to_string(),
            },
            local,
            size,
        );
        f.sha256 = Some(sha256);
        f.path = Some(scope.relative(&key).to_string());
        f.record(
            "Resolved",
            format!("named by {} ({at}): {key}", upload.name),
        );
        if let Some(dest) = dest {
            f.record(
                "Resolved",
                format!("the manifest asks for destination {dest}"),
            );
            f.dest_path = Some(dest);
        }
        files.push(f);
    }
    if !problems.is_empty() {
        return Err(reject_all(&upload.name, "missing files", &problems));
    }
    Ok(Resolution {
        files: FileCollection::new(files),
        notes: Vec::new(),
    })
}

/// Copies one named object into the job folder, returning its size and SHA-256 (taken while
/// copying); `Ok(None)` when it does not exist.
async fn fetch(
    references: &References,
    key: &Key,
    local: &Path,
) -> Result<Option<(u64, String)>, JobError> {
    if let Some(parent) = local.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| JobError::internal(format!("preparing the job folder: {e}")))?;
    }
    match references {
        References::Incoming(store) => match store.get_to_file(key, local).await {
            Ok(info) => match info.sha256 {
                Some(sha256) => Ok(Some((info.size, sha256))),
                None => Err(JobError::internal(format!(
                    "the incoming store gave no SHA-256 for {key} (every backend must)"
                ))),
            },
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(JobError::from_boundary(
                format!("fetching {key}, named by the manifest, from the incoming store failed"),
                e,
            )),
        },
        References::Folder(dir) => {
            let src = dir.join(key.as_str());
            // Only regular files inside the folder: a link could point anywhere.
            let inside = match (src.canonicalize(), dir.canonicalize()) {
                (Ok(s), Ok(d)) => s.starts_with(d),
                _ => false,
            };
            match std::fs::symlink_metadata(&src) {
                Ok(m) if m.is_file() && inside => {
                    let (from, to) = (src.clone(), local.to_path_buf());
                    blocking(move || crate::digest::copy_file_hashed(&from, &to))
                        .await?
                        .map(Some)
                        .map_err(|e| JobError::usage(format!("cannot read {}: {e}", src.display())))
                }
                Ok(_) => Ok(None),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(JobError::usage(format!(
                    "cannot read {}: {e}",
                    src.display()
                ))),
            }
        }
    }
}

/// Gives every file its rule and types, and refuses, before any check, the files whose rule
/// refuses them by name (`reject`, `require` that read no content). All unclaimed and refused
/// files are named in one rejection.
pub fn assign_rules(
    pipeline: &Pipeline,
    key: &str,
    now: chrono::DateTime<chrono::Utc>,
    files: &mut FileCollection,
) -> Result<(), JobError> {
    let mut unclaimed = Vec::new();
    let mut refused = Vec::new();
    // A file already placed (the upload itself, by an upload rule) is not the file rules'.
    for file in files.iter_mut().filter(|f| f.placed_by.is_none()) {
        match pipeline.claim(file, key, now) {
            None => unclaimed.push(file.name.clone()),
            Some(reasons) if !reasons.is_empty() => {
                refused.push(format!("{}: {}", file.name, reasons.join("; ")));
            }
            Some(_) => {}
        }
    }
    let mut problems = Vec::new();
    // A handler that places files takes the files no rule claims; what it leaves is refused
    // after it ran (`require_placed`).
    if !unclaimed.is_empty() && !pipeline.handler.places_files() {
        problems.push(unclaimed_message(pipeline, &unclaimed));
    }
    problems.extend(refused);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(JobError::rejected(problems.join("; ")))
    }
}

fn unclaimed_message(pipeline: &Pipeline, names: &[String]) -> String {
    format!(
        "no rule of pipeline {} claims {}: each file must match a files.include pattern",
        pipeline.name,
        names.join(", ")
    )
}

/// After the handler's preprocess: every file is claimed by a rule or placed by the handler.
pub fn require_placed(pipeline: &Pipeline, files: &FileCollection) -> Result<(), JobError> {
    let unplaced: Vec<String> = files
        .iter()
        .filter(|f| f.rule.is_none() && f.placed_by.is_none())
        .map(|f| f.name.clone())
        .collect();
    if unplaced.is_empty() {
        Ok(())
    } else {
        Err(JobError::rejected(format!(
            "{} (nor does its handler {} place them)",
            unclaimed_message(pipeline, &unplaced),
            pipeline.handler.name()
        )))
    }
}
