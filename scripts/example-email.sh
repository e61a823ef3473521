#!/usr/bin/env bash
# Regenerates the example notification in docs/: ingests a ZIP of two bundled IMOS files (a CTD
# profile and a temperature time series) through the outbox, then writes the email's HTML body
# (docs/example-email.html, its inline plots as docs/example-plot-<n>.png beside it) and its plain
# text body (docs/example-email.txt). Job ids and times change on every run; nothing else should.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/setup.sh
ensure_build_deps
apt_install python3

log "building ocean-ingest"
cargo build --locked --quiet
bin="${CARGO_TARGET_DIR:-target}/debug/ocean-ingest"

# A fixed home, so the locations in the example read the same from run to run.
home=/tmp/ocean-ingest-example
rm -rf "$home"
mkdir -p "$home"
cat > "$home/pipelines.toml" <<'EOF'
[[pipeline]]
name = "anmn_nrs"
keys = '(^|/)IMOS_ANMN-NRS_'
allowed_extensions = [".nc", ".zip"]
owners = ["anmn-data@example.org"]
notify_success = ["anmn-data@example.org"]

[[pipeline.files]]
include = 'IMOS_ANMN-NRS_[A-Z]+_\d{8}T\d{6}Z_[A-Z0-9]+_FV0[012]_Profile-'
check = "format"
publish = "harvest_upload"
dest = "IMOS/ANMN/NRS/{{ attrs.site_code }}/Biogeochem_profiles/{{ name }}"

[[pipeline.files]]
include = 'IMOS_ANMN-NRS_(TZ|T|Z)_'
check = "format"
publish = "harvest_upload"
dest = "IMOS/ANMN/NRS/{{ attrs.site_code }}/Temperature/{{ name }}"
EOF
upload="$home/IMOS_ANMN-NRS_example-upload.zip"
python3 - "$upload" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    for name in [
        "IMOS_ANMN-NRS_CDEKOSTUZ_20140703T021045Z_NRSMAI_FV01_Profile-SBE-19plus_C-20160524T003914Z.nc",
        "IMOS_ANMN-NRS_TZ_20180406T080000Z_NRSROT_FV01_NRSROT-1804-SBE39-27_END-20180413T064000Z_C-20200313T000000Z.nc",
    ]:
        z.write(f"tests/data/{name}", name)
EOF

log "ocean-ingest run $upload"
INGEST_HOME="$home/var" INGEST_PIPELINES="$home/pipelines.toml" INGEST_WORK_DIR="$home" \
    INGEST_NOTIFY_FROM="IMOS data ingestion <noreply@example.org>" \
    "$bin" --log-format text run --uploader provider@example.com "$upload"

eml=$(ls "$home"/var/outbox/*.eml)
log "writing docs/ from $eml"
mkdir -p docs
rm -f docs/example-email.* docs/example-plot-*.png
python3 - "$eml" docs <<'EOF'
import email, pathlib, sys
from email import policy

eml, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
msg = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
html = msg.get_body(("html",)).get_content()
# Inline images become files next to the HTML, so a browser shows them.
for n, part in enumerate(p for p in msg.walk() if p.get_content_type() == "image/png"):
    cid = part["Content-ID"].strip("<>")
    name = f"example-plot-{n}.png"
    (out / name).write_bytes(part.get_content())
    html = html.replace(f"cid:{cid}", name)
headers = "".join(f"<!-- {h}: {msg[h]} -->\n" for h in ["From", "To", "Reply-To", "Subject"])
(out / "example-email.html").write_text(headers + html, encoding="utf-8")
text = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")
head = "".join(f"{h}: {msg[h]}\n" for h in ["From", "To", "Reply-To", "Subject"])
(out / "example-email.txt").write_text(head + "\n" + text, encoding="utf-8")
EOF
ls -l docs/example-*
