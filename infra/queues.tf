# One SQS queue per pipeline, fed by S3 event notifications for that pipeline's key prefix, so a
# burst of uploads for one facility never waits behind another's. A message that the pipe fails
# to turn into a Batch job max_receive_count times moves to the pipeline's dead-letter queue.

resource "aws_sqs_queue" "pipeline_dlq" {
  for_each = var.pipelines

  name                              = "${var.name}-${each.key}-dlq"
  message_retention_seconds         = 1209600
  kms_master_key_id                 = aws_kms_key.this.arn
  kms_data_key_reuse_period_seconds = 300
  tags                              = merge(local.tags, { "pipeline" = each.key })
}

resource "aws_sqs_queue" "pipeline" {
  for_each = var.pipelines

  name                              = "${var.name}-${each.key}"
  visibility_timeout_seconds        = each.value.visibility_timeout_seconds
  message_retention_seconds         = each.value.message_retention_seconds
  kms_master_key_id                 = aws_kms_key.this.arn
  kms_data_key_reuse_period_seconds = 300

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.pipeline_dlq[each.key].arn
    maxReceiveCount     = each.value.max_receive_count
  })

  tags = merge(local.tags, { "pipeline" = each.key })
}

resource "aws_sqs_queue_redrive_allow_policy" "pipeline_dlq" {
  for_each = var.pipelines

  queue_url = aws_sqs_queue.pipeline_dlq[each.key].id

  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.pipeline[each.key].arn]
  })
}

data "aws_iam_policy_document" "pipeline_queue" {
  for_each = var.pipelines

  statement {
    sid       = "IncomingBucketSendsEvents"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.pipeline[each.key].arn]

    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_s3_bucket.this["incoming"].arn]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_sqs_queue_policy" "pipeline" {
  for_each = var.pipelines

  queue_url = aws_sqs_queue.pipeline[each.key].id
  policy    = data.aws_iam_policy_document.pipeline_queue[each.key].json
}

# S3 allows one notification configuration per bucket: one queue rule per stream prefix, and
# every event also to EventBridge, where the unrouted-upload rule below picks what no stream owns.
# Only created objects start a job; the job itself deletes the incoming object when it is done.
resource "aws_s3_bucket_notification" "incoming" {
  bucket      = aws_s3_bucket.this["incoming"].id
  eventbridge = true

  dynamic "queue" {
    for_each = var.pipelines

    content {
      id            = queue.key
      queue_arn     = aws_sqs_queue.pipeline[queue.key].arn
      events        = ["s3:ObjectCreated:*"]
      filter_prefix = queue.value.key_prefix
    }
  }

  depends_on = [aws_sqs_queue_policy.pipeline]
}

# Result events (one JSON message per finished job) for downstream consumers, e.g. a catalogue.
resource "aws_sqs_queue" "results_dlq" {
  name                              = "${var.name}-results-dlq"
  message_retention_seconds         = 1209600
  kms_master_key_id                 = aws_kms_key.this.arn
  kms_data_key_reuse_period_seconds = 300
  tags                              = local.tags
}

resource "aws_sqs_queue" "results" {
  name                              = "${var.name}-results"
  message_retention_seconds         = 1209600
  kms_master_key_id                 = aws_kms_key.this.arn
  kms_data_key_reuse_period_seconds = 300

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.results_dlq.arn
    maxReceiveCount     = 5
  })

  tags = local.tags
}

resource "aws_sqs_queue_redrive_allow_policy" "results_dlq" {
  queue_url = aws_sqs_queue.results_dlq.id

  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.results.arn]
  })
}

# Uploads outside every stream prefix. No queue rule matches them (S3 refuses a catch-all rule
# that overlaps the stream rules), so without this they would sit in incoming unnoticed for ever.
# The rule sends each one's event to the unrouted queue, whose depth raises an alarm (alarms.tf):
# move the object under the right prefix (which starts its job), add a stream, or delete it
# (docs/DEPLOY.md). Nothing consumes the queue: it is the list to work through, kept 14 days.
resource "aws_sqs_queue" "unrouted" {
  name                              = "${var.name}-unrouted"
  message_retention_seconds         = 1209600
  kms_master_key_id                 = aws_kms_key.this.arn
  kms_data_key_reuse_period_seconds = 300
  tags                              = local.tags
}

resource "aws_cloudwatch_event_rule" "unrouted" {
  name        = "${var.name}-unrouted-uploads"
  description = "Uploads to the incoming bucket outside every stream prefix"

  # S3's EventBridge events carry the key as stored; stream prefixes are limited to characters that
  # read the same URL-encoded or not (variables.tf).
  event_pattern = jsonencode({
    source        = ["aws.s3"]
    "detail-type" = ["Object Created"]
    detail = {
      bucket = { name = [aws_s3_bucket.this["incoming"].bucket] }
      object = { key = [{ "anything-but" = { prefix = sort([for p in var.pipelines : p.key_prefix]) } }] }
    }
  })

  tags = local.tags
}

resource "aws_cloudwatch_event_target" "unrouted" {
  rule      = aws_cloudwatch_event_rule.unrouted.name
  target_id = "unrouted-queue"
  arn       = aws_sqs_queue.unrouted.arn
}

data "aws_iam_policy_document" "unrouted_queue" {
  statement {
    sid       = "UnroutedRuleSendsEvents"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.unrouted.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.unrouted.arn]
    }
  }
}

resource "aws_sqs_queue_policy" "unrouted" {
  queue_url = aws_sqs_queue.unrouted.id
  policy    = data.aws_iam_policy_document.unrouted_queue.json
}
