//! Rules on coordinates: coordinate variables (numeric, monotonic, no fill value) and the TIME,
//! LATITUDE and LONGITUDE variables' types and attributes.

use std::sync::LazyLock;

use super::Version;
use super::attrs::{Expected, Target, check_attribute};
use super::model::Model;
use super::pyattr::{self, Lit, python_match};
use super::values::masked;
use crate::compliance::{CheckResult, Dataset, Priority};
use crate::netcdf::{AttrValue, NcType, Variable};

/// `check_coordinate_variables`: each coordinate variable is numeric (HIGH) and, if so, strictly
/// monotonic (HIGH).
pub fn coordinate_variables(ds: &Dataset<'_>, m: &Model<'_>) -> Result<Vec<CheckResult>, String> {
    let mut out = Vec::new();
    for &var in &m.coordinates {
        let numeric = pyattr::is_numeric_type(&var.dtype);
        out.push(CheckResult::test(
            &var.name,
            Priority::High,
            numeric,
            "Coordinate variable should be of numeric type.",
        ));
        if !numeric {
            continue;
        }
        out.push(CheckResult::test(
            &var.name,
            Priority::High,
            masked(ds, var)?.monotonic,
            "Coordinate variable values should be monotonic.",
        ));
    }
    Ok(out)
}

/// `check_coordinate_variable_no_fill_value` (IMOS 1.4): coordinates may not have missing values.
pub fn coordinate_no_fill_value(
    _: &Dataset<'_>,
    m: &Model<'_>,
) -> Result<Vec<CheckResult>, String> {
    Ok(m.coordinates
        .iter()
        .map(|var| {
            CheckResult::test(
                &var.name,
                Priority::High,
                var.attr("_FillValue").is_none(),
                format!(
                    "Coordinate variable {} should NOT have a _FillValue attribute, as it is not \
                     allowed to have missing values",
                    var.name
                ),
            )
        })
        .collect())
}

fn attribute_dict(
    var: &Variable,
    list: &[(&str, Expected)],
    out: &mut Vec<CheckResult>,
) -> Result<(), String> {
    for (name, expected) in list {
        out.extend(check_attribute(
            name,
            expected,
            Target::Var(var),
            Priority::High,
            false,
        )?);
    }
    Ok(())
}

static UTC: LazyLock<regex::Regex> = LazyLock::new(|| python_match(".*UTC"));

/// `check_time_variable`: TIME is a double (MEDIUM), with standard attributes (HIGH) and units
/// (MEDIUM): exactly `days since 1950-01-01 00:00:00 UTC` in 1.3, anything in UTC in 1.4.
pub fn time_variable(
    ds: &Dataset<'_>,
    _: &Model<'_>,
    version: Version,
) -> Result<Vec<CheckResult>, String> {
    let Some(var) = ds.variable("TIME") else {
        return Ok(Vec::new());
    };
    let mut out = vec![CheckResult::test(
        "TIME",
        Priority::Medium,
        var.dtype == NcType::Double,
        "The TIME variable should be of type double (64-bit).",
    )];
    attribute_dict(
        var,
        &[
            ("standard_name", Expected::one_of_str(&["time"])),
            ("axis", Expected::one_of_str(&["T"])),
            ("calendar", Expected::one_of_str(&["gregorian"])),
            ("valid_min", Expected::NonEmpty),
            ("valid_max", Expected::NonEmpty),
        ],
        &mut out,
    )?;
    let units = match version {
        Version::V1_3 => Expected::one_of_str(&["days since 1950-01-01 00:00:00 UTC"]),
        Version::V1_4 => Expected::Pattern(&UTC),
    };
    out.extend(check_attribute(
        "units",
        &units,
        Target::Var(var),
        Priority::Medium,
        false,
    )?);
    Ok(out)
}

fn float_type(var: &Variable, name: &str, out: &mut Vec<CheckResult>) {
    out.push(CheckResult::test(
        name,
        Priority::Medium,
        pyattr::is_float_type(&var.dtype),
        format!("The {name} variable should be of type double or float."),
    ));
}

fn units(var: &Variable, unit: &'static str, out: &mut Vec<CheckResult>) -> Result<(), String> {
    out.extend(check_attribute(
        "units",
        &Expected::one_of_str(&[unit]),
        Target::Var(var),
        Priority::Medium,
        false,
    )?);
    Ok(())
}

/// `check_longitude_variable`: LONGITUDE is floating point (MEDIUM), with standard attributes
/// (HIGH), `degrees_east` (MEDIUM), and a valid range of 0…360 or -180…180 (HIGH, counted only
/// when wrong).
pub fn longitude_variable(ds: &Dataset<'_>, _: &Model<'_>) -> Result<Vec<CheckResult>, String> {
    let Some(var) = ds.variable("LONGITUDE") else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    float_type(var, "LONGITUDE", &mut out);
    attribute_dict(
        var,
        &[
            ("standard_name", Expected::one_of_str(&["longitude"])),
            ("axis", Expected::one_of_str(&["X"])),
            ("valid_min", Expected::NonEmpty),
            ("valid_max", Expected::NonEmpty),
            ("reference_datum", Expected::Str),
        ],
        &mut out,
    )?;
    units(var, "degrees_east", &mut out)?;
    if !valid_range_in(var.attr("valid_min"), var.attr("valid_max"))? {
        out.push(CheckResult::test(
            "LONGITUDE",
            Priority::High,
            false,
            "Attributes (valid_min, valid_max) should be (0, 360) or (-180, 180).",
        ));
    }
    Ok(out)
}

/// Python's `(valid_min, valid_max) in ((0, 360), (-180, 180))`: tuples compare element by
/// element, stopping at the first difference.
fn valid_range_in(min: Option<&AttrValue>, max: Option<&AttrValue>) -> Result<bool, String> {
    for (lo, hi) in [(0.0, 360.0), (-180.0, 180.0)] {
        let Some(min) = min else { continue };
        if !pyattr::py_eq(min, Lit::Num(lo))? {
            continue;
        }
        let Some(max) = max else { continue };
        if pyattr::py_eq(max, Lit::Num(hi))? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `check_latitude_variable`: LATITUDE is floating point (MEDIUM), with standard attributes and a
/// valid range of exactly -90…90 (HIGH), and `degrees_north` (MEDIUM).
pub fn latitude_variable(ds: &Dataset<'_>, _: &Model<'_>) -> Result<Vec<CheckResult>, String> {
    let Some(var) = ds.variable("LATITUDE") else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    float_type(var, "LATITUDE", &mut out);
    attribute_dict(
        var,
        &[
            ("standard_name", Expected::one_of_str(&["latitude"])),
            ("axis", Expected::one_of_str(&["Y"])),
            ("valid_min", Expected::OneOf(vec![Lit::Num(-90.0)])),
            ("valid_max", Expected::OneOf(vec![Lit::Num(90.0)])),
            ("reference_datum", Expected::Str),
        ],
        &mut out,
    )?;
    units(var, "degrees_north", &mut out)?;
    Ok(out)
}
