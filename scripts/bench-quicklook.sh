#!/usr/bin/env bash
# Measures what a quick-look plot costs a job: builds a NetCDF-4 temperature time series of N points
# (default 2,000,000, one spike), ingests it three times on the embedded default and prints, per
# run, the time from Postprocessed to NotifiedSuccess (plot + store + compose + outbox), the whole
# job's duration and the process's peak memory. Usage: scripts/bench-quicklook.sh [N] [dev|release]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/setup.sh
ensure_build_deps
apt_install python3 time

n=${1:-2000000}
profile=${2:-dev}
log "building ocean-ingest ($profile)"
if [ "$profile" = release ]; then
    cargo build --locked --quiet --release
    bin="${CARGO_TARGET_DIR:-target}/release/ocean-ingest"
else
    cargo build --locked --quiet
    bin="${CARGO_TARGET_DIR:-target}/debug/ocean-ingest"
fi

work=$(mktemp -d /tmp/ocean-ingest-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
log "writing a $n-point time series"
python3 - "$n" "$work/series.cdl" <<'EOF'
import math, sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    f.write(f"""netcdf series {{
dimensions:
 TIME = {n} ;
variables:
 double TIME(TIME) ;
  TIME:standard_name = "time" ;
  TIME:units = "seconds since 2020-01-01 00:00:00 UTC" ;
 float TEMP(TIME) ;
  TEMP:standard_name = "sea_water_temperature" ;
  TEMP:units = "degrees_Celsius" ;
  TEMP:_FillValue = 999999.f ;
 :featureType = "timeSeries" ;
 :title = "{n} points" ;
data:
 TIME = """)
    f.write(", ".join(str(i) for i in range(n)))
    f.write(" ;\n TEMP = ")
    spike = n * 2 // 3
    f.write(", ".join("%.3f" % (15 + 3 * math.sin(i / (n / 40)) + (10 if i == spike else 0)) for i in range(n)))
    f.write(" ;\n}\n")
EOF
ncgen -k nc4 -o "$work/series.nc" "$work/series.cdl"
ls -l "$work/series.nc"

for run in 1 2 3; do
    rm -rf "$work/var"
    /usr/bin/time -f "%M" -o "$work/rss" \
        env INGEST_HOME="$work/var" INGEST_WORK_DIR="$work" "$bin" run --output json "$work/series.nc" \
        2>/dev/null >"$work/report.json"
    python3 - "$work/report.json" "$(cat "$work/rss")" "$run" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
s = {x["state"]: x["elapsed_ms"] for x in r["states"]}
plots = [p["variable"] for p in r["plots"]]
print(f"run {sys.argv[3]}: {r['outcome']}, plots {plots}, notify step "
      f"{s['NotifiedSuccess'] - s['Postprocessed']} ms, job {r['duration_ms']} ms, "
      f"peak RSS {int(sys.argv[2]) // 1024} MiB")
EOF
done
