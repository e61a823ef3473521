# syntax=docker/dockerfile:1
#
# ocean-ingest: one ingestion job per container run (AWS Batch on Fargate runs
# `ocean-ingest run --incoming-key <key>`; see infra/ and docs/DEPLOY.md).
#
#   docker build -t ocean-ingest .                    # the default target, runtime: compiles in
#                                                     # the build stage
#   docker build --target runtime-prebuilt -t ocean-ingest .
#                                                     # package target/release/ocean-ingest built on
#                                                     # the host with --features static-netcdf
#
# Stages: toolchain (Rust, make, perl, cmake) -> build (libnetcdf, HDF5 and zlib built from
# source and linked statically) -> runtime-base (slim Debian with CA certificates, the RDS CA
# bundle and the work volume: the binary needs nothing but libc) -> runtime-prebuilt (a static
# binary from the context) and runtime (the binary from build; the default, so it comes last).
#
# The image carries no pipeline file: production pipelines are the operator's (docs/DEPLOY.md,
# "The pipeline file"). A job started without one exits 2 and names the missing file.
#
# Base images are pinned by the digest of their multi-platform index, so a rebuild of this commit
# starts from the same bytes. To move to a newer patch release, read the current digest of the tag
# on a machine that reaches Docker Hub and replace it here:
#   docker buildx imagetools inspect rust:1.95-slim-bookworm     (the "Digest:" line)
#   docker buildx imagetools inspect debian:bookworm-slim
# Both are overridable (--build-arg RUST_IMAGE=..., RUNTIME_IMAGE=...): scripts/image-build.sh
# builds offline from local bases made by debootstrap and the host's Rust toolchain.

ARG RUST_IMAGE=rust:1.95-slim-bookworm@sha256:d7482085ff5b415f84dba5647ae71606650bdef00db7aeb69f4b3d170c3e4082
ARG RUNTIME_IMAGE=debian:bookworm-slim@sha256:7b140f374b289a7c2befc338f42ebe6441b7ea838a042bbd5acbfca6ec875818

FROM ${RUST_IMAGE} AS toolchain
# Debian package versions are not pinned: bookworm only ever moves them forward with security
# fixes, and a pinned version disappears from the mirror when that happens.
# libnetcdf and HDF5 are compiled from source and linked statically (feature static-netcdf): the
# binary starts in half the time, which is most of a compliance check's cost. Their build needs
# cmake >= 3.26, newer than bookworm's, so it comes from PyPI in a venv of its own. The slim Rust
# image has gcc and libc6-dev but no make, which cmake's generator runs, and no C++ compiler,
# which netCDF-C's CMake project requires (without either the static build, and so `docker build`
# of the default target, fails); and only perl-base, not the perl HDF5's CMake looks for.
ARG CMAKE_VERSION=3.31.10
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends g++ make perl pkg-config python3-venv \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/cmake \
    && /opt/cmake/bin/pip install --no-cache-dir "cmake==${CMAKE_VERSION}"
WORKDIR /src

FROM toolchain AS build
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# Compiled into the binary with include_str!/include_bytes!: the email templates, the example
# pipelines (what `ocean-ingest` uses on a laptop with no pipeline file; never the image's
# configuration, see runtime-base), the font of the quick-look plots and the compliance
# reference tables (UDUNITS-2, CF standard names).
COPY templates ./templates
COPY data ./data
COPY examples/pipelines.toml ./examples/pipelines.toml
COPY assets/fonts ./assets/fonts
RUN CMAKE=/opt/cmake/bin/cmake cargo build --release --locked --features static-netcdf --bin ocean-ingest \
    && install -D -m 0755 target/release/ocean-ingest /out/ocean-ingest

FROM ${RUNTIME_IMAGE} AS runtime-base
# CA bundle that signs the RDS database's certificate (INGEST_INDEX_URL uses sslmode=verify-full
# with sslrootcert pointing here). Debian's ca-certificates does not include it. The default is
# AWS's global bundle, fetched while building; where AWS cannot be reached, put the bundle (or a
# test CA) in the build context under certs/ and name it: --build-arg DB_CA_BUNDLE=certs/NAME.pem.
ARG DB_CA_BUNDLE=https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem
# CA certificates are for TLS to S3, SQS and SMTP. Unpinned for the reason given in the build
# stage. The work folder belongs to the job's user: Fargate creates a task volume mounted on a
# path the image declares as a VOLUME with the image's owner, mode and content (otherwise root,
# 0755, and the job could not write to it on its read-only root filesystem).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 10001 --user-group --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin ingest \
    && install -d -o 10001 -g 10001 -m 0700 /var/lib/ocean-ingest \
    && install -d -m 0755 /etc/ocean-ingest
# ADD, not COPY: the default source is a URL, which only ADD fetches (hadolint cannot see that
# through the build argument).
# hadolint ignore=DL3020
ADD --chmod=0444 ${DB_CA_BUNDLE} /etc/ocean-ingest/rds-ca-bundle.pem
# The binary carries the DejaVu Sans font; its licence travels with it.
COPY assets/fonts/LICENSE-DejaVu.txt /usr/share/doc/ocean-ingest/LICENSE-DejaVu.txt
# The job writes only to INGEST_WORK_DIR (and TMPDIR, the same folder); in Batch the root
# filesystem is read-only. INGEST_PIPELINES names the operator's file: a derived image adds it
# there (docs/DEPLOY.md), or the job definition points elsewhere.
ENV INGEST_PIPELINES=/etc/ocean-ingest/pipelines.toml \
    INGEST_LOG_FORMAT=json \
    INGEST_WORK_DIR=/var/lib/ocean-ingest \
    TMPDIR=/var/lib/ocean-ingest
VOLUME ["/var/lib/ocean-ingest"]
WORKDIR /var/lib/ocean-ingest
USER 10001:10001
ENTRYPOINT ["ocean-ingest"]
# The job definition gives the command; by itself the image says which version it is.
CMD ["--version"]
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="ocean-ingest" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.description="Checks, publishes, indexes and reports one uploaded ocean-data file per run" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.vendor="ocean-ingest"

FROM runtime-base AS runtime-prebuilt
ARG BINARY=target/release/ocean-ingest
COPY --chmod=0755 ${BINARY} /usr/local/bin/ocean-ingest

FROM runtime-base AS runtime
COPY --from=build /out/ocean-ingest /usr/local/bin/ocean-ingest
