//! What the handlers that write NetCDF products share: an ordered attribute map that behaves as
//! the reference's template dictionaries do (setting a name keeps its place, a new name goes
//! last), the IMOS global attributes every IMOS template starts from, and the time formats.

use chrono::{DateTime, NaiveDateTime, Utc};

use std::path::Path;

use crate::netcdf::{
    AttrValue, Attribute, CfTimeUnits, NcType, NcWriteError, NcWriter, VarDef, convert_attr,
    parse_time_units,
};

use super::HandlerError;

/// Attributes in writing order, updated as a Python dict is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attrs(pub Vec<Attribute>);

impl Attrs {
    pub fn get(&self, name: &str) -> Option<&AttrValue> {
        self.0.iter().find(|a| a.name == name).map(|a| &a.value)
    }

    /// Sets `name`, in place if present, else at the end.
    pub fn set(&mut self, name: &str, value: AttrValue) {
        match self.0.iter_mut().find(|a| a.name == name) {
            Some(a) => a.value = value,
            None => self.0.push(Attribute {
                name: name.to_string(),
                value,
            }),
        }
    }

    pub fn set_text(&mut self, name: &str, value: impl Into<String>) {
        self.set(name, AttrValue::Text(value.into()));
    }

    pub fn remove(&mut self, name: &str) {
        self.0.retain(|a| a.name != name);
    }

    /// `dict.update`: every attribute of `other`, in its order.
    pub fn update(&mut self, other: &[Attribute]) {
        for a in other {
            self.set(&a.name, a.value.clone());
        }
    }

    /// Only the attributes a template writes to the file: names beginning with a letter
    /// (`_FillValue` and other special names are structure, not metadata).
    pub fn metadata(&self) -> Vec<Attribute> {
        self.0
            .iter()
            .filter(|a| a.name.chars().next().is_some_and(char::is_alphabetic))
            .cloned()
            .collect()
    }

    /// `valid_min`, `valid_max` and `valid_range` converted to the variable's type, as the
    /// reference's template writer does before writing them.
    pub fn coerce_valid_range(&mut self, dtype: &NcType) {
        for a in &mut self.0 {
            if matches!(a.name.as_str(), "valid_min" | "valid_max" | "valid_range")
                && let Some(values) = a.value.as_f64s()
                && let Some(v) = convert_attr(dtype, &values)
            {
                a.value = v;
            }
        }
    }
}

/// A text attribute.
pub fn text(value: impl Into<String>) -> AttrValue {
    AttrValue::Text(value.into())
}

/// A product template: global attributes and variables, in writing order (the reference's
/// JSON templates, in a form that keeps their order: `templates/*.json`, pairs of name and value;
/// a JSON string is a text attribute, an integer an `int64`, a number with a point a `double`,
/// `{"byte": [..]}` a byte attribute).
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub globals: Attrs,
    pub variables: Vec<TemplateVar>,
}

/// A variable of a template; `data` is the value of a scalar the template fixes.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateVar {
    pub name: String,
    pub dtype: NcType,
    pub dimensions: Vec<String>,
    pub fill_value: Option<f64>,
    pub attributes: Attrs,
    pub data: Option<Vec<f64>>,
}

impl TemplateVar {
    /// The definition to write: valid range in the variable's type, metadata attributes only.
    pub fn var_def(&self, keep_nan: bool) -> VarDef {
        let mut attrs = self.attributes.clone();
        attrs.coerce_valid_range(&self.dtype);
        VarDef {
            name: self.name.clone(),
            dtype: self.dtype.clone(),
            dimensions: self.dimensions.clone(),
            fill_value: self.fill_value,
            attributes: attrs.metadata(),
            keep_nan,
        }
    }
}

/// A new NetCDF at `path` defined from a product template: `dimensions` (name, length), the
/// `variables` in their order (`keep_nan` says of each whether NaN stays a value rather than the
/// fill value), then `globals`. The caller writes the values and finishes the file.
pub fn define_product<'t>(
    path: &Path,
    dimensions: &[(&str, usize)],
    variables: impl IntoIterator<Item = &'t TemplateVar>,
    keep_nan: impl Fn(&TemplateVar) -> bool,
    globals: &Attrs,
) -> Result<NcWriter, NcWriteError> {
    let mut w = NcWriter::create(path)?;
    for (name, len) in dimensions {
        w.add_dimension(name, Some(*len))?;
    }
    for var in variables {
        w.add_variable(&var.var_def(keep_nan(var)))?;
    }
    for a in &globals.0 {
        w.put_global(a)?;
    }
    Ok(w)
}

#[derive(serde::Deserialize)]
struct TemplateFile {
    globals: Vec<(String, serde_json::Value)>,
    #[serde(default)]
    variables: Vec<TemplateVarFile>,
}

#[derive(serde::Deserialize)]
struct TemplateVarFile {
    name: String,
    #[serde(rename = "type")]
    dtype: String,
    dimensions: Vec<String>,
    fill_value: Option<f64>,
    data: Option<Vec<f64>>,
    attributes: Vec<(String, serde_json::Value)>,
}

fn template_value(v: &serde_json::Value) -> Result<AttrValue, String> {
    use serde_json::Value as J;
    let numbers = |items: &[J]| {
        items
            .iter()
            .map(|x| x.as_f64())
            .collect::<Option<Vec<f64>>>()
    };
    Ok(match v {
        J::String(s) => AttrValue::Text(s.clone()),
        J::Number(n) if n.is_f64() => AttrValue::Double(vec![n.as_f64().unwrap_or(f64::NAN)]),
        J::Number(n) => AttrValue::Int64(vec![n.as_i64().ok_or("integer out of range")?]),
        J::Array(items) if items.iter().all(|x| x.is_i64()) => {
            AttrValue::Int64(items.iter().filter_map(J::as_i64).collect())
        }
        J::Array(items) => AttrValue::Double(numbers(items).ok_or("not a number list")?),
        J::Object(o) if o.len() == 1 && o.contains_key("byte") => {
            let items = o["byte"].as_array().ok_or("byte takes a list")?;
            let values = numbers(items).ok_or("byte takes numbers")?;
            convert_attr(&NcType::Byte, &values).ok_or("byte")?
        }
        other => return Err(format!("unsupported attribute value {other}")),
    })
}

fn template_attrs(pairs: &[(String, serde_json::Value)]) -> Result<Attrs, String> {
    let mut a = Attrs::default();
    for (k, v) in pairs {
        a.set(k, template_value(v).map_err(|e| format!("{k}: {e}"))?);
    }
    Ok(a)
}

impl Template {
    /// Reads a template shipped with the binary. Templates are tested, so a malformed one is
    /// a bug: it panics with the reason.
    pub fn builtin(json: &str) -> Template {
        Template::parse(json).unwrap_or_else(|e| panic!("built-in template: {e}"))
    }

    pub fn parse(json: &str) -> Result<Template, String> {
        let file: TemplateFile = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let variables = file
            .variables
            .iter()
            .map(|v| {
                let dtype = match v.dtype.as_str() {
                    "byte" => NcType::Byte,
                    "short" => NcType::Short,
                    "int" => NcType::Int,
                    "float" => NcType::Float,
                    "double" => NcType::Double,
                    other => return Err(format!("{}: type {other}", v.name)),
                };
                Ok(TemplateVar {
                    name: v.name.clone(),
                    dtype,
                    dimensions: v.dimensions.clone(),
                    fill_value: v.fill_value,
                    attributes: template_attrs(&v.attributes)
                        .map_err(|e| format!("{}: {e}", v.name))?,
                    data: v.data.clone(),
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Template {
            globals: template_attrs(&file.globals)?,
            variables,
        })
    }

    pub fn variable(&self, name: &str) -> Option<&TemplateVar> {
        self.variables.iter().find(|v| v.name == name)
    }
}

/// The global attributes the reference's `ImosTemplate` starts from (aodntools
/// `ncwriter/imos_global.json`), in its order; empty values stay empty strings.
pub fn imos_global_attributes() -> Attrs {
    Template::builtin(include_str!("templates/imos_global.json")).globals
}

/// An IMOS template: the IMOS global attributes, then the template's (`ImosTemplate.from_json`).
pub fn imos_template(json: &str) -> Template {
    let mut t = Template::builtin(json);
    let mut globals = imos_global_attributes();
    globals.update(&t.globals.0);
    t.globals = globals;
    t
}

/// The IMOS timestamp of global attributes (`%Y-%m-%dT%H:%M:%SZ`).
pub fn iso_seconds(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The compact timestamp of IMOS file names (`%Y%m%dT%H%M%SZ`).
pub fn compact_seconds(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// Parses an IMOS timestamp attribute (`%Y-%m-%dT%H:%M:%SZ`, exactly).
pub fn parse_iso_seconds(s: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%SZ")
        .ok()
        .map(|t| t.and_utc())
}

/// The global attributes of a NetCDF file whose place they decide (a product pushed again):
/// each read as text, a missing one rejecting the file with its name.
pub struct PlacingAttrs {
    name: String,
    summary: crate::netcdf::NcSummary,
}

impl PlacingAttrs {
    pub fn read(path: &std::path::Path, name: &str) -> Result<PlacingAttrs, HandlerError> {
        let summary = crate::netcdf::NcFile::open(path)
            .and_then(|f| f.summary())
            .map_err(|e| {
                HandlerError::rejected(format!("{name}: cannot read the NetCDF file: {e}"))
            })?;
        Ok(PlacingAttrs {
            name: name.to_string(),
            summary,
        })
    }

    pub fn text(&self, attr: &str) -> Result<String, HandlerError> {
        self.summary
            .global_str(attr)
            .map(str::to_string)
            .ok_or_else(|| {
                HandlerError::rejected(format!(
                    "{}: the global attribute {attr} is missing",
                    self.name
                ))
            })
    }

    /// The year of `time_coverage_start` (`%Y-%m-%dT%H:%M:%SZ`, exactly).
    pub fn start_year(&self) -> Result<i32, HandlerError> {
        use chrono::Datelike;
        let start = self.text("time_coverage_start")?;
        parse_iso_seconds(&start).map(|t| t.year()).ok_or_else(|| {
            HandlerError::rejected(format!(
                "{}: time_coverage_start '{start}' is not YYYY-MM-DDThh:mm:ssZ",
                self.name
            ))
        })
    }
}

/// The time units of a `TIME` variable, refusing calendars other than the Gregorian one (the
/// only one IMOS files use, and the only one this conversion is right for).
pub fn time_units(
    file_name: &str,
    var: &crate::netcdf::Variable,
) -> Result<CfTimeUnits, HandlerError> {
    if let Some(cal) = var.attr_str("calendar")
        && !matches!(
            cal.to_ascii_lowercase().as_str(),
            "gregorian" | "standard" | "proleptic_gregorian"
        )
    {
        return Err(HandlerError::rejected(format!(
            "{file_name}: {} has calendar '{cal}'; only the Gregorian calendar is supported",
            var.name
        )));
    }
    var.attr_str("units")
        .and_then(parse_time_units)
        .ok_or_else(|| {
            HandlerError::rejected(format!(
                "{file_name}: {} has no CF time units ('<unit> since <time>')",
                var.name
            ))
        })
}

/// The instant a time value stands for, to the nearest microsecond as cftime's `num2date`
/// gives it (the reference formats it to the second by truncation, so a time a microsecond
/// short of a second keeps the second before).
pub fn to_datetime(units: &CfTimeUnits, value: f64) -> Option<DateTime<Utc>> {
    let micros = (value * units.seconds_per_unit * 1.0e6).round();
    if !micros.is_finite() || micros.abs() > 1.0e17 {
        return None;
    }
    units
        .epoch
        .checked_add_signed(chrono::TimeDelta::microseconds(micros as i64))
        .map(|t| t.and_utc())
}

/// A time as a number in the given units (the inverse of `CfTimeUnits::to_datetime`).
pub fn time_value(units: &CfTimeUnits, t: DateTime<Utc>) -> f64 {
    units.value_of(t.naive_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attrs_update_like_a_python_dict() {
        let mut a = imos_global_attributes();
        let n = a.0.len();
        a.update(&[
            Attribute {
                name: "title".into(),
                value: text("T"),
            },
            Attribute {
                name: "site_code".into(),
                value: text("NRSROT"),
            },
        ]);
        assert_eq!(a.0[0].name, "title");
        assert_eq!(a.get("title"), Some(&text("T")));
        assert_eq!(a.0[n].name, "site_code");
        a.set("_FillValue", AttrValue::Double(vec![1.0]));
        assert!(a.metadata().iter().all(|x| x.name != "_FillValue"));
        a.remove("title");
        assert!(a.get("title").is_none());
    }

    #[test]
    fn every_built_in_template_reads() {
        for json in [
            include_str!("templates/imos_global.json"),
            include_str!("templates/wave_monthly.json"),
            include_str!("templates/tmv_log_mooring.json"),
            include_str!("templates/tmv_log_trajectory.json"),
        ] {
            Template::parse(json).unwrap();
        }
        let g = imos_global_attributes();
        assert_eq!(g.0[0].name, "title");
        assert_eq!(g.get("naming_authority"), Some(&text("IMOS")));
        let t = imos_template(include_str!("templates/wave_monthly.json"));
        assert_eq!(t.globals.get("Conventions"), Some(&text("CF-1.6")));
        let qc = t.variable("WAVE_quality_control").unwrap();
        assert_eq!(qc.dtype, NcType::Byte);
        assert_eq!(
            qc.attributes.get("flag_values"),
            Some(&AttrValue::Byte(vec![1, 2, 3, 4, 9]))
        );
        let sswmd = t.variable("SSWMD").unwrap();
        assert_eq!(
            sswmd.attributes.get("compass_correction_applied"),
            Some(&AttrValue::Int64(vec![13]))
        );
    }

    #[test]
    fn template_values_keep_their_json_types() {
        let t = Template::parse(
            r#"{"globals": [["a", "x"], ["b", 1], ["c", 1.5], ["d", {"byte": [1, 9]}], ["e", [1, 2]]]}"#,
        )
        .unwrap();
        assert_eq!(t.globals.get("a"), Some(&text("x")));
        assert_eq!(t.globals.get("b"), Some(&AttrValue::Int64(vec![1])));
        assert_eq!(t.globals.get("c"), Some(&AttrValue::Double(vec![1.5])));
        assert_eq!(t.globals.get("d"), Some(&AttrValue::Byte(vec![1, 9])));
        assert_eq!(t.globals.get("e"), Some(&AttrValue::Int64(vec![1, 2])));
        assert!(Template::parse(r#"{"globals": [["a", null]]}"#).is_err());
    }

    #[test]
    fn valid_range_takes_the_variable_type() {
        let mut a = Attrs::default();
        a.set("valid_min", AttrValue::Double(vec![1.0]));
        a.set("valid_max", AttrValue::Int64(vec![9]));
        a.coerce_valid_range(&NcType::Byte);
        assert_eq!(a.get("valid_min"), Some(&AttrValue::Byte(vec![1])));
        assert_eq!(a.get("valid_max"), Some(&AttrValue::Byte(vec![9])));
    }

    #[test]
    fn times_round_trip_through_cf_units() {
        let u = parse_time_units("days since 1950-01-01 00:00:00 UTC").unwrap();
        let t = parse_iso_seconds("2008-11-19T10:15:00Z").unwrap();
        let v = time_value(&u, t);
        assert!((v - 21507.427083333332).abs() < 1e-9, "{v}");
        assert_eq!(to_datetime(&u, v), Some(t));
        assert_eq!(compact_seconds(t), "20081119T101500Z");
        // 12:16:12.999998 is 12:16:12 to the second, as the reference prints it.
        let burst = to_datetime(&u, 21508.51126157405).unwrap();
        assert_eq!(compact_seconds(burst), "20081120T121612Z");
        assert!(parse_iso_seconds("2008-11-19 10:15:00").is_none());
    }
}
