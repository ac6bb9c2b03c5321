//! The resource limits a task's spec sets.

use std::time::Duration;

/// A task's per-attempt resource limits; both unset by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ResourceLimits {
    /// The time the attempt's work may spend being polled.
    pub(crate) cpu_budget: Option<Duration>,
    /// The live heap bytes the attempt's work may hold (tracking allocator only).
    pub(crate) memory_limit: Option<u64>,
}

impl ResourceLimits {
    /// The limits to keep in the task's control block: `None` when neither is set, so a task
    /// without limits pays one empty pointer for them.
    pub(crate) fn boxed(self) -> Option<Box<Self>> {
        (self != Self::default()).then(|| Box::new(self))
    }
}
