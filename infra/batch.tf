# Batch on Fargate, one job queue, compute environment and job definition per stream, and a retry
# strategy that reads the exit codes of `ocean-ingest run`:
#   0 done | 1 input rejected | 2 usage/config error | 70 internal error | 75 transient.
#
# Why a queue and a compute environment per stream: jobs of one queue run in order, so a burst of
# uploads in one stream would delay every other behind it; and queues sharing one compute
# environment share its vCPUs, so the burst would still take all of them. Fair-share scheduling
# on one queue would need a share identifier on every SubmitJob, which EventBridge Pipes cannot
# set. A Fargate compute environment costs nothing while idle; the account's Fargate vCPU quota is
# the only thing the streams share (docs/DEPLOY.md).

resource "aws_ecr_repository" "this" {
  name                 = var.name
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = aws_kms_key.this.arn
  }

  tags = local.tags
}

resource "aws_ecr_lifecycle_policy" "this" {
  repository = aws_ecr_repository.this.name

  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Keep the 30 most recent images"
      selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = 30 }
      action       = { type = "expire" }
    }]
  })
}

resource "aws_cloudwatch_log_group" "jobs" {
  name              = local.job_log_group
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
  tags              = local.tags
}

resource "aws_security_group" "jobs" {
  name        = "${var.name}-jobs"
  description = "ocean-ingest Batch jobs: outbound HTTPS to AWS APIs, PostgreSQL and SMTP only"
  vpc_id      = var.vpc_id
  tags        = local.tags
}

resource "aws_vpc_security_group_egress_rule" "https" {
  security_group_id = aws_security_group.jobs.id
  description       = "AWS APIs (S3, SQS, ECR, CloudWatch Logs, Secrets Manager)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "database" {
  for_each = { for cidr in var.database_cidr_blocks : cidr => cidr }

  security_group_id = aws_security_group.jobs.id
  description       = "PostgreSQL index"
  ip_protocol       = "tcp"
  from_port         = var.database_port
  to_port           = var.database_port
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "smtp" {
  for_each = { for cidr in var.smtp_cidr_blocks : cidr => cidr }

  security_group_id = aws_security_group.jobs.id
  description       = "SMTP relay for notifications"
  ip_protocol       = "tcp"
  from_port         = local.smtp_port
  to_port           = local.smtp_port
  cidr_ipv4         = each.value
}

locals {
  smtp_port = tonumber(regex(":([0-9]+)$", var.smtp_url)[0])
}

# No service_role: Batch then uses its service-linked role, which the account already trusts.
resource "aws_batch_compute_environment" "pipeline" {
  for_each = var.pipelines

  # compute_environment_name is the 5.x spelling; 6.x still accepts it (deprecated) as `name`.
  compute_environment_name = "${var.name}-${each.key}"
  type                     = "MANAGED"

  compute_resources {
    type               = var.use_fargate_spot ? "FARGATE_SPOT" : "FARGATE"
    max_vcpus          = each.value.max_vcpus
    subnets            = var.subnet_ids
    security_group_ids = [aws_security_group.jobs.id]
  }

  tags = merge(local.tags, { "pipeline" = each.key })
}

resource "aws_batch_job_queue" "pipeline" {
  for_each = var.pipelines

  name     = "${var.name}-${each.key}"
  state    = "ENABLED"
  priority = 1

  compute_environment_order {
    order               = 0
    compute_environment = aws_batch_compute_environment.pipeline[each.key].arn
  }

  tags = merge(local.tags, { "pipeline" = each.key })
}

locals {
  # Later maps win: extra_environment cannot replace what the module derives.
  job_environment = merge(
    var.extra_environment,
    {
      INGEST_INCOMING_URL        = "s3://${aws_s3_bucket.this["incoming"].bucket}"
      INGEST_ARCHIVE_URL         = "s3://${aws_s3_bucket.this["archive"].bucket}"
      INGEST_PUBLIC_URL          = "s3://${aws_s3_bucket.this["public"].bucket}"
      INGEST_ERROR_URL           = "s3://${aws_s3_bucket.this["error"].bucket}/${local.error_store_prefix}"
      INGEST_REPORTS_URL         = "s3://${aws_s3_bucket.this["error"].bucket}/${local.reports_prefix}"
      INGEST_NOTIFY_URL          = var.smtp_url
      INGEST_NOTIFY_FROM         = var.notify_from
      INGEST_RESULTS_QUEUE_URL   = aws_sqs_queue.results.url
      INGEST_PIPELINES           = var.pipelines_file
      INGEST_LOG_FORMAT          = "json"
      INGEST_WORK_DIR            = local.work_dir
      TMPDIR                     = local.work_dir
      INGEST_SOURCE_KEY_ENCODING = "url"
      # With AWS_BATCH_JOB_ATTEMPT (set by Batch), a transient failure emails the data team only
      # on the last attempt.
      INGEST_MAX_ATTEMPTS = tostring(var.retry_attempts)
    },
    length(var.ops_email_addresses) > 0 ? { INGEST_OPS_EMAIL = join(",", var.ops_email_addresses) } : {},
    var.allow_catch_all_pipeline ? { INGEST_PIPELINES_ALLOW_CATCH_ALL = "true" } : {},
  )

  job_secrets = {
    INGEST_INDEX_URL     = aws_secretsmanager_secret.index_url.arn
    INGEST_SMTP_USERNAME = "${aws_secretsmanager_secret.smtp.arn}:username::"
    INGEST_SMTP_PASSWORD = "${aws_secretsmanager_secret.smtp.arn}:password::"
  }
}

resource "aws_batch_job_definition" "pipeline" {
  for_each = var.pipelines

  name                  = "${var.name}-${each.key}"
  type                  = "container"
  platform_capabilities = ["FARGATE"]
  propagate_tags        = true

  container_properties = jsonencode({
    image            = "${aws_ecr_repository.this.repository_url}:${var.image_tag}"
    command          = local.job_command
    jobRoleArn       = aws_iam_role.job.arn
    executionRoleArn = aws_iam_role.execution.arn

    resourceRequirements = [
      { type = "VCPU", value = tostring(each.value.vcpu) },
      { type = "MEMORY", value = tostring(each.value.memory) },
    ]
    ephemeralStorage             = { sizeInGiB = each.value.ephemeral_storage_gib }
    fargatePlatformConfiguration = { platformVersion = "LATEST" }
    networkConfiguration         = { assignPublicIp = "DISABLED" }
    runtimePlatform              = { operatingSystemFamily = "LINUX", cpuArchitecture = "X86_64" }

    # The root filesystem is read-only; the work folder is a task volume on ephemeral storage.
    # Fargate makes it writable for the job's user only because the image declares a VOLUME at
    # this very path, owned by that user (Dockerfile): Fargate then copies the image's owner,
    # mode and content into the volume instead of an empty root-owned 0755 folder.
    readonlyRootFilesystem = true
    volumes                = [{ name = "work" }]
    mountPoints            = [{ sourceVolume = "work", containerPath = local.work_dir, readOnly = false }]

    # The job ends itself (exit 75, publish rolled back) before the attempt timeout. The upload's
    # claim keeps the binary's short lease, renewed by its heartbeat, so a job killed without a
    # word frees its upload for the retry within minutes whatever the stream's timeout.
    environment = [
      for name, value in merge(local.job_environment, { INGEST_JOB_DEADLINE_SECONDS = tostring(local.job_deadline_seconds[each.key]) }) :
      { name = name, value = value }
    ]
    secrets = [for name, arn in local.job_secrets : { name = name, valueFrom = arn }]

    logConfiguration = {
      logDriver = "awslogs"
      options = {
        "awslogs-group"         = aws_cloudwatch_log_group.jobs.name
        "awslogs-region"        = local.region
        "awslogs-stream-prefix" = each.key
      }
    }
  })

  # Batch tries the rules in order and takes the first match; a failure that matches none is
  # retried. Exit code 75 (transient) and platform failures, which come without an exit code, are
  # retried; the last rule ends every other exit code, so 1 (rejected input), 2 (configuration)
  # and 70 (internal error) are never retried. Batch retries at once (no backoff), and an attempt
  # it stopped for its timeout is never retried, whatever the rules say (docs/DEPLOY.md).
  retry_strategy {
    attempts = var.retry_attempts

    evaluate_on_exit {
      action       = "RETRY"
      on_exit_code = "75"
    }

    evaluate_on_exit {
      action           = "RETRY"
      on_status_reason = "Host EC2*"
    }

    evaluate_on_exit {
      action           = "RETRY"
      on_status_reason = "Task failed to start*"
    }

    evaluate_on_exit {
      action    = "RETRY"
      on_reason = "CannotPullContainerError*"
    }

    evaluate_on_exit {
      action       = "EXIT"
      on_exit_code = "*"
    }
  }

  # Batch sends SIGTERM when the attempt's time is up and SIGKILL 30 s later.
  timeout {
    attempt_duration_seconds = local.attempt_timeout_seconds[each.key]
  }

  tags = merge(local.tags, { "pipeline" = each.key })
}
