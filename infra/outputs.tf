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

output "pipeline_queue_arns" {
  description = "SQS queue ARN of each stream, for the policies of whoever replays uploads onto it."
  value       = { for name, queue in aws_sqs_queue.pipeline : name => queue.arn }
}

output "pipeline_dead_letter_queue_arns" {
  description = "Dead-letter queue ARN of each stream (`aws sqs start-message-move-task --source-arn`)."
  value       = { for name, queue in aws_sqs_queue.pipeline_dlq : name => queue.arn }
}

output "unrouted_queue_url" {
  description = "Queue holding the events of uploads outside every stream prefix (alarm <name>-unrouted-uploads)."
  value       = aws_sqs_queue.unrouted.url
}

output "unrouted_queue_arn" {
  description = "ARN of the unrouted-upload queue."
  value       = aws_sqs_queue.unrouted.arn
}

output "pipe_arns" {
  description = "EventBridge Pipe of each stream (its queue -> its job queue)."
  value       = { for name, pipe in aws_pipes_pipe.pipeline : name => pipe.arn }
}

output "pipe_role_arns" {
  description = "Role each stream's pipe runs as."
  value       = { for name, role in aws_iam_role.pipe : name => role.arn }
}

output "pipe_log_group_name" {
  description = "CloudWatch Logs group of the pipes: failed SubmitJob calls, with the message and Batch's answer."
  value       = aws_cloudwatch_log_group.pipes.name
}

output "job_queue_arns" {
  description = "Batch job queue of each stream (`aws batch submit-job --job-queue`)."
  value       = { for name, queue in aws_batch_job_queue.pipeline : name => queue.arn }
}

output "compute_environment_arns" {
  description = "Fargate compute environment of each stream."
  value       = { for name, environment in aws_batch_compute_environment.pipeline : name => environment.arn }
}

output "attempt_timeout_seconds" {
  description = "Attempt timeout of each stream's jobs, as derived from largest_file_mib or given (the job's own deadline, INGEST_JOB_DEADLINE_SECONDS, is 300 s less, or half of a short timeout)."
  value       = local.attempt_timeout_seconds
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
  description = "Role of the running jobs (grant it access to an s3:// pipelines_file in another account, for instance)."
  value       = aws_iam_role.job.arn
}

output "execution_role_arn" {
  description = "Role Fargate starts the jobs with (image pull, logs, secrets)."
  value       = aws_iam_role.execution.arn
}

output "job_security_group_id" {
  description = "Security group of the jobs: allow it in the database's security group."
  value       = aws_security_group.jobs.id
}

output "index_url_format" {
  description = "Form of the INGEST_INDEX_URL to put in the index-url secret: TLS verified against the RDS CA bundle the image carries."
  value       = "postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=verify-full&sslrootcert=${local.database_ca_bundle}"
}

output "dashboard_name" {
  description = "CloudWatch dashboard of the deployment: queue and dead-letter depths, Batch jobs by status, job outcomes per pipeline."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}

output "metrics_namespace" {
  description = "CloudWatch namespace of the metrics the log filters publish: JobOutcomes (Pipeline, Outcome) and BatchJobStates (JobQueue, Status)."
  value       = local.metrics_namespace
}
