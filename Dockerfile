# syntax=docker/dockerfile:1
#
# ocean-ingest: one ingestion job per container run (AWS Batch on Fargate runs
# `ocean-ingest run --incoming-key <key>`; see infra/ and docs/DEPLOY.md).
#
#   docker build -t ocean-ingest .                    # compile inside the build stage
#   docker build --target runtime-prebuilt -t ocean-ingest .
#                                                     # package target/release/ocean-ingest built on
#                                                     # the host with --features static-netcdf
#
# Stages: build (Rust toolchain; libnetcdf and HDF5 built from source and linked statically) ->
# runtime-base (slim Debian with only CA certificates and the pipeline config: the binary needs
# nothing but libc) -> runtime (binary from build, the default) or runtime-prebuilt (a static
# binary from the context, needs no network beyond the base image's packages).

ARG RUST_IMAGE=rust:1.95-slim-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${RUST_IMAGE} AS build
# Debian package versions are not pinned: bookworm only ever moves them forward with security
# fixes, and a pinned version disappears from the mirror when that happens.
# libnetcdf and HDF5 are compiled from source and linked statically (feature static-netcdf): the
# binary starts in half the time, which is most of a compliance check's cost. Their build needs
# cmake >= 3.26, newer than bookworm's, so it comes from PyPI in a venv of its own.
ARG CMAKE_VERSION=3.31.10
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends pkg-config python3-venv \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/cmake \
    && /opt/cmake/bin/pip install --no-cache-dir "cmake==${CMAKE_VERSION}"
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# Compiled into the binary with include_str!/include_bytes!: the email templates, the example
# pipelines, the font of the quick-look plots and the compliance reference tables (UDUNITS-2,
# CF standard names).
COPY templates ./templates
COPY data ./data
COPY examples/pipelines.toml ./examples/pipelines.toml
COPY assets/fonts ./assets/fonts
RUN CMAKE=/opt/cmake/bin/cmake cargo build --release --locked --features static-netcdf --bin ocean-ingest \
    && install -D -m 0755 target/release/ocean-ingest /out/ocean-ingest

FROM ${RUNTIME_IMAGE} AS runtime-base
# The binary links libnetcdf statically; CA certificates are for TLS to S3, SQS, RDS and SMTP.
# Unpinned for the reason given in the build stage.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 10001 --user-group --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin ingest
COPY examples/pipelines.toml /etc/ocean-ingest/pipelines.toml
# The binary carries the DejaVu Sans font; its licence travels with it.
COPY assets/fonts/LICENSE-DejaVu.txt /usr/share/doc/ocean-ingest/LICENSE-DejaVu.txt
# The job writes only to INGEST_WORK_DIR; in Batch the root filesystem is read-only and /tmp is a
# volume on the task's ephemeral storage.
ENV INGEST_PIPELINES=/etc/ocean-ingest/pipelines.toml \
    INGEST_LOG_FORMAT=json \
    INGEST_WORK_DIR=/tmp
WORKDIR /tmp
USER 10001:10001
ENTRYPOINT ["ocean-ingest"]
CMD ["--help"]
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
