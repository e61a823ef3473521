//! Built-in derivations (`derive = [{ builtin = "…", name = "…", … }]` on a rule): each file of
//! the rule makes a file in the job's work folder, which joins the upload's files claimed by the
//! rule its name matches, to be checked and published like an uploaded file. A derivation that
//! fails, or a made file no rule claims, rejects the upload with the reason; so does a file its
//! rule refuses (`reject`, `require`), before anything is made from it. A conversion
//! (`table_to_netcdf`) is named once made, its name's template seeing the made file's header.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::context_for;
use crate::error::JobError;
use crate::model::{FileCollection, FileOrigin, PipelineFile};
use crate::pipeline::{Builtin, Pipeline, Template, TemplateContext};

/// Where the job's work folder keeps the derived files.
const FOLDER: &str = "derived";

/// One file to make.
struct Job {
    builtin: Builtin,
    source_name: String,
    source: PathBuf,
    /// The made file's name; for a conversion, rendered once the file is made (then empty until
    /// it is).
    name: String,
    out: PathBuf,
    /// A plot's title, rendered from the source file's context.
    title: String,
    /// The source file's context, for a conversion's templates and its name.
    ctx: Option<TemplateContext>,
    /// The name's template, for a conversion.
    name_template: Option<Template>,
}

/// Runs the derivations of every addition's rule and adds what they make; off the async workers.
pub async fn derive(
    pipeline: &Pipeline,
    key: &str,
    now: DateTime<Utc>,
    work: &Path,
    files: &mut FileCollection,
) -> Result<(), JobError> {
    let folder = work.join(FOLDER);
    let mut jobs = Vec::new();
    let mut problems = Vec::new();
    for file in files.iter() {
        let Some(rule) = file.rule.and_then(|i| pipeline.rules.get(i)) else {
            continue;
        };
        if file.is_deletion() || rule.derive.is_empty() {
            continue;
        }
        let Some(source) = file.local_path.clone() else {
            continue;
        };
        let ctx = context_for(file, key, pipeline, now);
        // A file its rule refuses makes nothing: its reasons are the upload's.
        let refusals = rule.refusals(&ctx, true);
        if !refusals.is_empty() {
            problems.push(format!("{}: {}", file.name, refusals.join("; ")));
            continue;
        }
        for d in &rule.derive {
            let title = match &d.builtin {
                Builtin::ProfilePlot { title: Some(t), .. } => match t.render(&ctx) {
                    Ok(t) => t,
                    Err(e) => {
                        problems.push(format!(
                            "{}: cannot title the plot {} makes: {e}",
                            file.name,
                            d.builtin.label()
                        ));
                        continue;
                    }
                },
                _ => String::new(),
            };
            if let Builtin::TableToNetcdf { .. } = &d.builtin {
                // Named once made: the name reads what the conversion wrote.
                jobs.push(Job {
                    builtin: d.builtin.clone(),
                    source_name: file.name.clone(),
                    source: source.clone(),
                    out: folder.join(jobs.len().to_string()).join("converted.nc"),
                    name: String::new(),
                    title,
                    ctx: Some(ctx.clone()),
                    name_template: Some(d.name.clone()),
                });
                continue;
            }
            match d.name.render(&ctx) {
                Ok(name) if !name.is_empty() && !name.contains('/') => jobs.push(Job {
                    builtin: d.builtin.clone(),
                    source_name: file.name.clone(),
                    source: source.clone(),
                    out: folder.join(jobs.len().to_string()).join(&name),
                    name,
                    title,
                    ctx: None,
                    name_template: None,
                }),
                Ok(name) => problems.push(format!(
                    "{}: {} would make a file named {name:?}: a name, without folders",
                    file.name,
                    d.builtin.label()
                )),
                Err(e) => problems.push(format!(
                    "{}: cannot name the file {} makes: {e}",
                    file.name,
                    d.builtin.label()
                )),
            }
        }
    }
    if !problems.is_empty() {
        return Err(JobError::rejected(problems.join("; ")));
    }
    if jobs.is_empty() {
        return Ok(());
    }
    let made = crate::task::blocking(move || {
        jobs.into_iter()
            .map(|mut job| {
                let made = make(&mut job);
                (job, made)
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| JobError::internal(format!("a derivation crashed: {e}")))?;
    for (job, result) in made {
        let (size, sha256) = match result {
            Ok(made) => made,
            Err(e) if job.name.is_empty() => {
                problems.push(format!(
                    "{}: {} cannot convert it: {e}",
                    job.source_name,
                    job.builtin.label(),
                ));
                continue;
            }
            Err(e) => {
                problems.push(format!(
                    "{}: {} cannot make {}: {e}",
                    job.source_name,
                    job.builtin.label(),
                    job.name
                ));
                continue;
            }
        };
        let Some((i, rule)) = pipeline.rule_for(&job.name) else {
            problems.push(format!(
                "{} made {} from {}, which no rule of pipeline {} claims: add a rule for it",
                job.builtin.label(),
                job.name,
                job.source_name,
                pipeline.name
            ));
            continue;
        };
        let mut f = PipelineFile::addition(
            job.name.clone(),
            FileOrigin::Generated {
                by: job.builtin.label().to_string(),
            },
            job.out.clone(),
            size,
        );
        f.sha256 = Some(sha256);
        f.rule = Some(i);
        f.publish_type = rule.publish;
        f.check_type = pipeline.check_for(rule, &job.name);
        f.record(
            "Processed",
            format!(
                "made by {} from {}: files[{i}], check {}, publish {}",
                job.builtin.label(),
                job.source_name,
                f.check_type,
                f.publish_type
            ),
        );
        files.push(f);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(JobError::rejected(problems.join("; ")))
    }
}

/// Makes one file (a conversion's is named here, and `job` updated); its size and SHA-256.
fn make(job: &mut Job) -> Result<(u64, String), String> {
    let parent = job.out.parent().expect("a file in a folder").to_path_buf();
    std::fs::create_dir_all(&parent)
        .map_err(|e| format!("cannot make {}: {e}", parent.display()))?;
    let bytes = match &job.builtin {
        Builtin::MapPlot(spec) => crate::plot::map::render(&job.source, spec)?,
        Builtin::ProfilePlot { spec, .. } => {
            crate::plot::profile_plot::render(&job.source, spec, &job.title)?
        }
        Builtin::TableToNetcdf { conversion, file } => {
            let conversion = conversion
                .as_ref()
                .ok_or_else(|| format!("the conversion {file} was not loaded"))?;
            let ctx = job
                .ctx
                .as_ref()
                .expect("a conversion has its source's context");
            conversion.convert(&job.source, ctx, &job.out)?;
            let name = converted_name(job, &job.out)?;
            let named = parent.join(&name);
            std::fs::rename(&job.out, &named)
                .map_err(|e| format!("cannot name {}: {e}", named.display()))?;
            job.out = named;
            job.name = name;
            return crate::digest::sha256_file(&job.out)
                .map_err(|e| format!("cannot read {}: {e}", job.out.display()));
        }
    };
    std::fs::write(&job.out, &bytes)
        .map_err(|e| format!("cannot write {}: {e}", job.out.display()))?;
    crate::digest::sha256_file(&job.out)
        .map_err(|e| format!("cannot read {}: {e}", job.out.display()))
}

/// A converted file's name: the derivation's `name` template on the source's context, with the
/// made file's header (`attrs`, `variables`…).
fn converted_name(job: &Job, made: &Path) -> Result<String, String> {
    let summary = crate::netcdf::NcFile::open(made)
        .and_then(|f| f.summary())
        .map_err(|e| format!("cannot read the converted file: {e}"))?;
    let mut ctx = job
        .ctx
        .clone()
        .expect("a conversion has its source's context");
    ctx.header = Some(Arc::new(crate::pipeline::template::values::header_json(
        &summary,
    )));
    let template = job
        .name_template
        .as_ref()
        .expect("a conversion has its name's template");
    match template.render(&ctx) {
        Ok(name) if !name.is_empty() && !name.contains('/') => Ok(name),
        Ok(name) => Err(format!(
            "the converted file would be named {name:?}: a name, without folders"
        )),
        Err(e) => Err(format!("cannot name the converted file: {e}")),
    }
}
