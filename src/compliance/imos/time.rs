//! Time as the reference handles it: Python's `strptime` with `%Y-%m-%dT%H:%M:%SZ` for timestamp
//! attributes, and `cf_units.date2num` to put a timestamp on a variable's time axis.

use std::sync::LazyLock;

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};

use crate::text_regex::TextRegex;

/// The regular expression Python's `_strptime` builds for `%Y-%m-%dT%H:%M:%SZ` (case-insensitive;
/// single-digit fields and a space-padded day are accepted; the match need not reach the end,
/// which is then checked separately as "unconverted data remains").
static ISO: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(concat!(
        r"(?i)\A(?P<Y>[0-9]{4})-(?P<m>1[0-2]|0[1-9]|[1-9])-(?P<d>3[01]|[12][0-9]|0[1-9]|[1-9]| [1-9])",
        r"T(?P<H>2[0-3]|[0-1][0-9]|[0-9]):(?P<M>[0-5][0-9]|[0-9]):(?P<S>6[0-1]|[0-5][0-9]|[0-9])Z"
    ))
    .expect("a valid built-in pattern")
});

/// `datetime.strptime(s, '%Y-%m-%dT%H:%M:%SZ')`: `None` where Python raises `ValueError`.
pub fn strptime_iso(s: &str) -> Option<NaiveDateTime> {
    let c = ISO.captures(s)?;
    if c.get(0)?.end() != s.len() {
        return None;
    }
    let field = |k: &str| {
        c.name(k)
            .and_then(|m| m.as_str().trim().parse::<u32>().ok())
    };
    let year = field("Y")? as i32;
    if year < 1 {
        return None;
    }
    // datetime refuses seconds 60 and 61 that the pattern lets through.
    NaiveDate::from_ymd_opt(year, field("m")?, field("d")?)?.and_hms_opt(
        field("H")?,
        field("M")?,
        field("S")?,
    )
}

/// A calendar of CF time (`calendar` attribute).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Calendar {
    /// `standard`, `gregorian`, `proleptic_gregorian`. (The mixed Julian/Gregorian `standard`
    /// differs from the proleptic one only before 1582-10-15, which no observation file covers.)
    Gregorian,
    Julian,
    NoLeap,
    AllLeap,
    Day360,
}

impl Calendar {
    /// The calendars `cf_units` knows, by (case-insensitive) name.
    pub fn parse(name: &str) -> Option<Calendar> {
        Some(match name.to_ascii_lowercase().as_str() {
            "standard" | "gregorian" | "proleptic_gregorian" => Calendar::Gregorian,
            "julian" => Calendar::Julian,
            "noleap" | "365_day" => Calendar::NoLeap,
            "all_leap" | "366_day" => Calendar::AllLeap,
            "360_day" => Calendar::Day360,
            _ => return None,
        })
    }

    /// Days from an arbitrary fixed origin to a date in this calendar.
    fn day_number(self, y: i64, m: i64, d: i64) -> i64 {
        const CUM: [i64; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
        match self {
            Calendar::Gregorian => NaiveDate::from_ymd_opt(y as i32, m as u32, d as u32)
                .map(|dt| dt.num_days_from_ce() as i64)
                // Out-of-range fields only arise from impossible dates that parsing refused.
                .unwrap_or_default(),
            Calendar::Julian => {
                let leaps = (y - 1).div_euclid(4);
                let leap = y.rem_euclid(4) == 0;
                (y - 1) * 365 + leaps + CUM[(m - 1) as usize] + (leap && m > 2) as i64 + d
            }
            Calendar::NoLeap => y * 365 + CUM[(m - 1) as usize] + d,
            Calendar::AllLeap => y * 366 + CUM[(m - 1) as usize] + (m > 2) as i64 + d,
            Calendar::Day360 => y * 360 + (m - 1) * 30 + d,
        }
    }

    /// Seconds from `from` to `to`, both read as dates of this calendar.
    fn seconds_between(self, from: NaiveDateTime, to: NaiveDateTime) -> f64 {
        let day =
            |t: NaiveDateTime| self.day_number(t.year() as i64, t.month() as i64, t.day() as i64);
        let secs =
            |t: NaiveDateTime| t.num_seconds_from_midnight() as f64 + t.nanosecond() as f64 * 1e-9;
        (day(to) - day(from)) as f64 * 86_400.0 + secs(to) - secs(from)
    }
}

/// `cf_units.date2num(date, units, calendar)`: the value a date has on a time axis. `Err` where the
/// reference raises (units that are not `<unit> since <date>`, an unknown calendar).
pub fn date2num(date: NaiveDateTime, units: &str, calendar: &str) -> Result<f64, String> {
    let cal = Calendar::parse(calendar)
        .ok_or_else(|| format!("unknown calendar {calendar:?} of the time variable"))?;
    // cf_units strips a trailing " UTC" (any of those characters) before parsing.
    let trimmed = units.trim_end_matches([' ', 'U', 'T', 'C']);
    let (base, offset_minutes) = split_utc_offset(trimmed);
    let parsed = crate::netcdf::parse_time_units(base)
        .ok_or_else(|| format!("time units {units:?} are not '<unit> since <date>'"))?;
    // A reference time at UTC+hh:mm is hh:mm earlier in UTC.
    let epoch = parsed.epoch - chrono::Duration::minutes(offset_minutes);
    Ok(cal.seconds_between(epoch, date) / parsed.seconds_per_unit)
}

/// A time zone offset after the reference time (`…00:00:00+10:00`, `… -6:00`), as cftime reads
/// it: the units without it, and the offset in minutes.
/// Units are ASCII text almost always: see [`TextRegex`] for why that is worth a pattern of its own.
static OFFSET: LazyLock<TextRegex> = LazyLock::new(|| {
    TextRegex::new(
        r"\A(.*[0-9]:[0-9]{1,2}(?::[0-9]{1,2}(?:\.[0-9]*)?)?)\s*([+-])([0-9]{1,2})(?::?([0-9]{2}))?\z",
    )
});

fn split_utc_offset(units: &str) -> (&str, i64) {
    let Some(c) = OFFSET.captures(units) else {
        return (units, 0);
    };
    let number = |i: usize| c.get(i).map_or(0, |m| m.parse::<i64>().unwrap_or(0));
    let sign = if &c[2] == "-" { -1 } else { 1 };
    let base = c.get(1).unwrap_or(units);
    (base, sign * (number(3) * 60 + number(4)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strptime_accepts_what_python_accepts() {
        for ok in [
            "2020-01-01T00:00:00Z",
            "2020-1-1t1:2:3z",
            "2020-01- 1T00:00:00Z",
            "2016-02-29T23:59:59Z",
        ] {
            assert!(strptime_iso(ok).is_some(), "{ok}");
        }
        for bad in [
            "2020-01-01T00:00:60Z",
            "2020-02-30T00:00:00Z",
            "2020-01-01T00:00:00Z\n",
            "2020-01-01T00:00:00",
            "0000-01-01T00:00:00Z",
            "2020-01-01 00:00:00Z",
            "20-01-01T00:00:00Z",
        ] {
            assert!(strptime_iso(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn date2num_puts_dates_on_the_axis() {
        let t = strptime_iso("1950-01-02T12:00:00Z").unwrap();
        let v = date2num(t, "days since 1950-01-01 00:00:00 UTC", "gregorian").unwrap();
        assert!((v - 1.5).abs() < 1e-12);
        let t = strptime_iso("1981-01-01T01:00:00Z").unwrap();
        assert_eq!(
            date2num(t, "seconds since 1981-01-01", "standard").unwrap(),
            3600.0
        );
        let t = strptime_iso("2001-03-01T00:00:00Z").unwrap();
        assert_eq!(
            date2num(t, "days since 2001-01-01", "360_day").unwrap(),
            60.0
        );
        assert_eq!(
            date2num(t, "days since 2000-01-01", "noleap").unwrap(),
            365.0 + 59.0
        );
        assert_eq!(
            date2num(t, "days since 2000-01-01", "julian").unwrap(),
            366.0 + 59.0
        );
        assert!(date2num(t, "days since 2000-01-01", "lunar").is_err());
        let t = strptime_iso("1950-01-01T10:00:00Z").unwrap();
        for (units, want) in [
            ("hours since 1950-01-01T00:00:00+00:00", 10.0),
            ("hours since 1950-01-01 00:00:00 +10:00", 20.0),
            ("hours since 1950-01-01 06:00 -6", 10.0 - 12.0),
        ] {
            assert_eq!(date2num(t, units, "gregorian").unwrap(), want, "{units}");
        }
        assert!(date2num(t, "degrees_north", "gregorian").is_err());
    }
}
