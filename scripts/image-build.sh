#!/usr/bin/env bash
# Builds the ocean-ingest image from the Dockerfile without Docker or a registry: Debian's buildah
# with local base images standing in for the two the Dockerfile pins by digest.
#
#   localhost/debian:bookworm-slim        debootstrap --variant=minbase bookworm, slimmed like
#                                         Docker Hub's image (made once, then reused)
#   localhost/rust:1.95-slim-bookworm     that base plus what Docker Hub's rust:1.95-slim-bookworm
#                                         adds (ca-certificates, gcc, libc6-dev; RUSTUP_HOME,
#                                         CARGO_HOME, PATH) and the host's Rust 1.95 toolchain
#                                         (rustc, cargo, the standard library: the minimal profile)
#
# Targets (--target):
#   runtime            the Dockerfile's default: its build stage runs as written (apt-get of make,
#                      perl, pkg-config and python3-venv, cmake from PyPI, cargo build --release
#                      --locked --features static-netcdf), then the runtime stage. The host's cargo
#                      registry is mounted at the stage's $CARGO_HOME/registry (what BuildKit's
#                      cache mounts do), after `cargo fetch --locked` on the host filled it, and a
#                      target folder under target/ keeps the compile incremental between builds.
#   runtime-prebuilt   packages a static release binary built on the host (OCEAN_INGEST_BINARY, or
#                      cargo build --release --features static-netcdf first).
#   toolchain          the cheaper check CI runs on every change: the Dockerfile's toolchain stage
#                      (every step of the build stage before the crate is compiled), then, in it,
#                      `cargo check` of the crates that build C (their build scripts compile HDF5
#                      and netCDF-C through cmake and make, as the build stage does), then the
#                      runtime-base stage. It leaves no image or container behind.
#
#   scripts/image-build.sh                                   # --target runtime
#   scripts/image-build.sh --target runtime-prebuilt
#   scripts/image-build.sh --db-ca rds-global-bundle.pem     # the bundle jobs verify RDS with
#   scripts/image-build.sh --pipelines my/pipelines.toml     # then an operator image: the built
#                                                            # image plus that pipeline file,
#                                                            # validated inside the image
#
# The database CA bundle: the Dockerfile fetches AWS's RDS bundle by default, which needs the
# Internet. Here, --db-ca FILE (or OCEAN_INGEST_DB_CA) goes in as certs/ in the context;
# without one, the build tries AWS's URL and says so when it fails.
#
# Environment:
#   OCEAN_INGEST_IMAGE          image to build                         [localhost/ocean-ingest:dev]
#   OCEAN_INGEST_BINARY         static release binary (runtime-prebuilt) [built as above]
#   OCEAN_INGEST_DB_CA          as --db-ca
#   OCEAN_INGEST_BASE           the Debian base image                  [localhost/debian:bookworm-slim]
#   OCEAN_INGEST_RUST_BASE      the Rust base image                    [localhost/rust:1.95-slim-bookworm]
#   OCEAN_INGEST_RUST_TOOLCHAIN host toolchain folder to copy in       [rustup's 1.95.0]
#   DEBIAN_MIRROR               mirror for debootstrap                 [http://deb.debian.org/debian]
#   OCEAN_INGEST_BUILD_CA       CA bundle pip trusts in RUN steps      [the host's system bundle]
#                               (a build behind a TLS-inspecting proxy then reaches PyPI as the
#                               host does; nothing of it stays in the image)
#   OCEAN_INGEST_REBUILD_BASE=1 make both base images again (to pick up Debian security updates)
# Needs root (buildah with chroot isolation, debootstrap), buildah and debootstrap (installed with
# apt-get when missing).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
image="${OCEAN_INGEST_IMAGE:-localhost/ocean-ingest:dev}"
base="${OCEAN_INGEST_BASE:-localhost/debian:bookworm-slim}"
rust_base="${OCEAN_INGEST_RUST_BASE:-localhost/rust:1.95-slim-bookworm}"
rust_version="1.95.0"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
db_ca="${OCEAN_INGEST_DB_CA:-}"
target=runtime
pipelines=""

say() { printf '==> %s\n' "$*" >&2; }
fail() { printf 'image-build: %s\n' "$*" >&2; exit 1; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --target) target="$2"; shift 2 ;;
        --target=*) target="${1#--target=}"; shift ;;
        --db-ca) db_ca="$2"; shift 2 ;;
        --db-ca=*) db_ca="${1#--db-ca=}"; shift ;;
        --pipelines) pipelines="$2"; shift 2 ;;
        --pipelines=*) pipelines="${1#--pipelines=}"; shift ;;
        -h|--help) sed -n '2,40p' "$0"; exit 0 ;;
        *) fail "unknown argument $1 (see --help)" ;;
    esac
done
[[ "$target" == runtime || "$target" == runtime-prebuilt || "$target" == toolchain ]] \
    || fail "--target must be runtime, runtime-prebuilt or toolchain"
[[ -z "$db_ca" || -f "$db_ca" ]] || fail "--db-ca $db_ca: no such file"
[[ -z "$pipelines" || -f "$pipelines" ]] || fail "--pipelines $pipelines: no such file"

# vfs works everywhere (no overlay mounts inside containers or on odd filesystems).
bh() { buildah --storage-driver vfs "$@"; }

[[ "$(id -u)" -eq 0 ]] || fail "run as root: buildah (chroot isolation) and debootstrap need it"
if ! command -v buildah >/dev/null || ! command -v debootstrap >/dev/null; then
    # shellcheck source=lib/setup.sh
    (cd "$root" && source scripts/lib/setup.sh && apt_install buildah debootstrap) \
        || fail "could not install buildah and debootstrap"
fi

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
    local target_dir="${CARGO_TARGET_DIR:-$root/target}" cmake
    cmake="$(cmake_for_static)"
    say "cargo build --release --features static-netcdf (12-15 min from cold, seconds when up to date)"
    (cd "$root" && CMAKE="$cmake" cargo build --release --locked --features static-netcdf --bin ocean-ingest >&2) \
        || fail "cargo build --release failed"
    printf '%s\n' "$target_dir/release/ocean-ingest"
}

# Makes the debootstrap'd tree as small as Docker Hub's slim image: apt sources with updates and
# security, no documentation, manual pages or translations (now or in later installs), and apt
# keeps no packages or lists.
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

image_exists() { bh inspect --type image "$1" >/dev/null 2>&1; }

# With OCEAN_INGEST_REBUILD_BASE, both bases are made again (the Rust one builds on the Debian one).
if [[ -n "${OCEAN_INGEST_REBUILD_BASE:-}" ]]; then
    for old in "$rust_base" "$base"; do
        if image_exists "$old"; then
            say "removing base image $old (OCEAN_INGEST_REBUILD_BASE)"
            bh rmi "$old" >/dev/null
        fi
    done
fi

ensure_base() {
    if image_exists "$base"; then
        say "base image $base exists"
        return
    fi
    say "building base image $base with debootstrap (about 30 s, once)"
    local ctr mnt log=/tmp/ocean-ingest-debootstrap.log
    ctr="$(bh from scratch)"
    mnt="$(bh mount "$ctr")"
    [[ -n "$mnt" && "$mnt" != "/" && -d "$mnt" ]] || fail "buildah mount gave '$mnt'"
    debootstrap --variant=minbase bookworm "$mnt" "$mirror" >"$log" 2>&1 \
        || { tail -20 "$log" >&2; bh rm "$ctr" >/dev/null; fail "debootstrap failed"; }
    slim_down "$mnt"
    bh umount "$ctr" >/dev/null
    bh config --cmd '["bash"]' --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$ctr"
    bh commit --quiet "$ctr" "$base" >/dev/null
    bh rm "$ctr" >/dev/null
}

# The host's toolchain: rustup's 1.95.0 (the stable toolchain rustup links it to is fine).
host_toolchain() {
    local dir="${OCEAN_INGEST_RUST_TOOLCHAIN:-}"
    if [[ -z "$dir" ]]; then
        local home="${RUSTUP_HOME:-$HOME/.rustup}"
        for candidate in "$home/toolchains/$rust_version-x86_64-unknown-linux-gnu" \
            "$home/toolchains/stable-x86_64-unknown-linux-gnu"; do
            if [[ -x "$candidate/bin/rustc" ]]; then dir="$candidate"; break; fi
        done
    fi
    [[ -n "$dir" && -x "$dir/bin/rustc" && -x "$dir/bin/cargo" ]] \
        || fail "no Rust $rust_version toolchain found (rustup toolchain install $rust_version, or set OCEAN_INGEST_RUST_TOOLCHAIN)"
    "$dir/bin/rustc" --version | grep -q "^rustc $rust_version " \
        || fail "$dir is $("$dir/bin/rustc" --version), not Rust $rust_version as the Dockerfile's rust image"
    dir="$(cd "$dir" && pwd -P)"
    printf '%s\n' "$dir"
}

# Docker Hub's rust:1.95-slim-bookworm, rebuilt from parts this machine has: its packages from
# Debian, its environment, and the same toolchain at the same version.
ensure_rust_base() {
    if image_exists "$rust_base"; then
        say "Rust base image $rust_base exists"
        return
    fi
    local toolchain ctr mnt start=$SECONDS
    toolchain="$(host_toolchain)"
    say "building Rust base image $rust_base from $base and $toolchain (about a minute, once)"
    ctr="$(bh from --pull=never "$base")"
    bh run --isolation chroot --network host "$ctr" -- sh -c \
        'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ca-certificates gcc libc6-dev >/dev/null && rm -rf /var/lib/apt/lists/*' \
        || { bh rm "$ctr" >/dev/null; fail "installing gcc in the Rust base failed"; }
    mnt="$(bh mount "$ctr")"
    [[ -n "$mnt" && "$mnt" != "/" && -f "$mnt/etc/debian_version" ]] || fail "buildah mount gave '$mnt'"
    # The minimal profile: rustc, cargo and the standard library, as the official image installs.
    local dest="$mnt/usr/local/rustup/toolchains/$rust_version-x86_64-unknown-linux-gnu"
    mkdir -p "$dest/bin" "$mnt/usr/local/cargo/bin"
    cp -a "$toolchain/bin/rustc" "$toolchain/bin/cargo" "$toolchain/bin/rustdoc" "$dest/bin/"
    cp -a "$toolchain/lib" "$dest/"
    for tool in rustc cargo rustdoc; do
        ln -s "../../rustup/toolchains/$rust_version-x86_64-unknown-linux-gnu/bin/$tool" "$mnt/usr/local/cargo/bin/$tool"
    done
    bh umount "$ctr" >/dev/null
    bh config \
        --env RUSTUP_HOME=/usr/local/rustup --env CARGO_HOME=/usr/local/cargo \
        --env PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        --env RUST_VERSION="$rust_version" "$ctr"
    bh run --isolation chroot "$ctr" -- cargo --version >&2 || fail "cargo does not run in $rust_base"
    bh commit --quiet "$ctr" "$rust_base" >/dev/null
    bh rm "$ctr" >/dev/null
    say "Rust base image built in $((SECONDS - start)) s"
}

# The context holds exactly what the Dockerfile copies (what .dockerignore lets through), so a
# multi-gigabyte target/ is never handed to buildah.
context="$(mktemp -d /tmp/ocean-ingest-image.XXXXXX)"
derived=""
aux=""
cleanup() {
    rm -rf "$context"
    if [[ -n "$aux" ]]; then rm -rf "$aux"; fi
    if [[ -n "$derived" ]]; then bh rm "$derived" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
cp "$root/Dockerfile" "$root/.dockerignore" "$root/Cargo.toml" "$root/Cargo.lock" "$context/"
mkdir -p "$context/examples" "$context/assets/fonts"
cp -a "$root/src" "$root/templates" "$root/data" "$context/"
cp "$root/examples/pipelines.toml" "$context/examples/"
cp "$root/assets/fonts/DejaVuSans.ttf" "$root/assets/fonts/LICENSE-DejaVu.txt" "$context/assets/fonts/"

build_args=(--build-arg "RUNTIME_IMAGE=$base")
if [[ -n "$db_ca" ]]; then
    grep -q -- '-----BEGIN CERTIFICATE-----' "$db_ca" || fail "--db-ca $db_ca holds no PEM certificate"
    mkdir -p "$context/certs"
    cp "$db_ca" "$context/certs/db-ca-bundle.pem"
    build_args+=(--build-arg "DB_CA_BUNDLE=certs/db-ca-bundle.pem")
else
    say "no --db-ca: the build fetches AWS's RDS CA bundle (fails without access to truststore.pki.rds.amazonaws.com)"
fi

ensure_base
case "$target" in
    runtime-prebuilt)
        binary="$(release_binary)"
        [[ -x "$binary" ]] || fail "no release binary at $binary"
        if ldd "$binary" 2>/dev/null | grep -q libnetcdf; then
            fail "$binary links libnetcdf dynamically, and the image carries none: build it with --features static-netcdf (see Cargo.toml)"
        fi
        mkdir -p "$context/target/release"
        cp "$binary" "$context/target/release/ocean-ingest"
        version="$("$binary" --version 2>/dev/null | awk '{print $2}')"
        ;;
    runtime | toolchain)
        ensure_rust_base
        # The crates the build stage compiles, fetched by the host's cargo (which holds the
        # registry's lock), so the stage finds every one of them in the mounted cache.
        cargo_home="${CARGO_HOME:-$HOME/.cargo}"
        say "cargo fetch --locked (fills $cargo_home/registry for the build stage)"
        (cd "$root" && cargo fetch --locked >&2) || fail "cargo fetch failed: is the crate registry reachable?"
        image_target="${OCEAN_INGEST_IMAGE_TARGET_DIR:-$root/target/image-build}"
        mkdir -p "$image_target"
        volumes=(--volume "$cargo_home/registry:/usr/local/cargo/registry:rw"
            --volume "$image_target:/src/target:rw")
        # pip (cmake from PyPI) trusts the host's CA bundle, through a pip.conf mounted for the
        # RUN steps only.
        build_ca="${OCEAN_INGEST_BUILD_CA:-/etc/ssl/certs/ca-certificates.crt}"
        if [[ -f "$build_ca" ]]; then
            aux="$(mktemp -d /tmp/ocean-ingest-image-aux.XXXXXX)"
            cp "$build_ca" "$aux/ca-bundle.crt"
            printf '[global]\ncert = /run/ocean-ingest-build/ca-bundle.crt\n' >"$aux/pip.conf"
            volumes+=(--volume "$aux:/run/ocean-ingest-build:ro" --volume "$aux/pip.conf:/etc/pip.conf:ro")
        fi
        build_args+=(--build-arg "RUST_IMAGE=$rust_base" "${volumes[@]}")
        version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -n1)"
        ;;
esac

bud() {
    bh bud --isolation chroot --pull=never --network host \
        "${build_args[@]}" \
        --build-arg "VERSION=${version:-dev}" \
        --build-arg "REVISION=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
        "$@" "$context" >"$log" 2>&1 \
        || { tail -40 "$log" >&2; fail "buildah bud failed (whole log: $log)"; }
}
log="/tmp/ocean-ingest-image-build.log"

if [[ "$target" == toolchain ]]; then
    start=$SECONDS
    say "building the Dockerfile's toolchain stage (base $rust_base)"
    bud --target toolchain --tag localhost/ocean-ingest-toolchain:check
    # Only the crates that compile C are built here, through a scratch crate that depends on
    # netcdf with the static feature and starts from our Cargo.lock (so the same versions of
    # netcdf-src and hdf5-metno-src): their build scripts compile HDF5 and netCDF-C with cmake,
    # make and g++ exactly as the build stage does. The Rust code is the host's, compiled by the
    # same toolchain release in the test build; checking the whole dependency set again in release
    # would double the run for nothing new.
    netcdf_req="$(sed -n 's/^netcdf = "\(.*\)"/\1/p' "$root/Cargo.toml")"
    [[ -n "$netcdf_req" ]] || fail "Cargo.toml has no netcdf = \"VERSION\" line to check the static build of"
    say "in it: cargo check --release of netcdf $netcdf_req with feature static (builds HDF5 and netCDF-C from source)"
    derived="$(bh from --pull=never localhost/ocean-ingest-toolchain:check)"
    bh run --isolation chroot --network host --volume "$context:/src:rw" "${volumes[@]}" "$derived" -- \
        sh -c 'set -e; d=/tmp/c-libs; mkdir -p $d/src; : >$d/src/lib.rs; cp /src/Cargo.lock $d/
               printf "[package]\nname = \"c-libs\"\nversion = \"0.0.0\"\nedition = \"2021\"\n[dependencies]\nnetcdf = { version = \"%s\", features = [\"static\"] }\n" "$1" >$d/Cargo.toml
               cd $d && CARGO_TARGET_DIR=/src/target CMAKE=/opt/cmake/bin/cmake cargo check --release --offline' \
        sh "$netcdf_req" >"$log.c" 2>&1 \
        || { tail -40 "$log.c" >&2; fail "the static C libraries do not build in the toolchain stage (whole log: $log.c)"; }
    for lib in libnetcdf.a libhdf5.a; do
        [[ -n "$(find "$image_target/release/build" -name "$lib" -print -quit 2>/dev/null)" ]] \
            || fail "the toolchain check left no $lib under $image_target/release/build (whole log: $log.c)"
    done
    # vfs keeps a full copy of every layer and container: free the toolchain's before the next
    # stage needs room of its own (a CI machine ran out of disk here with both kept).
    bh rm "$derived" >/dev/null 2>&1 || true
    derived=""
    bh rmi localhost/ocean-ingest-toolchain:check >/dev/null 2>&1 || true
    say "building the Dockerfile's runtime-base stage"
    bud --target runtime-base --tag localhost/ocean-ingest-runtime-base:check
    bh rmi localhost/ocean-ingest-runtime-base:check >/dev/null 2>&1 || true
    say "toolchain check passed in $((SECONDS - start)) s"
    exit 0
fi

say "building $image (target $target, bases $base and, for the build stage, $rust_base)"
previous="$(bh inspect --type image --format '{{.FromImageID}}' "$image" 2>/dev/null || true)"
start=$SECONDS
bud --target "$target" --tag "$image"
elapsed=$((SECONDS - start))
# vfs stores every image as a full copy: drop the one this build replaced, unless still tagged.
if [[ -n "$previous" && "$previous" != "$(bh inspect --type image --format '{{.FromImageID}}' "$image")" ]]; then
    bh rmi "$previous" >/dev/null 2>&1 || true
fi
size="$(bh images --format '{{.Size}}' "$image" | head -n1)"
say "built $image in ${elapsed} s; size $size"

# An operator's image: the one just built plus their pipeline file, at the path the image's
# INGEST_PIPELINES names, checked by the binary it will run with.
if [[ -n "$pipelines" ]]; then
    derived="$(bh from --pull=never "$image")"
    path="$(bh inspect --format '{{range .OCIv1.Config.Env}}{{println .}}{{end}}' "$image" | sed -n 's/^INGEST_PIPELINES=//p')"
    [[ -n "$path" ]] || fail "$image sets no INGEST_PIPELINES"
    bh copy --chown 0:0 --chmod 0444 "$derived" "$pipelines" "$path" >/dev/null
    bh run --isolation chroot "$derived" -- ocean-ingest pipelines validate >&2 \
        || fail "$pipelines does not validate with the image's ocean-ingest"
    bh commit --quiet "$derived" "$image" >/dev/null
    say "added $pipelines as $path to $image"
fi
