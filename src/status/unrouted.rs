//! Incoming objects that no pipeline routes. No job takes such an upload on (in production no
//! stream's notification names its folder, or no pipeline's keys pattern matches its key), so
//! without this list it waits in the incoming store unseen.

use std::fmt::Write;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::pipeline::PipelineSet;
use crate::store::{ObjectStore, StoreError};

/// An incoming object whose key routes to no pipeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnroutedObject {
    pub key: String,
    pub size: u64,
    /// When it arrived, where the store says.
    pub modified: Option<DateTime<Utc>>,
    /// How long it has waited.
    pub waiting_seconds: Option<f64>,
}

/// What a look through the incoming store found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unrouted {
    /// The incoming store (and the prefix looked under).
    pub incoming: String,
    /// The pipeline file the keys were routed with.
    pub pipelines: String,
    /// Objects looked at.
    pub listed: usize,
    /// Those no pipeline routes, oldest first.
    pub unrouted: Vec<UnroutedObject>,
}

/// Lists the incoming store under `prefix` and routes every key as a job would.
pub async fn find(
    incoming: &dyn ObjectStore,
    pipelines: &PipelineSet,
    prefix: &str,
    now: DateTime<Utc>,
) -> Result<Unrouted, StoreError> {
    let objects = incoming.list(prefix).await?;
    let listed = objects.len();
    let mut unrouted: Vec<UnroutedObject> = objects
        .into_iter()
        .filter(|o| pipelines.route(o.key.as_str()).is_none())
        .map(|o| UnroutedObject {
            key: o.key.to_string(),
            size: o.size,
            waiting_seconds: o
                .modified
                .map(|t| (now - t).num_milliseconds().max(0) as f64 / 1000.0),
            modified: o.modified,
        })
        .collect();
    unrouted.sort_by(|a, b| a.modified.cmp(&b.modified).then(a.key.cmp(&b.key)));
    Ok(Unrouted {
        incoming: format!("{}/{prefix}", incoming.location().trim_end_matches('/')),
        pipelines: pipelines.origin.clone(),
        listed,
        unrouted,
    })
}

/// The list for a person at a terminal.
pub fn render(u: &Unrouted) -> String {
    let mut out = format!(
        "{} of {} object(s) in {} route to no pipeline of {}\n",
        u.unrouted.len(),
        u.listed,
        u.incoming,
        u.pipelines
    );
    for o in &u.unrouted {
        let waiting = o
            .waiting_seconds
            .map_or_else(|| "?".to_string(), super::text::duration);
        let _ = writeln!(out, "  {}  {} bytes, waiting {waiting}", o.key, o.size);
    }
    if !u.unrouted.is_empty() {
        out.push_str(
            "Move each under a stream's folder with a name its pipeline's keys pattern matches, add a pipeline for it, or delete it.\n",
        );
    }
    out
}
