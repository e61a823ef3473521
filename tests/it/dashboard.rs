//! The dashboard page in a real browser: after the scripted mix of real jobs (see `status`),
//! `ocean-ingest dashboard --out DIR` writes the page; headless Chromium (Debian's `chromium`)
//! loads it, and the DOM it rendered is read back for the counts, the
//! failures with their report links (followed to the stored reports), the claims and the quick
//! looks. A job run with INGEST_DASHBOARD=true rewrites the same page at the root of the reports
//! store, with links relative to it. A screenshot proves the page lays out on a laptop screen;
//! with INGEST_WRITE_DOCS=1 it is kept as docs/dashboard.png.

use std::path::{Path, PathBuf};
use std::process::Command;

use scraper::{ElementRef, Html, Selector};

use crate::common::*;
use crate::status::{Mix, P1, Stage, WAITING, run_mix};

/// The browser the run requires (scripts/test.sh installs Debian's chromium and names it in
/// INGEST_TEST_CHROMIUM), or `None` (skipped).
fn chromium() -> Option<String> {
    server("INGEST_TEST_CHROMIUM")
}

/// Chromium as this machine runs it headless: no sandbox (root), no GPU, none of the background
/// traffic a closed network refuses, a fresh profile. JavaScript stays on: headless Chromium
/// reads the DOM and takes the screenshot through it (with `scriptEnabled=false` both come back
/// empty); the page stands without it because it carries no script at all (`check_page`).
fn browser(chromium: &str, profile: &Path) -> Command {
    let mut cmd = Command::new(chromium);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    cmd
}

/// The DOM Chromium built from the page at `path`.
fn rendered_dom(chromium: &str, path: &Path) -> Html {
    let profile = tempfile::tempdir().unwrap();
    let out = browser(chromium, profile.path())
        .arg("--dump-dom")
        .arg(url::Url::from_file_path(path).unwrap().as_str())
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && dom.contains("</html>"),
        "chromium did not render {}: {}\n{}",
        path.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Html::parse_document(&dom)
}

/// A screenshot of the page at `path`, as a laptop screen shows it.
fn screenshot(chromium: &str, path: &Path, png: &Path) {
    let profile = tempfile::tempdir().unwrap();
    let out = browser(chromium, profile.path())
        .arg("--window-size=1440,1400")
        .arg("--hide-scrollbars")
        .arg(format!("--screenshot={}", png.display()))
        .arg(url::Url::from_file_path(path).unwrap().as_str())
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success() && png.is_file(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn select<'a>(doc: &'a Html, css: &str) -> Vec<ElementRef<'a>> {
    doc.select(&Selector::parse(css).unwrap()).collect()
}

fn text(e: &ElementRef<'_>) -> String {
    e.text().collect::<String>().trim().to_string()
}

/// The number in a stream's row under `field` (`jobs`, `published`, …).
fn count(doc: &Html, pipeline: &str, field: &str) -> u64 {
    let css = format!(r#"tr[data-pipeline="{pipeline}"] td[data-count="{field}"]"#);
    let cells = select(doc, &css);
    assert_eq!(cells.len(), 1, "{css}");
    text(&cells[0]).parse().unwrap()
}

/// The file a link of the page leads to, relative to the page's folder.
fn target(page: &Path, href: &str) -> PathBuf {
    let url = url::Url::from_file_path(page).unwrap().join(href).unwrap();
    url.to_file_path().unwrap()
}

/// Checks what the browser rendered against the mix: counts, failures and their reports, claims.
fn check_page(doc: &Html, page: &Path, mix: &Mix) {
    let streams = [
        ("anmn_nrs", [3, 2, 1, 1, 1, 1, 0]),
        ("anmn_nrs_timeseries", [1, 1, 1, 1, 0, 0, 0]),
        ("srs_altimetry", [1, 1, 0, 0, 0, 0, 1]),
        ("_unrouted", [1, 1, 0, 0, 1, 0, 0]),
        ("acorn", [0; 7]),
        ("", [6, 5, 2, 2, 2, 1, 1]),
    ];
    let fields = [
        "jobs",
        "uploads",
        "published",
        "files_published",
        "rejected",
        "duplicate",
        "failed",
    ];
    for (pipeline, want) in streams {
        let got: Vec<u64> = fields.iter().map(|f| count(doc, pipeline, f)).collect();
        assert_eq!(got, want, "row {pipeline:?}");
    }
    // Each stream has a bar chart drawn in the page, a bar a day.
    let bars = select(doc, r#"tr[data-pipeline="anmn_nrs"] svg.spark > g"#);
    assert_eq!(bars.len(), 14);
    let today = select(doc, r#"tr[data-pipeline="anmn_nrs"] svg.spark > g > title"#);
    assert!(
        text(today.last().unwrap()).ends_with(": 3 jobs, 1 published, 1 duplicate, 1 rejected"),
        "{}",
        text(today.last().unwrap())
    );
    let tile = |name: &str| text(&select(doc, &format!(r#"[data-total="{name}"]"#))[0]);
    assert_eq!(
        (tile("published"), tile("held"), tile("expired")),
        ("2".into(), "1".into(), "1".into())
    );
    // The failures, newest first, each linking to its stored report.
    let rows = select(doc, "#failures tbody tr");
    let jobs: Vec<&str> = rows.iter().map(|r| r.attr("data-job").unwrap()).collect();
    assert_eq!(jobs, [&mix.deferred, &mix.unrouted, &mix.rejected]);
    for row in &rows {
        let links = row
            .select(&Selector::parse("a.report").unwrap())
            .collect::<Vec<_>>();
        assert_eq!(links.len(), 1);
        let file = target(page, links[0].attr("href").unwrap());
        let report: serde_json::Value = serde_json::from_slice(
            &std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display())),
        )
        .unwrap();
        assert_eq!(report["job_id"], row.attr("data-job").unwrap());
    }
    assert!(
        text(&rows[2]).contains("failed cf:1.6"),
        "{}",
        text(&rows[2])
    );
    assert!(
        text(&rows[0]).contains("holds a live claim"),
        "{}",
        text(&rows[0])
    );
    // The publications, with the time series' quick look shown and linked.
    let looks = select(
        doc,
        &format!(r#"#publications tr[data-job="{}"] a.look"#, mix.timeseries),
    );
    assert_eq!(looks.len(), 1);
    assert!(target(page, looks[0].attr("href").unwrap()).is_file());
    // The claims: the holder's live one, the killed job's lapsed one.
    let held = select(doc, "#claims tr[data-job]");
    let claims: Vec<&str> = held.iter().map(|r| r.attr("data-job").unwrap()).collect();
    assert_eq!(claims, ["holder", "killed"]);
    // Nothing to run and nothing fetched from elsewhere.
    assert!(select(doc, "script").is_empty());
    for e in select(doc, "[src], link[href]") {
        let at = e.attr("src").or(e.attr("href")).unwrap();
        assert!(!at.starts_with("http"), "fetched from elsewhere: {at}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_shows_the_mix_in_a_real_browser() {
    let Some(chromium) = chromium() else { return };
    let stage = Stage::embedded().await;
    let mix = run_mix(&stage).await;
    let out = stage.env.dir.path().join("site");
    let run = stage
        .env
        .run(&["dashboard", "--out", out.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let page = out.join("dashboard.html");
    let doc = rendered_dom(&chromium, &page);
    check_page(&doc, &page, &mix);

    // The page laid out on a laptop screen.
    let png = stage.env.dir.path().join("dashboard.png");
    screenshot(&chromium, &page, &png);
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
    let info = decoder.read_info().unwrap().info().clone();
    assert_eq!((info.width, info.height), (1440, 1400));
    if std::env::var("INGEST_WRITE_DOCS").as_deref() == Ok("1") {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
        std::fs::copy(&png, docs.join("dashboard.png")).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_rewrites_the_dashboard_in_the_reports_store_when_asked() {
    let Some(chromium) = chromium() else { return };
    let mut stage = Stage::embedded().await;
    let mix = run_mix(&stage).await;
    let page = stage.env.home().join("reports/dashboard.html");
    assert!(!page.exists(), "written only when INGEST_DASHBOARD is on");
    stage.env.set("INGEST_DASHBOARD", "true");
    // One more job (a duplicate of the profile) rewrites it, itself included.
    stage
        .upload(P1, std::fs::read(data(PROFILE)).unwrap())
        .await;
    let report = stage.run(P1);
    assert_eq!(report["outcome"], "duplicate");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains(r#"href="anmn_nrs/"#),
        "links relative to the store's root"
    );
    let doc = rendered_dom(&chromium, &page);
    assert_eq!(count(&doc, "anmn_nrs", "duplicate"), 2);
    assert_eq!(count(&doc, "anmn_nrs", "jobs"), 4);
    let rows = select(&doc, "#failures tbody tr");
    assert_eq!(rows[0].attr("data-job"), Some(mix.deferred.as_str()));
    for link in select(&doc, "#failures a.report, #publications a.report") {
        let file = target(&page, link.attr("href").unwrap());
        assert!(
            file.is_file(),
            "{} does not lead to a stored report",
            file.display()
        );
    }
    // The unrouted upload is not on the page: it never became a job. `status --unrouted` has it.
    assert!(!html.contains(WAITING));
}
