//! The job's state machine: one struct per state holding only what has been proven at that
//! point (a claim only intake makes, the work folder, files only the check step can call
//! checked, the publication), and one consuming transition each, so a state cannot be reused by
//! mistake. Transitions return `Result<Next, Failed>`; the driver turns a failure into the failure
//! path in one place.
//!
//! ```text
//! Initial → Initialised → Resolved → Preprocessed → Checked → Processed → Published
//!         → Postprocessed → NotifiedSuccess → CompletedSuccess
//! any ordered state --error--> (kept in the error store) → NotifiedError → CompletedError
//! Initial --already ingested--> CompletedSuccess (outcome duplicate)
//! Initial --claimed by another job--> CompletedError (retry later)
//! ```

// A job fails at most once and its failure is moved, never copied: boxing it would buy nothing.
#![allow(clippy::result_large_err)]

use std::path::{Path, PathBuf};

use tracing::{error, warn};

use super::ahead;
use super::checking::{self, CheckedFiles};
use super::context::{Job, Known};
use super::finish;
use super::intake::{self, Claimed, Fetched, LedgerAnswer, WorkDir};
use super::lease::JobPermit;
use super::recovery;
use super::telling;
use crate::error::{Fault, JobError};
use crate::index::LedgerState;
use crate::layout;
use crate::model::{FileCollection, Upload};
use crate::pipeline::Pipeline;
use crate::pipeline::handler::HookContext;
use crate::publish::Publication;
use crate::report::{JobReport, Locations, NotificationReport, Outcome, PlotReport};
use crate::source::Source;
use crate::store::staged::StagedCopies;

/// An upload a pipeline has taken on: what every state from `Initialised` on has proven.
struct Accepted<'s> {
    upload: Upload,
    pipeline: &'s Pipeline,
    claim: Claimed,
    work: WorkDir,
    /// The archive and public copies written beside the check, from a passed check until the
    /// publish waits for them and places them: the steps between go on while the copies reach
    /// the disk (each `fsync` of a new copy 0.4–2.8 ms here, longer than the check on an
    /// ordinary file). Dropped unfinished when the job stops before its publish, which stops the
    /// copies and removes them.
    ahead: Option<ahead::Ahead>,
    /// The upload's memo being opened since it was fetched, for the check.
    opened_ahead: Option<checking::OpenedAhead>,
}

impl<'s> Accepted<'s> {
    /// The job stops on `error` with what it knows: the upload, its pipeline, its claim and its
    /// files.
    fn fail(self, job: &Job<'_>, error: JobError, files: impl Into<FileCollection>) -> Failed<'s> {
        Failed {
            error,
            at: job.last_state(),
            upload: Some(self.upload),
            pipeline: Some(self.pipeline),
            claim: Some(self.claim),
            files: files.into(),
            _work: Some(self.work),
        }
    }

    /// Goes on with a step's result, or fails the job with what it knows.
    fn then<T, F: Into<FileCollection>>(
        self,
        job: &Job<'_>,
        files: F,
        result: Result<T, JobError>,
    ) -> Result<(Self, F, T), Failed<'s>> {
        match result {
            Ok(value) => Ok((self, files, value)),
            Err(e) => Err(self.fail(job, e, files)),
        }
    }

    fn hook<'a>(&'a self, job: &'a Job<'_>) -> HookContext<'a> {
        HookContext {
            job_id: &job.id,
            pipeline: self.pipeline,
            upload: &self.upload,
            public: job.services.public.as_ref(),
            now: job.started_at(),
            work_dir: self.work.path().join("handler"),
        }
    }

    fn name(&self) -> Option<&str> {
        Some(&self.pipeline.name)
    }
}

struct Initial;

struct Initialised<'s>(Accepted<'s>);

struct Resolved<'s> {
    acc: Accepted<'s>,
    files: FileCollection,
}

struct Preprocessed<'s> {
    acc: Accepted<'s>,
    files: FileCollection,
}

struct Checked<'s> {
    acc: Accepted<'s>,
    files: CheckedFiles,
}

/// Checked files with their destinations assigned and validated, and what they supersede found.
struct Processed<'s> {
    acc: Accepted<'s>,
    files: CheckedFiles,
}

struct Published<'s> {
    acc: Accepted<'s>,
    files: CheckedFiles,
    publication: Publication,
}

struct Postprocessed<'s> {
    acc: Accepted<'s>,
    files: CheckedFiles,
    publication: Publication,
}

/// What telling people produced: the notification and the quick looks it showed.
#[derive(Default)]
struct Told {
    notification: Option<NotificationReport>,
    plots: Vec<PlotReport>,
}

struct NotifiedSuccess<'s> {
    acc: Accepted<'s>,
    files: CheckedFiles,
    publication: Publication,
    told: Told,
}

/// A job that stopped on an error, with whatever it had proven so far.
struct Failed<'s> {
    error: JobError,
    /// The state reached before the error.
    at: &'static str,
    upload: Option<Upload>,
    pipeline: Option<&'s Pipeline>,
    /// Held when the job claimed the upload: then the job's end moves the ledger.
    claim: Option<Claimed>,
    files: FileCollection,
    /// Kept until the end: the upload's copy in it goes to the error store.
    _work: Option<WorkDir>,
}

impl<'s> Failed<'s> {
    /// A failure before the upload was taken on.
    fn early(job: &Job<'_>, error: JobError) -> Failed<'s> {
        Failed {
            error,
            at: job.last_state(),
            upload: None,
            pipeline: None,
            claim: None,
            files: FileCollection::default(),
            _work: None,
        }
    }

    fn name(&self) -> Option<&str> {
        self.pipeline.map(|p| p.name.as_str())
    }
}

/// A failed job whose upload was copied to the error store (where the copy could be made).
struct Kept<'s> {
    failed: Failed<'s>,
    error_copy: Option<String>,
}

struct NotifiedError<'s> {
    kept: Kept<'s>,
    notification: Option<NotificationReport>,
}

/// The upload was already ingested (or is no longer there): nothing to do.
struct Duplicate<'s> {
    upload: Option<Upload>,
    pipeline: Option<&'s Pipeline>,
    of_job: Option<String>,
}

/// Another job holds a live claim on this upload: retry later (exit 75). Nothing is copied or
/// sent — the other job does that — and a Batch retry finds the upload done or free.
struct Deferred<'s> {
    upload: Upload,
    pipeline: &'s Pipeline,
    holder: String,
}

/// Where intake leaves a job.
enum Intake<'s> {
    Accepted(Initialised<'s>),
    Duplicate(Duplicate<'s>),
    Deferred(Deferred<'s>),
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
    Duplicate(Duplicate<'s>),
    Deferred(Deferred<'s>),
}

/// Runs the state machine to a completed report.
pub(super) async fn drive(job: &mut Job<'_>) -> JobReport {
    job.enter("Initial", None);
    let mut state = State::Initial(Initial);
    loop {
        if let Some(why) = state.must_stop(job) {
            state = state.interrupt(job, why);
        }
        let next = match state {
            State::Initial(s) => s.initialise(job).await.map(|intake| match intake {
                Intake::Accepted(s) => State::Initialised(s),
                Intake::Duplicate(s) => State::Duplicate(s),
                Intake::Deferred(s) => State::Deferred(s),
            }),
            State::Initialised(s) => s.resolve(job).await.map(State::Resolved),
            State::Resolved(s) => s.preprocess(job).await.map(State::Preprocessed),
            State::Preprocessed(s) => s.check(job).await.map(State::Checked),
            State::Checked(s) => s.process(job).await.map(State::Processed),
            State::Processed(s) => s.publish(job).await.map(State::Published),
            State::Published(s) => Ok(State::Postprocessed(s.postprocess(job).await)),
            State::Postprocessed(s) => Ok(State::NotifiedSuccess(s.notify(job).await)),
            State::Failed(s) => {
                let kept = s.keep_upload(job).await;
                Ok(State::NotifiedError(kept.notify(job).await))
            }
            State::NotifiedSuccess(s) => return s.complete(job).await,
            State::NotifiedError(s) => return s.complete(job).await,
            State::Duplicate(s) => return s.complete(job).await,
            State::Deferred(s) => return s.complete(job).await,
        };
        // The one place where a failed step turns into the failure path.
        state = next.unwrap_or_else(State::Failed);
    }
}

impl Initial {
    /// Intake, step by step: the work folder, the upload fetched into it and hashed, its
    /// pipeline, the claim in the ledger, the pipeline's upload guards.
    async fn initialise<'s>(self, job: &mut Job<'s>) -> Result<Intake<'s>, Failed<'s>> {
        let work = intake::work_folder(job).map_err(|e| Failed::early(job, e))?;
        let upload = match intake::fetch(job, &work).await {
            Ok(Fetched::Upload(upload)) => upload,
            Ok(Fetched::Gone) => {
                // Nothing to ingest, but the pipeline's debris is as much this job's to clear.
                let services = job.services;
                let routed = match &job.request.source {
                    Source::Incoming(key) => services.pipelines.route(key.as_str()),
                    Source::LocalFile(_) => None,
                };
                if let Some(pipeline) = routed {
                    recovery::sweep(job, pipeline).await;
                }
                let gone = job.source.clone();
                job.note(format!(
                    "{gone} is no longer in the incoming store: it was already processed or removed; nothing to do"
                ));
                return Ok(Intake::Duplicate(Duplicate {
                    upload: None,
                    pipeline: None,
                    of_job: None,
                }));
            }
            Err(e) => return Err(Failed::early(job, e)),
        };
        // Before the claim, a failure knows the upload (kept in the work folder until the error
        // store has a copy) and perhaps its pipeline.
        let failed = |job: &Job<'_>, error, upload, pipeline, work| Failed {
            upload: Some(upload),
            pipeline,
            _work: Some(work),
            ..Failed::early(job, error)
        };
        let pipeline = match intake::route(job, &upload) {
            Ok(p) => p,
            Err(e) => return Err(failed(job, e, upload, None, work)),
        };
        tracing::Span::current().record("pipeline", pipeline.name.as_str());
        let opened_ahead = checking::open_ahead(pipeline, &upload);
        let claimed = intake::claim(job, &upload, pipeline, &work).await;
        // After the claim: a job this one waited for and took over from is provably gone now.
        if claimed.is_ok() {
            recovery::sweep(job, pipeline).await;
        }
        let claim = match claimed {
            Ok(LedgerAnswer::Claimed(claim)) => claim,
            Ok(LedgerAnswer::AlreadyDone { job_id }) => {
                recovery::settle_published(job, &upload.source, &upload.version).await;
                return Ok(Intake::Duplicate(Duplicate {
                    upload: Some(upload),
                    pipeline: Some(pipeline),
                    of_job: Some(job_id),
                }));
            }
            Ok(LedgerAnswer::InProgress { job_id }) => {
                return Ok(Intake::Deferred(Deferred {
                    upload,
                    pipeline,
                    holder: job_id,
                }));
            }
            Err(e) => return Err(failed(job, e, upload, Some(pipeline), work)),
        };
        let acc = Accepted {
            upload,
            pipeline,
            claim,
            work,
            ahead: None,
            opened_ahead,
        };
        // A publish the previous holder left unfinished is undone before anything else.
        let recovered = recovery::take_over(job, &acc.upload.source, &acc.upload.version).await;
        let (acc, _, ()) = acc.then(job, FileCollection::default(), recovered)?;
        let guarded = intake::guard(acc.pipeline, &acc.upload);
        let (acc, _, ()) = acc.then(job, FileCollection::default(), guarded)?;
        job.enter("Initialised", acc.name());
        Ok(Intake::Accepted(Initialised(acc)))
    }
}

impl<'s> Initialised<'s> {
    /// Resolves the upload into its files and gives each its rule.
    async fn resolve(self, job: &mut Job<'s>) -> Result<Resolved<'s>, Failed<'s>> {
        let Initialised(acc) = self;
        let references = match &job.request.source {
            Source::Incoming(_) => {
                crate::resolve::References::Incoming(job.services.incoming.clone())
            }
            Source::LocalFile(path) => crate::resolve::References::Folder(
                path.parent().map_or_else(PathBuf::new, Path::to_path_buf),
            ),
        };
        let room = crate::resolve::unpack::WorkRoom::of(
            acc.work.path(),
            job.services.settings.work_max_bytes,
            acc.upload.size,
        );
        let ctx = crate::resolve::ResolveContext {
            pipeline: acc.pipeline,
            references,
            workdir: acc.work.path().join("resolved"),
            room,
        };
        let resolved = crate::resolve::resolve(&ctx, &acc.upload)
            .await
            .and_then(|mut r| {
                let (key, now) = (&acc.upload.key, job.started_at());
                let whole = crate::pipeline::whole::place_whole_upload(
                    acc.pipeline,
                    &acc.upload,
                    now,
                    &mut r.files,
                )?;
                if !whole {
                    crate::resolve::assign_rules(acc.pipeline, key, now, &mut r.files)?;
                }
                Ok(r)
            });
        let (acc, _, resolution) = acc.then(job, FileCollection::default(), resolved)?;
        job.notes.extend(resolution.notes);
        job.enter("Resolved", acc.name());
        Ok(Resolved {
            acc,
            files: resolution.files,
        })
    }
}

impl<'s> Resolved<'s> {
    async fn preprocess(self, job: &mut Job<'s>) -> Result<Preprocessed<'s>, Failed<'s>> {
        let Resolved { acc, mut files } = self;
        let hooked = acc
            .pipeline
            .handler
            .preprocess(&acc.hook(job), &mut files)
            .await
            .and_then(|()| crate::resolve::require_placed(acc.pipeline, &files));
        let (acc, files, ()) = acc.then(job, files, hooked)?;
        job.enter("Preprocessed", acc.name());
        Ok(Preprocessed { acc, files })
    }
}

impl<'s> Preprocessed<'s> {
    /// Checks every file; one failure rejects the whole upload (all-or-nothing).
    async fn check(self, job: &mut Job<'s>) -> Result<Checked<'s>, Failed<'s>> {
        let Preprocessed { mut acc, files } = self;
        // Dropped unfinished on a rejection, which stops the copies and removes them.
        let ahead = ahead::start(job.services, &acc.upload, &files);
        match checking::check(acc.pipeline, files, acc.opened_ahead.take()).await {
            Ok(mut files) => {
                files.draw_ahead(job.services.reports.clone());
                acc.ahead = Some(ahead);
                job.enter("Checked", acc.name());
                Ok(Checked { acc, files })
            }
            Err((e, files)) => Err(acc.fail(job, e, files)),
        }
    }
}

impl<'s> Checked<'s> {
    /// Runs the handler's hook (and checks what it adds), then places every file (destination
    /// and archive paths, validated), finds what each new file supersedes, refuses any path
    /// outside the pipeline's writes or owned by another pipeline and any destination that would
    /// turn a published file into a folder or back. Nothing is written before this step is done.
    async fn process(self, job: &mut Job<'s>) -> Result<Processed<'s>, Failed<'s>> {
        let Checked { acc, mut files } = self;
        let hooked = acc
            .pipeline
            .handler
            .process(&acc.hook(job), files.files_mut())
            .await;
        let (acc, mut files, ()) = acc.then(job, files, hooked)?;
        let derived = crate::process::derive::derive(
            acc.pipeline,
            &acc.upload.key,
            job.started_at(),
            acc.work.path(),
            files.files_mut(),
        )
        .await;
        let (acc, files, ()) = acc.then(job, files, derived)?;
        let mut files = match checking::check_added(acc.pipeline, files).await {
            Ok(files) => files,
            Err((e, files)) => return Err(acc.fail(job, e, files)),
        };
        let services = job.services;
        let placed = crate::process::assign_paths(
            acc.pipeline,
            &acc.upload.key,
            job.started_at(),
            files.files_mut(),
        );
        let (acc, mut files, ()) = acc.then(job, files, placed)?;
        let superseded = crate::process::supersede::find_superseded(
            services.index.as_ref(),
            services.public.as_ref(),
            acc.pipeline,
            files.files_mut(),
        )
        .await;
        let (acc, mut files, ()) = acc.then(job, files, superseded)?;
        let versions = crate::process::published::apply(
            services.index.as_ref(),
            services.public.as_ref(),
            acc.pipeline,
            &acc.upload.key,
            job.started_at(),
            acc.work.path(),
            files.files_mut(),
        )
        .await;
        let (acc, files, ()) = acc.then(job, files, versions)?;
        let owned =
            crate::process::ownership::check(services.index.as_ref(), acc.pipeline, files.files())
                .await;
        let (acc, files, ()) = acc.then(job, files, owned)?;
        let fits = crate::process::placement::check(
            services.public.as_ref(),
            services.archive.as_ref(),
            files.files(),
        )
        .await;
        let (acc, files, ()) = acc.then(job, files, fits)?;
        job.enter("Processed", acc.name());
        Ok(Processed { acc, files })
    }
}

impl<'s> Processed<'s> {
    /// Publishes all or nothing: archive, public store and index, handed only those.
    async fn publish(self, job: &mut Job<'s>) -> Result<Published<'s>, Failed<'s>> {
        let Processed { mut acc, mut files } = self;
        let staged = std::sync::Mutex::new(match acc.ahead.take() {
            Some(ahead) => ahead.finish().await,
            None => StagedCopies::default(),
        });
        let services = job.services;
        let permit = JobPermit {
            lease: acc.claim.lease.clone(),
            deadline: job.deadline,
        };
        let request = crate::publish::PublishRequest {
            targets: crate::publish::Targets {
                archive: services.archive.as_ref(),
                public: services.public.as_ref(),
                index: services.index.as_ref(),
            },
            job_id: &job.id,
            pipeline: acc.pipeline,
            upload: &acc.upload,
            permit: &permit,
            staged: &staged,
        };
        let published = crate::publish::publish(&request, files.files_mut()).await;
        let (acc, files, publication) = acc.then(job, files, published)?;
        job.published_at = Some(chrono::Utc::now());
        for w in &publication.warnings {
            warn!(warning = %w, "publish settled with a warning");
            job.note(w.clone());
        }
        job.enter("Published", acc.name());
        Ok(Published {
            acc,
            files,
            publication,
        })
    }
}

impl<'s> Published<'s> {
    /// Runs the handler's postprocess hook. The files are already public, so a hook error is
    /// reported to the data team but does not turn a publication into a failure.
    async fn postprocess(self, job: &mut Job<'s>) -> Postprocessed<'s> {
        let Published {
            acc,
            mut files,
            publication,
        } = self;
        let hooked = acc
            .pipeline
            .handler
            .postprocess(&acc.hook(job), files.files_mut())
            .await;
        if let Err(e) = hooked {
            warn!(error = %e.detail(), "postprocess hook failed after publication");
            job.note(format!(
                "postprocess hook failed after publication: {}",
                e.detail()
            ));
        }
        job.enter("Postprocessed", acc.name());
        Postprocessed {
            acc,
            files,
            publication,
        }
    }
}

impl<'s> Postprocessed<'s> {
    /// Draws quick looks of the published series and profiles, then tells the right people.
    async fn notify(self, job: &mut Job<'s>) -> NotifiedSuccess<'s> {
        let Postprocessed {
            mut acc,
            mut files,
            publication,
        } = self;
        let looks = files.take_looks();
        let plots = crate::plot::for_published(
            files.files(),
            files.memos(),
            looks,
            job.services.reports.as_ref(),
            &acc.pipeline.name,
            &job.id,
        )
        .await;
        // The quick looks were the last to read the work folder and its files.
        acc.work.remove_ahead(files.take_memos());
        job.notes.extend(plots.notes);
        let draft = job.report(
            Outcome::Published,
            Known {
                upload: Some(&acc.upload),
                pipeline: acc.name(),
                files: Some(files.files()),
                locations: published_at(&publication),
                plots: &plots.reports,
                ..Known::default()
            },
        );
        let notification = telling::tell(job, &draft, Some(acc.pipeline), &plots.inline).await;
        job.enter("NotifiedSuccess", acc.name());
        NotifiedSuccess {
            acc,
            files,
            publication,
            told: Told {
                notification,
                plots: plots.reports,
            },
        }
    }
}

fn published_at(publication: &Publication) -> Locations {
    Locations {
        archive: Some(publication.upload_archive_url.clone()),
        ..Locations::default()
    }
}

impl NotifiedSuccess<'_> {
    /// Removes the incoming object (its archive copy is confirmed), clears earlier failures of the
    /// same name from the error store, then closes the ledger entry and stores the report.
    async fn complete(self, job: &mut Job<'_>) -> JobReport {
        let NotifiedSuccess {
            mut acc,
            files,
            publication,
            told,
        } = self;
        if let Source::Incoming(key) = &job.request.source {
            let key = key.clone();
            finish::remove_incoming(job, &key).await;
        }
        finish::clear_earlier_failures(job, &acc.pipeline.name, &acc.upload.name).await;
        job.enter("CompletedSuccess", acc.name());
        let report = job.report(
            Outcome::Published,
            Known {
                upload: Some(&acc.upload),
                pipeline: acc.name(),
                files: Some(files.files()),
                locations: published_at(&publication),
                notification: told.notification.as_ref(),
                plots: &told.plots,
                ..Known::default()
            },
        );
        let (claim, version) = (Some(&acc.claim), &acc.upload.version);
        let report = finish::finalise(job, report, claim, LedgerState::Succeeded, version).await;
        acc.work.removed().await;
        report
    }
}

impl<'s> Failed<'s> {
    /// Keeps the upload safe in the error store, where the job got far enough to have it.
    async fn keep_upload(self, job: &mut Job<'s>) -> Kept<'s> {
        error!(
            pipeline = self.name().unwrap_or("-"),
            fault = ?self.error.fault,
            state = self.at,
            error = %self.error.detail(),
            "job failed"
        );
        let error_copy = match &self.upload {
            Some(upload) => finish::keep_in_error_store(job, upload, self.name()).await,
            None => None,
        };
        let mut failed = self;
        // A rejection (or any final failure) removes the upload from incoming, so it is final
        // only once the upload is safe in the error store; otherwise Batch retries the job.
        if error_copy.is_none()
            && failed.upload.is_some()
            && failed.error.fault != Fault::Transient
            && matches!(job.request.source, Source::Incoming(_))
        {
            let final_error =
                std::mem::replace(&mut failed.error, JobError::internal(String::new()));
            failed.error = JobError {
                fault: Fault::Transient,
                message: format!(
                    "{}; the upload could not be kept in the error store, so it stays in incoming and the job will be retried",
                    final_error.message
                ),
                source: final_error.source,
            };
        }
        Kept { failed, error_copy }
    }
}

impl<'s> Kept<'s> {
    fn known(&self) -> Known<'_> {
        let f = &self.failed;
        Known {
            upload: f.upload.as_ref(),
            pipeline: f.name(),
            files: Some(&f.files),
            error: Some((&f.error, f.at)),
            locations: Locations {
                error_copy: self.error_copy.clone(),
                ..Locations::default()
            },
            ..Known::default()
        }
    }

    /// Tells the right people what went wrong.
    async fn notify(self, job: &mut Job<'s>) -> NotifiedError<'s> {
        let draft = job.report(Outcome::of_fault(self.failed.error.fault), self.known());
        let notification = telling::tell(job, &draft, self.failed.pipeline, &[]).await;
        job.enter("NotifiedError", self.failed.name());
        NotifiedError {
            kept: self,
            notification,
        }
    }
}

impl NotifiedError<'_> {
    /// Stores the report and closes the ledger entry. The incoming object is removed only when its
    /// error-store copy exists and no retry will need it (a transient failure keeps it for Batch).
    async fn complete(self, job: &mut Job<'_>) -> JobReport {
        let fault = self.kept.failed.error.fault;
        if let Source::Incoming(key) = &job.request.source
            && fault != Fault::Transient
            && self.kept.error_copy.is_some()
        {
            let key = key.clone();
            finish::remove_incoming(job, &key).await;
        }
        job.enter("CompletedError", self.kept.failed.name());
        let report = job.report(
            Outcome::of_fault(fault),
            Known {
                notification: self.notification.as_ref(),
                ..self.kept.known()
            },
        );
        let state = if fault == Fault::Input {
            LedgerState::Rejected
        } else {
            LedgerState::Failed
        };
        let failed = &self.kept.failed;
        let version = failed.upload.as_ref().map_or("", |u| u.version.as_str());
        finish::finalise(job, report, failed.claim.as_ref(), state, version).await
    }
}

impl<'s> State<'s> {
    /// Why a job that has not started publishing must stop now, if it must: a stop signal, its
    /// deadline, or a claim it can no longer prove.
    fn must_stop(&self, job: &Job<'_>) -> Option<String> {
        if crate::shutdown::requested() {
            return Some("stopped by a stop signal (timeout, Spot reclaim or cancellation) before publishing; the upload will be retried".into());
        }
        if job.deadline.passed() {
            return Some(job.deadline.message("before publishing"));
        }
        let acc = match self {
            State::Initialised(Initialised(acc)) => acc,
            State::Resolved(Resolved { acc, .. })
            | State::Preprocessed(Preprocessed { acc, .. }) => acc,
            State::Checked(Checked { acc, .. }) | State::Processed(Processed { acc, .. }) => acc,
            _ => return None,
        };
        acc.claim.lease.check().err().map(|e| e.message)
    }

    /// A job that has not started publishing becomes a transient failure (its upload kept, its
    /// claim released for the retry); any later state runs to the end.
    fn interrupt(self, job: &Job<'_>, why: String) -> State<'s> {
        let stop = || JobError {
            fault: Fault::Transient,
            message: why.clone(),
            source: None,
        };
        let none = FileCollection::default;
        State::Failed(match self {
            State::Initial(_) => Failed::early(job, stop()),
            State::Initialised(Initialised(acc)) => acc.fail(job, stop(), none()),
            State::Resolved(Resolved { acc, files })
            | State::Preprocessed(Preprocessed { acc, files }) => acc.fail(job, stop(), files),
            State::Checked(Checked { acc, files }) | State::Processed(Processed { acc, files }) => {
                acc.fail(job, stop(), files)
            }
            other => return other,
        })
    }
}

impl Deferred<'_> {
    async fn complete(self, job: &mut Job<'_>) -> JobReport {
        job.enter("CompletedError", Some(&self.pipeline.name));
        let error = JobError {
            fault: Fault::Transient,
            message: format!(
                "job {} holds a live claim on this upload; retry later",
                self.holder
            ),
            source: None,
        };
        let report = job.report(
            Outcome::FailedTransient,
            Known {
                upload: Some(&self.upload),
                pipeline: Some(&self.pipeline.name),
                error: Some((&error, "Initial")),
                duplicate_of: Some(&self.holder),
                ..Known::default()
            },
        );
        let version = &self.upload.version;
        finish::finalise(job, report, None, LedgerState::Failed, version).await
    }
}

impl Duplicate<'_> {
    /// Nothing to publish. An incoming object whose ingest already finished is removed once its
    /// archive copy from that job is confirmed.
    async fn complete(self, job: &mut Job<'_>) -> JobReport {
        let pipeline = self.pipeline.map(|p| p.name.as_str());
        if let (Source::Incoming(key), Some(prior), Some(upload), Some(pipeline)) =
            (&job.request.source, &self.of_job, &self.upload, pipeline)
        {
            let key = key.clone();
            if let Ok(archived) = layout::archived_upload(pipeline, &upload.name, prior)
                && let Ok(Some(_)) = job.services.archive.head(&archived).await
            {
                finish::remove_incoming(job, &key).await;
            }
        }
        job.enter("CompletedSuccess", pipeline);
        let report = job.report(
            Outcome::Duplicate,
            Known {
                upload: self.upload.as_ref(),
                pipeline,
                duplicate_of: self.of_job.as_deref(),
                ..Known::default()
            },
        );
        let version = self.upload.as_ref().map_or("", |u| u.version.as_str());
        finish::finalise(job, report, None, LedgerState::Succeeded, version).await
    }
}
