//! The integration tests of ocean-ingest: one test binary, a module per subject.

mod common;
mod conformance;
mod faults;
mod notify;
mod pipelines_cli;
mod spine;
mod supersede;
mod uploads;
