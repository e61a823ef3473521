#!/usr/bin/env bash
# Builds the runtime image of ocean-ingest without a container registry: Debian's buildah, a
# debootstrap'd bookworm base committed locally as localhost/debian:bookworm-slim (built once,
# then reused), and the Dockerfile's runtime-prebuilt stage around a host-built release binary.
# The result is the same runtime stage CI would build with `docker build`, minus the compile
# stage (which needs the rust image from Docker Hub).
#
#   scripts/image-build.sh                       # cargo build --release --features static-netcdf,
#                                                # then the image
#   OCEAN_INGEST_BINARY=path scripts/image-build.sh   # package an existing binary
#
# Environment:
#   OCEAN_INGEST_IMAGE    name of the image to build      [localhost/ocean-ingest:dev]
#   OCEAN_INGEST_BINARY   static release binary to package [built as above]
#   OCEAN_INGEST_BASE     base image name                 [localhost/debian:bookworm-slim]
#   DEBIAN_MIRROR         mirror for debootstrap          [http://deb.debian.org/debian]
#   OCEAN_INGEST_REBUILD_BASE=1  debootstrap the base again (to pick up Debian security updates)
# Needs root (buildah with chroot isolation, debootstrap), buildah and debootstrap (apt).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
image="${OCEAN_INGEST_IMAGE:-localhost/ocean-ingest:dev}"
base="${OCEAN_INGEST_BASE:-localhost/debian:bookworm-slim}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

say() { printf '==> %s\n' "$*" >&2; }
fail() { printf 'image-build: %s\n' "$*" >&2; exit 1; }

# vfs works everywhere (no overlay mounts inside containers or on odd filesystems).
bh() { buildah --storage-driver vfs "$@"; }

[[ "$(id -u)" -eq 0 ]] || fail "run as root: buildah (chroot isolation) and debootstrap need it"
for tool in buildah debootstrap; do
    command -v "$tool" >/dev/null || fail "$tool is missing: apt-get install -y buildah debootstrap"
done

# The image carries no libnetcdf: the binary must link it statically (feature static-netcdf),
# which needs cmake >= 3.26 — newer than Debian's — from PyPI.
cmake_for_static() {
    local venv="${OCEAN_INGEST_VENV:-$root/.venv}"
    if [[ ! -x "$venv/bin/cmake" ]]; then
        say "installing cmake 3.31.10 from PyPI into $venv (to build libnetcdf and HDF5)"
        [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv" >&2
        "$venv/bin/pip" install -q --disable-pip-version-check "cmake==3.31.10" >&2 || fail "pip install cmake failed"
    fi
    printf '%s\n' "$venv/bin/cmake"
}

release_binary() {
    if [[ -n "${OCEAN_INGEST_BINARY:-}" ]]; then
        [[ -x "$OCEAN_INGEST_BINARY" ]] || fail "OCEAN_INGEST_BINARY=$OCEAN_INGEST_BINARY is not an executable"
        printf '%s\n' "$OCEAN_INGEST_BINARY"
        return
    fi
    local target="${CARGO_TARGET_DIR:-$root/target}" cmake
    cmake="$(cmake_for_static)"
    say "cargo build --release --features static-netcdf (6-8 min from cold, seconds when up to date)"
    (cd "$root" && CMAKE="$cmake" cargo build --release --locked --features static-netcdf --bin ocean-ingest >&2) \
        || fail "cargo build --release failed"
    printf '%s\n' "$target/release/ocean-ingest"
}

# A minimal bookworm like Docker Hub's debian:bookworm-slim: minbase, apt sources with updates
# and security, no package lists or caches.
# Makes the debootstrap'd tree as small as Docker Hub's slim image: no documentation, manual
# pages or translations (now or in later installs), and apt keeps no packages or lists.
slim_down() {
    local rootfs="$1"
    # Every path below is inside the new root; refuse anything that is not a fresh Debian tree.
    [[ -n "$rootfs" && "$rootfs" != "/" && -f "$rootfs/etc/debian_version" ]] \
        || fail "refusing to edit '$rootfs': not a debootstrap'd tree"
    printf '%s\n' \
        "deb $mirror bookworm main" \
        "deb $mirror bookworm-updates main" \
        "deb http://deb.debian.org/debian-security bookworm-security main" \
        >"$rootfs/etc/apt/sources.list"
    printf '%s\n' \
        'path-exclude /usr/share/doc/*' \
        'path-include /usr/share/doc/*/copyright' \
        'path-exclude /usr/share/groff/*' \
        'path-exclude /usr/share/info/*' \
        'path-exclude /usr/share/lintian/overrides/*' \
        'path-exclude /usr/share/locale/*' \
        'path-include /usr/share/locale/locale.alias' \
        'path-exclude /usr/share/man/*' \
        >"$rootfs/etc/dpkg/dpkg.cfg.d/slim"
    local clean='rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true'
    printf '%s\n' \
        "DPkg::Post-Invoke { \"$clean\"; };" \
        "APT::Update::Post-Invoke { \"$clean\"; };" \
        'Dir::Cache::pkgcache "";' \
        'Dir::Cache::srcpkgcache "";' \
        >"$rootfs/etc/apt/apt.conf.d/slim-clean"
    local dir
    for dir in usr/share/doc usr/share/locale usr/share/man usr/share/info usr/share/groff \
        var/lib/apt/lists var/cache/apt; do
        [[ -d "$rootfs/$dir" ]] || continue
        find "$rootfs/$dir" -mindepth 1 -type f -not -name copyright -not -name locale.alias -delete
    done
}

ensure_base() {
    if [[ -n "${OCEAN_INGEST_REBUILD_BASE:-}" ]] && bh inspect --type image "$base" >/dev/null 2>&1; then
        say "removing base image $base (OCEAN_INGEST_REBUILD_BASE)"
        bh rmi "$base" >/dev/null
    fi
    if bh inspect --type image "$base" >/dev/null 2>&1; then
        say "base image $base exists"
        return
    fi
    say "building base image $base with debootstrap (about 30 s, once)"
    local ctr mnt
    ctr="$(bh from scratch)"
    mnt="$(bh mount "$ctr")"
    [[ -n "$mnt" && "$mnt" != "/" && -d "$mnt" ]] || fail "buildah mount gave '$mnt'"
    debootstrap --variant=minbase bookworm "$mnt" "$mirror" >/tmp/ocean-ingest-debootstrap.log 2>&1 \
        || { tail -20 /tmp/ocean-ingest-debootstrap.log >&2; bh rm "$ctr" >/dev/null; fail "debootstrap failed"; }
    slim_down "$mnt"
    bh umount "$ctr" >/dev/null
    bh config --cmd '["bash"]' --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$ctr"
    bh commit --quiet "$ctr" "$base" >/dev/null
    bh rm "$ctr" >/dev/null
}

binary="$(release_binary)"
[[ -x "$binary" ]] || fail "no release binary at $binary"
if ldd "$binary" 2>/dev/null | grep -q libnetcdf; then
    fail "$binary links libnetcdf dynamically, and the image carries none: build it with --features static-netcdf (see Cargo.toml)"
fi
[[ -f "$root/examples/pipelines.toml" ]] || fail "examples/pipelines.toml is missing (the image bakes it in)"
ensure_base

# The context holds exactly what the runtime-prebuilt stage copies, so a multi-gigabyte target/
# is never sent to buildah.
context="$(mktemp -d /tmp/ocean-ingest-image.XXXXXX)"
trap 'rm -rf "$context"' EXIT
mkdir -p "$context/target/release" "$context/examples" "$context/assets/fonts"
cp "$root/Dockerfile" "$root/.dockerignore" "$context/"
cp "$root/examples/pipelines.toml" "$context/examples/"
cp "$root/assets/fonts/LICENSE-DejaVu.txt" "$context/assets/fonts/"
cp "$binary" "$context/target/release/ocean-ingest"

say "building $image (stage runtime-prebuilt, base $base)"
previous="$(bh inspect --type image --format '{{.FromImageID}}' "$image" 2>/dev/null || true)"
start=$SECONDS
bh bud --quiet --isolation chroot --pull=never \
    --build-arg "RUNTIME_IMAGE=$base" \
    --build-arg "VERSION=$("$binary" --version 2>/dev/null | awk '{print $2}' || echo dev)" \
    --build-arg "REVISION=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    --target runtime-prebuilt --tag "$image" "$context" >/dev/null \
    || fail "buildah bud failed"
elapsed=$((SECONDS - start))
# vfs stores every image as a full copy: drop the one this build replaced, unless still tagged.
if [[ -n "$previous" && "$previous" != "$(bh inspect --type image --format '{{.FromImageID}}' "$image")" ]]; then
    bh rmi "$previous" >/dev/null 2>&1 || true
fi
size="$(bh images --format '{{.Size}}' "$image" | head -n1)"
say "built $image in ${elapsed} s; size $size"
