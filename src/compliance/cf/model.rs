//! The reference's view of a file (netCDF4-python + cfutil): attribute values typed as Python
//! sees them, and the variable classes the CF rules select on (coordinate, auxiliary coordinate,
//! geophysical, time, latitude, longitude, vertical, flag, boundary…), computed once per dataset
//! in time linear in the number of variables (lookups go through the dataset's index).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::OnceLock;

use crate::compliance::Dataset;
use crate::compliance::dataset::VarIndex;
use crate::compliance::standard_names::StandardNameTable;
use crate::compliance::units::Unit;
use crate::netcdf::{AttrValue, NcSummary, NcType, Variable};

/// Standard names of the dimensionless vertical coordinates cfutil knows.
pub const DIMLESS_VERTICAL: [&str; 11] = [
    "ocean_s_coordinate",
    "ocean_s_coordinate_g1",
    "ocean_s_coordinate_g2",
    "atmosphere_hybrid_sigma_pressure_coordinate",
    "atmosphere_hybrid_height_coordinate",
    "ocean_double_sigma_coordinate",
    "ocean_sigma_z_coordinate",
    "ocean_sigma_coordinate",
    "atmosphere_sigma_coordinate",
    "atmosphere_ln_pressure_coordinate",
    "atmosphere_sleve_coordinate",
];

pub const VALID_LAT_UNITS: [&str; 6] = [
    "degrees_north",
    "degree_north",
    "degree_n",
    "degrees_n",
    "degreen",
    "degreesn",
];
pub const VALID_LON_UNITS: [&str; 6] = [
    "degrees_east",
    "degree_east",
    "degree_e",
    "degrees_e",
    "degreee",
    "degreese",
];

/// An attribute as Python sees it: a `str`, a list of strings, a numpy scalar (one value) or a
/// numpy array (several values).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Py<'a> {
    Str(&'a str),
    List,
    Scalar(&'a AttrValue),
    Array(&'a AttrValue),
}

impl<'a> Py<'a> {
    pub fn of(v: &'a AttrValue) -> Py<'a> {
        match v {
            AttrValue::Text(s) => Py::Str(s),
            AttrValue::Strings(x) if x.len() == 1 => Py::Str(&x[0]),
            AttrValue::Strings(_) => Py::List,
            other if other.len() == 1 => Py::Scalar(other),
            other => Py::Array(other),
        }
    }

    pub fn as_str(self) -> Option<&'a str> {
        match self {
            Py::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The numpy dtype of a numeric value (`None` for text, which has no `.dtype`).
    pub fn dtype(self) -> Option<NcType> {
        match self {
            Py::Scalar(v) | Py::Array(v) => Some(v.nc_type()),
            _ => None,
        }
    }

    /// Python's `str(value)`, as cf_units receives a non-string `units`.
    pub fn to_py_string(self) -> String {
        match self {
            Py::Str(s) => s.to_string(),
            Py::Scalar(v) => {
                let x = v.as_f64().unwrap_or(f64::NAN);
                if matches!(v.nc_type(), NcType::Float | NcType::Double) {
                    format!("{x:?}")
                } else {
                    format!("{x}")
                }
            }
            _ => "[...]".to_string(),
        }
    }

    /// Python truthiness (`if value:`); `Err` where numpy refuses (arrays of several values).
    pub fn truthy(self) -> Result<bool, String> {
        match self {
            Py::Str(s) => Ok(!s.is_empty()),
            Py::List => Ok(true),
            Py::Scalar(v) => Ok(v.as_f64().is_some_and(|x| x != 0.0)),
            Py::Array(v) if v.is_empty() => Ok(false),
            Py::Array(_) => {
                Err("the truth value of an array with more than one element is ambiguous".into())
            }
        }
    }
}

/// A variable's attribute as Python sees it.
pub fn attr<'a>(v: &'a Variable, name: &str) -> Option<Py<'a>> {
    v.attr(name).map(Py::of)
}

/// A string attribute (`isinstance(x, str)`).
pub fn attr_str<'a>(v: &'a Variable, name: &str) -> Option<&'a str> {
    attr(v, name).and_then(Py::as_str)
}

/// Equality of an attribute with a string (`getattr(v, name) == "x"`).
pub fn attr_is(v: &Variable, name: &str, value: &str) -> bool {
    attr_str(v, name) == Some(value)
}

/// Label variables (`char` or `string`): the reference skips them in most rules.
pub fn is_text(v: &Variable) -> bool {
    matches!(v.dtype, NcType::Char | NcType::String)
}

/// `(name,) == var.dimensions`.
pub fn is_coordinate(v: &Variable) -> bool {
    v.dimensions.len() == 1 && v.dimensions[0] == v.name
}

/// `standard_name` split into name and modifier at the first blank (the reference's
/// `_split_standard_name`).
pub fn split_standard_name(v: &Variable) -> (Option<Py<'_>>, Option<&str>) {
    match attr(v, "standard_name") {
        Some(Py::Str(s)) if s.contains(' ') => {
            let (a, b) = s.split_once(' ').unwrap_or((s, ""));
            (Some(Py::Str(a)), Some(b))
        }
        other => (other, None),
    }
}

/// Whether a standard name's canonical units are dimensionless (cfutil's
/// `is_dimensionless_standard_name`: entries only, not aliases).
pub fn dimensionless_standard_name(table: &StandardNameTable, name: Option<Py>) -> bool {
    let Some(Py::Str(name)) = name else {
        return false;
    };
    if !table.names_contain(name) {
        return false;
    }
    table
        .canonical_units(name)
        .and_then(|u| Unit::parse(u).ok())
        .is_some_and(|u| u.is_dimensionless())
}

/// The reference's `units_convertible(a, b)` over optional strings (`None` is cf_units' unknown).
pub fn convertible(a: Option<&str>, b: &str) -> bool {
    let a = a.unwrap_or("");
    crate::compliance::units::convertible(a, b)
}

pub use crate::compliance::classes::{Classes, Names};

/// A rule's view of a dataset: its header, its index and the [`Classes`] of its variables.
pub type Model<'a> = ModelOf<'a, 'a>;

/// [`Model`] over a dataset borrowed for `'i` whose header lives for `'a` (while its classes
/// are built, the view borrows the dataset for less than the classes will live).
pub struct ModelOf<'i, 'a> {
    pub summary: &'a NcSummary,
    index: &'i VarIndex<'a>,
    pub vars: &'a [Variable],
    pub table: &'static StandardNameTable,
    classes: &'i Classes<'a>,
}

impl<'a> std::ops::Deref for ModelOf<'_, 'a> {
    type Target = Classes<'a>;
    fn deref(&self) -> &Classes<'a> {
        self.classes
    }
}

impl<'a> Model<'a> {
    /// The model of a dataset, classifying its variables on the first call for that dataset.
    pub fn new<'d: 'a>(ds: &'a Dataset<'d>) -> Model<'a> {
        ModelOf::over(ds, ds.cf_classes.get_or_init(|| classify(ds)))
    }
}

impl<'i, 'a> ModelOf<'i, 'a> {
    fn over(ds: &'i Dataset<'a>, classes: &'i Classes<'a>) -> ModelOf<'i, 'a> {
        ModelOf {
            summary: ds.summary,
            index: &ds.index,
            vars: &ds.summary.variables[..],
            table: StandardNameTable::v72(),
            classes,
        }
    }
}

/// Classifies the variables of a dataset, each class from the header and those before it.
fn classify<'a>(ds: &Dataset<'a>) -> Classes<'a> {
    let vars = &ds.summary.variables[..];
    let mut c = Classes::default();
    // Coordinate variables, in dimension order.
    for d in &ds.summary.dimensions {
        if let Some(v) = ds.index.variable(&d.name)
            && is_coordinate(v)
        {
            c.coord_vars.push(&v.name);
        }
    }
    c.axis_vars = vars
        .iter()
        .filter(|v| v.attr("axis").is_some())
        .map(|v| v.name.as_str())
        .collect();
    c.aux_coords = ModelOf::over(ds, &c).find_aux_coords();
    c.time_vars = ModelOf::over(ds, &c).find_time_vars();
    c.lat_vars = ModelOf::over(ds, &c).find_axis_vars("latitude", "Y", &VALID_LAT_UNITS);
    c.lon_vars = ModelOf::over(ds, &c).find_axis_vars("longitude", "X", &VALID_LON_UNITS);
    c.z_vars = ModelOf::over(ds, &c).find_z_vars();
    c.boundary_vars = vars
        .iter()
        .filter_map(|v| attr_str(v, "bounds"))
        .filter_map(|b| ds.index.variable(b).map(|v| v.name.as_str()))
        .collect();
    c.clim_var = ModelOf::over(ds, &c).find_clim_var();
    let platforms = ModelOf::over(ds, &c).platform_or_instrument_vars("platform");
    let instruments = ModelOf::over(ds, &c).platform_or_instrument_vars("instrument");
    c.platform_or_instrument = platforms
        .iter()
        .chain(instruments.iter())
        .copied()
        .collect();
    c.geophysical = vars
        .iter()
        .filter(|v| ModelOf::over(ds, &c).is_geophysical(v))
        .map(|v| v.name.as_str())
        .collect();
    let coordinates: Vec<&'a str> = c
        .coord_vars
        .iter()
        .chain(c.aux_coords.iter())
        .copied()
        .collect();
    let mut order = HashMap::new();
    let mut axes = HashMap::new();
    {
        let m = ModelOf::over(ds, &c);
        for (i, name) in coordinates.into_iter().enumerate() {
            order.entry(name).or_insert(i);
            axes.entry(name).or_insert_with(|| m.coordinate_axis(name));
        }
    }
    c.coordinate_order = order;
    c.coordinate_axes = axes;
    c
}

impl<'a> ModelOf<'_, 'a> {
    pub fn var(&self, name: &str) -> Option<&'a Variable> {
        self.index.variable(name)
    }

    pub fn has_var(&self, name: &str) -> bool {
        self.var(name).is_some()
    }

    pub fn has_dim(&self, name: &str) -> bool {
        self.summary.dimension(name).is_some()
    }

    pub fn dim_len(&self, name: &str) -> usize {
        self.summary.dimension(name).map_or(0, |d| d.len)
    }

    /// `ds.get_variables_by_attributes(name=value)`.
    pub fn vars_with(&self, name: &str, value: &str) -> Vec<&'a Variable> {
        self.index.with_text(name, value).to_vec()
    }

    fn find_aux_coords(&self) -> Names<'a> {
        let mut aux = Names::default();
        for v in self.vars {
            if let Some(coords) = attr_str(v, "coordinates") {
                for r in coords.split(' ') {
                    if let Some(rv) = self.var(r) {
                        aux.push(&rv.name);
                    }
                }
            }
        }
        for a in &self.axis_vars {
            aux.push(a);
        }
        let coordinate_names = [
            "time",
            "longitude",
            "latitude",
            "height",
            "depth",
            "altitude",
        ];
        for v in self.vars {
            if let Some(s) = attr_str(v, "standard_name")
                && (coordinate_names.contains(&s) || DIMLESS_VERTICAL.contains(&s))
            {
                aux.push(&v.name);
            }
        }
        aux.iter()
            .copied()
            .filter(|a| self.var(a).is_some_and(|v| !is_coordinate(v)))
            .collect()
    }

    fn find_time_vars(&self) -> BTreeSet<&'a str> {
        static RE: OnceLock<regex::Regex> = OnceLock::new();
        let re = RE.get_or_init(|| {
            regex::Regex::new(r"^(?:day|d|hour|hr|h|minute|min|second|s)s? since ")
                .expect("a valid pattern")
        });
        self.vars
            .iter()
            .filter(|v| {
                attr_is(v, "standard_name", "time")
                    || attr_is(v, "axis", "T")
                    || attr_str(v, "units").is_some_and(|u| re.is_match(u))
            })
            .map(|v| v.name.as_str())
            .collect()
    }

    fn find_axis_vars(&self, standard_name: &str, axis: &str, units: &[&str]) -> Names<'a> {
        let mut out = Names::default();
        for v in self.vars_with("standard_name", standard_name) {
            out.push(&v.name);
        }
        for v in self.vars_with("axis", axis) {
            out.push(&v.name);
        }
        for v in self.vars {
            // attr_membership casts a non-string to str before comparing.
            if let Some(u) = attr(v, "units")
                && units.contains(&u.to_py_string().to_lowercase().as_str())
            {
                out.push(&v.name);
            }
        }
        out
    }

    fn find_z_vars(&self) -> Names<'a> {
        let mut z = Names::default();
        for name in self.coord_vars.iter().chain(self.aux_coords.iter()) {
            if z.contains(name) {
                continue;
            }
            let Some(v) = self.var(name) else { continue };
            let units = attr(v, "units");
            let standard_name = attr_str(v, "standard_name");
            let mut is_z = false;
            if let Some(u) = units {
                if crate::compliance::units::convertible(&u.to_py_string(), "bar") {
                    is_z = true;
                } else if let Some(p) = attr_str(v, "positive")
                    && ["up", "down"].contains(&p.to_lowercase().as_str())
                {
                    is_z = true;
                }
            }
            is_z |= attr_is(v, "axis", "Z");
            is_z |= standard_name.is_some_and(|s| ["depth", "height", "altitude"].contains(&s));
            is_z |= standard_name.is_some_and(|s| DIMLESS_VERTICAL.contains(&s));
            if is_z {
                z.push(name);
            }
        }
        z
    }

    /// cfutil's `get_time_variable`: the likeliest time coordinate.
    pub fn time_variable(&self) -> Option<&'a str> {
        if let Some(v) = self.vars_with("axis", "T").first() {
            return Some(&v.name);
        }
        let candidates = self.vars_with("standard_name", "time");
        if candidates.len() == 1 {
            return Some(&candidates[0].name);
        }
        if let Some(c) = candidates.iter().find(|c| is_coordinate(c)) {
            return Some(&c.name);
        }
        let in_both = |set: &[&'a str]| -> Vec<&'a str> {
            self.time_vars
                .iter()
                .copied()
                .filter(|t| set.contains(t))
                .collect()
        };
        let c = in_both(&self.coord_vars);
        if c.len() == 1 {
            return Some(c[0]);
        }
        let a = in_both(&self.aux_coords);
        if a.len() == 1 {
            return Some(a[0]);
        }
        None
    }

    fn find_clim_var(&self) -> Option<&'a str> {
        let t = self.var(self.time_variable()?)?;
        let c = attr_str(t, "climatology")?;
        self.var(c).map(|v| v.name.as_str())
    }

    /// cfutil's `get_z_variable`: the likeliest vertical coordinate.
    pub fn z_variable(&self) -> Option<&'a str> {
        if self.z_vars.is_empty() {
            return None;
        }
        for n in &self.z_vars {
            if self.var(n).is_some_and(|v| {
                attr_str(v, "standard_name")
                    .is_some_and(|s| ["depth", "height", "altitude"].contains(&s))
            }) {
                return Some(n);
            }
        }
        for n in &self.z_vars {
            if let Some(u) = self.var(n).and_then(|v| attr_str(v, "units"))
                && (crate::compliance::units::convertible(u, "bar")
                    || crate::compliance::units::convertible(u, "m"))
            {
                return Some(n);
            }
        }
        Some(self.z_vars[0])
    }

    pub fn platform_or_instrument_vars(&self, attr_name: &str) -> Names<'a> {
        let mut out = Names::default();
        let globals = self
            .summary
            .global(attr_name)
            .and_then(|a| Py::of(a).as_str());
        for p in self
            .vars
            .iter()
            .filter_map(|v| attr_str(v, attr_name))
            .chain(globals)
        {
            if let Some(v) = self.var(p) {
                out.push(&v.name);
            }
        }
        out
    }

    fn is_geophysical(&self, v: &'a Variable) -> bool {
        if attr(v, "cf_role").is_some_and(|r| r.truthy().unwrap_or(true)) {
            return false;
        }
        if attr(v, "axis").is_some_and(|r| r.truthy().unwrap_or(true)) {
            return false;
        }
        let standard_name = match attr(v, "standard_name") {
            Some(p) => p.to_py_string(),
            None => String::new(),
        };
        let unitless = match attr(v, "units") {
            None => true,
            Some(Py::Str(s)) => s.is_empty(),
            Some(_) => false,
        };
        if [
            "time",
            "latitude",
            "longitude",
            "height",
            "depth",
            "altitude",
        ]
        .contains(&standard_name.as_str())
        {
            return false;
        }
        let name = v.name.as_str();
        if self.coord_vars.contains(name) || self.aux_coords.contains(name) {
            return false;
        }
        if matches!(
            attr_str(v, "standard_name"),
            Some("forecast_period" | "forecast_reference_time")
        ) {
            return false;
        }
        if v.dimensions.is_empty() && unitless {
            return false;
        }
        if standard_name.contains("status_flag") || v.attr("flag_meanings").is_some() {
            return false;
        }
        if self.boundary_vars.contains(name) || self.clim_var == Some(name) {
            return false;
        }
        if is_text(v) {
            return false;
        }
        if self.platform_or_instrument.contains(name) {
            return false;
        }
        if v.attr("sample_dimension").is_some() || v.attr("instance_dimension").is_some() {
            return false;
        }
        true
    }

    /// cfutil's `is_compression_coordinate`.
    pub fn is_compression_coordinate(&self, name: &str) -> bool {
        let Some(v) = self.var(name) else {
            return false;
        };
        if !is_coordinate(v) {
            return false;
        }
        let Some(c) = attr_str(v, "compress") else {
            return false;
        };
        !c.is_empty() && !c.contains(name) && c.split_whitespace().all(|d| self.has_dim(d))
    }

    /// Flag variables: a `status_flag` standard name or a `flag_meanings` attribute.
    pub fn flag_vars(&self) -> Vec<&'a str> {
        self.vars
            .iter()
            .filter(|v| {
                attr_str(v, "standard_name").is_some_and(|s| s.contains("status_flag"))
                    || v.attr("flag_meanings").is_some()
            })
            .map(|v| v.name.as_str())
            .collect()
    }

    /// `bounds` pairs: variable → its (existing) boundary variable.
    pub fn boundary_map(&self) -> Vec<(&'a str, &'a str)> {
        self.vars
            .iter()
            .filter_map(|v| {
                let b = attr_str(v, "bounds")?;
                self.var(b).map(|bv| (v.name.as_str(), bv.name.as_str()))
            })
            .collect()
    }

    /// Grid mapping variables named by some `grid_mapping` attribute, sorted.
    pub fn grid_mapping_vars(&self) -> BTreeSet<&'a str> {
        self.vars
            .iter()
            .filter_map(|v| attr_str(v, "grid_mapping"))
            .filter_map(|g| self.var(g).map(|v| v.name.as_str()))
            .collect()
    }

    /// The axis letter `get_axis_map` gives a coordinate or auxiliary coordinate.
    fn coordinate_axis(&self, name: &str) -> char {
        let axis = self.var(name).and_then(|cv| attr_str(cv, "axis"));
        match axis {
            Some(a) if ["X", "Y", "Z", "T"].contains(&a) => a.chars().next().unwrap_or('U'),
            _ => {
                if self.is_compression_coordinate(name) {
                    'C'
                } else if self.time_vars.contains(name) {
                    'T'
                } else if self.lon_vars.contains(name) {
                    'X'
                } else if self.lat_vars.contains(name) {
                    'Y'
                } else if self.z_vars.contains(name) {
                    'Z'
                } else {
                    'U'
                }
            }
        }
    }

    /// cfutil's `get_axis_map`: axis letter → coordinates of a variable (its dimensions and the
    /// names in its `coordinates` that are coordinates or auxiliary coordinates), each list in
    /// coordinates-then-auxiliary-coordinates order.
    pub fn axis_map(&self, variable: &str) -> BTreeMap<char, Vec<&'a str>> {
        let mut map: BTreeMap<char, Vec<&'a str>> = BTreeMap::new();
        let Some(v) = self.var(variable) else {
            return map;
        };
        let mut found: Vec<(usize, &'a str)> = v
            .dimensions
            .iter()
            .map(String::as_str)
            .chain(
                attr_str(v, "coordinates")
                    .into_iter()
                    .flat_map(|c| c.split(' ')),
            )
            .filter_map(|n| self.coordinate_order.get_key_value(n))
            .map(|(name, at)| (*at, *name))
            .collect();
        found.sort_unstable();
        found.dedup();
        for (_, name) in found {
            map.entry(self.coordinate_axes[name])
                .or_default()
                .push(name);
        }
        map
    }

    /// Dimensions of a variable, by name.
    pub fn dims(&self, name: Option<&str>) -> Option<Vec<&'a str>> {
        self.var(name?)
            .map(|v| v.dimensions.iter().map(String::as_str).collect())
    }
}
