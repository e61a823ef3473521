#!/usr/bin/env bash
# How `check` and a whole `run` grow with the number of variables in one file. For each size N
# (default 1,000, 2,500, 5,000 and 10,000 variables) it writes a CF/IMOS time series with N
# variables — four coordinates, then data variables each with its quality-control variable named
# in `ancillary_variables` and the coordinates named in `coordinates`, the file of the compliance
# tests (src/compliance/testing/many.rs, printed by examples/many_variables_cdl.rs) — makes it
# with ncgen, and times (median of RUNS runs, release build):
#   1. `ocean-ingest check --suite cf:1.6 --format json FILE`;
#   2. `ocean-ingest run FILE` on the embedded default (a pipeline that checks cf:1.6 and
#      publishes the file), with the check step's share read from the job report.
# Growth is linear when time(10,000) / time(2,500) <= 5 (4x the variables); the script prints
# the ratios and exits 1 when either is above 5. The check's CPU time (user + system, GNU time)
# is printed beside its wall time: on a shared machine it says more about growth than wall time
# does. Beside it, two floors, CPU seconds, each with its own 10,000 / 2,500 ratio printed (not
# judged): what grows faster than the variables there is libnetcdf's and HDF5's, not ours.
#   - header: examples/netcdf_header.rs, built like the binary (the same libnetcdf and HDF5),
#     reading every variable's name, type, dimensions and attributes, which `check` reads first;
#   - ncdump -h: the system's libnetcdf (Debian's 4.9.0 with HDF5 1.10.8) doing the same.
# The binary is built as the product ships it (libnetcdf 4.10.1 and HDF5 2.2.0 compiled from
# source and linked statically, feature static-netcdf) unless LINK=system.
# BENCHMARKS.md records a run (scripts/bench.sh runs this script as one of its sections).
#
# Usage: scripts/bench-variables.sh [N...]
#   BIN=path/to/ocean-ingest   time that binary instead of building the release binary
#   GEN=path/to/many_variables_cdl   the generator already built (else built in release)
#   HEADER=path/to/netcdf_header     the header floor already built (else built in release,
#                              linked as BIN is)
#   LINK=system                build against the system's libnetcdf instead (CMAKE=cmake >= 3.26
#                              for the static build, else one is installed from PyPI)
#   RUNS=3                     runs per measurement (the median is reported)
#   FORMAT=nc4                 ncgen's -k format of the generated files (nc4 or classic)
#   FILES=DIR                  keep the generated files in DIR and reuse them while the generator
#                              prints the same CDL (ncgen takes minutes on 10,000 variables)
# Needs: cargo (unless BIN, GEN and HEADER), ncgen and ncdump (netcdf-bin), python3.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
source "$here/scripts/lib/bench.sh"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 2500 5000 10000)
runs="${RUNS:-3}"
format="${FORMAT:-nc4}"
command -v ncgen >/dev/null || { echo "error: ncgen is missing (apt-get install netcdf-bin)" >&2; exit 2; }
command -v ncdump >/dev/null || { echo "error: ncdump is missing (apt-get install netcdf-bin)" >&2; exit 2; }

target="${CARGO_TARGET_DIR:-$here/target}/release"
if [ -n "${BIN:-}" ]; then
    bin="$BIN"
else
    echo "== building ocean-ingest (release, libnetcdf: ${LINK:-static})" >&2
    release_build "$here" --bin ocean-ingest
    bin="$target/ocean-ingest"
fi
# The floor is read through the libnetcdf the binary uses.
export LINK="$(netcdf_linkage "$bin")"
if [ -n "${GEN:-}" ]; then
    gen="$GEN"
else
    release_build "$here" --example many_variables_cdl
    gen="$target/examples/many_variables_cdl"
fi
if [ -n "${HEADER:-}" ]; then
    header="$HEADER"
else
    release_build "$here" --example netcdf_header
    header="$target/examples/netcdf_header"
fi
work="$(mktemp -d /tmp/ocean-ingest-bench-vars.XXXXXX)"
trap 'rm -rf "$work"' EXIT
files="${FILES:-$work}"
mkdir -p "$files"
[ -x /usr/bin/time ] || { echo "error: /usr/bin/time is missing (apt-get install time)" >&2; exit 2; }

bench_pipeline "$work/pipelines.toml" '"cf:1.6"' normal

# A CDL time series with n variables in all: the compliance tests' own file
# (src/compliance/testing/many.rs, printed by examples/many_variables_cdl.rs).
generate() {
    "$gen" "$1" >"$2"
}


echo "== $bin ($(ldd "$bin" 2>/dev/null | wc -l) shared libraries, libnetcdf: $LINK); floor: $header ($(netcdf_linkage "$header")); $(nproc) cores; $(uname -sr); files: ncgen -k $format"
echo "== load before: $(uptime)"
printf '%-10s %-12s %-12s %-14s %-14s %-12s %-16s %s\n' variables check_s check_cpu_s header_cpu_s ncdump_h_cpu_s run_s run_check_step_s run_outcome
declare -A check_s check_cpu_s header_s ncdump_s run_s
for n in "${sizes[@]}"; do
    generate "$n" "$work/many_$n.cdl"
    file="$files/IMOS_BENCH_many-variables_${format}_$n.nc"
    if [ ! -s "$file" ] || ! cmp -s "$work/many_$n.cdl" "$files/many_${format}_$n.cdl"; then
        ncgen -k "$format" -o "$file" "$work/many_$n.cdl"
        cp "$work/many_$n.cdl" "$files/many_${format}_$n.cdl"
    fi
    # The check, in one process per run: wall and CPU seconds.
    times=(); cpus=()
    for _ in $(seq "$runs"); do
        /usr/bin/time -f '%e %U %S' -o "$work/time" \
            "$bin" check --suite cf:1.6 --format json "$file" >"$work/check.json" 2>"$work/check.err" || true
        read -r wall user sys < <(tail -n 1 "$work/time")
        times+=("$wall")
        cpus+=("$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')")
    done
    grep -q '"suites"' "$work/check.json" || { echo "error: check of $n variables printed no report: $(cat "$work/check.err")" >&2; exit 1; }
    check_s[$n]=$(printf '%s\n' "${times[@]}" | median)
    check_cpu_s[$n]=$(printf '%s\n' "${cpus[@]}" | median)
    # The floors: libnetcdf alone reading the header, the binary's and the system's (CPU seconds).
    for floor in header ncdump; do
        cpus=()
        for _ in $(seq "$runs"); do
            if [ "$floor" = header ]; then
                /usr/bin/time -f '%U %S' -o "$work/time" "$header" "$file" >/dev/null
            else
                /usr/bin/time -f '%U %S' -o "$work/time" ncdump -h "$file" >/dev/null
            fi
            read -r user sys < <(tail -n 1 "$work/time")
            cpus+=("$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')")
        done
        declare -n floor_s="${floor}_s"
        floor_s[$n]=$(printf '%s\n' "${cpus[@]}" | median)
        unset -n floor_s
    done
    # A whole job on the embedded default, fresh each run.
    times=(); steps=()
    for _ in $(seq "$runs"); do
        rm -rf "$work/var"
        start=$(now)
        INGEST_HOME="$work/var" INGEST_WORK_DIR="$work" INGEST_PIPELINES="$work/pipelines.toml" INGEST_PIPELINES_ALLOW_CATCH_ALL=true \
            "$bin" --log-format json run --output json "$file" >"$work/report.json" 2>"$work/run.err" || true
        end=$(now)
        times+=("$(elapsed "$start" "$end")")
        steps+=("$(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
states = [(x["state"], x["elapsed_ms"]) for x in r["states"]]
at = [i for i, (s, _) in enumerate(states) if s == "Preprocessed"]
# The check step: from Preprocessed to the next state (Checked, or NotifiedError if it rejected).
print("%.3f" % ((states[at[0] + 1][1] - states[at[0]][1]) / 1000) if at and at[0] + 1 < len(states) else "n/a")
' "$work/report.json")")
        outcome=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["outcome"])' "$work/report.json")
    done
    run_s[$n]=$(printf '%s\n' "${times[@]}" | median)
    step=$(printf '%s\n' "${steps[@]}" | median)
    printf '%-10s %-12s %-12s %-14s %-14s %-12s %-16s %s\n' "$n" "${check_s[$n]}" "${check_cpu_s[$n]}" "${header_s[$n]}" "${ncdump_s[$n]}" "${run_s[$n]}" "$step" "$outcome"
done

echo "== load after: $(uptime)"
status=0
if [ -n "${check_s[10000]:-}" ] && [ -n "${check_s[2500]:-}" ]; then
    for what in check check_cpu run; do
        declare -n t="${what}_s"
        ratio=$(awk -v a="${t[2500]}" -v b="${t[10000]}" 'BEGIN { printf "%.2f", b / a }')
        verdict=$(awk -v r="$ratio" 'BEGIN { print (r <= 5 ? "at most linear" : "worse than linear") }')
        echo "$what: 10,000 / 2,500 variables = ${ratio}x ($verdict; linear would be 4x)"
        awk -v r="$ratio" 'BEGIN { exit !(r > 5) }' && status=1
        unset -n t
    done
    # Not judged: the floors' own growth, beside ours, on the same files in the same run.
    ratio=$(awk -v a="${header_s[2500]}" -v b="${header_s[10000]}" 'BEGIN { printf "%.2f", b / a }')
    echo "header (the binary's libnetcdf alone, CPU): 10,000 / 2,500 variables = ${ratio}x (the floor's own growth)"
    ratio=$(awk -v a="${ncdump_s[2500]}" -v b="${ncdump_s[10000]}" 'BEGIN { printf "%.2f", b / a }')
    echo "ncdump -h (the system's libnetcdf alone, CPU): 10,000 / 2,500 variables = ${ratio}x"
fi
exit "$status"
