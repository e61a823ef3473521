//! NetCDF compliance: suites of rules (CF, IMOS, GHRSST) run over a file's owned summary, scored
//! as the reference's compliance-checker scores them.
//!
//! A suite is a list of [`Rule`]s, each a pure function from a [`Dataset`] to results. The runner
//! opens the file once, runs every rule of every requested suite (a rule that fails internally, or
//! panics, makes the file non-compliant instead of crashing the program) and groups the results.

pub mod cf;
pub mod classes;
pub mod dataset;
pub mod ghrsst;
pub mod imos;
pub mod result;
mod rows;
pub mod standard_names;
#[cfg(test)]
pub mod testing;
pub mod units;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use crate::netcdf::memo::ValueMemo;
pub use dataset::{Dataset, MemValues, ValueSource, ValueStats};
pub use result::{CheckResult, Criteria, FileReport, Group, GroupCtx, Priority, SuiteReport};

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

/// The latest version of each suite name in production's checker (compliance-checker 5.0.2 with
/// cc-plugin-imos 1.5.6), which a name without a version (or `NAME:latest`) means there.
const LATEST: [(&str, &str); 3] = [("cf", "1.8"), ("imos", "1.4"), ("ghrsst", "1.0")];

/// Parses a suite as compliance-checker's `-t` takes it: `cf:1.6`, or a name alone or
/// `NAME:latest` for the latest version production's checker has, which this build must have too
/// (`cf` is CF 1.8 there: refused here, naming the versions this build has).
pub fn resolve_suite(name: &str) -> Result<Suite, String> {
    let base = name.strip_suffix(":latest").unwrap_or(name);
    if base.contains(':') {
        return parse_suite(name);
    }
    let Some((_, version)) = LATEST.iter().find(|(n, _)| *n == base) else {
        return parse_suite(name);
    };
    let full = format!("{base}:{version}");
    parse_suite(&full).map_err(|_| {
        let ours: Vec<&str> = known_suites()
            .into_iter()
            .filter(|s| s.split(':').next() == Some(base))
            .collect();
        format!(
            "{name} means {full} in compliance-checker 5.0.2, which this build does not run \
             (it has {}); name the version",
            ours.join(", ")
        )
    })
}

/// The rules of a suite this build implements (none for another).
pub fn rules(suite: &Suite) -> &'static [Rule] {
    suite_impl(&suite.to_string()).map_or(&[], |s| s.rules())
}

/// Whether some suite has a rule of this name (a check, as `skip_checks` names them).
pub fn is_rule_id(name: &str) -> bool {
    registry()
        .iter()
        .any(|s| s.rules().iter().any(|r| r.id == name))
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
    let mut memo = match ValueMemo::open(path) {
        Ok(memo) => memo,
        Err(e) => return unreadable(path, e.to_string()),
    };
    share_values(&mut memo);
    check_memo(path, &memo, suites, criteria, skip_checks)
}

/// Registers what the suites read of a file's values in its memo, so that the rules and every
/// later reader of the file share one read of each variable.
pub fn share_values(memo: &mut ValueMemo) {
    memo.fold(imos::values::MASKED, Box::new(imos::values::fold_for));
}

/// Runs suites over a file opened as a memo (with [`share_values`] registered).
pub fn check_memo(
    path: &Path,
    memo: &ValueMemo,
    suites: &[Suite],
    criteria: Criteria,
    skip_checks: &[String],
) -> FileReport {
    check_dataset(
        &Dataset::new(file_name(path), memo.header(), memo),
        suites,
        criteria,
        skip_checks,
    )
}

/// The verdict on a file that does not open as NetCDF.
pub fn unreadable(path: &Path, error: String) -> FileReport {
    FileReport {
        file: file_name(path),
        compliant: false,
        error: Some(error),
        suites: vec![],
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string()
}

/// Runs suites over a dataset (an open file, or one held in memory).
pub fn check_dataset(
    ds: &Dataset,
    suites: &[Suite],
    criteria: Criteria,
    skip_checks: &[String],
) -> FileReport {
    let reports = run_suites(ds, suites, criteria, skip_checks);
    FileReport {
        file: ds.filename.clone(),
        compliant: reports.iter().all(|r| r.passed),
        error: None,
        suites: reports,
    }
}

/// The suites' reports, in the order asked. With more than one suite and more than one core, every
/// suite after the first runs on a thread of its own beside it: the suites only read the dataset
/// (the memo reads each variable once for all of them, whichever asks first), and while the
/// rules run the job has nothing else for a second core to do. A suite no thread can be had for
/// runs after the first.
fn run_suites(
    ds: &Dataset,
    suites: &[Suite],
    criteria: Criteria,
    skip_checks: &[String],
) -> Vec<SuiteReport> {
    let run = |s: &Suite| run_suite(ds, s, criteria, skip_checks);
    let (first, others) = match suites.split_first() {
        Some((first, others)) if !others.is_empty() && crate::task::several_cores() => {
            (first, others)
        }
        _ => return suites.iter().map(run).collect(),
    };
    std::thread::scope(|scope| {
        let beside: Vec<_> = others
            .iter()
            .map(|s| {
                std::thread::Builder::new()
                    .name("ingest-suite".into())
                    .spawn_scoped(scope, move || run(s))
            })
            .collect();
        let mut reports = vec![run(first)];
        for (thread, suite) in beside.into_iter().zip(others) {
            reports.push(match thread {
                Ok(t) => t.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
                Err(_) => run(suite),
            });
        }
        reports
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suites_run_side_by_side_report_as_each_alone_in_the_order_asked() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(
            "tests/data/imos/moorings/IMOS_ANMN-NRS_BCKOSTUZ_20081120T081531Z_NRSROT_FV01_NRSROT-0811-WQM-21_END-20081120T171535Z_C-20190418T000000Z.nc",
        );
        let suites: Vec<Suite> = ["imos:1.4", "cf:1.6", "imos:1.3"]
            .into_iter()
            .map(|s| parse_suite(s).unwrap())
            .collect();
        let opened = || {
            let mut memo = ValueMemo::open(&path).unwrap();
            share_values(&mut memo);
            memo
        };
        let memo = opened();
        let together = check_memo(&path, &memo, &suites, Criteria::Normal, &[]);
        assert_eq!(together.suites.len(), suites.len());
        for (suite, report) in suites.iter().zip(&together.suites) {
            let memo = opened();
            let alone = check_memo(
                &path,
                &memo,
                std::slice::from_ref(suite),
                Criteria::Normal,
                &[],
            );
            assert!(alone.suites[0].possible > 0, "{suite} checked something");
            assert_eq!(report, &alone.suites[0], "{suite}");
        }
    }
}
