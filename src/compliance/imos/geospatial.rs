//! Rules tying the global extent attributes (`geospatial_*`, `time_coverage_*`) to the data.

use super::attrs::{
    Expected, Present, Target, TypeWanted, attribute_type_ok, check_attribute, check_present,
};
use super::model::{Model, vertical_variables};
use super::values::{isclose, masked};
use super::{pyattr, time, units};
use crate::compliance::{CheckResult, Dataset, Priority};
use crate::netcdf::AttrValue;

/// The type test and, when it passes, the attribute's value.
fn typed_global<'a>(
    ds: &Dataset<'a>,
    attr: &str,
    wanted: TypeWanted<'_>,
    message: &str,
) -> (CheckResult, Option<&'a AttrValue>) {
    let present = check_present(ds.summary, Present::Global(attr), attr, Priority::High);
    let Some(value) = ds.summary.global(attr) else {
        return (present, None);
    };
    let ok = attribute_type_ok(attr, value, &wanted, false);
    (
        CheckResult::test(attr, Priority::High, ok, message),
        ok.then_some(value),
    )
}

/// Min/max of a horizontal coordinate against its global attributes (`check_geospatial_lat_min_max`,
/// `check_geospatial_lon_min_max`). Nothing is checked when the variable is absent.
fn horizontal_min_max(
    ds: &Dataset<'_>,
    var_name: &str,
    min_attr: &str,
    max_attr: &str,
) -> Result<Vec<CheckResult>, String> {
    let Some(var) = ds.variable(var_name) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let mut values = None;
    for (attr, is_min) in [(min_attr, true), (max_attr, false)] {
        let (result, value) = typed_global(
            ds,
            attr,
            TypeWanted::Numeric,
            "Attribute type is not numeric",
        );
        out.push(result);
        let Some(value) = value.and_then(pyattr::scalar) else {
            continue;
        };
        // Read once, and only when an attribute is there to compare with.
        let m = match values {
            Some(m) => m,
            None => *values.insert(masked(ds, var)?),
        };
        let observed = if is_min { m.min } else { m.max };
        let observed = observed.ok_or_else(|| {
            format!(
                "{var_name} has no unmasked values to compare with {attr}, and the reference's \
                 comparison with a masked value raises"
            )
        })?;
        let word = if is_min { "Minimum" } else { "Maximum" };
        out.push(CheckResult::test(
            attr,
            Priority::High,
            isclose(observed, value),
            format!("{word} value of {var_name} ({observed}) does not match attributes ({value})."),
        ));
    }
    Ok(out)
}

/// `check_geospatial_lat_min_max`.
pub fn lat_min_max(ds: &Dataset<'_>, _: &Model<'_>) -> Result<Vec<CheckResult>, String> {
    horizontal_min_max(ds, "LATITUDE", "geospatial_lat_min", "geospatial_lat_max")
}

/// `check_geospatial_lon_min_max`.
pub fn lon_min_max(ds: &Dataset<'_>, _: &Model<'_>) -> Result<Vec<CheckResult>, String> {
    horizontal_min_max(ds, "LONGITUDE", "geospatial_lon_min", "geospatial_lon_max")
}

/// `check_geospatial_vertical_min_max`: in discrete-sampling-geometry files (`featureType`), the
/// vertical extent attributes must match the range of some vertical variable (sign-flipped when
/// its `positive` disagrees with `geospatial_vertical_positive`).
pub fn vertical_min_max(ds: &Dataset<'_>, m: &Model<'_>) -> Result<Vec<CheckResult>, String> {
    let vert_vars = vertical_variables(m)?;
    let vert_min = ds.global("geospatial_vertical_min");
    let vert_max = ds.global("geospatial_vertical_max");
    let vert_pos = ds.global("geospatial_vertical_positive");
    if ds.global("featureType").is_none() {
        return Ok(Vec::new());
    }
    if vert_vars.is_empty() {
        if vert_min.is_none() && vert_max.is_none() {
            return Ok(Vec::new());
        }
        return Ok(vec![CheckResult::test(
            "geospatial_vertical_min/max",
            Priority::Medium,
            false,
            "Could not find vertical variable to check values of global attributes \
             'geospatial_vertical_min/max'.",
        )]);
    }
    let mut out = Vec::new();
    let mut bounds = Vec::new();
    for attr in ["geospatial_vertical_min", "geospatial_vertical_max"] {
        let (result, value) = typed_global(
            ds,
            attr,
            TypeWanted::Numeric,
            &format!("Attribute {attr} should have numeric type"),
        );
        out.push(result);
        bounds.push(value.and_then(pyattr::scalar));
    }
    let (Some(vmin), Some(vmax)) = (bounds[0], bounds[1]) else {
        return Ok(out);
    };
    let mut observed = Vec::new();
    for (var, _) in &vert_vars {
        let m = masked(ds, var)?;
        if m.unmasked == 0 {
            continue;
        }
        let var_pos = var.attr("positive");
        let flip = match (vert_pos, var_pos) {
            (Some(g), Some(v)) => {
                pyattr::py_truthy(g)? && pyattr::py_truthy(v)? && !same_value(g, v)
            }
            _ => false,
        };
        let (lo, hi) = (m.min.unwrap_or(f64::NAN), m.max.unwrap_or(f64::NAN));
        observed.push(if flip { (-hi, -lo) } else { (lo, hi) });
    }
    let min_pass = observed.iter().any(|(lo, _)| isclose(vmin, *lo));
    let max_pass = observed.iter().any(|(_, hi)| isclose(vmax, *hi));
    out.push(CheckResult::test(
        "geospatial_vertical_min",
        Priority::High,
        min_pass,
        format!(
            "Global attribute 'geospatial_vertical_min' ({vmin}) doesn't match minimum value of \
             any vertical variable."
        ),
    ));
    out.push(CheckResult::test(
        "geospatial_vertical_max",
        Priority::High,
        max_pass,
        format!(
            "Global attribute 'geospatial_vertical_max' ({vmax}) doesn't match maximum value of \
             any vertical variable."
        ),
    ));
    Ok(out)
}

/// Python's `a != b` negated for two attribute values, as far as `positive` needs it.
fn same_value(a: &AttrValue, b: &AttrValue) -> bool {
    match (pyattr::as_str(a), pyattr::as_str(b)) {
        (Some(x), Some(y)) => x == y,
        (None, None) => a == b,
        _ => false,
    }
}

/// `check_geospatial_vertical_positive` (IMOS 1.4): a DSG file with any vertical information
/// must say which way is positive.
pub fn vertical_positive(ds: &Dataset<'_>, m: &Model<'_>) -> Result<Vec<CheckResult>, String> {
    let vert_vars = vertical_variables(m)?;
    let has_vertical = !vert_vars.is_empty()
        || ds.global("geospatial_vertical_min").is_some()
        || ds.global("geospatial_vertical_max").is_some();
    if ds.global("featureType").is_none() || !has_vertical {
        return Ok(Vec::new());
    }
    Ok(check_attribute(
        "geospatial_vertical_positive",
        &Expected::NonEmpty,
        Target::Global(ds.summary),
        Priority::High,
        false,
    )?
    .into_iter()
    .collect())
}

/// `check_geospatial_vertical_units`: when present, a unit of length.
pub fn vertical_units(ds: &Dataset<'_>, _: &Model<'_>) -> Result<Vec<CheckResult>, String> {
    let Some(value) = ds.global("geospatial_vertical_units") else {
        return Ok(Vec::new());
    };
    Ok(vec![CheckResult::test(
        "geospatial_vertical_units",
        Priority::High,
        units::convertible_to_meter(value),
        "Global attribute 'geospatial_vertical_units' should be a valid CF depth unit.",
    )])
}

const DATE_FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";

/// `check_time_coverage`: `time_coverage_start`/`_end` are timestamps close to the first and
/// last TIME values. Nothing is checked without a TIME variable.
pub fn time_coverage(ds: &Dataset<'_>, _: &Model<'_>) -> Result<Vec<CheckResult>, String> {
    let Some(time_var) = ds.variable("TIME") else {
        return Ok(Vec::new());
    };
    let values = masked(ds, time_var)?;
    if values.len == 0 {
        return Err("the TIME variable is empty; the reference's minimum of it raises".into());
    }
    let units = time_var.attr("units");
    // Read only when a date is placed on the axis: the reference fails there, not before.
    let calendar = || match time_var.attr("calendar") {
        None => Ok("gregorian"),
        Some(v) => pyattr::as_str(v).ok_or("the TIME variable's calendar is not text"),
    };
    let mut out = Vec::new();
    for (attr, is_start) in [("time_coverage_start", true), ("time_coverage_end", false)] {
        let (result, value) =
            typed_global(ds, attr, TypeWanted::Str, "Attribute type is not string.");
        let Some(text) = value.and_then(pyattr::as_str) else {
            out.push(result);
            continue;
        };
        let Some(date) = time::strptime_iso(text) else {
            out.push(CheckResult::test(
                attr,
                Priority::High,
                false,
                format!("Attribute {attr} is not in correct date/time format ({DATE_FORMAT})."),
            ));
            continue;
        };
        out.push(CheckResult::test(attr, Priority::High, true, ""));
        let units = units
            .and_then(pyattr::as_str)
            .ok_or("the TIME variable has no text units, so dates cannot be placed on it")?;
        let on_axis = time::date2num(date, units, calendar()?)?;
        let observed = if is_start { values.min } else { values.max };
        let observed = observed.ok_or(
            "TIME has no unmasked values; the reference's comparison with a masked value raises",
        )?;
        let bound = if is_start { "minimum" } else { "maximum" };
        out.push(CheckResult::test(
            attr,
            Priority::High,
            isclose(observed, on_axis),
            format!(
                "Global attribute '{attr}' ({text}) doesn't match the {bound} value of the TIME \
                 variable ({observed} {units})."
            ),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{
        expect, good_with, groups, groups_1_3_and_1_4, replace_line, run_rule,
    };
    use super::super::{Imos13, Imos14};
    use crate::compliance::Priority::{High, Medium};

    #[test]
    fn horizontal_extent_attributes_match_the_coordinates() {
        let good = good_with(|_| {});
        assert_eq!(
            groups(&Imos14, "check_geospatial_lat_min_max", &good),
            expect(&[
                ("geospatial_lat_max", High, 2, 2),
                ("geospatial_lat_min", High, 2, 2)
            ])
        );
        let bad = good_with(|(_, _, g, _)| {
            // Within numpy's isclose tolerance (1e-5 relative) passes; beyond fails.
            replace_line(
                g,
                ":geospatial_lon_min = 151.25 ;",
                ":geospatial_lon_min = 151.2505 ;",
            );
            replace_line(
                g,
                ":geospatial_lon_max = 151.25 ;",
                ":geospatial_lon_max = 151.3 ;",
            );
            replace_line(
                g,
                ":geospatial_lat_min = -33.5 ;",
                r#":geospatial_lat_min = "-33.5" ;"#,
            );
            replace_line(g, ":geospatial_lat_max = -33.5 ;", "");
        });
        assert_eq!(
            groups(&Imos14, "check_geospatial_lon_min_max", &bad),
            expect(&[
                ("geospatial_lon_max", High, 1, 2),
                ("geospatial_lon_min", High, 2, 2)
            ])
        );
        assert_eq!(
            groups(&Imos13, "check_geospatial_lat_min_max", &bad),
            expect(&[
                ("geospatial_lat_max", High, 0, 1),
                ("geospatial_lat_min", High, 0, 1)
            ])
        );
        let no_latitude = good_with(|(_, v, _, x)| {
            *v = v
                .replace("double LATITUDE ;", "double LAT ;")
                .replace("LATITUDE:", "LAT:");
            *x = x.replace("LATITUDE =", "LAT =");
        });
        assert!(groups(&Imos14, "check_geospatial_lat_min_max", &no_latitude).is_empty());
    }

    #[test]
    fn vertical_extent_matches_some_vertical_variable_in_dsg_files() {
        const RULE: &str = "check_geospatial_vertical_min_max";
        let good = good_with(|_| {});
        assert_eq!(
            groups(&Imos14, RULE, &good),
            expect(&[
                ("geospatial_vertical_max", High, 2, 2),
                ("geospatial_vertical_min", High, 2, 2)
            ])
        );
        // Heights against a depth-positive extent are compared with their sign flipped.
        let height = good_with(|(_, v, g, _)| {
            v.push_str(concat!(
                "\n  float HEIGHT ;\n    HEIGHT:positive = \"up\" ;",
                "\n    HEIGHT:long_name = \"height\" ;"
            ));
            replace_line(
                g,
                ":geospatial_vertical_min = 20. ;",
                ":geospatial_vertical_min = -7. ;",
            );
            replace_line(
                g,
                ":geospatial_vertical_max = 20. ;",
                ":geospatial_vertical_max = -7. ;",
            );
        });
        let height = height.replace("data:\n", "data:\n  HEIGHT = 7 ;\n");
        assert_eq!(
            groups(&Imos14, RULE, &height),
            expect(&[
                ("geospatial_vertical_max", High, 2, 2),
                ("geospatial_vertical_min", High, 2, 2)
            ])
        );
        let wrong = good_with(|(_, _, g, _)| {
            replace_line(
                g,
                ":geospatial_vertical_max = 20. ;",
                ":geospatial_vertical_max = 25. ;",
            );
        });
        assert_eq!(
            groups(&Imos14, RULE, &wrong)[&("geospatial_vertical_max".to_string(), High)],
            (1, 2)
        );
        // Not a discrete sampling geometry: nothing to check.
        let gridded = good_with(|(_, _, g, _)| {
            replace_line(g, r#":featureType = "timeSeries" ;"#, "");
            replace_line(
                g,
                ":geospatial_vertical_max = 20. ;",
                ":geospatial_vertical_max = 25. ;",
            );
        });
        assert!(groups(&Imos14, RULE, &gridded).is_empty());
        let no_vertical = good_with(|(_, v, _, x)| {
            *v = v
                .replace("double NOMINAL_DEPTH ;", "double NOMINAL_Z ;")
                .replace("NOMINAL_DEPTH:", "NOMINAL_Z:")
                .replace(" NOMINAL_DEPTH\"", " NOMINAL_Z\"");
            replace_line(v, r#"NOMINAL_Z:standard_name = "depth" ;"#, "");
            replace_line(v, r#"NOMINAL_Z:positive = "down" ;"#, "");
            replace_line(v, r#"NOMINAL_Z:axis = "Z" ;"#, "");
            *x = x.replace("NOMINAL_DEPTH =", "NOMINAL_Z =");
        });
        assert_eq!(
            groups(&Imos14, RULE, &no_vertical),
            expect(&[("geospatial_vertical_min/max", Medium, 0, 1)])
        );
    }

    #[test]
    fn dsg_files_with_vertical_information_say_which_way_is_positive() {
        const RULE: &str = "check_geospatial_vertical_positive";
        let good = good_with(|_| {});
        assert_eq!(
            groups(&Imos14, RULE, &good),
            expect(&[("geospatial_vertical_positive", High, 1, 1)])
        );
        let missing = good_with(|(_, _, g, _)| {
            replace_line(g, r#":geospatial_vertical_positive = "down" ;"#, "");
        });
        assert_eq!(
            groups(&Imos14, RULE, &missing),
            expect(&[("geospatial_vertical_positive", High, 0, 1)])
        );
    }

    #[test]
    fn the_vertical_units_attribute_is_a_length() {
        const RULE: &str = "check_geospatial_vertical_units";
        let good = good_with(|_| {});
        let group = ("geospatial_vertical_units".to_string(), High);
        assert_eq!(groups(&Imos14, RULE, &good)[&group], (1, 1));
        for bad in ["dbar", ""] {
            let file = good_with(|(_, _, g, _)| {
                replace_line(
                    g,
                    r#":geospatial_vertical_units = "m" ;"#,
                    &format!(":geospatial_vertical_units = \"{bad}\" ;"),
                );
            });
            assert_eq!(groups(&Imos14, RULE, &file)[&group], (0, 1), "{bad:?}");
        }
    }

    #[test]
    fn time_coverage_attributes_are_timestamps_near_the_time_range() {
        const RULE: &str = "check_time_coverage";
        let good = good_with(|_| {});
        assert_eq!(
            groups(&Imos14, RULE, &good),
            expect(&[
                ("time_coverage_end", High, 2, 2),
                ("time_coverage_start", High, 2, 2)
            ])
        );
        let bad = good_with(|(_, _, g, _)| {
            replace_line(
                g,
                r#":time_coverage_start = "2020-01-01T00:00:00Z" ;"#,
                r#":time_coverage_start = "2020-01-01 00:00:00" ;"#,
            );
            replace_line(
                g,
                r#":time_coverage_end = "2020-01-01T02:00:00Z" ;"#,
                r#":time_coverage_end = "2020-01-02T02:00:00Z" ;"#,
            );
        });
        assert_eq!(
            groups(&Imos14, RULE, &bad),
            expect(&[
                ("time_coverage_end", High, 1, 2),
                ("time_coverage_start", High, 0, 1)
            ])
        );
        // Placing a date on an axis without usable units raises in the reference.
        let no_units = good_with(|(_, v, _, _)| {
            replace_line(
                v,
                r#"TIME:units = "days since 1950-01-01 00:00:00 UTC" ;"#,
                "",
            );
        });
        assert!(run_rule(&Imos14, RULE, &no_units).is_err());
        let seconds = good_with(|(_, v, _, x)| {
            replace_line(
                v,
                r#"TIME:units = "days since 1950-01-01 00:00:00 UTC" ;"#,
                r#"TIME:units = "seconds since 2020-01-01T00:00:00+00:00" ;"#,
            );
            replace_line(
                x,
                "TIME = 25567, 25567.0416666667, 25567.0833333333 ;",
                "TIME = 0, 3600, 7200 ;",
            );
        });
        assert_eq!(
            groups(&Imos14, RULE, &seconds),
            expect(&[
                ("time_coverage_end", High, 2, 2),
                ("time_coverage_start", High, 2, 2)
            ])
        );
        assert_eq!(
            groups(
                &Imos14,
                RULE,
                &good_with(|(_, _, g, _)| {
                    replace_line(g, r#":time_coverage_end = "2020-01-01T02:00:00Z" ;"#, "");
                })
            ),
            expect(&[
                ("time_coverage_end", High, 0, 1),
                ("time_coverage_start", High, 2, 2)
            ])
        );
    }

    #[test]
    fn both_versions_fail_a_latitude_extent_away_from_the_latitudes() {
        let south = good_with(|(_, _, g, _)| {
            replace_line(
                g,
                ":geospatial_lat_min = -33.5 ;",
                ":geospatial_lat_min = -34.5 ;",
            );
        });
        assert_eq!(
            groups_1_3_and_1_4("check_geospatial_lat_min_max", &south),
            expect(&[
                ("geospatial_lat_max", High, 2, 2),
                ("geospatial_lat_min", High, 1, 2)
            ])
        );
    }

    #[test]
    fn both_versions_fail_a_longitude_extent_away_from_the_longitudes() {
        let east = good_with(|(_, _, g, _)| {
            replace_line(
                g,
                ":geospatial_lon_max = 151.25 ;",
                ":geospatial_lon_max = 151.3 ;",
            );
        });
        assert_eq!(
            groups_1_3_and_1_4("check_geospatial_lon_min_max", &east),
            expect(&[
                ("geospatial_lon_max", High, 1, 2),
                ("geospatial_lon_min", High, 2, 2)
            ])
        );
    }

    #[test]
    fn both_versions_fail_a_vertical_extent_no_vertical_variable_matches() {
        let deeper = good_with(|(_, _, g, _)| {
            replace_line(
                g,
                ":geospatial_vertical_max = 20. ;",
                ":geospatial_vertical_max = 25. ;",
            );
        });
        assert_eq!(
            groups_1_3_and_1_4("check_geospatial_vertical_min_max", &deeper),
            expect(&[
                ("geospatial_vertical_max", High, 1, 2),
                ("geospatial_vertical_min", High, 2, 2)
            ])
        );
    }

    #[test]
    fn both_versions_fail_vertical_units_that_are_no_length() {
        let pressure = good_with(|(_, _, g, _)| {
            replace_line(
                g,
                r#":geospatial_vertical_units = "m" ;"#,
                r#":geospatial_vertical_units = "dbar" ;"#,
            );
        });
        assert_eq!(
            groups_1_3_and_1_4("check_geospatial_vertical_units", &pressure),
            expect(&[("geospatial_vertical_units", High, 0, 1)])
        );
    }

    #[test]
    fn both_versions_fail_a_time_coverage_start_that_is_no_timestamp() {
        let no_zone = good_with(|(_, _, g, _)| {
            replace_line(
                g,
                r#":time_coverage_start = "2020-01-01T00:00:00Z" ;"#,
                r#":time_coverage_start = "2020-01-01 00:00:00" ;"#,
            );
        });
        assert_eq!(
            groups_1_3_and_1_4("check_time_coverage", &no_zone),
            expect(&[
                ("time_coverage_end", High, 2, 2),
                ("time_coverage_start", High, 0, 1)
            ])
        );
    }
}
