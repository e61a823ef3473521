//! The collections' Parquet copies in a publish: each loaded file's object is written locally
//! first, then its store writes (the new object, and the destination's objects it replaces or a
//! removal drops) are planned with the publish's other writes, so the journal records them before
//! any is made and a failure, or the next job after a dead one, undoes or settles them with the
//! rest.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use super::{Change, Planned};
use crate::error::JobError;
use crate::harvest::parquet::{self, Object};
use crate::harvest::{Collection, CollectionChange};
use crate::model::FileCollection;
use crate::publish::journal::Place;
use crate::store::ObjectStore;

/// What one destination's objects become: the file it belongs to, and its new object (none
/// when its rows leave the collection).
struct Target {
    file: usize,
    collection: Arc<Collection>,
    object: Option<Object>,
}

/// The dataset writes of the collection changes, in order: per destination, the removal of each
/// object it has that the new one does not replace, then the new object. The objects are written
/// in `work_dir`, which must outlive the publish's writes.
pub(super) async fn plan(
    public: &dyn ObjectStore,
    changes: &[(usize, CollectionChange)],
    work_dir: &Path,
) -> Result<Vec<Planned>, JobError> {
    // By sink and destination: a destination removed and loaded again in one job (removals come
    // first) ends with the load.
    let mut targets: BTreeMap<(String, String), Target> = BTreeMap::new();
    for (at, change) in changes {
        let collection = match change {
            CollectionChange::Load { collection, .. }
            | CollectionChange::Unload { collection, .. } => collection.clone(),
        };
        let Some(sink) = &collection.parquet else {
            continue;
        };
        let (dest, object) = match change {
            CollectionChange::Load { file, .. } => {
                let (c, f, dir) = (collection.clone(), file.clone(), work_dir.to_path_buf());
                let object = crate::task::blocking(move || parquet::write_object(&c, &f, &dir))
                    .await
                    .map_err(|e| JobError::internal(format!("writing a Parquet object: {e}")))?
                    .map_err(|e| {
                        JobError::from_boundary(
                            format!("writing the Parquet copy of {} failed", file.name()),
                            e,
                        )
                    })?;
                (file.dest_path.clone(), object)
            }
            CollectionChange::Unload { dest_path, .. } => (dest_path.clone(), None),
        };
        targets.insert(
            (sink.prefix.clone(), dest),
            Target {
                file: *at,
                collection,
                object,
            },
        );
    }
    let mut plan = Vec::new();
    for ((_, dest), t) in targets {
        let keep = t.object.as_ref().map(|o| &o.key);
        let found = parquet::objects_of(public, &t.collection, &dest)
            .await
            .map_err(|e| {
                JobError::from_boundary(format!("listing the Parquet objects of {dest} failed"), e)
            })?;
        for key in found.into_iter().filter(|k| Some(k) != keep) {
            plan.push(Planned {
                place: Place::Public,
                key,
                file: t.file,
                change: Change::Delete { late: true },
                dataset: true,
            });
        }
        if let Some(object) = t.object {
            plan.push(Planned {
                place: Place::Public,
                key: object.key.clone(),
                file: t.file,
                change: Change::Put {
                    opts: object.put_options(),
                    local: object.local,
                },
                dataset: true,
            });
        }
    }
    Ok(plan)
}

/// Notes each committed dataset write in its file's audit trail.
pub(super) fn record(public: &dyn ObjectStore, files: &mut FileCollection, plan: &[Planned]) {
    let mut files: Vec<_> = files.iter_mut().collect();
    for p in plan.iter().filter(|p| p.dataset) {
        let url = public.url_of(&p.key);
        let what = match p.change {
            Change::Put { .. } => format!("Parquet object written at {url}"),
            Change::Delete { .. } => format!("Parquet object {url} removed"),
        };
        files[p.file].record("Published", what);
    }
}
