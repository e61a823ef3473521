//! The boundaries a job talks to, opened once per process from validated settings.

use std::sync::Arc;

use crate::error::JobError;
use crate::index::Index;
use crate::notify::Notifier;
use crate::pipeline::PipelineSet;
use crate::queue::Queue;
use crate::settings::Settings;
use crate::store::{ObjectStore, StoreUrl};

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
    /// Where each job's result event goes, when anywhere.
    pub results: Option<Arc<dyn Queue>>,
    /// The process's AWS clients, when any boundary lives in AWS.
    pub aws: Option<crate::aws::Aws>,
}

impl Services {
    /// Opens every boundary the settings name. Fails before any job starts if one is unusable.
    pub async fn build(settings: Settings, pipelines: PipelineSet) -> Result<Services, JobError> {
        let aws = match settings.needs_aws() {
            true => Some(crate::aws::Aws::from_env(&settings.timeouts).await?),
            false => None,
        };
        Services::build_on(settings, pipelines, aws).await
    }

    /// As [`Services::build`], on AWS clients the process already built (to fetch its pipeline
    /// file): one set of clients per process.
    pub async fn build_on(
        settings: Settings,
        pipelines: PipelineSet,
        aws: Option<crate::aws::Aws>,
    ) -> Result<Services, JobError> {
        let store = |name: &'static str, url: &StoreUrl| {
            let (aws, transfer) = (aws.as_ref(), settings.transfer);
            let url = url.clone();
            async move {
                crate::store::open(&url, aws, transfer)
                    .await
                    .map(Arc::from)
                    .map_err(|e| {
                        JobError::from_boundary(format!("cannot open the {name} store"), e)
                    })
            }
        };
        let results = match &settings.results {
            Some(url) => Some(
                crate::queue::open(url, aws.as_ref())
                    .map(Arc::from)
                    .map_err(|e| JobError::from_boundary("cannot open the results queue", e))?,
            ),
            None => None,
        };
        Ok(Services {
            incoming: store("incoming", &settings.incoming).await?,
            archive: store("archive", &settings.archive).await?,
            public: store("public", &settings.public).await?,
            error: store("error", &settings.error).await?,
            reports: store("reports", &settings.reports).await?,
            index: crate::index::open(&settings.index, &settings.timeouts)
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
