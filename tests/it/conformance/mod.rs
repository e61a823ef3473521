//! One conformance suite per boundary trait, run against every implementation.

pub mod index;
pub mod store;
