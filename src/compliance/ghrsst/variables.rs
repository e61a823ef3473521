//! GHRSST's own rules: the lower-case `time` variable and the variables every L2P/L3 file has.

use std::sync::LazyLock;

use crate::compliance::imos::attrs::{Expected, Target, check_attribute};
use crate::compliance::imos::model::Model;
use crate::compliance::imos::pyattr::{self, python_match};
use crate::compliance::{CheckResult, Dataset, Priority};
use crate::netcdf::NcType;
use crate::text_regex::TextRegex;

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
static TIME_UNITS: LazyLock<TextRegex> =
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

#[cfg(test)]
pub(super) mod tests {
    use crate::compliance::Priority::{High, Medium};
    use crate::compliance::ghrsst::Ghrsst10;
    use crate::compliance::imos::testing::{cdl, expect, groups, replace_line, run_rule};

    /// A minimal L3 file with every mandatory variable.
    pub fn l3(edit: impl FnOnce(&mut String)) -> String {
        let mut vars = String::from(
            r#"
  int time(time) ;
    time:long_name = "reference time of sst file" ;
    time:standard_name = "time" ;
    time:axis = "T" ;
    time:calendar = "gregorian" ;
    time:units = "seconds since 1981-01-01 00:00:00" ;
  float lat(lat) ;
    lat:long_name = "latitude" ;
    lat:units = "degrees_north" ;
  float lon(lon) ;
    lon:long_name = "longitude" ;
    lon:units = "degrees_east" ;
  short sea_surface_temperature(time, lat, lon) ;
    sea_surface_temperature:long_name = "sea surface skin temperature" ;
    sea_surface_temperature:units = "kelvin" ;
    sea_surface_temperature:_FillValue = -32768s ;
    sea_surface_temperature:coordinates = "time lat lon" ;"#,
        );
        for name in [
            "dt_analysis",
            "l2p_flags",
            "quality_level",
            "satellite_zenith_angle",
            "sses_bias",
            "sses_count",
            "sses_standard_deviation",
            "sst_dtime",
        ] {
            vars.push_str(&format!(
                "\n  byte {name}(time, lat, lon) ;\n    {name}:long_name = \"{name}\" ;\
                 \n    {name}:flag_meanings = \"x\" ;"
            ));
        }
        edit(&mut vars);
        cdl(
            "  time = 1 ;\n  lat = 2 ;\n  lon = 2 ;",
            &vars,
            r#"  :title = "An L3 test file" ;"#,
            "  time = 1000 ;\n  lat = -10, -9 ;\n  lon = 110, 111 ;",
        )
    }

    #[test]
    fn every_mandatory_variable_exists() {
        const RULE: &str = "check_mandatory_variables_exist";
        let got = groups(&Ghrsst10, RULE, &l3(|_| {}));
        assert_eq!(got.len(), 12);
        assert!(got.values().all(|&(s, p)| s == p), "{got:?}");
        let missing = l3(|v| *v = v.replace("sses_bias", "bias"));
        assert_eq!(
            groups(&Ghrsst10, RULE, &missing)[&("sses_bias".to_string(), High)],
            (0, 1)
        );
    }

    #[test]
    fn time_is_an_int_of_seconds_since_1981() {
        const RULE: &str = "check_time_variable";
        assert_eq!(
            groups(&Ghrsst10, RULE, &l3(|_| {})),
            expect(&[("time", High, 3, 3), ("time", Medium, 2, 2)])
        );
        let wrong = l3(|v| {
            *v = v.replace("int time(time) ;", "double time(time) ;");
            replace_line(
                v,
                r#"time:units = "seconds since 1981-01-01 00:00:00" ;"#,
                r#"time:units = "seconds since 1981-01-01 00:00" ;"#,
            );
            replace_line(v, r#"time:axis = "T" ;"#, "");
        });
        assert_eq!(
            groups(&Ghrsst10, RULE, &wrong),
            expect(&[("time", High, 2, 3), ("time", Medium, 0, 2)])
        );
        // The reference reads `time.units` directly: without it the rule fails.
        let no_units = l3(|v| {
            replace_line(
                v,
                r#"time:units = "seconds since 1981-01-01 00:00:00" ;"#,
                "",
            )
        });
        assert!(run_rule(&Ghrsst10, RULE, &no_units).is_err());
    }
}
