//! `ocean-ingest pipelines`: validate a pipeline file and show what it routes where.

use std::path::PathBuf;

use clap::Subcommand;

use crate::error::ExitCode;
use crate::pipeline::PipelineSet;
use crate::settings::SettingsArgs;

#[derive(Debug, Subcommand)]
pub enum PipelinesCommand {
    /// Validate a pipeline file without touching any store; report every problem with its line,
    /// overlapping writes of two pipelines included
    Validate {
        /// The file [default: --pipelines / INGEST_PIPELINES, ./pipelines.toml, else the built-in example]
        file: Option<PathBuf>,
    },
    /// List the pipelines of a file: name, keys pattern, checks, where it writes and its rules
    List {
        /// The file [default: as for validate]
        file: Option<PathBuf>,
    },
}

fn load(settings: &SettingsArgs, file: Option<PathBuf>) -> Result<PipelineSet, ExitCode> {
    let path = crate::settings::pipelines_file(file.or_else(|| settings.pipelines.clone()));
    PipelineSet::load(path.as_deref()).map_err(|e| {
        eprintln!("{e}");
        ExitCode::Usage
    })
}

pub fn main(settings: &SettingsArgs, cmd: PipelinesCommand) -> ExitCode {
    match cmd {
        PipelinesCommand::Validate { file } => match load(settings, file) {
            Ok(set) => {
                let rules: usize = set.pipelines.iter().map(|p| p.rules.len()).sum();
                println!(
                    "{}: ok ({} pipelines, {rules} file rules)",
                    set.origin,
                    set.pipelines.len()
                );
                ExitCode::Ok
            }
            Err(code) => code,
        },
        PipelinesCommand::List { file } => match load(settings, file) {
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
                        let include = r
                            .include
                            .as_str()
                            .trim_start_matches("^(?:")
                            .trim_end_matches(')');
                        println!("  files[{i}]: {include} → {}", r.publish);
                    }
                }
                ExitCode::Ok
            }
            Err(code) => code,
        },
    }
}
