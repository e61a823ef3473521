//! The filters, tests and functions pipeline templates have beyond minijinja's own: dates
//! (`strftime`), regular expressions as Python's `re` writes them (`regex_replace`,
//! `regex_search`, `regex_match`, the test `matching`), list intersection, and `reject(reason)`.
//!
//! Patterns in filters use `fancy-regex`: the reference's handlers are Python `re` patterns, some
//! with look-ahead (the AIMS site-code substitution), which the `regex` crate does not have.
//! fancy-regex delegates everything else to `regex` and bounds backtracking, so a pathological
//! pattern fails the render instead of hanging the job. Rule patterns (`include`, `keys`, …) stay
//! on `regex` (linear time, no look-around): they decide routing and run on every file.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use chrono::{NaiveDate, NaiveDateTime};
use fancy_regex::Regex;
use minijinja::value::Rest;
use minijinja::{Error, ErrorKind, Value};

/// Marks the error a `reject(…)` call raises, so the renderer can hand its reason on as is.
pub const REJECT_MARK: &str = "\u{1}reject\u{1}";

/// Adds the pipeline filters, tests and functions to an environment.
pub fn install(env: &mut minijinja::Environment<'static>) {
    env.add_filter("strftime", strftime);
    env.add_filter("regex_replace", regex_replace);
    env.add_filter("regex_search", regex_search);
    env.add_filter("regex_match", regex_match);
    env.add_filter("intersect", intersect);
    env.add_test("matching", matching);
    env.add_function("reject", reject);
}

/// `{{ reject("why") }}`: fails the render, and so the file, with this reason.
fn reject(parts: Rest<Value>) -> Result<Value, Error> {
    let reason: Vec<String> = parts.iter().map(|v| v.to_string()).collect();
    Err(Error::new(
        ErrorKind::InvalidOperation,
        format!("{REJECT_MARK}{}", reason.join(" ")),
    ))
}

/// Compiled filter patterns, shared by every render: templates name a handful of patterns.
static PATTERNS: LazyLock<Mutex<HashMap<String, Arc<Regex>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// Compiles a filter pattern (Python `re` syntax as far as fancy-regex has it), or says why not.
pub fn compile(pattern: &str) -> Result<Arc<Regex>, String> {
    let mut cache = PATTERNS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(r) = cache.get(pattern) {
        return Ok(r.clone());
    }
    let r = Arc::new(
        Regex::new(pattern).map_err(|e| format!("invalid regular expression {pattern:?}: {e}"))?,
    );
    if cache.len() < 1024 {
        cache.insert(pattern.to_string(), r.clone());
    }
    Ok(r)
}

fn pattern(p: &str) -> Result<Arc<Regex>, Error> {
    compile(p).map_err(|e| Error::new(ErrorKind::InvalidOperation, e))
}

fn run_err(e: fancy_regex::Error) -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        format!("regular expression failed: {e}"),
    )
}

/// `{{ name | regex_replace('_C-.*$', '.nc') }}`: Python's `re.sub` — every non-overlapping
/// match replaced; `$1`, `${name}` in the replacement name groups (`$$` is a literal `$`).
fn regex_replace(value: String, pat: String, replacement: String) -> Result<String, Error> {
    let re = pattern(&pat)?;
    let mut out = String::new();
    let mut last = 0;
    for caps in re.captures_iter(value.as_str()) {
        let caps = caps.map_err(run_err)?;
        let whole = caps.get(0).expect("group 0 always matches");
        out.push_str(&value[last..whole.start()]);
        caps.expand(&replacement, &mut out);
        last = whole.end();
    }
    out.push_str(&value[last..]);
    Ok(out)
}

/// The groups of a match as a map: every named group by name, every group by number (0 is the
/// whole match); an optional group that did not take part is `none` (Python's `None`).
pub fn groups_value(re: &Regex, caps: &fancy_regex::Captures<'_, str>) -> Value {
    let mut map = std::collections::BTreeMap::new();
    for (i, name) in re.capture_names().enumerate() {
        let v = caps
            .get(i)
            .map_or(Value::from(()), |m| Value::from(m.as_str()));
        map.insert(Value::from(i), v.clone());
        if let Some(n) = name {
            map.insert(Value::from(n), v);
        }
    }
    Value::from(map)
}

/// `{% set g = name | regex_search('CARS(\\d+)_') %}`: Python's `re.search` — the groups of the
/// first match anywhere (see [`groups_value`]), or `none`.
fn regex_search(value: String, pat: String) -> Result<Value, Error> {
    let re = pattern(&pat)?;
    Ok(match re.captures(value.as_str()).map_err(run_err)? {
        Some(caps) => groups_value(&re, &caps),
        None => Value::from(()),
    })
}

/// As `regex_search`, anchored at the start of the value: Python's `re.match`.
fn regex_match(value: String, pat: String) -> Result<Value, Error> {
    let re = pattern(&format!(r"\A(?:{pat})"))?;
    Ok(match re.captures(value.as_str()).map_err(run_err)? {
        Some(caps) => groups_value(&re, &caps),
        None => Value::from(()),
    })
}

/// `{{ variables | select('matching', '.*_quality_control$') }}`: the value matches the pattern
/// from its start (Python's `re.match`).
fn matching(value: String, pat: String) -> Result<bool, Error> {
    let re = pattern(&format!(r"\A(?:{pat})"))?;
    re.is_match(&value).map_err(run_err)
}

/// `{{ variables | intersect(const.VELOCITY) }}`: the items of the value that are also in the
/// list, in the value's order.
fn intersect(value: Value, other: Value) -> Result<Value, Error> {
    let others: Vec<Value> = other.try_iter()?.collect();
    Ok(Value::from(
        value
            .try_iter()?
            .filter(|v| others.contains(v))
            .collect::<Vec<_>>(),
    ))
}

/// `{{ imos.start | strftime("%Y/%m") }}`: formats a compact IMOS time (`20140703T021045Z`), an
/// ISO 8601 time, a date or an ordinal date (`2022-332`).
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
        "%Y%m%d%H%M%S",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t);
        }
    }
    // `2022-332`: an ISO 8601 ordinal date (year and day of the year).
    for fmt in ["%Y%m%d", "%Y-%m-%d", "%Y-%j"] {
        if let Ok(d) = NaiveDate::parse_from_str(s, fmt) {
            return d.and_hms_opt(0, 0, 0);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_replace_is_python_re_sub_with_look_ahead() {
        // The AIMS site-code substitution, look-ahead and all.
        let name = "IMOS_ANMN_Z_20170201T000000Z_NRSDAR_FV01.nc";
        assert_eq!(
            regex_replace(
                name.into(),
                "(?=[^0-9]{6})Z_.*_FV0".into(),
                "Z_NRSDAR_FV0".into()
            )
            .unwrap(),
            "IMOS_ANMN_Z_20170201T000000Z_NRSDAR_FV01.nc"
        );
        assert_eq!(
            regex_replace(
                "a.31e4cadf90ba8824645001ea07b74814.nc".into(),
                r"\.[0-9a-z]{32}\.nc$".into(),
                ".nc".into()
            )
            .unwrap(),
            "a.nc"
        );
        assert_eq!(
            regex_replace("x_1_y_2".into(), r"_(\d)".into(), "-$1".into()).unwrap(),
            "x-1_y-2"
        );
        assert!(regex_replace("x".into(), "(".into(), "".into()).is_err());
    }

    #[test]
    fn search_and_match_return_groups_or_none() {
        let v = regex_search("xCARS2009_W.nc".into(), r"CARS(?P<year>\d+)_".into()).unwrap();
        assert_eq!(v.get_attr("year").unwrap().to_string(), "2009");
        assert_eq!(v.get_item(&Value::from(1)).unwrap().to_string(), "2009");
        assert!(
            regex_match("xCARS2009_W.nc".into(), r"CARS(\d+)_".into())
                .unwrap()
                .is_none()
        );
        let v = regex_match("ab".into(), r"a(x)?".into()).unwrap();
        assert!(v.get_item(&Value::from(1)).unwrap().is_none());
        assert!(matching("TEMP_quality_control".into(), ".*_quality_control$".into()).unwrap());
        assert!(!matching("xTEMP".into(), "TEMP".into()).unwrap());
    }
}
