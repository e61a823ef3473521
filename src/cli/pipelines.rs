//! `ocean-ingest pipelines`: validate a pipeline file, show what it routes where, and say where
//! one upload would go.

use std::path::PathBuf;

use clap::Subcommand;

use super::format::Format;
use crate::error::ExitCode;
use crate::pipeline::route::{Routed, route, sample_problems};
use crate::pipeline::{PipelineSet, written_pattern};
use crate::settings::SettingsArgs;

#[derive(Debug, Subcommand)]
pub enum PipelinesCommand {
    /// Validate a pipeline file without touching any store: every problem with its line,
    /// templates included (checked in every branch, and rendered on a sample name of each rule),
    /// and overlapping writes of two pipelines
    Validate {
        /// The file, a path or s3://bucket/key [default: --pipelines / INGEST_PIPELINES,
        /// ./pipelines.toml, else (everything local) the built-in example]
        file: Option<PathBuf>,
    },
    /// List the pipelines of a file: name, keys pattern, checks, where it writes and its rules
    List {
        /// The file [default: as for validate]
        file: Option<PathBuf>,
        /// What to print: lines for a person, or one JSON document
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Where would an upload go: its pipeline, rule, check and publish types, destination and
    /// archive path, or why it would be refused (a dry run: no store is touched)
    Route {
        /// The upload's key in the incoming store, e.g. SRS/IMOS_SRSALT_…nc
        key: String,
        /// The file itself, for rules whose templates read its content (attributes, variables)
        file: Option<PathBuf>,
        /// The pipeline file [default: as for validate]
        #[arg(long)]
        pipelines: Option<PathBuf>,
    },
}

fn load(settings: &SettingsArgs, file: Option<PathBuf>) -> Result<PipelineSet, ExitCode> {
    super::runtime()
        .block_on(crate::pipeline_file::load_for_command(
            settings,
            file.as_deref(),
        ))
        .map_err(|e| {
            // The problems are this command's output, for a person or a CI log to read line by
            // line: plain text whatever the log format.
            eprintln!("error: {}", e.detail());
            e.fault.exit_code()
        })
}

pub fn main(settings: &SettingsArgs, cmd: PipelinesCommand) -> ExitCode {
    match cmd {
        PipelinesCommand::Validate { file } => match load(settings, file) {
            Ok(set) => {
                let mut problems = Vec::new();
                for p in &set.pipelines {
                    // Reading the file checked every pattern's syntax; a job compiles only those
                    // it matches with, so the one failure left (a pattern compiled over the size
                    // limit) is found here, before a job meets it.
                    for (field, re) in p.patterns() {
                        if let Err(e) = re.compile() {
                            problems.push(format!("pipeline {:?}, {field}: {e}", p.name));
                        }
                    }
                    let uploads: Vec<_> = p.upload_rules.iter().map(|u| &u.rule).collect();
                    let files: Vec<_> = p.rules.iter().collect();
                    for (what, list) in [("upload", uploads), ("files", files)] {
                        for (i, r) in list.into_iter().enumerate() {
                            for e in sample_problems(p, r) {
                                problems.push(format!("pipeline {:?}, {what}[{i}]: {e}", p.name));
                            }
                        }
                    }
                }
                if !problems.is_empty() {
                    eprintln!("{}: {} problem(s)", set.origin, problems.len());
                    for p in problems {
                        eprintln!("  {}: {p}", set.origin);
                    }
                    return ExitCode::Usage;
                }
                let rules: usize = set.pipelines.iter().map(|p| p.rules.len()).sum();
                println!(
                    "{}: ok ({} pipelines, {rules} file rules, {} vocabularies)",
                    set.origin,
                    set.pipelines.len(),
                    set.vocabularies.len()
                );
                ExitCode::Ok
            }
            Err(code) => code,
        },
        PipelinesCommand::List { file, format } => match load(settings, file) {
            Ok(set) if format == Format::Json => {
                println!("{}", list_json(&set));
                ExitCode::Ok
            }
            Ok(set) => {
                for p in &set.pipelines {
                    let checks: Vec<String> = p.checks.iter().map(ToString::to_string).collect();
                    println!("{}", p.name);
                    println!("  keys:   {}", p.keys.as_str());
                    if !checks.is_empty() {
                        println!("  checks: {} ({:?})", checks.join(", "), p.criteria);
                    }
                    let how = if p.writes.declared {
                        "declared"
                    } else {
                        "from its templates"
                    };
                    println!(
                        "  writes: {} in the public store, {} in the archive ({how})",
                        p.writes.describe(crate::layout::Area::Public),
                        p.writes.describe(crate::layout::Area::Archive)
                    );
                    for (i, r) in p.rules.iter().enumerate() {
                        let include = written_pattern(&r.include);
                        match &r.reject {
                            Some(_) => println!("  files[{i}]: {include} → rejected"),
                            None => println!("  files[{i}]: {include} → {}", r.publish),
                        }
                    }
                }
                for v in &set.vocabularies {
                    println!(
                        "vocabulary {}: {} entries from {} ({})",
                        v.name,
                        v.entries.len(),
                        v.file,
                        v.date
                    );
                }
                ExitCode::Ok
            }
            Err(code) => code,
        },
        PipelinesCommand::Route {
            key,
            file,
            pipelines,
        } => match load(settings, pipelines) {
            Ok(set) => {
                let routed = route(&set, &key, file.as_deref(), chrono::Utc::now());
                print!("{routed}");
                match routed {
                    Routed::Placed(_) => ExitCode::Ok,
                    Routed::Refused { .. } => ExitCode::Rejected,
                }
            }
            Err(code) => code,
        },
    }
}

/// `pipelines list --format json`: each pipeline with what it claims and how each rule publishes.
fn list_json(set: &PipelineSet) -> String {
    let pipelines: Vec<serde_json::Value> = set
        .pipelines
        .iter()
        .map(|p| {
            let rules: Vec<serde_json::Value> = p
                .rules
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "include": written_pattern(&r.include),
                        "exclude": r.exclude.as_deref().map(written_pattern),
                        "check": r.check.map(|c| c.to_string()),
                        "publish": r.publish.to_string(),
                        "rejected": r.reject.is_some(),
                    })
                })
                .collect();
            serde_json::json!({
                "name": p.name,
                "keys": p.keys.as_str(),
                "catch_all": p.catch_all().map(|c| c.to_string()),
                "allowed_extensions": p.allowed_extensions,
                "checks": p.checks.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "criteria": (!p.checks.is_empty()).then_some(p.criteria),
                "owners": p.owners,
                "notify_success": p.notify_success,
                "rules": rules,
            })
        })
        .collect();
    let doc = serde_json::json!({"origin": set.origin, "pipelines": pipelines});
    serde_json::to_string_pretty(&doc).expect("json serialises")
}
