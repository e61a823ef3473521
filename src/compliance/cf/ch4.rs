//! CF chapter 4 (coordinate types): axis attributes, latitude, longitude, vertical and time
//! coordinates, calendars.

use super::ch3::dimless_vertical_16;
use super::model::{Model, Py, attr, attr_str, convertible, is_text};
use super::section::*;
use crate::compliance::units::Unit;
use crate::compliance::{CheckResult, Dataset, GroupCtx, Priority};
use crate::netcdf::{NcType, Variable};

type Out = Result<Vec<CheckResult>, String>;

pub fn coordinate_types(ds: &Dataset) -> Out {
    let m = Model::new(ds);
    let mut out = Vec::new();
    for v in m.vars.iter().filter(|v| v.attr("axis").is_some()) {
        if m.is_compression_coordinate(&v.name) || v.attr("cf_role").is_some() || is_text(v) {
            continue;
        }
        let mut ctx = GroupCtx::new(S4, Priority::High);
        // The reference takes len() of the value; a number has none.
        let axis = match attr(v, "axis") {
            Some(Py::Str(s)) => s,
            _ => {
                return Err(format!(
                    "{}'s axis attribute is not text; the reference checker fails on this file",
                    v.name
                ));
            }
        };
        ctx.assert_true(!axis.is_empty(), || {
            format!("{}'s axis attribute must be a non-empty string", v.name)
        });
        if !axis.is_empty() {
            ctx.assert_true(["T", "X", "Y", "Z"].contains(&axis), || {
                format!(
                    "{}'s axis attribute must be T, X, Y, or Z, currently {axis}",
                    v.name
                )
            });
        }
        out.push(ctx.result());
    }
    Ok(out)
}

fn horizontal(
    m: &Model,
    names: &[&str],
    section: &'static str,
    (word, std, grid_std, axis, pole, recommended): (&str, &str, &str, &str, &str, &str),
    allowed: &[&str],
) -> Out {
    let mut out = Vec::new();
    let any_axis = !m.vars_with("axis", axis).is_empty();
    for name in names {
        let v = m.var(name).expect("classified variables exist");
        let units = attr(v, "units");
        let sn = attr_str(v, "standard_name");
        out.push(CheckResult::test(
            section,
            Priority::High,
            units.is_some(),
            format!("{word} variable '{name}' must define units"),
        ));
        let ok = if sn == Some(grid_std) {
            let text = units.map(Py::to_py_string);
            let en = text.as_deref().is_some_and(|u| {
                super::model::VALID_LAT_UNITS.contains(&u)
                    || super::model::VALID_LON_UNITS.contains(&u)
            });
            let parsed = Unit::parse(text.as_deref().unwrap_or(""))
                .map_err(|e| format!("{e}; the reference checker fails on this file"))?;
            !en && Unit::parse("degree").is_ok_and(|d| parsed.same_as(&d))
        } else {
            units
                .and_then(Py::as_str)
                .is_some_and(|u| allowed.contains(&u.to_lowercase().as_str()))
        };
        out.push(CheckResult::test(
            section,
            Priority::Medium,
            ok,
            format!("{word} variable '{name}' should define valid units for {word}"),
        ));
        if sn == Some(std) && units.and_then(Py::as_str) != Some(recommended) {
            out.push(CheckResult::new(
                section,
                Priority::Low,
                1,
                1,
                vec![format!(
                    "CF recommends {word} variable '{name}' to use units {recommended}"
                )],
            ));
        }
        out.push(CheckResult::test(
            section,
            Priority::Medium,
            sn == Some(std) || attr_str(v, "axis") == Some(axis) || any_axis,
            format!(
                "{word} variable '{name}' should define standard_name='{std}' or axis='{pole}'"
            ),
        ));
    }
    Ok(out)
}

pub fn latitude(ds: &Dataset) -> Out {
    let m = Model::new(ds);
    horizontal(
        &m,
        &m.lat_vars,
        S4_1,
        (
            "latitude",
            "latitude",
            "grid_latitude",
            "Y",
            "Y",
            "degrees_north",
        ),
        &super::model::VALID_LAT_UNITS,
    )
}

pub fn longitude(ds: &Dataset) -> Out {
    let m = Model::new(ds);
    horizontal(
        &m,
        &m.lon_vars,
        S4_2,
        (
            "longitude",
            "longitude",
            "grid_longitude",
            "X",
            "X",
            "degrees_east",
        ),
        &super::model::VALID_LON_UNITS,
    )
}

pub fn dimensional_vertical_coordinate(ds: &Dataset) -> Out {
    let m = Model::new(ds);
    let mut out = Vec::new();
    for name in &m.z_vars {
        let v = m.var(name).expect("classified variables exist");
        let sn = attr_str(v, "standard_name");
        if v.attr("formula_terms").is_some() || dimless_vertical_16(sn) {
            continue;
        }
        let units = attr(v, "units");
        let mut ctx = GroupCtx::new(S4_3, Priority::High);
        ctx.assert_true(units.and_then(Py::as_str).is_some_and(|u| !u.is_empty()), || {
            format!("§4.3.1 {name}'s units must be defined for vertical coordinates, there is no default")
        });
        let text = units.map(Py::to_py_string);
        if !convertible(text.as_deref(), "bar") {
            ctx.assert_true(matches!(attr_str(v, "positive"), Some("up" | "down")), || {
                format!("{name}: vertical coordinates not defining pressure must include a positive attribute that is either 'up' or 'down'")
            });
        }
        out.push(ctx.result());
    }
    Ok(out)
}

/// Appendix D terms of each dimensionless vertical coordinate (CF 1.6).
fn formula_terms_for(sn: &str) -> Option<&'static [&'static [&'static str]]> {
    Some(match sn {
        "atmosphere_ln_pressure_coordinate" => &[&["p0", "lev"]],
        "atmosphere_sigma_coordinate" => &[&["sigma", "ps", "ptop"]],
        "atmosphere_hybrid_sigma_pressure_coordinate" => &[&["a", "b", "ps"], &["ap", "b", "ps"]],
        "atmosphere_hybrid_height_coordinate" => &[&["a", "b", "orog"]],
        "atmosphere_sleve_coordinate" => &[&["a", "b1", "b2", "ztop", "zsurf1", "zsurf2"]],
        "ocean_sigma_coordinate" => &[&["sigma", "eta", "depth"]],
        "ocean_s_coordinate" => &[&["s", "eta", "depth", "a", "b", "depth_c"]],
        "ocean_sigma_z_coordinate" => &[&["sigma", "eta", "depth", "depth_c", "nsigma", "zlev"]],
        "ocean_double_sigma_coordinate" => &[&["sigma", "depth", "z1", "z2", "a", "href", "k_c"]],
        _ => return None,
    })
}

pub fn dimensionless_vertical_coordinates(ds: &Dataset) -> Out {
    let m = Model::new(ds);
    let mut out = Vec::new();
    static TERM: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let term_re = TERM.get_or_init(|| {
        regex::Regex::new(r"([A-Za-z][A-Za-z0-9_]*: )([A-Za-z][A-Za-z0-9_]*)")
            .expect("a valid pattern")
    });
    for name in &m.z_vars {
        let v = m.var(name).expect("classified variables exist");
        let sn = attr_str(v, "standard_name");
        let ft = attr(v, "formula_terms");
        if ft.is_none() && !dimless_vertical_16(sn) {
            continue;
        }
        let units = attr_str(v, "units");
        out.push(CheckResult::test(
            S4_3,
            Priority::Low,
            !matches!(units, Some("level" | "layer" | "sigma_level")),
            format!(
                "§4.3.2: units are deprecated by CF in variable {name}: {}",
                units.unwrap_or("None")
            ),
        ));
        let mut ctx = GroupCtx::new(S4_3, Priority::High);
        let text = ft.and_then(Py::as_str).filter(|s| !s.is_empty());
        ctx.assert_true(text.is_some(), || {
            format!("§4.3.2: {name}'s formula_terms is a required attribute and must be a non-empty string")
        });
        if let Some(text) = text {
            let matches: Vec<(String, String)> = term_re
                .captures_iter(text)
                .map(|c| (c[1].to_string(), c[2].to_string()))
                .collect();
            let mut missing: Vec<&str> = matches
                .iter()
                .map(|(_, var)| var.as_str())
                .filter(|var| !m.has_var(var))
                .collect();
            missing.sort();
            missing.dedup();
            ctx.assert_true(missing.is_empty(), || {
                format!("The following variable(s) referenced in {name}:formula_terms are not present in the dataset: {}", missing.join(", "))
            });
            let rebuilt: Vec<String> = matches.iter().map(|(t, v)| format!("{t}{v}")).collect();
            ctx.assert_true(rebuilt.join(" ") == text, || {
                "Attribute formula_terms is not well-formed".to_string()
            });
            let terms: std::collections::BTreeSet<&str> =
                matches.iter().map(|(t, _)| &t[..t.len() - 2]).collect();
            let known = sn.and_then(formula_terms_for);
            ctx.assert_true(known.is_some(), || {
                format!(
                    "unknown standard_name '{}' for dimensionless vertical coordinate {name}",
                    sn.unwrap_or("None")
                )
            });
            if let Some(sets) = known {
                let ok = sets
                    .iter()
                    .any(|set| set.len() == terms.len() && set.iter().all(|t| terms.contains(t)));
                ctx.assert_true(ok, || {
                    format!(
                        "{name}'s formula_terms are invalid for {}, please see appendix D of CF 1.6",
                        sn.unwrap_or("")
                    )
                });
            }
        }
        out.push(ctx.result());
    }
    Ok(out)
}

pub fn time_coordinate(ds: &Dataset) -> Out {
    let m = Model::new(ds);
    let mut out = Vec::new();
    for name in &m.time_vars {
        let v = m.var(name).expect("classified variables exist");
        let Some(units) = attr(v, "units") else {
            out.push(CheckResult::test(
                S4_4,
                Priority::High,
                false,
                format!("{name} does not have units"),
            ));
            continue;
        };
        out.push(CheckResult::new(S4_4, Priority::High, 1, 1, vec![]));
        out.push(CheckResult::test(
            S4_4,
            Priority::High,
            crate::compliance::units::is_time_reference(&units.to_py_string()),
            format!("{name} does not have correct time units"),
        ));
    }
    Ok(out)
}

const CALENDARS: [&str; 10] = [
    "gregorian",
    "standard",
    "proleptic_gregorian",
    "noleap",
    "365_day",
    "all_leap",
    "366_day",
    "360_day",
    "julian",
    "none",
];

fn integer(t: Option<NcType>) -> bool {
    matches!(
        t,
        Some(
            NcType::Byte
                | NcType::UByte
                | NcType::Short
                | NcType::UShort
                | NcType::Int
                | NcType::UInt
                | NcType::Int64
                | NcType::UInt64
        )
    )
}

pub fn calendar(ds: &Dataset) -> Out {
    let mut out = Vec::new();
    for v in ds
        .summary
        .variables
        .iter()
        .filter(|v| v.attr("calendar").is_some())
    {
        let standard = attr_str(v, "calendar").is_some_and(|c| CALENDARS.contains(&c));
        if standard {
            out.push(CheckResult::new(S4_4, Priority::Low, 1, 1, vec![]));
        } else {
            out.push(leap_time(v));
        }
    }
    Ok(out)
}

/// The reference's `_check_leap_time`. It counts one point it never awards, so a non-standard
/// calendar always fails; we keep that scoring (the reference's verdicts depend on it).
fn leap_time(v: &Variable) -> CheckResult {
    let name = &v.name;
    let mut ctx = GroupCtx::new(S4_4, Priority::High);
    ctx.add(0, 1);
    let ml = attr(v, "month_lengths");
    let ok_ml = ml.is_some_and(|p| integer(p.dtype()) && p_len(p) == 12);
    if !ok_ml {
        ctx.message(format!(
            "For nonstandard calendar on variable {name}, attribute month_lengths must be supplied as a 12-element integer array"
        ));
        return ctx.result();
    }
    let has_leap_year = v.attr("leap_year").is_some();
    if let Some(lm) = attr(v, "leap_month") {
        let ok = matches!(lm, Py::Scalar(x) if integer(Some(x.nc_type())) && x.as_f64().is_some_and(|m| (1.0..=12.0).contains(&m)));
        ctx.assert_true(ok, || {
            format!("When attribute leap_month is supplied for variable {name}, the value must be a scalar integer between 1 and 12")
        });
        if !has_leap_year {
            ctx.add(0, 1);
            ctx.message(format!(
                "For time variable {name}, attribute leap_year must be present if leap_month attribute is defined"
            ));
        }
    }
    if let Some(ly) = attr(v, "leap_year") {
        ctx.assert_true(matches!(ly, Py::Scalar(_)), || {
            format!("When attribute leap_year is supplied for variable {name}, the value must be a scalar integer")
        });
    }
    ctx.result()
}

fn p_len(p: Py) -> usize {
    match p {
        Py::Scalar(_) => 1,
        Py::Array(v) => v.len(),
        _ => 0,
    }
}
