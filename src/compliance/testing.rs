//! Test support for rule tests: NetCDF files written as CDL in the test and made with `ncgen`
//! (netcdf-bin), and helpers to run a suite on them and look at a group.

use std::path::PathBuf;
use std::process::Command;

use super::{Group, Priority, SuiteReport, check_file, parse_suite};
use crate::pipeline::Criteria;

/// A NetCDF-4 file made from CDL (kept alive by the returned folder).
pub fn nc_from_cdl(cdl: &str) -> (tempfile::TempDir, PathBuf) {
    nc_from_cdl_named(cdl, "test.nc")
}

/// A NetCDF-4 file made from CDL under the file name `name` (rules judge the name too).
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

/// One suite's strict report on a file made from CDL, skipping `skip`.
pub fn check_cdl(cdl: &str, suite: &str, skip: &[&str]) -> SuiteReport {
    check_cdl_named(cdl, "test.nc", suite, skip)
}

/// As [`check_cdl`], on a file named `name`.
pub fn check_cdl_named(cdl: &str, name: &str, suite: &str, skip: &[&str]) -> SuiteReport {
    let (_dir, path) = nc_from_cdl_named(cdl, name);
    let suite = parse_suite(suite).expect("a suite of this build");
    let skip: Vec<String> = skip.iter().map(|s| s.to_string()).collect();
    let report = check_file(&path, &[suite], Criteria::Strict, &skip);
    assert!(report.error.is_none(), "{:?}", report.error);
    report.suites.into_iter().next().expect("one suite report")
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
