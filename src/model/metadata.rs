//! What the index records about a published NetCDF file, beside its path and checksum.

use serde::{Deserialize, Serialize};

/// Searchable metadata of a file, extracted from its NetCDF header and coordinates.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FileMetadata {
    pub feature_type: Option<String>,
    /// ISO 8601, UTC.
    pub time_start: Option<String>,
    pub time_end: Option<String>,
    pub lat_min: Option<f64>,
    pub lat_max: Option<f64>,
    pub lon_min: Option<f64>,
    pub lon_max: Option<f64>,
    pub variables: Vec<String>,
    /// Global attributes as a JSON object.
    pub attributes: serde_json::Value,
}
