//! Blocking work (file copies, hashing, NetCDF, SQLite, plots) off the async workers, run inside
//! the caller's tracing span, so every line it logs still carries the job's fields.

/// Runs `f` on the blocking pool inside the current span; an error only if it panicked or was
/// cancelled.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, tokio::task::JoinError> {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(f)).await
}

/// Starts `f` on the blocking pool at once, inside the current span, for a caller that may drop
/// the handle unawaited (work done ahead that a job stopping early no longer wants): the future
/// of [`blocking`] would start nothing until it is polled.
pub fn spawn_blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> tokio::task::JoinHandle<T> {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(f))
}

/// Whether this process may run on more than one core, read once: the standard library reads the
/// cgroup's files again on every call.
pub fn several_cores() -> bool {
    static SEVERAL: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SEVERAL.get_or_init(|| std::thread::available_parallelism().is_ok_and(|n| n.get() > 1))
}
