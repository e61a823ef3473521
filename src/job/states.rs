//! The job's state machine: one struct per state holding only what is known at that point, and one
//! consuming transition each, so a state cannot be reused by mistake.
//!
//! ```text
//! Initial → Initialised → Resolved → Preprocessed → Checked → Processed → Published
//!         → Postprocessed → NotifiedSuccess → CompletedSuccess
//! any ordered state --error--> NotifiedError → CompletedError
//! Initial --already ingested--> CompletedSuccess (outcome duplicate)
//! ```

use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{DateTime, Utc};
use tracing::{error, info, warn};

use super::report::{
    ErrorReport, FileReport, InputReport, JobReport, Locations, NotificationReport, Outcome,
    PlotReport, StateRecord,
};
use super::{JobRequest, Services};
use crate::error::{Fault, JobError};
use crate::index::{Claim, ClaimOutcome, JobEnd, LedgerState};
use crate::layout;
use crate::model::FileCollection;
use crate::pipeline::Pipeline;
use crate::pipeline::handler::{self, Handler, HookContext};
use crate::source::Source;
use crate::store::{Key, PutOptions};

/// What every state shares: the services, the clock, the trail of states.
struct Job<'s> {
    services: &'s Services,
    request: JobRequest,
    job_id: String,
    started: Instant,
    started_at: DateTime<Utc>,
    states: Vec<StateRecord>,
    workdir: Option<tempfile::TempDir>,
    pipeline: Option<String>,
    claimed: bool,
    notes: Vec<String>,
    locations: Locations,
    notification: Option<NotificationReport>,
    plots: Vec<PlotReport>,
}

impl Job<'_> {
    /// Records reaching a state and logs it as one structured line.
    fn enter(&mut self, state: &'static str) {
        let elapsed_ms = self.started.elapsed().as_millis() as u64;
        self.states.push(StateRecord { state, elapsed_ms });
        info!(
            job_id = %self.job_id,
            pipeline = self.pipeline.as_deref().unwrap_or("-"),
            state,
            elapsed_ms,
            "state"
        );
    }

    fn last_state(&self) -> &'static str {
        self.states.last().map_or("Initial", |s| s.state)
    }

    fn source_uri(&self) -> String {
        match &self.request.source {
            Source::LocalFile(p) => crate::store::local::file_url(p),
            Source::Incoming(k) => self.services.incoming.url_of(k),
        }
    }
}

/// The upload, copied into the job's folder so nobody can change it under the job.
#[derive(Debug, Clone)]
struct Input {
    name: String,
    /// The key used for routing: the incoming key, or the file name of a local file.
    key: String,
    local_path: PathBuf,
    size: u64,
    sha256: String,
}

impl Input {
    fn report(&self) -> InputReport {
        InputReport {
            name: self.name.clone(),
            key: self.key.clone(),
            size: self.size,
            sha256: self.sha256.clone(),
            version: self.sha256.clone(),
        }
    }
}

/// An upload a pipeline has taken on.
struct Accepted<'s> {
    input: Input,
    pipeline: &'s Pipeline,
    handler: Box<dyn Handler>,
}

impl<'s> Accepted<'s> {
    /// The job stops on `error` with what it knows: the upload, its pipeline and its files.
    fn fail(self, job: &Job<'_>, error: JobError, files: FileCollection) -> State<'s> {
        fail(job, error, Some(self.input), Some(self.pipeline), files)
    }

    fn hook<'a>(&'a self, job: &'a Job<'_>) -> HookContext<'a> {
        HookContext {
            job_id: &job.job_id,
            pipeline: &self.pipeline.name,
            key: &self.input.key,
        }
    }
}

struct Initial;
struct Initialised<'s>(Accepted<'s>);
struct Resolved<'s>(Accepted<'s>, FileCollection);
struct Preprocessed<'s>(Accepted<'s>, FileCollection);
struct Checked<'s>(Accepted<'s>, FileCollection);
struct Processed<'s>(Accepted<'s>, FileCollection);
struct Published<'s>(Accepted<'s>, FileCollection);
struct Postprocessed<'s>(Accepted<'s>, FileCollection);
struct NotifiedSuccess<'s>(Accepted<'s>, FileCollection);

/// A job that stopped on an error, with whatever it had learnt so far.
struct Failed<'s> {
    error: JobError,
    /// The state reached before the error.
    at: &'static str,
    input: Option<Input>,
    pipeline: Option<&'s Pipeline>,
    files: FileCollection,
}

struct NotifiedError<'s>(Failed<'s>);

/// The upload was already ingested (or is being ingested by another job): nothing to do.
struct Duplicate {
    input: Option<Input>,
    of_job: Option<String>,
}

/// Another job holds a live claim on this upload: retry later (exit 75). Nothing is copied or
/// sent — the other job does that — and a Batch retry finds the upload done or free.
struct Deferred {
    input: Input,
    holder: String,
}

// Each state is moved once per transition, so boxing the larger ones would buy nothing.
#[allow(clippy::large_enum_variant)]
enum State<'s> {
    Initial(Initial),
    Initialised(Initialised<'s>),
    Resolved(Resolved<'s>),
    Preprocessed(Preprocessed<'s>),
    Checked(Checked<'s>),
    Processed(Processed<'s>),
    Published(Published<'s>),
    Postprocessed(Postprocessed<'s>),
    NotifiedSuccess(NotifiedSuccess<'s>),
    Failed(Failed<'s>),
    NotifiedError(NotifiedError<'s>),
    Duplicate(Duplicate),
    Deferred(Deferred),
    Completed(JobReport),
}

/// Runs the state machine to a completed report.
pub(super) async fn drive(services: &Services, request: JobRequest) -> JobReport {
    let mut job = Job {
        services,
        request,
        job_id: uuid::Uuid::now_v7().to_string(),
        started: Instant::now(),
        started_at: Utc::now(),
        states: Vec::new(),
        workdir: None,
        pipeline: None,
        claimed: false,
        notes: Vec::new(),
        locations: Locations::default(),
        notification: None,
        plots: Vec::new(),
    };
    job.enter("Initial");
    let mut state = State::Initial(Initial);
    loop {
        if crate::shutdown::requested() {
            state = state.interrupt(&job);
        }
        state = match state {
            State::Initial(s) => s.initialise(&mut job).await,
            State::Initialised(s) => s.resolve(&mut job).await,
            State::Resolved(s) => s.preprocess(&mut job).await,
            State::Preprocessed(s) => s.check(&mut job).await,
            State::Checked(s) => s.process(&mut job).await,
            State::Processed(s) => s.publish(&mut job).await,
            State::Published(s) => s.postprocess(&mut job).await,
            State::Postprocessed(s) => s.notify(&mut job).await,
            State::NotifiedSuccess(s) => s.complete(&mut job).await,
            State::Failed(s) => s.notify(&mut job).await,
            State::NotifiedError(s) => s.complete(&mut job).await,
            State::Duplicate(s) => s.complete(&mut job).await,
            State::Deferred(s) => s.complete(&mut job).await,
            State::Completed(report) => return report,
        };
    }
}

fn fail<'s>(
    job: &Job<'_>,
    error: JobError,
    input: Option<Input>,
    pipeline: Option<&'s Pipeline>,
    files: FileCollection,
) -> State<'s> {
    State::Failed(Failed {
        error,
        at: job.last_state(),
        input,
        pipeline,
        files,
    })
}

impl Initial {
    /// Fetches the upload into the job's folder, hashes it, routes it to its pipeline, claims it
    /// in the ledger and applies the pipeline's upload guards.
    async fn initialise<'s>(self, job: &mut Job<'s>) -> State<'s> {
        let services = job.services;
        let workdir = match tempfile::Builder::new().prefix("ocean-ingest-").tempdir_in(
            services
                .settings
                .work_dir
                .clone()
                .unwrap_or_else(std::env::temp_dir),
        ) {
            Ok(dir) => dir,
            Err(e) => {
                let err = JobError {
                    fault: Fault::Transient,
                    message: format!("cannot create the job's work folder: {e}"),
                    source: None,
                };
                return fail(job, err, None, None, FileCollection::default());
            }
        };
        let name = job.request.source.name().to_string();
        let local_path = workdir.path().join("upload").join(&name);
        job.workdir = Some(workdir);
        if let Err(e) = std::fs::create_dir_all(local_path.parent().expect("has a parent")) {
            return fail(
                job,
                JobError::internal(format!("cannot prepare the work folder: {e}")),
                None,
                None,
                FileCollection::default(),
            );
        }

        // The upload is hashed while it is copied into the job folder, never read a second time.
        let (key, size, sha256) = match &job.request.source {
            Source::LocalFile(path) => {
                let (from, to) = (path.clone(), local_path.clone());
                let copied = tokio::task::spawn_blocking(move || {
                    crate::digest::copy_file_hashed(&from, &to)
                })
                .await;
                match copied
                    .map_err(|e| e.to_string())
                    .and_then(|r| r.map_err(|e| e.to_string()))
                {
                    Ok((size, sha256)) => (name.clone(), size, sha256),
                    Err(e) => {
                        let err = JobError::usage(format!("cannot read {}: {e}", path.display()));
                        return fail(job, err, None, None, FileCollection::default());
                    }
                }
            }
            Source::Incoming(key) => match services.incoming.get_to_file(key, &local_path).await {
                Ok(info) => match info.sha256 {
                    Some(sha256) => (key.to_string(), info.size, sha256),
                    None => {
                        let err = JobError::internal(format!(
                            "the incoming store gave no SHA-256 for {key} (every backend must)"
                        ));
                        return fail(job, err, None, None, FileCollection::default());
                    }
                },
                Err(e) if e.is_not_found() => {
                    job.notes.push(format!(
                        "{} is no longer in the incoming store: it was already processed or removed; nothing to do",
                        services.incoming.url_of(key)
                    ));
                    return State::Duplicate(Duplicate {
                        input: None,
                        of_job: None,
                    });
                }
                Err(e) => {
                    let err = JobError::from_boundary(
                        format!("fetching {key} from the incoming store failed"),
                        e,
                    );
                    return fail(job, err, None, None, FileCollection::default());
                }
            },
        };
        let input = Input {
            name,
            key,
            local_path,
            size,
            sha256,
        };

        let pipelines = &services.pipelines;
        let pipeline = match &job.request.pipeline {
            Some(forced) => match pipelines.by_name(forced) {
                Some(p) => p,
                None => {
                    let known: Vec<&str> = pipelines
                        .pipelines
                        .iter()
                        .map(|p| p.name.as_str())
                        .collect();
                    let err = JobError::usage(format!(
                        "no pipeline named {forced} in {} (known: {})",
                        pipelines.origin,
                        known.join(", ")
                    ));
                    return fail(job, err, Some(input), None, FileCollection::default());
                }
            },
            None => match pipelines.route(&input.key) {
                Some(p) => p,
                None => {
                    let err = JobError::rejected(format!(
                        "no pipeline claims {}: its key matches no pipeline's keys pattern in {}",
                        input.key, pipelines.origin
                    ));
                    return fail(job, err, Some(input), None, FileCollection::default());
                }
            },
        };
        job.pipeline = Some(pipeline.name.clone());

        let now = Utc::now();
        let claim = Claim {
            source: job.source_uri(),
            source_version: input.sha256.clone(),
            job_id: job.job_id.clone(),
            pipeline: pipeline.name.clone(),
            now,
            lease_until: now
                + chrono::Duration::from_std(services.settings.lease)
                    .unwrap_or(chrono::Duration::hours(1)),
        };
        match services.index.claim(&claim).await {
            Ok(ClaimOutcome::Claimed { took_over }) => {
                job.claimed = true;
                if let Some(previous) = took_over {
                    job.notes.push(format!(
                        "took over from job {previous}, which did not finish"
                    ));
                }
            }
            Ok(ClaimOutcome::AlreadyDone { job_id, .. }) => {
                job.notes.push(format!(
                    "this version of the upload was already ingested by job {job_id}"
                ));
                return State::Duplicate(Duplicate {
                    input: Some(input),
                    of_job: Some(job_id),
                });
            }
            Ok(ClaimOutcome::InProgress { job_id, until }) => {
                job.notes.push(format!(
                    "job {job_id} is ingesting this upload (its claim holds until {until}); retry later"
                ));
                return State::Deferred(Deferred {
                    input,
                    holder: job_id,
                });
            }
            Err(e) => {
                let err = JobError::from_boundary("claiming the upload in the ledger failed", e);
                return fail(
                    job,
                    err,
                    Some(input),
                    Some(pipeline),
                    FileCollection::default(),
                );
            }
        }

        if let Err(reason) = pipeline.accepts_upload(&input.name) {
            return fail(
                job,
                JobError::rejected(reason),
                Some(input),
                Some(pipeline),
                FileCollection::default(),
            );
        }
        let Some(handler) = handler::by_name(&pipeline.handler) else {
            let err = JobError::internal(format!(
                "handler {} vanished after validation",
                pipeline.handler
            ));
            return fail(
                job,
                err,
                Some(input),
                Some(pipeline),
                FileCollection::default(),
            );
        };
        job.enter("Initialised");
        State::Initialised(Initialised(Accepted {
            input,
            pipeline,
            handler,
        }))
    }
}

impl<'s> Initialised<'s> {
    async fn resolve(self, job: &mut Job<'s>) -> State<'s> {
        let Initialised(acc) = self;
        let references = match &job.request.source {
            Source::Incoming(_) => {
                crate::resolve::References::Incoming(job.services.incoming.clone())
            }
            Source::LocalFile(path) => crate::resolve::References::Folder(
                path.parent().map_or_else(PathBuf::new, Path::to_path_buf),
            ),
        };
        let workdir = job
            .workdir
            .as_ref()
            .map_or_else(std::env::temp_dir, |d| d.path().join("resolved"));
        let ctx = crate::resolve::ResolveContext {
            pipeline: acc.pipeline,
            references,
            workdir,
        };
        let upload = crate::resolve::Upload {
            name: &acc.input.name,
            key: &acc.input.key,
            local_path: &acc.input.local_path,
            size: acc.input.size,
            sha256: &acc.input.sha256,
        };
        let resolved = crate::resolve::resolve(&ctx, upload)
            .await
            .and_then(|mut r| crate::resolve::assign_rules(acc.pipeline, &mut r.files).map(|()| r));
        match resolved {
            Ok(resolution) => {
                job.notes.extend(resolution.notes);
                job.enter("Resolved");
                State::Resolved(Resolved(acc, resolution.files))
            }
            Err(e) => acc.fail(job, e, FileCollection::default()),
        }
    }
}

impl<'s> Resolved<'s> {
    async fn preprocess(self, job: &mut Job<'s>) -> State<'s> {
        let Resolved(acc, mut files) = self;
        if let Err(e) = acc.handler.preprocess(&acc.hook(job), &mut files).await {
            return acc.fail(job, e, files);
        }
        job.enter("Preprocessed");
        State::Preprocessed(Preprocessed(acc, files))
    }
}

impl<'s> Preprocessed<'s> {
    /// Checks every file; one failure rejects the whole upload (all-or-nothing).
    async fn check(self, job: &mut Job<'s>) -> State<'s> {
        let Preprocessed(acc, files) = self;
        let params = crate::check::CheckParams {
            suites: acc.pipeline.checks.clone(),
            criteria: acc.pipeline.criteria,
            skip_checks: acc.pipeline.skip_checks.clone(),
            table_schema: None,
        };
        let pipeline = acc.pipeline.clone();
        let checked = tokio::task::spawn_blocking(move || {
            let mut files = files;
            for f in files.iter_mut().filter(|f| !f.is_deletion()) {
                let Some(path) = f.local_path.clone() else {
                    continue;
                };
                let params = crate::check::CheckParams {
                    table_schema: f
                        .rule
                        .and_then(|i| pipeline.rules.get(i))
                        .and_then(|r| pipeline.schema_for(r)),
                    ..params.clone()
                };
                let outcome = crate::check::check_file(&path, &f.name, f.check_type, &params);
                f.check_passed = Some(outcome.passed);
                f.check_log = outcome.log;
                let verdict = if outcome.passed { "passed" } else { "failed" };
                let check_type = f.check_type;
                f.record("Checked", format!("{check_type} check {verdict}"));
            }
            crate::process::extract_metadata(&mut files);
            files
        })
        .await;
        let files = match checked {
            Ok(files) => files,
            Err(e) => {
                let err = JobError::internal(format!("the check step crashed: {e}"));
                return acc.fail(job, err, FileCollection::default());
            }
        };
        let failed: Vec<String> = files
            .iter()
            .filter(|f| f.check_passed == Some(false))
            .map(|f| {
                format!(
                    "{} ({}: {})",
                    f.name,
                    f.check_type,
                    f.check_log.first().map_or("failed", String::as_str)
                )
            })
            .collect();
        if !failed.is_empty() {
            let total = files.iter().filter(|f| !f.is_deletion()).count();
            let err = JobError::rejected(format!(
                "{} of {total} file(s) failed their checks: {}",
                failed.len(),
                failed.join("; ")
            ));
            return acc.fail(job, err, files);
        }
        job.enter("Checked");
        State::Checked(Checked(acc, files))
    }
}

impl<'s> Checked<'s> {
    async fn process(self, job: &mut Job<'s>) -> State<'s> {
        let Checked(acc, mut files) = self;
        let set = &job.services.pipelines;
        if let Err(e) = crate::process::assign_paths(set, acc.pipeline, &acc.input.key, &mut files)
        {
            return acc.fail(job, e, files);
        }
        let services = job.services;
        if let Err(e) = crate::process::ownership::check_deletions(
            services.index.as_ref(),
            acc.pipeline,
            &files,
        )
        .await
        {
            return acc.fail(job, e, files);
        }
        if let Err(e) = crate::process::supersede::find_superseded(
            services.index.as_ref(),
            services.public.as_ref(),
            acc.pipeline,
            &mut files,
        )
        .await
        {
            return acc.fail(job, e, files);
        }
        if let Err(e) = acc.handler.process(&acc.hook(job), &mut files).await {
            return acc.fail(job, e, files);
        }
        job.enter("Processed");
        State::Processed(Processed(acc, files))
    }
}

impl<'s> Processed<'s> {
    async fn publish(self, job: &mut Job<'s>) -> State<'s> {
        let Processed(acc, mut files) = self;
        let source = job.source_uri();
        let request = crate::publish::PublishRequest {
            services: job.services,
            job_id: &job.job_id,
            pipeline: acc.pipeline,
            source: &source,
            source_version: &acc.input.sha256,
            upload_name: &acc.input.name,
            upload_path: &acc.input.local_path,
            upload_sha256: &acc.input.sha256,
        };
        match crate::publish::publish(&request, &mut files).await {
            Ok(publication) => {
                job.locations.archive = Some(publication.upload_archive_url);
                for w in publication.warnings {
                    warn!(job_id = %job.job_id, warning = %w, "publish settled with a warning");
                    job.notes.push(w);
                }
                job.enter("Published");
                State::Published(Published(acc, files))
            }
            Err(e) => acc.fail(job, e, files),
        }
    }
}

impl<'s> Published<'s> {
    /// Runs the handler's postprocess hook. The files are already public, so a hook error is
    /// reported to the data team but does not turn a publication into a failure.
    async fn postprocess(self, job: &mut Job<'s>) -> State<'s> {
        let Published(acc, mut files) = self;
        if let Err(e) = acc.handler.postprocess(&acc.hook(job), &mut files).await {
            warn!(job_id = %job.job_id, error = %e.detail(), "postprocess hook failed after publication");
            job.notes.push(format!(
                "postprocess hook failed after publication: {}",
                e.detail()
            ));
        }
        job.enter("Postprocessed");
        State::Postprocessed(Postprocessed(acc, files))
    }
}

impl<'s> Postprocessed<'s> {
    /// Draws quick looks of the published series and profiles, then tells the right people.
    async fn notify(self, job: &mut Job<'s>) -> State<'s> {
        let Postprocessed(acc, files) = self;
        let plots = crate::plot::for_published(
            &files,
            job.services.reports.as_ref(),
            &acc.pipeline.name,
            &job.job_id,
        )
        .await;
        job.notes.extend(plots.notes);
        job.plots = plots.reports;
        let draft = draft_report(job, Outcome::Published, Some(&acc.input), &files, None);
        send_notification(job, &draft, Some(acc.pipeline), &plots.inline).await;
        job.enter("NotifiedSuccess");
        State::NotifiedSuccess(NotifiedSuccess(acc, files))
    }
}

impl<'s> NotifiedSuccess<'s> {
    /// Stores the report, closes the ledger entry, removes the incoming object (its archive copy
    /// is confirmed) and clears earlier failures of the same name from the error store.
    async fn complete(self, job: &mut Job<'s>) -> State<'s> {
        let NotifiedSuccess(acc, files) = self;
        if let Source::Incoming(key) = &job.request.source {
            let key = key.clone();
            remove_incoming(job, &key).await;
        }
        clear_earlier_failures(job, &acc.pipeline.name, &acc.input.name).await;
        job.enter("CompletedSuccess");
        let report = draft_report(job, Outcome::Published, Some(&acc.input), &files, None);
        State::Completed(finalise(job, report, LedgerState::Succeeded, &acc.input.sha256).await)
    }
}

impl<'s> Failed<'s> {
    /// Keeps the upload safe in the error store, then tells the right people.
    async fn notify(self, job: &mut Job<'s>) -> State<'s> {
        let services = job.services;
        error!(
            job_id = %job.job_id,
            pipeline = job.pipeline.as_deref().unwrap_or("-"),
            fault = ?self.error.fault,
            state = self.at,
            error = %self.error.detail(),
            "job failed"
        );
        if let Some(input) = &self.input {
            let pipeline = self.pipeline.map_or(layout::UNROUTED, |p| p.name.as_str());
            match layout::error_copy(pipeline, &input.name, &job.job_id) {
                Ok(key) => {
                    let opts = PutOptions {
                        content_type: Some(crate::publish::content_type_for(&input.name).into()),
                        sha256: Some(input.sha256.clone()),
                    };
                    match services
                        .error
                        .put_file(&key, &input.local_path, &opts)
                        .await
                    {
                        Ok(_) => job.locations.error_copy = Some(services.error.url_of(&key)),
                        Err(e) => {
                            error!(job_id = %job.job_id, error = %e, "could not keep the upload in the error store");
                            job.notes
                                .push(format!("could not keep the upload in the error store: {e}"));
                        }
                    }
                }
                Err(e) => job
                    .notes
                    .push(format!("no error-store key for the upload: {e}")),
            }
        }
        let outcome = Outcome::of_fault(self.error.fault);
        let draft = draft_report(
            job,
            outcome,
            self.input.as_ref(),
            &self.files,
            Some((&self.error, self.at)),
        );
        send_notification(job, &draft, self.pipeline, &[]).await;
        job.enter("NotifiedError");
        State::NotifiedError(NotifiedError(self))
    }
}

impl<'s> NotifiedError<'s> {
    /// Stores the report and closes the ledger entry. The incoming object is removed only when its
    /// error-store copy exists and no retry will need it (a transient failure keeps it for Batch).
    async fn complete(self, job: &mut Job<'s>) -> State<'s> {
        let NotifiedError(failed) = self;
        let fault = failed.error.fault;
        if let Source::Incoming(key) = &job.request.source
            && fault != Fault::Transient
            && job.locations.error_copy.is_some()
        {
            let key = key.clone();
            remove_incoming(job, &key).await;
        }
        job.enter("CompletedError");
        let outcome = Outcome::of_fault(fault);
        let report = draft_report(
            job,
            outcome,
            failed.input.as_ref(),
            &failed.files,
            Some((&failed.error, failed.at)),
        );
        let state = if fault == Fault::Input {
            LedgerState::Rejected
        } else {
            LedgerState::Failed
        };
        let version = failed
            .input
            .as_ref()
            .map(|i| i.sha256.clone())
            .unwrap_or_default();
        State::Completed(finalise(job, report, state, &version).await)
    }
}

impl<'s> State<'s> {
    /// A stop was requested: a job that has not started publishing becomes a transient failure
    /// (its upload kept, its claim released for the retry); any later state runs to the end.
    fn interrupt(self, job: &Job<'_>) -> State<'s> {
        let stop = || {
            JobError {
            fault: Fault::Transient,
            message: "stopped by a stop signal (timeout, Spot reclaim or cancellation) before publishing; the upload will be retried".into(),
            source: None,
        }
        };
        let none = FileCollection::default;
        match self {
            State::Initial(_) => fail(job, stop(), None, None, none()),
            State::Initialised(Initialised(acc)) => acc.fail(job, stop(), none()),
            State::Resolved(Resolved(acc, files))
            | State::Preprocessed(Preprocessed(acc, files))
            | State::Checked(Checked(acc, files))
            | State::Processed(Processed(acc, files)) => acc.fail(job, stop(), files),
            other => other,
        }
    }
}

impl Deferred {
    async fn complete<'s>(self, job: &mut Job<'s>) -> State<'s> {
        job.enter("CompletedError");
        let error = JobError {
            fault: Fault::Transient,
            message: format!(
                "job {} holds a live claim on this upload; retry later",
                self.holder
            ),
            source: None,
        };
        let mut report = draft_report(
            job,
            Outcome::FailedTransient,
            Some(&self.input),
            &FileCollection::default(),
            Some((&error, "Initial")),
        );
        report.duplicate_of = Some(self.holder.clone());
        State::Completed(finalise(job, report, LedgerState::Failed, &self.input.sha256).await)
    }
}

impl Duplicate {
    /// Nothing to publish. An incoming object whose ingest already finished is removed once its
    /// archive copy from that job is confirmed.
    async fn complete<'s>(self, job: &mut Job<'s>) -> State<'s> {
        let services = job.services;
        if let (Source::Incoming(key), Some(prior), Some(input), Some(pipeline)) = (
            &job.request.source,
            &self.of_job,
            &self.input,
            &job.pipeline,
        ) {
            let key = key.clone();
            if let Ok(archived) = layout::archived_upload(pipeline, &input.name, prior)
                && let Ok(Some(_)) = services.archive.head(&archived).await
            {
                remove_incoming(job, &key).await;
            }
        }
        job.enter("CompletedSuccess");
        let mut report = draft_report(
            job,
            Outcome::Duplicate,
            self.input.as_ref(),
            &FileCollection::default(),
            None,
        );
        report.duplicate_of = self.of_job.clone();
        let version = self
            .input
            .as_ref()
            .map(|i| i.sha256.clone())
            .unwrap_or_default();
        State::Completed(finalise(job, report, LedgerState::Succeeded, &version).await)
    }
}

/// Builds the report as it stands.
fn draft_report(
    job: &Job<'_>,
    outcome: Outcome,
    input: Option<&Input>,
    files: &FileCollection,
    error: Option<(&JobError, &'static str)>,
) -> JobReport {
    let exit_code = error.map_or(0, |(e, _)| e.fault.exit_code().code());
    let mut locations = job.locations.clone();
    let pipeline = job.pipeline.as_deref().unwrap_or(layout::UNROUTED);
    if let Ok(key) = layout::job_report(pipeline, &job.job_id) {
        locations.report = Some(job.services.reports.url_of(&key));
    }
    JobReport {
        job_id: job.job_id.clone(),
        source: job.source_uri(),
        pipeline: job.pipeline.clone(),
        outcome,
        exit_code,
        started_at: job.started_at,
        finished_at: Utc::now(),
        duration_ms: job.started.elapsed().as_millis() as u64,
        input: input.map(Input::report),
        states: job.states.clone(),
        files: files.iter().map(FileReport::from).collect(),
        error: error.map(|(e, at)| ErrorReport {
            fault: e.fault,
            state: at,
            message: e.message.clone(),
            detail: e.detail(),
        }),
        duplicate_of: None,
        notes: job.notes.clone(),
        locations,
        notification: job.notification.clone(),
        plots: job.plots.clone(),
    }
}

/// Sends the job's notification with a few retries. A failure is recorded, never raised: it must
/// not undo or fail a publication.
async fn send_notification(
    job: &mut Job<'_>,
    draft: &JobReport,
    pipeline: Option<&Pipeline>,
    plots: &[crate::notify::compose::InlinePlot],
) {
    use crate::notify::{compose, deliver, recipients};
    let services = job.services;
    // A transient failure that Batch will retry is not news yet: the data team hears once, when the
    // last attempt fails too.
    if draft.outcome == Outcome::FailedTransient
        && let Some(attempt) = services.settings.attempt.filter(|a| a.will_retry())
    {
        job.notes.push(format!(
            "attempt {} of {} failed transiently: no notification; Batch retries the job",
            attempt.current, attempt.max
        ));
        return;
    }
    let (owners, success) = pipeline.map_or((&[][..], &[][..]), |p| {
        (&p.owners[..], &p.notify_success[..])
    });
    let ops = &services.settings.ops_email;
    let to = recipients::for_outcome(
        draft.outcome,
        job.request.uploader.as_deref(),
        owners,
        success,
        ops,
    );
    if to.is_empty() {
        job.notes
            .push("no recipients for this outcome: no notification sent".into());
        return;
    }
    let reply_to = recipients::reply_to(draft.outcome, owners, ops);
    let message = match compose::compose(
        draft,
        &services.settings.notify_from,
        to.clone(),
        reply_to,
        plots,
    ) {
        Ok(m) => m,
        Err(e) => {
            error!(job_id = %job.job_id, error = %e, "composing the notification failed");
            job.notification = Some(NotificationReport {
                recipients: to,
                error: Some(e),
                ..Default::default()
            });
            return;
        }
    };
    let report = deliver::deliver(
        services.notifier.as_ref(),
        &message,
        deliver::RetryPolicy::default(),
    )
    .await;
    job.notification = Some(report);
}

/// Removes the incoming object after its copy was confirmed elsewhere.
async fn remove_incoming(job: &mut Job<'_>, key: &Key) {
    // For good: no copy is kept for an undo (the archive or error store holds the upload).
    if let Err(e) = job.services.incoming.remove(key).await {
        warn!(job_id = %job.job_id, error = %e, "could not remove the incoming object");
        job.notes.push(format!(
            "could not remove {} from the incoming store: {e}",
            job.services.incoming.url_of(key)
        ));
    }
}

/// On success, earlier failed uploads of the same name are no longer needed in the error store.
async fn clear_earlier_failures(job: &mut Job<'_>, pipeline: &str, name: &str) {
    let store = &job.services.error;
    let prefix = layout::error_copies_prefix(pipeline, name);
    match store.list(&prefix).await {
        Ok(objects) => {
            for o in objects {
                // Only `<name>.<job id>`: never another file whose name merely starts the same.
                let rest = &o.key.as_str()[prefix.len()..];
                if rest.contains('.') || rest.contains('/') {
                    continue;
                }
                match store.remove(&o.key).await {
                    Ok(()) => {
                        job.notes.push(format!(
                            "removed earlier failed upload {}",
                            store.url_of(&o.key)
                        ));
                    }
                    Err(e) => job.notes.push(format!(
                        "could not remove earlier failed upload {}: {e}",
                        o.key
                    )),
                }
            }
        }
        Err(e) => job
            .notes
            .push(format!("could not list earlier failed uploads: {e}")),
    }
}

/// Stores the report and records the job's end in the ledger. Failures here are logged and noted
/// in the returned report; they do not change the outcome.
async fn finalise(
    job: &mut Job<'_>,
    mut report: JobReport,
    state: LedgerState,
    version: &str,
) -> JobReport {
    let services = job.services;
    report.finished_at = Utc::now();
    report.duration_ms = job.started.elapsed().as_millis() as u64;
    let end = JobEnd {
        job_id: job.job_id.clone(),
        source: report.source.clone(),
        source_version: version.to_string(),
        pipeline: report
            .pipeline
            .clone()
            .unwrap_or_else(|| layout::UNROUTED.to_string()),
        // A job that never claimed the upload (a duplicate, a deferral, a failure before the claim)
        // leaves the ledger to the job that holds it; only the job history records it.
        ledger_state: job.claimed.then_some(state),
        outcome: report.outcome.as_str().to_string(),
        started_at: report.started_at,
        finished_at: report.finished_at,
        report_url: report.locations.report.clone(),
    };
    if let Err(e) = services.index.finish(&end).await {
        error!(job_id = %job.job_id, error = %e, "could not record the job's end in the index");
        report
            .notes
            .push(format!("could not record the job's end in the index: {e}"));
    }
    let pipeline = report
        .pipeline
        .clone()
        .unwrap_or_else(|| layout::UNROUTED.to_string());
    match layout::job_report(&pipeline, &job.job_id) {
        Ok(key) => {
            let body = serde_json::to_vec_pretty(&report).unwrap_or_default();
            let opts = PutOptions {
                content_type: Some("application/json".into()),
                sha256: None,
            };
            if let Err(e) = services.reports.put_bytes(&key, body, &opts).await {
                error!(job_id = %job.job_id, error = %e, "could not store the job report");
                report
                    .notes
                    .push(format!("could not store the job report: {e}"));
                report.locations.report = None;
            }
        }
        Err(e) => report.notes.push(format!("no key for the job report: {e}")),
    }
    info!(job_id = %job.job_id, outcome = report.outcome.as_str(), exit_code = report.exit_code, duration_ms = report.duration_ms, "job finished");
    report
}
