//! Settings: where each boundary lives, parsed from flags and `INGEST_*` variables and validated
//! without I/O before anything is built. Each boundary's URL is parsed once, into that boundary's
//! own URL type; every default is written once, as a constant clap shows and `embedded` uses.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, FromArgMatches};

use crate::deadline::Timeouts;
use crate::index::IndexUrl;
use crate::location::UrlError;
use crate::logging::LogFormat;
use crate::notify::{NotifyUrl, SmtpSettings};
use crate::queue::QueueUrl;
use crate::secret::{Secret, redact_userinfo};
use crate::store::{Key, PART_SIZES, StoreUrl, Transfer};
use crate::vars;

/// The root of the embedded default.
pub const DEFAULT_HOME: &str = "./var";
/// The sender of notifications.
pub const DEFAULT_NOTIFY_FROM: &str = "ocean-ingest <noreply@localhost>";
/// The limit on one whole notification delivery (connecting, sending and its retries), in seconds.
pub const DEFAULT_SMTP_TIMEOUT_SECONDS: u64 = 30;
/// How long a job's claim on an upload holds without renewal, in seconds. A heartbeat renews it
/// while the job runs, so a killed job's claim lapses within this.
pub const DEFAULT_LEASE_SECONDS: u64 = 120;
/// The limit on connecting to S3, SQS or PostgreSQL, in seconds.
pub const DEFAULT_CONNECT_TIMEOUT_SECONDS: u64 = 10;
/// The limit on one attempt of one request to S3, SQS or PostgreSQL, in seconds.
pub const DEFAULT_REQUEST_TIMEOUT_SECONDS: u64 = 30;
/// How long an S3 transfer may move no data before it counts as stalled, in seconds.
pub const DEFAULT_IDLE_TIMEOUT_SECONDS: u64 = 20;
/// The whole job's deadline, in seconds: below the default Batch attempt timeout of an hour by
/// the few minutes a rollback and the report need.
pub const DEFAULT_JOB_DEADLINE_SECONDS: u64 = 3300;
/// The pipeline file read from the current folder when none is named.
pub const DEFAULT_PIPELINES_FILE: &str = "pipelines.toml";
/// The base of the wait before exiting 75 on an attempt Batch will retry, in seconds.
pub const DEFAULT_RETRY_BACKOFF_SECONDS: u64 = 60;
/// The heading the settings shared by every command appear under in `--help`, after the
/// command's own options.
pub const HELP_HEADING: &str = "Ingest settings";

/// Global settings shared by every subcommand. Each has a flag and an `INGEST_*` variable; every
/// URL defaults to a place under the home folder, so no settings at all gives a working local setup.
/// `--help` lists them under their own heading, after the command's own options, and never shows
/// the value of a variable that can carry a credential ([`vars::SECRETS`]).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = HELP_HEADING)]
pub struct SettingsArgs {
    /// Local root of the embedded default: every store, the index and the outbox live under it
    #[arg(long, env = vars::HOME, default_value = DEFAULT_HOME, global = true, value_name = "DIR")]
    pub home: PathBuf,

    /// Pipeline file: a path, or s3://bucket/key (fetched and validated at start) [default:
    /// ./pipelines.toml if present; else, only when every store, the index and the notifier are
    /// local, the example compiled in]
    #[arg(long, env = vars::PIPELINES, global = true, value_name = "FILE")]
    pub pipelines: Option<PathBuf>,

    /// Accept a pipeline whose keys pattern claims every key (a catch-all route, which would
    /// publish any upload no other pipeline claims); without it such a pipeline file is refused
    #[arg(long, env = vars::PIPELINES_ALLOW_CATCH_ALL, global = true)]
    pub allow_catch_all: bool,

    /// Incoming store: uploads arrive here and are removed once kept safe [default: <home>/incoming]
    #[arg(long, env = vars::INCOMING_URL, global = true, value_name = "URL")]
    pub incoming_url: Option<String>,

    /// Archive store: every accepted upload, and files published with an archive flag [default: <home>/archive]
    #[arg(long, env = vars::ARCHIVE_URL, global = true, value_name = "URL")]
    pub archive_url: Option<String>,

    /// Public store: the published files, at their destination paths [default: <home>/public]
    #[arg(long, env = vars::PUBLIC_URL, global = true, value_name = "URL")]
    pub public_url: Option<String>,

    /// Error store: rejected and failed uploads as <pipeline>/<name>.<job_id> [default: <home>/error]
    #[arg(long, env = vars::ERROR_URL, global = true, value_name = "URL")]
    pub error_url: Option<String>,

    /// Reports store: one JSON report per job [default: <home>/reports]
    #[arg(long, env = vars::REPORTS_URL, global = true, value_name = "URL")]
    pub reports_url: Option<String>,

    /// Index (harvest target and job ledger): sqlite://PATH or postgres://… [default: sqlite://<home>/index.sqlite]
    #[arg(
        long,
        env = vars::INDEX_URL,
        global = true,
        value_name = "URL",
        hide_env_values = true
    )]
    pub index_url: Option<String>,

    /// Notifications: a directory or file:// outbox, or smtp://host:port [default: <home>/outbox]
    #[arg(
        long,
        env = vars::NOTIFY_URL,
        global = true,
        value_name = "URL",
        hide_env_values = true
    )]
    pub notify_url: Option<String>,

    /// Sender address of notification emails
    #[arg(
        long,
        env = vars::NOTIFY_FROM,
        global = true,
        value_name = "ADDRESS",
        default_value = DEFAULT_NOTIFY_FROM
    )]
    pub notify_from: String,

    /// User name for the SMTP server (also accepted as the user of an smtp:// URL)
    #[arg(
        long,
        env = vars::SMTP_USERNAME,
        global = true,
        value_name = "USER",
        hide_env_values = true
    )]
    pub smtp_username: Option<String>,

    /// Password for the SMTP server; prefer the variable to the flag (never logged or printed)
    #[arg(
        long,
        env = vars::SMTP_PASSWORD,
        global = true,
        value_name = "PASSWORD",
        hide_env_values = true
    )]
    pub smtp_password: Option<Secret>,

    /// How long one notification may take to deliver (connecting, sending, retries), in seconds
    #[arg(
        long,
        env = vars::SMTP_TIMEOUT_SECONDS,
        global = true,
        default_value_t = DEFAULT_SMTP_TIMEOUT_SECONDS,
        value_name = "SECONDS"
    )]
    pub smtp_timeout_seconds: u64,

    /// Data-team addresses told about every failure that is not the provider's (comma-separated)
    #[arg(
        long,
        env = vars::OPS_EMAIL,
        global = true,
        value_name = "ADDRESSES",
        value_delimiter = ','
    )]
    pub ops_email: Vec<String>,

    /// Folder for job-scoped temporary files [default: the system temporary folder]
    #[arg(long, env = vars::WORK_DIR, global = true, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,

    /// The most bytes one job may put in its work folder (the upload and what it unpacks); an
    /// upload that needs more is rejected [default: the size of the work folder's disk]
    #[arg(long, env = vars::WORK_MAX_BYTES, global = true, value_name = "BYTES")]
    pub work_max_bytes: Option<ByteSize>,

    /// The most values the checks, the quick look, the metadata and the harvest may read from
    /// one NetCDF file, counted as each variable's declared size before its first value is read.
    /// A file that declares more (a netCDF-4 file of a few kilobytes can declare billions of
    /// values it never wrote) is refused, naming the variable, instead of being read for hours
    #[arg(
        long,
        env = vars::MAX_FILE_VALUES,
        global = true,
        default_value_t = crate::netcdf::DEFAULT_MAX_FILE_VALUES,
        value_name = "N"
    )]
    pub max_file_values: u64,

    /// How long a job's claim on an upload holds unless renewed (a heartbeat renews it while the
    /// job runs); a killed job's upload can be taken over this long after its last renewal
    #[arg(
        long,
        env = vars::LEASE_SECONDS,
        global = true,
        default_value_t = DEFAULT_LEASE_SECONDS,
        value_name = "SECONDS"
    )]
    pub lease_seconds: u64,

    /// How long connecting to S3, SQS or PostgreSQL may take, in seconds
    #[arg(
        long,
        env = vars::CONNECT_TIMEOUT_SECONDS,
        global = true,
        default_value_t = DEFAULT_CONNECT_TIMEOUT_SECONDS,
        value_name = "SECONDS"
    )]
    pub connect_timeout_seconds: u64,

    /// How long one attempt of one request to S3, SQS or PostgreSQL may take, in seconds; a call
    /// with its retries takes at most twice this
    #[arg(
        long,
        env = vars::REQUEST_TIMEOUT_SECONDS,
        global = true,
        default_value_t = DEFAULT_REQUEST_TIMEOUT_SECONDS,
        value_name = "SECONDS"
    )]
    pub request_timeout_seconds: u64,

    /// How long an S3 upload or download may move no data before it counts as stalled, in seconds
    #[arg(
        long,
        env = vars::IDLE_TIMEOUT_SECONDS,
        global = true,
        default_value_t = DEFAULT_IDLE_TIMEOUT_SECONDS,
        value_name = "SECONDS"
    )]
    pub idle_timeout_seconds: u64,

    /// The whole job's deadline, in seconds: past it a job that has not published stops, one that
    /// is publishing rolls back, and it exits 75. Keep it a few minutes below Batch's attempt timeout
    #[arg(
        long,
        env = vars::JOB_DEADLINE_SECONDS,
        global = true,
        default_value_t = DEFAULT_JOB_DEADLINE_SECONDS,
        value_name = "SECONDS"
    )]
    pub job_deadline_seconds: u64,

    /// Log format on stderr: auto (text on a terminal, JSON otherwise), text or json
    #[arg(
        long,
        env = vars::LOG_FORMAT,
        global = true,
        default_value_t = LogFormat::Auto,
        value_enum,
        value_name = "FORMAT"
    )]
    pub log_format: LogFormat,

    /// How the key of an s3:// SOURCE or --incoming-key is written: raw (the key itself) or url
    /// (URL-encoded with '+' for space, as S3 event notifications carry it)
    #[arg(
        long,
        env = vars::SOURCE_KEY_ENCODING,
        global = true,
        default_value_t = KeyEncoding::Raw,
        value_enum,
        value_name = "ENCODING"
    )]
    pub source_key_encoding: KeyEncoding,

    /// Queue that receives every job's result (the JSON job report): an SQS queue URL, or a
    /// file:// folder [default: <home>/results when uploads arrive in a local folder, else none]
    #[arg(long, env = vars::RESULTS_QUEUE_URL, global = true, value_name = "URL")]
    pub results_queue_url: Option<String>,

    /// Batch's attempts per job: a transient failure is reported to the data team only on the last
    /// one, so a retried job does not email them on every attempt [default: every attempt]
    #[arg(long, env = vars::MAX_ATTEMPTS, global = true, value_name = "N")]
    pub max_attempts: Option<u32>,

    /// After each job, rewrite the dashboard page (dashboard.html) at the root of the reports
    /// store, for a static bucket to serve: true or false
    #[arg(
        long,
        env = vars::DASHBOARD,
        global = true,
        default_value_t = false,
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new(),
        value_name = "BOOL"
    )]
    pub dashboard: bool,

    /// Base of the wait before exiting 75 on an attempt Batch will retry (Batch itself retries at
    /// once): base × 2^(attempt − 1), ±25 % at random, at most 300 s and never past the job
    /// deadline; 0 for none
    #[arg(
        long,
        env = vars::RETRY_BACKOFF_SECONDS,
        global = true,
        default_value_t = DEFAULT_RETRY_BACKOFF_SECONDS,
        value_name = "SECONDS"
    )]
    pub retry_backoff_seconds: u64,

    /// Which attempt this is, as AWS Batch sets it (1 for the first)
    #[arg(
        long,
        env = vars::BATCH_JOB_ATTEMPT,
        global = true,
        hide = true,
        value_name = "N"
    )]
    pub batch_attempt: Option<u32>,

    /// S3 uploads (and copies) of at least this size go in parts, e.g. 16MiB
    #[arg(
        long,
        env = vars::S3_MULTIPART_THRESHOLD,
        global = true,
        default_value_t = ByteSize(crate::store::DEFAULT_PART_SIZE),
        value_name = "BYTES"
    )]
    pub s3_multipart_threshold: ByteSize,

    /// Size of each part of a multipart S3 upload, at least 5MiB
    #[arg(
        long,
        env = vars::S3_PART_SIZE,
        global = true,
        default_value_t = ByteSize(crate::store::DEFAULT_PART_SIZE),
        value_name = "BYTES"
    )]
    pub s3_part_size: ByteSize,
}

impl SettingsArgs {
    /// The embedded default rooted at `home`, as if no flag or variable were set: what tests and
    /// tools start from before overriding a field or two. The defaults are clap's own, so they are
    /// written once.
    pub fn embedded(home: PathBuf) -> SettingsArgs {
        let command = SettingsArgs::augment_args(clap::Command::new("ocean-ingest"))
            // Ignore the environment: the embedded default is the same on every machine.
            .mut_args(|arg| arg.env(None));
        let matches = command
            .try_get_matches_from(["ocean-ingest"])
            .expect("no arguments parse");
        SettingsArgs {
            home,
            ..SettingsArgs::from_arg_matches(&matches).expect("the defaults parse")
        }
    }
}

/// How an object key is written on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KeyEncoding {
    /// The key itself.
    Raw,
    /// URL-encoded, `+` for space, as in S3 event notifications.
    Url,
}

/// A number of bytes, written as digits with an optional unit (K, KiB, M, MiB, G, GiB: all powers
/// of 1024) and shown in the largest whole unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl std::str::FromStr for ByteSize {
    type Err = String;
    fn from_str(s: &str) -> Result<ByteSize, String> {
        parse_bytes(s).map(ByteSize)
    }
}

impl std::fmt::Display for ByteSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0;
        match [(30, "GiB"), (20, "MiB"), (10, "KiB")]
            .into_iter()
            .find(|(shift, _)| n != 0 && n.is_multiple_of(1u64 << shift))
        {
            Some((shift, unit)) => write!(f, "{}{unit}", n >> shift),
            None => write!(f, "{n}"),
        }
    }
}

/// Validated settings: every URL parsed into its boundary's type, every default filled in.
/// Building these does no I/O.
#[derive(Debug, Clone)]
pub struct Settings {
    pub home: PathBuf,
    /// The pipeline file named by flag or variable, if any.
    pub pipelines: Option<PipelineFile>,
    /// Whether a pipeline that claims every key is accepted.
    pub allow_catch_all: bool,
    pub incoming: StoreUrl,
    pub archive: StoreUrl,
    pub public: StoreUrl,
    pub error: StoreUrl,
    pub reports: StoreUrl,
    pub index: IndexUrl,
    /// Never holds credentials: those of an smtp:// URL are moved to `smtp`.
    pub notify: NotifyUrl,
    pub smtp: SmtpSettings,
    pub notify_from: String,
    pub ops_email: Vec<String>,
    pub work_dir: Option<PathBuf>,
    /// The most bytes one job may put in its work folder, when configured.
    pub work_max_bytes: Option<u64>,
    pub lease: Duration,
    /// The limits on every call to S3, SQS and PostgreSQL.
    pub timeouts: Timeouts,
    /// How long a whole job may run before it stops and exits 75.
    pub job_deadline: Duration,
    pub source_key_encoding: KeyEncoding,
    /// Where result events go, if anywhere.
    pub results: Option<QueueUrl>,
    pub transfer: Transfer,
    /// This attempt and the last one Batch will make, when both are known.
    pub attempt: Option<Attempt>,
    /// Whether each job rewrites the dashboard page in the reports store.
    pub dashboard: bool,
    /// The base of the wait before exiting 75 on an attempt Batch will retry.
    pub retry_backoff: Duration,
}

/// Where the pipeline file is read from, as `--pipelines` / `INGEST_PIPELINES` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipelineFile {
    /// A local file: a path in the image, or on a laptop.
    Path(PathBuf),
    /// An object, `s3://bucket/key`, fetched when the process starts.
    Object { store: StoreUrl, key: Key },
}

impl PipelineFile {
    /// Reads the setting's value: a path or `file://` URL, or `s3://bucket/key`. No I/O.
    pub fn parse(value: &Path) -> Result<PipelineFile, SettingError> {
        let Some(text) = value.to_str() else {
            // Not UTF-8: no URL, so a local path.
            return Ok(PipelineFile::Path(value.to_path_buf()));
        };
        let fail = |reason: &str| SettingError::new(vars::PIPELINES, text, reason);
        if text.trim().is_empty() {
            return Err(fail(
                "empty: name the pipeline file, a path or s3://bucket/key",
            ));
        }
        if let Some(rest) = text.strip_prefix("s3://") {
            let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(fail(
                    "an s3:// pipeline file needs a bucket: s3://bucket/key",
                ));
            }
            if key.is_empty() || key.ends_with('/') {
                return Err(fail(
                    "names a bucket or folder, not the pipeline file's object: s3://bucket/key",
                ));
            }
            let key = Key::new(key).map_err(|e| fail(&e.to_string()))?;
            return Ok(PipelineFile::Object {
                store: StoreUrl::S3 {
                    bucket: bucket.to_string(),
                    prefix: String::new(),
                },
                key,
            });
        }
        match crate::location::local_path(text) {
            Some(Ok(path)) => Ok(PipelineFile::Path(path)),
            Some(Err(e)) => Err(fail(&e.reason)),
            None => Err(fail(
                &crate::location::unknown_scheme(text, "a path, file:// or s3://bucket/key").reason,
            )),
        }
    }
}

impl std::fmt::Display for PipelineFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PipelineFile::Path(path) => write!(f, "{}", path.display()),
            PipelineFile::Object { store, key } => write!(f, "{store}/{key}"),
        }
    }
}

/// Where a job stands in Batch's retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    pub current: u32,
    pub max: u32,
}

impl Attempt {
    /// Whether Batch will retry a transient failure of this attempt.
    pub fn will_retry(self) -> bool {
        self.current < self.max
    }
}

/// A setting whose value names nothing usable, or names it badly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting}: {reason} (got {value:?})")]
pub struct SettingError {
    /// The variable that holds the setting.
    pub setting: &'static str,
    pub value: String,
    pub reason: String,
}

impl SettingError {
    fn new(setting: &'static str, value: impl Into<String>, reason: impl Into<String>) -> Self {
        SettingError {
            setting,
            value: value.into(),
            reason: reason.into(),
        }
    }
}

/// Parses a URL setting with its boundary's parser, or takes the default when it is unset.
fn url<T>(
    setting: &'static str,
    value: &Option<String>,
    parse: impl FnOnce(&str) -> Result<T, UrlError>,
    default: impl FnOnce() -> T,
) -> Result<T, SettingError> {
    match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(default()),
        Some(v) => parse(v).map_err(|e| SettingError::new(setting, redact_userinfo(v), e.reason)),
    }
}

impl Settings {
    /// Validates the arguments and fills in defaults under the home folder. No I/O.
    pub fn resolve(args: &SettingsArgs) -> Result<Settings, SettingError> {
        let home = args.home.clone();
        let store = |setting: &'static str, value: &Option<String>, folder: &str| {
            url(setting, value, StoreUrl::parse, || {
                StoreUrl::Local(home.join(folder))
            })
        };
        let incoming = store(vars::INCOMING_URL, &args.incoming_url, "incoming")?;
        let index = url(vars::INDEX_URL, &args.index_url, IndexUrl::parse, || {
            IndexUrl::Sqlite(home.join("index.sqlite"))
        })?;
        let (notify, smtp) = notifier(args)?;
        // Checked now: a sender or data-team address that cannot be written in a message would
        // otherwise only surface as a notification that every job fails to send.
        args.notify_from
            .parse::<lettre::message::Mailbox>()
            .map_err(|e| {
                SettingError::new(
                    vars::NOTIFY_FROM,
                    &args.notify_from,
                    format!("not an address such as \"ocean-ingest <noreply@example.org>\" ({e})"),
                )
            })?;
        let ops_email: Vec<String> = args
            .ops_email
            .iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        for a in &ops_email {
            a.parse::<lettre::Address>().map_err(|e| {
                SettingError::new(vars::OPS_EMAIL, a, format!("not an email address ({e})"))
            })?;
        }
        let timeouts = timeouts(args)?;
        // Result events stay beside the other local boundaries in the embedded default; where
        // uploads come from S3 they go only to a queue that is named.
        let results = url(
            vars::RESULTS_QUEUE_URL,
            &args.results_queue_url,
            |v| QueueUrl::parse(v).map(Some),
            || match &incoming {
                StoreUrl::Local(_) => Some(QueueUrl::Local(home.join("results"))),
                StoreUrl::S3 { .. } => None,
            },
        )?;
        Ok(Settings {
            incoming,
            archive: store(vars::ARCHIVE_URL, &args.archive_url, "archive")?,
            public: store(vars::PUBLIC_URL, &args.public_url, "public")?,
            error: store(vars::ERROR_URL, &args.error_url, "error")?,
            reports: store(vars::REPORTS_URL, &args.reports_url, "reports")?,
            index,
            notify,
            smtp,
            notify_from: args.notify_from.clone(),
            ops_email,
            work_dir: args.work_dir.clone(),
            work_max_bytes: args.work_max_bytes.map(|b| b.0),
            lease: Duration::from_secs(args.lease_seconds),
            timeouts,
            job_deadline: Duration::from_secs(args.job_deadline_seconds),
            pipelines: args
                .pipelines
                .as_deref()
                .map(PipelineFile::parse)
                .transpose()?,
            allow_catch_all: args.allow_catch_all,
            home,
            source_key_encoding: args.source_key_encoding,
            results,
            attempt: match (args.batch_attempt, args.max_attempts) {
                (Some(current), Some(max)) if current >= 1 && max >= 1 => {
                    Some(Attempt { current, max })
                }
                _ => None,
            },
            transfer: transfer(args)?,
            dashboard: args.dashboard,
            retry_backoff: Duration::from_secs(args.retry_backoff_seconds),
        })
    }

    /// Whether any boundary lives in AWS, so the SDK's clients are worth building.
    pub fn needs_aws(&self) -> bool {
        self.stores().iter().any(|url| url.is_s3())
            || self.results.as_ref().is_some_and(QueueUrl::is_sqs)
    }

    /// The first setting that names something other than the embedded default (a bucket, a
    /// PostgreSQL index, an SMTP server, an SQS queue), as `VARIABLE (value)`; `None` when every
    /// store is a local folder, the index SQLite, the notifier an outbox and result events (if
    /// any) a local folder. Only then may the example pipelines stand in for a pipeline file.
    pub fn remote_setting(&self) -> Option<String> {
        let stores = [
            (vars::INCOMING_URL, &self.incoming),
            (vars::ARCHIVE_URL, &self.archive),
            (vars::PUBLIC_URL, &self.public),
            (vars::ERROR_URL, &self.error),
            (vars::REPORTS_URL, &self.reports),
        ];
        if let Some((var, url)) = stores.iter().find(|(_, url)| url.is_s3()) {
            return Some(format!("{var} ({url})"));
        }
        if !matches!(self.index, IndexUrl::Sqlite(_)) {
            return Some(format!("{} (PostgreSQL)", vars::INDEX_URL));
        }
        if !matches!(self.notify, NotifyUrl::Outbox(_)) {
            return Some(format!("{} ({})", vars::NOTIFY_URL, self.notify));
        }
        match &self.results {
            Some(q @ QueueUrl::Sqs(_)) => Some(format!("{} ({q})", vars::RESULTS_QUEUE_URL)),
            _ => None,
        }
    }

    fn stores(&self) -> [&StoreUrl; 5] {
        [
            &self.incoming,
            &self.archive,
            &self.public,
            &self.error,
            &self.reports,
        ]
    }
}

/// The pipeline file `./pipelines.toml`, when the current folder has one: used when none is named.
pub fn pipelines_file_here() -> Option<PathBuf> {
    let default = Path::new(DEFAULT_PIPELINES_FILE);
    default.is_file().then(|| default.to_path_buf())
}

/// The notifier's URL and SMTP settings. The credentials of an smtp:// URL move into the SMTP
/// settings (so no URL that is logged or reported carries them), and the server is checked the
/// way the transport will use it.
fn notifier(args: &SettingsArgs) -> Result<(NotifyUrl, SmtpSettings), SettingError> {
    let mut smtp = SmtpSettings {
        username: args.smtp_username.clone().filter(|u| !u.is_empty()),
        password: args.smtp_password.clone().filter(|p| !p.is_empty()),
        timeout: Duration::from_secs(args.smtp_timeout_seconds),
    };
    if args.smtp_timeout_seconds == 0 {
        return Err(SettingError::new(
            vars::SMTP_TIMEOUT_SECONDS,
            "0",
            "the SMTP server needs at least one second to answer",
        ));
    }
    let Some(raw) = args
        .notify_url
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
    else {
        return Ok((NotifyUrl::Outbox(args.home.join("outbox")), smtp));
    };
    let fail = |reason: String| SettingError::new(vars::NOTIFY_URL, redact_userinfo(raw), reason);
    let (notify, credentials) = NotifyUrl::parse(raw).map_err(|e| fail(e.reason))?;
    if let Some(credentials) = credentials {
        if smtp.username.is_some() || smtp.password.is_some() {
            return Err(fail(format!(
                "credentials are given both in the URL and in {}/{}: keep one",
                vars::SMTP_USERNAME,
                vars::SMTP_PASSWORD
            )));
        }
        smtp.username = Some(credentials.username);
        smtp.password = credentials.password;
    }
    notify
        .check_credentials(&smtp)
        .map_err(|e| fail(e.reason))?;
    Ok((notify, smtp))
}

/// The network deadlines, the lease and the job's deadline, checked against each other: a job
/// that holds a live claim must always have time for one more call before its lease could lapse.
pub fn timeouts(args: &SettingsArgs) -> Result<Timeouts, SettingError> {
    for (var, value) in [
        (vars::CONNECT_TIMEOUT_SECONDS, args.connect_timeout_seconds),
        (vars::REQUEST_TIMEOUT_SECONDS, args.request_timeout_seconds),
        (vars::IDLE_TIMEOUT_SECONDS, args.idle_timeout_seconds),
        (vars::JOB_DEADLINE_SECONDS, args.job_deadline_seconds),
        (vars::LEASE_SECONDS, args.lease_seconds),
    ] {
        if value == 0 {
            return Err(SettingError::new(
                var,
                "0",
                "it must be at least one second",
            ));
        }
    }
    let timeouts = Timeouts {
        connect: Duration::from_secs(args.connect_timeout_seconds),
        request: Duration::from_secs(args.request_timeout_seconds),
        idle: Duration::from_secs(args.idle_timeout_seconds),
    };
    let lease = Duration::from_secs(args.lease_seconds);
    let margin = crate::deadline::lease_margin(&timeouts);
    // Renewed every quarter lease, a live claim has three quarters of it ahead: enough to start
    // a call only if that outlasts the margin a call needs.
    if lease * 3 / 4 <= margin {
        return Err(SettingError::new(
            vars::LEASE_SECONDS,
            args.lease_seconds.to_string(),
            format!(
                "a lease must outlast a call to S3 or PostgreSQL with its retries by a third: with {}={} it must be more than {} s",
                vars::REQUEST_TIMEOUT_SECONDS,
                args.request_timeout_seconds,
                (margin * 4 / 3).as_secs()
            ),
        ));
    }
    Ok(timeouts)
}

/// The S3 transfer sizes, checked against S3's limits on parts.
fn transfer(args: &SettingsArgs) -> Result<Transfer, SettingError> {
    let (threshold, part_size) = (args.s3_multipart_threshold, args.s3_part_size);
    if !PART_SIZES.contains(&part_size.0) {
        return Err(SettingError::new(
            vars::S3_PART_SIZE,
            part_size.to_string(),
            format!(
                "S3 parts are between {} and {}",
                ByteSize(*PART_SIZES.start()),
                ByteSize(*PART_SIZES.end())
            ),
        ));
    }
    if threshold.0 < part_size.0 {
        return Err(SettingError::new(
            vars::S3_MULTIPART_THRESHOLD,
            threshold.to_string(),
            format!("the threshold must be at least the part size ({part_size})"),
        ));
    }
    Ok(Transfer {
        multipart_threshold: threshold.0,
        part_size: part_size.0,
        ..Transfer::default()
    })
}

/// Parses a byte count: digits with an optional unit (K, KiB, M, MiB, G, GiB: all powers of 1024).
pub fn parse_bytes(value: &str) -> Result<u64, String> {
    let value = value.trim();
    let split = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (digits, unit) = value.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| "expected a size such as 16MiB or 16777216".to_string())?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => return Err(format!("unknown unit {other:?} (use KiB, MiB or GiB)")),
    };
    n.checked_mul(factor)
        .ok_or_else(|| "the size is too large".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(args: &[&str]) -> Result<Settings, SettingError> {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            settings: SettingsArgs,
        }
        use clap::Parser;
        let cli = Cli::try_parse_from(["ocean-ingest"].iter().chain(args)).unwrap();
        Settings::resolve(&cli.settings)
    }

    #[test]
    fn smtp_credentials_move_out_of_the_url_and_never_show() {
        let s = resolve(&[
            "--notify-url",
            "smtps://AKIA%2Fx:p%40ss@email-smtp.example.com",
        ])
        .unwrap();
        assert_eq!(
            s.notify,
            NotifyUrl::Smtp(
                crate::notify::SmtpEndpoint::parse("smtps://email-smtp.example.com").unwrap()
            )
        );
        assert_eq!(s.smtp.username.as_deref(), Some("AKIA/x"));
        assert_eq!(s.smtp.password.as_ref().map(Secret::expose), Some("p@ss"));
        assert_eq!(s.smtp.timeout, Duration::from_secs(30));
        assert!(!format!("{s:?}").contains("p@ss"));

        let both = resolve(&["--notify-url", "smtp://u:p@h", "--smtp-username", "v"]).unwrap_err();
        assert!(both.reason.contains("both"), "{both}");
        assert!(!both.to_string().contains(":p@"), "{both}");

        let nameless = resolve(&["--notify-url", "smtp://h", "--smtp-password", "pw"]).unwrap_err();
        assert!(
            nameless.reason.contains("INGEST_SMTP_USERNAME"),
            "{nameless}"
        );
        let bad = resolve(&["--notify-url", "smtp://h?tls=maybe"]).unwrap_err();
        assert_eq!(bad.setting, "INGEST_NOTIFY_URL");
        assert!(resolve(&["--smtp-timeout-seconds", "0"]).is_err());
    }

    #[test]
    fn sender_and_data_team_addresses_are_checked_before_any_job() {
        let from = resolve(&["--notify-from", "ocean-ingest"]).unwrap_err();
        assert_eq!(from.setting, "INGEST_NOTIFY_FROM");
        let ops = resolve(&["--ops-email", "ops@x.org,not an address"]).unwrap_err();
        assert_eq!(
            (ops.setting, ops.value.as_str()),
            ("INGEST_OPS_EMAIL", "not an address")
        );
        assert!(
            resolve(&[
                "--notify-from",
                "Data <data@x.org>",
                "--ops-email",
                " a@x.org , "
            ])
            .is_ok()
        );
    }

    #[test]
    fn parses_each_scheme() {
        let s = resolve(&[
            "--public-url",
            "s3://bucket/a/b/",
            "--archive-url",
            "file:///tmp/x%20y",
            "--error-url",
            "var/error",
            "--index-url",
            "sqlite://var/i.db",
        ])
        .unwrap();
        assert_eq!(
            s.public,
            StoreUrl::S3 {
                bucket: "bucket".into(),
                prefix: "a/b".into()
            }
        );
        assert_eq!(s.archive, StoreUrl::Local("/tmp/x y".into()));
        assert_eq!(s.error, StoreUrl::Local("var/error".into()));
        assert!(matches!(&s.index, IndexUrl::Sqlite(p) if p == Path::new("var/i.db")));
        let s = resolve(&["--index-url", "sqlite:///abs/i.db"]).unwrap();
        assert!(matches!(&s.index, IndexUrl::Sqlite(p) if p == Path::new("/abs/i.db")));
        let s = resolve(&["--index-url", "postgresql://u@h/db"]).unwrap();
        assert!(matches!(s.index, IndexUrl::Postgres(_)));
        let ftp = resolve(&["--public-url", "ftp://x"]).unwrap_err();
        assert_eq!(ftp.setting, "INGEST_PUBLIC_URL");
        assert!(ftp.reason.contains("unknown scheme"), "{ftp}");
        assert!(resolve(&["--public-url", "s3:///key"]).is_err());
        let index = resolve(&["--index-url", "var/index"]).unwrap_err();
        assert_eq!(index.setting, "INGEST_INDEX_URL");
    }

    #[test]
    fn results_default_to_a_local_queue_only_beside_a_local_incoming_store() {
        let local = resolve(&["--home", "/h"]).unwrap();
        assert_eq!(local.results, Some(QueueUrl::Local("/h/results".into())));
        let cloud = resolve(&["--incoming-url", "s3://incoming"]).unwrap();
        assert_eq!(cloud.results, None);
        assert!(cloud.needs_aws());
        assert!(!local.needs_aws());
        let named = resolve(&["--results-queue-url", "https://sqs.example/1/results"]).unwrap();
        assert!(named.needs_aws());
    }

    #[test]
    fn the_embedded_default_is_clap_s_defaults_under_a_home() {
        let args = SettingsArgs::embedded(PathBuf::from("/h"));
        assert_eq!(args.home, Path::new("/h"));
        assert_eq!(args.notify_from, DEFAULT_NOTIFY_FROM);
        assert_eq!(args.lease_seconds, DEFAULT_LEASE_SECONDS);
        assert_eq!(args.smtp_timeout_seconds, DEFAULT_SMTP_TIMEOUT_SECONDS);
        assert_eq!(args.log_format, LogFormat::Auto);
        assert_eq!(args.source_key_encoding, KeyEncoding::Raw);
        assert_eq!(args.s3_part_size, ByteSize(crate::store::DEFAULT_PART_SIZE));
        assert_eq!(args.incoming_url, None);
        assert!(!args.dashboard);
        let settings = Settings::resolve(&args).unwrap();
        assert_eq!(settings.transfer, Transfer::default());
    }

    #[test]
    fn the_dashboard_is_rewritten_after_jobs_only_when_asked() {
        assert!(!resolve(&[]).unwrap().dashboard);
        assert!(resolve(&["--dashboard", "true"]).unwrap().dashboard);
        assert!(resolve(&["--dashboard", "on"]).unwrap().dashboard);
        assert!(!resolve(&["--dashboard", "false"]).unwrap().dashboard);
    }

    #[test]
    fn leases_must_outlast_a_call() {
        let s = resolve(&[]).unwrap();
        assert_eq!(s.lease, Duration::from_secs(DEFAULT_LEASE_SECONDS));
        assert_eq!(
            s.timeouts.request,
            Duration::from_secs(DEFAULT_REQUEST_TIMEOUT_SECONDS)
        );
        assert_eq!(
            s.job_deadline,
            Duration::from_secs(DEFAULT_JOB_DEADLINE_SECONDS)
        );
        let short =
            resolve(&["--lease-seconds", "60", "--request-timeout-seconds", "30"]).unwrap_err();
        assert_eq!(short.setting, "INGEST_LEASE_SECONDS");
        assert!(
            short.reason.contains("INGEST_REQUEST_TIMEOUT_SECONDS=30"),
            "{short}"
        );
        assert!(resolve(&["--lease-seconds", "12", "--request-timeout-seconds", "3"]).is_ok());
        for zero in [
            "--connect-timeout-seconds",
            "--idle-timeout-seconds",
            "--job-deadline-seconds",
            "--lease-seconds",
        ] {
            assert!(resolve(&[zero, "0"]).is_err(), "{zero} 0");
        }
    }

    #[test]
    fn parses_byte_sizes() {
        assert_eq!(parse_bytes("16MiB").unwrap(), 16 << 20);
        assert_eq!(parse_bytes("5242880").unwrap(), 5 << 20);
        assert_eq!(parse_bytes("1g").unwrap(), 1 << 30);
        assert!(parse_bytes("16 parsecs").is_err());
        assert!(parse_bytes("MiB").is_err());
        assert_eq!(ByteSize(16 << 20).to_string(), "16MiB");
        assert_eq!(ByteSize(5 << 30).to_string(), "5GiB");
        assert_eq!(ByteSize(1000).to_string(), "1000");
        assert_eq!("16MiB".parse::<ByteSize>().unwrap(), ByteSize(16 << 20));
    }
}
