//! Wave buoy files (the reference's AodnWaveHandler, `aodndata/aodn_wave/handler.py` and
//! `nrt_timeseries_aggregator.py` with its template `aodn_wave_nrt_timeseries_template.json`):
//! the destination and archive paths from the file name, and the monthly aggregation of
//! real-time files into the month's published product.
//!
//! The flow the wiring follows: [`plan`] says what to do with an upload. For a real-time file of
//! an aggregating institution it names the public-store prefix to list and the pattern of the
//! month's product; the first listed name that matches (in listing order, as the reference
//! takes the first) is fetched and handed to [`aggregate`], which writes the new monthly file
//! under the published name (`HARVEST_UPLOAD`, replacing the published one) while the upload is
//! only archived. With no monthly file yet, the upload itself is published under the monthly
//! name and archived under its own. Every other upload is published as it is.
//!
//! Reference behaviours kept: real-time files of institutions that are not aggregated (NSW-DPE,
//! UWA, …) are renamed to the monthly name and so replace each other within a month; the
//! product's `time_coverage_end` is the upload's even when the upload is older than the month's
//! last record; missing values of the product's float variables are written as `NaN`, as the
//! reference's pandas frame carries them.
//! Differences, each for a reason: a missing quality flag is written as the flag's fill value
//! (the reference casts `NaN` to a byte, which has no defined value); the latitude and longitude
//! extents ignore missing positions (Python's `min` over a column with `NaN` depends on the
//! order); a file the reference would fail on with a Python exception (a variable the monthly
//! template does not have, an attribute it copies missing) is rejected with the reason.

use std::path::Path;

use chrono::{DateTime, Utc};
use regex::Regex;

use crate::model::PublishType;
use crate::netcdf::{AttrValue, NcFile, NcSummary, NcType, Variable};

use super::product::{TemplateVar, define_product, imos_template, iso_seconds, time_units};
use super::{Generated, HandlerError};

/// Institution code → folder under the public store's root.
pub const INSTITUTIONS: &[(&str, &str)] = &[
    ("BOM", "Bureau_of_Meteorology"),
    ("DOT-WA", "Department_of_Transport-Western_Australia"),
    ("DTA", "Defence_Technology_Agency-New_Zealand"),
    (
        "DES-QLD",
        "Department_of_Environment_and_Science-Queensland",
    ),
    (
        "MHL",
        "Department_of_Planning_and_Environment-New_South_Wales/Manly_Hydraulics_Laboratory",
    ),
    ("IMOS_NTP-WAVE", "IMOS/NTP/Low_Cost_Wave_Buoy_Technology"),
    ("IMOS_ANMN-DEEP-WATER-WAVES", "IMOS/ANMN/Deep_Water_Waves"),
    ("IMOS_ANMN-WAVE-BUOYS", "IMOS/ANMN/Wave_Buoys"),
    ("IMOS_COASTAL-WAVE-BUOYS", "IMOS/COASTAL-WAVE-BUOYS"),
    (
        "NSW-DPE",
        "Department_of_Planning_and_Environment-New_South_Wales",
    ),
    (
        "NSW",
        "Department_of_Planning_and_Environment-New_South_Wales",
    ),
    ("VIC-DEAKIN-UNI", "Deakin_University"),
    ("UWA", "UWA"),
    ("PPA", "Pilbara_Ports_Authority"),
    ("GP-VIC", "Gippsland-Ports-Victoria"),
    ("SA-FLINDERS", "Flinders_University"),
    (
        "SA-DEW",
        "Department_for_Environment_and_Water-South_Australia",
    ),
];

/// Institutions whose real-time files are appended to the month's product (`re.match` on the
/// institution code, as the reference tests it).
const AGGREGATED: &str =
    "^(?:BOM|DOT-WA|DES-QLD|MHL|GP-VIC|IMOS_ANMN-DEEP-WATER-WAVES|IMOS_ANMN-WAVE-BUOYS)";

const NAME_PATTERN: &str = concat!(
    r"^(?P<institution>BOM|DOT-WA|DTA|DES-QLD|MHL|IMOS_NTP-WAVE|IMOS_ANMN-DEEP-WATER-WAVES|",
    r"IMOS_ANMN-WAVE-BUOYS|IMOS_COASTAL-WAVE-BUOYS|NSW|NSW-DPE|VIC-DEAKIN-UNI|UWA|PPA|GP-VIC|",
    r"SA-FLINDERS|SA-DEW)_(?P<start>[0-9]{8}|[0-9]{8}T[0-9]{6}Z)_(?P<site_name>.*)_",
    r"(?P<mode>RT|DM)_(?P<datatype>WAVE-PARAMETERS|WAVE-SPECTRA|WAVE-RAW-DISPLACEMENTS)_.*\.nc$"
);

/// Real-time or delayed mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    RealTime,
    Delayed,
}

impl Mode {
    fn code(self) -> &'static str {
        match self {
            Mode::RealTime => "RT",
            Mode::Delayed => "DM",
        }
    }

    fn folder(self) -> &'static str {
        match self {
            Mode::RealTime => "REALTIME",
            Mode::Delayed => "DELAYED",
        }
    }
}

/// The fields of a wave file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaveName {
    pub name: String,
    pub institution: String,
    /// `yyyymmdd` or `yyyymmddThhmmssZ`.
    pub start: String,
    pub site_name: String,
    pub mode: Mode,
    pub datatype: String,
}

impl WaveName {
    /// Reads a file name as the reference's `dest_path` does: first the field count (a site name
    /// with `_` in it), then the name pattern.
    pub fn parse(name: &str) -> Result<WaveName, HandlerError> {
        let fields: Vec<&str> = name.split('_').collect();
        let limit = if fields[0] == "IMOS" { 7 } else { 6 };
        if fields.len() > limit {
            return Err(HandlerError::rejected(format!(
                "file name: '{name}' invalid. Please check site name: should be - not _ separated"
            )));
        }
        let pattern = Regex::new(NAME_PATTERN).expect("valid pattern");
        let caps = pattern.captures(name).ok_or_else(|| {
            HandlerError::rejected(format!("file name: '{name}' has invalid filename"))
        })?;
        Ok(WaveName {
            name: name.to_string(),
            institution: caps["institution"].to_string(),
            start: caps["start"].to_string(),
            site_name: caps["site_name"].to_string(),
            mode: if &caps["mode"] == "RT" {
                Mode::RealTime
            } else {
                Mode::Delayed
            },
            datatype: caps["datatype"].to_string(),
        })
    }

    fn institution_folder(&self) -> &'static str {
        INSTITUTIONS
            .iter()
            .find(|(code, _)| *code == self.institution)
            .map(|(_, dir)| *dir)
            .expect("the name pattern allows only listed institutions")
    }

    fn year(&self) -> &str {
        &self.start[..4]
    }

    fn data_dir(&self) -> String {
        format!(
            "{}/WAVE-BUOYS/{}/{}/{}",
            self.institution_folder(),
            self.mode.folder(),
            self.datatype,
            self.site_name
        )
    }

    /// The name of the month's product:
    /// `<institution>_<yyyymmdd of start>_<site>_<mode>_<datatype>_monthly.nc`.
    pub fn monthly_name(&self) -> String {
        format!(
            "{}_{}_{}_{}_{}_monthly.nc",
            self.institution,
            &self.start[..8],
            self.site_name,
            self.mode.code(),
            self.datatype
        )
    }

    /// Where the file is published: real-time files under their year and the monthly name,
    /// delayed-mode files under their own name.
    pub fn dest_path(&self) -> String {
        match self.mode {
            Mode::RealTime => format!(
                "{}/{}/{}",
                self.data_dir(),
                self.year(),
                self.monthly_name()
            ),
            Mode::Delayed => format!("{}/{}", self.data_dir(), self.name),
        }
    }

    /// Where the file is archived: always under its year and its own name.
    pub fn archive_path(&self) -> String {
        format!("{}/{}/{}", self.data_dir(), self.year(), self.name)
    }
}

/// What to do with an upload.
#[derive(Debug, Clone)]
pub enum WavePlan {
    /// A real-time file to append to the month's product: list the public store under
    /// `listing_prefix` and pick the first name that `monthly_pattern` matches (from the start
    /// of the name). Found: fetch it and call [`aggregate`]; the upload is `ArchiveOnly` at
    /// its archive path and the product `HarvestUpload` at `product_dest_dir/<its name>`. Not
    /// found: the upload is `HarvestArchiveUpload` (published under the monthly name).
    Aggregate {
        name: WaveName,
        listing_prefix: String,
        monthly_pattern: Regex,
        product_dest_dir: String,
    },
    /// Publish the upload as it is, with this publish type, at its destination.
    Publish {
        name: WaveName,
        publish: PublishType,
    },
}

/// Decides what happens to an uploaded wave file (the reference's preprocess).
pub fn plan(upload_name: &str) -> Result<WavePlan, HandlerError> {
    let name = WaveName::parse(upload_name)?;
    let aggregated = Regex::new(AGGREGATED).expect("valid pattern");
    let is_monthly = Regex::new("monthly.nc").expect("valid pattern");
    if name.mode == Mode::RealTime
        && aggregated.is_match(&name.institution)
        && !is_monthly.is_match(upload_name)
    {
        let target_month = format!("{}_{}", name.institution, &name.start[..6]);
        let dest = name.dest_path();
        let dir = dest.rsplit_once('/').map_or("", |(d, _)| d).to_string();
        let monthly_pattern = Regex::new(&format!(
            r"^{}\d{{2}}_.*{}_{}_monthly.nc",
            regex::escape(&target_month),
            name.mode.code(),
            regex::escape(&name.datatype)
        ))
        .expect("valid pattern");
        return Ok(WavePlan::Aggregate {
            listing_prefix: format!("{dir}/{target_month}"),
            monthly_pattern,
            product_dest_dir: dir,
            name,
        });
    }
    let publish = if name.datatype == "WAVE-PARAMETERS" {
        PublishType::HarvestUpload
    } else {
        PublishType::UploadOnly
    };
    Ok(WavePlan::Publish { name, publish })
}

/// The month's product among the listed names (full keys or base names), as the reference
/// picks it: the first whose base name matches.
pub fn find_monthly<'a>(plan: &WavePlan, listed: &'a [String]) -> Option<&'a str> {
    let WavePlan::Aggregate {
        monthly_pattern, ..
    } = plan
    else {
        return None;
    };
    listed
        .iter()
        .map(String::as_str)
        .find(|key| monthly_pattern.is_match(key.rsplit('/').next().unwrap_or(key)))
}

/// One file's records: the column names and, per column, one value per record.
struct Records {
    columns: Vec<String>,
    rows: Vec<Vec<f64>>,
}

/// Reads a wave file as the reference's xarray frame sees it: `TIME` in days since 1950-01-01,
/// every other variable but `timeSeries` a column, missing values (`_FillValue`,
/// `missing_value`) as `NaN`.
fn read_records(path: &Path, name: &str) -> Result<(NcSummary, Records), HandlerError> {
    let reject = |m: String| HandlerError::rejected(format!("{name}: {m}"));
    let file =
        NcFile::open(path).map_err(|e| reject(format!("cannot read the NetCDF file: {e}")))?;
    let summary = file
        .summary()
        .map_err(|e| reject(format!("cannot read the NetCDF file: {e}")))?;
    let time = summary
        .variable("TIME")
        .ok_or_else(|| reject("no TIME variable".into()))?;
    let units = time_units(name, time)?;
    let epoch_1950 = chrono::NaiveDate::from_ymd_opt(1950, 1, 1)
        .expect("valid date")
        .and_time(chrono::NaiveTime::MIN);
    let offset_days = (units.epoch - epoch_1950).num_milliseconds() as f64 / 86_400_000.0;
    let read = |v: &Variable| {
        file.read_with_fill_only(v)
            .map_err(|e| reject(format!("cannot read {}: {e}", v.name)))
    };
    let times: Vec<f64> = read(time)?
        .into_iter()
        .map(|t| t * units.seconds_per_unit / 86_400.0 + offset_days)
        .collect();
    let mut columns = vec!["TIME".to_string()];
    let mut values = vec![times];
    for var in &summary.variables {
        if var.name == "TIME" || var.name == "timeSeries" {
            continue;
        }
        if var.dimensions != ["TIME"] || !var.dtype.is_numeric() {
            return Err(reject(format!(
                "{} is not a numeric variable of TIME alone; the monthly product has only those",
                var.name
            )));
        }
        columns.push(var.name.clone());
        values.push(read(var)?);
    }
    let n = values[0].len();
    let rows = (0..n)
        .map(|i| values.iter().map(|c| c[i]).collect())
        .collect();
    Ok((summary, Records { columns, rows }))
}

/// Appends `upload`'s records to `monthly`'s: the frame `monthly.append(upload)`, with the
/// columns of both (a column one file lacks is missing there).
fn append(monthly: Records, upload: Records) -> Records {
    let mut columns = monthly.columns.clone();
    for c in &upload.columns {
        if !columns.contains(c) {
            columns.push(c.clone());
        }
    }
    let widen = |r: Records| -> Vec<Vec<f64>> {
        let idx: Vec<Option<usize>> = columns
            .iter()
            .map(|c| r.columns.iter().position(|x| x == c))
            .collect();
        r.rows
            .into_iter()
            .map(|row| idx.iter().map(|i| i.map_or(f64::NAN, |i| row[i])).collect())
            .collect()
    };
    let mut rows = widen(monthly);
    rows.extend(widen(upload));
    Records { columns, rows }
}

/// Equal as pandas' `drop_duplicates` compares rows: `NaN` equals `NaN`.
fn same_row(a: &[f64], b: &[f64]) -> bool {
    a.iter()
        .zip(b)
        .all(|(x, y)| x == y || (x.is_nan() && y.is_nan()))
}

fn strictly_increasing(rows: &[Vec<f64>]) -> bool {
    rows.windows(2).all(|w| w[0][0] < w[1][0])
}

/// The reference's ordering rule: rows already in strictly increasing `TIME` are kept as they
/// are; otherwise they are sorted by `TIME`, exact duplicate rows dropped (the first kept), and
/// a `TIME` still repeated is the provider's error.
fn order_rows(rows: &mut Vec<Vec<f64>>, monthly_name: &str) -> Result<(), HandlerError> {
    if strictly_increasing(rows) {
        return Ok(());
    }
    rows.sort_by(|a, b| a[0].total_cmp(&b[0]));
    let mut kept: Vec<Vec<f64>> = Vec::with_capacity(rows.len());
    for row in rows.drain(..) {
        if !kept.iter().any(|k| same_row(k, &row)) {
            kept.push(row);
        }
    }
    *rows = kept;
    if !strictly_increasing(rows) {
        return Err(HandlerError::rejected(format!(
            "The TIME variable from {monthly_name} is not strictly monotonic: the upload has \
             records at times already in the month's product with different values"
        )));
    }
    Ok(())
}

fn required<'a>(s: &'a NcSummary, file: &str, attr: &str) -> Result<&'a AttrValue, HandlerError> {
    s.global(attr).ok_or_else(|| {
        HandlerError::rejected(format!(
            "{file}: the monthly product copies the global attribute {attr}, which the file lacks"
        ))
    })
}

fn attr_string(v: &AttrValue) -> String {
    v.as_str()
        .map(str::to_string)
        .unwrap_or_else(|| v.to_json().to_string())
}

/// Python's `int(x)` of an attribute: an integer text, or a number truncated.
fn as_int(v: &AttrValue, file: &str, attr: &str) -> Result<i64, HandlerError> {
    let parsed = match v.as_str() {
        Some(s) => super::pyfmt::py_int(s).and_then(Result::ok),
        None => v.as_f64().map(|x| x.trunc() as i64),
    };
    parsed.ok_or_else(|| {
        HandlerError::rejected(format!(
            "{file}: {attr} '{}' is not an integer",
            attr_string(v)
        ))
    })
}

/// Python's `float(x)` of an attribute.
fn as_float(v: &AttrValue, file: &str, attr: &str) -> Result<f64, HandlerError> {
    let parsed = match v.as_str() {
        Some(s) => super::pyfmt::py_float(s),
        None => v.as_f64(),
    };
    parsed.ok_or_else(|| {
        HandlerError::rejected(format!(
            "{file}: {attr} '{}' is not a number",
            attr_string(v)
        ))
    })
}

fn extent(rows: &[Vec<f64>], col: Option<usize>) -> Option<(f64, f64)> {
    let col = col?;
    let present: Vec<f64> = rows
        .iter()
        .map(|r| r[col])
        .filter(|x| !x.is_nan())
        .collect();
    if present.is_empty() {
        return None;
    }
    Some((
        present.iter().copied().fold(f64::INFINITY, f64::min),
        present.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    ))
}

/// Appends the uploaded real-time file to the month's published product (fetched to
/// `monthly`, named `monthly_name` in the public store) and writes the new product, under the
/// same name, in `out_dir`. Records are ordered and de-duplicated as the reference does; a
/// record at a time already in the product with other values rejects the upload.
pub fn aggregate(
    upload: &Path,
    upload_name: &str,
    monthly: &Path,
    monthly_name: &str,
    out_dir: &Path,
    now: DateTime<Utc>,
) -> Result<Generated, HandlerError> {
    let (up, up_records) = read_records(upload, upload_name)?;
    let (month, month_records) = read_records(monthly, monthly_name)?;
    let mut records = append(month_records, up_records);
    order_rows(&mut records.rows, monthly_name)?;

    let template = imos_template(include_str!("templates/wave_monthly.json"));
    for c in &records.columns {
        if template.variable(c).is_none() {
            return Err(HandlerError::rejected(format!(
                "{upload_name}: {c} is not a variable of the monthly wave product (it has {})",
                template
                    .variables
                    .iter()
                    .map(|v| v.name.as_str())
                    .filter(|n| *n != "timeSeries")
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }

    let mut g = template.globals.clone();
    let site = attr_string(required(&up, upload_name, "site_name")?);
    let institution = attr_string(required(&up, upload_name, "institution")?);
    let instrument = attr_string(required(&up, upload_name, "instrument")?);
    let start = attr_string(required(&month, monthly_name, "time_coverage_start")?);
    let end = attr_string(required(&up, upload_name, "time_coverage_end")?);
    let ints = [
        "instrument_burst_interval",
        "instrument_burst_duration",
        "water_depth",
    ];
    // In the reference's update order (a dict literal).
    for attr in [
        "site_name",
        "institution",
        "wave_buoy_type",
        "instrument",
        "instrument_burst_interval",
        "instrument_burst_duration",
        "instrument_burst_units",
        "instrument_sampling_interval",
        "wave_motion_sensor_type",
        "wave_sensor_serial_number",
        "hull_serial_number",
        "transmission",
        "water_depth",
        "water_depth_units",
    ] {
        let v = required(&up, upload_name, attr)?;
        let value = if ints.contains(&attr) {
            AttrValue::Int64(vec![as_int(v, upload_name, attr)?])
        } else if attr == "instrument_sampling_interval" {
            AttrValue::Double(vec![as_float(v, upload_name, attr)?])
        } else {
            v.clone()
        };
        g.set(attr, value);
    }
    let col = |name: &str| records.columns.iter().position(|c| c == name);
    let lat = extent(&records.rows, col("LATITUDE"));
    let lon = extent(&records.rows, col("LONGITUDE"));
    let (Some((lat_min, lat_max)), Some((lon_min, lon_max))) = (lat, lon) else {
        return Err(HandlerError::rejected(format!(
            "{upload_name}: the monthly product needs LATITUDE and LONGITUDE values"
        )));
    };
    g.set("geospatial_lat_min", AttrValue::Double(vec![lat_min]));
    g.set("geospatial_lat_max", AttrValue::Double(vec![lat_max]));
    g.set("geospatial_lon_min", AttrValue::Double(vec![lon_min]));
    g.set("geospatial_lon_max", AttrValue::Double(vec![lon_max]));
    g.set_text("date_created", iso_seconds(now));
    g.set_text("time_coverage_start", start.clone());
    g.set_text("time_coverage_end", end.clone());
    g.set_text(
        "title",
        format!("Near real time wave buoy observations at {site} from {start} to {end}"),
    );
    g.set_text(
        "abstract",
        format!(
            "Near real time integral wave parameters from wave buoys collected by the \
             {institution} using a {instrument} at {site} between {start} and {end}. Data have \
             been aggregated into a monthly product"
        ),
    );
    if let Some(wmo) = up.global("wmo_id") {
        g.set("wmo_id", wmo.clone());
    }

    let out_path = out_dir.join(monthly_name);
    let werr = |e: crate::netcdf::NcWriteError| {
        HandlerError::Internal(format!("writing the monthly product {monthly_name}: {e}"))
    };
    let n = records.rows.len();
    // The template's variables that have data: every column, and the fixed timeSeries.
    let written: Vec<_> = template
        .variables
        .iter()
        .filter(|v| col(&v.name).is_some() || v.data.is_some())
        .collect();
    let dims = [("TIME", n), ("timeSeries", 1)];
    let keep_nan = |v: &TemplateVar| v.dtype == NcType::Double;
    let mut w =
        define_product(&out_path, &dims, written.iter().copied(), keep_nan, &g).map_err(werr)?;
    for var in &written {
        let values: Vec<f64> = match col(&var.name) {
            Some(c) => records.rows.iter().map(|r| r[c]).collect(),
            None => var.data.clone().unwrap_or_default(),
        };
        w.write_all_f64(&var.name, &values, crate::netcdf::DEFAULT_CHUNK)
            .map_err(werr)?;
    }
    w.finish().map_err(werr)?;
    Ok(Generated {
        path: out_path,
        name: monthly_name.to_string(),
    })
}

#[cfg(test)]
mod tests;
