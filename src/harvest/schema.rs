//! Migrations from a declaration: what the database has (its catalog) against what the collection
//! declares, as steps rendered for PostgreSQL or SQLite. A step that loses data (retyping or
//! dropping a column) is only planned with [`MigrateOptions::allow_destructive`]; without it the
//! plan fails naming each such change. Column types not declared are taken from the catalog when
//! the column exists, else from the first file loaded (`hint`).

use std::collections::BTreeMap;

use serde::Serialize;

use super::model::{Collection, Column, LoadMode, Source, SqlType, Table, View};
use super::{HarvestError, MigrateOptions};

/// The SQL dialect steps are rendered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    Sqlite,
}

impl Dialect {
    /// A table's name as SQL: `schema.table` (PostgreSQL), `"schema__table"` (SQLite, which has
    /// no schemas in one database file).
    pub fn table(self, schema: &str, table: &str) -> String {
        match self {
            Dialect::Postgres => format!("{schema}.{table}"),
            Dialect::Sqlite => format!("\"{schema}__{table}\""),
        }
    }

    fn ty(self, t: SqlType) -> &'static str {
        match self {
            Dialect::Postgres => t.postgres(),
            Dialect::Sqlite => t.sqlite(),
        }
    }
}

/// A quoted column name (declared names keep their case: `"TEMP"`).
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Column types of one table as the database has them, in column order.
pub type Catalog = BTreeMap<String, Vec<(String, SqlType)>>;

/// One change to the database.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    CreateTable {
        table: String,
    },
    AddColumn {
        table: String,
        column: String,
        ty: SqlType,
    },
    RetypeColumn {
        table: String,
        column: String,
        from: SqlType,
        to: SqlType,
    },
    DropColumn {
        table: String,
        column: String,
    },
    CreateViews,
}

/// What a migration does, and the type of every declared column once it is done.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// Per table, the column types in declaration order (file_id excluded).
    pub layout: BTreeMap<String, Vec<SqlType>>,
}

/// Plans the collection's tables against the catalog. `hint` gives the type of an undeclared
/// column from the file being loaded; `views_current` says whether the recorded views match the
/// declared ones.
pub fn plan(
    c: &Collection,
    catalog: &Catalog,
    hint: &dyn Fn(&Table, &Column) -> Option<SqlType>,
    views_current: bool,
    opts: MigrateOptions,
    dialect: Dialect,
) -> Result<Plan, HarvestError> {
    let mut plan = Plan::default();
    let mut refused = Vec::new();
    for t in &c.tables {
        let mut types = Vec::new();
        match catalog.get(&t.name) {
            None => {
                for col in &t.columns {
                    types.push(new_type(col, t, hint));
                }
                plan.steps.push(Step::CreateTable {
                    table: t.name.clone(),
                });
            }
            Some(existing) => {
                let find = |n: &str| existing.iter().find(|(e, _)| e == n).map(|(_, ty)| *ty);
                for col in &t.columns {
                    match find(&col.name) {
                        None => {
                            let ty = new_type(col, t, hint);
                            plan.steps.push(Step::AddColumn {
                                table: t.name.clone(),
                                column: col.name.clone(),
                                ty,
                            });
                            types.push(ty);
                        }
                        Some(have) => match col.ty.or(geometry(col)) {
                            Some(want) if !same(dialect, want, have) => {
                                if opts.allow_destructive {
                                    plan.steps.push(Step::RetypeColumn {
                                        table: t.name.clone(),
                                        column: col.name.clone(),
                                        from: have,
                                        to: want,
                                    });
                                } else {
                                    refused.push(format!(
                                        "column {}.{} is {} in the database and {} in the declaration",
                                        t.name,
                                        col.name,
                                        dialect.ty(have),
                                        dialect.ty(want)
                                    ));
                                }
                                types.push(want);
                            }
                            _ => types.push(have),
                        },
                    }
                }
                for (name, _) in existing {
                    let declared = name == "file_id" || t.columns.iter().any(|c| &c.name == name);
                    if declared {
                        continue;
                    }
                    if opts.allow_destructive {
                        plan.steps.push(Step::DropColumn {
                            table: t.name.clone(),
                            column: name.clone(),
                        });
                    } else {
                        // Kept: loads leave it NULL. Dropping it needs the flag.
                        tracing::info!(schema = %c.schema, table = %t.name, column = %name, "column no longer declared; kept (dropping it is a destructive migration)");
                    }
                }
            }
        }
        plan.layout.insert(t.name.clone(), types);
    }
    if !refused.is_empty() {
        return Err(HarvestError::Schema {
            collection: c.schema.clone(),
            message: format!(
                "the declaration needs destructive changes, refused without allow_destructive: {}",
                refused.join("; ")
            ),
        });
    }
    if !c.views.is_empty() && (!plan.steps.is_empty() || !views_current) {
        plan.steps.push(Step::CreateViews);
    }
    Ok(plan)
}

fn geometry(col: &Column) -> Option<SqlType> {
    matches!(col.source, Source::Geometry { .. }).then_some(SqlType::Geometry)
}

fn same(dialect: Dialect, a: SqlType, b: SqlType) -> bool {
    match dialect {
        Dialect::Postgres => a == b,
        Dialect::Sqlite => a.same_in_sqlite(b),
    }
}

/// The type of a column about to be created: declared, else from its source, else from the file.
fn new_type(col: &Column, t: &Table, hint: &dyn Fn(&Table, &Column) -> Option<SqlType>) -> SqlType {
    if let Some(ty) = col.ty.or(geometry(col)) {
        return ty;
    }
    match &col.source {
        Source::QualityControl { .. } => SqlType::Text,
        Source::TimeCoverage(_) => SqlType::Timestamp,
        Source::File(super::model::FileField::Size) => SqlType::BigInt,
        Source::File(_) => SqlType::Text,
        // Neither declared nor in the first file: a variable is a number, anything else text.
        Source::Variable { .. } => hint(t, col).unwrap_or(SqlType::Double),
        _ => hint(t, col).unwrap_or(SqlType::Text),
    }
}

/// The SQL of a plan's steps.
pub fn render(c: &Collection, plan: &Plan, dialect: Dialect) -> Vec<String> {
    let mut sql = Vec::new();
    let views_change = plan.steps.contains(&Step::CreateViews);
    if views_change {
        // Views depend on the columns below them: out of the way while tables change.
        for v in &c.views {
            sql.push(format!(
                "DROP VIEW IF EXISTS {}",
                dialect.table(&c.schema, &v.name)
            ));
        }
    }
    for step in &plan.steps {
        let table_of = |name: &str| c.table(name).expect("planned from the collection");
        match step {
            Step::CreateTable { table } => sql.extend(create_table(
                c,
                table_of(table),
                &plan.layout[table],
                dialect,
            )),
            Step::AddColumn { table, column, ty } => {
                let t = dialect.table(&c.schema, table);
                sql.push(format!(
                    "ALTER TABLE {t} ADD COLUMN {} {}",
                    quote(column),
                    dialect.ty(*ty)
                ));
                if *ty == SqlType::Geometry && dialect == Dialect::Postgres {
                    sql.extend(geometry_checks(c, table, column));
                }
            }
            Step::RetypeColumn {
                table, column, to, ..
            } => {
                let t = dialect.table(&c.schema, table);
                let q = quote(column);
                match dialect {
                    Dialect::Postgres => sql.push(format!(
                        "ALTER TABLE {t} ALTER COLUMN {q} TYPE {} USING {q}::{}",
                        to.postgres(),
                        to.postgres()
                    )),
                    // SQLite cannot retype: the column is made again (its values are lost, which
                    // is why the change needs the destructive flag).
                    Dialect::Sqlite => {
                        sql.push(format!("ALTER TABLE {t} DROP COLUMN {q}"));
                        sql.push(format!("ALTER TABLE {t} ADD COLUMN {q} {}", to.sqlite()));
                    }
                }
            }
            Step::DropColumn { table, column } => sql.push(format!(
                "ALTER TABLE {} DROP COLUMN {}",
                dialect.table(&c.schema, table),
                quote(column)
            )),
            Step::CreateViews => {}
        }
    }
    if views_change {
        for v in &c.views {
            sql.push(format!(
                "CREATE VIEW {} AS {}",
                dialect.table(&c.schema, &v.name),
                view_select(c, v, dialect)
            ));
        }
    }
    sql
}

fn create_table(c: &Collection, t: &Table, types: &[SqlType], dialect: Dialect) -> Vec<String> {
    let name = dialect.table(&c.schema, &t.name);
    let mut defs = vec!["file_id BIGINT NOT NULL".to_string()];
    for (col, ty) in t.columns.iter().zip(types) {
        let not_null = if col.required { " NOT NULL" } else { "" };
        defs.push(format!(
            "{} {}{not_null}",
            quote(&col.name),
            dialect.ty(*ty)
        ));
    }
    let key: Vec<String> = t.primary_key.iter().map(|k| quote(k)).collect();
    if !key.is_empty() {
        if t.mode == LoadMode::Upsert {
            defs.push(format!("UNIQUE ({})", key.join(", ")));
        } else {
            defs.push(format!("PRIMARY KEY ({})", key.join(", ")));
        }
    }
    let mut sql = vec![format!(
        "CREATE TABLE {name} (\n    {}\n)",
        defs.join(",\n    ")
    )];
    // A file's rows are found by file_id (replace, unharvest) unless the key already leads with it.
    if t.primary_key.first().map(String::as_str) != Some("file_id") {
        sql.push(format!(
            "CREATE INDEX {} ON {name} (file_id)",
            index_name(dialect, &c.schema, &t.name, "file_id")
        ));
    }
    if dialect == Dialect::Postgres {
        for (col, ty) in t.columns.iter().zip(types) {
            if *ty == SqlType::Geometry {
                sql.extend(geometry_checks(c, &t.name, &col.name));
            }
        }
    }
    sql
}

/// Index names are schema-local in PostgreSQL and database-wide in SQLite.
fn index_name(dialect: Dialect, schema: &str, table: &str, what: &str) -> String {
    let base = match dialect {
        Dialect::Postgres => format!("{table}_{what}"),
        Dialect::Sqlite => format!("{schema}__{table}_{what}"),
    };
    quote(&base.chars().take(63).collect::<String>())
}

/// A geometry column's validity check and GiST index (PostGIS).
fn geometry_checks(c: &Collection, table: &str, column: &str) -> Vec<String> {
    let t = Dialect::Postgres.table(&c.schema, table);
    let q = quote(column);
    vec![
        format!(
            "ALTER TABLE {t} ADD CONSTRAINT {} CHECK (ST_IsValid({q}))",
            index_name(
                Dialect::Postgres,
                &c.schema,
                table,
                &format!("{column}_valid")
            )
        ),
        format!(
            "CREATE INDEX {} ON {t} USING GIST ({q})",
            index_name(
                Dialect::Postgres,
                &c.schema,
                table,
                &format!("{column}_gist")
            )
        ),
    ]
}

/// A view's SELECT: its tables joined on file_id (indexed_file on its id).
pub fn view_select(c: &Collection, v: &View, dialect: Dialect) -> String {
    let source = |name: &str| {
        if name == "indexed_file" {
            format!(
                "{} AS indexed_file",
                dialect.table(&c.files_schema, "indexed_file")
            )
        } else {
            format!("{} AS {name}", dialect.table(&c.schema, name))
        }
    };
    let key = |name: &str| {
        if name == "indexed_file" {
            "indexed_file.id".to_string()
        } else {
            format!("{name}.file_id")
        }
    };
    let columns: Vec<String> = v
        .columns
        .iter()
        .map(|vc| {
            let alias = vc.alias.as_deref().unwrap_or(&vc.column);
            format!("{}.{} AS {}", vc.table, quote(&vc.column), quote(alias))
        })
        .collect();
    let mut sql = format!("SELECT {} FROM {}", columns.join(", "), source(&v.from));
    for j in &v.join {
        sql.push_str(&format!(
            " JOIN {} ON {} = {}",
            source(j),
            key(j),
            key(&v.from)
        ));
    }
    sql
}

/// The declared views' SQL, recorded with each migration so a changed view is noticed.
pub fn views_signature(c: &Collection, dialect: Dialect) -> String {
    c.views
        .iter()
        .map(|v| format!("{}: {}", v.name, view_select(c, v, dialect)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The columns a load writes, in order: `file_id`, then the declared ones (quoted).
pub fn load_columns(t: &Table) -> Vec<String> {
    std::iter::once("file_id".to_string())
        .chain(t.columns.iter().map(|col| quote(&col.name)))
        .collect()
}

/// An upsert's conflict target and assignments: `("k1", "k2")` and `c = excluded.c, …`.
pub fn upsert_clauses(t: &Table, columns: &[String]) -> (String, String) {
    let key: Vec<String> = t.primary_key.iter().map(|k| quote(k)).collect();
    let set: Vec<String> = columns
        .iter()
        .filter(|col| !key.contains(col))
        .map(|col| format!("{col} = excluded.{col}"))
        .collect();
    (key.join(", "), set.join(", "))
}

/// What an unharvest deletes a file's rows from, as (label, SQL name): the collection's tables
/// that exist, its load records, and the shared `nc_*` attribute tables.
pub fn unharvest_tables(
    c: &Collection,
    existing: &Catalog,
    dialect: Dialect,
) -> Vec<(String, String)> {
    let mut tables: Vec<(String, String)> = c
        .tables
        .iter()
        .map(|t| t.name.as_str())
        .chain(["harvest_load"])
        .filter(|t| existing.contains_key(*t))
        .map(|t| (t.to_string(), dialect.table(&c.schema, t)))
        .collect();
    for table in [
        "nc_global_attribute",
        "nc_variable",
        "nc_variable_attribute",
    ] {
        tables.push((table.to_string(), dialect.table(&c.files_schema, table)));
    }
    tables
}

/// The tables of the files schema, shared by every collection (the prototype's `file_index`).
pub fn files_tables(files_schema: &str, dialect: Dialect) -> Vec<String> {
    let t = |name: &str| dialect.table(files_schema, name);
    let idx = |table: &str, what: &str| index_name(dialect, files_schema, table, what);
    let (id, ts, now) = match dialect {
        Dialect::Postgres => ("BIGSERIAL PRIMARY KEY", "TIMESTAMPTZ", "now()"),
        Dialect::Sqlite => (
            "INTEGER PRIMARY KEY AUTOINCREMENT",
            "TIMESTAMPTZ",
            "(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
        ),
    };
    let (float, boolean, false_) = match dialect {
        Dialect::Postgres => ("DOUBLE PRECISION", "BOOLEAN", "FALSE"),
        Dialect::Sqlite => ("REAL", "INTEGER", "0"),
    };
    let mut sql = vec![format!(
        "CREATE TABLE IF NOT EXISTS {} (
    id {id},
    url TEXT NOT NULL UNIQUE,
    created {ts},
    modified {ts},
    first_indexed {ts} DEFAULT {now},
    last_indexed {ts},
    last_indexed_run INTEGER,
    size {float},
    deleted {boolean} NOT NULL DEFAULT {false_}
)",
        t("indexed_file")
    )];
    sql.push(format!(
        "CREATE INDEX IF NOT EXISTS {} ON {} (deleted)",
        idx("indexed_file", "deleted_idx"),
        t("indexed_file")
    ));
    for (table, columns) in [
        (
            "nc_global_attribute",
            "name TEXT NOT NULL, type TEXT NOT NULL, value TEXT NOT NULL",
        ),
        (
            "nc_variable",
            "name TEXT NOT NULL, type TEXT NOT NULL, dimensions TEXT NOT NULL, shape TEXT NOT NULL",
        ),
        (
            "nc_variable_attribute",
            "var_name TEXT NOT NULL, attr_name TEXT NOT NULL, type TEXT NOT NULL, value TEXT NOT NULL",
        ),
    ] {
        sql.push(format!(
            "CREATE TABLE IF NOT EXISTS {} (file_id BIGINT NOT NULL, {columns})",
            t(table)
        ));
        sql.push(format!(
            "CREATE INDEX IF NOT EXISTS {} ON {} (file_id)",
            idx(table, "file_id"),
            t(table)
        ));
    }
    sql
}

/// The collection's own bookkeeping: applied migrations, and content loaded into append tables.
pub fn bookkeeping_tables(schema: &str, dialect: Dialect) -> Vec<String> {
    let (serial, ts) = match dialect {
        Dialect::Postgres => ("INTEGER PRIMARY KEY", "TIMESTAMPTZ NOT NULL DEFAULT now()"),
        Dialect::Sqlite => (
            "INTEGER PRIMARY KEY",
            "TIMESTAMPTZ NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
        ),
    };
    vec![
        format!(
            "CREATE TABLE IF NOT EXISTS {} (
    version {serial},
    applied_at {ts},
    steps TEXT NOT NULL,
    views TEXT NOT NULL
)",
            dialect.table(schema, "harvest_migration")
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {} (
    file_id BIGINT NOT NULL,
    table_name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    loaded_at {ts},
    PRIMARY KEY (file_id, table_name, sha256)
)",
            dialect.table(schema, "harvest_load")
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harvest::declare::{HarvestDecl, validate};

    fn collection() -> Collection {
        let d: HarvestDecl = toml::from_str(
            r#"
            schema = "c"
            [[tables]]
            name = "m"
            rows = "samples"
            dimensions = ["TIME"]
            quality_control = true
            primary_key = ["file_id", "TIME"]
            columns = ["TIME", { name = "TEMP", type = "real" }]
            [[tables]]
            name = "f"
            rows = "file"
            columns = ["site_code", { name = "geom", geometry = "point" }]
            [[views]]
            name = "map"
            from = "f"
            join = ["indexed_file"]
            columns = ["f.file_id AS id", "site_code", "geom", "url"]
            "#,
        )
        .unwrap();
        validate(&d).unwrap()
    }

    fn no_hint(_: &Table, _: &Column) -> Option<SqlType> {
        None
    }

    #[test]
    fn a_new_collection_creates_its_tables_then_its_views() {
        let c = collection();
        let p = plan(
            &c,
            &Catalog::new(),
            &no_hint,
            false,
            MigrateOptions::default(),
            Dialect::Postgres,
        )
        .unwrap();
        assert_eq!(p.steps.len(), 3);
        assert_eq!(
            p.layout["m"],
            [SqlType::Double, SqlType::Text, SqlType::Real, SqlType::Text],
            "TIME without a file to infer from is a number; flags are text"
        );
        let sql = render(&c, &p, Dialect::Postgres).join(";\n");
        assert!(sql.contains("PRIMARY KEY (\"file_id\", \"TIME\")"), "{sql}");
        assert!(sql.contains("CHECK (ST_IsValid(\"geom\"))"), "{sql}");
        assert!(sql.contains("USING GIST (\"geom\")"), "{sql}");
        assert!(
            !sql.contains("CREATE INDEX \"f_file_id\""),
            "file tables are keyed by file_id: {sql}"
        );
        assert!(sql.contains(
            "CREATE VIEW c.map AS SELECT f.\"file_id\" AS \"id\", f.\"site_code\" AS \"site_code\", f.\"geom\" AS \"geom\", indexed_file.\"url\" AS \"url\" FROM c.f AS f JOIN file_index.indexed_file AS indexed_file ON indexed_file.id = f.file_id"
        ), "{sql}");
        let lite = render(&c, &p, Dialect::Sqlite).join(";\n");
        assert!(lite.contains("CREATE TABLE \"c__m\""), "{lite}");
        assert!(!lite.contains("GIST"), "{lite}");
    }

    #[test]
    fn a_retype_is_refused_unless_allowed_and_new_columns_are_added() {
        let c = collection();
        let mut catalog = Catalog::new();
        catalog.insert(
            "m".into(),
            vec![
                ("file_id".into(), SqlType::BigInt),
                ("TIME".into(), SqlType::Timestamp),
                ("TEMP".into(), SqlType::Double),
                ("OLD".into(), SqlType::Double),
            ],
        );
        catalog.insert(
            "f".into(),
            vec![
                ("file_id".into(), SqlType::BigInt),
                ("site_code".into(), SqlType::Text),
                ("geom".into(), SqlType::Geometry),
            ],
        );
        let e = plan(
            &c,
            &catalog,
            &no_hint,
            true,
            MigrateOptions::default(),
            Dialect::Postgres,
        )
        .unwrap_err();
        assert!(
            e.to_string().contains(
                "column m.TEMP is DOUBLE PRECISION in the database and REAL in the declaration"
            ),
            "{e}"
        );
        let p = plan(
            &c,
            &catalog,
            &no_hint,
            true,
            MigrateOptions {
                allow_destructive: true,
            },
            Dialect::Postgres,
        )
        .unwrap();
        assert_eq!(
            p.steps,
            vec![
                Step::AddColumn {
                    table: "m".into(),
                    column: "TIME_quality_control".into(),
                    ty: SqlType::Text
                },
                Step::RetypeColumn {
                    table: "m".into(),
                    column: "TEMP".into(),
                    from: SqlType::Double,
                    to: SqlType::Real
                },
                Step::AddColumn {
                    table: "m".into(),
                    column: "TEMP_quality_control".into(),
                    ty: SqlType::Text
                },
                Step::DropColumn {
                    table: "m".into(),
                    column: "OLD".into()
                },
                Step::CreateViews,
            ]
        );
        assert_eq!(
            p.layout["m"][0],
            SqlType::Timestamp,
            "the catalog's type wins for undeclared columns"
        );
        // SQLite keeps real and double alike: nothing to retype there.
        let lite = plan(
            &c,
            &catalog,
            &no_hint,
            true,
            MigrateOptions::default(),
            Dialect::Sqlite,
        )
        .unwrap();
        assert_eq!(lite.steps.len(), 3);
    }
}
