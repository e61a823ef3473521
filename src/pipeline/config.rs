//! The pipeline file as written (TOML, with source positions), its validation into
//! [`super::PipelineSet`], and the one step that reads files: loading the table schemas it names.
//! Validation does no I/O; both report every problem with its line.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use super::template::{Globals, lint};
use super::vocabulary::{Format, Vocabulary};
use super::writes::{PathPattern, Writes, regex_prefixes, template_prefix};
use super::{
    Builtin, Derivation, FileRule, Pattern, Pipeline, PipelineSet, PublishedRule, ReadOptions,
    Requirement, Supersede, Template, UnpackLimits, UploadRule,
};
use crate::check::TableSchema;
use crate::compliance::Criteria;
use crate::layout::Area;
use crate::model::{CheckType, PublishType, parse_named};
use crate::text_regex::TextRegex;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    pipeline: Vec<RawPipeline>,
    #[serde(default)]
    vocabulary: Vec<RawVocabulary>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVocabulary {
    name: Spanned<String>,
    file: Spanned<String>,
    format: Option<Spanned<String>>,
    date: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequire {
    that: Spanned<String>,
    reason: Spanned<String>,
}

/// `[pipeline.files.published]`: how a file meets what is published before it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPublished {
    versions: Option<Spanned<String>>,
    at_most: Option<Spanned<i64>>,
    #[serde(default)]
    require: Vec<RawRequire>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPipeline {
    name: Spanned<String>,
    keys: Spanned<String>,
    primary: Option<Spanned<String>>,
    #[serde(default)]
    allowed_extensions: Vec<Spanned<String>>,
    #[serde(default)]
    allowed_regexes: Vec<Spanned<String>>,
    #[serde(default)]
    checks: Vec<Spanned<String>>,
    criteria: Option<Spanned<String>>,
    #[serde(default)]
    skip_checks: Vec<Spanned<String>>,
    #[serde(default)]
    owners: Vec<Spanned<String>>,
    #[serde(default)]
    notify_success: Vec<Spanned<String>>,
    handler: Option<Spanned<String>>,
    handler_params: Option<Spanned<toml::Table>>,
    #[serde(default)]
    allow_delete_manifests: bool,
    table_schema: Option<Spanned<String>>,
    table_schemas: Option<Spanned<String>>,
    max_unpacked_bytes: Option<Spanned<i64>>,
    max_archive_entries: Option<Spanned<i64>>,
    max_compression_ratio: Option<Spanned<i64>>,
    harvest: Option<Spanned<toml::Value>>,
    #[serde(default)]
    constants: toml::Table,
    #[serde(default)]
    writes: Vec<Spanned<String>>,
    #[serde(default)]
    files: Vec<RawRule>,
    #[serde(default)]
    upload: Vec<RawUploadRule>,
}

/// `[[pipeline.upload]]`: the uploaded object itself published whole (a ZIP of images), its
/// files then published as `members` says.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUploadRule {
    include: Spanned<String>,
    exclude: Option<Spanned<String>>,
    unless_member: Option<Spanned<String>>,
    members: Option<Spanned<String>>,
    check: Option<Spanned<String>>,
    publish: Option<Spanned<String>>,
    dest: Option<Spanned<String>>,
    archive: Option<Spanned<String>>,
    #[serde(default)]
    allowed_dest: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    include: Spanned<String>,
    exclude: Option<Spanned<String>>,
    check: Option<Spanned<String>>,
    publish: Option<Spanned<String>>,
    on_delete: Option<Spanned<String>>,
    dest: Option<Spanned<String>>,
    archive: Option<Spanned<String>>,
    #[serde(default)]
    allowed_dest: Vec<Spanned<String>>,
    supersede: Option<Spanned<String>>,
    table_schema: Option<Spanned<String>>,
    reject: Option<Spanned<String>>,
    #[serde(default)]
    require: Vec<RawRequire>,
    harvest: Option<Spanned<toml::Value>>,
    published: Option<Spanned<RawPublished>>,
    #[serde(default)]
    derive: Vec<Spanned<toml::Table>>,
}

/// One problem in a pipeline file, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub pipeline: Option<String>,
    pub field: Option<String>,
    pub message: String,
}

/// Every problem found in a pipeline file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The file's name as the user gave it (or `<embedded example>`).
    pub origin: String,
    pub problems: Vec<ConfigProblem>,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "{}: {n} problem{}",
            self.origin,
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            write!(f, "\n  {}", p.render(&self.origin))?;
        }
        Ok(())
    }
}

impl ConfigProblem {
    /// `file:line:col: pipeline "x", field: message`
    pub fn render(&self, origin: &str) -> String {
        let mut out = origin.to_string();
        if let Some(line) = self.line {
            out.push_str(&format!(":{line}"));
            if let Some(col) = self.column {
                out.push_str(&format!(":{col}"));
            }
        }
        out.push_str(": ");
        if let Some(p) = &self.pipeline {
            out.push_str(&format!("pipeline {p:?}, "));
        }
        if let Some(field) = &self.field {
            out.push_str(&format!("{field}: "));
        }
        out.push_str(&self.message);
        out
    }
}

struct Problems<'a> {
    text: &'a str,
    list: Vec<ConfigProblem>,
    /// The table schemas the file names, loaded after validation.
    schemas: Vec<SchemaRef>,
    /// The folders of table schemas found by a CSV file's name, loaded after validation.
    schema_folders: Vec<SchemaRef>,
    /// Whether a pipeline that claims every key is accepted.
    allow_catch_all: bool,
    /// The vocabularies the file declares, loaded after validation.
    vocabularies: Vec<RawVocabulary>,
    /// Their names, which templates may use as `vocab.<name>`.
    vocab_names: BTreeSet<String>,
    /// The harvest declaration files the file names, loaded after validation.
    harvests: Vec<SchemaRef>,
    /// The table conversions derivations name, loaded after validation.
    conversions: Vec<ConversionRef>,
    /// Where each pipeline may write, with what says so: compared once every pipeline is read.
    writes: Vec<WriteRef>,
}

/// One pattern of a pipeline's writes and the field it comes from.
struct WriteRef {
    pipeline: String,
    area: Area,
    pattern: PathPattern,
    field: String,
    span: std::ops::Range<usize>,
}

/// A table conversion named by a derivation, where it goes once loaded, and the scope its
/// templates are checked against (the rule's).
struct ConversionRef {
    path: Spanned<String>,
    pipeline: String,
    field: String,
    /// The pipeline, the rule and the derivation (their places).
    target: (usize, usize, usize),
    scope: lint::Scope,
}

/// A table schema (or harvest declaration) named in the pipeline file, and where it goes once
/// loaded.
struct SchemaRef {
    path: Spanned<String>,
    pipeline: String,
    field: String,
    /// The pipeline (its place in the set) and, for a rule's own schema, the rule.
    target: (usize, Option<usize>),
}

impl Problems<'_> {
    fn at(
        &mut self,
        span: std::ops::Range<usize>,
        pipeline: Option<&str>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) {
        let (line, column) = line_col(self.text, span.start);
        self.list.push(ConfigProblem {
            line: Some(line),
            column: Some(column),
            pipeline: pipeline.map(str::to_string),
            field: Some(field.into()),
            message: message.into(),
        });
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |i| before.len() - i - 1)
        + 1;
    (line, column)
}

/// Parses and validates a pipeline file, then loads the table schemas it names (relative
/// paths under `opts.base`, the pipeline file's folder). Every problem of both steps is reported.
pub fn parse(text: &str, origin: &str, opts: ReadOptions) -> Result<PipelineSet, ConfigError> {
    let (mut pipelines, mut problems) = validate(text, origin, opts.allow_catch_all)?;
    load_table_schemas(&mut pipelines, &mut problems, opts.base);
    load_schema_folders(&mut pipelines, &mut problems, opts.base);
    let vocabularies = load_vocabularies(&mut pipelines, &mut problems, opts.base);
    load_harvests(&mut pipelines, &mut problems, opts.base);
    load_conversions(&mut pipelines, &mut problems, opts.base);
    if problems.list.is_empty() {
        Ok(PipelineSet {
            origin: origin.to_string(),
            pipelines,
            vocabularies,
        })
    } else {
        Err(ConfigError {
            origin: origin.to_string(),
            problems: problems.list,
        })
    }
}

/// Parses and validates a pipeline file without any I/O: the pipelines that are valid, and the
/// problems found (with the table schemas still to load).
fn validate<'t>(
    text: &'t str,
    origin: &str,
    allow_catch_all: bool,
) -> Result<(Vec<Pipeline>, Problems<'t>), ConfigError> {
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map(|s| line_col(text, s.start)).unzip();
        ConfigError {
            origin: origin.to_string(),
            problems: vec![ConfigProblem {
                line,
                column,
                pipeline: None,
                field: None,
                message: e.message().to_string(),
            }],
        }
    })?;
    let mut problems = Problems {
        text,
        list: Vec::new(),
        schemas: Vec::new(),
        schema_folders: Vec::new(),
        allow_catch_all,
        vocabularies: Vec::new(),
        vocab_names: BTreeSet::new(),
        harvests: Vec::new(),
        conversions: Vec::new(),
        writes: Vec::new(),
    };
    for v in raw.vocabulary {
        let name = v.name.get_ref().clone();
        let ok = !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit());
        if !ok {
            problems.at(v.name.span(), None, "vocabulary.name", "use letters, digits and '_', starting with a letter (templates write vocab.<name>)");
        } else if !problems.vocab_names.insert(name) {
            problems.at(
                v.name.span(),
                None,
                "vocabulary.name",
                "another vocabulary already has this name",
            );
        }
        if let Some(f) = &v.format
            && parse_named::<Format>("vocabulary format", f.get_ref()).is_err()
        {
            problems.at(
                f.span(),
                None,
                "vocabulary.format",
                format!(
                    "unknown vocabulary format {:?}; use csv or json",
                    f.get_ref()
                ),
            );
        }
        problems.vocabularies.push(v);
    }
    let mut pipelines = Vec::new();
    if raw.pipeline.is_empty() {
        problems.list.push(ConfigProblem {
            line: None,
            column: None,
            pipeline: None,
            field: None,
            message: "no [[pipeline]] blocks: nothing would claim any upload".into(),
        });
    }
    let mut names = std::collections::BTreeSet::new();
    for rp in raw.pipeline {
        if let Some(p) = validate_pipeline(rp, pipelines.len(), &mut problems, &mut names) {
            pipelines.push(p);
        }
    }
    report_overlapping_writes(&mut problems);
    Ok((pipelines, problems))
}

/// Two pipelines whose writes overlap could publish, overwrite or delete one path each: every
/// such pair is a problem at the later pipeline's pattern, naming the other pipeline and its line.
/// A pattern that holds every path (a template that starts with an expression or a tag, an
/// `allowed_dest` that may start anyhow, a declared `*`) names no folder to compare: such a
/// pipeline's files are kept apart from other pipelines' only by the ownership of each path,
/// checked when it publishes.
fn report_overlapping_writes(problems: &mut Problems) {
    let writes = std::mem::take(&mut problems.writes);
    for (i, later) in writes.iter().enumerate() {
        for earlier in &writes[..i] {
            if earlier.pipeline == later.pipeline
                || earlier.area != later.area
                || earlier.pattern.is_anywhere()
                || later.pattern.is_anywhere()
                || !earlier.pattern.overlaps(&later.pattern)
            {
                continue;
            }
            let (line, _) = line_col(problems.text, earlier.span.start);
            let message = format!(
                "may write {} in {}, where pipeline {:?} may also write ({}, its {} at line {line}): one path could be published by both; declare writes = [...] for each so that they do not overlap",
                later.pattern,
                later.area.store(),
                earlier.pipeline,
                earlier.pattern,
                earlier.field,
            );
            problems.at(
                later.span.clone(),
                Some(&later.pipeline),
                later.field.clone(),
                message,
            );
        }
    }
}

/// Where a pipeline may write: its declared `writes` (both areas), else what its rules' templates
/// and `allowed_dest` patterns start with. Every pattern joins the overlap check.
fn pipeline_writes(
    problems: &mut Problems,
    pipeline: &str,
    declared: &[Spanned<String>],
    derived: Vec<DerivedWrite>,
) -> Writes {
    let mut writes = Writes {
        declared: !declared.is_empty(),
        ..Writes::default()
    };
    let refs: Vec<DerivedWrite> = if declared.is_empty() {
        derived
    } else {
        let mut refs = Vec::new();
        for (i, w) in declared.iter().enumerate() {
            match PathPattern::parse(w.get_ref()) {
                Ok(pattern) => {
                    for area in Area::ALL {
                        refs.push((area, pattern.clone(), format!("writes[{i}]"), w.span()));
                    }
                }
                Err(e) => problems.at(w.span(), Some(pipeline), format!("writes[{i}]"), e),
            }
        }
        refs
    };
    for (area, pattern, field, span) in refs {
        match area {
            Area::Public => writes.public.push(pattern.clone()),
            Area::Archive => writes.archive.push(pattern.clone()),
        }
        problems.writes.push(WriteRef {
            pipeline: pipeline.to_string(),
            area,
            pattern,
            field,
            span,
        });
    }
    writes
}

/// One place a rule may write, with the field and span it comes from.
type DerivedWrite = (Area, PathPattern, String, std::ops::Range<usize>);

/// What a rule writes, from the literal start of its templates and `allowed_dest` patterns: the
/// destination (and the allowed ones) in the public store, the archive path in the archive.
fn derived_writes(rule: &FileRule, raw: &RawRule, (list, i): (&str, usize)) -> Vec<DerivedWrite> {
    let mut out = Vec::new();
    if rule.reject.is_some() {
        // A rule that only refuses its files writes nothing.
        return out;
    }
    if let (Some(dest), Some(span)) = (&rule.dest, raw.dest.as_ref().map(Spanned::span)) {
        let prefix = PathPattern::literal(&template_prefix(dest));
        out.push((Area::Public, prefix, format!("{list}[{i}].dest"), span));
    }
    for (j, (re, raw_re)) in rule.allowed_dest.iter().zip(&raw.allowed_dest).enumerate() {
        for prefix in regex_prefixes(re) {
            out.push((
                Area::Public,
                PathPattern::literal(&prefix),
                format!("{list}[{i}].allowed_dest[{j}]"),
                raw_re.span(),
            ));
        }
    }
    if rule.publish.archive() {
        let archive = match (&rule.archive, &raw.archive) {
            (Some(t), Some(raw)) => Some((t, "archive", raw.span())),
            _ => rule
                .dest
                .as_ref()
                .zip(raw.dest.as_ref())
                .map(|(t, raw)| (t, "dest", raw.span())),
        };
        if let Some((t, field, span)) = archive {
            let prefix = PathPattern::literal(&template_prefix(t));
            out.push((Area::Archive, prefix, format!("{list}[{i}].{field}"), span));
        }
    }
    out
}

/// The step that reads files: each table schema the pipeline file names, put where it was named
/// (a pipeline's default, or one rule's own). A schema that cannot be read or is not a schema is
/// a problem at its line.
fn load_table_schemas(pipelines: &mut [Pipeline], problems: &mut Problems, base: Option<&Path>) {
    for named in std::mem::take(&mut problems.schemas) {
        let rel = named.path.get_ref();
        let loaded = side_file(base, rel).and_then(|path| TableSchema::load(&path, rel));
        match loaded {
            Ok(schema) => {
                let schema = Some(Arc::new(schema));
                match named.target {
                    (p, None) => {
                        if let Some(p) = pipelines.get_mut(p) {
                            p.table_schema = schema;
                        }
                    }
                    (p, Some(r)) => {
                        if let Some(rule) = pipelines.get_mut(p).and_then(|p| p.rules.get_mut(r)) {
                            rule.table_schema = schema;
                        }
                    }
                }
            }
            Err(e) => problems.at(named.path.span(), Some(&named.pipeline), named.field, e),
        }
    }
}

/// Loads each pipeline's `table_schemas` folder: every `*.json` in it, by file name, sorted. A
/// folder that cannot be read, holds no schema, or holds a file that is not a schema is a problem
/// at its line.
fn load_schema_folders(pipelines: &mut [Pipeline], problems: &mut Problems, base: Option<&Path>) {
    for named in std::mem::take(&mut problems.schema_folders) {
        let rel = named.path.get_ref();
        let loaded = side_file(base, rel).and_then(|dir| {
            let mut names: Vec<String> = std::fs::read_dir(&dir)
                .map_err(|e| format!("cannot read the table schema folder {}: {e}", dir.display()))?
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".json"))
                .collect();
            names.sort();
            if names.is_empty() {
                return Err(format!("{} holds no table schema (*.json)", dir.display()));
            }
            names
                .into_iter()
                .map(|n| {
                    let origin = format!("{}/{n}", rel.trim_end_matches('/'));
                    TableSchema::load(&dir.join(&n), &origin).map(|s| (n, Arc::new(s)))
                })
                .collect::<Result<Vec<_>, String>>()
        });
        match loaded {
            Ok(found) => {
                if let Some(p) = pipelines.get_mut(named.target.0) {
                    p.table_schemas = found;
                }
            }
            Err(e) => problems.at(named.path.span(), Some(&named.pipeline), named.field, e),
        }
    }
}

/// Where a file the pipeline file names (a table schema, a vocabulary) is read from: beside the pipeline file,
/// or, for a pipeline file with no folder of its own (fetched from an object store), only at an
/// absolute path.
fn side_file(base: Option<&Path>, rel: &str) -> Result<PathBuf, String> {
    match base {
        Some(base) => Ok(base.join(rel)),
        None if Path::new(rel).is_absolute() => Ok(PathBuf::from(rel)),
        None => Err(format!(
            "{rel:?} is relative, but this pipeline file was fetched from an object store and has \
             no folder beside it: name the file by an absolute path (e.g. one in the image)"
        )),
    }
}

/// The step that reads the vocabularies the file declares, then gives every pipeline's templates
/// `vocab`. A vocabulary that cannot be read is a problem at its line.
fn load_vocabularies(
    pipelines: &mut [Pipeline],
    problems: &mut Problems,
    base: Option<&Path>,
) -> Vec<Vocabulary> {
    let mut loaded = Vec::new();
    for v in std::mem::take(&mut problems.vocabularies) {
        let rel = v.file.get_ref();
        let format = match v.format.as_ref().map(|f| f.get_ref().as_str()) {
            Some("json") => Format::Json,
            Some("csv") => Format::Csv,
            Some(_) => continue,
            None if rel.ends_with(".json") => Format::Json,
            None => Format::Csv,
        };
        let path = match side_file(base, rel) {
            Ok(path) => path,
            Err(e) => {
                problems.at(v.file.span(), None, "vocabulary.file", e);
                continue;
            }
        };
        match Vocabulary::load(v.name.get_ref(), &path, rel, format, v.date.get_ref()) {
            Ok(vocab) => loaded.push(vocab),
            Err(e) => problems.at(v.file.span(), None, "vocabulary.file", e),
        }
    }
    let vocab = minijinja::Value::from(
        loaded
            .iter()
            .map(|v| (v.name.clone(), v.value()))
            .collect::<std::collections::BTreeMap<_, _>>(),
    );
    let shared = Arc::new(loaded.clone());
    for p in pipelines {
        p.globals.vocab = vocab.clone();
        p.vocabularies = shared.clone();
    }
    loaded
}

/// The step that reads harvest declaration files: each one the pipeline file names, validated and
/// put where it was named. A problem names the declaration file and its field, at the line of the
/// pipeline file that names it.
fn load_harvests(pipelines: &mut [Pipeline], problems: &mut Problems, base: Option<&Path>) {
    for named in std::mem::take(&mut problems.harvests) {
        let path = match side_file(base, named.path.get_ref()) {
            Ok(path) => path,
            Err(e) => {
                problems.at(
                    named.path.span(),
                    Some(&named.pipeline),
                    named.field.clone(),
                    e,
                );
                continue;
            }
        };
        match super::harvest::load(&path, named.path.get_ref()) {
            Ok(c) => match named.target {
                (p, None) => {
                    if let Some(p) = pipelines.get_mut(p) {
                        p.harvest = Some(c);
                    }
                }
                (p, Some(r)) => {
                    if let Some(rule) = pipelines.get_mut(p).and_then(|p| p.rules.get_mut(r)) {
                        rule.harvest = Some(c);
                    }
                }
            },
            Err(list) => {
                for (_, message) in list {
                    problems.at(
                        named.path.span(),
                        Some(&named.pipeline),
                        named.field.clone(),
                        message,
                    );
                }
            }
        }
    }
}

/// Loads the table conversions derivations name (relative to the pipeline file), each problem
/// of a declaration at the line of the derivation that names it, with its own line in the
/// declaration file.
fn load_conversions(pipelines: &mut [Pipeline], problems: &mut Problems, base: Option<&Path>) {
    for named in std::mem::take(&mut problems.conversions) {
        let rel = named.path.get_ref();
        let loaded = side_file(base, rel)
            .map_err(|e| vec![e])
            .and_then(|path| super::conversion::TableConversion::load(&path, rel, &named.scope));
        match loaded {
            Ok(c) => {
                let (p, r, d) = named.target;
                if let Some(Builtin::TableToNetcdf { conversion, .. }) = pipelines
                    .get_mut(p)
                    .and_then(|p| p.rules.get_mut(r))
                    .and_then(|r| r.derive.get_mut(d))
                    .map(|d| &mut d.builtin)
                {
                    *conversion = Some(Arc::new(c));
                }
            }
            Err(list) => {
                for message in list {
                    problems.at(
                        named.path.span(),
                        Some(&named.pipeline),
                        named.field.clone(),
                        message,
                    );
                }
            }
        }
    }
}

/// Reads a `harvest` field of a pipeline or rule: a declaration in place is validated now (each
/// problem named by its field below `harvest`); a path is noted to load after validation.
fn harvest_field(
    problems: &mut Problems,
    value: &Spanned<toml::Value>,
    pipeline: &str,
    field: &str,
    target: (usize, Option<usize>),
) -> Option<Arc<crate::harvest::Collection>> {
    match super::harvest::read(value.get_ref()) {
        Ok(super::harvest::Written::Inline(c)) => Some(c),
        Ok(super::harvest::Written::File(path)) => {
            problems.harvests.push(SchemaRef {
                path: Spanned::new(value.span(), path),
                pipeline: pipeline.to_string(),
                field: field.to_string(),
                target,
            });
            None
        }
        Err(list) => {
            for (sub, message) in list {
                let at = if sub.is_empty() {
                    field.to_string()
                } else {
                    format!("{field}.{sub}")
                };
                problems.at(value.span(), Some(pipeline), at, message);
            }
            None
        }
    }
}

/// A name the pipeline file gives an enum (criteria, check or publish type, supersede rule),
/// read as the enum's serde derive spells it; an unknown one is a problem at its span.
fn named<T: serde::de::DeserializeOwned>(
    problems: &mut Problems,
    value: &Spanned<String>,
    pipeline: &str,
    field: &str,
    what: &'static str,
) -> Option<T> {
    match parse_named(what, value.get_ref()) {
        Ok(v) => Some(v),
        Err(e) => {
            problems.at(value.span(), Some(pipeline), field, e.to_string());
            None
        }
    }
}

fn regex(
    problems: &mut Problems,
    value: &Spanned<String>,
    pipeline: &str,
    field: &str,
    anchored: bool,
) -> Option<Pattern> {
    let pattern = if anchored {
        format!("^(?:{})", value.get_ref())
    } else {
        value.get_ref().clone()
    };
    match TextRegex::checked(pattern) {
        Ok(r) => Some(Arc::new(r)),
        Err(text) => {
            // The syntax error's last line says what is wrong; the lines above draw a caret diagram.
            let reason = text
                .lines()
                .last()
                .unwrap_or(&text)
                .trim_start_matches("error: ")
                .to_string();
            problems.at(
                value.span(),
                Some(pipeline),
                field,
                format!("invalid regular expression: {reason}"),
            );
            None
        }
    }
}

/// Notes a table schema to load after validation, for a pipeline or one of its rules.
fn name_schema(
    problems: &mut Problems,
    path: &Spanned<String>,
    pipeline: &str,
    field: &str,
    target: (usize, Option<usize>),
) {
    problems.schemas.push(SchemaRef {
        path: path.clone(),
        pipeline: pipeline.to_string(),
        field: field.to_string(),
        target,
    });
}

/// A positive whole number, reported at its span when it is not.
fn positive(
    problems: &mut Problems,
    value: &Option<Spanned<i64>>,
    pipeline: &str,
    field: &str,
    default: u64,
) -> u64 {
    match value {
        None => default,
        Some(v) if *v.get_ref() > 0 => *v.get_ref() as u64,
        Some(v) => {
            problems.at(
                v.span(),
                Some(pipeline),
                field,
                "must be a whole number above 0",
            );
            default
        }
    }
}

fn emails(
    problems: &mut Problems,
    list: &[Spanned<String>],
    pipeline: &str,
    field: &str,
) -> Vec<String> {
    let mut out = Vec::new();
    for (i, addr) in list.iter().enumerate() {
        let a = addr.get_ref().trim();
        if a.parse::<lettre::Address>().is_err() {
            problems.at(
                addr.span(),
                Some(pipeline),
                format!("{field}[{i}]"),
                format!("{a:?} is not an email address"),
            );
        } else if !out.iter().any(|x: &String| x.eq_ignore_ascii_case(a)) {
            out.push(a.to_string());
        }
    }
    out
}

/// Validates one pipeline, which will be the `index`-th of the set if it has no problem.
fn validate_pipeline(
    rp: RawPipeline,
    index: usize,
    problems: &mut Problems,
    names: &mut std::collections::BTreeSet<String>,
) -> Option<Pipeline> {
    let before = problems.list.len();
    let name = rp.name.get_ref().clone();
    let name_ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        && !name.starts_with(['_', '-']);
    if !name_ok {
        problems.at(rp.name.span(), Some(&name), "name", "use lower-case letters, digits, '_' and '-', starting with a letter or digit (it becomes part of storage keys)");
    } else if !names.insert(name.clone()) {
        problems.at(
            rp.name.span(),
            Some(&name),
            "name",
            "another pipeline already has this name",
        );
    }
    let keys = regex(problems, &rp.keys, &name, "keys", false);
    let primary = rp
        .primary
        .as_ref()
        .and_then(|p| regex(problems, p, &name, "primary", true));
    let mut allowed_extensions = Vec::new();
    for (i, ext) in rp.allowed_extensions.iter().enumerate() {
        let e = ext.get_ref();
        if !e.starts_with('.') || e.len() < 2 || e.contains('/') {
            problems.at(
                ext.span(),
                Some(&name),
                format!("allowed_extensions[{i}]"),
                format!("{e:?} is not an extension like \".nc\""),
            );
        } else {
            allowed_extensions.push(e.to_ascii_lowercase());
        }
    }
    if let Some(keys) = keys.as_ref().filter(|_| !problems.allow_catch_all)
        && let Some(catch_all) = super::catch_all::catch_all(keys, &allowed_extensions)
    {
        problems.at(
            rp.keys.span(),
            Some(&name),
            "keys",
            format!(
                "a catch-all route: the pattern {catch_all}, so any upload no other pipeline \
                 claims would be published through this pipeline. Anchor it to the stream's \
                 folder (e.g. '^ANMN/NRS/'), or allow it explicitly with {}=true \
                 (--allow-catch-all)",
                crate::vars::PIPELINES_ALLOW_CATCH_ALL
            ),
        );
    }
    let allowed_regexes: Vec<Pattern> = rp
        .allowed_regexes
        .iter()
        .enumerate()
        .filter_map(|(i, r)| regex(problems, r, &name, &format!("allowed_regexes[{i}]"), true))
        .collect();
    let mut checks = Vec::new();
    for (i, suite) in rp.checks.iter().enumerate() {
        match crate::compliance::parse_suite(suite.get_ref()) {
            Ok(s) => checks.push(s),
            Err(e) => problems.at(suite.span(), Some(&name), format!("checks[{i}]"), e),
        }
    }
    let criteria = match &rp.criteria {
        None => Criteria::Normal,
        Some(c) => named(problems, c, &name, "criteria", "criteria").unwrap_or(Criteria::Normal),
    };
    if let Some(c) = rp.criteria.as_ref().filter(|_| rp.checks.is_empty()) {
        problems.at(
            c.span(),
            Some(&name),
            "criteria",
            "criteria without checks has no effect; add checks or remove it",
        );
    }
    let skip_checks = rp.skip_checks.iter().map(|s| s.get_ref().clone()).collect();
    let owners = emails(problems, &rp.owners, &name, "owners");
    let notify_success = emails(problems, &rp.notify_success, &name, "notify_success");
    let no_params = toml::Table::new();
    let params = rp
        .handler_params
        .as_ref()
        .map_or(&no_params, |p| p.get_ref());
    let handler = match &rp.handler {
        None => {
            if let Some(p) = &rp.handler_params {
                problems.at(
                    p.span(),
                    Some(&name),
                    "handler_params",
                    "handler_params without a handler has no effect; name the handler (handler = \"…\") or remove them",
                );
            }
            super::wired::by_name("default", params).ok()
        }
        Some(h) => match super::wired::by_name(h.get_ref(), params) {
            Ok(handler) => Some(handler),
            Err(e) => {
                problems.at(h.span(), Some(&name), "handler", e);
                None
            }
        },
    };
    // (An unknown handler is reported above; whether it would need rules is unknown.)
    if rp.files.is_empty() && handler.as_ref().is_some_and(|h| !h.places_files()) {
        problems.at(
            rp.name.span(),
            Some(&name),
            "files",
            "no [[pipeline.files]] rules: every file would be unclaimed",
        );
    }
    if let Some(t) = &rp.table_schema {
        name_schema(problems, t, &name, "table_schema", (index, None));
    }
    if let Some(t) = &rp.table_schemas {
        problems.schema_folders.push(SchemaRef {
            path: t.clone(),
            pipeline: name.clone(),
            field: "table_schemas".to_string(),
            target: (index, None),
        });
    }
    let harvest = rp
        .harvest
        .as_ref()
        .and_then(|h| harvest_field(problems, h, &name, "harvest", (index, None)));
    let defaults = UnpackLimits::default();
    let unpack = UnpackLimits {
        max_bytes: positive(
            problems,
            &rp.max_unpacked_bytes,
            &name,
            "max_unpacked_bytes",
            defaults.max_bytes,
        ),
        max_entries: positive(
            problems,
            &rp.max_archive_entries,
            &name,
            "max_archive_entries",
            defaults.max_entries as u64,
        ) as usize,
        max_ratio: positive(
            problems,
            &rp.max_compression_ratio,
            &name,
            "max_compression_ratio",
            defaults.max_ratio,
        ),
    };
    let (constants, constant_names) = constants_value(&rp.constants);
    let declared = Declared {
        checks: !checks.is_empty(),
        schema: rp.table_schema.is_some() || rp.table_schemas.is_some(),
    };
    let scope = lint::Scope {
        groups: BTreeSet::new(),
        constants: constant_names.clone(),
        vocabularies: problems.vocab_names.clone(),
        dest_known: false,
        // Known from the declaration even when its pattern is refused: one problem, not two.
        primary: rp.primary.is_some(),
        published: false,
    };
    let mut rules = Vec::new();
    let mut derived = Vec::new();
    for (i, rr) in rp.files.into_iter().enumerate() {
        if let Some(rule) = validate_rule(
            &rr,
            ("files", i),
            (index, rules.len()),
            &name,
            declared,
            scope.clone(),
            problems,
        ) {
            derived.extend(derived_writes(&rule, &rr, ("files", i)));
            rules.push(rule);
        }
    }
    let mut upload_rules = Vec::new();
    for (i, ru) in rp.upload.into_iter().enumerate() {
        if let Some(rule) = validate_upload_rule(
            ru,
            i,
            &name,
            (declared, scope.clone()),
            &mut derived,
            problems,
        ) {
            upload_rules.push(rule);
        }
    }
    if let (Some(h), Some(raw)) = (handler.as_ref(), rp.handler.as_ref())
        && h.places_files()
        && rp.writes.is_empty()
    {
        // Its paths come from code, not from templates: nothing to derive them from.
        problems.at(
            raw.span(),
            Some(&name),
            "writes",
            format!(
                "handler {:?} places the files itself: declare where it writes (writes = [\"<folder>/\", …]); without it every path it places is refused",
                raw.get_ref()
            ),
        );
    }
    let writes = pipeline_writes(problems, &name, &rp.writes, derived);
    (problems.list.len() == before).then_some(Pipeline {
        name,
        keys: keys?,
        allowed_extensions,
        allowed_regexes,
        checks,
        criteria,
        skip_checks,
        owners,
        notify_success,
        handler: handler?,
        allow_delete_manifests: rp.allow_delete_manifests,
        rules,
        upload_rules,
        // Loaded after validation, by `load_table_schemas` and `load_schema_folders`.
        table_schema: None,
        table_schemas: Vec::new(),
        unpack,
        globals: Globals {
            constants,
            // Set after validation, by `load_vocabularies`.
            vocab: Globals::default().vocab,
        },
        // Set after validation, by `load_vocabularies`.
        vocabularies: Arc::default(),
        harvest,
        writes,
        primary,
    })
}

/// `[pipeline.constants]` as templates see them (`const.<NAME>`; a table is a map whose misses
/// name it), and their names.
fn constants_value(table: &toml::Table) -> (minijinja::Value, BTreeSet<String>) {
    use super::template::values::{Lookup, MissStyle};
    let map: std::collections::BTreeMap<String, minijinja::Value> = table
        .iter()
        .map(|(k, v)| {
            let value = match v {
                toml::Value::Table(t) => Lookup::value(
                    format!("const.{k}"),
                    MissStyle::Entry,
                    t.iter()
                        .map(|(k, v)| (k.clone(), minijinja::Value::from_serialize(v)))
                        .collect(),
                ),
                other => minijinja::Value::from_serialize(other),
            };
            (k.clone(), value)
        })
        .collect();
    let names = map.keys().cloned().collect();
    (minijinja::Value::from(map), names)
}

/// Compiles a template (or a condition) and checks it for what would fail only at run time
/// (see [`lint`]); each problem is reported at its own line of the pipeline file.
fn template(
    problems: &mut Problems,
    value: &Spanned<String>,
    pipeline: &str,
    field: &str,
    scope: &lint::Scope,
    condition: bool,
) -> Option<Template> {
    let compiled = if condition {
        Template::compile_condition(value.get_ref())
    } else {
        Template::compile(value.get_ref())
    };
    let t = match compiled {
        Ok(t) => t,
        Err(e) => {
            problems.at(value.span(), Some(pipeline), field, e);
            return None;
        }
    };
    let found = lint::lint(value.get_ref(), condition, scope);
    if found.is_empty() {
        return Some(t);
    }
    // The template's first line: the line of its opening quote, or the next one when a
    // multi-line string starts with a newline (TOML drops it).
    let start = value.span().start;
    let rest = &problems.text[start.min(problems.text.len())..];
    let skip = usize::from(
        ["\"\"\"\n", "'''\n", "\"\"\"\r\n", "'''\r\n"]
            .iter()
            .any(|q| rest.starts_with(q)),
    );
    let (line, _) = line_col(problems.text, start);
    for p in found {
        problems.list.push(ConfigProblem {
            line: Some(line + skip + p.line - 1),
            column: None,
            pipeline: Some(pipeline.to_string()),
            field: Some(field.to_string()),
            message: p.message,
        });
    }
    None
}

/// What a pipeline declares that its rules' validation depends on.
#[derive(Clone, Copy)]
struct Declared {
    /// The pipeline has compliance suites.
    checks: bool,
    /// The pipeline names a default table schema.
    schema: bool,
}

/// Validates the `i`-th rule of a pipeline; `target` is where it will sit in the set (pipeline,
/// rule) if nothing is wrong.
/// An upload rule: a file rule on the upload's name, plus what its members become and the
/// member names that keep the upload from being published whole.
fn validate_upload_rule(
    ru: RawUploadRule,
    i: usize,
    pipeline: &str,
    (declared, scope): (Declared, lint::Scope),
    derived: &mut Vec<DerivedWrite>,
    problems: &mut Problems,
) -> Option<UploadRule> {
    let before = problems.list.len();
    let field = |f: &str| format!("upload[{i}].{f}");
    let unless_member = ru
        .unless_member
        .as_ref()
        .and_then(|r| regex(problems, r, pipeline, &field("unless_member"), true));
    // `members = "rules"`: the upload is published (archived) as well, its files as the file
    // rules say (the reference's archive_input_file with its own archive path).
    let members_by_rules = ru.members.as_ref().is_some_and(|p| p.get_ref() == "rules");
    let members = match &ru.members {
        None => PublishType::NoAction,
        Some(_) if members_by_rules => PublishType::NoAction,
        Some(p) => {
            match named::<PublishType>(problems, p, pipeline, &field("members"), "publish type") {
                Some(t) if t.store() || t.harvest() || t.is_deletion() => {
                    problems.at(
                    p.span(),
                    Some(pipeline),
                    field("members"),
                    format!("members of an upload published whole have no destination of their own: use no_action, archive_only or rules (the file rules place them), not {t}"),
                );
                    t
                }
                Some(t) => t,
                None => PublishType::NoAction,
            }
        }
    };
    let raw = RawRule {
        include: ru.include,
        exclude: ru.exclude,
        check: ru.check,
        publish: ru.publish,
        on_delete: None,
        dest: ru.dest,
        archive: ru.archive,
        allowed_dest: ru.allowed_dest,
        supersede: None,
        table_schema: None,
        reject: None,
        require: Vec::new(),
        harvest: None,
        published: None,
        derive: Vec::new(),
    };
    let rule = validate_rule(
        &raw,
        ("upload", i),
        (usize::MAX, usize::MAX),
        pipeline,
        declared,
        scope,
        problems,
    );
    if let Some(rule) = &rule {
        derived.extend(derived_writes(rule, &raw, ("upload", i)));
    }
    (problems.list.len() == before).then(|| UploadRule {
        rule: rule.expect("valid when no problem was added"),
        unless_member,
        members,
        members_by_rules,
    })
}

fn validate_rule(
    rr: &RawRule,
    (list, i): (&str, usize),
    target: (usize, usize),
    pipeline: &str,
    declared: Declared,
    mut scope: lint::Scope,
    problems: &mut Problems,
) -> Option<FileRule> {
    let before = problems.list.len();
    let field = |f: &str| format!("{list}[{i}].{f}");
    let include = regex(problems, &rr.include, pipeline, &field("include"), true);
    if let Some(re) = &include {
        scope.groups = re.capture_names().iter().flatten().cloned().collect();
    }
    let exclude = rr
        .exclude
        .as_ref()
        .and_then(|e| regex(problems, e, pipeline, &field("exclude"), true));
    let check: Option<CheckType> = rr
        .check
        .as_ref()
        .and_then(|c| named(problems, c, pipeline, &field("check"), "check type"));
    if let (Some(CheckType::NcCompliance), Some(c)) = (check, &rr.check)
        && !declared.checks
    {
        problems.at(
            c.span(),
            Some(pipeline),
            field("check"),
            "nc_compliance needs the pipeline's checks (e.g. checks = [\"cf:1.6\"])",
        );
    }
    if let Some(t) = &rr.table_schema {
        name_schema(
            problems,
            t,
            pipeline,
            &field("table_schema"),
            (target.0, Some(target.1)),
        );
    }
    if let (Some(CheckType::TableSchema), Some(c)) = (check, &rr.check)
        && rr.table_schema.is_none()
        && !declared.schema
    {
        problems.at(
            c.span(),
            Some(pipeline),
            field("check"),
            "table_schema needs a schema: set table_schema = \"schemas/<name>.json\" on the rule or the pipeline, or table_schemas = \"<folder>\" on the pipeline",
        );
    }
    // An unusable publish type is reported once; the checks that depend on it are skipped.
    let publish = match &rr.publish {
        None => Some(PublishType::DEFAULT_ADDITION),
        Some(p) => {
            match named::<PublishType>(problems, p, pipeline, &field("publish"), "publish type") {
                Some(t) if t.is_deletion() => {
                    problems.at(
                        p.span(),
                        Some(pipeline),
                        field("publish"),
                        format!("{t} is a deletion type; put it in on_delete"),
                    );
                    None
                }
                other => other,
            }
        }
    };
    let on_delete = match &rr.on_delete {
        None => PublishType::DEFAULT_DELETION,
        Some(p) => {
            match named::<PublishType>(problems, p, pipeline, &field("on_delete"), "publish type") {
                Some(t) if t.is_deletion() || t == PublishType::NoAction => t,
                Some(t) => {
                    problems.at(
                        p.span(),
                        Some(pipeline),
                        field("on_delete"),
                        format!("{t} is not a deletion type"),
                    );
                    t
                }
                None => PublishType::DEFAULT_DELETION,
            }
        }
    };
    let dest = rr
        .dest
        .as_ref()
        .and_then(|v| template(problems, v, pipeline, &field("dest"), &scope, false));
    let reject = rr
        .reject
        .as_ref()
        .and_then(|v| template(problems, v, pipeline, &field("reject"), &scope, false));
    let require = requirements(problems, &rr.require, pipeline, &field("require"), &scope);
    let archive_scope = lint::Scope {
        dest_known: rr.dest.is_some(),
        ..scope.clone()
    };
    let archive = rr.archive.as_ref().and_then(|v| {
        template(
            problems,
            v,
            pipeline,
            &field("archive"),
            &archive_scope,
            false,
        )
    });
    if let (Some(r), Some(_)) = (&rr.reject, &rr.dest) {
        problems.at(
            r.span(),
            Some(pipeline),
            field("reject"),
            "a rule that rejects its files publishes nothing: remove its dest",
        );
    }
    if let Some(publish) = publish.filter(|_| rr.reject.is_none()) {
        if (publish.store() || publish.harvest()) && rr.dest.is_none() {
            problems.at(
                rr.include.span(),
                Some(pipeline),
                field("dest"),
                format!("publish type {publish} needs a dest template"),
            );
        }
        if publish.archive() && rr.dest.is_none() && rr.archive.is_none() {
            problems.at(
                rr.include.span(),
                Some(pipeline),
                field("archive"),
                format!("publish type {publish} needs an archive or dest template"),
            );
        }
    }
    let allowed_dest: Vec<Pattern> = rr
        .allowed_dest
        .iter()
        .enumerate()
        .filter_map(|(j, r)| {
            regex(
                problems,
                r,
                pipeline,
                &field(&format!("allowed_dest[{j}]")),
                true,
            )
        })
        .collect();
    let harvest = rr.harvest.as_ref().and_then(|h| {
        harvest_field(
            problems,
            h,
            pipeline,
            &field("harvest"),
            (target.0, Some(target.1)),
        )
    });
    if let (Some(h), Some(publish)) = (&rr.harvest, publish)
        && !publish.harvest()
    {
        problems.at(
            h.span(),
            Some(pipeline),
            field("harvest"),
            format!("publish type {publish} does not harvest: publish with harvest_upload (or another harvesting type), or remove the harvest"),
        );
    }
    let supersede = match &rr.supersede {
        None => Supersede::Overwrite,
        Some(s) => named(problems, s, pipeline, &field("supersede"), "supersede rule")
            .unwrap_or(Supersede::Overwrite),
    };
    let published = rr
        .published
        .as_ref()
        .and_then(|p| published_rule(problems, p, pipeline, &field("published"), &scope));
    let mut derive: Vec<Derivation> = Vec::new();
    for (j, d) in rr.derive.iter().enumerate() {
        let place = (target.0, target.1, derive.len());
        if let Some(d) = derivation(
            problems,
            d,
            pipeline,
            &field(&format!("derive[{j}]")),
            &scope,
            place,
        ) {
            derive.push(d);
        }
    }
    (problems.list.len() == before).then(|| FileRule {
        include: include.expect("valid when no problem was added"),
        exclude,
        check,
        publish: publish.expect("valid when no problem was added"),
        on_delete,
        dest,
        archive,
        allowed_dest,
        supersede,
        // Loaded after validation, by `load_table_schemas`.
        table_schema: None,
        reject,
        require,
        harvest,
        published,
        derive,
    })
}

/// Validates a `derive` entry: a known `builtin`, a `name` template, the builtin's parameters.
fn derivation(
    problems: &mut Problems,
    raw: &Spanned<toml::Table>,
    pipeline: &str,
    field: &str,
    scope: &lint::Scope,
    place: (usize, usize, usize),
) -> Option<Derivation> {
    let table = raw.get_ref();
    let text = |k: &str| table.get(k).and_then(toml::Value::as_str);
    let Some(builtin) = text("builtin") else {
        problems.at(
            raw.span(),
            Some(pipeline),
            field,
            format!(
                "a derivation names its builtin = \"…\" ({})",
                Builtin::NAMES.join(", ")
            ),
        );
        return None;
    };
    let Some(name) = table.get("name").and_then(|v| v.as_str()) else {
        problems.at(
            raw.span(),
            Some(pipeline),
            field,
            "a derivation names the file it makes: name = \"{{ stem }}.png\"",
        );
        return None;
    };
    // The name's template problems are reported at the entry's line.
    let name = Spanned::new(raw.span(), name.to_string());
    let name = template(
        problems,
        &name,
        pipeline,
        &format!("{field}.name"),
        scope,
        false,
    )?;
    let mut params = table.clone();
    params.remove("builtin");
    params.remove("name");
    let title = match params.remove("title") {
        None => None,
        Some(toml::Value::String(t)) => {
            let t = Spanned::new(raw.span(), t);
            Some(template(
                problems,
                &t,
                pipeline,
                &format!("{field}.title"),
                scope,
                false,
            )?)
        }
        Some(_) => {
            problems.at(
                raw.span(),
                Some(pipeline),
                field,
                "title is a template string",
            );
            return None;
        }
    };
    if title.is_some() && builtin != "profile_plot" {
        problems.at(
            raw.span(),
            Some(pipeline),
            field,
            format!("{builtin} takes no title"),
        );
        return None;
    }
    let made = match builtin {
        "map_plot" => {
            crate::plot::map::MapSpec::from_params(&params).map(|s| Builtin::MapPlot(Arc::new(s)))
        }
        "profile_plot" => crate::plot::profile_plot::ProfileSpec::from_params(&params).map(|s| {
            Builtin::ProfilePlot {
                spec: Arc::new(s),
                title,
            }
        }),
        "table_to_netcdf" => {
            table_conversion(problems, raw, &params, pipeline, field, scope, place)
        }
        other => Err(format!(
            "unknown builtin {other:?}; the built-in derivations are {}",
            Builtin::NAMES.join(", ")
        )),
    };
    match made {
        Ok(builtin) => Some(Derivation { name, builtin }),
        Err(e) => {
            problems.at(raw.span(), Some(pipeline), field, e);
            None
        }
    }
}

/// `table_to_netcdf`'s one parameter, `conversion = "<declaration file>"`, noted to load after
/// validation (its templates checked against the rule's scope).
fn table_conversion(
    problems: &mut Problems,
    raw: &Spanned<toml::Table>,
    params: &toml::Table,
    pipeline: &str,
    field: &str,
    scope: &lint::Scope,
    place: (usize, usize, usize),
) -> Result<Builtin, String> {
    if let Some(k) = params.keys().find(|k| k.as_str() != "conversion") {
        return Err(format!(
            "table_to_netcdf takes no parameter {k:?}; it takes conversion = \"<declaration file>\""
        ));
    }
    let Some(file) = params.get("conversion").and_then(toml::Value::as_str) else {
        return Err(
            "table_to_netcdf needs conversion = \"<declaration file>\" (relative to this file)"
                .into(),
        );
    };
    if place.1 != usize::MAX {
        problems.conversions.push(ConversionRef {
            path: Spanned::new(raw.span(), file.to_string()),
            pipeline: pipeline.to_string(),
            field: format!("{field}.conversion"),
            target: place,
            scope: scope.clone(),
        });
    }
    Ok(Builtin::TableToNetcdf {
        file: file.to_string(),
        conversion: None,
    })
}

/// Compiles `require = [{ that, reason }]` entries (`field` names the list), each problem at its
/// line.
fn requirements(
    problems: &mut Problems,
    raw: &[RawRequire],
    pipeline: &str,
    field: &str,
    scope: &lint::Scope,
) -> Vec<Requirement> {
    let mut out = Vec::new();
    for (j, r) in raw.iter().enumerate() {
        let at = |f: &str| format!("{field}[{j}].{f}");
        let that = template(problems, &r.that, pipeline, &at("that"), scope, true);
        let reason = template(problems, &r.reason, pipeline, &at("reason"), scope, false);
        if let (Some(that), Some(reason)) = (that, reason) {
            out.push(Requirement { that, reason });
        }
    }
    out
}

/// Validates `[pipeline.files.published]`: `versions` a pattern, `at_most` a positive count,
/// `require` conditions that see `published`.
fn published_rule(
    problems: &mut Problems,
    raw: &Spanned<RawPublished>,
    pipeline: &str,
    field: &str,
    scope: &lint::Scope,
) -> Option<PublishedRule> {
    let before = problems.list.len();
    let rp = raw.get_ref();
    let at = |f: &str| format!("{field}.{f}");
    let versions = rp
        .versions
        .as_ref()
        .and_then(|v| regex(problems, v, pipeline, &at("versions"), true));
    let at_most = rp.at_most.as_ref().map(|n| {
        if *n.get_ref() < 1 {
            problems.at(
                n.span(),
                Some(pipeline),
                at("at_most"),
                "at_most must be 1 or more",
            );
        }
        (*n.get_ref()).max(1) as usize
    });
    if let (Some(n), None) = (&rp.at_most, &rp.versions) {
        problems.at(
            n.span(),
            Some(pipeline),
            at("at_most"),
            "at_most counts the versions a `versions` pattern finds: give versions = '<pattern>'",
        );
    }
    let scope = lint::Scope {
        published: true,
        dest_known: true,
        ..scope.clone()
    };
    let require = requirements(problems, &rp.require, pipeline, &at("require"), &scope);
    if rp.versions.is_none() && rp.require.is_empty() {
        problems.at(
            raw.span(),
            Some(pipeline),
            field,
            "says nothing: give versions = '<pattern>' (published files the new one replaces) or require = [{ that = \"…\", reason = \"…\" }]",
        );
    }
    (problems.list.len() == before).then_some(PublishedRule {
        versions,
        at_most,
        require,
    })
}
