//! A validated collection: its tables, columns and where each column's values come from, views
//! and the Parquet sink. Plain data built by [`super::declare::validate`]; the sinks read it.

use serde::Serialize;

/// A validated harvest declaration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Collection {
    /// The collection's schema (PostgreSQL) or table-name prefix (SQLite).
    pub schema: String,
    /// Where `indexed_file` and the `nc_*` attribute tables live, shared by every collection.
    pub files_schema: String,
    /// The time variable: time coverage and the `year`/`month` partitions come from it.
    pub time: String,
    /// Whether NetCDF global and variable attributes go into the `nc_*` tables.
    pub attributes: bool,
    pub tables: Vec<Table>,
    pub views: Vec<View>,
    pub parquet: Option<ParquetSink>,
}

impl Collection {
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// Whether the collection loads NetCDF files (any file or samples table).
    pub fn reads_netcdf(&self) -> bool {
        self.tables
            .iter()
            .any(|t| !matches!(t.rows, Rows::Csv { .. }))
    }
}

/// A table of the collection. Every table also has a leading `file_id BIGINT NOT NULL` column:
/// the loading file's id in `indexed_file`, by which a file's rows are replaced or removed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table {
    pub name: String,
    pub rows: Rows,
    pub columns: Vec<Column>,
    /// Empty: no primary key (an index on file_id is made instead).
    pub primary_key: Vec<String>,
    pub mode: LoadMode,
}

/// What one row of a table stands for.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "rows", rename_all = "snake_case")]
pub enum Rows {
    /// One row per file.
    File,
    /// One row per sample along these dimensions (row-major).
    Samples { dimensions: Vec<String> },
    /// One row per CSV record.
    Csv { delimiter: u8 },
}

/// How a load treats rows already in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadMode {
    /// The file's earlier rows are replaced (every NetCDF table; the CSV default).
    ReplaceFile,
    /// Rows accumulate across versions of the file; loading the same content again adds nothing.
    Append,
    /// The table holds one file's rows: every row is replaced.
    Truncate,
    /// Rows are inserted or updated by the table's key.
    Upsert,
}

/// A declared column.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Column {
    pub name: String,
    pub source: Source,
    /// `None`: inferred from the first file the table is created from.
    pub ty: Option<SqlType>,
    /// NOT NULL: a file without the value is rejected.
    pub required: bool,
}

/// Where a column's values come from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum Source {
    Variable {
        name: String,
        reduce: Option<Reduce>,
    },
    /// The flags of `variable`: from `qc_variable`, else the QC variable its
    /// `ancillary_variables` names, else `<variable>_quality_control`, else `<variable>_QC`.
    QualityControl {
        variable: String,
        qc_variable: Option<String>,
    },
    Attribute(String),
    Csv(String),
    File(FileField),
    TimeCoverage(Bound),
    Geometry {
        kind: GeometryKind,
        precision: u32,
        lon: String,
        lat: String,
        max_points: usize,
    },
}

/// A property of the harvested file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileField {
    DestPath,
    Name,
    Size,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    Start,
    End,
}

/// How a file table turns a variable's values into one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reduce {
    First,
    Min,
    Max,
    Mean,
    /// Whether the variable has any value that is not missing (false when the file lacks it).
    Any,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GeometryKind {
    Point,
    BoundingBox,
    Track,
}

/// The column types a declaration may name; each maps to one PostgreSQL and one SQLite type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SqlType {
    SmallInt,
    Integer,
    BigInt,
    Real,
    Double,
    Text,
    Boolean,
    /// An instant, UTC.
    Timestamp,
    /// Point, polygon or line string, SRID 4326.
    Geometry,
}

impl SqlType {
    /// The names a declaration may use.
    pub const NAMES: &'static [&'static str] = &[
        "smallint",
        "integer",
        "bigint",
        "real",
        "double",
        "text",
        "boolean",
        "timestamptz",
    ];

    pub fn parse(name: &str) -> Option<SqlType> {
        Some(match name.to_ascii_lowercase().as_str() {
            "smallint" | "int2" => SqlType::SmallInt,
            "integer" | "int" | "int4" => SqlType::Integer,
            "bigint" | "int8" => SqlType::BigInt,
            "real" | "float4" => SqlType::Real,
            "double" | "double precision" | "float8" => SqlType::Double,
            "text" => SqlType::Text,
            "boolean" | "bool" => SqlType::Boolean,
            "timestamptz" | "timestamp" | "timestamp with time zone" => SqlType::Timestamp,
            "geometry" => SqlType::Geometry,
            _ => return None,
        })
    }

    /// The PostgreSQL type of a column.
    pub fn postgres(self) -> &'static str {
        match self {
            SqlType::SmallInt => "SMALLINT",
            SqlType::Integer => "INTEGER",
            SqlType::BigInt => "BIGINT",
            SqlType::Real => "REAL",
            SqlType::Double => "DOUBLE PRECISION",
            SqlType::Text => "TEXT",
            SqlType::Boolean => "BOOLEAN",
            SqlType::Timestamp => "TIMESTAMPTZ",
            SqlType::Geometry => "geometry(Geometry,4326)",
        }
    }

    /// The type PostgreSQL's catalog reports (`information_schema.columns.data_type`, or
    /// `udt_name` for PostGIS), back to ours.
    pub fn from_postgres_catalog(data_type: &str, udt_name: &str) -> Option<SqlType> {
        Some(match (data_type, udt_name) {
            (_, "geometry") => SqlType::Geometry,
            ("smallint", _) => SqlType::SmallInt,
            ("integer", _) => SqlType::Integer,
            ("bigint", _) => SqlType::BigInt,
            ("real", _) => SqlType::Real,
            ("double precision", _) => SqlType::Double,
            ("text" | "character varying", _) => SqlType::Text,
            ("boolean", _) => SqlType::Boolean,
            ("timestamp with time zone" | "timestamp without time zone", _) => SqlType::Timestamp,
            _ => return None,
        })
    }

    /// The SQLite type of a column. Timestamps are ISO 8601 text in UTC with microseconds
    /// (`2018-04-06T08:00:00.000000Z`, which sorts as time); geometries are WKT text.
    pub fn sqlite(self) -> &'static str {
        match self {
            SqlType::SmallInt | SqlType::Integer | SqlType::BigInt | SqlType::Boolean => "INTEGER",
            SqlType::Real | SqlType::Double => "REAL",
            SqlType::Text => "TEXT",
            SqlType::Timestamp => "TIMESTAMPTZ",
            SqlType::Geometry => "GEOMETRY",
        }
    }

    /// SQLite's declared type (as `PRAGMA table_info` reports it) back to ours; the declared
    /// names we write keep timestamps and geometries apart from plain text.
    pub fn from_sqlite_declared(declared: &str) -> Option<SqlType> {
        Some(match declared.to_ascii_uppercase().as_str() {
            "INTEGER" => SqlType::BigInt,
            "REAL" => SqlType::Double,
            "TEXT" => SqlType::Text,
            "TIMESTAMPTZ" => SqlType::Timestamp,
            "GEOMETRY" => SqlType::Geometry,
            _ => return None,
        })
    }

    /// Whether SQLite stores both types the same way (its types are storage classes).
    pub fn same_in_sqlite(self, other: SqlType) -> bool {
        self.sqlite() == other.sqlite()
    }
}

/// A view over the collection's tables, joined on `file_id` (`indexed_file` on its `id`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct View {
    pub name: String,
    pub from: String,
    pub join: Vec<String>,
    pub columns: Vec<ViewColumn>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ViewColumn {
    pub table: String,
    pub column: String,
    pub alias: Option<String>,
}

/// The cloud-optimised copy of one table: a Parquet object per harvested file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParquetSink {
    pub table: String,
    /// Columns of file tables repeated on every row.
    pub file_columns: Vec<Column>,
    /// Hive-style partition keys: `year`, `month` (of the file's first time) or file columns.
    pub partition_by: Vec<String>,
    /// The dataset's folder in the store.
    pub prefix: String,
}
