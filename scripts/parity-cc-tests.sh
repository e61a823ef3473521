#!/usr/bin/env bash
# Parity on files the checker was never tuned on: the reference checker's own test data.
#
# compliance-checker 5.0.2 ships the NetCDF and CDL files its test suite checks
# (compliance_checker/tests/data: GHRSST, NCEI and IOOS templates, gliders, grids, CF examples and
# files broken on purpose). This script installs the reference (scripts/lib/bench.sh's venv, with
# the IMOS plugin when IMOS_PLUGIN names a checkout of cc-plugin-imos 1.5.6), makes each CDL
# that has no NetCDF beside it with `ncgen` (as the reference's tests do), checks every file with
# both checkers and compares, per (file, suite):
#
#   - the verdict at normal and at lenient;
#   - a rule the reference fails on with a Python exception: ours must report an error for that
#     file (and fail it), as the parity test requires on the IMOS corpus;
#   - every group's (scored, possible) points at strict, per priority.
#
# It prints one line per difference and a table per suite, and exits 1 on any difference.
# Nothing of the reference's data is kept: the files are read where pip installed them.
#
#   scripts/parity-cc-tests.sh                      # cf:1.6 (+ imos:1.3, imos:1.4, ghrsst:1.0
#                                                   #   when the IMOS plugin is installed)
#   SUITES="cf:1.6" scripts/parity-cc-tests.sh
#
# Environment:
#   BIN           the ocean-ingest binary          [cargo build --release --locked, then target/release]
#   REFERENCE_VENV  the reference checker's venv   [target/reference-venv]
#   IMOS_PLUGIN   a checkout of cc-plugin-imos 1.5.6 to install into that venv
#   SUITES        space-separated suites           [every suite both checkers have]
#   WORK          folder for generated files and reports  [a temporary folder, removed]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
source "$here/scripts/lib/bench.sh"

command -v ncgen >/dev/null || { echo "ncgen is missing: apt-get install netcdf-bin" >&2; exit 2; }
reference_venv "${REFERENCE_VENV:-$here/target/reference-venv}"
if [ -z "${BIN:-}" ]; then
    (cd "$here" && cargo build --release --locked --quiet --bin ocean-ingest)
    BIN="${CARGO_TARGET_DIR:-$here/target}/release/ocean-ingest"
fi
suites="${SUITES:-cf:1.6}"
if [ -z "${SUITES:-}" ] && [ "$REFERENCE_IMOS" = 1 ]; then
    suites="cf:1.6 imos:1.3 imos:1.4 ghrsst:1.0"
fi
if [ -n "${WORK:-}" ]; then
    work="$WORK"
    mkdir -p "$work"
else
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
fi

data="$("$REFERENCE_PYTHON" -c 'import compliance_checker, os; print(os.path.join(os.path.dirname(compliance_checker.__file__), "tests", "data"))')"
[ -d "$data" ] || { echo "the reference's test data is not installed at $data" >&2; exit 2; }

# The files: every NetCDF shipped, and every CDL without one made as the reference's tests make
# it (`ncgen -o FILE.nc FILE.cdl`, the format the CDL implies).
mkdir -p "$work/files"
find "$data" -name '*.nc' | sort | while read -r f; do
    ln -sf "$f" "$work/files/$(echo "${f#"$data"/}" | tr / _)"
done
made=0 unmade=0
while read -r cdl; do
    [ -f "${cdl%.cdl}.nc" ] && continue
    name="$(echo "${cdl#"$data"/}" | tr / _)"
    if ncgen -o "$work/files/${name%.cdl}.nc" "$cdl" 2>"$work/ncgen.err"; then
        made=$((made + 1))
    else
        unmade=$((unmade + 1))
        rm -f "$work/files/${name%.cdl}.nc"
        echo "not compared: ncgen cannot make ${cdl#"$data"/} ($(head -c 200 "$work/ncgen.err" | tr '\n' ' '))"
    fi
done < <(find "$data" -name '*.cdl' | sort)
files=("$work/files"/*.nc)
echo "== ${#files[@]} files: $((${#files[@]} - made)) shipped as NetCDF, $made made from CDL; suites: $suites"
echo "== reference: $REFERENCE_VERSIONS"
echo "== ours: $("$BIN" --version)"

# The reference, loaded once: strict points per group and the verdicts, one JSON line per
# (file, suite).
"$REFERENCE_PYTHON" - "$work/reference.jsonl" "$suites" "${files[@]}" <<'PY' 2>"$work/reference.err"
import json, sys, warnings
warnings.simplefilter("ignore")
from compliance_checker.suite import CheckSuite

out, suites, files = sys.argv[1], sys.argv[2].split(), sys.argv[3:]
CheckSuite.load_all_available_checkers()
with open(out, "w") as sink:
    for path in files:
        for suite in suites:
            cs = CheckSuite()
            row = {"file": path, "suite": suite}
            try:
                ds = cs.load_dataset(path)
                groups, errors = cs.run_all(ds, [suite], None, None)[suite]
                if hasattr(ds, "close"):
                    ds.close()
                report = cs.dict_output(suite, groups, path, 1)
                points = {}
                for priority in ("high", "medium", "low"):
                    for g in report[priority + "_priorities"]:
                        points[f"{g['name']}|{priority}"] = list(g["value"])
                row.update(
                    normal=bool(cs.passtree(groups, 2)) and not errors,
                    lenient=bool(cs.passtree(groups, 3)) and not errors,
                    errors=sorted(errors),
                    points=points,
                )
            except Exception as e:  # a file the reference cannot open
                row.update(invalid=f"{type(e).__name__}: {e}")
            sink.write(json.dumps(row) + "\n")
PY

# Ours: strict for the points, normal and lenient for the verdicts; one line per run (file,
# suite, criteria, and the report's JSON line, empty when there is none), read below.
: >"$work/ours.tsv"
for f in "${files[@]}"; do
    for suite in $suites; do
        for criteria in strict normal lenient; do
            report="$("$BIN" check --suite "$suite" --criteria "$criteria" --format json "$f" 2>/dev/null | head -n1)" || true
            printf '%s\t%s\t%s\t%s\n' "$f" "$suite" "$criteria" "$report" >>"$work/ours.tsv"
        done
    done
done

python3 - "$work/reference.jsonl" "$work/ours.tsv" <<'PY'
import json, os, sys
from collections import defaultdict

ref = [json.loads(l) for l in open(sys.argv[1])]
ours = {}
for line in open(sys.argv[2]):
    path, suite, criteria, report = line.rstrip("\n").split("\t", 3)
    ours[(path, suite, criteria)] = json.loads(report) if report else None

def suite_of(d, suite):
    for s in (d or {}).get("suites", []):
        if s["suite"] == suite:
            return s
    return None

table = defaultdict(lambda: defaultdict(int))
differences = 0
for r in ref:
    path, suite, name = r["file"], r["suite"], os.path.basename(r["file"])
    t = table[suite]
    t["files"] += 1
    strict = ours.get((path, suite, "strict"))
    if "invalid" in r:
        ok = strict is not None and strict.get("error") is not None
        t["invalid, both"] += ok
        if not ok:
            differences += 1
            print(f"DIFF {suite} {name}: the reference cannot open it ({r['invalid']}); ours does")
        continue
    ns = suite_of(ours.get((path, suite, "normal")), suite)
    ls = suite_of(ours.get((path, suite, "lenient")), suite)
    ss = suite_of(strict, suite)
    if ns is None or ls is None or ss is None:
        differences += 1
        print(f"DIFF {suite} {name}: no report of ours")
        continue
    for label, mine, theirs in (("normal", ns["passed"], r["normal"]), ("lenient", ls["passed"], r["lenient"])):
        same = mine == theirs
        t[f"verdict at {label} agrees"] += same
        if not same:
            differences += 1
            print(f"DIFF {suite} {name}: at {label} the reference {'passes' if theirs else 'fails'} it, ours {'passes' if mine else 'fails'} it")
    if r["errors"]:
        t["reference raised an exception"] += 1
        if ss.get("errors"):
            t["…and ours reports an error"] += 1
        else:
            differences += 1
            print(f"DIFF {suite} {name}: the reference fails with an exception in {r['errors']}; ours reports none")
    mine = {f"{g['name']}|{g['priority']}": [g["scored"], g["possible"]] for g in ss["groups"]}
    theirs = {k: v for k, v in r["points"].items()}
    diff = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
    t["every group's points identical"] += not diff
    if diff:
        differences += 1
        print(f"DIFF {suite} {name}: group points differ: " + "; ".join(f"{k} reference {theirs.get(k)} ours {mine.get(k)}" for k in diff[:5]))

columns = ["files", "verdict at normal agrees", "verdict at lenient agrees", "every group's points identical", "reference raised an exception", "…and ours reports an error", "invalid, both"]
print()
print("| suite | " + " | ".join(columns) + " |")
print("|---|" + "---|" * len(columns))
for suite, t in table.items():
    print(f"| `{suite}` | " + " | ".join(str(t[c]) for c in columns) + " |")
print()
print(f"{differences} difference(s)")
sys.exit(1 if differences else 0)
PY
