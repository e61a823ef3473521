//! The built-in process step: harvest metadata from each NetCDF file, and destination and archive
//! paths from the rule's templates, validated (allowed, unique, no file below another) before
//! anything is written; the older versions each new file supersedes ([`supersede`]); that every
//! path touched is the pipeline's own ([`ownership`]); that no published file becomes a folder or
//! back ([`placement`]).

pub mod derive;
pub mod ownership;
pub mod placement;
pub mod published;
pub mod supersede;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::error::JobError;
use crate::layout;
use crate::model::{FileCollection, PipelineFile};
use crate::netcdf::ValueMemo;
use crate::pipeline::{Pipeline, TemplateContext, TimeCoverage};
use crate::store::Key;

/// Reads the metadata of every NetCDF addition that lacks it. Blocking: call off the async workers.
/// A file that will not open keeps no metadata (its check decided whether that is acceptable).
pub fn extract_metadata(files: &mut FileCollection) {
    for file in files.iter_mut() {
        extract_file_metadata(file, None);
    }
}

/// [`extract_metadata`] of one file, through its memo (with [`crate::netcdf::share_ranges`]
/// registered) when it has one, so the coordinates' values come from the job's one read of them.
pub fn extract_file_metadata(file: &mut PipelineFile, memo: Option<&ValueMemo>) {
    if !wants_metadata(file) {
        return;
    }
    let Some(path) = file.local_path.clone() else {
        return;
    };
    let header_json = crate::pipeline::template::values::header_json;
    let meta = match memo {
        Some(memo) => {
            crate::netcdf::extract_metadata_shared(memo).map(|m| (m, header_json(memo.header())))
        }
        None => crate::netcdf::NcFile::open(&path).and_then(|nc| {
            nc.summary().and_then(|s| {
                crate::netcdf::extract_metadata(&nc, &s).map(|m| (m, header_json(&s)))
            })
        }),
    };
    match meta {
        Ok((m, header)) => {
            file.metadata = Some(m);
            file.header = Some(Arc::new(header));
            file.record("Checked", "metadata extracted");
        }
        Err(e) => file.record("Checked", format!("no metadata: {e}")),
    }
}

/// Whether [`extract_file_metadata`] would read anything for the file: a NetCDF file with
/// content and no metadata yet.
pub fn wants_metadata(file: &PipelineFile) -> bool {
    !file.is_deletion()
        && file.metadata.is_none()
        && file.local_path.is_some()
        && file.name.to_ascii_lowercase().ends_with(".nc")
}

/// The template context of one file: its name, its rule's groups, its header and coverage.
pub fn context_for(
    file: &PipelineFile,
    key: &str,
    pipeline: &Pipeline,
    now: DateTime<Utc>,
) -> TemplateContext {
    let mut ctx = match file.rule.and_then(|i| pipeline.rules.get(i)) {
        Some(rule) => pipeline.context(rule, &file.name, key, now),
        None => TemplateContext::new(&file.name, key, &pipeline.name),
    };
    ctx.header = file.header.clone();
    if let Some(p) = &file.path {
        ctx.path = p.clone();
    }
    if let Some(m) = &file.metadata {
        ctx.time_coverage = TimeCoverage {
            start: m.time_start.clone(),
            end: m.time_end.clone(),
        };
    }
    ctx
}

/// Renders one file's destination and archive path from its rule (unless its handler placed
/// it), adding what is wrong to `problems`.
fn place_file(
    pipeline: &Pipeline,
    key: &str,
    now: DateTime<Utc>,
    file: &mut PipelineFile,
    primary: Option<&minijinja::Value>,
    problems: &mut Vec<String>,
) {
    if file.placed_by.is_some() {
        // Its handler placed it: the paths are validated like any other.
        return;
    }
    let Some(rule) = file.rule.and_then(|i| pipeline.rules.get(i)) else {
        problems.push(format!("{}: no rule claims it", file.name));
        return;
    };
    let mut ctx = context_for(file, key, pipeline, now);
    ctx.primary = primary.cloned();
    if !file.is_deletion() {
        let refusals = rule.refusals(&ctx, true);
        if !refusals.is_empty() {
            problems.push(format!("{}: {}", file.name, refusals.join("; ")));
            return;
        }
    }
    let t = file.publish_type;
    if file.is_deletion() {
        // A deletion names its destination, or (an rsync deletion) only the file name: then
        // the rule's template places it, from what the name alone tells.
        if file.dest_path.is_none() && t != crate::model::PublishType::NoAction {
            match rule.dest.as_ref().map(|t| t.render(&ctx)) {
                Some(Ok(dest)) => file.dest_path = Some(dest),
                Some(Err(e)) => problems.push(format!(
                    "{}: cannot place the deletion from the file name alone ({e}); delete it by destination path with a .delete_manifest",
                    file.name
                )),
                None => problems.push(format!(
                    "{}: a deletion by name needs the rule's dest template",
                    file.name
                )),
            }
        }
        return;
    }
    if file.dest_path.is_some() && rule.allowed_dest.is_empty() {
        // A destination from a manifest: only where the pipeline lets providers choose.
        problems.push(format!(
            "{}: the manifest names its destination, but files[{}] of pipeline {} has no allowed_dest patterns that would permit a chosen destination; leave dest_path out",
            file.name,
            file.rule.unwrap_or_default(),
            pipeline.name
        ));
    } else if file.dest_path.is_some() {
        // Kept as the manifest asks; checked against allowed_dest below.
    } else if t.store() || t.harvest() {
        match rule.dest.as_ref().map(|t| t.render(&ctx)) {
            Some(Ok(dest)) => file.dest_path = Some(dest),
            Some(Err(e)) => problems.push(format!(
                "{}: cannot build the destination path: {e}",
                file.name
            )),
            None => problems.push(format!(
                "{}: publish type {t} needs a dest template",
                file.name
            )),
        }
    }
    ctx.dest = file.dest_path.clone();
    if t.archive() {
        match rule
            .archive
            .as_ref()
            .or(rule.dest.as_ref())
            .map(|t| t.render(&ctx))
        {
            Some(Ok(path)) => file.archive_path = Some(path),
            Some(Err(e)) => {
                problems.push(format!("{}: cannot build the archive path: {e}", file.name))
            }
            None => problems.push(format!(
                "{}: publish type {t} needs an archive or dest template",
                file.name
            )),
        }
    }
}

/// Sets every file's destination and archive path and validates them all; one rejection names
/// every bad path.
pub fn assign_paths(
    pipeline: &Pipeline,
    key: &str,
    now: DateTime<Utc>,
    files: &mut FileCollection,
) -> Result<(), JobError> {
    let mut problems = Vec::new();
    // The primary file is placed first: the others' templates see it as `primary`.
    let primary = match &pipeline.primary {
        None => None,
        Some(pattern) => {
            let found: Vec<&str> = files
                .iter()
                .filter(|f| !f.is_deletion() && pattern.is_match(&f.name))
                .map(|f| f.name.as_str())
                .collect();
            if found.len() != 1 {
                let upload = key.rsplit('/').next().unwrap_or(key);
                return Err(JobError::rejected(format!(
                    "{upload}: pipeline {} expects exactly one file matching '{}' in an upload (it places the others), found {}{}",
                    pipeline.name,
                    crate::pipeline::written_pattern(pattern),
                    found.len(),
                    if found.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", found.join(", "))
                    }
                )));
            }
            let name = found[0].to_string();
            let file = files
                .iter_mut()
                .find(|f| !f.is_deletion() && f.name == name)
                .expect("found above");
            place_file(pipeline, key, now, file, None, &mut problems);
            if !problems.is_empty() {
                // The others' paths depend on it: its own problem is the one to tell.
                return Err(JobError::rejected(problems.join("; ")));
            }
            let rule = file.rule.and_then(|i| pipeline.rules.get(i));
            Some((
                name.clone(),
                crate::pipeline::template::other_file_value(
                    &name,
                    file.dest_path.as_deref(),
                    rule.map_or_else(|| minijinja::Value::from(()), |r| r.groups(&name)),
                    file.header.as_deref(),
                ),
            ))
        }
    };
    for file in files.iter_mut() {
        if primary.as_ref().is_some_and(|(n, _)| *n == file.name) && !file.is_deletion() {
            continue;
        }
        place_file(
            pipeline,
            key,
            now,
            file,
            primary.as_ref().map(|(_, v)| v),
            &mut problems,
        );
    }
    // Every path must be a valid key, allowed by the rule, and claimed by one file only.
    let mut seen: BTreeMap<(bool, String), String> = BTreeMap::new();
    for file in files.iter() {
        let rule = file.rule.and_then(|i| pipeline.rules.get(i));
        for (is_archive, path) in [(false, &file.dest_path), (true, &file.archive_path)] {
            let Some(path) = path else { continue };
            if let Err(e) = Key::new(path.clone()) {
                problems.push(format!("{}: {e}", file.name));
                continue;
            }
            if is_archive && path.starts_with(layout::UPLOADS_PREFIX) {
                problems.push(format!(
                    "{}: the archive path {path} is under {}, where the archive keeps the uploads themselves",
                    file.name,
                    layout::UPLOADS_PREFIX
                ));
            }
            if !is_archive
                && let Some(rule) = rule.filter(|r| !r.allowed_dest.is_empty())
                && !rule.allowed_dest.iter().any(|r| r.is_match(path))
            {
                problems.push(format!(
                    "{}: destination {path} is not allowed by the rule's allowed_dest",
                    file.name
                ));
            }
            if let Some(other) = seen.insert((is_archive, path.clone()), file.name.clone()) {
                problems.push(format!(
                    "{} and {other} would both be published to {path}",
                    file.name
                ));
            }
        }
    }
    // One file the upload adds may not sit below another: a path cannot be a file and a folder.
    let added: BTreeMap<(bool, String), String> = files
        .iter()
        .filter(|f| !f.is_deletion())
        .flat_map(|f| {
            [(false, &f.dest_path), (true, &f.archive_path)]
                .into_iter()
                .filter_map(|(a, p)| p.clone().map(|p| ((a, p), f.name.clone())))
        })
        .collect();
    for ((is_archive, path), name) in &added {
        let folder = format!("{path}/");
        if let Some(((_, below), other)) = added
            .range((*is_archive, folder.clone())..)
            .next()
            .filter(|((a, p), _)| a == is_archive && p.starts_with(&folder))
        {
            problems.push(format!(
                "{other} would be published at {below}, below {name} at {path}: a path cannot be both a file and a folder"
            ));
        }
    }
    for file in files.iter_mut() {
        if let Some(dest) = file.dest_path.clone() {
            file.record("Processed", format!("destination {dest}"));
        }
        if let Some(archive) = file.archive_path.clone() {
            file.record("Processed", format!("archive path {archive}"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(JobError::rejected(problems.join("; ")))
    }
}
