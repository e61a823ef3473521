//! Paths belong to pipelines. A job may add, delete or supersede only paths that lie in its
//! pipeline's writes (declared, or derived from its templates) and that no other pipeline owns
//! (the index records the first pipeline to publish or delete each path, harvested or not).
//! Checked before anything is written, every refused path named at once with both pipelines; the
//! publish commit records the owners and refuses a path taken meanwhile, so a race between two
//! pipelines still leaves each path with one owner.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::JobError;
use crate::index::Index;
use crate::layout::Area;
use crate::model::FileCollection;
use crate::pipeline::Pipeline;

/// Rejects the upload, naming every path it may not touch and the pipeline that owns each.
pub async fn check(
    index: &dyn Index,
    pipeline: &Pipeline,
    files: &FileCollection,
) -> Result<(), JobError> {
    let mut paths: BTreeMap<Area, BTreeSet<String>> = BTreeMap::new();
    for f in files.iter() {
        for (area, path) in f.touches() {
            paths.entry(area).or_default().insert(path.to_string());
        }
    }
    let mut owners: BTreeMap<(Area, String), String> = BTreeMap::new();
    for (area, paths) in paths {
        let paths: Vec<String> = paths.into_iter().collect();
        let found = index.path_owners(area, &paths).await.map_err(|e| {
            JobError::from_boundary(
                format!("looking up who owns the paths in {}", area.store()),
                e,
            )
        })?;
        for o in found {
            owners.insert((area, o.ownership.path), o.ownership.pipeline);
        }
    }
    let mut problems: Vec<String> = Vec::new();
    for f in files.iter() {
        for (area, path) in f.touches() {
            let where_ = match area {
                Area::Public => String::new(),
                Area::Archive => " in the archive".to_string(),
            };
            let problem = match owners.get(&(area, path.to_string())) {
                Some(owner) if *owner != pipeline.name => format!(
                    "{path}{where_} was published by pipeline {owner}; pipeline {} may not {} it",
                    pipeline.name,
                    f.touch_verb()
                ),
                _ if !pipeline.writes.covers(area, path) => format!(
                    "{}: {path} is outside where pipeline {} may write in {} ({})",
                    f.name,
                    pipeline.name,
                    area.store(),
                    pipeline.writes.describe(area)
                ),
                _ => continue,
            };
            if !problems.contains(&problem) {
                problems.push(problem);
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(JobError::rejected(problems.join("; ")))
    }
}
