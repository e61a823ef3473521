# Who is told when something needs an engineer:
#   - a message in any dead-letter queue: an upload that never became a job;
#   - an upload outside every stream prefix (the unrouted queue, queues.tf);
#   - a failed Batch job other than a rejected input (exit 1 is the provider's problem and is
#     reported to them by email): configuration (2), internal error (70), transient failures that
#     outlived their retries (75) and platform failures. The topic receives the job's event with
#     its exit code and log stream, and the alarm tracks the state.

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = aws_kms_key.this.arn
  tags              = local.tags
}

data "aws_iam_policy_document" "alarms_topic" {
  statement {
    sid       = "AlarmsAndFailedJobRulePublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com", "events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_sns_topic_policy" "alarms" {
  arn    = aws_sns_topic.alarms.arn
  policy = data.aws_iam_policy_document.alarms_topic.json
}

resource "aws_sns_topic_subscription" "alarm_email" {
  for_each = { for address in var.alarm_email_addresses : address => address }

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = each.value
}

resource "aws_cloudwatch_metric_alarm" "pipeline_dlq" {
  for_each = var.pipelines

  alarm_name          = "${var.name}-${each.key}-dead-letters"
  alarm_description   = "Uploads under ${each.value.key_prefix} that never became a Batch job are waiting in ${aws_sqs_queue.pipeline_dlq[each.key].name}. Inspect, fix, then redrive them (docs/DEPLOY.md)."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.pipeline_dlq[each.key].name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  tags                = merge(local.tags, { "pipeline" = each.key })
}

# Queues whose first message needs an engineer: result events their consumer failed on, and
# uploads outside every stream prefix (queues.tf).
resource "aws_cloudwatch_metric_alarm" "queue_depth" {
  for_each = {
    "results-dead-letters" = {
      queue       = aws_sqs_queue.results_dlq.name
      description = "Result events that their consumer failed to process are waiting in ${aws_sqs_queue.results_dlq.name}."
    }
    "unrouted-uploads" = {
      queue       = aws_sqs_queue.unrouted.name
      description = "Uploads outside every stream prefix are in the incoming bucket and no job will ever take them; their events wait in ${aws_sqs_queue.unrouted.name}. Move each under its stream's prefix, add a stream, or delete it (docs/DEPLOY.md)."
    }
  }

  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value.queue }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  tags                = local.tags
}

resource "aws_cloudwatch_event_rule" "job_failed" {
  name        = "${var.name}-job-failed"
  description = "ocean-ingest jobs that failed for a reason other than a rejected input (exit 1)"

  event_pattern = jsonencode({
    source        = ["aws.batch"]
    "detail-type" = ["Batch Job State Change"]
    detail = {
      status   = ["FAILED"]
      jobQueue = [for queue in aws_batch_job_queue.pipeline : queue.arn]
      "$or" = [
        { container = { exitCode = [{ "anything-but" = [1] }] } },
        { container = { exitCode = [{ exists = false }] } },
      ]
    }
  })

  tags = local.tags
}

resource "aws_cloudwatch_event_target" "job_failed" {
  rule      = aws_cloudwatch_event_rule.job_failed.name
  target_id = "alarm-topic"
  arn       = aws_sns_topic.alarms.arn
}

resource "aws_cloudwatch_metric_alarm" "failed_jobs" {
  alarm_name          = "${var.name}-failed-jobs"
  alarm_description   = "ocean-ingest jobs failed with exit code 2, 70 or 75 after their retries, or on the platform. The job events on ${aws_sns_topic.alarms.name} name each job and log stream."
  namespace           = "AWS/Events"
  metric_name         = "TriggeredRules"
  dimensions          = { RuleName = aws_cloudwatch_event_rule.job_failed.name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  tags                = local.tags
}
