//! The one output flag of every command that prints a report: `--format text|json`, spelled the
//! same everywhere (`check`'s own, compliance-checker's, included).

use clap::ValueEnum;

/// What a command prints on stdout: lines for a person, or JSON for a machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Format {
    #[default]
    Text,
    Json,
}
