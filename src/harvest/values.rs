//! Values on their way from a file to a sink: a chunk of rows held column by column, and the
//! conversion of one cell to a column's SQL type, shared by every sink.

use std::borrow::Cow;

use chrono::{DateTime, Datelike, Timelike, Utc};

use super::geometry::Geometry;
use super::model::SqlType;

/// Microseconds since 1970-01-01T00:00:00Z; [`NO_TIME`] is null.
pub type Micros = i64;
pub const NO_TIME: Micros = i64::MIN;

/// One value that is the same on every row of a chunk (attributes, file fields, a file's geometry).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Num(f64),
    Time(Micros),
    Text(String),
    Geom(Geometry),
}

/// One column of a chunk.
#[derive(Debug, Clone, PartialEq)]
pub enum Cells {
    /// Numbers; NaN is null.
    Num(Vec<f64>),
    /// Instants; [`NO_TIME`] is null.
    Time(Vec<Micros>),
    Text(Vec<Option<String>>),
    /// Positions (lon, lat), already rounded; NaN is null.
    Point(Vec<(f64, f64)>),
    Const(Value),
}

/// A chunk of rows, column by column in the table's column order (file_id excluded).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Chunk {
    pub len: usize,
    pub columns: Vec<Cells>,
}

/// One cell, borrowed from a chunk.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CellRef<'a> {
    Null,
    Num(f64),
    Time(Micros),
    Text(&'a str),
    Point(f64, f64),
    Geom(&'a Geometry),
}

impl Cells {
    pub fn get(&self, row: usize) -> CellRef<'_> {
        match self {
            Cells::Num(v) if v[row].is_nan() => CellRef::Null,
            Cells::Num(v) => CellRef::Num(v[row]),
            Cells::Time(v) if v[row] == NO_TIME => CellRef::Null,
            Cells::Time(v) => CellRef::Time(v[row]),
            Cells::Text(v) => v[row].as_deref().map_or(CellRef::Null, CellRef::Text),
            Cells::Point(v) if v[row].0.is_nan() || v[row].1.is_nan() => CellRef::Null,
            Cells::Point(v) => CellRef::Point(v[row].0, v[row].1),
            Cells::Const(value) => value.as_cell(),
        }
    }
}

impl Value {
    pub fn as_cell(&self) -> CellRef<'_> {
        match self {
            Value::Null => CellRef::Null,
            Value::Num(x) if x.is_nan() => CellRef::Null,
            Value::Num(x) => CellRef::Num(*x),
            Value::Time(t) if *t == NO_TIME => CellRef::Null,
            Value::Time(t) => CellRef::Time(*t),
            Value::Text(s) => CellRef::Text(s),
            Value::Geom(g) => CellRef::Geom(g),
        }
    }
}

/// A cell converted to a column's type.
#[derive(Debug, Clone, PartialEq)]
pub enum Typed<'a> {
    Null,
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(Cow<'a, str>),
    Time(Micros),
    Geom(Cow<'a, Geometry>),
}

/// The text of a number as Python prints it (`1`, `2.5`, `90000.0` for a whole float is `90000`
/// here: integral values print without a fraction, which is how flags read as text).
pub fn number_text(x: f64) -> Cow<'static, str> {
    const DIGITS: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
    if x.fract() == 0.0 && (0.0..10.0).contains(&x) {
        return Cow::Borrowed(DIGITS[x as usize]);
    }
    if x.fract() == 0.0 && x.abs() < 1e15 {
        return Cow::Owned(format!("{}", x as i64));
    }
    Cow::Owned(format!("{x}"))
}

/// ISO 8601 in UTC with microseconds: the form timestamps take in text (SQLite, CSV).
pub fn time_text(t: Micros) -> String {
    let Some(d) = DateTime::<Utc>::from_timestamp_micros(t) else {
        return String::new();
    };
    if !(0..=9999).contains(&d.year()) {
        return d.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    }
    // Written digit by digit: a harvest formats one per row, and chrono's format strings were a
    // tenth of a SQLite load's time.
    let mut out = *b"0000-00-00T00:00:00.000000Z";
    let mut put = |at: usize, width: usize, mut v: u32| {
        for i in (at..at + width).rev() {
            out[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, d.year() as u32);
    put(5, 2, d.month());
    put(8, 2, d.day());
    put(11, 2, d.hour());
    put(14, 2, d.minute());
    put(17, 2, d.second());
    put(20, 6, d.timestamp_subsec_micros());
    String::from_utf8(out.to_vec()).expect("ASCII digits")
}

/// Parses a timestamp as CSV files and attributes write them: RFC 3339 (`Z` or an offset), or
/// without a zone (taken as UTC), with `T` or a space, or a date alone (midnight UTC).
pub fn parse_time(text: &str) -> Option<Micros> {
    let s = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc).timestamp_micros());
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
        "%Y%m%dT%H%M%SZ",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, format) {
            return Some(t.and_utc().timestamp_micros());
        }
    }
    if let Ok(t) = DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%#z") {
        return Some(t.with_timezone(&Utc).timestamp_micros());
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .map(|d| {
            d.and_hms_opt(0, 0, 0)
                .expect("midnight")
                .and_utc()
                .timestamp_micros()
        })
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "t" | "yes" | "y" | "1" => Some(true),
        "false" | "f" | "no" | "n" | "0" => Some(false),
        _ => None,
    }
}

/// Converts a cell to a column's type, or says why it cannot be.
pub fn convert(cell: CellRef<'_>, ty: SqlType) -> Result<Typed<'_>, String> {
    use CellRef as C;
    Ok(match (cell, ty) {
        (C::Null, _) => Typed::Null,
        (C::Num(x), SqlType::Real | SqlType::Double) => Typed::Float(x),
        (C::Num(x), SqlType::SmallInt | SqlType::Integer | SqlType::BigInt) => {
            if x.fract() != 0.0 || !in_range(x, ty) {
                return Err(format!(
                    "{x} is not a whole number that fits {}",
                    ty.postgres()
                ));
            }
            Typed::Int(x as i64)
        }
        (C::Num(x), SqlType::Boolean) => Typed::Bool(x != 0.0),
        (C::Num(x), SqlType::Text) => Typed::Text(number_text(x)),
        (C::Num(x), SqlType::Timestamp) => {
            return Err(format!(
                "{x} is a number, not a time (give the variable CF time units)"
            ));
        }
        (C::Time(t), SqlType::Timestamp) => Typed::Time(t),
        (C::Time(t), SqlType::Text) => Typed::Text(Cow::Owned(time_text(t))),
        (C::Text(s), SqlType::Text) => Typed::Text(Cow::Borrowed(s)),
        (C::Text(s), _) if s.trim().is_empty() => Typed::Null,
        (C::Text(s), SqlType::Real | SqlType::Double) => match s.trim().parse::<f64>() {
            Ok(x) => Typed::Float(x),
            Err(_) => return Err(format!("{s:?} is not a number")),
        },
        (C::Text(s), SqlType::SmallInt | SqlType::Integer | SqlType::BigInt) => {
            match s.trim().parse::<i64>() {
                Ok(x) if in_range(x as f64, ty) => Typed::Int(x),
                _ => {
                    return Err(format!(
                        "{s:?} is not a whole number that fits {}",
                        ty.postgres()
                    ));
                }
            }
        }
        (C::Text(s), SqlType::Boolean) => match parse_bool(s) {
            Some(b) => Typed::Bool(b),
            None => return Err(format!("{s:?} is not true or false")),
        },
        (C::Text(s), SqlType::Timestamp) => match parse_time(s) {
            Some(t) => Typed::Time(t),
            None => return Err(format!("{s:?} is not a date or time (ISO 8601)")),
        },
        (C::Point(x, y), SqlType::Geometry) => Typed::Geom(Cow::Owned(Geometry::Point(x, y))),
        (C::Point(x, y), SqlType::Text) => Typed::Text(Cow::Owned(Geometry::Point(x, y).wkt())),
        (C::Geom(g), SqlType::Geometry) => Typed::Geom(Cow::Borrowed(g)),
        (C::Geom(g), SqlType::Text) => Typed::Text(Cow::Owned(g.wkt())),
        (cell, ty) => return Err(format!("{cell:?} does not fit a {} column", ty.postgres())),
    })
}

fn in_range(x: f64, ty: SqlType) -> bool {
    match ty {
        SqlType::SmallInt => (i16::MIN as f64..=i16::MAX as f64).contains(&x),
        SqlType::Integer => (i32::MIN as f64..=i32::MAX as f64).contains(&x),
        _ => (-9.2e18..=9.2e18).contains(&x),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_read_as_text_and_numbers_keep_their_type() {
        assert_eq!(
            convert(CellRef::Num(1.0), SqlType::Text).unwrap(),
            Typed::Text(Cow::Borrowed("1"))
        );
        assert_eq!(
            convert(CellRef::Num(-36.5), SqlType::Text).unwrap(),
            Typed::Text(Cow::Owned("-36.5".into()))
        );
        assert_eq!(
            convert(CellRef::Num(4.0), SqlType::SmallInt).unwrap(),
            Typed::Int(4)
        );
        assert!(convert(CellRef::Num(4.5), SqlType::Integer).is_err());
        assert!(convert(CellRef::Num(70000.0), SqlType::SmallInt).is_err());
        assert_eq!(
            convert(CellRef::Text(" "), SqlType::Double).unwrap(),
            Typed::Null
        );
        assert!(convert(CellRef::Text("abc"), SqlType::Double).is_err());
    }

    #[test]
    fn times_parse_and_print_in_utc() {
        let t = parse_time("2018-04-06T08:00:00Z").unwrap();
        assert_eq!(time_text(t), "2018-04-06T08:00:00.000000Z");
        // The digit writer agrees with chrono's format across the range, leap days and the
        // microseconds included; years beyond four digits keep chrono's form.
        let chrono_text = |t: Micros| {
            DateTime::<Utc>::from_timestamp_micros(t)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%S%.6fZ")
                .to_string()
        };
        let mut u = -62_167_219_200_000_000; // 0000-01-01
        while u < 253_402_300_799_999_999 {
            assert_eq!(time_text(u), chrono_text(u));
            u += 987_654_321_123_457;
        }
        for u in [
            0_i64,
            -1,
            951_782_400_123_456,
            253_402_300_799_999_999,
            253_402_300_800_000_000,
            -62_167_219_200_000_001,
        ] {
            assert_eq!(time_text(u), chrono_text(u), "{u}");
        }
        assert_eq!(
            time_text(253_402_300_800_000_000),
            "+10000-01-01T00:00:00.000000Z"
        );
        assert_eq!(parse_time("2018-04-06 18:00:00+10:00"), Some(t));
        assert_eq!(parse_time("2018-04-06 08:00"), Some(t));
        assert_eq!(parse_time("2018-04-06"), Some(t - 8 * 3_600_000_000));
        assert_eq!(parse_time("yesterday"), None);
    }
}
