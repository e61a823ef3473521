//! The few facilities that need code, not just configuration, hook in here: a `Handler` with
//! default no-op hooks, picked by name from the pipeline file.

use async_trait::async_trait;

use crate::error::JobError;
use crate::model::FileCollection;

/// What a hook may know about the job.
#[derive(Debug, Clone)]
pub struct HookContext<'a> {
    pub job_id: &'a str,
    pub pipeline: &'a str,
    pub key: &'a str,
}

/// Per-facility hooks around the built-in steps. Each may change the collection (add files, set
/// types or paths); an error rejects or fails the job like any other.
#[async_trait]
pub trait Handler: Send + Sync {
    fn name(&self) -> &'static str;

    /// After resolve, before check.
    async fn preprocess(
        &self,
        _ctx: &HookContext<'_>,
        _files: &mut FileCollection,
    ) -> Result<(), JobError> {
        Ok(())
    }

    /// After the built-in process step (paths, metadata) and before publish.
    async fn process(
        &self,
        _ctx: &HookContext<'_>,
        _files: &mut FileCollection,
    ) -> Result<(), JobError> {
        Ok(())
    }

    /// After publish, before notify.
    async fn postprocess(
        &self,
        _ctx: &HookContext<'_>,
        _files: &mut FileCollection,
    ) -> Result<(), JobError> {
        Ok(())
    }
}

impl std::fmt::Debug for dyn Handler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Handler({})", self.name())
    }
}

/// The handler every pipeline gets unless it names another: the built-in steps only.
pub struct DefaultHandler;

#[async_trait]
impl Handler for DefaultHandler {
    fn name(&self) -> &'static str {
        "default"
    }
}

/// Names a pipeline file may use in `handler = "…"`.
pub const NAMES: &[&str] = &["default"];

/// The handler a pipeline file names, looked up once when the file is validated.
pub fn by_name(name: &str) -> Option<std::sync::Arc<dyn Handler>> {
    match name {
        "default" => Some(std::sync::Arc::new(DefaultHandler)),
        _ => None,
    }
}
