//! NetCDF compliance: suites of rules (CF, IMOS, GHRSST) run over a file's owned summary, scored
//! as the reference's compliance-checker scores them.
//!
//! A suite is a list of [`Rule`]s, each a pure function from a [`Dataset`] to results. The runner
//! opens the file once, runs every rule of every requested suite (a rule that fails internally, or
//! panics, makes the file non-compliant instead of crashing the program) and groups the results.

pub mod cf;
pub mod dataset;
pub mod ghrsst;
pub mod imos;
pub mod result;
pub mod standard_names;
#[cfg(test)]
pub mod testing;
pub mod units;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

pub use dataset::{Dataset, MemValues, ValueSource, ValueStats};
pub use result::{CheckResult, FileReport, Group, GroupCtx, Priority, SuiteReport};

use crate::pipeline::Criteria;

/// A compliance suite and version, e.g. `cf:1.6`, as named in pipelines and on the command line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Suite {
    pub name: String,
    pub version: String,
}

impl std::fmt::Display for Suite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.name, self.version)
    }
}

/// One rule of a suite. `id` is the reference's check name (e.g. `check_standard_name`), which is
/// what `skip_checks` names.
pub struct Rule {
    pub id: &'static str,
    pub run: fn(&Dataset) -> Result<Vec<CheckResult>, String>,
}

/// A suite implementation.
pub trait SuiteImpl: Sync {
    /// `name:version`, e.g. `cf:1.6`.
    fn id(&self) -> &'static str;
    fn rules(&self) -> &'static [Rule];
}

/// The suites this build implements.
fn registry() -> &'static [&'static dyn SuiteImpl] {
    &[&cf::Cf16, &imos::Imos13, &imos::Imos14, &ghrsst::Ghrsst10]
}

/// The ids of the suites this build implements.
pub fn known_suites() -> Vec<&'static str> {
    registry().iter().map(|s| s.id()).collect()
}

fn suite_impl(id: &str) -> Option<&'static dyn SuiteImpl> {
    registry().iter().copied().find(|s| s.id() == id)
}

/// Parses a suite name, refusing any this build does not implement: a pipeline can never
/// silently skip a check it asked for.
pub fn parse_suite(name: &str) -> Result<Suite, String> {
    if suite_impl(name).is_none() {
        let known = known_suites();
        let known = if known.is_empty() {
            "none yet".to_string()
        } else {
            known.join(", ")
        };
        return Err(format!(
            "unknown check suite {name:?} (suites in this build: {known})"
        ));
    }
    let (n, v) = name.split_once(':').unwrap_or((name, ""));
    Ok(Suite {
        name: n.to_string(),
        version: v.to_string(),
    })
}

/// How much of a rule `skip_checks` skips: results at or below this priority are dropped
/// (`None`: keep all). As the reference: `check_x` or `check_x:A` skips the rule, `check_x:M`
/// keeps only its HIGH results, `check_x:L` drops its LOW results; an unknown level skips all.
/// (compliance-checker 5.0.2 ignored a bare name through a bug fixed upstream; see
/// docs/PARITY.md.)
pub fn skip_level(rule: &str, skip_checks: &[String]) -> Option<Priority> {
    let mut level = None;
    for spec in skip_checks {
        let (name, lvl) = match spec.split_once(':') {
            Some((n, l)) => (n, l.split(':').next().unwrap_or(l)),
            None => (spec.as_str(), "A"),
        };
        if name == rule {
            level = Some(match lvl {
                "M" => Priority::Medium,
                "L" => Priority::Low,
                _ => Priority::High,
            });
        }
    }
    level
}

/// Runs suites over a file: the whole verdict, never a panic.
pub fn check_file(
    path: &Path,
    suites: &[Suite],
    criteria: Criteria,
    skip_checks: &[String],
) -> FileReport {
    let file = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    let opened = crate::netcdf::NcFile::open(path).and_then(|nc| nc.summary().map(|s| (nc, s)));
    let (nc, summary) = match opened {
        Ok(x) => x,
        Err(e) => {
            return FileReport {
                file,
                compliant: false,
                error: Some(e.to_string()),
                suites: vec![],
            };
        }
    };
    let ds = Dataset::new(file.clone(), &summary, &nc);
    let reports: Vec<SuiteReport> = suites
        .iter()
        .map(|s| run_suite(&ds, s, criteria, skip_checks))
        .collect();
    FileReport {
        file,
        compliant: reports.iter().all(|r| r.passed),
        error: None,
        suites: reports,
    }
}

/// Runs one suite over a dataset.
pub fn run_suite(
    ds: &Dataset,
    suite: &Suite,
    criteria: Criteria,
    skip_checks: &[String],
) -> SuiteReport {
    let id = suite.to_string();
    let Some(imp) = suite_impl(&id) else {
        return SuiteReport::from_results(
            &id,
            vec![],
            vec![format!("suite {id} is not in this build")],
            criteria,
        );
    };
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for rule in imp.rules() {
        let skip = skip_level(rule.id, skip_checks);
        if skip == Some(Priority::High) {
            continue;
        }
        match catch_unwind(AssertUnwindSafe(|| (rule.run)(ds))) {
            Ok(Ok(r)) => results.extend(
                r.into_iter()
                    .filter(|r| skip.is_none_or(|s| r.priority > s)),
            ),
            Ok(Err(e)) => errors.push(format!("{}: {e}", rule.id)),
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "the rule failed".into());
                errors.push(format!("{}: {msg}", rule.id));
            }
        }
    }
    SuiteReport::from_results(&id, results, errors, criteria)
}

/// The pipeline's NcCompliance check: every suite must pass at the pipeline's criteria. The log
/// lists each suite's verdict and every group that counted against it, with its messages.
pub fn check_for_pipeline(
    path: &Path,
    params: &crate::check::CheckParams,
) -> crate::check::CheckOutcome {
    let report = check_file(path, &params.suites, params.criteria, &params.skip_checks);
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
    crate::check::CheckOutcome {
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
