//! The resolve step: turns an upload into the collection of files to ingest, and gives each file
//! its rule, check type and publish type. A file no rule claims rejects the upload here, before
//! anything is written.

use std::path::Path;

use crate::error::JobError;
use crate::model::{FileCollection, FileOrigin, PipelineFile};
use crate::pipeline::Pipeline;

/// Resolves an upload at `local_path` into files. A single file is its own collection; archives
/// and manifests are refused until their resolvers exist.
pub fn resolve(
    name: &str,
    local_path: &Path,
    size: u64,
    sha256: &str,
) -> Result<FileCollection, JobError> {
    let lower = name.to_ascii_lowercase();
    for container in [".zip", ".gz", ".manifest"] {
        if lower.ends_with(container) {
            return Err(JobError::rejected(format!(
                "{name}: {container} uploads cannot be resolved by this build yet; upload the files one by one"
            )));
        }
    }
    let mut file = PipelineFile::addition(name, FileOrigin::Upload, local_path.to_path_buf(), size);
    file.sha256 = Some(sha256.to_string());
    file.record("Resolved", "resolved as a single file");
    Ok(FileCollection::new(vec![file]))
}

/// Gives every file its rule and types. All unclaimed files are named in one rejection.
pub fn assign_rules(pipeline: &Pipeline, files: &mut FileCollection) -> Result<(), JobError> {
    let mut unclaimed = Vec::new();
    for file in files.iter_mut() {
        match pipeline.rule_for(&file.name) {
            None => unclaimed.push(file.name.clone()),
            Some((i, rule)) => {
                file.rule = Some(i);
                if file.is_deletion() {
                    file.publish_type = rule.on_delete;
                } else {
                    file.publish_type = rule.publish;
                    file.check_type = rule
                        .check
                        .unwrap_or_else(|| pipeline.default_check(&file.name));
                }
                let (check, publish) = (file.check_type, file.publish_type);
                file.record(
                    "Resolved",
                    format!("claimed by files[{i}]: check {check}, publish {publish}"),
                );
            }
        }
    }
    if unclaimed.is_empty() {
        Ok(())
    } else {
        Err(JobError::rejected(format!(
            "no rule of pipeline {} claims {}: each file must match a files.include pattern",
            pipeline.name,
            unclaimed.join(", ")
        )))
    }
}
