//! A file's collection rows as work inside the index's commit: loaded or removed in the same
//! transaction as the publish's index rows, so they commit together or not at all.

use std::sync::Arc;

use futures::future::BoxFuture;

use super::{Collection, HarvestError, HarvestFile, MigrateOptions};
use crate::error::{Classify, ErrorKind, Fault};
use crate::index::{InCommit, InCommitError};

/// One change to a collection's tables.
#[derive(Debug, Clone)]
pub enum CollectionChange {
    /// Load a file's rows, replacing those of its destination.
    Load {
        collection: Arc<Collection>,
        file: HarvestFile,
    },
    /// Remove a destination's rows (a deletion, or the older version a new one supersedes).
    Unload {
        collection: Arc<Collection>,
        dest_path: String,
    },
}

impl CollectionChange {
    pub fn collection(&self) -> &Collection {
        match self {
            CollectionChange::Load { collection, .. }
            | CollectionChange::Unload { collection, .. } => collection,
        }
    }
}

/// The commit's failure: a retry can help only when the harvest says so; the harvest's error is
/// kept whole, so the caller can still tell a rejected file from a broken database.
fn failed(e: HarvestError) -> InCommitError {
    InCommitError {
        kind: if e.fault() == Fault::Transient {
            ErrorKind::Transient
        } else {
            ErrorKind::Permanent
        },
        source: Box::new(e),
    }
}

impl InCommit for CollectionChange {
    fn postgres<'a>(
        &'a self,
        tx: &'a tokio_postgres::Transaction<'_>,
    ) -> BoxFuture<'a, Result<(), InCommitError>> {
        Box::pin(async move {
            match self {
                CollectionChange::Load { collection, file } => {
                    super::postgres::harvest(tx, collection, file, MigrateOptions::default())
                        .await
                        .map(drop)
                }
                CollectionChange::Unload {
                    collection,
                    dest_path,
                } => super::postgres::unharvest(tx, collection, dest_path)
                    .await
                    .map(drop),
            }
            .map_err(failed)
        })
    }

    fn sqlite(&self, tx: &rusqlite::Transaction<'_>) -> Result<(), InCommitError> {
        match self {
            CollectionChange::Load { collection, file } => {
                super::sqlite::harvest(tx, collection, file, MigrateOptions::default()).map(drop)
            }
            CollectionChange::Unload {
                collection,
                dest_path,
            } => super::sqlite::unharvest(tx, collection, dest_path).map(drop),
        }
        .map_err(failed)
    }
}
