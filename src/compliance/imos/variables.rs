//! Rules on every variable and on data variables: non-empty text attributes, `long_name`, fill and
//! valid-range types, at least one data variable, and what each data variable must carry.

use super::attrs::{Expected, Target, TypeWanted, attribute_type_ok, check_attribute};
use super::model::Model;
use super::pyattr;
use crate::compliance::{CheckResult, Dataset, Priority};

/// `check_variable_attributes`: every text attribute of every variable is non-empty (HIGH, in
/// the variable's group).
pub fn variable_attributes(ds: &Dataset<'_>, _: &Model<'_>) -> Result<Vec<CheckResult>, String> {
    let mut out = Vec::new();
    for var in &ds.summary.variables {
        for a in &var.attributes {
            if let Some(s) = pyattr::str_named(&a.name, &a.value) {
                out.push(CheckResult::test(
                    &var.name,
                    Priority::High,
                    !s.is_empty(),
                    format!("Attribute '{}' is empty.", a.name),
                ));
            }
        }
    }
    Ok(out)
}

/// `check_variables_long_name`: every variable has a text `long_name` (HIGH).
pub fn variables_long_name(ds: &Dataset<'_>, _: &Model<'_>) -> Result<Vec<CheckResult>, String> {
    let mut out = Vec::new();
    for var in &ds.summary.variables {
        out.extend(check_attribute(
            "long_name",
            &Expected::Str,
            Target::Var(var),
            Priority::High,
            false,
        )?);
    }
    Ok(out)
}

/// `check_variable_attribute_type`: `_FillValue`, `valid_min` and `valid_max`, where present,
/// have the variable's own type (HIGH).
pub fn variable_attribute_type(
    ds: &Dataset<'_>,
    _: &Model<'_>,
) -> Result<Vec<CheckResult>, String> {
    let mut out = Vec::new();
    for var in &ds.summary.variables {
        for attr in ["_FillValue", "valid_min", "valid_max"] {
            if let Some(value) = var.attr(attr) {
                out.push(CheckResult::test(
                    &var.name,
                    Priority::High,
                    attribute_type_ok(attr, value, &TypeWanted::SameAs(&var.dtype), true),
                    format!("Attribute '{attr}' should have same type as variable."),
                ));
            }
        }
    }
    Ok(out)
}

/// `check_data_variable_present`: at least one data variable (HIGH).
pub fn data_variable_present(_: &Dataset<'_>, m: &Model<'_>) -> Result<Vec<CheckResult>, String> {
    Ok(vec![CheckResult::test(
        "data_variable_present",
        Priority::High,
        !m.data.is_empty(),
        "File should contain at least one data variable (none found).",
    )])
}

/// `check_data_variables` of IMOS 1.3: each data variable has a `_FillValue` (HIGH).
pub fn data_variables_1_3(_: &Dataset<'_>, m: &Model<'_>) -> Result<Vec<CheckResult>, String> {
    let mut out = Vec::new();
    for &var in &m.data {
        out.extend(check_attribute(
            "_FillValue",
            &Expected::NonEmpty,
            Target::Var(var),
            Priority::High,
            false,
        )?);
    }
    Ok(out)
}

/// `check_data_variables` of IMOS 1.4 (and GHRSST): each data variable has `units` and a
/// `coordinates` list naming only variables of the file (HIGH).
pub fn data_variables_1_4(ds: &Dataset<'_>, m: &Model<'_>) -> Result<Vec<CheckResult>, String> {
    let mut out = Vec::new();
    for &var in &m.data {
        out.extend(check_attribute(
            "units",
            &Expected::NonEmpty,
            Target::Var(var),
            Priority::High,
            false,
        )?);
        let Some(mut result) = check_attribute(
            "coordinates",
            &Expected::NonEmpty,
            Target::Var(var),
            Priority::High,
            false,
        )?
        else {
            continue;
        };
        if result.passed() {
            let value = var.attr("coordinates").expect("present: the check passed");
            let text = pyattr::as_str(value).ok_or_else(|| {
                format!(
                    "{}:coordinates is a {}, which the reference cannot split into names",
                    var.name,
                    pyattr::type_name(value)
                )
            })?;
            if text.split(' ').any(|n| ds.variable(n).is_none()) {
                result = CheckResult::test(
                    &var.name,
                    Priority::High,
                    false,
                    "Coordinates attribute must contain a blank-separated list of valid variable \
                     names",
                );
            }
        }
        out.push(result);
    }
    Ok(out)
}
