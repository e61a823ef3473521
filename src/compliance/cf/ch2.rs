//! CF chapter 2 (NetCDF files and components): file name, data types, names, dimensions, fill
//! values against valid ranges, and the conventional global attributes.

use std::collections::BTreeMap;

use super::model::{Model, Py, attr, is_text};
use super::section::*;
use crate::compliance::{CheckResult, Dataset, GroupCtx, Priority};
use crate::netcdf::NcType;

type Out = Result<Vec<CheckResult>, String>;

pub fn filename(ds: &Dataset) -> Out {
    let ok = ds.filename.ends_with("nc");
    Ok(vec![CheckResult::test(
        S2_1,
        Priority::High,
        ok,
        format!("Dataset path {} must end with \".nc\"", ds.filename),
    )])
}

pub fn data_types(ds: &Dataset) -> Out {
    let vars = &ds.summary.variables;
    let fails: Vec<String> = vars
        .iter()
        .filter(|v| {
            !matches!(
                v.dtype,
                NcType::Char
                    | NcType::String
                    | NcType::Byte
                    | NcType::Short
                    | NcType::Int
                    | NcType::Float
                    | NcType::Double
            )
        })
        .map(|v| {
            format!(
                "The variable {} failed because the datatype is {}",
                v.name,
                v.dtype.cdl_name()
            )
        })
        .collect();
    let total = vars.len() as u32;
    Ok(vec![CheckResult::new(
        S2_2,
        Priority::High,
        total - fails.len() as u32,
        total,
        fails,
    )])
}

/// The reference's `_parent_var_attr_type_check`: the attribute has the variable's type.
fn same_type_as_var(ctx: &mut GroupCtx, v: &crate::netcdf::Variable, name: &str) {
    let Some(a) = attr(v, name) else { return };
    let ok = match a {
        Py::Str(_) | Py::List => is_text(v),
        _ => a.dtype().as_ref() == Some(&v.dtype),
    };
    ctx.assert_true(ok, || {
        format!(
            "Attribute '{name}' (type: {}) and parent variable '{}' (type: {}) must have equivalent datatypes",
            a.dtype().map_or("str".into(), |t| t.cdl_name().to_string()),
            v.name,
            v.dtype.cdl_name()
        )
    });
}

pub fn child_attr_data_types(ds: &Dataset) -> Out {
    let mut ctx = GroupCtx::new(S2_5, Priority::Medium);
    // The reference iterates a set; the order only changes message order.
    for v in &ds.summary.variables {
        for name in [
            "actual_range",
            "valid_min",
            "valid_max",
            "valid_range",
            "_FillValue",
        ] {
            same_type_as_var(&mut ctx, v, name);
        }
    }
    Ok(vec![ctx.result()])
}

pub fn add_offset_scale_factor_type(ds: &Dataset) -> Out {
    let vars = &ds.summary.variables;
    let mut out = Vec::new();
    let mut both_msgs = Vec::new();
    let mut both: Vec<_> = vars
        .iter()
        .filter(|v| v.attr("add_offset").is_some() && v.attr("scale_factor").is_some())
        .collect();
    both.sort_by(|a, b| a.name.cmp(&b.name));
    for v in both {
        let (s, a) = (attr(v, "scale_factor"), attr(v, "add_offset"));
        let (Some(st), Some(at)) = (s.and_then(Py::dtype), a.and_then(Py::dtype)) else {
            return Err(format!(
                "variable {}: scale_factor and add_offset must be numeric (one is text); \
                 the reference checker fails on this file",
                v.name
            ));
        };
        if st != at {
            both_msgs.push(format!(
                "When both scale_factor and add_offset are supplied for variable {}, they must have the same type",
                v.name
            ));
        }
    }
    out.push(CheckResult::new(
        S8_1,
        Priority::Medium,
        both_msgs.is_empty() as u32,
        1,
        both_msgs,
    ));
    for name in ["add_offset", "scale_factor"] {
        for v in vars.iter().filter(|v| v.attr(name).is_some()) {
            let ok = match attr(v, name) {
                Some(Py::Scalar(a)) => {
                    a.nc_type() == v.dtype
                        || (matches!(a.nc_type(), NcType::Float | NcType::Double)
                            && matches!(
                                v.dtype,
                                NcType::Byte | NcType::Short | NcType::Int | NcType::Int64
                            ))
                }
                _ => false,
            };
            out.push(CheckResult::test(
                S8_1,
                Priority::Medium,
                ok,
                format!(
                    "Variable {0} and {name} must be equivalent data types or {0} must be of type byte, short, or int and {name} must be float or double",
                    v.name
                ),
            ));
        }
    }
    Ok(out)
}

fn cf_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_ascii_alphabetic())
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

pub fn naming_conventions(ds: &Dataset) -> Out {
    let mut vars_ctx = GroupCtx::new(S2_3, Priority::Medium);
    let mut dims_ctx = GroupCtx::new(S2_3, Priority::Medium);
    let mut attrs_ctx = GroupCtx::new(S2_3, Priority::Medium);
    let ignore = [
        "_FillValue",
        "DODS",
        "_ChunkSizes",
        "_Coordinate",
        "_Unsigned",
    ];
    for v in &ds.summary.variables {
        vars_ctx.assert_true(cf_name(&v.name), || {
            format!(
                "variable {} should begin with a letter and be composed of letters, digits, and underscores",
                v.name
            )
        });
        for a in &v.attributes {
            if ignore.contains(&a.name.as_str())
                || a.name.starts_with("DODS")
                || a.name.starts_with("_Coordinate")
            {
                continue;
            }
            attrs_ctx.assert_true(cf_name(&a.name), || {
                format!(
                    "attribute {}:{} should begin with a letter and be composed of letters, digits, and underscores",
                    v.name, a.name
                )
            });
        }
    }
    for d in &ds.summary.dimensions {
        dims_ctx.assert_true(cf_name(&d.name), || {
            format!(
                "dimension {} should begin with a latter and be composed of letters, digits, and underscores",
                d.name
            )
        });
    }
    for a in &ds.summary.global_attributes {
        if a.name.starts_with("DODS") || a.name.starts_with("EXTRA_DIMENSION") {
            continue;
        }
        attrs_ctx.assert_true(cf_name(&a.name), || {
            format!(
                "global attribute {} should begin with a letter and be composed of letters, digits, and underscores",
                a.name
            )
        });
    }
    Ok(vec![
        vars_ctx.result(),
        dims_ctx.result(),
        attrs_ctx.result(),
    ])
}

pub fn names_unique(ds: &Dataset) -> Out {
    let vars = &ds.summary.variables;
    let mut names: BTreeMap<String, u32> = BTreeMap::new();
    for v in vars {
        *names.entry(v.name.to_lowercase()).or_default() += 1;
    }
    let fails: Vec<String> = names
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(k, _)| format!("Variables are not case sensitive. Duplicate variables named: {k}"))
        .collect();
    let total = vars.len() as u32;
    Ok(vec![CheckResult::new(
        S2_3,
        Priority::Medium,
        total - fails.len() as u32,
        total,
        fails,
    )])
}

pub fn dimension_names(ds: &Dataset) -> Out {
    let vars = &ds.summary.variables;
    let mut fails = Vec::new();
    for v in vars {
        let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
        for d in &v.dimensions {
            *counts.entry(d).or_default() += 1;
        }
        for (d, _) in counts.iter().filter(|(_, n)| **n > 1) {
            fails.push(format!("{} has two or more dimensions named {d}", v.name));
        }
    }
    let total = vars.len() as u32;
    Ok(vec![CheckResult::new(
        S2_4,
        Priority::High,
        total.saturating_sub(fails.len() as u32),
        total,
        fails,
    )])
}

/// The reference's `_get_coord_axis_map`: each dimension's axis letter (T, Z, Y, X; L for
/// unlimited, C compression, I instance, A auxiliary, U unknown).
fn coord_axis_map(m: &Model) -> BTreeMap<String, char> {
    let mut map = BTreeMap::new();
    for name in &m.coord_vars {
        let Some(v) = m.var(name) else { continue };
        let unlimited = m.summary.dimension(name).is_some_and(|d| d.unlimited);
        let axis = super::model::attr_str(v, "axis");
        let sn = super::model::attr_str(v, "standard_name");
        let letter = if unlimited {
            'L'
        } else if let Some(a) = axis.filter(|a| ["T", "Z", "Y", "X"].contains(a)) {
            a.chars().next().unwrap_or('U')
        } else if sn == Some("time") {
            'T'
        } else if sn == Some("longitude") {
            'X'
        } else if sn == Some("latitude") {
            'Y'
        } else if matches!(sn, Some("height" | "depth" | "altitude")) {
            'Z'
        } else if m.is_compression_coordinate(name) {
            'C'
        } else if m.time_vars.contains(name) {
            'T'
        } else if m.z_vars.contains(name) {
            'Z'
        } else if m.lat_vars.contains(name) {
            'Y'
        } else if m.lon_vars.contains(name) {
            'X'
        } else {
            'U'
        };
        map.insert(name.to_string(), letter);
    }
    for v in m.vars {
        if attr(v, "cf_role").and_then(Py::as_str).is_some()
            && let Some(d) = v.dimensions.first()
        {
            map.entry(d.clone()).or_insert('I');
        }
    }
    for name in &m.aux_coords {
        let Some(v) = m.var(name) else { continue };
        if is_text(v) {
            continue;
        }
        for d in &v.dimensions {
            map.entry(d.clone()).or_insert('A');
        }
    }
    for d in &m.summary.dimensions {
        map.entry(d.name.clone()).or_insert('U');
    }
    map
}

fn dims_in_order(order: &str) -> bool {
    let rest = order.trim_start_matches(|c| !"TZYX".contains(c));
    let mut it = rest.chars().peekable();
    for want in ['T', 'Z', 'Y', 'X'] {
        if it.peek() == Some(&want) {
            it.next();
        }
    }
    it.next().is_none()
}

pub fn dimension_order(ds: &Dataset) -> Out {
    let m = Model::new(ds);
    let map = coord_axis_map(&m);
    let mut ctx = GroupCtx::new(S2_4, Priority::Medium);
    for v in m.vars {
        if m.boundary_vars.contains(v.name.as_str()) || m.clim_var == Some(v.name.as_str()) {
            continue;
        }
        if is_text(v) || v.dimensions.is_empty() {
            continue;
        }
        let order: String = v
            .dimensions
            .iter()
            .map(|d| map.get(d).copied().unwrap_or('U'))
            .collect();
        ctx.assert_true(dims_in_order(&order), || {
            let pretty: Vec<String> = v
                .dimensions
                .iter()
                .zip(order.chars())
                .map(|(d, t)| {
                    let unlimited = ds.summary.dimension(d).is_some_and(|x| x.unlimited);
                    if unlimited {
                        format!("{d} ({t}, unlimited)")
                    } else {
                        format!("{d} ({t})")
                    }
                })
                .collect();
            format!(
                "{}'s spatio-temporal dimensions are not in the recommended order T, Z, Y, X and/or further dimensions are not located left of T, Z, Y, X. The dimensions (and their guessed types) are {} (with U: other/unknown; L: unlimited).",
                v.name,
                pretty.join(", ")
            )
        });
    }
    Ok(vec![ctx.result()])
}

pub fn fill_value_outside_valid_range(ds: &Dataset) -> Out {
    let mut ctx = GroupCtx::new(S2_5, Priority::Medium);
    for v in &ds.summary.variables {
        let Some(fill) = attr(v, "_FillValue") else {
            continue;
        };
        let (rmin, rmax, spec) = if let Some(range) = attr(v, "valid_range") {
            let Some(values) = range_values(range) else {
                ctx.assert_true(false, || {
                    format!(
                        "§2.5.1 Fill Values should be outside the range specified by valid_range;\n\t{}:valid_range must be a numeric type not a string",
                        v.name
                    )
                });
                continue;
            };
            if values.len() != 2 {
                return Err(format!(
                    "{}:valid_range has {} values, not 2; the reference checker fails on this file",
                    v.name,
                    values.len()
                ));
            }
            (values[0], values[1], "valid_range")
        } else if let (Some(lo), Some(hi)) = (attr(v, "valid_min"), attr(v, "valid_max")) {
            let text = |p: Py| matches!(p, Py::Str(_));
            if text(lo) {
                ctx.assert_true(false, || {
                    format!("{}:valid_min must be a numeric type not a string", v.name)
                });
            }
            if text(hi) {
                ctx.assert_true(false, || {
                    format!("{}:valid_max must be a numeric type not a string", v.name)
                });
            }
            if text(lo) || text(hi) {
                continue;
            }
            let (Some(lo), Some(hi)) = (scalar(lo), scalar(hi)) else {
                return Err(format!(
                    "{}: valid_min/valid_max are not single numbers; the reference checker fails on this file",
                    v.name
                ));
            };
            (lo, hi, "valid_min/valid_max")
        } else {
            continue;
        };
        let Some(f) = scalar(fill) else {
            return Err(format!(
                "{}:_FillValue is not a single number; the reference checker fails on this file",
                v.name
            ));
        };
        let ok = f.is_nan() || f < rmin || f > rmax;
        ctx.assert_true(ok, || {
            format!(
                "{}:_FillValue ({f}) should be outside the range specified by {spec} ({rmin}, {rmax})",
                v.name
            )
        });
    }
    Ok(vec![ctx.result()])
}

fn range_values(p: Py) -> Option<Vec<f64>> {
    match p {
        Py::Scalar(v) | Py::Array(v) => v.as_f64s(),
        _ => None,
    }
}

fn scalar(p: Py) -> Option<f64> {
    match p {
        Py::Scalar(v) => v.as_f64(),
        _ => None,
    }
}

pub fn convention_globals(ds: &Dataset) -> Out {
    let mut ctx = GroupCtx::new(S2_6, Priority::Medium);
    for name in ["title", "history"] {
        let ok = ds
            .global(name)
            .map(Py::of)
            .and_then(Py::as_str)
            .is_some_and(|s| !s.is_empty());
        ctx.assert_true(ok, || {
            format!("§2.6.2 global attribute {name} should exist and be a non-empty string")
        });
    }
    Ok(vec![ctx.result()])
}

pub fn convention_possibly_var_attrs(ds: &Dataset) -> Out {
    let names = ["institution", "source", "references", "comment"];
    let mut ctx = GroupCtx::new(S2_6, Priority::Medium);
    for v in &ds.summary.variables {
        for a in v
            .attributes
            .iter()
            .filter(|a| names.contains(&a.name.as_str()))
        {
            let ok = Py::of(&a.value).as_str().is_some_and(|s| !s.is_empty());
            ctx.assert_true(ok, || {
                format!("§2.6.2 {}:{} should be a non-empty string", v.name, a.name)
            });
        }
    }
    for a in ds
        .summary
        .global_attributes
        .iter()
        .filter(|a| names.contains(&a.name.as_str()))
    {
        let ok = Py::of(&a.value).as_str().is_some_and(|s| !s.is_empty());
        ctx.assert_true(ok, || {
            format!(
                "§2.6.2 {} global attribute should be a non-empty string",
                a.name
            )
        });
    }
    Ok(vec![ctx.result()])
}

pub fn conventions_version(ds: &Dataset) -> Out {
    let (ok, msg) = match ds.global("Conventions").map(Py::of) {
        None => (false, "§2.6.1 Conventions field is not present".to_string()),
        Some(Py::Str(s)) => (
            s.split(|c: char| c == ',' || c.is_whitespace())
                .any(|c| c == "CF-1.6"),
            "§2.6.1 Conventions global attribute does not contain \"CF-1.6\"".to_string(),
        ),
        Some(_) => {
            return Err(
                "the Conventions global attribute is not text; the reference checker fails on this file"
                    .into(),
            );
        }
    };
    Ok(vec![CheckResult::test(S2_6, Priority::Medium, ok, msg)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dimension_order_follows_the_reference_pattern() {
        for ok in ["TZYX", "UT", "UUTX", "", "X", "IT", "TY"] {
            assert!(dims_in_order(ok), "{ok}");
        }
        for bad in ["XT", "TU", "ZT", "TT"] {
            assert!(!dims_in_order(bad), "{bad}");
        }
    }
}
