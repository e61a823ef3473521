//! The dashboard page at the root of the reports store, rewritten after each job when
//! `INGEST_DASHBOARD` is on, so a static bucket serves a page that is never more than a job old.
//! Jobs write it without a lock: each put is atomic and the last writer wins. A job that read
//! the index before another finished may write over that job's newer page; the page is then one
//! job behind until the next job rewrites it.

use chrono::{Duration, Utc};

use super::Services;
use crate::layout;
use crate::status::{self, Window, page};
use crate::store::PutOptions;

/// Renders the page from the index and puts it at the root of the reports store.
pub(super) async fn rewrite(services: &Services) -> Result<(), String> {
    // The index records times to the millisecond and a window ends before its `until`: the job
    // that rewrites the page finished moments ago, possibly in this very millisecond, and the page
    // must count it, so the window ends at the next millisecond.
    let now = Utc::now() + Duration::milliseconds(1);
    let window = Window::days_to(now, status::DEFAULT_DAYS);
    let status = status::read(
        services.index.as_ref(),
        &services.pipelines,
        window,
        page::LISTED,
        now,
    )
    .await
    .map_err(|e| e.to_string())?;
    let links = page::Links::InStore {
        store: services.reports.location(),
    };
    let html = page::render(&status, &links).map_err(|e| format!("the page: {e}"))?;
    let opts = PutOptions {
        content_type: Some("text/html; charset=utf-8".into()),
        sha256: None,
    };
    services
        .reports
        .put_bytes(&layout::dashboard(), html.into_bytes(), &opts)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}
