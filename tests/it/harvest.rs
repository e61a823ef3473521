//! The harvest against real PostgreSQL + PostGIS and SQLite: the reference prototype's `anmn_ts`
//! collection reproduced for its bundled ANMN file and our NRS `_TZ_` fixture, the example
//! collections (Argo profiles, a SOOP trajectory, a BGC CSV), reruns, unharvest on deletion and
//! supersede, rollback of a failed load, migrations, and the Parquet dataset read back by pyarrow.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ocean_ingest::harvest::{
    self, Collection, HarvestDecl, HarvestError, HarvestFile, MigrateOptions,
};
use ocean_ingest::netcdf::NcFile;
use rusqlite::TransactionBehavior;

use crate::common::{TEMPERATURE, data};
use crate::servers::{PgDb, pg};

const NSW: &str = "IMOS_ANMN-NSW_TZ_20141118T130000Z_BMP070_FV01_BMP070-1411-Aqualogger-520PT-16_END-20150504T063500Z_C-20160901T044727Z.nc";
const ARGO: &str = "D1901119_001.nc";
const TRV: &str =
    "IMOS_SOOP-TRV_B_20100225T073727Z_VMQ9273_FV01_END-20100225T131607Z_C-2016225T100000Z.nc";
const BGC: &str = "bgc_hydrochemistry.csv";

fn harvest_data(name: &str) -> PathBuf {
    data(&format!("harvest/{name}"))
}

fn example(name: &str) -> Collection {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/harvest")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    let decl: HarvestDecl = toml::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    harvest::validate(&decl).unwrap_or_else(|p| panic!("{name}: {p:#?}"))
}

fn file(path: &Path, dest: &str) -> HarvestFile {
    HarvestFile::from_path(path, dest).unwrap()
}

fn nsw() -> HarvestFile {
    file(
        &harvest_data(NSW),
        &format!("IMOS/ANMN/NSW/BMP070/Temperature/{NSW}"),
    )
}

fn nrs() -> HarvestFile {
    file(
        &data(TEMPERATURE),
        &format!("IMOS/ANMN/NRS/NRSROT/Temperature/{TEMPERATURE}"),
    )
}

/// The length of a dimension, read from the file itself.
pub(crate) fn dim(path: &Path, name: &str) -> i64 {
    NcFile::open(path)
        .unwrap()
        .summary()
        .unwrap()
        .dimension(name)
        .unwrap()
        .len as i64
}

/// How many values of a variable are each flag, from the file (fill values left out).
fn flag_counts(path: &Path, var: &str) -> BTreeMap<String, i64> {
    let f = NcFile::open(path).unwrap();
    let n = f.summary().unwrap().variable(var).unwrap().len();
    let mut out = BTreeMap::new();
    for x in f.read_f64(var, &[0], &[n]).unwrap() {
        if x != 99.0 {
            *out.entry(format!("{}", x as i64)).or_insert(0) += 1;
        }
    }
    out
}

pub(crate) async fn postgis(db: &PgDb) -> tokio_postgres::Client {
    let client = db.client().await;
    client
        .batch_execute("CREATE EXTENSION IF NOT EXISTS postgis")
        .await
        .unwrap();
    client
}

async fn count(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client
        .query_one(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

async fn columns(client: &tokio_postgres::Client, schema: &str, table: &str) -> Vec<String> {
    client
        .query(
            "SELECT column_name::text FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
            &[&schema, &table],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

async fn pg_harvest(
    client: &mut tokio_postgres::Client,
    c: &Collection,
    f: &HarvestFile,
) -> harvest::Loaded {
    let tx = client.transaction().await.unwrap();
    let loaded = harvest::postgres::harvest(&tx, c, f, MigrateOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", f.dest_path));
    tx.commit().await.unwrap();
    loaded
}

#[test]
fn every_example_declaration_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/harvest");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            example(path.file_name().unwrap().to_str().unwrap());
            n += 1;
        }
    }
    assert_eq!(n, 4, "the four example collections");
}

const PROTOTYPE_FILE_METADATA: &[&str] = &[
    "file_id",
    "site_code",
    "platform_code",
    "deployment_code",
    "LATITUDE",
    "LATITUDE_quality_control",
    "LONGITUDE",
    "LONGITUDE_quality_control",
    "geom",
    "instrument_nominal_depth",
    "site_nominal_depth",
    "site_depth_at_deployment",
    "instrument",
    "instrument_serial_number",
    "time_coverage_start",
    "time_coverage_end",
    "time_deployment_start",
    "time_deployment_end",
    "comment",
    "history",
    "toolbox_version",
];

const PROTOTYPE_MEASUREMENT: &[&str] = &[
    "file_id",
    "TIME",
    "TIME_quality_control",
    "DEPTH",
    "DEPTH_quality_control",
    "TEMP",
    "TEMP_quality_control",
    "CNDC",
    "CNDC_quality_control",
    "PSAL",
    "PSAL_quality_control",
    "PRES",
    "PRES_quality_control",
    "PRES_REL",
    "PRES_REL_quality_control",
];

#[tokio::test]
async fn anmn_ts_reproduces_the_prototype_tables_in_postgis() {
    let Some(db) = pg().await else { return };
    let mut client = postgis(&db).await;
    let c = example("anmn_ts.toml");
    let (a, b) = (nsw(), nrs());
    let la = pg_harvest(&mut client, &c, &a).await;
    assert_eq!(la.migrated, Some(1));
    let lb = pg_harvest(&mut client, &c, &b).await;
    assert_eq!(
        lb.migrated, None,
        "the second file finds the schema in place"
    );

    // The prototype's tables and columns, in its order.
    assert_eq!(
        columns(&client, "anmn_ts", "file_metadata").await,
        PROTOTYPE_FILE_METADATA
    );
    assert_eq!(
        columns(&client, "anmn_ts", "measurement").await,
        PROTOTYPE_MEASUREMENT
    );
    assert_eq!(
        columns(&client, "file_index", "indexed_file").await,
        [
            "id",
            "url",
            "created",
            "modified",
            "first_indexed",
            "last_indexed",
            "last_indexed_run",
            "size",
            "deleted"
        ]
    );
    assert_eq!(
        columns(&client, "file_index", "nc_global_attribute").await,
        ["file_id", "name", "type", "value"]
    );
    assert_eq!(
        columns(&client, "file_index", "nc_variable").await,
        ["file_id", "name", "type", "dimensions", "shape"]
    );
    assert_eq!(
        columns(&client, "file_index", "nc_variable_attribute").await,
        ["file_id", "var_name", "attr_name", "type", "value"]
    );

    // One measurement row per TIME sample of each file.
    for (f, loaded) in [(&a, &la), (&b, &lb)] {
        let samples = dim(&f.path, "TIME");
        assert_eq!(loaded.rows_of("measurement"), Some(samples as u64));
        let n = count(
            &client,
            &format!(
                "SELECT count(*) FROM anmn_ts.measurement WHERE file_id = {}",
                loaded.file_id
            ),
        )
        .await;
        assert_eq!(n, samples, "{}", f.dest_path);
        // Flags carried as the file has them.
        let rows = client
            .query(
                &format!(
                    "SELECT \"TEMP_quality_control\", count(*) FROM anmn_ts.measurement WHERE file_id = {} AND \"TEMP_quality_control\" IS NOT NULL GROUP BY 1",
                    loaded.file_id
                ),
                &[],
            )
            .await
            .unwrap();
        let in_db: BTreeMap<String, i64> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        assert_eq!(in_db, flag_counts(&f.path, "TEMP_quality_control"));
        if f.dest_path == a.dest_path {
            assert!(in_db.len() > 1, "more than one flag value: {in_db:?}");
        }
        let attrs = NcFile::open(&f.path)
            .unwrap()
            .summary()
            .unwrap()
            .global_attributes
            .len() as i64;
        let n = count(
            &client,
            &format!(
                "SELECT count(*) FROM file_index.nc_global_attribute WHERE file_id = {}",
                loaded.file_id
            ),
        )
        .await;
        assert_eq!(n, attrs);
    }
    // Values as the prototype stores them: UTC times, reals, text flags, parsed attributes.
    let row = client
        .query_one(
            "SELECT to_char(\"TIME\" AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS'), \"TEMP\"::float8, \"TEMP_quality_control\", \"CNDC\" IS NULL
             FROM anmn_ts.measurement m JOIN file_index.indexed_file f ON f.id = m.file_id
             WHERE f.url LIKE '%BMP070%' ORDER BY \"TIME\" LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    let first = NcFile::open(&a.path)
        .unwrap()
        .read_f64("TEMP", &[0], &[1])
        .unwrap()[0];
    assert_eq!(row.get::<_, String>(0), "2014-11-18T13:00:00");
    assert_eq!(row.get::<_, f64>(1), first as f32 as f64);
    assert!(row.get::<_, bool>(3), "a variable the file lacks is NULL");
    let meta = client
        .query_one(
            "SELECT site_code, deployment_code, to_char(time_deployment_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), instrument_nominal_depth::float8,
                    ST_AsText(geom), ST_SRID(geom), \"LATITUDE_quality_control\" IS NULL
             FROM anmn_ts.file_metadata WHERE file_id = $1",
            &[&la.file_id],
        )
        .await
        .unwrap();
    assert_eq!(meta.get::<_, String>(0), "BMP070");
    assert_eq!(meta.get::<_, String>(1), "BMP070-1411");
    assert_eq!(meta.get::<_, String>(2), "2014-11-18 21:55");
    assert_eq!(meta.get::<_, f64>(3), 16.0);
    assert_eq!(meta.get::<_, String>(4), "POINT(150.188517 -36.1897)");
    assert_eq!(meta.get::<_, i32>(5), 4326);
    assert!(meta.get::<_, bool>(6));

    // Every geometry valid, indexed with GiST; the views answer.
    for table in ["file_metadata", "feature_metadata"] {
        let invalid = count(
            &client,
            &format!(
                "SELECT count(*) FROM anmn_ts.{table} WHERE geom IS NULL OR NOT ST_IsValid(geom)"
            ),
        )
        .await;
        assert_eq!(invalid, 0, "{table}");
        let gist = count(&client, &format!("SELECT count(*) FROM pg_indexes WHERE schemaname = 'anmn_ts' AND tablename = '{table}' AND indexdef LIKE '%USING gist (geom)%'")).await;
        assert_eq!(gist, 1, "{table}");
    }
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM anmn_ts.anmn_ts_timeseries_map"
        )
        .await,
        2
    );
    let map = client
        .query_one(
            "SELECT size, sea_water_temperature_b, sea_water_salinity_b, ST_Equals(geom, (SELECT geom FROM anmn_ts.file_metadata WHERE file_id = timeseries_id))
             FROM anmn_ts.anmn_ts_timeseries_map WHERE file_url = $1",
            &[&a.dest_path],
        )
        .await
        .unwrap();
    assert_eq!(map.get::<_, f64>(0), a.size as f64);
    assert!(map.get::<_, bool>(1));
    assert!(!map.get::<_, bool>(2), "the file measures no salinity");
    assert!(map.get::<_, bool>(3));
    let data_rows = count(
        &client,
        "SELECT count(*) FROM anmn_ts.anmn_ts_timeseries_data",
    )
    .await;
    assert_eq!(data_rows, dim(&a.path, "TIME") + dim(&b.path, "TIME"));
}

#[tokio::test]
async fn a_rerun_loads_nothing_twice_and_unharvest_removes_a_files_rows_in_postgres() {
    let Some(db) = pg().await else { return };
    let mut client = postgis(&db).await;
    let c = example("anmn_ts.toml");
    let (a, b) = (nsw(), nrs());
    let first = pg_harvest(&mut client, &c, &a).await;
    pg_harvest(&mut client, &c, &b).await;
    let again = pg_harvest(&mut client, &c, &a).await;
    assert_eq!(again.file_id, first.file_id, "one file, one id");
    let total = dim(&a.path, "TIME") + dim(&b.path, "TIME");
    assert_eq!(
        count(&client, "SELECT count(*) FROM anmn_ts.measurement").await,
        total
    );
    assert_eq!(
        count(&client, "SELECT count(*) FROM anmn_ts.file_metadata").await,
        2
    );
    assert_eq!(
        count(&client, "SELECT count(*) FROM file_index.indexed_file").await,
        2
    );
    let attrs = count(
        &client,
        "SELECT count(*) FROM file_index.nc_variable_attribute",
    )
    .await;

    // A deletion: the file's rows go, the others stay; its record is marked deleted.
    let tx = client.transaction().await.unwrap();
    let gone = harvest::postgres::unharvest(&tx, &c, &a.dest_path)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(gone.file_id, Some(first.file_id));
    assert!(
        gone.rows
            .contains(&("measurement".to_string(), dim(&a.path, "TIME") as u64)),
        "{gone:?}"
    );
    assert_eq!(
        count(&client, "SELECT count(*) FROM anmn_ts.measurement").await,
        dim(&b.path, "TIME")
    );
    assert_eq!(
        count(&client, "SELECT count(*) FROM anmn_ts.file_metadata").await,
        1
    );
    assert!(
        count(
            &client,
            "SELECT count(*) FROM file_index.nc_variable_attribute"
        )
        .await
            < attrs
    );
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM file_index.indexed_file WHERE deleted"
        )
        .await,
        1
    );
    // Unharvesting what was never harvested does nothing.
    let tx = client.transaction().await.unwrap();
    let none = harvest::postgres::unharvest(&tx, &c, "IMOS/nothing.nc")
        .await
        .unwrap();
    assert_eq!(none.file_id, None);
    tx.commit().await.unwrap();

    // A supersede: the new version is harvested and the old one unharvested in one transaction.
    let newer = file(
        &data(TEMPERATURE),
        "IMOS/ANMN/NRS/NRSROT/Temperature/IMOS_ANMN-NRS_TZ_20180406T080000Z_NRSROT_FV01_NRSROT-1804-SBE39-27_END-20180413T064000Z_C-20210101T000000Z.nc",
    );
    let tx = client.transaction().await.unwrap();
    let loaded = harvest::postgres::harvest(&tx, &c, &newer, MigrateOptions::default())
        .await
        .unwrap();
    harvest::postgres::unharvest(&tx, &c, &b.dest_path)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let by_file = client
        .query(
            "SELECT file_id, count(*) FROM anmn_ts.measurement GROUP BY 1",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(by_file.len(), 1);
    assert_eq!(by_file[0].get::<_, i64>(0), loaded.file_id);
    assert_eq!(by_file[0].get::<_, i64>(1), dim(&b.path, "TIME"));
}

/// An ANMN-like file whose last TIME repeats an earlier one: the measurement table's key refuses
/// it only when COPY ends, after every row went in.
pub(crate) fn duplicate_time_file(dir: &Path) -> PathBuf {
    let cdl = dir.join("dup.cdl");
    let nc = dir.join("IMOS_ANMN-NRS_TZ_20180406T080000Z_NRSDUP_FV01_dup.nc");
    let times: Vec<String> = (0..20_000)
        .map(|i| format!("{}", 25000.0 + i as f64 / 1440.0))
        .collect();
    let mut times_text = times.join(", ");
    times_text.push_str(", 25000");
    let temps: Vec<String> = (0..20_001)
        .map(|i| format!("{}", 10.0 + (i % 100) as f64 / 10.0))
        .collect();
    std::fs::write(
        &cdl,
        format!(
            "netcdf dup {{
dimensions:
    TIME = 20001 ;
variables:
    double TIME(TIME) ;
        TIME:units = \"days since 1950-01-01 00:00:00 UTC\" ;
    double LATITUDE ;
    double LONGITUDE ;
    float TEMP(TIME) ;
        TEMP:_FillValue = 999999.f ;
// global attributes:
    :site_code = \"NRSDUP\" ;
    :platform_code = \"NRSDUP\" ;
    :deployment_code = \"NRSDUP-1\" ;
data:
    LATITUDE = -32 ;
    LONGITUDE = 115 ;
    TIME = {times_text} ;
    TEMP = {} ;
}}",
            temps.join(", ")
        ),
    )
    .unwrap();
    let out = std::process::Command::new("ncgen")
        .arg("-o")
        .arg(&nc)
        .arg(&cdl)
        .output()
        .expect("ncgen (netcdf-bin)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    nc
}

#[tokio::test]
async fn a_failure_mid_load_leaves_no_rows_in_postgres() {
    let Some(db) = pg().await else { return };
    let mut client = postgis(&db).await;
    let c = example("anmn_ts.toml");
    let dir = tempfile::tempdir().unwrap();
    let bad = file(
        &duplicate_time_file(dir.path()),
        "IMOS/ANMN/NRS/NRSDUP/Temperature/dup.nc",
    );
    // A good file and the bad one in one transaction: the bad one fails at the end of its COPY.
    let tx = client.transaction().await.unwrap();
    harvest::postgres::harvest(&tx, &c, &nsw(), MigrateOptions::default())
        .await
        .unwrap();
    let e = harvest::postgres::harvest(&tx, &c, &bad, MigrateOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, HarvestError::Input { .. }), "{e}");
    assert!(e.to_string().contains("23505"), "{e}");
    drop(tx); // rolled back
    let schemas = count(
        &client,
        "SELECT count(*) FROM pg_namespace WHERE nspname IN ('anmn_ts', 'file_index')",
    )
    .await;
    assert_eq!(
        schemas, 0,
        "even the migration is undone: it ran in the same transaction"
    );

    // Once the schema exists, a failure leaves the earlier rows exactly as they were.
    pg_harvest(&mut client, &c, &nrs()).await;
    let before = count(&client, "SELECT count(*) FROM anmn_ts.measurement").await;
    let tx = client.transaction().await.unwrap();
    harvest::postgres::harvest(&tx, &c, &nsw(), MigrateOptions::default())
        .await
        .unwrap();
    harvest::postgres::unharvest(&tx, &c, &nrs().dest_path)
        .await
        .unwrap();
    assert!(
        harvest::postgres::harvest(&tx, &c, &bad, MigrateOptions::default())
            .await
            .is_err()
    );
    drop(tx);
    assert_eq!(
        count(&client, "SELECT count(*) FROM anmn_ts.measurement").await,
        before
    );
    assert_eq!(
        count(&client, "SELECT count(*) FROM file_index.indexed_file").await,
        1
    );
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM file_index.indexed_file WHERE deleted"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn migrations_evolve_once_and_refuse_destructive_changes() {
    let Some(db) = pg().await else { return };
    let mut client = postgis(&db).await;
    let base = r#"
        schema = "evolve"
        [[tables]]
        name = "measurement"
        rows = "samples"
        dimensions = ["TIME"]
        columns = [{ name = "TIME", type = "timestamptz" }, { name = "TEMP", type = "real" }]
    "#;
    let collection =
        |text: &str| harvest::validate(&toml::from_str::<HarvestDecl>(text).unwrap()).unwrap();
    let v1 = collection(base);
    // Jobs starting together: one migrates, the others find it done.
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let url = db.url.clone();
        let c = v1.clone();
        tasks.push(tokio::spawn(async move {
            let (mut client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            harvest::postgres::migrate(&mut client, &c, MigrateOptions::default())
                .await
                .unwrap()
        }));
    }
    let mut applied = Vec::new();
    for t in tasks {
        applied.push(t.await.unwrap());
    }
    applied.sort();
    assert_eq!(applied, [None, None, None, Some(1)]);
    pg_harvest(&mut client, &v1, &nrs()).await;

    // A new column is added; the rows already there keep theirs.
    let v2 = collection(&base.replace(
        "{ name = \"TEMP\", type = \"real\" }]",
        "{ name = \"TEMP\", type = \"real\" }, { name = \"DEPTH\", type = \"real\" }]",
    ));
    let tx = client.transaction().await.unwrap();
    let loaded = harvest::postgres::harvest(&tx, &v2, &nsw(), MigrateOptions::default())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(loaded.migrated, Some(2));
    assert_eq!(
        columns(&client, "evolve", "measurement").await,
        ["file_id", "TIME", "TEMP", "DEPTH"]
    );
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM evolve.measurement WHERE \"DEPTH\" IS NOT NULL"
        )
        .await,
        dim(&nsw().path, "TIME")
    );

    // Retyping is destructive: refused without the flag, applied with it.
    let v3 = collection(&base.replace(
        "{ name = \"TEMP\", type = \"real\" }]",
        "{ name = \"TEMP\", type = \"double\" }]",
    ));
    let e = harvest::postgres::migrate(&mut client, &v3, MigrateOptions::default())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("column measurement.TEMP is REAL in the database and DOUBLE PRECISION in the declaration"), "{e}");
    assert!(matches!(e, HarvestError::Schema { .. }));
    let v = harvest::postgres::migrate(
        &mut client,
        &v3,
        MigrateOptions {
            allow_destructive: true,
        },
    )
    .await
    .unwrap();
    assert_eq!(v, Some(3));
    assert_eq!(
        columns(&client, "evolve", "measurement").await,
        ["file_id", "TIME", "TEMP"],
        "DEPTH dropped with the flag"
    );
    let ty: String = client
        .query_one("SELECT data_type::text FROM information_schema.columns WHERE table_schema = 'evolve' AND column_name = 'TEMP'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(ty, "double precision");
    assert_eq!(
        count(&client, "SELECT count(*) FROM evolve.harvest_migration").await,
        3
    );
}

#[tokio::test]
async fn example_collections_load_into_postgis() {
    let Some(db) = pg().await else { return };
    let mut client = postgis(&db).await;

    // Argo: one row per (profile, level), flags from the <var>_QC characters.
    let argo = example("argo_profiles.toml");
    let f = file(
        &harvest_data(ARGO),
        &format!("Argo/dac/csiro/1901119/profiles/{ARGO}"),
    );
    let loaded = pg_harvest(&mut client, &argo, &f).await;
    let levels = dim(&f.path, "N_PROF") * dim(&f.path, "N_LEVELS");
    assert_eq!(
        count(&client, "SELECT count(*) FROM argo.measurement").await,
        levels
    );
    assert_eq!(loaded.rows_of("measurement"), Some(levels as u64));
    let qc = count(
        &client,
        "SELECT count(*) FROM argo.measurement WHERE \"TEMP_quality_control\" = '1'",
    )
    .await;
    assert!(qc > 0, "Argo flags carried");
    let juld = count(
        &client,
        "SELECT count(DISTINCT \"JULD\") FROM argo.measurement",
    )
    .await;
    assert_eq!(
        juld,
        dim(&f.path, "N_PROF"),
        "each profile's time on every level"
    );
    let meta = client
        .query_one("SELECT platform_number, data_mode, cycle_number, ST_IsValid(geom), GeometryType(geom) FROM argo.profile_metadata", &[])
        .await
        .unwrap();
    assert_eq!(meta.get::<_, String>(0), "1901119");
    assert_eq!(meta.get::<_, String>(1), "D");
    assert_eq!(meta.get::<_, i32>(2), 1);
    assert!(meta.get::<_, bool>(3));
    assert_eq!(meta.get::<_, String>(4), "POINT");
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM argo.measurement WHERE NOT ST_IsValid(geom)"
        )
        .await,
        0
    );

    // A trajectory: track line and bounding box per file, a valid point per sample.
    let trv = example("soop_trv.toml");
    let f = file(
        &harvest_data(TRV),
        &format!("IMOS/SOOP/SOOP-TRV/VMQ9273_Solander/{TRV}"),
    );
    pg_harvest(&mut client, &trv, &f).await;
    assert_eq!(
        count(&client, "SELECT count(*) FROM soop_trv.measurement").await,
        dim(&f.path, "TIME")
    );
    let t = client
        .query_one(
            "SELECT GeometryType(geom), ST_NPoints(geom), ST_IsValid(geom), GeometryType(bbox), ST_IsValid(bbox), ST_Contains(ST_Envelope(bbox), ST_Envelope(geom)) FROM soop_trv.trajectory",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(t.get::<_, String>(0), "LINESTRING");
    assert!(t.get::<_, i32>(1) > 2);
    assert!(t.get::<_, bool>(2));
    assert_eq!(t.get::<_, String>(3), "POLYGON");
    assert!(t.get::<_, bool>(4) && t.get::<_, bool>(5));
    let points = count(&client, "SELECT count(*) FROM soop_trv.measurement WHERE position IS NOT NULL AND ST_IsValid(position)").await;
    assert!(points > 0);
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM soop_trv.measurement WHERE NOT ST_IsValid(position)"
        )
        .await,
        0
    );
    assert_eq!(
        count(&client, "SELECT count(*) FROM soop_trv.soop_trv_map").await,
        1
    );

    // A CSV: upsert on (trip, depth) — a corrected export updates one row and adds one.
    let bgc = example("bgc_hydrochemistry.toml");
    let f = file(&harvest_data(BGC), "IMOS/BGC_DB/hydrochemistry.csv");
    pg_harvest(&mut client, &bgc, &f).await;
    assert_eq!(
        count(&client, "SELECT count(*) FROM bgc.hydrochemistry").await,
        10
    );
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM bgc.hydrochemistry WHERE nitrate_umol_l IS NULL"
        )
        .await,
        1
    );
    let dir = tempfile::tempdir().unwrap();
    let corrected = dir.path().join("hydrochemistry_v2.csv");
    let text = std::fs::read_to_string(&f.path).unwrap();
    let text = text.replace(
        "NRSROT20150112,NRSROT,-32.0,115.4167,2015-01-12T02:05:00Z,20,1.0,,0.06,35.61,9",
        "NRSROT20150112,NRSROT,-32.0,115.4167,2015-01-12T02:05:00Z,20,1.0,0.04,0.06,35.61,1",
    ) + "NRSROT20150112,NRSROT,-32.0,115.4167,2015-01-12T02:05:00Z,60,1.3,0.2,0.09,35.63,1\n";
    std::fs::write(&corrected, text).unwrap();
    pg_harvest(
        &mut client,
        &bgc,
        &file(&corrected, "IMOS/BGC_DB/hydrochemistry_v2.csv"),
    )
    .await;
    assert_eq!(
        count(&client, "SELECT count(*) FROM bgc.hydrochemistry").await,
        11
    );
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM bgc.hydrochemistry WHERE nitrate_umol_l IS NULL"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM bgc.hydrochemistry WHERE NOT ST_IsValid(geom)"
        )
        .await,
        0
    );
    let kinds: String = client
        .query_one("SELECT data_type::text FROM information_schema.columns WHERE table_schema = 'bgc' AND table_name = 'hydrochemistry' AND column_name = 'nitrate_umol_l'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        kinds, "double precision",
        "an undeclared CSV column's type inferred from its values"
    );
}

fn sqlite_count(conn: &rusqlite::Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn sqlite_harvest(
    conn: &mut rusqlite::Connection,
    c: &Collection,
    f: &HarvestFile,
) -> harvest::Loaded {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .unwrap();
    let loaded = harvest::sqlite::harvest(&tx, c, f, MigrateOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    tx.commit().unwrap();
    loaded
}

#[test]
fn anmn_ts_loads_into_sqlite_with_the_same_tables() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = rusqlite::Connection::open(dir.path().join("index.sqlite")).unwrap();
    let c = example("anmn_ts.toml");
    let (a, b) = (nsw(), nrs());
    let la = sqlite_harvest(&mut conn, &c, &a);
    sqlite_harvest(&mut conn, &c, &b);
    sqlite_harvest(&mut conn, &c, &a); // a rerun replaces, never adds
    let names: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('anmn_ts__measurement')")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(names, PROTOTYPE_MEASUREMENT);
    let names: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('anmn_ts__file_metadata')")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(names, PROTOTYPE_FILE_METADATA);
    let total = dim(&a.path, "TIME") + dim(&b.path, "TIME");
    assert_eq!(
        sqlite_count(&conn, "SELECT count(*) FROM anmn_ts__measurement"),
        total
    );
    let flags: BTreeMap<String, i64> = conn
        .prepare(&format!("SELECT TEMP_quality_control, count(*) FROM anmn_ts__measurement WHERE file_id = {} AND TEMP_quality_control IS NOT NULL GROUP BY 1", la.file_id))
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(flags, flag_counts(&a.path, "TEMP_quality_control"));
    let (geom, time): (String, String) = conn
        .query_row(&format!("SELECT m.geom, min(x.TIME) FROM anmn_ts__file_metadata m JOIN anmn_ts__measurement x USING (file_id) WHERE file_id = {}", la.file_id), [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!(geom, "POINT(150.188517 -36.1897)");
    // Microseconds as the file's double days encode them (the prototype's num2date keeps them too).
    assert!(
        time.starts_with("2014-11-18T13:00:00.0000") && time.ends_with('Z'),
        "{time}"
    );
    assert_eq!(
        sqlite_count(
            &conn,
            "SELECT count(*) FROM anmn_ts__anmn_ts_timeseries_map"
        ),
        2
    );

    // Unharvest, then a failed load rolled back: nothing changes.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .unwrap();
    let gone = harvest::sqlite::unharvest(&tx, &c, &a.dest_path).unwrap();
    tx.commit().unwrap();
    assert_eq!(gone.file_id, Some(la.file_id));
    assert_eq!(
        sqlite_count(&conn, "SELECT count(*) FROM anmn_ts__measurement"),
        dim(&b.path, "TIME")
    );
    assert_eq!(
        sqlite_count(
            &conn,
            "SELECT count(*) FROM file_index__indexed_file WHERE deleted = 1"
        ),
        1
    );
    let bad = file(
        &duplicate_time_file(dir.path()),
        "IMOS/ANMN/NRS/NRSDUP/Temperature/dup.nc",
    );
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .unwrap();
    harvest::sqlite::harvest(&tx, &c, &a, MigrateOptions::default()).unwrap();
    let e = harvest::sqlite::harvest(&tx, &c, &bad, MigrateOptions::default()).unwrap_err();
    assert!(matches!(e, HarvestError::Input { .. }), "{e}");
    drop(tx);
    assert_eq!(
        sqlite_count(&conn, "SELECT count(*) FROM anmn_ts__measurement"),
        dim(&b.path, "TIME")
    );
    assert_eq!(
        sqlite_count(&conn, "SELECT count(*) FROM file_index__indexed_file"),
        2
    );
}

#[test]
fn example_collections_load_into_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = rusqlite::Connection::open(dir.path().join("index.sqlite")).unwrap();
    let f = file(
        &harvest_data(ARGO),
        &format!("Argo/dac/csiro/1901119/profiles/{ARGO}"),
    );
    sqlite_harvest(&mut conn, &example("argo_profiles.toml"), &f);
    assert_eq!(
        sqlite_count(&conn, "SELECT count(*) FROM argo__measurement"),
        dim(&f.path, "N_PROF") * dim(&f.path, "N_LEVELS")
    );
    let f = file(&harvest_data(TRV), &format!("IMOS/SOOP/SOOP-TRV/{TRV}"));
    sqlite_harvest(&mut conn, &example("soop_trv.toml"), &f);
    assert_eq!(
        sqlite_count(&conn, "SELECT count(*) FROM soop_trv__measurement"),
        dim(&f.path, "TIME")
    );
    let track: String = conn
        .query_row("SELECT geom FROM soop_trv__trajectory", [], |r| r.get(0))
        .unwrap();
    assert!(track.starts_with("LINESTRING("), "{track}");
    let bgc = example("bgc_hydrochemistry.toml");
    let f = file(&harvest_data(BGC), "IMOS/BGC_DB/hydrochemistry.csv");
    sqlite_harvest(&mut conn, &bgc, &f);
    sqlite_harvest(&mut conn, &bgc, &f);
    assert_eq!(
        sqlite_count(&conn, "SELECT count(*) FROM bgc__hydrochemistry"),
        10,
        "an upsert rerun adds nothing"
    );
}

#[test]
fn csv_modes_append_truncate_and_replace_keep_reruns_single() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = rusqlite::Connection::open(dir.path().join("index.sqlite")).unwrap();
    let decl = |mode: &str| {
        harvest::validate(
            &toml::from_str::<HarvestDecl>(&format!(
                r#"
                schema = "modes"
                [[tables]]
                name = "t_{mode}"
                rows = "csv"
                mode = "{mode}"
                columns = ["TRIP_CODE", "DEPTH_M"]
                "#
            ))
            .unwrap(),
        )
        .unwrap()
    };
    let day1 = dir.path().join("day1.csv");
    let day2 = dir.path().join("day2.csv");
    std::fs::write(&day1, "TRIP_CODE,DEPTH_M\nA,0\nA,10\n").unwrap();
    std::fs::write(&day2, "TRIP_CODE,DEPTH_M\nB,0\n").unwrap();
    let dest = "IMOS/BGC/log.csv";
    // append: each version of one destination adds its rows; the same content again adds none.
    let c = decl("append");
    sqlite_harvest(&mut conn, &c, &file(&day1, dest));
    sqlite_harvest(&mut conn, &c, &file(&day1, dest));
    sqlite_harvest(&mut conn, &c, &file(&day2, dest));
    assert_eq!(
        sqlite_count(&conn, "SELECT count(*) FROM modes__t_append"),
        3
    );
    // replace_file: a version replaces the destination's rows.
    let c = decl("replace_file");
    sqlite_harvest(&mut conn, &c, &file(&day1, dest));
    sqlite_harvest(&mut conn, &c, &file(&day2, dest));
    sqlite_harvest(&mut conn, &c, &file(&day1, "IMOS/BGC/other.csv"));
    assert_eq!(
        sqlite_count(&conn, "SELECT count(*) FROM modes__t_replace_file"),
        3
    );
    // truncate: the table holds the last file's rows.
    let c = decl("truncate");
    sqlite_harvest(&mut conn, &c, &file(&day1, dest));
    sqlite_harvest(&mut conn, &c, &file(&day2, "IMOS/BGC/other.csv"));
    assert_eq!(
        sqlite_count(&conn, "SELECT count(*) FROM modes__t_truncate"),
        1
    );
    let ty: String = conn
        .query_row(
            "SELECT type FROM pragma_table_info('modes__t_truncate') WHERE name = 'DEPTH_M'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(ty, "INTEGER", "inferred from the values");
}

/// The test venv's Python with pyarrow, or `None` (skipped unless servers are required).
pub(crate) fn pyarrow() -> Option<PathBuf> {
    let venv = std::env::var("OCEAN_INGEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv"));
    let python = venv.join("bin/python");
    let ok = std::process::Command::new(&python)
        .args(["-c", "import pyarrow.parquet"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(python);
    }
    if std::env::var("INGEST_TEST_REQUIRE_SERVERS").as_deref() == Ok("1") {
        panic!(
            "pyarrow is not importable from {} (scripts/test.sh installs scripts/requirements-test.txt)",
            python.display()
        );
    }
    eprintln!(
        "SKIPPED: no pyarrow in {}; run scripts/test.sh",
        venv.display()
    );
    None
}

const READ_DATASET: &str = r#"
import json, struct, sys
import pyarrow.dataset as ds, pyarrow.parquet as pq
root = sys.argv[1]
dataset = ds.dataset(root, format="parquet", partitioning="hive")
table = dataset.to_table()
files = sorted(f[len(root):] for f in dataset.files)
geo = json.loads(pq.read_schema(dataset.files[0]).metadata[b"geo"])
rows = []
for r in table.to_pylist():
    # Reals as their 32 bits, compared exactly.
    bits = lambda x: None if x is None else struct.unpack("<I", struct.pack("<f", x))[0]
    rows.append([r["TIME"].strftime("%Y-%m-%dT%H:%M:%S.%fZ"), bits(r["TEMP"]), r["TEMP_quality_control"],
                 bits(r["DEPTH"]), r["site_code"], str(r["year"]), r["geom"].hex()])
rows.sort()
print(json.dumps({"files": files, "geo": geo, "rows": rows,
                  "types": {f.name: str(f.type) for f in table.schema}}))
"#;

#[tokio::test]
async fn the_parquet_dataset_holds_the_rows_of_the_postgres_table() {
    let Some(db) = pg().await else { return };
    let Some(python) = pyarrow() else { return };
    let mut client = postgis(&db).await;
    let c = example("anmn_ts.toml");
    let dir = tempfile::tempdir().unwrap();
    let store = ocean_ingest::store::local::LocalStore::open(&dir.path().join("public")).unwrap();
    let work = tempfile::tempdir().unwrap();
    let (a, b) = (nsw(), nrs());
    let mut n = 0;
    let mut stash_as = move || {
        n += 1;
        ocean_ingest::layout::stash_name("parquet-test", n)
    };
    for f in [&a, &b] {
        pg_harvest(&mut client, &c, f).await;
        let written = harvest::parquet::write(&store, &c, f, work.path(), &mut stash_as)
            .await
            .unwrap();
        assert_eq!(written.len(), 1, "one object per file");
    }
    // A rerun replaces the object, never adds one.
    harvest::parquet::write(&store, &c, &b, work.path(), &mut stash_as)
        .await
        .unwrap();
    let root = dir.path().join("public/anmn_ts/measurement");
    let read = dataset_matches_measurement(&python, &root, &client).await;
    let files: Vec<String> = serde_json::from_value(read["files"].clone()).unwrap();
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(
        files[0].starts_with("site_code=BMP070/year=2014/IMOS_ANMN-NSW_TZ_"),
        "{files:?}"
    );
    assert!(
        files[1].starts_with("site_code=NRSROT/year=2018/IMOS_ANMN-NRS_TZ_"),
        "{files:?}"
    );
    assert_eq!(read["geo"]["primary_column"], "geom");
    assert_eq!(read["geo"]["columns"]["geom"]["encoding"], "WKB");
    assert_eq!(read["types"]["TIME"], "timestamp[us, tz=UTC]");
    assert_eq!(read["types"]["TEMP"], "float");

    // A deletion removes the file's object.
    let removed = harvest::parquet::remove(&store, &c, &a.dest_path, &mut stash_as)
        .await
        .unwrap();
    assert_eq!(removed.len(), 1);
    let left: Vec<_> = walk(&root);
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].contains("NRSROT"));
}

/// Reads the `anmn_ts` Parquet dataset under `root` with pyarrow and checks it holds the rows
/// of PostgreSQL's `anmn_ts.measurement` (with their file's site, year and point), value for
/// value; returns what pyarrow read (`files`, `geo`, `rows`, `types`).
pub(crate) async fn dataset_matches_measurement(
    python: &Path,
    root: &Path,
    client: &tokio_postgres::Client,
) -> serde_json::Value {
    let out = std::process::Command::new(python)
        .args(["-c", READ_DATASET, &format!("{}/", root.display())])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // The same rows as PostgreSQL's measurement table, value for value.
    let rows = client
        .query(
            "SELECT to_char(m.\"TIME\" AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), m.\"TEMP\", m.\"TEMP_quality_control\",
                    m.\"DEPTH\", f.site_code, to_char(f.time_coverage_start AT TIME ZONE 'UTC', 'YYYY'), encode(ST_AsBinary(f.geom, 'NDR'), 'hex')
             FROM anmn_ts.measurement m JOIN anmn_ts.file_metadata f USING (file_id)",
            &[],
        )
        .await
        .unwrap();
    let mut expected: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            serde_json::json!([
                r.get::<_, String>(0),
                r.get::<_, Option<f32>>(1).map(f32::to_bits),
                r.get::<_, Option<String>>(2),
                r.get::<_, Option<f32>>(3).map(f32::to_bits),
                r.get::<_, String>(4),
                r.get::<_, String>(5),
                r.get::<_, String>(6),
            ])
        })
        .collect();
    expected.sort_by_key(|v| v.to_string());
    let mut got: Vec<serde_json::Value> = serde_json::from_value(read["rows"].clone()).unwrap();
    got.sort_by_key(|v| v.to_string());
    assert_eq!(got.len(), expected.len());
    if let Some(i) = (0..got.len()).find(|&i| got[i] != expected[i]) {
        panic!(
            "row {i} differs: parquet {} postgres {}",
            got[i], expected[i]
        );
    }

    read
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p.display().to_string());
            }
        }
    }
    out
}
