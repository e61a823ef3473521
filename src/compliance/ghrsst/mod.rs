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
    use super::variables::tests::l3;
    use crate::compliance::testing::check_cdl;

    #[test]
    fn a_file_without_the_declared_global_attributes_still_passes_as_in_production() {
        // No project, no date_created: the reference declares them mandatory but never checks.
        let report = check_cdl(&l3(|_| {}), "ghrsst:1.0", &[]);
        let failed: Vec<_> = report.groups.iter().filter(|g| !g.passed()).collect();
        assert!(report.passed, "{failed:?} {:?}", report.errors);
        assert!(report.groups.iter().all(|g| g.name != "project"));
    }
}
