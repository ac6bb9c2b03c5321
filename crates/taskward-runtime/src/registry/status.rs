//! What the registry answers about itself.

use std::time::Duration;

use taskward_core::{Phase, Status};

/// The limits a runtime enforces.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Live tasks in all.
    pub max_live_tasks: Option<usize>,
    /// Live tasks per scope.
    pub max_live_per_scope: Option<usize>,
    /// The longest TTL granted.
    pub max_ttl: Option<Duration>,
    /// The largest result, in bytes of JSON.
    pub max_result_bytes: Option<usize>,
    /// Tasks whose work runs at once, in all.
    pub max_running: Option<usize>,
    /// Tasks whose work runs at once, per task name (sorted by name).
    pub max_running_named: Vec<(std::sync::Arc<str>, usize)>,
}

/// The registry's answer to a status query (as `sys:get_status` on the gen_server).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RegistryStatus {
    /// Tasks in the table, terminal ones included.
    pub tasks: usize,
    /// Live (non-terminal) tasks.
    pub live: usize,
    /// Tasks by status.
    pub by_status: Vec<(Status, u64)>,
    /// Working tasks by phase.
    pub by_phase: Vec<(Phase, u64)>,
    /// Runner actors alive now.
    pub live_runners: usize,
    /// Control blocks held: one per live task, and one per ended task whose runner has not
    /// reported yet. 0 once every task has ended and every runner is gone (a count that stays
    /// above 0 then is a leak).
    pub controls: usize,
    /// Time since the runtime started.
    pub uptime: Duration,
    /// Whether submits are admitted (false once shutdown began).
    pub accepting: bool,
    /// The limits in force.
    pub limits: Limits,
    /// Results that arrived after their task had ended, dropped and counted.
    pub late_results: u64,
    /// Terminal transitions that lost to an earlier one.
    pub duplicate_terminals: u64,
    /// Attempts retried under a transient restart policy.
    pub retries: u64,
    /// Times the registry actor was restarted.
    pub registry_restarts: u64,
    /// Times the runner supervisor was restarted.
    pub runner_supervisor_restarts: u64,
    /// Runner actors that crashed (not the work: the runner itself).
    pub runner_failures: u64,
    /// User callbacks (owners' notice wrappers, external tasks' `on_cancel`) that panicked:
    /// each was logged and contained.
    pub callback_panics: u64,
    /// Runners' reports whose transition failed (a panic inside the registry): each was
    /// contained, and a report that ended an attempt still ended its task (failed).
    pub transition_failures: u64,
    /// Terminal records the store failed to write; each is written again by the sweep.
    pub store_errors: u64,
    /// Running slots held under the running caps (0 when no cap is set: nothing is counted).
    pub running_slots: usize,
    /// Tasks waiting in the admission queue for a running slot (all in phase `queued`).
    pub queued: usize,
    /// Tasks waiting for their dependencies (all in phase `queued`).
    pub awaiting_dependencies: usize,
    /// Event subscribers connected.
    pub subscribers: usize,
    /// Finished tasks in the retention index (kept only when a retention cap is set), and
    /// the bytes of their results and errors.
    pub retained: (usize, usize),
}

impl RegistryStatus {
    /// The number of tasks in a status.
    pub fn count(&self, status: Status) -> u64 {
        self.by_status
            .iter()
            .find(|(s, _)| *s == status)
            .map_or(0, |(_, n)| *n)
    }

    /// The number of working tasks in a phase.
    pub fn phase_count(&self, phase: Phase) -> u64 {
        self.by_phase
            .iter()
            .find(|(p, _)| *p == phase)
            .map_or(0, |(_, n)| *n)
    }
}
