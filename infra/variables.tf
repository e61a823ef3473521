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
    own SQS queue, dead-letter queue, EventBridge Pipe and Batch job definition, so a burst of
    uploads in one folder never delays another. Inside the job, pipelines.toml routes each key to
    its [[pipeline]]; naming a stream after the pipeline its folder feeds keeps the two readable.
      key_prefix                 - incoming key prefix this pipeline owns, ending in "/"
      vcpu, memory               - Fargate size of one job (vCPU; MiB)
      ephemeral_storage_gib      - Fargate ephemeral storage for /tmp (21-200 GiB)
      timeout_seconds            - a job attempt is stopped after this long
      max_receive_count          - deliveries of one message before it moves to the dead-letter queue
      visibility_timeout_seconds - SQS visibility timeout of the pipeline queue
      message_retention_seconds  - how long an unprocessed event waits on the queue
  EOT
  type = map(object({
    key_prefix                 = string
    vcpu                       = optional(number, 1)
    memory                     = optional(number, 2048)
    ephemeral_storage_gib      = optional(number, 21)
    timeout_seconds            = optional(number, 3600)
    max_receive_count          = optional(number, 5)
    visibility_timeout_seconds = optional(number, 120)
    message_retention_seconds  = optional(number, 345600)
  }))

  validation {
    condition     = length(var.pipelines) > 0
    error_message = "At least one pipeline is required."
  }

  validation {
    condition     = alltrue([for name, p in var.pipelines : length(regexall("^[a-z0-9_-]{1,32}$", name)) > 0])
    error_message = "Pipeline names must be 1-32 characters of lower-case letters, digits, '_' and '-'."
  }

  validation {
    condition     = alltrue([for name, p in var.pipelines : length(p.key_prefix) > 1 && endswith(p.key_prefix, "/") && !startswith(p.key_prefix, "/")])
    error_message = "Every key_prefix must be a non-empty folder such as \"ANMN/NRS/\": it ends with '/' and does not start with one."
  }

  validation {
    # S3 rejects notification rules whose prefixes overlap, and an upload must route to one pipeline.
    condition = alltrue(flatten([
      for a, pa in var.pipelines : [
        for b, pb in var.pipelines : a == b || !startswith(pb.key_prefix, pa.key_prefix)
      ]
    ]))
    error_message = "Pipeline key prefixes must not overlap: no key_prefix may start with another pipeline's key_prefix."
  }

  validation {
    condition     = alltrue([for name, p in var.pipelines : contains([0.25, 0.5, 1, 2, 4, 8, 16], p.vcpu)])
    error_message = "vcpu must be a Fargate size: 0.25, 0.5, 1, 2, 4, 8 or 16."
  }

  validation {
    condition     = alltrue([for name, p in var.pipelines : p.memory >= 512 && p.memory <= 122880])
    error_message = "memory must be between 512 and 122880 MiB (and a valid Fargate combination with vcpu)."
  }

  validation {
    condition     = alltrue([for name, p in var.pipelines : p.ephemeral_storage_gib >= 21 && p.ephemeral_storage_gib <= 200])
    error_message = "ephemeral_storage_gib must be between 21 and 200."
  }

  validation {
    condition     = alltrue([for name, p in var.pipelines : p.max_receive_count >= 1 && p.max_receive_count <= 1000])
    error_message = "max_receive_count must be between 1 and 1000."
  }
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

variable "pipelines_config_path" {
  description = "Path of pipelines.toml inside the image (INGEST_PIPELINES)."
  type        = string
  default     = "/etc/ocean-ingest/pipelines.toml"
}

variable "extra_environment" {
  description = "Additional environment variables of every job, e.g. { RUST_LOG = \"ocean_ingest=debug\" }. They cannot replace the INGEST_* settings this module derives."
  type        = map(string)
  default     = {}
}

variable "max_vcpus" {
  description = "Upper bound of vCPUs the Fargate compute environment runs at once, across all pipelines."
  type        = number
  default     = 16
}

variable "use_fargate_spot" {
  description = "Run jobs on Fargate Spot. Interrupted jobs are retried (platform failure), and every step is idempotent."
  type        = bool
  default     = false
}

variable "retry_attempts" {
  description = "Attempts of one job: exit code 75 (transient) and platform failures are retried up to this many times in all."
  type        = number
  default     = 3

  validation {
    condition     = var.retry_attempts >= 1 && var.retry_attempts <= 10
    error_message = "retry_attempts must be between 1 and 10 (Batch's limit)."
  }
}

variable "log_retention_days" {
  description = "Retention of the job logs in CloudWatch Logs."
  type        = number
  default     = 365
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
