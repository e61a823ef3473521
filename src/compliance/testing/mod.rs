//! Test support for rule tests: NetCDF files written as CDL in the test and read into memory
//! ([`cdl`]), so rules run through the same [`Dataset`] seam as on a real file without netcdf-bin;
//! helpers to run a suite on them and look at a group.
//!
//! With `INGEST_TEST_CDL_NCGEN=1` (CI sets it) every helper also compiles the CDL with `ncgen`
//! and asserts that the real file reads exactly as the in-memory one — header, values and the
//! suite's whole report — so the in-memory reading can never drift from the files it stands for.

pub mod cdl;
pub mod many;

use std::path::PathBuf;
use std::process::Command;

use super::{
    CheckResult, Criteria, Dataset, FileReport, Group, Priority, SuiteImpl, SuiteReport,
    ValueSource, check_dataset, check_file, parse_suite,
};
use crate::netcdf::NcFile;

pub use cdl::CdlFile;
pub use many::many_variables_cdl;

/// Whether to compare every in-memory reading with the file ncgen makes of the same CDL.
fn compare_with_ncgen() -> bool {
    std::env::var("INGEST_TEST_CDL_NCGEN").is_ok_and(|v| v == "1")
}

/// A NetCDF-4 file made from CDL by `ncgen` under the file name `name` (kept alive by the returned
/// folder): for comparing the in-memory reading with the real thing, and for tests of code that
/// opens files itself (the facility handlers). Rule tests use [`from_cdl`], which needs no ncgen.
pub fn nc_from_cdl_named(cdl: &str, name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let cdl_path = dir.path().join("test.cdl");
    let nc_path = dir.path().join(name);
    std::fs::write(&cdl_path, cdl).expect("the CDL is written");
    let out = Command::new("ncgen")
        .args(["-k", "nc4", "-o"])
        .arg(&nc_path)
        .arg(&cdl_path)
        .output()
        .expect("ncgen runs (apt-get install netcdf-bin)");
    assert!(
        out.status.success(),
        "ncgen refused the CDL: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (dir, nc_path)
}

/// Asserts that ncgen's file reads as `file`: the same header and, variable by variable, the same
/// values (compared as printed, so NaN equals NaN). Returns the real file, open.
fn assert_same_as_ncgen(
    cdl: &str,
    name: &str,
    file: &CdlFile,
) -> (tempfile::TempDir, PathBuf, NcFile) {
    let (dir, path) = nc_from_cdl_named(cdl, name);
    let nc = NcFile::open(&path).expect("ncgen's file opens");
    let summary = nc.summary().expect("its header reads");
    assert_eq!(
        format!("{summary:#?}"),
        format!("{:#?}", file.summary),
        "the CDL reader and ncgen disagree on the header of:\n{cdl}"
    );
    for v in &summary.variables {
        let read = |src: &dyn ValueSource| -> String {
            let mut all = Vec::new();
            let numbers = src.for_each_chunk(&v.name, 1 << 20, &mut |c| all.extend_from_slice(c));
            match numbers {
                Ok(()) => format!("{all:?}"),
                Err(_) => format!("text {:?}", src.text(&v.name).ok()),
            }
        };
        assert_eq!(
            read(&nc),
            read(&file.values),
            "the CDL reader and ncgen disagree on the values of {} in:\n{cdl}",
            v.name
        );
    }
    (dir, path, nc)
}

/// A file from CDL, in memory (compared with ncgen's when `INGEST_TEST_CDL_NCGEN=1`).
pub fn from_cdl(cdl: &str) -> CdlFile {
    let file = cdl::parse(cdl);
    if compare_with_ncgen() {
        assert_same_as_ncgen(cdl, "test.nc", &file);
    }
    file
}

/// One suite's strict report on a file made from CDL, skipping `skip`.
pub fn check_cdl(cdl: &str, suite: &str, skip: &[&str]) -> SuiteReport {
    check_cdl_named(cdl, "test.nc", suite, skip)
}

/// As [`check_cdl`], on a file named `name`.
pub fn check_cdl_named(cdl: &str, name: &str, suite: &str, skip: &[&str]) -> SuiteReport {
    let report = check_cdl_suites(cdl, name, &[suite], Criteria::Strict, skip);
    assert!(report.error.is_none(), "{:?}", report.error);
    report.suites.into_iter().next().expect("one suite report")
}

/// Suites over a file made from CDL and named `name`: the whole verdict, as `check_file` gives it.
pub fn check_cdl_suites(
    cdl: &str,
    name: &str,
    suites: &[&str],
    criteria: Criteria,
    skip: &[&str],
) -> FileReport {
    let file = cdl::parse(cdl);
    let suites: Vec<_> = suites
        .iter()
        .map(|s| parse_suite(s).expect("a suite of this build"))
        .collect();
    let skip: Vec<String> = skip.iter().map(|s| s.to_string()).collect();
    let ds = Dataset::new(name, &file.summary, &file.values);
    let report = check_dataset(&ds, &suites, criteria, &skip);
    if compare_with_ncgen() {
        let (_dir, path, _nc) = assert_same_as_ncgen(cdl, name, &file);
        assert_eq!(
            check_file(&path, &suites, criteria, &skip),
            report,
            "a suite judges ncgen's file and the in-memory reading differently:\n{cdl}"
        );
    }
    report
}

/// One rule of a suite, by id, on a file made from CDL (named `t.nc`).
pub fn run_rule_on_cdl(
    suite: &dyn SuiteImpl,
    rule: &str,
    cdl: &str,
) -> Result<Vec<CheckResult>, String> {
    let rule = suite
        .rules()
        .iter()
        .find(|r| r.id == rule)
        .unwrap_or_else(|| panic!("{} has no rule {rule}", suite.id()));
    let file = cdl::parse(cdl);
    let ds = Dataset::new("t.nc", &file.summary, &file.values);
    let got = (rule.run)(&ds);
    if compare_with_ncgen() {
        let (_dir, _path, nc) = assert_same_as_ncgen(cdl, "t.nc", &file);
        let summary = nc.summary().expect("its header reads");
        let real = Dataset::new("t.nc", &summary, &nc);
        assert_eq!(
            (rule.run)(&real),
            got,
            "rule {} judges ncgen's file and the in-memory reading differently:\n{cdl}",
            rule.id
        );
    }
    got
}

/// The group of a report, if it scored any points.
pub fn group<'a>(report: &'a SuiteReport, name: &str, priority: Priority) -> Option<&'a Group> {
    report
        .groups
        .iter()
        .find(|g| g.name == name && g.priority == priority)
}

/// Whether the group lost points (false when absent).
pub fn failed(report: &SuiteReport, name: &str, priority: Priority) -> bool {
    group(report, name, priority).is_some_and(|g| !g.passed())
}
