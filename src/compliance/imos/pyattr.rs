//! Attribute values as the reference's rules see them through netCDF4-python: text is a `str`,
//! one number is a numpy scalar with a dtype, several (or none) a numpy array, several strings a
//! list. The rules' outcomes hang on these distinctions (a type test, `value in [...]`), so they
//! are modelled once here.

use crate::netcdf::{AttrValue, NcType};
use crate::text_regex::TextRegex;

/// A literal in an "one of these values" rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lit {
    Str(&'static str),
    Num(f64),
}

impl std::fmt::Display for Lit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Lit::Str(s) => write!(f, "'{s}'"),
            Lit::Num(x) => write!(f, "{x}"),
        }
    }
}

/// The text of an attribute Python sees as a `str`: a char attribute, or one NC_STRING.
pub fn as_str(v: &AttrValue) -> Option<&str> {
    v.as_str()
}

/// The text of attribute `name` if Python sees a `str`. netCDF4-python hands a char attribute
/// named `_FillValue` over as `bytes` (its issue 271), which is not a `str`.
pub fn str_named<'v>(name: &str, v: &'v AttrValue) -> Option<&'v str> {
    match v {
        AttrValue::Text(_) if name == "_FillValue" => None,
        other => other.as_str(),
    }
}

/// Whether attribute `name` reaches Python as `bytes` (see [`str_named`]).
pub fn is_bytes(name: &str, v: &AttrValue) -> bool {
    name == "_FillValue" && matches!(v, AttrValue::Text(_))
}

/// The numpy dtype of a numeric attribute (`None` for text, which has no dtype in Python).
pub fn dtype(v: &AttrValue) -> Option<NcType> {
    match v {
        AttrValue::Text(_) | AttrValue::Strings(_) => None,
        other => Some(other.nc_type()),
    }
}

/// A numeric attribute with exactly one value: Python sees a numpy scalar.
pub fn scalar(v: &AttrValue) -> Option<f64> {
    v.as_f64()
}

/// A numeric attribute with zero or several values: Python sees a numpy array.
pub fn is_array(v: &AttrValue) -> bool {
    dtype(v).is_some() && v.len() != 1
}

/// Numpy dtypes the reference counts as numeric (`util.numeric_types`): signed integers and
/// floats. Unsigned types compare unequal to every entry of that list.
pub fn is_numeric_type(t: &NcType) -> bool {
    matches!(
        t,
        NcType::Byte | NcType::Short | NcType::Int | NcType::Int64 | NcType::Float | NcType::Double
    )
}

/// Floating-point dtypes (float16 … float128).
pub fn is_float_type(t: &NcType) -> bool {
    matches!(t, NcType::Float | NcType::Double)
}

/// Python's `value == lit`, where a multi-valued numeric attribute compared with a number gives an
/// array whose truth value is an error.
pub fn py_eq(v: &AttrValue, lit: Lit) -> Result<bool, String> {
    match v {
        // A `str` equals only the same string; a list of strings equals nothing here.
        AttrValue::Text(_) | AttrValue::Strings(_) => {
            Ok(matches!((v.as_str(), lit), (Some(s), Lit::Str(l)) if s == l))
        }
        num => match lit {
            Lit::Str(_) => Ok(false),
            Lit::Num(x) => {
                let values = num.as_f64s().unwrap_or_default();
                match values.len() {
                    1 => Ok(values[0] == x),
                    0 => Ok(false),
                    n => Err(format!(
                        "the truth value of an array with {n} elements is ambiguous \
                         (attribute value {values:?})"
                    )),
                }
            }
        },
    }
}

/// Python's `value in [lits]`.
pub fn py_in(v: &AttrValue, lits: &[Lit]) -> Result<bool, String> {
    for &lit in lits {
        if py_eq(v, lit)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Python's truth value of an attribute (`if value:`).
pub fn py_truthy(v: &AttrValue) -> Result<bool, String> {
    match v {
        AttrValue::Text(s) => Ok(!s.is_empty()),
        AttrValue::Strings(list) if list.len() == 1 => Ok(!list[0].is_empty()),
        AttrValue::Strings(list) => Ok(!list.is_empty()),
        num => {
            let values = num.as_f64s().unwrap_or_default();
            match values.len() {
                0 => Ok(false),
                1 => Ok(values[0] != 0.0),
                n => Err(format!(
                    "the truth value of an array with {n} elements is ambiguous"
                )),
            }
        }
    }
}

/// Python's `str(value)`, close enough for substring tests on words.
pub fn py_str(v: &AttrValue) -> String {
    match v {
        AttrValue::Text(s) => s.clone(),
        AttrValue::Strings(list) if list.len() == 1 => list[0].clone(),
        AttrValue::Strings(list) => format!("{list:?}"),
        num => format!("{:?}", num.as_f64s().unwrap_or_default()),
    }
}

/// A short description of an attribute's Python type, for messages.
pub fn type_name(v: &AttrValue) -> String {
    match v {
        AttrValue::Text(_) => "string".into(),
        AttrValue::Strings(l) if l.len() == 1 => "string".into(),
        AttrValue::Strings(_) => "list of strings".into(),
        num if num.len() == 1 => num.nc_type().cdl_name().to_string(),
        num => format!("array of {}", num.nc_type().cdl_name()),
    }
}

/// The reference compiles its patterns for Python's `re.match`: anchored at the start only.
pub fn python_match(pattern: &str) -> TextRegex {
    TextRegex::new(format!(r"\A(?:{pattern})"))
}

/// `re.match(pattern, value)` for an attribute: `Err` when the value is not text (Python raises).
pub fn re_match(re: &TextRegex, v: &AttrValue) -> Result<bool, String> {
    match v.as_str() {
        Some(s) => Ok(re.is_match(s)),
        None => Err(format!(
            "expected string or bytes-like object, got {}",
            type_name(v)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership_follows_python_and_numpy() {
        let text = AttrValue::Text("up".into());
        assert!(py_in(&text, &[Lit::Str("down"), Lit::Str("up")]).unwrap());
        assert!(!py_in(&text, &[Lit::Num(1.0)]).unwrap());
        let one = AttrValue::Float(vec![-90.0]);
        assert!(py_in(&one, &[Lit::Num(-90.0)]).unwrap());
        assert!(!py_in(&one, &[Lit::Str("-90")]).unwrap());
        let list = AttrValue::Strings(vec!["up".into(), "down".into()]);
        assert!(!py_in(&list, &[Lit::Str("up")]).unwrap());
        let many = AttrValue::Double(vec![1.0, 2.0]);
        assert!(!py_in(&many, &[Lit::Str("a")]).unwrap());
        assert!(py_in(&many, &[Lit::Str("a"), Lit::Num(1.0)]).is_err());
        assert!(!py_in(&AttrValue::Double(vec![]), &[Lit::Num(1.0)]).unwrap());
    }

    #[test]
    fn types_and_truth_follow_numpy() {
        assert!(is_array(&AttrValue::Int(vec![1, 2])));
        assert!(!is_array(&AttrValue::Int(vec![1])));
        assert!(!is_array(&AttrValue::Text("ab".into())));
        assert!(is_numeric_type(&NcType::Byte) && !is_numeric_type(&NcType::UByte));
        assert!(!py_truthy(&AttrValue::Text(String::new())).unwrap());
        assert!(py_truthy(&AttrValue::Float(vec![2.0])).unwrap());
        assert!(py_truthy(&AttrValue::Float(vec![2.0, 3.0])).is_err());
    }

    #[test]
    fn patterns_anchor_at_the_start_only() {
        let re = python_match(".*UTC");
        assert!(re.is_match("days since 1950-01-01 00:00:00 UTC trailing"));
        assert!(!re.is_match("line\nUTC"));
        let re = python_match("UTC");
        assert!(!re.is_match(" UTC"));
        assert!(re_match(&re, &AttrValue::Double(vec![1.0])).is_err());
    }
}
