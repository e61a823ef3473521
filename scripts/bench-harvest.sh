#!/usr/bin/env bash
# Benchmarks the harvest against the reference's harvester prototype (github aodn/utilities,
# folder generic-harvester, Python) on the same generated ANMN time series and the same PostgreSQL
# + PostGIS server (a database each: both use schemas anmn_ts and file_index), collection anmn_ts:
#   rows per second (measurement rows / wall time of the harvest) and peak memory (max RSS), beside
#   the server's own floor: the same rows loaded by the server from a local file with COPY.
#
# Usage: scripts/bench-harvest.sh PROTOTYPE_DIR [N]
#   PROTOTYPE_DIR  a checkout of generic-harvester (the prototype is not part of this repository:
#                  e.g. `git --git-dir=<mirror of aodn/utilities> archive 67ea17b generic-harvester`)
#   N              samples in the generated series (default 5000000)
#   OURS=path/to/harvest_bench scripts/bench-harvest.sh …   times that build of the driver instead
#                  of building it (cargo build --release --example harvest_bench)
#   PROTOTYPE_SAMPLES=M  the prototype harvests a series of M samples from the same generator
#                  instead of the N-sample one (it loads about 1,700 rows/s, so 5,000,000 samples
#                  take it most of an hour; its rate is per row either way)
#   CHUNK=C        the series is written in HDF5 chunks of C samples (gen-timeseries.py --chunk)
# Needs: python3 (venv, pip reaching PyPI), cargo, /usr/bin/time (apt `time`), PostgreSQL and
# PostGIS (installed as scripts/test.sh installs them).
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
prototype="$(cd "${1:?usage: scripts/bench-harvest.sh PROTOTYPE_DIR [N]}" && pwd)"
n="${2:-5000000}"
[ -f "$prototype/run_harvester.py" ] || { echo "error: no run_harvester.py in $prototype" >&2; exit 2; }
cd "$here"
source scripts/lib/setup.sh
source scripts/lib/servers.sh
apt_install time
ensure_venv
ensure_postgres
ensure_postgis

work="$(mktemp -d)"
cleanup() { stop_servers || true; rm -rf "$work"; }
trap cleanup EXIT

if [ -n "${OURS:-}" ]; then
    ours="$OURS"
else
    log "building the benchmark driver (release)"
    cargo build --release --locked --quiet --example harvest_bench
    ours="${CARGO_TARGET_DIR:-$here/target}/release/examples/harvest_bench"
fi

log "installing the prototype's dependencies in a throwaway venv"
python3 -m venv "$work/venv"
# The prototype's requirements.txt, pinned to releases that run on this Python; SQLAlchemy 1.4 is
# the last line its API calls work on.
"$work/venv/bin/pip" install --quiet --disable-pip-version-check \
    'simpleeval==0.9.13' 'netCDF4==1.7.2' 'numpy==1.26.4' 'python-dateutil' 'alembic==1.13.3' \
    'SQLAlchemy==1.4.54' 'psycopg2-binary==2.9.10' 'Click' 'requests' 'pendulum==3.0.0' 'geoalchemy2==0.14.7'
versions="$("$work/venv/bin/pip" list 2>/dev/null | grep -iE '^(netCDF4|numpy|cftime|SQLAlchemy|psycopg2-binary|pendulum|simpleeval) ' | tr -s ' ' | paste -sd, -)"

log "generating a time series of $n samples"
series="$work/IMOS_ANMN-NRS_TZ_20121222T000000Z_BENCH01_FV01_BENCH01-2012-generated_C-20260101T000000Z.nc"
"$work/venv/bin/python" scripts/gen-timeseries.py "$series" "$n" ${CHUNK:+--chunk=$CHUNK}
dest="IMOS/ANMN/NRS/BENCH01/Temperature/$(basename "$series")"
theirs_series="$series"
theirs_dest="$dest"
if [ -n "${PROTOTYPE_SAMPLES:-}" ] && [ "$PROTOTYPE_SAMPLES" != "$n" ]; then
    log "generating the prototype's series of $PROTOTYPE_SAMPLES samples"
    theirs_series="$work/p/$(basename "$series")"
    mkdir -p "$work/p"
    "$work/venv/bin/python" scripts/gen-timeseries.py "$theirs_series" "$PROTOTYPE_SAMPLES" ${CHUNK:+--chunk=$CHUNK}
fi

start_servers >/dev/null
pg="$INGEST_TEST_PG_URL"
base="${pg%/*}"
port="${base##*:}"
psql_as() { "$(pg_bindir)/psql" -q -v ON_ERROR_STOP=1 "$@"; }

# --- ours ------------------------------------------------------------------------------------
psql_as "$pg" -c "CREATE DATABASE bench_ours"
psql_as "$base/bench_ours" -c "CREATE EXTENSION postgis"
log "ours: harvesting into a fresh database"
/usr/bin/time -v "$ours" examples/harvest/anmn_ts.toml "$series" "$dest" --postgres "$base/bench_ours" \
    >"$work/ours.json" 2>"$work/ours.time"
log "ours: the same file again (its rows replaced)"
/usr/bin/time -v "$ours" examples/harvest/anmn_ts.toml "$series" "$dest" --postgres "$base/bench_ours" \
    >"$work/ours2.json" 2>"$work/ours2.time"
ours_rows=$(psql_as "$base/bench_ours" -At -c "SELECT count(*) FROM anmn_ts.measurement")

# --- the server's own floor --------------------------------------------------------------------
# The same rows, written out by the server in COPY's binary format and loaded back by the server
# from its own disk into a table made like measurement (the same columns, primary key and
# defaults): no client, no network, one transaction. No harvest into this server can be faster.
log "floor: the server's own COPY of the same rows from a local file"
floor_file="$SERVERS_DIR/pg/measurement.copy"
psql_as "$base/bench_ours" -c "COPY anmn_ts.measurement TO '$floor_file' (FORMAT binary)"
psql_as "$base/bench_ours" -c "CREATE TABLE anmn_ts.floor (LIKE anmn_ts.measurement INCLUDING ALL)" -c "CHECKPOINT"
floor_started=$(date +%s.%N)
psql_as "$base/bench_ours" -c "BEGIN" -c "COPY anmn_ts.floor FROM '$floor_file' (FORMAT binary)" -c "COMMIT"
floor_ended=$(date +%s.%N)
psql_as "$base/bench_ours" -c "DROP TABLE anmn_ts.floor"
rm -f "$floor_file"

# --- the prototype ---------------------------------------------------------------------------
psql_as "$pg" -c "CREATE DATABASE bench_theirs"
# The schemas, roles and extension its README asks for.
psql_as "$base/bench_theirs" <<'SQL'
CREATE EXTENSION postgis;
CREATE USER file_index WITH PASSWORD 'file_index';
CREATE USER anmn_ts WITH PASSWORD 'anmn_ts';
CREATE SCHEMA AUTHORIZATION file_index;
GRANT USAGE ON SCHEMA file_index TO public;
CREATE SCHEMA AUTHORIZATION anmn_ts;
SQL
mkdir -p "$work/config"
for schema in file_index anmn_ts; do
    "$work/venv/bin/python" - "$prototype/config/$schema.json" "$work/config/$schema.json" "$port" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
config["db_params"].update(host="127.0.0.1", port=sys.argv[3], database="bench_theirs")
json.dump(config, open(sys.argv[2], "w"), indent=1)
PY
done
# The prototype was written in 2019 for Python 3.5: netCDF4 1.5, whose num2date returned Python
# datetimes (current cftime returns its own objects unless asked), and simpleeval 0.9, which let
# expressions call getattr (current releases refuse it; 0.9.8 cannot parse Python 3.8+ code). The
# launcher restores those two behaviours and changes nothing else.
cat >"$work/launch.py" <<'PY'
import runpy, sys
import cftime, netCDF4, simpleeval
simpleeval.DISALLOW_FUNCTIONS.discard(getattr)
_num2date = cftime.num2date
def num2date(*args, **kwargs):
    kwargs.setdefault("only_use_cftime_datetimes", False)
    kwargs.setdefault("only_use_python_datetimes", True)
    return _num2date(*args, **kwargs)
netCDF4.num2date = num2date
sys.path.insert(0, ".")  # run_path does not put the script's folder on the path
sys.argv = ["run_harvester.py"] + sys.argv[1:]
runpy.run_path("run_harvester.py", run_name="__main__")
PY
log "prototype: alembic migrations (db-create)"
(cd "$prototype" && "$work/venv/bin/python" "$work/launch.py" db-create -c "$work/config/file_index.json" >/dev/null 2>&1)
(cd "$prototype" && "$work/venv/bin/python" "$work/launch.py" db-create -c "$work/config/anmn_ts.json" >/dev/null 2>&1)
log "prototype: harvesting the same file (this takes a while)"
started=$(date +%s.%N)
(cd "$prototype" && /usr/bin/time -v "$work/venv/bin/python" "$work/launch.py" harvest \
    -c "$work/config/anmn_ts.json" -i "$work/config/file_index.json" -s "$theirs_series" -d "$theirs_dest" \
    >"$work/theirs.log" 2>"$work/theirs.time") || { tail -30 "$work/theirs.time" >&2; exit 1; }
ended=$(date +%s.%N)
theirs_rows=$(psql_as "$base/bench_theirs" -At -c "SELECT count(*) FROM anmn_ts.measurement")

# --- figures ---------------------------------------------------------------------------------
rss() { awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$1"; }
wall() { awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }' "$1"; }
ours_rate=$(python3 -c "import json; d=json.load(open('$work/ours.json')); print(int(dict(d['rows'])['measurement'] / d['seconds']))")
ours_secs=$(python3 -c "import json; print('%.2f' % json.load(open('$work/ours.json'))['seconds'])")
ours2_rate=$(python3 -c "import json; d=json.load(open('$work/ours2.json')); print(int(dict(d['rows'])['measurement'] / d['seconds']))")
theirs_secs=$(awk -v a="$started" -v b="$ended" 'BEGIN { printf "%.2f", b - a }')
theirs_rate=$(awk -v r="$theirs_rows" -v s="$theirs_secs" 'BEGIN { printf "%d", r / s }')
echo
echo "== $n samples${CHUNK:+ in chunks of $CHUNK}; $(nproc) cores; $(uname -sr); PostgreSQL $("$(pg_bindir)/postgres" --version | awk '{print $3}'); prototype venv: $versions"
printf '%-28s %14s %12s %14s %10s\n' "" "measurement" "wall (s)" "rows/s" "max RSS"
printf '%-28s %14s %12s %14s %10s\n' "ours (fresh database)" "$ours_rows" "$ours_secs" "$ours_rate" "$(rss "$work/ours.time") MiB"
printf '%-28s %14s %12s %14s %10s\n' "ours (rerun: rows replaced)" "$ours_rows" "$(wall "$work/ours2.time")" "$ours2_rate" "$(rss "$work/ours2.time") MiB"
floor_secs=$(awk -v a="$floor_started" -v b="$floor_ended" 'BEGIN { printf "%.2f", b - a }')
printf '%-28s %14s %12s %14s %10s\n' "server's COPY from a file" "$ours_rows" "$floor_secs" "$(awk -v r="$ours_rows" -v s="$floor_secs" 'BEGIN { printf "%d", r / s }')" "-"
printf '%-28s %14s %12s %14s %10s\n' "prototype (Python)${PROTOTYPE_SAMPLES:+, $PROTOTYPE_SAMPLES samples}" "$theirs_rows" "$theirs_secs" "$theirs_rate" "$(rss "$work/theirs.time") MiB"
awk -v a="$ours_rate" -v b="$theirs_rate" 'BEGIN { if (b > 0) printf "ours loads %.1fx as many rows per second\n", a / b }'
