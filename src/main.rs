//! `ocean-ingest`: parse the command line, run it, exit with the code Batch's retry rules read.

use clap::Parser;

/// mimalloc serves every allocation of the process: Rust's through this, and with the crate's
/// `override` feature libc's `malloc` family too, so HDF5, libnetcdf and SQLite allocate from it
/// as well. An ordinary job makes some hundred thousand small allocations, most of them HDF5's
/// while it reads a header; glibc's allocator spent a fifth of the job's CPU time on them
/// (BENCHMARKS.md, "An ordinary `run`'s allocations").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = ocean_ingest::cli::Cli::parse();
    ocean_ingest::cli::main(cli).into()
}
