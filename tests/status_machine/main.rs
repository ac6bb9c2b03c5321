//! The status machine, as a property: for any interleaving of transitions on a few tasks, the
//! first terminal transition wins. The record's status and outcome are the first terminal
//! transition's and never change afterwards; every later attempt is refused with
//! `AlreadyTerminal` naming the status (or `NotFound` once expired) when it comes through the
//! API, or counted as a late result when a runner reports it; every waiter sees the same
//! outcome; and each task has exactly one terminal event.
//!
//! External tasks are driven with `finish_external`, `cancel` and TTL expiry; runner tasks with
//! work that completes, fails or panics when told, against `cancel`, timeouts and the grace
//! period after them. Time is virtual (a paused clock), moved in steps of ten seconds, and every
//! deadline is placed between two steps, so the model knows which of two transitions came first.

#[path = "../common/mod.rs"]
mod common;
mod external;
mod model;
mod runner;

use std::time::Duration;

use proptest::test_runner::Config;

/// Tasks per case.
pub(crate) const TASKS: usize = 3;
/// One step of virtual time.
pub(crate) const STEP: Duration = Duration::from_secs(10);
/// The grace period after a cancel or a timeout (half a step: it ends between two steps).
pub(crate) const GRACE: u64 = 5;

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a runtime")
}

pub(crate) fn config() -> Config {
    Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    }
}
