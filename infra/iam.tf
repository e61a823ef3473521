# Three kinds of role, each allowed exactly what its part of the flow needs:
#   job       - what `ocean-ingest run` does: read and remove the upload, write the stores, send a
#               result event.
#   execution - what Fargate does to start the job: pull the image, write the logs, read the two
#               secrets into the environment.
#   pipe      - one per pipeline: read that pipeline's queue, submit that pipeline's jobs.
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

data "aws_iam_policy_document" "job" {
  # The upload is removed from incoming only after its copy in the archive or error store exists.
  statement {
    sid       = "ReadAndRemoveUploads"
    actions   = ["s3:GetObject", "s3:GetObjectVersion", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.this["incoming"].arn}/*"]
  }

  # Without ListBucket, S3 answers a HEAD of a missing key with 403 instead of 404, and the job
  # could not tell "not there yet" from "forbidden".
  statement {
    sid     = "ListStores"
    actions = ["s3:ListBucket"]
    resources = [
      aws_s3_bucket.this["incoming"].arn,
      aws_s3_bucket.this["archive"].arn,
      aws_s3_bucket.this["public"].arn,
      aws_s3_bucket.this["error"].arn,
    ]
  }

  statement {
    sid       = "WriteArchive"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${aws_s3_bucket.this["archive"].arn}/*"]
  }

  # Publishing supersedes and deletes files, and a failed publish is undone by deleting the
  # version the job wrote.
  statement {
    sid       = "Publish"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"]
    resources = ["${aws_s3_bucket.this["public"].arn}/*"]
  }

  # A published upload clears its earlier failed copies from the error store; reports are never
  # deleted by the job.
  statement {
    sid       = "KeepAndClearErrorCopies"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.this["error"].arn}/${local.error_store_prefix}/*"]
  }

  statement {
    sid       = "WriteReports"
    actions   = ["s3:GetObject", "s3:PutObject"]
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

  # Any revision of this pipeline's job definition: a new image registers a new revision, and
  # the pipe must not fail while the apply that moves it to that revision is under way.
  statement {
    sid     = "SubmitJobs"
    actions = ["batch:SubmitJob"]
    resources = [
      aws_batch_job_queue.this.arn,
      "${aws_batch_job_definition.pipeline[each.key].arn_prefix}:*",
    ]
  }
}

resource "aws_iam_role_policy" "pipe" {
  for_each = var.pipelines

  name   = "ocean-ingest-pipe"
  role   = aws_iam_role.pipe[each.key].id
  policy = data.aws_iam_policy_document.pipe[each.key].json
}
