//! The pipeline file as written (TOML, with source positions), its validation into
//! [`super::PipelineSet`], and the one step that reads files: loading the table schemas it names.
//! Validation does no I/O; both report every problem with its line.

use std::path::Path;
use std::sync::Arc;

use regex::Regex;
use serde::Deserialize;
use toml::Spanned;

use super::{Criteria, FileRule, Pipeline, PipelineSet, Supersede, Template, UnpackLimits};
use crate::check::TableSchema;
use crate::model::{CheckType, PublishType, parse_named};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    pipeline: Vec<RawPipeline>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPipeline {
    name: Spanned<String>,
    keys: Spanned<String>,
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
    #[serde(default)]
    allow_delete_manifests: bool,
    table_schema: Option<Spanned<String>>,
    max_unpacked_bytes: Option<Spanned<i64>>,
    max_archive_entries: Option<Spanned<i64>>,
    max_compression_ratio: Option<Spanned<i64>>,
    harvest: Option<Spanned<toml::Value>>,
    #[serde(default)]
    files: Vec<RawRule>,
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
    harvest: Option<Spanned<toml::Value>>,
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
    /// The harvest declaration files the file names, loaded after validation.
    harvests: Vec<SchemaRef>,
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
/// paths under `base`, the pipeline file's folder). Every problem of both steps is reported.
pub fn parse(text: &str, origin: &str, base: &Path) -> Result<PipelineSet, ConfigError> {
    let (mut pipelines, mut problems) = validate(text, origin)?;
    load_table_schemas(&mut pipelines, &mut problems, base);
    load_harvests(&mut pipelines, &mut problems, base);
    if problems.list.is_empty() {
        Ok(PipelineSet {
            origin: origin.to_string(),
            pipelines,
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
fn validate<'t>(text: &'t str, origin: &str) -> Result<(Vec<Pipeline>, Problems<'t>), ConfigError> {
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
        harvests: Vec::new(),
    };
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
    Ok((pipelines, problems))
}

/// The step that reads files: each table schema the pipeline file names, put where it was named
/// (a pipeline's default, or one rule's own). A schema that cannot be read or is not a schema is
/// a problem at its line.
fn load_table_schemas(pipelines: &mut [Pipeline], problems: &mut Problems, base: &Path) {
    for named in std::mem::take(&mut problems.schemas) {
        let rel = named.path.get_ref();
        match TableSchema::load(&base.join(rel), rel) {
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

/// The step that reads harvest declaration files: each one the pipeline file names, validated and
/// put where it was named. A problem names the declaration file and its field, at the line of the
/// pipeline file that names it.
fn load_harvests(pipelines: &mut [Pipeline], problems: &mut Problems, base: &Path) {
    for named in std::mem::take(&mut problems.harvests) {
        match super::harvest::load(base, named.path.get_ref()) {
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
) -> Option<Regex> {
    let pattern = if anchored {
        format!("^(?:{})", value.get_ref())
    } else {
        value.get_ref().clone()
    };
    match Regex::new(&pattern) {
        Ok(r) => Some(r),
        Err(e) => {
            // The syntax error's last line says what is wrong; the lines above draw a caret diagram.
            let text = e.to_string();
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
    let allowed_regexes: Vec<Regex> = rp
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
    let handler = match &rp.handler {
        None => super::handler::by_name("default"),
        Some(h) => {
            let handler = super::handler::by_name(h.get_ref());
            if handler.is_none() {
                problems.at(
                    h.span(),
                    Some(&name),
                    "handler",
                    format!(
                        "unknown handler {:?}; known handlers: {}",
                        h.get_ref(),
                        super::handler::NAMES.join(", ")
                    ),
                );
            }
            handler
        }
    };
    if rp.files.is_empty() {
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
    let mut rules = Vec::new();
    for (i, rr) in rp.files.into_iter().enumerate() {
        let declared = Declared {
            checks: !checks.is_empty(),
            schema: rp.table_schema.is_some(),
        };
        if let Some(rule) = validate_rule(rr, i, (index, rules.len()), &name, declared, problems) {
            rules.push(rule);
        }
    }
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
        // Loaded after validation, by `load_table_schemas`.
        table_schema: None,
        unpack,
        harvest,
    })
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
fn validate_rule(
    rr: RawRule,
    i: usize,
    target: (usize, usize),
    pipeline: &str,
    declared: Declared,
    problems: &mut Problems,
) -> Option<FileRule> {
    let before = problems.list.len();
    let field = |f: &str| format!("files[{i}].{f}");
    let include = regex(problems, &rr.include, pipeline, &field("include"), true);
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
            "table_schema needs a schema: set table_schema = \"schemas/<name>.json\" on the rule or the pipeline",
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
    let mut compile = |value: &Option<Spanned<String>>, kind: &str| -> Option<Template> {
        let v = value.as_ref()?;
        match Template::compile(v.get_ref()) {
            Ok(t) => Some(t),
            Err(e) => {
                problems.at(v.span(), Some(pipeline), field(kind), e);
                None
            }
        }
    };
    let dest = compile(&rr.dest, "dest");
    let archive = compile(&rr.archive, "archive");
    if let Some(publish) = publish {
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
    let allowed_dest: Vec<Regex> = rr
        .allowed_dest
        .iter()
        .enumerate()
        .filter_map(|(j, r)| {
            regex(
                problems,
                r,
                pipeline,
                &format!("files[{i}].allowed_dest[{j}]"),
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
        harvest,
    })
}
