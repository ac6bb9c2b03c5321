//! What a metered attempt went over, and the failure it ends with.

use std::time::Duration;

use serde_json::json;
use taskward_core::{Failure, FailureCause};

/// The limit an attempt's work went over, with the readings at that moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exceeded {
    /// The work was polled for longer than its CPU budget.
    Cpu {
        /// The polled time.
        used: Duration,
        /// The budget.
        budget: Duration,
    },
    /// The work held more live heap bytes than its memory limit.
    Memory {
        /// The live bytes.
        live: u64,
        /// The limit.
        limit: u64,
    },
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Exceeded {
    /// The failure of the attempt stopped for this; `aborted` when the work did not stop
    /// within its grace period. Its `data` holds the readings.
    pub(crate) fn failure(self, aborted: bool) -> Failure {
        let (cause, what, data) = match self {
            Exceeded::Cpu { used, budget } => (
                FailureCause::CpuBudgetExceeded,
                format!(
                    "was polled for {} ms, over its CPU budget of {} ms",
                    millis(used),
                    millis(budget)
                ),
                json!({ "cpu_time_ms": millis(used), "cpu_budget_ms": millis(budget) }),
            ),
            Exceeded::Memory { live, limit } => (
                FailureCause::MemoryLimitExceeded,
                format!("held {live} live bytes, over its memory limit of {limit} bytes"),
                json!({ "live_bytes": live, "memory_limit": limit }),
            ),
        };
        let message = if aborted {
            format!("the work {what}, and did not stop within its grace period")
        } else {
            format!("the work {what}")
        };
        let mut failure = Failure::new(cause, message);
        failure.data = Some(data);
        failure
    }
}
