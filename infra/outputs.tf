output "bucket_names" {
  description = "Bucket of each store: incoming, archive, public, error (error store under errors/, job reports under reports/)."
  value       = { for role, bucket in aws_s3_bucket.this : role => bucket.bucket }
}

output "pipeline_queue_urls" {
  description = "SQS queue URL of each pipeline: the target of `ocean-ingest replay --queue`."
  value       = { for name, queue in aws_sqs_queue.pipeline : name => queue.url }
}

output "pipeline_dead_letter_queue_urls" {
  description = "Dead-letter queue URL of each pipeline."
  value       = { for name, queue in aws_sqs_queue.pipeline_dlq : name => queue.url }
}

output "results_queue_url" {
  description = "SQS queue that receives one result event per finished job."
  value       = aws_sqs_queue.results.url
}

output "results_queue_arn" {
  description = "ARN of the results queue, for the policies of its consumers."
  value       = aws_sqs_queue.results.arn
}

output "job_queue_arn" {
  description = "Batch job queue that runs every pipeline's jobs."
  value       = aws_batch_job_queue.this.arn
}

output "job_definition_arns" {
  description = "Batch job definition (current revision) of each pipeline."
  value       = { for name, definition in aws_batch_job_definition.pipeline : name => definition.arn }
}

output "ecr_repository_url" {
  description = "Repository to push the ocean-ingest image to; the job definitions run <url>:<image_tag>."
  value       = aws_ecr_repository.this.repository_url
}

output "index_url_secret_arn" {
  description = "Secret that holds INGEST_INDEX_URL (put its value after the first apply)."
  value       = aws_secretsmanager_secret.index_url.arn
}

output "smtp_secret_arn" {
  description = "Secret that holds the SMTP credentials as {\"username\", \"password\"} (put its value after the first apply)."
  value       = aws_secretsmanager_secret.smtp.arn
}

output "alarm_topic_arn" {
  description = "SNS topic of the alarms and failed-job events."
  value       = aws_sns_topic.alarms.arn
}

output "job_log_group_name" {
  description = "CloudWatch Logs group of the jobs (one stream per job, prefixed by the pipeline name)."
  value       = aws_cloudwatch_log_group.jobs.name
}

output "kms_key_arn" {
  description = "Key that encrypts the private buckets, queues, logs, secrets and alarm topic; grant kms:Decrypt on it to readers of the archive."
  value       = aws_kms_key.this.arn
}

output "job_role_arn" {
  description = "Role of the running jobs."
  value       = aws_iam_role.job.arn
}
