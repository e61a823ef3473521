//! The check step for one file, by check type: non-empty, format, NetCDF compliance, table schema.
//! Pure with respect to the stores: it reads the job-local copy and returns a verdict with a log.

mod compliance;
mod dateutil;
pub mod table_schema;

use std::path::Path;
use std::sync::Arc;

pub use table_schema::TableSchema;

use crate::compliance::{Criteria, Suite};
use crate::model::CheckType;

/// The pipeline's compliance parameters.
#[derive(Debug, Clone)]
pub struct CheckParams {
    pub suites: Vec<Suite>,
    pub criteria: Criteria,
    pub skip_checks: Vec<String>,
    /// The table schema a `table_schema` check uses (the file's rule's, else the pipeline's).
    pub table_schema: Option<Arc<TableSchema>>,
}

/// A file's verdict and the lines that explain it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOutcome {
    pub passed: bool,
    pub log: Vec<String>,
}

impl CheckOutcome {
    fn pass(line: impl Into<String>) -> Self {
        CheckOutcome {
            passed: true,
            log: vec![line.into()],
        }
    }
    fn fail(line: impl Into<String>) -> Self {
        CheckOutcome {
            passed: false,
            log: vec![line.into()],
        }
    }
}

/// Checks one file. Blocking (it may read a large file): call it off the async workers.
pub fn check_file(path: &Path, name: &str, check: CheckType, params: &CheckParams) -> CheckOutcome {
    if check == CheckType::NoAction {
        return CheckOutcome::pass("no check requested");
    }
    let size = match std::fs::metadata(path) {
        Ok(m) => m.len(),
        Err(e) => return CheckOutcome::fail(format!("cannot read the file: {e}")),
    };
    if size == 0 {
        return CheckOutcome::fail("empty file (0 bytes)");
    }
    match check {
        CheckType::NoAction => unreachable!("handled above"),
        CheckType::NonEmpty => CheckOutcome::pass(format!("not empty ({size} bytes)")),
        CheckType::Format => format_check(path, name),
        CheckType::NcCompliance => match crate::netcdf::probe(path) {
            Err(e) => CheckOutcome::fail(e.to_string()),
            Ok(()) => compliance::nc_compliance(path, params),
        },
        CheckType::TableSchema => match &params.table_schema {
            None => CheckOutcome::fail("no table schema is configured for this file's rule"),
            Some(schema) => table_schema_check(path, schema),
        },
    }
}

/// A CSV file against its table schema: the first line sums up, the next list the first errors.
fn table_schema_check(path: &Path, schema: &TableSchema) -> CheckOutcome {
    match schema.check_csv(path) {
        Err(e) => CheckOutcome::fail(e),
        Ok(errors) if errors.total == 0 => CheckOutcome::pass(format!(
            "conforms to table schema {} ({} rows)",
            schema.origin, errors.rows
        )),
        Ok(errors) => {
            let mut log = vec![format!(
                "{} error(s) against table schema {}, first: {}",
                errors.total,
                schema.origin,
                errors.listed.first().map_or("", String::as_str)
            )];
            log.extend(errors.listed);
            if errors.total > log.len() - 1 {
                log.push(format!("… and {} more", errors.total - (log.len() - 1)));
            }
            CheckOutcome { passed: false, log }
        }
    }
}

/// The file is what its extension says: NetCDF opens with libnetcdf, CSV parses, JSON parses.
fn format_check(path: &Path, name: &str) -> CheckOutcome {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".nc") {
        match crate::netcdf::probe(path) {
            Ok(()) => CheckOutcome::pass("opens as NetCDF"),
            Err(e) => CheckOutcome::fail(e.to_string()),
        }
    } else if lower.ends_with(".csv") {
        let reader = csv::ReaderBuilder::new().flexible(false).from_path(path);
        match reader.map(|mut r| r.records().try_for_each(|rec| rec.map(|_| ()))) {
            Ok(Ok(())) => CheckOutcome::pass("parses as CSV"),
            Ok(Err(e)) | Err(e) => CheckOutcome::fail(format!("not valid CSV: {e}")),
        }
    } else if lower.ends_with(".json") {
        let parsed = std::fs::File::open(path)
            .map_err(|e| e.to_string())
            .and_then(|f| {
                serde_json::from_reader::<_, serde_json::Value>(std::io::BufReader::new(f))
                    .map_err(|e| e.to_string())
            });
        match parsed {
            Ok(_) => CheckOutcome::pass("parses as JSON"),
            Err(e) => CheckOutcome::fail(format!("not valid JSON: {e}")),
        }
    } else {
        CheckOutcome::pass("not empty (no format check for this kind of file)")
    }
}
