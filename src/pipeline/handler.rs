//! The few facilities that need code, not just configuration, hook in here: a `Handler` with
//! default no-op hooks, picked by name (with its parameters) from the pipeline file, and the one
//! place where a handler's decisions (`crate::handlers::plan`) are applied to the job's collection.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::Pipeline;
use crate::error::JobError;
use crate::handlers::plan::{Deletion, InputFile, Placement};
use crate::handlers::{Generated, HandlerError};
use crate::model::{FileCollection, FileOrigin, PipelineFile, Upload};
use crate::store::ObjectStore;

/// What a hook may know about the job, and what it may read: the upload as fetched, the public
/// store (listings and published files), the job's start time, a folder of its own.
pub struct HookContext<'a> {
    pub job_id: &'a str,
    pub pipeline: &'a Pipeline,
    pub upload: &'a Upload,
    pub public: &'a dyn ObjectStore,
    /// The job's start (what templates see as `now`).
    pub now: DateTime<Utc>,
    /// The handler's folder inside the job's work folder (made by [`HookContext::scratch`]).
    pub work_dir: PathBuf,
}

impl HookContext<'_> {
    /// The handler's folder in the job's work folder, made on first use: where it writes the
    /// files it generates and the published files it fetches.
    pub fn scratch(&self) -> Result<&Path, JobError> {
        std::fs::create_dir_all(&self.work_dir).map_err(|e| {
            JobError::internal(format!(
                "making the handler's folder {}: {e}",
                self.work_dir.display()
            ))
        })?;
        Ok(&self.work_dir)
    }

    /// Applies the decisions of the handler `by` to the job's collection.
    pub fn apply<'c>(&'c self, files: &'c mut FileCollection, by: &'static str) -> Apply<'c> {
        Apply {
            files,
            pipeline: self.pipeline,
            by,
        }
    }

    /// Lists the public store under `prefix`: the keys, sorted. A store that does not answer is
    /// a transient failure (the job is retried).
    pub async fn list_public(&self, prefix: &str) -> Result<Vec<String>, JobError> {
        let listed = self.public.list(prefix).await.map_err(|e| {
            JobError::from(HandlerError::Transient(format!(
                "listing {prefix} in the public store: {e}"
            )))
        })?;
        Ok(listed.into_iter().map(|o| o.key.to_string()).collect())
    }

    /// Fetches the published object `key` into the handler's folder, as `<n>_<base name>`.
    pub async fn fetch_public(&self, key: &str, n: usize) -> Result<PathBuf, JobError> {
        let dir = self.scratch()?.join("published");
        std::fs::create_dir_all(&dir)
            .map_err(|e| JobError::internal(format!("making {}: {e}", dir.display())))?;
        let dest = dir.join(format!("{n}_{}", crate::handlers::plan::base_name(key)));
        let k = crate::store::Key::new(key.to_string())
            .map_err(|e| JobError::internal(format!("{key}: {e}")))?;
        self.public.get_to_file(&k, &dest).await.map_err(|e| {
            JobError::from(HandlerError::Transient(format!(
                "fetching the published {key}: {e}"
            )))
        })?;
        Ok(dest)
    }
}

/// Per-facility hooks around the built-in steps. Each may change the collection (add files, set
/// types or paths); an error rejects or fails the job like any other.
#[async_trait]
pub trait Handler: Send + Sync {
    fn name(&self) -> &'static str;

    /// Whether the handler places the files itself (publish type, check, destination): then the
    /// pipeline's rules claim only what it leaves, and a file neither places is refused after
    /// preprocess rather than at resolve.
    fn places_files(&self) -> bool {
        false
    }

    /// Whether [`Handler::preprocess`] may write, replace or remove the files resolve made. A
    /// handler that overrides it says so (the default); only one that leaves them alone lets the
    /// job open a NetCDF upload for its check ahead, beside the claim (`job::checking`).
    fn changes_files_before_check(&self) -> bool {
        true
    }

    /// After resolve, before check.
    async fn preprocess(
        &self,
        _ctx: &HookContext<'_>,
        _files: &mut FileCollection,
    ) -> Result<(), JobError> {
        Ok(())
    }

    /// After the check and before the built-in process step (paths, supersede); files it adds
    /// are checked like the others before they are placed.
    async fn process(
        &self,
        _ctx: &HookContext<'_>,
        _files: &mut FileCollection,
    ) -> Result<(), JobError> {
        Ok(())
    }

    /// After publish, before notify.
    async fn postprocess(
        &self,
        _ctx: &HookContext<'_>,
        _files: &mut FileCollection,
    ) -> Result<(), JobError> {
        Ok(())
    }
}

impl std::fmt::Debug for dyn Handler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Handler({})", self.name())
    }
}

/// The handler every pipeline gets unless it names another: the built-in steps only.
pub struct DefaultHandler;

#[async_trait]
impl Handler for DefaultHandler {
    fn name(&self) -> &'static str {
        "default"
    }

    fn changes_files_before_check(&self) -> bool {
        false
    }
}

/// The collection's files with content, as a handler core reads them (deletions left out).
pub fn inputs(files: &FileCollection) -> Vec<InputFile> {
    files
        .iter()
        .filter(|f| !f.is_deletion())
        .filter_map(|f| {
            f.local_path
                .as_ref()
                .map(|p| InputFile::new(f.name.clone(), p.clone()))
        })
        .collect()
}

/// Applies a handler's decisions to the job's collection, saying which handler made them.
pub struct Apply<'c> {
    pub files: &'c mut FileCollection,
    pub pipeline: &'c Pipeline,
    pub by: &'static str,
}

impl Apply<'_> {
    /// Places the collection's file named as the placement says (the first one not yet placed).
    pub fn place(&mut self, placement: &Placement) -> Result<(), JobError> {
        let (pipeline, by) = (self.pipeline, self.by);
        let file = self
            .files
            .iter_mut()
            .find(|f| !f.is_deletion() && f.name == placement.name && f.placed_by.is_none())
            .ok_or_else(|| {
                JobError::internal(format!(
                    "handler {by} placed {}, which is not a file of the upload",
                    placement.name
                ))
            })?;
        set(file, placement, pipeline, by);
        Ok(())
    }

    /// Places every file of `placements`.
    pub fn place_all(&mut self, placements: &[Placement]) -> Result<(), JobError> {
        placements.iter().try_for_each(|p| self.place(p))
    }

    /// Adds a file the handler made to the collection, placed: it is checked and published like
    /// an uploaded file.
    pub fn add_generated(
        &mut self,
        generated: &Generated,
        placement: &Placement,
    ) -> Result<(), JobError> {
        let mut file = self.generated_file(generated)?;
        set(&mut file, placement, self.pipeline, self.by);
        self.files.push(file);
        Ok(())
    }

    /// Adds every file the handler made, each with its placement.
    pub fn add_all_generated(
        &mut self,
        generated: &[(Generated, Placement)],
    ) -> Result<(), JobError> {
        generated
            .iter()
            .try_for_each(|(g, p)| self.add_generated(g, p))
    }

    /// Adds a file the handler made to the collection, claimed by the pipeline's file rules as
    /// an uploaded file of that name would be (a rule's refusal rejects the upload).
    pub fn add_generated_by_rules(
        &mut self,
        generated: &Generated,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<(), JobError> {
        let mut file = self.generated_file(generated)?;
        match self.pipeline.claim(&mut file, key, now) {
            None => Err(JobError::rejected(format!(
                "{}, made by handler {}: no rule of pipeline {} claims it; each file must match a files.include pattern",
                file.name, self.by, self.pipeline.name
            ))),
            Some(reasons) if !reasons.is_empty() => Err(JobError::rejected(format!(
                "{}: {}",
                file.name,
                reasons.join("; ")
            ))),
            Some(_) => {
                self.files.push(file);
                Ok(())
            }
        }
    }

    fn generated_file(&self, generated: &Generated) -> Result<PipelineFile, JobError> {
        let (size, sha256) = crate::digest::sha256_file(&generated.path).map_err(|e| {
            JobError::internal(format!(
                "handler {} made {}, which cannot be read: {e}",
                self.by,
                generated.path.display()
            ))
        })?;
        let mut file = PipelineFile::addition(
            generated.name.clone(),
            FileOrigin::Generated {
                by: self.by.to_string(),
            },
            generated.path.clone(),
            size,
        );
        file.sha256 = Some(sha256);
        file.record("Preprocessed", format!("made by handler {}", self.by));
        Ok(file)
    }

    /// Publishes the uploaded object itself as the placement says (a ZIP stored whole): the
    /// collection's file for it when the upload is a single file, else a new one.
    pub fn place_upload(&mut self, upload: &Upload, placement: &Placement) {
        let (pipeline, by) = (self.pipeline, self.by);
        if let Some(file) = self
            .files
            .iter_mut()
            .find(|f| f.origin == FileOrigin::Upload && f.placed_by.is_none())
        {
            set(file, placement, pipeline, by);
            return;
        }
        let mut file = super::whole::upload_file(upload);
        set(&mut file, placement, pipeline, by);
        self.files.push(file);
    }

    /// Adds the removal of a published file (before the additions are published).
    pub fn delete(&mut self, deletion: &Deletion, requested_by: &str) {
        let mut file = PipelineFile::deletion(deletion.key.clone(), requested_by);
        file.publish_type = deletion.publish;
        file.placed_by = Some(self.by.to_string());
        file.record(
            "Preprocessed",
            format!("handler {}: {} {}", self.by, deletion.publish, deletion.key),
        );
        self.files.push(file);
    }
}

fn set(file: &mut PipelineFile, placement: &Placement, pipeline: &Pipeline, by: &str) {
    file.publish_type = placement.publish;
    file.check_type = placement
        .check
        .unwrap_or_else(|| pipeline.default_check(&file.name));
    file.dest_path = placement.dest.clone();
    file.archive_path = placement.archive.clone();
    file.placed_by = Some(by.to_string());
    file.rule = None;
    let (check, publish) = (file.check_type, file.publish_type);
    let mut event = format!("placed by handler {by}: check {check}, publish {publish}");
    if let Some(d) = &placement.dest {
        event.push_str(&format!(", destination {d}"));
    }
    if let Some(a) = &placement.archive {
        event.push_str(&format!(", archive path {a}"));
    }
    file.record("Preprocessed", event);
}

/// Runs a blocking handler core off the async workers; a crash of the core is the job's fault.
pub async fn blocking<T: Send + 'static>(
    by: &'static str,
    f: impl FnOnce() -> Result<T, HandlerError> + Send + 'static,
) -> Result<T, JobError> {
    crate::task::blocking(f)
        .await
        .map_err(|e| JobError::internal(format!("handler {by} crashed: {e}")))?
        .map_err(JobError::from)
}
