//! Rules on quality-control variables: conventions, naming, dimensions, being listed as
//! ancillary, standard names, and the global QC attributes of IMOS 1.4.

use super::Version;
use super::attrs::{Expected, Target, check_attribute};
use super::model::{Members, Model};
use super::pyattr;
use crate::compliance::{CheckResult, Dataset, Priority};

/// `check_quality_control_conventions_for_quality_control_variable`: a known conventions name
/// (MEDIUM).
pub fn conventions(
    _: &Dataset<'_>,
    m: &Model<'_>,
    version: Version,
) -> Result<Vec<CheckResult>, String> {
    let expected = Expected::one_of_str(version.quality_control_conventions());
    let mut out = Vec::new();
    for &var in &m.quality_control {
        out.extend(check_attribute(
            "quality_control_conventions",
            &expected,
            Target::Var(var),
            Priority::Medium,
            false,
        )?);
    }
    Ok(out)
}

/// `check_quality_control_variable_matches_variable`: named `<DATA>_quality_control` (HIGH) for a
/// variable `<DATA>` of the file (HIGH).
pub fn matches_variable(ds: &Dataset<'_>, m: &Model<'_>) -> Result<Vec<CheckResult>, String> {
    let mut out = Vec::new();
    for &qc in &m.quality_control {
        let root = qc.name.strip_suffix("_quality_control");
        out.push(CheckResult::test(
            &qc.name,
            Priority::High,
            root.is_some(),
            format!(
                "The name of QC variable '{}' should end in '_quality_control'.",
                qc.name
            ),
        ));
        // An empty root (a variable named just "_quality_control") is falsy in Python.
        let Some(root) = root.filter(|r| !r.is_empty()) else {
            continue;
        };
        out.push(CheckResult::test(
            &qc.name,
            Priority::High,
            ds.variable(root).is_some(),
            format!(
                "There is no data variable named '{root}' associated with QC variable '{}'.",
                qc.name
            ),
        ));
    }
    Ok(out)
}

/// `check_quality_control_variable_dimensions`: same dimensions as each data variable that lists
/// it (HIGH). (Every `ancillary_variables` is text here: the model refuses a file where one is
/// not.)
pub fn dimensions(ds: &Dataset<'_>, m: &Model<'_>) -> Result<Vec<CheckResult>, String> {
    let data_set = Members::of(m.data.iter().copied());
    let mut out = Vec::new();
    for &qc in &m.quality_control {
        for &data in ds.index.naming("ancillary_variables", &qc.name) {
            if data_set.contains(data) {
                out.push(CheckResult::test(
                    &qc.name,
                    Priority::High,
                    data.dimensions == qc.dimensions,
                    format!(
                        "Quality control variable {} should have the same dimensions as its \
                         associated data variable ({}).",
                        qc.name, data.name
                    ),
                ));
            }
        }
    }
    Ok(out)
}

/// `check_quality_control_variable_listed`: listed in some variable's `ancillary_variables`
/// (MEDIUM).
pub fn listed(_: &Dataset<'_>, m: &Model<'_>) -> Result<Vec<CheckResult>, String> {
    Ok(m.quality_control
        .iter()
        .map(|&qc| {
            CheckResult::test(
                &qc.name,
                Priority::Medium,
                m.is_ancillary(qc),
                format!(
                    "Quality control variable {} is not listed in any data variable's \
                     'ancillary_variables' attribute.",
                    qc.name
                ),
            )
        })
        .collect())
}

/// `check_quality_control_variable_standard_name`: for each variable listing it, the QC variable's
/// standard name is that variable's plus ` status_flag` (HIGH; a variable without a standard name
/// passes).
pub fn standard_name(ds: &Dataset<'_>, m: &Model<'_>) -> Result<Vec<CheckResult>, String> {
    let mut out = Vec::new();
    for &qc in &m.quality_control {
        for &var in ds.index.naming("ancillary_variables", &qc.name) {
            let result = match var.attr("standard_name") {
                Some(v) if pyattr::py_truthy(v)? => {
                    let base = pyattr::as_str(v).ok_or_else(|| {
                        format!(
                            "{}:standard_name is not text, and the reference's concatenation \
                             with it raises",
                            var.name
                        )
                    })?;
                    let want = format!("{base} status_flag");
                    CheckResult::test(
                        &qc.name,
                        Priority::High,
                        qc.attr("standard_name").and_then(pyattr::as_str) == Some(want.as_str()),
                        format!("Attribute 'standard_name' should be \"{want}\"."),
                    )
                }
                _ => CheckResult::test(&qc.name, Priority::High, true, ""),
            };
            out.push(result);
        }
    }
    Ok(out)
}

/// `check_quality_control_global` (IMOS 1.4): a QC variable with either
/// `quality_control_global` or `quality_control_global_conventions` has both, as text (MEDIUM).
pub fn global(_: &Dataset<'_>, m: &Model<'_>) -> Result<Vec<CheckResult>, String> {
    let mut out = Vec::new();
    for &qc in &m.quality_control {
        if qc.attr("quality_control_global").is_none()
            && qc.attr("quality_control_global_conventions").is_none()
        {
            continue;
        }
        for attr in [
            "quality_control_global",
            "quality_control_global_conventions",
        ] {
            out.extend(check_attribute(
                attr,
                &Expected::Str,
                Target::Var(qc),
                Priority::Medium,
                false,
            )?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{expect, good_with, groups, groups_1_3_and_1_4, replace_line};
    use super::super::{Imos13, Imos14};
    use crate::compliance::Priority::{High, Medium};

    const QC: &str = "TEMP_quality_control";

    #[test]
    fn qc_conventions_are_those_of_the_version() {
        const RULE: &str = "check_quality_control_conventions_for_quality_control_variable";
        let good = good_with(|_| {});
        assert_eq!(groups(&Imos14, RULE, &good), expect(&[(QC, Medium, 1, 1)]));
        assert_eq!(groups(&Imos13, RULE, &good), expect(&[(QC, Medium, 0, 1)]));
    }

    #[test]
    fn qc_variables_are_named_after_a_variable_of_the_file() {
        const RULE: &str = "check_quality_control_variable_matches_variable";
        let good = good_with(|_| {});
        assert_eq!(groups(&Imos14, RULE, &good), expect(&[(QC, High, 2, 2)]));
        // Found by its long name, a QC variable not named *_quality_control fails once.
        let odd = good_with(|(_, v, _, _)| {
            v.push_str(concat!(
                "\n  byte PSAL_FLAGS(TIME) ;",
                "\n    PSAL_FLAGS:long_name = \"quality flag for salinity\" ;",
                "\n  byte CNDC_quality_control(TIME) ;",
                "\n    CNDC_quality_control:long_name = \"quality flag\" ;",
            ));
        });
        let got = groups(&Imos14, RULE, &odd);
        assert_eq!(got[&("PSAL_FLAGS".to_string(), High)], (0, 1));
        assert_eq!(got[&("CNDC_quality_control".to_string(), High)], (1, 2));
    }

    #[test]
    fn qc_variables_have_their_data_variables_dimensions_and_are_listed() {
        let good = good_with(|_| {});
        assert_eq!(
            groups(&Imos14, "check_quality_control_variable_dimensions", &good),
            expect(&[(QC, High, 1, 1)])
        );
        assert_eq!(
            groups(&Imos14, "check_quality_control_variable_listed", &good),
            expect(&[(QC, Medium, 1, 1)])
        );
        let scalar_qc = good_with(|(_, v, _, x)| {
            *v = v.replace(
                "byte TEMP_quality_control(TIME) ;",
                "byte TEMP_quality_control ;",
            );
            replace_line(
                x,
                "TEMP_quality_control = 1, 1, 1 ;",
                "TEMP_quality_control = 1 ;",
            );
        });
        assert_eq!(
            groups(
                &Imos14,
                "check_quality_control_variable_dimensions",
                &scalar_qc
            ),
            expect(&[(QC, High, 0, 1)])
        );
        let unlisted = good_with(|(_, v, _, _)| {
            replace_line(
                v,
                r#"TEMP:ancillary_variables = "TEMP_quality_control" ;"#,
                "",
            );
        });
        assert_eq!(
            groups(&Imos14, "check_quality_control_variable_listed", &unlisted),
            expect(&[(QC, Medium, 0, 1)])
        );
        // Not listed anywhere: no data variable to compare dimensions with.
        assert!(
            groups(
                &Imos14,
                "check_quality_control_variable_dimensions",
                &unlisted
            )
            .is_empty()
        );
    }

    #[test]
    fn qc_standard_names_extend_their_variables_with_status_flag() {
        const RULE: &str = "check_quality_control_variable_standard_name";
        let good = good_with(|_| {});
        assert_eq!(groups(&Imos14, RULE, &good), expect(&[(QC, High, 1, 1)]));
        let wrong = good_with(|(_, v, _, _)| {
            replace_line(
                v,
                r#"TEMP_quality_control:standard_name = "sea_water_temperature status_flag" ;"#,
                r#"TEMP_quality_control:standard_name = "status_flag" ;"#,
            );
        });
        assert_eq!(groups(&Imos14, RULE, &wrong), expect(&[(QC, High, 0, 1)]));
        // A variable without a standard name imposes nothing.
        let unnamed = good_with(|(_, v, _, _)| {
            replace_line(v, r#"TEMP:standard_name = "sea_water_temperature" ;"#, "");
            replace_line(
                v,
                r#"TEMP_quality_control:standard_name = "sea_water_temperature status_flag" ;"#,
                r#"TEMP_quality_control:standard_name = "status_flag" ;"#,
            );
        });
        assert_eq!(groups(&Imos14, RULE, &unnamed), expect(&[(QC, High, 1, 1)]));
    }

    #[test]
    fn global_qc_attributes_come_in_pairs_of_text_in_1_4() {
        const RULE: &str = "check_quality_control_global";
        assert!(groups(&Imos14, RULE, &good_with(|_| {})).is_empty());
        let half = good_with(|(_, v, _, _)| {
            v.push_str("\n    TEMP_quality_control:quality_control_global = \"A\" ;");
        });
        assert_eq!(groups(&Imos14, RULE, &half), expect(&[(QC, Medium, 1, 2)]));
    }

    #[test]
    fn imos_1_4_refuses_the_qc_conventions_name_of_1_3() {
        const RULE: &str = "check_quality_control_conventions_for_quality_control_variable";
        let old = good_with(|(_, v, _, _)| {
            replace_line(
                v,
                r#"TEMP_quality_control:quality_control_conventions = "IMOS standard flags" ;"#,
                r#"TEMP_quality_control:quality_control_conventions = "IMOS standard set using the IODE flags" ;"#,
            );
        });
        assert_eq!(groups(&Imos14, RULE, &old), expect(&[(QC, Medium, 0, 1)]));
        assert_eq!(groups(&Imos13, RULE, &old), expect(&[(QC, Medium, 1, 1)]));
    }

    #[test]
    fn both_versions_fail_a_qc_variable_named_after_no_variable() {
        let odd = good_with(|(_, v, _, _)| {
            v.push_str(concat!(
                "\n  byte PSAL_FLAGS(TIME) ;",
                "\n    PSAL_FLAGS:long_name = \"quality flag for salinity\" ;",
            ));
        });
        assert_eq!(
            groups_1_3_and_1_4("check_quality_control_variable_matches_variable", &odd),
            expect(&[(QC, High, 2, 2), ("PSAL_FLAGS", High, 0, 1)])
        );
    }

    #[test]
    fn both_versions_fail_a_qc_variable_without_its_variables_dimensions() {
        let scalar_qc = good_with(|(_, v, _, x)| {
            *v = v.replace(
                "byte TEMP_quality_control(TIME) ;",
                "byte TEMP_quality_control ;",
            );
            replace_line(
                x,
                "TEMP_quality_control = 1, 1, 1 ;",
                "TEMP_quality_control = 1 ;",
            );
        });
        assert_eq!(
            groups_1_3_and_1_4("check_quality_control_variable_dimensions", &scalar_qc),
            expect(&[(QC, High, 0, 1)])
        );
    }

    #[test]
    fn both_versions_fail_a_qc_variable_no_variable_lists() {
        let unlisted = good_with(|(_, v, _, _)| {
            replace_line(
                v,
                r#"TEMP:ancillary_variables = "TEMP_quality_control" ;"#,
                "",
            );
        });
        assert_eq!(
            groups_1_3_and_1_4("check_quality_control_variable_listed", &unlisted),
            expect(&[(QC, Medium, 0, 1)])
        );
    }

    #[test]
    fn both_versions_fail_a_qc_standard_name_not_built_on_its_variables() {
        let wrong = good_with(|(_, v, _, _)| {
            replace_line(
                v,
                r#"TEMP_quality_control:standard_name = "sea_water_temperature status_flag" ;"#,
                r#"TEMP_quality_control:standard_name = "status_flag" ;"#,
            );
        });
        assert_eq!(
            groups_1_3_and_1_4("check_quality_control_variable_standard_name", &wrong),
            expect(&[(QC, High, 0, 1)])
        );
    }
}
