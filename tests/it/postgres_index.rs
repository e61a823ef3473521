//! The PostgreSQL index against a real server, each test in its own throwaway database: the
//! conformance suite, claim races within one process and across connections (as across jobs),
//! concurrent migrations, TLS, and which failures are transient.

use std::sync::Arc;

use ocean_ingest::error::{Classify, Fault};
use ocean_ingest::index::Index;
use ocean_ingest::index::postgres::PostgresIndex;

use crate::conformance::index::{check_claim_race, check_claim_race_across_jobs, check_index};
use crate::servers::pg;

#[tokio::test]
async fn postgres_index_conforms() {
    let Some(db) = pg().await else { return };
    let index = PostgresIndex::open(&db.url, &crate::servers::timeouts())
        .await
        .unwrap();
    check_index(&index).await;
    // Each migration is recorded once; opening again applies nothing new.
    let client = db.client().await;
    let recorded = || async {
        let row = client
            .query_one(
                "SELECT count(*), COALESCE(MAX(version), 0) FROM ocean_ingest_schema",
                &[],
            )
            .await
            .unwrap();
        (row.get::<_, i64>(0), i64::from(row.get::<_, i32>(1)))
    };
    let (versions, latest) = recorded().await;
    assert!(versions >= 1);
    assert_eq!(versions, latest, "one row per migration, numbered from 1");
    let again = PostgresIndex::open(&db.url, &crate::servers::timeouts())
        .await
        .unwrap();
    assert!(again.get("IMOS/A/a.nc").await.unwrap().is_some());
    assert_eq!(recorded().await, (versions, latest));
}

#[tokio::test]
async fn postgres_claims_race_to_one_winner_in_one_process() {
    let Some(db) = pg().await else { return };
    let index = PostgresIndex::open(&db.url, &crate::servers::timeouts())
        .await
        .unwrap();
    check_claim_race(Arc::new(index)).await;
}

#[tokio::test]
async fn postgres_claims_race_to_one_winner_across_jobs() {
    let Some(db) = pg().await else { return };
    // Each opening migrates (under the advisory lock) and then claims.
    check_claim_race_across_jobs(|| {
        let url = db.url.clone();
        async move {
            Box::new(
                PostgresIndex::open(&url, &crate::servers::timeouts())
                    .await
                    .unwrap(),
            ) as Box<dyn Index>
        }
    })
    .await;
}

#[tokio::test]
async fn postgres_connects_over_tls_as_rds_requires() {
    let Some(db) = pg().await else { return };
    let Some(ca) = crate::common::server("INGEST_TEST_PG_CA") else {
        return;
    };
    let sep = if db.url.contains('?') { '&' } else { '?' };
    for params in [
        "sslmode=require".to_string(),
        format!("sslmode=verify-full&sslrootcert={ca}"),
        format!("sslmode=verify-ca&sslrootcert={ca}"),
    ] {
        let url = format!("{}{sep}{params}", db.url);
        let index = PostgresIndex::open(&url, &crate::servers::timeouts())
            .await
            .unwrap_or_else(|e| panic!("{params}: {e}"));
        assert!(index.get("x").await.unwrap().is_none());
        assert!(!index.location().contains("sslrootcert"));
    }
    // The index's own connections are encrypted: the server says so.
    let url = format!("{}{sep}sslmode=require", db.url);
    let _index = PostgresIndex::open(&url, &crate::servers::timeouts())
        .await
        .unwrap();
    let client = db.client().await;
    let encrypted: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
             WHERE a.datname = current_database() AND a.application_name = 'ocean-ingest' AND s.ssl",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(encrypted >= 1, "no encrypted ocean-ingest connection");
    // A certificate the configured roots do not vouch for is refused, and retrying will not help.
    let err = PostgresIndex::open(
        &format!("{}{sep}sslmode=verify-full", db.url),
        &crate::servers::timeouts(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.fault(), Fault::Internal, "{err}");
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
}

#[tokio::test]
async fn an_unreachable_database_is_transient() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = PostgresIndex::open(
        &format!("postgres://ingest:secret@127.0.0.1:{port}/ingest?connect_timeout=2"),
        &crate::servers::timeouts(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.fault(), Fault::Transient, "{err}");
    assert!(
        !err.to_string().contains("secret"),
        "the password stays out of messages: {err}"
    );
}

#[tokio::test]
async fn a_connection_killed_by_the_server_is_replaced() {
    let Some(db) = pg().await else { return };
    let index = PostgresIndex::open(&db.url, &crate::servers::timeouts())
        .await
        .unwrap();
    assert!(index.get("x").await.unwrap().is_none());
    // An administrator (or a failover) ends every session of the database.
    let admin = db.client().await;
    admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
            &[],
        )
        .await
        .unwrap();
    // The pooled connection is dead (57P01 / closed); the index retries on a new one.
    assert!(index.get("x").await.unwrap().is_none());
}

#[tokio::test]
async fn a_refused_login_is_not_transient() {
    let Some(db) = pg().await else { return };
    let url = db.url.replacen("postgres@", "nobody@", 1);
    let err = PostgresIndex::open(&url, &crate::servers::timeouts())
        .await
        .unwrap_err();
    assert_eq!(err.fault(), Fault::Internal, "{err}");
    assert!(err.to_string().contains("nobody"), "{err}");
}
