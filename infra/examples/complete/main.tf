# A complete deployment: three facilities' pipelines, SES SMTP notifications, alarms by email.
#
#   terraform init && terraform apply -var image_tag=0.1.0 -var vpc_id=vpc-... \
#     -var 'subnet_ids=["subnet-...","subnet-..."]' -var 'database_cidr_blocks=["10.0.32.0/20"]'
#
# then push the image and put the two secrets (docs/DEPLOY.md).

provider "aws" {
  region = var.region

  default_tags {
    tags = { "owner" = "data-services" }
  }
}

module "ocean_ingest" {
  source = "../.."

  name      = "ocean-ingest"
  image_tag = var.image_tag

  vpc_id               = var.vpc_id
  subnet_ids           = var.subnet_ids
  database_cidr_blocks = var.database_cidr_blocks

  smtp_url              = "smtp://email-smtp.${var.region}.amazonaws.com:587"
  notify_from           = "ingest@example.org"
  alarm_email_addresses = var.alarm_email_addresses

  # The operator's pipeline file, added to the released image (docs/DEPLOY.md).
  pipelines_file = "/etc/ocean-ingest/pipelines.toml"

  # One stream per facility folder of the incoming bucket. The pipeline file then routes each key
  # to its pipeline. Each stream has its own job queue and Fargate compute environment.
  pipelines = {
    anmn_nrs = {
      key_prefix = "ANMN/NRS/"
    }
    srs_altimetry = {
      # Gridded altimetry: files up to 4 GiB. The attempt timeout follows from the size
      # (300 s + 4096 MiB x 0.25 s/MiB = 1324 s); the default 21 GiB of storage holds it.
      key_prefix       = "SRS/ALTIMETRY/"
      vcpu             = 2
      memory           = 8192
      largest_file_mib = 4096
      max_vcpus        = 8
    }
    acorn = {
      # Radar files arrive every hour from every site: small and many.
      key_prefix        = "ACORN/"
      vcpu              = 0.5
      memory            = 1024
      largest_file_mib  = 64
      max_receive_count = 3
    }
    soop_fishsoop = {
      key_prefix      = "SOOP/FishSOOP/"
      timeout_seconds = 1800
    }
  }

  ops_email_addresses = ["data-team@example.org"]

  extra_environment = {
    RUST_LOG = "ocean_ingest=info"
  }

  tags = { "environment" = "production" }
}
