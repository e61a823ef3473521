# Three kinds of role, each allowed exactly what its part of the flow needs:
#   job       - what `ocean-ingest run` does: read and remove the upload, write the stores, send a
#               result event.
#   execution - what Fargate does to start the job: pull the image, write the logs, read the two
#               secrets into the environment.
#   pipe      - one per stream: read that stream's queue, submit that stream's jobs to its job
#               queue, log its failures.
# Inline policies only: an AWS managed policy grants more than this and changes without notice.

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# --- job role ------------------------------------------------------------------------------------

resource "aws_iam_role" "job" {
  name               = "${var.name}-job"
  description        = "ocean-ingest job: read incoming, write archive/public/error, send results"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = local.tags
}

# Exactly the S3 calls of src/store/s3 on each store, as the job makes them:
#   GetObject                - GET (download), HEAD (exists? size, version), the source of a copy
#   PutObject                - PUT, multipart create/part/complete, the target of a copy
#   AbortMultipartUpload     - a failed multipart upload is aborted so its parts do not linger
#   DeleteObject             - delete without a version: leaves a delete marker
#   DeleteObjectVersion      - rollback: delete exactly the version (or marker) the job wrote
#   ListBucket               - list a folder; also what makes a HEAD of a missing key a 404, not
#                              a 403, so it is granted for every prefix the job reads or writes
# Per store:
#   incoming (stream prefixes)  download the upload (and what a manifest names), remove it once
#                               its copy is safe
#   archive                     write the upload's copy and per-file copies, read them back; a
#                               failed publish deletes the per-file version it wrote (never the
#                               upload's copy under _uploads/, which a Deny protects)
#   public                      publish, supersede and delete files (delete markers), list
#                               folders for supersede, roll back by deleting its own versions
#   error bucket, errors/       keep a failed upload; clear a name's earlier failed copies
#   error bucket, reports/      job reports and plots
# The buckets are always versioned (buckets.tf), so the store's rollback never takes the stash
# path of an unversioned object (a copy under .ingest/stash/ deleted afterwards): archive needs no
# DeleteObject.
data "aws_iam_policy_document" "job" {
  statement {
    sid       = "ReadAndRemoveUploads"
    actions   = ["s3:GetObject", "s3:DeleteObject"]
    resources = [for p in var.pipelines : "${aws_s3_bucket.this["incoming"].arn}/${p.key_prefix}*"]
  }

  statement {
    sid       = "ListUploads"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.this["incoming"].arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [for p in var.pipelines : "${p.key_prefix}*"]
    }
  }

  # Archive and public paths come from the pipeline file: any key of those buckets.
  statement {
    sid     = "ListArchiveAndPublic"
    actions = ["s3:ListBucket"]
    resources = [
      aws_s3_bucket.this["archive"].arn,
      aws_s3_bucket.this["public"].arn,
    ]
  }

  statement {
    sid       = "WriteArchive"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObjectVersion"]
    resources = ["${aws_s3_bucket.this["archive"].arn}/*"]
  }

  # The archive copy of every upload is the record of what was received: no job removes it.
  statement {
    sid       = "KeepArchivedUploads"
    effect    = "Deny"
    actions   = ["s3:DeleteObject", "s3:DeleteObjectVersion"]
    resources = ["${aws_s3_bucket.this["archive"].arn}/_uploads/*"]
  }

  statement {
    sid       = "Publish"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject", "s3:DeleteObjectVersion"]
    resources = ["${aws_s3_bucket.this["public"].arn}/*"]
  }

  statement {
    sid       = "ListErrorsAndReports"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.this["error"].arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.error_store_prefix}/*", "${local.reports_prefix}/*"]
    }
  }

  # A published upload clears its earlier failed copies from the error store.
  statement {
    sid       = "KeepAndClearErrorCopies"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.this["error"].arn}/${local.error_store_prefix}/*"]
  }

  # Reports are never deleted by the job.
  statement {
    sid       = "WriteReports"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${aws_s3_bucket.this["error"].arn}/${local.reports_prefix}/*"]
  }

  statement {
    sid       = "SendResultEvents"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.results.arn]
  }

  # The private buckets and the results queue are encrypted with the module's key.
  statement {
    sid       = "UseKeyThroughS3AndSqs"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.this.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com", "sqs.${local.region}.amazonaws.com"]
    }
  }

  # An s3:// pipeline file, read at job start.
  dynamic "statement" {
    for_each = local.pipelines_s3 == null ? [] : [local.pipelines_s3]

    content {
      sid       = "ReadPipelineFile"
      actions   = ["s3:GetObject"]
      resources = ["arn:${local.partition}:s3:::${statement.value[0]}/${statement.value[1]}"]
    }
  }

  dynamic "statement" {
    for_each = local.pipelines_s3 != null && var.pipelines_file_kms_key_arn != null ? [var.pipelines_file_kms_key_arn] : []

    content {
      sid       = "DecryptPipelineFile"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${local.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "job" {
  name   = "ocean-ingest-job"
  role   = aws_iam_role.job.id
  policy = data.aws_iam_policy_document.job.json
}

# --- execution role ------------------------------------------------------------------------------

resource "aws_iam_role" "execution" {
  name               = "${var.name}-execution"
  description        = "Starts ocean-ingest jobs on Fargate: image, logs, secrets"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = local.tags
}

data "aws_iam_policy_document" "execution" {
  # GetAuthorizationToken has no resource-level permissions: "*" is the only resource it accepts.
  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "PullImage"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    resources = [aws_ecr_repository.this.arn]
  }

  statement {
    sid       = "WriteJobLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.jobs.arn}:log-stream:*"]
  }

  statement {
    sid       = "ReadJobSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.index_url.arn, aws_secretsmanager_secret.smtp.arn]
  }

  statement {
    sid       = "DecryptSecrets"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.this.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "ocean-ingest-execution"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

# --- pipe roles ----------------------------------------------------------------------------------

data "aws_iam_policy_document" "pipes_assume" {
  for_each = var.pipelines

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["pipes.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:pipes:${local.region}:${local.account_id}:pipe/${var.name}-${each.key}"]
    }
  }
}

resource "aws_iam_role" "pipe" {
  for_each = var.pipelines

  name               = "${var.name}-pipe-${each.key}"
  description        = "EventBridge Pipe of pipeline ${each.key}: its queue -> its Batch jobs"
  assume_role_policy = data.aws_iam_policy_document.pipes_assume[each.key].json
  tags               = merge(local.tags, { "pipeline" = each.key })
}

data "aws_iam_policy_document" "pipe" {
  for_each = var.pipelines

  statement {
    sid       = "ConsumeQueue"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
    resources = [aws_sqs_queue.pipeline[each.key].arn]
  }

  statement {
    sid       = "DecryptQueue"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.this.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["sqs.${local.region}.amazonaws.com"]
    }
  }

  # Its own job queue and any revision of its own job definition: a new image registers a new
  # revision, and the pipe must not fail while the apply that moves it there is under way.
  statement {
    sid     = "SubmitJobs"
    actions = ["batch:SubmitJob"]
    resources = [
      aws_batch_job_queue.pipeline[each.key].arn,
      "${aws_batch_job_definition.pipeline[each.key].arn_prefix}:*",
    ]
  }

  # Failed SubmitJob calls (and more, at a finer pipe_log_level) go to the pipes' log group.
  statement {
    sid       = "WritePipeLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.pipes.arn}:*"]
  }
}

resource "aws_iam_role_policy" "pipe" {
  for_each = var.pipelines

  name   = "ocean-ingest-pipe"
  role   = aws_iam_role.pipe[each.key].id
  policy = data.aws_iam_policy_document.pipe[each.key].json
}
