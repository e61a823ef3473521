//! The command line: subcommands, their help, and the mapping of every outcome to an exit code.

mod backoff;
mod check;
mod dashboard;
mod event;
mod format;
mod pipelines;
mod replay;
mod run;
mod status;
mod tally;

use clap::{Parser, Subcommand};

use crate::error::{ExitCode, JobError};
use crate::settings::{Settings, SettingsArgs};

const AFTER_HELP: &str = "\
Exit codes (a contract with AWS Batch's retry strategy):
  0   published, or nothing to do (duplicate event, already ingested)
  1   input rejected (data problem); provider notified; input kept in the error store
  2   usage or configuration error
  70  internal error (bug): do not retry, raise an alarm
  75  transient failure (storage, database or network): Batch retries; on an attempt that is not
      the last, the job first waits INGEST_RETRY_BACKOFF_SECONDS × 2^(attempt − 1), ±25 %

With no settings at all everything is local under ./var: the stores are folders, the index is
SQLite and notifications land in an outbox folder. Try:
  ocean-ingest run tests/data/IMOS_ANMN-NRS_CDEKOSTUZ_20140703T021045Z_NRSMAI_FV01_Profile-SBE-19plus_C-20160524T003914Z.nc";

/// Ingest ocean observation files: check them against CF/IMOS conventions, publish them to the
/// archive and public stores, record them in the index and report to the provider.
#[derive(Debug, Parser)]
#[command(name = "ocean-ingest", version, about, long_about = None, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub settings: SettingsArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Ingest one upload end to end: fetch, resolve, check, publish, harvest, notify
    Run(run::RunArgs),
    /// Check NetCDF files against the CF / IMOS / GHRSST conventions (exit 0 compliant, 1 not)
    Check(check::CheckArgs),
    /// Inspect and validate pipeline files
    #[command(subcommand)]
    Pipelines(pipelines::PipelinesCommand),
    /// Ingest uploads of the incoming store again: queue their S3 events, or run them here
    Replay(replay::ReplayArgs),
    /// What each stream received, published, rejected and failed; the claims held or expired;
    /// the time from upload to publication (or, with --unrouted, uploads no pipeline routes)
    Status(status::StatusArgs),
    /// Write the status as a self-contained HTML page (dashboard.html)
    Dashboard(dashboard::DashboardArgs),
}

/// Runs a parsed command line and returns the exit code.
pub fn main(cli: Cli) -> ExitCode {
    crate::logging::init(cli.settings.log_format);
    crate::netcdf::set_max_file_values(cli.settings.max_file_values);
    match cli.command {
        Command::Check(args) => check::main(args),
        Command::Pipelines(cmd) => pipelines::main(&cli.settings, cmd),
        Command::Run(args) => match Settings::resolve(&cli.settings) {
            Ok(settings) => {
                one_malloc_arena();
                let runtime = runtime();
                // Not awaited: the job's first open of a file waits for it, if it comes first.
                drop(runtime.spawn_blocking(crate::netcdf::prepare));
                let code = runtime.block_on(async {
                    crate::shutdown::listen();
                    let backoff = backoff::Backoff::of(&settings);
                    let code = match args.event.clone() {
                        Some(path) => event::main(settings, args, &path).await,
                        None => run::main(settings, args).await,
                    };
                    // Every job has ended (claims released, reports stored) before the wait.
                    if code == ExitCode::Transient {
                        backoff.wait().await;
                    }
                    code
                });
                end_run(runtime, code)
            }
            Err(e) => usage_error(&JobError::usage(e.to_string())),
        },
        Command::Replay(args) => match Settings::resolve(&cli.settings) {
            Ok(settings) => runtime().block_on(async {
                crate::shutdown::listen();
                replay::main(settings, args).await
            }),
            Err(e) => usage_error(&JobError::usage(e.to_string())),
        },
        Command::Status(args) => match Settings::resolve(&cli.settings) {
            Ok(settings) => runtime().block_on(status::main(settings, args)),
            Err(e) => usage_error(&JobError::usage(e.to_string())),
        },
        Command::Dashboard(args) => match Settings::resolve(&cli.settings) {
            Ok(settings) => runtime().block_on(dashboard::main(settings, args)),
            Err(e) => usage_error(&JobError::usage(e.to_string())),
        },
    }
}

/// Has glibc's malloc serve every thread from one arena. `run` is one job: its steps take turns
/// on the runtime's worker and blocking threads, and with an arena per thread each kept its own
/// high-water mark of freed memory (the check's reads on one blocking thread, the publish and
/// index on others), 1.5 MiB of a whole `run`'s peak on a 5 M-point series (BENCHMARKS.md).
/// Call before the runtime starts its threads. `replay` keeps glibc's default: its jobs run side
/// by side, where one arena would have them wait on each other's allocations.
fn one_malloc_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        /// glibc's `M_ARENA_MAX` (malloc.h).
        const M_ARENA_MAX: std::ffi::c_int = -8;
        unsafe extern "C" {
            fn mallopt(param: std::ffi::c_int, value: std::ffi::c_int) -> std::ffi::c_int;
        }
        // SAFETY: glibc's documented tuning call, allowed at any time (it governs the arenas
        // made afterwards); a refusal (0) leaves its default, which only costs memory.
        unsafe {
            mallopt(M_ARENA_MAX, 1);
        }
    }
}

/// Ends the process once `run` is done. By then every job it ran has ended: each step awaited
/// the writes it owes the data (copies, index, report, result message), the claims are settled
/// and the outcome is printed. What a normal return would still do is tear the process down
/// piece by piece: join the runtime's worker and blocking threads one by one, then run HDF5's
/// and the allocator's exit handlers. Nobody reads any of it, and it was about 1 ms of an
/// ordinary job's wall time (BENCHMARKS.md, "An ordinary `run`'s teardown"), so the process
/// flushes its output and ends at once, as the kernel would end it on a `SIGKILL` a moment
/// later (which the design already survives at any step, through the ledger's lease and the
/// publish journal).
fn end_run(runtime: tokio::runtime::Runtime, code: ExitCode) -> ExitCode {
    // Not dropped: dropping waits for every thread of the runtime to stop.
    std::mem::forget(runtime);
    exit_now(code)
}

/// Flushes what the process printed and ends it without exit handlers.
#[cfg(unix)]
fn exit_now(code: ExitCode) -> ! {
    use std::io::Write;
    // Rust's stdout buffers up to a line; stderr does not buffer.
    let _ = std::io::stdout().lock().flush();
    unsafe extern "C" {
        fn fflush(stream: *mut std::ffi::c_void) -> std::ffi::c_int;
        fn _exit(status: std::ffi::c_int) -> !;
    }
    // SAFETY: `fflush(NULL)` flushes every C stdio stream (the C libraries may have written to
    // one); `_exit` ends the process without its exit handlers, which is the intent.
    unsafe {
        fflush(std::ptr::null_mut());
        _exit(code.code().into())
    }
}

#[cfg(not(unix))]
fn exit_now(code: ExitCode) -> ExitCode {
    code
}

/// The async runtime the commands run on.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the async runtime starts")
}

/// Prints an error that stopped a command before or outside a job, with its causes.
fn usage_error(err: &JobError) -> ExitCode {
    crate::logging::outside_job(crate::logging::Severity::Error, "error", &err.detail());
    err.fault.exit_code()
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;
    use crate::vars::SECRETS;

    #[test]
    fn every_setting_that_reads_a_secret_hides_its_value_in_help() {
        let root = Cli::command();
        let mut commands = vec![&root];
        let mut secret_args = Vec::new();
        while let Some(cmd) = commands.pop() {
            commands.extend(cmd.get_subcommands());
            for arg in cmd.get_arguments() {
                let Some(var) = arg.get_env().and_then(|v| v.to_str()) else {
                    continue;
                };
                if SECRETS.contains(&var) {
                    assert!(
                        arg.is_hide_env_values_set(),
                        "{} --{:?} shows the value of {var}",
                        cmd.get_name(),
                        arg.get_long()
                    );
                    secret_args.push(var);
                }
            }
        }
        for var in SECRETS {
            assert!(secret_args.contains(var), "no setting reads {var}");
        }
    }
}
