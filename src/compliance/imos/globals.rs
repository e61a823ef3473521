//! Rules on global attributes: the mandatory and optional sets of each IMOS version, non-empty
//! text, and the acknowledgement wording.

use std::sync::LazyLock;

use super::Version;
use super::attrs::{Expected, Target, check_attribute};
use super::model::Model;
use super::pyattr::{self, Lit, python_match};
use crate::compliance::{CheckResult, Dataset, Priority};

static DISTRIBUTION_1_3: LazyLock<regex::Regex> = LazyLock::new(|| {
    python_match(concat!(
        r".*Data may be re-used, provided that related metadata explaining the data has been ",
        r"reviewed by the user, and the data is appropriately acknowledged. Data, products and ",
        r#"services from IMOS are provided "as is" without any warranty as to fitness for a "#,
        r"particular purpose\."
    ))
});

static DISCLAIMER_1_4: LazyLock<regex::Regex> = LazyLock::new(|| {
    python_match(concat!(
        r#".*Data, products and services from IMOS are provided "as is" without any warranty as "#,
        r"to fitness for a particular purpose\."
    ))
});

static VOCABULARY_1_4: LazyLock<regex::Regex> =
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

static ACK_1_3_OLD: LazyLock<regex::Regex> = LazyLock::new(|| {
    python_match(concat!(
        r".*Any users of IMOS data are required to clearly acknowledge the source of the material ",
        r"in the format:.*Data was sourced from the Integrated Marine Observing System \(IMOS\) - ",
        r"IMOS is supported by the Australian Government through the National Collaborative ",
        r"Research Infrastructure Strategy \(NCRIS\) and the Super Science Initiative \(SSI\)"
    ))
});

static ACK_1_3_NEW: LazyLock<regex::Regex> = LazyLock::new(|| {
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

static ACK_2016: LazyLock<regex::Regex> = LazyLock::new(|| {
    python_match(concat!(
        r"Any users( \(including re-?packagers\))? of IMOS data( \(including re-?packagers\))? ",
        r"are required to clearly acknowledge the source of the material( derived from IMOS)? ",
        r#"in (this|the) format: "Data was sourced from the Integrated Marine Observing System "#,
        r"\(IMOS\) - IMOS is( a national collaborative research infrastructure,)? supported by ",
        r"the Australian Government"
    ))
});

static ACK_2020: LazyLock<regex::Regex> = LazyLock::new(|| {
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
            ACK_2020.as_str()
        ),
    )])
}
