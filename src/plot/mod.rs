//! Quick-look plots of published NetCDF files: the main data variable of each time series or
//! profile drawn as a small PNG, kept beside the job report and shown in the notification email.
//! A plot is a courtesy: any failure becomes a note in the report, never a job failure.
//! [`map`] and [`profile_plot`] draw the derivations of those names instead: files that are
//! published, so their failure rejects the upload.

mod draw;
pub mod map;
pub mod profile_plot;
mod select;
mod series;

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tracing::{debug, warn};

pub use draw::{HEIGHT, WIDTH};
pub use select::{Choice, Kind, choose};

use crate::model::{FileCollection, PipelineFile};
use crate::netcdf::memo::downcast;
use crate::netcdf::{NcFile, NcSummary, ValueMemo};
use crate::notify::compose::InlinePlot;
use crate::report::PlotReport;
use crate::store::staged::StagedBytes;
use crate::store::{ObjectStore, PutOptions};

/// Series longer than this are thinned (lowest and highest value per bucket) before drawing.
pub const MAX_POINTS: usize = 4000;

/// At most this many quick looks per job: an upload of hundreds of files gets the first few.
pub const MAX_PLOTS: usize = 8;

/// A drawn quick look of one file.
#[derive(Debug, Clone)]
pub struct QuickLook {
    /// The file's name.
    pub file: String,
    /// The variable drawn.
    pub variable: String,
    /// What the plot shows: the variable's long name and units.
    pub title: String,
    pub png: Vec<u8>,
}

/// The key of a quick look's points in a file's [`ValueMemo`].
const POINTS: &str = "quick-look-points";

/// Draws the quick look of one NetCDF file. `Ok(None)` when the file is not a time series or
/// profile with a plottable variable (nothing to say); `Err` when it should have been drawn but
/// could not (worth a note).
pub fn quick_look(path: &Path, name: &str) -> Result<Option<QuickLook>, String> {
    // The drawing library is not ours: a panic in it must not take the job down.
    catch_unwind(AssertUnwindSafe(|| {
        let file = NcFile::open(path).map_err(|e| e.to_string())?;
        let summary = file.summary().map_err(|e| e.to_string())?;
        draw_file(&file, &summary, None, name)
    }))
    .unwrap_or_else(|_| Err("the plotting library failed on this file".into()))
}

/// [`quick_look`] of a file opened as a memo with [`share_points`] registered: the points come
/// from the one read of the two variables that every reader of the file shares.
pub fn quick_look_shared(memo: &ValueMemo, name: &str) -> Result<Option<QuickLook>, String> {
    catch_unwind(AssertUnwindSafe(|| {
        draw_file(memo.file(), memo.header(), Some(memo), name)
    }))
    .unwrap_or_else(|_| Err("the plotting library failed on this file".into()))
}

/// Registers the quick look's two variables in a file's memo, to be read side by side with
/// every other reader's folds of them.
pub fn share_points(memo: &mut ValueMemo) {
    let summary = memo.header();
    let Some(choice) = choose(summary) else {
        return;
    };
    let (Some(axis), Some(data)) = (
        summary.variable(&choice.axis),
        summary.variable(&choice.data),
    ) else {
        return;
    };
    let (axis, data) = (axis.clone(), data.clone());
    let (a, d) = (axis.clone(), data.clone());
    memo.pair(
        POINTS,
        &axis,
        &data,
        Box::new(move || Box::new(series::Points::new(&a, &d, MAX_POINTS))),
    );
}

fn draw_file(
    file: &NcFile,
    summary: &NcSummary,
    memo: Option<&ValueMemo>,
    name: &str,
) -> Result<Option<QuickLook>, String> {
    let Some(choice) = choose(summary) else {
        return Ok(None);
    };
    let (Some(axis), Some(data)) = (
        summary.variable(&choice.axis),
        summary.variable(&choice.data),
    ) else {
        return Ok(None);
    };
    let shared = memo.and_then(|m| m.pair_summary(POINTS));
    let mut points = match shared {
        Some(summary) => downcast::<Vec<(f64, f64)>>(summary)?
            .map(|p| p.as_ref().clone())
            .ok_or("the kept points are not a quick look's")?,
        None => series::read_pairs(file, axis, data, MAX_POINTS).map_err(|e| e.to_string())?,
    };
    if points.is_empty() {
        return Err(format!("{} has no valid values to plot", choice.data));
    }
    if let Some(units) = choice.time_units {
        // Instants as seconds since 1970, which the time axis labels as dates.
        let epoch = units.epoch.and_utc().timestamp() as f64;
        for p in &mut points {
            p.0 = epoch + p.0 * units.seconds_per_unit;
        }
    }
    let caption = shorten(summary.global_str("title").unwrap_or(name), 80);
    let png = draw::render_png(&draw::Figure {
        kind: choice.kind,
        caption: &caption,
        data_label: &choice.data_label,
        axis_label: &choice.axis_label,
        points: &points,
    })?;
    Ok(Some(QuickLook {
        file: name.to_string(),
        title: choice.data_label,
        variable: choice.data,
        png,
    }))
}

fn shorten(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max_chars - 1).collect();
        format!("{}…", cut.trim_end())
    }
}

/// The quick looks of a job, kept and ready for the email.
#[derive(Debug, Default)]
pub struct JobPlots {
    /// What the job report lists.
    pub reports: Vec<PlotReport>,
    /// What the HTML email shows inline.
    pub inline: Vec<InlinePlot>,
    /// Plots that failed or were left out, for the report's notes.
    pub notes: Vec<String>,
}

/// The NetCDF files of a collection that `chosen` picks (deletions never), in the collection's
/// order: each one's name, local path and memo if it has one. What a quick look may be drawn of.
fn plottable<'a>(
    files: &'a FileCollection,
    memos: &'a HashMap<PathBuf, Arc<ValueMemo>>,
    chosen: impl Fn(&PipelineFile) -> bool + 'a,
) -> impl Iterator<Item = (String, PathBuf, Option<Arc<ValueMemo>>)> + 'a {
    files
        .iter()
        .filter(move |f| !f.is_deletion() && chosen(f))
        .filter(|f| f.name.to_ascii_lowercase().ends_with(".nc"))
        .filter_map(|f| {
            let path = f.local_path.clone()?;
            let memo = memos.get(&path).cloned();
            Some((f.name.clone(), path, memo))
        })
}

/// A quick look drawn before its file was published, and its PNG written ahead into the
/// reports store where that store takes copies written ahead.
struct Drawn {
    path: PathBuf,
    name: String,
    look: Result<Option<QuickLook>, String>,
    staged: Option<StagedBytes>,
}

/// Quick looks being drawn on a thread of their own while the job places and publishes the files
/// they show: the drawing is pure computation on values the check already read, and the publish
/// mostly waits on the stores, so the two share the time. Each PNG is then written ahead into
/// the reports store's staging folder (`ObjectStore::stage_bytes`), so that storing it after the
/// publish is a rename: its write and `fsync` wait beside the publish's rather than after them
/// (BENCHMARKS.md, "Quick looks written ahead"). [`for_published`] takes the looks of the files
/// that were published and draws any other it needs itself; a look of a file that was not
/// published is dropped unseen (its staged copy removed), and so are all of them when the job
/// stops before publishing.
#[derive(Default)]
pub struct DrawnAhead {
    task: Option<tokio::task::JoinHandle<Vec<Drawn>>>,
}

impl std::fmt::Debug for DrawnAhead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DrawnAhead")
            .field("drawing", &self.task.is_some())
            .finish()
    }
}

/// Starts drawing the quick looks of checked files that have a memo and that their publish type
/// would publish (every file of a collection that passed its check has passed it), in the
/// collection's order and at most [`MAX_PLOTS`] of them, as [`for_published`] would choose them
/// once they are published, and writing each ahead into `reports`.
pub fn draw_ahead(
    files: &FileCollection,
    memos: &HashMap<PathBuf, Arc<ValueMemo>>,
    reports: Arc<dyn ObjectStore>,
) -> DrawnAhead {
    let would_publish = |f: &PipelineFile| f.publish_type != crate::model::PublishType::NoAction;
    let chosen: Vec<(String, PathBuf, Arc<ValueMemo>)> = plottable(files, memos, would_publish)
        .filter_map(|(name, path, memo)| Some((name, path, memo?)))
        .take(MAX_PLOTS)
        .collect();
    if chosen.is_empty() {
        return DrawnAhead::default();
    }
    // Not awaited when the job stops before its notification, so started at once.
    let task = crate::task::spawn_blocking(move || {
        chosen
            .into_iter()
            .map(|(name, path, memo)| {
                let look = quick_look_shared(&memo, &name);
                let staged = match &look {
                    Ok(Some(look)) => reports.stage_bytes(&look.png),
                    _ => None,
                };
                Drawn {
                    path,
                    name,
                    look,
                    staged,
                }
            })
            .collect()
    });
    DrawnAhead { task: Some(task) }
}

impl DrawnAhead {
    /// The looks drawn so far and those still being drawn; none if the drawing thread failed
    /// (each is then drawn again, and fails on its own terms).
    async fn finish(self) -> Vec<Drawn> {
        match self.task {
            Some(task) => task.await.unwrap_or_default(),
            None => Vec::new(),
        }
    }
}

/// Draws the quick looks of the job's published NetCDF files (off the async workers) and stores
/// each PNG beside the job report as `<pipeline>/<job_id>/<file>.png`. A look in `ahead` is taken
/// as drawn; a file with a memo in `memos` (by its local path) is drawn from the points its memo
/// kept.
pub async fn for_published(
    files: &FileCollection,
    memos: &HashMap<PathBuf, Arc<ValueMemo>>,
    ahead: DrawnAhead,
    reports: &dyn ObjectStore,
    pipeline: &str,
    job_id: &str,
) -> JobPlots {
    let candidates: Vec<(String, PathBuf, Option<Arc<ValueMemo>>)> =
        plottable(files, memos, PipelineFile::published).collect();
    let mut out = JobPlots::default();
    if candidates.is_empty() {
        return out;
    }
    let mut early = ahead.finish().await;
    let drawn = crate::task::blocking(move || {
        let mut looks = Vec::new();
        let mut notes = Vec::new();
        let mut left_out = 0;
        for (name, path, memo) in candidates {
            if looks.len() == MAX_PLOTS {
                left_out += 1;
                continue;
            }
            let taken = early
                .iter()
                .position(|d| d.path == path && d.name == name)
                .map(|i| early.swap_remove(i));
            let (look, staged) = match (taken, &memo) {
                (Some(drawn), _) => (drawn.look, drawn.staged),
                (None, Some(memo)) => (quick_look_shared(memo, &name), None),
                (None, None) => (quick_look(&path, &name), None),
            };
            match look {
                Ok(Some(look)) => looks.push((look, staged)),
                Ok(None) => debug!(file = %name, "no quick look: not a time series or profile with a plottable variable"),
                Err(e) => notes.push(format!("no quick look of {name}: {e}")),
            }
        }
        if left_out > 0 {
            notes.push(format!(
                "quick looks were drawn for the first {MAX_PLOTS} files only ({left_out} more published)"
            ));
        }
        (looks, notes)
    })
    .await;
    let (looks, notes) = match drawn {
        Ok(drawn) => drawn,
        Err(e) => (Vec::new(), vec![format!("quick looks failed: {e}")]),
    };
    out.notes = notes;
    for (look, staged) in looks {
        let filename = format!("{}.png", look.file);
        let location = match crate::layout::job_attachment(pipeline, job_id, &filename) {
            Ok(key) => {
                let opts = PutOptions {
                    content_type: Some("image/png".into()),
                    sha256: None,
                };
                match reports
                    .put_bytes_staged(&key, look.png.clone(), &opts, staged)
                    .await
                {
                    Ok(_) => Some(reports.url_of(&key)),
                    Err(e) => {
                        out.notes.push(format!(
                            "could not store the quick look of {}: {e}",
                            look.file
                        ));
                        None
                    }
                }
            }
            Err(e) => {
                out.notes
                    .push(format!("no key for the quick look of {}: {e}", look.file));
                None
            }
        };
        out.reports.push(PlotReport {
            file: look.file.clone(),
            variable: look.variable.clone(),
            location,
        });
        out.inline.push(InlinePlot {
            title: look.title,
            file: look.file.clone(),
            filename,
            png: look.png,
        });
    }
    for note in &out.notes {
        warn!(note = %note, "quick look");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name)
    }

    const PROFILE: &str = "IMOS_ANMN-NRS_CDEKOSTUZ_20140703T021045Z_NRSMAI_FV01_Profile-SBE-19plus_C-20160524T003914Z.nc";
    const TEMPERATURE: &str = "IMOS_ANMN-NRS_TZ_20180406T080000Z_NRSROT_FV01_NRSROT-1804-SBE39-27_END-20180413T064000Z_C-20200313T000000Z.nc";

    #[test]
    fn the_reference_profile_and_time_series_get_a_temperature_plot() {
        for name in [PROFILE, TEMPERATURE] {
            let look = quick_look(&fixture(name), name).unwrap().unwrap();
            assert_eq!(look.variable, "TEMP", "{name}");
            assert!(
                look.title.contains("sea water temperature"),
                "{}",
                look.title
            );
            assert!(look.png.starts_with(b"\x89PNG\r\n\x1a\n"));
        }
    }

    #[test]
    fn files_that_are_not_series_are_skipped_and_broken_ones_explained() {
        let acorn = "IMOS_ACORN_V_20101201T050000Z_BONC_FV00_sea-state.nc";
        assert!(quick_look(&fixture(acorn), acorn).unwrap().is_none());
        let err = quick_look(&fixture("not_a_netcdf_file.nc"), "x.nc").unwrap_err();
        assert!(err.contains("NetCDF"), "{err}");
    }

    #[test]
    fn a_long_caption_is_shortened_on_a_character_boundary() {
        assert_eq!(shorten("Île", 80), "Île");
        let long = "é".repeat(100);
        let short = shorten(&long, 10);
        assert_eq!(short.chars().count(), 10);
        assert!(short.ends_with('…'));
    }

    /// A checked file copied into `dir`, opened as the check opens it, marked as published or not.
    fn checked(dir: &Path, name: &str, published: bool) -> (PipelineFile, Arc<ValueMemo>) {
        let path = dir.join(name);
        std::fs::copy(fixture(name), &path).unwrap();
        let mut memo = ValueMemo::open(&path).unwrap();
        share_points(&mut memo);
        let size = std::fs::metadata(&path).unwrap().len();
        let mut f = PipelineFile::addition(name, crate::model::FileOrigin::Upload, path, size);
        f.check_passed = Some(true);
        (f.archived, f.stored, f.harvested) = (published, published, published);
        (f, Arc::new(memo))
    }

    #[tokio::test]
    async fn looks_drawn_ahead_are_taken_for_the_files_that_were_published() {
        let dir = tempfile::tempdir().unwrap();
        let (published, a) = checked(dir.path(), TEMPERATURE, true);
        let (kept_back, b) = checked(dir.path(), PROFILE, false);
        let memos: HashMap<PathBuf, Arc<ValueMemo>> = [
            (published.local_path.clone().unwrap(), a),
            (kept_back.local_path.clone().unwrap(), b),
        ]
        .into();
        let files = FileCollection::new(vec![published, kept_back]);
        let reports = crate::store::local::LocalStore::open(&dir.path().join("reports")).unwrap();
        let staging = reports.staging_folder().unwrap();
        let staged = || {
            std::fs::read_dir(&staging)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(".staged-"))
                .count()
        };

        // Drawn ahead, then the files and their memos gone: only the looks drawn ahead can say
        // anything now.
        let ahead = draw_ahead(&files, &memos, Arc::new(reports.clone()));
        // Each look is written ahead into the reports store's staging folder once drawn.
        let waited = std::time::Instant::now();
        while staged() < 2 {
            assert!(
                waited.elapsed() < std::time::Duration::from_secs(60),
                "the looks drawn ahead were not written ahead"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let drawn_anew = for_published(&files, &memos, DrawnAhead::default(), &reports, "p", "j0")
            .await
            .inline;
        drop(memos);
        for f in files.iter() {
            std::fs::remove_file(f.local_path.as_ref().unwrap()).unwrap();
        }
        let none = HashMap::new();
        let plots = for_published(&files, &none, ahead, &reports, "p", "j1").await;
        assert!(plots.notes.is_empty(), "{:?}", plots.notes);
        let shown: Vec<&str> = plots.reports.iter().map(|r| r.file.as_str()).collect();
        assert_eq!(shown, [TEMPERATURE], "the file not published gets no look");
        assert_eq!(plots.inline.len(), 1);
        assert_eq!(drawn_anew.len(), 1);
        assert_eq!(
            plots.inline[0].png, drawn_anew[0].png,
            "the look drawn ahead is the look drawn after the publish"
        );
        let stored = dir.path().join(format!("reports/p/j1/{TEMPERATURE}.png"));
        assert_eq!(std::fs::read(&stored).unwrap(), plots.inline[0].png);
        assert_eq!(
            staged(),
            0,
            "the published file's look was placed, the other's copy removed"
        );

        // Without looks drawn ahead, the same files are drawn again, and fail: they are gone.
        let plots = for_published(&files, &none, DrawnAhead::default(), &reports, "p", "j2").await;
        assert!(plots.reports.is_empty());
        assert_eq!(plots.notes.len(), 1, "{:?}", plots.notes);
    }
}
