//! `ocean-ingest status`: what every stream received, published, rejected and failed over a
//! window, the latest failures, the claims held or expired, the time from upload to publication;
//! or, with `--unrouted`, the incoming objects no pipeline routes.

use chrono::Utc;
use clap::{Args, ValueEnum};

use crate::error::{ExitCode, JobError};
use crate::settings::Settings;
use crate::status::{self, Since, Window};

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// How far back to look: a whole number and s, m, h, d or w (90m, 24h, 7d, 2w)
    #[arg(long, default_value = "24h", value_name = "LENGTH")]
    pub since: Since,

    /// Aligned text for a person, or JSON for machines
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,

    /// How many of the latest failures (and, in JSON, publications) to list
    #[arg(long, default_value_t = status::DEFAULT_LIMIT, value_name = "N")]
    pub failures: usize,

    /// Instead, list the incoming objects whose key no pipeline routes: uploads no job will take on
    #[arg(long)]
    pub unrouted: bool,

    /// With --unrouted, look only under this prefix of the incoming store
    #[arg(long, requires = "unrouted", default_value = "", value_name = "PREFIX")]
    pub prefix: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

pub async fn main(settings: Settings, args: StatusArgs) -> ExitCode {
    let printed = match args.unrouted {
        true => unrouted(&settings, &args).await,
        false => streams(&settings, &args).await,
    };
    match printed {
        Ok(out) => {
            print!("{out}");
            ExitCode::Ok
        }
        Err(e) => super::usage_error(&e),
    }
}

fn json(value: &impl serde::Serialize) -> String {
    format!(
        "{}\n",
        serde_json::to_string_pretty(value).expect("a status serialises")
    )
}

async fn streams(settings: &Settings, args: &StatusArgs) -> Result<String, JobError> {
    let (pipelines, _) = super::run::load_pipelines(settings, None, None).await?;
    let index = crate::index::open(&settings.index, &settings.timeouts)
        .await
        .map_err(|e| JobError::from_boundary("cannot open the index", e))?;
    let now = Utc::now();
    let window = Window::back_from(now, args.since);
    let status = status::read(index.as_ref(), &pipelines, window, args.failures, now)
        .await
        .map_err(|e| JobError::from_boundary("reading the job history failed", e))?;
    Ok(match args.format {
        Format::Json => json(&status),
        Format::Text => status::render_text(&status),
    })
}

async fn unrouted(settings: &Settings, args: &StatusArgs) -> Result<String, JobError> {
    // The AWS clients come with the pipelines: built once when any boundary is on AWS.
    let (pipelines, aws) = super::run::load_pipelines(settings, None, None).await?;
    let incoming = crate::store::open(&settings.incoming, aws.as_ref(), settings.transfer)
        .await
        .map_err(|e| JobError::from_boundary("cannot open the incoming store", e))?;
    let found = status::unrouted::find(incoming.as_ref(), &pipelines, &args.prefix, Utc::now())
        .await
        .map_err(|e| JobError::from_boundary("listing the incoming store failed", e))?;
    Ok(match args.format {
        Format::Json => json(&found),
        Format::Text => status::unrouted::render(&found),
    })
}
