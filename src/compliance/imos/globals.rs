//! Rules on global attributes: the mandatory and optional sets of each IMOS version, non-empty
//! text, and the acknowledgement wording.

use std::sync::LazyLock;

use super::Version;
use super::attrs::{Expected, Target, check_attribute, pattern_text};
use super::model::Model;
use super::pyattr::{self, Lit, python_match};
use crate::compliance::{CheckResult, Dataset, Priority};
use crate::text_regex::TextRegex;

static DISTRIBUTION_1_3: LazyLock<TextRegex> = LazyLock::new(|| {
    python_match(concat!(
        r".*Data may be re-used, provided that related metadata explaining the data has been ",
        r"reviewed by the user, and the data is appropriately acknowledged. Data, products and ",
        r#"services from IMOS are provided "as is" without any warranty as to fitness for a "#,
        r"particular purpose\."
    ))
});

static DISCLAIMER_1_4: LazyLock<TextRegex> = LazyLock::new(|| {
    python_match(concat!(
        r#".*Data, products and services from IMOS are provided "as is" without any warranty as "#,
        r"to fitness for a particular purpose\."
    ))
});

static VOCABULARY_1_4: LazyLock<TextRegex> =
    LazyLock::new(|| python_match(r".*CF.*(S|s)tandard (N|n)ame (T|t)able.*\d+"));

/// The mandatory global attributes of a version and what each must hold.
fn mandatory(version: Version) -> Vec<(&'static str, Expected)> {
    let mut list = vec![
        ("Conventions", Expected::one_of_str(version.conventions())),
        (
            "project",
            Expected::one_of_str(&["Integrated Marine Observing System (IMOS)"]),
        ),
        ("naming_authority", Expected::one_of_str(&["IMOS"])),
        ("date_created", Expected::Timestamp),
        ("title", Expected::Str),
        ("abstract", Expected::Str),
        ("author", Expected::Str),
        ("principal_investigator", Expected::Str),
        ("citation", Expected::Str),
    ];
    match version {
        Version::V1_3 => list.extend([
            (
                "data_centre",
                Expected::one_of_str(&[
                    "eMarine Information Infrastructure (eMII)",
                    "Australian Ocean Data Network (AODN)",
                ]),
            ),
            (
                "data_centre_email",
                Expected::one_of_str(&["info@emii.org.au", "info@aodn.org.au"]),
            ),
            (
                "distribution_statement",
                Expected::Pattern(&DISTRIBUTION_1_3),
            ),
        ]),
        Version::V1_4 => list.extend([
            (
                "data_centre",
                Expected::one_of_str(&["Australian Ocean Data Network (AODN)"]),
            ),
            (
                "data_centre_email",
                Expected::one_of_str(&["info@aodn.org.au"]),
            ),
            ("disclaimer", Expected::Pattern(&DISCLAIMER_1_4)),
            (
                "license",
                Expected::one_of_str(&["http://creativecommons.org/licenses/by/4.0/"]),
            ),
            (
                "standard_name_vocabulary",
                Expected::Pattern(&VOCABULARY_1_4),
            ),
        ]),
    }
    list
}

/// The optional global attributes: checked only when present.
fn optional(version: Version) -> Vec<(&'static str, Expected)> {
    let mut list = vec![
        (
            "geospatial_lat_units",
            Expected::one_of_str(&["degrees_north"]),
        ),
        (
            "geospatial_lon_units",
            Expected::one_of_str(&["degrees_east"]),
        ),
        (
            "geospatial_vertical_positive",
            Expected::one_of_str(&["up", "down"]),
        ),
        (
            "local_time_zone",
            // Half-hour steps from -12 to +11.5.
            Expected::OneOf((-24..24).map(|i| Lit::Num(i as f64 * 0.5)).collect()),
        ),
        ("author_email", Expected::Email),
        ("principal_investigator_email", Expected::Email),
    ];
    if version == Version::V1_3 {
        list.push((
            "quality_control_set",
            Expected::OneOf([1.0, 2.0, 3.0, 4.0].map(Lit::Num).to_vec()),
        ));
    }
    list
}

/// `check_mandatory_global_attributes` (HIGH).
pub fn mandatory_global_attributes(
    ds: &Dataset<'_>,
    _: &Model<'_>,
    version: Version,
) -> Result<Vec<CheckResult>, String> {
    let target = Target::Global(ds.summary);
    let mut out = Vec::new();
    for (name, expected) in mandatory(version) {
        out.extend(check_attribute(
            name,
            &expected,
            target,
            Priority::High,
            false,
        )?);
    }
    Ok(out)
}

/// `check_optional_global_attributes` (MEDIUM, only the attributes present).
pub fn optional_global_attributes(
    ds: &Dataset<'_>,
    _: &Model<'_>,
    version: Version,
) -> Result<Vec<CheckResult>, String> {
    let target = Target::Global(ds.summary);
    let mut out = Vec::new();
    for (name, expected) in optional(version) {
        out.extend(check_attribute(
            name,
            &expected,
            target,
            Priority::Medium,
            true,
        )?);
    }
    Ok(out)
}

/// `check_global_attributes`: every text global attribute is non-empty (HIGH, one group per
/// attribute).
pub fn global_attributes(ds: &Dataset<'_>, _: &Model<'_>) -> Result<Vec<CheckResult>, String> {
    Ok(ds
        .summary
        .global_attributes
        .iter()
        .filter_map(|a| {
            pyattr::str_named(&a.name, &a.value).map(|s| {
                CheckResult::test(
                    &a.name,
                    Priority::High,
                    !s.is_empty(),
                    format!("Global attribute '{}' is empty.", a.name),
                )
            })
        })
        .collect())
}

static ACK_1_3_OLD: LazyLock<TextRegex> = LazyLock::new(|| {
    python_match(concat!(
        r".*Any users of IMOS data are required to clearly acknowledge the source of the material ",
        r"in the format:.*Data was sourced from the Integrated Marine Observing System \(IMOS\) - ",
        r"IMOS is supported by the Australian Government through the National Collaborative ",
        r"Research Infrastructure Strategy \(NCRIS\) and the Super Science Initiative \(SSI\)"
    ))
});

static ACK_1_3_NEW: LazyLock<TextRegex> = LazyLock::new(|| {
    python_match(concat!(
        r".*Any users of IMOS data are required to clearly acknowledge the source of the material ",
        r"derived from IMOS in the format:.*Data was sourced from the Integrated Marine Observing ",
        r"System \(IMOS\) - IMOS is a national collaborative research infrastructure, supported ",
        r"by the Australian Government"
    ))
});

/// `check_acknowledgement` of IMOS 1.3: present (HIGH), then holding one of two wordings (HIGH).
pub fn acknowledgement_1_3(ds: &Dataset<'_>, _: &Model<'_>) -> Result<Vec<CheckResult>, String> {
    let Some(value) = ds.global("acknowledgement") else {
        return Ok(vec![CheckResult::test(
            "acknowledgement",
            Priority::High,
            false,
            "Missing global attribute 'acknowledgement'.",
        )]);
    };
    let ok = pyattr::re_match(&ACK_1_3_OLD, value)? || pyattr::re_match(&ACK_1_3_NEW, value)?;
    Ok(vec![
        CheckResult::test("acknowledgement", Priority::High, true, ""),
        CheckResult::test(
            "acknowledgement",
            Priority::High,
            ok,
            "Global attribute 'acknowledgement' doesn't contain the required text.",
        ),
    ])
}

static ACK_2016: LazyLock<TextRegex> = LazyLock::new(|| {
    python_match(concat!(
        r"Any users( \(including re-?packagers\))? of IMOS data( \(including re-?packagers\))? ",
        r"are required to clearly acknowledge the source of the material( derived from IMOS)? ",
        r#"in (this|the) format: "Data was sourced from the Integrated Marine Observing System "#,
        r"\(IMOS\) - IMOS is( a national collaborative research infrastructure,)? supported by ",
        r"the Australian Government"
    ))
});

static ACK_2020: LazyLock<TextRegex> = LazyLock::new(|| {
    python_match(concat!(
        r".*Any users of IMOS data are required to clearly acknowledge the source of the material ",
        r#"derived from IMOS in the format: "Data was sourced from Australia's Integrated Marine "#,
        r"Observing System \(IMOS\) - IMOS is enabled by the National Collaborative Research ",
        r#"Infrastructure Strategy \(NCRIS\)\.""#
    ))
});

/// `check_acknowledgement` of IMOS 1.4: one HIGH point for the 2020 or the 2016 wording.
pub fn acknowledgement_1_4(ds: &Dataset<'_>, _: &Model<'_>) -> Result<Vec<CheckResult>, String> {
    let target = Target::Global(ds.summary);
    for re in [&ACK_2020, &ACK_2016] {
        let result = check_attribute(
            "acknowledgement",
            &Expected::Pattern(re),
            target,
            Priority::High,
            false,
        )?;
        if let Some(r) = result.filter(CheckResult::passed) {
            return Ok(vec![r]);
        }
    }
    Ok(vec![CheckResult::test(
        "acknowledgement",
        Priority::High,
        false,
        format!(
            "Global attribute 'acknowledgement' doesn't contain the required text: '{}'",
            pattern_text(&ACK_2020)
        ),
    )])
}

#[cfg(test)]
mod tests {
    use super::super::testing::{
        expect, good_with, groups, groups_1_3_and_1_4, replace_line, run_rule,
    };
    use super::super::{Imos13, Imos14};
    use crate::compliance::Priority::{High, Medium};

    const MANDATORY: &str = "check_mandatory_global_attributes";
    const OPTIONAL: &str = "check_optional_global_attributes";

    fn globals(edit: impl FnOnce(&mut String)) -> String {
        good_with(|(_, _, g, _)| edit(g))
    }

    #[test]
    fn mandatory_attributes_need_presence_and_the_right_value() {
        let file = globals(|g| {
            replace_line(g, r#":title = "A test mooring" ;"#, "");
            replace_line(
                g,
                r#":Conventions = "CF-1.6,IMOS-1.4" ;"#,
                r#":Conventions = "CF-1.6, IMOS-1.4" ;"#,
            );
            replace_line(
                g,
                r#":date_created = "2020-01-01T00:00:00Z" ;"#,
                r#":date_created = "2020-01-01" ;"#,
            );
            replace_line(g, r#":author = "Ocean Ingest" ;"#, ":author = 1 ;");
        });
        let got = groups(&Imos14, MANDATORY, &file);
        assert_eq!(got.len(), 14);
        for failed in ["title", "Conventions", "date_created", "author"] {
            assert_eq!(got[&(failed.to_string(), High)], (0, 1), "{failed}");
        }
        assert_eq!(got[&("license".to_string(), High)], (1, 1));
        // IMOS 1.3 wants its own Conventions, the old data centre is fine, and a
        // distribution statement instead of the 1.4 disclaimer.
        let good = globals(|_| {});
        let got = groups(&Imos13, MANDATORY, &good);
        assert_eq!(got[&("Conventions".to_string(), High)], (0, 1));
        assert_eq!(got[&("distribution_statement".to_string(), High)], (0, 1));
        assert!(!got.contains_key(&("license".to_string(), High)));
        let old_centre = globals(|g| {
            replace_line(
                g,
                r#":data_centre = "Australian Ocean Data Network (AODN)" ;"#,
                r#":data_centre = "eMarine Information Infrastructure (eMII)" ;"#,
            );
            replace_line(
                g,
                r#":Conventions = "CF-1.6,IMOS-1.4" ;"#,
                r#":Conventions = "CF-1.6 IMOS-1.3" ;"#,
            );
        });
        let got = groups(&Imos13, MANDATORY, &old_centre);
        assert_eq!(got[&("data_centre".to_string(), High)], (1, 1));
        assert_eq!(got[&("Conventions".to_string(), High)], (1, 1));
        assert_eq!(
            groups(&Imos14, MANDATORY, &old_centre)[&("data_centre".to_string(), High)],
            (0, 1)
        );
    }

    #[test]
    fn optional_attributes_count_only_when_present() {
        let none = groups(&Imos14, OPTIONAL, &globals(|_| {}));
        assert_eq!(
            none,
            expect(&[("geospatial_vertical_positive", Medium, 1, 1)])
        );
        let file = globals(|g| {
            g.push_str(concat!(
                "\n  :local_time_zone = 10.5 ;",
                "\n  :author_email = \"someone@example.com\" ;",
                "\n  :principal_investigator_email = \"someone@example.info\" ;",
                "\n  :geospatial_lat_units = \"degrees_N\" ;",
                "\n  :quality_control_set = 2 ;",
            ));
        });
        assert_eq!(
            groups(&Imos14, OPTIONAL, &file),
            expect(&[
                ("author_email", Medium, 1, 1),
                ("geospatial_lat_units", Medium, 0, 1),
                ("geospatial_vertical_positive", Medium, 1, 1),
                ("local_time_zone", Medium, 1, 1),
                // Only 2–3 letter top-level domains pass the reference's pattern.
                ("principal_investigator_email", Medium, 0, 1),
            ])
        );
        assert_eq!(
            groups(&Imos13, OPTIONAL, &file)[&("quality_control_set".to_string(), Medium)],
            (1, 1)
        );
        let off_grid = globals(|g| g.push_str("\n  :local_time_zone = 10.25 ;"));
        assert_eq!(
            groups(&Imos14, OPTIONAL, &off_grid)[&("local_time_zone".to_string(), Medium)],
            (0, 1)
        );
        // Python raises on a numeric email and on a two-valued time zone.
        let numeric_email = globals(|g| g.push_str("\n  :author_email = 5 ;"));
        assert!(run_rule(&Imos14, OPTIONAL, &numeric_email).is_err());
        let two_zones = globals(|g| g.push_str("\n  :local_time_zone = 10., 11. ;"));
        assert!(run_rule(&Imos14, OPTIONAL, &two_zones).is_err());
    }

    #[test]
    fn every_text_global_attribute_must_be_non_empty() {
        let file = globals(|g| g.push_str("\n  :comment = \"\" ;\n  :keywords = \" \" ;"));
        let got = groups(&Imos14, "check_global_attributes", &file);
        assert_eq!(got[&("comment".to_string(), High)], (0, 1));
        assert_eq!(got[&("keywords".to_string(), High)], (1, 1));
        assert_eq!(got[&("title".to_string(), High)], (1, 1));
        // Numbers are not text and are not counted.
        assert!(!got.contains_key(&("geospatial_lat_min".to_string(), High)));
    }

    #[test]
    fn the_acknowledgement_must_carry_the_wording_of_its_version() {
        const ACK: &str = "check_acknowledgement";
        let good = globals(|_| {});
        let ack = ("acknowledgement".to_string(), High);
        assert_eq!(groups(&Imos14, ACK, &good)[&ack], (1, 1));
        // The 2020 wording is not one IMOS 1.3 knows.
        assert_eq!(groups(&Imos13, ACK, &good)[&ack], (1, 2));
        let wording_2016 = globals(|g| {
            g.push_str(concat!(
                "\n  :acknowledgement = \"Any users of IMOS data are required to clearly ",
                "acknowledge the source of the material derived from IMOS in the format: ",
                "\\\"Data was sourced from the Integrated Marine Observing System (IMOS) - IMOS is ",
                "a national collaborative research infrastructure, supported by the Australian ",
                "Government.\\\"\" ;"
            ));
        });
        // The later attribute replaces the first one.
        assert_eq!(groups(&Imos14, ACK, &wording_2016)[&ack], (1, 1));
        assert_eq!(groups(&Imos13, ACK, &wording_2016)[&ack], (2, 2));
        let missing = globals(|g| g.push_str("\n  :acknowledgement = \"thanks\" ;"));
        assert_eq!(groups(&Imos14, ACK, &missing)[&ack], (0, 1));
        assert_eq!(groups(&Imos13, ACK, &missing)[&ack], (1, 2));
    }

    #[test]
    fn both_versions_fail_an_empty_text_global_attribute() {
        let file =
            globals(|g| replace_line(g, r#":title = "A test mooring" ;"#, r#":title = "" ;"#));
        let got = groups_1_3_and_1_4("check_global_attributes", &file);
        assert_eq!(got[&("title".to_string(), High)], (0, 1));
        assert_eq!(got[&("abstract".to_string(), High)], (1, 1));
    }

    #[test]
    fn imos_1_3_also_checks_the_quality_control_set() {
        let file = globals(|g| {
            g.push_str("\n  :quality_control_set = 5 ;\n  :geospatial_lat_units = \"degrees_N\" ;")
        });
        assert_eq!(
            groups(&Imos13, OPTIONAL, &file),
            expect(&[
                ("geospatial_lat_units", Medium, 0, 1),
                ("geospatial_vertical_positive", Medium, 1, 1),
                ("quality_control_set", Medium, 0, 1),
            ])
        );
        // IMOS 1.4 has no quality_control_set.
        assert_eq!(
            groups(&Imos14, OPTIONAL, &file),
            expect(&[
                ("geospatial_lat_units", Medium, 0, 1),
                ("geospatial_vertical_positive", Medium, 1, 1),
            ])
        );
    }
}
