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

#[cfg(test)]
mod tests {
    use super::super::testing::{expect, good_with, groups, groups_1_3_and_1_4, replace_line};
    use super::super::{Imos13, Imos14};
    use crate::compliance::Priority::High;

    #[test]
    fn text_attributes_of_variables_are_non_empty_but_a_char_fill_value_is_bytes() {
        const RULE: &str = "check_variable_attributes";
        let file = good_with(|(d, v, _, _)| {
            replace_line(
                v,
                r#"TEMP:units = "degrees_Celsius" ;"#,
                r#"TEMP:units = "" ;"#,
            );
            d.push_str("\n  STRLEN = 4 ;");
            v.push_str("\n  char SITE(STRLEN) ;\n    SITE:_FillValue = \"\" ;\n    SITE:long_name = \"site\" ;");
        });
        let got = groups(&Imos14, RULE, &file);
        assert_eq!(got[&("TEMP".to_string(), High)], (4, 5));
        // netCDF4-python returns a char _FillValue as bytes, which the rule does not see.
        assert_eq!(got[&("SITE".to_string(), High)], (1, 1));
    }

    #[test]
    fn every_variable_has_a_text_long_name() {
        const RULE: &str = "check_variables_long_name";
        let file = good_with(|(_, v, _, _)| {
            replace_line(v, r#"TEMP:long_name = "sea water temperature" ;"#, "");
            replace_line(v, r#"TIME:long_name = "time" ;"#, "TIME:long_name = 1 ;");
        });
        let got = groups(&Imos14, RULE, &file);
        assert_eq!(got[&("TEMP".to_string(), High)], (0, 1));
        assert_eq!(got[&("TIME".to_string(), High)], (0, 1));
        assert_eq!(got[&("LATITUDE".to_string(), High)], (1, 1));
    }

    #[test]
    fn fill_value_and_valid_range_have_the_variable_type() {
        const RULE: &str = "check_variable_attribute_type";
        let file = good_with(|(_, v, _, _)| {
            replace_line(v, "TEMP:valid_min = -2.5f ;", "TEMP:valid_min = -2.5 ;");
            replace_line(
                v,
                "TEMP:valid_max = 40.f ;",
                "TEMP:valid_max = 40.f, 41.f ;",
            );
        });
        let got = groups(&Imos14, RULE, &file);
        // A double valid_min on a float fails; an array of the right type passes.
        assert_eq!(got[&("TEMP".to_string(), High)], (2, 3));
        assert_eq!(got[&("TEMP_quality_control".to_string(), High)], (3, 3));
        assert_eq!(got[&("LATITUDE".to_string(), High)], (2, 2));
    }

    #[test]
    fn a_file_needs_a_data_variable() {
        const RULE: &str = "check_data_variable_present";
        let good = good_with(|_| {});
        assert_eq!(
            groups(&Imos14, RULE, &good),
            expect(&[("data_variable_present", High, 1, 1)])
        );
        // Flags and listed coordinates are not data.
        let flags_only = good_with(|(_, v, _, _)| {
            v.push_str("\n    TEMP:flag_meanings = \"a b\" ;");
        });
        assert_eq!(
            groups(&Imos14, RULE, &flags_only),
            expect(&[("data_variable_present", High, 0, 1)])
        );
    }

    #[test]
    fn data_variables_carry_a_fill_value_in_1_3_and_units_and_coordinates_in_1_4() {
        const RULE: &str = "check_data_variables";
        let good = good_with(|_| {});
        assert_eq!(
            groups(&Imos13, RULE, &good),
            expect(&[("TEMP", High, 1, 1)])
        );
        assert_eq!(
            groups(&Imos14, RULE, &good),
            expect(&[("TEMP", High, 2, 2)])
        );
        let bad = good_with(|(_, v, _, _)| {
            replace_line(v, "TEMP:_FillValue = 999999.f ;", "");
            replace_line(
                v,
                r#"TEMP:coordinates = "TIME LATITUDE LONGITUDE NOMINAL_DEPTH" ;"#,
                r#"TEMP:coordinates = "TIME LATITUDE  LONGITUDE" ;"#,
            );
        });
        assert_eq!(groups(&Imos13, RULE, &bad), expect(&[("TEMP", High, 0, 1)]));
        // Two blanks make an empty name, which is no variable.
        assert_eq!(groups(&Imos14, RULE, &bad), expect(&[("TEMP", High, 1, 2)]));
    }

    #[test]
    fn both_versions_fail_a_file_without_data_variables() {
        let flags_only = good_with(|(_, v, _, _)| {
            v.push_str("\n    TEMP:flag_meanings = \"a b\" ;");
        });
        assert_eq!(
            groups_1_3_and_1_4("check_data_variable_present", &flags_only),
            expect(&[("data_variable_present", High, 0, 1)])
        );
    }

    #[test]
    fn both_versions_fail_a_valid_min_of_another_type_than_its_variable() {
        let double = good_with(|(_, v, _, _)| {
            replace_line(v, "TEMP:valid_min = -2.5f ;", "TEMP:valid_min = -2.5 ;");
        });
        let got = groups_1_3_and_1_4("check_variable_attribute_type", &double);
        assert_eq!(got[&("TEMP".to_string(), High)], (2, 3));
        assert_eq!(got[&("TEMP_quality_control".to_string(), High)], (3, 3));
    }

    #[test]
    fn both_versions_fail_an_empty_text_attribute_of_a_variable() {
        let empty = good_with(|(_, v, _, _)| {
            replace_line(
                v,
                r#"TEMP:units = "degrees_Celsius" ;"#,
                r#"TEMP:units = "" ;"#,
            );
        });
        let got = groups_1_3_and_1_4("check_variable_attributes", &empty);
        assert_eq!(got[&("TEMP".to_string(), High)], (4, 5));
        assert_eq!(got[&("TIME".to_string(), High)], (5, 5));
    }

    #[test]
    fn both_versions_fail_a_variable_without_long_name() {
        let unnamed = good_with(|(_, v, _, _)| {
            replace_line(v, r#"TEMP:long_name = "sea water temperature" ;"#, "");
        });
        let got = groups_1_3_and_1_4("check_variables_long_name", &unnamed);
        assert_eq!(got[&("TEMP".to_string(), High)], (0, 1));
        assert_eq!(got[&("TIME".to_string(), High)], (1, 1));
    }
}
