//! `ocean-ingest run`: ingest one upload and print what happened.

use clap::{ArgGroup, Args};

use super::format::Format;
use crate::aws::Aws;
use crate::error::{ExitCode, JobError};
use crate::job::{JobReport, JobRequest, Outcome, Services};
use crate::pipeline::PipelineSet;
use crate::settings::Settings;
use crate::source::Source;

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("input").required(true).args(["source", "incoming_key", "event"])))]
pub struct RunArgs {
    /// The upload: a local path, a file:// URI, or an s3:// URI in the incoming store. A path
    /// inside the incoming store is treated as an upload there (removed once kept safe); any
    /// other local file is only read.
    #[arg(value_name = "SOURCE")]
    pub source: Option<String>,

    /// The upload as a key of the incoming store's bucket (decoded first when
    /// INGEST_SOURCE_KEY_ENCODING=url), as the Batch job definition passes an event's key
    #[arg(long, value_name = "KEY")]
    pub incoming_key: Option<String>,

    /// Run the uploads an event names: an S3 event notification, an SQS message or its body, or
    /// an EventBridge "Object Created" event, read from FILE or stdin (-). Each record runs in
    /// turn; the exit code is the most severe (75 > 70 > 2 > 1 > 0). With --format json, prints
    /// {"exit_code", "jobs": [job reports], "ignored": [reasons], "errors": [...]}
    #[arg(long, value_name = "FILE")]
    pub event: Option<std::path::PathBuf>,

    /// Use this pipeline instead of routing by key
    #[arg(long, value_name = "NAME")]
    pub pipeline: Option<String>,

    /// Email address of the uploader, told about the outcome of their upload
    #[arg(long, value_name = "ADDRESS")]
    pub uploader: Option<String>,

    /// What to print on stdout: a short summary, or the whole job report as JSON (also
    /// accepted as --output)
    #[arg(long, value_enum, default_value_t, alias = "output")]
    pub format: Format,
}

/// Runs one upload named by SOURCE or --incoming-key (`--event` runs in [`super::event`]).
pub async fn main(settings: Settings, args: RunArgs) -> ExitCode {
    let format = args.format;
    match prepare(settings, args).await {
        Ok((services, request)) => {
            let report = crate::job::run(&services, request).await;
            match format {
                Format::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&report).expect("reports serialise")
                ),
                Format::Text => print!("{}", summary(&report)),
            }
            report.exit()
        }
        Err((source, err)) => {
            // Nothing ran; still give machines a result to read.
            if format == Format::Json {
                let outcome = Outcome::of_fault(err.fault);
                let doc = serde_json::json!({
                    "job_id": null, "source": source, "pipeline": null, "outcome": outcome,
                    "exit_code": err.fault.exit_code().code(), "states": [], "files": [],
                    "error": {"fault": err.fault, "message": err.message, "detail": err.detail()},
                });
                println!(
                    "{}",
                    serde_json::to_string_pretty(&doc).expect("json serialises")
                );
            }
            super::usage_error(&err)
        }
    }
}

async fn prepare(
    settings: Settings,
    args: RunArgs,
) -> Result<(Services, JobRequest), (String, JobError)> {
    let given = args
        .source
        .clone()
        .or_else(|| args.incoming_key.clone())
        .unwrap_or_default();
    let fail = |e: JobError| (given.clone(), e);
    let (pipelines, aws) = load_pipelines(&settings, args.uploader.as_deref(), None)
        .await
        .map_err(fail)?;
    let source = match (&args.source, &args.incoming_key) {
        (Some(source), _) => Source::parse(source, &settings),
        (None, Some(key)) => crate::source::source_key(key, &settings)
            .and_then(|key| Source::incoming_object(None, &key, &settings)),
        (None, None) => unreachable!("clap requires SOURCE, --incoming-key or --event"),
    }
    .map_err(|e| fail(JobError::usage(e.to_string())))?;
    let services = Services::build_on(settings, pipelines, aws)
        .await
        .map_err(fail)?;
    Ok((
        services,
        JobRequest {
            source,
            pipeline: args.pipeline,
            uploader: args.uploader,
        },
    ))
}

/// Reads and validates the pipeline file and checks the uploader's address: what every way of
/// running jobs needs before any store is opened. Builds the process's AWS clients, unless given,
/// when the pipeline file or a boundary needs them, and hands them on for the services.
pub(super) async fn load_pipelines(
    settings: &Settings,
    uploader: Option<&str>,
    aws: Option<Aws>,
) -> Result<(PipelineSet, Option<Aws>), JobError> {
    let chosen = crate::pipeline_file::choose(settings)?;
    let aws = match aws {
        None if settings.needs_aws() || chosen.needs_aws() => {
            Some(Aws::from_env(&settings.timeouts).await?)
        }
        given => given,
    };
    let pipelines = crate::pipeline_file::load(&chosen, settings, aws.as_ref()).await?;
    if let Some(uploader) = uploader {
        uploader.parse::<lettre::Address>().map_err(|e| {
            JobError::usage(format!(
                "--uploader {uploader:?} is not an email address: {e}"
            ))
        })?;
    }
    Ok((pipelines, aws))
}

/// A few lines for a person at a terminal.
pub fn summary(report: &JobReport) -> String {
    let name = report
        .input
        .as_ref()
        .map_or(report.source.as_str(), |i| i.name.as_str());
    let mut out = format!(
        "{}: {name}\n  pipeline {} · job {} · {} ms · reached {}\n",
        report.outcome.as_str(),
        report.pipeline.as_deref().unwrap_or("(none)"),
        report.job_id,
        report.duration_ms,
        report.last_state(),
    );
    if let Some(e) = &report.error {
        out.push_str(&format!("  why: {}\n", e.message));
    }
    for f in &report.files {
        let mark = match f.check_passed {
            Some(false) => "✗",
            _ if f.published => "✓",
            _ => "·",
        };
        out.push_str(&format!(
            "  {mark} {} [{} check, {}]",
            f.name, f.check_type, f.publish_type
        ));
        if let Some(dest) = &f.dest_path {
            out.push_str(&format!(" → {dest}"));
        }
        out.push('\n');
        if f.check_passed == Some(false) {
            for line in f.check_log.iter().take(5) {
                out.push_str(&format!("      {line}\n"));
            }
        }
    }
    for note in &report.notes {
        out.push_str(&format!("  note: {note}\n"));
    }
    let l = &report.locations;
    for (label, value) in [
        ("archived", &l.archive),
        ("kept at", &l.error_copy),
        ("report", &l.report),
    ] {
        if let Some(v) = value {
            out.push_str(&format!("  {label}: {v}\n"));
        }
    }
    if let Some(n) = &report.notification {
        let status = if n.delivered {
            "sent".to_string()
        } else {
            format!("NOT sent ({})", n.error.as_deref().unwrap_or("?"))
        };
        out.push_str(&format!(
            "  notification {status} to {}\n",
            n.recipients.join(", ")
        ));
    }
    out
}
