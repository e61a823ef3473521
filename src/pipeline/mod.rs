//! Pipelines as data: which uploads a pipeline owns, which files it accepts, how each is checked
//! and where it is published. Loaded from TOML and validated before any job starts.

pub mod catch_all;
mod config;
pub mod conversion;
pub mod handler;
mod harvest;
pub mod imos_name;
pub mod route;
pub mod template;
pub mod vocabulary;
pub mod whole;
mod wired;
pub mod writes;

use std::path::Path;
use std::sync::Arc;

pub use catch_all::CatchAll;
pub use config::{ConfigError, ConfigProblem};
pub use handler::Handler;
pub use imos_name::ImosName;
pub use template::{Globals, Template, TemplateContext, TimeCoverage};
pub use vocabulary::Vocabulary;
pub use writes::{PathPattern, Writes};

use crate::check::TableSchema;
use crate::compliance::{Criteria, Suite};
use crate::harvest::Collection;
use crate::model::{CheckType, PublishType};
use crate::text_regex::TextRegex;

/// The example pipeline file, compiled in: with [`DEMO_CATCH_ALL`], what the embedded default
/// runs when no pipeline file is named or found.
pub const EXAMPLE: &str = include_str!("../../examples/pipelines.toml");

/// The embedded default's demo pipeline, `unittest`: it claims every `.nc` no facility claims and
/// publishes it under `UNITTEST/`, so any NetCDF file can be tried on a laptop. A catch-all route,
/// kept out of `examples/pipelines.toml` so that a copy of that file never carries one.
pub const DEMO_CATCH_ALL: &str = include_str!("demo-catch-all.toml");

/// How the compiled-in example names itself in messages.
pub const EXAMPLE_ORIGIN: &str = "<embedded example pipelines>";

/// How a pipeline file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOptions<'a> {
    /// The folder the files it names by relative paths (table schemas) are read from; `None` for
    /// a file with no folder of its own (fetched from an object store), which may name such
    /// files only by absolute paths.
    pub base: Option<&'a Path>,
    /// Whether a pipeline whose `keys` claims every key ([`catch_all`]) is accepted; when not,
    /// each one is a problem at its `keys`.
    pub allow_catch_all: bool,
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

/// A pattern of the pipeline file: its syntax checked when the file is read, compiled when a job
/// first matches with it ([`TextRegex::checked`]), shared by the pipeline's clones.
pub type Pattern = Arc<TextRegex>;

/// A rule for the files of a pipeline. The first rule whose `include` matches the file name (and
/// whose `exclude` does not) claims the file.
#[derive(Debug, Clone)]
pub struct FileRule {
    /// Anchored at the start of the file name, as the reference's `re.match`.
    pub include: Pattern,
    pub exclude: Option<Pattern>,
    /// The check type; `None` means the default for the file's kind.
    pub check: Option<CheckType>,
    pub publish: PublishType,
    /// The publish type for deletions of files this rule claims.
    pub on_delete: PublishType,
    /// Where the rule's files are published, and archived (the dest template when `None`).
    pub dest: Option<Template>,
    pub archive: Option<Template>,
    pub allowed_dest: Vec<Pattern>,
    pub supersede: Supersede,
    /// The table schema for this rule's CSV files (overrides the pipeline's).
    pub table_schema: Option<Arc<TableSchema>>,
    /// The collection this rule's files are harvested into (overrides the pipeline's).
    pub harvest: Option<Arc<Collection>>,
    /// A rule that claims files only to refuse them, with this reason.
    pub reject: Option<Template>,
    /// Conditions every file of the rule must meet, each with the reason it is refused.
    pub require: Vec<Requirement>,
    /// How the rule's files meet their published versions (`[pipeline.files.published]`).
    pub published: Option<PublishedRule>,
    /// Files each of the rule's files makes (`derive = [{ builtin = "…", name = "…", … }]`).
    pub derive: Vec<Derivation>,
}

/// A file made from each file of a rule by a built-in derivation: it joins the upload's files,
/// is claimed by the rule its name matches and is checked and published like an uploaded file.
#[derive(Debug, Clone)]
pub struct Derivation {
    /// The made file's name (a template of the source file's context).
    pub name: Template,
    pub builtin: Builtin,
}

/// The built-in derivations, each with what the pipeline file says to make.
#[derive(Debug, Clone)]
pub enum Builtin {
    /// Maps of a swath's fields as a PNG ([`crate::plot::map`]).
    MapPlot(Arc<crate::plot::map::MapSpec>),
    /// A variable against depth as a JPEG or PNG ([`crate::plot::profile_plot`]), titled by a
    /// template of the file's context.
    ProfilePlot {
        spec: Arc<crate::plot::profile_plot::ProfileSpec>,
        title: Option<Template>,
    },
    /// A delimited text table converted to NetCDF by a declaration file
    /// ([`conversion`]); the made file is named after it is made, so the name's
    /// template sees its global attributes (`attrs`).
    TableToNetcdf {
        /// The declaration file as the pipeline file names it (relative to it).
        file: String,
        /// The declaration, loaded and validated with the pipeline file.
        conversion: Option<Arc<conversion::TableConversion>>,
    },
}

impl Builtin {
    /// The names `builtin = "…"` takes.
    pub const NAMES: &[&str] = &["map_plot", "profile_plot", "table_to_netcdf"];

    pub fn label(&self) -> &'static str {
        match self {
            Builtin::MapPlot(_) => "map_plot",
            Builtin::ProfilePlot { .. } => "profile_plot",
            Builtin::TableToNetcdf { .. } => "table_to_netcdf",
        }
    }
}

/// `[pipeline.files.published]`: a file's published versions, compared and replaced. The file
/// published at the new file's own destination is its version (overwritten); when there is none
/// and `versions` is given, the published files of the destination folder whose name matches
/// it are, and they are removed after the new file is published (by the `on_delete` of the rule
/// claiming each).
#[derive(Debug, Clone)]
pub struct PublishedRule {
    /// Which published names in the destination folder are versions of the file (anchored at
    /// the start of the name).
    pub versions: Option<Pattern>,
    /// More versions than this rejects the upload: which one is replaced is not ours to guess.
    pub at_most: Option<usize>,
    /// Conditions each version must meet (templates see `published.dest`, `.name`, `.attrs`).
    pub require: Vec<Requirement>,
}

/// A condition a rule's files must meet (`[[pipeline.files.require]]`).
#[derive(Debug, Clone)]
pub struct Requirement {
    /// A minijinja expression; false refuses the file.
    pub that: Template,
    /// Why, as a template.
    pub reason: Template,
}

impl Requirement {
    /// The reasons of the requirements that `ctx` fails (an evaluation error is its own reason).
    pub fn failures<'r>(
        requirements: impl IntoIterator<Item = &'r Requirement>,
        ctx: &TemplateContext,
    ) -> Vec<String> {
        let mut out = Vec::new();
        for req in requirements {
            match req.that.evaluate(ctx) {
                Ok(true) => {}
                Ok(false) => out.push(req.reason.render(ctx).unwrap_or_else(|e| e)),
                Err(e) => out.push(e),
            }
        }
        out
    }
}

/// A rule pattern as the pipeline file wrote it: `include` and `exclude` are compiled anchored
/// at the start of the name, `^(?:…)`.
pub fn written_pattern(anchored: &TextRegex) -> &str {
    let s = anchored.as_str();
    s.strip_prefix("^(?:")
        .and_then(|s| s.strip_suffix(')'))
        .unwrap_or(s)
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

    /// The groups of the include pattern's match on `name` as templates see them (`m`): every
    /// named group by name and every group by number; a group that took no part is `none`.
    pub fn groups(&self, name: &str) -> minijinja::Value {
        let mut map = std::collections::BTreeMap::new();
        if let Some(caps) = self.include.captures(name) {
            for (i, (group, text)) in caps.iter().enumerate() {
                let v = text.map_or(minijinja::Value::from(()), minijinja::Value::from);
                map.insert(minijinja::Value::from(i), v.clone());
                if let Some(n) = group {
                    map.insert(minijinja::Value::from(n), v);
                }
            }
        }
        minijinja::Value::from(map)
    }

    /// Whether deciding to refuse a file needs its content (its header or coverage), or only its
    /// name: name-only refusals are made when the file is claimed, before any check.
    pub fn refusal_reads_content(&self) -> bool {
        self.reject.as_ref().is_some_and(Template::reads_content)
            || self
                .require
                .iter()
                .any(|r| r.that.reads_content() || r.reason.reads_content())
    }

    /// Why the rule refuses a file (its `reject`, its failed `require`s), every reason at once;
    /// empty when it accepts the file. With `content` false, only what the name decides.
    pub fn refusals(&self, ctx: &TemplateContext, content: bool) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(r) = self
            .reject
            .as_ref()
            .filter(|t| content || !t.reads_content())
        {
            out.push(r.render(ctx).unwrap_or_else(|e| e));
        }
        let decided = self
            .require
            .iter()
            .filter(|r| content || !(r.that.reads_content() || r.reason.reads_content()));
        out.extend(Requirement::failures(decided, ctx));
        out
    }
}

/// The uploaded object published whole (the reference's handlers that publish the input file,
/// e.g. DWM's image ZIPs): when the upload's name matches `rule` and none of its files matches
/// `unless_member`, the upload is checked and published by `rule` and its files get `members`.
#[derive(Debug, Clone)]
pub struct UploadRule {
    /// Claims the upload's name; its check, publish type, dest and archive are the upload's.
    pub rule: FileRule,
    /// A file of the upload matching this (anchored at the start) keeps the rule from applying.
    pub unless_member: Option<Pattern>,
    /// What the upload's files become: `no_action` (the default) or `archive_only`.
    pub members: PublishType,
    /// `members = "rules"`: the upload is published as the rule says *and* its files are
    /// claimed by the file rules (a single-file upload is then two files of the collection: the
    /// upload itself and the file the rules place).
    pub members_by_rules: bool,
}

/// A validated pipeline.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub name: String,
    /// Which incoming keys this pipeline owns (searched, not anchored: write `^` to anchor).
    pub keys: Pattern,
    /// Lower-case extensions with the dot; empty means any.
    pub allowed_extensions: Vec<String>,
    /// The upload's name must match one of these (anchored at the start); empty means any.
    pub allowed_regexes: Vec<Pattern>,
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
    /// `[[pipeline.upload]]`: when the uploaded object itself is published whole.
    pub upload_rules: Vec<UploadRule>,
    /// The table schema for CSV files of rules that name none.
    pub table_schema: Option<Arc<TableSchema>>,
    /// `table_schemas = "<folder>"`: the schemas (by file name, sorted) a CSV file of a rule that
    /// names none is checked against, found by the file's name ([`Pipeline::schema_named`]).
    pub table_schemas: Vec<(String, Arc<TableSchema>)>,
    pub unpack: UnpackLimits,
    /// What every template of the pipeline sees: its constants and the file's vocabularies.
    pub globals: Globals,
    /// The pipeline file's vocabularies, as loaded (what handlers look names up in).
    pub vocabularies: Arc<Vec<Vocabulary>>,
    /// The collection the files of rules that name none are harvested into.
    pub harvest: Option<Arc<Collection>>,
    /// Where the pipeline may add, delete and supersede files.
    pub writes: Writes,
    /// `primary = '<pattern>'`: the one file of each upload that places the others (anchored at
    /// the start of its name); its rule's templates are rendered first and the others see it as
    /// `primary`.
    pub primary: Option<Pattern>,
}

impl Pipeline {
    /// Every pattern of the pipeline, with the field of the pipeline file that holds it.
    pub fn patterns(&self) -> Vec<(String, &TextRegex)> {
        let mut out: Vec<(String, &TextRegex)> = vec![("keys".into(), &self.keys)];
        for (i, r) in self.allowed_regexes.iter().enumerate() {
            out.push((format!("allowed_regexes[{i}]"), r));
        }
        out.extend(self.primary.as_deref().map(|r| ("primary".into(), r)));
        for (list, rules) in [
            (
                "upload",
                self.upload_rules
                    .iter()
                    .map(|u| &u.rule)
                    .collect::<Vec<_>>(),
            ),
            ("files", self.rules.iter().collect()),
        ] {
            for (i, r) in rules.into_iter().enumerate() {
                out.push((format!("{list}[{i}].include"), &r.include));
                out.extend(
                    r.exclude
                        .as_deref()
                        .map(|e| (format!("{list}[{i}].exclude"), e)),
                );
                for (j, d) in r.allowed_dest.iter().enumerate() {
                    out.push((format!("{list}[{i}].allowed_dest[{j}]"), d));
                }
                if let Some(v) = r.published.as_ref().and_then(|p| p.versions.as_deref()) {
                    out.push((format!("{list}[{i}].published.versions"), v));
                }
            }
        }
        for (i, u) in self.upload_rules.iter().enumerate() {
            out.extend(
                u.unless_member
                    .as_deref()
                    .map(|m| (format!("upload[{i}].unless_member"), m)),
            );
        }
        out
    }

    /// The template context of a file `rule` claims, before its content is known: its name and
    /// the rule's groups, the upload's key, the job's start, the pipeline's globals.
    pub fn context(
        &self,
        rule: &FileRule,
        name: &str,
        key: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> TemplateContext {
        let mut ctx = TemplateContext::new(name, key, &self.name);
        ctx.groups = rule.groups(name);
        ctx.now = now;
        ctx.globals = self.globals.clone();
        ctx
    }

    /// The vocabulary the pipeline file declares under `name`.
    pub fn vocabulary(&self, name: &str) -> Option<&Vocabulary> {
        self.vocabularies.iter().find(|v| v.name == name)
    }

    /// The first upload rule that publishes an upload named `name` whole, given the names of
    /// its files, with its index.
    pub fn upload_rule_for(&self, name: &str, members: &[&str]) -> Option<(usize, &UploadRule)> {
        self.upload_rules.iter().enumerate().find(|(_, u)| {
            u.rule.claims(name)
                && !u
                    .unless_member
                    .as_ref()
                    .is_some_and(|r| members.iter().any(|m| r.is_match(m)))
        })
    }

    /// Gives `file` the first rule claiming its name: its publish type (a deletion: the rule's
    /// `on_delete`) and check. Returns the rule's refusals of the name (a rule that refuses a
    /// name refuses its deletion too), or `None` when no rule claims it.
    pub fn claim(
        &self,
        file: &mut crate::model::PipelineFile,
        key: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<Vec<String>> {
        let (i, rule) = self.rule_for(&file.name)?;
        file.rule = Some(i);
        if file.is_deletion() {
            file.publish_type = rule.on_delete;
        } else {
            file.publish_type = rule.publish;
            file.check_type = self.check_for(rule, &file.name);
        }
        let mut ctx = self.context(rule, &file.name, key, now);
        if let Some(p) = &file.path {
            ctx.path = p.clone();
        }
        let reasons = rule.refusals(&ctx, false);
        let (check, publish) = (file.check_type, file.publish_type);
        file.record(
            "Resolved",
            format!("claimed by files[{i}]: check {check}, publish {publish}"),
        );
        Some(reasons)
    }

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
        if name.to_ascii_lowercase().ends_with(".csv")
            && (self.schema_for(rule).is_some() || !self.table_schemas.is_empty())
        {
            return CheckType::TableSchema;
        }
        self.default_check(name)
    }

    /// The schema of the `table_schemas` folder a CSV file is checked against, found by its
    /// name as the reference's harvester finds one: the first (by file name) whose name holds the
    /// file's name without its extension. `None` when none does: the check then fails.
    pub fn schema_named(&self, file_name: &str) -> Option<Arc<TableSchema>> {
        let stem = template::split_name(file_name).0;
        self.table_schemas
            .iter()
            .find(|(n, _)| n.contains(&stem))
            .map(|(_, s)| s.clone())
    }

    /// The table schema that applies to a rule's files.
    pub fn schema_for(&self, rule: &FileRule) -> Option<Arc<TableSchema>> {
        rule.table_schema
            .clone()
            .or_else(|| self.table_schema.clone())
    }

    /// Whether the pipeline's `keys` claims every key (of some extension): a catch-all route.
    pub fn catch_all(&self) -> Option<CatchAll> {
        catch_all::catch_all(&self.keys, &self.allowed_extensions)
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
    /// The vocabularies the file declares, as loaded.
    pub vocabularies: Vec<Vocabulary>,
}

impl PipelineSet {
    /// Parses and validates pipeline TOML (no I/O), then loads the table schemas it names.
    /// `origin` names it in messages. Relative `table_schema` paths are read from the current
    /// folder. Catch-all routes are accepted here: the loader of a process's pipeline file, one
    /// layer above, applies the opt-in.
    pub fn parse(text: &str, origin: &str) -> Result<PipelineSet, ConfigError> {
        PipelineSet::parse_at(text, origin, Path::new(""))
    }

    /// As [`PipelineSet::parse`], with relative `table_schema` paths under `base` (the pipeline
    /// file's folder).
    pub fn parse_at(text: &str, origin: &str, base: &Path) -> Result<PipelineSet, ConfigError> {
        PipelineSet::read(
            text,
            origin,
            ReadOptions {
                base: Some(base),
                allow_catch_all: true,
            },
        )
    }

    /// Parses and validates pipeline TOML as `opts` say, then loads the table schemas it names.
    pub fn read(text: &str, origin: &str, opts: ReadOptions) -> Result<PipelineSet, ConfigError> {
        config::parse(text, origin, opts)
    }

    /// The compiled-in example with the demo's catch-all pipeline: the embedded default's
    /// pipelines.
    pub fn example() -> Result<PipelineSet, ConfigError> {
        PipelineSet::parse(&format!("{EXAMPLE}\n{DEMO_CATCH_ALL}"), EXAMPLE_ORIGIN)
    }

    /// Loads a pipeline file, or the compiled-in example when `path` is `None`.
    pub fn load(path: Option<&Path>) -> Result<PipelineSet, ConfigError> {
        match path {
            None => PipelineSet::example(),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A job matches a few of a pipeline file's patterns: reading the file compiles none of
    /// them (their syntax is checked), and a job compiles what it matches with.
    #[test]
    fn reading_a_pipeline_file_compiles_no_pattern() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/imos/pipelines.toml"
        ))
        .unwrap();
        let base = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/imos"));
        let set = PipelineSet::parse_at(&text, "imos", base).unwrap();
        let patterns: Vec<(String, &TextRegex)> =
            set.pipelines.iter().flat_map(|p| p.patterns()).collect();
        assert!(patterns.len() > 100, "{} patterns", patterns.len());
        let compiled: Vec<&String> = patterns
            .iter()
            .filter(|(_, re)| re.compiled())
            .map(|(f, _)| f)
            .collect();
        assert!(compiled.is_empty(), "compiled on reading: {compiled:?}");
        let anmn = set
            .by_name("anmn_nrs_ctd_profiles")
            .or(set.pipelines.first())
            .unwrap();
        let rule = &anmn.rules[0];
        let _ = rule.claims("anything.nc");
        assert!(rule.include.compiled(), "matching compiles the pattern");
    }

    #[test]
    fn a_pattern_syntax_error_is_reported_at_its_field_and_line() {
        let text = "[[pipeline]]\nname = \"p\"\nkeys = '^P/'\nchecks = []\n\n[[pipeline.files]]\ninclude = '(IMOS_.*\\.nc'\npublish = \"no_action\"\n";
        let e = PipelineSet::parse(text, "p.toml").unwrap_err().to_string();
        assert!(
            e.contains("files[0].include") && e.contains("invalid regular expression"),
            "{e}"
        );
        assert!(e.contains("unclosed group"), "{e}");
    }
}
