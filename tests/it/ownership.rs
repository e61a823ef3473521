//! Ownership of the public store and the archive, end to end through the binary on both index
//! backends: every path belongs to the pipeline that first published (or deleted) it, harvested
//! or not, and no other pipeline may overwrite, supersede or delete it — whether a template
//! renders into another stream's folder, the IMOS supersede rule finds another stream's version,
//! a delete or rsync manifest names another stream's file, or the pipeline file changed since.
//! Each is rejected before anything is written, naming both pipelines. Also: a destination that
//! would turn a published file into a folder (or back) is a rejection, not an internal error.

use ocean_ingest::index::{Index, IndexUrl};
use ocean_ingest::layout::Area;
use serde_json::Value;

use crate::common::*;
use crate::servers::{PgDb, pg};

/// One index backend a scenario runs on.
struct Backend {
    name: &'static str,
    /// Keeps the throwaway database alive for the scenario.
    _db: Option<PgDb>,
    url: Option<String>,
}

/// SQLite always; PostgreSQL when the test servers run (required in CI).
async fn backends() -> Vec<Backend> {
    let mut out = vec![Backend {
        name: "sqlite",
        _db: None,
        url: None,
    }];
    if let Some(db) = pg().await {
        let url = db.url.clone();
        out.push(Backend {
            name: "postgres",
            _db: Some(db),
            url: Some(url),
        });
    }
    out
}

impl Backend {
    fn env(&self, pipelines: &str) -> Env {
        let mut env = Env::new();
        env.pipelines(pipelines);
        if let Some(url) = &self.url {
            env.set("INGEST_INDEX_URL", url);
        }
        env
    }

    async fn index(&self, env: &Env) -> Box<dyn Index> {
        let url = match &self.url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", env.home().join("index.sqlite").display()),
        };
        ocean_ingest::index::open(&IndexUrl::parse(&url).unwrap(), &crate::servers::timeouts())
            .await
            .unwrap()
    }

    /// The pipeline that owns `path` in `area`, if any.
    async fn owner(&self, env: &Env, area: Area, path: &str) -> Option<String> {
        let index = self.index(env).await;
        let found = index.path_owners(area, &[path.to_string()]).await.unwrap();
        found.into_iter().next().map(|o| o.ownership.pipeline)
    }
}

/// Runs an upload that must be rejected with every reason, kept in the error store, leaving the
/// public store and the archive's published files exactly as they were and nothing in the stores'
/// bookkeeping.
fn refused(env: &Env, backend: &Backend, key: &str, content: &[u8], reasons: &[&str]) -> Value {
    let (public, archive) = (env.store("public"), published_archive(env));
    let run = upload(env, key, content);
    let context = format!("{}: {key}", backend.name);
    let report = rejection(env, &run, &context, key, content, reasons);
    assert_eq!(
        env.store("public"),
        public,
        "{}: {key}: public store",
        backend.name
    );
    assert_eq!(
        published_archive(env),
        archive,
        "{}: {key}: archive",
        backend.name
    );
    // Refused after its check passed: the copies written beside the check, which the publish
    // would have waited for, are gone with the job.
    assert_eq!(
        env.store_temporaries(),
        Vec::<String>::new(),
        "{}: {key}: copies written ahead",
        backend.name
    );
    report
}

/// The archive without the uploads themselves (which every job adds).
fn published_archive(env: &Env) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut all = env.store("archive");
    all.retain(|k, _| !k.starts_with("_uploads/"));
    all
}

fn ok(env: &Env, backend: &Backend, key: &str, content: &[u8]) -> Value {
    let run = upload(env, key, content);
    assert_eq!(
        run.code, 0,
        "{}: {key}: {}\n{}",
        backend.name, run.stdout, run.stderr
    );
    run.report()
}

const STREAMS: &str = r#"
[[pipeline]]
name = "nrs_profiles"
keys = '^NRS/'
writes = ["IMOS/ANMN/NRS/*/Biogeochem_profiles/"]

[[pipeline.files]]
include = '.*'
check = "no_action"
publish = "upload_only"
dest = "IMOS/ANMN/NRS/{{ imos.platform }}/Biogeochem_profiles/{{ name }}"

[[pipeline]]
name = "nrs_timeseries"
keys = '^TS/'
writes = ["IMOS/ANMN/NRS/*/Temperature/"]

[[pipeline.files]]
include = '.*'
check = "no_action"
dest = "IMOS/ANMN/NRS/{{ imos.platform }}/{{ imos.product }}/{{ name }}"
"#;

/// A name whose product field says "Biogeochem_profiles": the time series' template puts it in
/// the profiles' folder.
const INTO_PROFILES: &str = "IMOS_ANMN-NRS_TZ_20180406T080000Z_NRSMAI_FV01_Biogeochem_profiles.nc";

#[tokio::test]
async fn a_template_rendering_into_another_streams_folder_cannot_overwrite_its_file() {
    for b in backends().await {
        let env = b.env(STREAMS);
        let dest = format!("IMOS/ANMN/NRS/NRSMAI/Biogeochem_profiles/{INTO_PROFILES}");
        ok(&env, &b, &format!("NRS/{INTO_PROFILES}"), b"the profile");
        assert_eq!(
            b.owner(&env, Area::Public, &dest).await.as_deref(),
            Some("nrs_profiles"),
            "{}: an upload-only file has its owner recorded",
            b.name
        );
        refused(
            &env,
            &b,
            &format!("TS/{INTO_PROFILES}"),
            b"the intruder",
            &[&format!(
                "{dest} was published by pipeline nrs_profiles; pipeline nrs_timeseries may not overwrite it"
            )],
        );
        assert_eq!(env.store("public")[&dest], b"the profile");
        let index = b.index(&env).await;
        assert!(
            index.get(&dest).await.unwrap().is_none(),
            "no row taken over"
        );
        // A path nobody owns yet but outside the pipeline's writes is refused as well.
        let fresh = INTO_PROFILES.replace("NRSMAI", "NRSKAI");
        refused(
            &env,
            &b,
            &format!("TS/{fresh}"),
            b"the intruder",
            &[
                "is outside where pipeline nrs_timeseries may write in the public store (IMOS/ANMN/NRS/*/Temperature/)",
            ],
        );
        // Its own folder is its own.
        let own = INTO_PROFILES.replace("Biogeochem_profiles", "Temperature");
        ok(&env, &b, &format!("TS/{own}"), b"temperature");
        assert_eq!(
            b.owner(
                &env,
                Area::Public,
                &format!("IMOS/ANMN/NRS/NRSMAI/Temperature/{own}")
            )
            .await
            .as_deref(),
            Some("nrs_timeseries")
        );
    }
}

const OLD_STREAM: &str = r#"
[[pipeline]]
name = "old_stream"
keys = '^OLD/'
allow_delete_manifests = true

[[pipeline.files]]
include = 'arch_'
check = "no_action"
publish = "archive_only"
archive = "SHARED/archive/{{ name }}"

[[pipeline.files]]
include = '.*'
check = "no_action"
publish = "upload_only"
dest = "SHARED/{{ name }}"
supersede = "same_product_older_creation"
"#;

/// The same rules, now a new stream's: the old one is retired and its prefix handed over.
fn new_stream() -> String {
    OLD_STREAM
        .replace("old_stream", "new_stream")
        .replace("^OLD/", "^NEW/")
}

#[tokio::test]
async fn ownership_outlives_a_change_of_the_pipeline_file() {
    for b in backends().await {
        let mut env = b.env(OLD_STREAM);
        ok(&env, &b, "OLD/x.nc", b"old upload-only");
        ok(&env, &b, "OLD/arch_y.nc", b"old archive-only");
        assert_eq!(
            b.owner(&env, Area::Archive, "SHARED/archive/arch_y.nc")
                .await
                .as_deref(),
            Some("old_stream"),
            "{}: an archive-only file has its owner recorded",
            b.name
        );
        env.pipelines(&new_stream());
        refused(
            &env,
            &b,
            "NEW/x.nc",
            b"new",
            &[
                "SHARED/x.nc was published by pipeline old_stream; pipeline new_stream may not overwrite it",
            ],
        );
        refused(
            &env,
            &b,
            "NEW/arch_y.nc",
            b"new",
            &[
                "SHARED/archive/arch_y.nc in the archive was published by pipeline old_stream; pipeline new_stream may not overwrite it",
            ],
        );
        assert_eq!(env.store("public")["SHARED/x.nc"], b"old upload-only");
        // What the old stream never published is the new stream's to take.
        ok(&env, &b, "NEW/z.nc", b"new");
        assert_eq!(
            b.owner(&env, Area::Public, "SHARED/z.nc").await.as_deref(),
            Some("new_stream")
        );
    }
}

#[tokio::test]
async fn the_imos_supersede_rule_cannot_delete_another_streams_older_version() {
    let older = PROFILE.to_string();
    let newer = PROFILE.replace("_C-20160524T003914Z", "_C-20200101T000000Z");
    for b in backends().await {
        let mut env = b.env(OLD_STREAM);
        ok(&env, &b, &format!("OLD/{older}"), b"version 2016");
        env.pipelines(&new_stream());
        refused(
            &env,
            &b,
            &format!("NEW/{newer}"),
            b"version 2020",
            &[&format!(
                "SHARED/{older} was published by pipeline old_stream; pipeline new_stream may not supersede it"
            )],
        );
        assert_eq!(
            env.store("public").into_keys().collect::<Vec<_>>(),
            [format!("SHARED/{older}")]
        );
    }
}

const PROVIDERS: &str = r#"
[[pipeline]]
name = "prov_a"
keys = '^PROV_A/'
allow_delete_manifests = true

[[pipeline.files]]
include = '.*'
check = "no_action"
dest = "A/{{ name }}"

[[pipeline]]
name = "prov_b"
keys = '^PROV_B/'

[[pipeline.files]]
include = '.*'
check = "no_action"
publish = "upload_only"
dest = "B/{{ name }}"
"#;

#[tokio::test]
async fn a_delete_manifest_cannot_remove_another_streams_upload_only_file() {
    for b in backends().await {
        let mut env = b.env(PROVIDERS);
        ok(&env, &b, "PROV_B/theirs.nc", b"b's file");
        refused(
            &env,
            &b,
            "PROV_A/x.delete_manifest",
            b"B/theirs.nc\n",
            &["B/theirs.nc was published by pipeline prov_b; pipeline prov_a may not delete it"],
        );
        // A file nobody owns (published before owners were recorded) outside its writes.
        put(&env, "../public/C/legacy.nc", b"legacy");
        refused(
            &env,
            &b,
            "PROV_A/y.delete_manifest",
            b"C/legacy.nc\n",
            &[
                "legacy.nc: C/legacy.nc is outside where pipeline prov_a may write in the public store (A/)",
            ],
        );
        // An rsync deletion placed by the rule's template: prov_b is retired, and prov_a's
        // template now places the name where prov_b published it.
        env.pipelines(
            PROVIDERS
                .replace("dest = \"A/{{ name }}\"", "dest = \"B/{{ name }}\"")
                .split("[[pipeline]]\nname = \"prov_b\"")
                .next()
                .unwrap(),
        );
        refused(
            &env,
            &b,
            "PROV_A/z.rsync_manifest",
            b"*deleting   theirs.nc\n",
            &["B/theirs.nc was published by pipeline prov_b; pipeline prov_a may not delete it"],
        );
        assert_eq!(env.store("public")["B/theirs.nc"], b"b's file");
    }
}

const NEST: &str = r#"
[[pipeline]]
name = "nest"
keys = '^NEST/'

[[pipeline.files]]
include = 'odd_'
check = "no_action"
publish = "archive_only"
archive = "_uploads/other/{{ name }}"

[[pipeline.files]]
include = '.*'
check = "no_action"
publish = "upload_only"
dest = "N/{{ name }}"
allowed_dest = ['N/']
"#;

#[tokio::test]
async fn a_destination_that_turns_a_published_file_into_a_folder_is_a_rejection_not_an_internal_error()
 {
    for b in backends().await {
        let env = b.env(NEST);
        ok(&env, &b, "NEST/x", b"a file");
        put(&env, "NEST/src/b.nc", b"b");
        refused(
            &env,
            &b,
            "NEST/src/into_folder.map_manifest",
            b"b.nc,N/x/b.nc\n",
            &["b.nc: N/x/b.nc would turn N/x, a file published in the public store, into a folder"],
        );
        ok(&env, &b, "NEST/src/deep.map_manifest", b"b.nc,N/y/b.nc\n");
        put(&env, "NEST/src/c.nc", b"c");
        refused(
            &env,
            &b,
            "NEST/src/into_file.map_manifest",
            b"c.nc,N/y\n",
            &[
                "c.nc: N/y is a folder of 1 file(s) published in the public store (such as N/y/b.nc); a file cannot replace it",
            ],
        );
        refused(
            &env,
            &b,
            "NEST/src/both.map_manifest",
            b"b.nc,N/z\nc.nc,N/z/c.nc\n",
            &["c.nc would be published at N/z/c.nc, below b.nc at N/z"],
        );
        refused(
            &env,
            &b,
            "NEST/odd_upload.nc",
            b"odd",
            &["odd_upload.nc: the archive path _uploads/other/odd_upload.nc is under _uploads/"],
        );
    }
}

/// Harvests one row as a job before ownership did: claimed, committed, no owner recorded.
async fn harvest_unowned(index: &dyn Index, dest: &str) {
    use ocean_ingest::index::{Claim, ClaimOutcome, FileRecord, HarvestBatch, IndexChange};
    let now = chrono::Utc::now();
    let (source, version) = ("s3://incoming/h.nc", "v0");
    let claimed = index
        .claim(&Claim {
            source: source.into(),
            source_version: version.into(),
            job_id: "J0".into(),
            pipeline: "anmn".into(),
            now,
            lease_until: now + chrono::Duration::seconds(600),
        })
        .await
        .unwrap();
    assert!(
        matches!(claimed, ClaimOutcome::Claimed { .. }),
        "{claimed:?}"
    );
    let committed = index
        .commit(&HarvestBatch {
            job_id: "J0".into(),
            source: source.into(),
            source_version: version.into(),
            changes: vec![IndexChange::Upsert(FileRecord {
                dest_path: dest.into(),
                pipeline: "anmn".into(),
                source: source.into(),
                size: 1,
                sha256: "00".repeat(32),
                job_id: "J0".into(),
                metadata: Default::default(),
            })],
            now,
            in_commit: Vec::new(),
        })
        .await
        .unwrap();
    assert!(committed, "the job holds its claim");
}

#[tokio::test]
async fn harvested_files_from_before_ownership_keep_their_pipeline_as_owner() {
    use ocean_ingest::index::{postgres::PostgresIndex, sqlite::SqliteIndex};
    let owner = |index: Box<dyn Index>| async move {
        let found = index
            .path_owners(Area::Public, &["OLD/h.nc".to_string()])
            .await
            .unwrap();
        found.into_iter().next().map(|o| o.ownership.pipeline)
    };
    // SQLite: the schema rolled back to before the ownership migration, then opened again.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index.sqlite");
    harvest_unowned(&SqliteIndex::open(&path).await.unwrap(), "OLD/h.nc").await;
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    conn.execute_batch(&format!(
        "DROP TABLE owned_path; PRAGMA user_version = {};",
        version - 1
    ))
    .unwrap();
    drop(conn);
    let reopened = Box::new(SqliteIndex::open(&path).await.unwrap());
    assert_eq!(owner(reopened).await.as_deref(), Some("anmn"), "sqlite");
    // PostgreSQL, the same way.
    let Some(db) = pg().await else { return };
    harvest_unowned(
        &PostgresIndex::open(&db.url, &crate::servers::timeouts())
            .await
            .unwrap(),
        "OLD/h.nc",
    )
    .await;
    db.client()
        .await
        .batch_execute(
            "DROP TABLE owned_path;
             DELETE FROM ocean_ingest_schema WHERE version = (SELECT MAX(version) FROM ocean_ingest_schema);",
        )
        .await
        .unwrap();
    let reopened = Box::new(
        PostgresIndex::open(&db.url, &crate::servers::timeouts())
            .await
            .unwrap(),
    );
    assert_eq!(owner(reopened).await.as_deref(), Some("anmn"), "postgres");
}
