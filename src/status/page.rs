//! The dashboard: the status as one self-contained HTML page (styles inline, charts as inline
//! SVG drawn here, no script, no font or file from elsewhere) that a static bucket can serve and
//! any browser shows, JavaScript or not. A job rewrites it at the root of the reports store when
//! `INGEST_DASHBOARD` is on; `ocean-ingest dashboard --out DIR` writes it anywhere.

use std::sync::LazyLock;

use minijinja::Environment;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde::Serialize;

use super::text::{duration, time};
use super::{Counts, Latency, Lease, Status};

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    crate::html::environment(&[(
        "dashboard.html",
        include_str!("../../templates/dashboard.html.j2"),
    )])
});

/// Failures and publications the page lists unless asked otherwise.
pub const LISTED: usize = 20;

/// How often a browser showing the page reloads it, in seconds.
pub const REFRESH_SECONDS: u32 = 300;

/// How the page links to the reports and quick looks kept in the reports store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Links {
    /// The page sits at the root of the reports store: links are keys relative to it, which
    /// work wherever the store is served (a static bucket, a CDN, a local folder).
    InStore {
        /// The reports store's location (`s3://bucket/prefix`, `file:///…`).
        store: String,
    },
    /// The page is written elsewhere: links are the objects' own URLs, or, with `base`, their
    /// keys below the address the reports store is served at. URLs a browser cannot open
    /// (`s3://`) are shown as text.
    Absolute { store: String, base: Option<String> },
}

/// Characters a key cannot keep in a URL path (`/` stays: it separates the key's folders).
const PATH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

fn browsable(url: &str) -> bool {
    ["file://", "http://", "https://"]
        .iter()
        .any(|scheme| url.starts_with(scheme))
}

impl Links {
    /// Where a link to the stored object `url` points, or `None` where a browser cannot follow it.
    pub fn href(&self, url: &str) -> Option<String> {
        let (store, base) = match self {
            Links::InStore { store } => (store, None),
            Links::Absolute { store, base } => (store, base.as_deref()),
        };
        let key = url
            .strip_prefix(store.trim_end_matches('/'))
            .and_then(|rest| rest.strip_prefix('/'))
            .map(|key| utf8_percent_encode(key, PATH).to_string());
        match (self, key) {
            (Links::InStore { .. }, Some(key)) => Some(key),
            (_, Some(key)) if base.is_some() => Some(format!(
                "{}/{key}",
                base.unwrap_or_default().trim_end_matches('/')
            )),
            (_, Some(key)) if browsable(store) => {
                Some(format!("{}/{key}", store.trim_end_matches('/')))
            }
            _ => browsable(url).then(|| url.to_string()),
        }
    }
}

/// A stored object as the page shows it: a link where one can be followed, the URL otherwise.
#[derive(Serialize)]
struct Link {
    href: Option<String>,
    url: String,
}

#[derive(Serialize)]
struct LatencyView {
    median: String,
    p95: String,
    max: String,
    /// Publications measured from the job's start.
    estimated: usize,
    count: usize,
}

fn latency_view(l: Option<&Latency>) -> Option<LatencyView> {
    l.map(|l| LatencyView {
        median: duration(l.median_seconds),
        p95: duration(l.p95_seconds),
        max: duration(l.max_seconds),
        estimated: l.from_job_start,
        count: l.count,
    })
}

#[derive(Serialize)]
struct StreamView {
    name: String,
    configured: bool,
    spark: String,
    counts: Counts,
    latency: Option<LatencyView>,
}

#[derive(Serialize)]
struct FailureView {
    time: String,
    pipeline: String,
    outcome: &'static str,
    name: String,
    job_id: String,
    reason: Option<String>,
    report: Option<Link>,
    later: Option<String>,
}

#[derive(Serialize)]
struct PlotView {
    link: Link,
    name: String,
}

#[derive(Serialize)]
struct PublicationView {
    time: String,
    pipeline: String,
    name: String,
    job_id: String,
    files: u32,
    latency: Option<String>,
    report: Option<Link>,
    plots: Vec<PlotView>,
}

#[derive(Serialize)]
struct LeaseView {
    job_id: String,
    pipeline: String,
    name: String,
    source: String,
    state: &'static str,
    since: String,
    until: String,
    /// For an expired lease: how long ago it ended.
    ended_ago: Option<String>,
}

#[derive(Serialize)]
struct View {
    window: String,
    since: String,
    until: String,
    generated: String,
    index: String,
    refresh_seconds: u32,
    first_day: String,
    last_day: String,
    streams: Vec<StreamView>,
    totals: Counts,
    latency: Option<LatencyView>,
    failures: Vec<FailureView>,
    failures_total: u64,
    publications: Vec<PublicationView>,
    held: Vec<LeaseView>,
    expired: Vec<LeaseView>,
}

/// Renders the page.
pub fn render(status: &Status, links: &Links) -> Result<String, minijinja::Error> {
    let link = |url: &Option<String>| {
        url.as_ref().map(|url| Link {
            href: links.href(url),
            url: url.clone(),
        })
    };
    let now = status.generated_at;
    let lease = |l: &Lease, expired: bool| LeaseView {
        job_id: l.job_id.clone(),
        pipeline: l.pipeline.clone(),
        name: l.name.clone(),
        source: l.source.clone(),
        state: l.state.as_str(),
        since: time(l.since),
        until: time(l.lease_until),
        ended_ago: expired
            .then(|| duration((now - l.lease_until).num_milliseconds() as f64 / 1000.0)),
    };
    let days = status.window.days();
    let view = View {
        window: status.window.label.clone(),
        since: time(status.window.since),
        until: time(status.window.until),
        generated: time(now),
        index: status.index.clone(),
        refresh_seconds: REFRESH_SECONDS,
        first_day: days.first().map(ToString::to_string).unwrap_or_default(),
        last_day: days.last().map(ToString::to_string).unwrap_or_default(),
        streams: status
            .pipelines
            .iter()
            .map(|p| StreamView {
                name: p.pipeline.clone(),
                configured: p.configured,
                spark: super::sparkline::svg(&p.pipeline, &p.daily),
                counts: p.counts,
                latency: latency_view(p.latency.as_ref()),
            })
            .collect(),
        totals: status.totals,
        latency: latency_view(status.latency.as_ref()),
        failures: status
            .failures
            .iter()
            .map(|f| FailureView {
                time: time(f.finished_at),
                pipeline: f.pipeline.clone(),
                outcome: f.outcome.as_str(),
                name: f.name.clone(),
                job_id: f.job_id.clone(),
                reason: f.reason.clone(),
                report: link(&f.report),
                later: f.later.as_ref().map(|l| {
                    format!(
                        "job {} {} at {}",
                        l.job_id,
                        l.outcome.as_str(),
                        time(l.finished_at)
                    )
                }),
            })
            .collect(),
        failures_total: status.totals.rejected + status.totals.failed,
        publications: status
            .publications
            .iter()
            .map(|p| PublicationView {
                time: time(p.finished_at),
                pipeline: p.pipeline.clone(),
                name: p.name.clone(),
                job_id: p.job_id.clone(),
                files: p.files_published,
                latency: p.latency_seconds.map(duration),
                report: link(&p.report),
                plots: p
                    .plots
                    .iter()
                    .map(|url| PlotView {
                        name: super::upload_name(url),
                        link: Link {
                            href: links.href(url),
                            url: url.clone(),
                        },
                    })
                    .collect(),
            })
            .collect(),
        held: status.leases.held.iter().map(|l| lease(l, false)).collect(),
        expired: status
            .leases
            .expired
            .iter()
            .map(|l| lease(l, true))
            .collect(),
    };
    TEMPLATES
        .get_template("dashboard.html")?
        .render(minijinja::Value::from_serialize(&view))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_relative_in_the_store_and_absolute_elsewhere() {
        let report = "s3://bucket/reports/anmn/J1.json";
        let plot = "s3://bucket/reports/anmn/J1/IMOS a#1.nc.png";
        let in_store = Links::InStore {
            store: "s3://bucket/reports".into(),
        };
        assert_eq!(in_store.href(report).as_deref(), Some("anmn/J1.json"));
        assert_eq!(
            in_store.href(plot).as_deref(),
            Some("anmn/J1/IMOS%20a%231.nc.png")
        );
        let s3 = Links::Absolute {
            store: "s3://bucket/reports".into(),
            base: None,
        };
        assert_eq!(s3.href(report), None, "a browser cannot open s3://");
        let served = Links::Absolute {
            store: "s3://bucket/reports".into(),
            base: Some("https://status.example.org/reports/".into()),
        };
        assert_eq!(
            served.href(report).as_deref(),
            Some("https://status.example.org/reports/anmn/J1.json")
        );
        let local = Links::Absolute {
            store: "file:///var/reports".into(),
            base: None,
        };
        assert_eq!(
            local.href("file:///var/reports/anmn/J 1.json").as_deref(),
            Some("file:///var/reports/anmn/J%201.json")
        );
        assert_eq!(
            local.href("https://elsewhere/x.json").as_deref(),
            Some("https://elsewhere/x.json"),
            "a URL outside the store stays as it is"
        );
    }
}
