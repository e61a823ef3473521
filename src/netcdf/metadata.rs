//! Harvest metadata from a NetCDF file: feature type, time coverage, geospatial bounds, variables.

use std::any::Any;
use std::sync::Arc;

use super::memo::{Fold, ValueMemo, downcast};
use super::{NcError, NcFile, NcSummary, Variable, parse_time_units};
use crate::model::FileMetadata;

/// A coordinate's smallest and largest valid value, if it has any.
type Range = Option<(f64, f64)>;

/// The key of the coordinates' value ranges in a file's [`ValueMemo`].
const RANGE: &str = "metadata-range";

/// Extracts what the index records about a file. Coverage and bounds come from the coordinate
/// values when the file has them (the data is the truth), else from the global attributes.
pub fn extract_metadata(file: &NcFile, summary: &NcSummary) -> Result<FileMetadata, NcError> {
    extract(summary, &mut |var| value_range(file, var))
}

/// Registers the coordinates whose value ranges [`extract_metadata_shared`] takes from a file's
/// memo, so they come from the one read every reader of the file shares.
pub fn share_ranges(memo: &mut ValueMemo) {
    let names: Vec<String> = coordinates(memo.header()).map(|v| v.name.clone()).collect();
    memo.fold(
        RANGE,
        Box::new(move |var| {
            names
                .contains(&var.name)
                .then(|| Ok(Box::new(RangeFold::new(var)) as Box<dyn Fold>))
        }),
    );
}

/// [`extract_metadata`] over a file's memo (with [`share_ranges`] registered).
pub fn extract_metadata_shared(memo: &ValueMemo) -> Result<FileMetadata, NcError> {
    extract(memo.header(), &mut |var| match memo.summary(var, RANGE) {
        Some(range) => downcast::<Option<(f64, f64)>>(range)
            .map(|r| r.and_then(|r| *r))
            .map_err(|detail| NcError::Read {
                path: memo.file().path().to_path_buf(),
                what: format!("variable {}", var.name),
                detail,
            }),
        None => value_range(memo.file(), var),
    })
}

/// A coordinate's range, read on its own.
fn value_range(file: &NcFile, var: &Variable) -> Result<Option<(f64, f64)>, NcError> {
    let mut fold = RangeFold::new(var);
    file.for_each_chunk(&var.name, super::DEFAULT_CHUNK, |values| fold.feed(values))?;
    Ok(fold.range)
}

/// The time, latitude and longitude coordinates whose values bound the file.
fn coordinates(summary: &NcSummary) -> impl Iterator<Item = &Variable> {
    [
        find_coordinate(summary, "time", &["TIME", "time", "JULD"], "T"),
        find_coordinate(
            summary,
            "latitude",
            &["LATITUDE", "latitude", "lat", "LAT"],
            "Y",
        ),
        find_coordinate(
            summary,
            "longitude",
            &["LONGITUDE", "longitude", "lon", "LON"],
            "X",
        ),
    ]
    .into_iter()
    .flatten()
}

fn extract(
    summary: &NcSummary,
    value_range: &mut dyn FnMut(&Variable) -> Result<Range, NcError>,
) -> Result<FileMetadata, NcError> {
    let mut meta = FileMetadata {
        feature_type: summary.global_str("featureType").map(str::to_string),
        variables: summary.variables.iter().map(|v| v.name.clone()).collect(),
        attributes: summary.globals_json(),
        ..FileMetadata::default()
    };

    if let Some(time) = find_coordinate(summary, "time", &["TIME", "time", "JULD"], "T")
        && let Some(units) = time.attr_str("units").and_then(parse_time_units)
        && let Some((lo, hi)) = value_range(time)?
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
    ) && let Some((lo, hi)) = value_range(lat)?
    {
        meta.lat_min = Some(lo);
        meta.lat_max = Some(hi);
    }
    if let Some(lon) = find_coordinate(
        summary,
        "longitude",
        &["LONGITUDE", "longitude", "lon", "LON"],
        "X",
    ) && let Some((lo, hi)) = value_range(lon)?
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

/// Minimum and maximum of the valid values (fill and missing values and NaN excluded), fed in
/// bounded chunks.
struct RangeFold {
    skip: Vec<f64>,
    range: Option<(f64, f64)>,
}

impl RangeFold {
    fn new(var: &Variable) -> RangeFold {
        let mut skip: Vec<f64> = Vec::new();
        for name in ["_FillValue", "missing_value"] {
            if let Some(values) = var.attr(name).and_then(|v| v.as_f64s()) {
                skip.extend(values);
            }
        }
        RangeFold { skip, range: None }
    }
}

impl Fold for RangeFold {
    fn feed(&mut self, values: &[f64]) {
        // The running range in two registers; INFINITY.min(x) is x, so starting there gives
        // the range a fold from the first valid value gives.
        let (mut lo, mut hi) = self.range.unwrap_or((f64::INFINITY, f64::NEG_INFINITY));
        let mut any = self.range.is_some();
        for &x in values {
            if !x.is_finite() || x.abs() >= 9.9e36 || self.skip.contains(&x) {
                continue;
            }
            lo = lo.min(x);
            hi = hi.max(x);
            any = true;
        }
        self.range = any.then_some((lo, hi));
    }

    fn finish(self: Box<Self>) -> Arc<dyn Any + Send + Sync> {
        Arc::new(self.range)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netcdf::{AttrValue, Attribute, NcType};

    #[test]
    fn a_range_skips_fill_missing_and_non_finite_values_across_chunks() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};
        let var = Variable {
            name: "TIME".into(),
            dtype: NcType::Double,
            dimensions: vec!["TIME".into()],
            shape: vec![0],
            attributes: vec![
                Attribute {
                    name: "_FillValue".into(),
                    value: AttrValue::Double(vec![-9.0]),
                },
                Attribute {
                    name: "missing_value".into(),
                    value: AttrValue::Double(vec![99.0]),
                },
            ],
        };
        let value = prop::sample::select(vec![
            -9.0,
            99.0,
            -0.0,
            0.0,
            1.5,
            -3.0,
            1e37,
            f64::NAN,
            f64::INFINITY,
        ]);
        let case = (prop::collection::vec(value, 0..30), 1usize..6);
        let mut runner = TestRunner::new(Config {
            cases: 1000,
            ..Config::default()
        });
        runner
            .run(&case, |(values, piece)| {
                // The range one value at a time, as its definition reads.
                let mut want: Option<(f64, f64)> = None;
                for &x in &values {
                    if x.is_finite() && x != -9.0 && x != 99.0 && x.abs() < 9.9e36 {
                        want = Some(match want {
                            None => (x, x),
                            Some((lo, hi)) => (lo.min(x), hi.max(x)),
                        });
                    }
                }
                let mut fold = Box::new(RangeFold::new(&var));
                values.chunks(piece).for_each(|c| fold.feed(c));
                let bits = |r: Option<(f64, f64)>| r.map(|(a, b)| (a.to_bits(), b.to_bits()));
                prop_assert_eq!(bits(fold.range), bits(want), "{:?}", values);
                Ok(())
            })
            .unwrap();
    }
}
