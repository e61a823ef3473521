//! The name of every setting's environment variable, written once: the settings read them, and
//! messages that tell a user which setting to fix name them from here.

pub const HOME: &str = "INGEST_HOME";
pub const PIPELINES: &str = "INGEST_PIPELINES";
pub const PIPELINES_ALLOW_CATCH_ALL: &str = "INGEST_PIPELINES_ALLOW_CATCH_ALL";
pub const INCOMING_URL: &str = "INGEST_INCOMING_URL";
pub const ARCHIVE_URL: &str = "INGEST_ARCHIVE_URL";
pub const PUBLIC_URL: &str = "INGEST_PUBLIC_URL";
pub const ERROR_URL: &str = "INGEST_ERROR_URL";
pub const REPORTS_URL: &str = "INGEST_REPORTS_URL";
pub const INDEX_URL: &str = "INGEST_INDEX_URL";
pub const NOTIFY_URL: &str = "INGEST_NOTIFY_URL";
pub const NOTIFY_FROM: &str = "INGEST_NOTIFY_FROM";
pub const SMTP_USERNAME: &str = "INGEST_SMTP_USERNAME";
pub const SMTP_PASSWORD: &str = "INGEST_SMTP_PASSWORD";
pub const SMTP_TIMEOUT_SECONDS: &str = "INGEST_SMTP_TIMEOUT_SECONDS";
pub const OPS_EMAIL: &str = "INGEST_OPS_EMAIL";
pub const WORK_DIR: &str = "INGEST_WORK_DIR";
pub const WORK_MAX_BYTES: &str = "INGEST_WORK_MAX_BYTES";
pub const MAX_FILE_VALUES: &str = "INGEST_MAX_FILE_VALUES";
pub const LEASE_SECONDS: &str = "INGEST_LEASE_SECONDS";
pub const CONNECT_TIMEOUT_SECONDS: &str = "INGEST_CONNECT_TIMEOUT_SECONDS";
pub const REQUEST_TIMEOUT_SECONDS: &str = "INGEST_REQUEST_TIMEOUT_SECONDS";
pub const IDLE_TIMEOUT_SECONDS: &str = "INGEST_IDLE_TIMEOUT_SECONDS";
pub const JOB_DEADLINE_SECONDS: &str = "INGEST_JOB_DEADLINE_SECONDS";
pub const LOG_FORMAT: &str = "INGEST_LOG_FORMAT";
pub const SOURCE_KEY_ENCODING: &str = "INGEST_SOURCE_KEY_ENCODING";
pub const RESULTS_QUEUE_URL: &str = "INGEST_RESULTS_QUEUE_URL";
pub const MAX_ATTEMPTS: &str = "INGEST_MAX_ATTEMPTS";
pub const DASHBOARD: &str = "INGEST_DASHBOARD";
pub const RETRY_BACKOFF_SECONDS: &str = "INGEST_RETRY_BACKOFF_SECONDS";
/// Set by AWS Batch itself: which attempt of the job this is (1 for the first).
pub const BATCH_JOB_ATTEMPT: &str = "AWS_BATCH_JOB_ATTEMPT";
pub const S3_MULTIPART_THRESHOLD: &str = "INGEST_S3_MULTIPART_THRESHOLD";
pub const S3_PART_SIZE: &str = "INGEST_S3_PART_SIZE";

/// The variables that can carry a credential: a password in a URL (`postgres://u:p@…`,
/// `smtp://u:p@…`) or SMTP credentials (SES SMTP user names are access key ids). `--help` never
/// shows their values, and a test holds every setting that reads one of them to that.
pub const SECRETS: &[&str] = &[INDEX_URL, NOTIFY_URL, SMTP_USERNAME, SMTP_PASSWORD];
