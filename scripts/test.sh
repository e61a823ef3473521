#!/usr/bin/env bash
# Runs every check of ocean-ingest, from a fresh clone on a fresh Debian machine: installs what is
# missing (Debian packages, a Python venv with the test servers), starts real S3/SQS (moto),
# PostgreSQL and SMTP servers on 127.0.0.1, then runs formatting, lints and all tests, and stops
# the servers whatever happens; a whole run (no arguments) also fuzzes the parsers for a short
# budget (scripts/fuzz.sh). Extra arguments go to the test runner (e.g. a test name filter).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/setup.sh
source scripts/lib/servers.sh

started=$SECONDS
ensure_build_deps
apt_install curl openssl
ensure_venv
ensure_postgres
ensure_postgis
ensure_browser

trap stop_servers EXIT
start_servers || die "the test servers could not start: integration tests cannot run (see the messages above)"
# Integration tests fail, rather than skip, when a server they need is missing.
export INGEST_TEST_REQUIRE_SERVERS=1

log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
# The compliance rule tests read the CDL they write into memory, so `cargo test` needs no
# netcdf-bin: they run once here with an `ncgen` first on PATH that refuses to run. The main run
# then compares each in-memory reading with the file ncgen makes of the same CDL.
if [ $# -eq 0 ]; then
    log "compliance unit tests without ncgen"
    no_ncgen="$(mktemp -d)"
    printf '#!/bin/sh\necho "ncgen called: the compliance unit tests must not need netcdf-bin" >&2\nexit 127\n' \
        >"$no_ncgen/ncgen"
    chmod +x "$no_ncgen/ncgen"
    env -u INGEST_TEST_CDL_NCGEN PATH="$no_ncgen:$PATH" cargo test --locked --lib -- compliance::
    rm -rf "$no_ncgen"
fi
export INGEST_TEST_CDL_NCGEN=1
log "tests"
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --locked --no-fail-fast "$@"
    # nextest does not run doctests.
    cargo test --locked --doc
else
    cargo test --locked --no-fail-fast "$@"
fi
if [ "$#" -eq 0 ]; then
    # The whole run also fuzzes every parser of provider input for a short, fixed budget.
    log "fuzz (${INGEST_FUZZ_SECONDS:-8} s per target)"
    scripts/fuzz.sh "${INGEST_FUZZ_SECONDS:-8}"
fi
if [ "$#" -eq 0 ] && [ "${INGEST_TEST_REFERENCE:-}" = 1 ]; then
    # Parity on files the checker was never tuned on: the reference checker's own test data,
    # both checkers run on every file (the reference installed from PyPI into a venv).
    log "parity with compliance-checker 5.0.2 on its own test data (cf:1.6)"
    BIN="${CARGO_TARGET_DIR:-target}/debug/ocean-ingest" SUITES="${INGEST_REFERENCE_SUITES:-cf:1.6}" \
        REFERENCE_VENV="${INGEST_REFERENCE_VENV:-target/reference-venv}" scripts/parity-cc-tests.sh
fi
if [ -x scripts/check-infra.sh ]; then
    log "infrastructure checks"
    scripts/check-infra.sh
fi
log "all checks passed in $((SECONDS - started)) s"
