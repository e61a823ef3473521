//! CF time units (`<unit> since <reference time>`) and the conversion of time values to UTC.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};

/// Parsed CF time units: a unit length and a reference time (UTC).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CfTimeUnits {
    pub seconds_per_unit: f64,
    pub epoch: NaiveDateTime,
}

impl CfTimeUnits {
    /// The instant a time value stands for, or `None` if it is out of range or not finite.
    /// A time as a number in these units (the inverse of [`CfTimeUnits::to_datetime`]).
    pub fn value_of(&self, t: chrono::NaiveDateTime) -> f64 {
        let micros = (t - self.epoch).num_microseconds().unwrap_or(i64::MAX) as f64;
        micros / 1.0e6 / self.seconds_per_unit
    }

    pub fn to_datetime(&self, value: f64) -> Option<DateTime<Utc>> {
        let millis = value * self.seconds_per_unit * 1000.0;
        if !millis.is_finite() || millis.abs() > 1.0e15 {
            return None;
        }
        self.epoch
            .checked_add_signed(Duration::milliseconds(millis.round() as i64))
            .map(|t| t.and_utc())
    }
}

/// Parses CF time units such as `days since 1950-01-01 00:00:00 UTC`. Returns `None` for
/// anything that is not a `<unit> since <time>` expression.
pub fn parse_time_units(units: &str) -> Option<CfTimeUnits> {
    let mut parts = units.split_whitespace();
    let unit = parts.next()?.to_ascii_lowercase();
    if !parts.next()?.eq_ignore_ascii_case("since") {
        return None;
    }
    let seconds_per_unit = match unit.as_str() {
        "day" | "days" | "d" => 86_400.0,
        "hour" | "hours" | "hr" | "hrs" | "h" => 3_600.0,
        "minute" | "minutes" | "min" | "mins" => 60.0,
        "second" | "seconds" | "sec" | "secs" | "s" => 1.0,
        "millisecond" | "milliseconds" | "msec" | "ms" => 0.001,
        _ => return None,
    };
    let rest: Vec<&str> = parts.collect();
    let mut reference = rest.join(" ");
    // Accept the ISO `T` separator and a trailing `Z`/`UTC`/zero offset.
    for suffix in [
        " UTC", " utc", "Z", " +00:00", " +0:00", " 00:00", " +0000", " 0",
    ] {
        if let Some(stripped) = reference.strip_suffix(suffix) {
            reference = stripped.to_string();
            break;
        }
    }
    let reference = reference.replace('T', " ");
    let mut it = reference.split_whitespace();
    let date = parse_date(it.next()?)?;
    let time = match it.next() {
        Some(t) => parse_time(t)?,
        None => NaiveTime::MIN,
    };
    if it.next().is_some() {
        return None;
    }
    Some(CfTimeUnits {
        seconds_per_unit,
        epoch: date.and_time(time),
    })
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    let mut it = s.splitn(3, '-');
    let y = it.next()?.parse().ok()?;
    let m = it.next().map_or(Some(1), |m| m.parse().ok())?;
    let d = it.next().map_or(Some(1), |d| d.parse().ok())?;
    NaiveDate::from_ymd_opt(y, m, d)
}

fn parse_time(s: &str) -> Option<NaiveTime> {
    let mut it = s.splitn(3, ':');
    let h = it.next()?.parse().ok()?;
    let m = it.next().map_or(Some(0), |m| m.parse().ok())?;
    let sec: f64 = it.next().map_or(Some(0.0), |s| s.parse().ok())?;
    let whole = sec.trunc() as u32;
    let nanos = ((sec - sec.trunc()) * 1e9).round() as u32;
    NaiveTime::from_hms_nano_opt(h, m, whole, nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(units: &str, value: f64) -> String {
        parse_time_units(units)
            .unwrap()
            .to_datetime(value)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    }

    #[test]
    fn converts_common_imos_units() {
        assert_eq!(
            iso("days since 1950-01-01 00:00:00 UTC", 0.5),
            "1950-01-01T12:00:00Z"
        );
        assert_eq!(
            iso("days since 1950-01-01T00:00:00Z", 23_927.0),
            "2015-07-06T00:00:00Z"
        );
        assert_eq!(
            iso("seconds since 1970-1-1", 86_400.0),
            "1970-01-02T00:00:00Z"
        );
        assert_eq!(
            iso("hours since 2000-01-01 00:00:00.0", 25.0),
            "2000-01-02T01:00:00Z"
        );
    }

    #[test]
    fn refuses_what_is_not_a_time_unit() {
        for bad in [
            "degrees_north",
            "days",
            "days since",
            "parsecs since 2000-01-01",
            "days since yesterday",
        ] {
            assert!(parse_time_units(bad).is_none(), "{bad}");
        }
    }
}
