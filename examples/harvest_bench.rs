//! Harvests one file into a collection and prints what it loaded and how fast: the driver of
//! scripts/bench-harvest.sh (build it with `cargo build --release --example harvest_bench`).
//!
//! Usage: harvest_bench DECLARATION.toml FILE DEST_PATH (--postgres URL | --sqlite PATH)
//! Prints one JSON line: rows per table, seconds, rows per second (all tables).

use std::path::Path;
use std::time::Instant;

use ocean_ingest::harvest::{self, HarvestDecl, HarvestFile, MigrateOptions};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, declaration, file, dest, backend, target] = args.as_slice() else {
        anyhow::bail!(
            "usage: harvest_bench DECLARATION.toml FILE DEST_PATH (--postgres URL | --sqlite PATH)"
        );
    };
    let decl: HarvestDecl = toml::from_str(&std::fs::read_to_string(declaration)?)?;
    let collection = harvest::validate(&decl).map_err(|problems| {
        anyhow::anyhow!(
            "{declaration}: {}",
            problems
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        )
    })?;
    let file = HarvestFile::from_path(Path::new(file), dest)?;
    let started = Instant::now();
    let loaded = match backend.as_str() {
        "--postgres" => {
            let (mut client, conn) = tokio_postgres::connect(target, tokio_postgres::NoTls).await?;
            tokio::spawn(conn);
            let tx = client.transaction().await?;
            let loaded =
                harvest::postgres::harvest(&tx, &collection, &file, MigrateOptions::default())
                    .await?;
            tx.commit().await?;
            loaded
        }
        "--sqlite" => {
            let mut conn = rusqlite::Connection::open(target)?;
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let loaded =
                harvest::sqlite::harvest(&tx, &collection, &file, MigrateOptions::default())?;
            tx.commit()?;
            loaded
        }
        other => anyhow::bail!("unknown backend {other}; use --postgres or --sqlite"),
    };
    let seconds = started.elapsed().as_secs_f64();
    let rows: u64 = loaded.rows.iter().map(|(_, n)| n).sum();
    println!(
        "{}",
        serde_json::json!({
            "rows": loaded.rows,
            "total_rows": rows,
            "seconds": seconds,
            "rows_per_second": rows as f64 / seconds,
            "migrated": loaded.migrated,
        })
    );
    Ok(())
}
