//! Rules on vertical coordinates: their standard name, direction, datum, valid range, axis, units
//! and type.

use super::attrs::{Expected, Present, Target, check_attribute, check_present};
use super::model::{Model, Vertical, vertical_variables};
use super::{pyattr, units};
use crate::compliance::{CheckResult, Dataset, Priority};
use crate::netcdf::{AttrValue, Variable};

fn equals(v: Option<&AttrValue>, want: &str) -> bool {
    v.and_then(pyattr::as_str) == Some(want)
}

/// `check_vertical_variable`, for every variable that looks vertical (all HIGH but the type):
/// standard name and `positive` agreeing with its kind, `reference_datum` text, `valid_min` and
/// `valid_max` present, `axis = "Z"`, units of length, floating point (MEDIUM). A missing axis
/// only counts when no vertical variable has one (CF lets only one variable carry `axis = "Z"`).
pub fn vertical_variable(ds: &Dataset<'_>, m: &Model<'_>) -> Result<Vec<CheckResult>, String> {
    let mut out = Vec::new();
    let mut axis_missing = Vec::new();
    let vars = vertical_variables(m)?;
    for &(var, kind) in &vars {
        let name = var.name.as_str();
        let high = |ok: bool, msg: String| CheckResult::test(name, Priority::High, ok, msg);
        match kind {
            Vertical::Unknown => {
                out.push(high(
                    false,
                    "Vertical coordinate variable (axis=\"Z\") should have attribute \
                     'standard_name' = \"depth\" or \"height\"."
                        .into(),
                ));
                out.push(high(
                    false,
                    "Vertical coordinate variable (axis=\"Z\") should have attribute 'positive' \
                     = \"up\" or \"down\"."
                        .into(),
                ));
            }
            Vertical::Depth | Vertical::Height => {
                let positive = if kind == Vertical::Height {
                    "up"
                } else {
                    "down"
                };
                out.push(high(
                    equals(var.attr("standard_name"), kind.as_str()),
                    format!(
                        "Variable {name} appears to be a vertical coordinate, should have \
                         attribute 'standard_name' = \"{}\".",
                        kind.as_str()
                    ),
                ));
                out.push(high(
                    equals(var.attr("positive"), positive),
                    format!(
                        "Variable {name} appears to be a vertical coordinate, should have \
                         attribute 'positive' = \"{positive}\"."
                    ),
                ));
            }
        }
        out.extend(check_attribute(
            "reference_datum",
            &Expected::Str,
            Target::Var(var),
            Priority::High,
            false,
        )?);
        for attr in ["valid_min", "valid_max"] {
            out.push(check_present(
                ds.summary,
                Present::VarAttr(name, attr),
                name,
                Priority::High,
            ));
        }
        let axis_message = format!(
            "Variable {name} appears to be a vertical coordinate, should have attribute 'axis' = \
             \"Z\"."
        );
        match var.attr("axis") {
            Some(axis) if equals(Some(axis), "Z") => out.push(high(true, axis_message)),
            // An axis of another value is always wrong.
            Some(axis) if pyattr::py_truthy(axis)? => out.push(high(false, axis_message)),
            _ => axis_missing.push(high(false, axis_message)),
        }
        out.push(units_of_length(ds, var));
        out.push(CheckResult::test(
            name,
            Priority::Medium,
            pyattr::is_float_type(&var.dtype),
            format!("Variable {name} should have type Double or Float."),
        ));
    }
    if axis_missing.len() == vars.len() {
        out.extend(axis_missing);
    }
    Ok(out)
}

fn units_of_length(ds: &Dataset<'_>, var: &Variable) -> CheckResult {
    let present = check_present(
        ds.summary,
        Present::VarAttr(&var.name, "units"),
        &var.name,
        Priority::High,
    );
    match var.attr("units") {
        None => present,
        Some(u) => CheckResult::test(
            &var.name,
            Priority::High,
            units::convertible_to_meter(u),
            format!(
                "Variable {} appears to be a vertical coordinate, should have units of distance.",
                var.name
            ),
        ),
    }
}

/// `check_vertical_variable_reference_datum` (IMOS 1.4): one of the four accepted datums (HIGH).
pub fn vertical_reference_datum(
    _: &Dataset<'_>,
    m: &Model<'_>,
) -> Result<Vec<CheckResult>, String> {
    let accepted = Expected::one_of_str(&[
        "Mean Sea Level (MSL)",
        "sea surface",
        "sea bottom",
        "sensor",
    ]);
    let mut out = Vec::new();
    for (var, _) in vertical_variables(m)? {
        out.extend(check_attribute(
            "reference_datum",
            &accepted,
            Target::Var(var),
            Priority::High,
            false,
        )?);
    }
    Ok(out)
}
