#!/usr/bin/env bash
# Smoke test of the runtime image: builds it (scripts/image-build.sh), starts S3 + SQS (moto),
# PostgreSQL and an SMTP sink on 127.0.0.1, and runs one ingestion in the container the way AWS
# Batch does, as the image's non-root user, with /tmp as the only writable place.
#
# Modes (--mode, default auto):
#   s3     the production path: an upload to the incoming bucket raises an S3 event on the
#          pipeline's SQS queue; the script takes the object key from the message exactly as the
#          EventBridge Pipe does ($.body.Records[0].s3.object.key, still URL-encoded) and runs the
#          job definition's command, `ocean-ingest run --incoming-key <key>`, with the job
#          definition's environment (S3, SQS results queue, PostgreSQL index, SMTP).
#   local  a local ingest inside the container: stores, index and outbox in a mounted folder.
#   auto   s3 when the binary has `run --incoming-key`, else local (and says so).
#
#   scripts/image-smoke.sh                     # build + smoke, about a minute when built before
#   scripts/image-smoke.sh --no-build          # reuse the image built last time
#
# Environment: OCEAN_INGEST_IMAGE, OCEAN_INGEST_BINARY (see image-build.sh), OCEAN_INGEST_VENV
# (the test venv of scripts/requirements-test.txt; installed if missing), OCEAN_INGEST_SMOKE_FILE
# (the upload, default the NRS CTD profile of tests/data).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
image="${OCEAN_INGEST_IMAGE:-localhost/ocean-ingest:dev}"
sample="${OCEAN_INGEST_SMOKE_FILE:-$root/tests/data/IMOS_ANMN-NRS_CDEKOSTUZ_20140703T021045Z_NRSMAI_FV01_Profile-SBE-19plus_C-20160524T003914Z.nc}"
# The incoming layout of infra/examples/complete: one folder per pipeline stream.
key_prefix="ANMN/NRS/"

mode=auto
build=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --mode) mode="$2"; shift 2 ;;
        --mode=*) mode="${1#--mode=}"; shift ;;
        --no-build) build=0; shift ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        *) printf 'image-smoke: unknown argument %s\n' "$1" >&2; exit 2 ;;
    esac
done

say() { printf '==> %s\n' "$*" >&2; }
fail() { printf 'image-smoke: FAILED: %s\n' "$*" >&2; exit 1; }
bh() { buildah --storage-driver vfs "$@"; }

[[ "$(id -u)" -eq 0 ]] || fail "run as root (buildah with chroot isolation, PostgreSQL as the postgres user)"
[[ -f "$sample" ]] || fail "no upload to ingest at $sample (set OCEAN_INGEST_SMOKE_FILE)"
started=$SECONDS

if [[ $build -eq 1 ]]; then
    "$root/scripts/image-build.sh"
fi
bh inspect --type image "$image" >/dev/null 2>&1 || fail "no image $image: run without --no-build"

# --- servers on 127.0.0.1 ------------------------------------------------------------------------

# The test servers of scripts/test.sh: moto (S3 + SQS), PostgreSQL and the SMTP sink. They export
# INGEST_TEST_AWS_ENDPOINT, INGEST_TEST_PG_URL, INGEST_TEST_SMTP_URL and INGEST_TEST_SMTP_DIR.
cd "$root"
# shellcheck source=lib/setup.sh
source scripts/lib/setup.sh
# shellcheck source=lib/servers.sh
source scripts/lib/servers.sh

work="$(mktemp -d /tmp/ocean-ingest-smoke.XXXXXX)"
chmod 755 "$work"

# aws: runs a few S3/SQS calls against moto with boto3 (from moto's venv).
aws() {
    AWS_ENDPOINT_URL="$INGEST_TEST_AWS_ENDPOINT" AWS_ACCESS_KEY_ID=smoke AWS_SECRET_ACCESS_KEY=smoke \
        AWS_DEFAULT_REGION=us-east-1 "$OCEAN_INGEST_VENV/bin/python" - "$@"
}

# --- the container -------------------------------------------------------------------------------

ctr=""
cleanup() {
    stop_servers
    if [[ -n "$ctr" ]]; then bh rm "$ctr" >/dev/null 2>&1 || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

ctr="$(bh from --pull=never "$image")"
entrypoint="$(bh inspect --format '{{.OCIv1.Config.Entrypoint}}' "$image")"
user="$(bh inspect --format '{{.OCIv1.Config.User}}' "$image")"
[[ "$entrypoint" == "[ocean-ingest]" ]] || fail "entry point is $entrypoint, the job definition's command expects [ocean-ingest]"
[[ -n "$user" && "$user" != root && "${user%%:*}" != 0 ]] || fail "the image runs as '$user'"

# Runs the entry point with the given environment and arguments; /tmp is a host folder, as the
# task's ephemeral-storage volume is in Batch.
in_container() {
    local tmp="$work/tmp"
    mkdir -p "$tmp" && chmod 1777 "$tmp"
    bh run --isolation chroot --network host --volume "$tmp:/tmp:rw" "$@"
}

if [[ "$mode" == auto ]]; then
    if in_container "$ctr" -- ocean-ingest run --help 2>/dev/null | grep -q -- '--incoming-key'; then
        mode=s3
    else
        mode=local
        say "NOTE: this binary has no 'run --incoming-key' (the job definition's command) yet: running the local ingest only"
    fi
fi
[[ "$mode" == s3 || "$mode" == local ]] || fail "--mode must be s3, local or auto"

say "the image's pipelines.toml"
in_container "$ctr" -- ocean-ingest pipelines validate || fail "the baked-in pipelines.toml does not validate"

# The job may write under /tmp only (Batch runs it with a read-only root filesystem).
rootfs_unchanged_since() {
    local stamp="$1" mnt changed
    mnt="$(bh mount "$ctr")"
    changed="$(find "$mnt" -xdev -newer "$stamp" -not -path "$mnt/tmp" -not -path "$mnt/tmp/*" \
        -not -path "$mnt/dev*" -not -path "$mnt/proc*" -not -path "$mnt/sys*" -not -path "$mnt/run*" \
        -not -path "$mnt/etc/resolv.conf" -not -path "$mnt/etc/hosts" -not -path "$mnt/etc/hostname" \
        -not -path "$mnt" -print | head -5)"
    bh umount "$ctr" >/dev/null
    [[ -z "$changed" ]] || fail "the job wrote outside /tmp: ${changed//$mnt/}"
}

# --- local mode ----------------------------------------------------------------------------------

if [[ "$mode" == local ]]; then
    mkdir -p "$work/tmp/var/incoming/$key_prefix"
    cp "$sample" "$work/tmp/var/incoming/$key_prefix"
    chmod -R a+rwX "$work/tmp"
    name="$(basename "$sample")"
    stamp="$work/stamp" && touch "$stamp" && sleep 1
    say "ingesting $key_prefix$name from a local incoming store"
    run_started=$SECONDS
    set +e
    in_container --env INGEST_HOME=/tmp/var "$ctr" -- ocean-ingest run "/tmp/var/incoming/$key_prefix$name"
    code=$?
    set -e
    say "exit code $code in $((SECONDS - run_started)) s"
    [[ $code -eq 0 ]] || fail "ocean-ingest run exited $code"
    [[ ! -e "$work/tmp/var/incoming/$key_prefix$name" ]] || fail "the upload is still in incoming"
    [[ -n "$(find "$work/tmp/var/archive" -type f 2>/dev/null)" ]] || fail "nothing in the archive"
    [[ -n "$(find "$work/tmp/var/public" -type f 2>/dev/null)" ]] || fail "nothing published"
    find "$work/tmp/var" -type f -not -path '*/index.sqlite*' | sed "s|$work/tmp/var/|    |" >&2
    rootfs_unchanged_since "$stamp"
    say "PASSED (local mode: S3, SQS, PostgreSQL and SMTP not exercised) in $((SECONDS - started)) s"
    exit 0
fi

# --- s3 mode -------------------------------------------------------------------------------------

ensure_venv
ensure_postgres
start_servers || fail "the test servers did not start"

say "buckets, the pipeline queue with its S3 notification, the results queue"
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

# The upload, then the event as the pipe hands it to Batch: the filter drops s3:TestEvent, the
# parameter is $.body.Records[0].s3.object.key, URL-encoded as S3 sent it.
key="$key_prefix$(basename "$sample")"
event_key="$(aws "$sample" "$key" <<'PY'
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
sys.exit("no ObjectCreated event on the pipeline queue")
PY
)" || fail "no S3 event for the upload"
say "S3 event key: $event_key"

job_env=(
    --env "AWS_ENDPOINT_URL=$INGEST_TEST_AWS_ENDPOINT" --env AWS_REGION=us-east-1
    --env AWS_ACCESS_KEY_ID=smoke --env AWS_SECRET_ACCESS_KEY=smoke
    --env INGEST_INCOMING_URL=s3://incoming --env INGEST_ARCHIVE_URL=s3://archive
    --env INGEST_PUBLIC_URL=s3://public --env INGEST_ERROR_URL=s3://error/errors
    --env INGEST_REPORTS_URL=s3://error/reports
    --env "INGEST_INDEX_URL=$INGEST_TEST_PG_URL"
    --env "INGEST_NOTIFY_URL=$INGEST_TEST_SMTP_URL" --env "INGEST_NOTIFY_FROM=ocean-ingest <ingest@example.org>"
    --env "INGEST_RESULTS_QUEUE_URL=$INGEST_TEST_AWS_ENDPOINT/123456789012/results"
    --env INGEST_LOG_FORMAT=json --env INGEST_WORK_DIR=/tmp --env INGEST_SOURCE_KEY_ENCODING=url
)

run_job() {
    local code
    set +e
    in_container "${job_env[@]}" "$ctr" -- ocean-ingest run --incoming-key "$event_key"
    code=$?
    set -e
    return $code
}

stamp="$work/stamp" && touch "$stamp" && sleep 1
say "running the job: ocean-ingest run --incoming-key $event_key"
run_started=$SECONDS
code=0 && run_job || code=$?
say "exit code $code in $((SECONDS - run_started)) s"
[[ $code -eq 0 ]] || fail "ocean-ingest run exited $code"
rootfs_unchanged_since "$stamp"

say "side effects"
aws "$key" <<'PY' || fail "the job's side effects are not all there"
import sys, boto3
key = sys.argv[1]
s3, sqs = boto3.client("s3"), boto3.client("sqs")
listing = {b: [o["Key"] for o in s3.list_objects_v2(Bucket=b).get("Contents", [])] for b in ("incoming", "archive", "public", "error")}
for bucket, keys in listing.items():
    print(f"    s3://{bucket}: {keys}", file=sys.stderr)
results = sqs.receive_message(QueueUrl=sqs.get_queue_url(QueueName="results")["QueueUrl"], MaxNumberOfMessages=10).get("Messages", [])
print(f"    result events: {len(results)}", file=sys.stderr)
problems = []
if key in listing["incoming"]: problems.append("the upload is still in incoming")
if not listing["archive"]: problems.append("nothing in the archive")
if not listing["public"]: problems.append("nothing published")
if not results: problems.append("no result event on the results queue")
for p in problems: print(f"    MISSING: {p}", file=sys.stderr)
sys.exit(1 if problems else 0)
PY
tables="$("$(pg_bindir)/psql" "$INGEST_TEST_PG_URL" -At \
    -c "select count(*) from information_schema.tables where table_schema not in ('pg_catalog', 'information_schema')")"
say "    index tables: $tables; emails sent: $(find "$INGEST_TEST_SMTP_DIR" -name '*.eml' | wc -l)"
[[ "$tables" -gt 0 ]] || fail "the index has no tables"

# SQS delivers at least once: the same event again must end in 0 with nothing new published.
say "the same event again (SQS delivers at least once)"
code=0 && run_job || code=$?
[[ $code -eq 0 ]] || fail "a repeated event exited $code, not 0"

say "PASSED (s3 mode) in $((SECONDS - started)) s"
