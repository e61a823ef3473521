//! Harvest metadata from a NetCDF file: feature type, time coverage, geospatial bounds, variables.

use super::{NcError, NcFile, NcSummary, Variable, parse_time_units};
use crate::model::FileMetadata;

/// Extracts what the index records about a file. Coverage and bounds come from the coordinate
/// values when the file has them (the data is the truth), else from the global attributes.
pub fn extract_metadata(file: &NcFile, summary: &NcSummary) -> Result<FileMetadata, NcError> {
    let mut meta = FileMetadata {
        feature_type: summary.global_str("featureType").map(str::to_string),
        variables: summary.variables.iter().map(|v| v.name.clone()).collect(),
        attributes: summary.globals_json(),
        ..FileMetadata::default()
    };

    if let Some(time) = find_coordinate(summary, "time", &["TIME", "time", "JULD"], "T")
        && let Some(units) = time.attr_str("units").and_then(parse_time_units)
        && let Some((lo, hi)) = value_range(file, time)?
    {
        meta.time_start = units.to_datetime(lo).map(iso);
        meta.time_end = units.to_datetime(hi).map(iso);
    }
    if meta.time_start.is_none() {
        meta.time_start = summary
            .global_str("time_coverage_start")
            .map(str::to_string);
        meta.time_end = summary.global_str("time_coverage_end").map(str::to_string);
    }

    if let Some(lat) = find_coordinate(
        summary,
        "latitude",
        &["LATITUDE", "latitude", "lat", "LAT"],
        "Y",
    ) && let Some((lo, hi)) = value_range(file, lat)?
    {
        meta.lat_min = Some(lo);
        meta.lat_max = Some(hi);
    }
    if let Some(lon) = find_coordinate(
        summary,
        "longitude",
        &["LONGITUDE", "longitude", "lon", "LON"],
        "X",
    ) && let Some((lo, hi)) = value_range(file, lon)?
    {
        meta.lon_min = Some(lo);
        meta.lon_max = Some(hi);
    }
    let global = |name: &str| summary.global(name).and_then(|v| v.as_f64());
    meta.lat_min = meta.lat_min.or_else(|| global("geospatial_lat_min"));
    meta.lat_max = meta.lat_max.or_else(|| global("geospatial_lat_max"));
    meta.lon_min = meta.lon_min.or_else(|| global("geospatial_lon_min"));
    meta.lon_max = meta.lon_max.or_else(|| global("geospatial_lon_max"));
    Ok(meta)
}

fn iso(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The coordinate variable for a quantity: by standard name, then by usual names, then by axis.
fn find_coordinate<'a>(
    summary: &'a NcSummary,
    standard_name: &str,
    names: &[&str],
    axis: &str,
) -> Option<&'a Variable> {
    let numeric = |v: &&Variable| v.dtype.is_numeric();
    summary
        .variables
        .iter()
        .filter(numeric)
        .find(|v| v.attr_str("standard_name") == Some(standard_name))
        .or_else(|| {
            names
                .iter()
                .find_map(|n| summary.variable(n).filter(numeric))
        })
        .or_else(|| {
            summary
                .variables
                .iter()
                .filter(numeric)
                .find(|v| v.attr_str("axis") == Some(axis))
        })
}

/// Minimum and maximum of the valid values (fill and missing values and NaN excluded), read in
/// bounded chunks.
fn value_range(file: &NcFile, var: &Variable) -> Result<Option<(f64, f64)>, NcError> {
    let mut skip: Vec<f64> = Vec::new();
    for name in ["_FillValue", "missing_value"] {
        if let Some(values) = var.attr(name).and_then(|v| v.as_f64s()) {
            skip.extend(values);
        }
    }
    let mut range: Option<(f64, f64)> = None;
    file.for_each_chunk(&var.name, super::DEFAULT_CHUNK, |values| {
        for &x in values {
            if !x.is_finite() || skip.contains(&x) || x.abs() >= 9.9e36 {
                continue;
            }
            range = Some(match range {
                None => (x, x),
                Some((lo, hi)) => (lo.min(x), hi.max(x)),
            });
        }
    })?;
    Ok(range)
}
