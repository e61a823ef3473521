//! `ocean-ingest dashboard --out DIR`: the status as a self-contained HTML page, written to a
//! folder (the same page a job writes to the reports store when INGEST_DASHBOARD is on).

use std::path::PathBuf;

use chrono::Utc;
use clap::Args;

use crate::error::{ExitCode, JobError};
use crate::settings::Settings;
use crate::status::{self, Window, page};

#[derive(Debug, Args)]
pub struct DashboardArgs {
    /// Folder to write dashboard.html into (made if missing)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// Days to draw, today (UTC) included
    #[arg(long, default_value_t = status::DEFAULT_DAYS, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=366))]
    pub days: u32,

    /// How many of the latest failures and publications to list
    #[arg(long, default_value_t = page::LISTED, value_name = "N")]
    pub limit: usize,

    /// The address the reports store is served at (e.g. https://status.example.org/reports/):
    /// links to reports and quick looks go there instead of to the store's own URLs
    #[arg(long, value_name = "URL")]
    pub link_base: Option<String>,
}

pub async fn main(settings: Settings, args: DashboardArgs) -> ExitCode {
    match write(settings, args).await {
        Ok(path) => {
            println!("wrote {}", path.display());
            ExitCode::Ok
        }
        Err(e) => super::usage_error(&e),
    }
}

async fn write(settings: Settings, args: DashboardArgs) -> Result<PathBuf, JobError> {
    // The AWS clients come with the pipelines: built once when any boundary is on AWS.
    let (pipelines, aws) = super::run::load_pipelines(&settings, None, None).await?;
    let index = crate::index::open(&settings.index, &settings.timeouts)
        .await
        .map_err(|e| JobError::from_boundary("cannot open the index", e))?;
    // The store is opened only for its location, which the links of the page are made from.
    let reports = crate::store::open(&settings.reports, aws.as_ref(), settings.transfer)
        .await
        .map_err(|e| JobError::from_boundary("cannot open the reports store", e))?;
    let now = Utc::now();
    let status = status::read(
        index.as_ref(),
        &pipelines,
        Window::days_to(now, args.days),
        args.limit,
        now,
    )
    .await
    .map_err(|e| JobError::from_boundary("reading the job history failed", e))?;
    let links = page::Links::Absolute {
        store: reports.location(),
        base: args.link_base,
    };
    let html = page::render(&status, &links)
        .map_err(|e| JobError::internal(format!("the dashboard page: {e}")))?;
    let path = args.out.join(crate::layout::DASHBOARD);
    std::fs::create_dir_all(&args.out)
        .and_then(|()| std::fs::write(&path, html))
        .map_err(|e| JobError::usage(format!("cannot write {}: {e}", path.display())))?;
    Ok(path)
}
