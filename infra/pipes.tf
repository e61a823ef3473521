# One EventBridge Pipe per pipeline: its SQS queue -> a Batch job of its job definition.
# batch_size 1 makes one message one job, so `$.body.Records[0]` is the upload that job is for.
# The filter drops S3's s3:TestEvent (sent when the notification is configured) and anything that
# is not an object creation; a filtered message is deleted from the queue, not retried.
# A failed SubmitJob leaves the message on the queue; after max_receive_count deliveries it moves
# to the dead-letter queue, which raises an alarm (alarms.tf). Each failure is also logged, with
# the request and Batch's answer, in the pipes' log group (at pipe_log_level, ERROR by default).

resource "aws_cloudwatch_log_group" "pipes" {
  name              = local.pipe_log_group
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
  tags              = local.tags
}

resource "aws_pipes_pipe" "pipeline" {
  for_each = var.pipelines

  name        = "${var.name}-${each.key}"
  description = "S3 uploads under ${each.value.key_prefix} -> ocean-ingest Batch jobs"
  role_arn    = aws_iam_role.pipe[each.key].arn
  source      = aws_sqs_queue.pipeline[each.key].arn
  target      = aws_batch_job_queue.pipeline[each.key].arn

  source_parameters {
    sqs_queue_parameters {
      batch_size = 1
    }

    filter_criteria {
      filter {
        pattern = jsonencode({
          body = {
            Records = {
              eventSource = ["aws:s3"]
              eventName   = [{ prefix = "ObjectCreated:" }]
            }
          }
        })
      }
    }
  }

  target_parameters {
    batch_job_parameters {
      job_definition = aws_batch_job_definition.pipeline[each.key].arn
      job_name       = "${var.name}-${each.key}"
      parameters     = local.job_parameters
    }
  }

  # The execution data (the message, the SubmitJob request and Batch's answer) says which upload
  # failed and why; it holds object keys and the job definition, no secret.
  log_configuration {
    level                  = var.pipe_log_level
    include_execution_data = ["ALL"]

    cloudwatch_logs_log_destination {
      log_group_arn = aws_cloudwatch_log_group.pipes.arn
    }
  }

  tags = merge(local.tags, { "pipeline" = each.key })

  depends_on = [aws_iam_role_policy.pipe]
}
