//! The harvest: a file's data and metadata loaded into its collection's tables, as declared in
//! the pipeline file, in a transaction the caller owns.
//!
//! A collection (see [`declare`] for the TOML) is a schema of tables fed from NetCDF variables and
//! attributes or CSV columns, plus views for the portal and, optionally, a Parquet copy. The
//! engine reproduces the tables of the reference's config-driven harvester prototype
//! (github:aodn/utilities, `generic-harvester`), which its Talend harvesters were to give way to:
//!
//! | table | schema | columns | rows |
//! |---|---|---|---|
//! | `indexed_file` | files schema (`file_index`) | `id` (serial), `url` (destination path, unique), `created`, `modified`, `first_indexed`, `last_indexed`, `last_indexed_run`, `size`, `deleted` | one per harvested destination; a deletion marks it `deleted` |
//! | `nc_global_attribute` | files schema | `file_id`, `name`, `type`, `value` | one per global attribute, `type` as Python names it (`str`, `float64`, `int32`), `value` as `str()` prints it |
//! | `nc_variable` | files schema | `file_id`, `name`, `type`, `dimensions`, `shape` | one per variable: numpy dtype (`float32`, `int8`, `\|S1`), dimensions joined by `,`, shape by spaces |
//! | `nc_variable_attribute` | files schema | `file_id`, `var_name`, `attr_name`, `type`, `value` | one per variable attribute |
//! | `file_metadata` | collection | `file_id` + declared columns | one per file: global attributes (`site_code`…), scalar variables (`LATITUDE`), expressions such as the `geom` point (`SRID=4326;POINT(lon lat)`), ISO times parsed to `timestamptz` |
//! | `measurement` | collection | `file_id`, `TIME`, `<var>`, `<var>_quality_control` | one per sample of the variables whose only dimension is `TIME`; fill values are NULL, times UTC, flags stored as text |
//!
//! The prototype's `anmn_ts` collection: `file_metadata` (`site_code`, `platform_code`,
//! `deployment_code` NOT NULL text; `LATITUDE`, `LONGITUDE` double; `LATITUDE_quality_control`,
//! `LONGITUDE_quality_control` text; `geom` geometry SRID 4326 with a `ST_IsValid` check;
//! `instrument_nominal_depth`, `site_nominal_depth`, `site_depth_at_deployment` real;
//! `instrument`, `instrument_serial_number`, `comment`, `history`, `toolbox_version` text;
//! `time_coverage_start/end`, `time_deployment_start/end` timestamptz; unique on `file_id`) and
//! `measurement` (`TIME` timestamptz NOT NULL, `TIME_quality_control`, then `DEPTH`, `TEMP`,
//! `CNDC`, `PSAL`, `PRES`, `PRES_REL` real each with its text `_quality_control`; primary key
//! `(file_id, TIME)`), plus the views `anmn_ts_timeseries_data` (measurement joined with the
//! file's metadata) and `anmn_ts_timeseries_map` (one row per file with its `geom`, `url` and
//! `size`). `examples/harvest/anmn_ts.toml` declares the same.
//!
//! Where the engine goes further than the prototype: values stream from the file in chunks
//! (memory flat whatever its length) into binary `COPY` (PostgreSQL) or one prepared statement
//! (SQLite); a file's earlier rows are replaced, not duplicated; tables and views are created and
//! evolved from the declaration by versioned migrations under a lock, never destructively without
//! [`MigrateOptions::allow_destructive`]; CSV tables load with append, replace-file, truncate or
//! upsert semantics; the same rows can be written as a GeoParquet dataset ([`parquet`]).
//!
//! Round-trip of a publish: [`postgres::harvest`] / [`sqlite::harvest`] and their `unharvest`
//! run inside the caller's transaction, so the rows commit or roll back with everything else the
//! caller writes in it.

pub mod commit;
pub mod csvrows;
pub mod declare;
pub mod geometry;
pub mod model;
pub mod netcdf;
pub mod parquet;
pub mod postgres;
pub mod schema;
pub mod sqlite;
pub mod values;

use std::path::{Path, PathBuf};

use serde::Serialize;

pub use commit::CollectionChange;
pub use declare::{HarvestDecl, Problem, validate};
pub use model::Collection;

use crate::error::{Classify, Fault};

/// Rows are read and written this many at a time (per table): about a megabyte of values.
pub const CHUNK_ROWS: usize = 16_384;

/// The file being harvested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HarvestFile {
    /// Where the file is on local disk.
    pub path: PathBuf,
    /// Its destination path in the public store: the file's identity in `indexed_file.url`.
    pub dest_path: String,
    pub size: u64,
    /// Hex SHA-256 of the content (append-mode tables skip content they already hold).
    pub sha256: String,
}

impl HarvestFile {
    /// A local file to be published at `dest_path`, measuring its size and hash.
    pub fn from_path(path: &Path, dest_path: &str) -> std::io::Result<HarvestFile> {
        let (size, sha256) = crate::digest::sha256_file(path)?;
        Ok(HarvestFile {
            path: path.to_path_buf(),
            dest_path: dest_path.to_string(),
            size,
            sha256,
        })
    }

    /// The file name of the destination.
    pub fn name(&self) -> &str {
        self.dest_path.rsplit('/').next().unwrap_or(&self.dest_path)
    }

    /// Whether the file is read as CSV rather than NetCDF, for a collection with both kinds.
    pub fn is_csv(&self) -> bool {
        let name = self.name().to_ascii_lowercase();
        name.ends_with(".csv") || name.ends_with(".tsv") || name.ends_with(".txt")
    }
}

/// How a migration may change existing tables.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MigrateOptions {
    /// Retype and drop columns the declaration no longer has. Off by default: such changes lose
    /// data, so they are refused with a message naming each one.
    pub allow_destructive: bool,
}

/// What one harvest loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Loaded {
    /// The file's id in `indexed_file`.
    pub file_id: i64,
    /// Rows written per table, in declaration order (`nc_*` tables first when harvested).
    pub rows: Vec<(String, u64)>,
    /// The migration version this harvest applied, when the schema had to change.
    pub migrated: Option<i32>,
}

impl Loaded {
    /// Rows written to one table.
    pub fn rows_of(&self, table: &str) -> Option<u64> {
        self.rows.iter().find(|(t, _)| t == table).map(|(_, n)| *n)
    }
}

/// What one unharvest removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unloaded {
    /// `None` when the destination was never harvested.
    pub file_id: Option<i64>,
    pub rows: Vec<(String, u64)>,
}

impl Unloaded {
    /// What unharvesting a destination never harvested removes: nothing.
    pub fn nothing() -> Unloaded {
        Unloaded {
            file_id: None,
            rows: Vec::new(),
        }
    }
}

/// A failed harvest.
#[derive(Debug, thiserror::Error)]
pub enum HarvestError {
    /// The file's content cannot be harvested as declared (rejected input).
    #[error("{file}: {message}")]
    Input { file: String, message: String },
    /// The declaration asks for something the database cannot do as it is (a destructive
    /// migration without the flag, a missing PostGIS).
    #[error("harvest of collection {collection}: {message}")]
    Schema { collection: String, message: String },
    /// The database failed.
    #[error("harvest {op} at {location}: {message}")]
    Database {
        op: &'static str,
        location: String,
        transient: bool,
        message: String,
    },
    /// The object store failed (Parquet sink).
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// A bug or a local failure no retry fixes.
    #[error("harvest: {0}")]
    Internal(String),
}

impl HarvestError {
    pub fn input(file: &HarvestFile, message: impl Into<String>) -> HarvestError {
        HarvestError::Input {
            file: file.name().to_string(),
            message: message.into(),
        }
    }

    pub fn internal(message: impl Into<String>) -> HarvestError {
        HarvestError::Internal(message.into())
    }
}

impl Classify for HarvestError {
    fn fault(&self) -> Fault {
        match self {
            HarvestError::Input { .. } => Fault::Input,
            HarvestError::Schema { .. } => Fault::Usage,
            HarvestError::Database {
                transient: true, ..
            } => Fault::Transient,
            HarvestError::Database { .. } | HarvestError::Internal(_) => Fault::Internal,
            HarvestError::Store(e) => e.fault(),
        }
    }
}

/// The file opened as the collection reads it.
pub(crate) enum Opened<'a> {
    /// Boxed: an open NetCDF file (its libnetcdf handle, its read limits) is several times the
    /// CSV reader's size.
    NetCdf(Box<netcdf::NcRows<'a>>),
    Csv(csvrows::CsvRows<'a>),
}

impl<'a> Opened<'a> {
    /// Opens the file as NetCDF or CSV: as the collection's tables read it, or by its extension
    /// when the collection has tables of both kinds.
    pub(crate) fn open(
        c: &'a Collection,
        file: &'a HarvestFile,
    ) -> Result<Opened<'a>, HarvestError> {
        let csv_table = c.tables.iter().find_map(|t| match t.rows {
            model::Rows::Csv { delimiter } => Some(delimiter),
            _ => None,
        });
        match csv_table {
            Some(delimiter) if !c.reads_netcdf() || file.is_csv() => {
                Ok(Opened::Csv(csvrows::CsvRows::open(file, delimiter)?))
            }
            _ => Ok(Opened::NetCdf(Box::new(netcdf::NcRows::open(
                file, &c.time,
            )?))),
        }
    }

    /// Whether a table takes rows from this file.
    pub(crate) fn feeds(&self, table: &model::Table) -> bool {
        matches!(
            (self, &table.rows),
            (Opened::Csv(_), model::Rows::Csv { .. })
                | (
                    Opened::NetCdf(_),
                    model::Rows::File | model::Rows::Samples { .. }
                )
        )
    }

    /// The type an undeclared column takes from this file.
    pub(crate) fn infer(&self, column: &model::Column) -> Option<model::SqlType> {
        match self {
            Opened::NetCdf(n) => n.infer(column),
            Opened::Csv(c) => c.infer(column),
        }
    }

    /// The types every column of the tables this file feeds would take from it, by
    /// (table, column): computed before any database round trip.
    pub(crate) fn hints(
        &self,
        c: &Collection,
    ) -> std::collections::BTreeMap<(String, String), model::SqlType> {
        let mut out = std::collections::BTreeMap::new();
        for t in c.tables.iter().filter(|t| self.feeds(t)) {
            for col in t.columns.iter().filter(|col| col.ty.is_none()) {
                if let Some(ty) = self.infer(col) {
                    out.insert((t.name.clone(), col.name.clone()), ty);
                }
            }
        }
        out
    }

    /// A table's rows, chunk by chunk.
    pub(crate) fn chunks<'r>(
        &'r self,
        table: &model::Table,
        file: &'r HarvestFile,
    ) -> Result<Chunks<'r, 'a>, HarvestError> {
        self.chunks_of(table, file, CHUNK_ROWS)
    }

    /// A table's rows, about `rows` at a time.
    pub(crate) fn chunks_of<'r>(
        &'r self,
        table: &model::Table,
        file: &'r HarvestFile,
        rows: usize,
    ) -> Result<Chunks<'r, 'a>, HarvestError> {
        Ok(match (self, &table.rows) {
            (Opened::NetCdf(n), model::Rows::File) => Chunks::One(Some(n.file_row(table)?)),
            (Opened::NetCdf(n), model::Rows::Samples { .. }) => {
                Chunks::Samples(n.samples(table, rows)?)
            }
            (Opened::Csv(c), model::Rows::Csv { .. }) => Chunks::Csv(c.chunks(table, rows)?, file),
            _ => Chunks::One(None),
        })
    }
}

/// A table's rows from one file, chunk by chunk.
pub(crate) enum Chunks<'r, 'a> {
    One(Option<values::Chunk>),
    Samples(netcdf::SampleChunks<'r, 'a>),
    Csv(csvrows::CsvChunks, &'r HarvestFile),
}

impl Chunks<'_, '_> {
    pub(crate) fn next_chunk(&mut self) -> Result<Option<values::Chunk>, HarvestError> {
        match self {
            Chunks::One(c) => Ok(c.take()),
            Chunks::Samples(s) => s.next_chunk(),
            Chunks::Csv(c, file) => c.next_chunk(file),
        }
    }
}
