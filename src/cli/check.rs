//! `ocean-ingest check`: run compliance suites over local NetCDF files, as a provider would
//! before uploading, with a report for a person (text) or a machine (one JSON object per file).
//! It takes compliance-checker's own flags (`-t`, `-c`, `-s`... see [`CheckArgs`]), so providers'
//! scripts keep working.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use crate::compliance::{self, Criteria, FileReport, Priority, Suite};
use crate::error::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

impl Format {
    /// The extension compliance-checker gives each format's file when several are asked for.
    fn extension(self) -> &'static str {
        match self {
            Format::Text => "txt",
            Format::Json => "json",
        }
    }
}

const AFTER_HELP: &str = "\
The options are compliance-checker's (5.0.2, with cc-plugin-imos 1.5.6), under its names and
ours: -t/--test (our --suite, and -s), -c/--criteria, --skip-checks (our --skip-check), -f/--format,
-o/--output, -l/--list-tests, -D/--describe-checks. Two differences: -s names a suite here, not a
check to skip (use --skip-checks), and the json format is ours: one object per file per line with
each suite's verdict, points and groups. On `check`, -o/--output is where the report goes; on
`run` it is the old spelling of the report format.

Exit codes: 0 every file compliant, 1 any file not, 2 usage errors (nothing checked).";

/// `check`'s options, in compliance-checker's order and spelling (with our older names as
/// aliases), before the ingest settings every command takes.
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct CheckArgs {
    /// A suite to run: cf:1.6, imos:1.3, imos:1.4 or ghrsst:1.0 (repeatable) [default: cf:1.6].
    /// A name alone (or NAME:latest) means its latest version in compliance-checker 5.0.2 with
    /// cc-plugin-imos 1.5.6: imos:1.4, ghrsst:1.0, cf:1.8 (not in this build)
    #[arg(
        short = 't',
        long = "test",
        visible_short_alias = 's',
        visible_alias = "suite",
        value_name = "SUITE"
    )]
    pub suites: Vec<String>,
    /// Which failures count: strict (all), normal (high and medium), lenient (high only)
    #[arg(short = 'c', long, value_enum, default_value = "normal")]
    pub criteria: Criteria,
    /// A check to skip, as compliance-checker names it: check_units (or check_units:A) skips it,
    /// check_units:M keeps only its high priority results, check_units:L drops its low priority
    /// results (repeatable)
    #[arg(
        long = "skip-checks",
        visible_alias = "skip-check",
        value_name = "CHECK"
    )]
    pub skip_checks: Vec<String>,
    /// Report format: text for a person, json for one JSON object per file per line. Repeatable:
    /// with several formats and an output file, each goes to that file with the format's
    /// extension (report.txt, report.json) [default: text]
    #[arg(short = 'f', long = "format", value_enum, value_name = "FORMAT")]
    pub formats: Vec<Format>,
    /// Where the report goes: a file, or - for stdout [default: -]. One for all files, or one per
    /// file in order (repeatable)
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub outputs: Vec<PathBuf>,
    /// List the suites this build runs, and exit
    #[arg(short = 'l', long)]
    pub list_tests: bool,
    /// List the checks of the suites given with -t (all suites without), and exit
    #[arg(short = 'D', long)]
    pub describe_checks: bool,
    /// The NetCDF files to check
    #[arg(
        required_unless_present_any = ["list_tests", "describe_checks"],
        value_name = "FILE"
    )]
    pub files: Vec<PathBuf>,
}

/// Where one report goes: stdout or a file, in one format, for a run of the files.
struct Sink {
    path: Option<PathBuf>,
    format: Format,
    files: std::ops::Range<usize>,
}

/// Exit 0 when every file is compliant, 1 when any is not, 2 on usage errors.
pub fn main(args: CheckArgs) -> ExitCode {
    if args.list_tests {
        println!("ocean-ingest check suites:");
        let mut known = compliance::known_suites();
        known.sort();
        for s in known {
            println!(" - {s}");
        }
        return ExitCode::Ok;
    }
    let suites = match resolve(&args.suites, args.describe_checks) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::Usage;
        }
    };
    if args.describe_checks {
        for suite in &suites {
            let title = format!(" {suite} ");
            println!("{0}\n{title}\n{0}", "=".repeat(title.len()));
            for rule in compliance::rules(suite) {
                println!("- {}", rule.id);
            }
        }
        return ExitCode::Ok;
    }
    warn_about_skips(&args.skip_checks, &suites);
    if let Some(missing) = args.files.iter().find(|f| !f.is_file()) {
        eprintln!(
            "error: {}: no such file (give the path of a NetCDF file to check)",
            missing.display()
        );
        return ExitCode::Usage;
    }
    let sinks = match sinks(&args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::Usage;
        }
    };
    // Every output file is created before any check runs, so a bad path costs no work.
    let mut writers: Vec<Box<dyn Write>> = Vec::new();
    for sink in &sinks {
        writers.push(match &sink.path {
            None => Box::new(std::io::stdout().lock()),
            Some(p) => match File::create(p) {
                Ok(f) => Box::new(BufWriter::new(f)),
                Err(e) => {
                    eprintln!("error: --output {}: {e}", p.display());
                    return ExitCode::Usage;
                }
            },
        });
    }
    let mut all = true;
    let mut closed = vec![false; sinks.len()];
    for (i, path) in args.files.iter().enumerate() {
        let mut report = compliance::check_file(path, &suites, args.criteria, &args.skip_checks);
        report.file = path.display().to_string();
        all &= report.compliant;
        for (k, sink) in sinks.iter().enumerate() {
            if !sink.files.contains(&i) || closed[k] {
                continue;
            }
            let written = match sink.format {
                Format::Json => serde_json::to_string(&report)
                    .map_err(std::io::Error::other)
                    .and_then(|line| writeln!(writers[k], "{line}")),
                Format::Text => write!(writers[k], "{}", text_report(&report, args.criteria)),
            };
            if let Err(e) = written {
                // A closed pipe (e.g. `| head`) has nothing more to take; a file must say so.
                if let Some(p) = &sink.path {
                    eprintln!("error: writing {}: {e}", p.display());
                    return ExitCode::Usage;
                }
                closed[k] = true;
            }
        }
    }
    for (k, w) in writers.iter_mut().enumerate() {
        if let (Err(e), Some(p)) = (w.flush(), &sinks[k].path) {
            eprintln!("error: writing {}: {e}", p.display());
            return ExitCode::Usage;
        }
    }
    if all {
        ExitCode::Ok
    } else {
        ExitCode::Rejected
    }
}

/// The suites to run: each name as compliance-checker resolves it (see
/// [`compliance::resolve_suite`]); cf:1.6 when none is given (every suite for `-D`).
fn resolve(names: &[String], describe: bool) -> Result<Vec<Suite>, String> {
    if names.is_empty() {
        let defaults = if describe {
            let mut all = compliance::known_suites();
            all.sort();
            all
        } else {
            vec!["cf:1.6"]
        };
        return defaults
            .into_iter()
            .map(compliance::parse_suite)
            .collect::<Result<_, _>>();
    }
    names
        .iter()
        .map(|n| {
            compliance::resolve_suite(n).map_err(|e| {
                // compliance-checker's -s skips a check; ours names a suite.
                if compliance::is_rule_id(n) {
                    format!(
                        "--test {n}: {e}. {n} is a check: to skip it give --skip-checks {n} \
                         (-s names a suite here, not a check to skip)"
                    )
                } else {
                    format!("--test {n}: {e}")
                }
            })
        })
        .collect()
}

/// Warns, as compliance-checker does, about a skip level other than A, M or L (the whole check
/// is skipped), and about a check no requested suite has (nothing is skipped).
fn warn_about_skips(skip_checks: &[String], suites: &[Suite]) {
    for spec in skip_checks {
        let (name, level) = spec.split_once(':').unwrap_or((spec, "A"));
        if !["A", "M", "L"].contains(&level) {
            tracing::warn!(
                "--skip-checks {spec}: level {level:?} is not A, M or L; skipping the whole check \
                 {name}"
            );
        }
        if !suites
            .iter()
            .any(|s| compliance::rules(s).iter().any(|r| r.id == name))
        {
            let list: Vec<String> = suites.iter().map(Suite::to_string).collect();
            tracing::warn!(
                "--skip-checks {spec}: no check of {} is named {name}; nothing is skipped \
                 (ocean-ingest check -D lists the checks)",
                list.join(", ")
            );
        }
    }
}

/// Where each report goes, as compliance-checker's `-o`: stdout when none is given; one output
/// for all files, or one per file; with several formats, one file per format named by extension.
fn sinks(args: &CheckArgs) -> Result<Vec<Sink>, String> {
    let formats = if args.formats.is_empty() {
        vec![Format::Text]
    } else {
        let mut unique = Vec::new();
        for f in &args.formats {
            if !unique.contains(f) {
                unique.push(*f);
            }
        }
        unique
    };
    let n = args.files.len();
    let outputs: Vec<(Option<&Path>, std::ops::Range<usize>)> = match args.outputs.len() {
        0 => vec![(None, 0..n)],
        1 => vec![(stdout_or_path(&args.outputs[0]), 0..n)],
        k if k == n => args
            .outputs
            .iter()
            .enumerate()
            .map(|(i, o)| (stdout_or_path(o), i..i + 1))
            .collect(),
        k => {
            return Err(format!(
                "{k} --output files for {n} files: give one output for all files, or one per \
                 file in the same order"
            ));
        }
    };
    let mut out = Vec::new();
    for (path, files) in outputs {
        for &format in &formats {
            let path = path.map(|p| {
                if formats.len() > 1 {
                    p.with_extension(format.extension())
                } else {
                    p.to_path_buf()
                }
            });
            out.push(Sink {
                path,
                format,
                files: files.clone(),
            });
        }
    }
    Ok(out)
}

fn stdout_or_path(p: &Path) -> Option<&Path> {
    (p != Path::new("-")).then_some(p)
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
