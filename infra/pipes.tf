# One EventBridge Pipe per pipeline: its SQS queue -> a Batch job of its job definition.
# batch_size 1 makes one message one job, so `$.body.Records[0]` is the upload that job is for.
# The filter drops S3's s3:TestEvent (sent when the notification is configured) and anything that
# is not an object creation; a filtered message is deleted from the queue, not retried.
# A failed SubmitJob leaves the message on the queue; after max_receive_count deliveries it moves
# to the dead-letter queue, which raises an alarm (alarms.tf).

resource "aws_pipes_pipe" "pipeline" {
  for_each = var.pipelines

  name        = "${var.name}-${each.key}"
  description = "S3 uploads under ${each.value.key_prefix} -> ocean-ingest Batch jobs"
  role_arn    = aws_iam_role.pipe[each.key].arn
  source      = aws_sqs_queue.pipeline[each.key].arn
  target      = aws_batch_job_queue.this.arn

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

  tags = merge(local.tags, { "pipeline" = each.key })

  depends_on = [aws_iam_role_policy.pipe]
}
