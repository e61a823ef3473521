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
use crate::netcdf::ValueMemo;

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

/// Checks one file. Blocking (it may read a large file): call it off the async workers. A NetCDF
/// file opened as a memo (with [`crate::compliance::share_values`] registered) is checked through
/// it, so its values are read once for the check and the job's later readers.
pub fn check_file(
    path: &Path,
    name: &str,
    check: CheckType,
    params: &CheckParams,
    memo: Option<&ValueMemo>,
) -> CheckOutcome {
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
        CheckType::NcCompliance => match memo {
            Some(memo) => compliance::nc_compliance(path, params, memo),
            None => match ValueMemo::open(path) {
                Err(e) => CheckOutcome::fail(e.to_string()),
                Ok(mut memo) => {
                    crate::compliance::share_values(&mut memo);
                    compliance::nc_compliance(path, params, &memo)
                }
            },
        },
        CheckType::TableSchema => match &params.table_schema {
            None => CheckOutcome::fail(
                "no table schema is configured for this file's rule, and none of the pipeline's table_schemas is named like it",
            ),
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
        // The header is row 1: rows are counted here, as the reader's own positions can lag.
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(false)
            .from_path(path);
        let parsed = reader.map(|mut r| {
            r.records()
                .enumerate()
                .try_for_each(|(i, rec)| rec.map(|_| ()).map_err(|e| (i + 1, e)))
        });
        match parsed {
            Ok(Ok(())) => CheckOutcome::pass("parses as CSV"),
            Ok(Err((row, e))) => {
                CheckOutcome::fail(format!("row {row}: {}", table_schema::csv_problem(&e)))
            }
            Err(e) => CheckOutcome::fail(table_schema::csv_problem(&e)),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn data(name: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name)
    }

    fn params() -> CheckParams {
        CheckParams {
            suites: vec![crate::compliance::parse_suite("cf:1.6").unwrap()],
            criteria: Criteria::Normal,
            skip_checks: Vec::new(),
            table_schema: None,
        }
    }

    #[test]
    fn the_csv_format_check_reads_a_byte_order_mark_and_names_another_encoding() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, "\u{feff}site,depth\nNRSMAI,10\n").unwrap();
        let outcome = check_file(&path, "t.csv", CheckType::Format, &params(), None);
        assert_eq!(outcome, CheckOutcome::pass("parses as CSV"));
        std::fs::write(&path, b"site,depth\nS\xe3o Tom\xe9,10\n").unwrap();
        let outcome = check_file(&path, "t.csv", CheckType::Format, &params(), None);
        assert!(!outcome.passed);
        assert!(
            outcome.log[0].starts_with("row 2: column 1 is not UTF-8 text")
                && outcome.log[0].contains("save it as UTF-8"),
            "{outcome:?}"
        );
    }

    #[test]
    fn a_netcdf4_file_with_an_enum_type_passes_the_format_check() {
        let path = data("enum_type.nc");
        let outcome = check_file(&path, "enum_type.nc", CheckType::Format, &params(), None);
        assert_eq!(outcome, CheckOutcome::pass("opens as NetCDF"));
        // Its header reads whole but for the enum-typed attribute; compliance gets to judge it.
        let summary = crate::netcdf::NcFile::open(&path)
            .and_then(|nc| nc.summary())
            .unwrap();
        let cloud = summary.variable("primary_cloud").unwrap();
        assert_eq!(cloud.dtype, crate::netcdf::NcType::Other("enum".into()));
        assert_eq!(
            summary.variable("temp").unwrap().attr_str("units"),
            Some("degC")
        );
        let verdict = check_file(
            &path,
            "enum_type.nc",
            CheckType::NcCompliance,
            &params(),
            None,
        );
        assert!(
            !verdict
                .log
                .iter()
                .any(|l| l.contains("reading the header failed")),
            "{verdict:?}"
        );
    }
}
