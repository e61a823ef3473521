//! Stopping gracefully. Batch stops a job (timeout, Spot reclaim, cancellation) with SIGTERM and
//! kills it shortly after; a job that has not started publishing then stops at its next step as a
//! transient failure (exit 75, the upload kept and its claim released, so the retry can run). A
//! job already publishing finishes, so the public store and the index are never left half-done.

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

static REQUESTED: AtomicBool = AtomicBool::new(false);
/// Wakes whoever waits for a stop ([`stopped`]).
static STOP: Notify = Notify::const_new();

/// Whether a stop was requested (SIGTERM or Ctrl-C).
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Asks the running job to stop at its next step (what the signal handler does; tests call it).
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
    STOP.notify_waiters();
}

/// Resolves once a stop is requested (at once if one already was): what a wait that a stop
/// signal must cut short (the backoff before a retry) races against.
pub async fn stopped() {
    loop {
        let notified = STOP.notified();
        tokio::pin!(notified);
        // Registered before the check, so a request between the two still wakes it.
        notified.as_mut().enable();
        if requested() {
            return;
        }
        notified.await;
    }
}

/// Forgets a stop request. Only tests need it: a real process stops once.
#[doc(hidden)]
pub fn reset_for_tests() {
    REQUESTED.store(false, Ordering::SeqCst);
}

/// Listens for SIGTERM and SIGINT on the current runtime. The first asks the job to stop; a second
/// Ctrl-C or SIGTERM ends the process at once with exit code 75.
pub fn listen() {
    tokio::spawn(async {
        let mut signals = 0;
        loop {
            wait_for_signal().await;
            signals += 1;
            if signals > 1 {
                crate::logging::outside_job(
                    crate::logging::Severity::Warn,
                    "ocean-ingest",
                    "second stop signal: exiting now (75)",
                );
                std::process::exit(crate::error::ExitCode::Transient.code().into());
            }
            tracing::warn!(
                "stop requested: the job stops at its next step unless it is publishing"
            );
            request();
        }
    });
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        // Without signal handling the process keeps the default behaviour.
        _ => std::future::pending::<()>().await,
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
