# What the benchmark scripts share: the reference checker's venv, timing and memory helpers.
# Sourced by scripts/bench.sh, scripts/bench-check.sh, scripts/bench-ordinary.sh and
# scripts/bench-variables.sh.

# reference_venv DIR — a venv in DIR with the reference checker (IOOS compliance-checker 5.0.2,
# numpy < 1.24, which brings netCDF4 and cftime), made once and reused while DIR stays. With
# IMOS_PLUGIN set to a checkout of github.com/aodn/cc-plugin-imos (tag 1.5.6; it is not on PyPI)
# the reference's IMOS suites are installed too. Sets REFERENCE_CHECKER (its command),
# REFERENCE_PYTHON, REFERENCE_VERSIONS and REFERENCE_IMOS (1 when imos:1.4 is there).
reference_venv() {
    local dir="$1"
    if [ ! -x "$dir/bin/compliance-checker" ]; then
        echo "== installing compliance-checker 5.0.2 in a venv ($dir)" >&2
        python3 -m venv "$dir"
        "$dir/bin/pip" install --quiet --disable-pip-version-check 'compliance-checker==5.0.2' 'numpy<1.24'
    fi
    if [ -n "${IMOS_PLUGIN:-}" ] && ! "$dir/bin/compliance-checker" -l 2>/dev/null | grep -q 'imos:1.4'; then
        echo "== installing the IMOS plugin from $IMOS_PLUGIN" >&2
        SETUPTOOLS_SCM_PRETEND_VERSION="$(git -C "$IMOS_PLUGIN" describe --tags 2>/dev/null || echo 1.5.6)" \
            "$dir/bin/pip" install --quiet --disable-pip-version-check --no-deps "$IMOS_PLUGIN" six
    fi
    REFERENCE_IMOS=0
    "$dir/bin/compliance-checker" -l 2>/dev/null | grep -q 'imos:1.4' && REFERENCE_IMOS=1
    REFERENCE_CHECKER="$dir/bin/compliance-checker"
    REFERENCE_PYTHON="$dir/bin/python"
    REFERENCE_VERSIONS="$("$dir/bin/pip" list 2>/dev/null | grep -iE '^(compliance-checker|cc[-_]plugin[-_]imos|numpy|netCDF4|cftime|cf-units) ' | tr -s ' ' | paste -sd, -)"
}

# release_build ROOT CARGO-ARGS... — `cargo build --release` of the given targets as the product
# ships them: libnetcdf and HDF5 compiled from source and linked statically (feature
# static-netcdf, the Dockerfile's build), or linked to the system's libnetcdf when LINK=system.
# The static build needs cmake >= 3.26: CMAKE names it, else it is installed from PyPI into the
# venv OCEAN_INGEST_VENV (default ROOT/.venv), as scripts/check-stderr.sh does.
release_build() {
    local root="$1" venv
    shift
    if [ "${LINK:-static}" = system ]; then
        (cd "$root" && cargo build --release --locked --quiet "$@")
        return
    fi
    if [ -z "${CMAKE:-}" ]; then
        venv="${OCEAN_INGEST_VENV:-$root/.venv}"
        if [ ! -x "$venv/bin/cmake" ]; then
            echo "== installing cmake 3.31.10 from PyPI into $venv (to build libnetcdf and HDF5)" >&2
            [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
            "$venv/bin/pip" install -q --disable-pip-version-check "cmake==3.31.10"
        fi
        CMAKE="$venv/bin/cmake"
    fi
    (cd "$root" && CMAKE="$CMAKE" cargo build --release --locked --quiet --features static-netcdf "$@")
}

# netcdf_linkage BIN — "system" when BIN loads a shared libnetcdf, else "static".
netcdf_linkage() {
    if ldd "$1" 2>/dev/null | grep -q 'libnetcdf'; then echo system; else echo static; fi
}

now() { date +%s.%N; }
# elapsed START END — seconds between two `now`s, to the millisecond.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
# The median of numbers on stdin, one a line.
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# peak_rss_mib OUT CMD... — runs CMD (stdout to OUT, stderr to OUT.err) under GNU time; prints
# its wall seconds (to the millisecond: timed here, since GNU time's own figure has 10 ms steps,
# too coarse beside an ordinary file's floor) and peak resident memory in MiB, and returns CMD's
# exit status.
peak_rss_mib() {
    local out="$1" t status=0 start end
    shift
    t="$(mktemp)"
    start=$(now)
    /usr/bin/time -f '%M' -o "$t" "$@" >"$out" 2>"$out.err" || status=$?
    end=$(now)
    # The last line: GNU time writes a line of its own first when CMD fails.
    awk -v s="$(elapsed "$start" "$end")" 'END { printf "%s %.1f\n", s, $1 / 1024 }' "$t"
    rm -f "$t"
    return "$status"
}

# bench_pipeline FILE [CHECKS] [CRITERIA] — writes the pipeline file the whole-`run` benchmarks
# use: every .nc checked with CHECKS (a TOML list's items; cf:1.6 + imos:1.4 unless given) at
# CRITERIA (lenient unless given), published and harvested under BENCH/.
bench_pipeline() {
    local checks=${2:-'"cf:1.6", "imos:1.4"'} criteria=${3:-lenient}
    cat >"$1" <<EOF
[[pipeline]]
name = "bench"
keys = '\\.nc\$'
allowed_extensions = [".nc"]
checks = [$checks]
criteria = "$criteria"
owners = ["bench@example.org"]

[[pipeline.files]]
include = '.*\\.nc\$'
publish = "harvest_upload"
dest = "BENCH/{{ name }}"
EOF
}
