variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "ap-southeast-2"
}

variable "image_tag" {
  description = "Tag of the ocean-ingest image pushed to the module's ECR repository."
  type        = string
}

variable "vpc_id" {
  description = "VPC with private subnets that reach the AWS APIs (NAT or VPC endpoints)."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the Fargate jobs."
  type        = list(string)
}

variable "database_cidr_blocks" {
  description = "CIDR blocks of the PostgreSQL index."
  type        = list(string)
}

variable "alarm_email_addresses" {
  description = "Who receives the alarms."
  type        = list(string)
  default     = []
}
