//! Publishing the uploaded object itself (`[[pipeline.upload]]`): when an upload rule takes the
//! upload, the upload joins its collection placed by that rule and its files get the rule's
//! `members` type, in place of the file rules.

use chrono::{DateTime, Utc};

use super::Pipeline;
use crate::error::JobError;
use crate::model::{FileCollection, FileOrigin, PipelineFile, Upload};

/// Places the upload whole when an upload rule takes it; `false` when none does, or when the rule
/// leaves the upload's files to the file rules (`members = "rules"`: the upload is added to the
/// collection placed, the file rules then claim the rest).
pub fn place_whole_upload(
    pipeline: &Pipeline,
    upload: &Upload,
    now: DateTime<Utc>,
    files: &mut FileCollection,
) -> Result<bool, JobError> {
    let names: Vec<&str> = files
        .iter()
        .filter(|f| !f.is_deletion() && f.origin != FileOrigin::Upload)
        .map(|f| f.name.as_str())
        .collect();
    let Some((i, up)) = pipeline.upload_rule_for(&upload.name, &names) else {
        return Ok(false);
    };
    let by = format!("upload[{i}]");
    let rule = &up.rule;
    let mut ctx = pipeline.context(rule, &upload.name, &upload.key, now);
    let publish = rule.publish;
    let render = |t: &super::Template, ctx: &super::TemplateContext, what: &str| {
        t.render(ctx).map_err(|e| {
            JobError::rejected(format!(
                "{}: cannot build the {what} of the upload published whole ({by} of pipeline {}): {e}",
                upload.name, pipeline.name
            ))
        })
    };
    let dest = match (&rule.dest, publish.store() || publish.harvest()) {
        (Some(t), true) => Some(render(t, &ctx, "destination")?),
        _ => None,
    };
    if let Some(d) = &dest
        && !rule.allowed_dest.is_empty()
        && !rule.allowed_dest.iter().any(|r| r.is_match(d))
    {
        return Err(JobError::rejected(format!(
            "{}: destination {d} is not allowed by the rule's allowed_dest ({by} of pipeline {})",
            upload.name, pipeline.name
        )));
    }
    ctx.dest = dest.clone();
    let archive = match (
        rule.archive.as_ref().or(rule.dest.as_ref()),
        publish.archive(),
    ) {
        (Some(t), true) => Some(render(t, &ctx, "archive path")?),
        _ => None,
    };
    // The file rules keep the upload's files: the upload joins them, a file of its own.
    let beside = up.members_by_rules;
    if !beside {
        for f in files.iter_mut().filter(|f| !f.is_deletion()) {
            f.publish_type = up.members;
            f.check_type = pipeline.default_check(&f.name);
            f.placed_by = Some(by.clone());
            f.record(
                "Resolved",
                format!(
                    "a file of the upload published whole by {by}: check {}, publish {}",
                    f.check_type, f.publish_type
                ),
            );
        }
    }
    // A single-file upload published whole is its own collection file; otherwise it is added.
    let existing = files
        .iter()
        .position(|f| f.origin == FileOrigin::Upload)
        .filter(|_| !beside);
    let mut added = match existing {
        Some(_) => None,
        None => Some(upload_file(upload)),
    };
    let file = match (&mut added, existing) {
        (Some(f), _) => f,
        (None, Some(at)) => files.iter_mut().nth(at).expect("found above"),
        (None, None) => unreachable!("one of the two is set"),
    };
    file.publish_type = publish;
    file.check_type = pipeline.check_for(rule, &upload.name);
    file.dest_path = dest;
    file.archive_path = archive;
    file.placed_by = Some(by.clone());
    let how = if beside {
        "the upload itself, published beside its files (the file rules')"
    } else {
        "the upload published whole"
    };
    file.record(
        "Resolved",
        format!(
            "{how} by {by}: check {}, publish {publish}",
            file.check_type
        ),
    );
    if let Some(f) = added {
        files.push(f);
    }
    Ok(!beside)
}

/// The uploaded object as a file of its collection.
pub fn upload_file(upload: &Upload) -> PipelineFile {
    let mut f = PipelineFile::addition(
        upload.name.clone(),
        FileOrigin::Upload,
        upload.local_path.clone(),
        upload.size,
    );
    f.sha256 = Some(upload.sha256.clone());
    f
}
