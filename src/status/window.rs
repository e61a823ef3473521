//! The stretch of time a status covers: `--since 24h` (a number and one of s, m, h, d, w) back
//! from now, or the dashboard's whole UTC days.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;

/// How far back a status looks, as written on the command line (`90m`, `24h`, `7d`, `2w`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Since {
    amount: u32,
    unit: char,
}

/// The longest window: ten years of job history is more than any status needs.
const MAX_SECONDS: i64 = 10 * 366 * 86_400;

impl Since {
    /// The length of the window.
    pub fn duration(self) -> Duration {
        let unit = match self.unit {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            _ => 7 * 86_400,
        };
        Duration::seconds(i64::from(self.amount) * unit)
    }
}

impl std::str::FromStr for Since {
    type Err = String;

    fn from_str(s: &str) -> Result<Since, String> {
        let s = s.trim();
        let wrong = || {
            format!(
                "{s:?} is not a length of time such as 90m, 24h, 7d or 2w (a whole number and one of s, m, h, d, w)"
            )
        };
        let unit = s.chars().last().ok_or_else(wrong)?;
        if !matches!(unit, 's' | 'm' | 'h' | 'd' | 'w') {
            return Err(wrong());
        }
        let digits = &s[..s.len() - 1];
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(wrong());
        }
        let amount: u32 = digits.parse().map_err(|_| wrong())?;
        let since = Since { amount, unit };
        match since.duration().num_seconds() {
            0 => Err(format!("{s:?}: the window must not be empty")),
            n if n > MAX_SECONDS => Err(format!("{s:?}: at most ten years of history")),
            _ => Ok(since),
        }
    }
}

impl std::fmt::Display for Since {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.amount, self.unit)
    }
}

/// The jobs a status counts: those that finished at or after `since` and before `until`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Window {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// How it was asked for: `24h`, or `14 days`.
    pub label: String,
}

impl Window {
    /// The window of length `since` ending at `now`.
    pub fn back_from(now: DateTime<Utc>, since: Since) -> Window {
        Window {
            since: now - since.duration(),
            until: now,
            label: since.to_string(),
        }
    }

    /// The last `days` whole UTC days, today (so far) included: what the dashboard draws a bar
    /// for each of.
    pub fn days_to(now: DateTime<Utc>, days: u32) -> Window {
        let days = days.max(1);
        let first = now.date_naive() - Duration::days(i64::from(days) - 1);
        Window {
            since: first.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc(),
            until: now,
            label: format!("{days} day{}", if days == 1 { "" } else { "s" }),
        }
    }

    /// The UTC days the window touches, oldest first.
    pub fn days(&self) -> Vec<NaiveDate> {
        let last = (self.until - Duration::milliseconds(1)).date_naive();
        let mut day = self.since.date_naive();
        let mut out = Vec::new();
        while day <= last {
            out.push(day);
            day = day.succ_opt().unwrap_or(NaiveDate::MAX);
            if day == NaiveDate::MAX {
                break;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_take_one_unit_of_seconds_to_weeks() {
        for (text, seconds) in [
            ("90s", 90),
            ("30m", 1_800),
            ("24h", 86_400),
            ("7d", 604_800),
            ("2w", 1_209_600),
        ] {
            let since: Since = text.parse().unwrap();
            assert_eq!(since.duration().num_seconds(), seconds, "{text}");
            assert_eq!(since.to_string(), text);
        }
        for bad in [
            "", "h", "24", "24x", "1.5h", "-3d", "24 h", "0h", "h24", "99999w",
        ] {
            assert!(bad.parse::<Since>().is_err(), "{bad:?} is refused");
        }
        assert!(
            "24x"
                .parse::<Since>()
                .unwrap_err()
                .contains("one of s, m, h, d, w")
        );
    }

    #[test]
    fn a_window_ends_now_and_lists_the_days_it_touches() {
        let now = DateTime::parse_from_rfc3339("2026-05-02T10:30:00Z")
            .unwrap()
            .to_utc();
        let w = Window::back_from(now, "24h".parse().unwrap());
        assert_eq!(w.since.to_rfc3339(), "2026-05-01T10:30:00+00:00");
        assert_eq!(w.days().len(), 2);
        let d = Window::days_to(now, 14);
        assert_eq!(d.since.to_rfc3339(), "2026-04-19T00:00:00+00:00");
        assert_eq!(d.days().len(), 14);
        assert_eq!(d.days()[13].to_string(), "2026-05-02");
        assert_eq!(d.label, "14 days");
        let midnight = DateTime::parse_from_rfc3339("2026-05-02T00:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            Window::back_from(midnight, "1d".parse().unwrap()).days(),
            [NaiveDate::from_ymd_opt(2026, 5, 1).unwrap()],
            "a window ending at midnight does not touch the next day"
        );
    }
}
