//! Facility handlers: the logic that no pipeline declaration can say (burst averaging, monthly
//! aggregation into a published file, decoding a provider's own format), one module per facility
//! as the reference's per-facility handler modules.
//!
//! Each module's core is a plain function over local files in the job's work folder: what it needs
//! from the stores or the index (a published file, a folder listing, a vocabulary) is handed to it
//! already fetched, so the core can be tested on files alone. This module knows nothing of the
//! pipeline or the job: the pipeline's handler hooks, one layer up, wrap these cores and apply
//! the plans they return (the types of `plan`, [`Generated`], [`HandlerError`]); files a core
//! generates join the job's collection and are checked and published like uploaded files.

pub mod aatams_sattag;
pub mod anfog;
pub mod atf_acoustic_index;
pub mod burst_average;
pub mod fuzzy;
pub mod nsw_oeh_survey;
pub mod plan;
mod product;
pub mod pyfmt;
#[cfg(test)]
pub mod testing;
pub mod tmv_log;
pub mod wave_monthly;
pub mod xbt_bufr;

use std::path::PathBuf;

use crate::error::{Fault, JobError};

/// Why a handler could not do its work, and whose fault that is.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The provider's upload cannot be used as it is: the job rejects it with this reason.
    #[error("{0}")]
    Rejected(String),
    /// Something the handler needs is unavailable for now (a store, the index, a vocabulary
    /// service): the job fails transiently and is retried.
    #[error("{0}")]
    Transient(String),
    /// A bug or an impossible state.
    #[error("{0}")]
    Internal(String),
}

impl HandlerError {
    /// Rejects the upload with a reason that names the file and what would fix it.
    pub fn rejected(reason: impl Into<String>) -> HandlerError {
        HandlerError::Rejected(reason.into())
    }

    pub fn fault(&self) -> Fault {
        match self {
            HandlerError::Rejected(_) => Fault::Input,
            HandlerError::Transient(_) => Fault::Transient,
            HandlerError::Internal(_) => Fault::Internal,
        }
    }
}

impl From<HandlerError> for JobError {
    fn from(e: HandlerError) -> JobError {
        JobError {
            fault: e.fault(),
            message: e.to_string(),
            source: None,
        }
    }
}

/// A file a handler made in the job's work folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// Where the file is, inside the job's work folder.
    pub path: PathBuf,
    /// The file's name in the collection (what rules match and templates see as `name`).
    pub name: String,
}
