//! Deletions may only remove what their own pipeline published: a deletion whose destination the
//! index records as another pipeline's is rejected, so one provider's manifest cannot unpublish
//! another provider's files.

use crate::error::JobError;
use crate::index::Index;
use crate::model::FileCollection;
use crate::pipeline::Pipeline;

/// Rejects the upload (naming every such file) when a deletion targets another pipeline's file.
pub async fn check_deletions(
    index: &dyn Index,
    pipeline: &Pipeline,
    files: &FileCollection,
) -> Result<(), JobError> {
    let mut problems = Vec::new();
    for f in files.iter().filter(|f| f.is_deletion()) {
        let Some(dest) = f.dest_path.as_deref() else {
            continue;
        };
        let row = index
            .get(dest)
            .await
            .map_err(|e| JobError::from_boundary(format!("looking up who published {dest}"), e))?;
        if let Some(row) = row.filter(|r| r.record.pipeline != pipeline.name) {
            problems.push(format!(
                "{dest} was published by pipeline {}; pipeline {} may not delete it",
                row.record.pipeline, pipeline.name
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(JobError::rejected(problems.join("; ")))
    }
}
