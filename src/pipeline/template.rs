//! Destination and archive path templates (minijinja), and the context they see: the file name,
//! its IMOS fields, the NetCDF global attributes and the time coverage.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime};
use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior};
use serde::Serialize;

use super::imos_name::ImosName;

/// What a template can use. Every field is documented in `examples/pipelines.toml`.
#[derive(Debug, Clone, Serialize)]
pub struct TemplateContext {
    /// The file name, e.g. `IMOS_ANMN-NRS_…_C-20160524T003914Z.nc`.
    pub name: String,
    /// The name without its last extension.
    pub stem: String,
    /// The last extension with its dot (`.nc`), or empty.
    pub extension: String,
    /// The upload's key in the incoming store (or its file name for a local upload).
    pub key: String,
    pub pipeline: String,
    /// The IMOS file-name fields; undefined when the name does not follow the convention.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imos: Option<ImosName>,
    /// NetCDF global attributes (an empty map for other files).
    pub attrs: serde_json::Value,
    /// `{start, end}` in ISO 8601, from the time coordinate or the `time_coverage_*` attributes.
    pub time_coverage: TimeCoverage,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct TimeCoverage {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
}

impl TemplateContext {
    pub fn new(name: &str, key: &str, pipeline: &str) -> Self {
        let (stem, extension) = match name.rfind('.') {
            Some(i) if i > 0 => (name[..i].to_string(), name[i..].to_string()),
            _ => (name.to_string(), String::new()),
        };
        TemplateContext {
            name: name.to_string(),
            stem,
            extension,
            key: key.to_string(),
            pipeline: pipeline.to_string(),
            imos: ImosName::parse(name),
            attrs: serde_json::Value::Object(Default::default()),
            time_coverage: TimeCoverage::default(),
        }
    }
}

/// The template engine of a pipeline file: strict about undefined values, with a `strftime` filter.
fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(false);
    env.add_filter("strftime", strftime);
    env
}

/// `{{ imos.start | strftime("%Y/%m") }}`: formats a compact IMOS time (`20140703T021045Z`), an
/// ISO 8601 time or a date.
fn strftime(value: String, format: String) -> Result<String, Error> {
    let parsed = parse_time(&value).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("strftime: {value:?} is not a date or time"),
        )
    })?;
    let mut out = String::new();
    use std::fmt::Write;
    write!(out, "{}", parsed.format(&format)).map_err(|_| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("strftime: bad format {format:?}"),
        )
    })?;
    Ok(out)
}

fn parse_time(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim().trim_end_matches('Z');
    for fmt in [
        "%Y%m%dT%H%M%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S%.f",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t);
        }
    }
    for fmt in ["%Y%m%d", "%Y-%m-%d"] {
        if let Ok(d) = NaiveDate::parse_from_str(s, fmt) {
            return d.and_hms_opt(0, 0, 0);
        }
    }
    None
}

/// A destination or archive template, compiled once when the pipeline file is validated and
/// held by its rule, with the variables it reads found once too.
#[derive(Clone)]
pub struct Template {
    /// An environment holding this one template (as [`NAME`]), with the pipeline filters.
    env: Arc<Environment<'static>>,
    /// The variables the template reads (`attrs.site_code`, `imos.start`…).
    reads: BTreeSet<String>,
    source: String,
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
        let reads = env
            .get_template(NAME)
            .map_err(|e| format!("invalid template: {e}"))?
            .undeclared_variables(true);
        Ok(Template {
            env: Arc::new(env),
            reads: reads.into_iter().collect(),
            source: source.to_string(),
        })
    }

    /// The template as written in the pipeline file.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Renders the template, explaining a missing value by name (e.g. "the file has no global
    /// attribute site_code") rather than minijinja's generic "undefined value".
    pub fn render(&self, ctx: &TemplateContext) -> Result<String, String> {
        let value = minijinja::Value::from_serialize(ctx);
        let missing: Vec<String> = self
            .reads
            .iter()
            .filter(|path| !is_defined(&value, path))
            .map(|p| explain_missing(p))
            .collect();
        if !missing.is_empty() {
            return Err(missing.join("; "));
        }
        let tmpl = self.env.get_template(NAME).map_err(|e| e.to_string())?;
        let rendered = tmpl.render(&value).map_err(|e| {
            let mut msg = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                msg.push_str(": ");
                msg.push_str(&s.to_string());
                source = s.source();
            }
            msg
        })?;
        Ok(rendered.trim().to_string())
    }
}

fn is_defined(value: &minijinja::Value, path: &str) -> bool {
    let mut current = value.clone();
    for part in path.split('.') {
        match current.get_attr(part) {
            Ok(v) if !v.is_undefined() => current = v,
            _ => return false,
        }
    }
    true
}

fn explain_missing(path: &str) -> String {
    if let Some(attr) = path.strip_prefix("attrs.") {
        format!("the file has no global attribute {attr}")
    } else if path == "imos" || path.starts_with("imos.") {
        let field = path.strip_prefix("imos.").unwrap_or("fields");
        format!("the file name does not follow the IMOS naming convention or has no {field} field")
    } else if path.starts_with("time_coverage") {
        "the file has no time coverage (no time coordinate, no time_coverage_start/end attributes)"
            .to_string()
    } else {
        format!("{path} is not defined for this file")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_with(src: &str) -> Template {
        Template::compile(src).unwrap()
    }

    #[test]
    fn renders_imos_fields_attributes_and_dates() {
        let mut ctx = TemplateContext::new(
            "IMOS_ACORN_V_20101201T050000Z_BONC_FV00_sea-state.nc",
            "k",
            "acorn",
        );
        ctx.attrs = serde_json::json!({"site_code": "BONC"});
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
}
