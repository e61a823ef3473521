//! The integration tests of ocean-ingest: one test binary, a module per subject.

mod architecture;
mod check_cli;
mod common;
mod compliance_parity;
mod compliance_pipeline;
mod conformance;
mod dashboard;
mod events_cli;
mod faults;
mod harvest;
mod job_logs;
mod notify;
mod pipelines_cli;
mod postgres_index;
mod production;
mod production_faults;
mod s3_faults;
mod s3_store;
mod servers;
mod spine;
mod status;
mod supersede;
mod uploads;
