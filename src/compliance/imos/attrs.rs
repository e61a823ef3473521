//! The reference's attribute helpers (`check_attribute`, `check_attribute_type`, `check_present`):
//! one result per attribute, named after the attribute (global) or its variable.

use super::pyattr::{self, Lit};
use super::time;
use crate::compliance::{CheckResult, Priority};
use crate::netcdf::{AttrValue, NcSummary, NcType, Variable};
use crate::text_regex::TextRegex;

/// Where an attribute lives.
#[derive(Clone, Copy)]
pub enum Target<'a> {
    Global(&'a NcSummary),
    Var(&'a Variable),
}

impl<'a> Target<'a> {
    pub fn attr(&self, name: &str) -> Option<&'a AttrValue> {
        match self {
            Target::Global(s) => s.global(name),
            Target::Var(v) => v.attr(name),
        }
    }

    /// The group a result about this attribute goes to: the attribute's name for a global
    /// attribute, the variable's name for a variable attribute.
    pub fn result_name(&self, attr: &str) -> String {
        match self {
            Target::Global(_) => attr.to_string(),
            Target::Var(v) => v.name.clone(),
        }
    }

    fn message_name(&self, attr: &str) -> String {
        match self {
            Target::Global(_) => format!("Global attribute '{attr}'"),
            Target::Var(_) => format!("Attribute '{attr}'"),
        }
    }
}

/// A value test applied to a present attribute (the reference's `expected` argument).
pub enum Expected {
    /// Present and, if text, not blank.
    NonEmpty,
    /// Equal to one of these values (Python's `value in [...]`).
    OneOf(Vec<Lit>),
    /// A `str`.
    Str,
    /// A timestamp `YYYY-MM-DDThh:mm:ssZ`.
    Timestamp,
    /// A syntactically valid email address.
    Email,
    /// Text matching this pattern from its start (`re.match`).
    Pattern(&'static std::sync::LazyLock<TextRegex>),
}

impl Expected {
    pub fn one_of_str(values: &[&'static str]) -> Expected {
        Expected::OneOf(values.iter().map(|s| Lit::Str(s)).collect())
    }
}

/// `check_attribute`: one point for the attribute being present and as expected. With
/// `optional`, a missing attribute gives no result at all. `Err` where the reference raises.
pub fn check_attribute(
    name: &str,
    expected: &Expected,
    target: Target<'_>,
    priority: Priority,
    optional: bool,
) -> Result<Option<CheckResult>, String> {
    let result_name = target.result_name(name);
    let what = target.message_name(name);
    let Some(value) = target.attr(name) else {
        if optional {
            return Ok(None);
        }
        return Ok(Some(CheckResult::test(
            result_name,
            priority,
            false,
            format!("{what} missing."),
        )));
    };
    let (ok, message) = match expected {
        // `bytes` strip like `str`, so a char `_FillValue` is tested the same way.
        Expected::NonEmpty => match pyattr::as_str(value) {
            Some(s) if s.trim().is_empty() => {
                (false, format!("{what} is empty or completely whitespace."))
            }
            _ => (true, String::new()),
        },
        Expected::OneOf(lits) => {
            // `bytes` equal no `str` and no number.
            let ok = !pyattr::is_bytes(name, value) && pyattr::py_in(value, lits)?;
            let message = match lits.as_slice() {
                [Lit::Str(s)] => format!("{what} should be set to \"{s}\"."),
                [one] => format!("{what} should be set to {one}."),
                many => format!(
                    "{what} should be one of [{}].",
                    many.iter()
                        .map(Lit::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            (ok, message)
        }
        Expected::Str => (
            pyattr::str_named(name, value).is_some(),
            format!("{what} should have type string."),
        ),
        Expected::Timestamp => match pyattr::str_named(name, value) {
            None => (false, format!("{what} should be a timestamp string.")),
            Some(s) => (
                time::strptime_iso(s).is_some(),
                format!("{what} is not in correct date/time format ('YYYY-MM-DDThh:mm:ssZ')."),
            ),
        },
        Expected::Email => (
            is_valid_email(value)?,
            format!("{what} is not a valid email address."),
        ),
        Expected::Pattern(re) => match pyattr::str_named(name, value) {
            None => (false, format!("{what} should be a string.")),
            Some(s) => (
                re.is_match(s),
                format!(
                    "{what} doesn't match the expected pattern \"{}\".",
                    pattern_text(re)
                ),
            ),
        },
    };
    Ok(Some(CheckResult::test(result_name, priority, ok, message)))
}

/// A pattern as the reference wrote it (without the start anchor added for `re.match`).
pub fn pattern_text(re: &TextRegex) -> &str {
    let s = re.as_str();
    s.strip_prefix(r"\A(?:")
        .and_then(|s| s.strip_suffix(')'))
        .unwrap_or(s)
}

/// The reference's email pattern. Its last alternative (`[0-9]{1,3\}`) is, in Python, a literal
/// brace sequence rather than a repetition, so only a 2–3 letter top-level domain can match; and
/// Python's `$` also matches before one final newline.
static EMAIL: std::sync::LazyLock<TextRegex> = std::sync::LazyLock::new(|| {
    TextRegex::new(r"\A.+@(\[?)[a-zA-Z0-9\-.]+\.([a-zA-Z]{2,3}|[0-9]\{1,3\})(\]?)\n?\z")
});

/// `is_valid_email`; the reference raises on a value that is not text.
pub fn is_valid_email(value: &AttrValue) -> Result<bool, String> {
    pyattr::re_match(&EMAIL, value)
}

/// What `check_present` looks for.
#[derive(Clone, Copy)]
pub enum Present<'a> {
    Global(&'a str),
    VarAttr(&'a str, &'a str),
}

/// `check_present`: one point for a global attribute, variable or variable attribute existing.
pub fn check_present(
    summary: &NcSummary,
    what: Present<'_>,
    result_name: &str,
    priority: Priority,
) -> CheckResult {
    let (ok, message) = match what {
        Present::Global(a) => (
            summary.global(a).is_some(),
            format!("Global attribute '{a}' not present."),
        ),
        Present::VarAttr(v, a) => match summary.variable(v) {
            None => (false, format!("Variable {v} not present.")),
            Some(var) => (
                var.attr(a).is_some(),
                format!("Variable attribute {v}:{a} not present."),
            ),
        },
    };
    CheckResult::test(result_name, priority, ok, message)
}

/// The type `check_attribute_type` compares with.
pub enum TypeWanted<'a> {
    /// `six.string_types`.
    Str,
    /// `util.numeric_types`.
    Numeric,
    /// A variable's own type (`var.datatype`), for its `_FillValue`, `valid_min`, `valid_max`.
    SameAs(&'a NcType),
}

/// `check_attribute_type` for an attribute value: whether Python's test passes. A numpy array
/// fails unless `allow_array`; a value without a dtype is tested with `isinstance`, which raises
/// (and so fails) for a numpy dtype.
pub fn attribute_type_ok(
    name: &str,
    value: &AttrValue,
    wanted: &TypeWanted<'_>,
    allow_array: bool,
) -> bool {
    if pyattr::is_array(value) && !allow_array {
        return false;
    }
    match (pyattr::dtype(value), wanted) {
        (Some(t), TypeWanted::Numeric) => pyattr::is_numeric_type(&t),
        (Some(t), TypeWanted::SameAs(var_type)) => **var_type == t && t.is_numeric(),
        (Some(_), TypeWanted::Str) => false,
        // No dtype: text. Only `isinstance(value, str)` can hold, and a list of strings is not.
        (None, TypeWanted::Str | TypeWanted::SameAs(NcType::String)) => {
            pyattr::str_named(name, value).is_some()
        }
        (None, _) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netcdf::Attribute;

    fn var(attrs: Vec<(&str, AttrValue)>) -> Variable {
        Variable {
            name: "TEMP".into(),
            dtype: NcType::Float,
            dimensions: vec!["TIME".into()],
            shape: vec![3],
            attributes: attrs
                .into_iter()
                .map(|(n, value)| Attribute {
                    name: n.into(),
                    value,
                })
                .collect(),
        }
    }

    fn run(expected: Expected, value: Option<AttrValue>) -> Option<(u32, u32)> {
        let v = var(value.into_iter().map(|v| ("a", v)).collect());
        check_attribute("a", &expected, Target::Var(&v), Priority::High, true)
            .unwrap()
            .map(|r| (r.scored, r.possible))
    }

    #[test]
    fn check_attribute_scores_each_kind_of_expectation() {
        let text = |s: &str| Some(AttrValue::Text(s.into()));
        assert_eq!(run(Expected::NonEmpty, text("  ")), Some((0, 1)));
        assert_eq!(
            run(Expected::NonEmpty, Some(AttrValue::Int(vec![0]))),
            Some((1, 1))
        );
        assert_eq!(run(Expected::NonEmpty, None), None);
        assert_eq!(run(Expected::Str, text("")), Some((1, 1)));
        assert_eq!(
            run(Expected::Str, Some(AttrValue::Float(vec![1.0]))),
            Some((0, 1))
        );
        assert_eq!(
            run(Expected::Timestamp, text("2020-01-01T00:00:00Z")),
            Some((1, 1))
        );
        assert_eq!(run(Expected::Timestamp, text("2020-01-01")), Some((0, 1)));
        assert_eq!(run(Expected::Email, text("a.b@csiro.au")), Some((1, 1)));
        assert_eq!(run(Expected::Email, text("a.b@example.info")), Some((0, 1)));
        assert_eq!(
            run(Expected::Email, text("info@aodn.org.au\n")),
            Some((1, 1))
        );
        assert_eq!(
            run(Expected::one_of_str(&["up", "down"]), text("Up")),
            Some((0, 1))
        );
        let v = var(vec![]);
        let missing = check_attribute(
            "a",
            &Expected::NonEmpty,
            Target::Var(&v),
            Priority::Medium,
            false,
        )
        .unwrap()
        .unwrap();
        assert_eq!((missing.name.as_str(), missing.scored), ("TEMP", 0));
        assert!(
            check_attribute(
                "a",
                &Expected::Email,
                Target::Var(&var(vec![("a", AttrValue::Int(vec![1]))])),
                Priority::Medium,
                true
            )
            .is_err()
        );
    }

    #[test]
    fn attribute_types_compare_like_numpy_dtypes() {
        let f = AttrValue::Float(vec![1.0]);
        assert!(attribute_type_ok(
            "a",
            &f,
            &TypeWanted::SameAs(&NcType::Float),
            true
        ));
        assert!(!attribute_type_ok(
            "a",
            &f,
            &TypeWanted::SameAs(&NcType::Double),
            true
        ));
        assert!(attribute_type_ok("a", &f, &TypeWanted::Numeric, false));
        assert!(!attribute_type_ok(
            "a",
            &AttrValue::UShort(vec![1]),
            &TypeWanted::Numeric,
            false
        ));
        let pair = AttrValue::Float(vec![1.0, 2.0]);
        assert!(!attribute_type_ok("a", &pair, &TypeWanted::Numeric, false));
        assert!(attribute_type_ok(
            "a",
            &pair,
            &TypeWanted::SameAs(&NcType::Float),
            true
        ));
        let text = AttrValue::Text("x".into());
        assert!(!attribute_type_ok(
            "a",
            &text,
            &TypeWanted::SameAs(&NcType::Char),
            true
        ));
        assert!(attribute_type_ok(
            "a",
            &text,
            &TypeWanted::SameAs(&NcType::String),
            true
        ));
        assert!(attribute_type_ok("a", &text, &TypeWanted::Str, false));
        assert!(!attribute_type_ok("a", &text, &TypeWanted::Numeric, false));
        // A char _FillValue is bytes in Python: never a str.
        assert!(!attribute_type_ok(
            "_FillValue",
            &text,
            &TypeWanted::SameAs(&NcType::String),
            true
        ));
    }
}
