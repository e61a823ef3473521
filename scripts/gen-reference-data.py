#!/usr/bin/env python3
"""Regenerates the compact reference tables that the compliance checker embeds:

  data/udunits2.tsv               the UDUNITS-2 unit database (prefixes, base units, definitions)
  data/cf-standard-names-v72.tsv  CF standard name table v72: names, canonical units, aliases
  data/cf-standard-names-v93.tsv  CF standard name table v93

from the XML in ../shared/reference-data (see its SOURCES.txt). Usage:
  python3 scripts/gen-reference-data.py [REFERENCE_DATA_DIR]
Only the standard library is needed; the output is deterministic.
"""
import os
import sys
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
REF = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared", "reference-data")
OUT = os.path.join(ROOT, "data")


def clean(text):
    return " ".join((text or "").split())


def udunits():
    files = ["udunits2-prefixes.xml", "udunits2-base.xml", "udunits2-derived.xml",
             "udunits2-accepted.xml", "udunits2-common.xml"]
    rows = []
    for f in files:
        root = ET.parse(os.path.join(REF, "udunits2", f)).getroot()
        for p in root.iter("prefix"):
            names = [clean(n.text) for n in p.findall("name")]
            syms = [clean(s.text) for s in p.findall("symbol")]
            rows.append(("prefix", ",".join(names), "", ",".join(syms), clean(p.findtext("value"))))
        for u in root.iter("unit"):
            if u.find("base") is not None:
                kind, definition = "base", ""
            elif u.find("dimensionless") is not None:
                kind, definition = "dimensionless", ""
            else:
                kind, definition = "unit", clean(u.findtext("def"))
            singular, plural, symbols = [], [], []

            def add_names(parent, noplural_default=False):
                for n in parent.findall("name"):
                    s = clean(n.findtext("singular"))
                    singular.append(s)
                    if n.find("noplural") is not None or noplural_default:
                        plural.append("-")
                    else:
                        plural.append(clean(n.findtext("plural")))

            add_names(u)
            symbols += [clean(s.text) for s in u.findall("symbol")]
            for a in u.findall("aliases"):
                add_names(a, a.find("noplural") is not None)
                symbols += [clean(s.text) for s in a.findall("symbol")]
            # plural column: one entry per singular name, "" = regular plural, "-" = none
            rows.append((kind, ",".join(singular), ",".join(plural), ",".join(symbols), definition))
    with open(os.path.join(OUT, "udunits2.tsv"), "w", encoding="utf-8") as out:
        out.write("# Derived from the UDUNITS-2 unit database (UCAR), as shipped in cf-units 3.3.1\n")
        out.write("# (cf_units/etc/share/udunits2*.xml). UDUNITS is (c) University Corporation for\n")
        out.write("# Atmospheric Research, distributed under its permissive licence. Regenerate with\n")
        out.write("# scripts/gen-reference-data.py. Columns (tab-separated):\n")
        out.write("# kind\tnames\tplurals (per name: empty = regular, - = none)\tsymbols\tdefinition\n")
        for r in rows:
            out.write("\t".join(r) + "\n")


def standard_names(version):
    path = os.path.join(REF, "cf-standard-name-table-v%s.xml" % version)
    root = ET.parse(path).getroot()
    with open(os.path.join(OUT, "cf-standard-names-v%s.tsv" % version), "w", encoding="utf-8") as out:
        out.write("# Derived from the CF Standard Name Table version %s (cfconventions.org), published by the\n" % version)
        out.write("# CF Conventions committee under CC BY 4.0. Names and canonical units only; regenerate with\n")
        out.write("# scripts/gen-reference-data.py. Rows: entry<TAB>name<TAB>canonical units | alias<TAB>name<TAB>entry\n")
        out.write("# The entries, then the aliases, each sorted by name (byte order): a job looks names up in\n")
        out.write("# the text as it is, without sorting or copying it (src/compliance/standard_names.rs).\n")
        out.write("version\t%s\n" % clean(root.findtext("version_number")))
        # Sorted by the name's UTF-8 bytes (what Rust's str ordering is); stable, so a name listed
        # twice keeps the table's order.
        entries = [(e.get("id"), clean(e.findtext("canonical_units"))) for e in root.findall("entry")]
        for name, units in sorted(entries, key=lambda r: r[0].encode("utf-8")):
            out.write("entry\t%s\t%s\n" % (name, units))
        aliases = [(a.get("id"), ",".join(clean(x.text) for x in a.findall("entry_id")))
                   for a in root.findall("alias")]
        for name, ids in sorted(aliases, key=lambda r: r[0].encode("utf-8")):
            out.write("alias\t%s\t%s\n" % (name, ids))


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    udunits()
    standard_names("72")
    standard_names("93")
