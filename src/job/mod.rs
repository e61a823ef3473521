//! One job: the state machine that takes one upload from the incoming store to published (or to
//! the error store), and the services it runs against.

mod report;
mod states;

use std::sync::Arc;

pub use report::{
    ErrorReport, FileReport, InputReport, JobReport, Locations, NotificationReport, Outcome,
    PlotReport, StateRecord,
};

use crate::error::JobError;
use crate::events::results::ResultSink;
use crate::index::Index;
use crate::notify::Notifier;
use crate::pipeline::PipelineSet;
use crate::settings::Settings;
use crate::source::Source;
use crate::store::ObjectStore;

/// Every boundary a job talks to, built once per process from validated settings.
#[derive(Debug, Clone)]
pub struct Services {
    pub settings: Settings,
    pub pipelines: Arc<PipelineSet>,
    pub incoming: Arc<dyn ObjectStore>,
    pub archive: Arc<dyn ObjectStore>,
    pub public: Arc<dyn ObjectStore>,
    pub error: Arc<dyn ObjectStore>,
    pub reports: Arc<dyn ObjectStore>,
    pub index: Arc<dyn Index>,
    pub notifier: Arc<dyn Notifier>,
    /// Where each job's result event goes (an SQS queue), when configured.
    pub results: Option<Arc<dyn ResultSink>>,
    /// The process's AWS clients, when any boundary lives in AWS.
    pub aws: Option<crate::aws::Aws>,
}

impl Services {
    /// Opens every boundary the settings name. Fails before any job starts if one is unusable.
    pub async fn build(settings: Settings, pipelines: PipelineSet) -> Result<Services, JobError> {
        let aws = match crate::aws::needed(&settings) {
            true => Some(crate::aws::Aws::from_env(settings.transfer).await?),
            false => None,
        };
        let results = crate::events::results::open(&settings, aws.as_ref());
        let store = |name: &'static str, url: &crate::settings::BoundaryUrl| {
            let url = url.to_url();
            let aws = aws.as_ref();
            async move {
                crate::store::open(&url, aws)
                    .await
                    .map(Arc::from)
                    .map_err(|e| {
                        JobError::from_boundary(format!("cannot open the {name} store"), e)
                    })
            }
        };
        Ok(Services {
            incoming: store("incoming", &settings.incoming).await?,
            archive: store("archive", &settings.archive).await?,
            public: store("public", &settings.public).await?,
            error: store("error", &settings.error).await?,
            reports: store("reports", &settings.reports).await?,
            index: crate::index::open(&settings.index)
                .await
                .map(Arc::from)
                .map_err(|e| JobError::from_boundary("cannot open the index", e))?,
            notifier: crate::notify::open(&settings.notify, &settings.smtp)
                .await
                .map(Arc::from)
                .map_err(|e| JobError::from_boundary("cannot open the notifier", e))?,
            pipelines: Arc::new(pipelines),
            settings,
            results,
            aws,
        })
    }
}

/// What to ingest, and how.
#[derive(Debug, Clone)]
pub struct JobRequest {
    pub source: Source,
    /// Use this pipeline instead of routing by key.
    pub pipeline: Option<String>,
    /// The uploader's address, told about their upload where known.
    pub uploader: Option<String>,
}

/// Runs one job to completion, then sends its result event where one is configured. Never panics
/// on bad input and always returns a report; the exit code is in `report.exit_code`.
pub async fn run(services: &Services, request: JobRequest) -> JobReport {
    let mut report = states::drive(services, request).await;
    if let Some(sink) = &services.results {
        crate::events::results::deliver(sink.as_ref(), &mut report).await;
    }
    report
}
