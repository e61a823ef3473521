#!/usr/bin/env bash
# A whole `run` of an ordinary IMOS file on the embedded default against the floor of its copies,
# for one or more builds taking turns run by run (so a busy moment of the machine falls on all of
# them alike). Each build runs the file in three homes, each copied afresh before each run:
#   fresh — a home no job used yet (the job creates the SQLite index);
#   used  — a home an earlier job of another file made (what a home's second job finds);
#   busy  — a home BUSY_JOBS (default 60) earlier jobs made, publishing the file under other
#           names (what a home in steady use holds: an index of many jobs and its WAL).
# The floor is the file hashed into a work folder, then copied to an archive and a public folder
# (what `run` writes), as in scripts/bench.sh. Wall milliseconds to a tenth, medians; the floor is
# timed the same way as the jobs (one process start per step), so its start-ups count on both
# sides.
#
# Two pipeline files: `bench` (one pipeline, every .nc checked with cf:1.6 + imos:1.4, as in
# scripts/bench.sh) or `imos` (examples/imos/pipelines.toml, the IMOS streams: the file is
# uploaded as ANMN/NRS/<name> and takes the anmn_moorings pipeline among 70-odd).
#
# Usage: scripts/bench-ordinary.sh [--rounds N] [--file NC] [--pipelines bench|imos]
#                                  [--limit MS] BIN [BIN...]
#   BIN: ocean-ingest binaries (release builds), e.g. target/release/ocean-ingest
#   --limit: what a median may cost beyond the floor, in milliseconds (default 20)
# Prints one line per build and home, and the floor; exits 1 when a job does not publish or a
# median is at or over the limit. The figures are wall time: run it on a machine with a core
# free for it (the load average is printed beside them).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/bench.sh
source "$here/scripts/lib/bench.sh"
rounds=15
pipelines=bench
limit=20
file="$here/tests/data/imos/moorings/IMOS_ANMN-NRS_BCKOSTUZ_20081120T081531Z_NRSROT_FV01_NRSROT-0811-WQM-21_END-20081120T171535Z_C-20190418T000000Z.nc"
# Rejected by imos:1.4: the job that makes the "used" home leaves an index, an error copy and a
# report behind, as an earlier job would.
other="$here/tests/data/IMOS_ANMN-NRS_TZ_20180406T080000Z_NRSROT_FV01_NRSROT-1804-SBE39-27_END-20180413T064000Z_C-20200313T000000Z.nc"
while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --file) file="$2"; shift 2 ;;
    --pipelines) pipelines="$2"; shift 2 ;;
    --limit) limit="$2"; shift 2 ;;
    -h | --help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) break ;;
    esac
done
[ $# -ge 1 ] || { echo "usage: $0 [--rounds N] [--file NC] [--pipelines bench|imos] [--limit MS] BIN [BIN...]" >&2; exit 2; }
for bin in "$@"; do
    [ -x "$bin" ] || { echo "$bin: not an executable; build one with cargo build --release" >&2; exit 2; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export INGEST_WORK_DIR="$work/jobs"
case "$pipelines" in
bench)
    bench_pipeline "$work/pipelines.toml"
    export INGEST_PIPELINES="$work/pipelines.toml" INGEST_PIPELINES_ALLOW_CATCH_ALL=true
    ;;
imos) export INGEST_PIPELINES="$here/examples/imos/pipelines.toml" ;;
*) echo "--pipelines: bench or imos, not $pipelines" >&2; exit 2 ;;
esac
now_ns() { date +%s%N; }

# The arguments of `run` for file $1 in home $2, one a line: the bench pipeline takes the file
# where it is; the IMOS pipelines route by key, so the file is put in the home's incoming store.
run_args() {
    local nc="$1" home="$2" key
    if [ "$pipelines" = imos ]; then
        key="ANMN/NRS/$(basename "$nc")"
        mkdir -p "$home/incoming/ANMN/NRS"
        cp "$nc" "$home/incoming/$key"
        printf '%s\n' --incoming-key "$key"
    else
        printf '%s\n' "$nc"
    fi
}

# The used and busy homes of build number $1, made once: the used one by a job of the other
# file, the busy one by jobs of the file renamed (its creation stamp numbered).
busy_jobs="${BUSY_JOBS:-60}"
mkdir -p "$work/renamed"
for n in $(seq "$busy_jobs"); do
    cp "$file" "$work/renamed/$(basename "$file" | sed -E "s/_C-[0-9]{8}T[0-9]{6}Z/_C-20000101T$(printf %06d "$n")Z/")"
done
for i in $(seq $#); do
    bin="${!i}"
    rm -rf "$work/jobs"; mkdir -p "$work/jobs"
    mapfile -t args < <(run_args "$other" "$work/used-$i")
    INGEST_HOME="$work/used-$i" "$bin" run "${args[@]}" >/dev/null 2>&1 || true
    [ -f "$work/used-$i/index.sqlite" ] || { echo "$bin made no index in its home" >&2; exit 1; }
    for renamed in "$work"/renamed/*; do
        rm -rf "$work/jobs"; mkdir -p "$work/jobs"
        mapfile -t args < <(run_args "$renamed" "$work/busy-$i")
        INGEST_HOME="$work/busy-$i" "$bin" run --output json "${args[@]}" >"$work/run.json" 2>/dev/null || true
        grep -q '"outcome": "published"' "$work/run.json" || { echo "$bin did not publish $renamed" >&2; exit 1; }
    done
done

# One job: prints its wall microseconds.
job() {
    local i="$1" bin="$2" home="$3" start end args
    rm -rf "$work/var" "$work/jobs"; mkdir -p "$work/jobs"
    [ "$home" = fresh ] || cp -a "$work/$home-$i" "$work/var"
    mapfile -t args < <(run_args "$file" "$work/var")
    sync
    start=$(now_ns)
    INGEST_HOME="$work/var" "$bin" --log-format json run --output json "${args[@]}" >"$work/run.json" 2>/dev/null || true
    end=$(now_ns)
    grep -q '"outcome": "published"' "$work/run.json" || { echo "$bin ($home home) did not publish $file" >&2; exit 1; }
    echo $(((end - start) / 1000))
}

floor() {
    local start end
    rm -rf "$work/copies"; mkdir -p "$work/copies"
    sync
    start=$(now_ns)
    tee "$work/copies/work" <"$file" | sha256sum >/dev/null
    cp "$work/copies/work" "$work/copies/archive"
    cp "$work/copies/work" "$work/copies/public"
    end=$(now_ns)
    echo $(((end - start) / 1000))
}

declare -A out
for _ in $(seq "$rounds"); do
    for i in $(seq $#); do
        for home in fresh used busy; do out[$i.$home]+="$(job "$i" "${!i}" "$home") "; done
    done
    out[floor]+="$(floor) "
done
each() { tr ' ' '\n' | grep .; }
# Microseconds as milliseconds to a tenth: one figure, or each of a list.
ms() { awk '{ for (i = 1; i <= NF; i++) printf "%s%.1f", (i > 1 ? " " : ""), $i / 1000 } END { print "" }'; }
floor_us=$(echo "${out[floor]}" | each | median)
echo "file: $(basename "$file") ($(du -h --apparent-size "$file" | cut -f1)); pipelines: $pipelines; $rounds rounds; $(uptime | sed 's/.*load/load/')"
over=0
for i in $(seq $#); do
    for home in fresh used busy; do
        m=$(echo "${out[$i.$home]}" | each | median)
        verdict=""
        if [ $((m - floor_us)) -ge $((limit * 1000)) ]; then verdict=" OVER the ${limit} ms limit"; over=1; fi
        echo "${!i} ($home home): median $(echo "$m" | ms) ms, $(echo $((m - floor_us)) | ms) ms beyond the floor$verdict; all: $(echo "${out[$i.$home]}" | ms)"
    done
done
echo "copy floor: median $(echo "$floor_us" | ms) ms; all: $(echo "${out[floor]}" | ms)"
exit "$over"
