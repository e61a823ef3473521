//! Delimited text tables converted to NetCDF by a declaration (the `table_to_netcdf` built-in
//! derivation): which columns become which variables (type, scale, fill value, attributes),
//! which columns make the time and in what format, which rows are dropped, which variables must
//! have a value, and the global attributes (fixed, taken from the data, or rendered from
//! templates). The declaration is a TOML file beside the pipeline file, validated when the
//! pipeline file is loaded, each problem at its line; the field reference is in
//! `examples/pipelines.toml` and the SOOP CO2 real-time declaration in
//! `examples/imos/conversions/` is one.
//!
//! How a table is read (pandas' `read_csv` as the reference's converters call it): the first
//! line that is not blank names the columns; blank lines are skipped; a line with more fields
//! than the header is skipped, one with fewer has missing values for the rest; fields may be
//! quoted with `"`. A column a declaration reads that the header lacks rejects the file, naming
//! every one missing. Text values are trimmed; a number that is empty, a missing-value marker
//! (`NaN`, `NA`, `null`…) or not a number is missing (pandas' `to_numeric(errors="coerce")`);
//! `scale` multiplies the values that are there; missing values are written as the variable's
//! fill value. Times are the time columns' trimmed values joined by one space, parsed with the
//! declared format (UTC); a row whose time does not parse rejects the file with its line.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDateTime;
use serde::Deserialize;
use toml::Spanned;

use super::TemplateContext;
use super::template::{Template, lint};
use crate::netcdf::{
    AttrValue, Attribute, CfTimeUnits, NcType, NcWriter, VarDef, convert_attr, parse_time_units,
};

/// A validated table → NetCDF declaration.
#[derive(Debug)]
pub struct TableConversion {
    /// The declaration file as the pipeline file names it.
    pub origin: String,
    delimiter: u8,
    /// The dimension of the rows (unlimited).
    rows: String,
    drop_rows: Vec<(String, String)>,
    /// Variables of which at least one value must be present.
    required_values: Vec<String>,
    time_columns: Vec<String>,
    time_format: String,
    /// Fixed dimensions, in declaration order.
    dimensions: Vec<(String, usize)>,
    globals: Vec<(String, Global)>,
    variables: Vec<VarSpec>,
}

/// How a global attribute gets its value.
#[derive(Debug)]
enum Global {
    Fixed(AttrValue),
    /// A template of the source file's context; `attrs` are the global attributes set before it.
    Template(Box<Template>),
    /// The earliest or latest time of the table, formatted.
    Time {
        last: bool,
        format: String,
    },
    /// The least or greatest value of a variable.
    Extent {
        max: bool,
        variable: String,
    },
}

#[derive(Debug)]
struct VarSpec {
    name: String,
    dtype: NcType,
    source: VarSource,
    dimensions: Vec<String>,
    fill_value: Option<f64>,
    scale: Option<f64>,
    attributes: Vec<Attribute>,
}

#[derive(Debug)]
enum VarSource {
    /// The table's times, as values of these units.
    Time(CfTimeUnits),
    Column(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConversion {
    table: Spanned<RawTable>,
    #[serde(default)]
    dimensions: BTreeMap<String, Spanned<i64>>,
    #[serde(default)]
    globals: BTreeMap<String, Spanned<toml::Value>>,
    variables: Vec<Spanned<RawVariable>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    delimiter: Option<Spanned<String>>,
    dimension: Spanned<String>,
    time: Spanned<RawTime>,
    #[serde(default)]
    drop_rows: Vec<Spanned<RawDrop>>,
    #[serde(default)]
    required_values: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTime {
    columns: Vec<String>,
    format: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDrop {
    column: String,
    equals: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVariable {
    name: String,
    #[serde(rename = "type")]
    dtype: String,
    column: Option<String>,
    #[serde(default)]
    time: bool,
    dimensions: Option<Vec<String>>,
    fill_value: Option<f64>,
    scale: Option<f64>,
    #[serde(default)]
    attributes: BTreeMap<String, Spanned<toml::Value>>,
}

/// Problems of a declaration, each at its line of the file.
struct Problems<'a> {
    text: &'a str,
    origin: &'a str,
    list: Vec<String>,
}

impl Problems<'_> {
    fn at(&mut self, span: std::ops::Range<usize>, field: &str, message: impl std::fmt::Display) {
        let line = line_of(self.text, span.start);
        self.list
            .push(format!("{}: line {line}: {field}: {message}", self.origin));
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// A TOML value as a NetCDF attribute: text, a double, an integer (int64), or a list of numbers.
fn attr_value(v: &toml::Value) -> Result<AttrValue, String> {
    use toml::Value as T;
    let number = |x: &T| x.as_float().or_else(|| x.as_integer().map(|i| i as f64));
    Ok(match v {
        T::String(s) => AttrValue::Text(s.clone()),
        T::Float(f) => AttrValue::Double(vec![*f]),
        T::Integer(i) => AttrValue::Int64(vec![*i]),
        T::Array(items) if !items.is_empty() && items.iter().all(T::is_integer) => {
            AttrValue::Int64(items.iter().filter_map(T::as_integer).collect())
        }
        T::Array(items) if !items.is_empty() => AttrValue::Double(
            items
                .iter()
                .map(number)
                .collect::<Option<Vec<f64>>>()
                .ok_or("a list attribute holds numbers only")?,
        ),
        _ => return Err("an attribute is text, a number or a list of numbers".into()),
    })
}

fn dtype_of(name: &str) -> Option<NcType> {
    Some(match name {
        "byte" => NcType::Byte,
        "short" => NcType::Short,
        "int" => NcType::Int,
        "float" => NcType::Float,
        "double" => NcType::Double,
        "char" => NcType::Char,
        _ => return None,
    })
}

/// Whether a strftime/strptime format has only items chrono knows.
fn valid_format(format: &str) -> bool {
    !format.is_empty()
        && !chrono::format::StrftimeItems::new(format)
            .any(|i| matches!(i, chrono::format::Item::Error))
}

/// Entries of a map in the order the file declares them.
fn in_file_order<T>(map: BTreeMap<String, Spanned<T>>) -> Vec<(String, Spanned<T>)> {
    let mut entries: Vec<(String, Spanned<T>)> = map.into_iter().collect();
    entries.sort_by_key(|(_, v)| v.span().start);
    entries
}

impl TableConversion {
    /// Reads and validates the declaration at `path` (named `origin` in the pipeline file);
    /// its templates are checked against `scope`, the scope of the rule that names it. Each
    /// problem reads `<origin>: line <n>: <field>: <what is wrong>`.
    pub fn load(
        path: &Path,
        origin: &str,
        scope: &lint::Scope,
    ) -> Result<TableConversion, Vec<String>> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| vec![format!("cannot read the conversion {origin}: {e}")])?;
        Self::parse(&text, origin, scope)
    }

    /// Validates a declaration's text (see [`TableConversion::load`]).
    pub fn parse(
        text: &str,
        origin: &str,
        scope: &lint::Scope,
    ) -> Result<TableConversion, Vec<String>> {
        let raw: RawConversion = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| format!("line {}: ", line_of(text, s.start)))
                .unwrap_or_default();
            vec![format!("{origin}: {line}{}", e.message().trim())]
        })?;
        let mut p = Problems {
            text,
            origin,
            list: Vec::new(),
        };
        let table_span = raw.table.span();
        let table = raw.table.into_inner();
        let delimiter = match &table.delimiter {
            None => b',',
            Some(d) if d.get_ref().len() == 1 => d.get_ref().as_bytes()[0],
            Some(d) => {
                p.at(
                    d.span(),
                    "table.delimiter",
                    "one character, e.g. \"\\t\" or \",\"",
                );
                b','
            }
        };
        let rows = table.dimension.get_ref().clone();
        if rows.is_empty() {
            p.at(
                table.dimension.span(),
                "table.dimension",
                "name the dimension of the rows",
            );
        }
        let time_span = table.time.span();
        let time = table.time.into_inner();
        if time.columns.is_empty() {
            p.at(
                time_span.clone(),
                "table.time.columns",
                "name the column(s) the time is read from",
            );
        }
        if !valid_format(&time.format) {
            p.at(
                time_span,
                "table.time.format",
                format!(
                    "{:?} is not a strptime format (e.g. \"%d/%m/%y %H:%M:%S\")",
                    time.format
                ),
            );
        }
        let mut dimensions = Vec::new();
        for (name, len) in in_file_order(raw.dimensions) {
            if name == rows {
                p.at(
                    len.span(),
                    &format!("dimensions.{name}"),
                    "the rows' dimension has the table's length: do not declare it",
                );
            } else if *len.get_ref() < 1 {
                p.at(
                    len.span(),
                    &format!("dimensions.{name}"),
                    "a fixed dimension has a length of 1 or more",
                );
            } else {
                dimensions.push((name, *len.get_ref() as usize));
            }
        }
        let mut variables: Vec<VarSpec> = Vec::new();
        for (i, rv) in raw.variables.into_iter().enumerate() {
            let span = rv.span();
            let rv = rv.into_inner();
            let field = format!("variables[{i}] ({})", rv.name);
            let before = p.list.len();
            if rv.name.is_empty() || variables.iter().any(|v| v.name == rv.name) {
                p.at(
                    span.clone(),
                    &field,
                    "each variable has its own, non-empty name",
                );
            }
            let dtype = dtype_of(&rv.dtype);
            if dtype.is_none() {
                p.at(
                    span.clone(),
                    &field,
                    format!(
                        "type {:?}: one of byte, short, int, float, double, char",
                        rv.dtype
                    ),
                );
            }
            let is_char = dtype == Some(NcType::Char);
            let mut attributes = Vec::new();
            for (name, value) in in_file_order(rv.attributes) {
                match attr_value(value.get_ref()) {
                    Ok(v) => attributes.push(Attribute { name, value: v }),
                    Err(e) => p.at(value.span(), &format!("{field}.attributes.{name}"), e),
                }
            }
            let source = match (&rv.column, rv.time) {
                (Some(c), false) if !c.is_empty() => Some(VarSource::Column(c.clone())),
                (None, true) => {
                    let units =
                        attributes.iter().find(|a| a.name == "units").and_then(|a| {
                            match &a.value {
                                AttrValue::Text(u) => parse_time_units(u),
                                _ => None,
                            }
                        });
                    if units.is_none() {
                        p.at(
                            span.clone(),
                            &field,
                            "the time variable needs attributes.units = \"<unit> since <date>\"",
                        );
                    }
                    if !matches!(dtype, Some(NcType::Double | NcType::Float)) {
                        p.at(
                            span.clone(),
                            &field,
                            "the time variable is a float or a double",
                        );
                    }
                    units.map(VarSource::Time)
                }
                _ => {
                    p.at(
                        span.clone(),
                        &field,
                        "give either column = \"<header name>\" or time = true",
                    );
                    None
                }
            };
            let dims = rv.dimensions.clone().unwrap_or_else(|| vec![rows.clone()]);
            let fixed = |d: &str| dimensions.iter().find(|(n, _)| n == d).map(|(_, l)| *l);
            let dims_ok = if is_char {
                dims.len() == 2 && dims[0] == rows && fixed(&dims[1]).is_some()
            } else {
                dims == [rows.clone()]
            };
            if !dims_ok {
                let want = if is_char {
                    format!("[\"{rows}\", \"<a fixed dimension, its string length>\"]")
                } else {
                    format!("[\"{rows}\"] (the default)")
                };
                p.at(
                    span.clone(),
                    &format!("{field}.dimensions"),
                    format!("{dims:?}: a {} variable has dimensions {want}", rv.dtype),
                );
            }
            if is_char && (rv.fill_value.is_some() || rv.scale.is_some() || rv.time) {
                p.at(
                    span.clone(),
                    &field,
                    "a char variable takes no fill_value, scale or time",
                );
            }
            if rv.time && rv.scale.is_some() {
                p.at(span.clone(), &field, "the time variable takes no scale");
            }
            if let Some(s) = rv.scale
                && !s.is_finite()
            {
                p.at(span.clone(), &format!("{field}.scale"), "a finite number");
            }
            if p.list.len() == before
                && let (Some(dtype), Some(source)) = (dtype, source)
            {
                variables.push(VarSpec {
                    name: rv.name,
                    dtype,
                    source,
                    dimensions: dims,
                    fill_value: rv.fill_value,
                    scale: rv.scale,
                    attributes,
                });
            }
        }
        if !variables
            .iter()
            .any(|v| matches!(v.source, VarSource::Time(_)))
        {
            p.at(
                table_span.clone(),
                "variables",
                "one variable holds the time: time = true",
            );
        }
        if variables
            .iter()
            .filter(|v| matches!(v.source, VarSource::Time(_)))
            .count()
            > 1
        {
            p.at(
                table_span.clone(),
                "variables",
                "only one variable holds the time",
            );
        }
        let numeric_var = |name: &str| {
            variables.iter().any(|v| {
                v.name == name
                    && v.dtype != NcType::Char
                    && matches!(v.source, VarSource::Column(_))
            })
        };
        let mut required_values = Vec::new();
        for r in &table.required_values {
            if numeric_var(r.get_ref()) {
                required_values.push(r.get_ref().clone());
            } else {
                p.at(
                    r.span(),
                    "table.required_values",
                    format!(
                        "{:?} is not a numeric variable read from a column",
                        r.get_ref()
                    ),
                );
            }
        }
        let drop_rows = table
            .drop_rows
            .into_iter()
            .map(|d| {
                let d = d.into_inner();
                (d.column, d.equals)
            })
            .collect();
        let mut globals = Vec::new();
        for (name, value) in in_file_order(raw.globals) {
            let field = format!("globals.{name}");
            let g = match value.get_ref() {
                toml::Value::String(source) => {
                    global_template(&mut p, &value, source, &field, scope)
                        .map(|t| Global::Template(Box::new(t)))
                }
                toml::Value::Table(t) => global_from_data(&mut p, &value, t, &field, &numeric_var),
                other => match attr_value(other) {
                    Ok(v) => Some(Global::Fixed(v)),
                    Err(e) => {
                        p.at(value.span(), &field, e);
                        None
                    }
                },
            };
            if let Some(g) = g {
                globals.push((name, g));
            }
        }
        if !p.list.is_empty() {
            return Err(p.list);
        }
        Ok(TableConversion {
            origin: origin.to_string(),
            delimiter,
            rows,
            drop_rows,
            required_values,
            time_columns: time.columns,
            time_format: time.format,
            dimensions,
            globals,
            variables,
        })
    }

    /// Every column the declaration reads, in a stable order.
    pub fn columns(&self) -> Vec<&str> {
        let mut cols: Vec<&str> = self.time_columns.iter().map(String::as_str).collect();
        cols.extend(self.drop_rows.iter().map(|(c, _)| c.as_str()));
        cols.extend(self.variables.iter().filter_map(|v| match &v.source {
            VarSource::Column(c) => Some(c.as_str()),
            VarSource::Time(_) => None,
        }));
        cols.sort_unstable();
        cols.dedup();
        cols
    }

    /// Converts the table at `source` to a NetCDF file at `out`; `ctx` is
    /// the source file's template context, which the global attributes' templates see (with
    /// `attrs`, the global attributes set before each). A reason the provider can act on when the
    /// table cannot be converted.
    pub fn convert(&self, source: &Path, ctx: &TemplateContext, out: &Path) -> Result<(), String> {
        let table = self.read(source)?;
        let mut attrs: Vec<Attribute> = Vec::new();
        for (name, g) in &self.globals {
            let value = match g {
                Global::Fixed(v) => v.clone(),
                Global::Time { last, format } => {
                    let t = if *last {
                        table.times.iter().max()
                    } else {
                        table.times.iter().min()
                    };
                    let t = t.expect("a table has rows");
                    AttrValue::Text(t.format(format).to_string())
                }
                Global::Extent { max, variable } => {
                    let values = table
                        .numbers
                        .get(variable.as_str())
                        .map(Vec::as_slice)
                        .unwrap_or(&[]);
                    let present = values.iter().copied().filter(|x| !x.is_nan());
                    let x = if *max {
                        present.fold(f64::NAN, f64::max)
                    } else {
                        present.fold(f64::NAN, f64::min)
                    };
                    if x.is_nan() {
                        return Err(format!("global attribute {name}: {variable} has no value"));
                    }
                    AttrValue::Double(vec![x])
                }
                Global::Template(t) => {
                    let mut c = ctx.clone();
                    c.header = Some(Arc::new(attrs_header(&attrs)));
                    let text = t
                        .render(&c)
                        .map_err(|e| format!("global attribute {name}: {e}"))?;
                    AttrValue::Text(text)
                }
            };
            // Set in place when declared twice, as a Python dict update does.
            match attrs.iter_mut().find(|a| &a.name == name) {
                Some(a) => a.value = value,
                None => attrs.push(Attribute {
                    name: name.clone(),
                    value,
                }),
            }
        }
        self.write(out, &table, &attrs)
            .map_err(|e| format!("cannot write the NetCDF file: {e}"))
    }

    /// Reads the rows the declaration keeps, its times and its variables' values.
    fn read(&self, source: &Path) -> Result<Converted, String> {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(self.delimiter)
            .has_headers(false)
            .flexible(true)
            .from_path(source)
            .map_err(|e| format!("cannot read the table: {e}"))?;
        let mut header: Option<Vec<String>> = None;
        let mut rows: Vec<(u64, csv::StringRecord)> = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| format!("cannot read the table: {e}"))?;
            let line = record.position().map_or(0, |p| p.line());
            if record.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            match &header {
                None => {
                    header = Some(
                        record
                            .iter()
                            .map(|f| f.trim_end_matches('\r').to_string())
                            .collect(),
                    )
                }
                Some(h) if record.len() > h.len() => {}
                Some(_) => rows.push((line, record)),
            }
        }
        let header = header.ok_or_else(|| "the table is empty".to_string())?;
        let index: BTreeMap<&str, usize> = header
            .iter()
            .enumerate()
            .rev()
            .map(|(i, h)| (h.as_str(), i))
            .collect();
        let missing: Vec<&str> = self
            .columns()
            .into_iter()
            .filter(|c| !index.contains_key(c))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "Missing parameter(s) {}: the table has no column of that name (the conversion {} reads them)",
                missing
                    .iter()
                    .map(|c| format!("'{c}'"))
                    .collect::<Vec<_>>()
                    .join(", "),
                self.origin
            ));
        }
        let field = |r: &csv::StringRecord, c: &str| r.get(index[c]).unwrap_or("").to_string();
        rows.retain(|(_, r)| !self.drop_rows.iter().any(|(c, v)| field(r, c) == *v));
        if rows.is_empty() {
            return Err("the table has no data rows".to_string());
        }
        let mut times = Vec::with_capacity(rows.len());
        for (line, r) in &rows {
            let text: Vec<String> = self
                .time_columns
                .iter()
                .map(|c| field(r, c).trim().to_string())
                .collect();
            let text = text.join(" ");
            let t = NaiveDateTime::parse_from_str(&text, &self.time_format).map_err(|_| {
                format!(
                    "line {line}: time {text:?} does not match the format {:?}",
                    self.time_format
                )
            })?;
            times.push(t);
        }
        let mut numbers = BTreeMap::new();
        let mut texts = BTreeMap::new();
        for v in &self.variables {
            let VarSource::Column(c) = &v.source else {
                continue;
            };
            if v.dtype == NcType::Char {
                texts.insert(
                    v.name.clone(),
                    rows.iter()
                        .map(|(_, r)| field(r, c).trim().to_string())
                        .collect::<Vec<_>>(),
                );
            } else {
                let scale = v.scale.unwrap_or(1.0);
                let values: Vec<f64> = rows
                    .iter()
                    .map(|(_, r)| number(&field(r, c)) * scale)
                    .collect();
                numbers.insert(v.name.clone(), values);
            }
        }
        for name in &self.required_values {
            if numbers
                .get(name)
                .is_some_and(|v: &Vec<f64>| v.iter().all(|x| x.is_nan()))
            {
                let column =
                    self.variables
                        .iter()
                        .find(|v| &v.name == name)
                        .map(|v| match &v.source {
                            VarSource::Column(c) => c.as_str(),
                            VarSource::Time(_) => "",
                        });
                return Err(format!(
                    "every value of {name} (column {}) is missing",
                    column.unwrap_or_default()
                ));
            }
        }
        Ok(Converted {
            times,
            numbers,
            texts,
        })
    }

    fn write(
        &self,
        out: &Path,
        table: &Converted,
        globals: &[Attribute],
    ) -> Result<(), crate::netcdf::NcWriteError> {
        let mut w = NcWriter::create(out)?;
        w.add_dimension(&self.rows, None)?;
        for (name, len) in &self.dimensions {
            w.add_dimension(name, Some(*len))?;
        }
        for v in &self.variables {
            let attributes = v
                .attributes
                .iter()
                .map(|a| Attribute {
                    name: a.name.clone(),
                    value: in_type(&a.name, &a.value, &v.dtype),
                })
                .collect();
            w.add_variable(&VarDef {
                name: v.name.clone(),
                dtype: v.dtype.clone(),
                dimensions: v.dimensions.clone(),
                fill_value: v.fill_value,
                attributes,
                keep_nan: false,
            })?;
        }
        for a in globals {
            w.put_global(a)?;
        }
        let chunk = crate::netcdf::DEFAULT_CHUNK;
        for v in &self.variables {
            match &v.source {
                VarSource::Time(units) => {
                    let values: Vec<f64> = table.times.iter().map(|t| units.value_of(*t)).collect();
                    w.write_all_f64(&v.name, &values, chunk)?;
                }
                VarSource::Column(_) if v.dtype == NcType::Char => {
                    let width = self
                        .dimensions
                        .iter()
                        .find(|(d, _)| Some(d) == v.dimensions.get(1))
                        .map_or(0, |(_, l)| *l);
                    w.write_chars(&v.name, &table.texts[&v.name], width)?;
                }
                VarSource::Column(_) => w.write_all_f64(&v.name, &table.numbers[&v.name], chunk)?,
            }
        }
        w.finish().map(|_| ())
    }
}

/// The rows of a table, converted.
struct Converted {
    times: Vec<NaiveDateTime>,
    /// Numeric variables' values (`NaN`: missing), by variable.
    numbers: BTreeMap<String, Vec<f64>>,
    /// Char variables' texts, by variable.
    texts: BTreeMap<String, Vec<String>>,
}

/// pandas' default missing-value markers.
const NA_VALUES: &[&str] = &[
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
];

/// A field as a number; `NaN` when it is missing or not a number.
fn number(field: &str) -> f64 {
    let f = field.trim();
    if NA_VALUES.contains(&f) {
        return f64::NAN;
    }
    f.parse::<f64>().unwrap_or(f64::NAN)
}

/// `valid_min`, `valid_max` and `valid_range` in the variable's type, as the reference's template
/// writer converts them; other attributes as declared.
fn in_type(name: &str, value: &AttrValue, dtype: &NcType) -> AttrValue {
    if matches!(name, "valid_min" | "valid_max" | "valid_range")
        && let Some(values) = value.as_f64s()
        && let Some(v) = convert_attr(dtype, &values)
    {
        return v;
    }
    value.clone()
}

/// A header for templates that holds only global attributes.
fn attrs_header(attrs: &[Attribute]) -> serde_json::Value {
    let map: serde_json::Map<String, serde_json::Value> = attrs
        .iter()
        .map(|a| (a.name.clone(), super::template::values::attr_json(&a.value)))
        .collect();
    serde_json::json!({ "attrs": map, "variables": [], "vars": {}, "dimensions": {} })
}

fn global_template(
    p: &mut Problems,
    value: &Spanned<toml::Value>,
    source: &str,
    field: &str,
    scope: &lint::Scope,
) -> Option<Template> {
    let t = match Template::compile(source) {
        Ok(t) => t,
        Err(e) => {
            p.at(value.span(), field, e);
            return None;
        }
    };
    let found = lint::lint(source, false, scope);
    if found.is_empty() {
        return Some(t);
    }
    for problem in found {
        p.at(
            value.span(),
            field,
            format!("template line {}: {}", problem.line, problem.message),
        );
    }
    None
}

fn global_from_data(
    p: &mut Problems,
    value: &Spanned<toml::Value>,
    t: &toml::Table,
    field: &str,
    numeric_var: &dyn Fn(&str) -> bool,
) -> Option<Global> {
    let text = |k: &str| t.get(k).and_then(toml::Value::as_str);
    let known = ["time", "format", "min", "max"];
    if let Some(k) = t.keys().find(|k| !known.contains(&k.as_str())) {
        p.at(value.span(), field, format!("unknown key {k:?}: from the data, a global attribute is {{ time = \"first\" | \"last\", format = \"…\" }}, {{ min = \"<variable>\" }} or {{ max = \"<variable>\" }}"));
        return None;
    }
    match (text("time"), text("min"), text("max")) {
        (Some(which), None, None) => {
            let last = match which {
                "earliest" => false,
                "latest" => true,
                other => {
                    p.at(
                        value.span(),
                        field,
                        format!("time = {other:?}: \"earliest\" or \"latest\""),
                    );
                    return None;
                }
            };
            let format = text("format").unwrap_or("%Y-%m-%dT%H:%M:%SZ").to_string();
            if !valid_format(&format) {
                p.at(
                    value.span(),
                    field,
                    format!("{format:?} is not a strftime format"),
                );
                return None;
            }
            Some(Global::Time { last, format })
        }
        (None, Some(var), None) | (None, None, Some(var)) if t.get("format").is_none() => {
            if !numeric_var(var) {
                p.at(
                    value.span(),
                    field,
                    format!("{var:?} is not a numeric variable read from a column"),
                );
                return None;
            }
            Some(Global::Extent {
                max: text("max").is_some(),
                variable: var.to_string(),
            })
        }
        _ => {
            p.at(value.span(), field, "from the data, a global attribute is { time = \"first\" | \"last\", format = \"…\" }, { min = \"<variable>\" } or { max = \"<variable>\" }");
            None
        }
    }
}
