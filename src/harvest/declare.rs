//! Harvest declarations as written in the pipeline file (serde types), and their validation into
//! a [`Collection`]: pure, no I/O, every problem at once with its field path.
//!
//! The shape, under a pipeline or a rule (`[pipeline.harvest]`, `[pipeline.files.harvest]`):
//!
//! ```toml
//! [harvest]
//! schema = "anmn_ts"            # the collection's schema (SQLite: a table-name prefix)
//! files_schema = "file_index"   # where indexed_file and the nc_* attribute tables live
//! time = "TIME"                 # the time variable (time coverage, partitions by year)
//! attributes = true             # nc_global_attribute, nc_variable, nc_variable_attribute rows
//!
//! [[harvest.tables]]            # one row per file
//! name = "file_metadata"
//! rows = "file"
//! columns = ["site_code",                                   # a global attribute
//!            { name = "LATITUDE", variable = "LATITUDE" },   # a scalar (or reduced) variable
//!            { name = "geom", geometry = "point", precision = 6 },
//!            { name = "time_coverage_start", attribute = "time_coverage_start", type = "timestamptz" }]
//!
//! [[harvest.tables]]            # one row per sample along the dimensions
//! name = "measurement"
//! rows = "samples"
//! dimensions = ["TIME"]
//! quality_control = true        # a <column>_quality_control column per variable column
//! primary_key = ["file_id", "TIME"]
//! columns = ["TIME", "TEMP", { name = "DEPTH", type = "real" }]
//!
//! [[harvest.tables]]            # rows of a CSV file
//! name = "bgc_chemistry"
//! rows = "csv"
//! mode = "upsert"               # replace_file (default) | append | truncate | upsert
//! key = ["trip_code", "depth"]
//! columns = [{ name = "trip_code", csv = "TRIP_CODE" }, "DEPTH"]
//!
//! [[harvest.views]]             # created with the tables, for the portal
//! name = "anmn_ts_map"
//! from = "file_metadata"
//! join = ["indexed_file"]       # joined on file_id (indexed_file: on its id)
//! columns = ["file_metadata.file_id AS timeseries_id", "site_code", "geom", "url AS file_url"]
//!
//! [harvest.parquet]             # the cloud-optimised copy: one object per file
//! table = "measurement"
//! file_columns = ["site_code", "geom"]   # repeated on every row
//! partition_by = ["site_code", "year"]
//! ```
//!
//! A column written as a bare string takes its value from the source its table's rows imply: a
//! global attribute (file tables), a variable (sample tables) or a CSV column (CSV tables).

use std::collections::BTreeSet;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::model::{
    Bound, Collection, Column, FileField, GeometryKind, LoadMode, ParquetSink, Reduce, Rows,
    Source, SqlType, Table, View, ViewColumn,
};

/// One harvest declaration, as written.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HarvestDecl {
    pub schema: String,
    pub files_schema: Option<String>,
    pub time: Option<String>,
    pub attributes: Option<bool>,
    #[serde(default)]
    pub tables: Vec<TableDecl>,
    #[serde(default)]
    pub views: Vec<ViewDecl>,
    pub parquet: Option<ParquetDecl>,
}

/// A table of the collection, as written.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TableDecl {
    pub name: String,
    /// `file`, `samples` or `csv`.
    pub rows: String,
    #[serde(default)]
    pub dimensions: Vec<String>,
    #[serde(default)]
    pub quality_control: bool,
    pub mode: Option<String>,
    #[serde(default)]
    pub key: Vec<String>,
    #[serde(default)]
    pub primary_key: Vec<String>,
    pub delimiter: Option<String>,
    pub columns: Vec<ColumnDecl>,
}

/// A column as written: a bare name, or a table of options.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ColumnDecl {
    Name(String),
    Spec(Box<ColumnSpec>),
}

/// A column's options.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnSpec {
    pub name: String,
    pub variable: Option<String>,
    pub attribute: Option<String>,
    pub csv: Option<String>,
    /// `dest_path`, `name` or `size`.
    pub file: Option<String>,
    /// `point`, `bbox` or `track`.
    pub geometry: Option<String>,
    /// `start` or `end`: from the time variable's values.
    pub time_coverage: Option<String>,
    /// `first`, `min`, `max`, `mean` or `any`: a variable's values reduced to one (file tables).
    pub reduce: Option<String>,
    #[serde(rename = "type")]
    pub ty: Option<String>,
    /// `true`/`false` (follow the table's `quality_control`), or the QC variable's name.
    pub qc: Option<QcDecl>,
    pub precision: Option<i64>,
    /// Geometry: the longitude and latitude sources, `[lon, lat]`.
    #[serde(default)]
    pub from: Vec<String>,
    pub max_points: Option<i64>,
    #[serde(default)]
    pub required: bool,
}

/// A column's quality-control option.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum QcDecl {
    On(bool),
    Variable(String),
}

impl<'de> Deserialize<'de> for ColumnDecl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // By hand rather than `untagged`, so a mistyped option is named in the error.
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ColumnDecl;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a column name or a table such as { name = \"TEMP\", type = \"real\" }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ColumnDecl, E> {
                Ok(ColumnDecl::Name(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ColumnDecl, A::Error> {
                ColumnSpec::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|s| ColumnDecl::Spec(Box::new(s)))
            }
        }
        d.deserialize_any(V)
    }
}

/// A view, as written.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ViewDecl {
    pub name: String,
    pub from: String,
    #[serde(default)]
    pub join: Vec<String>,
    pub columns: Vec<String>,
}

/// The Parquet sink, as written.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ParquetDecl {
    pub table: String,
    #[serde(default)]
    pub file_columns: Vec<String>,
    #[serde(default)]
    pub partition_by: Vec<String>,
    /// The dataset's folder in the store; `<schema>/<table>` by default.
    pub prefix: Option<String>,
}

/// One problem in a declaration: the field's path below the declaration (`tables[1].columns[2].type`)
/// and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// The columns of the files table every collection shares (`<files_schema>.indexed_file`), as the
/// reference's prototype has them; views may join it.
pub const INDEXED_FILE_COLUMNS: &[&str] = &[
    "id",
    "url",
    "created",
    "modified",
    "first_indexed",
    "last_indexed",
    "last_indexed_run",
    "size",
    "deleted",
];

/// Names the engine uses itself in a collection's schema.
const RESERVED_TABLES: &[&str] = &["indexed_file", "harvest_migration", "harvest_load"];

/// A SQL identifier we accept: letters, digits and `_`, starting with a letter, at most 63 bytes
/// (PostgreSQL's limit), and without `__` (SQLite's table names join schema and table with it).
fn identifier(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        return Err(format!(
            "{name:?} is not a usable name: use letters, digits and '_', starting with a letter, at most 63 characters"
        ));
    }
    if name.contains("__") {
        return Err(format!(
            "{name:?} contains '__', which the SQLite layout uses between schema and table"
        ));
    }
    Ok(())
}

/// A schema or table name: an identifier in lower case, so it needs no quoting anywhere.
fn lower_identifier(name: &str) -> Result<(), String> {
    identifier(name)?;
    if name.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(format!(
            "{name:?}: use lower case for schema and table names"
        ));
    }
    Ok(())
}

struct Problems(Vec<Problem>);

impl Problems {
    fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            path: path.into(),
            message: message.into(),
        });
    }
}

fn one_of<T: Copy>(p: &mut Problems, path: &str, value: &str, options: &[(&str, T)]) -> Option<T> {
    match options.iter().find(|(n, _)| *n == value) {
        Some((_, v)) => Some(*v),
        None => {
            let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
            p.add(
                path,
                format!("unknown value {value:?}; expected {}", names.join(", ")),
            );
            None
        }
    }
}

/// Validates a declaration without I/O, returning the collection it declares or every problem.
pub fn validate(decl: &HarvestDecl) -> Result<Collection, Vec<Problem>> {
    let mut p = Problems(Vec::new());
    if let Err(e) = lower_identifier(&decl.schema) {
        p.add("schema", e);
    }
    let files_schema = decl
        .files_schema
        .clone()
        .unwrap_or_else(|| "file_index".to_string());
    if let Err(e) = lower_identifier(&files_schema) {
        p.add("files_schema", e);
    }
    if files_schema == decl.schema {
        p.add(
            "files_schema",
            "must differ from schema: the files table is shared by every collection",
        );
    }
    let time = decl.time.clone().unwrap_or_else(|| "TIME".to_string());
    if decl.tables.is_empty() {
        p.add("tables", "no tables: the harvest would load nothing");
    }
    let mut tables = Vec::new();
    let mut names = BTreeSet::new();
    for (i, t) in decl.tables.iter().enumerate() {
        let path = format!("tables[{i}]");
        if let Err(e) = lower_identifier(&t.name) {
            p.add(format!("{path}.name"), e);
        } else if RESERVED_TABLES.contains(&t.name.as_str()) {
            p.add(
                format!("{path}.name"),
                format!("{:?} is a table the harvest keeps itself", t.name),
            );
        } else if !names.insert(t.name.clone()) {
            p.add(format!("{path}.name"), "another table has this name");
        }
        if let Some(table) = validate_table(t, &path, &mut p) {
            tables.push(table);
        }
    }
    let mut views = Vec::new();
    for (i, v) in decl.views.iter().enumerate() {
        let path = format!("views[{i}]");
        if let Err(e) = lower_identifier(&v.name) {
            p.add(format!("{path}.name"), e);
        } else if names.contains(&v.name) || !names.insert(v.name.clone()) {
            p.add(
                format!("{path}.name"),
                "a table or another view has this name",
            );
        }
        if let Some(view) = validate_view(v, &path, &tables, &names, &mut p) {
            views.push(view);
        }
    }
    let parquet = decl
        .parquet
        .as_ref()
        .filter(|pq| tables.iter().any(|t| t.name == pq.table) || !names.contains(&pq.table))
        .and_then(|pq| validate_parquet(pq, &decl.schema, &tables, &mut p));
    if !p.0.is_empty() {
        return Err(p.0);
    }
    Ok(Collection {
        schema: decl.schema.clone(),
        files_schema,
        time,
        attributes: decl.attributes.unwrap_or(true),
        tables,
        views,
        parquet,
    })
}

fn validate_table(t: &TableDecl, path: &str, p: &mut Problems) -> Option<Table> {
    let before = p.0.len();
    let rows = one_of(
        p,
        &format!("{path}.rows"),
        &t.rows,
        &[("file", 0u8), ("samples", 1), ("csv", 2)],
    );
    let rows = match rows {
        Some(0) => Rows::File,
        Some(1) => {
            if t.dimensions.is_empty() {
                p.add(
                    format!("{path}.dimensions"),
                    "a samples table needs the dimensions its rows run along, e.g. [\"TIME\"]",
                );
            }
            Rows::Samples {
                dimensions: t.dimensions.clone(),
            }
        }
        Some(_) => {
            let delimiter = match t.delimiter.as_deref() {
                None => b',',
                Some("\\t") => b'\t',
                Some(d) if d.len() == 1 && d.is_ascii() => d.as_bytes()[0],
                Some(d) => {
                    p.add(
                        format!("{path}.delimiter"),
                        format!("{d:?} is not one ASCII character"),
                    );
                    b','
                }
            };
            Rows::Csv { delimiter }
        }
        None => Rows::File,
    };
    let is_csv = matches!(rows, Rows::Csv { .. });
    let is_samples = matches!(rows, Rows::Samples { .. });
    if !is_samples && !t.dimensions.is_empty() {
        p.add(
            format!("{path}.dimensions"),
            "only samples tables run along dimensions",
        );
    }
    if !is_csv && t.delimiter.is_some() {
        p.add(
            format!("{path}.delimiter"),
            "only CSV tables have a delimiter",
        );
    }
    if t.quality_control && !is_samples {
        p.add(
            format!("{path}.quality_control"),
            "only samples tables add quality-control columns; name them as columns here",
        );
    }
    let mode = match &t.mode {
        None => LoadMode::ReplaceFile,
        Some(m) if is_csv => one_of(
            p,
            &format!("{path}.mode"),
            m,
            &[
                ("replace_file", LoadMode::ReplaceFile),
                ("append", LoadMode::Append),
                ("truncate", LoadMode::Truncate),
                ("upsert", LoadMode::Upsert),
            ],
        )
        .unwrap_or(LoadMode::ReplaceFile),
        Some(_) => {
            p.add(
                format!("{path}.mode"),
                "only CSV tables have a mode: NetCDF rows always replace the file's earlier rows",
            );
            LoadMode::ReplaceFile
        }
    };
    if t.columns.is_empty() {
        p.add(format!("{path}.columns"), "no columns");
    }
    let mut columns: Vec<Column> = Vec::new();
    let mut seen = BTreeSet::from(["file_id".to_string()]);
    for (j, c) in t.columns.iter().enumerate() {
        let cpath = format!("{path}.columns[{j}]");
        let spec = match c {
            ColumnDecl::Name(n) => ColumnSpec {
                name: n.clone(),
                ..Default::default()
            },
            ColumnDecl::Spec(s) => (**s).clone(),
        };
        for col in validate_column(&spec, &rows, t.quality_control, &cpath, p) {
            if col.name.eq_ignore_ascii_case("file_id") {
                p.add(
                    format!("{cpath}.name"),
                    "file_id is the column every table gets; choose another name",
                );
            } else if !seen.insert(col.name.to_ascii_lowercase()) {
                p.add(
                    format!("{cpath}.name"),
                    format!(
                        "the table has two columns named {:?} (names are compared without case)",
                        col.name
                    ),
                );
            }
            columns.push(col);
        }
    }
    let geometries = columns
        .iter()
        .filter(|c| matches!(c.source, Source::Geometry { .. }))
        .count();
    if is_csv && geometries > 0 {
        for c in &columns {
            if let Source::Geometry { kind, .. } = &c.source
                && *kind != GeometryKind::Point
            {
                p.add(
                    format!("{path}.columns"),
                    format!("column {:?}: a CSV row's geometry is a point", c.name),
                );
            }
        }
    }
    let known = |n: &str| n == "file_id" || columns.iter().any(|c| c.name == n);
    for (k, n) in t.primary_key.iter().enumerate() {
        if !known(n) {
            p.add(
                format!("{path}.primary_key[{k}]"),
                format!("{n:?} is not a column of the table"),
            );
        }
    }
    if !t.primary_key.is_empty() && !t.primary_key.iter().any(|k| k == "file_id") && !is_csv {
        p.add(
            format!("{path}.primary_key"),
            "must include file_id: two files may hold the same samples",
        );
    }
    match mode {
        LoadMode::Upsert => {
            if t.key.is_empty() {
                p.add(
                    format!("{path}.key"),
                    "mode upsert needs the key that identifies a row, e.g. key = [\"station\", \"date\"]",
                );
            }
            for (k, n) in t.key.iter().enumerate() {
                if !known(n) || n == "file_id" {
                    p.add(
                        format!("{path}.key[{k}]"),
                        format!("{n:?} is not a declared column of the table"),
                    );
                }
            }
            if !t.primary_key.is_empty() {
                p.add(
                    format!("{path}.primary_key"),
                    "an upsert table's key is its primary key; remove primary_key",
                );
            }
        }
        _ if !t.key.is_empty() => p.add(format!("{path}.key"), "only mode upsert has a key"),
        _ => {}
    }
    if !is_csv && t.rows == "file" && !t.primary_key.is_empty() && t.primary_key != ["file_id"] {
        p.add(
            format!("{path}.primary_key"),
            "a file table has one row per file: its key is file_id",
        );
    }
    (p.0.len() == before).then(|| Table {
        name: t.name.clone(),
        rows,
        columns,
        primary_key: match (&mode, t.rows.as_str()) {
            (LoadMode::Upsert, _) => t.key.clone(),
            (_, "file") => vec!["file_id".to_string()],
            _ => t.primary_key.clone(),
        },
        mode,
    })
}

/// One declared column, plus its quality-control column where one is asked for.
fn validate_column(
    s: &ColumnSpec,
    rows: &Rows,
    table_qc: bool,
    path: &str,
    p: &mut Problems,
) -> Vec<Column> {
    if let Err(e) = identifier(&s.name) {
        p.add(format!("{path}.name"), e);
    }
    let ty = s.ty.as_deref().and_then(|t| match SqlType::parse(t) {
        Some(SqlType::Geometry) => {
            p.add(
                format!("{path}.type"),
                "geometry columns are declared with geometry = \"point\" | \"bbox\" | \"track\"",
            );
            None
        }
        Some(t) => Some(t),
        None => {
            p.add(
                format!("{path}.type"),
                format!(
                    "unknown type {t:?}; expected one of {}",
                    SqlType::NAMES.join(", ")
                ),
            );
            None
        }
    });
    let given: Vec<&str> = [
        ("variable", s.variable.is_some()),
        ("attribute", s.attribute.is_some()),
        ("csv", s.csv.is_some()),
        ("file", s.file.is_some()),
        ("geometry", s.geometry.is_some()),
        ("time_coverage", s.time_coverage.is_some()),
    ]
    .iter()
    .filter(|(_, on)| *on)
    .map(|(n, _)| *n)
    .collect();
    if given.len() > 1 {
        p.add(
            path,
            format!(
                "a column has one source; this one names {}",
                given.join(" and ")
            ),
        );
        return Vec::new();
    }
    let is = |r: &str| match rows {
        Rows::File => r == "file",
        Rows::Samples { .. } => r == "samples",
        Rows::Csv { .. } => r == "csv",
    };
    let mut wrong_rows = |what: &str, allowed: &str| {
        p.add(
            path,
            format!("a {what} column belongs in a {allowed} table"),
        );
    };
    let source = match given.first().copied() {
        None if is("file") => Source::Attribute(s.name.clone()),
        None if is("samples") => Source::Variable {
            name: s.name.clone(),
            reduce: None,
        },
        None => Source::Csv(s.name.clone()),
        Some("variable") => {
            if is("csv") {
                wrong_rows("variable", "file or samples");
            }
            let reduce = match &s.reduce {
                None => None,
                Some(r) if is("file") => one_of(
                    p,
                    &format!("{path}.reduce"),
                    r,
                    &[
                        ("first", Reduce::First),
                        ("min", Reduce::Min),
                        ("max", Reduce::Max),
                        ("mean", Reduce::Mean),
                        ("any", Reduce::Any),
                    ],
                ),
                Some(_) => {
                    p.add(
                        format!("{path}.reduce"),
                        "only a file table reduces a variable to one value",
                    );
                    None
                }
            };
            Source::Variable {
                name: s.variable.clone().unwrap_or_default(),
                reduce,
            }
        }
        Some("attribute") => {
            if is("csv") {
                wrong_rows("global attribute", "file or samples");
            }
            Source::Attribute(s.attribute.clone().unwrap_or_default())
        }
        Some("csv") => {
            if !is("csv") {
                wrong_rows("csv", "csv");
            }
            Source::Csv(s.csv.clone().unwrap_or_default())
        }
        Some("file") => {
            let field = one_of(
                p,
                &format!("{path}.file"),
                s.file.as_deref().unwrap_or_default(),
                &[
                    ("dest_path", FileField::DestPath),
                    ("name", FileField::Name),
                    ("size", FileField::Size),
                ],
            )
            .unwrap_or(FileField::DestPath);
            Source::File(field)
        }
        Some("time_coverage") => {
            if !is("file") {
                wrong_rows("time_coverage", "file");
            }
            let bound = one_of(
                p,
                &format!("{path}.time_coverage"),
                s.time_coverage.as_deref().unwrap_or_default(),
                &[("start", Bound::Start), ("end", Bound::End)],
            )
            .unwrap_or(Bound::Start);
            Source::TimeCoverage(bound)
        }
        Some(_geometry) => {
            let kind = one_of(
                p,
                &format!("{path}.geometry"),
                s.geometry.as_deref().unwrap_or_default(),
                &[
                    ("point", GeometryKind::Point),
                    ("bbox", GeometryKind::BoundingBox),
                    ("track", GeometryKind::Track),
                ],
            )
            .unwrap_or(GeometryKind::Point);
            if kind != GeometryKind::Point && !is("file") {
                p.add(
                    format!("{path}.geometry"),
                    "a row of a samples or CSV table is one position: use geometry = \"point\"",
                );
            }
            let precision = match s.precision {
                None => 6,
                Some(n) if (0..=9).contains(&n) => n as u32,
                Some(_) => {
                    p.add(
                        format!("{path}.precision"),
                        "decimal places of the coordinates, 0 to 9",
                    );
                    6
                }
            };
            let max_points = match s.max_points {
                None => 10_000,
                Some(n) if n >= 2 && kind == GeometryKind::Track => n as usize,
                Some(_) if kind != GeometryKind::Track => {
                    p.add(format!("{path}.max_points"), "only a track has max_points");
                    10_000
                }
                Some(_) => {
                    p.add(format!("{path}.max_points"), "at least 2");
                    10_000
                }
            };
            let (lon, lat) = match s.from.as_slice() {
                [] => ("LONGITUDE".to_string(), "LATITUDE".to_string()),
                [lon, lat] => (lon.clone(), lat.clone()),
                _ => {
                    p.add(
                        format!("{path}.from"),
                        "the longitude and latitude sources: from = [\"LONGITUDE\", \"LATITUDE\"]",
                    );
                    (String::new(), String::new())
                }
            };
            if s.ty.is_some() {
                p.add(
                    format!("{path}.type"),
                    "a geometry column's type is geometry",
                );
            }
            Source::Geometry {
                kind,
                precision,
                lon,
                lat,
                max_points,
            }
        }
    };
    if let Source::Variable { name, .. } | Source::Attribute(name) | Source::Csv(name) = &source
        && name.is_empty()
    {
        p.add(path, "an empty source name");
    }
    if s.reduce.is_some() && !matches!(source, Source::Variable { .. }) {
        p.add(
            format!("{path}.reduce"),
            "only a variable column is reduced",
        );
    }
    if s.precision.is_some() && !matches!(source, Source::Geometry { .. }) {
        p.add(
            format!("{path}.precision"),
            "only a geometry column has a precision",
        );
    }
    if !s.from.is_empty() && !matches!(source, Source::Geometry { .. }) {
        p.add(
            format!("{path}.from"),
            "only a geometry column is built from coordinates",
        );
    }
    let mut out = vec![Column {
        name: s.name.clone(),
        source: source.clone(),
        ty,
        required: s.required,
    }];
    let qc = match (&s.qc, &source) {
        (None, Source::Variable { name, reduce: None }) if table_qc && is("samples") => {
            Some((name.clone(), None))
        }
        (Some(QcDecl::On(true)), Source::Variable { name, reduce: None }) if is("samples") => {
            Some((name.clone(), None))
        }
        (Some(QcDecl::Variable(q)), Source::Variable { name, reduce: None }) if is("samples") => {
            Some((name.clone(), Some(q.clone())))
        }
        (Some(QcDecl::On(false)) | None, _) => None,
        (Some(_), _) => {
            p.add(
                format!("{path}.qc"),
                "only a variable column of a samples table has a quality-control column",
            );
            None
        }
    };
    if let Some((variable, qc_variable)) = qc {
        out.push(Column {
            name: format!("{}_quality_control", s.name),
            source: Source::QualityControl {
                variable,
                qc_variable,
            },
            ty: None,
            required: false,
        });
    }
    out
}

/// `[table.]column [AS alias]`.
fn parse_view_column(text: &str) -> Option<(Option<String>, String, Option<String>)> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let (reference, alias) = match words.as_slice() {
        [r] => (*r, None),
        [r, as_, a] if as_.eq_ignore_ascii_case("as") => (*r, Some(a.to_string())),
        _ => return None,
    };
    match reference.split_once('.') {
        Some((t, c)) => Some((Some(t.to_string()), c.to_string(), alias)),
        None => Some((None, reference.to_string(), alias)),
    }
}

fn validate_view(
    v: &ViewDecl,
    path: &str,
    tables: &[Table],
    declared: &BTreeSet<String>,
    p: &mut Problems,
) -> Option<View> {
    let before = p.0.len();
    let columns_of = |name: &str| -> Option<Vec<String>> {
        if name == "indexed_file" {
            return Some(INDEXED_FILE_COLUMNS.iter().map(|s| s.to_string()).collect());
        }
        tables.iter().find(|t| t.name == name).map(|t| {
            std::iter::once("file_id".to_string())
                .chain(t.columns.iter().map(|c| c.name.clone()))
                .collect()
        })
    };
    let mut sources = vec![v.from.clone()];
    sources.extend(v.join.iter().cloned());
    // A declared table that did not validate has its own problems; the view adds none.
    if sources
        .iter()
        .any(|s| declared.contains(s) && columns_of(s).is_none())
    {
        return None;
    }
    if v.from == "indexed_file" {
        p.add(
            format!("{path}.from"),
            "a view starts from a table of the collection",
        );
    }
    for (k, s) in sources.iter().enumerate() {
        let field = if k == 0 {
            format!("{path}.from")
        } else {
            format!("{path}.join[{}]", k - 1)
        };
        if columns_of(s).is_none() {
            p.add(
                field,
                format!("{s:?} is not a table of the collection (nor indexed_file)"),
            );
        } else if sources[..k].contains(s) {
            p.add(field, format!("{s:?} is joined twice"));
        }
    }
    if v.columns.is_empty() {
        p.add(format!("{path}.columns"), "no columns");
    }
    let mut columns = Vec::new();
    let mut out_names = BTreeSet::new();
    for (k, text) in v.columns.iter().enumerate() {
        let cpath = format!("{path}.columns[{k}]");
        let Some((table, column, alias)) = parse_view_column(text) else {
            p.add(
                cpath,
                format!("{text:?} is not \"[table.]column [AS alias]\""),
            );
            continue;
        };
        let table = match table {
            Some(t) if !sources.contains(&t) => {
                p.add(&cpath, format!("{t:?} is not the view's from or join"));
                continue;
            }
            Some(t) => t,
            None => {
                let having: Vec<&String> = sources
                    .iter()
                    .filter(|s| columns_of(s).is_some_and(|c| c.contains(&column)))
                    .collect();
                match having.as_slice() {
                    [one] => (*one).clone(),
                    [] => {
                        p.add(
                            &cpath,
                            format!("no table of the view has a column {column:?}"),
                        );
                        continue;
                    }
                    _ => {
                        p.add(
                            &cpath,
                            format!(
                                "{column:?} is in several tables of the view; write table.{column}"
                            ),
                        );
                        continue;
                    }
                }
            }
        };
        if !columns_of(&table).is_some_and(|c| c.contains(&column)) {
            p.add(&cpath, format!("{table:?} has no column {column:?}"));
            continue;
        }
        if let Some(a) = &alias
            && let Err(e) = identifier(a)
        {
            p.add(&cpath, e);
        }
        let out = alias.clone().unwrap_or_else(|| column.clone());
        if !out_names.insert(out.to_ascii_lowercase()) {
            p.add(
                &cpath,
                format!("the view has two columns named {out:?}; add AS"),
            );
        }
        columns.push(ViewColumn {
            table,
            column,
            alias,
        });
    }
    (p.0.len() == before).then(|| View {
        name: v.name.clone(),
        from: v.from.clone(),
        join: v.join.clone(),
        columns,
    })
}

fn validate_parquet(
    pq: &ParquetDecl,
    schema: &str,
    tables: &[Table],
    p: &mut Problems,
) -> Option<ParquetSink> {
    let before = p.0.len();
    let Some(table) = tables.iter().find(|t| t.name == pq.table) else {
        p.add(
            "parquet.table",
            format!("{:?} is not a table of the collection", pq.table),
        );
        return None;
    };
    if matches!(table.rows, Rows::File) {
        p.add(
            "parquet.table",
            "the dataset holds samples or CSV rows; a file table's one row goes in file_columns",
        );
    }
    let file_tables: Vec<&Table> = tables
        .iter()
        .filter(|t| matches!(t.rows, Rows::File))
        .collect();
    let file_column = |n: &str| {
        file_tables
            .iter()
            .flat_map(|t| t.columns.iter())
            .find(|c| c.name == n)
            .cloned()
    };
    let mut file_columns = Vec::new();
    for (k, n) in pq.file_columns.iter().enumerate() {
        match file_column(n) {
            Some(c) if table.columns.iter().any(|t| t.name == c.name) => p.add(
                format!("parquet.file_columns[{k}]"),
                format!("{n:?} is also a column of {:?}", table.name),
            ),
            Some(c) => file_columns.push(c),
            None => p.add(
                format!("parquet.file_columns[{k}]"),
                format!("{n:?} is not a column of a file table"),
            ),
        }
    }
    for (k, n) in pq.partition_by.iter().enumerate() {
        let ok = matches!(n.as_str(), "year" | "month")
            || file_columns
                .iter()
                .any(|c| &c.name == n && !matches!(c.source, Source::Geometry { .. }));
        if !ok {
            p.add(
                format!("parquet.partition_by[{k}]"),
                format!("{n:?} is neither year, month nor one of file_columns"),
            );
        }
    }
    let geometries = table
        .columns
        .iter()
        .chain(file_columns.iter())
        .filter(|c| matches!(c.source, Source::Geometry { .. }))
        .count();
    if geometries > 1 {
        p.add(
            "parquet",
            "a GeoParquet dataset here has one geometry column; the table and file_columns bring several",
        );
    }
    let prefix = pq
        .prefix
        .clone()
        .unwrap_or_else(|| format!("{schema}/{}", pq.table));
    if crate::store::Key::new(format!("{prefix}/x")).is_err() {
        p.add(
            "parquet.prefix",
            format!("{prefix:?} is not a store key prefix"),
        );
    }
    (p.0.len() == before).then(|| ParquetSink {
        table: pq.table.clone(),
        file_columns,
        partition_by: pq.partition_by.clone(),
        prefix: prefix.trim_matches('/').to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decl(text: &str) -> HarvestDecl {
        toml::from_str(text).unwrap_or_else(|e| panic!("{e}"))
    }

    fn problems(text: &str) -> Vec<String> {
        validate(&decl(text))
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|p| p.to_string())
            .collect()
    }

    #[test]
    fn a_samples_table_gets_quality_control_columns_after_each_variable() {
        let c = validate(&decl(
            r#"
            schema = "anmn_ts"
            [[tables]]
            name = "measurement"
            rows = "samples"
            dimensions = ["TIME"]
            quality_control = true
            columns = ["TIME", { name = "TEMP", type = "real" }, { name = "DEPTH", qc = false }]
            "#,
        ))
        .unwrap();
        let names: Vec<&str> = c.tables[0]
            .columns
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "TIME",
                "TIME_quality_control",
                "TEMP",
                "TEMP_quality_control",
                "DEPTH"
            ]
        );
        assert_eq!(c.tables[0].columns[2].ty, Some(SqlType::Real));
        assert_eq!(c.files_schema, "file_index");
        assert!(c.attributes);
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let found = problems(
            r#"
            schema = "Bad-Schema"
            [[tables]]
            name = "m"
            rows = "samples"
            columns = [{ name = "TEMP", type = "float128" }, { name = "geom", geometry = "track" },
                       { name = "x", variable = "X", attribute = "x" }, "TEMP"]
            primary_key = ["TIME"]
            [[tables]]
            name = "rows"
            rows = "csv"
            mode = "upsert"
            columns = ["A"]
            [[tables]]
            name = "ok"
            rows = "file"
            columns = ["site_code"]
            [[views]]
            name = "v"
            from = "ok"
            columns = ["nope", "rows.A", "site_code AS bad-alias"]
            [[views]]
            name = "w"
            from = "m"
            columns = ["TEMP"]
            [parquet]
            table = "ok"
            partition_by = ["site_code"]
            "#,
        );
        let expected = [
            "schema: \"Bad-Schema\" is not a usable name",
            "tables[0].dimensions: a samples table needs the dimensions",
            "tables[0].columns[0].type: unknown type \"float128\"",
            "tables[0].columns[1].geometry: a row of a samples or CSV table is one position",
            "tables[0].columns[2]: a column has one source; this one names variable and attribute",
            "tables[0].columns[3].name: the table has two columns named \"TEMP\"",
            "tables[0].primary_key[0]: \"TIME\" is not a column of the table",
            "tables[0].primary_key: must include file_id",
            "tables[1].key: mode upsert needs the key",
            "views[0].columns[0]: no table of the view has a column \"nope\"",
            "views[0].columns[1]: \"rows\" is not the view's from or join",
            "views[0].columns[2]: \"bad-alias\" is not a usable name",
            "parquet.table: the dataset holds samples or CSV rows",
            "parquet.partition_by[0]: \"site_code\" is neither year, month nor one of file_columns",
        ];
        for e in expected {
            assert!(
                found.iter().any(|f| f.starts_with(e)),
                "missing {e:?} in {found:#?}"
            );
        }
        // A view of an invalid table says nothing more: the table's own problems are reported.
        assert_eq!(found.len(), expected.len(), "{found:#?}");
    }

    #[test]
    fn views_resolve_unqualified_columns_and_refuse_ambiguous_ones() {
        let text = r#"
            schema = "c"
            [[tables]]
            name = "file_metadata"
            rows = "file"
            columns = ["site_code", { name = "geom", geometry = "point" }]
            [[tables]]
            name = "measurement"
            rows = "samples"
            dimensions = ["TIME"]
            columns = ["TIME"]
            [[views]]
            name = "map"
            from = "file_metadata"
            join = ["indexed_file", "measurement"]
            columns = ["file_metadata.file_id AS id", "site_code", "url AS file_url", "file_id"]
            "#;
        let found = problems(text);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].contains("\"file_id\" is in several tables"),
            "{found:?}"
        );
        let c = validate(&decl(&text.replace(", \"file_id\"]", "]"))).unwrap();
        assert_eq!(c.views[0].columns[2].table, "indexed_file");
    }

    #[test]
    fn a_mistyped_column_option_is_named() {
        let e = toml::from_str::<HarvestDecl>(
            r#"
            schema = "c"
            [[tables]]
            name = "t"
            rows = "file"
            columns = [{ name = "x", atribute = "x" }]
            "#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("unknown field `atribute`"), "{e}");
    }
}
