//! The IMOS suites `imos:1.3` and `imos:1.4`: the IMOS NetCDF conventions as the reference's
//! checker plugin (cc-plugin-imos 1.5.6) checks them, rule for rule, with its group names and
//! priorities. GHRSST reuses many of these rules.
//!
//! Every rule sees the file's variables classified (the plugin's `setup`, made once per dataset
//! for all of them); where that fails (e.g. an `ancillary_variables` attribute that is not text)
//! every rule fails, as the reference's run would.

pub(crate) mod attrs;
pub(crate) mod coordinates;
pub(crate) mod geospatial;
pub(crate) mod globals;
pub(crate) mod model;
pub(crate) mod pyattr;
pub(crate) mod quality_control;
#[cfg(test)]
pub(crate) mod testing;
pub(crate) mod time;
pub(crate) mod units;
pub(crate) mod values;
pub(crate) mod variables;
pub(crate) mod vertical;

use crate::compliance::{Rule, SuiteImpl};

/// The two versions of the IMOS conventions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1_3,
    V1_4,
}

impl Version {
    /// The accepted values of `Conventions`.
    pub fn conventions(self) -> &'static [&'static str] {
        match self {
            Version::V1_3 => &["CF-1.6,IMOS-1.3", "CF-1.6 IMOS-1.3"],
            Version::V1_4 => &["CF-1.6,IMOS-1.4", "CF-1.6 IMOS-1.4"],
        }
    }

    /// The accepted values of a QC variable's `quality_control_conventions`.
    pub fn quality_control_conventions(self) -> &'static [&'static str] {
        match self {
            Version::V1_3 => &[
                "IMOS standard set using the IODE flags",
                "ARGO quality control procedure",
                "BOM (SST and Air-Sea flux) quality control procedure",
                "WOCE quality control procedure",
            ],
            Version::V1_4 => &[
                "IMOS standard flags",
                "ARGO quality control procedure",
                "BOM (SST and Air-Sea flux) quality control procedure",
                "WOCE quality control procedure",
            ],
        }
    }
}

/// Builds a [`Rule`] from a rule over the classified dataset: the rule's id is the reference's
/// check method name (what `skip_checks` names).
macro_rules! rule {
    ($id:literal, $f:expr) => {
        crate::compliance::Rule {
            id: $id,
            run: {
                fn run(
                    ds: &crate::compliance::Dataset<'_>,
                ) -> Result<Vec<crate::compliance::CheckResult>, String> {
                    let model = crate::compliance::imos::model::Model::shared(ds)?;
                    ($f)(ds, model)
                }
                run
            },
        }
    };
}
pub(crate) use rule;

/// Rules common to both versions, in the reference's (alphabetical) order of check methods.
macro_rules! imos_rules {
    ($v:expr, $ack:path, $data:path $(, $extra:expr)* $(,)?) => {
        [
            rule!("check_acknowledgement", $ack),
            rule!("check_coordinate_variables", coordinates::coordinate_variables),
            rule!("check_data_variable_present", variables::data_variable_present),
            rule!("check_data_variables", $data),
            rule!("check_geospatial_lat_min_max", geospatial::lat_min_max),
            rule!("check_geospatial_lon_min_max", geospatial::lon_min_max),
            rule!("check_geospatial_vertical_min_max", geospatial::vertical_min_max),
            rule!("check_geospatial_vertical_units", geospatial::vertical_units),
            rule!("check_global_attributes", globals::global_attributes),
            rule!("check_latitude_variable", coordinates::latitude_variable),
            rule!("check_longitude_variable", coordinates::longitude_variable),
            rule!("check_mandatory_global_attributes", |ds, m| {
                globals::mandatory_global_attributes(ds, m, $v)
            }),
            rule!("check_optional_global_attributes", |ds, m| {
                globals::optional_global_attributes(ds, m, $v)
            }),
            rule!(
                "check_quality_control_conventions_for_quality_control_variable",
                |ds, m| quality_control::conventions(ds, m, $v)
            ),
            rule!("check_quality_control_variable_dimensions", quality_control::dimensions),
            rule!("check_quality_control_variable_listed", quality_control::listed),
            rule!(
                "check_quality_control_variable_matches_variable",
                quality_control::matches_variable
            ),
            rule!(
                "check_quality_control_variable_standard_name",
                quality_control::standard_name
            ),
            rule!("check_time_coverage", geospatial::time_coverage),
            rule!("check_time_variable", |ds, m| coordinates::time_variable(ds, m, $v)),
            rule!("check_variable_attribute_type", variables::variable_attribute_type),
            rule!("check_variable_attributes", variables::variable_attributes),
            rule!("check_variables_long_name", variables::variables_long_name),
            rule!("check_vertical_variable", vertical::vertical_variable),
            $($extra,)*
        ]
    };
}

static RULES_1_3: [Rule; 24] = imos_rules!(
    Version::V1_3,
    globals::acknowledgement_1_3,
    variables::data_variables_1_3,
);

static RULES_1_4: [Rule; 28] = imos_rules!(
    Version::V1_4,
    globals::acknowledgement_1_4,
    variables::data_variables_1_4,
    rule!(
        "check_coordinate_variable_no_fill_value",
        coordinates::coordinate_no_fill_value
    ),
    rule!(
        "check_geospatial_vertical_positive",
        geospatial::vertical_positive
    ),
    rule!("check_quality_control_global", quality_control::global),
    rule!(
        "check_vertical_variable_reference_datum",
        vertical::vertical_reference_datum
    ),
);

/// `imos:1.3`.
pub struct Imos13;

impl SuiteImpl for Imos13 {
    fn id(&self) -> &'static str {
        "imos:1.3"
    }
    fn rules(&self) -> &'static [Rule] {
        &RULES_1_3
    }
}

/// `imos:1.4`.
pub struct Imos14;

impl SuiteImpl for Imos14 {
    fn id(&self) -> &'static str {
        "imos:1.4"
    }
    fn rules(&self) -> &'static [Rule] {
        &RULES_1_4
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{cdl, good_1_4, good_with, replace_line};
    use super::*;
    use crate::compliance::Criteria;

    /// Runs a whole suite over a CDL file at `criteria`: (passed, failed groups, rule errors).
    fn suite(id: &str, cdl: &str, criteria: Criteria) -> (bool, Vec<String>, Vec<String>) {
        let report =
            crate::compliance::testing::check_cdl_suites(cdl, "test.nc", &[id], criteria, &[]);
        let report = report.suites.into_iter().next().unwrap();
        let failed = report
            .groups
            .iter()
            .filter(|g| !g.passed())
            .map(|g| format!("{}:{}", g.name, g.priority.as_str()))
            .collect();
        (report.passed, failed, report.errors)
    }

    #[test]
    fn every_rule_of_a_dataset_sees_the_one_classification_made_for_it() {
        use crate::compliance::Dataset;
        use crate::compliance::testing::cdl as parse;
        use model::Model;

        let (d, v, g, x) = good_1_4();
        let file = parse::parse(&cdl(&d, &v, &g, &x));
        let ds = Dataset::new("t.nc", &file.summary, &file.values);
        let first = Model::shared(&ds).unwrap();
        let second = Model::shared(&ds).unwrap();
        assert!(
            std::ptr::eq(first, second),
            "the second rule classified the variables again"
        );
        let names = |vars: &[&crate::netcdf::Variable]| -> Vec<String> {
            vars.iter().map(|v| v.name.clone()).collect()
        };
        assert_eq!(names(&first.coordinates), ["TIME"]);
        assert_eq!(names(&first.data), ["TEMP"]);
        assert_eq!(names(&first.quality_control), ["TEMP_quality_control"]);

        // Another dataset over the same header is classified on its own.
        let other = Dataset::new("t.nc", &file.summary, &file.values);
        assert!(!std::ptr::eq(first, Model::shared(&other).unwrap()));

        // A setup that fails fails every rule, each with its reason.
        let mut bad = v.clone();
        replace_line(
            &mut bad,
            r#"TEMP:ancillary_variables = "TEMP_quality_control" ;"#,
            "TEMP:ancillary_variables = 1 ;",
        );
        let file = parse::parse(&cdl(&d, &bad, &g, &x));
        let ds = Dataset::new("t.nc", &file.summary, &file.values);
        for _ in 0..2 {
            let err = Model::shared(&ds).expect_err("a setup that fails");
            assert!(err.contains("TEMP:ancillary_variables"), "{err}");
        }
    }

    #[test]
    fn a_conforming_file_passes_every_imos_1_4_rule_and_fails_1_3_only_where_versions_differ() {
        let (d, v, g, x) = good_1_4();
        let file = cdl(&d, &v, &g, &x);
        let (passed, failed, errors) = suite("imos:1.4", &file, Criteria::Strict);
        assert!(
            passed && failed.is_empty() && errors.is_empty(),
            "{failed:?} {errors:?}"
        );
        let (passed, failed, _) = suite("imos:1.3", &file, Criteria::Strict);
        assert!(!passed);
        assert_eq!(
            failed,
            [
                "Conventions:high",
                "acknowledgement:high",
                "distribution_statement:high",
                "TEMP_quality_control:medium",
            ]
        );
    }

    #[test]
    fn criteria_decide_which_failures_count() {
        // LONGITUDE units other than degrees_east are a MEDIUM failure only.
        let file = good_with(|(_, v, _, _)| {
            replace_line(
                v,
                r#"LONGITUDE:units = "degrees_east" ;"#,
                r#"LONGITUDE:units = "degree_east" ;"#,
            );
        });
        let (passed, failed, _) = suite("imos:1.4", &file, Criteria::Normal);
        assert!(!passed);
        assert_eq!(failed, ["LONGITUDE:medium"]);
        assert!(suite("imos:1.4", &file, Criteria::Lenient).0);
    }

    #[test]
    fn when_the_variables_cannot_be_classified_every_rule_fails_and_so_does_the_file() {
        // A numeric ancillary_variables attribute makes the reference's setup raise.
        let file = good_with(|(_, v, _, _)| {
            replace_line(
                v,
                r#"TEMP:ancillary_variables = "TEMP_quality_control" ;"#,
                "TEMP:ancillary_variables = 1 ;",
            );
        });
        let (passed, _, errors) = suite("imos:1.4", &file, Criteria::Lenient);
        assert!(!passed);
        assert_eq!(errors.len(), RULES_1_4.len(), "{errors:?}");
        assert!(errors[0].contains("TEMP:ancillary_variables"), "{errors:?}");
    }
}
