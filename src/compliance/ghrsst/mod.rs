//! The GHRSST suite `ghrsst:1.0` for gridded sea-surface temperature products, as the reference's
//! plugin checks it: several IMOS rules, plus the GHRSST time variable and mandatory variables.
//!
//! The reference declares mandatory global attributes for this suite (`project`, `date_created`,
//! `title`) but no rule checks them; neither do we, so that verdicts match production (see
//! docs/PARITY-imos.md).

mod variables;

use crate::compliance::imos::{coordinates, globals, rule, variables as imos_variables};
use crate::compliance::{Rule, SuiteImpl};

static RULES: [Rule; 8] = [
    rule!(
        "check_coordinate_variables",
        coordinates::coordinate_variables
    ),
    rule!(
        "check_data_variable_present",
        imos_variables::data_variable_present
    ),
    rule!("check_data_variables", imos_variables::data_variables_1_4),
    rule!("check_global_attributes", globals::global_attributes),
    rule!(
        "check_mandatory_variables_exist",
        variables::mandatory_variables_exist
    ),
    rule!("check_time_variable", variables::time_variable),
    rule!(
        "check_variable_attribute_type",
        imos_variables::variable_attribute_type
    ),
    rule!(
        "check_variable_attributes",
        imos_variables::variable_attributes
    ),
];

/// `ghrsst:1.0`.
pub struct Ghrsst10;

impl SuiteImpl for Ghrsst10 {
    fn id(&self) -> &'static str {
        "ghrsst:1.0"
    }
    fn rules(&self) -> &'static [Rule] {
        &RULES
    }
}

#[cfg(test)]
mod tests {
    use super::Ghrsst10;
    use super::variables::tests::l3;
    use crate::compliance::Priority::High;
    use crate::compliance::imos::testing::{expect, groups, replace_line};
    use crate::compliance::testing::check_cdl;

    #[test]
    fn a_file_without_the_declared_global_attributes_still_passes_as_in_production() {
        // No project, no date_created: the reference declares them mandatory but never checks.
        let report = check_cdl(&l3(|_| {}), "ghrsst:1.0", &[]);
        let failed: Vec<_> = report.groups.iter().filter(|g| !g.passed()).collect();
        assert!(report.passed, "{failed:?} {:?}", report.errors);
        assert!(report.groups.iter().all(|g| g.name != "project"));
    }

    #[test]
    fn a_coordinate_that_repeats_a_value_fails_its_group() {
        const RULE: &str = "check_coordinate_variables";
        assert_eq!(
            groups(&Ghrsst10, RULE, &l3(|_| {})),
            expect(&[
                ("lat", High, 2, 2),
                ("lon", High, 2, 2),
                ("time", High, 2, 2)
            ])
        );
        let repeated = l3(|_| {}).replace("lat = -10, -9 ;", "lat = -10, -10 ;");
        assert_eq!(
            groups(&Ghrsst10, RULE, &repeated),
            expect(&[
                ("lat", High, 1, 2),
                ("lon", High, 2, 2),
                ("time", High, 2, 2)
            ])
        );
    }

    #[test]
    fn a_file_whose_variables_are_all_flags_has_no_data_variable() {
        const RULE: &str = "check_data_variable_present";
        assert_eq!(
            groups(&Ghrsst10, RULE, &l3(|_| {})),
            expect(&[("data_variable_present", High, 1, 1)])
        );
        let flags_only =
            l3(|v| v.push_str("\n    sea_surface_temperature:flag_meanings = \"x\" ;"));
        assert_eq!(
            groups(&Ghrsst10, RULE, &flags_only),
            expect(&[("data_variable_present", High, 0, 1)])
        );
    }

    #[test]
    fn data_variables_need_units_and_coordinates_as_in_imos_1_4() {
        const RULE: &str = "check_data_variables";
        assert_eq!(
            groups(&Ghrsst10, RULE, &l3(|_| {})),
            expect(&[("sea_surface_temperature", High, 2, 2)])
        );
        let no_units = l3(|v| {
            replace_line(v, r#"sea_surface_temperature:units = "kelvin" ;"#, "");
        });
        assert_eq!(
            groups(&Ghrsst10, RULE, &no_units),
            expect(&[("sea_surface_temperature", High, 1, 2)])
        );
    }

    #[test]
    fn an_empty_text_global_attribute_fails_its_group() {
        let empty = l3(|_| {}).replace(r#":title = "An L3 test file" ;"#, r#":title = "" ;"#);
        assert_eq!(
            groups(&Ghrsst10, "check_global_attributes", &empty),
            expect(&[("title", High, 0, 1)])
        );
    }

    #[test]
    fn a_valid_min_of_another_type_than_its_variable_fails() {
        const RULE: &str = "check_variable_attribute_type";
        // ncgen gives _FillValue the variable's type, so the range shows the rule.
        let int_range = l3(|v| {
            v.push_str("\n    sea_surface_temperature:valid_min = -300 ;");
        });
        assert_eq!(
            groups(&Ghrsst10, RULE, &int_range),
            expect(&[("sea_surface_temperature", High, 1, 2)])
        );
    }

    #[test]
    fn an_empty_text_attribute_of_a_variable_fails_its_group() {
        let empty = l3(|v| {
            replace_line(v, r#"lat:units = "degrees_north" ;"#, r#"lat:units = "" ;"#);
        });
        let got = groups(&Ghrsst10, "check_variable_attributes", &empty);
        assert_eq!(got[&("lat".to_string(), High)], (1, 2));
        assert_eq!(got[&("lon".to_string(), High)], (2, 2));
    }
}
