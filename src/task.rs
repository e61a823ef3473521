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

/// Whether this process may run on more than one core, read once: the standard library reads the
/// cgroup's files again on every call.
pub fn several_cores() -> bool {
    static SEVERAL: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SEVERAL.get_or_init(|| std::thread::available_parallelism().is_ok_and(|n| n.get() > 1))
}
