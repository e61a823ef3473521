//! The integration tests of ocean-ingest: one test binary, a module per subject.

mod architecture;
mod check_cli;
mod common;
mod compliance_parity;
mod compliance_pipeline;
mod conformance;
mod events_cli;
mod fault_proxy;
mod faults;
mod harvest;
mod harvest_publish;
mod job_logs;
mod notify;
mod pipelines_cli;
mod postgres_index;
mod production;
mod production_faults;
mod recovery;
mod s3_faults;
mod s3_store;
mod servers;
mod spine;
mod supersede;
mod uploads;
