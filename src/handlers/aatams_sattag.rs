//! Satellite-tag bundles (reference: python-aodndata `aatams/aatams_sattag.py`, the
//! `AatamsSattagQcDmHandler` and `AatamsSattagQcNrtHandler` streams, with the table rules of
//! `aatams_sattag_schema.py`): the seven CSV tables of a campaign validated as a whole, the upload
//! published as it came, the tables handed to the harvest, and an NRT upload refused when it is
//! older than the campaign's published one.
//!
//! An upload is `<anything>_<campaign>_<dm|nrt>.zip` holding exactly seven tables
//! `<table>_<campaign>_<dm|nrt>.csv`, one of each of metadata, ctd, diag, dive, haulout,
//! ssmoutputs and summary, all of one campaign. Each table is read as a comma-separated file with
//! a header: every header name must be a column of that table, and every value must be what its
//! column takes (the rules are [`Rule`]; `""`, `na` and `nan` count as empty where a column may
//! be empty). Then the campaign ids must agree: the set of `metadata.sattag_program` equals the
//! set of `cid` of every other table, and that set is exactly the campaign of the file names. An
//! empty (0-byte) dive table is allowed: it is neither checked nor published nor cross-checked.
//!
//! Publishing ([`SattagPlan`]): the upload itself `UPLOAD_ONLY` at `<base>/<upload name>`
//! (`IMOS/AATAMS/satellite_tagging/ATF_Location_QC_DM` or `…_NRT`), every table `HARVEST_ONLY`
//! at `<base>/<table file name>` (the harvest records that URL; nothing else of the tables is
//! stored). The uploaded object always ends in the archive in this system, which is what the
//! reference's `archive_input_file` asks for.
//!
//! The tables are the intermediate the harvest loads, one CSV per table exactly as uploaded and
//! validated. The reference's harvester (Talend job `AATAMS_SATTAG_QC`, schema
//! `aatams_sattag_qc_dm` / `aatams_sattag_qc_nrt`) first deletes the rows of the file's earlier
//! load (by `file_id`), then loads ([`TableKind::harvest_tables`]): `metadata` → `metadata` (one
//! row per device, key `device_id`; `release_longitude/latitude` → `release_lon/lat`,
//! `qc_start/end_date` → `timestamp_qc_start/end`); `ctd` → `measurements` (one row per element of
//! the profile's `temp_dbar` list with `pressure`, `temp_vals`, `sal_vals`, `sal_corrected_vals`,
//! `fluoro_vals`, `cond_vals` taken element-wise, and a point `geom` from `lon`/`lat`) and
//! `aatams_sattag_qc_profile_map` (one row per profile: min/max pressure, count); `diag` →
//! `argos_locations`; `dive` → `dive_profiles`; `haulout` → `haulout`; `ssmoutputs` →
//! `qc_ssm_outputs`; `summary` → `summary`. Every data table refers to `metadata` by `device_id`
//! (`ref` in the CSVs).
//!
//! NRT ([`published_to_compare`], [`check_nrt_update`]): the published ZIPs of the same campaign
//! under the NRT base are read (their `metadata*` table) and the upload is refused when its latest
//! `qc_end_date` is older than theirs; equal or newer overwrites the published ZIP.
//!
//! Where this differs from the reference, on purpose:
//! - Rejections are the provider's fault with the reasons listed, all of them at once (the
//!   reference raises a system-class `SchemaError` at the first failure, and names the two sides
//!   of a failed cross-table comparison the wrong way round).
//! - A row with fewer or more fields than the header is refused (the reference fails on a short
//!   row with an `IndexError` and ignores extra fields); a table without its `sattag_program` /
//!   `cid` column is refused (the reference fails with a `KeyError`).
//! - The published ZIPs compared are those whose file-name campaign equals the upload's, all of
//!   them (the reference takes the first listed name that merely *contains* the campaign, so
//!   campaign `wd1` would be compared with `wd12_nrt.zip`).
//! - An empty dive table stays unpublished: the reference marks it `NO_ACTION` and then resets
//!   every CSV to `HARVEST_ONLY`, handing its harvester an empty file that loads nothing.
//! - Kept: the member names' mode (`_dm`/`_nrt`) is not compared with the stream's (the reference
//!   does not compare them); a time of `24:00:00` reads as `00:00:00` of the same day.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveDateTime};
use regex::Regex;

use super::HandlerError;
use super::plan::{InputFile, Placement, base_name, join_key};
use super::pyfmt::{py_float, py_int};
use crate::model::PublishType;

/// Where the delayed-mode stream publishes.
pub const DM_BASE: &str = "IMOS/AATAMS/satellite_tagging/ATF_Location_QC_DM";
/// Where the near-real-time stream publishes.
pub const NRT_BASE: &str = "IMOS/AATAMS/satellite_tagging/ATF_Location_QC_NRT";
/// How many tables a bundle holds.
pub const TABLES_IN_BUNDLE: usize = 7;
/// How many problems a rejection lists; the rest are counted.
const MAX_LISTED: usize = 20;

/// The stream: the pipeline's `mode` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Dm,
    Nrt,
}

impl Mode {
    /// `dm` or `nrt`, as the pipeline file and the file names write it.
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "dm" => Some(Mode::Dm),
            "nrt" => Some(Mode::Nrt),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Dm => "dm",
            Mode::Nrt => "nrt",
        }
    }

    /// The stream's folder in the public store.
    pub fn base(self) -> &'static str {
        match self {
            Mode::Dm => DM_BASE,
            Mode::Nrt => NRT_BASE,
        }
    }
}

/// The seven tables of a bundle, by the first `_` field of their file names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TableKind {
    Metadata,
    Ctd,
    Diag,
    Dive,
    Haulout,
    Ssmoutputs,
    Summary,
}

impl TableKind {
    pub const ALL: [TableKind; 7] = [
        TableKind::Metadata,
        TableKind::Ctd,
        TableKind::Diag,
        TableKind::Dive,
        TableKind::Haulout,
        TableKind::Ssmoutputs,
        TableKind::Summary,
    ];

    /// The file-name prefix of the table.
    pub fn prefix(self) -> &'static str {
        match self {
            TableKind::Metadata => "metadata",
            TableKind::Ctd => "ctd",
            TableKind::Diag => "diag",
            TableKind::Dive => "dive",
            TableKind::Haulout => "haulout",
            TableKind::Ssmoutputs => "ssmoutputs",
            TableKind::Summary => "summary",
        }
    }

    fn from_prefix(s: &str) -> Option<TableKind> {
        TableKind::ALL.into_iter().find(|k| k.prefix() == s)
    }

    /// The database tables the reference's harvester loads from this CSV (module header).
    pub fn harvest_tables(self) -> &'static [&'static str] {
        match self {
            TableKind::Metadata => &["metadata"],
            TableKind::Ctd => &["measurements", "aatams_sattag_qc_profile_map"],
            TableKind::Diag => &["argos_locations"],
            TableKind::Dive => &["dive_profiles"],
            TableKind::Haulout => &["haulout"],
            TableKind::Ssmoutputs => &["qc_ssm_outputs"],
            TableKind::Summary => &["summary"],
        }
    }

    /// The column holding the campaign id, compared across the tables.
    fn campaign_column(self) -> &'static str {
        match self {
            TableKind::Metadata => "sattag_program",
            _ => "cid",
        }
    }

    /// The table's columns and what each takes.
    pub fn columns(self) -> Vec<(String, Rule)> {
        let mut cols: Vec<(String, Rule)> = Vec::new();
        let mut add = |names: &[&str], rule: Rule| {
            cols.extend(names.iter().map(|n| (n.to_string(), rule)));
        };
        use Kind::*;
        let req = Rule::required;
        let opt = Rule::optional;
        match self {
            TableKind::Metadata => {
                add(&["sattag_program", "device_id"], req(Text));
                add(&["ptt", "body"], req(Int));
                add(&["device_wmo_ref", "tag_type"], req(NonEmptyText));
                add(&["common_name", "species"], req(Text));
                add(&["release_longitude"], req(Longitude));
                add(&["release_latitude"], req(Latitude));
                add(&["release_site"], req(Text));
                add(&["release_date", "recovery_date"], opt(Date));
                add(&["age_class", "sex"], req(Text));
                add(&["length"], opt(PositiveFloat));
                add(&["estimated_mass"], opt(PositiveInt));
                add(&["actual_mass"], opt(PositiveFloat));
                add(&["state_country"], req(Text));
                add(&["qc_start_date", "qc_end_date"], opt(Date));
            }
            TableKind::Ctd => {
                add(&["ref"], req(Text));
                add(&["ptt"], req(Int));
                add(&["end_date"], req(Date));
                add(&["max_dbar"], req(PositiveFloat));
                add(&["num"], req(Int));
                add(&["n_temp", "n_cond", "n_sal"], opt(PositiveInt));
                add(
                    &[
                        "temp_dbar",
                        "temp_vals",
                        "cond_dbar",
                        "cond_vals",
                        "sal_dbar",
                        "sal_vals",
                    ],
                    opt(FloatList),
                );
                add(&["n_fluoro"], opt(Int));
                add(&["fluoro_dbar", "fluoro_vals"], opt(FloatList));
                add(&["n_oxy"], opt(Int));
                add(&["oxy_dbar", "oxy_vals"], opt(FloatList));
                add(&["qc_profile"], req(Int));
                add(&["qc_temp", "qc_sal"], opt(IntList));
                add(&["sal_corrected_vals"], opt(FloatList));
                add(&["created", "modified"], req(Date));
                add(&["n_photo"], opt(Int));
                add(&["photo_dbar", "photo_vals"], opt(FloatList));
                add_coordinates(&mut add);
                add(&["cid"], req(Text));
            }
            TableKind::Diag => {
                add(&["ref"], req(Text));
                add(&["ptt"], req(Int));
                add(&["d_date"], req(Date));
                add(&["lq"], req(Int));
                add(&["lat"], req(Latitude));
                add(&["lon"], req(Longitude));
                add(&["alt_lat"], req(Latitude));
                add(&["alt_lon"], req(Longitude));
                add(&["n_mess", "n_mess_120", "best_level"], req(Float));
                add(&["pass_dur"], req(Int));
                add(&["freq"], req(PositiveFloat));
                add(&["v_mask"], req(Float));
                add(&["alt", "est_speed", "km_from_home"], opt(Float));
                add(&["iq"], req(Int));
                add(
                    &[
                        "nops",
                        "deleted",
                        "actual_ptt",
                        "error_radius",
                        "semi_major_axis",
                        "semi_minor_axis",
                        "ellipse_orientation",
                        "hdop",
                        "satellite",
                    ],
                    req(Text),
                );
                add(&["diag_id"], req(Int));
                add(&["ssm_lon"], opt(Longitude));
                add(&["ssm_lat"], opt(Latitude));
                add(&["ssm_x", "ssm_y", "ssm_x_se", "ssm_y_se"], req(Text));
                add(&["cid"], req(Text));
            }
            TableKind::Dive => {
                add(&["ref"], req(Text));
                add(&["ptt"], req(Int));
                add(&["cnt"], req(PositiveInt));
                add(&["de_date"], req(Date));
                add(&["surf_dur", "dive_dur"], req(Float));
                add(&["max_dep"], req(PositiveFloat));
                add(&["d1", "d2", "d3", "d4"], opt(PositiveFloat));
                add(&["v1", "v2", "v3", "v4", "v5"], opt(Float));
                add(&["travel_r", "homedist", "bottom"], opt(Float));
                add(&["t1", "t2", "t3", "t4"], opt(PositiveFloat));
                add(&["d_speed"], opt(PositiveFloat));
                add(&["n_depths", "n_speeds"], opt(PositiveInt));
                add(&["depth_str", "speed_str", "propn_str"], opt(FloatList));
                add(&["percent_area"], opt(Float));
                add(&["residual"], opt(PositiveInt));
                add(&["grp_number"], req(PositiveInt));
                add(&["d5", "t5"], opt(PositiveFloat));
                add(&["degc_str", "illum_str"], opt(FloatList));
                add(
                    &[
                        "pca_desc",
                        "pca_btm",
                        "pca_asc",
                        "pca_max_desc",
                        "pca_max_btm",
                        "pca_max_asc",
                        "pca_mean_desc",
                        "pca_mean_btm",
                        "pca_mean_asc",
                    ],
                    opt(PositiveInt),
                );
                add(
                    &[
                        "swim_eff_desc",
                        "swim_eff_btm",
                        "swim_eff_asc",
                        "swim_eff_whole",
                    ],
                    opt(PositiveFloat),
                );
                add(&["secs_desc", "secs_btm", "secs_asc"], opt(PositiveInt));
                add(&["pitch_desc", "pitch_btm", "pitch_asc"], opt(Float));
                add(&["pitch_str"], opt(FloatList));
                add(&["tagging_id"], opt(Int));
                add(&["de_date_tag"], opt(Date));
                add(&["qc"], opt(PositiveInt));
                let d: Vec<String> = (6..26).map(|i| format!("d{i}")).collect();
                let t: Vec<String> = (6..26).map(|i| format!("t{i}")).collect();
                let names: Vec<&str> = d.iter().chain(&t).map(String::as_str).collect();
                add(&names, opt(PositiveFloat));
                add(&["ds_date"], req(Date));
                add(&["start_lat"], opt(Latitude));
                add(&["start_lon"], opt(Longitude));
                add_coordinates(&mut add);
                add(&["cid"], req(Text));
            }
            TableKind::Haulout => {
                add(&["ref"], req(Text));
                add(&["ptt"], req(Int));
                add(&["s_date", "e_date"], req(Date));
                add(&["haulout_number"], req(Int));
                add(&["cnt"], req(PositiveInt));
                add(&["phosi_secs", "wet_n"], opt(PositiveInt));
                add(&["wet_min", "wet_max", "wet_mean", "wet_sd"], opt(Float));
                add(&["tagging_id"], opt(Int));
                add(&["s_date_tag", "e_date_tag"], opt(Date));
                add(&["end_number"], req(Int));
                add_coordinates(&mut add);
                add(&["cid"], req(Text));
            }
            TableKind::Ssmoutputs => {
                add(&["ref"], req(Text));
                add(&["date"], req(Date));
                add(&["lon"], opt(Longitude));
                add(&["lat"], opt(Latitude));
                add(&["x", "y"], opt(Float));
                add(&["x_se", "y_se"], opt(PositiveFloat));
                add(&["u", "v"], opt(Float));
                add(&["u_se", "v_se"], opt(PositiveFloat));
                add(&["s"], opt(Float));
                add(&["s_se"], opt(PositiveFloat));
                add(&["cid"], req(Text));
            }
            TableKind::Summary => {
                add(&["ref"], req(Text));
                add(&["ptt"], req(Int));
                add(&["cnt"], req(PositiveInt));
                add(&["s_date", "e_date"], req(Date));
                add(&["div_dist"], opt(Float));
                add(&["surf_tm", "dive_tm", "haul_tm"], opt(PositiveFloat));
                add(&["n_cycles"], req(PositiveInt));
                add(&["av_depth", "max_depth"], req(Float));
                add(&["cruise_tm", "avg_sst", "avg_speed"], req(Text));
                add(&["sd_depth"], opt(PositiveFloat));
                add(&["av_dur", "sd_dur", "max_dur"], opt(PositiveInt));
                // Columns the reference reads as text, their stricter rules commented out there.
                add(
                    &[
                        "dp_n_cycles",
                        "dp_av_depth",
                        "dp_max_depth",
                        "dp_avg_speed",
                        "dp_sd_depth",
                        "dp_av_dur",
                        "dp_sd_dur",
                        "dp_max_dur",
                        "dp_dive_tm",
                        "av_surf_dur",
                        "sd_surf_dur",
                        "max_surf_dur",
                        "dp_av_surf_dur",
                        "dp_sd_surf_dur",
                        "dp_max_surf_dur",
                        "pca",
                        "swim_eff_desc",
                        "swim_eff_asc",
                        "swim_eff_whole",
                        "secs_desc",
                        "secs_asc",
                        "pitch_desc",
                        "pitch_asc",
                        "av_haulout_dur",
                        "sd_haulout_dur",
                        "max_haulout_dur",
                        "av_phosi_dur",
                        "sd_phosi_dur",
                        "max_phosi_dur",
                    ],
                    req(Text),
                );
                add(&["tagging_id"], opt(Int));
                add(&["s_date_tag", "e_date_tag"], opt(Date));
                add(&["ssm_lon"], opt(Longitude));
                add(&["ssm_lat"], opt(Latitude));
                add(&["ssm_x", "ssm_y", "ssm_x_se", "ssm_y_se"], req(Text));
                add(&["cid"], req(Text));
            }
        }
        cols
    }
}

/// The position columns shared by ctd, dive and haulout.
fn add_coordinates(add: &mut impl FnMut(&[&str], Rule)) {
    add(&["lat"], Rule::optional(Kind::Latitude));
    add(&["lon"], Rule::optional(Kind::Longitude));
    add(&["ssm_lon"], Rule::optional(Kind::Longitude));
    add(&["ssm_lat"], Rule::optional(Kind::Latitude));
    add(
        &["ssm_x", "ssm_y", "ssm_x_se", "ssm_y_se"],
        Rule::required(Kind::Text),
    );
}

/// What one column takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub kind: Kind,
    /// `""`, `na` or `nan` (any case, surrounding blanks ignored) is accepted as empty.
    pub may_be_empty: bool,
}

/// The value types of the tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Anything, empty included.
    Text,
    /// Any text but the empty string (the reference's `device_wmo_ref` and `tag_type` rules).
    NonEmptyText,
    /// Python's `int()`.
    Int,
    /// An integer ≥ 0.
    PositiveInt,
    /// Python's `float()`.
    Float,
    /// A number ≥ 0.
    PositiveFloat,
    /// `%Y-%m-%dT%H:%M:%SZ` as Python's `strptime` reads it.
    Date,
    /// A number in [-180, 180].
    Longitude,
    /// A number in [-90, 90].
    Latitude,
    /// Numbers separated by commas inside one field.
    FloatList,
    /// Integers separated by commas inside one field.
    IntList,
}

impl Rule {
    const fn required(kind: Kind) -> Rule {
        Rule {
            kind,
            may_be_empty: false,
        }
    }

    const fn optional(kind: Kind) -> Rule {
        Rule {
            kind,
            may_be_empty: true,
        }
    }

    /// Whether `value` passes; `Err` says what the column takes.
    pub fn check(&self, value: &str) -> Result<(), String> {
        if self.may_be_empty && matches!(value.trim().to_lowercase().as_str(), "" | "na" | "nan") {
            return Ok(());
        }
        let ok = match self.kind {
            Kind::Text => true,
            Kind::NonEmptyText => !value.is_empty(),
            Kind::Int => py_int(value).is_some(),
            Kind::PositiveInt => match py_int(value) {
                Some(Ok(v)) => v >= 0,
                Some(Err(())) => !value.trim().starts_with('-'),
                None => false,
            },
            Kind::Float => py_float(value).is_some(),
            Kind::PositiveFloat => py_float(value).is_some_and(|v| v >= 0.0),
            Kind::Date => parse_date(value).is_some(),
            // 0 passes on its own in the reference (its range test returns the value, and 0 is false).
            Kind::Longitude => py_float(value).is_some_and(|v| (-180.0..=180.0).contains(&v)),
            Kind::Latitude => py_float(value).is_some_and(|v| (-90.0..=90.0).contains(&v)),
            Kind::FloatList => value.split(',').all(|v| py_float(v).is_some()),
            Kind::IntList => value.split(',').all(|v| py_int(v).is_some()),
        };
        if ok {
            return Ok(());
        }
        let what = match self.kind {
            Kind::Text => unreachable!("text always passes"),
            Kind::NonEmptyText => "a non-empty text".to_string(),
            Kind::Int => "an integer".to_string(),
            Kind::PositiveInt => "an integer ≥ 0".to_string(),
            Kind::Float => "a number".to_string(),
            Kind::PositiveFloat => "a number ≥ 0".to_string(),
            Kind::Date => "a UTC date and time written like 2020-08-16T18:00:00Z".to_string(),
            Kind::Longitude => {
                "a longitude: Invalid longitude input (a number from -180 to 180)".to_string()
            }
            Kind::Latitude => "a latitude (a number from -90 to 90)".to_string(),
            Kind::FloatList => "numbers separated by commas".to_string(),
            Kind::IntList => "integers separated by commas".to_string(),
        };
        Err(if self.may_be_empty {
            format!("{what}, or empty (\"\", NA, NaN)")
        } else {
            what
        })
    }
}

/// `%Y-%m-%dT%H:%M:%SZ` as Python's `strptime` reads it (one-digit fields accepted, `T` and `Z`
/// in either case), and `24:00:00` read as `00:00:00` of the same day as the reference does.
pub fn parse_date(value: &str) -> Option<NaiveDateTime> {
    static PATTERN: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let re = PATTERN.get_or_init(|| {
        Regex::new(
            r"(?i)^(\d{4})-(1[0-2]|0[1-9]|[1-9])-(3[01]|[12]\d|0[1-9]|[1-9]| [1-9])T(2[0-3]|[0-1]\d|\d):([0-5]\d|\d):(6[0-1]|[0-5]\d|\d)Z$",
        )
        .expect("a valid pattern")
    });
    let read = |s: &str| -> Option<NaiveDateTime> {
        let c = re.captures(s)?;
        let n = |i: usize| c[i].trim().parse::<u32>().ok();
        let year = c[1].parse::<i32>().ok()?;
        NaiveDate::from_ymd_opt(year, n(2)?, n(3)?)?.and_hms_opt(n(4)?, n(5)?, n(6)?)
    };
    read(value).or_else(|| read(&value.replace("24:00:00", "00:00:00")))
}

/// One table of a validated bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SattagTable {
    /// The CSV's name in the collection.
    pub name: String,
    pub kind: TableKind,
    pub path: PathBuf,
    /// Data rows (0 for an empty dive table).
    pub rows: usize,
    /// An empty (0-byte) dive table: not checked, not published, not cross-checked.
    pub skipped_empty: bool,
}

/// A bundle that passed every rule, and how it is published.
#[derive(Debug, Clone, PartialEq)]
pub struct SattagPlan {
    pub mode: Mode,
    /// The campaign, from the upload's name (`<…>_<campaign>_<mode>.zip`).
    pub campaign: String,
    /// The upload itself: `UPLOAD_ONLY` at `<base>/<upload name>`.
    pub upload: Placement,
    /// One per table: `HARVEST_ONLY` at `<base>/<name>`, or no action for an empty dive table.
    pub files: Vec<Placement>,
    pub tables: Vec<SattagTable>,
    /// The latest `qc_end_date` of the metadata table, what an NRT update is compared by.
    pub latest_qc_end: Option<NaiveDateTime>,
}

/// A failed rule: which file (or the upload) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Problem {
    file: String,
    message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}

/// The stream's name rule (the reference's `allowed_regexes` `^.+_<mode>\.(zip|csv)$`) and the
/// campaign the name gives.
pub fn upload_campaign(upload_name: &str, mode: Mode) -> Result<String, HandlerError> {
    let parsed = parse_bundle_name(upload_name);
    match parsed {
        Some((stem, m)) if m == mode && stem.len() > m.as_str().len() + 1 => {
            Ok(stem.rsplit('_').nth(1).unwrap_or_default().to_string())
        }
        _ => Err(HandlerError::rejected(format!(
            "{upload_name}: the satellite-tag {} stream takes a ZIP named <campaign>_{}.zip (or \
             <…>_<campaign>_{}.zip) holding the campaign's seven CSV tables; rename the file or \
             send it to the {} stream",
            mode.as_str().to_uppercase(),
            mode.as_str(),
            mode.as_str(),
            match mode {
                Mode::Dm => "NRT",
                Mode::Nrt => "DM",
            }
        ))),
    }
}

/// `<stem>.zip|csv` whose stem ends `_<mode>`: the stem and the mode.
fn parse_bundle_name(name: &str) -> Option<(&str, Mode)> {
    let stem = name
        .strip_suffix(".zip")
        .or_else(|| name.strip_suffix(".csv"))?;
    let (_, mode) = stem.rsplit_once('_')?;
    Some((stem, Mode::parse(mode)?))
}

/// Validates the upload's tables and decides how everything is published.
///
/// `upload_name` is the uploaded file's name; `files` the collection (the ZIP's members, or the
/// uploaded CSV itself). A rejection lists every problem found, each naming its file.
pub fn prepare(
    upload_name: &str,
    files: &[InputFile],
    mode: Mode,
) -> Result<SattagPlan, HandlerError> {
    let campaign = upload_campaign(upload_name, mode)?;
    let base = mode.base();
    let reject = |problems: Vec<Problem>| {
        let total = problems.len();
        let mut msg = format!(
            "{upload_name}: the satellite-tag tables do not validate ({total} problem{}):",
            if total == 1 { "" } else { "s" }
        );
        for p in problems.iter().take(MAX_LISTED) {
            msg.push_str(&format!("\n- {p}"));
        }
        if total > MAX_LISTED {
            msg.push_str(&format!("\n… and {} more", total - MAX_LISTED));
        }
        HandlerError::Rejected(msg)
    };

    let members = match check_member_names(files) {
        Ok(m) => m,
        Err(problems) => return Err(reject(problems)),
    };

    let mut problems = Vec::new();
    let mut tables = Vec::new();
    let mut campaign_sets: BTreeMap<TableKind, BTreeSet<String>> = BTreeMap::new();
    let mut latest_qc_end = None;
    for (file, kind) in &members {
        let size = std::fs::metadata(&file.path)
            .map_err(|e| HandlerError::Internal(format!("reading {}: {e}", file.path.display())))?
            .len();
        if *kind == TableKind::Dive && size == 0 {
            tables.push(SattagTable {
                name: file.name.clone(),
                kind: *kind,
                path: file.path.clone(),
                rows: 0,
                skipped_empty: true,
            });
            continue;
        }
        let reader = std::fs::File::open(&file.path)
            .map_err(|e| HandlerError::Internal(format!("reading {}: {e}", file.path.display())))?;
        match read_table(&file.name, *kind, reader) {
            Ok(t) => {
                if *kind == TableKind::Metadata {
                    latest_qc_end = t.latest_qc_end;
                }
                campaign_sets.insert(*kind, t.campaigns);
                tables.push(SattagTable {
                    name: file.name.clone(),
                    kind: *kind,
                    path: file.path.clone(),
                    rows: t.rows,
                    skipped_empty: false,
                });
            }
            Err(mut p) => problems.append(&mut p),
        }
    }
    if !problems.is_empty() {
        return Err(reject(problems));
    }

    let metadata_ids = campaign_sets
        .get(&TableKind::Metadata)
        .cloned()
        .unwrap_or_default();
    let name_of = |kind: TableKind| {
        members
            .iter()
            .find(|(_, k)| *k == kind)
            .map(|(f, _)| f.name.clone())
            .unwrap_or_default()
    };
    for (kind, ids) in &campaign_sets {
        if *kind != TableKind::Metadata && *ids != metadata_ids {
            problems.push(Problem {
                file: name_of(*kind),
                message: format!(
                    "its cid values {} differ from the sattag_program values {} of {}: every \
                     table of a bundle holds the same campaigns",
                    show_set(ids),
                    show_set(&metadata_ids),
                    name_of(TableKind::Metadata)
                ),
            });
        }
    }
    let name_campaign = members
        .first()
        .and_then(|(f, _)| member_campaign(&f.name))
        .unwrap_or_default();
    if problems.is_empty() && metadata_ids != BTreeSet::from([name_campaign.clone()]) {
        problems.push(Problem {
            file: name_of(TableKind::Metadata),
            message: format!(
                "the tables hold campaign ids {} but their file names say campaign {name_campaign:?}: \
                 a bundle holds one campaign, the one its file names carry",
                show_set(&metadata_ids)
            ),
        });
    }
    if !problems.is_empty() {
        return Err(reject(problems));
    }

    let files = tables
        .iter()
        .map(|t| {
            if t.skipped_empty {
                Placement::no_action(&t.name)
            } else {
                Placement::new(
                    &t.name,
                    PublishType::HarvestOnly,
                    Some(join_key(base, &t.name)),
                )
            }
        })
        .collect();
    Ok(SattagPlan {
        mode,
        campaign,
        upload: Placement::new(
            upload_name,
            PublishType::UploadOnly,
            Some(join_key(base, upload_name)),
        ),
        files,
        tables,
        latest_qc_end,
    })
}

fn show_set(set: &BTreeSet<String>) -> String {
    let items: Vec<String> = set.iter().map(|s| format!("{s:?}")).collect();
    format!("{{{}}}", items.join(", "))
}

/// The campaign of a table's name `<table>_…_<campaign>_<dm|nrt>.csv`.
fn member_campaign(name: &str) -> Option<String> {
    let (stem, _) = parse_bundle_name(name)?;
    let mut fields = stem.rsplit('_');
    fields.next();
    fields.next().map(str::to_string)
}

/// The whole-upload name rule: exactly seven tables, one of each kind, all of one campaign.
fn check_member_names(files: &[InputFile]) -> Result<Vec<(&InputFile, TableKind)>, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut found: Vec<(&InputFile, TableKind)> = Vec::new();
    let mut campaigns = BTreeSet::new();
    for f in files {
        let prefix = f.name.split('_').next().unwrap_or_default();
        let kind = TableKind::from_prefix(prefix);
        let campaign = member_campaign(&f.name);
        match (kind, &campaign) {
            (Some(kind), Some(c)) => {
                campaigns.insert(c.clone());
                if found.iter().any(|(_, k)| *k == kind) {
                    problems.push(Problem {
                        file: f.name.clone(),
                        message: format!(
                            "a second {} table; a bundle holds one of each",
                            kind.prefix()
                        ),
                    });
                } else {
                    found.push((f, kind));
                }
            }
            _ => problems.push(Problem {
                file: f.name.clone(),
                message: "not a table of a bundle: names are <table>_<campaign>_<dm|nrt>.csv with \
                          <table> one of metadata, ctd, diag, dive, haulout, ssmoutputs, summary"
                    .to_string(),
            }),
        }
    }
    let missing: Vec<&str> = TableKind::ALL
        .into_iter()
        .filter(|k| !found.iter().any(|(_, f)| f == k))
        .map(TableKind::prefix)
        .collect();
    if files.len() != TABLES_IN_BUNDLE || !missing.is_empty() {
        problems.push(Problem {
            file: "the upload".to_string(),
            message: format!(
                "holds {} file{} where a bundle is a ZIP of exactly {TABLES_IN_BUNDLE} CSV tables{}",
                files.len(),
                if files.len() == 1 { "" } else { "s" },
                if missing.is_empty() {
                    String::new()
                } else {
                    format!("; missing: {}", missing.join(", "))
                }
            ),
        });
    }
    if campaigns.len() > 1 {
        problems.push(Problem {
            file: "the upload".to_string(),
            message: format!(
                "its tables are named for several campaigns {}; a bundle holds one campaign",
                show_set(&campaigns)
            ),
        });
    }
    if problems.is_empty() {
        found.sort_by_key(|(_, k)| *k);
        Ok(found)
    } else {
        Err(problems)
    }
}

/// What reading one table found.
struct TableRead {
    rows: usize,
    campaigns: BTreeSet<String>,
    latest_qc_end: Option<NaiveDateTime>,
}

/// Reads and checks one table: header names, then every value of every row.
fn read_table(name: &str, kind: TableKind, source: impl Read) -> Result<TableRead, Vec<Problem>> {
    let problem = |message: String| Problem {
        file: name.to_string(),
        message,
    };
    let columns = kind.columns();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(source);
    let mut records = reader.records();
    let header = match records.next() {
        None => {
            return Err(vec![problem(
                "the table is empty: it needs a header row".into(),
            )]);
        }
        Some(Err(e)) => return Err(vec![problem(format!("not a readable CSV file: {e}"))]),
        Some(Ok(h)) => h,
    };
    let mut problems = Vec::new();
    let mut rules = Vec::new();
    for column in header.iter() {
        match columns.iter().find(|(n, _)| n == column) {
            Some((_, rule)) => rules.push(Some(*rule)),
            None => {
                let hint = columns
                    .iter()
                    .find(|(n, _)| *n == column.replace(['.', ' ', '-'], "_"))
                    .map(|(n, _)| format!(" (column names are snake_case: {n})"))
                    .unwrap_or_default();
                problems.push(problem(format!(
                    "unknown column {column:?}{hint}; a {} table has the columns {}",
                    kind.prefix(),
                    columns
                        .iter()
                        .map(|(n, _)| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
                rules.push(None);
            }
        }
    }
    let campaign_col = header.iter().position(|h| h == kind.campaign_column());
    if campaign_col.is_none() {
        problems.push(problem(format!(
            "no {} column: it names the campaign of each row",
            kind.campaign_column()
        )));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let qc_end_col = header.iter().position(|h| h == "qc_end_date");
    let mut read = TableRead {
        rows: 0,
        campaigns: BTreeSet::new(),
        latest_qc_end: None,
    };
    for record in records {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                problems.push(problem(format!("not a readable CSV file: {e}")));
                break;
            }
        };
        read.rows += 1;
        let line = record.position().map_or(read.rows as u64 + 1, |p| p.line());
        if record.len() != header.len() {
            problems.push(problem(format!(
                "line {line} has {} fields where the header has {}",
                record.len(),
                header.len()
            )));
            continue;
        }
        for ((value, rule), column) in record.iter().zip(&rules).zip(header.iter()) {
            if let Some(rule) = rule
                && let Err(what) = rule.check(value)
            {
                problems.push(problem(format!(
                    "line {line}, column {column}: {value:?} is not {what}"
                )));
            }
        }
        if let Some(i) = campaign_col {
            read.campaigns.insert(record[i].to_string());
        }
        if let Some(i) = qc_end_col
            && let Some(t) = parse_date(&record[i])
        {
            read.latest_qc_end = read.latest_qc_end.max(Some(t));
        }
    }
    if problems.is_empty() {
        Ok(read)
    } else {
        Err(problems)
    }
}

/// NRT: the keys of the listing of `<NRT base>/` to fetch and compare with: the published ZIPs
/// whose file-name campaign is the upload's.
pub fn published_to_compare(plan: &SattagPlan, listing: &[String]) -> Vec<String> {
    if plan.mode != Mode::Nrt {
        return Vec::new();
    }
    listing
        .iter()
        .filter(|key| {
            let name = base_name(key);
            name.ends_with(".zip") && member_campaign(name).as_deref() == Some(&plan.campaign)
        })
        .cloned()
        .collect()
}

/// One comparison made for an NRT update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NrtComparison {
    /// The published ZIP compared with.
    pub published_key: String,
    /// Its metadata table's latest `qc_end_date` (`None`: it has none).
    pub published_latest: Option<NaiveDateTime>,
}

impl NrtComparison {
    /// The line the reference logs for it.
    pub fn log_line(&self, plan: &SattagPlan) -> String {
        let new_metadata = plan
            .tables
            .iter()
            .find(|t| t.kind == TableKind::Metadata)
            .map(|t| t.name.as_str())
            .unwrap_or_default();
        format!(
            "NRT update requested: Comparing timestamps of metadata file in {} and {new_metadata}",
            self.published_key
        )
    }
}

/// NRT: compares the upload with the published ZIPs of its campaign (`published`: each one's key
/// and a local copy). The upload is refused when its latest `qc_end_date` is older than a
/// published one's; equal or newer overwrites. A published ZIP without a metadata table is not
/// compared (as the reference).
pub fn check_nrt_update(
    plan: &SattagPlan,
    published: &[(String, PathBuf)],
) -> Result<Vec<NrtComparison>, HandlerError> {
    let mut done = Vec::new();
    for (key, path) in published {
        let Some(latest) = published_latest_qc_end(key, path)? else {
            continue;
        };
        let comparison = NrtComparison {
            published_key: key.clone(),
            published_latest: latest,
        };
        if let Some(theirs) = latest
            && plan.latest_qc_end.is_none_or(|ours| ours < theirs)
        {
            return Err(HandlerError::rejected(format!(
                "{}: its metadata's latest qc_end_date ({}) is older than that of the published \
                 {key} ({}): an NRT update may not replace newer data; send the campaign's latest \
                 batch",
                plan.upload.name,
                plan.latest_qc_end.map_or("none".to_string(), |t| t
                    .format("%Y-%m-%dT%H:%M:%SZ")
                    .to_string()),
                theirs.format("%Y-%m-%dT%H:%M:%SZ"),
            )));
        }
        done.push(comparison);
    }
    Ok(done)
}

/// The latest `qc_end_date` of a published bundle's metadata table: `Ok(None)` when the ZIP has
/// no metadata table, `Ok(Some(None))` when it has no date.
fn published_latest_qc_end(
    key: &str,
    path: &Path,
) -> Result<Option<Option<NaiveDateTime>>, HandlerError> {
    let broken = |why: String| {
        HandlerError::Internal(format!(
            "the published {key} cannot be compared with the upload: {why}; replace or remove it"
        ))
    };
    let file = std::fs::File::open(path)
        .map_err(|e| HandlerError::Internal(format!("reading {}: {e}", path.display())))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| broken(format!("not a ZIP ({e})")))?;
    let Some(index) = (0..zip.len()).find(|&i| {
        zip.name_for_index(i)
            .is_some_and(|n| base_name(n).contains("metadata"))
    }) else {
        return Ok(None);
    };
    let mut member = zip.by_index(index).map_err(|e| broken(e.to_string()))?;
    let name = base_name(member.name()).to_string();
    let mut bytes = Vec::new();
    member
        .read_to_end(&mut bytes)
        .map_err(|e| broken(e.to_string()))?;
    match read_table(&name, TableKind::Metadata, bytes.as_slice()) {
        Ok(t) => Ok(Some(t.latest_qc_end)),
        Err(problems) => Err(broken(format!(
            "its {name} no longer validates ({})",
            problems
                .iter()
                .take(3)
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        ))),
    }
}

#[cfg(test)]
mod tests;
