//! The reference's facility code is Python: numbers it accepts are what `int()` and `float()`
//! accept, and the files it writes are what pandas and shapely print. These reproduce exactly those
//! rules, so values that passed (or failed) there pass (or fail) here and generated files match.

/// Whether Python's `int(s)` accepts `s`: surrounding whitespace, an optional sign, ASCII digits
/// with single underscores between them. Returns the value when it fits an `i64`.
pub fn py_int(s: &str) -> Option<Result<i64, ()>> {
    let t = s.trim();
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if !underscored_digits(digits) {
        return None;
    }
    let clean: String = t.chars().filter(|c| *c != '_').collect();
    Some(clean.parse::<i64>().map_err(|_| ()))
}

/// Python's `float(s)`: surrounding whitespace, decimal and exponent forms with underscores only
/// between digits, `inf`/`infinity`/`nan` in any case, with an optional sign.
pub fn py_float(s: &str) -> Option<f64> {
    let t = s.trim();
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
    let lower = unsigned.to_ascii_lowercase();
    if matches!(lower.as_str(), "inf" | "infinity" | "nan") {
        return t.to_ascii_lowercase().parse::<f64>().ok();
    }
    // mantissa [e exponent]; each run of digits may hold single underscores between digits
    let (mantissa, exponent) = match lower.find('e') {
        Some(i) => (&lower[..i], Some(&lower[i + 1..])),
        None => (lower.as_str(), None),
    };
    let (int_part, frac_part) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], Some(&mantissa[i + 1..])),
        None => (mantissa, None),
    };
    let int_ok = int_part.is_empty() || underscored_digits(int_part);
    let frac_ok = frac_part.is_none_or(|f| f.is_empty() || underscored_digits(f));
    let has_digits = !int_part.is_empty() || frac_part.is_some_and(|f| !f.is_empty());
    if !(int_ok && frac_ok && has_digits) {
        return None;
    }
    if let Some(e) = exponent {
        let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
        if !underscored_digits(digits) {
            return None;
        }
    }
    let clean: String = t.chars().filter(|c| *c != '_').collect();
    clean.parse::<f64>().ok()
}

fn underscored_digits(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('_')
        && !s.ends_with('_')
        && !s.contains("__")
        && s.chars().all(|c| c.is_ascii_digit() || c == '_')
}

/// One CSV field as Python's `csv` module writes it with minimal quoting (pandas' `to_csv`):
/// quoted when it holds the delimiter, a quote or a line break, quotes doubled.
pub fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

/// How Python's `repr`/`str` writes a float: the shortest digits that read back as the same
/// number, positional when the decimal exponent is in [-4, 16), else `1e+16` / `1e-05`; a whole
/// number keeps `.0`.
pub fn python_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    // `{:e}` gives the shortest round-trip digits as `d.ddde<exp>`.
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("{:e} exponent is a number");
    if (-4..16).contains(&exp) {
        let plain = format!("{x}");
        if plain.contains('.') {
            plain
        } else {
            format!("{plain}.0")
        }
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    }
}

/// A coordinate as shapely 1.8 writes WKT (GEOS ≥ 3.10, trimmed): the shortest decimal that
/// reads back as the same double, in plain (never exponent) notation, rounded to at most 16
/// decimal places.
pub fn wkt_number(v: f64) -> String {
    let shortest = format!("{v}");
    let decimals = shortest.split_once('.').map_or(0, |(_, f)| f.len());
    if decimals <= 16 {
        return shortest;
    }
    let rounded = format!("{v:.16}");
    let trimmed = rounded.trim_end_matches('0').trim_end_matches('.');
    match trimmed {
        "-0" => "0".to_string(),
        t => t.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_accepts_what_python_int_accepts() {
        for ok in ["1", " 12 ", "+3", "-4", "1_000", "007"] {
            assert!(matches!(py_int(ok), Some(Ok(_))), "{ok}");
        }
        assert_eq!(py_int("1_000"), Some(Ok(1000)));
        for bad in ["", "1.0", "1e3", "_1", "1__0", "abc", "- 1", "0x10"] {
            assert_eq!(py_int(bad), None, "{bad}");
        }
    }

    #[test]
    fn float_accepts_what_python_float_accepts() {
        for (s, v) in [
            ("1.5", 1.5),
            (" -2 ", -2.0),
            ("1e3", 1000.0),
            (".5", 0.5),
            ("5.", 5.0),
            ("1_0.2_5", 10.25),
            ("-INF", f64::NEG_INFINITY),
        ] {
            assert_eq!(py_float(s), Some(v), "{s}");
        }
        assert!(py_float("NaN").unwrap().is_nan());
        for bad in ["", ".", "abc", "1e", "1,5", "_1", "1__0", "e5", "08/16/20"] {
            assert_eq!(py_float(bad), None, "{bad}");
        }
    }

    #[test]
    fn csv_fields_are_quoted_only_when_python_would() {
        assert_eq!(csv_field("plain text"), "plain text");
        assert_eq!(
            csv_field("MULTIPOINT (1 2, 3 4)"),
            "\"MULTIPOINT (1 2, 3 4)\""
        );
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field(""), "");
    }

    #[test]
    fn wkt_numbers_match_shapely_with_geos_3_10() {
        // Each pair was printed by shapely 1.8.5 (GEOS 3.10.3): Point(v, 0).wkt.
        for (v, s) in [
            (1e-20, "0"),
            (1.2345678901234568e-05, "0.0000123456789012"),
            (123456789.12345679, "123456789.12345679"),
            (151.23456789012346, "151.23456789012346"),
            (-33.123456789012344, "-33.123456789012344"),
            (1e17, "100000000000000000"),
            (0.1, "0.1"),
            (153.0, "153"),
            (0.30000000000000004, "0.3"),
            (136.83, "136.83"),
            (-13.84, "-13.84"),
        ] {
            assert_eq!(wkt_number(v), s, "{v:e}");
        }
    }
}
