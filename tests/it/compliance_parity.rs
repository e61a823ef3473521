//! Parity with the production checker (compliance-checker 5.0.2 + cc-plugin-imos 1.5.6) over the
//! IMOS corpus in ../shared/imos-corpus (INGEST_CORPUS_DIR overrides; the corpus is read in
//! place, never copied into the repository). For every (file, suite) pair of
//! reference/verdicts.tsv whose suite this build has: our pass/fail at `normal` and `lenient`
//! equals the reference's, and every group the reference failed at HIGH or MEDIUM is failed by
//! ours. For the suites in EXACT_SCORES every group's points must also equal the reference's
//! strict report. Known, documented differences (docs/PARITY.md) are listed in KNOWN.

use std::collections::BTreeMap;
use std::path::Path;

use ocean_ingest::compliance::{self, Criteria, FileReport, Priority};

use crate::common::corpus;

/// (file as in verdicts.tsv, suite, why ours differs): each is explained in docs/PARITY.md.
const KNOWN: &[(&str, &str, &str)] = &[];

/// Suites whose every group score must equal the reference's.
const EXACT_SCORES: &[&str] = &["cf:1.6", "imos:1.3", "imos:1.4", "ghrsst:1.0"];

struct Row {
    file: String,
    suite: String,
    pass_lenient: bool,
    pass_normal: bool,
    failed_high: Vec<String>,
    failed_medium: Vec<String>,
}

fn rows(corpus: &Path) -> Vec<Row> {
    let text = std::fs::read_to_string(corpus.join("reference/verdicts.tsv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (f, s, l, n, h, m) = (
        col("file"),
        col("suite"),
        col("pass_lenient"),
        col("pass_normal"),
        col("failed_high"),
        col("failed_medium"),
    );
    let list = |c: Option<&&str>| -> Vec<String> {
        c.map(|c| {
            c.split("; ")
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
    };
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let c: Vec<&str> = line.split('\t').collect();
            Row {
                file: c[f].to_string(),
                suite: c[s].to_string(),
                pass_lenient: c[l] == "1",
                pass_normal: c[n] == "1",
                failed_high: list(c.get(h)),
                failed_medium: list(c.get(m)),
            }
        })
        .collect()
}

fn failed(report: &FileReport, p: Priority) -> Vec<String> {
    report
        .suites
        .iter()
        .flat_map(|s| s.failed_groups(p).map(|g| g.name.clone()))
        .collect()
}

/// The reference's strict report as (group, priority) → (scored, possible).
fn reference_scores(
    corpus: &Path,
    file: &str,
    suite: &str,
) -> Option<BTreeMap<(String, u8), (u32, u32)>> {
    let rel = file.strip_prefix("imos-corpus/").unwrap_or(file);
    let path = corpus
        .join("reference")
        .join(suite.replace(':', "-"))
        .join(rel.strip_suffix(".nc").unwrap_or(rel).to_string() + ".json");
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    let per_suite = doc.as_object()?.values().next()?.get(suite)?;
    let groups = per_suite.get("all_priorities")?.as_array()?;
    Some(
        groups
            .iter()
            .map(|g| {
                let v = g["value"].as_array().unwrap();
                (
                    (
                        g["name"].as_str().unwrap().to_string(),
                        g["weight"].as_u64().unwrap() as u8,
                    ),
                    (v[0].as_u64().unwrap() as u32, v[1].as_u64().unwrap() as u32),
                )
            })
            .collect(),
    )
}

#[test]
fn our_verdicts_match_the_production_checker_on_the_imos_corpus() {
    let Some(corpus) = corpus() else { return };
    let known_suites = compliance::known_suites();
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    let mut problems = Vec::new();
    // suite → [pairs, normal agree, lenient agree, ref HIGH/MEDIUM failed groups, covered, exact]
    let mut figures: BTreeMap<String, [usize; 6]> = BTreeMap::new();
    for row in rows(&corpus) {
        if !known_suites.contains(&row.suite.as_str()) {
            *skipped.entry(row.suite.clone()).or_default() += 1;
            continue;
        }
        let path = corpus.parent().unwrap().join(&row.file);
        let suite = compliance::parse_suite(&row.suite).unwrap();
        let run = |c| compliance::check_file(&path, std::slice::from_ref(&suite), c, &[]);
        let (normal, lenient) = (run(Criteria::Normal), run(Criteria::Lenient));
        let known = KNOWN.iter().find(|k| k.0 == row.file && k.1 == row.suite);
        let f = figures.entry(row.suite.clone()).or_default();
        f[0] += 1;
        let mut wrong = Vec::new();
        if normal.compliant == row.pass_normal {
            f[1] += 1;
        } else {
            wrong.push(format!(
                "normal: ours {} reference {}",
                normal.compliant, row.pass_normal
            ));
        }
        if lenient.compliant == row.pass_lenient {
            f[2] += 1;
        } else {
            wrong.push(format!(
                "lenient: ours {} reference {}",
                lenient.compliant, row.pass_lenient
            ));
        }
        let ours_high = failed(&normal, Priority::High);
        let ours_medium = failed(&normal, Priority::Medium);
        for (theirs, ours, p) in [
            (&row.failed_high, &ours_high, "HIGH"),
            (&row.failed_medium, &ours_medium, "MEDIUM"),
        ] {
            for g in theirs {
                f[3] += 1;
                if ours.contains(g) {
                    f[4] += 1;
                } else {
                    wrong.push(format!(
                        "{p} group {g:?} failed by the reference, not by ours"
                    ));
                }
            }
        }
        if normal.error.is_none() && EXACT_SCORES.contains(&row.suite.as_str()) {
            let strict = run(Criteria::Strict);
            let ours: BTreeMap<(String, u8), (u32, u32)> = strict.suites[0]
                .groups
                .iter()
                .map(|g| ((g.name.clone(), g.priority as u8), (g.scored, g.possible)))
                .collect();
            match reference_scores(&corpus, &row.file, &row.suite) {
                Some(theirs) if theirs == ours => f[5] += 1,
                Some(theirs) => wrong.push(format!(
                    "group scores differ: ours {ours:?}\nreference {theirs:?}"
                )),
                None => wrong.push("no reference report".into()),
            }
        } else if normal.error.is_some() {
            // A file that does not open: the reference's "invalid NetCDF file".
            let e = normal.error.clone().unwrap_or_default();
            if e.starts_with("invalid NetCDF file") {
                f[5] += 1;
            } else {
                wrong.push(format!("unexpected error {e}"));
            }
        }
        match (known, wrong.is_empty()) {
            (Some(k), true) => problems.push(format!(
                "{} {}: listed as a known difference ({}) but now agrees: remove it from KNOWN",
                row.file, row.suite, k.2
            )),
            (None, false) => problems.push(format!(
                "{} {}:\n  {}",
                row.file,
                row.suite,
                wrong.join("\n  ")
            )),
            _ => {}
        }
    }
    for (suite, f) in &figures {
        eprintln!(
            "PARITY {suite}: {} pairs; normal {}/{} agree; lenient {}/{} agree; reference HIGH/MEDIUM failed groups failed by ours {}/{}; identical scores {}/{}",
            f[0], f[1], f[0], f[2], f[0], f[4], f[3], f[5], f[0]
        );
    }
    for (suite, n) in &skipped {
        eprintln!("PARITY {suite}: {n} pairs not checked: the suite is not in this build");
    }
    for k in KNOWN {
        eprintln!("PARITY known difference: {} {}: {}", k.0, k.1, k.2);
    }
    assert!(
        !figures.is_empty(),
        "no suite of the corpus is in this build"
    );
    assert!(
        problems.is_empty(),
        "{} disagreements:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
