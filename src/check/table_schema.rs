//! Frictionless Table Schema for CSV files: the schema as loaded (and validated) with the pipeline
//! file, and the check of one CSV file against it, reporting the first errors by row and column.
//!
//! Supported: field types string, integer, number, boolean, date, datetime (with `format`
//! "default", "any" or a `%`-pattern); constraints required, unique, minimum, maximum, minLength,
//! maxLength, pattern, enum; `missingValues`; `primaryKey` (unique and required). The header row
//! must name the fields in order.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use chrono::{NaiveDate, NaiveDateTime};
use regex::Regex;
use serde_json::Value;

/// How many errors a report lists; the rest are only counted.
pub const MAX_LISTED_ERRORS: usize = 20;

/// A validated table schema.
#[derive(Debug, Clone)]
pub struct TableSchema {
    /// The schema file as named in the pipeline file, for messages.
    pub origin: String,
    fields: Vec<Field>,
    missing_values: Vec<String>,
    /// Field positions whose combined value must be unique (the primary key).
    primary_key: Vec<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldType {
    String,
    Integer,
    Number,
    Boolean,
    Date,
    Datetime,
}

impl FieldType {
    const NAMES: &'static str = "string, integer, number, boolean, date, datetime";

    fn parse(s: &str) -> Option<FieldType> {
        Some(match s {
            "string" => FieldType::String,
            "integer" => FieldType::Integer,
            "number" => FieldType::Number,
            "boolean" => FieldType::Boolean,
            "date" => FieldType::Date,
            "datetime" => FieldType::Datetime,
            _ => return None,
        })
    }

    fn noun(self) -> &'static str {
        match self {
            FieldType::String => "a string",
            FieldType::Integer => "an integer",
            FieldType::Number => "a number",
            FieldType::Boolean => "a boolean",
            FieldType::Date => "a date",
            FieldType::Datetime => "a datetime",
        }
    }
}

#[derive(Debug, Clone)]
struct Field {
    name: String,
    kind: FieldType,
    /// `None` = default format; `Some("any")`; or a chrono `%` pattern.
    format: Option<String>,
    true_values: Vec<String>,
    false_values: Vec<String>,
    required: bool,
    unique: bool,
    minimum: Option<Cell>,
    maximum: Option<Cell>,
    min_length: Option<usize>,
    max_length: Option<usize>,
    pattern: Option<(String, Regex)>,
    allowed: Option<Vec<Cell>>,
}

/// A typed cell value.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum Cell {
    Str(String),
    Int(i64),
    Num(f64),
    Bool(bool),
    Date(NaiveDate),
    DateTime(NaiveDateTime),
}

impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cell::Str(s) => write!(f, "{s:?}"),
            Cell::Int(i) => write!(f, "{i}"),
            Cell::Num(n) => write!(f, "{n}"),
            Cell::Bool(b) => write!(f, "{b}"),
            Cell::Date(d) => write!(f, "{d}"),
            Cell::DateTime(t) => write!(f, "{t}"),
        }
    }
}

const DEFAULT_TRUE: [&str; 4] = ["true", "True", "TRUE", "1"];
const DEFAULT_FALSE: [&str; 4] = ["false", "False", "FALSE", "0"];

impl Field {
    fn cast(&self, raw: &str) -> Option<Cell> {
        match self.kind {
            FieldType::String => Some(Cell::Str(raw.to_string())),
            FieldType::Integer => raw.trim().parse().ok().map(Cell::Int),
            FieldType::Number => raw
                .trim()
                .parse::<f64>()
                .ok()
                .or(match raw.trim() {
                    "INF" => Some(f64::INFINITY),
                    "-INF" => Some(f64::NEG_INFINITY),
                    _ => None,
                })
                .map(Cell::Num),
            FieldType::Boolean => {
                if self.true_values.iter().any(|v| v == raw) {
                    Some(Cell::Bool(true))
                } else if self.false_values.iter().any(|v| v == raw) {
                    Some(Cell::Bool(false))
                } else {
                    None
                }
            }
            FieldType::Date => parse_date(raw, self.format.as_deref()).map(Cell::Date),
            FieldType::Datetime => parse_datetime(raw, self.format.as_deref()).map(Cell::DateTime),
        }
    }
}

fn parse_date(raw: &str, format: Option<&str>) -> Option<NaiveDate> {
    match format {
        None => NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok(),
        // tableschema-py: `dateutil.parser.parse(value).date()`.
        Some("any") => super::dateutil::parse(raw).map(|t| t.date()),
        Some(pattern) => NaiveDate::parse_from_str(raw, pattern).ok(),
    }
}

fn parse_datetime(raw: &str, format: Option<&str>) -> Option<NaiveDateTime> {
    let rfc3339 = || {
        chrono::DateTime::parse_from_rfc3339(raw)
            .ok()
            .map(|t| t.naive_utc())
    };
    match format {
        None => rfc3339(),
        // tableschema-py: `dateutil.parser.parse(value)`.
        Some("any") => super::dateutil::parse(raw),
        Some(pattern) => NaiveDateTime::parse_from_str(raw, pattern).ok(),
    }
}

impl TableSchema {
    /// Reads and validates a schema file.
    pub fn load(path: &Path, origin: &str) -> Result<TableSchema, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the table schema {}: {e}", path.display()))?;
        TableSchema::from_json(&text, origin)
    }

    /// Parses and validates a schema; the error names the field and the property at fault.
    pub fn from_json(text: &str, origin: &str) -> Result<TableSchema, String> {
        let doc: Value = serde_json::from_str(text)
            .map_err(|e| format!("table schema {origin} is not valid JSON: {e}"))?;
        let fail = |msg: String| Err(format!("table schema {origin}: {msg}"));
        let Some(obj) = doc.as_object() else {
            return fail("expected a JSON object with \"fields\"".into());
        };
        let Some(raw_fields) = obj.get("fields").and_then(Value::as_array) else {
            return fail("\"fields\" must be a list of fields".into());
        };
        if raw_fields.is_empty() {
            return fail("\"fields\" is empty".into());
        }
        let missing_values = match obj.get("missingValues") {
            None => vec![String::new()],
            Some(Value::Array(values)) => {
                let mut out = Vec::new();
                for v in values {
                    match v.as_str() {
                        Some(s) => out.push(s.to_string()),
                        None => return fail(format!("missingValues: {v} is not a string")),
                    }
                }
                out
            }
            Some(other) => return fail(format!("missingValues must be a list, not {other}")),
        };
        let mut fields = Vec::new();
        for (i, f) in raw_fields.iter().enumerate() {
            match parse_field(f) {
                Ok(field) => {
                    if fields.iter().any(|x: &Field| x.name == field.name) {
                        return fail(format!(
                            "fields[{i}]: the name {:?} is repeated",
                            field.name
                        ));
                    }
                    fields.push(field);
                }
                Err(msg) => return fail(format!("fields[{i}]: {msg}")),
            }
        }
        let key_names: Vec<String> = match obj.get("primaryKey") {
            None => Vec::new(),
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<_>>()
                .ok_or_else(|| format!("table schema {origin}: primaryKey must name fields"))?,
            Some(other) => return fail(format!("primaryKey must name fields, not {other}")),
        };
        let mut primary_key = Vec::new();
        for name in key_names {
            match fields.iter().position(|f| f.name == name) {
                Some(i) => {
                    fields[i].required = true;
                    primary_key.push(i);
                }
                None => return fail(format!("primaryKey names {name:?}, which is not a field")),
            }
        }
        Ok(TableSchema {
            origin: origin.to_string(),
            fields,
            missing_values,
            primary_key,
        })
    }

    /// The field names, in order.
    pub fn field_names(&self) -> Vec<&str> {
        self.fields.iter().map(|f| f.name.as_str()).collect()
    }

    /// Checks a CSV file. `Ok(errors)` lists the first [`MAX_LISTED_ERRORS`] problems and counts
    /// all of them; `Err` means the file could not be read at all.
    pub fn check_csv(&self, path: &Path) -> Result<TableErrors, String> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_path(path)
            .map_err(|e| format!("cannot read the CSV file: {e}"))?;
        let mut errors = TableErrors::default();
        let mut records = reader.records();
        let header = match records.next() {
            None => {
                errors.push("the file has no header row".into());
                return Ok(errors);
            }
            Some(Err(e)) => return Err(format!("not valid CSV: {e}")),
            Some(Ok(h)) => h,
        };
        let found: Vec<&str> = header.iter().map(str::trim).collect();
        if found != self.field_names() {
            errors.push(format!(
                "row 1 (header): expected the columns {:?}, found {:?}",
                self.field_names(),
                found
            ));
            return Ok(errors);
        }
        let mut seen: Vec<HashMap<String, usize>> = vec![HashMap::new(); self.fields.len()];
        let mut seen_keys: HashSet<Vec<String>> = HashSet::new();
        for (i, record) in records.enumerate() {
            let row = i + 2;
            errors.rows += 1;
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    errors.push(format!("row {row}: not valid CSV: {e}"));
                    continue;
                }
            };
            if record.len() != self.fields.len() {
                errors.push(format!(
                    "row {row}: {} cells, expected {}",
                    record.len(),
                    self.fields.len()
                ));
                continue;
            }
            for (col, (field, raw)) in self.fields.iter().zip(record.iter()).enumerate() {
                let at = || format!("row {row}, column {} ({})", col + 1, field.name);
                if self.missing_values.iter().any(|m| m == raw) {
                    if field.required {
                        errors.push(format!("{}: a value is required", at()));
                    }
                    continue;
                }
                let Some(value) = field.cast(raw) else {
                    errors.push(format!("{}: {raw:?} is not {}", at(), field.kind.noun()));
                    continue;
                };
                for problem in constraint_problems(field, raw, &value) {
                    errors.push(format!("{}: {problem}", at()));
                }
                if field.unique {
                    if let Some(first) = seen[col].get(raw) {
                        errors.push(format!(
                            "{}: {raw:?} must be unique but repeats row {first}",
                            at()
                        ));
                    } else {
                        seen[col].insert(raw.to_string(), row);
                    }
                }
            }
            if !self.primary_key.is_empty() {
                let key: Vec<String> = self
                    .primary_key
                    .iter()
                    .map(|&c| record[c].to_string())
                    .collect();
                if !seen_keys.insert(key.clone()) {
                    errors.push(format!(
                        "row {row}: primary key {key:?} repeats an earlier row"
                    ));
                }
            }
        }
        Ok(errors)
    }
}

fn constraint_problems(field: &Field, raw: &str, value: &Cell) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(min) = &field.minimum
        && value.partial_cmp(min) == Some(std::cmp::Ordering::Less)
    {
        out.push(format!("{value} is below the minimum {min}"));
    }
    if let Some(max) = &field.maximum
        && value.partial_cmp(max) == Some(std::cmp::Ordering::Greater)
    {
        out.push(format!("{value} is above the maximum {max}"));
    }
    let len = raw.chars().count();
    if field.min_length.is_some_and(|m| len < m) {
        out.push(format!(
            "{raw:?} is shorter than {}",
            field.min_length.unwrap_or(0)
        ));
    }
    if field.max_length.is_some_and(|m| len > m) {
        out.push(format!(
            "{raw:?} is longer than {}",
            field.max_length.unwrap_or(0)
        ));
    }
    if let Some((pattern, re)) = &field.pattern
        && !re.is_match(raw)
    {
        out.push(format!("{raw:?} does not match the pattern {pattern:?}"));
    }
    if let Some(allowed) = &field.allowed
        && !allowed.contains(value)
    {
        let list: Vec<String> = allowed.iter().map(ToString::to_string).collect();
        out.push(format!("{value} is not one of {}", list.join(", ")));
    }
    out
}

fn parse_field(v: &Value) -> Result<Field, String> {
    let obj = v.as_object().ok_or("a field must be an object")?;
    let name = obj
        .get("name")
        .and_then(Value::as_str)
        .ok_or("a field needs a \"name\"")?
        .to_string();
    let kind_name = obj.get("type").and_then(Value::as_str).unwrap_or("string");
    let kind = FieldType::parse(kind_name).ok_or_else(|| {
        format!(
            "field {name:?}: type {kind_name:?} is not supported (supported: {})",
            FieldType::NAMES
        )
    })?;
    let format = match obj.get("format").and_then(Value::as_str) {
        None | Some("default") => None,
        Some(f) if f == "any" || f.contains('%') => Some(f.to_string()),
        Some(f) => {
            return Err(format!(
                "field {name:?}: format {f:?} is not supported (use \"default\", \"any\" or a %-pattern)"
            ));
        }
    };
    let strings = |key: &str, default: &[&str]| -> Result<Vec<String>, String> {
        match obj.get(key) {
            None => Ok(default.iter().map(|s| s.to_string()).collect()),
            Some(Value::Array(a)) => a
                .iter()
                .map(|x| x.as_str().map(str::to_string))
                .collect::<Option<_>>()
                .ok_or_else(|| format!("field {name:?}: {key} must be a list of strings")),
            Some(_) => Err(format!("field {name:?}: {key} must be a list of strings")),
        }
    };
    let mut field = Field {
        true_values: strings("trueValues", &DEFAULT_TRUE)?,
        false_values: strings("falseValues", &DEFAULT_FALSE)?,
        name: name.clone(),
        kind,
        format,
        required: false,
        unique: false,
        minimum: None,
        maximum: None,
        min_length: None,
        max_length: None,
        pattern: None,
        allowed: None,
    };
    let Some(constraints) = obj.get("constraints") else {
        return Ok(field);
    };
    let constraints = constraints
        .as_object()
        .ok_or_else(|| format!("field {name:?}: constraints must be an object"))?;
    // A bound is written as the field's own type (a JSON number or a string to cast).
    let caster = field.clone();
    let typed = |key: &str, v: &Value| -> Result<Cell, String> {
        let raw = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        caster
            .cast(&raw)
            .ok_or_else(|| format!("field {name:?}: {key} {v} is not {}", kind.noun()))
    };
    let flag = |key: &str, v: &Value| {
        v.as_bool()
            .ok_or_else(|| format!("field {name:?}: {key} must be true or false"))
    };
    let length = |key: &str, v: &Value| {
        v.as_u64()
            .map(|n| n as usize)
            .ok_or_else(|| format!("field {name:?}: {key} must be a whole number"))
    };
    let mut minimum = None;
    let mut maximum = None;
    let mut allowed = None;
    for (key, v) in constraints {
        match key.as_str() {
            "required" => field.required = flag(key, v)?,
            "unique" => field.unique = flag(key, v)?,
            "minimum" | "maximum" => {
                if matches!(kind, FieldType::String | FieldType::Boolean) {
                    return Err(format!(
                        "field {name:?}: {key} does not apply to type {kind_name}"
                    ));
                }
                let bound = typed(key, v)?;
                if key == "minimum" {
                    minimum = Some(bound);
                } else {
                    maximum = Some(bound);
                }
            }
            "minLength" => field.min_length = Some(length(key, v)?),
            "maxLength" => field.max_length = Some(length(key, v)?),
            "pattern" => {
                let p = v
                    .as_str()
                    .ok_or_else(|| format!("field {name:?}: pattern must be a string"))?;
                // Table Schema patterns match the whole value.
                let re = Regex::new(&format!("^(?:{p})$"))
                    .map_err(|e| format!("field {name:?}: invalid pattern {p:?}: {e}"))?;
                field.pattern = Some((p.to_string(), re));
            }
            "enum" => {
                let list = v
                    .as_array()
                    .ok_or_else(|| format!("field {name:?}: enum must be a list"))?;
                allowed = Some(
                    list.iter()
                        .map(|x| typed(key, x))
                        .collect::<Result<Vec<_>, _>>()?,
                );
            }
            other => {
                return Err(format!(
                    "field {name:?}: constraint {other:?} is not supported (supported: required, unique, minimum, maximum, minLength, maxLength, pattern, enum)"
                ));
            }
        }
    }
    field.minimum = minimum;
    field.maximum = maximum;
    field.allowed = allowed;
    Ok(field)
}

/// The problems found in one CSV file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableErrors {
    /// The first problems, each naming its row and column.
    pub listed: Vec<String>,
    /// How many problems there are in all.
    pub total: usize,
    /// Data rows read.
    pub rows: usize,
}

impl TableErrors {
    fn push(&mut self, message: String) {
        self.total += 1;
        if self.listed.len() < MAX_LISTED_ERRORS {
            self.listed.push(message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = r#"{
        "fields": [
            {"name": "station", "type": "string", "constraints": {"required": true, "unique": true, "pattern": "[A-Z]{3}[0-9]*"}},
            {"name": "depth", "type": "number", "constraints": {"minimum": 0, "maximum": 6000}},
            {"name": "count", "type": "integer"},
            {"name": "ok", "type": "boolean"},
            {"name": "day", "type": "date"},
            {"name": "at", "type": "datetime"},
            {"name": "kind", "type": "string", "constraints": {"enum": ["ctd", "mooring"]}}
        ],
        "missingValues": ["", "NA"]
    }"#;

    fn check(csv: &str) -> TableErrors {
        let schema = TableSchema::from_json(SCHEMA, "s.json").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, csv).unwrap();
        schema.check_csv(&path).unwrap()
    }

    const HEADER: &str = "station,depth,count,ok,day,at,kind\n";

    #[test]
    fn a_conforming_table_passes() {
        let e = check(&format!(
            "{HEADER}NRS1,10.5,3,true,2020-01-02,2020-01-02T03:04:05Z,ctd\nMAI,NA,,0,2021-12-31,2021-12-31T00:00:00+10:00,mooring\n"
        ));
        assert_eq!(
            e,
            TableErrors {
                listed: vec![],
                total: 0,
                rows: 2
            }
        );
    }

    #[test]
    fn each_violation_names_its_row_and_column() {
        let e = check(&format!(
            "{HEADER}NRS1,-1,x,maybe,2020-13-01,yesterday,buoy\nNRS1,7000,1,1,2020-01-01,2020-01-01T00:00:00Z,ctd\n,1,1,1,2020-01-01,2020-01-01T00:00:00Z,ctd\nlow,1,1,1,2020-01-01,2020-01-01T00:00:00Z,ctd\nA,B\n"
        ));
        let expected = [
            "row 2, column 2 (depth): -1 is below the minimum 0",
            "row 2, column 3 (count): \"x\" is not an integer",
            "row 2, column 4 (ok): \"maybe\" is not a boolean",
            "row 2, column 5 (day): \"2020-13-01\" is not a date",
            "row 2, column 6 (at): \"yesterday\" is not a datetime",
            "row 2, column 7 (kind): \"buoy\" is not one of \"ctd\", \"mooring\"",
            "row 3, column 1 (station): \"NRS1\" must be unique but repeats row 2",
            "row 3, column 2 (depth): 7000 is above the maximum 6000",
            "row 4, column 1 (station): a value is required",
            "row 5, column 1 (station): \"low\" does not match the pattern \"[A-Z]{3}[0-9]*\"",
            "row 6: 2 cells, expected 7",
        ];
        assert_eq!(e.listed, expected);
        assert_eq!(e.total, expected.len());
    }

    #[test]
    fn a_wrong_header_is_one_clear_error() {
        let e = check("station,depth\nA,1\n");
        assert_eq!(e.total, 1);
        assert!(
            e.listed[0].starts_with("row 1 (header): expected the columns"),
            "{e:?}"
        );
        assert_eq!(check("").listed, ["the file has no header row"]);
    }

    #[test]
    fn only_the_first_errors_are_listed_but_all_are_counted() {
        let mut csv = HEADER.to_string();
        for _ in 0..30 {
            csv.push_str("AAA1,1,1,1,2020-01-01,2020-01-01T00:00:00Z,nope\n");
        }
        let e = check(&csv);
        assert_eq!(e.listed.len(), MAX_LISTED_ERRORS);
        // 30 enum errors, 29 repeats of a unique station.
        assert_eq!(e.total, 59);
    }

    #[test]
    fn schema_problems_name_the_field_and_property() {
        let bad = |s: &str| TableSchema::from_json(s, "x.json").unwrap_err();
        assert!(bad("{").contains("not valid JSON"));
        assert!(bad(r#"{"fields": []}"#).contains("\"fields\" is empty"));
        assert!(
            bad(r#"{"fields": [{"name": "a", "type": "geopoint"}]}"#)
                .contains("type \"geopoint\" is not supported")
        );
        assert!(
            bad(
                r#"{"fields": [{"name": "a", "type": "integer", "constraints": {"minimum": "x"}}]}"#
            )
            .contains("minimum \"x\" is not an integer")
        );
        assert!(
            bad(r#"{"fields": [{"name": "a", "constraints": {"exclusiveMinimum": 1}}]}"#)
                .contains("constraint \"exclusiveMinimum\" is not supported")
        );
        assert!(bad(r#"{"fields": [{"name": "a"}], "primaryKey": "b"}"#).contains("not a field"));
    }

    #[test]
    fn a_primary_key_is_required_and_unique_and_formats_are_honoured() {
        let schema = TableSchema::from_json(
            r#"{"fields": [{"name": "a"}, {"name": "d", "type": "date", "format": "%d/%m/%Y"}], "primaryKey": ["a", "d"]}"#,
            "k.json",
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(
            &path,
            "a,d\nx,31/12/2020\nx,31/12/2020\n,01/01/2020\ny,2020-01-01\n",
        )
        .unwrap();
        let e = schema.check_csv(&path).unwrap();
        assert_eq!(
            e.listed,
            [
                "row 3: primary key [\"x\", \"31/12/2020\"] repeats an earlier row",
                "row 4, column 1 (a): a value is required",
                "row 5, column 2 (d): \"2020-01-01\" is not a date",
            ]
        );
    }
}
