//! Pipeline templates (minijinja) and the context they see: the file name and its IMOS fields,
//! the named groups of the rule's `include` (`m`), the NetCDF header (global attributes,
//! variables in file order with their typed attributes, dimensions), the time coverage, the
//! upload, the job's start time, the pipeline's constants and the vocabularies. A lookup that
//! misses, and `reject(…)`, fail the render with a reason the provider can act on.

pub mod filters;
pub mod lint;
pub mod sample;
pub mod values;

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior, Value};
use serde::Serialize;

use super::imos_name::ImosName;
use values::{Lookup, MissStyle};

/// What a template can use. Every field is documented in `examples/pipelines.toml`.
#[derive(Debug, Clone)]
pub struct TemplateContext {
    /// The file name, e.g. `IMOS_ANMN-NRS_…_C-20160524T003914Z.nc`.
    pub name: String,
    /// The name without its last extension.
    pub stem: String,
    /// The last extension with its dot (`.nc`), or empty.
    pub extension: String,
    /// Where the file is within its upload: the path a manifest names (relative to the
    /// manifest's folder) or a member's path inside an archive; the name for the upload itself.
    pub path: String,
    /// The upload's key in the incoming store (or its file name for a local upload).
    pub key: String,
    pub pipeline: String,
    /// The IMOS file-name fields; undefined when the name does not follow the convention.
    pub imos: Option<ImosName>,
    /// The groups of the claiming rule's `include` match (`m.<group>`, `m[1]`).
    pub groups: Value,
    /// The typed NetCDF header (`attrs`, `variables`, `vars`, `dimensions`), see
    /// [`values::header_json`]; `None` for other files.
    pub header: Option<Arc<serde_json::Value>>,
    /// `{start, end}` in ISO 8601, from the time coordinate or the `time_coverage_*` attributes.
    pub time_coverage: TimeCoverage,
    /// When the job started (UTC).
    pub now: DateTime<Utc>,
    /// The file's own destination, once rendered (archive templates see it).
    pub dest: Option<String>,
    /// The pipeline's constants and the pipeline file's vocabularies.
    pub globals: Globals,
    /// The upload's primary file (`primary.*`), once placed: in pipelines that declare one.
    pub primary: Option<Value>,
    /// A published version of the file (`published.*`): in `[pipeline.files.published]` rules.
    pub published: Option<Value>,
}

/// What every template of a pipeline sees alike: `const` and `vocab`.
#[derive(Debug, Clone)]
pub struct Globals {
    pub constants: Value,
    pub vocab: Value,
}

impl Default for Globals {
    fn default() -> Self {
        let empty = || Value::from(std::collections::BTreeMap::<String, Value>::new());
        Globals {
            constants: empty(),
            vocab: empty(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct TimeCoverage {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
}

/// `name` split into (stem, extension) at its last dot.
pub fn split_name(name: &str) -> (String, String) {
    match name.rfind('.') {
        Some(i) if i > 0 => (name[..i].to_string(), name[i..].to_string()),
        _ => (name.to_string(), String::new()),
    }
}

/// The names a template context has at its top level.
pub const CONTEXT_NAMES: &[&str] = &[
    "name",
    "stem",
    "extension",
    "path",
    "key",
    "pipeline",
    "upload",
    "imos",
    "m",
    "attrs",
    "variables",
    "vars",
    "dimensions",
    "time_coverage",
    "now",
    "const",
    "vocab",
    "dest",
    "dest_dir",
    "dest_name",
    "dest_stem",
    "primary",
    "published",
];

/// Context names whose value comes from the file's content (its NetCDF header or coverage), or
/// another file's (the upload's primary file).
pub const CONTENT_NAMES: &[&str] = &[
    "attrs",
    "variables",
    "vars",
    "dimensions",
    "time_coverage",
    "primary",
];

/// The fields of `primary`: the upload's primary file, placed before the others.
pub const PRIMARY_FIELDS: &[&str] = &[
    "name",
    "stem",
    "dest",
    "dest_dir",
    "dest_name",
    "m",
    "attrs",
    "variables",
];

/// The fields of `published`: a published version of the file.
pub const PUBLISHED_FIELDS: &[&str] = &["dest", "name", "attrs"];

/// Context names known only once the file's destination is rendered.
pub const DEST_NAMES: &[&str] = &["dest", "dest_dir", "dest_name", "dest_stem"];

impl TemplateContext {
    pub fn new(name: &str, key: &str, pipeline: &str) -> Self {
        let (stem, extension) = split_name(name);
        TemplateContext {
            name: name.to_string(),
            stem,
            extension,
            path: name.to_string(),
            key: key.to_string(),
            pipeline: pipeline.to_string(),
            imos: ImosName::parse(name),
            groups: Value::from(std::collections::BTreeMap::<String, Value>::new()),
            header: None,
            time_coverage: TimeCoverage::default(),
            now: Utc::now(),
            dest: None,
            globals: Globals::default(),
            primary: None,
            published: None,
        }
    }

    /// The context as minijinja sees it.
    pub fn to_value(&self) -> Value {
        use std::collections::BTreeMap;
        let mut ctx: BTreeMap<&str, Value> = BTreeMap::new();
        ctx.insert("name", Value::from(self.name.as_str()));
        ctx.insert("stem", Value::from(self.stem.as_str()));
        ctx.insert("extension", Value::from(self.extension.as_str()));
        ctx.insert("path", Value::from(self.path.as_str()));
        ctx.insert("key", Value::from(self.key.as_str()));
        ctx.insert("pipeline", Value::from(self.pipeline.as_str()));
        let upload = self.key.rsplit('/').next().unwrap_or(&self.key);
        let (ustem, uext) = split_name(upload);
        ctx.insert(
            "upload",
            minijinja::context! { name => upload, stem => ustem, extension => uext, key => self.key },
        );
        if let Some(imos) = &self.imos {
            ctx.insert("imos", Value::from_serialize(imos));
        }
        ctx.insert("m", self.groups.clone());
        let empty = serde_json::Value::Object(Default::default());
        let header = self.header.as_deref();
        let part = |k: &str| header.and_then(|h| h.get(k)).unwrap_or(&empty);
        ctx.insert(
            "attrs",
            Lookup::from_json("attrs", MissStyle::GlobalAttribute, part("attrs"), &|_| {
                None
            }),
        );
        ctx.insert(
            "vars",
            Lookup::from_json("vars", MissStyle::Variable, part("vars"), &|v| {
                Some((
                    format!("vars.{v}"),
                    MissStyle::VariableAttribute(v.to_string()),
                ))
            }),
        );
        ctx.insert(
            "variables",
            Value::from_serialize(
                header
                    .and_then(|h| h.get("variables"))
                    .unwrap_or(&serde_json::Value::Array(Vec::new())),
            ),
        );
        ctx.insert("dimensions", Value::from_serialize(part("dimensions")));
        ctx.insert("time_coverage", Value::from_serialize(&self.time_coverage));
        ctx.insert(
            "now",
            Value::from(self.now.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        );
        if let Some(dest) = &self.dest {
            let (dir, file) = match dest.rfind('/') {
                Some(i) => (&dest[..i], &dest[i + 1..]),
                None => ("", dest.as_str()),
            };
            ctx.insert("dest", Value::from(dest.as_str()));
            ctx.insert("dest_dir", Value::from(dir));
            ctx.insert("dest_name", Value::from(file));
            ctx.insert("dest_stem", Value::from(split_name(file).0));
        }
        ctx.insert("const", self.globals.constants.clone());
        ctx.insert("vocab", self.globals.vocab.clone());
        if let Some(p) = &self.primary {
            ctx.insert("primary", p.clone());
        }
        if let Some(p) = &self.published {
            ctx.insert("published", p.clone());
        }
        Value::from(ctx)
    }
}

/// `primary.*` or `published.*`: another file's name, destination and header as templates see
/// them; a missing attribute is named with the file (`dest`, else `name`).
pub fn other_file_value(
    name: &str,
    dest: Option<&str>,
    groups: Value,
    header: Option<&serde_json::Value>,
) -> Value {
    use std::collections::BTreeMap;
    let mut map: BTreeMap<&str, Value> = BTreeMap::new();
    map.insert("name", Value::from(name));
    map.insert("stem", Value::from(split_name(name).0));
    if let Some(dest) = dest {
        let (dir, file) = dest.rsplit_once('/').unwrap_or(("", dest));
        map.insert("dest", Value::from(dest));
        map.insert("dest_dir", Value::from(dir));
        map.insert("dest_name", Value::from(file));
    }
    map.insert("m", groups);
    let empty = serde_json::Value::Object(Default::default());
    let attrs = header.and_then(|h| h.get("attrs")).unwrap_or(&empty);
    let who = dest.unwrap_or(name).to_string();
    map.insert(
        "attrs",
        Lookup::from_json("attrs", MissStyle::FileAttribute(who), attrs, &|_| None),
    );
    map.insert(
        "variables",
        Value::from_serialize(
            header
                .and_then(|h| h.get("variables"))
                .unwrap_or(&serde_json::Value::Array(Vec::new())),
        ),
    );
    Value::from(map)
}

/// The template engine of a pipeline file: strict about undefined values, numbers printed as
/// Python prints them, with the pipeline filters.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(false);
    env.set_formatter(|out, state, value| {
        let float = value.kind() == minijinja::value::ValueKind::Number && !value.is_integer();
        if let Some(x) = float.then(|| f64::try_from(value.clone()).ok()).flatten() {
            return out
                .write_str(&values::python_float(x))
                .map_err(|_| Error::new(ErrorKind::WriteFailure, "cannot write the output"));
        }
        minijinja::escape_formatter(out, state, value)
    });
    filters::install(&mut env);
    env
}

/// A destination, archive or reason template (or a condition), compiled once when the pipeline
/// file is validated and held by its rule, with the context names it reads found once too (when
/// first asked: a job asks of the templates of the rule it uses, not of the file's hundreds).
#[derive(Clone)]
pub struct Template {
    /// An environment holding this one template (as [`NAME`]), with the pipeline filters.
    env: Arc<Environment<'static>>,
    /// The top-level context names the template reads (`attrs`, `imos`, `m`…), shared by clones.
    reads: Arc<OnceLock<BTreeSet<String>>>,
    source: String,
    /// A condition (`that = "…"`): evaluated as an expression, not rendered.
    expression: bool,
}

/// The name of the one template in a [`Template`]'s environment.
const NAME: &str = "template";

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Template").field(&self.source).finish()
    }
}

impl Template {
    /// Compiles a template, or says why it is not one.
    pub fn compile(source: &str) -> Result<Template, String> {
        let mut env = environment();
        env.add_template_owned(NAME, source.to_string())
            .map_err(|e| format!("invalid template: {e}"))?;
        Ok(Template {
            env: Arc::new(env),
            reads: Arc::default(),
            source: source.to_string(),
            expression: false,
        })
    }

    /// Compiles a condition (a minijinja expression such as `attrs.product_type is defined`).
    pub fn compile_condition(source: &str) -> Result<Template, String> {
        let env = environment();
        env.compile_expression(source)
            .map_err(|e| format!("invalid condition: {e}"))?;
        Ok(Template {
            env: Arc::new(env),
            reads: Arc::default(),
            source: source.to_string(),
            expression: true,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the template is a condition (an expression).
    pub fn is_condition(&self) -> bool {
        self.expression
    }

    /// The top-level context names it reads.
    pub fn reads(&self) -> &BTreeSet<String> {
        self.reads.get_or_init(|| {
            // It compiled when the pipeline file was read, so it compiles again.
            let names = if self.expression {
                self.env
                    .compile_expression(&self.source)
                    .map(|e| e.undeclared_variables(false))
            } else {
                self.env
                    .get_template(NAME)
                    .map(|t| t.undeclared_variables(false))
            };
            names.map(|n| n.into_iter().collect()).unwrap_or_default()
        })
    }

    /// Whether it reads the file's content (its header or coverage), not just names.
    pub fn reads_content(&self) -> bool {
        let reads = self.reads();
        CONTENT_NAMES.iter().any(|n| reads.contains(*n))
    }

    /// Renders the template, explaining a failure by what is missing ("the file has no global
    /// attribute site_code", "`XYZ` is not in vocab.vessels") or the reason given to `reject`.
    pub fn render(&self, ctx: &TemplateContext) -> Result<String, String> {
        let value = ctx.to_value();
        values::clear_miss();
        let tmpl = self.env.get_template(NAME).map_err(|e| e.to_string())?;
        let rendered = tmpl.render(&value).map_err(|e| self.explain(&e))?;
        Ok(rendered.trim().to_string())
    }

    /// Renders on a sample context and reports only failures that no file's content could
    /// avoid: an unknown filter, test, function or method reached, wrong arguments, a bad pattern
    /// or format. Missing values and `reject` are the file's business, not the template's.
    pub fn render_static(&self, ctx: &TemplateContext) -> Result<(), String> {
        let value = ctx.to_value();
        let tmpl = self.env.get_template(NAME).map_err(|e| e.to_string())?;
        match tmpl.render(&value) {
            Ok(_) => Ok(()),
            Err(e) => {
                let detail = e.detail().unwrap_or_default();
                let structural = matches!(
                    e.kind(),
                    ErrorKind::UnknownFilter
                        | ErrorKind::UnknownTest
                        | ErrorKind::UnknownFunction
                        | ErrorKind::UnknownMethod
                        | ErrorKind::TooManyArguments
                        | ErrorKind::MissingArgument
                        | ErrorKind::SyntaxError
                ) || detail.starts_with("invalid regular expression")
                    || detail.starts_with("strftime: bad format");
                if structural {
                    Err(self.explain(&e))
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Evaluates a condition: its truth.
    pub fn evaluate(&self, ctx: &TemplateContext) -> Result<bool, String> {
        let value = ctx.to_value();
        values::clear_miss();
        let expr = self
            .env
            .compile_expression(&self.source)
            .map_err(|e| e.to_string())?;
        expr.eval(&value)
            .map(|v| v.is_true())
            .map_err(|e| self.explain(&e))
    }

    /// A render error in the provider's terms.
    fn explain(&self, e: &Error) -> String {
        let detail = e.detail().unwrap_or_default();
        if let Some(reason) = detail.strip_prefix(filters::REJECT_MARK) {
            return reason.to_string();
        }
        let expr = e
            .range()
            .and_then(|r| self.source.get(r))
            .unwrap_or("")
            .trim()
            .to_string();
        if e.kind() == ErrorKind::UndefinedError {
            if let Some(miss) = values::last_miss() {
                // minijinja's range may cover only the failing part (`.vessels['X']`).
                let root = miss.map.split('.').next().unwrap_or(&miss.map);
                let last = miss.map.rsplit('.').next().unwrap_or(&miss.map);
                if expr.contains(root) || expr.contains(last) || expr.contains(&miss.key) {
                    return miss.message;
                }
            }
            if expr.starts_with("imos") {
                return "the file name does not follow the IMOS naming convention or lacks the field it reads".into();
            }
            if expr.starts_with("time_coverage") {
                return "the file has no time coverage (no time coordinate, no time_coverage_start/end attributes)".into();
            }
            if !expr.is_empty() {
                return format!("`{expr}` is undefined for this file");
            }
        }
        let mut msg = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            source = s.source();
        }
        msg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_with(src: &str) -> Template {
        Template::compile(src).unwrap()
    }

    fn with_header(ctx: &mut TemplateContext, header: serde_json::Value) {
        ctx.header = Some(Arc::new(header));
    }

    #[test]
    fn renders_imos_fields_attributes_and_dates() {
        let mut ctx = TemplateContext::new(
            "IMOS_ACORN_V_20101201T050000Z_BONC_FV00_sea-state.nc",
            "k",
            "acorn",
        );
        with_header(
            &mut ctx,
            serde_json::json!({"attrs": {"site_code": "BONC"}}),
        );
        let env = env_with(
            "IMOS/ACORN/vector/{{ imos.platform }}/{{ imos.start | strftime('%Y/%m/%d') }}/{{ name }}",
        );
        assert_eq!(
            env.render(&ctx).unwrap(),
            "IMOS/ACORN/vector/BONC/2010/12/01/IMOS_ACORN_V_20101201T050000Z_BONC_FV00_sea-state.nc"
        );
        let env = env_with("{{ attrs.site_code }}/{{ stem }}{{ extension }}");
        assert_eq!(
            env.render(&ctx).unwrap(),
            "BONC/IMOS_ACORN_V_20101201T050000Z_BONC_FV00_sea-state.nc"
        );
    }

    #[test]
    fn a_missing_attribute_is_named() {
        let ctx = TemplateContext::new("x.nc", "x.nc", "p");
        let env = env_with("IMOS/{{ attrs.site_code }}/{{ name }}");
        assert_eq!(
            env.render(&ctx).unwrap_err(),
            "the file has no global attribute site_code"
        );
        let env = env_with("{{ imos.platform }}");
        assert!(
            env.render(&ctx)
                .unwrap_err()
                .contains("IMOS naming convention")
        );
    }

    #[test]
    fn an_attribute_in_an_untaken_branch_is_not_required() {
        let ctx = TemplateContext::new("x.nc", "x.nc", "p");
        let t = env_with("{% if name == 'y.nc' %}{{ attrs.site_code }}{% else %}other{% endif %}");
        assert_eq!(t.render(&ctx).unwrap(), "other");
    }

    #[test]
    fn variables_and_their_typed_attributes() {
        let mut ctx = TemplateContext::new("x.nc", "x.nc", "p");
        with_header(
            &mut ctx,
            serde_json::json!({
                "variables": ["TIME", "DEPTH"],
                "vars": {"DEPTH": {"long_name": "actual depth", "sensor_depth": 1.0}},
            }),
        );
        let t = env_with(
            "{{ variables | join(',') }} {{ vars.DEPTH.long_name }}@{{ vars.DEPTH.sensor_depth }}m",
        );
        assert_eq!(t.render(&ctx).unwrap(), "TIME,DEPTH actual depth@1.0m");
        let t = env_with("{{ vars.DEPTH.units }}");
        assert_eq!(
            t.render(&ctx).unwrap_err(),
            "variable DEPTH has no attribute units"
        );
        let t = env_with("{{ vars.TEMP.units }}");
        assert_eq!(t.render(&ctx).unwrap_err(), "the file has no variable TEMP");
    }

    #[test]
    fn reject_and_vocabulary_misses_give_reasons() {
        let mut ctx = TemplateContext::new("x.nc", "x.nc", "p");
        let t = env_with("{{ reject('unknown instrument', 'X') }}");
        assert_eq!(t.render(&ctx).unwrap_err(), "unknown instrument X");
        let mut vessels = std::collections::BTreeMap::new();
        vessels.insert("VLHJ".to_string(), Value::from("Southern-Surveyor"));
        let mut vocab = std::collections::BTreeMap::new();
        vocab.insert(
            "vessels".to_string(),
            Lookup::value("vocab.vessels", MissStyle::Entry, vessels),
        );
        ctx.globals.vocab = Value::from(vocab);
        let t = env_with("{{ vocab.vessels['VLHJ'] }}/{{ vocab.vessels['ZZZ'] }}");
        assert_eq!(t.render(&ctx).unwrap_err(), "`ZZZ` is not in vocab.vessels");
        let t = env_with("{{ vocab.vessels['VLHJ'] }}");
        assert_eq!(t.render(&ctx).unwrap(), "Southern-Surveyor");
    }

    #[test]
    fn path_is_where_the_file_is_in_its_upload() {
        let mut ctx = TemplateContext::new("D1_001.nc", "Argo/dac/x.rsync_manifest", "argo");
        let t = env_with("IMOS/Argo/dac/{{ path }}");
        assert_eq!(t.render(&ctx).unwrap(), "IMOS/Argo/dac/D1_001.nc");
        ctx.path = "csiro/1/profiles/D1_001.nc".into();
        assert_eq!(
            t.render(&ctx).unwrap(),
            "IMOS/Argo/dac/csiro/1/profiles/D1_001.nc"
        );
    }

    #[test]
    fn what_a_template_reads_is_found_when_first_asked_and_shared_by_its_clones() {
        let t = Template::compile("IMOS/{{ attrs.site_code }}/{% set x = m.a %}{{ x }}{{ name }}")
            .unwrap();
        let copy = t.clone();
        assert!(t.reads.get().is_none(), "compiling does not look for them");
        let names: Vec<&str> = copy.reads().iter().map(String::as_str).collect();
        assert_eq!(names, ["attrs", "m", "name"]);
        assert!(t.reads.get().is_some() && t.reads_content());
        let c = Template::compile_condition("m.a == 'x'").unwrap();
        assert!(!c.reads_content());
        assert!(Template::compile_condition("attrs.a ==").is_err());
    }

    #[test]
    fn conditions_evaluate() {
        let mut ctx = TemplateContext::new("x.nc", "x.nc", "p");
        with_header(&mut ctx, serde_json::json!({"attrs": {"a": "b"}}));
        let c = Template::compile_condition("attrs.a is defined and name is startingwith('x')")
            .unwrap();
        assert!(c.evaluate(&ctx).unwrap());
        let c = Template::compile_condition("attrs.zz is defined").unwrap();
        assert!(!c.evaluate(&ctx).unwrap());
        assert!(c.reads_content());
    }
}
