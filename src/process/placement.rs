//! A published file is never turned into a folder, nor a folder of published files into a file:
//! a destination below a published file (`a/b.nc/c.nc` while `a/b.nc` is published), or at a path
//! with published files below it, is refused before anything is written. Object stores would take
//! both; a file tree (a local store, the public mirror) cannot hold them.

use std::collections::BTreeMap;

use crate::error::JobError;
use crate::layout::Area;
use crate::model::FileCollection;
use crate::store::{Key, ObjectStore};

/// Rejects the upload, naming every addition that would change a file into a folder or back.
pub async fn check(
    public: &dyn ObjectStore,
    archive: &dyn ObjectStore,
    files: &FileCollection,
) -> Result<(), JobError> {
    let mut problems = Vec::new();
    for area in Area::ALL {
        let store = match area {
            Area::Public => public,
            Area::Archive => archive,
        };
        let added: Vec<(&str, &str)> = files
            .iter()
            .filter(|f| !f.is_deletion())
            .flat_map(|f| {
                f.touches()
                    .into_iter()
                    .filter(move |(a, _)| *a == area)
                    .map(move |(_, path)| (f.name.as_str(), path))
            })
            .collect();
        // Every folder an addition needs, each looked up once: the first addition needing it.
        let mut folders: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
        for (name, path) in &added {
            for (i, _) in path.match_indices('/') {
                folders.entry(&path[..i]).or_insert((name, path));
            }
        }
        let looked_up = |e| JobError::from_boundary(format!("looking up {}", area.store()), e);
        for (folder, (name, path)) in folders {
            let Ok(key) = Key::new(folder) else { continue };
            if store.head(&key).await.map_err(looked_up)?.is_some() {
                problems.push(format!(
                    "{name}: {path} would turn {folder}, a file published in {}, into a folder",
                    area.store()
                ));
            }
        }
        for (name, path) in &added {
            let below = store.list(&format!("{path}/")).await.map_err(looked_up)?;
            if let Some(first) = below.first() {
                problems.push(format!(
                    "{name}: {path} is a folder of {} file(s) published in {} (such as {}); a file cannot replace it",
                    below.len(),
                    area.store(),
                    first.key
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(JobError::rejected(problems.join("; ")))
    }
}
