//! The harvest into PostgreSQL with PostGIS: inside a transaction the caller owns, the collection's
//! schema is migrated if it must be (under an advisory lock held to the caller's commit), the
//! file's earlier rows are removed and its rows streamed in with binary `COPY`. Geometries go in as
//! EWKB with SRID 4326, into columns checked with `ST_IsValid` and indexed with GiST.

use bytes::{BufMut, Bytes, BytesMut};
use futures::SinkExt;
use tokio_postgres::types::{IsNull, Kind, ToSql, Type, to_sql_checked};
use tokio_postgres::{Client, CopyInSink, GenericClient, Transaction};

use super::model::{Collection, LoadMode, SqlType, Table};
use super::schema::{self, Catalog, Dialect, Plan};
use super::values::{Cells, Chunk, Micros, NO_TIME, Typed, convert, number_text};
use super::{HarvestError, HarvestFile, Loaded, MigrateOptions, Opened, Unloaded};

const D: Dialect = Dialect::Postgres;

/// Microseconds from 1970-01-01 to PostgreSQL's epoch, 2000-01-01.
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// Rows are sent to the server this many bytes at a time: few enough messages that encoding,
/// not the channel to the connection, sets the pace.
const COPY_BATCH: usize = 1 << 20;

/// A binary `COPY … FROM STDIN (FORMAT binary)` in progress: the format tokio-postgres's
/// `BinaryCopyInWriter` writes (header, then per row a field count and each field's length and
/// bytes), with rows batched into megabyte messages instead of 4 KiB ones.
struct CopyIn {
    sink: std::pin::Pin<Box<CopyInSink<Bytes>>>,
    types: Vec<Type>,
    buf: BytesMut,
}

impl CopyIn {
    async fn start(
        tx: &Transaction<'_>,
        sql: &str,
        types: Vec<Type>,
    ) -> Result<CopyIn, tokio_postgres::Error> {
        let sink = Box::pin(tx.copy_in(sql).await?);
        let mut buf = BytesMut::with_capacity(COPY_BATCH + 64 * 1024);
        buf.put_slice(b"PGCOPY\n\xff\r\n\0");
        buf.put_i32(0); // flags
        buf.put_i32(0); // header extension
        Ok(CopyIn { sink, types, buf })
    }

    /// Encodes one row (one value per column type), sending a batch when one is full.
    async fn row(&mut self, values: &[Typed<'_>]) -> Result<(), String> {
        debug_assert_eq!(values.len(), self.types.len());
        self.buf.put_i16(values.len() as i16);
        for (value, ty) in values.iter().zip(&self.types) {
            put_typed(&mut self.buf, value, ty)?;
        }
        self.send_if_full().await
    }

    /// Encodes every row of a chunk, prefixed with the file's id (the first column's type must
    /// be INT8), sending batches as they fill. The usual pairs of a chunk's cells and a column's
    /// type (numbers into REAL, DOUBLE PRECISION or flag TEXT, instants into TIMESTAMPTZ, one
    /// value for the whole chunk) are written straight from the chunk's vectors; any other pair
    /// goes through [`convert`] cell by cell, so values and refusals are the same either way.
    /// `line` is the file's row number of the chunk's first row.
    async fn chunk(
        &mut self,
        chunk: &Chunk,
        types: &[SqlType],
        file_id: i64,
        line: u64,
    ) -> Result<(), ChunkError> {
        debug_assert_eq!(types.len() + 1, self.types.len());
        let pg_types = self.types[1..].to_vec();
        let encoders: Vec<Encode<'_>> = chunk
            .columns
            .iter()
            .zip(types)
            .zip(&pg_types)
            .map(|((cells, ty), pg)| Encode::new(cells, *ty, pg))
            .collect();
        let fields = self.types.len() as i16;
        for row in 0..chunk.len {
            self.buf.put_i16(fields);
            self.buf.put_i32(8);
            self.buf.put_i64(file_id);
            for (column, encoder) in encoders.iter().enumerate() {
                encoder
                    .put(&mut self.buf, row)
                    .map_err(|message| ChunkError::Cell {
                        column,
                        line: line + row as u64,
                        message,
                    })?;
            }
            // Checked here rather than by awaiting send_if_full on every row.
            if self.buf.len() >= COPY_BATCH {
                self.send_if_full().await.map_err(ChunkError::Send)?;
            }
        }
        Ok(())
    }

    async fn send_if_full(&mut self) -> Result<(), String> {
        if self.buf.len() >= COPY_BATCH {
            let batch = self.buf.split().freeze();
            self.sink.send(batch).await.map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Sends the rest and the trailer; the number of rows the server took.
    async fn finish(mut self) -> Result<u64, tokio_postgres::Error> {
        self.buf.put_i16(-1);
        let rest = self.buf.split().freeze();
        self.sink.send(rest).await?;
        self.sink.as_mut().finish().await
    }
}

/// Why a chunk could not be encoded: a cell that does not fit its column, or a send the server
/// refused (its reason comes with the COPY's finish).
enum ChunkError {
    Cell {
        column: usize,
        line: u64,
        message: String,
    },
    Send(String),
}

/// Writes one field (its length, then its bytes; -1 for NULL) of a binary COPY row.
fn put_typed(buf: &mut BytesMut, value: &Typed<'_>, ty: &Type) -> Result<(), String> {
    let at = buf.len();
    buf.put_i32(0);
    let len = match value.to_sql(ty, buf).map_err(|e| e.to_string())? {
        IsNull::Yes => -1,
        IsNull::No => (buf.len() - at - 4) as i32,
    };
    buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

/// How one column of a chunk goes into binary COPY rows, chosen once per chunk.
enum Encode<'c> {
    /// Numbers into REAL; NaN is NULL.
    Real(&'c [f64]),
    /// Numbers into DOUBLE PRECISION; NaN is NULL.
    Double(&'c [f64]),
    /// Numbers into TEXT (quality-control flags): the single digits written directly, any other
    /// number as [`convert`] writes it.
    NumText(&'c [f64]),
    /// Instants into TIMESTAMPTZ or TIMESTAMP; [`NO_TIME`] is NULL.
    Time(&'c [Micros]),
    /// The same value on every row, encoded once (length included).
    Same(Vec<u8>),
    /// Any other pair, converted cell by cell.
    Cell(&'c Cells, SqlType, &'c Type),
}

impl<'c> Encode<'c> {
    fn new(cells: &'c Cells, ty: SqlType, pg: &'c Type) -> Encode<'c> {
        match (cells, ty, pg) {
            (Cells::Num(v), SqlType::Real, &Type::FLOAT4) => Encode::Real(v),
            (Cells::Num(v), SqlType::Double, &Type::FLOAT8) => Encode::Double(v),
            (Cells::Num(v), SqlType::Text, &Type::TEXT) => Encode::NumText(v),
            (Cells::Time(v), SqlType::Timestamp, &Type::TIMESTAMPTZ | &Type::TIMESTAMP) => {
                Encode::Time(v)
            }
            (Cells::Const(value), _, _) => {
                let mut bytes = BytesMut::new();
                match convert(value.as_cell(), ty)
                    .and_then(|typed| put_typed(&mut bytes, &typed, pg))
                {
                    Ok(()) => Encode::Same(bytes.to_vec()),
                    // Refused on the first row, with its line, by the cell-by-cell path.
                    Err(_) => Encode::Cell(cells, ty, pg),
                }
            }
            _ => Encode::Cell(cells, ty, pg),
        }
    }

    fn put(&self, buf: &mut BytesMut, row: usize) -> Result<(), String> {
        match self {
            Encode::Real(v) if v[row].is_nan() => buf.put_i32(-1),
            Encode::Real(v) => {
                buf.put_i32(4);
                buf.put_f32(v[row] as f32);
            }
            Encode::Double(v) if v[row].is_nan() => buf.put_i32(-1),
            Encode::Double(v) => {
                buf.put_i32(8);
                buf.put_f64(v[row]);
            }
            Encode::NumText(v) => {
                let x = v[row];
                if x.is_nan() {
                    buf.put_i32(-1);
                } else if x.fract() == 0.0 && (0.0..10.0).contains(&x) {
                    buf.put_i32(1);
                    buf.put_u8(b'0' + x as u8);
                } else {
                    let text = number_text(x);
                    buf.put_i32(text.len() as i32);
                    buf.put_slice(text.as_bytes());
                }
            }
            Encode::Time(v) if v[row] == NO_TIME => buf.put_i32(-1),
            Encode::Time(v) => {
                buf.put_i32(8);
                buf.put_i64(v[row] - PG_EPOCH_MICROS);
            }
            Encode::Same(bytes) => buf.put_slice(bytes),
            Encode::Cell(cells, ty, pg) => {
                put_typed(buf, &convert(cells.get(row), *ty)?, pg)?;
            }
        }
        Ok(())
    }
}

fn db(
    op: &'static str,
    c: &Collection,
    file: Option<&HarvestFile>,
    e: tokio_postgres::Error,
) -> HarvestError {
    let message = match e.as_db_error() {
        Some(d) => {
            let mut m = format!("{} {}", d.code().code(), d.message());
            if let Some(detail) = d.detail() {
                m.push_str(&format!(" ({detail})"));
            }
            if let Some(hint) = d.hint() {
                m.push_str(&format!("; hint: {hint}"));
            }
            m
        }
        None => e.to_string(),
    };
    // Data exceptions and broken constraints while loading come from the file's content.
    let code = e.code().map(|c| c.code().to_string()).unwrap_or_default();
    if let Some(f) = file
        && (code.starts_with("22") || code.starts_with("23"))
    {
        return HarvestError::input(f, format!("{op}: {message}"));
    }
    HarvestError::Database {
        op,
        location: format!("postgres schema {}", c.schema),
        transient: crate::index::postgres::is_transient(&e),
        message,
    }
}

/// A stable 64-bit key for the advisory lock of one schema's migrations (FNV-1a).
fn lock_key(schema: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in "ocean-ingest harvest ".bytes().chain(schema.bytes()) {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}

/// The PostgreSQL type our binary values are encoded for.
fn pg_type(t: SqlType, geometry: &Option<Type>) -> Type {
    match t {
        SqlType::SmallInt => Type::INT2,
        SqlType::Integer => Type::INT4,
        SqlType::BigInt => Type::INT8,
        SqlType::Real => Type::FLOAT4,
        SqlType::Double => Type::FLOAT8,
        SqlType::Text => Type::TEXT,
        SqlType::Boolean => Type::BOOL,
        SqlType::Timestamp => Type::TIMESTAMPTZ,
        SqlType::Geometry => geometry.clone().unwrap_or(Type::BYTEA),
    }
}

impl ToSql for Typed<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        let wrong = || -> Box<dyn std::error::Error + Sync + Send> {
            format!("cannot encode {self:?} as {}", ty.name()).into()
        };
        match self {
            Typed::Null => return Ok(IsNull::Yes),
            Typed::Int(i) => match *ty {
                Type::INT2 => (*i as i16).to_sql(ty, out)?,
                Type::INT4 => (*i as i32).to_sql(ty, out)?,
                Type::INT8 => i.to_sql(ty, out)?,
                Type::FLOAT4 => (*i as f32).to_sql(ty, out)?,
                Type::FLOAT8 => (*i as f64).to_sql(ty, out)?,
                _ => return Err(wrong()),
            },
            Typed::Float(x) => match *ty {
                Type::FLOAT4 => (*x as f32).to_sql(ty, out)?,
                Type::FLOAT8 => x.to_sql(ty, out)?,
                _ => return Err(wrong()),
            },
            Typed::Bool(b) => b.to_sql(ty, out)?,
            Typed::Text(s) => {
                out.extend_from_slice(s.as_bytes());
                IsNull::No
            }
            Typed::Time(t) => match *ty {
                Type::TIMESTAMPTZ | Type::TIMESTAMP => {
                    (t - PG_EPOCH_MICROS).to_sql(&Type::INT8, out)?
                }
                _ => return Err(wrong()),
            },
            Typed::Geom(g) if ty.name() == "geometry" => {
                out.extend_from_slice(&g.ewkb());
                IsNull::No
            }
            Typed::Geom(_) => return Err(wrong()),
        };
        Ok(IsNull::No)
    }

    fn accepts(_: &Type) -> bool {
        // Each value is converted to its column's type before it is written.
        true
    }

    to_sql_checked!();
}

/// The collection's tables as the database has them.
async fn catalog(client: &impl GenericClient, c: &Collection) -> Result<Catalog, HarvestError> {
    let rows = client
        .query(
            "SELECT cl.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), t.typname::text
             FROM pg_class cl
             JOIN pg_namespace n ON n.oid = cl.relnamespace
             JOIN pg_attribute a ON a.attrelid = cl.oid
             JOIN pg_type t ON t.oid = a.atttypid
             WHERE n.nspname = $1 AND cl.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY cl.relname, a.attnum",
            &[&c.schema],
        )
        .await
        .map_err(|e| db("read catalog", c, None, e))?;
    let mut out = Catalog::new();
    for r in rows {
        let (table, column, format, udt): (String, String, String, String) =
            (r.get(0), r.get(1), r.get(2), r.get(3));
        let data_type = format
            .split('(')
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
        let ty = SqlType::from_postgres_catalog(&data_type, &udt).ok_or_else(|| {
            HarvestError::Schema {
                collection: c.schema.clone(),
                message: format!(
                    "column {table}.{column} has type {format}, which the harvest does not write"
                ),
            }
        })?;
        out.entry(table).or_default().push((column, ty));
    }
    Ok(out)
}

/// Whether the views recorded by the last migration are the declared ones.
async fn views_current(client: &impl GenericClient, c: &Collection) -> Result<bool, HarvestError> {
    let table = D.table(&c.schema, "harvest_migration");
    let exists: bool = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
        .await
        .map_err(|e| db("read migrations", c, None, e))?
        .get(0);
    if !exists {
        return Ok(false);
    }
    let recorded: Option<String> = client
        .query_opt(
            &format!("SELECT views FROM {table} ORDER BY version DESC LIMIT 1"),
            &[],
        )
        .await
        .map_err(|e| db("read migrations", c, None, e))?
        .map(|r| r.get(0));
    Ok(recorded.as_deref() == Some(schema::views_signature(c, D).as_str()))
}

/// The files schema's tables (`indexed_file`, `nc_*`), created once under a lock.
async fn ensure_files_schema(
    client: &impl GenericClient,
    c: &Collection,
) -> Result<(), HarvestError> {
    let last = D.table(&c.files_schema, "nc_variable_attribute");
    let probe = format!("SELECT to_regclass('{last}') IS NOT NULL");
    let ready = |row: tokio_postgres::Row| row.get::<_, bool>(0);
    if ready(
        client
            .query_one(&probe, &[])
            .await
            .map_err(|e| db("read catalog", c, None, e))?,
    ) {
        return Ok(());
    }
    client
        .execute(
            "SELECT pg_advisory_xact_lock($1)",
            &[&lock_key(&c.files_schema)],
        )
        .await
        .map_err(|e| db("lock", c, None, e))?;
    let mut sql = vec![format!("CREATE SCHEMA IF NOT EXISTS {}", c.files_schema)];
    sql.extend(schema::files_tables(&c.files_schema, D));
    client
        .batch_execute(&sql.join(";\n"))
        .await
        .map_err(|e| db("create files tables", c, None, e))
}

/// Migrates the collection to its declaration as far as it can without a file: every table whose
/// column types are all declared (or follow from their sources) is created or evolved, with the
/// views over them; the others wait for the first harvest, which takes the missing types from its
/// file. Runs once under an advisory lock; returns the version applied, if any.
pub async fn migrate(
    client: &mut Client,
    c: &Collection,
    opts: MigrateOptions,
) -> Result<Option<i32>, HarvestError> {
    let known = c.without_undetermined_tables();
    let tx = client
        .transaction()
        .await
        .map_err(|e| db("begin", c, None, e))?;
    ensure_files_schema(&tx, c).await?;
    let (_, version) = ensure_schema(&tx, &known, &|_, _| None, opts).await?;
    tx.commit().await.map_err(|e| db("commit", c, None, e))?;
    Ok(version)
}

/// Plans against the catalog and, if anything must change, applies the plan under the schema's
/// advisory lock (planning again once the lock is held, so concurrent jobs migrate once).
async fn ensure_schema(
    tx: &Transaction<'_>,
    c: &Collection,
    hint: &(dyn Fn(&Table, &super::model::Column) -> Option<SqlType> + Sync),
    opts: MigrateOptions,
) -> Result<(Plan, Option<i32>), HarvestError> {
    // `IF [NOT] EXISTS` statements answer with NOTICEs, which the connection task logs outside
    // any job's span: they say nothing an operator needs, so this transaction sends none.
    tx.batch_execute("SET LOCAL client_min_messages = warning")
        .await
        .map_err(|e| db("set messages", c, None, e))?;
    // Read before planning: the plan's borrow of `hint` must not be held across an await.
    let (existing, views) = (catalog(tx, c).await?, views_current(tx, c).await?);
    let plan = schema::plan(c, &existing, hint, views, opts, D)?;
    if plan.steps.is_empty() {
        return Ok((plan, None));
    }
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&lock_key(&c.schema)])
        .await
        .map_err(|e| db("lock", c, None, e))?;
    let mut sql = vec![format!("CREATE SCHEMA IF NOT EXISTS {}", c.schema)];
    sql.extend(schema::bookkeeping_tables(&c.schema, D));
    tx.batch_execute(&sql.join(";\n"))
        .await
        .map_err(|e| db("create schema", c, None, e))?;
    let (existing, views) = (catalog(tx, c).await?, views_current(tx, c).await?);
    let plan = schema::plan(c, &existing, hint, views, opts, D)?;
    if plan.steps.is_empty() {
        return Ok((plan, None));
    }
    let needs_postgis = plan
        .layout
        .values()
        .flatten()
        .any(|t| *t == SqlType::Geometry);
    if needs_postgis {
        let has: bool = tx
            .query_one("SELECT to_regtype('geometry') IS NOT NULL", &[])
            .await
            .map_err(|e| db("check PostGIS", c, None, e))?
            .get(0);
        if !has {
            return Err(HarvestError::Schema {
                collection: c.schema.clone(),
                message: "the collection has geometry columns and PostGIS is not installed in this database: run CREATE EXTENSION postgis (as a superuser)".into(),
            });
        }
    }
    let statements = schema::render(c, &plan, D);
    for s in &statements {
        tx.batch_execute(s)
            .await
            .map_err(|e| db("migrate", c, None, e))?;
    }
    let table = D.table(&c.schema, "harvest_migration");
    let steps = serde_json::to_string(&plan.steps).unwrap_or_default();
    let version: i32 = tx
        .query_one(
            &format!(
                "INSERT INTO {table} (version, steps, views) SELECT COALESCE(MAX(version), 0) + 1, $1, $2 FROM {table} RETURNING version"
            ),
            &[&steps, &schema::views_signature(c, D)],
        )
        .await
        .map_err(|e| db("record migration", c, None, e))?
        .get(0);
    tracing::info!(schema = %c.schema, version, steps = statements.len(), "harvest schema migrated");
    Ok((plan, Some(version)))
}

/// Harvests one file inside the caller's transaction: migrates the collection if it must (types
/// of undeclared columns from this file), records the file in `indexed_file`, replaces its
/// earlier rows and loads its rows with binary COPY. Nothing is committed here: the caller's
/// commit makes the rows visible together with whatever else the transaction wrote, and a
/// rollback leaves no row.
pub async fn harvest(
    tx: &Transaction<'_>,
    c: &Collection,
    file: &HarvestFile,
    opts: MigrateOptions,
) -> Result<Loaded, HarvestError> {
    let opened = Opened::open(c, file)?;
    ensure_files_schema(tx, c).await?;
    let hints = opened.hints(c);
    let hint = |t: &Table, col: &super::model::Column| {
        hints.get(&(t.name.clone(), col.name.clone())).copied()
    };
    let (plan, migrated) = ensure_schema(tx, c, &hint, opts).await?;
    let geometry = geometry_type(tx, c, &plan).await?;
    let file_id: i64 = tx
        .query_one(
            &format!(
                "INSERT INTO {} (url, size, last_indexed, modified, deleted) VALUES ($1, $2, now(), now(), FALSE)
                 ON CONFLICT (url) DO UPDATE SET size = excluded.size, last_indexed = excluded.last_indexed,
                   modified = excluded.modified, deleted = FALSE
                 RETURNING id",
                D.table(&c.files_schema, "indexed_file")
            ),
            &[&file.dest_path, &(file.size as f64)],
        )
        .await
        .map_err(|e| db("record file", c, Some(file), e))?
        .get(0);
    let mut rows = Vec::new();
    if let Opened::NetCdf(nc) = &opened
        && c.attributes
    {
        for (table, n) in load_attributes(tx, c, file, file_id, nc).await? {
            rows.push((table, n));
        }
    }
    for t in c.tables.iter().filter(|t| opened.feeds(t)) {
        let n = load_table(
            tx,
            c,
            t,
            &plan.layout[&t.name],
            &geometry,
            &opened,
            file,
            file_id,
        )
        .await?;
        rows.push((t.name.clone(), n));
    }
    Ok(Loaded {
        file_id,
        rows,
        migrated,
    })
}

/// The PostGIS geometry type, looked up when the layout has geometry columns.
async fn geometry_type(
    tx: &Transaction<'_>,
    c: &Collection,
    plan: &Plan,
) -> Result<Option<Type>, HarvestError> {
    if !plan
        .layout
        .values()
        .flatten()
        .any(|t| *t == SqlType::Geometry)
    {
        return Ok(None);
    }
    let row = tx
        .query_one(
            "SELECT t.oid, n.nspname::text FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.oid = to_regtype('geometry')",
            &[],
        )
        .await
        .map_err(|e| db("look up PostGIS", c, None, e))?;
    Ok(Some(Type::new(
        "geometry".into(),
        row.get(0),
        Kind::Simple,
        row.get(1),
    )))
}

async fn load_attributes(
    tx: &Transaction<'_>,
    c: &Collection,
    file: &HarvestFile,
    file_id: i64,
    nc: &super::netcdf::NcRows<'_>,
) -> Result<Vec<(String, u64)>, HarvestError> {
    let mut out = Vec::new();
    for super::netcdf::AttributeTable {
        name: table,
        columns,
        rows,
    } in nc.attribute_tables()
    {
        let name = D.table(&c.files_schema, table);
        tx.execute(
            &format!("DELETE FROM {name} WHERE file_id = $1"),
            &[&file_id],
        )
        .await
        .map_err(|e| db("replace attributes", c, Some(file), e))?;
        let mut types = vec![Type::INT8];
        types.extend(columns.iter().map(|_| Type::TEXT));
        let sql = format!(
            "COPY {name} (file_id, {}) FROM STDIN (FORMAT binary)",
            columns.join(", ")
        );
        let mut copy = CopyIn::start(tx, &sql, types)
            .await
            .map_err(|e| db("copy attributes", c, Some(file), e))?;
        for row in &rows {
            let mut values: Vec<Typed> = vec![Typed::Int(file_id)];
            values.extend(row.iter().map(|s| Typed::Text(s.as_str().into())));
            copy.row(&values).await.map_err(HarvestError::Internal)?;
        }
        let n = copy
            .finish()
            .await
            .map_err(|e| db("copy attributes", c, Some(file), e))?;
        out.push((table.to_string(), n));
    }
    Ok(out)
}

/// Converts one row of a chunk to the table's column types, prefixed with the file's id.
#[allow(clippy::too_many_arguments)]
pub(crate) fn typed_row<'c>(
    chunk: &'c Chunk,
    row: usize,
    types: &[SqlType],
    file_id: i64,
    out: &mut Vec<Typed<'c>>,
    t: &Table,
    file: &HarvestFile,
    line: u64,
) -> Result<(), HarvestError> {
    out.clear();
    out.push(Typed::Int(file_id));
    for ((cells, ty), col) in chunk.columns.iter().zip(types).zip(&t.columns) {
        match convert(cells.get(row), *ty) {
            Ok(v) => out.push(v),
            Err(e) => {
                return Err(HarvestError::input(
                    file,
                    format!("table {} column {} row {line}: {e}", t.name, col.name),
                ));
            }
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn load_table(
    tx: &Transaction<'_>,
    c: &Collection,
    t: &Table,
    types: &[SqlType],
    geometry: &Option<Type>,
    opened: &Opened<'_>,
    file: &HarvestFile,
    file_id: i64,
) -> Result<u64, HarvestError> {
    let name = D.table(&c.schema, &t.name);
    match t.mode {
        LoadMode::ReplaceFile => {
            tx.execute(
                &format!("DELETE FROM {name} WHERE file_id = $1"),
                &[&file_id],
            )
            .await
            .map_err(|e| db("replace rows", c, Some(file), e))?;
        }
        LoadMode::Truncate => {
            // DELETE rather than TRUNCATE: readers keep seeing the old rows until the commit.
            tx.execute(&format!("DELETE FROM {name}"), &[])
                .await
                .map_err(|e| db("replace rows", c, Some(file), e))?;
        }
        LoadMode::Append => {
            let loads = D.table(&c.schema, "harvest_load");
            let inserted = tx
                .execute(
                    &format!("INSERT INTO {loads} (file_id, table_name, sha256) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"),
                    &[&file_id, &t.name, &file.sha256],
                )
                .await
                .map_err(|e| db("record load", c, Some(file), e))?;
            if inserted == 0 {
                // This content is in the table already.
                return Ok(0);
            }
        }
        LoadMode::Upsert => {}
    }
    let columns = schema::load_columns(t);
    let target = if t.mode == LoadMode::Upsert {
        // Rows go to a staging table first: COPY cannot update.
        tx.batch_execute(&format!(
            "SET LOCAL client_min_messages = warning;
             DROP TABLE IF EXISTS pg_temp.harvest_stage;
             CREATE TEMP TABLE harvest_stage (LIKE {name} INCLUDING DEFAULTS) ON COMMIT DROP;
             ALTER TABLE harvest_stage ADD COLUMN harvest_row BIGSERIAL"
        ))
        .await
        .map_err(|e| db("stage rows", c, Some(file), e))?;
        "harvest_stage".to_string()
    } else {
        name.clone()
    };
    let mut pg_types = vec![Type::INT8];
    pg_types.extend(types.iter().map(|t| pg_type(*t, geometry)));
    let sql = format!(
        "COPY {target} ({}) FROM STDIN (FORMAT binary)",
        columns.join(", ")
    );
    let mut copy = CopyIn::start(tx, &sql, pg_types)
        .await
        .map_err(|e| db("copy rows", c, Some(file), e))?;
    let mut chunks = opened.chunks(t, file)?;
    let mut line = 1u64;
    while let Some(chunk) = chunks.next_chunk()? {
        match copy.chunk(&chunk, types, file_id, line).await {
            Ok(()) => line += chunk.len as u64,
            Err(ChunkError::Cell {
                column,
                line,
                message,
            }) => {
                return Err(HarvestError::input(
                    file,
                    format!(
                        "table {} column {} row {line}: {message}",
                        t.name, t.columns[column].name
                    ),
                ));
            }
            Err(ChunkError::Send(e)) => {
                // A failed send means the server refused the COPY: its reason comes with finish.
                return Err(match copy.finish().await {
                    Err(db_error) => db("copy rows", c, Some(file), db_error),
                    Ok(_) => HarvestError::Internal(e),
                });
            }
        }
    }
    let n = copy
        .finish()
        .await
        .map_err(|e| db("copy rows", c, Some(file), e))?;
    if t.mode == LoadMode::Upsert {
        let (key, set) = schema::upsert_clauses(t, &columns);
        // The last of a file's rows with one key wins, as it does on SQLite.
        tx.execute(
            &format!(
                "INSERT INTO {name} ({cols}) SELECT DISTINCT ON ({key}) {cols} FROM harvest_stage
                 ORDER BY {key}, harvest_row DESC
                 ON CONFLICT ({key}) DO UPDATE SET {set}",
                cols = columns.join(", "),
            ),
            &[],
        )
        .await
        .map_err(|e| db("upsert rows", c, Some(file), e))?;
        tx.batch_execute("DROP TABLE harvest_stage")
            .await
            .map_err(|e| db("stage rows", c, Some(file), e))?;
    }
    Ok(n)
}

/// Removes a destination's rows from every table of the collection and its attribute rows, and
/// marks it deleted in `indexed_file`, inside the caller's transaction (a deletion, or the older
/// version a new one supersedes).
pub async fn unharvest(
    tx: &Transaction<'_>,
    c: &Collection,
    dest_path: &str,
) -> Result<Unloaded, HarvestError> {
    let files = D.table(&c.files_schema, "indexed_file");
    let exists: bool = tx
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&files])
        .await
        .map_err(|e| db("unharvest", c, None, e))?
        .get(0);
    if !exists {
        return Ok(Unloaded::nothing());
    }
    let Some(row) = tx
        .query_opt(
            &format!("SELECT id FROM {files} WHERE url = $1"),
            &[&dest_path],
        )
        .await
        .map_err(|e| db("unharvest", c, None, e))?
    else {
        return Ok(Unloaded::nothing());
    };
    let file_id: i64 = row.get(0);
    let existing = catalog(tx, c).await?;
    let mut rows = Vec::new();
    let tables = schema::unharvest_tables(c, &existing, D);
    for (label, name) in tables {
        let n = tx
            .execute(
                &format!("DELETE FROM {name} WHERE file_id = $1"),
                &[&file_id],
            )
            .await
            .map_err(|e| db("unharvest", c, None, e))?;
        rows.push((label, n));
    }
    tx.execute(
        &format!("UPDATE {files} SET deleted = TRUE, last_indexed = now() WHERE id = $1"),
        &[&file_id],
    )
    .await
    .map_err(|e| db("unharvest", c, None, e))?;
    Ok(Unloaded {
        file_id: Some(file_id),
        rows,
    })
}

impl Collection {
    /// The collection less the tables whose column types only a file can tell, and the views
    /// over them: what a migration without a file can create.
    pub fn without_undetermined_tables(&self) -> Collection {
        let undetermined = |t: &Table| {
            t.columns.iter().any(|col| {
                col.ty.is_none()
                    && matches!(
                        col.source,
                        super::model::Source::Variable { .. }
                            | super::model::Source::Attribute(_)
                            | super::model::Source::Csv(_)
                    )
            })
        };
        let mut c = self.clone();
        let deferred: Vec<String> = c
            .tables
            .iter()
            .filter(|t| undetermined(t))
            .map(|t| t.name.clone())
            .collect();
        c.tables.retain(|t| !deferred.contains(&t.name));
        c.views.retain(|v| {
            !deferred.contains(&v.from) && !v.join.iter().any(|j| deferred.contains(j))
        });
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compiles only while a harvest can run on any tokio worker (a job's future must be Send).
    #[allow(dead_code)]
    fn harvest_is_send<'a>(
        tx: &'a Transaction<'a>,
        c: &'a Collection,
        f: &'a HarvestFile,
    ) -> impl std::future::Future<Output = Result<Loaded, HarvestError>> + Send + 'a {
        harvest(tx, c, f, MigrateOptions::default())
    }

    /// The bytes the cell-by-cell path writes for one cell.
    fn generic(cells: &Cells, ty: SqlType, pg: &Type, row: usize) -> Result<Vec<u8>, String> {
        let mut buf = BytesMut::new();
        put_typed(&mut buf, &convert(cells.get(row), ty)?, pg)?;
        Ok(buf.to_vec())
    }

    #[test]
    fn direct_encodings_write_what_the_cell_by_cell_path_writes() {
        use super::super::values::Value;
        let numbers = vec![
            0.0,
            1.0,
            9.0,
            10.0,
            -1.0,
            4.5,
            -36.25,
            f64::NAN,
            1e20,
            90000.0,
            f64::INFINITY,
        ];
        let times = vec![0, -1, 951_782_400_123_456, NO_TIME, PG_EPOCH_MICROS];
        let columns = [
            (Cells::Num(numbers.clone()), SqlType::Real, Type::FLOAT4),
            (Cells::Num(numbers.clone()), SqlType::Double, Type::FLOAT8),
            (Cells::Num(numbers.clone()), SqlType::Text, Type::TEXT),
            (Cells::Num(numbers.clone()), SqlType::SmallInt, Type::INT2),
            (Cells::Num(numbers), SqlType::Boolean, Type::BOOL),
            (
                Cells::Time(times.clone()),
                SqlType::Timestamp,
                Type::TIMESTAMPTZ,
            ),
            (Cells::Time(times), SqlType::Text, Type::TEXT),
            (Cells::Const(Value::Num(2.0)), SqlType::Text, Type::TEXT),
            (Cells::Const(Value::Num(2.5)), SqlType::Integer, Type::INT4),
            (Cells::Const(Value::Null), SqlType::Real, Type::FLOAT4),
            (
                Cells::Const(Value::Text("NRSMAI".into())),
                SqlType::Text,
                Type::TEXT,
            ),
        ];
        let mut direct = 0;
        for (cells, ty, pg) in &columns {
            let encoder = Encode::new(cells, *ty, pg);
            if !matches!(encoder, Encode::Cell(..)) {
                direct += 1;
            }
            let rows = match cells {
                Cells::Num(v) => v.len(),
                Cells::Time(v) => v.len(),
                _ => 3,
            };
            for row in 0..rows {
                let mut buf = BytesMut::new();
                let ours = encoder.put(&mut buf, row).map(|()| buf.to_vec());
                assert_eq!(
                    ours,
                    generic(cells, *ty, pg, row),
                    "{cells:?} as {ty:?}, row {row}"
                );
            }
        }
        // Real, Double, Text from numbers, Timestamp, and the three constants that convert.
        assert_eq!(direct, 7);
    }

    #[test]
    fn lock_keys_differ_by_schema_and_stay_put() {
        assert_ne!(lock_key("anmn_ts"), lock_key("argo"));
        assert_eq!(lock_key("anmn_ts"), lock_key("anmn_ts"));
    }
}
