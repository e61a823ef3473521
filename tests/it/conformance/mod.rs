//! One conformance suite per boundary trait (store, index, notifier, queue), run against every
//! implementation: each suite is a list of guarantees, each guarantee a named async function of
//! the trait object, so a failure says which guarantee a backend broke.

pub mod index;
pub mod notifier;
pub mod queue;
pub mod store;

use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use futures::future::BoxFuture;

/// One guarantee of a boundary trait, checked against one backend.
pub type Guarantee<T> = for<'a> fn(&'a T) -> BoxFuture<'a, ()>;

/// `guarantees![a, b]`: the named guarantee functions `a`, `b` as a list for [`check_all`].
macro_rules! guarantees {
    ($($g:ident),* $(,)?) => {
        &[$((stringify!($g), |backend| Box::pin($g(backend)))),*]
    };
}
pub(crate) use guarantees;

/// Checks every guarantee against one backend, each in turn, and fails naming each guarantee
/// that does not hold, with its message.
pub async fn check_all<T: ?Sized>(backend: &T, suite: &[(&str, Guarantee<T>)]) {
    let mut broken = Vec::new();
    for (name, guarantee) in suite {
        if let Err(panic) = AssertUnwindSafe(guarantee(backend)).catch_unwind().await {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "(no message)".into());
            broken.push(format!("guarantee `{name}` does not hold: {message}"));
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}
