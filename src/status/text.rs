//! The status for a person at a terminal: a table of the streams with its columns aligned, then
//! the latest failures and the open claims.

use std::fmt::Write;

use chrono::{DateTime, Utc};

use super::{Counts, Latency, Lease, Status};

/// A duration in the largest units that keep it readable: `0.8 s`, `42 s`, `3 min 5 s`, `2 h 10
/// min`, `3 d 4 h`.
pub fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0);
    if s < 10.0 {
        return format!("{s:.1} s");
    }
    let whole = s.round() as u64;
    match whole {
        0..60 => format!("{whole} s"),
        60..3_600 => format!("{} min {} s", whole / 60, whole % 60),
        3_600..86_400 => format!("{} h {} min", whole / 3_600, whole % 3_600 / 60),
        _ => format!("{} d {} h", whole / 86_400, whole % 86_400 / 3_600),
    }
}

/// A time as the status shows it: UTC, to the second.
pub fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// `median / p95 / max`, with a mark when some uploads had no upload time.
pub fn latency(l: Option<&Latency>) -> String {
    match l {
        None => "-".into(),
        Some(l) => format!(
            "{} / {} / {}{}",
            duration(l.median_seconds),
            duration(l.p95_seconds),
            duration(l.max_seconds),
            if l.from_job_start > 0 { " *" } else { "" }
        ),
    }
}

/// Rows of cells laid out in columns, the columns `right` says are numbers right-aligned.
fn table(rows: &[Vec<String>], right: impl Fn(usize) -> bool) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            let pad = widths[c] - cell.chars().count();
            if c > 0 {
                line.push_str("  ");
            }
            if right(c) {
                line.extend(std::iter::repeat_n(' ', pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn count_cells(c: &Counts) -> [String; 7] {
    [
        c.jobs,
        c.uploads,
        c.published,
        c.files_published,
        c.rejected,
        c.duplicate,
        c.failed,
    ]
    .map(|n| n.to_string())
}

/// The whole status as text.
pub fn render(status: &Status) -> String {
    let mut out = String::new();
    let w = &status.window;
    let _ = writeln!(
        out,
        "Streams over the last {} ({} to {} UTC), index {}\n",
        w.label,
        time(w.since),
        time(w.until),
        status.index
    );
    let header = [
        "pipeline",
        "jobs",
        "uploads",
        "published",
        "files",
        "rejected",
        "duplicate",
        "failed",
        "upload to public: median / p95 / max",
    ];
    let mut rows = vec![header.map(str::to_string).to_vec()];
    for p in &status.pipelines {
        let mut row = vec![if p.configured {
            p.pipeline.clone()
        } else {
            format!("{} (not in the pipeline file)", p.pipeline)
        }];
        row.extend(count_cells(&p.counts));
        row.push(latency(p.latency.as_ref()));
        rows.push(row);
    }
    let mut total = vec!["total".to_string()];
    total.extend(count_cells(&status.totals));
    total.push(latency(status.latency.as_ref()));
    rows.push(total);
    out.push_str(&table(&rows, |c| (1..=7).contains(&c)));
    if let Some(l) = status.latency.as_ref().filter(|l| l.from_job_start > 0) {
        let _ = writeln!(
            out,
            "* {} of {} publications had no upload time (a local file given on the command line): measured from the job's start",
            l.from_job_start, l.count
        );
    }
    let failed = status.totals.rejected + status.totals.failed;
    let _ = writeln!(
        out,
        "\nLatest failures ({} of {failed})",
        status.failures.len()
    );
    if status.failures.is_empty() {
        out.push_str("  none\n");
    }
    for f in &status.failures {
        let _ = writeln!(
            out,
            "  {}  {}  {}  {}  (job {})",
            time(f.finished_at),
            f.pipeline,
            f.outcome.as_str(),
            f.name,
            f.job_id
        );
        if let Some(reason) = &f.reason {
            let _ = writeln!(out, "      why: {reason}");
        }
        if let Some(report) = &f.report {
            let _ = writeln!(out, "      report: {report}");
        }
        if let Some(later) = &f.later {
            let _ = writeln!(
                out,
                "      since: job {} {} at {}",
                later.job_id,
                later.outcome.as_str(),
                time(later.finished_at)
            );
        }
    }
    let now = status.generated_at;
    let _ = writeln!(out, "\nClaims held now ({})", status.leases.held.len());
    leases(&mut out, &status.leases.held, |l| {
        format!("lease until {}", time(l.lease_until))
    });
    let _ = writeln!(
        out,
        "\nExpired claims ({}): jobs that stopped without finishing (killed, crashed or lost their machine); the upload's next job takes it over",
        status.leases.expired.len()
    );
    leases(&mut out, &status.leases.expired, |l| {
        format!(
            "lease ended {} ago",
            duration((now - l.lease_until).num_milliseconds() as f64 / 1000.0)
        )
    });
    out
}

fn leases(out: &mut String, list: &[Lease], until: impl Fn(&Lease) -> String) {
    if list.is_empty() {
        out.push_str("  none\n");
        return;
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|l| {
            vec![
                format!("  job {}", l.job_id),
                l.pipeline.clone(),
                format!("{} since {}", l.state.as_str(), time(l.since)),
                until(l),
                l.source.clone(),
            ]
        })
        .collect();
    out.push_str(&table(&rows, |_| false));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(duration(0.84), "0.8 s");
        assert_eq!(duration(-1.0), "0.0 s");
        assert_eq!(duration(42.4), "42 s");
        assert_eq!(duration(185.0), "3 min 5 s");
        assert_eq!(duration(7_800.0), "2 h 10 min");
        assert_eq!(duration(273_600.0), "3 d 4 h");
    }

    #[test]
    fn tables_align_numbers_right_and_text_left() {
        let rows = vec![
            vec!["pipeline".into(), "jobs".into(), "note".into()],
            vec!["a".into(), "12".into(), "x".into()],
            vec!["longer".into(), "3".into(), "yy".into()],
        ];
        assert_eq!(
            table(&rows, |c| c == 1),
            "pipeline  jobs  note\na           12  x\nlonger       3  yy\n"
        );
    }
}
