//! `ocean-ingest check`: run compliance suites over local NetCDF files, as a provider would
//! before uploading, with a report for a person (text) or a machine (one JSON object per file).

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::compliance::{self, Criteria, FileReport, Priority};
use crate::error::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A suite to run, e.g. cf:1.6 (repeatable) [default: cf:1.6]
    #[arg(long = "suite", short = 's', value_name = "SUITE")]
    pub suites: Vec<String>,
    /// Which failures count: strict (all), normal (high and medium), lenient (high only)
    #[arg(long, value_enum, default_value = "normal")]
    pub criteria: Criteria,
    /// A check to skip, as the reference names it: check_units, check_units:M (keep only high
    /// priority results), check_units:L (drop low priority results) (repeatable)
    #[arg(long = "skip-check", value_name = "CHECK")]
    pub skip_checks: Vec<String>,
    /// Report format: text for a person, json for one JSON object per file per line
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// The NetCDF files to check
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// Exit 0 when every file is compliant, 1 when any is not, 2 on usage errors.
pub fn main(args: CheckArgs) -> ExitCode {
    let names = if args.suites.is_empty() {
        vec!["cf:1.6".to_string()]
    } else {
        args.suites.clone()
    };
    let mut suites = Vec::new();
    for n in &names {
        match compliance::parse_suite(n) {
            Ok(s) => suites.push(s),
            Err(e) => {
                eprintln!("error: --suite {n}: {e}");
                return ExitCode::Usage;
            }
        }
    }
    if let Some(missing) = args.files.iter().find(|f| !f.is_file()) {
        eprintln!(
            "error: {}: no such file (give the path of a NetCDF file to check)",
            missing.display()
        );
        return ExitCode::Usage;
    }
    let mut all = true;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for path in &args.files {
        let mut report = compliance::check_file(path, &suites, args.criteria, &args.skip_checks);
        report.file = path.display().to_string();
        all &= report.compliant;
        let written = match args.format {
            Format::Json => serde_json::to_string(&report)
                .map_err(std::io::Error::other)
                .and_then(|line| writeln!(out, "{line}")),
            Format::Text => write!(out, "{}", text_report(&report, args.criteria)),
        };
        if written.is_err() {
            // A closed pipe (e.g. `| head`): nothing more to say.
            break;
        }
    }
    if all {
        ExitCode::Ok
    } else {
        ExitCode::Rejected
    }
}

/// The report for a person: per suite, the failed groups that count at `criteria`, grouped by
/// priority like the reference's report, with their messages.
pub fn text_report(report: &FileReport, criteria: Criteria) -> String {
    let mut s = String::new();
    let verdict = if report.compliant {
        "compliant"
    } else {
        "NOT compliant"
    };
    s += &format!("{}: {verdict}\n", report.file);
    if let Some(e) = &report.error {
        s += &format!("  {e}\n");
    }
    let threshold = criteria.threshold();
    for suite in &report.suites {
        let verdict = if suite.passed { "passed" } else { "FAILED" };
        s += &format!(
            "  {}: {verdict} ({}/{} points, criteria {})\n",
            suite.suite,
            suite.scored,
            suite.possible,
            format!("{criteria:?}").to_lowercase()
        );
        for e in &suite.errors {
            s += &format!("    rule error (the file cannot pass): {e}\n");
        }
        for p in [Priority::High, Priority::Medium, Priority::Low] {
            if p < threshold {
                continue;
            }
            let failed: Vec<_> = suite.failed_groups(p).collect();
            if failed.is_empty() {
                continue;
            }
            s += &format!("    {} priority:\n", title(p));
            for g in failed {
                s += &format!("      {} ({}/{})\n", g.name, g.scored, g.possible);
                for m in &g.messages {
                    s += &format!("        * {m}\n");
                }
            }
        }
    }
    s
}

fn title(p: Priority) -> &'static str {
    match p {
        Priority::High => "High",
        Priority::Medium => "Medium",
        Priority::Low => "Low",
    }
}
