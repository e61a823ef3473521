//! Spirit of Tasmania (SOOP TMV) real-time logs (the reference's SoopTmvNrtHandler,
//! `aodndata/soop/soop_tmv_nrt.py` with its templates `soop_tmv_nrt_nc_template_{mooring,
//! trajectory}.json`): each log is converted to a NetCDF file, which decides where everything of
//! the upload goes. One-second data is published (the log as it is, the NetCDF harvested);
//! ten-second data is only archived (the log, or the uploaded ZIP), its NetCDF dropped.
//!
//! The log: comma-separated, no header, ten fields (time, status flag, product code, distance
//! from port, latitude, longitude, temperature, salinity, fluorescence, turbidity). As the
//! reference reads it: a line with more fields than the first line is skipped, one with fewer
//! is padded with missing values; times are ISO-like (`YYYY-MM-DD hh:mm:ss`, any one date
//! separator) for the whole file, else `DD/MM/YYYY hh:mm:ss` for the whole file; lines without
//! a latitude or longitude are dropped; records are sorted by time and a repeated time keeps its
//! first line; the measurement frequency is the median time step: 1 s (fluorescence and
//! turbidity counts converted: `(x - 40) × 0.0123` and `(x - 50) × 0.006`), 10 s (values as they
//! are), anything else rejects the upload. An optional `*.txt` file beside the log (JSON, lines
//! with `#` dropped) gives calibration coefficients `a0`, `a1` per item EFLO, ESAL, ETMP, ETURB,
//! recorded as attributes of CPHL, PSAL, TEMP, TURB.
//!
//! Differences, each for a reason: records with the same time keep the first in file order (the
//! reference's sort is not stable, so which one it keeps is unspecified); a log the reference
//! would fail on with a Python exception (a non-numeric value in a numeric field, a line without
//! a time) is rejected with the line.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::LazyLock;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use regex::Regex;

use crate::model::PublishType;
use crate::netcdf::{AttrValue, parse_time_units};

use super::plan::{InputFile, Placement};
use super::product::{
    PlacingAttrs, Template, compact_seconds, define_product, iso_seconds, time_value,
};
use super::{Generated, HandlerError};

/// The vessel's callsign: the only one the stream carries.
pub const SHIP_CODE: &str = "VLST";

const LOG_PATTERN: &str =
    r"^EPA_(?P<facility>SOOP_TMV1)_(?P<product_code>D2M|M2D|MEL|DEV|M2S|S2M|SYD)_.*\.log$";

/// Fluorescence counts → CPHL: blank and scale.
const CHLU: (i64, f64) = (40, 0.0123);
/// Turbidity counts → TURB: blank and scale.
const TURB: (i64, f64) = (50, 0.006);

/// The measurement frequency of a log, from its median time step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frequency {
    OneSecond,
    TenSeconds,
}

impl Frequency {
    /// The folder and `measurement_frequency` attribute: `1sec` or `10secs`.
    pub fn label(self) -> &'static str {
        match self {
            Frequency::OneSecond => "1sec",
            Frequency::TenSeconds => "10secs",
        }
    }
}

/// A NetCDF file converted from a log, and what its place depends on.
#[derive(Debug, Clone, PartialEq)]
pub struct TmvProduct {
    pub generated: Generated,
    /// `transect` (D2M, M2D, S2M, M2S) or `mooring` (DEV, MEL, SYD).
    pub product_type: &'static str,
    pub frequency: Frequency,
    /// The year of the first record.
    pub year: i32,
}

/// What the handler decided for an upload.
#[derive(Debug, Clone, PartialEq)]
pub struct TmvOutcome {
    /// Files of the collection, with their publish types and paths; the collection's other
    /// files stay as the pipeline's rules set them.
    pub files: Vec<Placement>,
    /// Files made from the log, to add to the collection.
    pub generated: Vec<(Generated, Placement)>,
    /// The uploaded ZIP itself, archived (ten-second ZIPs).
    pub upload: Option<Placement>,
}

/// The vessel's folder: `IMOS/SOOP/SOOP-TMV/VLST_<vessel name>/realtime`, the name from the
/// vessel vocabulary (callsign → name).
pub fn vessel_dir(vessels: &BTreeMap<String, String>) -> Result<String, HandlerError> {
    let name = vessel_name(vessels)?;
    Ok(format!("IMOS/SOOP/SOOP-TMV/{SHIP_CODE}_{name}/realtime"))
}

fn vessel_name(vessels: &BTreeMap<String, String>) -> Result<&str, HandlerError> {
    vessels.get(SHIP_CODE).map(String::as_str).ok_or_else(|| {
        HandlerError::Internal(format!(
            "Missing vessel callsign {SHIP_CODE} from vocabulary: the vessel vocabulary must \
             name it before SOOP TMV uploads can be placed"
        ))
    })
}

/// One record of a log: time and the six values written (`NaN` = missing).
#[derive(Debug, Clone, PartialEq)]
struct Record {
    time: NaiveDateTime,
    lat: f64,
    lon: f64,
    temp: f64,
    psal: f64,
    cphl: f64,
    turb: f64,
}

/// pandas' default missing-value markers.
const NA_VALUES: &[&str] = &[
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
];

fn number(field: &str, log_name: &str, line: u64, column: &str) -> Result<f64, HandlerError> {
    let f = field.trim();
    if NA_VALUES.contains(&f) {
        return Ok(f64::NAN);
    }
    f.parse::<f64>().map_err(|_| {
        HandlerError::rejected(format!(
            "{log_name}: line {line}: {column} '{field}' is not a number"
        ))
    })
}

/// A time in the ISO-like form pandas' fast parser takes (`YYYY-MM-DD hh:mm:ss`, the date
/// separator any one of `-`, `/`, `.`, `\`, space or none, optional fraction of seconds).
fn iso_time(s: &str) -> Option<NaiveDateTime> {
    static ISO: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"^(\d{4})([-/. \\]?)(\d{1,2})([-/. \\]?)(\d{1,2})(?:[ T](\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,9}))?)?$",
        )
        .expect("valid pattern")
    });
    let c = ISO.captures(s.trim())?;
    if c[2] != c[4] {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(c[1].parse().ok()?, c[3].parse().ok()?, c[5].parse().ok()?)?;
    let time = match c.get(6) {
        None => NaiveTime::MIN,
        Some(h) => {
            let nanos = c.get(9).map_or(Some(0), |f| {
                format!("{:0<9}", f.as_str()).parse::<u32>().ok()
            })?;
            NaiveTime::from_hms_nano_opt(
                h.as_str().parse().ok()?,
                c[7].parse().ok()?,
                c[8].parse().ok()?,
                nanos,
            )?
        }
    };
    Some(date.and_time(time))
}

fn day_first_time(s: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s.trim(), "%d/%m/%Y %H:%M:%S").ok()
}

/// Reads a log into records, sorted by time, repeated times dropped (see the module header).
fn parse_log(path: &Path, log_name: &str) -> Result<Vec<Record>, HandlerError> {
    let reject = |m: String| HandlerError::rejected(format!("{log_name}: {m}"));
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(path)
        .map_err(|e| reject(format!("cannot read the log: {e}")))?;
    let mut width = None;
    let mut lines: Vec<(u64, csv::StringRecord)> = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|e| reject(format!("cannot read the log: {e}")))?;
        let line = row.position().map_or(0, |p| p.line());
        if row.len() == 1 && row[0].trim().is_empty() {
            continue;
        }
        let expected = *width.get_or_insert(row.len());
        if row.len() > expected {
            // The reference reads with error_bad_lines=False: the line is skipped.
            continue;
        }
        lines.push((line, row));
    }
    match width {
        Some(10) => {}
        Some(n) => {
            return Err(reject(format!(
                "the first line has {n} fields; a TMV log has 10 (time, status flag, product \
                 code, distance from port, latitude, longitude, temperature, salinity, \
                 fluorescence, turbidity)"
            )));
        }
        None => return Err(reject("the log is empty".into())),
    }
    let field = |r: &csv::StringRecord, i: usize| r.get(i).unwrap_or("").to_string();
    let times: Option<Vec<NaiveDateTime>> =
        lines.iter().map(|(_, r)| iso_time(&field(r, 0))).collect();
    let times = match times {
        Some(t) => t,
        None => {
            let mut t = Vec::with_capacity(lines.len());
            for (line, r) in &lines {
                t.push(day_first_time(&field(r, 0)).ok_or_else(|| {
                    reject(format!(
                        "line {line}: time '{}' is neither YYYY-MM-DD hh:mm:ss nor DD/MM/YYYY hh:mm:ss \
                         (one format for the whole log)",
                        field(r, 0)
                    ))
                })?);
            }
            t
        }
    };
    let mut records = Vec::with_capacity(lines.len());
    for ((line, r), time) in lines.iter().zip(times) {
        let num = |i: usize, col: &str| number(&field(r, i), log_name, *line, col);
        let rec = Record {
            time,
            lat: num(4, "LATITUDE")?,
            lon: num(5, "LONGITUDE")?,
            temp: num(6, "TEMP")?,
            psal: num(7, "PSAL")?,
            cphl: num(8, "CPHL")?,
            turb: num(9, "TURB")?,
        };
        if rec.lat.is_finite() && rec.lon.is_finite() {
            records.push(rec);
        }
    }
    records.sort_by_key(|r| r.time);
    records.dedup_by_key(|r| r.time);
    Ok(records)
}

/// The median time step in seconds (`NaN` with fewer than two records).
fn median_step(records: &[Record]) -> f64 {
    let mut steps: Vec<f64> = records
        .windows(2)
        .map(|w| {
            (w[1].time - w[0].time)
                .num_nanoseconds()
                .unwrap_or(i64::MAX) as f64
                / 1.0e9
        })
        .collect();
    if steps.is_empty() {
        return f64::NAN;
    }
    steps.sort_by(f64::total_cmp);
    let n = steps.len();
    if n % 2 == 1 {
        steps[n / 2]
    } else {
        (steps[n / 2 - 1] + steps[n / 2]) / 2.0
    }
}

/// Calibration coefficients of the meta file: variable → (a0, a1).
fn read_meta(path: &Path, name: &str) -> Result<BTreeMap<&'static str, (f64, f64)>, HandlerError> {
    let reject = |m: String| HandlerError::rejected(format!("{name}: {m}"));
    let raw = std::fs::read_to_string(path).map_err(|e| reject(format!("cannot read: {e}")))?;
    let json: String = raw
        .split_inclusive('\n')
        .filter(|l| !l.contains('#'))
        .collect();
    let doc: serde_json::Value = serde_json::from_str(&json).map_err(|e| {
        reject(format!(
            "the calibration is not JSON once '#' lines are removed: {e}"
        ))
    })?;
    let items = doc
        .get("calibration")
        .and_then(|c| c.as_array())
        .ok_or_else(|| reject("no 'calibration' list".into()))?;
    let coefficient = |item: &serde_json::Value, key: &str| -> Result<f64, HandlerError> {
        let v = item
            .get(key)
            .ok_or_else(|| reject(format!("a calibration item has no {key}")))?;
        v.as_f64()
            .or_else(|| v.as_str().and_then(super::pyfmt::py_float))
            .ok_or_else(|| reject(format!("{key} '{v}' is not a number")))
    };
    let mut out = BTreeMap::new();
    for item in items {
        let var = match item.get("item").and_then(|i| i.as_str()) {
            Some("EFLO") => "CPHL",
            Some("ESAL") => "PSAL",
            Some("ETMP") => "TEMP",
            Some("ETURB") => "TURB",
            _ => continue,
        };
        out.insert(var, (coefficient(item, "a0")?, coefficient(item, "a1")?));
    }
    Ok(out)
}

/// The product type, the featureType and the template of a product code.
fn product_kind(code: &str) -> (&'static str, &'static str, &'static str) {
    match code {
        "D2M" | "M2D" | "S2M" | "M2S" => (
            "transect",
            "trajectory",
            include_str!("templates/tmv_log_trajectory.json"),
        ),
        _ => (
            "mooring",
            "timeSeries",
            include_str!("templates/tmv_log_mooring.json"),
        ),
    }
}

/// Converts a log (named `log_name`, with its optional calibration file) to the NetCDF the
/// reference writes, in `out_dir`, named
/// `IMOS_SOOP-TMV_TSUB_<first time>_VLST_FV00_<product type>-<product code>_END-<last time>.nc`.
pub fn convert_log(
    log: &Path,
    log_name: &str,
    meta: Option<(&Path, &str)>,
    vessel_name: &str,
    out_dir: &Path,
    now: DateTime<Utc>,
) -> Result<TmvProduct, HandlerError> {
    let pattern = Regex::new(LOG_PATTERN).expect("valid pattern");
    let caps = pattern.captures(log_name).ok_or_else(|| {
        HandlerError::rejected(format!(
            "SOOP TMV NRT input logfile has incorrect naming '{log_name}': expected \
             EPA_SOOP_TMV1_<D2M|M2D|MEL|DEV|M2S|S2M|SYD>_….log"
        ))
    })?;
    let code = caps["product_code"].to_string();
    let calibration = meta.map(|(p, n)| read_meta(p, n)).transpose()?;
    let mut records = parse_log(log, log_name)?;
    let step = median_step(&records);
    let frequency = if step == 1.0 {
        Frequency::OneSecond
    } else if step == 10.0 {
        Frequency::TenSeconds
    } else {
        return Err(HandlerError::rejected(format!(
            "{log_name}: SOOP NRT input logfile has incorrect delta time. '{step}'. Not \
             belonging to any of ('10 secs', '1 sec')."
        )));
    };
    if frequency == Frequency::OneSecond {
        for r in &mut records {
            r.cphl = (r.cphl - CHLU.0 as f64) * CHLU.1;
            r.turb = (r.turb - TURB.0 as f64) * TURB.1;
        }
    }
    let (product_type, feature_type, template) = product_kind(&code);
    let mut template = Template::builtin(template);
    let first = records
        .first()
        .expect("a median step needs records")
        .time
        .and_utc();
    let last = records
        .last()
        .expect("a median step needs records")
        .time
        .and_utc();

    let mut g = template.globals.clone();
    g.set_text("product_type", product_type);
    let extent = |f: fn(&Record) -> f64| {
        let v: Vec<f64> = records.iter().map(f).collect();
        (
            v.iter().copied().fold(f64::INFINITY, f64::min),
            v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        )
    };
    let (lat_min, lat_max) = extent(|r| r.lat);
    let (lon_min, lon_max) = extent(|r| r.lon);
    g.set_text("time_coverage_start", iso_seconds(first));
    g.set_text("time_coverage_end", iso_seconds(last));
    g.set_text("featureType", feature_type);
    g.set_text("date_created", iso_seconds(now));
    g.set_text("platform_code", SHIP_CODE);
    g.set_text("vessel_name", vessel_name);
    g.set("geospatial_lat_min", AttrValue::Double(vec![lat_min]));
    g.set("geospatial_lat_max", AttrValue::Double(vec![lat_max]));
    g.set("geospatial_lon_min", AttrValue::Double(vec![lon_min]));
    g.set("geospatial_lon_max", AttrValue::Double(vec![lon_max]));
    g.set_text("measurement_frequency", frequency.label());
    g.set_text("history", format!("File created {}", iso_seconds(now)));

    for var in &mut template.variables {
        let (name, attrs) = (&var.name, &mut var.attributes);
        if let Some((a0, a1)) = calibration.as_ref().and_then(|c| c.get(name.as_str())) {
            attrs.set("a0", AttrValue::Double(vec![*a0]));
            attrs.set("a1", AttrValue::Double(vec![*a1]));
            attrs.set_text("calibration_comment", "Value=a0 + a1 x raw_value");
        }
        if frequency == Frequency::OneSecond {
            let (blank, scale) = match name.as_str() {
                "CPHL" => CHLU,
                "TURB" => TURB,
                _ => continue,
            };
            attrs.set("calibration_blank", AttrValue::Int64(vec![blank]));
            attrs.set("calibration_scale", AttrValue::Double(vec![scale]));
        }
    }

    let out_name = format!(
        "IMOS_SOOP-TMV_TSUB_{}_{SHIP_CODE}_FV00_{product_type}-{code}_END-{}.nc",
        compact_seconds(first),
        compact_seconds(last)
    );
    let out_path = out_dir.join(&out_name);
    let werr = |e: crate::netcdf::NcWriteError| {
        HandlerError::Internal(format!("writing {out_name} from {log_name}: {e}"))
    };
    let units = parse_time_units("days since 1950-01-01 00:00:00 UTC").expect("valid units");
    let dims = [("TIME", records.len())];
    let mut w =
        define_product(&out_path, &dims, &template.variables, |_| false, &g).map_err(werr)?;
    let chunk = crate::netcdf::DEFAULT_CHUNK;
    for var in &template.variables {
        let column: fn(&Record) -> f64 = match var.name.as_str() {
            "LATITUDE" => |r| r.lat,
            "LONGITUDE" => |r| r.lon,
            "TEMP" => |r| r.temp,
            "PSAL" => |r| r.psal,
            "CPHL" => |r| r.cphl,
            "TURB" => |r| r.turb,
            "TIME" => {
                let times: Vec<f64> = records
                    .iter()
                    .map(|r| time_value(&units, r.time.and_utc()))
                    .collect();
                w.write_all_f64("TIME", &times, chunk).map_err(werr)?;
                continue;
            }
            // The scalars the template fixes (the feature instance, NOMINAL_DEPTH).
            _ => {
                let value = var.data.clone().ok_or_else(|| {
                    HandlerError::Internal(format!("template variable {} has no data", var.name))
                })?;
                w.write_f64(&var.name, &[], &[], &value).map_err(werr)?;
                continue;
            }
        };
        let values: Vec<f64> = records.iter().map(column).collect();
        w.write_all_f64(&var.name, &values, chunk).map_err(werr)?;
    }
    w.finish().map_err(werr)?;
    Ok(TmvProduct {
        generated: Generated {
            path: out_path,
            name: out_name,
        },
        product_type,
        frequency,
        year: first.year(),
    })
}

/// Where an uploaded (or converted) TMV NetCDF is published:
/// `<vessel dir>/<product_type>/<measurement_frequency>/<year>/<name>`. Ten-second files are
/// never harvested: they reject the upload.
pub fn netcdf_dest(
    path: &Path,
    name: &str,
    vessels: &BTreeMap<String, String>,
) -> Result<String, HandlerError> {
    let base = vessel_dir(vessels)?;
    let attrs = PlacingAttrs::read(path, name)?;
    let frequency = attrs.text("measurement_frequency")?;
    let product_type = attrs.text("product_type")?;
    let year = attrs.start_year()?;
    if frequency != "1sec" {
        return Err(HandlerError::rejected(format!(
            "{name}: SOOP TMV NRT: NetCDF with a measurement frequency of {frequency} aren't \
             allowed to be harvested"
        )));
    }
    Ok(format!("{base}/{product_type}/{frequency}/{year}/{name}"))
}

/// The reference's preprocess for one upload: `files` is the collection after resolve (the
/// upload itself, or the members of an uploaded ZIP); `work_dir` is where the NetCDF is made.
/// Placements keep the pipeline's default checks (`check: None`), as the reference does.
pub fn preprocess(
    upload_name: &str,
    files: &[InputFile],
    vessels: &BTreeMap<String, String>,
    work_dir: &Path,
    now: DateTime<Utc>,
) -> Result<TmvOutcome, HandlerError> {
    let base = vessel_dir(vessels)?;
    let of_ext = |ext: &str| {
        files
            .iter()
            .find(|f| f.extension() == ext)
            .map(|f| (&f.name, &f.path))
    };
    if let Some((name, path)) = of_ext(".nc") {
        // An already converted NetCDF pushed again.
        return Ok(TmvOutcome {
            files: vec![Placement::new(
                name,
                PublishType::HarvestUpload,
                Some(netcdf_dest(path, name, vessels)?),
            )],
            generated: vec![],
            upload: None,
        });
    }
    let Some((log_name, log_path)) = of_ext(".log") else {
        return Err(HandlerError::rejected(format!(
            "{upload_name}: a SOOP TMV upload is a .log file, a ZIP of one (with its .txt \
             calibration), or a converted .nc file"
        )));
    };
    let meta = of_ext(".txt").map(|(n, p)| (p.as_path(), n.as_str()));
    let product = convert_log(
        log_path,
        log_name,
        meta,
        vessel_name(vessels)?,
        work_dir,
        now,
    )?;
    let pre_path = format!(
        "{base}/{}/{}/{}",
        product.product_type,
        product.frequency.label(),
        product.year
    );
    match product.frequency {
        Frequency::OneSecond => {
            let nc_name = product.generated.name.clone();
            Ok(TmvOutcome {
                files: vec![Placement::new(
                    log_name,
                    PublishType::UploadOnly,
                    Some(format!("{pre_path}/logs/{log_name}")),
                )],
                generated: vec![(
                    product.generated,
                    Placement::new(
                        &nc_name,
                        PublishType::HarvestUpload,
                        Some(format!("{pre_path}/{nc_name}")),
                    ),
                )],
                upload: None,
            })
        }
        Frequency::TenSeconds => {
            // The NetCDF only told where the log goes: it is not published.
            std::fs::remove_file(&product.generated.path).map_err(|e| {
                HandlerError::Internal(format!(
                    "removing the ten-second NetCDF {}: {e}",
                    product.generated.path.display()
                ))
            })?;
            if upload_name.ends_with("zip") {
                // Not published, but still checked (the reference sets only their publish type).
                let mut members = vec![Placement::new(log_name, PublishType::NoAction, None)];
                if let Some((_, txt)) = meta {
                    members.push(Placement::new(txt, PublishType::NoAction, None));
                }
                Ok(TmvOutcome {
                    files: members,
                    generated: vec![],
                    upload: Some(
                        Placement::new(upload_name, PublishType::ArchiveOnly, None)
                            .with_archive(format!("{pre_path}/logs/{upload_name}")),
                    ),
                })
            } else {
                Ok(TmvOutcome {
                    files: vec![
                        Placement::new(log_name, PublishType::ArchiveOnly, None)
                            .with_archive(format!("{pre_path}/logs/{log_name}")),
                    ],
                    generated: vec![],
                    upload: None,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests;
