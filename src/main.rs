//! `ocean-ingest`: parse the command line, run it, exit with the code Batch's retry rules read.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = ocean_ingest::cli::Cli::parse();
    ocean_ingest::cli::main(cli).into()
}
