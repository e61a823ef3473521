output "ecr_repository_url" {
  description = "Push the image here, tagged with var.image_tag."
  value       = module.ocean_ingest.ecr_repository_url
}

output "bucket_names" {
  description = "The four stores."
  value       = module.ocean_ingest.bucket_names
}

output "pipeline_queue_urls" {
  description = "Queue of each pipeline (for ocean-ingest replay)."
  value       = module.ocean_ingest.pipeline_queue_urls
}

output "index_url_secret_arn" {
  description = "Put INGEST_INDEX_URL here."
  value       = module.ocean_ingest.index_url_secret_arn
}

output "smtp_secret_arn" {
  description = "Put the SMTP credentials here."
  value       = module.ocean_ingest.smtp_secret_arn
}

output "pipeline_dead_letter_queue_arns" {
  description = "Dead-letter queue of each stream (redrive after fixing what stopped the pipe)."
  value       = module.ocean_ingest.pipeline_dead_letter_queue_arns
}

output "unrouted_queue_url" {
  description = "Events of uploads outside every stream prefix."
  value       = module.ocean_ingest.unrouted_queue_url
}

output "job_queue_arns" {
  description = "Batch job queue of each stream."
  value       = module.ocean_ingest.job_queue_arns
}

output "attempt_timeout_seconds" {
  description = "Attempt timeout of each stream's jobs."
  value       = module.ocean_ingest.attempt_timeout_seconds
}

output "index_url_format" {
  description = "Form of the URL to put in the index-url secret."
  value       = module.ocean_ingest.index_url_format
}
