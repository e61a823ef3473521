#!/usr/bin/env bash
# The demo: ingests a bundled IMOS CTD profile on the embedded default (everything local under
# ./var), then shows where it went. Installs what the build needs on a fresh Debian machine.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/setup.sh
ensure_build_deps

log "building ocean-ingest"
cargo build --locked --quiet
bin=target/debug/ocean-ingest
sample=tests/data/IMOS_ANMN-NRS_CDEKOSTUZ_20140703T021045Z_NRSMAI_FV01_Profile-SBE-19plus_C-20160524T003914Z.nc

log "ocean-ingest run $sample"
set +e
# The summary is what a person wants here; the structured log lines go to stderr (RUST_LOG=info).
RUST_LOG=${RUST_LOG:-warn} "$bin" --log-format text run "$sample"
code=$?
set -e
echo "exit code: $code"
log "what is under ./var now"
find var -type f -not -path '*/.ingest/*' | sort
exit $code
