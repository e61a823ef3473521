//! CF chapter 3 (description of the data): units, standard names, ancillary variables, flags.

use super::model::{
    Model, Names, Py, attr, attr_str, convertible, dimensionless_standard_name, is_text,
    split_standard_name,
};
use super::section::*;
use crate::compliance::units::Unit;
use crate::compliance::{CheckResult, Dataset, GroupCtx, Priority};
use crate::netcdf::{NcType, Variable};

type Out = Result<Vec<CheckResult>, String>;

/// Appendix C modifiers and the units they need: `u` the standard name's, `1`, or none.
fn modifier_units(m: &str) -> Option<Option<&'static str>> {
    match m {
        "detection_minimum" | "standard_error" => Some(Some("u")),
        "number_of_observations" => Some(Some("1")),
        "status_flag" => Some(None),
        _ => None,
    }
}

const DIMLESS_VERTICAL_16: [&str; 9] = [
    "atmosphere_ln_pressure_coordinate",
    "atmosphere_sigma_coordinate",
    "atmosphere_hybrid_sigma_pressure_coordinate",
    "atmosphere_hybrid_height_coordinate",
    "atmosphere_sleve_coordinate",
    "ocean_sigma_coordinate",
    "ocean_s_coordinate",
    "ocean_sigma_z_coordinate",
    "ocean_double_sigma_coordinate",
];

pub(super) fn dimless_vertical_16(name: Option<&str>) -> bool {
    name.is_some_and(|n| DIMLESS_VERTICAL_16.contains(&n))
}

/// The units string cf_units receives: `str()` of the attribute, `None` as unknown.
fn units_text(v: &Variable) -> Option<String> {
    attr(v, "units").map(Py::to_py_string)
}

pub fn units(ds: &Dataset) -> Out {
    let m = Model::new(ds);
    let modifier_vars: Vec<&str> = m
        .vars
        .iter()
        .filter(|v| {
            attr_str(v, "standard_name").is_some_and(|s| {
                let mut it = s.splitn(2, ' ');
                let first = it.next().unwrap_or("");
                let rest = it.next().unwrap_or("");
                !first.is_empty()
                    && first.chars().all(|c| c.is_alphanumeric() || c == '_')
                    && rest
                        .trim_start()
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_alphanumeric() || c == '_')
            })
        })
        .map(|v| v.name.as_str())
        .collect();
    let forecast: Vec<&str> = m
        .vars
        .iter()
        .filter(|v| {
            matches!(
                attr_str(v, "standard_name"),
                Some("forecast_period" | "forecast_reference_time")
            )
        })
        .map(|v| v.name.as_str())
        .collect();
    let mut required = Names::default();
    for n in m
        .coord_vars
        .iter()
        .chain(&m.aux_coords)
        .chain(&m.geophysical)
        .chain(&forecast)
        .chain(&modifier_vars)
    {
        let v = m.var(n).expect("classified variables exist");
        let dimless_vert =
            dimless_vertical_16(attr_str(v, "standard_name")) && v.attr("units").is_none();
        if !dimless_vert {
            required.push(n);
        }
    }
    let mut out = Vec::new();
    for &name in &required {
        if m.is_compression_coordinate(name) {
            continue;
        }
        let v = m.var(name).expect("classified variables exist");
        if v.attr("cf_role").is_some() || is_text(v) {
            continue;
        }
        let (standard_name, _) = split_standard_name(v);
        let units = attr(v, "units");
        out.push(valid_cf_units(&m, v));
        let mut is_string = GroupCtx::new(S3_1, Priority::Medium);
        if let Some(u) = units
            && is_string.assert_true(matches!(u, Py::Str(_)), || {
                format!(
                    "units ({}) attribute of '{name}' must be a string compatible with UDUNITS",
                    u.to_py_string()
                )
            })
        {
            out.push(valid_udunits(&m, v));
        }
        out.push(is_string.result());
        if matches!(standard_name, Some(Py::Str(_))) {
            out.push(valid_standard_units(&m, v));
        }
    }
    Ok(out)
}

/// The reference's `_check_valid_cf_units`. Where the reference returns its context instead of a
/// result (a units string UDUNITS refuses), the reference scores a passing MEDIUM result named
/// "units"; we do the same, so scores agree (the HIGH failure comes from the UDUNITS rule).
fn valid_cf_units(m: &Model, v: &Variable) -> CheckResult {
    let name = &v.name;
    let mut ctx = GroupCtx::new(S3_1, Priority::High);
    let units = attr(v, "units");
    let (standard_name, modifier) = split_standard_name(v);
    let dimless = dimensionless_standard_name(m.table, standard_name);
    let deprecated = matches!(units, Some(Py::Str("level" | "layer" | "sigma_level")));
    ctx.assert_true(!deprecated, || {
        format!(
            "units for {name}, \"{}\" are deprecated by CF 1.6",
            units.map(Py::to_py_string).unwrap_or_default()
        )
    });
    let unit_type = match modifier {
        Some(md) => match modifier_units(md) {
            None => return ctx.result(),
            Some(t) => t,
        },
        None => Some("u"),
    };
    let reference = match unit_type {
        Some("u") => {
            let Some(Py::Str(sn)) = standard_name else {
                return ctx.result();
            };
            match m.table.canonical_units(sn) {
                Some(r) => r.to_string(),
                None => return ctx.result(),
            }
        }
        Some(_) => "1".to_string(),
        None => {
            ctx.assert_true(units.is_none(), || {
                format!(
                    "units attribute for variable {name} must be unset when status_flag standard name modifier is set"
                )
            });
            return ctx.result();
        }
    };
    let should_be_dimless = is_text(v) || dimless || standard_name.is_none();
    ctx.assert_true(should_be_dimless || units.is_some(), || {
        format!(
            "units attribute is required for {name} when variable is not a dimensionless quantity"
        )
    });
    if units.is_none() && !should_be_dimless {
        return ctx.result();
    }
    ctx.assert_true(
        should_be_dimless || matches!(units, Some(Py::Str(_))),
        || format!("units attribute for {name} needs to be a string"),
    );
    let text = units_text(v).unwrap_or_default();
    let Ok(unit) = Unit::parse(&text) else {
        return CheckResult::new("units", Priority::Medium, 1, 1, vec![]);
    };
    ctx.add(1, 1);
    let sn = standard_name.and_then(Py::as_str);
    if !matches!(sn, Some("time" | "forecast_reference_time")) {
        let ok = Unit::parse(&reference).is_ok_and(|r| unit.is_convertible(&r));
        ctx.assert_true(ok, || {
            format!(
                "Units \"{text}\" for variable {name} must be convertible to canonical units \"{reference}\""
            )
        });
    }
    ctx.result()
}

fn valid_udunits(m: &Model, v: &Variable) -> CheckResult {
    let (standard_name, _) = split_standard_name(v);
    let dimless = dimensionless_standard_name(m.table, standard_name);
    let units = units_text(v);
    let ok = is_text(v)
        || dimless
        || units.is_none()
        || units
            .as_deref()
            .is_some_and(crate::compliance::units::known);
    CheckResult::test(
        S3_1,
        Priority::High,
        ok,
        format!(
            "units for {}, \"{}\" are not recognized by UDUNITS",
            v.name,
            units.unwrap_or_default()
        ),
    )
}

fn valid_standard_units(m: &Model, v: &Variable) -> CheckResult {
    let mut ctx = GroupCtx::new(S3_1, Priority::High);
    // The reference tests the whole attribute, modifier included, here.
    if dimensionless_standard_name(m.table, attr(v, "standard_name")) {
        return ctx.result();
    }
    let (standard_name, modifier) = split_standard_name(v);
    let units = attr_str(v, "units");
    let name = &v.name;
    if modifier == Some("number_of_observations") {
        ctx.assert_true(units == Some("1"), || {
            format!(
                "When variable {name} has a standard name modifier of number_of_observations, the specified units must be 1"
            )
        });
        return ctx.result();
    }
    match standard_name.and_then(Py::as_str) {
        Some("time") => {
            let text = units_text(v);
            ctx.assert_true(
                convertible(text.as_deref(), "seconds since 1970-01-01"),
                || {
                    format!(
                        "time must be in a valid units format <unit> since <epoch> not {}",
                        text.clone().unwrap_or("None".into())
                    )
                },
            );
        }
        Some(axis @ ("latitude" | "longitude")) => {
            let allowed: &[&str] = if axis == "latitude" {
                &super::model::VALID_LAT_UNITS
            } else {
                &super::model::VALID_LON_UNITS
            };
            let ok = units
                .map(str::to_lowercase)
                .is_some_and(|u| allowed.contains(&u.as_str()) || u == "degrees");
            ctx.assert_true(ok, || {
                format!("variables defining {axis} (\"{name}\") must use degrees_north or degrees if defining a transformed grid. Currently {}", units.unwrap_or("None"))
            });
        }
        _ => {}
    }
    ctx.result()
}

pub fn standard_name(ds: &Dataset) -> Out {
    let m = Model::new(ds);
    let flag_vars = m.flag_vars();
    let names: Names = m
        .coord_vars
        .iter()
        .chain(&m.aux_coords)
        .chain(&m.axis_vars)
        .chain(&flag_vars)
        .chain(&m.geophysical)
        .copied()
        .collect();
    let mut out = Vec::new();
    for &name in &names {
        if m.is_compression_coordinate(name) {
            continue;
        }
        let v = m.var(name).expect("classified variables exist");
        if v.attr("cf_role").is_some() || is_text(v) {
            continue;
        }
        let (standard_name, modifier) = split_standard_name(v);
        let long_name = attr(v, "long_name");
        let mut long_or_std = GroupCtx::new(S3_3, Priority::High);
        if let Some(ln) = long_name {
            long_or_std.assert_true(matches!(ln, Py::Str(_)), || {
                format!("Attribute long_name for variable {name} must be a string")
            });
        }
        if let Some(sn) = standard_name {
            let mut valid = GroupCtx::new(S3_3, Priority::High);
            valid.assert_true(matches!(sn, Py::Str(_)), || {
                format!("Attribute standard_name for variable {name} must be a string")
            });
            let text = sn.as_str();
            let known = text.is_some_and(|s| m.table.contains(s));
            valid.assert_true(known, || {
                let s = text.unwrap_or("");
                let shown = if s.is_empty() { "undefined" } else { s };
                let mut msg = format!(
                    "standard_name {shown} is not defined in Standard Name Table v{}.",
                    m.table.version()
                );
                let close = m.table.close_matches(s);
                if !close.is_empty() {
                    msg += &format!(" Possible close match(es): {close:?}");
                }
                msg
            });
            out.push(valid.result());
            if let Some(md) = modifier {
                out.push(CheckResult::test(
                    S3_3,
                    Priority::High,
                    modifier_units(md).is_some(),
                    format!(
                        "Standard name modifier \"{md}\" for variable {name} is not a valid modifier according to CF Appendix C"
                    ),
                ));
            }
        }
        long_or_std.assert_true(long_name.is_some() || standard_name.is_some(), || {
            format!(
                "Attribute long_name or/and standard_name is highly recommended for variable {name}"
            )
        });
        out.push(long_or_std.result());
    }
    Ok(out)
}

pub fn ancillary_variables(ds: &Dataset) -> Out {
    let m = Model::new(ds);
    let mut out = Vec::new();
    for v in m
        .vars
        .iter()
        .filter(|v| v.attr("ancillary_variables").is_some())
    {
        let mut ctx = GroupCtx::new(S3_4, Priority::High);
        let anc = attr_str(v, "ancillary_variables");
        ctx.assert_true(anc.is_some(), || {
            format!(
                "ancillary_variables attribute defined by {} should be string",
                v.name
            )
        });
        if let Some(anc) = anc {
            for a in anc.split_whitespace() {
                ctx.assert_true(m.has_var(a), || {
                    format!("{a} is not a variable in this dataset")
                });
            }
        }
        out.push(ctx.result());
    }
    Ok(out)
}

fn numeric_values(p: Py) -> Option<Vec<f64>> {
    match p {
        Py::Scalar(v) | Py::Array(v) => v.as_f64s(),
        _ => None,
    }
}

fn integer_type(t: &NcType) -> bool {
    matches!(
        t,
        NcType::Byte
            | NcType::UByte
            | NcType::Short
            | NcType::UShort
            | NcType::Int
            | NcType::UInt
            | NcType::Int64
            | NcType::UInt64
    )
}

pub fn flags(ds: &Dataset) -> Out {
    let m = Model::new(ds);
    let mut out = Vec::new();
    for name in m.flag_vars() {
        let v = m.var(name).expect("classified variables exist");
        let values = attr(v, "flag_values");
        let masks = attr(v, "flag_masks");
        out.push(CheckResult::test(
            S3_5,
            Priority::High,
            values.is_some() || masks.is_some(),
            format!("{name} does not define either flag_masks or flag_values"),
        ));
        out.push(flag_meanings(v));
        let meanings = attr_str(v, "flag_meanings").map(|s| s.split_whitespace().count());
        if let Some(fv) = values {
            let Some(dtype) = fv.dtype() else {
                return Err(format!(
                    "{name}:flag_values is text, not numbers of the variable's type; the reference checker fails on this file"
                ));
            };
            let mut ctx = GroupCtx::new(S3_5, Priority::High);
            ctx.assert_true(v.attr("flag_meanings").is_some(), || {
                format!(
                    "Variable {name} must have attribute flag_meanings defined when flag_values attribute is present"
                )
            });
            let vals = numeric_values(fv).unwrap_or_default();
            let mut uniq = vals.clone();
            uniq.sort_by(f64::total_cmp);
            uniq.dedup();
            ctx.assert_true(uniq.len() == vals.len(), || {
                format!("{name}'s flag_values must be independent and can not be repeated")
            });
            ctx.assert_true(dtype == v.dtype, || {
                format!(
                    "flag_values ({}) must be the same data type as {name} ({})",
                    dtype.cdl_name(),
                    v.dtype.cdl_name()
                )
            });
            if let Some(n) = meanings {
                ctx.assert_true(n == vals.len(), || {
                    format!(
                        "{name}'s flag_meanings and flag_values should have the same number of elements."
                    )
                });
            }
            out.push(ctx.result());
        }
        if let Some(fm) = masks {
            let Some(dtype) = fm.dtype() else {
                return Err(format!(
                    "{name}:flag_masks is text, not numbers of the variable's type; the reference checker fails on this file"
                ));
            };
            let mut ctx = GroupCtx::new(S3_5, Priority::High);
            ctx.assert_true(dtype == v.dtype, || {
                format!(
                    "flag_masks ({}) must be the same data type as {name} ({})",
                    dtype.cdl_name(),
                    v.dtype.cdl_name()
                )
            });
            let mvals = numeric_values(fm).unwrap_or_default();
            ctx.assert_true(!mvals.contains(&0.0), || {
                format!("flag_masks for variable {name} must not contain zero as an element")
            });
            ctx.assert_true(
                integer_type(&v.dtype) || matches!(v.dtype, NcType::Char),
                || format!("{name}'s data type must be capable of bit-field expression"),
            );
            if let Some(n) = meanings {
                ctx.assert_true(n == mvals.len(), || {
                    format!(
                        "{name} flag_meanings and flag_masks should have the same number of elements."
                    )
                });
            }
            out.push(ctx.result());
        }
        if let (Some(fv), Some(fm)) = (values, masks) {
            let vals = numeric_values(fv).unwrap_or_default();
            let mvals = numeric_values(fm).unwrap_or_default();
            let ok = vals.len() == mvals.len()
                && vals
                    .iter()
                    .zip(&mvals)
                    .all(|(a, b)| ((*a as i64) & (*b as i64)) == *a as i64);
            out.push(CheckResult::test(
                S3_5,
                Priority::Medium,
                ok,
                format!("flag masks and flag values for '{name}' combined don't equal flag values"),
            ));
        }
    }
    Ok(out)
}

fn flag_meanings(v: &Variable) -> CheckResult {
    let name = &v.name;
    let mut ctx = GroupCtx::new(S3_5, Priority::High);
    let meanings = attr(v, "flag_meanings");
    ctx.assert_true(meanings.is_some(), || {
        format!("{name}'s flag_meanings attribute is required for flag variables")
    });
    let text = meanings.and_then(Py::as_str);
    ctx.assert_true(text.is_some(), || {
        format!("{name}'s flag_meanings attribute must be a string")
    });
    let Some(text) = text else {
        return ctx.result();
    };
    ctx.assert_true(!text.is_empty(), || {
        format!("{name}'s flag_meanings can't be empty")
    });
    for meaning in text.split_whitespace() {
        let ok = meaning
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.+@".contains(c));
        if !ok {
            ctx.assert_true(false, || {
                format!(
                    "{name}'s flag_meanings attribute defined an illegal flag meaning {meaning}"
                )
            });
        }
    }
    ctx.result()
}
