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

pub fn by_name(name: &str) -> Option<Box<dyn Handler>> {
    match name {
        "default" => Some(Box::new(DefaultHandler)),
        _ => None,
    }
}
