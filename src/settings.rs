//! Settings: where each boundary lives, parsed from flags and `INGEST_*` variables and validated
//! without I/O before anything is built.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;

/// Global settings shared by every subcommand. Each has a flag and an `INGEST_*` variable; every
/// URL defaults to a place under the home folder, so no settings at all gives a working local setup.
#[derive(Debug, Clone, Args)]
pub struct SettingsArgs {
    /// Local root of the embedded default: every store, the index and the outbox live under it
    #[arg(
        long,
        env = "INGEST_HOME",
        default_value = "./var",
        global = true,
        value_name = "DIR"
    )]
    pub home: PathBuf,

    /// Pipeline file [default: ./pipelines.toml if present, else the example compiled in]
    #[arg(long, env = "INGEST_PIPELINES", global = true, value_name = "FILE")]
    pub pipelines: Option<PathBuf>,

    /// Incoming store: uploads arrive here and are removed once kept safe [default: <home>/incoming]
    #[arg(long, env = "INGEST_INCOMING_URL", global = true, value_name = "URL")]
    pub incoming_url: Option<String>,

    /// Archive store: every accepted upload, and files published with an archive flag [default: <home>/archive]
    #[arg(long, env = "INGEST_ARCHIVE_URL", global = true, value_name = "URL")]
    pub archive_url: Option<String>,

    /// Public store: the published files, at their destination paths [default: <home>/public]
    #[arg(long, env = "INGEST_PUBLIC_URL", global = true, value_name = "URL")]
    pub public_url: Option<String>,

    /// Error store: rejected and failed uploads as <pipeline>/<name>.<job_id> [default: <home>/error]
    #[arg(long, env = "INGEST_ERROR_URL", global = true, value_name = "URL")]
    pub error_url: Option<String>,

    /// Reports store: one JSON report per job [default: <home>/reports]
    #[arg(long, env = "INGEST_REPORTS_URL", global = true, value_name = "URL")]
    pub reports_url: Option<String>,

    /// Index (harvest target and job ledger): sqlite://PATH or postgres://… [default: sqlite://<home>/index.sqlite]
    #[arg(long, env = "INGEST_INDEX_URL", global = true, value_name = "URL")]
    pub index_url: Option<String>,

    /// Notifications: a directory or file:// outbox, or smtp://host:port [default: <home>/outbox]
    #[arg(long, env = "INGEST_NOTIFY_URL", global = true, value_name = "URL")]
    pub notify_url: Option<String>,

    /// Sender address of notification emails
    #[arg(
        long,
        env = "INGEST_NOTIFY_FROM",
        global = true,
        value_name = "ADDRESS",
        default_value = "ocean-ingest <noreply@localhost>"
    )]
    pub notify_from: String,

    /// User name for the SMTP server (also accepted as the user of an smtp:// URL)
    #[arg(long, env = "INGEST_SMTP_USERNAME", global = true, value_name = "USER")]
    pub smtp_username: Option<String>,

    /// Password for the SMTP server; prefer the variable to the flag (never logged or printed)
    #[arg(
        long,
        env = "INGEST_SMTP_PASSWORD",
        global = true,
        value_name = "PASSWORD",
        hide_env_values = true
    )]
    pub smtp_password: Option<Secret>,

    /// How long connecting to the SMTP server may take, in seconds; a whole delivery may take twice this
    #[arg(
        long,
        env = "INGEST_SMTP_TIMEOUT_SECONDS",
        global = true,
        default_value_t = 30,
        value_name = "SECONDS"
    )]
    pub smtp_timeout_seconds: u64,

    /// Data-team addresses told about every failure that is not the provider's (comma-separated)
    #[arg(
        long,
        env = "INGEST_OPS_EMAIL",
        global = true,
        value_name = "ADDRESSES",
        value_delimiter = ','
    )]
    pub ops_email: Vec<String>,

    /// Folder for job-scoped temporary files [default: the system temporary folder]
    #[arg(long, env = "INGEST_WORK_DIR", global = true, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,

    /// How long a job's claim on an upload holds before another job may take it over, in seconds
    #[arg(
        long,
        env = "INGEST_LEASE_SECONDS",
        global = true,
        default_value_t = 3600,
        value_name = "SECONDS"
    )]
    pub lease_seconds: u64,

    /// Log format on stderr: auto (text on a terminal, JSON otherwise), text or json
    #[arg(
        long,
        env = "INGEST_LOG_FORMAT",
        global = true,
        default_value = "auto",
        value_name = "FORMAT"
    )]
    pub log_format: LogFormat,

    /// How the key of an s3:// SOURCE or --incoming-key is written: raw (the key itself) or url
    /// (URL-encoded with '+' for space, as S3 event notifications carry it)
    #[arg(
        long,
        env = "INGEST_SOURCE_KEY_ENCODING",
        global = true,
        default_value = "raw",
        value_name = "ENCODING"
    )]
    pub source_key_encoding: KeyEncoding,

    /// SQS queue URL that receives every job's result (the JSON job report) [default: none]
    #[arg(
        long,
        env = "INGEST_RESULTS_QUEUE_URL",
        global = true,
        value_name = "URL"
    )]
    pub results_queue_url: Option<String>,

    /// Batch's attempts per job: a transient failure is reported to the data team only on the last
    /// one, so a retried job does not email them on every attempt [default: every attempt]
    #[arg(long, env = "INGEST_MAX_ATTEMPTS", global = true, value_name = "N")]
    pub max_attempts: Option<u32>,

    /// Which attempt this is, as AWS Batch sets it (1 for the first)
    #[arg(
        long,
        env = "AWS_BATCH_JOB_ATTEMPT",
        global = true,
        hide = true,
        value_name = "N"
    )]
    pub batch_attempt: Option<u32>,

    /// S3 uploads (and copies) of at least this size go in parts, e.g. 16MiB
    #[arg(
        long,
        env = "INGEST_S3_MULTIPART_THRESHOLD",
        global = true,
        default_value = "16MiB",
        value_name = "BYTES"
    )]
    pub s3_multipart_threshold: String,

    /// Size of each part of a multipart S3 upload, at least 5MiB
    #[arg(
        long,
        env = "INGEST_S3_PART_SIZE",
        global = true,
        default_value = "16MiB",
        value_name = "BYTES"
    )]
    pub s3_part_size: String,
}

impl SettingsArgs {
    /// The embedded default rooted at `home`, as if no flag or variable were set: what tests and
    /// tools start from before overriding a field or two.
    pub fn embedded(home: PathBuf) -> SettingsArgs {
        SettingsArgs {
            home,
            pipelines: None,
            incoming_url: None,
            archive_url: None,
            public_url: None,
            error_url: None,
            reports_url: None,
            index_url: None,
            notify_url: None,
            notify_from: "ocean-ingest <noreply@localhost>".into(),
            smtp_username: None,
            smtp_password: None,
            smtp_timeout_seconds: 30,
            ops_email: Vec::new(),
            work_dir: None,
            lease_seconds: 3600,
            log_format: LogFormat::Auto,
            source_key_encoding: KeyEncoding::default(),
            results_queue_url: None,
            max_attempts: None,
            batch_attempt: None,
            s3_multipart_threshold: "16MiB".into(),
            s3_part_size: "16MiB".into(),
        }
    }
}

/// How an object key is written on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum KeyEncoding {
    /// The key itself.
    #[default]
    Raw,
    /// URL-encoded, `+` for space, as in S3 event notifications.
    Url,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Auto,
    Text,
    Json,
}

/// A secret setting (a password): shown as `***` by `Debug`, so it never reaches a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the one place that hands it to a server.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Secret, Self::Err> {
        Ok(Secret(s.to_string()))
    }
}

/// How to reach an SMTP server beyond its URL: credentials and time limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// The limit on connecting; a whole delivery may take twice this.
    pub timeout: Duration,
}

/// Validated settings: every URL parsed, every default filled in. Building these does no I/O.
#[derive(Debug, Clone)]
pub struct Settings {
    pub home: PathBuf,
    pub pipelines: Option<PathBuf>,
    pub incoming: BoundaryUrl,
    pub archive: BoundaryUrl,
    pub public: BoundaryUrl,
    pub error: BoundaryUrl,
    pub reports: BoundaryUrl,
    pub index: BoundaryUrl,
    /// Never holds credentials: those of an smtp:// URL are moved to `smtp`.
    pub notify: BoundaryUrl,
    pub smtp: SmtpSettings,
    pub notify_from: String,
    pub ops_email: Vec<String>,
    pub work_dir: Option<PathBuf>,
    pub lease: Duration,
    pub source_key_encoding: KeyEncoding,
    /// SQS queue for result events, if any.
    pub results_queue: Option<String>,
    pub transfer: crate::aws::Transfer,
    /// This attempt and the last one Batch will make, when both are known.
    pub attempt: Option<Attempt>,
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

/// A boundary's location, by scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoundaryUrl {
    /// A local directory (`/path`, `./path` or `file:///path`).
    Local(PathBuf),
    /// `s3://bucket/optional/prefix`.
    S3 { bucket: String, prefix: String },
    /// `sqlite://path` (relative) or `sqlite:///absolute/path`.
    Sqlite(PathBuf),
    /// `postgres://…` or `postgresql://…`, kept whole for the driver.
    Postgres(String),
    /// `smtp://…` or `smtps://…`, kept whole for the transport.
    Smtp(String),
}

/// A URL that names no known boundary, or names it badly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting}: {reason} (got {value:?})")]
pub struct SettingError {
    pub setting: &'static str,
    pub value: String,
    pub reason: String,
}

impl BoundaryUrl {
    pub fn parse(value: &str) -> Result<BoundaryUrl, String> {
        let value = value.trim();
        if value.is_empty() {
            return Err("empty URL".into());
        }
        if let Some(rest) = value.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err("s3:// URL without a bucket".into());
            }
            return Ok(BoundaryUrl::S3 {
                bucket: bucket.to_string(),
                prefix: prefix.trim_matches('/').to_string(),
            });
        }
        if let Some(rest) = value.strip_prefix("sqlite://") {
            if rest.is_empty() {
                return Err("sqlite:// URL without a path".into());
            }
            return Ok(BoundaryUrl::Sqlite(PathBuf::from(rest)));
        }
        if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            return Ok(BoundaryUrl::Postgres(value.to_string()));
        }
        if value.starts_with("smtp://") || value.starts_with("smtps://") {
            return Ok(BoundaryUrl::Smtp(value.to_string()));
        }
        if let Some(rest) = value.strip_prefix("file://") {
            if rest.starts_with('/') {
                let url = url::Url::parse(value).map_err(|e| e.to_string())?;
                return url
                    .to_file_path()
                    .map(BoundaryUrl::Local)
                    .map_err(|_| "not a local file URL".into());
            }
            return Ok(BoundaryUrl::Local(PathBuf::from(rest)));
        }
        if let Some((scheme, _)) = value.split_once("://") {
            return Err(format!("unknown scheme {scheme}://"));
        }
        Ok(BoundaryUrl::Local(PathBuf::from(value)))
    }

    pub fn scheme(&self) -> &'static str {
        match self {
            BoundaryUrl::Local(_) => "file://",
            BoundaryUrl::S3 { .. } => "s3://",
            BoundaryUrl::Sqlite(_) => "sqlite://",
            BoundaryUrl::Postgres(_) => "postgres://",
            BoundaryUrl::Smtp(_) => "smtp://",
        }
    }

    /// The URL as given to a backend's `open`, with local paths made explicit.
    pub fn to_url(&self) -> String {
        match self {
            BoundaryUrl::Local(p) => p.display().to_string(),
            BoundaryUrl::S3 { bucket, prefix } if prefix.is_empty() => format!("s3://{bucket}"),
            BoundaryUrl::S3 { bucket, prefix } => format!("s3://{bucket}/{prefix}"),
            BoundaryUrl::Sqlite(p) => format!("sqlite://{}", p.display()),
            BoundaryUrl::Postgres(u) | BoundaryUrl::Smtp(u) => u.clone(),
        }
    }
}

impl Settings {
    /// Validates the arguments and fills in defaults under the home folder. No I/O.
    pub fn resolve(args: &SettingsArgs) -> Result<Settings, SettingError> {
        let home = args.home.clone();
        let under = |name: &str| BoundaryUrl::Local(home.join(name));
        let store = |setting: &'static str, value: &Option<String>, default: &str| {
            let url = boundary(setting, value, || under(default))?;
            match url {
                BoundaryUrl::Local(_) | BoundaryUrl::S3 { .. } => Ok(url),
                other => Err(SettingError {
                    setting,
                    value: other.to_url(),
                    reason: "an object store must be a directory, file:// or s3:// URL".into(),
                }),
            }
        };
        let index = boundary("INGEST_INDEX_URL", &args.index_url, || {
            BoundaryUrl::Sqlite(home.join("index.sqlite"))
        })?;
        if !matches!(index, BoundaryUrl::Sqlite(_) | BoundaryUrl::Postgres(_)) {
            return Err(SettingError {
                setting: "INGEST_INDEX_URL",
                value: index.to_url(),
                reason: "the index must be a sqlite:// or postgres:// URL".into(),
            });
        }
        let notify = boundary("INGEST_NOTIFY_URL", &args.notify_url, || under("outbox"))?;
        if !matches!(notify, BoundaryUrl::Local(_) | BoundaryUrl::Smtp(_)) {
            return Err(SettingError {
                setting: "INGEST_NOTIFY_URL",
                value: redact_userinfo(&notify.to_url()),
                reason: "notifications go to a directory (outbox) or an smtp:// / smtps:// server"
                    .into(),
            });
        }
        let (notify, smtp) = smtp_settings(notify, args)?;
        // Checked now: a sender or data-team address that cannot be written in a message would
        // otherwise only surface as a notification that every job fails to send.
        let address = |setting: &'static str, value: &str, reason: String| SettingError {
            setting,
            value: value.to_string(),
            reason,
        };
        args.notify_from
            .parse::<lettre::message::Mailbox>()
            .map_err(|e| {
                address(
                    "INGEST_NOTIFY_FROM",
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
                address("INGEST_OPS_EMAIL", a, format!("not an email address ({e})"))
            })?;
        }
        if args.lease_seconds == 0 {
            return Err(SettingError {
                setting: "INGEST_LEASE_SECONDS",
                value: "0".into(),
                reason: "a claim must last at least one second".into(),
            });
        }
        if let BoundaryUrl::Postgres(url) = &index {
            crate::index::postgres::ConnectSpec::parse(url).map_err(|reason| SettingError {
                setting: "INGEST_INDEX_URL",
                value: crate::index::postgres::redact(url),
                reason,
            })?;
        }
        let results_queue = match args.results_queue_url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(q) if q.starts_with("https://") || q.starts_with("http://") => Some(q.to_string()),
            Some(q) => {
                return Err(SettingError {
                    setting: "INGEST_RESULTS_QUEUE_URL",
                    value: q.to_string(),
                    reason: "an SQS queue URL starts with https:// (e.g. https://sqs.ap-southeast-2.amazonaws.com/123456789012/results)".into(),
                });
            }
        };
        let transfer = transfer(args)?;
        Ok(Settings {
            incoming: store("INGEST_INCOMING_URL", &args.incoming_url, "incoming")?,
            archive: store("INGEST_ARCHIVE_URL", &args.archive_url, "archive")?,
            public: store("INGEST_PUBLIC_URL", &args.public_url, "public")?,
            error: store("INGEST_ERROR_URL", &args.error_url, "error")?,
            reports: store("INGEST_REPORTS_URL", &args.reports_url, "reports")?,
            index,
            notify,
            smtp,
            notify_from: args.notify_from.clone(),
            ops_email,
            work_dir: args.work_dir.clone(),
            lease: Duration::from_secs(args.lease_seconds),
            pipelines: args.pipelines.clone(),
            home,
            source_key_encoding: args.source_key_encoding,
            results_queue,
            attempt: match (args.batch_attempt, args.max_attempts) {
                (Some(current), Some(max)) if current >= 1 && max >= 1 => {
                    Some(Attempt { current, max })
                }
                _ => None,
            },
            transfer,
        })
    }

    /// The pipeline file to load: the flag or variable, else `./pipelines.toml` when it exists.
    pub fn pipelines_file(&self) -> Option<PathBuf> {
        self.pipelines.clone().or_else(|| {
            let default = Path::new("pipelines.toml");
            default.is_file().then(|| default.to_path_buf())
        })
    }
}

/// Moves the credentials of an smtp:// URL into the SMTP settings (so no URL that is logged or
/// reported carries them) and checks the URL the way the transport will read it.
fn smtp_settings(
    notify: BoundaryUrl,
    args: &SettingsArgs,
) -> Result<(BoundaryUrl, SmtpSettings), SettingError> {
    let mut smtp = SmtpSettings {
        username: args.smtp_username.clone().filter(|u| !u.is_empty()),
        password: args.smtp_password.clone().filter(|p| !p.0.is_empty()),
        timeout: Duration::from_secs(args.smtp_timeout_seconds),
    };
    if args.smtp_timeout_seconds == 0 {
        return Err(SettingError {
            setting: "INGEST_SMTP_TIMEOUT_SECONDS",
            value: "0".into(),
            reason: "the SMTP server needs at least one second to answer".into(),
        });
    }
    let BoundaryUrl::Smtp(raw) = &notify else {
        return Ok((notify, smtp));
    };
    let fail = |reason: String| SettingError {
        setting: "INGEST_NOTIFY_URL",
        value: redact_userinfo(raw),
        reason,
    };
    let mut url = url::Url::parse(raw).map_err(|e| fail(format!("not a URL: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        if smtp.username.is_some() || smtp.password.is_some() {
            return Err(fail(
                "credentials are given both in the URL and in INGEST_SMTP_USERNAME/INGEST_SMTP_PASSWORD: keep one".into(),
            ));
        }
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|_| fail("the URL's user or password is not UTF-8 once decoded".into()))
        };
        smtp.username = Some(decode(url.username())?);
        smtp.password = url.password().map(decode).transpose()?.map(Secret);
        // Infallible for a URL with a host, which the endpoint check below requires anyway.
        let _ = url.set_username("");
        let _ = url.set_password(None);
    }
    let clean = url.to_string();
    crate::notify::smtp::SmtpEndpoint::parse(&clean)
        .and_then(|endpoint| endpoint.check_credentials(&smtp))
        .map_err(fail)?;
    Ok((BoundaryUrl::Smtp(clean), smtp))
}

/// A URL with any password replaced by `***`, for messages and logs.
pub fn redact_userinfo(value: &str) -> String {
    match url::Url::parse(value) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        Ok(_) => value.to_string(),
        // Not a URL the parser accepts: cut any `user:password@` by hand.
        Err(_) => match (value.find("://"), value.rfind('@')) {
            (Some(s), Some(at)) if at > s && value[s + 3..at].contains(':') => {
                let user = value[s + 3..at].split(':').next().unwrap_or("");
                format!("{}://{user}:***@{}", &value[..s], &value[at + 1..])
            }
            _ => value.to_string(),
        },
    }
}

/// The S3 transfer sizes, checked against S3's limits on parts.
fn transfer(args: &SettingsArgs) -> Result<crate::aws::Transfer, SettingError> {
    const MIB: u64 = 1024 * 1024;
    let size = |setting: &'static str, value: &str| {
        parse_bytes(value).map_err(|reason| SettingError {
            setting,
            value: value.to_string(),
            reason,
        })
    };
    let threshold = size(
        "INGEST_S3_MULTIPART_THRESHOLD",
        &args.s3_multipart_threshold,
    )?;
    let part_size = size("INGEST_S3_PART_SIZE", &args.s3_part_size)?;
    if !(5 * MIB..=5 * 1024 * MIB).contains(&part_size) {
        return Err(SettingError {
            setting: "INGEST_S3_PART_SIZE",
            value: args.s3_part_size.clone(),
            reason: "S3 parts are between 5MiB and 5GiB".into(),
        });
    }
    if threshold < part_size {
        return Err(SettingError {
            setting: "INGEST_S3_MULTIPART_THRESHOLD",
            value: args.s3_multipart_threshold.clone(),
            reason: format!(
                "the threshold must be at least the part size ({})",
                args.s3_part_size
            ),
        });
    }
    Ok(crate::aws::Transfer {
        multipart_threshold: threshold,
        part_size,
        ..Default::default()
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

fn boundary(
    setting: &'static str,
    value: &Option<String>,
    default: impl FnOnce() -> BoundaryUrl,
) -> Result<BoundaryUrl, SettingError> {
    match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(default()),
        Some(v) => BoundaryUrl::parse(v).map_err(|reason| SettingError {
            setting,
            value: redact_userinfo(v),
            reason,
        }),
    }
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
            BoundaryUrl::Smtp("smtps://email-smtp.example.com".into())
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
    fn passwords_in_urls_are_masked_in_messages() {
        assert_eq!(
            redact_userinfo("postgres://app:secret@db:5432/ingest"),
            "postgres://app:***@db:5432/ingest"
        );
        assert_eq!(redact_userinfo("smtp://h:25"), "smtp://h:25");
        assert_eq!(
            redact_userinfo("ftp ://u:secret@h"),
            "ftp ://u:***@h",
            "even where the URL does not parse"
        );
    }

    #[test]
    fn parses_each_scheme() {
        assert_eq!(
            BoundaryUrl::parse("s3://bucket/a/b/").unwrap(),
            BoundaryUrl::S3 {
                bucket: "bucket".into(),
                prefix: "a/b".into()
            }
        );
        assert_eq!(
            BoundaryUrl::parse("file:///tmp/x%20y").unwrap(),
            BoundaryUrl::Local("/tmp/x y".into())
        );
        assert_eq!(
            BoundaryUrl::parse("var/public").unwrap(),
            BoundaryUrl::Local("var/public".into())
        );
        assert_eq!(
            BoundaryUrl::parse("sqlite://var/i.db").unwrap(),
            BoundaryUrl::Sqlite("var/i.db".into())
        );
        assert_eq!(
            BoundaryUrl::parse("sqlite:///abs/i.db").unwrap(),
            BoundaryUrl::Sqlite("/abs/i.db".into())
        );
        assert!(matches!(
            BoundaryUrl::parse("postgresql://u@h/db").unwrap(),
            BoundaryUrl::Postgres(_)
        ));
        assert!(
            BoundaryUrl::parse("ftp://x")
                .unwrap_err()
                .contains("unknown scheme")
        );
        assert!(BoundaryUrl::parse("s3:///key").is_err());
    }

    #[test]
    fn parses_byte_sizes() {
        assert_eq!(parse_bytes("16MiB").unwrap(), 16 << 20);
        assert_eq!(parse_bytes("5242880").unwrap(), 5 << 20);
        assert_eq!(parse_bytes("1g").unwrap(), 1 << 30);
        assert!(parse_bytes("16 parsecs").is_err());
        assert!(parse_bytes("MiB").is_err());
    }
}
