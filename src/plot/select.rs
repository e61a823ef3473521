//! Which variable of a NetCDF file a quick look shows, against which coordinate: a pure choice over
//! the file's header, so it is tested without files.

use crate::netcdf::{CfTimeUnits, NcSummary, Variable, parse_time_units};

/// The two feature types a quick look is drawn for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Values against time (CF featureType `timeSeries`).
    TimeSeries,
    /// Values against depth or pressure, drawn downward (CF featureType `profile`).
    Profile,
}

/// What to draw: the data variable and the coordinate it runs along (both 1-D, same dimension).
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub kind: Kind,
    pub data: String,
    pub axis: String,
    /// The data variable's label: long name (or standard name) and units.
    pub data_label: String,
    /// The coordinate's label, e.g. `depth (m)`.
    pub axis_label: String,
    /// For a time series, how to turn the time values into instants.
    pub time_units: Option<CfTimeUnits>,
}

/// Standard names of coordinates and of vertical positions: never the "main" variable.
const COORDINATE_NAMES: &[&str] = &[
    "time",
    "latitude",
    "longitude",
    "depth",
    "height",
    "altitude",
    "sea_floor_depth_below_sea_surface",
];

/// Chooses what a quick look of this file shows, or `None` when the file is neither a time series
/// nor a profile, or has no 1-D data variable with a standard name along its coordinate.
pub fn choose(summary: &NcSummary) -> Option<Choice> {
    let feature = summary
        .global_str("featureType")
        .map(|f| f.trim().to_ascii_lowercase());
    match feature.as_deref() {
        Some("timeseries") => time_series(summary),
        Some("profile") => profile(summary),
        // Trajectories, grids and the rest need maps, not a line.
        Some(_) => None,
        // No feature type: whichever coordinate the file has.
        None => time_series(summary).or_else(|| profile(summary)),
    }
}

fn time_series(summary: &NcSummary) -> Option<Choice> {
    let (axis, units) = one_d(summary)
        .filter(|v| {
            v.attr_str("standard_name") == Some("time")
                || v.attr_str("axis") == Some("T")
                || matches!(v.name.as_str(), "TIME" | "time")
        })
        .find_map(|v| {
            v.attr_str("units")
                .and_then(parse_time_units)
                .map(|u| (v, u))
        })?;
    let data = main_variable(summary, axis)?;
    Some(Choice {
        kind: Kind::TimeSeries,
        data: data.name.clone(),
        axis: axis.name.clone(),
        data_label: label(data),
        axis_label: "time (UTC)".into(),
        time_units: Some(units),
    })
}

fn profile(summary: &NcSummary) -> Option<Choice> {
    let vertical = |v: &&Variable| {
        let sn = v.attr_str("standard_name").unwrap_or_default();
        sn == "depth"
            || sn.starts_with("sea_water_pressure")
            || v.attr_str("axis") == Some("Z")
            || matches!(v.name.as_str(), "DEPTH" | "depth" | "PRES" | "PRES_REL")
    };
    // Depth reads better than pressure when a file has both.
    let candidates: Vec<&Variable> = one_d(summary).filter(vertical).collect();
    let axis = candidates
        .iter()
        .find(|v| v.attr_str("standard_name") == Some("depth"))
        .or_else(|| candidates.first())?;
    let data = main_variable(summary, axis)?;
    Some(Choice {
        kind: Kind::Profile,
        data: data.name.clone(),
        axis: axis.name.clone(),
        data_label: label(data),
        axis_label: label(axis),
        time_units: None,
    })
}

fn one_d(summary: &NcSummary) -> impl Iterator<Item = &Variable> {
    summary
        .variables
        .iter()
        .filter(|v| v.dtype.is_numeric() && v.dimensions.len() == 1 && !v.is_empty())
}

/// The first data variable along the axis's dimension that has a standard name and is neither a
/// coordinate, a quality flag nor another variable's ancillary; pressure only when nothing else is.
fn main_variable<'a>(summary: &'a NcSummary, axis: &Variable) -> Option<&'a Variable> {
    let ancillary: Vec<&str> = summary
        .variables
        .iter()
        .filter_map(|v| v.attr_str("ancillary_variables"))
        .flat_map(str::split_whitespace)
        .collect();
    let candidates: Vec<&Variable> = one_d(summary)
        .filter(|v| v.name != axis.name && v.dimensions == axis.dimensions)
        .filter(|v| {
            let sn = v.attr_str("standard_name").unwrap_or_default();
            !sn.is_empty()
                && !COORDINATE_NAMES.contains(&sn)
                && !sn.ends_with("status_flag")
                && v.attr("axis").is_none()
                && v.attr("flag_values").is_none()
                && v.attr("flag_meanings").is_none()
                && !v.name.ends_with("_quality_control")
                && !ancillary.contains(&v.name.as_str())
        })
        .collect();
    let pressure = |v: &&&Variable| {
        v.attr_str("standard_name")
            .is_some_and(|s| s.starts_with("sea_water_pressure"))
    };
    candidates
        .iter()
        .find(|v| !pressure(v))
        .or_else(|| candidates.first())
        .copied()
}

/// `long name (units)`, with the standard name or the variable name when there is no long name.
fn label(v: &Variable) -> String {
    let name = v
        .attr_str("long_name")
        .or_else(|| v.attr_str("standard_name"))
        .unwrap_or(&v.name)
        .replace('_', " ");
    match v.attr_str("units").map(str::trim).filter(|u| !u.is_empty()) {
        Some(units) => format!("{name} ({})", short_units(units)),
        None => name,
    }
}

/// Units as a reader writes them (`degrees_Celsius` → `°C`); others with spaces for underscores.
fn short_units(units: &str) -> String {
    match units {
        "degrees_Celsius" | "degree_Celsius" | "Celsius" | "celsius" | "degC" => "°C".into(),
        "degrees_north" | "degree_north" => "°N".into(),
        "degrees_east" | "degree_east" => "°E".into(),
        "1" => "1".into(),
        other => other.replace('_', " "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netcdf::{AttrValue, Attribute, NcType};

    fn var(name: &str, dims: &[&str], attrs: &[(&str, &str)]) -> Variable {
        Variable {
            name: name.into(),
            dtype: NcType::Float,
            dimensions: dims.iter().map(|d| d.to_string()).collect(),
            shape: dims.iter().map(|_| 10).collect(),
            attributes: attrs
                .iter()
                .map(|(k, v)| Attribute {
                    name: k.to_string(),
                    value: AttrValue::Text(v.to_string()),
                })
                .collect(),
        }
    }

    fn summary(feature: Option<&str>, variables: Vec<Variable>) -> NcSummary {
        NcSummary {
            format: "netcdf4".into(),
            dimensions: vec![],
            variables,
            global_attributes: feature
                .map(|f| Attribute {
                    name: "featureType".into(),
                    value: AttrValue::Text(f.into()),
                })
                .into_iter()
                .collect(),
            groups: vec![],
        }
    }

    const TIME_UNITS: (&str, &str) = ("units", "days since 1950-01-01 00:00:00 UTC");

    #[test]
    fn a_mooring_time_series_shows_temperature_not_its_depth_or_flags() {
        let s = summary(
            Some("timeSeries"),
            vec![
                var(
                    "DEPTH",
                    &["TIME"],
                    &[("standard_name", "depth"), ("units", "m")],
                ),
                var(
                    "DEPTH_quality_control",
                    &["TIME"],
                    &[("standard_name", "depth status_flag")],
                ),
                var("NOMINAL_DEPTH", &[], &[("standard_name", "depth")]),
                var(
                    "TEMP",
                    &["TIME"],
                    &[
                        ("standard_name", "sea_water_temperature"),
                        ("long_name", "sea_water_temperature"),
                        ("units", "degrees_Celsius"),
                        ("ancillary_variables", "TEMP_quality_control"),
                    ],
                ),
                var("TIME", &["TIME"], &[("standard_name", "time"), TIME_UNITS]),
            ],
        );
        let c = choose(&s).unwrap();
        assert_eq!(c.kind, Kind::TimeSeries);
        assert_eq!((c.data.as_str(), c.axis.as_str()), ("TEMP", "TIME"));
        assert_eq!(c.data_label, "sea water temperature (°C)");
        assert!(c.time_units.is_some());
    }

    #[test]
    fn a_ctd_profile_shows_temperature_against_depth_not_pressure() {
        let s = summary(
            Some("profile"),
            vec![
                var(
                    "DEPTH",
                    &["DEPTH"],
                    &[("standard_name", "depth"), ("units", "m"), ("axis", "Z")],
                ),
                var(
                    "PRES_REL",
                    &["DEPTH"],
                    &[("standard_name", "sea_water_pressure_due_to_sea_water")],
                ),
                var(
                    "TEMP",
                    &["DEPTH"],
                    &[("standard_name", "sea_water_temperature")],
                ),
            ],
        );
        let c = choose(&s).unwrap();
        assert_eq!(c.kind, Kind::Profile);
        assert_eq!((c.data.as_str(), c.axis.as_str()), ("TEMP", "DEPTH"));
        assert_eq!(c.axis_label, "depth (m)");
    }

    #[test]
    fn pressure_is_shown_when_it_is_all_the_file_has() {
        let s = summary(
            None,
            vec![
                var(
                    "PRES",
                    &["TIME"],
                    &[("standard_name", "sea_water_pressure"), ("units", "dbar")],
                ),
                var("TIME", &["TIME"], &[("axis", "T"), TIME_UNITS]),
            ],
        );
        let c = choose(&s).unwrap();
        assert_eq!((c.kind, c.data.as_str()), (Kind::TimeSeries, "PRES"));
    }

    #[test]
    fn nothing_is_chosen_for_other_features_or_without_a_plottable_variable() {
        let trajectory = summary(
            Some("trajectory"),
            vec![
                var(
                    "TEMP",
                    &["TIME"],
                    &[("standard_name", "sea_water_temperature")],
                ),
                var("TIME", &["TIME"], &[("standard_name", "time"), TIME_UNITS]),
            ],
        );
        assert_eq!(choose(&trajectory), None);
        // 2-D data, a variable without a standard name, time without CF units.
        let unplottable = summary(
            Some("timeSeries"),
            vec![
                var(
                    "TEMP",
                    &["TIME", "DEPTH"],
                    &[("standard_name", "sea_water_temperature")],
                ),
                var("SPEED", &["TIME"], &[("long_name", "speed")]),
                var("TIME", &["TIME"], &[("standard_name", "time"), TIME_UNITS]),
            ],
        );
        assert_eq!(choose(&unplottable), None);
        let no_units = summary(
            Some("timeSeries"),
            vec![
                var(
                    "TEMP",
                    &["TIME"],
                    &[("standard_name", "sea_water_temperature")],
                ),
                var("TIME", &["TIME"], &[("standard_name", "time")]),
            ],
        );
        assert_eq!(choose(&no_units), None);
    }
}
