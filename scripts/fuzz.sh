#!/usr/bin/env bash
# Runs every property-based fuzz target (tests/fuzz.rs: events, manifests, IMOS names, ZIP and
# gzip resolve, templates) for a fixed time each, and prints the executions per target. Any
# failure stops the run with the smallest input that fails and the seed that found it.
#   scripts/fuzz.sh            60 s per target (the long local run; figures in docs/RELIABILITY.md)
#   scripts/fuzz.sh 8          8 s per target (what scripts/test.sh runs in CI)
# INGEST_FUZZ_SEED=N replays one seed.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
report="$(mktemp)"
trap 'rm -f "$report"' EXIT
started=$SECONDS
INGEST_FUZZ_SECONDS="$seconds" INGEST_FUZZ_REPORT="$report" \
    cargo test --locked --quiet --test fuzz
printf '%-20s %12s %9s\n' target executions seconds
sort "$report" | while IFS=$'\t' read -r target executions took; do
    printf '%-20s %12s %9s\n' "$target" "$executions" "$took"
done
total=$(awk -F'\t' '{n += $2} END {print n + 0}' "$report")
echo "fuzz: $total executions over $(wc -l <"$report") targets in $((SECONDS - started)) s, 0 failures"
