# What the module refuses before anything is planned: impossible Fargate sizes, timeouts Batch
# would reject, retentions CloudWatch Logs does not offer, prefixes that overlap or are not
# folders, a pipeline file that is neither a path nor one S3 object. Plans only, with a mocked
# provider (nothing is created).

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "111122223333" }
  }
  mock_data "aws_region" {
    defaults = { name = "ap-southeast-2" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

variables {
  image_tag            = "0.1.0"
  vpc_id               = "vpc-0abc"
  subnet_ids           = ["subnet-0a"]
  database_cidr_blocks = ["10.0.32.0/20"]
  smtp_url             = "smtp://email-smtp.ap-southeast-2.amazonaws.com:587"
  notify_from          = "ingest@example.org"
  pipelines_file       = "/etc/ocean-ingest/pipelines.toml"
  pipelines = {
    anmn_nrs = { key_prefix = "ANMN/NRS/" }
  }
}

run "a_valid_configuration_plans" {
  command = plan

  variables {
    log_retention_days = 0
    pipelines = {
      anmn_nrs      = { key_prefix = "ANMN/NRS/" }
      anmn_ts       = { key_prefix = "ANMN/TS/", vcpu = 0.25, memory = 512, timeout_seconds = 60 }
      srs_altimetry = { key_prefix = "SRS/ALTIMETRY/", vcpu = 16, memory = 122880, max_vcpus = 16, ephemeral_storage_gib = 200 }
    }
  }

  assert {
    condition     = length(aws_batch_job_definition.pipeline) == 3
    error_message = "A valid configuration must plan one job definition per stream."
  }
}

run "fargate_rejects_one_vcpu_with_one_gib" {
  command = plan

  variables {
    pipelines = { anmn_nrs = { key_prefix = "ANMN/NRS/", vcpu = 1, memory = 1024 } }
  }

  expect_failures = [var.pipelines]
}

run "fargate_has_no_three_vcpu_size" {
  command = plan

  variables {
    pipelines = { anmn_nrs = { key_prefix = "ANMN/NRS/", vcpu = 3, memory = 8192 } }
  }

  expect_failures = [var.pipelines]
}

run "eight_vcpu_memory_goes_in_four_gib_steps" {
  command = plan

  variables {
    pipelines = { anmn_nrs = { key_prefix = "ANMN/NRS/", vcpu = 8, memory = 17408, max_vcpus = 8 } }
  }

  expect_failures = [var.pipelines]
}

run "a_timeout_under_batchs_minimum_is_refused" {
  command = plan

  variables {
    pipelines = { anmn_nrs = { key_prefix = "ANMN/NRS/", timeout_seconds = 59 } }
  }

  expect_failures = [var.pipelines]
}

run "a_base_time_under_batchs_minimum_is_refused" {
  command = plan

  variables {
    job_base_seconds = 30
  }

  expect_failures = [var.job_base_seconds]
}

run "log_retention_must_be_one_cloudwatch_offers" {
  command = plan

  variables {
    log_retention_days = 10
  }

  expect_failures = [var.log_retention_days]
}

run "pipe_logs_cannot_be_turned_off" {
  command = plan

  variables {
    pipe_log_level = "OFF"
  }

  expect_failures = [var.pipe_log_level]
}

run "overlapping_prefixes_are_refused" {
  # ANMN/ would also own every ANMN/NRS/ upload, and S3 refuses overlapping notification rules.
  command = plan

  variables {
    pipelines = {
      anmn     = { key_prefix = "ANMN/" }
      anmn_nrs = { key_prefix = "ANMN/NRS/" }
    }
  }

  expect_failures = [var.pipelines]
}

run "a_prefix_must_be_a_folder" {
  command = plan

  variables {
    pipelines = { abos = { key_prefix = "ABOS" } }
  }

  expect_failures = [var.pipelines]
}

run "a_prefix_must_read_the_same_url_encoded" {
  # S3 events URL-encode keys ("+" for a space): a prefix with a space would never match them.
  command = plan

  variables {
    pipelines = { soop = { key_prefix = "SOOP/Fish SOOP/" } }
  }

  expect_failures = [var.pipelines]
}

run "a_stream_larger_than_its_compute_environment_is_refused" {
  command = plan

  variables {
    pipelines = { srs = { key_prefix = "SRS/", vcpu = 4, memory = 8192, max_vcpus = 2 } }
  }

  expect_failures = [var.pipelines]
}

run "storage_outside_fargates_range_is_refused" {
  command = plan

  variables {
    pipelines = { srs = { key_prefix = "SRS/", ephemeral_storage_gib = 20 } }
  }

  expect_failures = [var.pipelines]
}

run "the_pipeline_file_is_a_path_or_one_s3_object" {
  command = plan

  variables {
    pipelines_file = "pipelines.toml"
  }

  expect_failures = [var.pipelines_file]
}

run "an_s3_folder_is_not_a_pipeline_file" {
  command = plan

  variables {
    pipelines_file = "s3://ops-config-bucket/ocean-ingest/"
  }

  expect_failures = [var.pipelines_file]
}
