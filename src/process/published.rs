//! `[pipeline.files.published]`: a new file against the versions of it already published. The
//! file published at the new file's own destination is its version (it is overwritten). When
//! there is none and the rule names `versions`, the published files of the destination folder
//! whose names match are its versions: more than `at_most` rejects the upload, and each is
//! removed after the new files are published, as the rule claiming it says (`on_delete`).
//! Every version must meet the rule's `require`, whose templates see `published.dest`,
//! `published.name` and `published.attrs` — the global attributes the index recorded when it was
//! published, or, for a file stored but not indexed, read from the object's own header.

use std::collections::BTreeSet;
use std::path::Path;

use chrono::{DateTime, Utc};

use super::context_for;
use super::supersede::{published_in, split_dest};
use crate::error::JobError;
use crate::index::Index;
use crate::model::{FileCollection, FileOrigin, PipelineFile};
use crate::pipeline::template::other_file_value;
use crate::pipeline::{Pipeline, Requirement};
use crate::store::{Key, ObjectStore};

/// Where the job's work folder keeps the published versions it reads.
const FOLDER: &str = "published";

/// Applies the published-version rules of every new file's rule: rejects the upload (every
/// reason at once) when a version fails a `require` or there are too many, else adds the late
/// deletions of the versions the new files replace.
pub async fn apply(
    index: &dyn Index,
    public: &dyn ObjectStore,
    pipeline: &Pipeline,
    key: &str,
    now: DateTime<Utc>,
    work: &Path,
    files: &mut FileCollection,
) -> Result<(), JobError> {
    let in_upload: BTreeSet<String> = files.iter().filter_map(|f| f.dest_path.clone()).collect();
    let mut problems = Vec::new();
    let mut replaced = Vec::new();
    for file in files.iter() {
        let Some((rule_index, rule)) = file
            .rule
            .and_then(|i| pipeline.rules.get(i).map(|r| (i, r)))
        else {
            continue;
        };
        let (Some(pr), Some(dest), false) = (
            &rule.published,
            file.dest_path.as_deref(),
            file.is_deletion(),
        ) else {
            continue;
        };
        let (folder, _) = split_dest(dest);
        let listed = published_in(index, public, folder).await?;
        let versions: Vec<String> = if listed.contains(dest) {
            vec![dest.to_string()]
        } else if let Some(re) = &pr.versions {
            listed
                .iter()
                .filter(|p| !in_upload.contains(*p) && re.is_match(split_dest(p).1))
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        if let Some(n) = pr.at_most
            && versions.len() > n
        {
            problems.push(format!(
                "{}: {} published files in {folder} are versions of it ({}), at most {n} expected: which one it replaces is not ours to guess; delete the others first",
                file.name,
                versions.len(),
                versions.join(", ")
            ));
            continue;
        }
        for version in &versions {
            if !pr.require.is_empty() {
                let header = published_header(index, public, version, work).await?;
                let mut ctx = context_for(file, key, pipeline, now);
                ctx.dest = Some(dest.to_string());
                ctx.published = Some(other_file_value(
                    split_dest(version).1,
                    Some(version),
                    minijinja::Value::from(()),
                    header.as_ref(),
                ));
                for reason in Requirement::failures(&pr.require, &ctx) {
                    problems.push(format!("{}: {reason}", file.name));
                }
            }
            if version == dest {
                continue;
            }
            let (_, old_name) = split_dest(version);
            let mut old = PipelineFile::deletion(version.clone(), file.name.clone());
            old.origin = FileOrigin::Superseded {
                by: file.name.clone(),
            };
            let (i, claiming) = pipeline.rule_for(old_name).unwrap_or((rule_index, rule));
            old.rule = Some(i);
            old.publish_type = claiming.on_delete;
            old.record(
                "Processed",
                format!(
                    "a published version of {} (files[{rule_index}].published.versions): removed after it is published",
                    file.name
                ),
            );
            replaced.push(old);
        }
    }
    if !problems.is_empty() {
        return Err(JobError::rejected(problems.join("; ")));
    }
    for old in replaced {
        if !files
            .iter()
            .any(|f| f.is_deletion() && f.dest_path == old.dest_path)
        {
            files.push(old);
        }
    }
    Ok(())
}

/// The header of a published file as templates see it: the attributes the index recorded, or
/// (a file stored but not indexed) the object's own, fetched into the work folder; `None` for a
/// file that is not NetCDF.
async fn published_header(
    index: &dyn Index,
    public: &dyn ObjectStore,
    dest: &str,
    work: &Path,
) -> Result<Option<serde_json::Value>, JobError> {
    let row = index
        .get(dest)
        .await
        .map_err(|e| JobError::from_boundary(format!("looking up the published {dest}"), e))?;
    if let Some(row) = row.filter(|r| !r.deleted) {
        return Ok(Some(serde_json::json!({
            "attrs": row.record.metadata.attributes,
            "variables": row.record.metadata.variables,
        })));
    }
    if !dest.to_ascii_lowercase().ends_with(".nc") {
        return Ok(None);
    }
    let key = Key::new(dest.to_string()).map_err(|e| JobError::internal(e.to_string()))?;
    let folder = work.join(FOLDER);
    std::fs::create_dir_all(&folder)
        .map_err(|e| JobError::internal(format!("cannot make {}: {e}", folder.display())))?;
    let local = folder.join(split_dest(dest).1);
    public
        .get_to_file(&key, &local)
        .await
        .map_err(|e| JobError::from_boundary(format!("fetching the published {dest}"), e))?;
    let header = tokio::task::spawn_blocking(move || {
        crate::netcdf::NcFile::open(&local)
            .and_then(|nc| nc.summary())
            .map(|s| crate::pipeline::template::values::header_json(&s))
    })
    .await
    .map_err(|e| JobError::internal(format!("reading the published {dest}: {e}")))?;
    header.map(Some).map_err(|e| {
        JobError::rejected(format!(
            "the published {dest} cannot be read as NetCDF ({e}): its version cannot be compared"
        ))
    })
}
