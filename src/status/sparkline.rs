//! A stream's jobs per day as a small inline SVG bar chart, drawn here so the dashboard needs no
//! script and no chart library: one stacked bar a day (published, duplicate, rejected, failed,
//! bottom to top), each with a tooltip that a browser shows without JavaScript.

use std::fmt::Write;

use super::Day;

/// Width of one day's bar and the gap after it, and the chart's height, in CSS pixels.
const BAR: u32 = 8;
const GAP: u32 = 2;
const HEIGHT: u32 = 28;

/// The segments of a bar, bottom to top: (CSS class, label, count).
fn segments(day: &Day) -> [(&'static str, &'static str, u64); 4] {
    let c = &day.counts;
    [
        ("published", "published", c.published),
        ("duplicate", "duplicate", c.duplicate),
        ("rejected", "rejected", c.rejected),
        ("failed", "failed", c.failed),
    ]
}

/// The SVG of `days`, its bars scaled to the busiest day (at least one job tall).
pub fn svg(pipeline: &str, days: &[Day]) -> String {
    let busiest = days.iter().map(|d| d.counts.jobs).max().unwrap_or(0).max(1);
    let width = days.len() as u32 * (BAR + GAP);
    let total: u64 = days.iter().map(|d| d.counts.jobs).sum();
    let mut out = format!(
        r#"<svg class="spark" width="{width}" height="{HEIGHT}" viewBox="0 0 {width} {HEIGHT}" role="img" aria-label="{} jobs per day: {total} in {} days">"#,
        crate::html::escape(pipeline),
        days.len()
    );
    for (i, day) in days.iter().enumerate() {
        let x = i as u32 * (BAR + GAP);
        let mut tip = format!(
            "{}: {} job{}",
            day.date,
            day.counts.jobs,
            plural(day.counts.jobs)
        );
        for (_, label, n) in segments(day).iter().filter(|s| s.2 > 0) {
            let _ = write!(tip, ", {n} {label}");
        }
        let _ = write!(out, r#"<g><title>{tip}</title>"#);
        // A grey baseline marks a day without jobs, so a quiet day reads as zero, not as missing.
        let _ = write!(
            out,
            r#"<rect class="base" x="{x}" y="{}" width="{BAR}" height="1"/>"#,
            HEIGHT - 1
        );
        let mut top = HEIGHT;
        for (class, _, n) in segments(day) {
            if n == 0 {
                continue;
            }
            // Scaled to the busiest day; any non-zero count stays visible.
            let h = ((n * u64::from(HEIGHT)).div_ceil(busiest) as u32).clamp(1, top);
            top -= h;
            let _ = write!(
                out,
                r#"<rect class="{class}" x="{x}" y="{top}" width="{BAR}" height="{h}"/>"#
            );
        }
        out.push_str("</g>");
    }
    out.push_str("</svg>");
    out
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::status::Counts;

    fn day(d: u32, published: u64, rejected: u64, failed: u64) -> Day {
        Day {
            date: NaiveDate::from_ymd_opt(2026, 5, d).unwrap(),
            counts: Counts {
                jobs: published + rejected + failed,
                published,
                rejected,
                failed,
                ..Counts::default()
            },
        }
    }

    #[test]
    fn one_stacked_bar_a_day_scaled_to_the_busiest() {
        let svg = svg(
            "anmn<nrs>",
            &[day(1, 0, 0, 0), day(2, 3, 0, 1), day(3, 1, 1, 0)],
        );
        assert!(
            svg.starts_with(r#"<svg class="spark" width="30" height="28""#),
            "{svg}"
        );
        assert!(
            svg.contains(r#"aria-label="anmn&lt;nrs&gt; jobs per day: 6 in 3 days""#),
            "{svg}"
        );
        assert!(svg.contains("<title>2026-05-01: 0 jobs</title>"), "{svg}");
        assert!(
            svg.contains("<title>2026-05-02: 4 jobs, 3 published, 1 failed</title>"),
            "{svg}"
        );
        // The busiest day fills the height: 21 px published, 7 px failed on top.
        assert!(
            svg.contains(r#"<rect class="published" x="10" y="7" width="8" height="21"/>"#),
            "{svg}"
        );
        assert!(
            svg.contains(r#"<rect class="failed" x="10" y="0" width="8" height="7"/>"#),
            "{svg}"
        );
        assert!(
            svg.contains(r#"<rect class="rejected" x="20" y="14" width="8" height="7"/>"#),
            "{svg}"
        );
        assert_eq!(svg.matches("<g>").count(), 3);
    }
}
