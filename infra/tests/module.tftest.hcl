# The module's wiring, checked by `terraform test` with the real AWS provider's schema (provider
# 5.100 or later) and mocked resources: nothing is created. Computed values that other resources
# use, and that AWS's provider validates as ARNs, get realistic ARNs below, one per instance, so
# every assertion that follows a reference (this stream's queue, not another's) can fail.
#
# Run by scripts/check-infra.sh; by hand: cd infra && terraform init -backend=false && terraform test

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "111122223333" }
  }
  mock_data "aws_region" {
    defaults = { name = "ap-southeast-2" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  # The real data source renders statements as JSON; here its statements are asserted directly.
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_resource "aws_kms_key" {
    defaults = {
      arn    = "arn:aws:kms:ap-southeast-2:111122223333:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
      key_id = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
    }
  }
  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:ap-southeast-2:111122223333:ocean-ingest-alarms" }
  }
  mock_resource "aws_ecr_repository" {
    defaults = {
      arn            = "arn:aws:ecr:ap-southeast-2:111122223333:repository/ocean-ingest"
      repository_url = "111122223333.dkr.ecr.ap-southeast-2.amazonaws.com/ocean-ingest"
    }
  }
  mock_resource "aws_cloudwatch_event_rule" {
    defaults = { arn = "arn:aws:events:ap-southeast-2:111122223333:rule/ocean-ingest-mocked" }
  }
  mock_resource "aws_security_group" {
    defaults = { id = "sg-0123456789abcdef0" }
  }
}

variables {
  image_tag            = "0.1.0"
  vpc_id               = "vpc-0abc"
  subnet_ids           = ["subnet-0a", "subnet-0b"]
  database_cidr_blocks = ["10.0.32.0/20"]
  smtp_url             = "smtp://email-smtp.ap-southeast-2.amazonaws.com:587"
  notify_from          = "ingest@example.org"
  ops_email_addresses  = ["data-team@example.org"]
  pipelines_file       = "/etc/ocean-ingest/pipelines.toml"
  extra_environment    = { RUST_LOG = "ocean_ingest=info" }
  pipelines = {
    anmn_nrs = {
      key_prefix = "ANMN/NRS/"
    }
    srs_altimetry = {
      key_prefix       = "SRS/ALTIMETRY/"
      vcpu             = 2
      memory           = 8192
      largest_file_mib = 4096
      max_vcpus        = 8
    }
    acorn = {
      key_prefix        = "ACORN/"
      vcpu              = 0.5
      memory            = 1024
      max_receive_count = 3
      timeout_seconds   = 900
    }
  }
}

override_resource {
  target = aws_sqs_queue.pipeline["anmn_nrs"]
  values = {
    arn = "arn:aws:sqs:ap-southeast-2:111122223333:ocean-ingest-anmn_nrs"
    url = "https://sqs.ap-southeast-2.amazonaws.com/111122223333/ocean-ingest-anmn_nrs"
    id  = "https://sqs.ap-southeast-2.amazonaws.com/111122223333/ocean-ingest-anmn_nrs"
  }
}

override_resource {
  target = aws_sqs_queue.pipeline_dlq["anmn_nrs"]
  values = {
    arn = "arn:aws:sqs:ap-southeast-2:111122223333:ocean-ingest-anmn_nrs-dlq"
    url = "https://sqs.ap-southeast-2.amazonaws.com/111122223333/ocean-ingest-anmn_nrs-dlq"
    id  = "https://sqs.ap-southeast-2.amazonaws.com/111122223333/ocean-ingest-anmn_nrs-dlq"
  }
}

override_resource {
  target = aws_batch_compute_environment.pipeline["anmn_nrs"]
  values = {
    arn = "arn:aws:batch:ap-southeast-2:111122223333:compute-environment/ocean-ingest-anmn_nrs"
  }
}

override_resource {
  target = aws_batch_job_queue.pipeline["anmn_nrs"]
  values = {
    arn = "arn:aws:batch:ap-southeast-2:111122223333:job-queue/ocean-ingest-anmn_nrs"
  }
}

override_resource {
  target = aws_batch_job_definition.pipeline["anmn_nrs"]
  values = {
    arn        = "arn:aws:batch:ap-southeast-2:111122223333:job-definition/ocean-ingest-anmn_nrs:1"
    arn_prefix = "arn:aws:batch:ap-southeast-2:111122223333:job-definition/ocean-ingest-anmn_nrs"
  }
}

override_resource {
  target = aws_iam_role.pipe["anmn_nrs"]
  values = {
    arn = "arn:aws:iam::111122223333:role/ocean-ingest-pipe-anmn_nrs"
    id  = "ocean-ingest-pipe-anmn_nrs"
  }
}

override_resource {
  target = aws_pipes_pipe.pipeline["anmn_nrs"]
  values = {
    arn = "arn:aws:pipes:ap-southeast-2:111122223333:pipe/ocean-ingest-anmn_nrs"
  }
}

override_resource {
  target = aws_sqs_queue.pipeline["srs_altimetry"]
  values = {
    arn = "arn:aws:sqs:ap-southeast-2:111122223333:ocean-ingest-srs_altimetry"
    url = "https://sqs.ap-southeast-2.amazonaws.com/111122223333/ocean-ingest-srs_altimetry"
    id  = "https://sqs.ap-southeast-2.amazonaws.com/111122223333/ocean-ingest-srs_altimetry"
  }
}

override_resource {
  target = aws_sqs_queue.pipeline_dlq["srs_altimetry"]
  values = {
    arn = "arn:aws:sqs:ap-southeast-2:111122223333:ocean-ingest-srs_altimetry-dlq"
    url = "https://sqs.ap-southeast-2.amazonaws.com/111122223333/ocean-ingest-srs_altimetry-dlq"
    id  = "https://sqs.ap-southeast-2.amazonaws.com/111122223333/ocean-ingest-srs_altimetry-dlq"
  }
}

override_resource {
  target = aws_batch_compute_environment.pipeline["srs_altimetry"]
  values = {
    arn = "arn:aws:batch:ap-southeast-2:111122223333:compute-environment/ocean-ingest-srs_altimetry"
  }
}

override_resource {
  target = aws_batch_job_queue.pipeline["srs_altimetry"]
  values = {
    arn = "arn:aws:batch:ap-southeast-2:111122223333:job-queue/ocean-ingest-srs_altimetry"
  }
}

override_resource {
  target = aws_batch_job_definition.pipeline["srs_altimetry"]
  values = {
    arn        = "arn:aws:batch:ap-southeast-2:111122223333:job-definition/ocean-ingest-srs_altimetry:1"
    arn_prefix = "arn:aws:batch:ap-southeast-2:111122223333:job-definition/ocean-ingest-srs_altimetry"
  }
}

override_resource {
  target = aws_iam_role.pipe["srs_altimetry"]
  values = {
    arn = "arn:aws:iam::111122223333:role/ocean-ingest-pipe-srs_altimetry"
    id  = "ocean-ingest-pipe-srs_altimetry"
  }
}

override_resource {
  target = aws_pipes_pipe.pipeline["srs_altimetry"]
  values = {
    arn = "arn:aws:pipes:ap-southeast-2:111122223333:pipe/ocean-ingest-srs_altimetry"
  }
}

override_resource {
  target = aws_sqs_queue.pipeline["acorn"]
  values = {
    arn = "arn:aws:sqs:ap-southeast-2:111122223333:ocean-ingest-acorn"
    url = "https://sqs.ap-southeast-2.amazonaws.com/111122223333/ocean-ingest-acorn"
    id  = "https://sqs.ap-southeast-2.amazonaws.com/111122223333/ocean-ingest-acorn"
  }
}

override_resource {
  target = aws_sqs_queue.pipeline_dlq["acorn"]
  values = {
    arn = "arn:aws:sqs:ap-southeast-2:111122223333:ocean-ingest-acorn-dlq"
    url = "https://sqs.ap-southeast-2.amazonaws.com/111122223333/ocean-ingest-acorn-dlq"
    id  = "https://sqs.ap-southeast-2.amazonaws.com/111122223333/ocean-ingest-acorn-dlq"
  }
}

override_resource {
  target = aws_batch_compute_environment.pipeline["acorn"]
  values = {
    arn = "arn:aws:batch:ap-southeast-2:111122223333:compute-environment/ocean-ingest-acorn"
  }
}

override_resource {
  target = aws_batch_job_queue.pipeline["acorn"]
  values = {
    arn = "arn:aws:batch:ap-southeast-2:111122223333:job-queue/ocean-ingest-acorn"
  }
}

override_resource {
  target = aws_batch_job_definition.pipeline["acorn"]
  values = {
    arn        = "arn:aws:batch:ap-southeast-2:111122223333:job-definition/ocean-ingest-acorn:1"
    arn_prefix = "arn:aws:batch:ap-southeast-2:111122223333:job-definition/ocean-ingest-acorn"
  }
}

override_resource {
  target = aws_iam_role.pipe["acorn"]
  values = {
    arn = "arn:aws:iam::111122223333:role/ocean-ingest-pipe-acorn"
    id  = "ocean-ingest-pipe-acorn"
  }
}

override_resource {
  target = aws_pipes_pipe.pipeline["acorn"]
  values = {
    arn = "arn:aws:pipes:ap-southeast-2:111122223333:pipe/ocean-ingest-acorn"
  }
}

override_resource {
  target = aws_s3_bucket.this["incoming"]
  values = {
    arn = "arn:aws:s3:::ocean-ingest-111122223333-incoming"
    id  = "ocean-ingest-111122223333-incoming"
  }
}

override_resource {
  target = aws_s3_bucket.this["archive"]
  values = {
    arn = "arn:aws:s3:::ocean-ingest-111122223333-archive"
    id  = "ocean-ingest-111122223333-archive"
  }
}

override_resource {
  target = aws_s3_bucket.this["public"]
  values = {
    arn = "arn:aws:s3:::ocean-ingest-111122223333-public"
    id  = "ocean-ingest-111122223333-public"
  }
}

override_resource {
  target = aws_s3_bucket.this["error"]
  values = {
    arn = "arn:aws:s3:::ocean-ingest-111122223333-error"
    id  = "ocean-ingest-111122223333-error"
  }
}

override_resource {
  target = aws_sqs_queue.results
  values = {
    arn = "arn:aws:sqs:ap-southeast-2:111122223333:ocean-ingest-results"
    url = "https://sqs.ap-southeast-2.amazonaws.com/111122223333/ocean-ingest-results"
    id  = "https://sqs.ap-southeast-2.amazonaws.com/111122223333/ocean-ingest-results"
  }
}

override_resource {
  target = aws_sqs_queue.results_dlq
  values = {
    arn = "arn:aws:sqs:ap-southeast-2:111122223333:ocean-ingest-results-dlq"
    url = "https://sqs.ap-southeast-2.amazonaws.com/111122223333/ocean-ingest-results-dlq"
    id  = "https://sqs.ap-southeast-2.amazonaws.com/111122223333/ocean-ingest-results-dlq"
  }
}

override_resource {
  target = aws_sqs_queue.unrouted
  values = {
    arn = "arn:aws:sqs:ap-southeast-2:111122223333:ocean-ingest-unrouted"
    url = "https://sqs.ap-southeast-2.amazonaws.com/111122223333/ocean-ingest-unrouted"
    id  = "https://sqs.ap-southeast-2.amazonaws.com/111122223333/ocean-ingest-unrouted"
  }
}

override_resource {
  target = aws_iam_role.job
  values = {
    arn = "arn:aws:iam::111122223333:role/ocean-ingest-job"
    id  = "ocean-ingest-job"
  }
}

override_resource {
  target = aws_iam_role.execution
  values = {
    arn = "arn:aws:iam::111122223333:role/ocean-ingest-execution"
    id  = "ocean-ingest-execution"
  }
}

override_resource {
  target = aws_cloudwatch_log_group.jobs
  values = {
    arn = "arn:aws:logs:ap-southeast-2:111122223333:log-group:/aws/batch/ocean-ingest"
  }
}

override_resource {
  target = aws_cloudwatch_log_group.pipes
  values = {
    arn = "arn:aws:logs:ap-southeast-2:111122223333:log-group:/aws/pipes/ocean-ingest"
  }
}

override_resource {
  target = aws_secretsmanager_secret.index_url
  values = {
    arn = "arn:aws:secretsmanager:ap-southeast-2:111122223333:secret:ocean-ingest/index-url-AbCdEf"
  }
}

override_resource {
  target = aws_secretsmanager_secret.smtp
  values = {
    arn = "arn:aws:secretsmanager:ap-southeast-2:111122223333:secret:ocean-ingest/smtp-GhIjKl"
  }
}

override_resource {
  target = aws_cloudwatch_log_group.batch_events
  values = {
    arn = "arn:aws:logs:ap-southeast-2:111122223333:log-group:/aws/events/ocean-ingest/batch-jobs"
  }
}

override_resource {
  target = aws_cloudwatch_event_rule.batch_job_states
  values = {
    arn = "arn:aws:events:ap-southeast-2:111122223333:rule/ocean-ingest-batch-job-states"
  }
}

# --- each stream: prefix -> notification -> its queue -> its pipe -> its job queue ---------------

run "each_stream_prefix_reaches_its_own_job_queue" {
  assert {
    condition = {
      for rule in aws_s3_bucket_notification.incoming.queue : rule.filter_prefix => rule.queue_arn
      } == {
      "ANMN/NRS/"      = "arn:aws:sqs:ap-southeast-2:111122223333:ocean-ingest-anmn_nrs"
      "SRS/ALTIMETRY/" = "arn:aws:sqs:ap-southeast-2:111122223333:ocean-ingest-srs_altimetry"
      "ACORN/"         = "arn:aws:sqs:ap-southeast-2:111122223333:ocean-ingest-acorn"
    }
    error_message = "Each stream prefix must notify exactly its own queue."
  }

  assert {
    condition = (
      length(aws_s3_bucket_notification.incoming.queue) == 3
      && alltrue([for rule in aws_s3_bucket_notification.incoming.queue : rule.events == toset(["s3:ObjectCreated:*"])])
      && aws_s3_bucket_notification.incoming.bucket == "ocean-ingest-111122223333-incoming"
      && aws_s3_bucket_notification.incoming.eventbridge
    )
    error_message = "The incoming bucket must send ObjectCreated:* per prefix, and every event to EventBridge."
  }

  assert {
    condition = alltrue([
      for name in ["anmn_nrs", "srs_altimetry", "acorn"] :
      aws_sqs_queue_policy.pipeline[name].queue_url == aws_sqs_queue.pipeline[name].id
      && one(data.aws_iam_policy_document.pipeline_queue[name].statement).resources == toset([aws_sqs_queue.pipeline[name].arn])
      && one(one(data.aws_iam_policy_document.pipeline_queue[name].statement).principals).identifiers == toset(["s3.amazonaws.com"])
      && flatten([for c in one(data.aws_iam_policy_document.pipeline_queue[name].statement).condition : sort(c.values) if c.variable == "aws:SourceArn"]) == ["arn:aws:s3:::ocean-ingest-111122223333-incoming"]
    ])
    error_message = "Each stream queue must accept messages from S3 for the incoming bucket only."
  }

  assert {
    condition = alltrue([
      for name in ["anmn_nrs", "srs_altimetry", "acorn"] :
      aws_pipes_pipe.pipeline[name].source == "arn:aws:sqs:ap-southeast-2:111122223333:ocean-ingest-${name}"
      && aws_pipes_pipe.pipeline[name].target == "arn:aws:batch:ap-southeast-2:111122223333:job-queue/ocean-ingest-${name}"
      && aws_pipes_pipe.pipeline[name].role_arn == "arn:aws:iam::111122223333:role/ocean-ingest-pipe-${name}"
      && aws_pipes_pipe.pipeline[name].target_parameters[0].batch_job_parameters[0].job_definition == "arn:aws:batch:ap-southeast-2:111122223333:job-definition/ocean-ingest-${name}:1"
      && aws_pipes_pipe.pipeline[name].source_parameters[0].sqs_queue_parameters[0].batch_size == 1
    ])
    error_message = "Each pipe must read its own queue (one message per job) and submit its own job definition to its own job queue, as its own role."
  }

  assert {
    # Pipes fills a Batch parameter only with a whole JSON path; Batch replaces Ref::key only as a
    # whole argument: the key reaches the command as S3 sent it.
    condition = alltrue([
      for name in ["anmn_nrs", "srs_altimetry", "acorn"] :
      aws_pipes_pipe.pipeline[name].target_parameters[0].batch_job_parameters[0].parameters == tomap({ key = "$.body.Records[0].s3.object.key" })
      && jsondecode(aws_batch_job_definition.pipeline[name].container_properties).command == ["run", "--incoming-key", "Ref::key"]
    ])
    error_message = "The object key must go from the S3 event ($.body.Records[0].s3.object.key) to `run --incoming-key Ref::key`."
  }

  assert {
    # Uploads and multipart uploads pass; S3's s3:TestEvent and deletions (no match) are dropped.
    condition = alltrue([
      for name in ["anmn_nrs", "srs_altimetry", "acorn"] :
      jsondecode(aws_pipes_pipe.pipeline[name].source_parameters[0].filter_criteria[0].filter[0].pattern) == {
        body = { Records = { eventSource = ["aws:s3"], eventName = [{ prefix = "ObjectCreated:" }] } }
      }
    ])
    error_message = "Each pipe must pass only S3 ObjectCreated events."
  }

  assert {
    condition = alltrue([
      for name in ["anmn_nrs", "srs_altimetry", "acorn"] :
      aws_pipes_pipe.pipeline[name].log_configuration[0].level == "ERROR"
      && aws_pipes_pipe.pipeline[name].log_configuration[0].include_execution_data == toset(["ALL"])
      && aws_pipes_pipe.pipeline[name].log_configuration[0].cloudwatch_logs_log_destination[0].log_group_arn == "arn:aws:logs:ap-southeast-2:111122223333:log-group:/aws/pipes/ocean-ingest"
    ])
    error_message = "Each pipe must log its failures (a failed SubmitJob) with the request to the pipes' log group."
  }

  assert {
    condition = (
      aws_cloudwatch_log_group.pipes.retention_in_days == 365
      && aws_cloudwatch_log_group.pipes.kms_key_id == "arn:aws:kms:ap-southeast-2:111122223333:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
    )
    error_message = "The pipes' log group keeps log_retention_days and is encrypted with the module's key."
  }

  assert {
    condition = alltrue([
      for name, max in { anmn_nrs = 4, srs_altimetry = 8, acorn = 4 } :
      aws_batch_job_queue.pipeline[name].compute_environment_order[0].compute_environment == "arn:aws:batch:ap-southeast-2:111122223333:compute-environment/ocean-ingest-${name}"
      && length(aws_batch_job_queue.pipeline[name].compute_environment_order) == 1
      && aws_batch_job_queue.pipeline[name].state == "ENABLED"
      && aws_batch_compute_environment.pipeline[name].compute_resources[0].type == "FARGATE"
      && aws_batch_compute_environment.pipeline[name].compute_resources[0].max_vcpus == max
      && aws_batch_compute_environment.pipeline[name].compute_resources[0].security_group_ids == toset(["sg-0123456789abcdef0"])
    ])
    error_message = "Each stream must have its own job queue on its own Fargate compute environment of max_vcpus, so a burst in one cannot hold up another."
  }
}

# --- job definitions --------------------------------------------------------------------------

run "job_definitions_run_the_ingest_command_as_fargate_allows" {
  assert {
    # Derived from largest_file_mib: 300 s + MiB x 0.25 s; acorn gives its own.
    condition = (
      aws_batch_job_definition.pipeline["anmn_nrs"].timeout[0].attempt_duration_seconds == 556
      && aws_batch_job_definition.pipeline["srs_altimetry"].timeout[0].attempt_duration_seconds == 1324
      && aws_batch_job_definition.pipeline["acorn"].timeout[0].attempt_duration_seconds == 900
      && output.attempt_timeout_seconds == { anmn_nrs = 556, srs_altimetry = 1324, acorn = 900 }
    )
    error_message = "Attempt timeouts must follow each stream's largest expected file, or its explicit timeout_seconds."
  }

  assert {
    condition = alltrue([
      for name, deadline in { anmn_nrs = "278", srs_altimetry = "1024", acorn = "600" } :
      { for e in jsondecode(aws_batch_job_definition.pipeline[name].container_properties).environment : e.name => e.value } == {
        INGEST_INCOMING_URL         = "s3://ocean-ingest-111122223333-incoming"
        INGEST_ARCHIVE_URL          = "s3://ocean-ingest-111122223333-archive"
        INGEST_PUBLIC_URL           = "s3://ocean-ingest-111122223333-public"
        INGEST_ERROR_URL            = "s3://ocean-ingest-111122223333-error/errors"
        INGEST_REPORTS_URL          = "s3://ocean-ingest-111122223333-error/reports"
        INGEST_NOTIFY_URL           = "smtp://email-smtp.ap-southeast-2.amazonaws.com:587"
        INGEST_NOTIFY_FROM          = "ingest@example.org"
        INGEST_OPS_EMAIL            = "data-team@example.org"
        INGEST_RESULTS_QUEUE_URL    = "https://sqs.ap-southeast-2.amazonaws.com/111122223333/ocean-ingest-results"
        INGEST_PIPELINES            = "/etc/ocean-ingest/pipelines.toml"
        INGEST_LOG_FORMAT           = "json"
        INGEST_WORK_DIR             = "/var/lib/ocean-ingest"
        TMPDIR                      = "/var/lib/ocean-ingest"
        INGEST_SOURCE_KEY_ENCODING  = "url"
        INGEST_MAX_ATTEMPTS         = "3"
        INGEST_JOB_DEADLINE_SECONDS = deadline
        RUST_LOG                    = "ocean_ingest=info"
      }
    ])
    error_message = "The job environment must be exactly what the binary reads (docs/DEPLOY.md), the job deadline 300 s below the attempt timeout (half of a short one)."
  }

  assert {
    condition = alltrue([
      for name in ["anmn_nrs", "srs_altimetry", "acorn"] :
      { for s in jsondecode(aws_batch_job_definition.pipeline[name].container_properties).secrets : s.name => s.valueFrom } == {
        INGEST_INDEX_URL     = "arn:aws:secretsmanager:ap-southeast-2:111122223333:secret:ocean-ingest/index-url-AbCdEf"
        INGEST_SMTP_USERNAME = "arn:aws:secretsmanager:ap-southeast-2:111122223333:secret:ocean-ingest/smtp-GhIjKl:username::"
        INGEST_SMTP_PASSWORD = "arn:aws:secretsmanager:ap-southeast-2:111122223333:secret:ocean-ingest/smtp-GhIjKl:password::"
      }
    ])
    error_message = "Secrets come from Secrets Manager, never as plain environment values."
  }

  assert {
    condition = alltrue([
      for name, size in { anmn_nrs = ["1", "2048"], srs_altimetry = ["2", "8192"], acorn = ["0.5", "1024"] } :
      jsondecode(aws_batch_job_definition.pipeline[name].container_properties).readonlyRootFilesystem == true
      && jsondecode(aws_batch_job_definition.pipeline[name].container_properties).volumes == [{ name = "work" }]
      && jsondecode(aws_batch_job_definition.pipeline[name].container_properties).mountPoints == [{ sourceVolume = "work", containerPath = "/var/lib/ocean-ingest", readOnly = false }]
      && { for r in jsondecode(aws_batch_job_definition.pipeline[name].container_properties).resourceRequirements : r.type => r.value } == { VCPU = size[0], MEMORY = size[1] }
      && jsondecode(aws_batch_job_definition.pipeline[name].container_properties).ephemeralStorage == { sizeInGiB = 21 }
      && jsondecode(aws_batch_job_definition.pipeline[name].container_properties).jobRoleArn == "arn:aws:iam::111122223333:role/ocean-ingest-job"
      && jsondecode(aws_batch_job_definition.pipeline[name].container_properties).executionRoleArn == "arn:aws:iam::111122223333:role/ocean-ingest-execution"
      && jsondecode(aws_batch_job_definition.pipeline[name].container_properties).image == "111122223333.dkr.ecr.ap-southeast-2.amazonaws.com/ocean-ingest:0.1.0"
      && jsondecode(aws_batch_job_definition.pipeline[name].container_properties).logConfiguration.options["awslogs-group"] == "/aws/batch/ocean-ingest"
      && aws_batch_job_definition.pipeline[name].platform_capabilities == toset(["FARGATE"])
    ])
    error_message = "Each job runs its stream's size on a read-only root with the work folder on a task volume, as the job role, from the module's repository."
  }

  assert {
    # Batch takes the first matching rule (glob with a trailing *, conditions ANDed) and retries
    # a failure no rule matches. 75 and platform failures retry; 1, 2, 70 and anything else end.
    condition = alltrue(flatten([
      for name in ["anmn_nrs", "srs_altimetry", "acorn"] : [
        for case in [
          { code = "75", reason = "Essential container in task exited", status = "", want = "RETRY" },
          { code = "1", reason = "Essential container in task exited", status = "", want = "EXIT" },
          { code = "2", reason = "Essential container in task exited", status = "", want = "EXIT" },
          { code = "70", reason = "Essential container in task exited", status = "", want = "EXIT" },
          { code = "137", reason = "OutOfMemoryError: Container killed due to memory usage", status = "", want = "EXIT" },
          { code = "", reason = "", status = "Host EC2 (instance i-0abc) terminated.", want = "RETRY" },
          { code = "", reason = "CannotPullContainerError: pull image manifest has been retried 5 time(s)", status = "", want = "RETRY" },
          { code = "", reason = "", status = "Task failed to start", want = "RETRY" },
          { code = "", reason = "ResourceInitializationError: unable to pull secrets or registry auth", status = "", want = "RETRY" },
          ] : concat([
            for rule in aws_batch_job_definition.pipeline[name].retry_strategy[0].evaluate_on_exit : upper(rule.action)
            if(
              (rule.on_exit_code == null ? true : case.code != "" && (endswith(rule.on_exit_code, "*") ? startswith(case.code, trimsuffix(rule.on_exit_code, "*")) : case.code == rule.on_exit_code))
              && (rule.on_reason == null ? true : (endswith(rule.on_reason, "*") ? startswith(case.reason, trimsuffix(rule.on_reason, "*")) : case.reason == rule.on_reason))
              && (rule.on_status_reason == null ? true : (endswith(rule.on_status_reason, "*") ? startswith(case.status, trimsuffix(rule.on_status_reason, "*")) : case.status == rule.on_status_reason))
            )
        ], ["RETRY"])[0] == case.want
      ]
    ]))
    error_message = "Retry rules: exit 75 and platform failures must be retried; 1, 2, 70 and any other exit code must not."
  }

  assert {
    condition = alltrue([
      for name in ["anmn_nrs", "srs_altimetry", "acorn"] :
      aws_batch_job_definition.pipeline[name].retry_strategy[0].attempts == 3
      && length(aws_batch_job_definition.pipeline[name].retry_strategy[0].evaluate_on_exit) <= 5
      && alltrue([for rule in aws_batch_job_definition.pipeline[name].retry_strategy[0].evaluate_on_exit : rule.on_exit_code == null || can(regex("^[0-9]*\\*?$", rule.on_exit_code))])
    ])
    error_message = "retry_attempts attempts, at most 5 rules (Batch's limit), exit-code patterns digits with an optional trailing *."
  }
}

# --- IAM: each role allowed exactly what its part of the flow does ------------------------------

run "roles_get_exactly_what_their_part_of_the_flow_needs" {
  assert {
    # src/store/s3 per store (iam.tf lists the calls): no s3:GetObjectVersion anywhere, rollback
    # of per-file archive copies, aborted multipart uploads, uploads only under stream prefixes.
    condition = toset(flatten([
      for st in data.aws_iam_policy_document.job.statement : [
        for pair in setproduct(st.actions, st.resources) : "${pair[0]} ${pair[1]}"
      ] if st.effect != "Deny"
      ])) == toset([
      "s3:GetObject arn:aws:s3:::ocean-ingest-111122223333-incoming/ANMN/NRS/*",
      "s3:GetObject arn:aws:s3:::ocean-ingest-111122223333-incoming/SRS/ALTIMETRY/*",
      "s3:GetObject arn:aws:s3:::ocean-ingest-111122223333-incoming/ACORN/*",
      "s3:DeleteObject arn:aws:s3:::ocean-ingest-111122223333-incoming/ANMN/NRS/*",
      "s3:DeleteObject arn:aws:s3:::ocean-ingest-111122223333-incoming/SRS/ALTIMETRY/*",
      "s3:DeleteObject arn:aws:s3:::ocean-ingest-111122223333-incoming/ACORN/*",
      "s3:ListBucket arn:aws:s3:::ocean-ingest-111122223333-incoming",
      "s3:ListBucket arn:aws:s3:::ocean-ingest-111122223333-archive",
      "s3:ListBucket arn:aws:s3:::ocean-ingest-111122223333-public",
      "s3:ListBucket arn:aws:s3:::ocean-ingest-111122223333-error",
      "s3:GetObject arn:aws:s3:::ocean-ingest-111122223333-archive/*",
      "s3:PutObject arn:aws:s3:::ocean-ingest-111122223333-archive/*",
      "s3:AbortMultipartUpload arn:aws:s3:::ocean-ingest-111122223333-archive/*",
      "s3:DeleteObjectVersion arn:aws:s3:::ocean-ingest-111122223333-archive/*",
      "s3:GetObject arn:aws:s3:::ocean-ingest-111122223333-public/*",
      "s3:PutObject arn:aws:s3:::ocean-ingest-111122223333-public/*",
      "s3:AbortMultipartUpload arn:aws:s3:::ocean-ingest-111122223333-public/*",
      "s3:DeleteObject arn:aws:s3:::ocean-ingest-111122223333-public/*",
      "s3:DeleteObjectVersion arn:aws:s3:::ocean-ingest-111122223333-public/*",
      "s3:GetObject arn:aws:s3:::ocean-ingest-111122223333-error/errors/*",
      "s3:PutObject arn:aws:s3:::ocean-ingest-111122223333-error/errors/*",
      "s3:AbortMultipartUpload arn:aws:s3:::ocean-ingest-111122223333-error/errors/*",
      "s3:DeleteObject arn:aws:s3:::ocean-ingest-111122223333-error/errors/*",
      "s3:GetObject arn:aws:s3:::ocean-ingest-111122223333-error/reports/*",
      "s3:PutObject arn:aws:s3:::ocean-ingest-111122223333-error/reports/*",
      "s3:AbortMultipartUpload arn:aws:s3:::ocean-ingest-111122223333-error/reports/*",
      "sqs:SendMessage arn:aws:sqs:ap-southeast-2:111122223333:ocean-ingest-results",
      "kms:Decrypt arn:aws:kms:ap-southeast-2:111122223333:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
      "kms:GenerateDataKey arn:aws:kms:ap-southeast-2:111122223333:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
    ])
    error_message = "The job role must allow exactly the S3, SQS and KMS calls the job makes on each store."
  }

  assert {
    # Listing is limited to what the job reads or writes; a HEAD of a missing key under those
    # prefixes is then a 404 (S3 checks ListBucket with the key as s3:prefix).
    condition = jsonencode({
      for st in data.aws_iam_policy_document.job.statement : st.sid => st.condition
      if contains(st.actions, "s3:ListBucket")
      }) == jsonencode({
      ListUploads          = [{ test = "StringLike", values = ["ACORN/*", "ANMN/NRS/*", "SRS/ALTIMETRY/*"], variable = "s3:prefix" }]
      ListArchiveAndPublic = []
      ListErrorsAndReports = [{ test = "StringLike", values = ["errors/*", "reports/*"], variable = "s3:prefix" }]
    })
    error_message = "ListBucket must carry prefix conditions where the store is a prefix (incoming streams, errors/, reports/)."
  }

  assert {
    condition = [
      for st in data.aws_iam_policy_document.job.statement : {
        actions = st.actions, resources = st.resources
      } if st.effect == "Deny"
      ] == [{
        actions   = toset(["s3:DeleteObject", "s3:DeleteObjectVersion"])
        resources = toset(["arn:aws:s3:::ocean-ingest-111122223333-archive/_uploads/*"])
    }]
    error_message = "No job may delete the archived copy of an upload."
  }

  assert {
    condition = toset(flatten([
      for st in data.aws_iam_policy_document.execution.statement : [
        for pair in setproduct(st.actions, st.resources) : "${pair[0]} ${pair[1]}"
      ]
      ])) == toset([
      "ecr:GetAuthorizationToken *",
      "ecr:BatchCheckLayerAvailability arn:aws:ecr:ap-southeast-2:111122223333:repository/ocean-ingest",
      "ecr:BatchGetImage arn:aws:ecr:ap-southeast-2:111122223333:repository/ocean-ingest",
      "ecr:GetDownloadUrlForLayer arn:aws:ecr:ap-southeast-2:111122223333:repository/ocean-ingest",
      "logs:CreateLogStream arn:aws:logs:ap-southeast-2:111122223333:log-group:/aws/batch/ocean-ingest:log-stream:*",
      "logs:PutLogEvents arn:aws:logs:ap-southeast-2:111122223333:log-group:/aws/batch/ocean-ingest:log-stream:*",
      "secretsmanager:GetSecretValue arn:aws:secretsmanager:ap-southeast-2:111122223333:secret:ocean-ingest/index-url-AbCdEf",
      "secretsmanager:GetSecretValue arn:aws:secretsmanager:ap-southeast-2:111122223333:secret:ocean-ingest/smtp-GhIjKl",
      "kms:Decrypt arn:aws:kms:ap-southeast-2:111122223333:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
    ])
    error_message = "The execution role may pull the image, write the job logs and read the two secrets; nothing else."
  }

  assert {
    condition = alltrue([
      for name in ["anmn_nrs", "srs_altimetry", "acorn"] :
      toset(flatten([
        for st in data.aws_iam_policy_document.pipe[name].statement : [
          for pair in setproduct(st.actions, st.resources) : "${pair[0]} ${pair[1]}"
        ]
        ])) == toset([
        "sqs:ReceiveMessage arn:aws:sqs:ap-southeast-2:111122223333:ocean-ingest-${name}",
        "sqs:DeleteMessage arn:aws:sqs:ap-southeast-2:111122223333:ocean-ingest-${name}",
        "sqs:GetQueueAttributes arn:aws:sqs:ap-southeast-2:111122223333:ocean-ingest-${name}",
        "kms:Decrypt arn:aws:kms:ap-southeast-2:111122223333:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
        "batch:SubmitJob arn:aws:batch:ap-southeast-2:111122223333:job-queue/ocean-ingest-${name}",
        "batch:SubmitJob arn:aws:batch:ap-southeast-2:111122223333:job-definition/ocean-ingest-${name}:*",
        "logs:CreateLogStream arn:aws:logs:ap-southeast-2:111122223333:log-group:/aws/pipes/ocean-ingest:*",
        "logs:PutLogEvents arn:aws:logs:ap-southeast-2:111122223333:log-group:/aws/pipes/ocean-ingest:*",
      ])
      && jsonencode(one(data.aws_iam_policy_document.pipes_assume[name].statement).condition) == jsonencode([{
        test = "StringEquals", values = ["arn:aws:pipes:ap-southeast-2:111122223333:pipe/ocean-ingest-${name}"], variable = "aws:SourceArn"
      }])
      && aws_iam_role_policy.pipe[name].role == "ocean-ingest-pipe-${name}"
    ])
    error_message = "Each pipe role reads its own queue, submits to its own job queue and definition, logs, and is trusted by its own pipe only."
  }

  assert {
    # No Allow statement with a wildcard action, or "*" where the action takes a resource; the
    # key policy's account-root statement and its "*" (this key) are AWS's documented form.
    condition = alltrue(flatten([
      for statements in concat(
        [data.aws_iam_policy_document.job.statement, data.aws_iam_policy_document.execution.statement],
        [for doc in data.aws_iam_policy_document.pipe : doc.statement],
        [for doc in data.aws_iam_policy_document.pipeline_queue : doc.statement],
        [data.aws_iam_policy_document.unrouted_queue.statement, data.aws_iam_policy_document.alarms_topic.statement],
        ) : [
        for st in statements : alltrue([for action in st.actions : !strcontains(action, "*")])
        && (!contains(st.resources, "*") || st.actions == toset(["ecr:GetAuthorizationToken"]))
        if st.effect != "Deny"
      ]
    ]))
    error_message = "An Allow statement has a wildcard action or resource."
  }

  assert {
    condition = alltrue([
      for st in data.aws_iam_policy_document.bucket["public"].statement :
      st.effect == "Deny" || (st.actions == toset(["s3:GetObject"]) && st.resources == toset(["arn:aws:s3:::ocean-ingest-111122223333-public/*"]))
      ]) && alltrue(flatten([
        for role in ["incoming", "archive", "error"] : [
          for st in data.aws_iam_policy_document.bucket[role].statement : st.effect == "Deny"
        ]
    ]))
    error_message = "Only the public bucket lets anyone in, and only to read objects."
  }
}

run "an_s3_pipeline_file_is_readable_by_the_job_and_nothing_more" {
  variables {
    pipelines_file             = "s3://ops-config-bucket/ocean-ingest/pipelines.toml"
    pipelines_file_kms_key_arn = "arn:aws:kms:ap-southeast-2:111122223333:key/config"
  }

  assert {
    condition = {
      for st in data.aws_iam_policy_document.job.statement : st.sid => [st.actions, st.resources]
      if contains(["ReadPipelineFile", "DecryptPipelineFile"], st.sid)
      } == {
      ReadPipelineFile    = [toset(["s3:GetObject"]), toset(["arn:aws:s3:::ops-config-bucket/ocean-ingest/pipelines.toml"])]
      DecryptPipelineFile = [toset(["kms:Decrypt"]), toset(["arn:aws:kms:ap-southeast-2:111122223333:key/config"])]
    }
    error_message = "An s3:// pipelines_file must be readable (and decryptable) by the job role, that object only."
  }

  assert {
    condition     = { for e in jsondecode(aws_batch_job_definition.pipeline["acorn"].container_properties).environment : e.name => e.value }["INGEST_PIPELINES"] == "s3://ops-config-bucket/ocean-ingest/pipelines.toml"
    error_message = "INGEST_PIPELINES must name the S3 object."
  }
}

run "a_catch_all_pipeline_needs_an_explicit_opt_in" {
  assert {
    condition     = !contains([for e in jsondecode(aws_batch_job_definition.pipeline["acorn"].container_properties).environment : e.name], "INGEST_PIPELINES_ALLOW_CATCH_ALL")
    error_message = "Without allow_catch_all_pipeline the jobs get no opt-in."
  }
}

run "the_catch_all_opt_in_reaches_every_job" {
  variables {
    allow_catch_all_pipeline = true
  }

  assert {
    condition = alltrue([
      for name in ["anmn_nrs", "srs_altimetry", "acorn"] :
      { for e in jsondecode(aws_batch_job_definition.pipeline[name].container_properties).environment : e.name => e.value }["INGEST_PIPELINES_ALLOW_CATCH_ALL"] == "true"
    ])
    error_message = "allow_catch_all_pipeline must reach every job as INGEST_PIPELINES_ALLOW_CATCH_ALL=true."
  }
}

run "extra_environment_cannot_replace_what_the_module_derives" {
  variables {
    extra_environment = { INGEST_WORK_DIR = "/var/lib/elsewhere", RUST_LOG = "debug" }
  }

  assert {
    condition = (
      { for e in jsondecode(aws_batch_job_definition.pipeline["anmn_nrs"].container_properties).environment : e.name => e.value }["INGEST_WORK_DIR"] == "/var/lib/ocean-ingest"
      && { for e in jsondecode(aws_batch_job_definition.pipeline["anmn_nrs"].container_properties).environment : e.name => e.value }["RUST_LOG"] == "debug"
    )
    error_message = "extra_environment may add variables, never replace the module's."
  }
}

# --- queues, dead letters, unrouted uploads, alarms --------------------------------------------

run "every_queue_has_its_own_dead_letter_queue_with_an_alarm" {
  assert {
    condition = alltrue([
      for name, receives in { anmn_nrs = 5, srs_altimetry = 5, acorn = 3 } :
      jsondecode(aws_sqs_queue.pipeline[name].redrive_policy) == {
        deadLetterTargetArn = "arn:aws:sqs:ap-southeast-2:111122223333:ocean-ingest-${name}-dlq"
        maxReceiveCount     = receives
      }
      && jsondecode(aws_sqs_queue_redrive_allow_policy.pipeline_dlq[name].redrive_allow_policy) == {
        redrivePermission = "byQueue"
        sourceQueueArns   = ["arn:aws:sqs:ap-southeast-2:111122223333:ocean-ingest-${name}"]
      }
      && aws_sqs_queue.pipeline_dlq[name].message_retention_seconds == 1209600
      && aws_cloudwatch_metric_alarm.pipeline_dlq[name].dimensions == tomap({ QueueName = "ocean-ingest-${name}-dlq" })
      && aws_cloudwatch_metric_alarm.pipeline_dlq[name].alarm_actions == toset(["arn:aws:sns:ap-southeast-2:111122223333:ocean-ingest-alarms"])
    ])
    error_message = "Each stream queue must move a message it failed to deliver max_receive_count times to its own dead-letter queue, kept 14 days and alarmed."
  }

  assert {
    condition = (
      jsondecode(aws_sqs_queue.results.redrive_policy).deadLetterTargetArn == "arn:aws:sqs:ap-southeast-2:111122223333:ocean-ingest-results-dlq"
      && jsondecode(aws_sqs_queue_redrive_allow_policy.results_dlq.redrive_allow_policy).sourceQueueArns == ["arn:aws:sqs:ap-southeast-2:111122223333:ocean-ingest-results"]
      && aws_cloudwatch_metric_alarm.queue_depth["results-dead-letters"].dimensions == tomap({ QueueName = "ocean-ingest-results-dlq" })
    )
    error_message = "The results queue has its own alarmed dead-letter queue."
  }

  assert {
    condition = alltrue([
      for queue in concat(values(aws_sqs_queue.pipeline), values(aws_sqs_queue.pipeline_dlq), [aws_sqs_queue.results, aws_sqs_queue.results_dlq, aws_sqs_queue.unrouted]) :
      queue.kms_master_key_id == "arn:aws:kms:ap-southeast-2:111122223333:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
    ])
    error_message = "Every queue is encrypted with the module's key."
  }
}

run "uploads_outside_every_stream_prefix_raise_an_alarm" {
  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.unrouted.event_pattern) == {
      source        = ["aws.s3"]
      "detail-type" = ["Object Created"]
      detail = {
        bucket = { name = ["ocean-ingest-111122223333-incoming"] }
        object = { key = [{ "anything-but" = { prefix = ["ACORN/", "ANMN/NRS/", "SRS/ALTIMETRY/"] } }] }
      }
    }
    error_message = "The unrouted rule must match uploads to incoming under none of the stream prefixes."
  }

  assert {
    condition = (
      aws_cloudwatch_event_target.unrouted.rule == aws_cloudwatch_event_rule.unrouted.name
      && aws_cloudwatch_event_target.unrouted.arn == "arn:aws:sqs:ap-southeast-2:111122223333:ocean-ingest-unrouted"
      && aws_sqs_queue.unrouted.message_retention_seconds == 1209600
    )
    error_message = "Unrouted uploads must land on the unrouted queue, kept 14 days."
  }

  assert {
    condition = (
      aws_sqs_queue_policy.unrouted.queue_url == aws_sqs_queue.unrouted.id
      && jsonencode(one(data.aws_iam_policy_document.unrouted_queue.statement).principals) == jsonencode([{ identifiers = ["events.amazonaws.com"], type = "Service" }])
      && jsonencode(one(data.aws_iam_policy_document.unrouted_queue.statement).condition) == jsonencode([{ test = "ArnEquals", values = ["arn:aws:events:ap-southeast-2:111122223333:rule/ocean-ingest-mocked"], variable = "aws:SourceArn" }])
    )
    error_message = "Only the unrouted rule may send to the unrouted queue."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.queue_depth["unrouted-uploads"].dimensions == tomap({ QueueName = "ocean-ingest-unrouted" })
      && aws_cloudwatch_metric_alarm.queue_depth["unrouted-uploads"].threshold == 1
      && aws_cloudwatch_metric_alarm.queue_depth["unrouted-uploads"].comparison_operator == "GreaterThanOrEqualToThreshold"
      && aws_cloudwatch_metric_alarm.queue_depth["unrouted-uploads"].alarm_actions == toset(["arn:aws:sns:ap-southeast-2:111122223333:ocean-ingest-alarms"])
    )
    error_message = "The first unrouted upload must raise the alarm."
  }

  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.job_failed.event_pattern) == {
      source        = ["aws.batch"]
      "detail-type" = ["Batch Job State Change"]
      detail = {
        status = ["FAILED"]
        jobQueue = [
          "arn:aws:batch:ap-southeast-2:111122223333:job-queue/ocean-ingest-acorn",
          "arn:aws:batch:ap-southeast-2:111122223333:job-queue/ocean-ingest-anmn_nrs",
          "arn:aws:batch:ap-southeast-2:111122223333:job-queue/ocean-ingest-srs_altimetry",
        ]
        "$or" = [
          { container = { exitCode = [{ "anything-but" = [1] }] } },
          { container = { exitCode = [{ exists = false }] } },
        ]
      }
    }
    error_message = "Failed jobs of every stream's queue other than rejected inputs (exit 1) must reach the alarm topic."
  }

  assert {
    condition = (
      aws_cloudwatch_event_target.job_failed.arn == "arn:aws:sns:ap-southeast-2:111122223333:ocean-ingest-alarms"
      && aws_cloudwatch_metric_alarm.failed_jobs.dimensions == tomap({ RuleName = aws_cloudwatch_event_rule.job_failed.name })
    )
    error_message = "The failed-jobs alarm must watch the failed-job rule, whose events go to the alarm topic."
  }
}

# --- storage ----------------------------------------------------------------------------------

run "buckets_are_versioned_encrypted_and_private_except_public_read" {
  assert {
    condition = alltrue([
      for role in ["incoming", "archive", "public", "error"] :
      aws_s3_bucket_versioning.this[role].versioning_configuration[0].status == "Enabled"
      && aws_s3_bucket_versioning.this[role].bucket == "ocean-ingest-111122223333-${role}"
      && aws_s3_bucket_ownership_controls.this[role].rule[0].object_ownership == "BucketOwnerEnforced"
      && anytrue([
        for st in data.aws_iam_policy_document.bucket[role].statement :
        st.effect == "Deny" && jsonencode(st.condition) == jsonencode([{ test = "Bool", values = ["false"], variable = "aws:SecureTransport" }])
      ])
      && anytrue([for rule in aws_s3_bucket_lifecycle_configuration.this[role].rule : length(rule.abort_incomplete_multipart_upload) == 1])
    ])
    error_message = "Every bucket is versioned (rollback deletes versions), owner-enforced, TLS-only and cleans up incomplete uploads."
  }

  assert {
    condition = alltrue([
      for role in ["incoming", "archive", "error"] :
      one(one(aws_s3_bucket_server_side_encryption_configuration.private[role].rule).apply_server_side_encryption_by_default).sse_algorithm == "aws:kms"
      && aws_s3_bucket_public_access_block.private[role].block_public_policy
      && aws_s3_bucket_public_access_block.private[role].restrict_public_buckets
      && aws_s3_bucket_public_access_block.private[role].block_public_acls
      && aws_s3_bucket_public_access_block.private[role].ignore_public_acls
      ]) && (
      one(one(aws_s3_bucket_server_side_encryption_configuration.public.rule).apply_server_side_encryption_by_default).sse_algorithm == "AES256"
      && aws_s3_bucket_public_access_block.public.block_public_acls
    )
    error_message = "Private buckets: the module's key, all public access blocked; public: S3-managed keys (anonymous readers cannot use KMS), ACLs blocked."
  }

  assert {
    condition = (
      [for rule in aws_s3_bucket_lifecycle_configuration.this["incoming"].rule : one(rule.noncurrent_version_expiration).noncurrent_days if length(rule.noncurrent_version_expiration) > 0] == [30]
      && [for rule in aws_s3_bucket_lifecycle_configuration.this["error"].rule : one(rule.expiration).days if length(rule.expiration) > 0] == [730]
      && [for rule in aws_s3_bucket_lifecycle_configuration.this["incoming"].rule : rule if length(rule.expiration) > 0] == []
    )
    error_message = "incoming keeps replaced versions 30 days and never expires a current upload; the error store keeps error_retention_days."
  }
}

# --- the image the job definitions run ---------------------------------------------------------

run "the_image_provides_what_the_job_definition_expects" {
  assert {
    # Fargate copies owner and mode into the task volume only from a VOLUME the image declares at
    # the mount path; elsewhere the volume is root's 0755 and the job cannot write to it.
    condition = (
      [for m in jsondecode(aws_batch_job_definition.pipeline["anmn_nrs"].container_properties).mountPoints : m.containerPath]
      == regexall("(?m)^VOLUME \\[\"([^\"]+)\"\\]$", file("${path.module}/../Dockerfile"))[0]
    )
    error_message = "The Dockerfile must declare a VOLUME at the job definition's work-folder mount path."
  }

  assert {
    condition = (
      length(regexall("(?m)^install -d -o 10001 -g 10001 -m 0700 /var/lib/ocean-ingest", replace(file("${path.module}/../Dockerfile"), "    && ", ""))) == 1
      && [for m in regexall("(?m)^USER (.+)$", file("${path.module}/../Dockerfile")) : m[0]] == ["10001:10001"]
      && strcontains(file("${path.module}/../Dockerfile"), "ENTRYPOINT [\"ocean-ingest\"]")
    )
    error_message = "The image runs as uid 10001, owns its work folder, and its entry point takes the job's command."
  }

  assert {
    condition = (
      regexall("(?m)^ADD [^\\n]* (/etc/ocean-ingest/[^ \\n]+\\.pem)$", file("${path.module}/../Dockerfile"))[0][0] == "/etc/ocean-ingest/rds-ca-bundle.pem"
      && output.index_url_format == "postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=verify-full&sslrootcert=/etc/ocean-ingest/rds-ca-bundle.pem"
      && strcontains(aws_secretsmanager_secret.index_url.description, "sslmode=verify-full&sslrootcert=/etc/ocean-ingest/rds-ca-bundle.pem")
    )
    error_message = "The index URL must verify the database's certificate against the CA bundle the image carries."
  }

  assert {
    # The example pipelines (with the catch-all unittest pipeline) are compiled in for a laptop;
    # the image must not also install them as its configuration.
    condition     = length(regexall("(?m)^COPY .*pipelines\\.toml /", file("${path.module}/../Dockerfile"))) == 0 && jsondecode(aws_batch_job_definition.pipeline["acorn"].container_properties).command[0] == "run"
    error_message = "The image must carry no pipeline file of its own."
  }
}

# --- the dashboard -------------------------------------------------------------------------------

run "the_dashboard_shows_every_queue_job_state_and_outcome" {
  assert {
    condition = alltrue(flatten([
      for name in ["anmn_nrs", "srs_altimetry", "acorn"] : [
        contains(
          [for m in concat([for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : w.properties.metrics]...) : jsonencode(m)],
          jsonencode(["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "ocean-ingest-${name}", { label = name }])
        ),
        contains(
          [for m in concat([for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : w.properties.metrics]...) : jsonencode(m)],
          jsonencode(["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "ocean-ingest-${name}-dlq", { label = "${name} dead letters" }])
        ),
      ]
    ]))
    error_message = "The dashboard must show the depth of every stream's queue and of its dead-letter queue."
  }

  assert {
    condition = alltrue([
      for queue in ["ocean-ingest-results-dlq", "ocean-ingest-unrouted", "ocean-ingest-results"] :
      length([
        for m in concat([for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : w.properties.metrics]...) :
        m if jsonencode(slice(m, 0, min(4, length(m)))) == jsonencode(["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue])
      ]) == 1
    ])
    error_message = "The dashboard must show the results dead letters, the unrouted uploads and the result events waiting, once each."
  }

  assert {
    condition = alltrue([
      for name in ["anmn_nrs", "srs_altimetry", "acorn"] :
      length([
        for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : w
        if w.properties.title == "Batch jobs entering each state: ${name}"
        && jsonencode(w.properties.metrics) == jsonencode([
          for state in ["SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED"] :
          ["OceanIngest/ocean-ingest", "BatchJobStates", "JobQueue", "arn:aws:batch:ap-southeast-2:111122223333:job-queue/ocean-ingest-${name}", "Status", state, { label = state }]
        ])
        && lookup(w.properties, "stat", null) == "Sum"
      ]) == 1
    ])
    error_message = "Each stream's job queue must have a widget of its jobs by Batch status, from the job-state metric filter."
  }

  assert {
    condition = alltrue([
      for outcome in ["published", "duplicate", "rejected", "failed_transient", "failed_internal"] :
      length([
        for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : w
        if w.properties.title == "Jobs ${outcome}, per pipeline"
        && jsonencode(w.properties.metrics) == jsonencode([[{
          expression = "SEARCH('{OceanIngest/ocean-ingest,Outcome,Pipeline} MetricName=\"JobOutcomes\" Outcome=\"${outcome}\"', 'Sum', 300)"
          id         = "jobs"
          label      = "$${PROP('Dim.Pipeline')}"
        }]])
      ]) == 1
    ])
    error_message = "Each job outcome must have a widget of its jobs per pipeline, searched from the outcome metric filter's namespace and dimensions."
  }

  assert {
    condition = (
      aws_cloudwatch_log_metric_filter.job_outcomes.log_group_name == "/aws/batch/ocean-ingest"
      && aws_cloudwatch_log_metric_filter.job_outcomes.pattern == "{ ($.message = \"job finished\") && ($.pipeline = *) && ($.outcome = *) }"
      && one(aws_cloudwatch_log_metric_filter.job_outcomes.metric_transformation).name == "JobOutcomes"
      && one(aws_cloudwatch_log_metric_filter.job_outcomes.metric_transformation).namespace == "OceanIngest/ocean-ingest"
      && one(aws_cloudwatch_log_metric_filter.job_outcomes.metric_transformation).value == "1"
      && one(aws_cloudwatch_log_metric_filter.job_outcomes.metric_transformation).dimensions == tomap({ Pipeline = "$.pipeline", Outcome = "$.outcome" })
    )
    error_message = "The job log group's outcome filter must count each job's outcome line, one metric per pipeline and outcome."
  }

  assert {
    condition = (
      jsondecode(aws_cloudwatch_event_rule.batch_job_states.event_pattern) == {
        source        = ["aws.batch"]
        "detail-type" = ["Batch Job State Change"]
        detail = {
          jobQueue = [
            "arn:aws:batch:ap-southeast-2:111122223333:job-queue/ocean-ingest-acorn",
            "arn:aws:batch:ap-southeast-2:111122223333:job-queue/ocean-ingest-anmn_nrs",
            "arn:aws:batch:ap-southeast-2:111122223333:job-queue/ocean-ingest-srs_altimetry",
          ]
        }
      }
      && aws_cloudwatch_event_target.batch_job_states.rule == aws_cloudwatch_event_rule.batch_job_states.name
      && aws_cloudwatch_event_target.batch_job_states.arn == "arn:aws:logs:ap-southeast-2:111122223333:log-group:/aws/events/ocean-ingest/batch-jobs"
      && aws_cloudwatch_log_group.batch_events.kms_key_id == "arn:aws:kms:ap-southeast-2:111122223333:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
      && aws_cloudwatch_log_group.batch_events.retention_in_days == 365
    )
    error_message = "Every job state change of every stream's job queue must reach the encrypted job-state log group."
  }

  assert {
    condition = (
      aws_cloudwatch_log_metric_filter.batch_job_states.log_group_name == "/aws/events/ocean-ingest/batch-jobs"
      && aws_cloudwatch_log_metric_filter.batch_job_states.pattern == "{ ($.detail.status = *) && ($.detail.jobQueue = *) }"
      && one(aws_cloudwatch_log_metric_filter.batch_job_states.metric_transformation).name == "BatchJobStates"
      && one(aws_cloudwatch_log_metric_filter.batch_job_states.metric_transformation).namespace == "OceanIngest/ocean-ingest"
      && one(aws_cloudwatch_log_metric_filter.batch_job_states.metric_transformation).dimensions == tomap({ JobQueue = "$.detail.jobQueue", Status = "$.detail.status" })
    )
    error_message = "The job-state filter must count the jobs entering each state, per job queue."
  }

  assert {
    condition = (
      jsonencode(one(data.aws_iam_policy_document.batch_events_log.statement).actions) == jsonencode(["logs:CreateLogStream", "logs:PutLogEvents"])
      && jsonencode(one(data.aws_iam_policy_document.batch_events_log.statement).resources) == jsonencode(["arn:aws:logs:ap-southeast-2:111122223333:log-group:/aws/events/ocean-ingest/batch-jobs:*"])
      && jsonencode(one(data.aws_iam_policy_document.batch_events_log.statement).condition) == jsonencode([{ test = "ArnEquals", values = ["arn:aws:events:ap-southeast-2:111122223333:rule/ocean-ingest-batch-job-states"], variable = "aws:SourceArn" }])
      && contains(flatten([for c in one([for s in data.aws_iam_policy_document.kms.statement : s if s.sid == "LogsEncryptJobAndPipeLogs"]).condition : c.values]), "arn:aws:logs:ap-southeast-2:111122223333:log-group:/aws/events/ocean-ingest/batch-jobs")
    )
    error_message = "Only the job-state rule may write the job-state log group, which the module's key encrypts."
  }
}
