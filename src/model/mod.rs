//! The domain model of an ingest: what to do with each file (check and publish types), the
//! per-file record with its audit trail, the metadata the index keeps, and the upload itself.

mod file;
mod metadata;
mod types;
mod upload;

pub use file::{AuditEntry, FileCollection, FileOrigin, PipelineFile};
pub use metadata::FileMetadata;
pub use types::{CheckType, PublishType, UnknownName, parse_named};
pub use upload::Upload;
