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
        // The index is opened beside the stores and the notifier: a new SQLite index is built
        // and made durable on a blocking thread (milliseconds, the first job of a home waiting
        // on its fsyncs) while the local stores make their folders on this one. The three
        // openings each run to their end (the stores stop at the first that fails); then the
        // first failure in the order incoming … reports, index, notifier is the one told.
        let (index, stores, notifier) = tokio::join!(
            crate::index::open(&settings.index, &settings.timeouts),
            async {
                Ok::<_, JobError>([
                    store("incoming", &settings.incoming).await?,
                    store("archive", &settings.archive).await?,
                    store("public", &settings.public).await?,
                    store("error", &settings.error).await?,
                    store("reports", &settings.reports).await?,
                ])
            },
            crate::notify::open(&settings.notify, &settings.smtp),
        );
        let [incoming, archive, public, error, reports] = stores?;
        Ok(Services {
            incoming,
            archive,
            public,
            error,
            reports,
            index: index
                .map(Arc::from)
                .map_err(|e| JobError::from_boundary("cannot open the index", e))?,
            notifier: notifier
                .map(Arc::from)
                .map_err(|e| JobError::from_boundary("cannot open the notifier", e))?,
            pipelines: Arc::new(pipelines),
            settings,
            results,
            aws,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::settings::SettingsArgs;

    fn settings(home: &Path, change: impl FnOnce(&mut SettingsArgs)) -> Settings {
        let mut args = SettingsArgs::embedded(home.to_path_buf());
        change(&mut args);
        Settings::resolve(&args).unwrap()
    }

    async fn build(settings: Settings) -> Result<Services, JobError> {
        Services::build(settings, PipelineSet::load(None).unwrap()).await
    }

    #[tokio::test]
    async fn a_new_home_gets_its_index_and_every_store() {
        let home = tempfile::tempdir().unwrap();
        let services = build(settings(home.path(), |_| {})).await.unwrap();
        assert!(home.path().join("index.sqlite").is_file());
        for store in ["incoming", "archive", "public", "error", "reports"] {
            assert!(home.path().join(store).is_dir(), "{store} was not made");
        }
        assert!(services.index.location().ends_with("index.sqlite"));
        // The index answers: the boundary was opened, not just named.
        assert!(
            services
                .index
                .get("nothing/here.nc")
                .await
                .unwrap()
                .is_none()
        );
    }

    /// What building the services of a home fails with, when `change` points boundaries into
    /// `a-file`, a regular file in the home that nothing can be made under.
    async fn failure(change: impl FnOnce(&mut SettingsArgs, &Path)) -> JobError {
        let home = tempfile::tempdir().unwrap();
        let blocker = home.path().join("a-file");
        std::fs::write(&blocker, "not a folder").unwrap();
        build(settings(home.path(), |a| change(a, &blocker)))
            .await
            .unwrap_err()
    }

    fn index_under(a: &mut SettingsArgs, blocker: &Path) {
        a.index_url = Some(format!(
            "sqlite://{}",
            blocker.join("index.sqlite").display()
        ));
    }

    #[tokio::test]
    async fn an_unusable_index_is_told_before_any_job_with_its_place() {
        let err = failure(index_under).await;
        assert!(
            err.message.starts_with("cannot open the index"),
            "{}",
            err.message
        );
        assert!(err.detail().contains("a-file"), "{}", err.detail());
    }

    #[tokio::test]
    async fn opened_side_by_side_the_first_store_to_fail_is_still_the_one_told() {
        let err = failure(|a, blocker| {
            index_under(a, blocker);
            a.public_url = Some(blocker.join("public").display().to_string());
            a.reports_url = Some(blocker.join("reports").display().to_string());
        })
        .await;
        assert!(
            err.message.starts_with("cannot open the public store"),
            "{}",
            err.message
        );
    }
}
