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

#[cfg(test)]
mod tests {
    use super::super::testing::{expect, good_with, groups, replace_line};
    use super::super::{Imos13, Imos14};
    use crate::compliance::Priority::{High, Medium};

    const RULE: &str = "check_vertical_variable";

    #[test]
    fn vertical_variables_carry_kind_direction_datum_range_axis_units_and_type() {
        let good = good_with(|_| {});
        assert_eq!(
            groups(&Imos14, RULE, &good),
            expect(&[
                ("NOMINAL_DEPTH", High, 7, 7),
                ("NOMINAL_DEPTH", Medium, 1, 1)
            ])
        );
        let bad = good_with(|(_, v, _, _)| {
            *v = v.replace("double NOMINAL_DEPTH ;", "int NOMINAL_DEPTH ;");
            replace_line(
                v,
                "NOMINAL_DEPTH:valid_min = -5. ;",
                "NOMINAL_DEPTH:valid_min = -5 ;",
            );
            replace_line(v, "NOMINAL_DEPTH:valid_max = 12000. ;", "");
            replace_line(
                v,
                r#"NOMINAL_DEPTH:units = "m" ;"#,
                r#"NOMINAL_DEPTH:units = "dbar" ;"#,
            );
            replace_line(
                v,
                r#"NOMINAL_DEPTH:positive = "down" ;"#,
                r#"NOMINAL_DEPTH:positive = "up" ;"#,
            );
        });
        assert_eq!(
            groups(&Imos13, RULE, &bad),
            expect(&[
                ("NOMINAL_DEPTH", High, 4, 7),
                ("NOMINAL_DEPTH", Medium, 0, 1)
            ])
        );
    }

    #[test]
    fn a_missing_axis_counts_only_when_no_vertical_variable_has_one() {
        // A second vertical variable without an axis is fine while NOMINAL_DEPTH has one…
        let two = good_with(|(d, v, _, _)| {
            d.push_str("\n  DEPTH = 2 ;");
            v.push_str(concat!(
                "\n  double DEPTH(DEPTH) ;\n    DEPTH:standard_name = \"depth\" ;",
                "\n    DEPTH:positive = \"down\" ;\n    DEPTH:units = \"m\" ;",
                "\n    DEPTH:valid_min = 0. ;\n    DEPTH:valid_max = 10. ;",
                "\n    DEPTH:reference_datum = \"sea surface\" ;",
            ));
        });
        assert_eq!(
            groups(&Imos14, RULE, &two)[&("DEPTH".to_string(), High)],
            (6, 6)
        );
        // …but when none has one, each is told.
        let none = two.replace("    NOMINAL_DEPTH:axis = \"Z\" ;\n", "");
        let got = groups(&Imos14, RULE, &none);
        assert_eq!(got[&("DEPTH".to_string(), High)], (6, 7));
        assert_eq!(got[&("NOMINAL_DEPTH".to_string(), High)], (6, 7));
    }

    #[test]
    fn an_axis_z_variable_of_unknown_direction_fails_twice() {
        let file = good_with(|(_, v, _, _)| {
            v.push_str("\n  double ALT ;\n    ALT:axis = \"Z\" ;\n    ALT:units = \"m\" ;");
        });
        assert_eq!(
            groups(&Imos14, RULE, &file)[&("ALT".to_string(), High)],
            // standard_name, positive, reference_datum, valid_min, valid_max fail; axis, units pass
            (2, 7)
        );
    }

    #[test]
    fn wave_heights_sea_floor_depths_and_qc_variables_are_not_vertical() {
        let file = good_with(|(_, v, _, _)| {
            v.push_str(concat!(
                "\n  float WAVE_HEIGHT ;\n    WAVE_HEIGHT:long_name = \"significant wave height\" ;",
                "\n  float BOT_DEPTH ;\n    BOT_DEPTH:standard_name = \"sea_floor_depth_below_sea_surface\" ;",
                "\n  byte DEPTH_quality_control ;",
            ));
        });
        let got = groups(&Imos14, RULE, &file);
        assert!(
            got.keys().all(|(name, _)| name == "NOMINAL_DEPTH"),
            "{got:?}"
        );
    }

    #[test]
    fn imos_1_4_accepts_four_reference_datums() {
        const DATUM: &str = "check_vertical_variable_reference_datum";
        let good = good_with(|_| {});
        assert_eq!(
            groups(&Imos14, DATUM, &good),
            expect(&[("NOMINAL_DEPTH", High, 1, 1)])
        );
        let other = good_with(|(_, v, _, _)| {
            replace_line(
                v,
                r#"NOMINAL_DEPTH:reference_datum = "sea surface" ;"#,
                r#"NOMINAL_DEPTH:reference_datum = "the sea surface" ;"#,
            );
        });
        assert_eq!(
            groups(&Imos14, DATUM, &other),
            expect(&[("NOMINAL_DEPTH", High, 0, 1)])
        );
    }
}
