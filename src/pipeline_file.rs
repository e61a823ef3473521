//! The pipeline file a process runs with, read and validated before any job starts: the one
//! `--pipelines` / `INGEST_PIPELINES` names (a path, or `s3://bucket/key` fetched through the
//! store code), else `./pipelines.toml`, else — only on the embedded default — the example
//! compiled into the binary, with a warning. A pipeline whose `keys` claims every key is refused
//! unless `INGEST_PIPELINES_ALLOW_CATCH_ALL=true`.
//!
//! Failures are configuration errors (exit 2) naming the file or object and every problem in it,
//! except a fetch that may succeed on a retry (S3 throttling, a dropped connection), which is
//! transient (exit 75).

use std::path::{Path, PathBuf};

use crate::aws::Aws;
use crate::error::{ErrorKind, Fault, JobError};
use crate::pipeline::{PipelineSet, ReadOptions};
use crate::settings::{PipelineFile, Settings, SettingsArgs};
use crate::store::{Key, StoreError, StoreUrl, Transfer};
use crate::vars;

/// The largest pipeline file fetched: far more than a file for every facility needs, far less
/// than a data file named by mistake.
pub const MAX_BYTES: u64 = 16 << 20;

/// Which pipeline file a process runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chosen {
    /// The file the settings name.
    Named(PipelineFile),
    /// `./pipelines.toml`, found in the current folder.
    Here(PathBuf),
    /// The example compiled into the binary, with its demo catch-all (embedded default only).
    Example,
}

impl Chosen {
    /// Whether reading it needs the AWS clients.
    pub fn needs_aws(&self) -> bool {
        matches!(self, Chosen::Named(PipelineFile::Object { store, .. }) if store.is_s3())
    }
}

/// Picks the pipeline file: the named one, else `./pipelines.toml`, else the example — but the
/// example only on the embedded default, so it never silently becomes a deployment's
/// configuration. A process with any remote boundary and no pipeline file is a configuration
/// error naming what to set.
pub fn choose(settings: &Settings) -> Result<Chosen, JobError> {
    if let Some(file) = &settings.pipelines {
        return Ok(Chosen::Named(file.clone()));
    }
    if let Some(here) = crate::settings::pipelines_file_here() {
        return Ok(Chosen::Here(here));
    }
    match settings.remote_setting() {
        None => Ok(Chosen::Example),
        Some(remote) => Err(JobError::usage(format!(
            "no pipeline file: set {} (or --pipelines) to your pipeline file, a path or \
             s3://bucket/key. The example pipelines compiled into the binary stand in only when \
             every store, the index and the notifier are local; here {remote} is not",
            vars::PIPELINES
        ))),
    }
}

/// Reads and validates the chosen pipeline file, as every command that runs jobs does first.
/// `aws` must be given when [`Chosen::needs_aws`].
pub async fn load(
    chosen: &Chosen,
    settings: &Settings,
    aws: Option<&Aws>,
) -> Result<PipelineSet, JobError> {
    match chosen {
        Chosen::Named(file) => {
            read(
                file,
                settings.allow_catch_all,
                aws,
                settings.work_dir.as_deref(),
            )
            .await
        }
        Chosen::Here(path) => read_path(path, settings.allow_catch_all),
        Chosen::Example => {
            tracing::warn!(
                "no pipeline file is named ({}) and there is no ./pipelines.toml: running the \
                 example pipelines compiled into the binary, whose demo pipeline `unittest` \
                 publishes every .nc no facility claims under UNITTEST/. Name your own file for \
                 anything but a trial",
                vars::PIPELINES
            );
            example()
        }
    }
}

/// The example compiled in. Its demo catch-all is the point of the embedded default, and nothing
/// there is deployed: no opt-in needed.
fn example() -> Result<PipelineSet, JobError> {
    PipelineSet::example().map_err(|e| JobError::internal(e.to_string()))
}

/// What `ocean-ingest pipelines …` reads: FILE when given (a path or `s3://bucket/key`), else
/// the file a job would run with. Only the settings it needs are read when FILE is given, so a
/// file can be validated wherever the other settings are not set up.
pub async fn load_for_command(
    args: &SettingsArgs,
    file: Option<&Path>,
) -> Result<PipelineSet, JobError> {
    let usage = |e: crate::settings::SettingError| JobError::usage(e.to_string());
    let chosen = match file.or(args.pipelines.as_deref()) {
        Some(file) => Chosen::Named(PipelineFile::parse(file).map_err(usage)?),
        None => choose(&Settings::resolve(args).map_err(usage)?)?,
    };
    let aws = match chosen.needs_aws() {
        true => {
            let timeouts = crate::settings::timeouts(args).map_err(usage)?;
            Some(Aws::from_env(&timeouts).await?)
        }
        false => None,
    };
    match &chosen {
        Chosen::Named(file) => {
            read(
                file,
                args.allow_catch_all,
                aws.as_ref(),
                args.work_dir.as_deref(),
            )
            .await
        }
        Chosen::Here(path) => read_path(path, args.allow_catch_all),
        Chosen::Example => example(),
    }
}

/// Reads and validates one pipeline file: a local path, or an object fetched into a temporary
/// folder under `work_dir` (the system's when `None`).
pub async fn read(
    file: &PipelineFile,
    allow_catch_all: bool,
    aws: Option<&Aws>,
    work_dir: Option<&Path>,
) -> Result<PipelineSet, JobError> {
    match file {
        PipelineFile::Path(path) => read_path(path, allow_catch_all),
        PipelineFile::Object { store, key } => {
            let text = fetch(store, key, aws, work_dir).await?;
            let origin = file.to_string();
            let opts = ReadOptions {
                base: None,
                allow_catch_all,
            };
            PipelineSet::read(&text, &origin, opts).map_err(|e| JobError::usage(e.to_string()))
        }
    }
}

fn read_path(path: &Path, allow_catch_all: bool) -> Result<PipelineSet, JobError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        JobError::usage(format!(
            "{origin}: cannot read the pipeline file: {e} (set {} to where it is)",
            vars::PIPELINES
        ))
    })?;
    let opts = ReadOptions {
        base: Some(path.parent().unwrap_or(Path::new(""))),
        allow_catch_all,
    };
    PipelineSet::read(&text, &origin, opts).map_err(|e| JobError::usage(e.to_string()))
}

/// Fetches the pipeline file's object through the object store code, and returns its text. Its
/// size is looked up first, so a data file named by mistake is refused without downloading it.
async fn fetch(
    store_url: &StoreUrl,
    key: &Key,
    aws: Option<&Aws>,
    work_dir: Option<&Path>,
) -> Result<String, JobError> {
    let url = format!("{store_url}/{key}");
    let failed = |e: StoreError| fetch_error(&url, e);
    // One small download: the transfer sizes of uploads do not matter.
    let store = crate::store::open(store_url, aws, Transfer::default())
        .await
        .map_err(failed)?;
    // Job-scoped like any download: the work folder is the one writable place in the image.
    let folder = match work_dir {
        Some(dir) => tempfile::Builder::new()
            .prefix("pipelines-")
            .tempdir_in(dir),
        None => tempfile::Builder::new().prefix("pipelines-").tempdir(),
    }
    .map_err(|e| {
        JobError::from_boundary(
            format!("cannot fetch the pipeline file {url}"),
            StoreError::new(
                crate::store::StoreOp::Get,
                url.clone(),
                ErrorKind::Transient,
                format!("no temporary folder for it: {e}"),
            ),
        )
    })?;
    let too_big = |size: u64| {
        JobError::usage(format!(
            "{url}: {size} bytes is not a pipeline file (at most {MAX_BYTES} bytes): check {}",
            vars::PIPELINES
        ))
    };
    match store.head(key).await.map_err(failed)? {
        None => {
            return Err(fetch_error(
                &url,
                StoreError::new(
                    crate::store::StoreOp::Head,
                    url.clone(),
                    ErrorKind::NotFound,
                    "no such object",
                ),
            ));
        }
        Some(info) if info.size > MAX_BYTES => return Err(too_big(info.size)),
        Some(_) => {}
    }
    let local = folder.path().join("pipelines.toml");
    let info = store.get_to_file(key, &local).await.map_err(failed)?;
    // Replaced between the two requests: the size that counts is the one downloaded.
    if info.size > MAX_BYTES {
        return Err(too_big(info.size));
    }
    let bytes = std::fs::read(&local).map_err(|e| {
        JobError::internal(format!("cannot read back the pipeline file {url}: {e}"))
    })?;
    String::from_utf8(bytes)
        .map_err(|e| JobError::usage(format!("{url}: the pipeline file is not UTF-8 text: {e}")))
}

/// What a failed fetch means: a retry may help only when the store says so; a missing object, a
/// refused request or a missing bucket is the deployment's configuration.
fn fetch_error(url: &str, err: StoreError) -> JobError {
    let message = match err.kind {
        ErrorKind::Transient => {
            return JobError::from_boundary(format!("cannot fetch the pipeline file {url}"), err);
        }
        ErrorKind::NotFound => format!(
            "{url}: no such pipeline file: put it there, or set {} to where it is",
            vars::PIPELINES
        ),
        ErrorKind::Permanent => format!(
            "{url}: the pipeline file cannot be read: check that the object exists (S3 denies \
             access to a missing object when the role may not list its bucket), the bucket's \
             name, and that the job's role may s3:GetObject it (and kms:Decrypt, if its bucket \
             uses a KMS key)"
        ),
    };
    JobError {
        fault: Fault::Usage,
        message,
        source: Some(anyhow::Error::new(err)),
    }
}
