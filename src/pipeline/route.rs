//! "Where would this go": an upload key (and, where the rule reads it, the file) through a
//! pipeline file without any store — the pipeline, the rule, the check and publish types, the
//! destination and archive path, or why it would be refused. The file's NetCDF header is read
//! only when a template of its rule reads the content, and values only for the time coverage.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::template::values::header_json;
use super::{FileRule, Pipeline, PipelineSet, TimeCoverage};
use crate::model::{CheckType, PublishType};

/// Where a file would be published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub pipeline: String,
    /// The claiming rule's place in the pipeline: `files[i]`, or `upload[i]` for the upload
    /// published whole.
    pub rule: String,
    pub check: CheckType,
    pub publish: PublishType,
    pub dest: Option<String>,
    pub archive: Option<String>,
}

/// The answer of a dry run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routed {
    Placed(Placement),
    /// The upload would be refused (or the file would, rejecting the upload), and why.
    Refused {
        pipeline: Option<String>,
        reason: String,
    },
}

impl std::fmt::Display for Routed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Routed::Placed(p) => {
                writeln!(f, "pipeline: {}", p.pipeline)?;
                writeln!(f, "rule:     {}", p.rule)?;
                writeln!(f, "check:    {}", p.check)?;
                writeln!(f, "publish:  {}", p.publish)?;
                if let Some(d) = &p.dest {
                    writeln!(f, "dest:     {d}")?;
                }
                if let Some(a) = &p.archive {
                    writeln!(f, "archive:  {a}")?;
                }
                Ok(())
            }
            Routed::Refused { pipeline, reason } => {
                if let Some(p) = pipeline {
                    writeln!(f, "pipeline: {p}")?;
                }
                writeln!(f, "refused:  {reason}")
            }
        }
    }
}

/// Routes `key` (an upload of one file, named by the key's last segment) through `set`, reading
/// `file` where the rule's templates need its content.
pub fn route(set: &PipelineSet, key: &str, file: Option<&Path>, now: DateTime<Utc>) -> Routed {
    let Some(pipeline) = set.route(key) else {
        return Routed::Refused {
            pipeline: None,
            reason: format!("no pipeline of {} routes {key}", set.origin),
        };
    };
    let refused = |reason: String| Routed::Refused {
        pipeline: Some(pipeline.name.clone()),
        reason,
    };
    let name = key.rsplit('/').next().unwrap_or(key);
    if let Err(e) = pipeline.accepts_upload(name) {
        return refused(e);
    }
    // The upload published whole (its files, which a dry run does not see, would not keep it
    // from that unless they match the rule's unless_member).
    // An upload rule whose files are the file rules' (`members = "rules"`) publishes the upload
    // beside them: the file's place is the file rules'.
    if let Some((index, up)) = pipeline
        .upload_rule_for(name, &[])
        .filter(|(_, up)| !up.members_by_rules)
    {
        return match place(
            pipeline,
            format!("upload[{index}]"),
            &up.rule,
            name,
            key,
            file,
            now,
        ) {
            Ok(p) => Routed::Placed(p),
            Err(reason) => refused(format!("{name}: {reason}")),
        };
    }
    let Some((index, rule)) = pipeline.rule_for(name) else {
        if pipeline.handler.places_files() {
            return refused(format!(
                "{name}: the handler {} of pipeline {} places the files when the job runs, from the whole upload and what is published; a dry run cannot say where (ingest it with `ocean-ingest run`, or `check` it)",
                pipeline.handler.name(),
                pipeline.name
            ));
        }
        return refused(format!(
            "no rule of pipeline {} claims {name}: each file must match a files.include pattern",
            pipeline.name
        ));
    };
    match place(
        pipeline,
        format!("files[{index}]"),
        rule,
        name,
        key,
        file,
        now,
    ) {
        Ok(p) => Routed::Placed(p),
        Err(reason) => refused(format!("{name}: {reason}")),
    }
}

/// Where `rule` places the file `name` (its content read from `file` where the rule's templates
/// need it), as the process step would: the dry run's answer, and what a handler asks of a file
/// the rules will place.
pub fn place(
    pipeline: &Pipeline,
    label: String,
    rule: &FileRule,
    name: &str,
    key: &str,
    file: Option<&Path>,
    now: DateTime<Utc>,
) -> Result<Placement, String> {
    let mut ctx = pipeline.context(rule, name, key, now);
    let refusals = rule.refusals(&ctx, false);
    if !refusals.is_empty() {
        return Err(refusals.join("; "));
    }
    let templates = [rule.dest.as_ref(), rule.archive.as_ref()];
    let content =
        rule.refusal_reads_content() || templates.iter().flatten().any(|t| t.reads_content());
    if content && name.to_ascii_lowercase().ends_with(".nc") {
        let path = file.ok_or("its rule reads the file's content: give the file")?;
        let nc = crate::netcdf::NcFile::open(path).map_err(|e| e.to_string())?;
        let summary = nc.summary().map_err(|e| e.to_string())?;
        ctx.header = Some(Arc::new(header_json(&summary)));
        let coverage = templates
            .iter()
            .flatten()
            .copied()
            .chain(rule.reject.iter())
            .any(|t| t.reads().contains("time_coverage"));
        if coverage {
            let meta = crate::netcdf::extract_metadata(&nc, &summary).map_err(|e| e.to_string())?;
            ctx.time_coverage = TimeCoverage {
                start: meta.time_start,
                end: meta.time_end,
            };
        }
    }
    let refusals = rule.refusals(&ctx, true);
    if !refusals.is_empty() {
        return Err(refusals.join("; "));
    }
    let publish = rule.publish;
    let dest = match (
        &rule.dest,
        publish.store() || publish.harvest() || publish.archive(),
    ) {
        (Some(t), true) => Some(t.render(&ctx)?),
        _ => None,
    };
    if let Some(d) = &dest
        && !rule.allowed_dest.is_empty()
        && !rule.allowed_dest.iter().any(|r| r.is_match(d))
    {
        return Err(format!(
            "destination {d} is not allowed by the rule's allowed_dest"
        ));
    }
    if let Some(d) = &dest {
        crate::store::Key::new(d.clone()).map_err(|e| e.to_string())?;
    }
    ctx.dest = dest.clone();
    let archive = match (&rule.archive, publish.archive()) {
        (Some(t), true) => Some(t.render(&ctx)?),
        (None, true) => dest.clone(),
        _ => None,
    };
    Ok(Placement {
        pipeline: pipeline.name.clone(),
        rule: label,
        check: pipeline.check_for(rule, name),
        publish,
        dest: if publish.store() || publish.harvest() {
            dest
        } else {
            None
        },
        archive,
    })
}

/// What `pipelines validate` finds when it renders a rule's templates on a sample of the names
/// the rule claims: failures that do not depend on a file's content (an unknown filter reached,
/// a bad argument), or `None`. The sample name is made from the rule's own `include`.
pub fn sample_problems(pipeline: &Pipeline, rule: &FileRule) -> Vec<String> {
    let pattern = rule.include.as_str();
    let pattern = pattern
        .strip_prefix("^(?:")
        .and_then(|p| p.strip_suffix(')'))
        .unwrap_or(pattern);
    let Some(name) = super::template::sample::sample_name(pattern).filter(|n| rule.claims(n))
    else {
        return Vec::new();
    };
    let ctx = pipeline.context(rule, &name, &format!("sample/{name}"), Utc::now());
    let mut out = Vec::new();
    let templates = rule
        .dest
        .iter()
        .chain(&rule.reject)
        .chain(rule.require.iter().map(|r| &r.reason));
    for t in templates {
        if let Err(e) = t.render_static(&ctx) {
            out.push(format!("on the sample name {name}: {e}"));
        }
    }
    out
}
