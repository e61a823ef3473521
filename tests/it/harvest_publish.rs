//! Harvest as part of the publish, end to end through `ocean-ingest run`: the example pipeline
//! loads the NRS `_TZ_` fixture into `anmn_ts`; a pipeline naming a declaration file loads, then
//! on a newer version and on a deletion removes, a file's rows in the index's transaction, on
//! SQLite (the embedded default) and on PostgreSQL with PostGIS, with the file's object of the
//! collection's Parquet copy written, replaced and removed alongside (and read back with pyarrow
//! as the PostgreSQL table's rows); a rerun loads nothing twice; a harvest that fails part-way
//! leaves no row and no object anywhere.

use std::path::{Path, PathBuf};

use crate::common::*;
use crate::harvest::{dataset_matches_measurement, dim, duplicate_time_file, postgis, pyarrow};
use crate::servers::pg;

const NSW: &str = "IMOS_ANMN-NSW_TZ_20141118T130000Z_BMP070_FV01_BMP070-1411-Aqualogger-520PT-16_END-20150504T063500Z_C-20160901T044727Z.nc";

/// A pipeline harvesting ANMN time series into the example `anmn_ts` collection, named by path.
const PIPELINES: &str = r#"
[[pipeline]]
name = "moorings"
keys = '^ANMN/'
allow_delete_manifests = true
harvest = "harvest/anmn_ts.toml"

[[pipeline.files]]
include = 'IMOS_ANMN-N'
check = "format"
dest = "IMOS/ANMN/{{ imos.platform }}/{{ name }}"
supersede = "same_product_older_creation"
"#;

fn nsw() -> PathBuf {
    data(&format!("harvest/{NSW}"))
}

/// The env with [`PIPELINES`] and the example declaration beside it.
fn moorings_env() -> Env {
    let mut env = Env::new();
    let file = env.pipelines(PIPELINES);
    let dir = file.parent().unwrap().join("harvest");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/harvest/anmn_ts.toml"),
        dir.join("anmn_ts.toml"),
    )
    .unwrap();
    env
}

/// The objects of the example's Parquet copy in the env's public store.
fn dataset_objects(env: &Env) -> Vec<String> {
    env.store("public")
        .into_keys()
        .filter(|k| k.starts_with("anmn_ts/measurement/"))
        .collect()
}

/// The key of a destination's object in the example's Parquet copy.
fn dataset_object(site: &str, year: &str, dest: &str) -> String {
    format!(
        "anmn_ts/measurement/site_code={site}/year={year}/{}",
        ocean_ingest::harvest::parquet::object_name(dest)
    )
}

/// Puts `content` in the env's incoming folder at `key` and runs it.
fn upload(env: &Env, key: &str, content: &[u8]) -> Run {
    let path = env.home().join("incoming").join(key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, content).unwrap();
    env.ingest(&path)
}

/// A newer version of the NRS fixture: the same content, a later creation date.
fn newer_temperature() -> String {
    TEMPERATURE.replace("_C-20200313T000000Z", "_C-20220101T000000Z")
}

/// Reads the collection's tables, on either backend.
trait Tables {
    /// `SELECT count(*) …` (or any one-integer query), written for PostgreSQL's names; the SQLite
    /// side rewrites `schema.table` as `schema__table`.
    fn count(&self, sql: &str) -> i64;
}

struct Sqlite(rusqlite::Connection);

impl Tables for Sqlite {
    fn count(&self, sql: &str) -> i64 {
        let sql = sql
            .replace("anmn_ts.", "anmn_ts__")
            .replace("file_index.", "file_index__");
        self.0
            .query_row(&sql, [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}

struct Postgres(tokio_postgres::Client, tokio::runtime::Handle);

impl Tables for Postgres {
    fn count(&self, sql: &str) -> i64 {
        let sql = sql.replace(" = 1", " IS TRUE").replace(" = 0", " IS FALSE");
        tokio::task::block_in_place(|| {
            self.1
                .block_on(self.0.query_one(&sql, &[]))
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .get(0)
        })
    }
}

/// Rows of a destination in a table of the collection.
fn rows_of(t: &dyn Tables, table: &str, dest: &str) -> i64 {
    t.count(&format!(
        "SELECT count(*) FROM anmn_ts.{table} x JOIN file_index.indexed_file f ON f.id = x.file_id WHERE f.url = '{dest}'"
    ))
}

fn measurement_total(t: &dyn Tables) -> i64 {
    t.count("SELECT count(*) FROM anmn_ts.measurement")
}

/// The whole story on one backend: load, rerun, supersede, delete, each checked in the tables.
fn publish_supersede_and_delete(env: &Env, t: &dyn Tables) {
    let samples = dim(&data(TEMPERATURE), "TIME");
    let nsw_samples = dim(&nsw(), "TIME");
    let old_dest = format!("IMOS/ANMN/NRSROT/{TEMPERATURE}");
    let new_dest = format!("IMOS/ANMN/NRSROT/{}", newer_temperature());
    let nsw_dest = format!("IMOS/ANMN/BMP070/{NSW}");

    let first = upload(
        env,
        &format!("ANMN/{TEMPERATURE}"),
        &std::fs::read(data(TEMPERATURE)).unwrap(),
    );
    assert_eq!(first.code, 0, "{}\n{}", first.stdout, first.stderr);
    let audit = first.report()["files"][0]["audit"].to_string();
    assert!(
        audit.contains("rows loaded into collection anmn_ts"),
        "{audit}"
    );
    assert_eq!(rows_of(t, "measurement", &old_dest), samples);
    assert_eq!(rows_of(t, "file_metadata", &old_dest), 1);
    assert_eq!(rows_of(t, "feature_metadata", &old_dest), 1);
    let old_object = dataset_object("NRSROT", "2018", &old_dest);
    assert_eq!(dataset_objects(env), std::slice::from_ref(&old_object));
    assert!(
        audit.contains("Parquet object written at"),
        "the file's audit names its Parquet object: {audit}"
    );
    let nsw_run = upload(env, &format!("ANMN/{NSW}"), &std::fs::read(nsw()).unwrap());
    assert_eq!(nsw_run.code, 0, "{}\n{}", nsw_run.stdout, nsw_run.stderr);
    assert_eq!(rows_of(t, "measurement", &nsw_dest), nsw_samples);
    assert_eq!(measurement_total(t), samples + nsw_samples);
    let nsw_object = dataset_object("BMP070", "2014", &nsw_dest);
    let both = [nsw_object.clone(), old_object.clone()];
    assert_eq!(dataset_objects(env), both);
    let published = env.store("public");

    // The same upload again is a duplicate: nothing loads twice.
    let again = upload(
        env,
        &format!("ANMN/{TEMPERATURE}"),
        &std::fs::read(data(TEMPERATURE)).unwrap(),
    );
    assert_eq!(again.code, 0, "{}", again.stdout);
    assert_eq!(again.report()["outcome"], "duplicate", "{}", again.stdout);
    assert_eq!(rows_of(t, "measurement", &old_dest), samples);
    assert_eq!(measurement_total(t), samples + nsw_samples);
    assert_eq!(
        env.store("public"),
        published,
        "a duplicate writes no object"
    );

    // A newer version: the old one's rows leave as the new one's arrive, in one commit.
    let newer = upload(
        env,
        &format!("ANMN/{}", newer_temperature()),
        &std::fs::read(data(TEMPERATURE)).unwrap(),
    );
    assert_eq!(newer.code, 0, "{}\n{}", newer.stdout, newer.stderr);
    assert_eq!(rows_of(t, "measurement", &old_dest), 0);
    assert_eq!(rows_of(t, "file_metadata", &old_dest), 0);
    assert_eq!(rows_of(t, "measurement", &new_dest), samples);
    assert_eq!(
        t.count(&format!(
            "SELECT count(*) FROM file_index.indexed_file WHERE url = '{old_dest}' AND deleted = 1"
        )),
        1
    );
    let superseded = newer.report()["files"][1]["audit"].to_string();
    assert!(
        superseded.contains("rows removed from collection anmn_ts"),
        "{superseded}"
    );
    // Its object leaves the dataset as the new version's arrives.
    let new_object = dataset_object("NRSROT", "2018", &new_dest);
    let mut expected = vec![nsw_object, new_object.clone()];
    expected.sort();
    assert_eq!(dataset_objects(env), expected);
    assert!(
        superseded.contains(&format!("{old_object} removed")),
        "{superseded}"
    );
    assert_eq!(
        published[&old_object],
        env.store("public")[&new_object],
        "the same content gives the same object"
    );

    // A deletion removes its rows with its index row.
    let delete = upload(
        env,
        "ANMN/x.delete_manifest",
        format!("{nsw_dest}\n").as_bytes(),
    );
    assert_eq!(delete.code, 0, "{}\n{}", delete.stdout, delete.stderr);
    assert_eq!(rows_of(t, "measurement", &nsw_dest), 0);
    assert_eq!(rows_of(t, "feature_metadata", &nsw_dest), 0);
    assert_eq!(measurement_total(t), samples);
    assert_eq!(dataset_objects(env), [new_object]);
    assert_eq!(
        t.count("SELECT count(*) FROM file_index.nc_global_attribute a JOIN file_index.indexed_file f ON f.id = a.file_id WHERE f.deleted = 0"),
        t.count(&format!("SELECT count(*) FROM file_index.nc_global_attribute a JOIN file_index.indexed_file f ON f.id = a.file_id WHERE f.url = '{new_dest}'")),
        "only the published file keeps attribute rows"
    );
    let rows = env.index_rows();
    assert!(
        rows.is_empty()
            || rows
                .iter()
                .any(|r| r["dest_path"] == nsw_dest.as_str() && r["deleted"] == true)
    );
}

#[test]
fn the_example_pipeline_harvests_the_nrs_temperature_series_into_anmn_ts() {
    // No pipeline file: the built-in example, on the embedded default (SQLite).
    let env = Env::new();
    let run = env.ingest(&data(TEMPERATURE));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let db = Sqlite(rusqlite::Connection::open(env.home().join("index.sqlite")).unwrap());
    let dest = format!("IMOS/ANMN/NRS/NRSROT/Temperature/{TEMPERATURE}");
    assert_eq!(
        rows_of(&db, "measurement", &dest),
        dim(&data(TEMPERATURE), "TIME")
    );
    assert_eq!(
        db.count("SELECT count(DISTINCT TIME) FROM anmn_ts.measurement"),
        dim(&data(TEMPERATURE), "TIME"),
        "one row per TIME sample"
    );
    assert_eq!(rows_of(&db, "file_metadata", &dest), 1);
    let (site, geom): (String, String) =
        db.0.query_row(
            "SELECT site_code, geom FROM anmn_ts__file_metadata",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(site, "NRSROT");
    assert!(geom.starts_with("POINT("), "{geom}");
    assert_eq!(
        db.count("SELECT count(*) FROM anmn_ts.anmn_ts_timeseries_map"),
        1
    );
    // The index row and the collection's rows came in the same commit.
    assert_eq!(env.index_rows().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_example_pipeline_harvests_anmn_ts_into_postgis() {
    let Some(db) = pg().await else {
        return;
    };
    let client = postgis(&db).await;
    let mut env = Env::new();
    env.example_pipelines()
        .set("INGEST_INDEX_URL", db.url.clone());
    let run = env.ingest(&data(TEMPERATURE));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let t = Postgres(client, tokio::runtime::Handle::current());
    let dest = format!("IMOS/ANMN/NRS/NRSROT/Temperature/{TEMPERATURE}");
    assert_eq!(
        rows_of(&t, "measurement", &dest),
        dim(&data(TEMPERATURE), "TIME")
    );
    assert_eq!(
        t.count("SELECT count(*) FROM anmn_ts.file_metadata WHERE ST_IsValid(geom) AND ST_SRID(geom) = 4326 AND GeometryType(geom) = 'POINT'"),
        1
    );
    assert_eq!(
        t.count(&format!(
            "SELECT count(*) FROM indexed_file WHERE dest_path = '{dest}' AND NOT deleted"
        )),
        1
    );
}

#[test]
fn a_harvesting_publish_loads_supersedes_and_deletes_rows_in_sqlite() {
    let env = moorings_env();
    let db = || Sqlite(rusqlite::Connection::open(env.home().join("index.sqlite")).unwrap());
    // The tables are read after each run, through a fresh connection.
    struct Fresh<'a>(&'a dyn Fn() -> Sqlite);
    impl Tables for Fresh<'_> {
        fn count(&self, sql: &str) -> i64 {
            (self.0)().count(sql)
        }
    }
    publish_supersede_and_delete(&env, &Fresh(&db));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_harvesting_publish_loads_supersedes_and_deletes_rows_in_postgis() {
    let Some(db) = pg().await else {
        return;
    };
    let client = postgis(&db).await;
    let mut env = moorings_env();
    env.set("INGEST_INDEX_URL", db.url.clone());
    let t = Postgres(client, tokio::runtime::Handle::current());
    publish_supersede_and_delete(&env, &t);
    assert_eq!(
        t.count(
            "SELECT count(*) FROM anmn_ts.file_metadata WHERE NOT ST_IsValid(geom) OR geom IS NULL"
        ),
        0
    );
    // The Parquet copy holds the table's rows, read back by another reader.
    if let Some(python) = pyarrow() {
        let root = env.home().join("public/anmn_ts/measurement");
        let read = dataset_matches_measurement(&python, &root, &t.0).await;
        assert_eq!(
            read["rows"].as_array().unwrap().len() as i64,
            measurement_total(&t)
        );
    }
}

#[test]
fn a_harvest_failing_part_way_leaves_no_row_and_publishes_nothing() {
    let env = moorings_env();
    // A ZIP of a good file and one whose repeated TIME the measurement key refuses after its
    // rows went in: the job fails, and neither file's rows nor index rows nor objects remain.
    let dup = duplicate_time_file(env.dir.path());
    let zip = zip_of(&[
        (TEMPERATURE, &std::fs::read(data(TEMPERATURE)).unwrap()),
        (
            dup.file_name().unwrap().to_str().unwrap(),
            &std::fs::read(&dup).unwrap(),
        ),
    ]);
    let run = upload(&env, "ANMN/batch.zip", &zip);
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(run.stdout.contains("harvest"), "{}", run.stdout);
    let db = Sqlite(rusqlite::Connection::open(env.home().join("index.sqlite")).unwrap());
    let tables = db.count(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'anmn_ts__measurement'",
    );
    if tables > 0 {
        assert_eq!(measurement_total(&db), 0);
        assert_eq!(db.count("SELECT count(*) FROM file_index.indexed_file"), 0);
    }
    assert!(env.index_rows().is_empty());
    assert!(
        env.store("public").is_empty(),
        "{:?}",
        env.store("public").keys()
    );
}
