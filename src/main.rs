//! `ocean-ingest`: parse the command line, run it, exit with the code Batch's retry rules read.

use clap::Parser;

/// mimalloc serves every allocation of the process: Rust's through this, and with the crate's
/// `override` feature libc's `malloc` family too, so HDF5, libnetcdf and SQLite allocate from it
/// as well. An ordinary job makes tens of thousands of small allocations, most of them HDF5's
/// while it reads a header; glibc's allocator spent a fifth of the job's CPU time on them
/// (BENCHMARKS.md, "An ordinary `run`'s allocations"). Transparent huge pages are off for the
/// process (the crate's `no_thp`): a short job touching a 2 MiB page zeroes all of it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc's `mi_option_t` (include/mimalloc.h); the bindings name
/// no constant for it. The test below checks that this index holds the option's default.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Memory a thread frees goes back to the system 10 ms later (mimalloc 2's default) rather than
/// a second later (version 3's): the job's threads (the async workers, the blocking pool, the
/// readers and folds of a long series) each keep pages of their own, and held a second they
/// raised a long series' peak by 4–6 MiB, to 39–41 MiB, against the 40 MiB a job may use; at
/// 10 ms it is 35 MiB (glibc: 35). Returned at once, a long series' run was 5–15 % slower, its
/// buffers faulted in again (BENCHMARKS.md, same section).
const PURGE_DELAY_MS: std::ffi::c_long = 10;

/// Sets mimalloc's options the job needs (see [`PURGE_DELAY_MS`]).
fn tune_allocator() {
    // SAFETY: sets one of mimalloc's options, which it reads atomically.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, PURGE_DELAY_MS) };
}

fn main() -> std::process::ExitCode {
    tune_allocator();
    let cli = ocean_ingest::cli::Cli::parse();
    ocean_ingest::cli::main(cli).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        // SAFETY: reads mimalloc's options.
        let get = |o| unsafe { libmimalloc_sys::mi_option_get(o) };
        // mimalloc's defaults (src/options.c): 1000 ms of purge delay; its neighbours are 1 (the
        // deprecated eager-commit delay) and 0 (NUMA nodes), so a shifted enum would not read
        // 1000 here.
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(
                get(PURGE_DELAY),
                1000,
                "index {PURGE_DELAY} is not mi_option_purge_delay"
            );
        }
        tune_allocator();
        assert_eq!(get(PURGE_DELAY), PURGE_DELAY_MS);
    }
}
