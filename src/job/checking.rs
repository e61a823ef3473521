//! The check step over a whole collection: every file by its check type, then the metadata of each
//! NetCDF file; one failing file rejects the upload (all-or-nothing). Files that passed come back
//! as [`CheckedFiles`], which nothing else can make, so publish only ever sees checked files.
//! Each NetCDF file is opened once as a [`ValueMemo`] that the check, the metadata and the quick
//! look share, so each of its variables is read once in the whole job.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::JobError;
use crate::model::FileCollection;
use crate::netcdf::ValueMemo;
use crate::pipeline::Pipeline;

/// A collection every file of which passed its check. Later steps may place, type and annotate
/// the files (through [`CheckedFiles::files_mut`]); only [`check`] makes one.
#[derive(Debug)]
pub(super) struct CheckedFiles {
    files: FileCollection,
    /// The memos of the files a quick look may be drawn of, by local path.
    memos: HashMap<PathBuf, Arc<ValueMemo>>,
    /// Their quick looks, once [`CheckedFiles::draw_ahead`] started drawing them.
    looks: crate::plot::DrawnAhead,
}

impl CheckedFiles {
    pub fn files(&self) -> &FileCollection {
        &self.files
    }

    pub fn files_mut(&mut self) -> &mut FileCollection {
        &mut self.files
    }

    /// The memos the quick looks are drawn from.
    pub fn memos(&self) -> &HashMap<PathBuf, Arc<ValueMemo>> {
        &self.memos
    }

    /// Starts drawing the quick looks of the files a publish would give one, beside the steps
    /// that place and publish them (see [`crate::plot::DrawnAhead`]).
    pub fn draw_ahead(&mut self) {
        self.looks = crate::plot::draw_ahead(&self.files, &self.memos);
    }

    /// The quick looks drawn ahead, for the notification.
    pub fn take_looks(&mut self) -> crate::plot::DrawnAhead {
        std::mem::take(&mut self.looks)
    }
}

impl From<CheckedFiles> for FileCollection {
    fn from(checked: CheckedFiles) -> FileCollection {
        checked.files
    }
}

/// A NetCDF file opened for every reader of its values in the job: the check's suites, the
/// metadata and the quick look. `None` for other files and for files that do not open (the check
/// says why).
fn open_memo(name: &str, path: &Path) -> Option<ValueMemo> {
    if !name.to_ascii_lowercase().ends_with(".nc") {
        return None;
    }
    let mut memo = ValueMemo::open(path).ok()?;
    crate::compliance::share_values(&mut memo);
    crate::netcdf::share_ranges(&mut memo);
    crate::plot::share_points(&mut memo);
    Some(memo)
}

/// Checks every file not yet checked, off the async workers. On a rejection the files come back
/// with their check logs, for the report.
pub(super) async fn check(
    pipeline: &Pipeline,
    files: FileCollection,
) -> Result<CheckedFiles, (JobError, FileCollection)> {
    let params = crate::check::CheckParams {
        suites: pipeline.checks.clone(),
        criteria: pipeline.criteria,
        skip_checks: pipeline.skip_checks.clone(),
        table_schema: None,
    };
    let pipeline = pipeline.clone();
    let checked = crate::task::blocking(move || {
        let mut files = files;
        let mut memos = HashMap::new();
        // Files checked before are not checked again (a handler adds files after the check).
        for f in files
            .iter_mut()
            .filter(|f| !f.is_deletion() && f.check_passed.is_none())
        {
            let Some(path) = f.local_path.clone() else {
                continue;
            };
            let params = crate::check::CheckParams {
                table_schema: match f.rule.and_then(|i| pipeline.rules.get(i)) {
                    Some(rule) => pipeline.schema_for(rule),
                    // Placed by the handler: the pipeline's schema.
                    None => pipeline.table_schema.clone(),
                }
                .or_else(|| pipeline.schema_named(&f.name)),
                ..params.clone()
            };
            let memo = open_memo(&f.name, &path).map(Arc::new);
            let outcome =
                crate::check::check_file(&path, &f.name, f.check_type, &params, memo.as_deref());
            f.check_passed = Some(outcome.passed);
            f.check_log = outcome.log;
            let verdict = if outcome.passed { "passed" } else { "failed" };
            let check_type = f.check_type;
            f.record("Checked", format!("{check_type} check {verdict}"));
            crate::process::extract_file_metadata(f, memo.as_deref());
            // Quick looks are drawn of the first few files only: the others close now rather
            // than stay open through the publish.
            if let Some(memo) = memo
                && memos.len() < crate::plot::MAX_PLOTS
            {
                memos.insert(path, memo);
            }
        }
        crate::process::extract_metadata(&mut files);
        (files, memos)
    })
    .await;
    let (files, memos) = checked.map_err(|e| {
        (
            JobError::internal(format!("the check step crashed: {e}")),
            FileCollection::default(),
        )
    })?;
    let failed: Vec<String> = files
        .iter()
        .filter(|f| f.check_passed == Some(false))
        .map(|f| {
            format!(
                "{} ({}: {})",
                f.name,
                f.check_type,
                f.check_log.first().map_or("failed", String::as_str)
            )
        })
        .collect();
    if failed.is_empty() {
        return Ok(CheckedFiles {
            files,
            memos,
            looks: Default::default(),
        });
    }
    let total = files.iter().filter(|f| !f.is_deletion()).count();
    let err = JobError::rejected(format!(
        "{} of {total} file(s) failed their checks: {}",
        failed.len(),
        failed.join("; ")
    ));
    Err((err, files))
}

/// Checks the files a handler added to checked files; one failure rejects the upload.
pub(super) async fn check_added(
    pipeline: &Pipeline,
    files: CheckedFiles,
) -> Result<CheckedFiles, (JobError, FileCollection)> {
    let CheckedFiles {
        files,
        mut memos,
        looks,
    } = files;
    let mut checked = check(pipeline, files).await?;
    for (path, memo) in checked.memos.drain() {
        if memos.len() < crate::plot::MAX_PLOTS {
            memos.entry(path).or_insert(memo);
        }
    }
    checked.memos = memos;
    checked.looks = looks;
    Ok(checked)
}
