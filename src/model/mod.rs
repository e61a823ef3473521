//! The domain model of an ingest: what to do with each file (check and publish types), the
//! per-file record with its audit trail, and the metadata the index keeps.

mod file;
mod metadata;
mod types;

pub use file::{AuditEntry, FileCollection, FileOrigin, PipelineFile};
pub use metadata::FileMetadata;
pub use types::{CheckType, PublishType, UnknownName};
