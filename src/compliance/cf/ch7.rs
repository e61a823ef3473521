//! CF chapters 7 and 8 (cells, reduction of dataset size): cell boundaries, measures, methods,
//! climatological statistics, packed data, compression by gathering.

use std::sync::LazyLock;

use super::model::{Model, Py, attr, attr_str, is_text};
use super::section::*;
use crate::compliance::units::Unit;
use crate::compliance::{CheckResult, Dataset, GroupCtx, Priority};
use crate::netcdf::NcType;
use crate::text_regex::TextRegex;

type Out = Result<Vec<CheckResult>, String>;

fn bool_result(section: &'static str, p: Priority, reasons: Vec<String>) -> CheckResult {
    let ok = reasons.is_empty();
    CheckResult::new(section, p, ok as u32, 1, reasons)
}

pub fn cell_boundaries(ds: &Dataset) -> Out {
    let m = Model::new(ds);
    let mut out = Vec::new();
    for (name, bname) in m.boundary_map() {
        let v = m.var(name).expect("classified variables exist");
        let b = m.var(bname).expect("classified variables exist");
        let mut reasons = Vec::new();
        let (vn, bn) = (v.dimensions.len(), b.dimensions.len());
        if bn < 2 {
            reasons.push(format!("Boundary variable {bname} specified by {name} should have at least two dimensions to enclose the base case of a one dimensionsal variable"));
        }
        if bn != vn + 1 {
            reasons.push(format!("The number of dimensions of the variable {name} is {vn}, but the number of dimensions of the boundary variable {bname} is {bn}. The boundary variable should have {} dimensions", vn + 1));
        }
        if b.dimensions.get(..vn) != Some(&v.dimensions[..]) {
            reasons.push(format!("Boundary variable coordinates (for {name}) are in improper order: {:?}. Bounds-specific dimensions should be last", b.dimensions));
        }
        let Some(last) = b.dimensions.last() else {
            return Err(format!(
                "boundary variable {bname} has no dimensions; the reference checker fails on this file"
            ));
        };
        if m.dim_len(last) < bn {
            reasons.push(format!("Dimension {bname} of boundary variable (for {name}) must have at least {} elements to form a simplex/closed cell with previous dimensions {:?}.", vn + 1, &b.dimensions[..bn - 1]));
        }
        out.push(bool_result(S7_1, Priority::Medium, reasons));
    }
    Ok(out)
}

pub fn cell_measures(ds: &Dataset) -> Out {
    let m = Model::new(ds);
    static RE: LazyLock<TextRegex> = LazyLock::new(|| TextRegex::new(r"^(?:area|volume): (\w+)$"));
    let re = &*RE;
    let mut out = Vec::new();
    let mut reasons: Vec<String> = Vec::new();
    for v in m.vars.iter().filter(|v| v.attr("cell_measures").is_some()) {
        let text = attr_str(v, "cell_measures").ok_or_else(|| {
            format!(
                "{}:cell_measures is not text; the reference checker fails on this file",
                v.name
            )
        })?;
        // The reference keeps appending to one list of reasons across variables.
        let valid = match re.captures(text) {
            None => {
                reasons.push(format!("The cell_measures attribute for variable {} is formatted incorrectly.  It should take the form of either 'area: cell_var' or 'volume: cell_var' where cell_var is the variable describing the cell measures", v.name));
                false
            }
            Some(c) => {
                let cm = &c[1];
                match m.var(cm) {
                    None => {
                        reasons.push(format!("Cell measure variable {cm} referred to by {} is not present in dataset variables", v.name));
                        false
                    }
                    Some(cv) => {
                        let mut ok = true;
                        if cv.attr("units").is_none() {
                            ok = false;
                            reasons.push(format!("Cell measure variable {cm} is required to have units attribute defined."));
                        }
                        if !cv.dimensions.iter().all(|d| v.dimensions.contains(d)) {
                            ok = false;
                            reasons.push(format!("Cell measure variable {cm} must have dimensions which are a subset of those defined in variable {}.", v.name));
                        }
                        ok
                    }
                }
            }
        };
        out.push(CheckResult::new(
            S7_2,
            Priority::Medium,
            valid as u32,
            1,
            reasons.clone(),
        ));
    }
    Ok(out)
}

const METHODS: [&str; 11] = [
    "point",
    "sum",
    "mean",
    "maximum",
    "minimum",
    "mid_range",
    "standard_deviation",
    "variance",
    "mode",
    "median",
    "sum_of_squares",
];

pub fn cell_methods(ds: &Dataset) -> Out {
    static RE: LazyLock<TextRegex> = LazyLock::new(|| {
        TextRegex::new(
            r"(?P<vars>(?:\w+: )+)(?P<method>\w+) ?(?P<where>where (?P<wtypevar>\w+) ?(?P<over>over (?P<otypevar>\w+))?| ?)(?:\((?P<paren_contents>[^)]*)\))?",
        )
    });
    let re = &*RE;
    let mut out = Vec::new();
    for v in &ds.summary.variables {
        let Some(p) = attr(v, "cell_methods") else {
            continue;
        };
        if !p.truthy()? {
            continue;
        }
        let method = p.as_str().ok_or_else(|| {
            format!(
                "{}:cell_methods is not text; the reference checker fails on this file",
                v.name
            )
        })?;
        let matches_at_start = re.find(method).is_some_and(|(start, _)| start == 0);
        out.push(CheckResult::test(
            S7_3,
            Priority::High,
            matches_at_start,
            format!(
                "\"{method}\" is not a valid format for cell_methods attribute of \"{}\"",
                v.name
            ),
        ));
        let coordinates = attr_str(v, "coordinates").unwrap_or("");
        let mut names = GroupCtx::new(S7_3, Priority::Medium);
        let mut methods = GroupCtx::new(S7_3, Priority::Medium);
        let mut parens = Vec::new();
        for c in re.captures_iter(method) {
            for raw in c["vars"].split(": ").filter(|s| !s.is_empty()) {
                let ok = v.dimensions.iter().any(|d| d == raw)
                    || raw == "area"
                    || coordinates.contains(raw);
                names.assert_true(ok, || {
                    format!("{}'s cell_methods name component {raw} does not match a dimension, area or auxiliary coordinate", v.name)
                });
            }
            let meth = &c["method"];
            methods.assert_true(METHODS.contains(&meth.to_lowercase().as_str()), || {
                format!("{}:cell_methods contains an invalid method: {meth}", v.name)
            });
            if let Some(pc) = c.name("paren_contents") {
                parens.push(paren_info(pc, &v.name));
            }
        }
        out.push(names.result());
        out.push(methods.result());
        out.extend(parens);
    }
    Ok(out)
}

fn paren_info(contents: &str, var: &str) -> CheckResult {
    let mut ctx = GroupCtx::new(S7_3, Priority::Medium);
    if !contents.contains(':') {
        ctx.add(1, 1);
        return ctx.result();
    }
    // The reference's `(\S+:)\s+(.*(?=\s+\w+:)|[^:]+$)\s*`, without look-ahead: split at each
    // `keyword:` that follows whitespace.
    static KW: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let kw = KW.get_or_init(|| regex::Regex::new(r"(\S+:)\s+").expect("a valid pattern"));
    let starts: Vec<_> = kw.find_iter(contents).collect();
    let mut pieces: Vec<(String, String, String)> = Vec::new();
    for (i, s) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(contents.len(), |n| n.start());
        let body = &contents[s.end()..end];
        let keyword = kw
            .captures(s.as_str())
            .map(|c| c[1].to_string())
            .unwrap_or_default();
        pieces.push((
            keyword,
            body.trim_end().to_string(),
            contents[s.start()..end].to_string(),
        ));
    }
    let n = pieces.len();
    for (i, (keyword, val, _)) in pieces.iter().enumerate() {
        match keyword.as_str() {
            "interval:" => {
                ctx.add(0, 2);
                let parts: Vec<&str> = val.split_whitespace().collect();
                if parts.len() != 2 {
                    ctx.message(format!("§7.3.3 {var}:cell_methods contains an interval specification that does not parse: \"{val}\". Should be in format \"interval: <number> <units>\""));
                } else {
                    if parts[0].parse::<f64>().is_ok() {
                        ctx.add(1, 0);
                    } else {
                        ctx.message(format!("§7.3.3 {var}:cell_methods contains an interval value that does not parse as a numeric value: \"{}\".", parts[0]));
                    }
                    if Unit::parse(parts[1]).is_ok() {
                        ctx.add(1, 0);
                    } else {
                        ctx.message(format!("§7.3.3 {var}:cell_methods interval units \"{}\" is not parsable by UDUNITS.", parts[1]));
                    }
                }
            }
            "comment:" => {
                ctx.add(0, 1);
                if n == 1 {
                    ctx.message(format!("§7.3.3 If there is no standardized information, the keyword comment: should be omitted for variable {var}"));
                } else if i != n - 1 {
                    ctx.message(format!("§7.3.3 The non-standard \"comment:\" element must come after any standard elements in cell_methods for variable {var}"));
                } else {
                    ctx.add(1, 0);
                }
            }
            other => {
                ctx.add(0, 1);
                ctx.message(format!("§7.3.3 Invalid cell_methods keyword \"{other}\" for variable {var}. Must be one of [interval, comment]"));
            }
        }
    }
    let rebuilt: String = pieces.iter().map(|p| p.2.as_str()).collect();
    ctx.assert_true(rebuilt == contents, || {
        format!(
            "§7.3.3 Parenthetical content inside {var}:cell_methods is not well formed: {contents}"
        )
    });
    ctx.result()
}

pub fn climatological_statistics(ds: &Dataset) -> Out {
    let m = Model::new(ds);
    let mut out = Vec::new();
    let mut reasons: Vec<String> = Vec::new();
    let (mut total, valid) = (0u32, 0u32);
    let mut clim_coords: Vec<&str> = Vec::new();
    for cv in m.vars.iter().filter(|v| v.attr("climatology").is_some()) {
        let mut ctx = GroupCtx::new(S7_3, Priority::Medium);
        let target = attr_str(cv, "climatology").and_then(|c| m.var(c));
        if cv.attr("bounds").is_some() {
            ctx.add(0, 1);
            ctx.message(format!(
                "Variable {} has a climatology attribute and cannot also have a bounds attribute.",
                cv.name
            ));
        } else if let Some(clim) = target {
            if is_text(clim) {
                ctx.add(0, 1);
                ctx.message(format!(
                    "Climatology variable {} is not a numeric type",
                    clim.name
                ));
            }
            if clim.attr("_FillValue").is_some() || clim.attr("missing_value").is_some() {
                ctx.add(0, 1);
                ctx.message(format!(
                    "Climatology variable {} may not containattributes _FillValue or missing_value",
                    clim.name
                ));
            }
            for same in ["units", "standard_name", "calendar"] {
                if let Some(a) = clim.attr(same) {
                    ctx.assert_true(cv.attr(same) == Some(a), || {
                        format!("Attribute {same} must have the same value in both variables {{clim_var.name}} and {{clim_coord_var.name}}")
                    });
                }
            }
        } else {
            return Err(format!(
                "{}:climatology names no variable of this file; the reference checker fails on this file",
                cv.name
            ));
        }
        out.push(ctx.result());
        let clim = target.ok_or_else(|| format!("{}: climatology variable missing", cv.name))?;
        let n = cv.dimensions.len();
        if clim.dimensions.get(..n) != Some(&cv.dimensions[..]) {
            total += 1;
            reasons.push(format!("Climatology variable coordinates are in improper order: {:?}. Bounds-specific dimensions should be last", clim.dimensions));
            out.push(CheckResult::new(
                S7_4,
                Priority::Medium,
                valid,
                total,
                reasons.clone(),
            ));
        } else if clim.dimensions.last().is_some_and(|d| m.dim_len(d) != 2) {
            reasons.push(format!(
                "Climatology dimension \"{}\" should only contain two elements",
                clim.name
            ));
            total += 1;
            out.push(CheckResult::new(
                S7_4,
                Priority::Medium,
                valid,
                total,
                reasons.clone(),
            ));
        }
        clim_coords.push(&cv.name);
    }
    static RE: LazyLock<TextRegex> = LazyLock::new(|| {
        TextRegex::new(format!(
            r"^time: (?:{0}) within (years|days) time: (?:{0}) over (years|days)(?: time: (?:{0}) over years)?(?: \([^)]+\))?$",
            METHODS[..10].join("|")
        ))
    });
    let re = &*RE;
    let mut valid = valid;
    for v in m.vars.iter().filter(|v| v.attr("cell_methods").is_some()) {
        if !v
            .dimensions
            .iter()
            .any(|d| clim_coords.contains(&d.as_str()))
        {
            continue;
        }
        total += 1;
        let cm = attr_str(v, "cell_methods").unwrap_or("");
        // `\1(?<=days)`: the second period repeats the first and is "days".
        let ok = re
            .captures(cm)
            .is_some_and(|c| &c[1] == "days" && &c[2] == "days");
        if ok {
            valid += 1;
        } else {
            reasons.push(format!("The \"time: method within years/days over years/days\" format is not correct in variable {}.", v.name));
        }
        out.push(CheckResult::new(
            S7_4,
            Priority::Medium,
            valid,
            total,
            reasons.clone(),
        ));
    }
    Ok(out)
}

fn py_type_name(p: Py) -> String {
    match p {
        Py::Str(_) => "str".into(),
        Py::List => "list".into(),
        Py::Scalar(v) => format!("scalar {}", v.nc_type().cdl_name()),
        Py::Array(_) => "ndarray".into(),
    }
}

pub fn packed_data(ds: &Dataset) -> Out {
    let mut out = Vec::new();
    for v in &ds.summary.variables {
        let ao = attr(v, "add_offset");
        let sf = attr(v, "scale_factor");
        let truthy = |p: Option<Py>| -> Result<bool, String> {
            p.map_or(Ok(false), |p| p.truthy())
                .map_err(|e| format!("{}: {e}; the reference checker fails on this file", v.name))
        };
        let (ao_t, sf_t) = (truthy(ao)?, truthy(sf)?);
        if !(ao_t || sf_t) {
            continue;
        }
        let ao = if ao_t { ao } else { sf };
        let sf = if sf_t { sf } else { ao };
        let (ao, sf) = (ao.expect("one is set"), sf.expect("one is set"));
        let mut reasons = Vec::new();
        if py_type_name(ao) != py_type_name(sf) {
            reasons.push(
                "Attributes add_offset and scale_factor have different data type.".to_string(),
            );
        } else if sf.dtype().as_ref() != Some(&v.dtype) || !matches!(sf, Py::Scalar(_)) {
            let float = matches!(sf, Py::Scalar(x) if matches!(x.nc_type(), NcType::Float | NcType::Double));
            if !float {
                reasons.push(
                    "Attributes add_offset and scale_factor are not of type float or double."
                        .to_string(),
                );
            } else if !matches!(
                v.dtype,
                NcType::Byte | NcType::Short | NcType::Int | NcType::Int64
            ) {
                reasons.push("Variable is not of type byte, short, or int as required for different type add_offset/scale_factor.".to_string());
            }
        }
        out.push(bool_result(S8_1, Priority::Medium, reasons));
        let mut reasons = Vec::new();
        for a in ["_FillValue", "valid_min", "valid_max", "valid_range"] {
            let Some(p) = attr(v, a) else { continue };
            let Some(t) = p.dtype() else {
                return Err(format!(
                    "{}:{a} is text on a packed variable; the reference checker fails on this file",
                    v.name
                ));
            };
            if t != v.dtype {
                reasons.push(format!(
                    "Type of {}:{a} attribute ({}) does not match variable type ({})",
                    v.name,
                    t.cdl_name(),
                    v.dtype.cdl_name()
                ));
            }
        }
        out.push(bool_result(S8_1, Priority::Medium, reasons));
    }
    Ok(out)
}

pub fn compression_gathering(ds: &Dataset) -> Out {
    let mut out = Vec::new();
    for v in ds
        .summary
        .variables
        .iter()
        .filter(|v| v.attr("compress").is_some())
    {
        let compress = attr_str(v, "compress").ok_or_else(|| {
            format!(
                "{}:compress is not text; the reference checker fails on this file",
                v.name
            )
        })?;
        let mut reasons = Vec::new();
        if v.dimensions.len() != 1 {
            reasons.push(format!(
                "Compression variable {} may only have one dimension",
                v.name
            ));
        }
        let integer = matches!(
            v.dtype,
            NcType::Byte
                | NcType::UByte
                | NcType::Short
                | NcType::UShort
                | NcType::Int
                | NcType::UInt
                | NcType::Int64
                | NcType::UInt64
        );
        if !integer {
            reasons.push(format!(
                "Compression variable {} must be an integer type to form a proper array index",
                v.name
            ));
        }
        let mut missing: Vec<&str> = compress
            .split(' ')
            .filter(|d| ds.summary.dimension(d).is_none())
            .collect();
        missing.sort();
        missing.dedup();
        if !missing.is_empty() {
            reasons.push(format!("The following dimensions referenced by the compress attribute of variable {} do not exist: {missing:?}", v.name));
        }
        out.push(bool_result(S8_2, Priority::Medium, reasons));
    }
    Ok(out)
}
