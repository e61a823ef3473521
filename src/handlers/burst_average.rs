//! The burst-averaged product of ANMN and DWM moorings (the reference's MooringsHandler and
//! DwmHandler preprocess, `aodndata/moorings/burst_average.py` on aodntools' `ImosTemplate`):
//! one FV02 file per burst-sampled FV01 file, each burst reduced to its mean, minimum, maximum,
//! standard deviation and number of observations.
//!
//! What the reference does, and this reproduces:
//! - a file is averaged when its name contains `_FV01_`, it has the global attributes
//!   `instrument_burst_interval` and `instrument_burst_duration`, and it has no
//!   `DIST_ALONG_BEAMS` or `HEIGHT_ABOVE_SENSOR` dimension (ADCPs are left alone);
//! - bursts start wherever consecutive `TIME` values are more than `instrument_sample_interval`
//!   (default 1) seconds apart, rounded half to even;
//! - every variable on `TIME` but `TIME`, `VOLT`, `SSPD`, `CNDC`, `SPEC_CNDC` and the
//!   `*_quality_control` variables is averaged; a value takes part when its flag is below 3 (a
//!   missing flag does not exclude it) and its time lies strictly inside
//!   (`time_deployment_start`, `time_deployment_end`); the statistics skip missing values, the
//!   count does not; a burst with nothing left is missing with a count of 0;
//! - the burst time is the mean of the burst's first and last time;
//! - leading bursts missing in every variable are trimmed.
//!
//! The reference's quirks at the end of the series are kept, so that the product is the one the
//! reference publishes: the samples after the last burst start are never averaged, the last
//! averaged burst is then dropped (`[min_index:-1]`), and the trailing trim cuts at the last
//! burst that has a value, leaving that burst out too (`[:last_valid_index]`). A file of
//! `n` complete bursts gives at most `n - 2` bursts.
//!
//! Differences, each for a reason: statistics are computed in double precision and stored in
//! the variable's type (the reference accumulates in the variable's type); the burst gap is
//! measured in the units of `TIME` (the reference assumes days); `lineage` names this program
//! rather than the reference's source file; a file the reference would fail on with a Python
//! exception (no `instrument`, no `units` on a variable, a variable on `TIME` and another
//! dimension, no `<var>_quality_control`, no deployment times) is rejected with the reason.

use std::path::Path;

use chrono::{DateTime, Utc};
use regex::Regex;

use crate::netcdf::{AttrValue, Attribute, NcFile, NcSummary, NcType, NcWriter, VarDef, Variable};

use super::product::{
    Attrs, compact_seconds, imos_global_attributes, iso_seconds, parse_iso_seconds, text,
    time_units, time_value, to_datetime,
};
use super::{Generated, HandlerError};

/// What the product needs besides its input file.
#[derive(Debug, Clone, PartialEq)]
pub struct BurstParams {
    /// The published destination of the input file, recorded in the product's `input_file`
    /// attribute (the reference computes it with the moorings destination rule; the caller
    /// renders its pipeline rule for the input).
    pub input_destination: String,
    /// The product's creation time: `date_created`, the name's `C-` field and `history`.
    pub now: DateTime<Utc>,
}

/// Variables on `TIME` that are never averaged.
const NOT_AVERAGED: &[&str] = &["TIME", "VOLT", "SSPD", "CNDC", "SPEC_CNDC"];
/// Global attributes of the input left out of the product.
const DISPOSED_GLOBALS: &[&str] = &[
    "author",
    "author_email",
    "file_version",
    "file_version_quality_control",
    "quality_control_set",
    "compliance_checker_version",
    "compliance_checker_last_updated",
    "quality_control_log",
];
/// Variable attributes of the input not copied onto the averaged variables.
const DISPOSED_VAR_ATTRS: &[&str] = &[
    "name",
    "long_name",
    "_FillValue",
    "ancillary_variables",
    "ChunkSize",
    "coordinates",
];
const LINEAGE: &str = "The data array in this file has been created by binning (averaging) raw burst data. Each array value is the arithmetic mean of a burst. Length and frequency of the underlying bursts are declared in the global attributes instrument_burst_duration and instrument_burst_interval respectively. Out-of-water data is excised before binning. Points flagged by IMOS QC as 3 and above are excluded from the burst average. Time stamp lays in the middle of the burst. Burst means are calculated from remaining points. Any bursts with no remaining good points after exclusions are assigned FillValue (see variable attributes for value of FillValue).";

fn read_error(name: &str, e: impl std::fmt::Display) -> HandlerError {
    HandlerError::rejected(format!("{name}: cannot read the NetCDF file: {e}"))
}

/// Whether the reference burst-averages this file (see the module header for the rule).
pub fn is_burst_file(path: &Path, name: &str) -> Result<bool, HandlerError> {
    if !name.ends_with(".nc") || !name.contains("_FV01_") {
        return Ok(false);
    }
    let summary = NcFile::open(path)
        .and_then(|f| f.summary())
        .map_err(|e| read_error(name, e))?;
    Ok(summary.global("instrument_burst_interval").is_some()
        && summary.global("instrument_burst_duration").is_some()
        && summary.dimension("DIST_ALONG_BEAMS").is_none()
        && summary.dimension("HEIGHT_ABOVE_SENSOR").is_none())
}

/// The statistics of one variable, one value per burst (`NaN` = missing).
#[derive(Debug, Clone, Default, PartialEq)]
struct BurstStats {
    mean: Vec<f64>,
    min: Vec<f64>,
    max: Vec<f64>,
    sd: Vec<f64>,
    num_obs: Vec<f64>,
}

impl BurstStats {
    fn slice(&mut self, range: std::ops::Range<usize>) {
        for v in [
            &mut self.mean,
            &mut self.min,
            &mut self.max,
            &mut self.sd,
            &mut self.num_obs,
        ] {
            *v = v[range.clone()].to_vec();
        }
    }
}

/// The start index of every burst, and the end of the last averaged one: the samples from the
/// last start on are not averaged (the reference pairs each start with the next).
fn burst_starts(times: &[f64], seconds_per_unit: f64, sample_interval: f64) -> Vec<usize> {
    let mut starts = vec![0];
    for i in 1..times.len() {
        let gap = ((times[i] - times[i - 1]) * seconds_per_unit).round_ties_even();
        if gap > sample_interval {
            starts.push(i);
        }
    }
    starts
}

/// Mean, minimum, maximum and population standard deviation of the values of `idx` that are
/// not missing; `NaN` when none is. A `NaN` that is not a missing value propagates, as in numpy.
fn stats(values: &[f64], idx: &[usize]) -> (f64, f64, f64, f64) {
    let present: Vec<f64> = idx.iter().map(|&i| values[i]).collect();
    let present: Vec<f64> = present.into_iter().filter(|x| !x.is_nan()).collect();
    if present.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN, f64::NAN);
    }
    let n = present.len() as f64;
    let mean = present.iter().sum::<f64>() / n;
    let min = present.iter().copied().fold(f64::INFINITY, f64::min);
    let max = present.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let var = present.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    (mean, min, max, var.sqrt())
}

/// The burst statistics of one variable.
fn average(starts: &[usize], values: &[f64], excluded: &[bool]) -> BurstStats {
    let mut s = BurstStats::default();
    for w in starts.windows(2) {
        let valid: Vec<usize> = (w[0]..w[1]).filter(|&i| !excluded[i]).collect();
        if valid.is_empty() {
            for v in [&mut s.mean, &mut s.min, &mut s.max, &mut s.sd] {
                v.push(f64::NAN);
            }
            s.num_obs.push(0.0);
            continue;
        }
        let (mean, min, max, sd) = stats(values, &valid);
        s.mean.push(mean);
        s.min.push(min);
        s.max.push(max);
        s.sd.push(sd);
        s.num_obs.push(valid.len() as f64);
    }
    s
}

/// The reference's trimming (`trim_timestamps_burst_vars`), quirks included: see the header.
fn trim(times: &mut Vec<f64>, vars: &mut [(String, BurstStats)]) {
    let first_valid = |m: &[f64]| m.iter().position(|x| !x.is_nan()).unwrap_or(0);
    let min_index = vars
        .iter()
        .map(|(_, s)| first_valid(&s.mean))
        .min()
        .unwrap_or(0);
    let end = times.len().saturating_sub(1).max(min_index);
    *times = times[min_index..end].to_vec();
    for (_, s) in vars.iter_mut() {
        s.slice(min_index..end);
    }
    let last_valid = vars
        .iter()
        .filter_map(|(_, s)| s.mean.iter().rposition(|x| !x.is_nan()))
        .max();
    if let Some(cut) = last_valid {
        times.truncate(cut);
        for (_, s) in vars.iter_mut() {
            s.slice(0..cut);
        }
    }
}

/// Text of an attribute as Python's `'{}'.format` prints it, for the attributes extended.
fn attr_text(v: &AttrValue) -> String {
    match v.as_str() {
        Some(s) => s.to_string(),
        None => v.to_json().to_string(),
    }
}

/// Python's `str.lstrip(chars)`.
fn lstrip<'a>(s: &'a str, chars: &str) -> &'a str {
    s.trim_start_matches(|c| chars.contains(c))
}

/// `time.ctime()` of the product's creation (the reference's host clock is UTC in production).
fn ctime(t: DateTime<Utc>) -> String {
    t.format("%a %b %e %H:%M:%S %Y").to_string()
}

/// The product's file name from the input's:
/// `<IMOS_…codes>_<first burst>_<site_code>_FV02_<product>-burst-averaged_END-<last>_C-<now>.nc`.
fn product_name(
    input_name: &str,
    site_code: &str,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<String, HandlerError> {
    let pattern = Regex::new(r"^(IMOS_.*)_([0-9]{8}T[0-9]{6}Z)_(.*)_(FV0[0-9])_(.*)_END")
        .expect("valid pattern");
    let caps = pattern.captures(input_name).ok_or_else(|| {
        HandlerError::rejected(format!(
            "{input_name}: the burst-averaged product is named from the input's name, which must \
             be IMOS_<facility>_<codes>_<yyyymmddThhmmssZ>_<site>_FV0<n>_<product>_END-…"
        ))
    })?;
    Ok(format!(
        "{}_{}_{}_FV02_{}-burst-averaged_END-{}_C-{}.nc",
        &caps[1],
        compact_seconds(first),
        site_code,
        &caps[5],
        compact_seconds(last),
        compact_seconds(now)
    ))
}

fn required_text<'a>(s: &'a NcSummary, name: &str, attr: &str) -> Result<&'a str, HandlerError> {
    s.global_str(attr).ok_or_else(|| {
        HandlerError::rejected(format!(
            "{name}: burst averaging needs the global attribute {attr} (text)"
        ))
    })
}

fn deployment_time(s: &NcSummary, name: &str, attr: &str) -> Result<DateTime<Utc>, HandlerError> {
    let v = required_text(s, name, attr)?;
    parse_iso_seconds(v).ok_or_else(|| {
        HandlerError::rejected(format!(
            "{name}: {attr} '{v}' is not a time of the form YYYY-MM-DDThh:mm:ssZ"
        ))
    })
}

fn write_error(name: &str, e: impl std::fmt::Display) -> HandlerError {
    HandlerError::Internal(format!("writing the burst-averaged product of {name}: {e}"))
}

/// Makes the burst-averaged FV02 product of `input` (named `input_name` in the upload) in
/// `out_dir`. The product is the file the reference publishes `HARVEST_UPLOAD` beside the input.
pub fn burst_average(
    input: &Path,
    input_name: &str,
    out_dir: &Path,
    params: &BurstParams,
) -> Result<Generated, HandlerError> {
    let file = NcFile::open(input).map_err(|e| read_error(input_name, e))?;
    let summary = file.summary().map_err(|e| read_error(input_name, e))?;
    let name = input_name;
    let reject = |msg: String| HandlerError::rejected(format!("{name}: {msg}"));

    let time_var = summary
        .variable("TIME")
        .ok_or_else(|| reject("burst averaging needs a TIME variable".into()))?;
    let units = time_units(name, time_var)?;
    let times = file
        .read_masked(time_var)
        .map_err(|e| read_error(name, e))?;
    if times.iter().any(|t| t.is_nan()) {
        return Err(reject("TIME has missing values".into()));
    }
    let sample_interval = summary
        .global("instrument_sample_interval")
        .map(|v| {
            v.as_f64()
                .ok_or_else(|| reject("instrument_sample_interval is not a number".into()))
        })
        .transpose()?
        .unwrap_or(1.0);
    let starts = burst_starts(&times, units.seconds_per_unit, sample_interval);
    if starts.len() == 1 {
        return Err(reject(
            "no burst was found in the TIME values: the FV01 file is probably already averaged"
                .into(),
        ));
    }
    let deploy_start = time_value(
        &units,
        deployment_time(&summary, name, "time_deployment_start")?,
    );
    let deploy_end = time_value(
        &units,
        deployment_time(&summary, name, "time_deployment_end")?,
    );
    let instrument = required_text(&summary, name, "instrument")?;
    let site_code = required_text(&summary, name, "site_code")?;

    // The variables to average, in file order.
    let mut averaged: Vec<(&Variable, BurstStats)> = Vec::new();
    for var in &summary.variables {
        if !var.dimensions.iter().any(|d| d == "TIME")
            || var.name.ends_with("_quality_control")
            || NOT_AVERAGED.contains(&var.name.as_str())
        {
            continue;
        }
        if var.dimensions.len() != 1 {
            return Err(reject(format!(
                "{} has dimensions ({}); burst averaging takes variables of TIME alone",
                var.name,
                var.dimensions.join(", ")
            )));
        }
        if !var.dtype.is_numeric() {
            return Err(reject(format!("{} is not numeric", var.name)));
        }
        if var.attr("units").is_none() {
            return Err(reject(format!("{} has no units attribute", var.name)));
        }
        let qc_name = format!("{}_quality_control", var.name);
        let qc_var = summary
            .variable(&qc_name)
            .ok_or_else(|| reject(format!("{} has no {qc_name} variable", var.name)))?;
        let values = file.read_masked(var).map_err(|e| read_error(name, e))?;
        let flags = file.read_masked(qc_var).map_err(|e| read_error(name, e))?;
        if values.len() != times.len() || flags.len() != times.len() {
            return Err(reject(format!(
                "{qc_name} is not on TIME like {}",
                var.name
            )));
        }
        let excluded: Vec<bool> = times
            .iter()
            .zip(&flags)
            .map(|(&t, &q)| t <= deploy_start || t >= deploy_end || (!q.is_nan() && q >= 3.0))
            .collect();
        averaged.push((var, average(&starts, &values, &excluded)));
    }
    if averaged.is_empty() {
        return Err(reject("no variable to average".into()));
    }
    let mut burst_times: Vec<f64> = starts
        .windows(2)
        .map(|w| (times[w[0]] + times[w[1] - 1]) / 2.0)
        .collect();
    let mut named: Vec<(String, BurstStats)> = averaged
        .iter()
        .map(|(v, s)| (v.name.clone(), s.clone()))
        .collect();
    trim(&mut burst_times, &mut named);
    if burst_times.is_empty() {
        return Err(reject(
            "no burst is left once the bursts without data are trimmed".into(),
        ));
    }

    // Global attributes: IMOS template, the burst template, then the input's.
    let mut globals = imos_global_attributes();
    globals.set_text("author", "Australian Ocean Data Network (AODN)");
    globals.set_text("author_email", "info@aodn.org.au");
    globals.set_text("file_version", "Level 2 - Derived Products");
    globals.set_text("lineage", LINEAGE);
    let kept: Vec<Attribute> = summary
        .global_attributes
        .iter()
        .filter(|a| !DISPOSED_GLOBALS.contains(&a.name.as_str()))
        .cloned()
        .collect();
    globals.update(&kept);
    let product = if instrument.contains("WQM") {
        "biogeochemical"
    } else if instrument.contains("CTD") {
        "moored CTD"
    } else {
        ""
    };
    globals.set_text(
        "title",
        format!("Burst-averaged {product} measurements at {site_code}"),
    );
    globals.set_text("input_file", params.input_destination.clone());
    globals.set_text("date_created", iso_seconds(params.now));
    let old = |attr: &str| summary.global(attr).map(attr_text).unwrap_or_default();
    globals.set_text(
        "history",
        lstrip(
            &format!("{}. Created {}", old("history"), ctime(params.now)),
            ". ",
        ),
    );
    globals.set_text(
        "abstract",
        lstrip(
            &format!(
                "{}. Data from the bursts have been cleaned and averaged to create this product.",
                old("abstract")
            ),
            ". ",
        ),
    );
    globals.set_text(
        "keywords",
        lstrip(&format!("{}, AVERAGED, BINNED", old("keywords")), ", "),
    );
    let lineage = globals.get("lineage").map(attr_text).unwrap_or_default();
    globals.set_text(
        "lineage",
        format!(
            "{lineage} Product created with ocean-ingest {} (burst_average handler).",
            env!("CARGO_PKG_VERSION")
        ),
    );
    let first = to_datetime(&units, burst_times[0])
        .ok_or_else(|| reject("burst times are out of range".into()))?;
    let last = to_datetime(&units, *burst_times.last().expect("not empty"))
        .ok_or_else(|| reject("burst times are out of range".into()))?;
    globals.set_text("time_coverage_start", iso_seconds(first));
    globals.set_text("time_coverage_end", iso_seconds(last));
    // The vertical extent from the averaged DEPTH, else NOMINAL_DEPTH (the reference's
    // add_extent_attributes and its fallback).
    let depth = named
        .iter()
        .find(|(n, _)| n == "DEPTH")
        .map(|(_, s)| s.mean.clone())
        .filter(|m| m.iter().any(|x| !x.is_nan()))
        .map(|m| ("DEPTH", m));
    let vertical = match depth {
        Some(found) => Some(found),
        None => match summary.variable("NOMINAL_DEPTH") {
            Some(v) if v.shape.is_empty() => Some((
                "NOMINAL_DEPTH",
                file.read_masked(v).map_err(|e| read_error(name, e))?,
            )),
            _ => None,
        },
    };
    let Some((vert_name, vert_values)) = vertical else {
        return Err(reject(
            "the vertical extent needs burst-averaged DEPTH values or a scalar NOMINAL_DEPTH"
                .into(),
        ));
    };
    let vert_type = summary
        .variable(vert_name)
        .map(|v| v.dtype.clone())
        .unwrap_or(NcType::Double);
    let present: Vec<f64> = vert_values.into_iter().filter(|x| !x.is_nan()).collect();
    if present.is_empty() {
        return Err(reject(format!(
            "{vert_name} has no value for the vertical extent"
        )));
    }
    let vmin = present.iter().copied().fold(f64::INFINITY, f64::min);
    let vmax = present.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let num = |x: f64| crate::netcdf::convert_attr(&vert_type, &[x]).expect("numeric");
    globals.set("geospatial_vertical_min", num(vmin));
    globals.set("geospatial_vertical_max", num(vmax));

    let out_name = product_name(name, site_code, first, last, params.now)?;
    let out_path = out_dir.join(&out_name);
    let wname = out_name.as_str();
    let mut w = NcWriter::create(&out_path).map_err(|e| write_error(wname, e))?;
    let n = burst_times.len();
    w.add_dimension("TIME", Some(n))
        .map_err(|e| write_error(wname, e))?;

    // TIME: the template's attributes, then the input's, then the comment.
    let mut time_attrs = Attrs(vec![]);
    for (k, v) in [
        ("standard_name", text("time")),
        ("long_name", text("time")),
        ("units", text("days since 1950-01-01 00:00:00 UTC")),
        ("calendar", text("gregorian")),
        ("axis", text("T")),
        ("valid_min", AttrValue::Double(vec![0.0])),
        ("valid_max", AttrValue::Double(vec![90000.0])),
    ] {
        time_attrs.set(k, v);
    }
    time_attrs.update(&time_var.attributes);
    let time_comment = time_var.attr("comment").map(attr_text).unwrap_or_default();
    time_attrs.set_text(
        "comment",
        lstrip(
            &format!(
                "{time_comment}. Time stamp corresponds to the middle of the burst measurement."
            ),
            ". ",
        ),
    );
    time_attrs.coerce_valid_range(&time_var.dtype);
    let mut defs: Vec<(VarDef, Vec<f64>)> = vec![(
        VarDef {
            name: "TIME".into(),
            dtype: time_var.dtype.clone(),
            dimensions: vec!["TIME".into()],
            fill_value: time_var.attr("_FillValue").and_then(AttrValue::as_f64),
            attributes: time_attrs.metadata(),
            keep_nan: false,
        },
        burst_times.clone(),
    )];

    // Scalar variables, as they are (no fill value, as IMOS wants for coordinates).
    for var in summary.variables.iter().filter(|v| v.dimensions.is_empty()) {
        if !var.dtype.is_numeric() {
            return Err(reject(format!(
                "the scalar variable {} is not numeric and cannot be carried into the product",
                var.name
            )));
        }
        let mut attrs = Attrs(var.attributes.clone());
        attrs.coerce_valid_range(&var.dtype);
        let raw = file
            .read_f64(&var.name, &[], &[])
            .map_err(|e| read_error(name, e))?;
        defs.push((
            VarDef {
                name: var.name.clone(),
                dtype: var.dtype.clone(),
                dimensions: vec![],
                fill_value: None,
                attributes: attrs.metadata(),
                keep_nan: false,
            },
            raw,
        ));
    }

    for ((var, _), (_, s)) in averaged.iter().zip(&named) {
        defs.extend(averaged_variables(var, s));
    }

    for (def, _) in &defs {
        w.add_variable(def).map_err(|e| write_error(wname, e))?;
    }
    for a in &globals.0 {
        w.put_global(a).map_err(|e| write_error(wname, e))?;
    }
    for (def, values) in &defs {
        let written = if def.dimensions.is_empty() {
            w.write_f64(&def.name, &[], &[], values)
        } else {
            w.write_all_f64(&def.name, values, crate::netcdf::DEFAULT_CHUNK)
        };
        written.map_err(|e| write_error(wname, e))?;
    }
    w.finish().map_err(|e| write_error(wname, e))?;
    Ok(Generated {
        path: out_path,
        name: out_name,
    })
}

/// The five variables of one averaged input variable, with the reference's attributes.
fn averaged_variables(var: &Variable, s: &BurstStats) -> Vec<(VarDef, Vec<f64>)> {
    let v = &var.name;
    let fill = var.attr("_FillValue").and_then(AttrValue::as_f64);
    let mut copied = Attrs(
        var.attributes
            .iter()
            .filter(|a| !DISPOSED_VAR_ATTRS.contains(&a.name.as_str()))
            .cloned()
            .collect(),
    );
    let units = var.attr("units").cloned();
    let standard_name = var.attr_str("standard_name").unwrap_or("").to_string();
    let described = var
        .attr("standard_name")
        .or_else(|| var.attr("long_name"))
        .map(attr_text)
        .unwrap_or_default();

    let mut mean = copied.clone();
    copied.remove("comment");
    let mut min = copied.clone();
    let mut max = copied.clone();
    let mut sd = copied;
    sd.remove("standard_name");
    mean.set_text(
        "coordinates",
        var.attr("coordinates").map(attr_text).unwrap_or_default(),
    );
    mean.set_text(
        "ancillary_variables",
        format!("{v}_num_obs {v}_burst_sd {v}_burst_min {v}_burst_max"),
    );
    mean.set_text("cell_methods", "TIME: mean");
    min.set_text("cell_methods", "TIME: minimum");
    max.set_text("cell_methods", "TIME: maximum");
    sd.set_text("cell_methods", "TIME: standard_deviation");
    sd.set_text(
        "long_name",
        "Standard deviation of values in burst, after rejection of flagged data",
    );
    min.set_text(
        "long_name",
        "Minimum data value in burst, after rejection of flagged data",
    );
    max.set_text(
        "long_name",
        "Maximum data value in burst, after rejection of flagged data",
    );
    mean.set_text(
        "long_name",
        format!("Mean of {described} values in burst, after rejection of flagged data"),
    );
    if let Some(u) = units.filter(|u| !u.is_empty()) {
        for a in [&mut mean, &mut min, &mut max, &mut sd] {
            a.set("units", u.clone());
        }
    }
    let mut num_obs = Attrs::default();
    num_obs.set_text(
        "long_name",
        "Number of observations included in the averaging process",
    );
    num_obs.set_text("units", "1");
    if !standard_name.is_empty() {
        num_obs.set_text(
            "standard_name",
            format!("{standard_name} number_of_observations"),
        );
    }
    let def = |suffix: &str, attrs: &mut Attrs, dtype: NcType, fill: Option<f64>| {
        attrs.coerce_valid_range(&dtype);
        VarDef {
            name: format!("{v}{suffix}"),
            dtype,
            dimensions: vec!["TIME".into()],
            fill_value: fill,
            attributes: attrs.metadata(),
            keep_nan: false,
        }
    };
    let t = var.dtype.clone();
    vec![
        (def("", &mut mean, t.clone(), fill), s.mean.clone()),
        (def("_burst_min", &mut min, t.clone(), fill), s.min.clone()),
        (def("_burst_max", &mut max, t.clone(), fill), s.max.clone()),
        (def("_burst_sd", &mut sd, t, fill), s.sd.clone()),
        (
            def("_num_obs", &mut num_obs, NcType::Short, None),
            s.num_obs.clone(),
        ),
    ]
}

#[cfg(test)]
mod tests;
