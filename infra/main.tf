# ocean-ingest on AWS: one Batch job per uploaded file.
#
#   upload to s3://<incoming>/<stream prefix>/...
#     -> S3 event notification for that prefix -> the stream's SQS queue (DLQ after N deliveries)
#     -> the stream's EventBridge Pipe -> the stream's Batch job queue and Fargate compute
#        environment -> `ocean-ingest run --incoming-key <key>`; its exit code drives Batch's
#        retry strategy.
#   upload outside every stream prefix -> EventBridge rule -> the unrouted queue -> alarm.
#
# Files: buckets.tf (storage), queues.tf (SQS, S3 notifications, unrouted uploads), batch.tf
# (compute, job queues, job definitions), pipes.tf (SQS -> Batch), iam.tf (roles), secrets.tf,
# alarms.tf; this file holds the shared names and the encryption key.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  # `name`, not 6.x's `region`: the module supports provider 5.100 too, and 6.x still
  # accepts `name` (deprecated).
  region = data.aws_region.current.name

  bucket_prefix = coalesce(var.bucket_name_prefix, "${var.name}-${local.account_id}-")

  # error holds both the error store (errors/) and the job reports (reports/).
  buckets = {
    incoming = "${local.bucket_prefix}incoming"
    archive  = "${local.bucket_prefix}archive"
    public   = "${local.bucket_prefix}public"
    error    = "${local.bucket_prefix}error"
  }
  private_buckets = { for role, bucket in local.buckets : role => bucket if role != "public" }

  error_store_prefix = "errors"
  reports_prefix     = "reports"

  # The pipe hands the job the object key exactly as the S3 event carries it (URL-encoded). A Pipe
  # parameter can only be a whole JSON path, not "s3://bucket/" + path, so the job gets the key and
  # resolves it against INGEST_INCOMING_URL; INGEST_SOURCE_KEY_ENCODING=url tells it to decode.
  job_parameters = {
    key = "$.body.Records[0].s3.object.key"
  }
  job_command = ["run", "--incoming-key", "Ref::key"]

  job_log_group  = "/aws/batch/${var.name}"
  pipe_log_group = "/aws/pipes/${var.name}"

  # What the image provides (Dockerfile, runtime-base stage): the work folder is declared there as
  # a VOLUME owned by the job's user, which is what makes Fargate's task volume writable for it;
  # the RDS CA bundle is baked there for sslmode=verify-full.
  work_dir           = "/var/lib/ocean-ingest"
  database_ca_bundle = "/etc/ocean-ingest/rds-ca-bundle.pem"

  # The pipeline file: a path in the image, or an S3 object the job fetches at start.
  # [bucket, key] of an s3:// pipeline file, null for a path in the image.
  pipelines_s3 = startswith(var.pipelines_file, "s3://") ? regex("^s3://([^/]+)/(.+)$", var.pipelines_file) : null

  # An attempt may run this long: a fixed allowance for start-up, the database, notifications and
  # plots, plus time proportional to the largest upload the stream expects (the job reads it about
  # five times: download, hash, check, archive and public uploads). An explicit timeout_seconds wins.
  attempt_timeout_seconds = {
    for name, p in var.pipelines : name => coalesce(
      p.timeout_seconds,
      var.job_base_seconds + ceil(p.largest_file_mib * var.job_seconds_per_mib),
    )
  }

  # The job's own deadline (INGEST_JOB_DEADLINE_SECONDS) ends it with exit 75 before Batch's attempt
  # timeout does: Batch never retries an attempt it stopped for its timeout. After its deadline a
  # job may need up to 4.5 minutes (eight request timeouts and an SMTP delivery) to roll back and
  # report, so the deadline sits 300 s below the attempt timeout, and at half of very short ones.
  job_deadline_seconds = {
    for name, t in local.attempt_timeout_seconds : name => max(t - 300, ceil(t / 2))
  }

  tags = merge({ "app" = "ocean-ingest", "deployment" = var.name }, var.tags)
}

# One customer-managed key encrypts the private buckets, the queues, the logs, the secrets, the
# alarm topic and the image repository, so every reader is named in one policy.
resource "aws_kms_key" "this" {
  description             = "${var.name}: buckets, queues, logs, secrets and alarms of ocean-ingest"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
  tags                    = local.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}

data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_109:Key policy: the account-root statement is AWS's default that keeps the key manageable; in a key policy "*" is this key only.
  #checkov:skip=CKV_AWS_111:Key policy: as CKV_AWS_109; the services may use the key only for resources configured with it, and those resources' own policies (queues, topic) limit their senders.
  #checkov:skip=CKV_AWS_356:Key policy: "*" as resource of a key policy means the key the policy is attached to, nothing else.
  # AWS's default key policy statement: IAM policies of this account decide who may use the key.
  # Without it the key can become unmanageable; "*" as resource in a key policy means this key.
  statement {
    sid       = "AccountAdministersKey"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  # S3 encrypts the event notifications it sends to the pipeline queues. Which bucket may send is
  # decided by each queue's policy (aws:SourceArn); the key policy takes the form AWS documents,
  # without conditions a service's KMS request may not carry.
  statement {
    sid       = "S3SendsEncryptedEvents"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }
  }

  statement {
    sid = "LogsEncryptJobAndPipeLogs"
    actions = [
      "kms:Encrypt",
      "kms:Decrypt",
      "kms:ReEncryptFrom",
      "kms:ReEncryptTo",
      "kms:GenerateDataKey",
      "kms:GenerateDataKeyWithoutPlaintext",
      "kms:DescribeKey",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values = [
        "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.job_log_group}",
        "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.pipe_log_group}",
        "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.batch_events_log_group}",
      ]
    }
  }

  # CloudWatch alarms and the failed-job rule publish to the encrypted alarm topic, and the
  # unrouted-upload rule sends to the encrypted unrouted queue; the topic's and the queue's
  # policies limit them to this account and to those rules (alarms.tf, queues.tf).
  statement {
    sid       = "AlarmsAndRulesUseKey"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com", "events.amazonaws.com"]
    }
  }
}
