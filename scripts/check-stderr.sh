#!/usr/bin/env bash
# Counts what each given ocean-ingest binary writes on stderr with --log-format json, as an
# operator reading CloudWatch would see it: `check` of every file in one process, `run` of each
# file, and `replay --inline` of all files (four jobs at a time, so reads happen on several
# threads). The files: the project's tests/data (netCDF-3 and netCDF-4, a text file, an empty
# file), a netCDF-4 file cut short, and the IMOS corpus when present. Prints, per binary and
# command, the stderr lines, those that are not JSON and the HDF5-DIAG lines; exits 1 when any
# line is not JSON.
#
# Usage: scripts/check-stderr.sh [BINARY...]
#   With no binary it builds and checks both release builds: Debian-linked (libnetcdf19) and
#   static (feature static-netcdf, with cmake >= 3.26 from PyPI, as scripts/image-build.sh).
#   INGEST_CORPUS_DIR  the IMOS corpus [../shared/imos-corpus]
# Needs: python3, cargo (without BINARY), libnetcdf-dev.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
corpus="${INGEST_CORPUS_DIR:-$root/../shared/imos-corpus}"
say() { printf '==> %s\n' "$*" >&2; }

bins=("$@")
if [ ${#bins[@]} -eq 0 ]; then
    target="${CARGO_TARGET_DIR:-$root/target}"
    say "cargo build --release (Debian's libnetcdf)"
    (cd "$root" && cargo build --release --locked --quiet --bin ocean-ingest)
    cp "$target/release/ocean-ingest" "$target/release/ocean-ingest-debian"
    venv="${OCEAN_INGEST_VENV:-$root/.venv}"
    if [ ! -x "$venv/bin/cmake" ]; then
        say "installing cmake 3.31.10 from PyPI into $venv (to build libnetcdf and HDF5)"
        [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
        "$venv/bin/pip" install -q --disable-pip-version-check "cmake==3.31.10"
    fi
    say "cargo build --release --features static-netcdf"
    (cd "$root" && CMAKE="$venv/bin/cmake" cargo build --release --locked --quiet \
        --features static-netcdf --bin ocean-ingest)
    cp "$target/release/ocean-ingest" "$target/release/ocean-ingest-static"
    bins=("$target/release/ocean-ingest-debian" "$target/release/ocean-ingest-static")
fi

work="$(mktemp -d /tmp/ocean-ingest-stderr.XXXXXX)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/files"
files=()
for f in "$root"/tests/data/*.nc; do files+=("$f"); done
tz="$root/tests/data/IMOS_ANMN-NRS_TZ_20180406T080000Z_NRSROT_FV01_NRSROT-1804-SBE39-27_END-20180413T064000Z_C-20200313T000000Z.nc"
head -c $(( $(stat -c %s "$tz") / 3 )) "$tz" >"$work/files/truncated_netcdf4.nc"
files+=("$work/files/truncated_netcdf4.nc")
if [ -d "$corpus" ]; then
    while IFS= read -r f; do files+=("$f"); done < <(find "$corpus" -name '*.nc' | sort)
else
    say "no IMOS corpus at $corpus: the project's files only"
fi

# lines, not-JSON lines and HDF5-DIAG lines of a stderr file.
count() {
    python3 - "$1" <<'EOF'
import json, sys
total = bad = diag = 0
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    total += 1
    diag += "HDF5-DIAG" in line
    try:
        ok = isinstance(json.loads(line), dict)
    except ValueError:
        ok = False
    bad += not ok
print(total, bad, diag)
EOF
}

status=0
printf '%-40s %-8s %10s %10s %10s\n' binary command lines not_json hdf5_diag
for bin in "${bins[@]}"; do
    home="$work/home-$(basename "$bin")"
    export INGEST_HOME="$home" INGEST_WORK_DIR="$work" INGEST_PIPELINES="$root/tests/data/pipelines/any-nc-cf-lenient.toml" INGEST_PIPELINES_ALLOW_CATCH_ALL=true
    mkdir -p "$home"
    "$bin" --log-format json check --suite cf:1.6 --suite imos:1.4 --format json "${files[@]}" >/dev/null 2>"$work/check.err" || true
    : >"$work/run.err"
    for f in "${files[@]}"; do
        "$bin" --log-format json run "$f" >/dev/null 2>>"$work/run.err" || true
    done
    rm -rf "$home"
    i=0
    for f in "${files[@]}"; do
        mkdir -p "$home/incoming/all/$i"
        cp "$f" "$home/incoming/all/$i/"
        i=$((i + 1))
    done
    "$bin" --log-format json replay --inline --concurrency 4 --prefix all/ >/dev/null 2>"$work/replay.err" || true
    for cmd in check run replay; do
        read -r total bad diag < <(count "$work/$cmd.err")
        printf '%-40s %-8s %10s %10s %10s\n' "$(basename "$bin")" "$cmd" "$total" "$bad" "$diag"
        [ "$bad" -eq 0 ] || status=1
    done
done
echo "(${#files[@]} files; run: one process per file; replay: --inline --concurrency 4)"
exit "$status"
