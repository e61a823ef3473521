# Installs what building and testing ocean-ingest needs on a fresh Debian machine. Sourced by the
# scripts; every function is idempotent and quick when the work is already done.

OCEAN_INGEST_VENV=${OCEAN_INGEST_VENV:-"$PWD/.venv"}

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# apt_install PKG... — installs the Debian packages that are missing.
apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null || die "missing Debian packages (${missing[*]}) and no apt-get to install them"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    log "installing Debian packages: ${missing[*]}"
    # The package lists may be stale or absent on a fresh machine.
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The C libraries the crate links (system libnetcdf) and the tools the tests use.
ensure_build_deps() {
    apt_install libnetcdf-dev netcdf-bin pkg-config ca-certificates
    command -v cargo >/dev/null || die "cargo not found: install Rust 1.94 or later (https://rustup.rs)"
}

# A Python venv with the pinned packages of scripts/requirements-test.txt.
ensure_venv() {
    local req="$PWD/scripts/requirements-test.txt"
    local stamp="$OCEAN_INGEST_VENV/.requirements-test.sha256"
    local want
    want=$(sha256sum "$req" | cut -d' ' -f1)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    apt_install python3 python3-venv
    log "creating the test venv in $OCEAN_INGEST_VENV"
    [ -x "$OCEAN_INGEST_VENV/bin/python" ] || python3 -m venv "$OCEAN_INGEST_VENV"
    "$OCEAN_INGEST_VENV/bin/pip" install -q --disable-pip-version-check -r "$req"
    echo "$want" > "$stamp"
}

ensure_postgres() {
    [ -x "$(pg_bindir)/initdb" ] || apt_install postgresql
    [ -x "$(pg_bindir)/initdb" ] || die "PostgreSQL's initdb not found after installing postgresql"
}

# PostGIS for the harvest's geometry columns, built for the PostgreSQL the tests run.
ensure_postgis() {
    local major
    major=$(basename "$(dirname "$(pg_bindir)")")
    apt_install "postgresql-$major-postgis-3"
}

pg_bindir() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
    echo "${dir:-/usr/lib/postgresql/15/bin}"
}

# Headless Chromium (Debian's package) for the test that loads the dashboard page in a real
# browser; exports INGEST_TEST_CHROMIUM, the binary that test drives.
ensure_browser() {
    command -v chromium >/dev/null || apt_install chromium
    command -v chromium >/dev/null || die "chromium not found after installing Debian's chromium package"
    INGEST_TEST_CHROMIUM=$(command -v chromium)
    export INGEST_TEST_CHROMIUM
}
