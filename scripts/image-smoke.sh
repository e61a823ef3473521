#!/usr/bin/env bash
# Smoke test of the runtime image, run the way AWS Batch on Fargate runs it (infra/batch.tf):
#   - read-only root filesystem: the image's files are mounted read-only;
#   - the work folder (/var/lib/ocean-ingest) is a fresh task volume, made as Fargate makes one:
#     when the image declares a VOLUME at that path, with the image's owner, mode and content;
#     otherwise empty, root-owned, mode 0755;
#   - the image's user (uid 10001), environment, working folder and entry point;
#   - the job definition's command `run --incoming-key <key>` and environment, against S3 + SQS
#     (moto), PostgreSQL with TLS verified (sslmode=verify-full against the CA bundle in the
#     image) and an SMTP sink, all on 127.0.0.1 (scripts/lib/servers.sh).
#
# What it requires, in order:
#   1. the image as built carries no pipeline file: a job exits 2 and names the missing file;
#   2. the rule above, checked on the harness itself: without the image's VOLUME the work
#      folder is root's 0755 and the job cannot work (exit 75); then with it:
#   3. an upload raises the S3 event; the job for its key (taken from the message as the pipe
#      takes it, still URL-encoded) exits 0: archived, published, removed from incoming, indexed,
#      a result event sent; the same event again exits 0 (at-least-once delivery);
#   4. a bad upload is rejected: exit 1, kept in the error store, removed from incoming;
#   5. a transient failure (the database unreachable) exits 75 and keeps the upload in incoming;
#      the retry, with the database back, exits 0.
# The image under test gets the operator's layer a deployment adds: a pipeline file (the example
# file, OCEAN_INGEST_SMOKE_PIPELINES) and, as the RDS CA bundle, the test servers' CA.
#
#   scripts/image-smoke.sh              # build (scripts/image-build.sh, target runtime) + smoke
#   scripts/image-smoke.sh --no-build   # the image built last time (about a minute)
#
# Environment: OCEAN_INGEST_IMAGE (see image-build.sh), OCEAN_INGEST_VENV (the test venv of
# scripts/requirements-test.txt; installed if missing), OCEAN_INGEST_SMOKE_PIPELINES.
# Needs root (buildah, mount namespaces, PostgreSQL as the postgres user), buildah, unshare.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
image="${OCEAN_INGEST_IMAGE:-localhost/ocean-ingest:dev}"
pipelines="${OCEAN_INGEST_SMOKE_PIPELINES:-$root/examples/pipelines.toml}"
data="$root/tests/data"
good="$data/IMOS_ANMN-NRS_CDEKOSTUZ_20140703T021045Z_NRSMAI_FV01_Profile-SBE-19plus_C-20160524T003914Z.nc"
bad="$data/IMOS_ANMN-NRS_CDEKOSTUZ_20140703T021045Z_NRSMAI_FV00_Profile-BAD_C-20160524T003914Z.nc"
retried="$data/IMOS_ANMN-NRS_TZ_20180406T080000Z_NRSROT_FV01_NRSROT-1804-SBE39-27_END-20180413T064000Z_C-20200313T000000Z.nc"
# The incoming layout of infra/examples/complete: one folder per stream.
key_prefix="ANMN/NRS/"
# The job definition's mount path of the work volume (infra/main.tf, local.work_dir; terraform
# test holds it equal to the Dockerfile's VOLUME).
work_path="/var/lib/ocean-ingest"

build=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --no-build) build=0; shift ;;
        -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
        *) printf 'image-smoke: unknown argument %s\n' "$1" >&2; exit 2 ;;
    esac
done

say() { printf '==> %s\n' "$*" >&2; }
fail() { printf 'image-smoke: FAILED: %s\n' "$*" >&2; exit 1; }
bh() { buildah --storage-driver vfs "$@"; }

[[ "$(id -u)" -eq 0 ]] || fail "run as root (buildah, mount namespaces, PostgreSQL as the postgres user)"
for f in "$good" "$bad" "$retried" "$pipelines"; do [[ -f "$f" ]] || fail "missing $f"; done
command -v unshare >/dev/null || fail "unshare (util-linux) is missing"
started=$SECONDS

# --- servers on 127.0.0.1 (first: their CA goes into the image) -----------------------------------

cd "$root"
# shellcheck source=lib/setup.sh
source scripts/lib/setup.sh
# shellcheck source=lib/servers.sh
source scripts/lib/servers.sh
ensure_venv
ensure_postgres
# The example pipelines harvest collections with geometry columns: the index database has PostGIS,
# as a deployment's does.
ensure_postgis

work="$(mktemp -d /tmp/ocean-ingest-smoke.XXXXXX)"
chmod 755 "$work"
ctr=""
test_image="$image-smoke"
cleanup() {
    stop_servers
    if [[ -n "$ctr" ]]; then
        bh umount "$ctr" >/dev/null 2>&1 || true
        bh rm "$ctr" >/dev/null 2>&1 || true
    fi
    bh rmi "$test_image" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
start_servers || fail "the test servers did not start"
"$(pg_bindir)/psql" "$INGEST_TEST_PG_URL" -q -c "CREATE EXTENSION IF NOT EXISTS postgis" \
    || fail "PostGIS could not be created in the test database"

if [[ $build -eq 1 ]]; then
    "$root/scripts/image-build.sh" --target runtime --db-ca "$INGEST_TEST_PG_CA"
fi
bh inspect --type image "$image" >/dev/null 2>&1 || fail "no image $image: run without --no-build"

# --- the container as Fargate runs it -------------------------------------------------------------

config="$(bh inspect --type image "$image")"
image_field() { python3 -c 'import json,sys; c=json.loads(sys.argv[1])["OCIv1"]["config"]; print(eval(sys.argv[2]))' "$config" "$1"; }
user="$(image_field 'c.get("User","")')"
workdir="$(image_field 'c.get("WorkingDir","") or "/"')"
entrypoint="$(image_field '" ".join(c.get("Entrypoint") or [])')"
volumes="$(image_field '"\n".join(sorted((c.get("Volumes") or {}).keys()))')"
mapfile -t image_env < <(image_field '"\n".join(c.get("Env") or [])')
[[ "$entrypoint" == "ocean-ingest" ]] || fail "entry point is '$entrypoint'; the job definition's command expects ocean-ingest"
[[ "$user" =~ ^[0-9]+:[0-9]+$ && "${user%%:*}" != 0 ]] || fail "the image runs as '$user', not a numeric non-root uid:gid"
say "image $image: user $user, entry point $entrypoint, volumes: ${volumes//$'\n'/ }"

# The image under test: the built one plus what a deployment adds (pipeline file, CA bundle).
ctr="$(bh from --pull=never "$image")"
pipelines_path="$(printf '%s\n' "${image_env[@]}" | sed -n 's/^INGEST_PIPELINES=//p')"
[[ -n "$pipelines_path" ]] || fail "the image sets no INGEST_PIPELINES"

# Runs the image's entry point with ARGS as Batch on Fargate would, after `--env NAME=VALUE`
# options. VOLUME_MODE: image (Fargate's rule: the image's VOLUME at the mount path, if any) or
# bare (an empty root-owned 0755 folder, what Fargate gives without one).
fargate_run() {
    local volume_mode="$1"; shift
    local env=("${image_env[@]}")
    while [[ "${1:-}" == --env ]]; do env+=("$2"); shift 2; done
    [[ "${1:-}" == -- ]] && shift
    local mnt newroot vol
    mnt="$(bh mount "$ctr")"
    newroot="$work/root" vol="$work/volume"
    rm -rf "$vol" && mkdir -p "$newroot" "$vol"
    if [[ "$volume_mode" == image ]] && grep -qx -- "$work_path" <<<"$volumes"; then
        # Fargate copies the image's folder (content, owner, mode) into the task's volume.
        cp -a "$mnt$work_path/." "$vol/"
        chown --reference="$mnt$work_path" "$vol"
        chmod --reference="$mnt$work_path" "$vol"
    else
        chown 0:0 "$vol"
        chmod 0755 "$vol"
    fi
    # /etc/hosts and /etc/resolv.conf are the platform's, as in any container.
    touch "$mnt/etc/hosts" "$mnt/etc/resolv.conf"
    printf '%s\n' "${env[@]}" >"$work/env"
    local code=0
    # A mount namespace of its own: the image read-only, the volume on the work path, /proc,
    # /dev; then the image's user, environment and working folder, and its entry point.
    unshare --mount --propagation private -- /bin/bash -s -- "$mnt" "$newroot" "$vol" "$work_path" \
        "${user%%:*}" "${user#*:}" "$workdir" "$work/env" "$entrypoint" "$@" <<'SH' || code=$?
set -euo pipefail
mnt=$1 newroot=$2 vol=$3 work_path=$4 uid=$5 gid=$6 workdir=$7 envfile=$8 entrypoint=$9
shift 9
mapfile -t envs <"$envfile"
mount --bind "$mnt" "$newroot"
mount -o remount,bind,ro "$newroot"
mount --bind "$vol" "$newroot$work_path"
mount -t proc proc "$newroot/proc"
mount --rbind /dev "$newroot/dev"
mount --bind -o ro /etc/hosts "$newroot/etc/hosts"
mount --bind -o ro /etc/resolv.conf "$newroot/etc/resolv.conf"
exec chroot "$newroot" /usr/bin/setpriv --reuid="$uid" --regid="$gid" --clear-groups -- \
    /usr/bin/env -i -C "$workdir" "${envs[@]}" "$entrypoint" "$@"
SH
    bh umount "$ctr" >/dev/null
    return "$code"
}

aws() {
    AWS_ENDPOINT_URL="$INGEST_TEST_AWS_ENDPOINT" AWS_ACCESS_KEY_ID=smoke AWS_SECRET_ACCESS_KEY=smoke \
        AWS_DEFAULT_REGION=us-east-1 "$OCEAN_INGEST_VENV/bin/python" - "$@"
}

# The job definition's environment (infra/batch.tf), pointed at the servers on 127.0.0.1; the
# index URL as index_url_format prescribes, verifying the server against the image's CA bundle.
db_ca_path="/etc/ocean-ingest/rds-ca-bundle.pem"
index_url="$INGEST_TEST_PG_URL?sslmode=verify-full&sslrootcert=$db_ca_path"
job_env=(
    --env "AWS_ENDPOINT_URL=$INGEST_TEST_AWS_ENDPOINT" --env AWS_REGION=us-east-1
    --env AWS_ACCESS_KEY_ID=smoke --env AWS_SECRET_ACCESS_KEY=smoke
    --env INGEST_INCOMING_URL=s3://incoming --env INGEST_ARCHIVE_URL=s3://archive
    --env INGEST_PUBLIC_URL=s3://public --env INGEST_ERROR_URL=s3://error/errors
    --env INGEST_REPORTS_URL=s3://error/reports
    --env "INGEST_INDEX_URL=$index_url"
    --env "INGEST_NOTIFY_URL=$INGEST_TEST_SMTP_URL" --env "INGEST_NOTIFY_FROM=ocean-ingest <ingest@example.org>"
    --env "INGEST_RESULTS_QUEUE_URL=$INGEST_TEST_AWS_ENDPOINT/123456789012/results"
    --env "INGEST_PIPELINES=$pipelines_path" --env INGEST_LOG_FORMAT=json
    --env "INGEST_WORK_DIR=$work_path" --env "TMPDIR=$work_path"
    --env INGEST_SOURCE_KEY_ENCODING=url --env INGEST_MAX_ATTEMPTS=3 --env INGEST_LEASE_SECONDS=600
)

say "buckets, the stream's queue with its S3 notification, the results queue"
aws "$key_prefix" <<'PY'
import sys, boto3
prefix = sys.argv[1]
s3, sqs = boto3.client("s3"), boto3.client("sqs")
for bucket in ("incoming", "archive", "public", "error"):
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
queue = sqs.create_queue(QueueName="anmn_nrs")["QueueUrl"]
arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
sqs.create_queue(QueueName="results")
s3.put_bucket_notification_configuration(Bucket="incoming", NotificationConfiguration={"QueueConfigurations": [{
    "QueueArn": arn, "Events": ["s3:ObjectCreated:*"],
    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": prefix}]}}}]})
PY

# Uploads FILE under the stream's prefix and prints the object key as the pipe hands it to
# Batch: $.body.Records[0].s3.object.key of the stream queue's message, URL-encoded as S3 sent it
# (the pipe's filter drops s3:TestEvent).
upload() {
    aws "$1" "$key_prefix$(basename "$1")" <<'PY'
import json, sys, time, boto3
sample, key = sys.argv[1], sys.argv[2]
s3, sqs = boto3.client("s3"), boto3.client("sqs")
s3.upload_file(sample, "incoming", key)
queue = sqs.get_queue_url(QueueName="anmn_nrs")["QueueUrl"]
deadline = time.time() + 20
while time.time() < deadline:
    for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
        body = json.loads(message["Body"])
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        records = body.get("Records", [])
        if records and records[0]["eventSource"] == "aws:s3" and records[0]["eventName"].startswith("ObjectCreated:"):
            print(records[0]["s3"]["object"]["key"])
            sys.exit(0)
sys.exit("no ObjectCreated event on the stream queue")
PY
}

# Keys in BUCKET (whole bucket), one per line. Readers take every line (grep >/dev/null, not
# grep -q): under pipefail a reader that stops at its first match breaks the pipe and fails the
# pipeline.
keys() {
    aws "$1" <<'PY'
import sys, boto3
for o in boto3.client("s3").list_objects_v2(Bucket=sys.argv[1]).get("Contents", []):
    print(o["Key"])
PY
}

# Runs the job definition's command for KEY; echoes the exit code.
run_job() {
    local mode="$1" key="$2"; shift 2
    local code=0
    fargate_run "$mode" "${job_env[@]}" "$@" -- run --incoming-key "$key" >"$work/job.log" 2>&1 || code=$?
    printf '%s\n' "$code"
}

# 1. The image as built carries no pipeline file of its own.
say "1. the image as built has no pipeline file: a job must exit 2 and name it"
good_key="$(upload "$good")" || fail "no S3 event for $good"
say "   S3 event key: $good_key"
code="$(run_job image "$good_key")"
[[ "$code" == 2 ]] || { cat "$work/job.log" >&2; fail "without a pipeline file the job exited $code, not 2"; }
grep -q -- "$pipelines_path" "$work/job.log" || { cat "$work/job.log" >&2; fail "the exit-2 message does not name $pipelines_path"; }
[[ " $(keys incoming | tr '\n' ' ') " == *" $key_prefix$(basename "$good") "* ]] || fail "a configuration error lost the upload"

# The operator's layer: their pipeline file and, as the RDS CA bundle, the test servers' CA.
bh copy --chown 0:0 --chmod 0444 "$ctr" "$pipelines" "$pipelines_path" >/dev/null
bh copy --chown 0:0 --chmod 0444 "$ctr" "$INGEST_TEST_PG_CA" "$db_ca_path" >/dev/null
bh commit --quiet "$ctr" "$test_image" >/dev/null
bh rm "$ctr" >/dev/null
ctr="$(bh from --pull=never "$test_image")"

# 2. The harness models Fargate's rule: without the image's VOLUME the job cannot write.
say "2. as Fargate without the image's VOLUME (root-owned 0755 work folder): the job must fail (75)"
code="$(run_job bare "$good_key")"
[[ "$code" == 75 ]] || { cat "$work/job.log" >&2; fail "with a root-owned work folder the job exited $code, not 75"; }
grep -qx -- "$work_path" <<<"$volumes" || fail "the image declares no VOLUME $work_path: on Fargate the work folder would be root's 0755"

# 3. An upload is ingested, and the same event again is a duplicate.
say "3. an upload: exit 0, archived, published, indexed, result event; the same event again: exit 0"
code="$(run_job image "$good_key")"
[[ "$code" == 0 ]] || { cat "$work/job.log" >&2; fail "ocean-ingest run exited $code"; }
aws "$key_prefix$(basename "$good")" <<'PY' || fail "the job's side effects are not all there"
import sys, boto3
key = sys.argv[1]
s3, sqs = boto3.client("s3"), boto3.client("sqs")
listing = {b: [o["Key"] for o in s3.list_objects_v2(Bucket=b).get("Contents", [])] for b in ("incoming", "archive", "public", "error")}
for bucket, keys in listing.items():
    print(f"    s3://{bucket}: {keys}", file=sys.stderr)
results = sqs.receive_message(QueueUrl=sqs.get_queue_url(QueueName="results")["QueueUrl"], MaxNumberOfMessages=10).get("Messages", [])
problems = []
if key in listing["incoming"]: problems.append("the upload is still in incoming")
if not any(k.startswith("_uploads/") for k in listing["archive"]): problems.append("no archived upload")
if not listing["public"]: problems.append("nothing published")
if not results: problems.append("no result event on the results queue")
for p in problems: print(f"    MISSING: {p}", file=sys.stderr)
sys.exit(1 if problems else 0)
PY
tables="$("$(pg_bindir)/psql" "$INGEST_TEST_PG_URL" -At \
    -c "select count(*) from information_schema.tables where table_schema not in ('pg_catalog', 'information_schema')")"
[[ "$tables" -gt 0 ]] || fail "the index has no tables (the job never reached PostgreSQL over verified TLS)"
code="$(run_job image "$good_key")"
[[ "$code" == 0 ]] || { cat "$work/job.log" >&2; fail "a repeated event exited $code, not 0"; }

# 4. A bad upload is rejected and kept.
say "4. a bad upload: exit 1, kept in the error store, removed from incoming"
bad_key="$(upload "$bad")" || fail "no S3 event for $bad"
code="$(run_job image "$bad_key")"
[[ "$code" == 1 ]] || { cat "$work/job.log" >&2; fail "a bad upload exited $code, not 1"; }
[[ -z "$(keys incoming | grep -F "$(basename "$bad")" || true)" ]] || fail "the rejected upload is still in incoming"
keys error | grep "^errors/.*$(basename "$bad")\." >/dev/null || fail "the rejected upload is not in the error store"

# 5. A transient failure keeps the upload for the retry, which then succeeds.
say "5. the database unreachable: exit 75, upload kept; the retry with the database back: exit 0"
retried_key="$(upload "$retried")" || fail "no S3 event for $retried"
closed_port="$(free_port)"
code="$(run_job image "$retried_key" --env "INGEST_INDEX_URL=postgres://postgres@127.0.0.1:$closed_port/postgres?sslmode=verify-full&sslrootcert=$db_ca_path&connect_timeout=2")"
[[ "$code" == 75 ]] || { cat "$work/job.log" >&2; fail "with the database down the job exited $code, not 75"; }
keys incoming | grep -F "$(basename "$retried")" >/dev/null || fail "a transient failure lost the upload from incoming"
code="$(run_job image "$retried_key" --env AWS_BATCH_JOB_ATTEMPT=2)"
[[ "$code" == 0 ]] || { cat "$work/job.log" >&2; fail "the retry exited $code, not 0"; }
keys incoming | grep -F "$(basename "$retried")" >/dev/null && fail "the retried upload is still in incoming"

say "emails sent: $(find "$INGEST_TEST_SMTP_DIR" -name '*.eml' | wc -l); index tables: $tables"
say "PASSED in $((SECONDS - started)) s"
