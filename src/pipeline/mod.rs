//! Pipelines as data: which uploads a pipeline owns, which files it accepts, how each is checked
//! and where it is published. Loaded from TOML and validated before any job starts.

mod config;
pub mod handler;
mod harvest;
pub mod imos_name;
pub mod template;

use std::path::Path;
use std::sync::Arc;

use regex::Regex;

pub use config::{ConfigError, ConfigProblem};
pub use handler::Handler;
pub use imos_name::ImosName;
pub use template::{Template, TemplateContext, TimeCoverage};

use crate::check::TableSchema;
use crate::compliance::Suite;
use crate::harvest::Collection;
use crate::model::{CheckType, PublishType};

/// The example pipeline file, compiled in: used when no pipeline file is given or found.
pub const EXAMPLE: &str = include_str!("../../examples/pipelines.toml");

/// How strictly compliance results count, as the reference's compliance-checker.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum Criteria {
    /// Every failed check counts.
    Strict,
    /// High and medium priority failures count.
    Normal,
    /// Only high priority failures count.
    Lenient,
}

/// How a new file replaces what is already published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Supersede {
    /// A file published to an existing destination replaces it.
    Overwrite,
    /// IMOS versions: files that differ only in `_C-<creation date>` are one product; the newer
    /// replaces the older, an older upload is rejected.
    SameProductOlderCreation,
}

/// A rule for the files of a pipeline. The first rule whose `include` matches the file name (and
/// whose `exclude` does not) claims the file.
#[derive(Debug, Clone)]
pub struct FileRule {
    /// Anchored at the start of the file name, as the reference's `re.match`.
    pub include: Regex,
    pub exclude: Option<Regex>,
    /// The check type; `None` means the default for the file's kind.
    pub check: Option<CheckType>,
    pub publish: PublishType,
    /// The publish type for deletions of files this rule claims.
    pub on_delete: PublishType,
    /// Where the rule's files are published, and archived (the dest template when `None`).
    pub dest: Option<Template>,
    pub archive: Option<Template>,
    pub allowed_dest: Vec<Regex>,
    pub supersede: Supersede,
    /// The table schema for this rule's CSV files (overrides the pipeline's).
    pub table_schema: Option<Arc<TableSchema>>,
    /// The collection this rule's files are harvested into (overrides the pipeline's).
    pub harvest: Option<Arc<Collection>>,
}

/// Caps on what unpacking an archive (ZIP, gzip) or a manifest may produce, against zip bombs
/// and runaway uploads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnpackLimits {
    /// Total bytes of all unpacked files.
    pub max_bytes: u64,
    /// Files in one archive or manifest.
    pub max_entries: usize,
    /// Unpacked size over compressed size, for any member larger than [`RATIO_FLOOR`] bytes.
    pub max_ratio: u64,
}

/// Members smaller than this are never ratio-checked: tiny files compress absurdly well and
/// cannot be bombs.
pub const RATIO_FLOOR: u64 = 1 << 20;

impl Default for UnpackLimits {
    fn default() -> Self {
        UnpackLimits {
            max_bytes: 10 << 30,
            max_entries: 10_000,
            max_ratio: 100,
        }
    }
}

impl FileRule {
    pub fn claims(&self, name: &str) -> bool {
        self.include.is_match(name) && !self.exclude.as_ref().is_some_and(|e| e.is_match(name))
    }
}

/// A validated pipeline.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub name: String,
    /// Which incoming keys this pipeline owns (searched, not anchored: write `^` to anchor).
    pub keys: Regex,
    /// Lower-case extensions with the dot; empty means any.
    pub allowed_extensions: Vec<String>,
    /// The upload's name must match one of these (anchored at the start); empty means any.
    pub allowed_regexes: Vec<Regex>,
    pub checks: Vec<Suite>,
    pub criteria: Criteria,
    pub skip_checks: Vec<String>,
    pub owners: Vec<String>,
    pub notify_success: Vec<String>,
    /// The facility's hooks, picked by name once, when the pipeline file is validated.
    pub handler: Arc<dyn Handler>,
    /// Whether uploads may delete published files (`.delete_manifest`, rsync `*deleting` lines).
    pub allow_delete_manifests: bool,
    pub rules: Vec<FileRule>,
    /// The table schema for CSV files of rules that name none.
    pub table_schema: Option<Arc<TableSchema>>,
    pub unpack: UnpackLimits,
    /// The collection the files of rules that name none are harvested into.
    pub harvest: Option<Arc<Collection>>,
}

impl Pipeline {
    /// The first rule claiming `name`, with its index.
    pub fn rule_for(&self, name: &str) -> Option<(usize, &FileRule)> {
        self.rules.iter().enumerate().find(|(_, r)| r.claims(name))
    }

    /// The check a file gets when its rule names none: compliance for NetCDF when the pipeline
    /// has suites, else a format check for NetCDF; non-empty for everything else (the reference's
    /// defaults).
    pub fn default_check(&self, name: &str) -> CheckType {
        if name.to_ascii_lowercase().ends_with(".nc") {
            if self.checks.is_empty() {
                CheckType::Format
            } else {
                CheckType::NcCompliance
            }
        } else {
            CheckType::NonEmpty
        }
    }

    /// The check a file gets under `rule`: the rule's own, else table_schema for a CSV file when a
    /// schema applies, else [`Pipeline::default_check`].
    pub fn check_for(&self, rule: &FileRule, name: &str) -> CheckType {
        if let Some(check) = rule.check {
            return check;
        }
        if name.to_ascii_lowercase().ends_with(".csv") && self.schema_for(rule).is_some() {
            return CheckType::TableSchema;
        }
        self.default_check(name)
    }

    /// The table schema that applies to a rule's files.
    pub fn schema_for(&self, rule: &FileRule) -> Option<Arc<TableSchema>> {
        rule.table_schema
            .clone()
            .or_else(|| self.table_schema.clone())
    }

    /// The collection a file claimed by the `rule`-th rule (or by none) is harvested into, if
    /// any: the rule's own, else the pipeline's.
    pub fn harvest_for(&self, rule: Option<usize>) -> Option<Arc<Collection>> {
        rule.and_then(|i| self.rules.get(i))
            .and_then(|r| r.harvest.clone())
            .or_else(|| self.harvest.clone())
    }

    /// Refuses an upload whose name the pipeline does not accept, saying why.
    pub fn accepts_upload(&self, name: &str) -> Result<(), String> {
        let lower = name.to_ascii_lowercase();
        if !self.allowed_extensions.is_empty()
            && !self.allowed_extensions.iter().any(|e| lower.ends_with(e))
        {
            return Err(format!(
                "{name}: pipeline {} accepts only {} files",
                self.name,
                self.allowed_extensions.join(", ")
            ));
        }
        if !self.allowed_regexes.is_empty()
            && !self.allowed_regexes.iter().any(|r| r.is_match(name))
        {
            return Err(format!(
                "{name}: the name does not match any allowed pattern of pipeline {}",
                self.name
            ));
        }
        Ok(())
    }
}

/// All pipelines of one pipeline file.
#[derive(Debug)]
pub struct PipelineSet {
    /// Where the set came from, for messages.
    pub origin: String,
    pub pipelines: Vec<Pipeline>,
}

impl PipelineSet {
    /// Parses and validates pipeline TOML (no I/O), then loads the table schemas it names.
    /// `origin` names it in messages. Relative `table_schema` paths are read from the current
    /// folder.
    pub fn parse(text: &str, origin: &str) -> Result<PipelineSet, ConfigError> {
        config::parse(text, origin, Path::new(""))
    }

    /// As [`PipelineSet::parse`], with relative `table_schema` paths under `base` (the pipeline
    /// file's folder).
    pub fn parse_at(text: &str, origin: &str, base: &Path) -> Result<PipelineSet, ConfigError> {
        config::parse(text, origin, base)
    }

    /// Loads a pipeline file, or the compiled-in example when `path` is `None`.
    pub fn load(path: Option<&Path>) -> Result<PipelineSet, ConfigError> {
        match path {
            None => PipelineSet::parse(EXAMPLE, "<embedded example pipelines>"),
            Some(p) => {
                let origin = p.display().to_string();
                let text = std::fs::read_to_string(p).map_err(|e| ConfigError {
                    origin: origin.clone(),
                    problems: vec![ConfigProblem {
                        line: None,
                        column: None,
                        pipeline: None,
                        field: None,
                        message: format!("cannot read the pipeline file: {e}"),
                    }],
                })?;
                PipelineSet::parse_at(&text, &origin, p.parent().unwrap_or(Path::new("")))
            }
        }
    }

    /// The pipeline that owns an incoming key: the first whose `keys` pattern matches.
    pub fn route(&self, key: &str) -> Option<&Pipeline> {
        self.pipelines.iter().find(|p| p.keys.is_match(key))
    }

    pub fn by_name(&self, name: &str) -> Option<&Pipeline> {
        self.pipelines.iter().find(|p| p.name == name)
    }
}
