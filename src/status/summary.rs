//! Summing a job history up: counts per pipeline and per day, latency percentiles, the latest
//! failures with what became of each upload since, the open claims. No I/O, so every rule is
//! unit-tested on rows made by hand.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};

use super::{
    Counts, Day, Failure, Latency, Later, Lease, Leases, PipelineStatus, Publication, Status,
    Window, upload_name,
};
use crate::index::{JobRow, LeaseEntry};
use crate::report::Outcome;

/// What a status is made from.
pub(super) struct Input<'a> {
    /// Jobs of the window, oldest first (as `Index::history` returns them).
    pub history: &'a [JobRow],
    pub leases: Vec<LeaseEntry>,
    /// The pipeline file's pipelines, in its order.
    pub configured: &'a [&'a str],
    pub window: Window,
    pub limit: usize,
    pub now: DateTime<Utc>,
}

/// Counts jobs, and the distinct uploads among them.
#[derive(Default)]
struct Tally<'a> {
    counts: Counts,
    uploads: HashSet<(&'a str, &'a str)>,
}

impl<'a> Tally<'a> {
    fn add(&mut self, row: &'a JobRow) {
        let c = &mut self.counts;
        c.jobs += 1;
        self.uploads
            .insert((row.source.as_str(), row.source_version.as_str()));
        match Outcome::parse(&row.outcome) {
            Some(Outcome::Published) => {
                c.published += 1;
                c.files_published += u64::from(row.facts.files_published);
            }
            Some(Outcome::Rejected) => c.rejected += 1,
            Some(Outcome::Duplicate) => c.duplicate += 1,
            Some(Outcome::FailedTransient) => {
                c.failed += 1;
                c.failed_transient += 1;
            }
            Some(Outcome::FailedInternal) => {
                c.failed += 1;
                c.failed_internal += 1;
            }
            // An outcome this version does not know (written by a newer one): a job all the same.
            None => {}
        }
    }

    fn counts(&self) -> Counts {
        Counts {
            uploads: self.uploads.len() as u64,
            ..self.counts
        }
    }
}

/// From upload to publication, in seconds, and whether the job's start stood in for the upload
/// time; `None` for a job that did not publish.
fn latency_of(row: &JobRow) -> Option<(f64, bool)> {
    if Outcome::parse(&row.outcome) != Some(Outcome::Published) {
        return None;
    }
    let published = row.facts.published_at?;
    let (start, from_job_start) = match row.facts.uploaded_at {
        Some(uploaded) => (uploaded, false),
        None => (row.started_at, true),
    };
    // S3 keeps the upload time to the second; a publication within that second is 0, never less.
    let ms = (published - start).num_milliseconds().max(0);
    Some((ms as f64 / 1000.0, from_job_start))
}

/// The nearest-rank `p`-quantile (0 < p ≤ 1) of sorted values.
fn nearest_rank(sorted: &[f64], p: f64) -> f64 {
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn latency(measured: &[(f64, bool)]) -> Option<Latency> {
    if measured.is_empty() {
        return None;
    }
    let mut seconds: Vec<f64> = measured.iter().map(|(s, _)| *s).collect();
    seconds.sort_by(f64::total_cmp);
    Some(Latency {
        count: seconds.len(),
        from_job_start: measured.iter().filter(|(_, estimated)| *estimated).count(),
        median_seconds: nearest_rank(&seconds, 0.5),
        p95_seconds: nearest_rank(&seconds, 0.95),
        max_seconds: seconds[seconds.len() - 1],
    })
}

/// One pipeline's rows.
#[derive(Default)]
struct Stream<'a> {
    tally: Tally<'a>,
    days: BTreeMap<NaiveDate, Tally<'a>>,
    latencies: Vec<(f64, bool)>,
}

pub(super) fn summarise(input: Input<'_>, index: String) -> Status {
    let Input {
        history,
        leases,
        configured,
        window,
        limit,
        now,
    } = input;
    let mut streams: BTreeMap<&str, Stream<'_>> = BTreeMap::new();
    let mut total = Tally::default();
    let mut latencies = Vec::new();
    for row in history {
        let stream = streams.entry(row.pipeline.as_str()).or_default();
        stream.tally.add(row);
        stream
            .days
            .entry(row.finished_at.date_naive())
            .or_default()
            .add(row);
        total.add(row);
        if let Some(l) = latency_of(row) {
            stream.latencies.push(l);
            latencies.push(l);
        }
    }
    let days = window.days();
    let status_of = |name: &str, stream: Option<&Stream<'_>>| PipelineStatus {
        pipeline: name.to_string(),
        configured: configured.contains(&name),
        counts: stream.map(|s| s.tally.counts()).unwrap_or_default(),
        latency: stream.and_then(|s| latency(&s.latencies)),
        daily: days
            .iter()
            .map(|&date| Day {
                date,
                counts: stream
                    .and_then(|s| s.days.get(&date))
                    .map(Tally::counts)
                    .unwrap_or_default(),
            })
            .collect(),
    };
    // The pipeline file's order first (a stream that received nothing says so), then whatever
    // else the history names, by name.
    let mut pipelines: Vec<PipelineStatus> = configured
        .iter()
        .map(|name| status_of(name, streams.get(name)))
        .collect();
    for (name, stream) in &streams {
        if !configured.contains(name) {
            pipelines.push(status_of(name, Some(stream)));
        }
    }
    let (held, expired): (Vec<_>, Vec<_>) = leases
        .into_iter()
        .map(|LeaseEntry { entry, lease_until }| {
            let live = lease_until > now;
            let lease = Lease {
                name: upload_name(&entry.source),
                job_id: entry.job_id,
                pipeline: entry.pipeline,
                source: entry.source,
                state: entry.state,
                since: entry.updated_at,
                lease_until,
            };
            (lease, live)
        })
        .partition(|(_, live)| *live);
    Status {
        generated_at: now,
        index,
        pipelines,
        totals: total.counts(),
        latency: latency(&latencies),
        failures: failures(history, limit),
        publications: publications(history, limit),
        leases: Leases {
            held: held.into_iter().map(|(l, _)| l).collect(),
            expired: expired.into_iter().map(|(l, _)| l).collect(),
        },
        window,
    }
}

fn is_failure(outcome: Option<Outcome>) -> bool {
    matches!(
        outcome,
        Some(Outcome::Rejected | Outcome::FailedTransient | Outcome::FailedInternal)
    )
}

/// The latest `limit` failures, newest first, each with the last later job of its upload.
fn failures(history: &[JobRow], limit: usize) -> Vec<Failure> {
    let mut by_source: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, row) in history.iter().enumerate() {
        by_source.entry(row.source.as_str()).or_default().push(i);
    }
    history
        .iter()
        .enumerate()
        .rev()
        .filter_map(|(i, row)| {
            let outcome = Outcome::parse(&row.outcome);
            is_failure(outcome).then_some((i, row, outcome?))
        })
        .take(limit)
        .map(|(i, row, outcome)| {
            // The same upload: same source, and same content where the failed job knew it (a job
            // that failed before reading the upload did not).
            let later = by_source[row.source.as_str()]
                .iter()
                .rev()
                .filter(|&&j| j > i)
                .map(|&j| &history[j])
                .find(|r| row.source_version.is_empty() || r.source_version == row.source_version)
                .and_then(|r| {
                    Some(Later {
                        job_id: r.job_id.clone(),
                        outcome: Outcome::parse(&r.outcome)?,
                        finished_at: r.finished_at,
                    })
                });
            Failure {
                job_id: row.job_id.clone(),
                pipeline: row.pipeline.clone(),
                outcome,
                finished_at: row.finished_at,
                source: row.source.clone(),
                name: upload_name(&row.source),
                reason: row.facts.error.clone(),
                report: row.report_url.clone(),
                later,
            }
        })
        .collect()
}

/// The latest `limit` publications, newest first.
fn publications(history: &[JobRow], limit: usize) -> Vec<Publication> {
    history
        .iter()
        .rev()
        .filter(|row| Outcome::parse(&row.outcome) == Some(Outcome::Published))
        .take(limit)
        .map(|row| Publication {
            job_id: row.job_id.clone(),
            pipeline: row.pipeline.clone(),
            finished_at: row.finished_at,
            name: upload_name(&row.source),
            files_published: row.facts.files_published,
            latency_seconds: latency_of(row).map(|(s, _)| s),
            report: row.report_url.clone(),
            plots: row.facts.plots.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::index::{JobFacts, LedgerEntry, LedgerState};

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    /// A job of `pipeline` on upload `source` (content `version`) that ended `outcome` at `end`.
    fn job(
        id: &str,
        pipeline: &str,
        source: &str,
        version: &str,
        outcome: &str,
        end: &str,
    ) -> JobRow {
        JobRow {
            job_id: id.into(),
            source: source.into(),
            source_version: version.into(),
            pipeline: pipeline.into(),
            outcome: outcome.into(),
            started_at: at(end) - Duration::seconds(10),
            finished_at: at(end),
            report_url: Some(format!("s3://reports/{pipeline}/{id}.json")),
            facts: JobFacts::default(),
        }
    }

    fn published(
        id: &str,
        pipeline: &str,
        source: &str,
        end: &str,
        latency_s: i64,
        files: u32,
    ) -> JobRow {
        let mut row = job(id, pipeline, source, id, "published", end);
        row.facts.published_at = Some(at(end) - Duration::seconds(1));
        row.facts.uploaded_at = Some(at(end) - Duration::seconds(1 + latency_s));
        row.facts.files_published = files;
        row
    }

    fn input<'a>(history: &'a [JobRow], configured: &'a [&'a str]) -> Input<'a> {
        let now = at("2026-05-02T12:00:00Z");
        Input {
            history,
            leases: Vec::new(),
            configured,
            window: Window::back_from(now, "2d".parse().unwrap()),
            limit: 10,
            now,
        }
    }

    #[test]
    fn counts_each_outcome_per_pipeline_and_in_total() {
        let history = [
            published("P1", "anmn", "s3://in/a.nc", "2026-05-01T09:00:00Z", 30, 2),
            job(
                "R1",
                "anmn",
                "s3://in/b.nc",
                "vb",
                "rejected",
                "2026-05-01T10:00:00Z",
            ),
            job(
                "D1",
                "anmn",
                "s3://in/a.nc",
                "P1",
                "duplicate",
                "2026-05-02T08:00:00Z",
            ),
            job(
                "T1",
                "srs",
                "s3://in/c.nc",
                "vc",
                "failed_transient",
                "2026-05-02T09:00:00Z",
            ),
            job(
                "I1",
                "srs",
                "s3://in/c.nc",
                "vc",
                "failed_internal",
                "2026-05-02T10:00:00Z",
            ),
            job(
                "U1",
                "_unrouted",
                "s3://in/x.txt",
                "vx",
                "rejected",
                "2026-05-02T11:00:00Z",
            ),
        ];
        let status = summarise(
            input(&history, &["anmn", "srs", "quiet"]),
            "sqlite://i".into(),
        );
        let names: Vec<&str> = status
            .pipelines
            .iter()
            .map(|p| p.pipeline.as_str())
            .collect();
        assert_eq!(names, ["anmn", "srs", "quiet", "_unrouted"]);
        let anmn = &status.pipelines[0].counts;
        assert_eq!(
            *anmn,
            Counts {
                jobs: 3,
                uploads: 2,
                published: 1,
                files_published: 2,
                rejected: 1,
                duplicate: 1,
                ..Counts::default()
            }
        );
        let srs = &status.pipelines[1].counts;
        assert_eq!((srs.jobs, srs.uploads, srs.failed), (2, 1, 2));
        assert_eq!((srs.failed_transient, srs.failed_internal), (1, 1));
        assert_eq!(status.pipelines[2].counts, Counts::default());
        assert!(!status.pipelines[3].configured);
        assert_eq!(status.totals.jobs, 6);
        assert_eq!(status.totals.uploads, 4);
        assert_eq!(status.totals.rejected, 2);
        // Two days, each pipeline's jobs on the day they finished.
        let anmn_days: Vec<u64> = status.pipelines[0]
            .daily
            .iter()
            .map(|d| d.counts.jobs)
            .collect();
        assert_eq!(anmn_days, [0, 2, 1]);
    }

    #[test]
    fn latency_runs_from_upload_or_job_start_to_publication() {
        let mut history: Vec<JobRow> = (1..=20)
            .map(|i| {
                published(
                    &format!("P{i:02}"),
                    "anmn",
                    &format!("s3://in/{i}.nc"),
                    "2026-05-02T09:00:00Z",
                    i,
                    1,
                )
            })
            .collect();
        // A local file has no upload time: its job's start (10 s before the end) stands in.
        let mut local = published(
            "L1",
            "anmn",
            "file:///data/x%20y.nc",
            "2026-05-02T10:00:00Z",
            0,
            1,
        );
        local.facts.uploaded_at = None;
        history.push(local);
        let status = summarise(input(&history, &["anmn"]), "i".into());
        let l = status.pipelines[0].latency.unwrap();
        assert_eq!((l.count, l.from_job_start), (21, 1));
        // 1..=20 s and 9 s: sorted, the 11th of 21 is 10, the 20th (ceil(0.95 × 21)) is 19.
        assert_eq!(
            (l.median_seconds, l.p95_seconds, l.max_seconds),
            (10.0, 19.0, 20.0)
        );
        assert_eq!(status.latency, Some(l));
        assert_eq!(status.publications[0].name, "x y.nc");
        assert_eq!(status.publications[0].latency_seconds, Some(9.0));
        assert_eq!(status.publications.len(), 10, "the limit");
    }

    #[test]
    fn failures_are_newest_first_and_say_what_became_of_the_upload() {
        let mut rejected = job(
            "R1",
            "anmn",
            "s3://in/b.nc",
            "vb",
            "rejected",
            "2026-05-01T10:00:00Z",
        );
        rejected.facts.error = Some("3 checks failed".into());
        let history = [
            rejected,
            job(
                "T1",
                "anmn",
                "s3://in/a.nc",
                "va",
                "failed_transient",
                "2026-05-02T09:00:00Z",
            ),
            job(
                "T2",
                "anmn",
                "s3://in/a.nc",
                "",
                "failed_transient",
                "2026-05-02T09:30:00Z",
            ),
            published("P1", "anmn", "s3://in/a.nc", "2026-05-02T10:00:00Z", 5, 1),
            // The same key with other content is another upload.
            job(
                "R2",
                "anmn",
                "s3://in/b.nc",
                "vb2",
                "rejected",
                "2026-05-02T11:00:00Z",
            ),
        ];
        let mut history = history.to_vec();
        history[3].source_version = "va".into();
        let status = summarise(input(&history, &["anmn"]), "i".into());
        let ids: Vec<&str> = status.failures.iter().map(|f| f.job_id.as_str()).collect();
        assert_eq!(ids, ["R2", "T2", "T1", "R1"]);
        let later = |i: usize| {
            status.failures[i]
                .later
                .as_ref()
                .map(|l| (l.job_id.as_str(), l.outcome))
        };
        assert_eq!(later(0), None);
        assert_eq!(
            later(1),
            Some(("P1", Outcome::Published)),
            "no version known: same source"
        );
        assert_eq!(
            later(2),
            Some(("P1", Outcome::Published)),
            "the last later job"
        );
        assert_eq!(later(3), None, "other content under the same key");
        assert_eq!(
            status.failures[3].reason.as_deref(),
            Some("3 checks failed")
        );
        assert_eq!(
            status.failures[3].report.as_deref(),
            Some("s3://reports/anmn/R1.json")
        );
        let mut limited = input(&history, &["anmn"]);
        limited.limit = 2;
        assert_eq!(summarise(limited, "i".into()).failures.len(), 2);
    }

    #[test]
    fn claims_are_held_until_their_lease_ends() {
        let lease = |job: &str, until: &str, state| LeaseEntry {
            entry: LedgerEntry {
                source: format!("s3://in/{job}.nc"),
                source_version: "v".into(),
                job_id: job.into(),
                pipeline: "anmn".into(),
                state,
                updated_at: at("2026-05-02T11:00:00Z"),
            },
            lease_until: at(until),
        };
        let mut i = input(&[], &[]);
        i.leases = vec![
            lease("live", "2026-05-02T12:30:00Z", LedgerState::Running),
            lease("dead", "2026-05-02T11:59:59Z", LedgerState::Running),
            lease(
                "after-commit",
                "2026-05-02T12:00:00Z",
                LedgerState::Published,
            ),
        ];
        let status = summarise(i, "i".into());
        let ids = |v: &[Lease]| v.iter().map(|l| l.job_id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&status.leases.held), ["live"]);
        assert_eq!(
            ids(&status.leases.expired),
            ["dead", "after-commit"],
            "a lease ending now has ended"
        );
        assert_eq!(status.leases.held[0].name, "live.nc");
    }

    #[test]
    fn nearest_rank_quantiles() {
        assert_eq!(nearest_rank(&[4.0], 0.5), 4.0);
        assert_eq!(nearest_rank(&[1.0, 2.0], 0.5), 1.0);
        assert_eq!(nearest_rank(&[1.0, 2.0, 3.0, 4.0], 0.95), 4.0);
        assert_eq!(latency(&[]), None);
    }
}
