//! Parity of the `imos:1.3`, `imos:1.4` and `ghrsst:1.0` suites with the reference checker over
//! the IMOS corpus (../shared/imos-corpus): for every file and suite, the verdict at normal and
//! lenient criteria and every scored group (name, priority, points) equal the reference's report.
//! Skipped when the corpus is absent, unless INGEST_TEST_REQUIRE_CORPUS=1.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use ocean_ingest::compliance::{FileReport, Priority, check_file, parse_suite};
use ocean_ingest::pipeline::Criteria;

const SUITES: [&str; 3] = ["imos:1.3", "imos:1.4", "ghrsst:1.0"];

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/imos-corpus");
    if dir.join("reference/verdicts.tsv").is_file() {
        return Some(dir);
    }
    if std::env::var("INGEST_TEST_REQUIRE_CORPUS").as_deref() == Ok("1") {
        panic!(
            "the IMOS corpus is not at {} but INGEST_TEST_REQUIRE_CORPUS=1 requires it",
            dir.display()
        );
    }
    eprintln!("SKIPPED: no IMOS corpus at {}", dir.display());
    None
}

/// One reference row: the file (relative to the corpus' parent), suite, and verdicts.
struct Verdict {
    file: String,
    suite: String,
    normal: bool,
    lenient: bool,
}

fn verdicts(corpus: &Path) -> Vec<Verdict> {
    let text = std::fs::read_to_string(corpus.join("reference/verdicts.tsv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (file, suite, normal, lenient) = (
        col("file"),
        col("suite"),
        col("pass_normal"),
        col("pass_lenient"),
    );
    lines
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(|f| SUITES.contains(&f[suite]))
        .map(|f| Verdict {
            file: f[file].to_string(),
            suite: f[suite].to_string(),
            normal: f[normal] == "1",
            lenient: f[lenient] == "1",
        })
        .collect()
}

type GroupSet = BTreeSet<(String, u8, u32, u32)>;

/// The reference's scored groups for a file and suite (`None` when it has no report).
fn reference_groups(corpus: &Path, v: &Verdict) -> Option<GroupSet> {
    let rel = v.file.strip_prefix("imos-corpus/").unwrap();
    let json = corpus
        .join("reference")
        .join(v.suite.replace(':', "-"))
        .join(rel)
        .with_extension("json");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).ok()?).unwrap();
    let (_, by_suite) = doc.as_object()?.iter().next()?;
    let groups = by_suite[v.suite.as_str()]["all_priorities"].as_array()?;
    Some(
        groups
            .iter()
            .map(|g| {
                let value = g["value"].as_array().unwrap();
                (
                    g["name"].as_str().unwrap().to_string(),
                    g["weight"].as_u64().unwrap() as u8,
                    value[0].as_u64().unwrap() as u32,
                    value[1].as_u64().unwrap() as u32,
                )
            })
            .collect(),
    )
}

fn our_groups(report: &FileReport) -> GroupSet {
    report
        .suites
        .iter()
        .flat_map(|s| &s.groups)
        .filter(|g| g.possible > 0)
        .map(|g| (g.name.clone(), g.priority as u8, g.scored, g.possible))
        .collect()
}

fn passes(report: &FileReport, criteria: Criteria) -> bool {
    report.error.is_none()
        && report.suites.iter().all(|s| {
            s.errors.is_empty()
                && s.groups
                    .iter()
                    .all(|g| g.priority < criteria.threshold() || g.passed())
        })
}

#[test]
fn imos_and_ghrsst_suites_agree_with_the_reference_on_every_corpus_file() {
    let Some(corpus) = corpus() else { return };
    let root = corpus.parent().unwrap();
    let rows = verdicts(&corpus);
    assert!(rows.len() >= 160, "only {} reference rows", rows.len());
    let mut problems = Vec::new();
    let (mut failed_hm, mut covered_hm) = (0, 0);
    for v in &rows {
        let suite = parse_suite(&v.suite).unwrap();
        let report = check_file(&root.join(&v.file), &[suite], Criteria::Strict, &[]);
        for (criteria, want) in [(Criteria::Normal, v.normal), (Criteria::Lenient, v.lenient)] {
            let got = passes(&report, criteria);
            if got != want {
                problems.push(format!(
                    "{} {}: {criteria:?} verdict {got}, reference {want}",
                    v.suite, v.file
                ));
            }
        }
        let Some(want) = reference_groups(&corpus, v) else {
            // No report: the reference could not open the file; neither can we.
            if report.error.is_none() {
                problems.push(format!(
                    "{} {}: opened, the reference could not",
                    v.suite, v.file
                ));
            }
            continue;
        };
        let got = our_groups(&report);
        for g in want
            .iter()
            .filter(|g| g.1 >= Priority::Medium as u8 && g.2 < g.3)
        {
            failed_hm += 1;
            if got.iter().any(|o| o.0 == g.0 && o.1 == g.1 && o.2 < o.3) {
                covered_hm += 1;
            }
        }
        for missing in want.difference(&got) {
            problems.push(format!(
                "{} {}: reference group {missing:?} differs",
                v.suite, v.file
            ));
        }
        for extra in got.difference(&want) {
            problems.push(format!(
                "{} {}: our group {extra:?} differs",
                v.suite, v.file
            ));
        }
    }
    eprintln!(
        "{} file/suite pairs; HIGH/MEDIUM groups the reference failed: {failed_hm}, failed by us \
         too: {covered_hm}",
        rows.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(failed_hm, covered_hm);
}
