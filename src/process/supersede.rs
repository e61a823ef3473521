//! New versions of published files. `overwrite` (the default) needs nothing here: a file
//! published to an existing destination replaces it. `same_product_older_creation` is the IMOS
//! rule: files whose names differ only in `_C-<creation date>` are versions of one product, so a
//! new version supersedes the published older one (deleted and unharvested after the new one is
//! published), and an upload older than what is published is rejected.
//!
//! The published versions are looked for in the new file's destination folder, both in the index
//! (non-deleted rows) and in the public store (files that are stored but not harvested). Two
//! versions of one product in the same upload are rejected: which one is meant is not ours to guess.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::JobError;
use crate::index::Index;
use crate::model::{FileCollection, FileOrigin, PipelineFile};
use crate::pipeline::{ImosName, Pipeline, Supersede};
use crate::store::ObjectStore;

/// A creation date in one comparable form: `YYYYMMDDTHHMMSSZ` (a bare date is midnight).
fn creation(name: &str) -> Option<String> {
    let created = ImosName::parse(name)?.created?;
    Some(if created.len() == 8 {
        format!("{created}T000000Z")
    } else {
        created
    })
}

/// `a/b/c.nc` → (`a/b/`, `c.nc`).
pub(crate) fn split_dest(dest: &str) -> (&str, &str) {
    match dest.rfind('/') {
        Some(i) => (&dest[..=i], &dest[i + 1..]),
        None => ("", dest),
    }
}

/// Adds a late deletion for every published older version a new file supersedes; rejects the
/// upload (naming both files) when a published version is newer than the upload's.
pub async fn find_superseded(
    index: &dyn Index,
    public: &dyn ObjectStore,
    pipeline: &Pipeline,
    files: &mut FileCollection,
) -> Result<(), JobError> {
    // (folder, product identity) → (new file's name, its creation, its destination)
    let mut products: BTreeMap<(String, String), (String, String, String)> = BTreeMap::new();
    let mut problems = Vec::new();
    for f in files.iter() {
        let rule = f.rule.and_then(|i| pipeline.rules.get(i));
        if f.is_deletion()
            || rule.is_none_or(|r| r.supersede != Supersede::SameProductOlderCreation)
        {
            continue;
        }
        let (Some(dest), Some(identity), Some(created)) = (
            f.dest_path.as_deref(),
            ImosName::product_identity(&f.name),
            creation(&f.name),
        ) else {
            continue;
        };
        let (folder, _) = split_dest(dest);
        let slot = (folder.to_string(), identity);
        if let Some((other, _, _)) = products.get(&slot) {
            problems.push(format!(
                "{} and {other} are versions of one product (they differ only in their creation date): upload only the newest",
                f.name
            ));
            continue;
        }
        products.insert(slot, (f.name.clone(), created, dest.to_string()));
    }
    if !problems.is_empty() {
        return Err(JobError::rejected(problems.join("; ")));
    }

    let in_upload: BTreeSet<String> = files.iter().filter_map(|f| f.dest_path.clone()).collect();
    // One listing per destination folder, however many products of the upload share it.
    let mut published_by_folder: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (folder, _) in products.keys() {
        if !published_by_folder.contains_key(folder.as_str()) {
            let published = published_in(index, public, folder).await?;
            published_by_folder.insert(folder, published);
        }
    }
    let mut superseded = Vec::new();
    for ((folder, identity), (new_name, new_created, new_dest)) in &products {
        for published in &published_by_folder[folder.as_str()] {
            let published = published.clone();
            let (_, old_name) = split_dest(&published);
            if published == *new_dest
                || in_upload.contains(&published)
                || ImosName::product_identity(old_name).as_deref() != Some(identity.as_str())
            {
                continue;
            }
            let Some(old_created) = creation(old_name) else {
                continue;
            };
            if old_created > *new_created {
                problems.push(format!(
                    "{new_name} (created {new_created}) is older than the published {published} (created {old_created}): the newer version stays published; upload a version created later"
                ));
                continue;
            }
            let mut old = PipelineFile::deletion(published.clone(), new_name.clone());
            old.origin = FileOrigin::Superseded {
                by: new_name.clone(),
            };
            match pipeline.rule_for(old_name) {
                Some((i, rule)) => {
                    old.rule = Some(i);
                    old.publish_type = rule.on_delete;
                }
                None => {
                    problems.push(format!(
                        "{new_name} supersedes {published}, which no rule of pipeline {} claims",
                        pipeline.name
                    ));
                    continue;
                }
            }
            old.record(
                "Processed",
                format!(
                    "superseded by {new_name} (created {new_created}, this {old_created}): removed after it is published"
                ),
            );
            superseded.push(old);
        }
    }
    if !problems.is_empty() {
        return Err(JobError::rejected(problems.join("; ")));
    }
    for old in superseded {
        files.push(old);
    }
    Ok(())
}

/// Destinations directly in `folder` that are published: non-deleted index rows and public objects.
pub(crate) async fn published_in(
    index: &dyn Index,
    public: &dyn ObjectStore,
    folder: &str,
) -> Result<BTreeSet<String>, JobError> {
    let direct = |path: &str| !path[folder.len()..].contains('/');
    let mut out = BTreeSet::new();
    let rows = index.list(folder).await.map_err(|e| {
        JobError::from_boundary(format!("looking up published versions in {folder}"), e)
    })?;
    out.extend(
        rows.into_iter()
            .filter(|r| !r.deleted && direct(&r.record.dest_path))
            .map(|r| r.record.dest_path),
    );
    let objects = public.list(folder).await.map_err(|e| {
        JobError::from_boundary(format!("looking up published versions in {folder}"), e)
    })?;
    out.extend(
        objects
            .into_iter()
            .map(|o| o.key.to_string())
            .filter(|k| direct(k)),
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creation_dates_compare_in_one_form() {
        assert_eq!(
            creation("IMOS_ANMN-NRS_TZ_20180406T080000Z_NRSROT_FV01_P_C-20200313T000000Z.nc")
                .as_deref(),
            Some("20200313T000000Z")
        );
        assert_eq!(
            creation("IMOS_ANMN-NRS_TZ_20180406T080000Z_NRSROT_FV01_P_C-20200313.nc").as_deref(),
            Some("20200313T000000Z")
        );
        assert_eq!(
            creation("IMOS_ANMN-NRS_TZ_20180406T080000Z_NRSROT_FV01_P.nc"),
            None
        );
        assert_eq!(split_dest("a/b/c.nc"), ("a/b/", "c.nc"));
        assert_eq!(split_dest("c.nc"), ("", "c.nc"));
    }
}
