//! SOOP XBT real-time messages (the reference's SoopXbtNrtHandler, `aodndata/soop/soop_xbt_nrt.py`
//! with `templates/soop_xbt_nrt_bufr_nc_template.json` and `configurations/soop_xbt_config.ini`):
//! a BUFR message, as the text dump pybufrkit prints (`IOSS01_AMMC_….csv`), is archived and each
//! of its profiles converted to a NetCDF file, published by vessel and year.
//!
//! The dump: four quoted fields a line (row number, descriptor, its name, its value), read as
//! pandas 1.x reads it (`read_csv(header=None, engine='python', error_bad_lines=False)`: the first
//! line fixes the field count, longer lines are skipped, shorter ones padded, pandas' missing-value
//! markers are missing — "None" is not one of them before pandas 2.0). A profile begins at each
//! descriptor 001079 (its unique identifier); its 56 rows from there are metadata, the rest (up to
//! the next profile) its measurements: depths (007063), temperatures (022043, rounded to 2
//! decimals as numpy rounds) and GTSPP flags (033050, alternately the depth's and the
//! temperature's). A repeated profile identifier keeps the first profile. Metadata values lose
//! their quotes (`'…'` then `"…"`); "None" and empty values are left out; the recorder type and
//! fall-rate equation codes are spelled out from the WMO tables of the reference's configuration
//! (tables 4770 and 1770, the code padded to three digits).
//!
//! Per profile: the vessel name is fuzzy-matched (fuzzywuzzy's WRatio, cutoff 86, see
//! [`super::fuzzy`]) against the vessel vocabulary (callsign → name), the callsign being the first
//! with the matched name (FHZI, the old Astrolabe, is forced to FASB); the XBT line is looked up in
//! the XBT line vocabulary by code, or by preferred label (a blank line is NOLINE), its preferred
//! label written (PX30 as PX30-31) with its description; title and abstract come from the line's
//! section of the configuration (`-` read as `/`, `PX0` as `PX`). The NetCDF is named
//! `IMOS_SOOP-XBT_T_<time>_<line>_FV00_ID_<IMO number>.nc` (without `_ID_…` when the message has no
//! IMO number) and published (harvested) at `IMOS/SOOP/SOOP-XBT/REALTIME/<callsign>_<vessel>/<year>/`,
//! the year from its `time_coverage_start` — as a NetCDF pushed again is. The message itself is
//! archived at `IMOS/SOOP/SOOP-XBT/REALTIME_BUFR/<year>/`, the year from the name's third field
//! (`%Y%m%d%H%M%S`, else `%Y%m%d%H%M` before the extension).
//!
//! As the reference writes it: TIME, LATITUDE and LONGITUDE are scalars (so written without the
//! template's `_FillValue`, which the reference passes only to variables with dimensions), the
//! dimensions TIME, LATITUDE and LONGITUDE are defined but unused, missing values of DEPTH and TEMP
//! are stored as NaN, and the extents come from the values (fill values and NaN left out).
//!
//! Not available: binary BUFR messages (`.bin`, which the reference decodes with pybufrkit and its
//! WMO tables first) are refused saying so. Differences: a message the reference fails on with a
//! Python exception (a missing metadata row, a value that is not a number) is rejected with the
//! reason; a vessel name shared by several callsigns takes the first callsign in the vocabulary's
//! (alphabetical) order, where the reference takes the first in the platform vocabulary's order,
//! and fuzzy-match ties go to the first name in that order too.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use regex::Regex;

use crate::model::PublishType;
use crate::netcdf::{AttrValue, parse_time_units};

use super::plan::{InputFile, Placement};
use super::product::{
    Attrs, PlacingAttrs, compact_seconds, define_product, imos_template, iso_seconds, time_value,
    to_datetime,
};
use super::pyfmt::{py_float, py_int, python_float};
use super::{Generated, HandlerError, fuzzy};

/// The descriptors the reference reads, by what it calls them.
const UNIQUE_ID: i64 = 1079;
const DEPTH: i64 = 7063;
const TEMP: i64 = 22043;
const GTSPP_FLAG: i64 = 33050;
const GTSPP_QUALIFIER: i64 = 8080;
const LATITUDE: i64 = 5001;
const LONGITUDE: i64 = 6001;
const DATE: [(&str, i64); 5] = [
    ("year", 4001),
    ("month", 4002),
    ("day", 4003),
    ("hour", 4004),
    ("minute", 4005),
];
/// Metadata written as global attributes, in the reference's order.
const METADATA: [(&str, i64); 19] = [
    ("XBT_uniqueid", 1079),
    ("ship_id", 1011),
    ("imo_number", 1103),
    ("wmo_id", 1087),
    ("ship_name", 1019),
    ("XBT_line", 1080),
    ("ship_transect_number", 5036),
    ("agency_in_charge", 1036),
    ("XBT_probetype_fallrate_equation", 22067),
    ("XBT_height_launch_above_water_in_meters", 22177),
    ("speed_of_motion_of_moving_observing_platform", 1013),
    ("direction_of_motion_of_moving_observing_platform", 1012),
    ("XBT_recorder_type", 22068),
    ("software_id", 25061),
    ("method_water_temp_and_or_sal_measurement", 2038),
    ("depth_below_sea_water_surface", 7063),
    ("XBT_instrument_serialnumber", 2171),
    ("indicator_for_digitization", 2032),
    ("extended_delayed_descriptor_factor", 31002),
];
/// Rows of metadata from a profile's first row to its first measurement.
const HEADER_ROWS: usize = 56;
/// The fuzzy vessel match's cutoff.
const VESSEL_CUTOFF: u32 = 86;
const TIME_UNITS: &str = "days since 1950-01-01 00:00:00 UTC";
/// The `_FillValue` the reference's template gives LATITUDE and LONGITUDE.
const SCALAR_TEMPLATE_FILL: f64 = 999_999.0;

/// The reference's configuration: XBT line titles and abstracts, WMO tables.
static CONFIG: LazyLock<Ini> =
    LazyLock::new(|| Ini::parse(include_str!("templates/soop_xbt_config.ini")));

/// pandas 1.x's default missing-value markers (`STR_NA_VALUES`; "None" joined them in 2.0).
const NA_VALUES: &[&str] = &[
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "n/a", "nan", "null",
];

/// The vocabularies a conversion reads: vessels (callsign → name, as the reference's
/// `ship_callsign_list`), XBT lines (code → preferred label) and their descriptions (code →
/// the line's last `altLabel`).
#[derive(Debug, Clone, Default)]
pub struct XbtVocabularies {
    pub vessels: BTreeMap<String, String>,
    pub line_labels: BTreeMap<String, String>,
    pub line_descriptions: BTreeMap<String, String>,
}

/// One profile of a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub latitude: f64,
    pub longitude: f64,
    pub date: NaiveDateTime,
    pub depth: Vec<f64>,
    pub temp: Vec<f64>,
    pub depth_qc: Vec<f64>,
    pub temp_qc: Vec<f64>,
    /// Global attributes from the message, all text, in the reference's order.
    pub metadata: Attrs,
}

impl Profile {
    pub fn meta(&self, name: &str) -> Option<&str> {
        self.metadata.get(name).and_then(AttrValue::as_str)
    }
}

/// A cell of the value column.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Missing,
    Text(String),
}

impl Cell {
    /// `astype(str)`.
    fn text(&self) -> &str {
        match self {
            Cell::Missing => "nan",
            Cell::Text(s) => s,
        }
    }

    /// `astype(float)` (Python's `float()` on the text).
    fn float(&self) -> Option<f64> {
        match self {
            Cell::Missing => Some(f64::NAN),
            Cell::Text(s) => py_float(s),
        }
    }
}

/// The dump as pandas reads it: per row, its descriptor (`None` when missing) and value.
struct Dump {
    ids: Vec<Option<f64>>,
    values: Vec<Cell>,
    /// Whether the descriptor column is numeric (one non-numeric descriptor makes pandas keep the
    /// column as text, which then matches no descriptor number).
    numeric_ids: bool,
}

impl Dump {
    fn read(path: &Path, name: &str) -> Result<Dump, HandlerError> {
        let reject = |m: String| HandlerError::rejected(format!("{name}: {m}"));
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_path(path)
            .map_err(|e| reject(format!("cannot read the BUFR text: {e}")))?;
        let mut width = None;
        let (mut ids, mut values, mut numeric_ids) = (Vec::new(), Vec::new(), true);
        for row in reader.records() {
            let row = row.map_err(|e| reject(format!("cannot read the BUFR text: {e}")))?;
            if row.len() == 1 && row[0].trim().is_empty() {
                continue;
            }
            let expected = *width.get_or_insert(row.len());
            if row.len() > expected {
                // error_bad_lines=False: the line is skipped.
                continue;
            }
            let cell = |i: usize| match row.get(i) {
                Some(s) if !NA_VALUES.contains(&s) => Cell::Text(s.to_string()),
                _ => Cell::Missing,
            };
            let id = match cell(1) {
                Cell::Missing => None,
                Cell::Text(s) => {
                    let v = py_float(&s);
                    numeric_ids &= v.is_some();
                    v
                }
            };
            ids.push(id);
            values.push(cell(3));
        }
        match width {
            Some(4) => Ok(Dump {
                ids,
                values,
                numeric_ids,
            }),
            Some(n) => Err(reject(format!(
                "the first line has {n} fields; the BUFR text dump has 4 (row, descriptor, \
                 name, value)"
            ))),
            None => Err(reject("the BUFR text is empty".into())),
        }
    }

    fn is(&self, row: usize, id: i64) -> bool {
        self.numeric_ids && self.ids[row] == Some(id as f64)
    }

    /// The values of descriptor `id` in rows `lo..=hi` (pandas' inclusive `loc`).
    fn values(&self, lo: usize, hi: usize, id: i64) -> Vec<&Cell> {
        let hi = hi.min(self.ids.len().saturating_sub(1));
        (lo..=hi)
            .filter(|&r| r < self.ids.len() && self.is(r, id))
            .map(|r| &self.values[r])
            .collect()
    }
}

/// numpy's `round(x, 2)`: scaled, rounded half to even, scaled back.
fn round2(x: f64) -> f64 {
    (x * 100.0).round_ties_even() / 100.0
}

/// Python's `str.strip("'").strip('"')`.
fn unquote(s: &str) -> &str {
    s.trim_matches('\'').trim_matches('"')
}

/// Python's `str.zfill(3)`.
fn zfill3(s: &str) -> String {
    let n = s.chars().count();
    if n >= 3 {
        return s.to_string();
    }
    let pad = "0".repeat(3 - n);
    match s.strip_prefix(['+', '-']) {
        Some(rest) => format!("{}{pad}{rest}", &s[..1]),
        None => format!("{pad}{s}"),
    }
}

/// Reads every profile of a BUFR text dump (the reference's `parse_bufr_file`), repeated profile
/// identifiers dropped (`return_unique_profiles`).
pub fn parse_bufr_csv(path: &Path, name: &str) -> Result<Vec<Profile>, HandlerError> {
    let reject = |m: String| HandlerError::rejected(format!("{name}: {m}"));
    let dump = Dump::read(path, name)?;
    let n = dump.ids.len();
    let starts: Vec<usize> = (0..n).filter(|&r| dump.is(r, UNIQUE_ID)).collect();
    let mut profiles: Vec<Profile> = Vec::new();
    for (i, &start) in starts.iter().enumerate() {
        let end = match starts.get(i + 1) {
            Some(next) => next - 1,
            None => n,
        };
        let (meta_lo, meta_hi) = (start, start + HEADER_ROWS - 1);
        let data_lo = start + HEADER_ROWS;
        let profile_no = i + 1;
        let floats = |id: i64, what: &str| -> Result<Vec<f64>, HandlerError> {
            dump.values(data_lo, end, id)
                .into_iter()
                .map(|c| {
                    c.float().ok_or_else(|| {
                        reject(format!(
                            "profile {profile_no}: {what} '{}' is not a number",
                            c.text()
                        ))
                    })
                })
                .collect()
        };
        let depth = floats(DEPTH, "depth")?;
        let temp: Vec<f64> = floats(TEMP, "temperature")?
            .into_iter()
            .map(round2)
            .collect();
        let flags = floats(GTSPP_FLAG, "GTSPP quality flag")?;
        // Read (and so checked) as the reference reads them, though nothing is written from them.
        floats(GTSPP_QUALIFIER, "GTSPP flag qualifier")?;
        let depth_qc = flags.iter().copied().step_by(2).collect();
        let temp_qc = flags.iter().copied().skip(1).step_by(2).collect();

        let first = |id: i64, what: &str| -> Result<&Cell, HandlerError> {
            dump.values(meta_lo, meta_hi, id)
                .into_iter()
                .next()
                .ok_or_else(|| {
                    reject(format!(
                        "profile {profile_no}: no {what} (descriptor {id:06}) in its first \
                         {HEADER_ROWS} rows"
                    ))
                })
        };
        let coordinate = |id: i64, what: &str| -> Result<f64, HandlerError> {
            let c = first(id, what)?;
            c.float().ok_or_else(|| {
                reject(format!(
                    "profile {profile_no}: {what} '{}' is not a number",
                    c.text()
                ))
            })
        };
        let latitude = coordinate(LATITUDE, "latitude")?;
        let longitude = coordinate(LONGITUDE, "longitude")?;
        let mut date = [0i64; 5];
        for (slot, (what, id)) in date.iter_mut().zip(DATE) {
            let c = first(id, what)?;
            *slot = match c {
                Cell::Text(s) => py_int(s).and_then(Result::ok),
                Cell::Missing => None,
            }
            .ok_or_else(|| {
                reject(format!(
                    "profile {profile_no}: {what} '{}' is not an integer",
                    c.text()
                ))
            })?;
        }
        let [y, mo, d, h, mi] = date;
        let date = NaiveDate::from_ymd_opt(y as i32, mo as u32, d as u32)
            .and_then(|day| day.and_hms_opt(h as u32, mi as u32, 0))
            .filter(|_| (i32::MIN as i64..=i32::MAX as i64).contains(&y))
            .ok_or_else(|| {
                reject(format!(
                    "profile {profile_no}: {y:04}-{mo:02}-{d:02} {h:02}:{mi:02} is not a date"
                ))
            })?;

        let mut metadata = Attrs::default();
        for (key, id) in METADATA {
            let cells = dump.values(meta_lo, meta_hi, id);
            // The serial number is given twice; the second is the right one.
            let nth = if key == "XBT_instrument_serialnumber" {
                1
            } else {
                0
            };
            let cell = cells.get(nth).ok_or_else(|| {
                reject(format!(
                    "profile {profile_no}: {key} (descriptor {id:06}) is missing from its first \
                     {HEADER_ROWS} rows"
                ))
            })?;
            let value = unquote(cell.text());
            if !matches!(value, "None" | "") {
                metadata.set_text(key, value);
            }
        }
        let mut profile = Profile {
            latitude,
            longitude,
            date,
            depth,
            temp,
            depth_qc,
            temp_qc,
            metadata,
        };
        let recorder = profile.meta("XBT_recorder_type").map(str::to_string);
        let recorder = recorder.ok_or_else(|| {
            reject(format!(
                "profile {profile_no}: no recorder type (descriptor 022068)"
            ))
        })?;
        let recorder_name = record_type(&recorder)?;
        profile.metadata.set_text(
            "XBT_recorder_type",
            format!("WMO Code table 4770 code \"{recorder}, {recorder_name}\""),
        );
        let fre = fallrate(&profile).map_err(|e| reject(e.to_string()))?;
        profile.metadata.set_text(
            "XBT_probetype_fallrate_equation",
            format!(
                "WMO Code Table 1770 \"probe={},code={},a={},b={}\"",
                fre.probe,
                fre.code,
                python_float(fre.a),
                python_float(fre.b)
            ),
        );
        profiles.push(profile);
    }
    // return_unique_profiles: the first profile of each identifier.
    let mut seen: Vec<String> = Vec::new();
    let mut unique = Vec::new();
    for p in profiles {
        let id = p.meta("XBT_uniqueid").map(str::to_string).ok_or_else(|| {
            reject("a profile has no unique identifier (descriptor 001079)".into())
        })?;
        if !seen.contains(&id) {
            seen.push(id);
            unique.push(p);
        }
    }
    Ok(unique)
}

/// A fall-rate equation of WMO table 1770.
#[derive(Debug, Clone, PartialEq)]
pub struct FallRate {
    pub probe: String,
    pub code: String,
    pub a: f64,
    pub b: f64,
}

/// The reference's `get_fallrate_eq_coef`: the probe type and coefficients of the profile's
/// fall-rate code (padded to three digits, or read back from the spelled-out form).
pub fn fallrate(profile: &Profile) -> Result<FallRate, HandlerError> {
    static SPELLED: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"code=([0-9]{3})").expect("valid pattern"));
    let raw = profile
        .meta("XBT_probetype_fallrate_equation")
        .ok_or_else(|| {
            HandlerError::rejected(
                "no probe type and fall-rate equation (descriptor 022067)".to_string(),
            )
        })?;
    let mut code = zfill3(raw);
    if code.chars().count() > 3 {
        code = SPELLED
            .captures(raw)
            .map(|c| c[1].to_string())
            .ok_or_else(|| {
                HandlerError::rejected(format!(
                    "the fall-rate equation code '{raw}' is not a WMO table 1770 code"
                ))
            })?;
    }
    let missing = || {
        HandlerError::rejected(format!(
            "FRE code={code} missing from soop_xbt_config.ini (WMO table 1770)"
        ))
    };
    let fre = CONFIG.get("FRE", &code).ok_or_else(missing)?;
    let probe = CONFIG.get("PEQ$", &code).ok_or_else(missing)?;
    let mut parts = fre.split(',');
    let mut coefficient = || {
        parts.next().and_then(py_float).ok_or_else(|| {
            HandlerError::rejected(format!(
                "the fall-rate equation of code {code} has no coefficients ('{fre}')"
            ))
        })
    };
    let (a, b) = (coefficient()?, coefficient()?);
    Ok(FallRate {
        probe: probe.split(',').next().unwrap_or_default().to_string(),
        code,
        a,
        b,
    })
}

/// The reference's `get_record_type`: the recorder's name in WMO table 4770.
fn record_type(code: &str) -> Result<String, HandlerError> {
    CONFIG
        .get("RCT$", code)
        .map(|v| v.split(',').next().unwrap_or_default().to_string())
        .ok_or_else(|| {
            HandlerError::rejected(format!(
                "RCT$ value={code} missing from soop_xbt_config.ini (WMO table 4770)"
            ))
        })
}

/// The reference's `fzf_vessel_get_info`: the vessel's name and callsign.
pub fn vessel_info(
    ship_name: &str,
    vessels: &BTreeMap<String, String>,
) -> Result<(String, String), HandlerError> {
    let names: Vec<&str> = vessels.values().map(String::as_str).collect();
    let (name, _) = fuzzy::extract_one(ship_name, &names, VESSEL_CUTOFF).ok_or_else(|| {
        HandlerError::rejected(format!(
            "{ship_name} is not a valid enough value to fuzzy match it with an existing AODN \
             vessel name"
        ))
    })?;
    let callsign = vessels
        .iter()
        .find(|(_, v)| v.as_str() == name)
        .map(|(k, _)| k.as_str())
        .expect("the name matched is a vessel's");
    // The old Astrolabe's callsign: every real-time profile since 2020 is the new vessel's.
    let callsign = if callsign == "FHZI" { "FASB" } else { callsign };
    Ok((name.to_string(), callsign.to_string()))
}

/// The reference's `xbt_line_get_info`: the line written (the preferred label) and its
/// description.
pub fn line_info(line: &str, vocab: &XbtVocabularies) -> Result<(String, String), HandlerError> {
    if line.trim().is_empty() {
        return Ok(("NOLINE".into(), "NOLINE".into()));
    }
    // A message may give the preferred label instead of the code.
    let code = vocab
        .line_labels
        .iter()
        .find(|(_, label)| label.as_str() == line)
        .map_or(line, |(code, _)| code.as_str());
    let label = vocab.line_labels.get(code).ok_or_else(|| {
        HandlerError::rejected(format!(
            "{code} is not a known/correct XBT line value found in the ANDS XBT line vocabulary"
        ))
    })?;
    let description = vocab.line_descriptions.get(code).ok_or_else(|| {
        HandlerError::Internal(format!(
            "the XBT line {code} has a preferred label but no description: the two XBT line \
             vocabularies must list the same codes"
        ))
    })?;
    // The vocabulary's PX30 is PX30-31 in the published files.
    let label = if label == "PX30" { "PX30-31" } else { label };
    Ok((label.to_string(), description.clone()))
}

/// The XBT line vocabulary (SKOS RDF) as the reference's `XbtLineVocabHelper.xbt_line_info` reads
/// it: per `Description` element, its `code` (else its `prefLabel`) → (`prefLabel`, last
/// `altLabel`), a later element replacing an earlier one of the same code; how the vocabulary
/// snapshots beside the pipelines are made.
pub fn read_xbt_line_rdf(xml: &str) -> Result<Vec<(String, String, String)>, String> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| e.to_string())?;
    let mut out: Vec<(String, String, String)> = Vec::new();
    // ElementTree tags are `{namespace}local`; the reference tests substrings of them.
    let tag = |n: &roxmltree::Node| {
        let name = n.tag_name();
        match name.namespace() {
            Some(ns) => format!("{{{ns}}}{}", name.name()),
            None => name.name().to_string(),
        }
    };
    for item in doc.root_element().children().filter(|n| n.is_element()) {
        if !tag(&item).contains("Description") {
            continue;
        }
        let (mut code, mut pref, mut alt) = (None, None, None);
        for val in item.children().filter(|n| n.is_element()) {
            let t = tag(&val);
            let text = val.text().map(str::to_string);
            if t.contains("prefLabel") {
                pref = text.clone();
            }
            if t.contains("code") {
                code = text.clone();
            }
            if t.contains("altLabel") {
                alt = text;
            }
        }
        let key = match (&code, &pref) {
            (Some(c), _) => c.clone(),
            (None, Some(p)) => p.clone(),
            (None, None) => continue,
        };
        let entry = (
            key.clone(),
            pref.unwrap_or_default(),
            alt.unwrap_or_default(),
        );
        match out.iter_mut().find(|(k, _, _)| *k == key) {
            Some(slot) => *slot = entry,
            None => out.push(entry),
        }
    }
    Ok(out)
}

/// An INI file as Python's `configparser` reads it with `optionxform = str` (keys keep their
/// case; `#` and `;` lines are comments; a key ends at the first `=` or `:`; an indented line
/// continues the value before it).
struct Ini {
    sections: Vec<(String, Vec<(String, String)>)>,
}

impl Ini {
    fn parse(text: &str) -> Ini {
        let mut sections: Vec<(String, Vec<(String, String)>)> = Vec::new();
        for line in text.lines() {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with(['#', ';']) {
                continue;
            }
            if line.starts_with([' ', '\t']) {
                if let Some((_, last)) = sections.last_mut().and_then(|(_, o)| o.last_mut()) {
                    last.push('\n');
                    last.push_str(trimmed);
                }
                continue;
            }
            if let Some(name) = trimmed.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
                sections.push((name.to_string(), Vec::new()));
                continue;
            }
            if let (Some(i), Some((_, options))) = (trimmed.find(['=', ':']), sections.last_mut()) {
                options.push((
                    trimmed[..i].trim().to_string(),
                    trimmed[i + 1..].trim().to_string(),
                ));
            }
        }
        Ini { sections }
    }

    fn section(&self, name: &str) -> Option<&[(String, String)]> {
        self.sections
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, o)| o.as_slice())
    }

    fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.section(section)?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// `min` and `max` of values, fill values and NaN left out (`get_data_range`).
fn data_range(values: &[f64], fill: Option<f64>, var: &str) -> Result<(f64, f64), HandlerError> {
    let (lo, hi) = values
        .iter()
        .copied()
        .filter(|x| !x.is_nan() && Some(*x) != fill)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(x), hi.max(x))
        });
    // No valid value leaves the starting bounds crossed.
    if lo > hi {
        return Err(HandlerError::rejected(format!(
            "No valid data for variable '{var}'"
        )));
    }
    Ok((lo, hi))
}

/// Converts one profile (vessel and line already looked up) to the reference's NetCDF in
/// `out_dir` (`netcdf_writer`).
fn write_netcdf(
    profile: &Profile,
    source: &str,
    out_dir: &Path,
    now: DateTime<Utc>,
) -> Result<Generated, HandlerError> {
    let reject = |m: String| HandlerError::rejected(format!("{source}: {m}"));
    let mut template = imos_template(include_str!("templates/soop_xbt_nrt.json"));
    let mut g = template.globals.clone();
    g.update(&profile.metadata.0);

    let units = parse_time_units(TIME_UNITS).expect("valid units");
    let time = time_value(&units, profile.date.and_utc());
    let coverage = to_datetime(&units, time)
        .ok_or_else(|| reject("the profile's time is out of range".into()))?;
    g.set_text("time_coverage_start", iso_seconds(coverage));
    g.set_text("time_coverage_end", iso_seconds(coverage));
    // The template's _FillValue of LATITUDE and LONGITUDE masks their extents, though the
    // scalars are written without it.
    let template_fill = |var: &str| match var {
        "LATITUDE" | "LONGITUDE" => Some(SCALAR_TEMPLATE_FILL),
        _ => None,
    };
    for (var, values, min, max) in [
        (
            "DEPTH",
            profile.depth.as_slice(),
            "geospatial_vertical_min",
            "geospatial_vertical_max",
        ),
        (
            "LATITUDE",
            std::slice::from_ref(&profile.latitude),
            "geospatial_lat_min",
            "geospatial_lat_max",
        ),
        (
            "LONGITUDE",
            std::slice::from_ref(&profile.longitude),
            "geospatial_lon_min",
            "geospatial_lon_max",
        ),
    ] {
        let (lo, hi) =
            data_range(values, template_fill(var), var).map_err(|e| reject(e.to_string()))?;
        g.set(min, AttrValue::Double(vec![lo]));
        g.set(max, AttrValue::Double(vec![hi]));
    }
    g.set_text("date_created", iso_seconds(now));

    let fre = fallrate(profile).map_err(|e| reject(e.to_string()))?;
    let mut line = profile.meta("XBT_line").unwrap_or_default().to_string();
    if line.starts_with("PX0") {
        line = line.replace("PX0", "PX");
    }
    let section = line.replace('-', "/");
    let info = CONFIG
        .section(&section)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            reject(format!(
                "No XBT line info found for {line} from soop_xbt_config.ini"
            ))
        })?;
    let option = |key: &str, default: &str| {
        info.iter()
            .find(|(k, _)| k == key)
            .map_or(default.to_string(), |(_, v)| v.clone())
    };
    g.set_text("abstract", option("abstract", "No abstract"));
    g.set_text("title", option("title", "No title"));
    g.set_text("featureType", "profile");
    g.set_text("history", format!("{}: file created", iso_seconds(now)));

    for var in &mut template.variables {
        if var.name == "DEPTH" {
            var.attributes.set(
                "fallrate_equation_coefficient_a",
                AttrValue::Double(vec![fre.a]),
            );
            var.attributes.set(
                "fallrate_equation_coefficient_b",
                AttrValue::Double(vec![fre.b]),
            );
        }
    }

    let start = compact_seconds(profile.date.and_utc());
    let out_name = match profile.meta("imo_number") {
        None => format!("IMOS_SOOP-XBT_T_{start}_{line}_FV00.nc"),
        Some(imo) => format!("IMOS_SOOP-XBT_T_{start}_{line}_FV00_ID_{imo}.nc"),
    };
    let out_path = out_dir.join(&out_name);
    let werr = |e: crate::netcdf::NcWriteError| {
        HandlerError::Internal(format!("writing {out_name} from {source}: {e}"))
    };
    let n = profile.depth.len();
    for (what, len) in [
        ("temperatures", profile.temp.len()),
        ("depth quality flags", profile.depth_qc.len()),
        ("temperature quality flags", profile.temp_qc.len()),
    ] {
        if len != n {
            return Err(reject(format!(
                "the profile has {n} depths but {len} {what}"
            )));
        }
    }
    let dims = [("DEPTH", n), ("TIME", 1), ("LATITUDE", 1), ("LONGITUDE", 1)];
    let mut w =
        define_product(&out_path, &dims, &template.variables, |_| true, &g).map_err(werr)?;
    let chunk = crate::netcdf::DEFAULT_CHUNK;
    for var in &template.variables {
        let values: &[f64] = match var.name.as_str() {
            "TIME" => std::slice::from_ref(&time),
            "LATITUDE" => std::slice::from_ref(&profile.latitude),
            "LONGITUDE" => std::slice::from_ref(&profile.longitude),
            "DEPTH" => &profile.depth,
            "DEPTH_quality_control" => &profile.depth_qc,
            "TEMP" => &profile.temp,
            "TEMP_quality_control" => &profile.temp_qc,
            other => {
                return Err(HandlerError::Internal(format!(
                    "template variable {other} has no values"
                )));
            }
        };
        if var.dimensions.is_empty() {
            w.write_f64(&var.name, &[], &[], values).map_err(werr)?;
        } else {
            w.write_all_f64(&var.name, values, chunk).map_err(werr)?;
        }
    }
    w.finish().map_err(werr)?;
    Ok(Generated {
        path: out_path,
        name: out_name,
    })
}

/// Converts a BUFR text dump to one NetCDF per profile in `out_dir` (the reference's
/// preprocess for a CSV upload).
pub fn convert_csv(
    csv: &Path,
    csv_name: &str,
    vocab: &XbtVocabularies,
    out_dir: &Path,
    now: DateTime<Utc>,
) -> Result<Vec<Generated>, HandlerError> {
    let mut out = Vec::new();
    for mut profile in parse_bufr_csv(csv, csv_name)? {
        let reject = |e: HandlerError| match e {
            HandlerError::Rejected(m) => HandlerError::rejected(format!("{csv_name}: {m}")),
            other => other,
        };
        let ship = profile.meta("ship_name").unwrap_or_default().to_string();
        let (name, callsign) = vessel_info(&ship, &vocab.vessels).map_err(reject)?;
        profile.metadata.set_text("ship_name", name);
        profile.metadata.set_text("Callsign", callsign);
        // A message without a line value (or "None") fails in the reference (a KeyError).
        let line = profile.meta("XBT_line").map(str::to_string).ok_or_else(|| {
            HandlerError::rejected(format!(
                "{csv_name}: the profile has no XBT line (descriptor 001080); a blank one is NOLINE"
            ))
        })?;
        let (line, description) = line_info(&line, vocab).map_err(reject)?;
        profile.metadata.set_text("XBT_line", line);
        profile
            .metadata
            .set_text("XBT_line_description", description);
        out.push(write_netcdf(&profile, csv_name, out_dir, now)?);
    }
    Ok(out)
}

/// Python's `datetime.strptime(s, fmt).year` for `%Y%m%d%H%M%S` (`with_seconds`) or `%Y%m%d%H%M`:
/// the pattern's first match must take the whole text, the date must exist.
fn strptime_year(s: &str, with_seconds: bool) -> Option<i32> {
    static FULL: LazyLock<[Regex; 2]> = LazyLock::new(|| {
        let base = r"^(\d\d\d\d)(1[0-2]|0[1-9]|[1-9])(3[01]|[12]\d|0[1-9]|[1-9]| [1-9])(2[0-3]|[0-1]\d|\d)([0-5]\d|\d)";
        [
            Regex::new(base).expect("valid pattern"),
            Regex::new(&format!(r"{base}(6[0-1]|[0-5]\d|\d)")).expect("valid pattern"),
        ]
    });
    let re = &FULL[usize::from(with_seconds)];
    let c = re.captures(s)?;
    if c.get(0)?.end() != s.len() {
        return None;
    }
    let year: i32 = c[1].parse().ok()?;
    let day: u32 = c[3].trim().parse().ok()?;
    NaiveDate::from_ymd_opt(year, c[2].parse().ok()?, day)?;
    Some(year)
}

/// Where a message is archived (the reference's `archive_path`):
/// `IMOS/SOOP/SOOP-XBT/REALTIME_BUFR/<year>/<name>`.
pub fn archive_path(name: &str) -> Result<String, HandlerError> {
    let field = name.split('_').nth(2).ok_or_else(|| {
        HandlerError::rejected(format!(
            "{name}: a BUFR message is named <header>_<centre>_<time>…, the time as \
             YYYYMMDDhhmmss or YYYYMMDDhhmm"
        ))
    })?;
    let year = strptime_year(field, true)
        .or_else(|| strptime_year(field.split('.').next().unwrap_or(field), false))
        .ok_or_else(|| {
            HandlerError::rejected(format!(
                "{name}: the name's time '{field}' is neither YYYYMMDDhhmmss nor YYYYMMDDhhmm"
            ))
        })?;
    Ok(format!("IMOS/SOOP/SOOP-XBT/REALTIME_BUFR/{year}/{name}"))
}

/// Where a real-time XBT NetCDF is published (the reference's `dest_path`), from its `Callsign`,
/// `ship_name` and `time_coverage_start` attributes.
pub fn netcdf_dest(path: &Path, name: &str) -> Result<String, HandlerError> {
    let attrs = PlacingAttrs::read(path, name)?;
    let (callsign, ship) = (attrs.text("Callsign")?, attrs.text("ship_name")?);
    let year = attrs.start_year()?;
    Ok(format!(
        "IMOS/SOOP/SOOP-XBT/REALTIME/{callsign}_{ship}/{year}/{name}"
    ))
}

/// What the handler decided for an upload.
#[derive(Debug, Clone, PartialEq)]
pub struct XbtOutcome {
    /// Files of the collection, with their publish types and paths.
    pub files: Vec<Placement>,
    /// NetCDF files made from the message, to add to the collection.
    pub generated: Vec<(Generated, Placement)>,
}

/// The reference's preprocess and path functions for one upload: a BUFR text dump is archived
/// and converted; a NetCDF (one converted before) is harvested where its attributes say.
/// Placements keep the pipeline's default checks, as the reference does.
pub fn preprocess(
    upload_name: &str,
    files: &[InputFile],
    vocab: &XbtVocabularies,
    work_dir: &Path,
    now: DateTime<Utc>,
) -> Result<XbtOutcome, HandlerError> {
    let of_ext = |ext: &str| files.iter().find(|f| f.extension() == ext);
    if let Some(csv) = of_ext(".csv") {
        let generated = convert_csv(&csv.path, &csv.name, vocab, work_dir, now)?;
        let mut placed = Vec::new();
        for g in generated {
            let dest = netcdf_dest(&g.path, &g.name)?;
            let p = Placement::new(&g.name, PublishType::HarvestUpload, Some(dest));
            placed.push((g, p));
        }
        return Ok(XbtOutcome {
            files: vec![
                Placement::new(&csv.name, PublishType::ArchiveOnly, None)
                    .with_archive(archive_path(&csv.name)?),
            ],
            generated: placed,
        });
    }
    if let Some(bin) = of_ext(".bin") {
        return Err(HandlerError::rejected(format!(
            "not yet available: {}: binary BUFR messages need a BUFR edition 4 decoder with the \
             WMO tables they use (the reference decodes them with pybufrkit); send the message as \
             its text dump (.csv) instead",
            bin.name
        )));
    }
    let mut placed = Vec::new();
    for f in files.iter().filter(|f| f.extension() == ".nc") {
        placed.push(Placement::new(
            &f.name,
            PublishType::HarvestUpload,
            Some(netcdf_dest(&f.path, &f.name)?),
        ));
    }
    if placed.is_empty() {
        return Err(HandlerError::rejected(format!(
            "{upload_name}: a SOOP XBT real-time upload is a BUFR message's text dump (.csv) or \
             a NetCDF file converted from one"
        )));
    }
    Ok(XbtOutcome {
        files: placed,
        generated: vec![],
    })
}

#[cfg(test)]
mod tests;
