//! The harvest into SQLite, the embedded default: the same tables as on PostgreSQL, named
//! `<schema>__<table>` in the one database file; geometries as WKT text (`POINT(150.1885
//! -36.1897)`), timestamps as ISO 8601 UTC text with microseconds. Rows go through one prepared
//! statement per table inside the caller's transaction, which should be `BEGIN IMMEDIATE`
//! (`TransactionBehavior::Immediate`): SQLite's write lock is then held from the start, so a
//! migration runs once however many jobs start together.

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};

use super::model::{Collection, LoadMode, SqlType, Table};
use super::postgres::typed_row;
use super::schema::{self, Catalog, Dialect, Plan, quote};
use super::values::{Typed, time_text};
use super::{HarvestError, HarvestFile, Loaded, MigrateOptions, Opened, Unloaded};

const D: Dialect = Dialect::Sqlite;

fn db(
    op: &'static str,
    c: &Collection,
    file: Option<&HarvestFile>,
    e: rusqlite::Error,
) -> HarvestError {
    use rusqlite::ErrorCode::*;
    let code = e.sqlite_error_code();
    if let (Some(f), Some(ConstraintViolation)) = (file, code) {
        return HarvestError::input(f, format!("{op}: {e}"));
    }
    HarvestError::Database {
        op,
        location: format!("sqlite schema {}", c.schema),
        transient: matches!(
            code,
            Some(DatabaseBusy | DatabaseLocked | DiskFull | SystemIoFailure)
        ),
        message: e.to_string(),
    }
}

impl rusqlite::ToSql for Typed<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Typed::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Typed::Int(i) => ToSqlOutput::from(*i),
            Typed::Float(x) => ToSqlOutput::from(*x),
            Typed::Bool(b) => ToSqlOutput::from(*b as i64),
            Typed::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Typed::Time(t) => ToSqlOutput::from(time_text(*t)),
            Typed::Geom(g) => ToSqlOutput::from(g.wkt()),
        })
    }
}

fn catalog(conn: &Connection, c: &Collection) -> Result<Catalog, HarvestError> {
    let prefix = format!("{}__", c.schema);
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND substr(name, 1, ?1) = ?2")
        .and_then(|mut s| {
            s.query_map((prefix.len() as i64, &prefix), |r| r.get::<_, String>(0))?
                .collect()
        })
        .map_err(|e| db("read catalog", c, None, e))?;
    let mut out = Catalog::new();
    for name in tables {
        let columns: Vec<(String, String)> = conn
            .prepare(&format!("PRAGMA table_info({})", quote(&name)))
            .and_then(|mut s| {
                s.query_map([], |r| Ok((r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?
                    .collect()
            })
            .map_err(|e| db("read catalog", c, None, e))?;
        let mut typed = Vec::new();
        for (column, declared) in columns {
            let ty = if column == "file_id" {
                SqlType::BigInt
            } else {
                SqlType::from_sqlite_declared(&declared).ok_or_else(|| HarvestError::Schema {
                    collection: c.schema.clone(),
                    message: format!("column {name}.{column} has type {declared}, which the harvest does not write"),
                })?
            };
            typed.push((column, ty));
        }
        out.insert(name[prefix.len()..].to_string(), typed);
    }
    Ok(out)
}

fn views_current(conn: &Connection, c: &Collection) -> Result<bool, HarvestError> {
    let table = D.table(&c.schema, "harvest_migration");
    let exists: bool = conn
        .query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [format!("{}__harvest_migration", c.schema)],
            |r| r.get(0),
        )
        .map_err(|e| db("read migrations", c, None, e))?;
    if !exists {
        return Ok(false);
    }
    let recorded: Option<String> = conn
        .query_row(
            &format!("SELECT views FROM {table} ORDER BY version DESC LIMIT 1"),
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| db("read migrations", c, None, e))?;
    Ok(recorded.as_deref() == Some(schema::views_signature(c, D).as_str()))
}

fn ensure_files_schema(conn: &Connection, c: &Collection) -> Result<(), HarvestError> {
    conn.execute_batch(&schema::files_tables(&c.files_schema, D).join(";\n"))
        .map_err(|e| db("create files tables", c, None, e))
}

fn ensure_schema(
    conn: &Connection,
    c: &Collection,
    hint: &dyn Fn(&Table, &super::model::Column) -> Option<SqlType>,
    opts: MigrateOptions,
) -> Result<(Plan, Option<i32>), HarvestError> {
    let plan = schema::plan(
        c,
        &catalog(conn, c)?,
        hint,
        views_current(conn, c)?,
        opts,
        D,
    )?;
    if plan.steps.is_empty() {
        return Ok((plan, None));
    }
    conn.execute_batch(&schema::bookkeeping_tables(&c.schema, D).join(";\n"))
        .map_err(|e| db("create schema", c, None, e))?;
    let statements = schema::render(c, &plan, D);
    for s in &statements {
        conn.execute_batch(s)
            .map_err(|e| db("migrate", c, None, e))?;
    }
    let table = D.table(&c.schema, "harvest_migration");
    let version: i32 = conn
        .query_row(
            &format!(
                "INSERT INTO {table} (version, steps, views) SELECT COALESCE(MAX(version), 0) + 1, ?1, ?2 FROM {table} RETURNING version"
            ),
            (serde_json::to_string(&plan.steps).unwrap_or_default(), schema::views_signature(c, D)),
            |r| r.get(0),
        )
        .map_err(|e| db("record migration", c, None, e))?;
    tracing::info!(schema = %c.schema, version, steps = statements.len(), "harvest schema migrated");
    Ok((plan, Some(version)))
}

/// Migrates the collection as far as it can without a file (see [`super::postgres::migrate`]),
/// in its own immediate transaction.
pub fn migrate(
    conn: &mut Connection,
    c: &Collection,
    opts: MigrateOptions,
) -> Result<Option<i32>, HarvestError> {
    let known = c.without_undetermined_tables();
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| db("begin", c, None, e))?;
    ensure_files_schema(&tx, c)?;
    let (_, version) = ensure_schema(&tx, &known, &|_, _| None, opts)?;
    tx.commit().map_err(|e| db("commit", c, None, e))?;
    Ok(version)
}

/// Harvests one file inside the caller's transaction (see [`super::postgres::harvest`]).
pub fn harvest(
    tx: &Transaction<'_>,
    c: &Collection,
    file: &HarvestFile,
    opts: MigrateOptions,
) -> Result<Loaded, HarvestError> {
    let opened = Opened::open(c, file)?;
    ensure_files_schema(tx, c)?;
    let hints = opened.hints(c);
    let hint = |t: &Table, col: &super::model::Column| {
        hints.get(&(t.name.clone(), col.name.clone())).copied()
    };
    let (plan, migrated) = ensure_schema(tx, c, &hint, opts)?;
    let files = D.table(&c.files_schema, "indexed_file");
    let file_id: i64 = tx
        .query_row(
            &format!(
                "INSERT INTO {files} (url, size, last_indexed, modified, deleted) VALUES (?1, ?2, ?3, ?3, 0)
                 ON CONFLICT (url) DO UPDATE SET size = excluded.size, last_indexed = excluded.last_indexed,
                   modified = excluded.modified, deleted = 0
                 RETURNING id"
            ),
            (&file.dest_path, file.size as f64, time_text(chrono::Utc::now().timestamp_micros())),
            |r| r.get(0),
        )
        .map_err(|e| db("record file", c, Some(file), e))?;
    let mut rows = Vec::new();
    if let Opened::NetCdf(nc) = &opened
        && c.attributes
    {
        for super::netcdf::AttributeTable {
            name: table,
            columns,
            rows: values,
        } in nc.attribute_tables()
        {
            let name = D.table(&c.files_schema, table);
            tx.execute(&format!("DELETE FROM {name} WHERE file_id = ?1"), [file_id])
                .map_err(|e| db("replace attributes", c, Some(file), e))?;
            let marks: Vec<String> = (1..=columns.len() + 1).map(|i| format!("?{i}")).collect();
            let mut insert = tx
                .prepare(&format!(
                    "INSERT INTO {name} (file_id, {}) VALUES ({})",
                    columns.join(", "),
                    marks.join(", ")
                ))
                .map_err(|e| db("insert attributes", c, Some(file), e))?;
            for row in &values {
                let mut params: Vec<&dyn rusqlite::ToSql> = vec![&file_id];
                params.extend(row.iter().map(|s| s as &dyn rusqlite::ToSql));
                insert
                    .execute(params.as_slice())
                    .map_err(|e| db("insert attributes", c, Some(file), e))?;
            }
            rows.push((table.to_string(), values.len() as u64));
        }
    }
    for t in c.tables.iter().filter(|t| opened.feeds(t)) {
        let n = load_table(tx, c, t, &plan.layout[&t.name], &opened, file, file_id)?;
        rows.push((t.name.clone(), n));
    }
    Ok(Loaded {
        file_id,
        rows,
        migrated,
    })
}

fn load_table(
    tx: &Transaction<'_>,
    c: &Collection,
    t: &Table,
    types: &[SqlType],
    opened: &Opened<'_>,
    file: &HarvestFile,
    file_id: i64,
) -> Result<u64, HarvestError> {
    let name = D.table(&c.schema, &t.name);
    match t.mode {
        LoadMode::ReplaceFile => {
            tx.execute(&format!("DELETE FROM {name} WHERE file_id = ?1"), [file_id])
                .map_err(|e| db("replace rows", c, Some(file), e))?;
        }
        LoadMode::Truncate => {
            tx.execute(&format!("DELETE FROM {name}"), [])
                .map_err(|e| db("replace rows", c, Some(file), e))?;
        }
        LoadMode::Append => {
            let loads = D.table(&c.schema, "harvest_load");
            let inserted = tx
                .execute(
                    &format!("INSERT INTO {loads} (file_id, table_name, sha256) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING"),
                    (file_id, &t.name, &file.sha256),
                )
                .map_err(|e| db("record load", c, Some(file), e))?;
            if inserted == 0 {
                return Ok(0);
            }
        }
        LoadMode::Upsert => {}
    }
    let columns = schema::load_columns(t);
    let marks: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
    let mut sql = format!(
        "INSERT INTO {name} ({}) VALUES ({})",
        columns.join(", "),
        marks.join(", ")
    );
    if t.mode == LoadMode::Upsert {
        let (key, set) = schema::upsert_clauses(t, &columns);
        sql.push_str(&format!(" ON CONFLICT ({key}) DO UPDATE SET {set}"));
    }
    let mut insert = tx
        .prepare(&sql)
        .map_err(|e| db("insert rows", c, Some(file), e))?;
    let mut chunks = opened.chunks(t, file)?;
    let (mut n, mut line) = (0u64, 0u64);
    while let Some(chunk) = chunks.next_chunk()? {
        let mut values = Vec::with_capacity(columns.len());
        for row in 0..chunk.len {
            line += 1;
            typed_row(&chunk, row, types, file_id, &mut values, t, file, line)?;
            let params: Vec<&dyn rusqlite::ToSql> =
                values.iter().map(|v| v as &dyn rusqlite::ToSql).collect();
            insert
                .execute(params.as_slice())
                .map_err(|e| db("insert rows", c, Some(file), e))?;
            n += 1;
        }
    }
    Ok(n)
}

/// Removes a destination's rows inside the caller's transaction (see
/// [`super::postgres::unharvest`]).
pub fn unharvest(
    tx: &Transaction<'_>,
    c: &Collection,
    dest_path: &str,
) -> Result<Unloaded, HarvestError> {
    let files = D.table(&c.files_schema, "indexed_file");
    let exists: bool = tx
        .query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [format!("{}__indexed_file", c.files_schema)],
            |r| r.get(0),
        )
        .map_err(|e| db("unharvest", c, None, e))?;
    if !exists {
        return Ok(Unloaded::nothing());
    }
    let Some(file_id) = tx
        .query_row(
            &format!("SELECT id FROM {files} WHERE url = ?1"),
            [dest_path],
            |r| r.get::<_, i64>(0),
        )
        .optional()
        .map_err(|e| db("unharvest", c, None, e))?
    else {
        return Ok(Unloaded::nothing());
    };
    let existing = catalog(tx, c)?;
    let tables = schema::unharvest_tables(c, &existing, D);
    let mut rows = Vec::new();
    for (label, name) in tables {
        let n = tx
            .execute(&format!("DELETE FROM {name} WHERE file_id = ?1"), [file_id])
            .map_err(|e| db("unharvest", c, None, e))?;
        rows.push((label, n as u64));
    }
    tx.execute(
        &format!("UPDATE {files} SET deleted = 1, last_indexed = ?2 WHERE id = ?1"),
        (file_id, time_text(chrono::Utc::now().timestamp_micros())),
    )
    .map_err(|e| db("unharvest", c, None, e))?;
    Ok(Unloaded {
        file_id: Some(file_id),
        rows,
    })
}
