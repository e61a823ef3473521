//! Connections to PostgreSQL: the URL (with libpq's `sslmode` and `sslrootcert`, which
//! tokio-postgres alone does not fully read), TLS, a small pool, and which failures are transient.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, Config, NoTls};
use tracing::Instrument;

use super::tls::{self, MakeRustls, Verify};
use crate::deadline::Timeouts;
use crate::index::{ErrorKind, IndexError, IndexOp};
use crate::location::UrlError;

/// Connections one process keeps at most: a job uses one at a time; `replay --inline` a few.
const MAX_CONNECTIONS: usize = 8;

/// A parsed `postgres://` URL and how to secure the connection.
#[derive(Clone)]
pub struct ConnectSpec {
    pub config: Config,
    pub verify: Option<Verify>,
    pub root_cert: Option<PathBuf>,
    /// The URL without password or parameters, for messages.
    pub location: String,
    /// Whether the URL set `connect_timeout` itself (then it wins over the settings').
    pub url_connect_timeout: bool,
}

impl std::fmt::Debug for ConnectSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectSpec")
            .field("location", &self.location)
            .field("verify", &self.verify)
            .finish()
    }
}

impl ConnectSpec {
    /// Parses a URL without any I/O. `sslmode` is one of disable, prefer (the default), require,
    /// verify-ca, verify-full; `sslrootcert` names a PEM file of trusted CAs.
    pub fn parse(url: &str) -> Result<ConnectSpec, UrlError> {
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut kept = Vec::new();
        let mut sslmode = None;
        let mut root_cert = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_encoding::percent_decode_str(v)
                .decode_utf8()
                .map_err(|_| UrlError::new(format!("the value of {k} is not UTF-8")))?
                .into_owned();
            match k {
                "sslmode" => sslmode = Some(value),
                "sslrootcert" => root_cert = Some(PathBuf::from(value)),
                _ => kept.push(pair),
            }
        }
        let rest = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        let mut config = Config::from_str(&rest).map_err(|e| {
            UrlError::new(format!("not a PostgreSQL URL ({e}); expected postgres://user:password@host:5432/database?sslmode=require"))
        })?;
        let verify = match sslmode.as_deref() {
            Some("disable") => None,
            None | Some("prefer" | "allow" | "require") if root_cert.is_some() => {
                Some(Verify::Chain)
            }
            None | Some("prefer" | "allow" | "require") => Some(Verify::Nothing),
            Some("verify-ca") => Some(Verify::Chain),
            Some("verify-full") => Some(Verify::Full),
            Some(other) => {
                return Err(UrlError::new(format!(
                    "sslmode={other} is not one of disable, prefer, require, verify-ca, verify-full"
                )));
            }
        };
        config.ssl_mode(match sslmode.as_deref() {
            Some("disable") => SslMode::Disable,
            None | Some("prefer" | "allow") => SslMode::Prefer,
            _ => SslMode::Require,
        });
        let url_connect_timeout = config.get_connect_timeout().is_some();
        if !url_connect_timeout {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("ocean-ingest");
        }
        Ok(ConnectSpec {
            config,
            verify,
            root_cert,
            location: redact(url),
            url_connect_timeout,
        })
    }

    /// Applies the network deadlines: the connect timeout (unless the URL set one) and TCP
    /// keepalives that find a vanished server or network path within about twice the idle limit.
    pub fn with_timeouts(mut self, t: &Timeouts) -> ConnectSpec {
        if !self.url_connect_timeout {
            self.config.connect_timeout(t.connect);
        }
        let interval = (t.idle / 3).max(Duration::from_secs(1));
        self.config
            .keepalives(true)
            .keepalives_idle(t.idle)
            .keepalives_interval(interval)
            .keepalives_retries(3);
        self
    }
}

/// The URL without its password and parameters, safe for logs and reports.
pub fn redact(url: &str) -> String {
    let base = url.split_once('?').map_or(url, |(b, _)| b);
    match url::Url::parse(base) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(None);
            }
            u.to_string()
        }
        Err(_) => "postgres://(unparsable URL)".to_string(),
    }
}

/// A few connections, opened on demand and reused; a broken one is dropped.
#[derive(Debug)]
pub struct Pool {
    spec: ConnectSpec,
    timeouts: Timeouts,
    tls: Option<MakeRustls>,
    idle: Mutex<Vec<Client>>,
    permits: Arc<Semaphore>,
}

impl std::fmt::Debug for MakeRustls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MakeRustls")
    }
}

/// A connection borrowed from the pool; it goes back when dropped, unless it broke.
pub struct Pooled {
    client: Option<Client>,
    pool: Arc<Pool>,
    _permit: OwnedSemaphorePermit,
}

impl std::ops::Deref for Pooled {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.client.as_ref().expect("held until drop")
    }
}

impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut Client {
        self.client.as_mut().expect("held until drop")
    }
}

impl Pooled {
    /// Closes a connection whose state is unknown (a call on it timed out) instead of returning
    /// it to the pool.
    pub fn discard(mut self) {
        self.client.take();
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(client) = self.client.take().filter(|c| !c.is_closed()) {
            self.pool
                .idle
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(client);
        }
    }
}

impl Pool {
    /// A pool for a parsed URL; builds the TLS configuration (reading `sslrootcert`) but connects
    /// nothing yet.
    pub fn new(spec: ConnectSpec, timeouts: Timeouts) -> Result<Pool, IndexError> {
        let tls = match spec.verify {
            None => None,
            Some(verify) => Some(MakeRustls(Arc::new(
                tls::client_config(verify, spec.root_cert.as_deref()).map_err(|message| {
                    IndexError::new(
                        IndexOp::Open,
                        spec.location.clone(),
                        ErrorKind::Permanent,
                        message,
                    )
                })?,
            ))),
        };
        Ok(Pool {
            spec: spec.with_timeouts(&timeouts),
            timeouts,
            tls,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
        })
    }

    /// The database URL without credentials.
    pub fn location(&self) -> &str {
        &self.spec.location
    }

    pub fn timeouts(&self) -> &Timeouts {
        &self.timeouts
    }

    /// A connection: an idle one, or a new one.
    pub async fn get(self: &Arc<Pool>, op: IndexOp) -> Result<Pooled, IndexError> {
        let permit = self.permits.clone().acquire_owned().await.map_err(|e| {
            IndexError::new(
                op,
                self.spec.location.clone(),
                ErrorKind::Permanent,
                e.to_string(),
            )
        })?;
        let idle = {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            std::iter::from_fn(|| idle.pop()).find(|c| !c.is_closed())
        };
        let client = match idle {
            Some(c) => c,
            None => {
                // The whole start-up (TCP, TLS, login, session settings) within the connect limit.
                let limit = self.timeouts.connect;
                match tokio::time::timeout(limit, self.connect()).await {
                    Ok(connected) => connected.map_err(|e| error(op, &self.spec.location, e))?,
                    Err(_) => {
                        return Err(IndexError::new(
                            op,
                            self.spec.location.clone(),
                            ErrorKind::Transient,
                            format!(
                                "no connection within {} s (INGEST_CONNECT_TIMEOUT_SECONDS)",
                                limit.as_secs()
                            ),
                        ));
                    }
                }
            }
        };
        Ok(Pooled {
            client: Some(client),
            pool: self.clone(),
            _permit: permit,
        })
    }

    async fn connect(&self) -> Result<Client, tokio_postgres::Error> {
        let location = self.spec.location.clone();
        // A pooled connection outlives the job that opened it and serves others: its own lines
        // name the index, never a job.
        let span = tracing::info_span!(parent: None, "index_connection", index = %location);
        let log = move |e: tokio_postgres::Error| {
            tracing::warn!(error = %describe(&e), "index connection closed");
        };
        let client = match &self.tls {
            None => {
                let (client, conn) = self.spec.config.connect(NoTls).await?;
                tokio::spawn(async move { conn.await.map_err(log).ok() }.instrument(span));
                client
            }
            Some(tls) => {
                let (client, conn) = self.spec.config.connect(tls.clone()).await?;
                tokio::spawn(async move { conn.await.map_err(log).ok() }.instrument(span));
                client
            }
        };
        // The server ends a statement that runs past the request limit (a lock wait, a slow
        // query), and a transaction whose client stopped talking mid-way, so its locks go with
        // it: a stalled job can then neither hold the ledger nor commit late.
        let ms = self.timeouts.request.as_millis();
        client
            .batch_execute(&format!(
                "SET statement_timeout = {ms}; SET idle_in_transaction_session_timeout = {ms}"
            ))
            .await?;
        Ok(client)
    }
}

/// An index error from a driver error, classified.
pub fn error(op: IndexOp, location: &str, e: tokio_postgres::Error) -> IndexError {
    let kind = if is_transient(&e) {
        ErrorKind::Transient
    } else {
        ErrorKind::Permanent
    };
    IndexError::new(op, location, kind, describe(&e)).with_source(e)
}

/// SQLSTATEs a retry can clear: serialization failures and deadlocks, a server shutting down or
/// starting, too many connections, lock timeouts, resource shortages, and lost connections.
fn transient_state(code: &str) -> bool {
    matches!(
        code,
        "40001" | "40P01" | "55P03" | "57P01" | "57P02" | "57P03" | "57014" | "58000" | "58030"
    ) || code.starts_with("08")
        || code.starts_with("53")
}

/// Whether a retry may succeed.
pub fn is_transient(e: &tokio_postgres::Error) -> bool {
    if let Some(code) = e.code() {
        return transient_state(code.code());
    }
    if e.is_closed() {
        return true;
    }
    // No SQLSTATE: the failure happened on the way (connect, TLS, socket). A refused certificate
    // stays refused; a refused, reset or timed-out connection may not.
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    let mut io = false;
    while let Some(c) = cause {
        if c.downcast_ref::<rustls::Error>().is_some() {
            return false;
        }
        if let Some(ioe) = c.downcast_ref::<std::io::Error>() {
            if ioe
                .get_ref()
                .is_some_and(|inner| inner.is::<rustls::Error>())
            {
                return false;
            }
            io = true;
        }
        cause = c.source();
    }
    io || e.to_string().contains("timeout")
}

/// A driver error in one line: the server's message, detail and hint, or the cause chain.
pub fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut out = format!("{} {}: {}", db.severity(), db.code().code(), db.message());
        if let Some(d) = db.detail() {
            out.push_str(&format!(" ({d})"));
        }
        if let Some(h) = db.hint() {
            out.push_str(&format!("; hint: {h}"));
        }
        return out;
    }
    let mut out = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_libpq_tls_parameters() {
        let spec = ConnectSpec::parse(
            "postgres://u:secret@db.example:5432/ingest?sslmode=require&connect_timeout=5",
        )
        .unwrap();
        assert_eq!(spec.verify, Some(Verify::Nothing));
        assert_eq!(spec.config.get_ssl_mode(), SslMode::Require);
        assert_eq!(
            spec.config.get_connect_timeout(),
            Some(&Duration::from_secs(5))
        );
        assert_eq!(spec.location, "postgres://u@db.example:5432/ingest");
        let spec = ConnectSpec::parse(
            "postgres://u@h/db?sslmode=verify-full&sslrootcert=%2Fetc%2Frds.pem",
        )
        .unwrap();
        assert_eq!(spec.verify, Some(Verify::Full));
        assert_eq!(spec.root_cert, Some(PathBuf::from("/etc/rds.pem")));
        let spec = ConnectSpec::parse("postgres://u@h/db?sslrootcert=/ca.pem").unwrap();
        assert_eq!(
            spec.verify,
            Some(Verify::Chain),
            "a root certificate is used, as libpq does"
        );
        let spec = ConnectSpec::parse("postgresql://u@h/db?sslmode=disable").unwrap();
        assert_eq!(spec.verify, None);
        assert_eq!(
            spec.config.get_connect_timeout(),
            Some(&Duration::from_secs(10))
        );
        assert!(
            ConnectSpec::parse("postgres://u@h/db?sslmode=sometimes")
                .unwrap_err()
                .reason
                .contains("sslmode")
        );
        assert!(ConnectSpec::parse("postgres://u@h/db?colour=blue").is_err());
    }

    #[test]
    fn state_conflicts_and_shutdowns_are_transient() {
        for code in ["40001", "40P01", "57P01", "08006", "53300"] {
            assert!(transient_state(code), "{code}");
        }
        for code in ["23505", "42P01", "28P01", "42501"] {
            assert!(!transient_state(code), "{code}");
        }
    }
}
