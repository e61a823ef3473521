//! How the reference classifies a file's variables before its rules run (the checker's `setup`):
//! coordinate, ancillary, data and quality-control variables, and which variables look vertical.
//! Linear in the number of variables: names are looked up through the dataset's index and
//! membership in a class is a set lookup.

use super::pyattr;
use crate::compliance::Dataset;
use crate::compliance::dataset::VarIndex;
use crate::netcdf::{NcSummary, Variable};

/// The classes of a file's variables as the IMOS rules see them.
pub use crate::compliance::classes::{ImosClasses as Model, Members};

impl<'a> Model<'a> {
    /// The classes of a dataset's variables, classified on the first call for that dataset and
    /// shared by every later one (an `Err` too: every rule fails with it, as every rule of the
    /// reference's run fails when its `setup` raises).
    pub fn shared<'d>(ds: &'d Dataset<'a>) -> Result<&'d Model<'a>, String> {
        ds.imos_classes
            .get_or_init(|| Model::new(ds))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Classifies the variables. `Err` where the reference's setup raises: a `coordinates` or
    /// `ancillary_variables` attribute that is not text, or a standard name that is not text.
    pub fn new(ds: &Dataset<'a>) -> Result<Model<'a>, String> {
        let summary = ds.summary;
        let coordinates = coordinate_variables(summary, &ds.index);
        let ancillary = ancillary_variables(summary, &ds.index)?;
        let mut auxiliary = Vec::new();
        for var in &summary.variables {
            auxiliary.extend(listed_variables(&ds.index, var, "coordinates")?);
        }
        let (coordinate_set, auxiliary_set, ancillary_set) = (
            Members::of(coordinates.iter().copied()),
            Members::of(auxiliary),
            Members::of(ancillary),
        );
        let data = summary
            .variables
            .iter()
            .filter(|v| {
                !coordinate_set.contains(v)
                    && !auxiliary_set.contains(v)
                    && !ancillary_set.contains(v)
                    && !v.dimensions.is_empty()
                    && pyattr::is_numeric_type(&v.dtype)
                    && v.attr("flag_meanings").is_none()
                    && v.attr("sample_dimension").is_none()
                    && v.attr("instance_dimension").is_none()
            })
            .collect();
        let quality_control = quality_control_variables(summary)?;
        Ok(Model {
            summary,
            coordinates,
            data,
            quality_control,
            ancillary: ancillary_set,
        })
    }

    /// Whether `var` is an ancillary variable (listed in some `ancillary_variables`).
    pub fn is_ancillary(&self, var: &Variable) -> bool {
        self.ancillary.contains(var)
    }
}

/// `find_coord_vars`: for each dimension, a variable of that name whose dimensions are exactly it.
pub fn coordinate_variables<'a>(summary: &NcSummary, index: &VarIndex<'a>) -> Vec<&'a Variable> {
    summary
        .dimensions
        .iter()
        .filter_map(|d| index.variable(&d.name))
        .filter(|v| v.dimensions.len() == 1 && v.dimensions[0] == v.name)
        .collect()
}

/// The variables an attribute of `var` lists, split on single spaces as the reference does
/// (names that are not variables are dropped).
pub fn listed_variables<'a>(
    index: &VarIndex<'a>,
    var: &Variable,
    attribute: &str,
) -> Result<Vec<&'a Variable>, String> {
    let Some(value) = var.attr(attribute) else {
        return Ok(Vec::new());
    };
    let text = pyattr::as_str(value).ok_or_else(|| {
        format!(
            "attribute {}:{attribute} is a {}, not text, so its variable names cannot be read",
            var.name,
            pyattr::type_name(value)
        )
    })?;
    Ok(text
        .split(' ')
        .filter_map(|name| index.variable(name))
        .collect())
}

/// Every variable listed in some variable's `ancillary_variables`.
pub fn ancillary_variables<'a>(
    summary: &'a NcSummary,
    index: &VarIndex<'a>,
) -> Result<Vec<&'a Variable>, String> {
    let mut out = Vec::new();
    for var in &summary.variables {
        out.extend(listed_variables(index, var, "ancillary_variables")?);
    }
    Ok(out)
}

fn quality_control_variables(summary: &NcSummary) -> Result<Vec<&Variable>, String> {
    let mut out = Vec::new();
    for var in &summary.variables {
        if var.name.ends_with("_quality_control") {
            out.push(var);
            continue;
        }
        if let Some(sn) = var.attr("standard_name") {
            let sn = pyattr::as_str(sn).ok_or_else(|| not_text(var, "standard_name"))?;
            if sn.ends_with("status_flag") {
                out.push(var);
                continue;
            }
        }
        if let Some(ln) = var.attr("long_name").and_then(pyattr::as_str)
            && (ln.contains("status_flag") || ln.contains("quality flag"))
        {
            out.push(var);
            continue;
        }
        if var.attr("quality_control_conventions").is_some() {
            out.push(var);
        }
    }
    Ok(out)
}

fn not_text(var: &Variable, attribute: &str) -> String {
    format!(
        "attribute {}:{attribute} is not text, so the variable cannot be classified",
        var.name
    )
}

/// The kind of vertical coordinate a variable looks like (`vertical_coordinate_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vertical {
    Depth,
    Height,
    /// `axis = "Z"` but nothing says which way it points.
    Unknown,
}

impl Vertical {
    pub fn as_str(self) -> &'static str {
        match self {
            Vertical::Depth => "depth",
            Vertical::Height => "height",
            Vertical::Unknown => "unknown",
        }
    }
}

/// Whether `var` looks like a vertical coordinate, and of which kind. Ancillary variables, sea
/// floor depths, wave parameters and QC variables never do; then the name (`depth`, `height`),
/// the standard name, `positive` and `axis = "Z"` decide.
pub fn vertical_type(m: &Model<'_>, var: &Variable) -> Result<Option<Vertical>, String> {
    if m.is_ancillary(var) {
        return Ok(None);
    }
    let standard_name = match var.attr("standard_name") {
        None => "",
        Some(v) => pyattr::as_str(v).ok_or_else(|| not_text(var, "standard_name"))?,
    };
    if standard_name.starts_with("sea_floor_depth") || standard_name.contains("wave") {
        return Ok(None);
    }
    if var
        .attr("long_name")
        .is_some_and(|v| pyattr::py_str(v).contains("wave"))
    {
        return Ok(None);
    }
    if var.name.ends_with("_quality_control") {
        return Ok(None);
    }
    let lower = var.name.to_lowercase();
    if lower.contains("depth") {
        return Ok(Some(Vertical::Depth));
    }
    if lower.contains("height") {
        return Ok(Some(Vertical::Height));
    }
    match standard_name {
        "depth" => return Ok(Some(Vertical::Depth)),
        "height" => return Ok(Some(Vertical::Height)),
        _ => {}
    }
    match var.attr("positive").and_then(pyattr::as_str) {
        Some("down") => return Ok(Some(Vertical::Depth)),
        Some("up") => return Ok(Some(Vertical::Height)),
        _ => {}
    }
    if var.attr("axis").and_then(pyattr::as_str) == Some("Z") {
        return Ok(Some(Vertical::Unknown));
    }
    Ok(None)
}

/// Every variable that looks vertical, in file order, with its kind.
pub fn vertical_variables<'a>(m: &Model<'a>) -> Result<Vec<(&'a Variable, Vertical)>, String> {
    let mut out = Vec::new();
    for var in &m.summary.variables {
        if let Some(kind) = vertical_type(m, var)? {
            out.push((var, kind));
        }
    }
    Ok(out)
}
