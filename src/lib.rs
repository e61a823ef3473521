//! ocean-ingest: the automated ingestion pipeline of an ocean observing network, run once per
//! uploaded file. An upload is fetched, resolved into files, checked, published to the archive and
//! public stores, harvested into the index, and reported to its provider; the process exits with a
//! code that AWS Batch's retry rules read (see [`error::ExitCode`]).

pub mod aws;
pub mod check;
pub mod cli;
pub mod compliance;
pub mod deadline;
pub mod digest;
pub mod error;
pub mod events;
pub mod handlers;
pub mod harvest;
pub mod html;
pub mod index;
pub mod job;
pub mod layout;
pub mod location;
pub mod logging;
pub mod model;
pub mod netcdf;
pub mod notify;
pub mod pipeline;
pub mod pipeline_file;
pub mod plot;
pub mod process;
pub mod publish;
pub mod queue;
pub mod report;
pub mod resolve;
pub mod secret;
pub mod settings;
pub mod shutdown;
pub mod source;
pub mod status;
pub mod store;
pub mod task;
pub mod text_regex;
pub mod vars;
