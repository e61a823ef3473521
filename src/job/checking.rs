//! The check step over a whole collection: every file by its check type, then the metadata of each
//! NetCDF file; one failing file rejects the upload (all-or-nothing). Files that passed come back
//! as [`CheckedFiles`], which nothing else can make, so publish only ever sees checked files.

use crate::error::JobError;
use crate::model::FileCollection;
use crate::pipeline::Pipeline;

/// A collection every file of which passed its check. Later steps may place, type and annotate
/// the files (through [`CheckedFiles::files_mut`]); only [`check`] makes one.
#[derive(Debug)]
pub(super) struct CheckedFiles(FileCollection);

impl CheckedFiles {
    pub fn files(&self) -> &FileCollection {
        &self.0
    }

    pub fn files_mut(&mut self) -> &mut FileCollection {
        &mut self.0
    }
}

impl From<CheckedFiles> for FileCollection {
    fn from(checked: CheckedFiles) -> FileCollection {
        checked.0
    }
}

/// Checks every file off the async workers. On a rejection the files come back with their check
/// logs, for the report.
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
        for f in files.iter_mut().filter(|f| !f.is_deletion()) {
            let Some(path) = f.local_path.clone() else {
                continue;
            };
            let params = crate::check::CheckParams {
                table_schema: f
                    .rule
                    .and_then(|i| pipeline.rules.get(i))
                    .and_then(|r| pipeline.schema_for(r)),
                ..params.clone()
            };
            let outcome = crate::check::check_file(&path, &f.name, f.check_type, &params);
            f.check_passed = Some(outcome.passed);
            f.check_log = outcome.log;
            let verdict = if outcome.passed { "passed" } else { "failed" };
            let check_type = f.check_type;
            f.record("Checked", format!("{check_type} check {verdict}"));
        }
        crate::process::extract_metadata(&mut files);
        files
    })
    .await;
    let files = checked.map_err(|e| {
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
        return Ok(CheckedFiles(files));
    }
    let total = files.iter().filter(|f| !f.is_deletion()).count();
    let err = JobError::rejected(format!(
        "{} of {total} file(s) failed their checks: {}",
        failed.len(),
        failed.join("; ")
    ));
    Err((err, files))
}
