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
