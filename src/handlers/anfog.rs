//! Ocean glider deployments (reference: python-aodndata `anfog/handlers.py` `AnfogHandler` and
//! `anfog/classifiers.py`): real-time and delayed-mode ZIPs, single delayed-mode NetCDF updates
//! and deployment status files; one NetCDF places the whole upload, previous versions are deleted
//! from the listing of the published folder, and the deployment-status row is generated.
//!
//! The core runs in two steps because what must be listed depends on the upload:
//! [`classify`] reads the upload (the primary NetCDF's attributes) and says which folders of the
//! public store to list ([`AnfogUpload::folders_to_list`]); [`plan`] takes those listings and
//! decides everything. By upload (names matched as the reference's `re.match`, at the start):
//!
//! | upload | placement | deletions (from the listing) | status row |
//! |---|---|---|---|
//! | `<SL\|SG\|RU>-<deployment>_<status>.txt` | the text file: no action | `renamed`, `clear-files`: the deployment's real-time NetCDF (`DELETE_UNHARVEST`), PNGs and position summary (`DELETE_ONLY`) under `IMOS/ANFOG/REALTIME/<platform>/<deployment>/` | every status but `clear-files` |
//! | ZIP with a delayed-mode FV01 (ANFOG, DSTG `DSTO_…`, ADAPTER `IMOS_UWA_…`) | all at `<folder>/<name>`: raw files (`*rawfiles.zip\|rar`, FV00 with `R` in the data code, `ANFOG_E_` battery files) `ARCHIVE_ONLY` with a format check; `.kml .jpg .pdf .txt` `UPLOAD_ONLY`; the rest (the FV01) `HARVEST_UPLOAD`, DSTG/ADAPTER FV01 format-checked only | folder published: its previous ANFOG FV01 files of another name; else, for ANFOG, the deployment's real-time files as above | none |
//! | ZIP with a real-time ANFOG FV00 (and at least one PNG) | FV00 `HARVEST_UPLOAD` format-checked only, everything not NetCDF `UPLOAD_ONLY` | folder published: its previous real-time FV00 of another name | folder not published: `in_progress` |
//! | a delayed-mode FV01 NetCDF alone | `HARVEST_UPLOAD` | its previous ANFOG FV01 files of another name; refused when the folder is not published (a new deployment comes with its ancillary material) | none |
//!
//! The folder: `IMOS/ANFOG/<platform>/<deployment>` (delayed mode), `IMOS/ANFOG/REALTIME/…`
//! (real time and status files), `Department_of_Defence/DSTG/slocum_glider/<deployment>`, or
//! `UWA/slocum_glider/<deployment>`. The platform is `seaglider` (SG) or `slocum_glider` (SL, RU)
//! from the first two letters of the name's fifth field (DSTG and ADAPTER: slocum_glider); the
//! deployment is the last word of the `title` attribute (DSTG and real time), the
//! `deployment_code` attribute (ANFOG delayed mode and ADAPTER), or the status file's name.
//!
//! The status row ([`StatusRow`]) goes to `<folder>/HarvestmissionList.csv`, `HARVEST_ONLY` with a
//! format check, for the harvest to load into the deployment-status table `anfog_rt.harvest_listing`
//! (`deployment_name`, `platform_type`, `status` with `-` written `_`, lower case). The file is
//! written byte for byte as the reference writes it: the header `deployment_name, platform_type,
//! status` (with its spaces), a newline, the row, no final newline.
//!
//! Reference behaviours kept because they define what is published: the file-name patterns as
//! the reference wrote them (unescaped dots included: `.*.png$` also matches `…xpng`); files of a
//! delayed-mode ZIP that no pattern names stay `HARVEST_UPLOAD`; a real-time update deletes only
//! the previous NetCDF, not older transect PNGs (the new PNGs overwrite theirs by name); a
//! delayed-mode ZIP writes no status row; the status is the second `_` field of the status file's
//! name, so `…_delayed_mode.txt` is refused (`delayed`) while `…_delayed-mode.txt` is accepted.
//!
//! Where this differs, on purpose: the reference lists a folder by key prefix without a final
//! `/`, so a deployment whose name extends another's (`TwoRocks20180503a` and
//! `TwoRocks20180503ab`) would see, and delete, the other's files; the listings here are of the
//! folder (`<folder>/`). A published file is left to be overwritten when its name is the primary
//! file's (the reference matches the published name as a regular expression against the primary's
//! name, which for these names is the same test). Every refusal is the provider's fault with its
//! reason (the reference raises system-class errors for several: unknown status, no NetCDF in a
//! ZIP, a single FV01 without its deployment).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use regex::Regex;

use super::plan::{Deletion, InputFile, Placement, join_key};
use super::{Generated, HandlerError};
use crate::model::{CheckType, PublishType};
use crate::netcdf::NcFile;

/// The generated deployment-status file.
pub const MISSION_LISTING: &str = "HarvestmissionList.csv";
/// Its harvest target: schema and table.
pub const STATUS_TABLE: (&str, &str) = ("anfog_rt", "harvest_listing");
/// The status messages a status file may carry.
pub const VALID_STATUS: [&str; 8] = [
    "in_progress",
    "delayed-mode",
    "renamed",
    "RECOVERED",
    "ABORTED",
    "POTENTIALLY-LOST",
    "LOST",
    "clear-files",
];

const ANFOG_BASE: &str = "IMOS/ANFOG";
const DSTG_BASE: &str = "Department_of_Defence/DSTG";
const ADAPTER_BASE: &str = "UWA";

/// The reference's patterns, verbatim; each is matched at the start of a name as `re.match` does.
mod pattern {
    pub const ANFOG_RT: &str =
        r"^IMOS_ANFOG_([^R]+)_[0-9]{8}T[0-9]{6}Z_.*_FV00_timeseries_END-[0-9]{8}T[0-9]{6}Z.nc$";
    pub const RT_POSITION_SUMMARY: &str = r".*position_summary.txt$";
    pub const RT_PNG: &str = r".*.png$";
    pub const ANFOG_DM: &str =
        r"^IMOS_ANFOG.*_[0-9]{8}T[0-9]{6}Z.*_FV01_timeseries_END-[0-9]{8}T[0-9]{6}Z.nc$";
    pub const ANFOG_NC: &str =
        r"^IMOS_ANFOG_([^R]+)_.*[0-9]{8}T[0-9]{6}Z.*_timeseries_END-[0-9]{8}T[0-9]{6}Z.nc$";
    pub const DSTG: &str = r"^DSTO_.*_FV01_timeseries_END-[0-9]{8}T[0-9]{6}Z.nc$";
    pub const ADAPTER: &str = r"^IMOS_UWA_.*_FV01_timeseries_END-[0-9]{8}T[0-9]{6}Z.nc$";
    pub const RAW_DATA: &str =
        r"^IMOS_.*R.*_[0-9]{8}T[0-9]{6}Z_.*_FV00_timeseries_END-[0-9]{8}T[0-9]{6}Z.nc$";
    pub const RAW_BATTERY: &str =
        r"^ANFOG_E_[0-9]{8}T[0-9]{6}Z_.*_FV00_timeseries_END-[0-9]{8}T[0-9]{6}Z.nc$";
    pub const UPLOAD_TO_S3: &str = r".*(.kml|.jpg|.pdf|.txt)$";
}

/// The named patterns, compiled once.
struct Patterns {
    anfog_rt: Regex,
    anfog_dm: Regex,
    anfog_nc: Regex,
    dstg: Regex,
    adapter: Regex,
    dm: Regex,
    raw_files: Regex,
    upload_to_s3: Regex,
    png: Regex,
    rt_files: Regex,
}

fn matcher(alternatives: &[&str]) -> Regex {
    Regex::new(&format!("^(?:{})", alternatives.join("|"))).expect("a valid pattern")
}

fn patterns() -> &'static Patterns {
    use pattern::*;
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| Patterns {
        anfog_rt: matcher(&[ANFOG_RT]),
        anfog_dm: matcher(&[ANFOG_DM]),
        anfog_nc: matcher(&[ANFOG_NC]),
        dstg: matcher(&[DSTG]),
        adapter: matcher(&[ADAPTER]),
        dm: matcher(&[ANFOG_DM, DSTG, ADAPTER]),
        raw_files: matcher(&[
            r".*rawfiles.zip$",
            r".*rawfiles.rar$",
            RAW_DATA,
            RAW_BATTERY,
        ]),
        upload_to_s3: matcher(&[UPLOAD_TO_S3]),
        png: matcher(&[RT_PNG]),
        rt_files: matcher(&[ANFOG_RT, RT_PNG, RT_POSITION_SUMMARY]),
    })
}

/// The platform of a two-letter code.
fn platform_of(code: &str) -> Option<&'static str> {
    match code {
        "SG" => Some("seaglider"),
        "SL" | "RU" => Some("slocum_glider"),
        _ => None,
    }
}

/// What was uploaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadKind {
    /// A deployment status file and its message.
    Status { message: String },
    /// A ZIP of a real-time deployment.
    RealTimeZip,
    /// A ZIP of a delayed-mode deployment (ANFOG, DSTG or ADAPTER).
    DelayedModeZip,
    /// A delayed-mode FV01 NetCDF alone: an update of a published deployment.
    DelayedModeUpdate,
}

/// The upload read and classified: what [`plan`] needs besides the listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnfogUpload {
    pub upload_name: String,
    pub kind: UploadKind,
    /// Where every file of the upload is published (no final `/`).
    pub folder: String,
    /// The NetCDF that placed the upload (none for a status file).
    pub primary: Option<String>,
    /// The deployment (the folder's last part) and the platform.
    pub deployment: String,
    pub platform: &'static str,
    /// The folders of the public store [`plan`] needs listed (each as `<folder>/`).
    pub folders_to_list: Vec<String>,
    /// The files of the collection (a ZIP's members, or the upload itself).
    pub files: Vec<String>,
}

/// The row of the deployment-status table the upload writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRow {
    pub deployment_name: String,
    pub platform_type: String,
    /// The message with `-` written `_`, lower case (`in_progress`, `recovered`, `delayed_mode`…).
    pub status: String,
}

/// The generated status file and how it is published.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusListing {
    pub row: StatusRow,
    pub generated: Generated,
    /// `HARVEST_ONLY`, format-checked, at `<folder>/HarvestmissionList.csv`.
    pub placement: Placement,
}

/// Everything decided about an upload.
#[derive(Debug, Clone, PartialEq)]
pub struct AnfogPlan {
    pub upload: AnfogUpload,
    /// One per file of the collection.
    pub files: Vec<Placement>,
    pub deletions: Vec<Deletion>,
    pub status: Option<StatusListing>,
}

/// The stream's upload rule (the reference's `allowed_extensions`).
pub fn check_upload_name(upload_name: &str) -> Result<(), HandlerError> {
    if [".nc", ".txt", ".zip", ".csv"]
        .iter()
        .any(|e| upload_name.ends_with(e))
    {
        Ok(())
    } else {
        Err(HandlerError::rejected(format!(
            "{upload_name}: glider uploads are a deployment ZIP, a delayed-mode NetCDF or a status \
             .txt file"
        )))
    }
}

/// Reads the upload: what it is, the primary NetCDF's destination, the folders to list.
/// `files` is the collection: a ZIP's members, or the uploaded file itself.
pub fn classify(upload_name: &str, files: &[InputFile]) -> Result<AnfogUpload, HandlerError> {
    check_upload_name(upload_name)?;
    let p = patterns();
    let names: Vec<String> = files.iter().map(|f| f.name.clone()).collect();
    let reject = |msg: String| Err(HandlerError::rejected(format!("{upload_name}: {msg}")));

    if upload_name.ends_with(".txt") {
        let message = status_message(upload_name);
        if !message
            .as_deref()
            .is_some_and(|m| VALID_STATUS.contains(&m))
        {
            return reject(format!(
                "invalid status message {:?}: a status file is named <SL|SG|RU>-<deployment>_<status>.txt \
                 with <status> one of {}",
                message.unwrap_or_default(),
                VALID_STATUS.join(", ")
            ));
        }
        let message = message.unwrap_or_default();
        let (platform, deployment) = status_deployment(upload_name).ok_or_else(|| {
            HandlerError::rejected(format!(
                "{upload_name}: a status file is named <SL|SG|RU>-<deployment>_<status>.txt, with one \
                 \"_\" and a platform code SL (slocum glider), RU (slocum glider) or SG (seaglider)"
            ))
        })?;
        let folder = [ANFOG_BASE, "REALTIME", platform, &deployment].join("/");
        let folders_to_list = if matches!(message.as_str(), "renamed" | "clear-files") {
            vec![format!("{folder}/")]
        } else {
            Vec::new()
        };
        return Ok(AnfogUpload {
            upload_name: upload_name.to_string(),
            kind: UploadKind::Status { message },
            folder,
            primary: None,
            deployment,
            platform,
            folders_to_list,
            files: names,
        });
    }

    let is_zip = upload_name.ends_with(".zip");
    let kind = if is_zip {
        if names.iter().any(|n| p.dm.is_match(n)) {
            UploadKind::DelayedModeZip
        } else if names.iter().any(|n| p.anfog_rt.is_match(n)) {
            if !names.iter().any(|n| p.png.is_match(n)) {
                return Err(HandlerError::rejected(format!(
                    "{upload_name}: missing ancillary files (PNGs or summary position file) in the \
                     real-time ZIP archive: send the deployment's plots with its NetCDF"
                )));
            }
            UploadKind::RealTimeZip
        } else {
            return reject(
                "expecting one NetCDF file in ZIP archive: a real-time ZIP holds one \
                 IMOS_ANFOG_…_FV00_timeseries_END-….nc, a delayed-mode ZIP one …_FV01_timeseries_END-….nc"
                    .to_string(),
            );
        }
    } else if p.dm.is_match(upload_name) {
        UploadKind::DelayedModeUpdate
    } else {
        return reject(
            "cannot process the uploaded file: glider uploads are a deployment ZIP, a delayed-mode \
             FV01 NetCDF or a status .txt file"
                .to_string(),
        );
    };

    let (primary_pattern, level) = match kind {
        UploadKind::RealTimeZip => (&p.anfog_rt, "FV00"),
        _ => (&p.dm, "FV01"),
    };
    let primaries: Vec<&InputFile> = files
        .iter()
        .filter(|f| primary_pattern.is_match(&f.name))
        .collect();
    let [primary] = primaries.as_slice() else {
        return reject(format!(
            "expecting one '{level}' NetCDF file in the upload, found {}{}",
            primaries.len(),
            if primaries.is_empty() {
                String::new()
            } else {
                format!(
                    " ({})",
                    primaries
                        .iter()
                        .map(|f| f.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        ));
    };
    let (base, platform, deployment) = destination(primary)?;
    let folder = if kind == UploadKind::RealTimeZip {
        [base, "REALTIME", platform, &deployment].join("/")
    } else {
        [base, platform, &deployment].join("/")
    };
    let mut folders_to_list = vec![format!("{folder}/")];
    if kind == UploadKind::DelayedModeZip && p.anfog_dm.is_match(&primary.name) {
        folders_to_list.push(format!("{}/", realtime_folder(&folder)));
    }
    Ok(AnfogUpload {
        upload_name: upload_name.to_string(),
        kind,
        folder,
        primary: Some(primary.name.clone()),
        deployment,
        platform,
        folders_to_list,
        files: names,
    })
}

/// `IMOS/ANFOG/<platform>/<deployment>` → `IMOS/ANFOG/REALTIME/<platform>/<deployment>`.
fn realtime_folder(folder: &str) -> String {
    let parts: Vec<&str> = folder.split('/').collect();
    [parts[0], parts[1], "REALTIME", parts[2], parts[3]].join("/")
}

/// The status of a status file's name: its second `_` field, `.txt` removed. The reference strips
/// the characters `.`, `t`, `x` from both ends instead, which gives the same status for every
/// valid one (none starts or ends with those letters) and refuses the same names.
fn status_message(name: &str) -> Option<String> {
    let field = name.split('_').nth(1)?;
    Some(field.strip_suffix(".txt").unwrap_or(field).to_string())
}

/// `<PL>-<deployment>_<status>.txt` → platform and deployment (exactly two `_` fields).
fn status_deployment(name: &str) -> Option<(&'static str, String)> {
    let stem = name.strip_suffix(".txt")?;
    let (head, _status) = stem.split_once('_')?;
    if stem.matches('_').count() != 1 {
        return None;
    }
    let mut parts = head.split('-');
    let platform = platform_of(parts.next()?)?;
    let deployment = parts.next().filter(|d| !d.is_empty())?;
    Some((platform, deployment.to_string()))
}

/// The primary NetCDF's base folder, platform and deployment.
fn destination(primary: &InputFile) -> Result<(&'static str, &'static str, String), HandlerError> {
    let p = patterns();
    let name = primary.name.as_str();
    let reject = |msg: String| HandlerError::rejected(format!("{name}: {msg}"));
    let base = if p.adapter.is_match(name) {
        ADAPTER_BASE
    } else if p.dstg.is_match(name) {
        DSTG_BASE
    } else {
        ANFOG_BASE
    };
    let platform = if p.dstg.is_match(name) || p.adapter.is_match(name) {
        "slocum_glider"
    } else {
        // The fifth `_` field of the name without its extension, e.g. SL210 → SL.
        let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
        let fields: Vec<&str> = stem.split('_').collect();
        if fields.len() < 6 {
            return Err(reject(
                "has fewer than 6 \"_\"-separated fields in its name".to_string(),
            ));
        }
        let code: String = fields[4].chars().take(2).collect();
        platform_of(&code).ok_or_else(|| {
            reject(format!(
                "unknown platform code {code:?} in the name's fifth field {:?}: expected SL or RU \
                 (slocum glider) or SG (seaglider)",
                fields[4]
            ))
        })?
    };
    let summary = NcFile::open(&primary.path)
        .and_then(|f| f.summary())
        .map_err(|e| reject(format!("could not open the NetCDF file: {e}")))?;
    let attribute = |att: &str| {
        summary.global_str(att).map(str::to_string).ok_or_else(|| {
            reject(format!(
                "has no global attribute {att:?}: it names the deployment"
            ))
        })
    };
    let deployment = if p.dstg.is_match(name) || p.anfog_rt.is_match(name) {
        let title = attribute("title")?;
        let last = title
            .split_whitespace()
            .last()
            .unwrap_or_default()
            .to_string();
        if last.is_empty() || last == "mission" {
            return Err(reject(format!(
                "missing deployment code: the title {title:?} must end with the deployment's name"
            )));
        }
        last
    } else if p.anfog_nc.is_match(name) || p.adapter.is_match(name) {
        attribute("deployment_code")?
    } else {
        return Err(reject(
            "invalid file name: no rule gives the deployment of this NetCDF file".to_string(),
        ));
    };
    Ok((base, platform, deployment))
}

/// Decides every placement, the deletions and the status row. `listings` holds, for each folder
/// of [`AnfogUpload::folders_to_list`], the keys published under it; `files` is the collection
/// as given to [`classify`]; the status file is written in `work_dir`.
pub fn plan(
    upload: &AnfogUpload,
    files: &[InputFile],
    listings: &BTreeMap<String, Vec<String>>,
    work_dir: &Path,
) -> Result<AnfogPlan, HandlerError> {
    let p = patterns();
    let listing = |folder: &str| -> Result<&[String], HandlerError> {
        listings
            .get(&format!("{folder}/"))
            .map(Vec::as_slice)
            .ok_or_else(|| {
                HandlerError::Internal(format!("the listing of {folder}/ was not given"))
            })
    };
    let folder = upload.folder.as_str();
    let at = |name: &str| Some(join_key(folder, name));
    let mut placements = Vec::new();
    let mut deletions = Vec::new();
    let mut status = None;

    match &upload.kind {
        UploadKind::Status { message } => {
            placements.push(Placement::no_action(&upload.upload_name));
            if matches!(message.as_str(), "renamed" | "clear-files") {
                deletions = deletions_in(listing(folder)?, folder, &p.rt_files, None);
            }
            if message != "clear-files" {
                status = Some(status_listing(upload, message, work_dir)?);
            }
        }
        UploadKind::DelayedModeZip => {
            let primary = upload.primary.as_deref();
            for f in files {
                let name = f.name.as_str();
                let placement = if p.upload_to_s3.is_match(name) {
                    Placement::new(name, PublishType::UploadOnly, at(name))
                } else if p.raw_files.is_match(name) {
                    Placement::new(name, PublishType::ArchiveOnly, None)
                        .with_check(CheckType::Format)
                        .with_archive(join_key(folder, name))
                } else {
                    let placement = Placement::new(name, PublishType::HarvestUpload, at(name));
                    if Some(name) == primary && (p.dstg.is_match(name) || p.adapter.is_match(name))
                    {
                        // DSTG and ADAPTER files are not CF/IMOS compliant.
                        placement.with_check(CheckType::Format)
                    } else {
                        placement
                    }
                };
                placements.push(placement);
            }
            let published = listing(folder)?;
            if !published.is_empty() {
                deletions = deletions_in(published, folder, &p.anfog_dm, primary);
            } else if primary.is_some_and(|n| p.anfog_dm.is_match(n)) {
                let rt = realtime_folder(folder);
                deletions = deletions_in(listing(&rt)?, &rt, &p.rt_files, primary);
            }
        }
        UploadKind::RealTimeZip => {
            let primary = upload.primary.as_deref();
            for f in files {
                let name = f.name.as_str();
                let placement = if !name.ends_with(".nc") {
                    Placement::new(name, PublishType::UploadOnly, at(name))
                } else if Some(name) == primary {
                    // Real-time files are not CF/IMOS compliant.
                    Placement::new(name, PublishType::HarvestUpload, at(name))
                        .with_check(CheckType::Format)
                } else {
                    Placement::new(name, PublishType::HarvestUpload, at(name))
                };
                placements.push(placement);
            }
            let published = listing(folder)?;
            if published.is_empty() {
                status = Some(status_listing(upload, "in_progress", work_dir)?);
            } else {
                deletions = deletions_in(published, folder, &p.anfog_rt, primary);
            }
        }
        UploadKind::DelayedModeUpdate => {
            let published = listing(folder)?;
            if published.is_empty() {
                return Err(HandlerError::rejected(format!(
                    "{}: new delayed mode deployment: the NetCDF file should have been submitted \
                     with ancillary material, in a ZIP with the deployment's other files ({folder}/ \
                     holds nothing yet)",
                    upload.upload_name
                )));
            }
            let primary = upload.primary.as_deref();
            for f in files {
                let placement = Placement::new(&f.name, PublishType::HarvestUpload, at(&f.name));
                // As in a ZIP (the reference's get_data_mode): DSTG and ADAPTER files are not
                // CF/IMOS compliant.
                placements.push(if p.dstg.is_match(&f.name) || p.adapter.is_match(&f.name) {
                    placement.with_check(CheckType::Format)
                } else {
                    placement
                });
            }
            deletions = deletions_in(published, folder, &p.anfog_dm, primary);
        }
    }
    Ok(AnfogPlan {
        upload: upload.clone(),
        files: placements,
        deletions,
        status,
    })
}

/// The published files of `folder` whose name matches `pattern`, but not the one named as the
/// primary file (the upload overwrites it): NetCDF `DELETE_UNHARVEST`, the rest `DELETE_ONLY`.
fn deletions_in(
    listing: &[String],
    folder: &str,
    pattern: &Regex,
    keep: Option<&str>,
) -> Vec<Deletion> {
    let prefix = format!("{folder}/");
    listing
        .iter()
        .filter_map(|key| key.strip_prefix(&prefix))
        // Only files of the folder itself; the reference's `dest_path` is always `<folder>/<name>`.
        .filter(|name| !name.contains('/'))
        .filter(|name| pattern.is_match(name) && Some(*name) != keep)
        .map(|name| Deletion {
            key: join_key(folder, name),
            publish: if name.ends_with(".nc") {
                PublishType::DeleteUnharvest
            } else {
                PublishType::DeleteOnly
            },
        })
        .collect()
}

fn status_listing(
    upload: &AnfogUpload,
    message: &str,
    work_dir: &Path,
) -> Result<StatusListing, HandlerError> {
    let row = StatusRow {
        deployment_name: upload.deployment.clone(),
        platform_type: upload.platform.to_string(),
        status: message.replace('-', "_").to_lowercase(),
    };
    let path = work_dir.join(MISSION_LISTING);
    let text = format!(
        "deployment_name, platform_type, status\n{},{},{}",
        row.deployment_name, row.platform_type, row.status
    );
    std::fs::write(&path, text)
        .map_err(|e| HandlerError::Internal(format!("writing {}: {e}", path.display())))?;
    Ok(StatusListing {
        row,
        generated: Generated {
            path,
            name: MISSION_LISTING.to_string(),
        },
        placement: Placement::new(
            MISSION_LISTING,
            PublishType::HarvestOnly,
            Some(join_key(&upload.folder, MISSION_LISTING)),
        )
        .with_check(CheckType::Format),
    })
}

#[cfg(test)]
mod tests;
