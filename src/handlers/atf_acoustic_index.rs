//! Acoustic tag detections (reference: python-aodndata `aatams/aatams_acoustic.py`
//! `AnimalTrackingAcousticHandler`, with `aatams_acoustic_index_tmp.py`): QC'd detection CSVs,
//! alone or zipped, each stored as it came and summarised into one row of an index table.
//!
//! [`place`] (the reference's preprocess): every file of the upload must be named
//! `IMOS_ATF-ACOUSTIC_TAGID_<1 to 3 transmitter ids A69|A180-NNNN-N…_><tag_id>_<deployment_id>[_…].csv`
//! ([`FILE_PATTERN`]); an upload with no file at all is refused. Each CSV is checked against the
//! collection's table schema (`IMOS_ATF-ACOUSTIC.schema.yaml` in the reference, found by the name
//! pattern `^IMOS_ATF-ACOUSTIC`) and stored `UPLOAD_ONLY` at
//! `IMOS/AATAMS/acoustic_detections_QC/<name>`.
//!
//! [`build_index`] (the reference's process, after the check): `index_tmp.csv`, one row per CSV,
//! published `HARVEST_ONLY` at `IMOS/AATAMS/acoustic_detections_QC/index_tmp.csv` for the
//! harvest to load into `animal_tracking_acoustic_qc.index_tmp` — a staging table the reference
//! drops and reloads on every run (`ingest_type = "replace"`, our harvest's truncate mode) before
//! its collection SQL merges it. Columns, as [`IndexRow`] documents: `tag_deployment_id`,
//! `transmitter_id`, `species`, `species_scientific_name`, `tagging_project`,
//! `time_coverage_start`, `time_coverage_end`, `geom_df`, `url`, `size`. The file is written as
//! pandas writes it (`,`-separated, minimal quoting, `\n` after every row, times as
//! `2019-06-09 09:45:46+00:00`, empty for a missing value). A CSV holding more than one `tag_id`
//! or `transmitter_deployment_id` is refused.
//!
//! Where this differs from the reference, on purpose:
//! - The transmitter ids of a row are in sorted order (the reference joins a Python `set` of
//!   strings, whose order changes from run to run with the interpreter's hash seed), and the
//!   `MULTIPOINT` lists positions in the order of their first detection (the reference's order
//!   is that of a Python `set` of float pairs); the geometry is the same set of points.
//! - Detections without a recovery position are left out of the geometry (the reference writes
//!   `nan nan` points that PostGIS refuses); a file with none gets `MULTIPOINT EMPTY`.
//! - A CSV without detections, without one of the columns the index reads, or with a value the
//!   index cannot read is refused naming the file, line and column (the reference fails with an
//!   `IndexError`, a `KeyError` or a pandas parse error).
//! - Numbers in `geom_df` are printed as shapely 1.8 with GEOS ≥ 3.10 prints them.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::OnceLock;

use chrono::{DateTime, NaiveDateTime, Utc};
use regex::Regex;

use super::plan::{InputFile, Placement, join_key};
use super::pyfmt::{csv_field, py_int, wkt_number};
use super::{Generated, HandlerError};
use crate::model::{CheckType, PublishType};

/// Where the detection files and the index are published.
pub const DEST_FOLDER: &str = "IMOS/AATAMS/acoustic_detections_QC";
/// The generated index's name.
pub const INDEX_NAME: &str = "index_tmp.csv";
/// The harvest target of the index: schema and table.
pub const INDEX_TABLE: (&str, &str) = ("animal_tracking_acoustic_qc", "index_tmp");
/// The name every detection file must have (the reference's `AT_ACOUSTIC_FILE_PATTERN`).
pub const FILE_PATTERN: &str = r"^IMOS_ATF-ACOUSTIC_TAGID_(?P<transmitter_ids>(A(69|180)-[0-9]{4}-[0-9]{1,5}_)(A(69|180)-[0-9]{4}-[0-9]{1,5}_)?(A(69|180)-[0-9]{4}-[0-9]{1,5}_)?)(?P<release_id>[0-9]{1,10}_[0-9]{1,10})(?P<product_type>(_.*)?)\.csv$";
/// The header of the index.
pub const INDEX_COLUMNS: [&str; 10] = [
    "tag_deployment_id",
    "transmitter_id",
    "species",
    "species_scientific_name",
    "tagging_project",
    "time_coverage_start",
    "time_coverage_end",
    "geom_df",
    "url",
    "size",
];
/// What pandas' `read_csv` reads as a missing value.
const PANDAS_NA: [&str; 19] = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
];

fn file_pattern() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| Regex::new(FILE_PATTERN).expect("a valid pattern"))
}

/// The upload rule of the stream (the reference's `allowed_extensions`): a `.csv` or a `.zip`.
pub fn check_upload_name(upload_name: &str) -> Result<(), HandlerError> {
    if upload_name.ends_with(".csv") || upload_name.ends_with(".zip") {
        Ok(())
    } else {
        Err(HandlerError::rejected(format!(
            "{upload_name}: acoustic detections come as a .csv file or a .zip of .csv files"
        )))
    }
}

/// Where a detection file (or the index) is published.
pub fn dest_path(name: &str) -> String {
    join_key(DEST_FOLDER, name)
}

/// Checks the names of the upload's files and places each: table-schema checked, stored
/// `UPLOAD_ONLY`. `names` are the collection's files (a ZIP's members, or the CSV itself).
pub fn place(upload_name: &str, names: &[&str]) -> Result<Vec<Placement>, HandlerError> {
    check_upload_name(upload_name)?;
    let unmatched: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !file_pattern().is_match(n))
        .collect();
    if !unmatched.is_empty() {
        return Err(HandlerError::rejected(format!(
            "{upload_name}: file name(s) don't match the pattern expected for this upload \
             location: {}. Expected pattern is \
             IMOS_ATF-ACOUSTIC_TAGID_<transmitterID>_<tagID>_<transmitterdeploymentID>.csv, with \
             one to three transmitter ids like A69-1602-11653",
            unmatched.join(", ")
        )));
    }
    if names.is_empty() {
        return Err(HandlerError::rejected(format!(
            "{upload_name}: no csv file to index: the upload holds no detection file"
        )));
    }
    Ok(names
        .iter()
        .map(|n| {
            Placement::new(n, PublishType::UploadOnly, Some(dest_path(n)))
                .with_check(CheckType::TableSchema)
        })
        .collect())
}

/// One row of the index: one detection file summarised.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexRow {
    /// The transmitter ids joined by `-`, then `-<tag_id>-<transmitter_deployment_id>`.
    pub tag_deployment_id: String,
    /// The distinct transmitter ids, sorted, joined by a space.
    pub transmitter_id: String,
    /// `species_common_name` of the first detection.
    pub species: String,
    /// `species_scientific_name` of the first detection.
    pub species_scientific_name: String,
    /// `tag_deployment_project_name` of the first detection.
    pub tagging_project: String,
    /// The earliest `detection_datetime`.
    pub time_coverage_start: DateTime<Utc>,
    /// The latest `detection_datetime`.
    pub time_coverage_end: DateTime<Utc>,
    /// WKT `MULTIPOINT` of the distinct (receiver_recovery_longitude, receiver_recovery_latitude).
    pub geom_df: String,
    /// The file's destination.
    pub url: String,
    /// The file's size in bytes.
    pub size: u64,
}

impl IndexRow {
    /// The row as the index file holds it.
    pub fn to_csv_line(&self) -> String {
        let time = |t: &DateTime<Utc>| t.format("%Y-%m-%d %H:%M:%S+00:00").to_string();
        [
            self.tag_deployment_id.clone(),
            self.transmitter_id.clone(),
            self.species.clone(),
            self.species_scientific_name.clone(),
            self.tagging_project.clone(),
            time(&self.time_coverage_start),
            time(&self.time_coverage_end),
            self.geom_df.clone(),
            self.url.clone(),
            self.size.to_string(),
        ]
        .iter()
        .map(|v| csv_field(v))
        .collect::<Vec<_>>()
        .join(",")
    }
}

/// The generated index and how it is published.
#[derive(Debug, Clone, PartialEq)]
pub struct AcousticIndex {
    pub rows: Vec<IndexRow>,
    /// `index_tmp.csv` in the work folder.
    pub generated: Generated,
    /// `HARVEST_ONLY` at `IMOS/AATAMS/acoustic_detections_QC/index_tmp.csv`.
    pub placement: Placement,
}

/// Summarises every detection file into `index_tmp.csv`, written in `work_dir`.
pub fn build_index(files: &[InputFile], work_dir: &Path) -> Result<AcousticIndex, HandlerError> {
    let rows = files.iter().map(index_row).collect::<Result<Vec<_>, _>>()?;
    let mut text = INDEX_COLUMNS.join(",");
    text.push('\n');
    for row in &rows {
        text.push_str(&row.to_csv_line());
        text.push('\n');
    }
    let path = work_dir.join(INDEX_NAME);
    std::fs::write(&path, text)
        .map_err(|e| HandlerError::Internal(format!("writing {}: {e}", path.display())))?;
    Ok(AcousticIndex {
        rows,
        generated: Generated {
            path,
            name: INDEX_NAME.to_string(),
        },
        placement: Placement::new(
            INDEX_NAME,
            PublishType::HarvestOnly,
            Some(dest_path(INDEX_NAME)),
        ),
    })
}

/// The columns the index reads.
const TRANSMITTER: &str = "transmitter_id";
const TAG: &str = "tag_id";
const DEPLOYMENT: &str = "transmitter_deployment_id";
const PROJECT: &str = "tag_deployment_project_name";
const SPECIES: &str = "species_common_name";
const SCIENTIFIC: &str = "species_scientific_name";
const DETECTED: &str = "detection_datetime";
const LON: &str = "receiver_recovery_longitude";
const LAT: &str = "receiver_recovery_latitude";

fn index_row(file: &InputFile) -> Result<IndexRow, HandlerError> {
    let name = &file.name;
    let reject = |msg: String| HandlerError::rejected(format!("{name}: {msg}"));
    let size = std::fs::metadata(&file.path)
        .map_err(|e| HandlerError::Internal(format!("reading {}: {e}", file.path.display())))?
        .len();
    let mut reader = csv::ReaderBuilder::new()
        .from_path(&file.path)
        .map_err(|e| HandlerError::Internal(format!("reading {}: {e}", file.path.display())))?;
    let header = reader
        .headers()
        .map_err(|e| reject(format!("not a readable CSV file: {e}")))?
        .clone();
    let column = |wanted: &str| {
        header
            .iter()
            .position(|h| h == wanted)
            .ok_or_else(|| reject(format!("no {wanted} column: the index needs it")))
    };
    let [
        transmitter,
        tag,
        deployment,
        project,
        species,
        scientific,
        detected,
        lon,
        lat,
    ] = [
        TRANSMITTER,
        TAG,
        DEPLOYMENT,
        PROJECT,
        SPECIES,
        SCIENTIFIC,
        DETECTED,
        LON,
        LAT,
    ]
    .map(column);
    let (transmitter, tag, deployment, project, species, scientific, detected, lon, lat) = (
        transmitter?,
        tag?,
        deployment?,
        project?,
        species?,
        scientific?,
        detected?,
        lon?,
        lat?,
    );

    let mut transmitters = BTreeSet::new();
    let mut tags = BTreeSet::new();
    let mut deployments = BTreeSet::new();
    let mut first: Option<csv::StringRecord> = None;
    let mut coverage: Option<(NaiveDateTime, NaiveDateTime)> = None;
    let mut points: Vec<(f64, f64)> = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| reject(format!("not a readable CSV file: {e}")))?;
        let line = record.position().map_or(0, |p| p.line());
        let at = |i: usize| record.get(i).unwrap_or_default();
        let missing = |i: usize| PANDAS_NA.contains(&at(i));
        if missing(transmitter) {
            return Err(reject(format!("line {line}: {TRANSMITTER} is empty")));
        }
        transmitters.insert(at(transmitter).to_string());
        tags.insert(integer_text(at(tag)));
        deployments.insert(integer_text(at(deployment)));
        let when = NaiveDateTime::parse_from_str(at(detected).trim(), "%Y-%m-%d %H:%M:%SZ")
            .map_err(|_| {
                reject(format!(
                    "line {line}, column {DETECTED}: {:?} is not a UTC time written like \
                     2019-06-09 09:45:46Z",
                    at(detected)
                ))
            })?;
        coverage = Some(match coverage {
            None => (when, when),
            Some((start, end)) => (start.min(when), end.max(when)),
        });
        if !missing(lon) && !missing(lat) {
            let number = |i: usize, col: &str| {
                at(i).trim().parse::<f64>().map_err(|_| {
                    reject(format!(
                        "line {line}, column {col}: {:?} is not a number",
                        at(i)
                    ))
                })
            };
            let point = (number(lon, LON)?, number(lat, LAT)?);
            if !points.contains(&point) {
                points.push(point);
            }
        }
        if first.is_none() {
            first = Some(record);
        }
    }
    let (Some(first), Some((start, end))) = (first, coverage) else {
        return Err(reject(
            "holds no detections: there is nothing to index".to_string(),
        ));
    };
    if tags.len() > 1 || deployments.len() > 1 {
        return Err(reject(format!(
            "includes multiple deployments (tag_id {}, transmitter_deployment_id {}): the \
             combination tag_id-transmitter_deployment_id must be unique in a file; send one \
             file per tag deployment",
            tags.iter().cloned().collect::<Vec<_>>().join(", "),
            deployments.iter().cloned().collect::<Vec<_>>().join(", ")
        )));
    }
    let text = |i: usize| {
        let v = first.get(i).unwrap_or_default();
        if PANDAS_NA.contains(&v) {
            String::new()
        } else {
            v.to_string()
        }
    };
    let transmitters: Vec<String> = transmitters.into_iter().collect();
    let geom_df = if points.is_empty() {
        "MULTIPOINT EMPTY".to_string()
    } else {
        let coords: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{} {}", wkt_number(*x), wkt_number(*y)))
            .collect();
        format!("MULTIPOINT ({})", coords.join(", "))
    };
    Ok(IndexRow {
        tag_deployment_id: format!(
            "{}-{}-{}",
            transmitters.join("-"),
            integer_text(first.get(tag).unwrap_or_default()),
            integer_text(first.get(deployment).unwrap_or_default())
        ),
        transmitter_id: transmitters.join(" "),
        species: text(species),
        species_scientific_name: text(scientific),
        tagging_project: text(project),
        time_coverage_start: start.and_utc(),
        time_coverage_end: end.and_utc(),
        geom_df,
        url: dest_path(name),
        size,
    })
}

/// An id as pandas prints a column of integers (`0123` → `123`); other text as it is.
fn integer_text(value: &str) -> String {
    match py_int(value) {
        Some(Ok(v)) => v.to_string(),
        _ => value.trim().to_string(),
    }
}

#[cfg(test)]
mod tests;
