//! Values as templates see them: NetCDF attributes typed as the reference's Python sees them
//! (numbers stay numbers and print as Python prints them, `1.0`), and the maps that say what is
//! missing when a lookup misses ("the file has no global attribute site_code", "`XYZ` is not in
//! vessels") instead of minijinja's bare "undefined value".

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::Arc;

use minijinja::Value;
use minijinja::value::{Enumerator, Object, ObjectRepr};

use crate::netcdf::{AttrValue, NcSummary};

pub use crate::handlers::pyfmt::python_float;

/// A 32-bit float as the nearest 64-bit float to its shortest decimal form, so `1.8f32` prints
/// `1.8` as numpy prints a float32, not `1.7999999523162842`.
fn widen(x: f32) -> f64 {
    format!("{x}").parse().unwrap_or(x as f64)
}

/// A NetCDF attribute as a template value: text as a string, one number as a number of its kind
/// (integers as integers, floats as floats), several as a list (numpy arrays in the reference).
pub fn attr_json(value: &AttrValue) -> serde_json::Value {
    use serde_json::Value as J;
    fn list<T>(v: &[T], f: impl Fn(&T) -> J) -> J {
        if v.len() == 1 {
            f(&v[0])
        } else {
            J::Array(v.iter().map(f).collect())
        }
    }
    let float = |x: f64| serde_json::Number::from_f64(x).map_or(J::Null, J::Number);
    match value {
        AttrValue::Text(s) => J::String(s.clone()),
        AttrValue::Strings(v) => list(v, |s| J::String(s.clone())),
        AttrValue::Byte(v) => list(v, |&x| J::from(x)),
        AttrValue::UByte(v) => list(v, |&x| J::from(x)),
        AttrValue::Short(v) => list(v, |&x| J::from(x)),
        AttrValue::UShort(v) => list(v, |&x| J::from(x)),
        AttrValue::Int(v) => list(v, |&x| J::from(x)),
        AttrValue::UInt(v) => list(v, |&x| J::from(x)),
        AttrValue::Int64(v) => list(v, |&x| J::from(x)),
        AttrValue::UInt64(v) => list(v, |&x| J::from(x)),
        AttrValue::Float(v) => list(v, |&x| float(widen(x))),
        AttrValue::Double(v) => list(v, |&x| float(x)),
    }
}

/// The parts of a NetCDF header templates read, typed: `attrs` (global attributes), `variables`
/// (names in file order), `vars` (each variable's attributes, plus `dimensions` and `type`) and
/// `dimensions` (name → length). Header only: no values are read.
pub fn header_json(summary: &NcSummary) -> serde_json::Value {
    let attrs: serde_json::Map<String, serde_json::Value> = summary
        .global_attributes
        .iter()
        .map(|a| (a.name.clone(), attr_json(&a.value)))
        .collect();
    let vars: serde_json::Map<String, serde_json::Value> = summary
        .variables
        .iter()
        .map(|v| {
            let mut m: serde_json::Map<String, serde_json::Value> = v
                .attributes
                .iter()
                .map(|a| (a.name.clone(), attr_json(&a.value)))
                .collect();
            m.insert("dimensions".into(), serde_json::json!(v.dimensions));
            m.insert("type".into(), serde_json::json!(v.dtype.cdl_name()));
            (v.name.clone(), serde_json::Value::Object(m))
        })
        .collect();
    let dimensions: serde_json::Map<String, serde_json::Value> = summary
        .dimensions
        .iter()
        .map(|d| (d.name.clone(), serde_json::json!(d.len)))
        .collect();
    serde_json::json!({
        "attrs": attrs,
        "variables": summary.variables.iter().map(|v| v.name.clone()).collect::<Vec<_>>(),
        "vars": vars,
        "dimensions": dimensions,
    })
}

thread_local! {
    /// The last lookup that missed during the render on this thread: rendering is synchronous,
    /// so the miss that made a render fail is the last one recorded before the failure.
    static LAST_MISS: RefCell<Option<Miss>> = const { RefCell::new(None) };
}

/// A lookup that found nothing.
#[derive(Debug, Clone)]
pub struct Miss {
    /// The map's name as a template writes it (`attrs`, `vars.TEMP`, `vocab.vessels`).
    pub map: String,
    pub key: String,
    /// What to tell the provider.
    pub message: String,
}

/// Forgets earlier misses (at the start of a render).
pub fn clear_miss() {
    LAST_MISS.with(|m| m.borrow_mut().take());
}

/// The last miss of this thread's render.
pub fn last_miss() -> Option<Miss> {
    LAST_MISS.with(|m| m.borrow().clone())
}

/// How a map names what it lacks.
#[derive(Debug, Clone)]
pub enum MissStyle {
    /// "the file has no global attribute x"
    GlobalAttribute,
    /// "the file has no variable X"
    Variable,
    /// "variable X has no attribute y"
    VariableAttribute(String),
    /// "`x` is not in <name>" (vocabularies, constants)
    Entry,
    /// "<file> has no global attribute x": another file's attributes (the upload's primary
    /// file, a published version)
    FileAttribute(String),
}

/// A map that records what a template looked for and did not find.
#[derive(Debug)]
pub struct Lookup {
    name: String,
    style: MissStyle,
    entries: BTreeMap<String, Value>,
}

impl Lookup {
    pub fn value(
        name: impl Into<String>,
        style: MissStyle,
        entries: BTreeMap<String, Value>,
    ) -> Value {
        Value::from_object(Lookup {
            name: name.into(),
            style,
            entries,
        })
    }

    /// A map of JSON values; nested objects become lookups of their own when `nest` names them.
    pub fn from_json(
        name: &str,
        style: MissStyle,
        json: &serde_json::Value,
        nest: &dyn Fn(&str) -> Option<(String, MissStyle)>,
    ) -> Value {
        let entries = json
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| {
                        let value = match (v.is_object(), nest(k)) {
                            (true, Some((n, s))) => Lookup::from_json(&n, s, v, &|_| None),
                            _ => Value::from_serialize(v),
                        };
                        (k.clone(), value)
                    })
                    .collect()
            })
            .unwrap_or_default();
        Lookup::value(name, style, entries)
    }
}

impl Object for Lookup {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let k = key.as_str().map_or_else(|| key.to_string(), str::to_string);
        match self.entries.get(&k) {
            Some(v) => Some(v.clone()),
            None => {
                let message = match &self.style {
                    MissStyle::GlobalAttribute => format!("the file has no global attribute {k}"),
                    MissStyle::Variable => format!("the file has no variable {k}"),
                    MissStyle::VariableAttribute(var) => {
                        format!("variable {var} has no attribute {k}")
                    }
                    MissStyle::Entry => format!("`{k}` is not in {}", self.name),
                    MissStyle::FileAttribute(file) => {
                        format!("{file} has no global attribute {k}")
                    }
                };
                LAST_MISS.with(|m| {
                    *m.borrow_mut() = Some(Miss {
                        map: self.name.clone(),
                        key: k,
                        message,
                    })
                });
                None
            }
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(
            self.entries
                .keys()
                .map(|k| Value::from(k.as_str()))
                .collect(),
        )
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.entries.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_python_prints_them() {
        for (x, py) in [
            (1.0, "1.0"),
            (1.8, "1.8"),
            (-0.5, "-0.5"),
            (100.0, "100.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (123456789012345.0, "123456789012345.0"),
            (1e100, "1e+100"),
            (0.1 + 0.2, "0.30000000000000004"),
        ] {
            assert_eq!(python_float(x), py, "{x}");
        }
    }

    #[test]
    fn float32_attributes_keep_their_short_form() {
        let j = attr_json(&AttrValue::Float(vec![1.8]));
        assert_eq!(j.to_string(), "1.8");
        let j = attr_json(&AttrValue::Int(vec![33098]));
        assert_eq!(j.to_string(), "33098");
        let j = attr_json(&AttrValue::Double(vec![1.0, 2.5]));
        assert_eq!(j.to_string(), "[1.0,2.5]");
    }
}
