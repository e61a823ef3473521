# The deployment's CloudWatch dashboard: every stream's queue and dead-letter queue, the unrouted
# uploads and the result events, Batch jobs by status on each stream's job queue, and job outcomes
# per pipeline. The queues publish their depths to AWS/SQS themselves; the other two come from
# logs through metric filters:
#   - job outcomes from the line every job logs last (src/job/finish.rs), JSON in the container:
#     {"message": "job finished", "pipeline": "...", "outcome": "...", ...}. The pipeline is the
#     pipeline file's name for it, which Terraform does not know, so the widgets search the
#     namespace for whatever pipelines and outcomes the jobs report;
#   - Batch publishes no metric of its jobs, but sends an event for every state a job enters: a
#     rule writes those of the stream job queues to a log group, whose metric filter counts the
#     jobs entering each state per job queue and period.

locals {
  metrics_namespace = "OceanIngest/${var.name}"

  # Matches the job's outcome line and nothing else it logs. tests/it/outcome_metrics.rs reads
  # this pattern from here and matches it against the lines the binary really writes.
  job_outcome_pattern = "{ ($.message = \"job finished\") && ($.pipeline = *) && ($.outcome = *) }"
  # Every outcome a job reports (src/report.rs), one widget each.
  job_outcomes = ["published", "duplicate", "rejected", "failed_transient", "failed_internal"]

  # The log group holds nothing but the rule's job state events.
  batch_job_state_pattern = "{ ($.detail.status = *) && ($.detail.jobQueue = *) }"
  # The states a Batch job goes through, in order.
  batch_job_states = ["SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED"]
  # EventBridge writes only to log groups named under /aws/events/.
  batch_events_log_group = "/aws/events/${var.name}/batch-jobs"

  # A queue's depth: messages waiting, one line per queue, labelled with its stream.
  depth = "ApproximateNumberOfMessagesVisible"

  queue_widgets = [
    {
      type   = "metric"
      width  = 12
      height = 6
      properties = {
        title   = "Uploads waiting in each stream's queue"
        region  = local.region
        view    = "timeSeries"
        stat    = "Maximum"
        period  = 300
        metrics = [for name, queue in aws_sqs_queue.pipeline : ["AWS/SQS", local.depth, "QueueName", queue.name, { label = name }]]
      }
    },
    {
      type   = "metric"
      width  = 12
      height = 6
      properties = {
        title  = "Dead letters: uploads that never became a job, result events never consumed"
        region = local.region
        view   = "timeSeries"
        stat   = "Maximum"
        period = 300
        metrics = concat(
          [for name, queue in aws_sqs_queue.pipeline_dlq : ["AWS/SQS", local.depth, "QueueName", queue.name, { label = "${name} dead letters" }]],
          [["AWS/SQS", local.depth, "QueueName", aws_sqs_queue.results_dlq.name, { label = "results dead letters" }]],
        )
      }
    },
    {
      type   = "metric"
      width  = 12
      height = 6
      properties = {
        title  = "Unrouted uploads and result events waiting"
        region = local.region
        view   = "timeSeries"
        stat   = "Maximum"
        period = 300
        metrics = [
          ["AWS/SQS", local.depth, "QueueName", aws_sqs_queue.unrouted.name, { label = "unrouted uploads" }],
          ["AWS/SQS", local.depth, "QueueName", aws_sqs_queue.results.name, { label = "result events" }],
        ]
      }
    },
  ]

  batch_widgets = [
    for name, queue in aws_batch_job_queue.pipeline : {
      type   = "metric"
      width  = 12
      height = 6
      properties = {
        title   = "Batch jobs entering each state: ${name}"
        region  = local.region
        view    = "timeSeries"
        stacked = false
        stat    = "Sum"
        period  = 300
        metrics = [
          for state in local.batch_job_states :
          [local.metrics_namespace, "BatchJobStates", "JobQueue", queue.arn, "Status", state, { label = state }]
        ]
      }
    }
  ]

  outcome_widgets = [
    for outcome in local.job_outcomes : {
      type   = "metric"
      width  = 8
      height = 6
      properties = {
        title   = "Jobs ${outcome}, per pipeline"
        region  = local.region
        view    = "timeSeries"
        stacked = true
        period  = 300
        metrics = [[{
          expression = "SEARCH('{${local.metrics_namespace},Outcome,Pipeline} MetricName=\"JobOutcomes\" Outcome=\"${outcome}\"', 'Sum', 300)"
          id         = "jobs"
          label      = "$${PROP('Dim.Pipeline')}"
        }]]
      }
    }
  ]
}

resource "aws_cloudwatch_log_metric_filter" "job_outcomes" {
  name           = "${var.name}-job-outcomes"
  log_group_name = aws_cloudwatch_log_group.jobs.name
  pattern        = local.job_outcome_pattern

  metric_transformation {
    name      = "JobOutcomes"
    namespace = local.metrics_namespace
    value     = "1"
    unit      = "Count"
    # Both fields are in the pattern, as CloudWatch Logs requires of a dimension's field.
    dimensions = {
      Pipeline = "$.pipeline"
      Outcome  = "$.outcome"
    }
  }
}

resource "aws_cloudwatch_log_group" "batch_events" {
  name              = local.batch_events_log_group
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
  tags              = local.tags
}

resource "aws_cloudwatch_event_rule" "batch_job_states" {
  name        = "${var.name}-batch-job-states"
  description = "Every state an ocean-ingest Batch job enters, for the dashboard's jobs-by-status widgets"

  event_pattern = jsonencode({
    source        = ["aws.batch"]
    "detail-type" = ["Batch Job State Change"]
    detail = {
      jobQueue = [for queue in aws_batch_job_queue.pipeline : queue.arn]
    }
  })

  tags = local.tags
}

resource "aws_cloudwatch_event_target" "batch_job_states" {
  rule      = aws_cloudwatch_event_rule.batch_job_states.name
  target_id = "job-state-log"
  arn       = aws_cloudwatch_log_group.batch_events.arn
}

# EventBridge writes to a log group under the account's log resource policy; this one lets only
# the job-state rule write, and only to its log group.
data "aws_iam_policy_document" "batch_events_log" {
  statement {
    sid       = "JobStateRuleWritesItsLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.batch_events.arn}:*"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com", "delivery.logs.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.batch_job_states.arn]
    }
  }
}

resource "aws_cloudwatch_log_resource_policy" "batch_events" {
  policy_name     = "${var.name}-batch-job-states"
  policy_document = data.aws_iam_policy_document.batch_events_log.json
}

resource "aws_cloudwatch_log_metric_filter" "batch_job_states" {
  name           = "${var.name}-batch-job-states"
  log_group_name = aws_cloudwatch_log_group.batch_events.name
  pattern        = local.batch_job_state_pattern

  metric_transformation {
    name      = "BatchJobStates"
    namespace = local.metrics_namespace
    value     = "1"
    unit      = "Count"
    dimensions = {
      JobQueue = "$.detail.jobQueue"
      Status   = "$.detail.status"
    }
  }
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name
  dashboard_body = jsonencode({
    widgets = concat(local.queue_widgets, local.batch_widgets, local.outcome_widgets)
  })
}
