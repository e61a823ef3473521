//! SMTP as the notifier: any relay or a cloud provider's SMTP endpoint (e.g. Amazon SES), over
//! STARTTLS or implicit TLS, with credentials and time limits, each failure classified so the job
//! knows whether another attempt can help.

use std::time::Duration;

use async_trait::async_trait;
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncTransport, Tokio1Executor};

use super::{Notification, Notifier, NotifyError, NotifyOp, SmtpSettings, to_message};
use crate::error::ErrorKind;
use crate::location::UrlError;
use crate::secret::Secret;
use crate::vars;

/// The user and password written in an `smtp://user:password@host` URL, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlCredentials {
    pub username: String,
    pub password: Option<Secret>,
}

/// How the connection to the server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `smtps://`: TLS from the first byte (port 465 by default).
    ImplicitTls,
    /// `smtp://`: plain connection upgraded with STARTTLS, which the server must offer (port 587 by
    /// default). The default, because it is what submission endpoints such as SES expect.
    StartTls,
    /// `smtp://…?tls=none`: no encryption, for a relay on the same host or network and for tests
    /// (port 25 by default). Credentials are refused over it.
    None,
}

/// Where the SMTP server is, parsed from `INGEST_NOTIFY_URL` without I/O.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpEndpoint {
    pub host: String,
    pub port: u16,
    pub security: Security,
}

impl SmtpEndpoint {
    /// Parses `smtp://host[:port][?tls=starttls|none]` or `smtps://host[:port]`, refusing
    /// credentials in the URL (they belong in the SMTP settings).
    pub fn parse(value: &str) -> Result<SmtpEndpoint, UrlError> {
        let url = url::Url::parse(value).map_err(|e| UrlError::new(format!("not a URL: {e}")))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(UrlError::new(format!(
                "credentials belong in {} / {}",
                vars::SMTP_USERNAME,
                vars::SMTP_PASSWORD
            )));
        }
        Self::from_url(&url).map_err(UrlError::new)
    }

    /// Parses an SMTP URL that may carry `user:password@`, taking the credentials out, so the
    /// endpoint that is logged and reported never holds them.
    pub fn parse_with_credentials(
        value: &str,
    ) -> Result<(SmtpEndpoint, Option<UrlCredentials>), UrlError> {
        let url = url::Url::parse(value).map_err(|e| UrlError::new(format!("not a URL: {e}")))?;
        let credentials = if url.username().is_empty() && url.password().is_none() {
            None
        } else {
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8()
                    .map(|s| s.into_owned())
                    .map_err(|_| {
                        UrlError::new("the URL's user or password is not UTF-8 once decoded")
                    })
            };
            Some(UrlCredentials {
                username: decode(url.username())?,
                password: url.password().map(decode).transpose()?.map(Secret::new),
            })
        };
        Ok((Self::from_url(&url).map_err(UrlError::new)?, credentials))
    }

    fn from_url(url: &url::Url) -> Result<SmtpEndpoint, String> {
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("the URL names no server: use smtp://host:port")?
            .trim_matches(['[', ']'])
            .to_string();
        if !matches!(url.path(), "" | "/") {
            return Err(format!(
                "an SMTP URL has no path (got {:?}): use smtp://host:port",
                url.path()
            ));
        }
        let mut tls: Option<String> = None;
        for (k, v) in url.query_pairs() {
            match k.as_ref() {
                "tls" => tls = Some(v.to_ascii_lowercase()),
                other => {
                    return Err(format!(
                        "unknown parameter {other:?} in the SMTP URL (known: tls)"
                    ));
                }
            }
        }
        let security = match (url.scheme(), tls.as_deref()) {
            ("smtps", None) => Security::ImplicitTls,
            ("smtps", Some(t)) => {
                return Err(format!(
                    "smtps:// is always TLS; tls={t} applies to smtp:// only"
                ));
            }
            ("smtp", None | Some("starttls") | Some("required")) => Security::StartTls,
            ("smtp", Some("none")) => Security::None,
            ("smtp", Some(t)) => {
                return Err(format!(
                    "tls={t} is not a choice: use tls=starttls (the default) or tls=none, or smtps:// for implicit TLS"
                ));
            }
            (scheme, _) => return Err(format!("{scheme}:// is not an SMTP URL")),
        };
        let port = url.port().unwrap_or(match security {
            Security::ImplicitTls => 465,
            Security::StartTls => 587,
            Security::None => 25,
        });
        Ok(SmtpEndpoint {
            host,
            port,
            security,
        })
    }

    /// Refuses credentials that would cross the network in clear, or a password without a user.
    pub fn check_credentials(&self, settings: &SmtpSettings) -> Result<(), UrlError> {
        match (&settings.username, &settings.password) {
            (Some(_), _) if self.security == Security::None => Err(UrlError::new(format!(
                "{} has tls=none: the credentials would cross the network in clear; use STARTTLS (drop tls=none) or smtps://",
                self.location()
            ))),
            (None, Some(_)) => Err(UrlError::new(format!(
                "an SMTP password without a user name: set {}",
                vars::SMTP_USERNAME
            ))),
            _ => Ok(()),
        }
    }

    /// The server as a URL, without credentials: what reports and logs show.
    pub fn location(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match self.security {
            Security::ImplicitTls => format!("smtps://{host}:{}", self.port),
            Security::StartTls => format!("smtp://{host}:{}", self.port),
            Security::None => format!("smtp://{host}:{}?tls=none", self.port),
        }
    }
}

/// Sends each notification to an SMTP server. The transport is built once, with no I/O: a server
/// that is down is found out when a message is sent, and must not stop a job from starting.
pub struct SmtpNotifier {
    endpoint: SmtpEndpoint,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    /// The limit on one whole delivery (connect, greet, authenticate, send).
    deadline: Duration,
}

impl std::fmt::Debug for SmtpNotifier {
    // The transport holds the credentials: show only where messages go.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpNotifier")
            .field("endpoint", &self.endpoint.location())
            .field("deadline", &self.deadline)
            .finish()
    }
}

impl SmtpNotifier {
    pub fn new(
        endpoint: SmtpEndpoint,
        settings: &SmtpSettings,
    ) -> Result<SmtpNotifier, NotifyError> {
        let refuse = |message: String| {
            NotifyError::new(
                NotifyOp::Open,
                endpoint.location(),
                ErrorKind::Permanent,
                message,
            )
        };
        let tls = match endpoint.security {
            Security::None => Tls::None,
            Security::StartTls | Security::ImplicitTls => {
                let params = TlsParameters::new(endpoint.host.clone())
                    .map_err(|e| refuse(format!("TLS cannot be set up: {e}")))?;
                if endpoint.security == Security::StartTls {
                    Tls::Required(params)
                } else {
                    Tls::Wrapper(params)
                }
            }
        };
        endpoint
            .check_credentials(settings)
            .map_err(|e| refuse(e.reason))?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&endpoint.host)
            .port(endpoint.port)
            .tls(tls)
            .timeout(Some(settings.timeout));
        if let Some(user) = &settings.username {
            let password = settings.password.as_ref().map(|p| p.expose().to_string());
            builder =
                builder.credentials(Credentials::new(user.clone(), password.unwrap_or_default()));
        }
        Ok(SmtpNotifier {
            deadline: settings.timeout,
            transport: builder.build(),
            endpoint,
        })
    }

    fn error(&self, kind: ErrorKind, message: String) -> NotifyError {
        NotifyError::new(NotifyOp::Send, self.endpoint.location(), kind, message)
    }
}

#[async_trait]
impl Notifier for SmtpNotifier {
    fn location(&self) -> String {
        self.endpoint.location()
    }

    async fn send(&self, n: &Notification) -> Result<String, NotifyError> {
        let message = to_message(n).map_err(|e| {
            self.error(
                ErrorKind::Permanent,
                format!("the message cannot be built: {e}"),
            )
        })?;
        match tokio::time::timeout(self.deadline, self.transport.send(message)).await {
            Err(_) => Err(self.error(
                ErrorKind::Transient,
                format!(
                    "the server did not complete the delivery within {} s",
                    self.deadline.as_secs()
                ),
            )),
            Ok(Err(e)) => {
                let (kind, message) = classify(&e);
                Err(self.error(kind, message).with_source(e))
            }
            Ok(Ok(response)) => Ok(format!(
                "{} ({} {})",
                self.endpoint.location(),
                response.code(),
                response.message().next().unwrap_or_default()
            )),
        }
    }
}

/// Whether another attempt may succeed, and what to tell the data team. Refused or timed-out
/// connections and 4xx replies are transient; 5xx replies, TLS and protocol failures are not.
fn classify(e: &lettre::transport::smtp::Error) -> (ErrorKind, String) {
    use ErrorKind::{Permanent, Transient};
    let code = e.status().map(|c| c.to_string());
    if e.is_permanent() {
        let hint = match code.as_deref() {
            Some("535") | Some("534") | Some("530") => format!(
                "authentication failed: check {} and {}",
                vars::SMTP_USERNAME,
                vars::SMTP_PASSWORD
            ),
            _ => format!(
                "the server refused the message: check {} and the recipients",
                vars::NOTIFY_FROM
            ),
        };
        (Permanent, format!("{hint} ({e})"))
    } else if e.is_transient() {
        (
            Transient,
            format!("the server deferred the message, try again later ({e})"),
        )
    } else if e.is_timeout() {
        (
            Transient,
            format!("the server did not answer in time ({e})"),
        )
    } else if e.is_tls() {
        (
            Permanent,
            format!("TLS with the server failed: check the URL's scheme and tls setting ({e})"),
        )
    } else if e.is_client() || e.is_response() {
        (
            Permanent,
            format!("the server does not speak the SMTP this URL asks for ({e})"),
        )
    } else {
        (
            Transient,
            format!("the server cannot be reached: it is down or the URL is wrong ({e})"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_says_how_the_connection_is_protected() {
        let p = |u: &str| SmtpEndpoint::parse(u).unwrap();
        assert_eq!(
            p("smtp://mail.example.org"),
            SmtpEndpoint {
                host: "mail.example.org".into(),
                port: 587,
                security: Security::StartTls
            }
        );
        assert_eq!(p("smtps://mail.example.org").port, 465);
        assert_eq!(
            p("smtps://mail.example.org").security,
            Security::ImplicitTls
        );
        let local = p("smtp://127.0.0.1:2525?tls=none");
        assert_eq!((local.port, local.security), (2525, Security::None));
        assert_eq!(local.location(), "smtp://127.0.0.1:2525?tls=none");
        assert_eq!(p("smtp://relay?tls=none").port, 25);
        assert_eq!(
            p("smtp://[::1]:25?tls=none").location(),
            "smtp://[::1]:25?tls=none"
        );
        assert_eq!(
            p("smtp://email-smtp.eu-west-1.amazonaws.com:587?tls=starttls").security,
            Security::StartTls
        );
    }

    #[test]
    fn a_wrong_url_is_refused_with_the_fix() {
        for (url, says) in [
            ("smtp://", "names no server"),
            ("smtp://h?tls=opportunistic", "not a choice"),
            ("smtps://h?tls=none", "always TLS"),
            ("smtp://h?timeout=3", "unknown parameter"),
            ("smtp://h/x", "no path"),
            ("smtp://u:p@h", "INGEST_SMTP_USERNAME"),
        ] {
            let err = SmtpEndpoint::parse(url).unwrap_err();
            assert!(err.reason.contains(says), "{url}: {err}");
        }
    }

    // The transport's connection pool lives on the Tokio runtime, as it does in the job.
    #[tokio::test]
    async fn credentials_are_never_sent_in_clear_nor_shown() {
        let settings = SmtpSettings {
            username: Some("AKIAEXAMPLE".into()),
            password: Some(Secret::new("hunter2")),
            timeout: Duration::from_secs(5),
        };
        let plain = SmtpEndpoint::parse("smtp://relay:25?tls=none").unwrap();
        assert!(
            SmtpNotifier::new(plain, &settings)
                .unwrap_err()
                .to_string()
                .contains("in clear")
        );
        let tls = SmtpEndpoint::parse("smtp://relay:587").unwrap();
        let notifier = SmtpNotifier::new(tls, &settings).unwrap();
        let shown = format!("{notifier:?} {}", notifier.location());
        assert!(
            !shown.contains("hunter2") && !shown.contains("AKIA"),
            "{shown}"
        );
    }
}
