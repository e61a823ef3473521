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
use crate::text_regex::TextRegex;

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

static UTC: LazyLock<TextRegex> = LazyLock::new(|| python_match(".*UTC"));

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

#[cfg(test)]
mod tests {
    use super::super::testing::{expect, good_with, groups, groups_1_3_and_1_4, replace_line};
    use super::super::{Imos13, Imos14};
    use crate::compliance::Priority::{High, Medium};

    #[test]
    fn coordinate_variables_are_numeric_and_strictly_monotonic() {
        const RULE: &str = "check_coordinate_variables";
        let good = good_with(|_| {});
        assert_eq!(
            groups(&Imos14, RULE, &good),
            expect(&[("TIME", High, 2, 2)])
        );
        let repeated = good_with(|(_, _, _, x)| {
            replace_line(
                x,
                "TIME = 25567, 25567.0416666667, 25567.0833333333 ;",
                "TIME = 25567, 25567, 25567.0833333333 ;",
            )
        });
        assert_eq!(
            groups(&Imos14, RULE, &repeated),
            expect(&[("TIME", High, 1, 2)])
        );
        // A fill value between two values hides that pair from the comparison…
        let gap = good_with(|(_, v, _, x)| {
            v.push_str("\n    TIME:_FillValue = -1. ;");
            replace_line(
                x,
                "TIME = 25567, 25567.0416666667, 25567.0833333333 ;",
                "TIME = 25567, -1, 25567.0833333333 ;",
            )
        });
        // …and with every pair hidden numpy's answer is "masked", a failure.
        assert_eq!(groups(&Imos14, RULE, &gap), expect(&[("TIME", High, 1, 2)]));
        let text = good_with(|(d, v, _, _)| {
            d.push_str("\n  NAME = 4 ;");
            v.push_str("\n  char NAME(NAME) ;\n    NAME:long_name = \"a name\" ;");
        });
        assert_eq!(
            groups(&Imos14, RULE, &text),
            expect(&[("NAME", High, 0, 1), ("TIME", High, 2, 2)])
        );
    }

    #[test]
    fn coordinates_may_not_have_a_fill_value_in_imos_1_4() {
        const RULE: &str = "check_coordinate_variable_no_fill_value";
        let good = good_with(|_| {});
        assert_eq!(
            groups(&Imos14, RULE, &good),
            expect(&[("TIME", High, 1, 1)])
        );
        let filled = good_with(|(_, v, _, _)| v.push_str("\n    TIME:_FillValue = -1. ;"));
        assert_eq!(
            groups(&Imos14, RULE, &filled),
            expect(&[("TIME", High, 0, 1)])
        );
    }

    #[test]
    fn time_is_a_double_with_standard_attributes_and_utc_units() {
        const RULE: &str = "check_time_variable";
        let good = good_with(|_| {});
        let all_good = expect(&[("TIME", High, 5, 5), ("TIME", Medium, 2, 2)]);
        assert_eq!(groups(&Imos14, RULE, &good), all_good);
        assert_eq!(groups(&Imos13, RULE, &good), all_good);
        let seconds = good_with(|(_, v, _, _)| {
            *v = v.replace("double TIME(TIME) ;", "float TIME(TIME) ;");
            replace_line(
                v,
                r#"TIME:units = "days since 1950-01-01 00:00:00 UTC" ;"#,
                r#"TIME:units = "seconds since 1970-01-01T00:00:00 UTC" ;"#,
            );
            replace_line(
                v,
                r#"TIME:calendar = "gregorian" ;"#,
                r#"TIME:calendar = "standard" ;"#,
            );
            replace_line(v, "TIME:valid_max = 90000. ;", "");
        });
        // 1.4 accepts any UTC units; 1.3 only days since 1950.
        assert_eq!(
            groups(&Imos14, RULE, &seconds),
            expect(&[("TIME", High, 3, 5), ("TIME", Medium, 1, 2)])
        );
        assert_eq!(
            groups(&Imos13, RULE, &seconds),
            expect(&[("TIME", High, 3, 5), ("TIME", Medium, 0, 2)])
        );
    }

    #[test]
    fn latitude_and_longitude_have_their_standard_attributes() {
        let good = good_with(|_| {});
        assert_eq!(
            groups(&Imos14, "check_latitude_variable", &good),
            expect(&[("LATITUDE", High, 5, 5), ("LATITUDE", Medium, 2, 2)])
        );
        // The longitude range passes silently: it only counts when wrong.
        assert_eq!(
            groups(&Imos14, "check_longitude_variable", &good),
            expect(&[("LONGITUDE", High, 5, 5), ("LONGITUDE", Medium, 2, 2)])
        );
        let bad = good_with(|(_, v, _, _)| {
            replace_line(
                v,
                "LATITUDE:valid_min = -90. ;",
                "LATITUDE:valid_min = -80. ;",
            );
            replace_line(
                v,
                r#"LATITUDE:reference_datum = "WGS84 coordinate reference system" ;"#,
                "LATITUDE:reference_datum = 4326 ;",
            );
            replace_line(
                v,
                "LONGITUDE:valid_min = -180. ;",
                "LONGITUDE:valid_min = 0. ;",
            );
            *v = v.replace("double LONGITUDE ;", "int LONGITUDE ;");
            replace_line(
                v,
                "LONGITUDE:valid_max = 180. ;",
                "LONGITUDE:valid_max = 180 ;",
            );
        });
        assert_eq!(
            groups(&Imos14, "check_latitude_variable", &bad),
            expect(&[("LATITUDE", High, 3, 5), ("LATITUDE", Medium, 2, 2)])
        );
        assert_eq!(
            groups(&Imos14, "check_longitude_variable", &bad),
            expect(&[("LONGITUDE", High, 5, 6), ("LONGITUDE", Medium, 1, 2)])
        );
        let without = good_with(|(_, v, _, x)| {
            *v = v
                .replace("double LATITUDE ;", "double LAT ;")
                .replace("LATITUDE:", "LAT:");
            *x = x.replace("LATITUDE =", "LAT =");
        });
        assert!(groups(&Imos14, "check_latitude_variable", &without).is_empty());
    }

    #[test]
    fn both_versions_fail_a_time_coordinate_that_repeats_a_value() {
        let repeated = good_with(|(_, _, _, x)| {
            replace_line(
                x,
                "TIME = 25567, 25567.0416666667, 25567.0833333333 ;",
                "TIME = 25567, 25567, 25567.0833333333 ;",
            )
        });
        assert_eq!(
            groups_1_3_and_1_4("check_coordinate_variables", &repeated),
            expect(&[("TIME", High, 1, 2)])
        );
    }

    #[test]
    fn both_versions_want_latitude_valid_between_minus_90_and_90() {
        let narrow = good_with(|(_, v, _, _)| {
            replace_line(
                v,
                "LATITUDE:valid_min = -90. ;",
                "LATITUDE:valid_min = -80. ;",
            );
        });
        assert_eq!(
            groups_1_3_and_1_4("check_latitude_variable", &narrow),
            expect(&[("LATITUDE", High, 4, 5), ("LATITUDE", Medium, 2, 2)])
        );
    }

    #[test]
    fn both_versions_want_longitude_in_degrees_east() {
        let units = good_with(|(_, v, _, _)| {
            replace_line(
                v,
                r#"LONGITUDE:units = "degrees_east" ;"#,
                r#"LONGITUDE:units = "degree_east" ;"#,
            );
        });
        assert_eq!(
            groups_1_3_and_1_4("check_longitude_variable", &units),
            expect(&[("LONGITUDE", High, 5, 5), ("LONGITUDE", Medium, 1, 2)])
        );
    }
}
