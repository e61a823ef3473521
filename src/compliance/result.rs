//! Results of compliance checks and the reference's scoring: results grouped by (name, priority)
//! with points summed; a suite passes when no group at or above the criteria's level lost points
//! and no rule failed internally.

use std::collections::HashMap;

use serde::Serialize;

/// How much a result matters. The numbers are the reference's weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Low = 1,
    Medium = 2,
    High = 3,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::High => "high",
            Priority::Medium => "medium",
            Priority::Low => "low",
        }
    }
}

/// How strictly compliance results count, as the reference's compliance-checker: pipelines name
/// it, `check --criteria` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Criteria {
    /// Every failed check counts.
    Strict,
    /// High and medium priority failures count.
    Normal,
    /// Only high priority failures count.
    Lenient,
}

impl Criteria {
    /// The lowest priority whose failures count.
    pub fn threshold(self) -> Priority {
        match self {
            Criteria::Strict => Priority::Low,
            Criteria::Normal => Priority::Medium,
            Criteria::Lenient => Priority::High,
        }
    }
}

/// One result of one rule: `scored` of `possible` points under a group name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    /// The group: a CF section title ("§3.3 Standard Name") or an IMOS attribute/variable name.
    pub name: String,
    pub priority: Priority,
    pub scored: u32,
    pub possible: u32,
    pub messages: Vec<String>,
}

impl CheckResult {
    /// A result worth `possible` points of which `scored` were earned.
    pub fn new(
        name: impl Into<String>,
        priority: Priority,
        scored: u32,
        possible: u32,
        messages: Vec<String>,
    ) -> Self {
        CheckResult {
            name: name.into(),
            priority,
            scored,
            possible,
            messages,
        }
    }

    /// A one-point result: passed, or failed with a message.
    pub fn test(
        name: impl Into<String>,
        priority: Priority,
        ok: bool,
        failure: impl Into<String>,
    ) -> Self {
        let messages = if ok { Vec::new() } else { vec![failure.into()] };
        CheckResult::new(name, priority, ok as u32, 1, messages)
    }

    pub fn passed(&self) -> bool {
        self.scored >= self.possible
    }
}

/// Accumulates the results of a named group (the reference's `TestCtx`): each assertion is worth
/// one point and adds its message when it fails.
#[derive(Debug, Clone)]
pub struct GroupCtx {
    name: String,
    priority: Priority,
    scored: u32,
    possible: u32,
    messages: Vec<String>,
}

impl GroupCtx {
    pub fn new(name: impl Into<String>, priority: Priority) -> Self {
        GroupCtx {
            name: name.into(),
            priority,
            scored: 0,
            possible: 0,
            messages: Vec::new(),
        }
    }

    /// One point: earned when `ok`, else `message` is recorded.
    pub fn assert_true(&mut self, ok: bool, message: impl FnOnce() -> String) -> bool {
        self.possible += 1;
        if ok {
            self.scored += 1;
        } else {
            self.messages.push(message());
        }
        ok
    }

    /// Adds points directly.
    pub fn add(&mut self, scored: u32, possible: u32) {
        self.scored += scored;
        self.possible += possible;
    }

    pub fn message(&mut self, message: impl Into<String>) {
        self.messages.push(message.into());
    }

    pub fn result(self) -> CheckResult {
        CheckResult::new(
            self.name,
            self.priority,
            self.scored,
            self.possible,
            self.messages,
        )
    }
}

/// Results of one group after summing, as the reports show them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    pub name: String,
    pub priority: Priority,
    pub scored: u32,
    pub possible: u32,
    pub messages: Vec<String>,
}

impl Group {
    pub fn passed(&self) -> bool {
        self.scored >= self.possible
    }
}

/// One suite's verdict on one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SuiteReport {
    /// e.g. `cf:1.6`.
    pub suite: String,
    pub passed: bool,
    pub scored: u32,
    pub possible: u32,
    /// Rules that failed internally (each makes the file non-compliant), as `rule: message`.
    pub errors: Vec<String>,
    /// Groups sorted by priority (high first), then name.
    pub groups: Vec<Group>,
}

impl SuiteReport {
    /// Sums results into groups by (name, priority), keeping messages in order, and decides the
    /// verdict at `criteria`.
    pub fn from_results(
        suite: &str,
        results: Vec<CheckResult>,
        errors: Vec<String>,
        criteria: Criteria,
    ) -> Self {
        let mut groups: Vec<Group> = Vec::new();
        // Where each (name, priority) group sits, so summing is linear in the results (IMOS
        // groups are named after variables: thousands in some files).
        let mut at: HashMap<(String, Priority), usize> = HashMap::new();
        for r in results {
            match at
                .get(&(r.name.clone(), r.priority))
                .map(|&i| &mut groups[i])
            {
                Some(g) => {
                    g.scored += r.scored;
                    g.possible += r.possible;
                    g.messages.extend(r.messages);
                }
                None => {
                    at.insert((r.name.clone(), r.priority), groups.len());
                    groups.push(Group {
                        name: r.name,
                        priority: r.priority,
                        scored: r.scored,
                        possible: r.possible,
                        messages: r.messages,
                    });
                }
            }
        }
        // A group worth no points says nothing about the file: the reference leaves it out.
        groups.retain(|g| g.possible > 0);
        groups.sort_by(|a, b| {
            b.priority
                .cmp(&a.priority)
                .then_with(|| a.name.cmp(&b.name))
        });
        let scored = groups.iter().map(|g| g.scored).sum();
        let possible = groups.iter().map(|g| g.possible).sum();
        let threshold = criteria.threshold();
        let passed =
            errors.is_empty() && groups.iter().all(|g| g.priority < threshold || g.passed());
        SuiteReport {
            suite: suite.to_string(),
            passed,
            scored,
            possible,
            errors,
            groups,
        }
    }

    /// Groups that lost points at `priority`.
    pub fn failed_groups(&self, priority: Priority) -> impl Iterator<Item = &Group> {
        self.groups
            .iter()
            .filter(move |g| g.priority == priority && !g.passed())
    }
}

/// The verdict on one file across suites.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileReport {
    pub file: String,
    pub compliant: bool,
    /// Why no suite could run (e.g. "invalid NetCDF file"), else `None`.
    pub error: Option<String>,
    pub suites: Vec<SuiteReport>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(name: &str, p: Priority, scored: u32, possible: u32) -> CheckResult {
        CheckResult::new(
            name,
            p,
            scored,
            possible,
            if scored < possible {
                vec![format!("{name} lost")]
            } else {
                vec![]
            },
        )
    }

    #[test]
    fn results_group_by_name_and_priority_and_criteria_pick_the_levels_that_count() {
        let results = vec![
            r("§3.1 Units", Priority::High, 3, 3),
            r("§3.1 Units", Priority::High, 0, 1),
            r("§2.6 Attributes", Priority::Medium, 1, 1),
            r("title", Priority::Low, 0, 1),
        ];
        let strict = SuiteReport::from_results("cf:1.6", results.clone(), vec![], Criteria::Strict);
        assert_eq!(strict.groups.len(), 3);
        assert_eq!((strict.groups[0].scored, strict.groups[0].possible), (3, 4));
        assert_eq!((strict.scored, strict.possible), (4, 6));
        assert!(!strict.passed);
        assert!(
            !SuiteReport::from_results("s", results[2..].to_vec(), vec![], Criteria::Strict).passed
        );
        assert!(
            SuiteReport::from_results("s", results[2..].to_vec(), vec![], Criteria::Normal).passed
        );
        assert!(!SuiteReport::from_results("s", results.clone(), vec![], Criteria::Lenient).passed);
        assert!(
            SuiteReport::from_results("s", results[2..].to_vec(), vec![], Criteria::Lenient).passed
        );
    }

    #[test]
    fn an_internal_rule_failure_fails_the_suite_whatever_the_score() {
        let report = SuiteReport::from_results(
            "s",
            vec![],
            vec!["check_flags: bad".into()],
            Criteria::Lenient,
        );
        assert!(!report.passed);
    }

    #[test]
    fn a_group_context_counts_one_point_per_assertion() {
        let mut ctx = GroupCtx::new("TIME", Priority::High);
        assert!(ctx.assert_true(true, || unreachable!()));
        assert!(!ctx.assert_true(false, || "TIME must be monotonic".into()));
        let res = ctx.result();
        assert_eq!((res.scored, res.possible), (1, 2));
        assert_eq!(res.messages, ["TIME must be monotonic"]);
    }
}
