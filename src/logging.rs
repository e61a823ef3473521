//! Structured logs on stderr: JSON for machines (containers, CI), human text on a terminal. In
//! JSON every line carries the fields of the spans it was logged in (a job's `job_id`, `pipeline`
//! and `key`) at the top level, beside its own, so a log query can filter on them directly.

use std::fmt;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormattedFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// How log lines are written on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Text on a terminal, JSON otherwise.
    Auto,
    Text,
    Json,
}

/// Whether log lines go out as JSON, so the lines a command writes outside the log (its fatal
/// error, replay's per-upload problems) can go out as JSON too and a log query sees them.
static JSON: AtomicBool = AtomicBool::new(false);

/// How bad a line written outside a job's log is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Warn,
    Error,
}

/// Writes a line for the person or system reading stderr that is not part of a job's log: the
/// error that stopped a command, an upload replay could not find or send. On a terminal (text
/// logs) it is `prefix: message` as before; with JSON logs it is one JSON log line with the level,
/// the `message` and the prefix as `kind`, since every stderr line of a container becomes a log
/// event that a metric filter or a query must be able to parse.
pub fn outside_job(severity: Severity, prefix: &str, message: &str) {
    if !JSON.load(Ordering::Relaxed) {
        eprintln!("{prefix}: {message}");
        return;
    }
    match severity {
        Severity::Warn => tracing::warn!(kind = prefix, "{message}"),
        Severity::Error => tracing::error!(kind = prefix, "{message}"),
    }
}

/// What is logged when `RUST_LOG` says nothing: `info`, with the PostgreSQL driver's server
/// notices, such as "already exists, skipping" during migrations, kept at `warn`.
const DEFAULT_LEVELS: &str = "info,tokio_postgres=warn";

/// Installs the global subscriber once. The levels come from `RUST_LOG`: a default level and
/// `target=level` directives, e.g. `info,ocean_ingest=debug` ([`DEFAULT_LEVELS`] when unset).
/// The filter is tracing's `Targets`, not its `EnvFilter`: the latter's span and field
/// directives need the `regex` crate built with full DFAs, and that build doubles the cost of
/// compiling every pattern in the process (the checks', the pipeline file's), which a job pays
/// once per file (BENCHMARKS.md).
pub fn init(format: LogFormat) {
    let asked = std::env::var("RUST_LOG").ok();
    let (filter, refused) = levels(asked.as_deref());
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Text => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    };
    JSON.store(json, Ordering::Relaxed);
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let registry = tracing_subscriber::registry().with(filter);
    let result = if json {
        registry
            .with(layer.fmt_fields(JsonFields::new()).event_format(FlatJson))
            .try_init()
    } else {
        registry.with(layer.compact().with_target(false)).try_init()
    };
    if let Some(why) = refused {
        outside_job(Severity::Warn, "warning", &why);
    }
    // A second init (tests running several commands in one process) keeps the first subscriber.
    let _ = result;
}

/// The filter `RUST_LOG` asks for, or the default and why the value was refused.
fn levels(asked: Option<&str>) -> (Targets, Option<String>) {
    let default = || DEFAULT_LEVELS.parse().expect("the default levels parse");
    match asked.filter(|v| !v.trim().is_empty()) {
        None => (default(), None),
        Some(v) => match v.parse::<Targets>() {
            Ok(t) => (t, None),
            Err(e) => (
                default(),
                Some(format!(
                    "RUST_LOG={v:?} is not a level and target=level directives ({e}), e.g. \
                     info,ocean_ingest=debug; logging at {DEFAULT_LEVELS}"
                )),
            ),
        },
    }
}

/// One JSON object per line: time, level, the fields of every enclosing span (outermost first),
/// the event's own fields (which win over a span's of the same name), and the target.
struct FlatJson;

impl<S, N> FormatEvent<S, N> for FlatJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = Map::new();
        line.insert(
            "timestamp".into(),
            Value::String(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        );
        line.insert(
            "level".into(),
            Value::String(event.metadata().level().to_string()),
        );
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                // Span fields are kept as the JSON text `JsonFields` wrote.
                if let Some(fields) = extensions.get::<FormattedFields<N>>()
                    && let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(&fields.fields)
                {
                    line.extend(fields);
                }
            }
        }
        event.record(&mut Fields(&mut line));
        line.insert(
            "target".into(),
            Value::String(event.metadata().target().to_string()),
        );
        writeln!(writer, "{}", Value::Object(line))
    }
}

/// Records an event's fields into the line.
struct Fields<'a>(&'a mut Map<String, Value>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .insert(field.name().into(), Value::String(value.into()));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), Value::Bool(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), Value::from(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), Value::from(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0
            .insert(field.name().into(), Value::String(value.to_string()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), Value::String(format!("{value:?}")));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A writer the test reads back.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn rust_log_sets_a_default_level_and_levels_by_target() {
        use tracing::Level;
        let on = |t: &Targets, target: &str, level: Level| t.would_enable(target, &level);
        let (t, refused) = levels(None);
        assert!(refused.is_none());
        assert!(on(&t, "ocean_ingest::job", Level::INFO));
        assert!(!on(&t, "ocean_ingest::job", Level::DEBUG));
        assert!(!on(&t, "tokio_postgres::connection", Level::INFO));
        assert!(on(&t, "tokio_postgres::connection", Level::WARN));
        // The forms the README and the deployment's examples give.
        let (t, refused) = levels(Some("info,ocean_ingest=debug"));
        assert!(refused.is_none());
        assert!(on(&t, "ocean_ingest::store::s3", Level::DEBUG));
        assert!(!on(&t, "aws_smithy_runtime", Level::DEBUG));
        assert!(on(&t, "aws_smithy_runtime", Level::INFO));
        let (t, _) = levels(Some("ocean_ingest=debug"));
        assert!(on(&t, "ocean_ingest::job", Level::DEBUG));
        assert!(!on(&t, "aws_smithy_runtime", Level::ERROR));
        let (t, _) = levels(Some("warn"));
        assert!(!on(&t, "ocean_ingest::job", Level::INFO));
        // Blank is unset; nonsense keeps the default and says so.
        assert!(levels(Some("  ")).1.is_none());
        let (t, refused) = levels(Some("ocean_ingest=loud"));
        assert!(on(&t, "ocean_ingest::job", Level::INFO));
        let why = refused.expect("a refused value is reported");
        assert!(
            why.contains("ocean_ingest=loud") && why.contains("logging at info"),
            "{why}"
        );
    }

    #[test]
    fn every_line_carries_its_spans_fields_at_the_top() {
        let out = Captured::default();
        let writer = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .fmt_fields(JsonFields::new())
            .event_format(FlatJson)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let job = tracing::info_span!(
                "job",
                job_id = "J1",
                pipeline = tracing::field::Empty,
                key = "a/b.nc"
            );
            let _in_job = job.enter();
            tracing::info!(state = "Initial", pipeline = "-", "state");
            job.record("pipeline", "anmn");
            let op = tracing::info_span!("op", op = "put");
            op.in_scope(|| tracing::warn!(attempt = 2u64, "retrying"));
        });
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0]["job_id"], "J1");
        assert_eq!(lines[0]["pipeline"], "-", "the event's own field wins");
        assert_eq!(lines[0]["message"], "state");
        assert_eq!(lines[1]["job_id"], "J1", "through a nested span");
        assert_eq!(
            lines[1]["pipeline"], "anmn",
            "recorded after the span began"
        );
        assert_eq!(lines[1]["key"], "a/b.nc");
        assert_eq!(lines[1]["op"], "put");
        assert_eq!(lines[1]["attempt"], 2);
        assert_eq!(lines[1]["level"], "WARN");
    }
}
