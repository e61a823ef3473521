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
        if values.is_none() {
            values = Some(masked(ds, var)?);
        }
        let m = values.expect("read above");
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
