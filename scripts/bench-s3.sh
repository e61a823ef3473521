#!/usr/bin/env bash
# Measures that an upload far larger than memory needs streams through the S3 backend: one job
# ingests a NetCDF file of SIZE_MIB (default 600) from an S3 incoming bucket on moto into S3
# archive/public buckets, and GNU time reports the job's peak memory and wall time.
# Usage: scripts/bench-s3.sh [SIZE_MIB]   (builds the debug binary unless OCEAN_INGEST_BIN is set)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/setup.sh
source scripts/lib/servers.sh

size_mib=${1:-600}
ensure_build_deps
apt_install curl openssl time
ensure_venv
ensure_postgres
bin=${OCEAN_INGEST_BIN:-}
if [ -z "$bin" ]; then
    cargo build --locked --quiet
    bin="${CARGO_TARGET_DIR:-target}/debug/ocean-ingest"
fi

trap stop_servers EXIT
start_servers || die "the servers could not start"
work=$(mktemp -d /tmp/ocean-ingest-bench.XXXXXX)
trap 'stop_servers; rm -rf "$work"' EXIT

# A classic-format NetCDF file whose one variable is written out in full (fill values).
floats=$((size_mib * 1024 * 1024 / 4))
printf 'netcdf big {\ndimensions:\n  x = %d ;\nvariables:\n  float payload(x) ;\n}\n' "$floats" > "$work/big.cdl"
ncgen -k classic -o "$work/big.nc" "$work/big.cdl"
ls -l "$work/big.nc" >&2

py="$OCEAN_INGEST_VENV/bin/python"
"$py" - "$INGEST_TEST_AWS_ENDPOINT" "$work/big.nc" <<'PY'
import sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                  aws_access_key_id="test", aws_secret_access_key="test")
for b in ("bench-incoming", "bench-archive", "bench-public", "bench-error"):
    s3.create_bucket(Bucket=b)
s3.put_bucket_versioning(Bucket="bench-public", VersioningConfiguration={"Status": "Enabled"})
s3.upload_file(sys.argv[2], "bench-incoming", "BENCH/big.nc")
PY

export AWS_ENDPOINT_URL=$INGEST_TEST_AWS_ENDPOINT AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
export INGEST_HOME="$work/var" INGEST_WORK_DIR="$work" INGEST_LOG_FORMAT=json
export INGEST_INCOMING_URL=s3://bench-incoming INGEST_ARCHIVE_URL=s3://bench-archive
export INGEST_PUBLIC_URL=s3://bench-public INGEST_ERROR_URL=s3://bench-error/errors
export INGEST_REPORTS_URL=s3://bench-error/reports INGEST_INDEX_URL=$INGEST_TEST_PG_URL
log "ingesting a ${size_mib} MiB upload through S3"
RUST_LOG=${RUST_LOG:-info} /usr/bin/time -f 'peak RSS %M KiB, wall %e s' "$bin" run s3://bench-incoming/BENCH/big.nc 2>"$work/stderr" \
    || { cat "$work/stderr" >&2; die "the job failed"; }
tail -n1 "$work/stderr"
# When each state was reached (ms since the job started): where the time went.
"$py" - "$work/stderr" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("message") == "state":
        print(f'  {e["state"]:<16} {e["elapsed_ms"]:>8} ms')
PY
