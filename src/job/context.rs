//! What every state of a job shares: the services and the request, the job's id and clock, and
//! its log book (the states reached and the notes for the report). Nothing a step proves lives
//! here; that travels in the states.

use std::time::Instant;

use chrono::{DateTime, Utc};
use tracing::info;

use super::{JobRequest, Services};
use crate::error::JobError;
use crate::layout;
use crate::model::{FileCollection, Upload};
use crate::report::{
    ErrorReport, FileReport, JobReport, Locations, NotificationReport, Outcome, PlotReport,
    StateRecord,
};
use crate::source::Source;

pub(super) struct Job<'s> {
    pub services: &'s Services,
    pub request: JobRequest,
    pub id: String,
    /// The upload's URI, known before it is fetched.
    pub source: String,
    started: Instant,
    started_at: DateTime<Utc>,
    states: Vec<StateRecord>,
    /// Plain-language notes for the report (why a duplicate was skipped, what cleanup failed).
    pub notes: Vec<String>,
    /// When the harvest committed, once it has: the moment the upload became public.
    pub published_at: Option<DateTime<Utc>>,
    /// Past it, the job stops taking new steps.
    pub deadline: crate::deadline::Deadline,
}

/// What a report says beyond the job's log book: whatever the state that writes it knows.
#[derive(Default)]
pub(super) struct Known<'a> {
    pub upload: Option<&'a Upload>,
    pub pipeline: Option<&'a str>,
    pub files: Option<&'a FileCollection>,
    pub error: Option<(&'a JobError, &'static str)>,
    pub locations: Locations,
    pub notification: Option<&'a NotificationReport>,
    pub plots: &'a [PlotReport],
    pub duplicate_of: Option<&'a str>,
}

impl<'s> Job<'s> {
    pub fn start(services: &'s Services, request: JobRequest, id: String) -> Job<'s> {
        let source = match &request.source {
            Source::LocalFile(p) => crate::location::file_url(p),
            Source::Incoming(k) => services.incoming.url_of(k),
        };
        Job {
            services,
            request,
            id,
            source,
            started: Instant::now(),
            started_at: Utc::now(),
            states: Vec::new(),
            notes: Vec::new(),
            published_at: None,
            deadline: crate::deadline::Deadline::after(services.settings.job_deadline),
        }
    }

    /// Records reaching a state and logs it as one structured line.
    pub fn enter(&mut self, state: &'static str, pipeline: Option<&str>) {
        let elapsed_ms = self.started.elapsed().as_millis() as u64;
        self.states.push(StateRecord { state, elapsed_ms });
        info!(
            pipeline = pipeline.unwrap_or("-"),
            state, elapsed_ms, "state"
        );
    }

    /// The last state reached: where a failure happened.
    pub fn last_state(&self) -> &'static str {
        self.states.last().map_or("Initial", |s| s.state)
    }

    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// The report as it stands.
    pub fn report(&self, outcome: Outcome, known: Known<'_>) -> JobReport {
        let exit_code = known.error.map_or(0, |(e, _)| e.fault.exit_code().code());
        let mut locations = known.locations;
        let pipeline = known.pipeline.unwrap_or(layout::UNROUTED);
        if let Ok(key) = layout::job_report(pipeline, &self.id) {
            locations.report = Some(self.services.reports.url_of(&key));
        }
        JobReport {
            job_id: self.id.clone(),
            source: self.source.clone(),
            pipeline: known.pipeline.map(str::to_string),
            outcome,
            exit_code,
            started_at: self.started_at,
            finished_at: Utc::now(),
            duration_ms: self.elapsed_ms(),
            published_at: self.published_at,
            input: known.upload.cloned(),
            states: self.states.clone(),
            files: known
                .files
                .map(|f| f.iter().map(FileReport::from).collect())
                .unwrap_or_default(),
            error: known.error.map(|(e, at)| ErrorReport {
                fault: e.fault,
                state: at,
                message: e.message.clone(),
                detail: e.detail(),
            }),
            duplicate_of: known.duplicate_of.map(str::to_string),
            notes: self.notes.clone(),
            locations,
            notification: known.notification.cloned(),
            plots: known.plots.to_vec(),
        }
    }

    /// When the job started: templates see it as `now`.
    pub fn started_at(&self) -> DateTime<Utc> {
        self.started_at
    }

    pub fn elapsed_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }
}
