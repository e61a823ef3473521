# Secrets the jobs receive as environment variables (the Batch execution role reads them at task
# start; the job's own role cannot). Terraform creates the containers only: put the values with
# `aws secretsmanager put-secret-value` (see docs/DEPLOY.md) so they never enter the state file.

resource "aws_secretsmanager_secret" "index_url" {
  #checkov:skip=CKV2_AWS_57:The value is a postgres:// URL assembled from the database credential; rotate the database password and put the new URL (docs/DEPLOY.md), there is no rotation Lambda for a URL.
  name                    = "${var.name}/index-url"
  description             = "INGEST_INDEX_URL of ocean-ingest: postgres://user:password@host:5432/db?sslmode=verify-full&sslrootcert=${local.database_ca_bundle}"
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = 7
  tags                    = local.tags
}

resource "aws_secretsmanager_secret" "smtp" {
  #checkov:skip=CKV2_AWS_57:SMTP relay credentials (e.g. SES SMTP) are issued by the relay; rotate them there and put the new pair (docs/DEPLOY.md).
  name                    = "${var.name}/smtp"
  description             = "SMTP credentials of ocean-ingest notifications: {\"username\": \"...\", \"password\": \"...\"}"
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = 7
  tags                    = local.tags
}
