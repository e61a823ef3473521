//! The `harvest` field of a pipeline or rule: a collection declared in place (a TOML table) or
//! named by path (a file holding one declaration), read and validated into a [`Collection`].

use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use crate::harvest::{Collection, HarvestDecl};

/// A `harvest` value as written.
pub(super) enum Written {
    /// Declared in place and valid.
    Inline(Arc<Collection>),
    /// A path to a declaration file, read after validation (relative to the pipeline file).
    File(String),
}

/// One problem in a harvest declaration: the field below `harvest` (empty for the value itself)
/// and what is wrong.
pub(super) type Problem = (String, String);

/// Reads a `harvest` value without I/O: a table is validated now, a string is kept to load.
pub(super) fn read(value: &toml::Value) -> Result<Written, Vec<Problem>> {
    match value {
        toml::Value::String(path) if !path.trim().is_empty() => Ok(Written::File(path.clone())),
        toml::Value::Table(_) => declared(value.clone()).map(Written::Inline),
        _ => Err(vec![(
            String::new(),
            "expected a table of the collection ([pipeline.harvest] with schema and tables) or the path of a file declaring one (harvest = \"harvest/anmn_ts.toml\")".into(),
        )]),
    }
}

/// Reads and validates the declaration file at `path`, which the pipeline file names `rel`;
/// problems name the file as written.
pub(super) fn load(path: &Path, rel: &str) -> Result<Arc<Collection>, Vec<Problem>> {
    let in_file = |problems: Vec<Problem>| {
        problems
            .into_iter()
            .map(|(field, message)| {
                let at = if field.is_empty() {
                    String::new()
                } else {
                    format!(" {field}:")
                };
                (String::new(), format!("{rel}:{at} {message}"))
            })
            .collect()
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| vec![(String::new(), format!("cannot read {rel}: {e}"))])?;
    let value: toml::Value = toml::from_str(&text).map_err(|e| {
        let line = e
            .span()
            .map(|s| format!("line {}: ", text[..s.start].matches('\n').count() + 1))
            .unwrap_or_default();
        vec![(String::new(), format!("{rel}: {line}{}", e.message()))]
    })?;
    declared(value).map_err(in_file)
}

/// A declaration from TOML, validated.
fn declared(value: toml::Value) -> Result<Arc<Collection>, Vec<Problem>> {
    let decl = HarvestDecl::deserialize(value)
        .map_err(|e| vec![(String::new(), e.message().trim().to_string())])?;
    crate::harvest::validate(&decl).map(Arc::new).map_err(|ps| {
        ps.into_iter()
            .map(|p| (p.path.clone(), p.message.clone()))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_is_validated_in_place_and_a_path_is_kept_for_later() {
        let table: toml::Value = toml::from_str(
            r#"
schema = "anmn_ts"
[[tables]]
name = "measurement"
rows = "samples"
dimensions = ["TIME"]
columns = ["TIME", "TEMP"]
"#,
        )
        .unwrap();
        let Ok(Written::Inline(c)) = read(&table) else {
            panic!("an inline declaration is read");
        };
        assert_eq!(c.schema, "anmn_ts");
        assert!(matches!(
            read(&toml::Value::String("h.toml".into())),
            Ok(Written::File(p)) if p == "h.toml"
        ));
        let Err(problems) = read(&toml::Value::Integer(3)) else {
            panic!("a number is no declaration");
        };
        assert!(problems[0].1.contains("expected a table"), "{problems:?}");
    }

    #[test]
    fn problems_name_the_field_below_harvest() {
        let table: toml::Value = toml::from_str(
            r#"
schema = "Bad"
[[tables]]
name = "m"
rows = "sideways"
columns = ["TIME"]
"#,
        )
        .unwrap();
        let Err(problems) = read(&table) else {
            panic!("an invalid declaration is refused");
        };
        let fields: Vec<&str> = problems.iter().map(|(f, _)| f.as_str()).collect();
        assert!(fields.contains(&"schema"), "{problems:?}");
        assert!(fields.contains(&"tables[0].rows"), "{problems:?}");
        let unknown: toml::Value = toml::from_str("schema = \"a\"\ntabels = []").unwrap();
        let Err(problems) = read(&unknown) else {
            panic!("an unknown field is refused");
        };
        assert!(problems[0].1.contains("tabels"), "{problems:?}");
    }
}
