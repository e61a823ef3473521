# Storage: incoming (uploads), archive (every accepted original), public (published files, read by
# anyone), error (rejected inputs under errors/, job reports under reports/).
# All are versioned: the job undoes a failed publish by deleting the version it wrote, and an
# overwritten or deleted object stays recoverable.

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:Object-level audit comes from CloudTrail data events, configured for the whole account rather than per bucket.
  #checkov:skip=CKV_AWS_144:Cross-region replication is a disaster-recovery choice of the account owner; the archive is already the copy of record of every accepted upload.
  #checkov:skip=CKV2_AWS_62:Only incoming feeds the pipeline (see queues.tf); events from archive, public and error would have no consumer.
  for_each = local.buckets

  bucket = each.value
  tags   = merge(local.tags, { "store" = each.key })
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "private" {
  for_each = local.private_buckets

  bucket = aws_s3_bucket.this[each.key].id

  rule {
    bucket_key_enabled = true

    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.this.arn
    }
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "public" {
  bucket = aws_s3_bucket.this["public"].id

  rule {
    # Anonymous readers cannot use a KMS key, so published files use S3-managed keys.
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_public_access_block" "private" {
  for_each = local.private_buckets

  bucket                  = aws_s3_bucket.this[each.key].id
  block_public_acls       = true
  ignore_public_acls      = true
  block_public_policy     = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_public_access_block" "public" {
  #checkov:skip=CKV_AWS_54:The public bucket exists to publish data: its bucket policy grants anonymous read of objects, so public policies cannot be blocked.
  #checkov:skip=CKV_AWS_56:As CKV_AWS_54: restricting public buckets would cancel the anonymous read the public store is for.
  bucket                  = aws_s3_bucket.this["public"].id
  block_public_acls       = true
  ignore_public_acls      = true
  block_public_policy     = false
  restrict_public_buckets = false
}

data "aws_iam_policy_document" "bucket" {
  for_each = local.buckets

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.this[each.key].arn, "${aws_s3_bucket.this[each.key].arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  dynamic "statement" {
    for_each = each.key == "public" ? { public = aws_s3_bucket.this[each.key].arn } : {}

    content {
      sid       = "AnonymousReadOfPublishedFiles"
      actions   = ["s3:GetObject"]
      resources = ["${statement.value}/*"]

      principals {
        type        = "*"
        identifiers = ["*"]
      }
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id
  policy = data.aws_iam_policy_document.bucket[each.key].json

  depends_on = [aws_s3_bucket_public_access_block.private, aws_s3_bucket_public_access_block.public]
}

locals {
  # Per store: days to keep noncurrent versions (null: forever), days before current objects move
  # to infrequent access and expire (null: never).
  bucket_lifecycle = {
    incoming = { noncurrent_days = var.incoming_noncurrent_version_days, infrequent_access_days = null, expire_days = null }
    archive  = { noncurrent_days = null, infrequent_access_days = 30, expire_days = null }
    public   = { noncurrent_days = var.public_noncurrent_version_days, infrequent_access_days = null, expire_days = null }
    error    = { noncurrent_days = 30, infrequent_access_days = 30, expire_days = var.error_retention_days }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  dynamic "rule" {
    for_each = local.bucket_lifecycle[each.key].noncurrent_days == null ? {} : { expire = local.bucket_lifecycle[each.key].noncurrent_days }

    content {
      id     = "expire-noncurrent-versions"
      status = "Enabled"

      filter {}

      noncurrent_version_expiration {
        noncurrent_days = rule.value
      }
    }
  }

  dynamic "rule" {
    for_each = local.bucket_lifecycle[each.key].infrequent_access_days == null ? {} : { transition = local.bucket_lifecycle[each.key].infrequent_access_days }

    content {
      id     = "infrequent-access"
      status = "Enabled"

      filter {}

      transition {
        days          = rule.value
        storage_class = "STANDARD_IA"
      }
    }
  }

  dynamic "rule" {
    for_each = local.bucket_lifecycle[each.key].expire_days == null ? {} : { expire = local.bucket_lifecycle[each.key].expire_days }

    content {
      id     = "expire-current-objects"
      status = "Enabled"

      filter {}

      expiration {
        days = rule.value
      }
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}
