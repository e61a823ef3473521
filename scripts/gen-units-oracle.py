#!/usr/bin/env python3
"""Writes tests/data/units-oracle.tsv: how cf_units 3.3.1 (the reference checker's unit library)
judges unit strings (the corpus's units, every canonical unit of the CF standard name tables,
and edge cases). Our units module is tested against it. Run with the benchmark's venv:
  <venv>/bin/python scripts/gen-units-oracle.py UNITS_LIST_FILE
"""
import sys
from cf_units import Unit

PROBES = ["1", "m", "s", "kg", "K", "Pa", "m s-1", "seconds since 1970-01-01"]
seen, out = set(), []
for line in open(sys.argv[1], encoding="utf-8"):
    s = line.rstrip("\n")
    if s in seen or "\t" in s:
        continue
    seen.add(s)
    try:
        u = Unit(s)
    except Exception:
        out.append("%s\tERR" % s)
        continue
    probes = "".join("1" if u.is_convertible(Unit(p)) else "0" for p in PROBES)
    out.append("%s\tOK\t%d\t%d\t%s" % (s, u.is_dimensionless(), u.is_time_reference(), probes))
print("# cf_units 3.3.1 verdicts: unit<TAB>OK|ERR<TAB>dimensionless<TAB>time_reference<TAB>"
      "convertible to " + ", ".join(PROBES))
print("\n".join(out))
