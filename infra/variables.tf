variable "name" {
  description = "Name of this deployment; prefixes every resource it creates (buckets, queues, Batch objects, roles)."
  type        = string
  default     = "ocean-ingest"

  validation {
    condition     = length(regexall("^[a-z][a-z0-9-]{0,23}$", var.name)) > 0
    error_message = "name must be 1-24 characters of lower-case letters, digits and '-', starting with a letter."
  }
}

variable "tags" {
  description = "Tags added to every resource that supports them."
  type        = map(string)
  default     = {}
}

variable "bucket_name_prefix" {
  description = "Prefix of the four bucket names (incoming, archive, public, error are appended). Null means \"<name>-<account id>-\", which is globally unique."
  type        = string
  default     = null
}

variable "pipelines" {
  description = <<-EOT
    Upload streams by name. Each owns one key prefix (folder) of the incoming bucket and gets its
    own SQS queue, dead-letter queue, EventBridge Pipe, Batch job queue, Fargate compute
    environment and job definition, so a burst of uploads in one folder never delays another.
    Inside the job, the pipeline file routes each key to its [[pipeline]]; naming a stream after
    the pipeline its folder feeds keeps the two readable.
      key_prefix                 - incoming key prefix this stream owns, ending in "/"; letters,
                                   digits, '.', '_', '-' and '/' only (S3 events URL-encode keys,
                                   and these characters read the same either way)
      vcpu, memory               - Fargate size of one job (vCPU; MiB), one of Fargate's pairs
      ephemeral_storage_gib      - Fargate ephemeral storage for the work folder (21-200 GiB)
      largest_file_mib           - the largest upload the stream expects; sizes the attempt timeout
      timeout_seconds            - attempt timeout; null derives it from largest_file_mib (see
                                   job_base_seconds). Batch never retries a job it stopped for
                                   its timeout, so err on the long side
      max_vcpus                  - vCPUs the stream's jobs may use at once (its compute environment)
      max_receive_count          - deliveries of one message before it moves to the dead-letter queue
      visibility_timeout_seconds - SQS visibility timeout of the stream's queue
      message_retention_seconds  - how long an unprocessed event waits on the queue
  EOT
  type = map(object({
    key_prefix                 = string
    vcpu                       = optional(number, 1)
    memory                     = optional(number, 2048)
    ephemeral_storage_gib      = optional(number, 21)
    largest_file_mib           = optional(number, 1024)
    timeout_seconds            = optional(number)
    max_vcpus                  = optional(number, 4)
    max_receive_count          = optional(number, 5)
    visibility_timeout_seconds = optional(number, 120)
    message_retention_seconds  = optional(number, 345600)
  }))

  validation {
    # Each stream is a job queue and a compute environment: AWS allows 50 of each per region.
    condition     = length(var.pipelines) > 0 && length(var.pipelines) <= 50
    error_message = "Between 1 and 50 streams: each has its own Batch job queue and compute environment, and AWS allows 50 of each per account and region."
  }

  validation {
    condition     = alltrue([for name, p in var.pipelines : length(regexall("^[a-z0-9_-]{1,32}$", name)) > 0])
    error_message = "Stream names must be 1-32 characters of lower-case letters, digits, '_' and '-'."
  }

  validation {
    condition     = alltrue([for name, p in var.pipelines : length(regexall("^([A-Za-z0-9._-]+/)+$", p.key_prefix)) > 0])
    error_message = "Every key_prefix must be a folder such as \"ANMN/NRS/\": segments of letters, digits, '.', '_' and '-', each ending in '/', not starting with one."
  }

  validation {
    # S3 rejects notification rules whose prefixes overlap, and an upload must route to one stream.
    condition = alltrue(flatten([
      for a, pa in var.pipelines : [
        for b, pb in var.pipelines : a == b || !startswith(pb.key_prefix, pa.key_prefix)
      ]
    ]))
    error_message = "Stream key prefixes must not overlap: no key_prefix may start with another stream's key_prefix."
  }

  validation {
    # Fargate's task sizes: each vCPU size allows only these memory sizes (MiB).
    condition = alltrue([
      for name, p in var.pipelines : contains(lookup({
        "0.25" = [512, 1024, 2048]
        "0.5"  = range(1024, 4097, 1024)
        "1"    = range(2048, 8193, 1024)
        "2"    = range(4096, 16385, 1024)
        "4"    = range(8192, 30721, 1024)
        "8"    = range(16384, 61441, 4096)
        "16"   = range(32768, 122881, 8192)
      }, tostring(p.vcpu), []), p.memory)
    ])
    error_message = "vcpu and memory must be a Fargate size: 0.25 vCPU with 512, 1024 or 2048 MiB; 0.5 with 1024-4096 in steps of 1024; 1 with 2048-8192 (1024); 2 with 4096-16384 (1024); 4 with 8192-30720 (1024); 8 with 16384-61440 (4096); 16 with 32768-122880 (8192)."
  }

  validation {
    condition     = alltrue([for name, p in var.pipelines : p.ephemeral_storage_gib >= 21 && p.ephemeral_storage_gib <= 200 && floor(p.ephemeral_storage_gib) == p.ephemeral_storage_gib])
    error_message = "ephemeral_storage_gib must be a whole number from 21 to 200 (Fargate's range)."
  }

  validation {
    condition     = alltrue([for name, p in var.pipelines : p.largest_file_mib > 0])
    error_message = "largest_file_mib must be positive."
  }

  validation {
    condition     = alltrue([for name, p in var.pipelines : p.timeout_seconds == null || try(p.timeout_seconds >= 60 && floor(p.timeout_seconds) == p.timeout_seconds, false)])
    error_message = "timeout_seconds must be a whole number of at least 60 (Batch's minimum attempt duration), or null to derive it from largest_file_mib."
  }

  validation {
    # A job larger than its compute environment would wait in RUNNABLE for ever.
    condition     = alltrue([for name, p in var.pipelines : p.max_vcpus >= p.vcpu && floor(p.max_vcpus) == p.max_vcpus])
    error_message = "max_vcpus must be a whole number at least the stream's vcpu, or its jobs could never start."
  }

  validation {
    condition     = alltrue([for name, p in var.pipelines : p.max_receive_count >= 1 && p.max_receive_count <= 1000])
    error_message = "max_receive_count must be between 1 and 1000."
  }

  validation {
    condition     = alltrue([for name, p in var.pipelines : p.visibility_timeout_seconds >= 0 && p.visibility_timeout_seconds <= 43200])
    error_message = "visibility_timeout_seconds must be between 0 and 43200 (SQS's range)."
  }

  validation {
    condition     = alltrue([for name, p in var.pipelines : p.message_retention_seconds >= 60 && p.message_retention_seconds <= 1209600])
    error_message = "message_retention_seconds must be between 60 and 1209600 (SQS's range)."
  }
}

variable "job_base_seconds" {
  description = "Part of a derived attempt timeout that does not depend on the upload's size: start-up, database, notifications, plots."
  type        = number
  default     = 300

  validation {
    condition     = var.job_base_seconds >= 60
    error_message = "job_base_seconds must be at least 60 (Batch's minimum attempt duration)."
  }
}

variable "job_seconds_per_mib" {
  description = "Part of a derived attempt timeout per MiB of the stream's largest_file_mib. The job reads and writes an upload about five times (download, hash, check, archive, publish); 0.25 s/MiB allows about 20 MiB/s for each."
  type        = number
  default     = 0.25

  validation {
    condition     = var.job_seconds_per_mib > 0
    error_message = "job_seconds_per_mib must be positive."
  }
}

variable "pipelines_file" {
  description = <<-EOT
    The pipeline file every job reads (INGEST_PIPELINES); the image carries none. Either an
    absolute path inside the image, the operator's file added to the released image
    (docs/DEPLOY.md, "The pipeline file"), or s3://bucket/key of an object the jobs fetch and
    validate at start. s3:// needs an ocean-ingest release that reads pipeline files from S3: an
    older binary treats the value as a missing path and every job exits 2.
  EOT
  type        = string

  validation {
    condition     = length(regexall("^(/[^/]+)+$", var.pipelines_file)) > 0 || length(regexall("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+[^/]$", var.pipelines_file)) > 0
    error_message = "pipelines_file must be an absolute path in the image (e.g. /etc/ocean-ingest/pipelines.toml) or s3://bucket/key of one object."
  }
}

variable "pipelines_file_kms_key_arn" {
  description = "KMS key that encrypts an s3:// pipelines_file, if it is not in a bucket with S3-managed keys: the job role may decrypt with it through S3."
  type        = string
  default     = null
}

variable "allow_catch_all_pipeline" {
  description = "Lets the pipeline file contain a pipeline that claims every key (a catch-all route). Passed to the jobs as INGEST_PIPELINES_ALLOW_CATCH_ALL=true; ocean-ingest releases that check pipeline files at job start refuse a catch-all route without it (docs/DEPLOY.md)."
  type        = bool
  default     = false
}

variable "image_tag" {
  description = "Tag of the ocean-ingest image in this module's ECR repository that the job definitions run (tags are immutable; use the release version or git SHA)."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the Batch compute environment."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets for the Fargate jobs. They need a route to S3, SQS, ECR, CloudWatch Logs and Secrets Manager (NAT gateway or VPC endpoints) and to the database and SMTP relay."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) > 0
    error_message = "At least one subnet is required."
  }
}

variable "database_cidr_blocks" {
  description = "CIDR blocks of the PostgreSQL index (RDS) the jobs may connect to."
  type        = list(string)
}

variable "database_port" {
  description = "TCP port of the PostgreSQL index."
  type        = number
  default     = 5432
}

variable "smtp_url" {
  description = "Notification relay as INGEST_NOTIFY_URL, e.g. \"smtp://email-smtp.ap-southeast-2.amazonaws.com:587\" (STARTTLS) or \"smtps://host:465\". Credentials go in the SMTP secret, never here."
  type        = string

  validation {
    condition     = length(regexall("^smtps?://[^/@]+:[0-9]+$", var.smtp_url)) > 0
    error_message = "smtp_url must look like smtp://host:port or smtps://host:port, without credentials."
  }
}

variable "smtp_cidr_blocks" {
  description = "CIDR blocks the jobs may reach the SMTP relay in."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "notify_from" {
  description = "Sender address of the notification emails (INGEST_NOTIFY_FROM)."
  type        = string
}

variable "ops_email_addresses" {
  description = "Data-team addresses told about every failure that is not the provider's (INGEST_OPS_EMAIL)."
  type        = list(string)
  default     = []
}

variable "extra_environment" {
  description = "Additional environment variables of every job, e.g. { RUST_LOG = \"ocean_ingest=debug\" }. They cannot replace the INGEST_* settings this module derives."
  type        = map(string)
  default     = {}
}

variable "use_fargate_spot" {
  description = "Run jobs on Fargate Spot. Interrupted jobs are retried (platform failure), and every step is idempotent."
  type        = bool
  default     = false
}

variable "retry_attempts" {
  description = "Attempts of one job: exit code 75 (transient) and platform failures are retried up to this many times in all. Batch retries at once, without backoff, and never retries an attempt it stopped for its timeout."
  type        = number
  default     = 3

  validation {
    condition     = var.retry_attempts >= 1 && var.retry_attempts <= 10
    error_message = "retry_attempts must be between 1 and 10 (Batch's limit)."
  }
}

variable "log_retention_days" {
  description = "Retention of the job and pipe logs in CloudWatch Logs, in days; 0 keeps them for ever."
  type        = number
  default     = 365

  validation {
    condition     = contains([0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs offers: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653, or 0 for ever."
  }
}

variable "pipe_log_level" {
  description = "What the pipes log to CloudWatch Logs: ERROR (failed SubmitJob calls and other failures), INFO or TRACE. Pipe logs are never off: a job that could not be submitted must leave a trace."
  type        = string
  default     = "ERROR"

  validation {
    condition     = contains(["ERROR", "INFO", "TRACE"], var.pipe_log_level)
    error_message = "pipe_log_level must be ERROR, INFO or TRACE."
  }
}

variable "incoming_noncurrent_version_days" {
  description = "Days a deleted or overwritten incoming object stays recoverable as a noncurrent version."
  type        = number
  default     = 30
}

variable "error_retention_days" {
  description = "Days an input in the error store and a job report are kept. Null keeps them forever."
  type        = number
  default     = 730
}

variable "public_noncurrent_version_days" {
  description = "Days superseded or deleted public files stay recoverable as noncurrent versions."
  type        = number
  default     = 90
}

variable "alarm_email_addresses" {
  description = "Addresses subscribed to the alarm topic (dead-letter queues, failed jobs). Each must confirm by email."
  type        = list(string)
  default     = []
}
