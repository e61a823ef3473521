//! GHRSST's own rules: the lower-case `time` variable and the variables every L2P/L3 file has.

use std::sync::LazyLock;

use crate::compliance::imos::attrs::{Expected, Target, check_attribute};
use crate::compliance::imos::model::Model;
use crate::compliance::imos::pyattr::{self, python_match};
use crate::compliance::{CheckResult, Dataset, Priority};
use crate::netcdf::NcType;

/// The variables a GHRSST file must have (HIGH each).
const MANDATORY: [&str; 12] = [
    "time",
    "lat",
    "lon",
    "dt_analysis",
    "l2p_flags",
    "quality_level",
    "satellite_zenith_angle",
    "sea_surface_temperature",
    "sses_bias",
    "sses_count",
    "sses_standard_deviation",
    "sst_dtime",
];

/// `check_mandatory_variables_exist`.
pub fn mandatory_variables_exist(
    ds: &Dataset<'_>,
    _: &Model<'_>,
) -> Result<Vec<CheckResult>, String> {
    Ok(MANDATORY
        .iter()
        .map(|name| {
            CheckResult::test(
                *name,
                Priority::High,
                ds.variable(name).is_some(),
                format!("Mandatory variable '{name}' does not exist."),
            )
        })
        .collect())
}

/// Python's `$` also matches before a final newline.
static TIME_UNITS: LazyLock<regex::Regex> =
    LazyLock::new(|| python_match(r"seconds since 1981-01-01( 00:00:00(Z|)|)\n?\z"));

/// `check_time_variable`: `time` is a 32-bit integer (MEDIUM), with standard attributes (HIGH)
/// and units of seconds since 1981-01-01 (MEDIUM). Missing units fail the rule, as in the
/// reference.
pub fn time_variable(ds: &Dataset<'_>, _: &Model<'_>) -> Result<Vec<CheckResult>, String> {
    let Some(var) = ds.variable("time") else {
        return Ok(Vec::new());
    };
    let mut out = vec![CheckResult::test(
        "time",
        Priority::Medium,
        var.dtype == NcType::Int,
        "The time variable should be of type int.",
    )];
    for (name, want) in [
        ("standard_name", "time"),
        ("axis", "T"),
        ("calendar", "gregorian"),
    ] {
        out.extend(check_attribute(
            name,
            &Expected::one_of_str(&[want]),
            Target::Var(var),
            Priority::High,
            false,
        )?);
    }
    let units = var
        .attr("units")
        .ok_or("the time variable has no units attribute")?;
    out.push(CheckResult::test(
        "time",
        Priority::Medium,
        pyattr::re_match(&TIME_UNITS, units)?,
        "time units should be r'seconds since 1981-01-01 .*'",
    ));
    Ok(out)
}
