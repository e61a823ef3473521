//! The check step's NetCDF compliance check: the pipeline's suites over one file, its verdict
//! and the lines that explain it (the first quoted by the job's rejection message).

use std::path::Path;

use super::{CheckOutcome, CheckParams};
use crate::compliance::{self, FileReport};
use crate::netcdf::ValueMemo;

/// The pipeline's NcCompliance check: every suite must pass at the pipeline's criteria. The log
/// lists each suite's verdict and every group that counted against it, with its messages.
pub fn nc_compliance(path: &Path, params: &CheckParams, memo: &ValueMemo) -> CheckOutcome {
    let report = compliance::check_memo(
        path,
        memo,
        &params.suites,
        params.criteria,
        &params.skip_checks,
    );
    let mut log = Vec::new();
    let criteria = format!("{:?}", params.criteria).to_lowercase();
    // The first line is the whole verdict, as the job's rejection message quotes it.
    match &report.error {
        Some(e) => log.push(e.clone()),
        None => {
            let failed: Vec<String> = report
                .suites
                .iter()
                .filter(|s| !s.passed)
                .map(|s| format!("{} ({}/{})", s.suite, s.scored, s.possible))
                .collect();
            log.push(if failed.is_empty() {
                format!(
                    "compliant with {} at criteria {criteria}",
                    suite_list(&report)
                )
            } else {
                format!(
                    "not compliant at criteria {criteria}: failed {}",
                    failed.join(", ")
                )
            });
        }
    }
    let threshold = params.criteria.threshold();
    for s in &report.suites {
        let verdict = if s.passed { "passed" } else { "FAILED" };
        log.push(format!(
            "{}: {verdict} ({}/{} points)",
            s.suite, s.scored, s.possible
        ));
        for e in &s.errors {
            log.push(format!("  rule error: {e}"));
        }
        for g in s
            .groups
            .iter()
            .filter(|g| !g.passed() && g.priority >= threshold)
        {
            log.push(format!(
                "  [{}] {} ({}/{})",
                g.priority.as_str(),
                g.name,
                g.scored,
                g.possible
            ));
            for m in &g.messages {
                log.push(format!("    - {m}"));
            }
        }
    }
    CheckOutcome {
        passed: report.compliant,
        log,
    }
}

fn suite_list(report: &FileReport) -> String {
    report
        .suites
        .iter()
        .map(|s| s.suite.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
