//! The one place that builds the AWS SDK configuration and clients from the environment: one
//! `SdkConfig` per process, the default credential chain, `AWS_ENDPOINT_URL` for S3-compatible
//! servers, the retry policy every S3 and SQS call shares, and the one classifier of their
//! errors ([`errors`]).

pub mod errors;

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::stalled_stream_protection::StalledStreamProtectionConfig;
use aws_config::timeout::TimeoutConfig;

use crate::deadline::Timeouts;
use crate::error::JobError;

/// How many times an S3 or SQS request is tried in all (throttling, 5xx, timeouts and dropped
/// connections are retried with exponential backoff and jitter), unless `AWS_MAX_ATTEMPTS` says.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 4;

/// Overrides of the SDK's retry policy (tests shorten the backoff).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub initial_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            initial_backoff: Duration::from_secs(1),
        }
    }
}

/// The AWS clients of one process, built once and shared by every store, queue and sink.
#[derive(Debug, Clone)]
pub struct Aws {
    /// Path-style when an endpoint URL is set.
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    /// The region requests are signed for (events name it in `awsRegion`).
    pub region: String,
}

impl Aws {
    /// Loads the SDK configuration from the environment (credentials, region, `AWS_ENDPOINT_URL`,
    /// `AWS_MAX_ATTEMPTS`…) and builds the clients, every request bounded by `timeouts`. Nothing
    /// is sent until the first request.
    pub async fn from_env(timeouts: &Timeouts) -> Result<Aws, JobError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .timeout_config(timeout_config(timeouts))
            .stalled_stream_protection(stalled_stream_protection(timeouts));
        // An operator's AWS_MAX_ATTEMPTS / AWS_RETRY_MODE win over our default.
        let env_sets_retries = ["AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE"]
            .iter()
            .any(|v| std::env::var_os(v).is_some());
        if !env_sets_retries {
            loader = loader.retry_config(retry_config(RetryPolicy::default()));
        }
        let config = loader.load().await;
        Aws::from_config(&config)
    }

    /// Builds the clients from an SDK configuration: path-style S3 addressing whenever an
    /// endpoint URL is set, since S3-compatible servers rarely serve bucket subdomains.
    pub fn from_config(config: &aws_config::SdkConfig) -> Result<Aws, JobError> {
        let region = config.region().map(|r| r.to_string()).ok_or_else(|| {
            JobError::usage(
                "no AWS region is configured: set AWS_REGION (e.g. AWS_REGION=ap-southeast-2)",
            )
        })?;
        let custom_s3_endpoint =
            config.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
        let s3_config = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(custom_s3_endpoint)
            .build();
        Ok(Aws {
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            sqs: aws_sdk_sqs::Client::new(config),
            region,
        })
    }
}

/// Every S3 and SQS call's limits: connecting, the first byte of a response, each attempt, and the
/// whole call with its retries, so a stalled server ends the call instead of holding the job.
pub fn timeout_config(t: &Timeouts) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(t.connect)
        .read_timeout(t.request)
        .operation_attempt_timeout(t.request)
        .operation_timeout(t.call())
        .build()
}

/// An upload or download body that moves no data for the idle limit fails as stalled (the SDK's
/// stalled-stream protection, on in both directions), since a streamed body outlives the
/// request's own time limits.
pub fn stalled_stream_protection(t: &Timeouts) -> StalledStreamProtectionConfig {
    StalledStreamProtectionConfig::enabled()
        .upload_enabled(true)
        .download_enabled(true)
        .grace_period(t.idle)
        .build()
}

/// The SDK's standard retry mode with our attempts and backoff.
pub fn retry_config(policy: RetryPolicy) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(policy.max_attempts)
        .with_initial_backoff(policy.initial_backoff)
        .with_max_backoff(Duration::from_secs(20))
}

/// Whether a failed request failed for want of credentials, and if so whether a retry may help:
/// `Some(false)` when no credential source is configured at all (fix the deployment),
/// `Some(true)` when a source is configured but did not answer in time or failed.
pub fn credentials_failure(err: &(dyn std::error::Error + 'static)) -> Option<bool> {
    use aws_credential_types::provider::error::CredentialsError;
    let mut cause = Some(err);
    while let Some(e) = cause {
        if let Some(c) = e.downcast_ref::<CredentialsError>() {
            return Some(!matches!(
                c,
                CredentialsError::CredentialsNotLoaded(_)
                    | CredentialsError::InvalidConfiguration(_)
            ));
        }
        cause = e.source();
    }
    None
}
