//! The check step over a whole collection: every file by its check type, then the metadata of each
//! NetCDF file; one failing file rejects the upload (all-or-nothing). Files that passed come back
//! as [`CheckedFiles`], which nothing else can make, so publish only ever sees checked files.
//! Each NetCDF file is opened once as a [`ValueMemo`] that the check, the metadata and the quick
//! look share, so each of its variables is read once in the whole job. A NetCDF upload's memo
//! may be opened ahead ([`open_ahead`]), beside the claim, and handed to the check.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::JobError;
use crate::model::{FileCollection, PipelineFile, Upload};
use crate::netcdf::ValueMemo;
use crate::pipeline::Pipeline;
use crate::store::staged::Stamp;

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
    /// that place and publish them, each written ahead into `reports` (see
    /// [`crate::plot::DrawnAhead`]).
    pub fn draw_ahead(&mut self, reports: Arc<dyn crate::store::ObjectStore>) {
        self.looks = crate::plot::draw_ahead(&self.files, &self.memos, reports);
    }

    /// The memos, for a job that reads its files no more (see
    /// [`super::intake::WorkDir::remove_ahead`]).
    pub fn take_memos(&mut self) -> HashMap<PathBuf, Arc<ValueMemo>> {
        std::mem::take(&mut self.memos)
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
    if !is_netcdf_name(name) {
        return None;
    }
    let mut memo = ValueMemo::open(path).ok()?;
    crate::compliance::share_values(&mut memo);
    crate::netcdf::share_ranges(&mut memo);
    crate::plot::share_points(&mut memo);
    Some(memo)
}

/// A NetCDF upload's memo being opened on a blocking thread from the moment it is fetched, while
/// the job claims it, resolves it and runs the handler's preprocess: opening a file is most of
/// an ordinary check's work, and those steps mostly wait on the disk. The check takes it for the
/// file at the same path whose stamp (inode, size, modification and change times) is unchanged
/// (see [`open_ahead`]); otherwise it is dropped, and the runtime lets the open finish before
/// the process ends.
#[derive(Debug)]
pub(super) struct OpenedAhead {
    path: PathBuf,
    stamp: Stamp,
    task: tokio::task::JoinHandle<Option<ValueMemo>>,
}

/// The memo opened ahead, once its open is done.
struct Opened {
    path: PathBuf,
    stamp: Stamp,
    memo: Option<ValueMemo>,
}

/// Starts opening the upload ahead when the check would open it as it is: a NetCDF file that
/// was fetched, for a pipeline whose handler leaves the resolved files alone before the check.
/// The stamp taken before the open must still hold when the check takes the memo, which
/// catches a file changed in between by anything else.
pub(super) fn open_ahead(pipeline: &Pipeline, upload: &Upload) -> Option<OpenedAhead> {
    if upload.not_fetched.is_some()
        || pipeline.handler.changes_files_before_check()
        || !is_netcdf_name(&upload.name)
    {
        return None;
    }
    let path = upload.local_path.clone();
    let stamp = Stamp::of_path(&path)?;
    let (name, at) = (upload.name.clone(), path.clone());
    let task = crate::task::spawn_blocking(move || open_memo(&name, &at));
    Some(OpenedAhead { path, stamp, task })
}

impl OpenedAhead {
    async fn opened(self) -> Option<Opened> {
        let memo = self.task.await.ok()?;
        Some(Opened {
            path: self.path,
            stamp: self.stamp,
            memo,
        })
    }
}

impl Opened {
    /// The memo of the file at `path`, if it is the file opened ahead and unchanged since. A file
    /// that did not open ahead is opened again by the caller, as it would have been.
    fn take_for(this: &mut Option<Opened>, path: &Path) -> Option<ValueMemo> {
        let opened = this.take_if(|o| o.path == path)?;
        (Stamp::of_path(path) == Some(opened.stamp))
            .then_some(opened.memo)
            .flatten()
    }
}

fn is_netcdf_name(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".nc")
}

/// Checks every file not yet checked, off the async workers, taking the memo `ahead` opened for
/// its file. On a rejection the files come back with their check logs, for the report.
pub(super) async fn check(
    pipeline: &Pipeline,
    files: FileCollection,
    ahead: Option<OpenedAhead>,
) -> Result<CheckedFiles, (JobError, FileCollection)> {
    let mut ahead = match ahead {
        Some(a) => a.opened().await,
        None => None,
    };
    let params = crate::check::CheckParams {
        suites: pipeline.checks.clone(),
        criteria: pipeline.criteria,
        skip_checks: pipeline.skip_checks.clone(),
        table_schema: None,
    };
    // Files checked before are not checked again (a handler adds files after the check). When
    // a handler added none, as most do not, there is nothing to read and no thread to hand it to.
    let unchecked = |f: &PipelineFile| !f.is_deletion() && f.check_passed.is_none();
    let reads = files
        .iter()
        .any(|f| (unchecked(f) && f.local_path.is_some()) || crate::process::wants_metadata(f));
    if !reads {
        return verdict(files, HashMap::new());
    }
    let pipeline = pipeline.clone();
    let checked = crate::task::blocking(move || {
        let mut files = files;
        let mut memos = HashMap::new();
        for f in files.iter_mut().filter(|f| unchecked(f)) {
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
            let memo = is_netcdf_name(&f.name)
                .then(|| Opened::take_for(&mut ahead, &path))
                .flatten()
                .or_else(|| open_memo(&f.name, &path))
                .map(Arc::new);
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
    verdict(files, memos)
}

/// The checked files, or the rejection naming every file that failed its check.
fn verdict(
    files: FileCollection,
    memos: HashMap<PathBuf, Arc<ValueMemo>>,
) -> Result<CheckedFiles, (JobError, FileCollection)> {
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
    let mut checked = check(pipeline, files, None).await?;
    for (path, memo) in checked.memos.drain() {
        if memos.len() < crate::plot::MAX_PLOTS {
            memos.entry(path).or_insert(memo);
        }
    }
    checked.memos = memos;
    checked.looks = looks;
    Ok(checked)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CheckType, FileOrigin};
    use crate::pipeline::PipelineSet;

    /// A NetCDF file of the repository's own test data (an IMOS mooring file).
    const NC: &str = "tests/data/imos/moorings/IMOS_ANMN-NRS_BCKOSTUZ_20081120T081531Z_NRSROT_FV01_NRSROT-0811-WQM-21_END-20081120T171535Z_C-20190418T000000Z.nc";
    const OTHER_NC: &str = "tests/data/IMOS_ANMN-NRS_TZ_20180406T080000Z_NRSROT_FV01_NRSROT-1804-SBE39-27_END-20180413T064000Z_C-20200313T000000Z.nc";

    fn pipelines() -> PipelineSet {
        let pipeline = |name: &str, handler: &str| {
            format!(
                "[[pipeline]]\nname = \"{name}\"\nkeys = '^{name}/'\n{handler}checks = [\"cf:1.6\"]\nowners = [\"data@example.org\"]\n\n[[pipeline.files]]\ninclude = '\\.nc$'\npublish = \"harvest_upload\"\ndest = \"{name}/{{{{ name }}}}\"\n\n"
            )
        };
        let text = pipeline("plain", "") + &pipeline("hooked", "handler = \"burst_average\"\n");
        PipelineSet::parse(&text, "test").expect("the test pipelines are valid")
    }

    fn upload(dir: &Path, name: &str, from: &str) -> Upload {
        let local_path = dir.join(name);
        std::fs::copy(from, &local_path).expect("the test file copies");
        Upload {
            name: name.to_string(),
            key: format!("plain/{name}"),
            source: format!("file://{}", local_path.display()),
            size: std::fs::metadata(&local_path).unwrap().len(),
            sha256: String::new(),
            version: String::new(),
            uploaded_at: None,
            local_path,
            not_fetched: None,
        }
    }

    /// The upload opened ahead for the plain pipeline, its open awaited.
    async fn opened_ahead(set: &PipelineSet, up: &Upload) -> Option<Opened> {
        let plain = set.by_name("plain").unwrap();
        open_ahead(plain, up).expect("opened ahead").opened().await
    }

    fn variable_names(memo: &ValueMemo) -> Vec<String> {
        memo.header()
            .variables
            .iter()
            .map(|v| v.name.clone())
            .collect()
    }

    #[tokio::test]
    async fn the_check_takes_the_memo_opened_ahead_for_the_same_unchanged_file() {
        let set = pipelines();
        let dir = tempfile::tempdir().unwrap();
        let up = upload(dir.path(), "a.nc", NC);
        let mut opened = opened_ahead(&set, &up).await;
        assert!(opened.as_ref().is_some_and(|o| o.memo.is_some()));
        // Another file is not the one opened ahead, which stays for its own file.
        assert!(Opened::take_for(&mut opened, &dir.path().join("b.nc")).is_none());
        assert!(opened.is_some());
        let memo = Opened::take_for(&mut opened, &up.local_path).expect("the memo opened ahead");
        let fresh = ValueMemo::open(&up.local_path).unwrap();
        assert_eq!(variable_names(&memo), variable_names(&fresh));
        assert!(!variable_names(&memo).is_empty());
        // Taken once.
        assert!(opened.is_none());
    }

    #[tokio::test]
    async fn a_file_changed_after_it_was_opened_ahead_is_opened_again() {
        let set = pipelines();
        let dir = tempfile::tempdir().unwrap();
        let up = upload(dir.path(), "a.nc", NC);
        let mut opened = opened_ahead(&set, &up).await;
        // Replaced by another file, as a step between the fetch and the check could.
        let replacement = dir.path().join("replacement.nc");
        std::fs::copy(OTHER_NC, &replacement).unwrap();
        std::fs::rename(&replacement, &up.local_path).unwrap();
        assert!(Opened::take_for(&mut opened, &up.local_path).is_none());
        // Rewritten in place, same size.
        let up = upload(dir.path(), "b.nc", NC);
        let mut opened = opened_ahead(&set, &up).await;
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&up.local_path, std::fs::read(NC).unwrap()).unwrap();
        assert!(Opened::take_for(&mut opened, &up.local_path).is_none());
    }

    /// A checked collection of `names`, each a copy of [`NC`] with check type `check_type`.
    async fn checked(dir: &Path, names: &[&str], check_type: CheckType) -> CheckedFiles {
        let set = pipelines();
        let files = names
            .iter()
            .map(|name| {
                let up = upload(dir, name, NC);
                let mut f =
                    PipelineFile::addition(*name, FileOrigin::Upload, up.local_path, up.size);
                f.check_type = check_type;
                f
            })
            .collect();
        let plain = set.by_name("plain").unwrap();
        check(plain, FileCollection::new(files), None)
            .await
            .map_err(|(e, _)| e)
            .expect("the copies pass")
    }

    #[tokio::test]
    async fn check_added_reads_the_files_a_handler_added_and_only_those() {
        let set = pipelines();
        let plain = set.by_name("plain").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut files = checked(dir.path(), &["a.nc"], CheckType::NoAction).await;
        let a = &files.files().iter().next().unwrap();
        assert!(a.metadata.is_some(), "{:?}", a.audit);
        let audit = a.audit.len();

        // Nothing added: the checked files come back as they were, with nothing left to read
        // (their file is gone).
        std::fs::remove_file(dir.path().join("a.nc")).unwrap();
        files = check_added(plain, files).await.map_err(|(e, _)| e).unwrap();
        let a = &files.files().iter().next().unwrap();
        assert_eq!(a.audit.len(), audit, "{:?}", a.audit);
        assert_eq!(a.check_passed, Some(true));

        // A file added after the check is checked, and its metadata read.
        let added = upload(dir.path(), "b.nc", NC);
        let mut b = PipelineFile::addition(
            "b.nc",
            FileOrigin::Generated { by: "test".into() },
            added.local_path,
            added.size,
        );
        b.check_type = CheckType::NoAction;
        files.files_mut().push(b);
        files = check_added(plain, files).await.map_err(|(e, _)| e).unwrap();
        let b = &files.files().iter().nth(1).unwrap();
        assert_eq!(b.check_passed, Some(true), "{:?}", b.audit);
        assert!(b.metadata.is_some(), "{:?}", b.audit);

        // A NetCDF file checked but without metadata (its type read none) has it read.
        let c = upload(dir.path(), "c.nc", NC);
        let mut c = PipelineFile::addition("c.nc", FileOrigin::Upload, c.local_path, c.size);
        c.check_passed = Some(true);
        files.files_mut().push(c);
        files = check_added(plain, files).await.map_err(|(e, _)| e).unwrap();
        assert!(files.files().iter().nth(2).unwrap().metadata.is_some());
    }

    #[tokio::test]
    async fn nothing_is_opened_ahead_for_a_handler_that_changes_files_or_a_file_not_netcdf() {
        let set = pipelines();
        let dir = tempfile::tempdir().unwrap();
        let up = upload(dir.path(), "a.nc", NC);
        assert!(open_ahead(set.by_name("hooked").unwrap(), &up).is_none());
        let plain = set.by_name("plain").unwrap();
        let csv = upload(dir.path(), "a.csv", NC);
        assert!(open_ahead(plain, &csv).is_none());
        let not_fetched = Upload {
            not_fetched: Some("too large".into()),
            ..up.clone()
        };
        assert!(open_ahead(plain, &not_fetched).is_none());
        assert!(open_ahead(plain, &up).is_some());
    }
}
