//! `ocean-ingest run --event FILE|-`: run the uploads an S3 event names, one job per record.

use std::io::Read;
use std::path::Path;

use serde_json::{Value, json};

use super::format::Format;
use super::run::{RunArgs, load_pipelines, summary};
use super::tally::Tally;
use crate::error::{ExitCode, JobError};
use crate::events::{self, EventRecord};
use crate::job::{JobRequest, Services};
use crate::settings::Settings;
use crate::source::Source;

pub async fn main(settings: Settings, args: RunArgs, path: &Path) -> ExitCode {
    let records = match read(path) {
        Ok(text) => match events::parse(&text) {
            Ok(records) => records,
            Err(e) => {
                return refuse(
                    args.format,
                    JobError::usage(format!("{}: {e}", path.display())),
                );
            }
        },
        Err(e) => return refuse(args.format, e),
    };
    let mut tally = Tally::default();
    let mut doc = json!({"jobs": [], "ignored": [], "errors": []});
    let mut sources = Vec::new();
    for record in records {
        match record {
            EventRecord::Ignored { reason } => {
                tracing::info!(reason = %reason, "event record needs no job");
                if args.format == Format::Text {
                    println!("ignored: {reason}");
                }
                tally.add_ignored();
                push(&mut doc, "ignored", Value::String(reason));
            }
            EventRecord::ObjectCreated { bucket, key, .. } => {
                match Source::incoming_object(Some(&bucket), &key, &settings) {
                    Ok(source) => sources.push(source),
                    Err(e) => {
                        let err = JobError::usage(format!("event record: {e}"));
                        record_error(
                            &mut tally,
                            &mut doc,
                            args.format,
                            &format!("s3://{bucket}/{key}"),
                            &err,
                        );
                    }
                }
            }
        }
    }
    if !sources.is_empty() {
        match prepare(settings, &args).await {
            Ok(services) => {
                for source in sources {
                    let request = JobRequest {
                        source,
                        pipeline: args.pipeline.clone(),
                        uploader: args.uploader.clone(),
                    };
                    let report = crate::job::run(&services, request).await;
                    tally.add_report(&report);
                    match args.format {
                        Format::Text => print!("{}", summary(&report)),
                        Format::Json => push(
                            &mut doc,
                            "jobs",
                            serde_json::to_value(&report).expect("reports serialise"),
                        ),
                    }
                }
            }
            Err(err) => {
                // Nothing can run: every record fails the same way.
                for source in sources {
                    let name = match &source {
                        Source::Incoming(k) => k.to_string(),
                        Source::LocalFile(p) => p.display().to_string(),
                    };
                    record_error(&mut tally, &mut doc, args.format, &name, &err);
                }
            }
        }
    }
    let code = tally.exit_code();
    match args.format {
        Format::Json => {
            doc["exit_code"] = json!(code.code());
            println!(
                "{}",
                serde_json::to_string_pretty(&doc).expect("json serialises")
            );
        }
        Format::Text if tally.total() > 1 => println!("{}", tally.line("event records")),
        Format::Text => {}
    }
    code
}

async fn prepare(settings: Settings, args: &RunArgs) -> Result<Services, JobError> {
    let (pipelines, aws) = load_pipelines(&settings, args.uploader.as_deref(), None).await?;
    Services::build_on(settings, pipelines, aws).await
}

fn read(path: &Path) -> Result<String, JobError> {
    let mut text = String::new();
    let result = if path == Path::new("-") {
        std::io::stdin().read_to_string(&mut text)
    } else {
        std::fs::File::open(path).and_then(|mut f| f.read_to_string(&mut text))
    };
    result.map(|_| text).map_err(|e| {
        JobError::usage(format!(
            "cannot read the event from {}: {e}",
            path.display()
        ))
    })
}

fn push(doc: &mut Value, list: &str, item: Value) {
    if let Some(items) = doc[list].as_array_mut() {
        items.push(item);
    }
}

fn record_error(tally: &mut Tally, doc: &mut Value, output: Format, source: &str, err: &JobError) {
    crate::logging::outside_job(crate::logging::Severity::Error, "error", &err.detail());
    tally.add_failure(err.fault.exit_code());
    if output == Format::Json {
        push(
            doc,
            "errors",
            json!({"source": source, "fault": err.fault, "message": err.message, "detail": err.detail()}),
        );
    }
}

/// The event could not be read at all.
fn refuse(output: Format, err: JobError) -> ExitCode {
    if output == Format::Json {
        let doc = json!({
            "exit_code": err.fault.exit_code().code(), "jobs": [], "ignored": [],
            "errors": [{"source": null, "fault": err.fault, "message": err.message, "detail": err.detail()}],
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&doc).expect("json serialises")
        );
    }
    super::usage_error(&err)
}
