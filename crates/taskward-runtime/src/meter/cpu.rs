//! The CPU account of an attempt: the time its work spent being polled.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The polled time of one attempt, written by its [`Metered`](super::Metered) future after
/// each poll and read by its runner's status queries.
#[derive(Debug, Default)]
pub(crate) struct CpuTime {
    nanos: AtomicU64,
}

impl CpuTime {
    /// Adds one poll's time; returns the attempt's total.
    pub(crate) fn add(&self, poll: Duration) -> Duration {
        let poll = u64::try_from(poll.as_nanos()).unwrap_or(u64::MAX);
        // One writer (the work's task), so a load and a store would do; `fetch_add` keeps
        // the total right even if that ever changes.
        let total = self
            .nanos
            .fetch_add(poll, Ordering::Relaxed)
            .saturating_add(poll);
        Duration::from_nanos(total)
    }

    /// The total so far.
    pub(crate) fn get(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::Relaxed))
    }
}
