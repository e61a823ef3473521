//! `ocean-ingest replay`: run uploads of the incoming store again — one key, a list, or a whole
//! prefix — by sending the S3 event S3 would have sent onto a pipeline's queue, or by running the
//! jobs here with bounded concurrency. A progress bar on a terminal, a summary at the end.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::sync::Arc;

use clap::{ArgGroup, Args};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};

use super::tally::Tally;
use crate::aws::Aws;
use crate::error::{Classify, ExitCode, JobError};
use crate::events::{ReplayObject, replay_event};
use crate::job::{JobRequest, Services};
use crate::logging::{Severity, outside_job};
use crate::queue::{BATCH, Message, Queue, QueueUrl};
use crate::settings::Settings;
use crate::source::Source;
use crate::store::{Key, ObjectInfo, ObjectStore, StoreUrl};

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("what").required(true).args(["key", "keys_from", "prefix"])))]
#[command(group(ArgGroup::new("how").required(true).args(["queue", "inline"])))]
pub struct ReplayArgs {
    /// Send an S3 "ObjectCreated" event per key to this SQS queue (the pipeline's queue), as S3
    /// itself would; Batch then runs the jobs
    #[arg(long, value_name = "URL")]
    pub queue: Option<String>,

    /// Run the jobs in this process instead of queueing them
    #[arg(long)]
    pub inline: bool,

    /// Jobs run at once with --inline
    #[arg(long, default_value_t = 4, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,

    /// Only list what would be replayed
    #[arg(long)]
    pub dry_run: bool,

    /// A key of the incoming store (as stored, not URL-encoded) or an s3:// URI in it; repeatable
    #[arg(long = "key", value_name = "KEY")]
    pub key: Vec<String>,

    /// A file with one key per line (- for stdin); blank lines and # comments are skipped
    #[arg(long, value_name = "FILE")]
    pub keys_from: Option<PathBuf>,

    /// Every object of the incoming store whose key starts with PREFIX ("" for all)
    #[arg(long, value_name = "PREFIX")]
    pub prefix: Option<String>,
}

pub async fn main(settings: Settings, args: ReplayArgs) -> ExitCode {
    match replay(settings, args).await {
        Ok(code) => code,
        Err(e) => super::usage_error(&e),
    }
}

async fn replay(settings: Settings, args: ReplayArgs) -> Result<ExitCode, JobError> {
    let queue_url = match &args.queue {
        Some(q) => {
            Some(QueueUrl::parse(q).map_err(|e| JobError::usage(format!("--queue {q}: {e}")))?)
        }
        None => None,
    };
    if queue_url.is_some() && !settings.incoming.is_s3() {
        return Err(JobError::usage(format!(
            "replay --queue announces objects of an s3:// incoming store, not {}; use --inline",
            settings.incoming
        )));
    }
    let aws = match settings.needs_aws() || queue_url.as_ref().is_some_and(QueueUrl::is_sqs) {
        true => Some(Aws::from_env(&settings.timeouts).await?),
        false => None,
    };
    let incoming = crate::store::open(&settings.incoming, aws.as_ref(), settings.transfer)
        .await
        .map_err(|e| JobError::from_boundary("cannot open the incoming store", e))?;
    let mut tally = Tally::default();
    let targets = targets(&args, &settings, incoming.as_ref(), &mut tally).await?;
    let what = match &args.queue {
        Some(q) => format!("send to {q}"),
        None => "run inline".to_string(),
    };
    if args.dry_run {
        for t in &targets {
            println!("would {what}: {}", incoming.url_of(&t.key));
        }
        println!(
            "would replay {} object(s); {} missing",
            targets.len(),
            tally.missing
        );
        return Ok(tally.exit_code());
    }
    let bar = progress(targets.len());
    match (&queue_url, &settings.incoming) {
        (Some(url), StoreUrl::S3 { bucket, prefix }) => {
            let queue = crate::queue::open(url, aws.as_ref())
                .map_err(|e| JobError::from_boundary("cannot open the queue", e))?;
            let region = aws.as_ref().map_or("", |a| a.region.as_str());
            let announce = Announce {
                queue: queue.as_ref(),
                bucket,
                prefix,
                region,
                incoming: incoming.as_ref(),
            };
            announce.send(&targets, &bar, &mut tally).await;
        }
        _ => {
            run_inline(
                settings,
                aws.clone(),
                &args,
                targets,
                incoming.as_ref(),
                &bar,
                &mut tally,
            )
            .await?
        }
    }
    bar.finish_and_clear();
    println!("{}", tally.line("replayed"));
    Ok(tally.exit_code())
}

/// The objects to replay: a listing of the prefix (every page), or each named key, looked up.
async fn targets(
    args: &ReplayArgs,
    settings: &Settings,
    incoming: &dyn ObjectStore,
    tally: &mut Tally,
) -> Result<Vec<ObjectInfo>, JobError> {
    if let Some(prefix) = &args.prefix {
        return incoming.list(prefix).await.map_err(|e| {
            JobError::from_boundary(
                format!("listing {prefix:?} in the incoming store failed"),
                e,
            )
        });
    }
    let mut names = args.key.clone();
    if let Some(path) = &args.keys_from {
        names.extend(read_keys(path)?);
    }
    let mut out = Vec::new();
    for name in names {
        let key = parse_key(&name, settings)?;
        match incoming.head(&key).await {
            Ok(Some(info)) => out.push(info),
            Ok(None) => {
                outside_job(
                    Severity::Warn,
                    "missing",
                    &format!("{} is not in the incoming store", incoming.url_of(&key)),
                );
                tally.add_missing();
            }
            Err(e) => {
                return Err(JobError::from_boundary(
                    format!("looking up {key} failed"),
                    e,
                ));
            }
        }
    }
    Ok(out)
}

fn parse_key(name: &str, settings: &Settings) -> Result<Key, JobError> {
    if name.starts_with("s3://") {
        // As written in the store: an s3:// URI here is never URL-decoded.
        let raw = Settings {
            source_key_encoding: crate::settings::KeyEncoding::Raw,
            ..settings.clone()
        };
        return match Source::parse(name, &raw) {
            Ok(Source::Incoming(key)) => Ok(key),
            Ok(Source::LocalFile(_)) => Err(JobError::usage(format!(
                "{name} is not in the incoming store"
            ))),
            Err(e) => Err(JobError::usage(e.to_string())),
        };
    }
    Key::new(name).map_err(|e| JobError::usage(e.to_string()))
}

fn read_keys(path: &PathBuf) -> Result<Vec<String>, JobError> {
    let reader: Box<dyn BufRead> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::io::BufReader::new(std::fs::File::open(path).map_err(
            |e| JobError::usage(format!("cannot read keys from {}: {e}", path.display())),
        )?))
    };
    let mut keys = Vec::new();
    for line in reader.lines() {
        let line = line.map_err(|e| {
            JobError::usage(format!("cannot read keys from {}: {e}", path.display()))
        })?;
        let line = line.trim();
        if !line.is_empty() && !line.starts_with('#') {
            keys.push(line.to_string());
        }
    }
    Ok(keys)
}

/// A progress bar on stderr when it is a terminal; hidden otherwise (logs and CI stay clean).
fn progress(len: usize) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// Where replayed events go, and what they name.
struct Announce<'a> {
    queue: &'a dyn Queue,
    bucket: &'a str,
    /// The incoming store's prefix in its bucket.
    prefix: &'a str,
    region: &'a str,
    incoming: &'a dyn ObjectStore,
}

impl Announce<'_> {
    /// Sends one event per object, as many per request as the queue takes.
    async fn send(&self, targets: &[ObjectInfo], bar: &ProgressBar, tally: &mut Tally) {
        for chunk in targets.chunks(BATCH) {
            let messages: Vec<Message> = chunk.iter().map(|t| self.event(t)).collect();
            let answers = self.queue.send_batch(&messages).await;
            for (t, answer) in chunk.iter().zip(answers) {
                let url = self.incoming.url_of(&t.key);
                match answer {
                    Ok(_) => {
                        bar.suspend(|| println!("sent: {url}"));
                        tally.add_ok();
                    }
                    Err(e) => {
                        bar.suspend(|| {
                            outside_job(Severity::Error, "failed", &format!("{url}: {e}"))
                        });
                        tally.add_failure(e.fault().exit_code());
                    }
                }
            }
            bar.inc(chunk.len() as u64);
        }
    }

    /// The event S3 would have sent for the object.
    fn event(&self, t: &ObjectInfo) -> Message {
        let bucket_key = if self.prefix.is_empty() {
            t.key.to_string()
        } else {
            format!("{}/{}", self.prefix, t.key)
        };
        let event = replay_event(
            &ReplayObject {
                bucket: self.bucket,
                key: &bucket_key,
                size: t.size,
                // Listings give ETags (quoted); a lookup in a versioned bucket gives a
                // version id instead, which is no ETag.
                etag: t.version.as_deref().filter(|v| v.starts_with('"')),
            },
            self.region,
        );
        Message {
            body: event.to_string(),
            ..Message::default()
        }
    }
}

/// Runs the jobs here, a few at a time, on one set of services.
async fn run_inline(
    settings: Settings,
    aws: Option<Aws>,
    args: &ReplayArgs,
    targets: Vec<ObjectInfo>,
    incoming: &dyn ObjectStore,
    bar: &ProgressBar,
    tally: &mut Tally,
) -> Result<(), JobError> {
    if targets.is_empty() {
        return Ok(());
    }
    let (pipelines, aws) = super::run::load_pipelines(&settings, None, aws).await?;
    let services = Arc::new(Services::build_on(settings, pipelines, aws).await?);
    let total = targets.len();
    let mut started = 0usize;
    let mut reports = futures::stream::iter(targets)
        // After a stop signal no new job starts; those running finish or stop at their next step.
        .take_while(|_| futures::future::ready(!crate::shutdown::requested()))
        .inspect(|_| started += 1)
        .map(|t| {
            let services = services.clone();
            async move {
                let request = JobRequest {
                    source: Source::Incoming(t.key.clone()),
                    pipeline: None,
                    uploader: None,
                };
                (t.key, crate::job::run(&services, request).await)
            }
        })
        .buffer_unordered(args.concurrency as usize);
    while let Some((key, report)) = reports.next().await {
        let line = format!(
            "{}: {} (job {})",
            report.outcome.as_str(),
            incoming.url_of(&key),
            report.job_id
        );
        bar.suspend(|| println!("{line}"));
        tally.add_report(&report);
        bar.inc(1);
    }
    drop(reports);
    if started < total {
        let message = format!("{} upload(s) were not replayed", total - started);
        bar.suspend(|| outside_job(Severity::Warn, "stopped", &message));
    }
    Ok(())
}
