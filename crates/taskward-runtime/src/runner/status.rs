//! What a runner answers about itself.

use std::time::Duration;

use taskward_core::{Phase, Progress, TaskId};

/// A runner's answer to a status query, given while its work runs (as `sys:get_status`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RunnerStatus {
    /// The task.
    pub task_id: TaskId,
    /// The task's name.
    pub name: String,
    /// The attempt this runner runs.
    pub attempt: u32,
    /// `running`, or `cancelling` once the token fired.
    pub phase: Phase,
    /// Time since the attempt started.
    pub elapsed: Duration,
    /// The latest progress the work reported.
    pub progress: Progress,
    /// Time left before the deadline, if the task has a timeout.
    pub deadline_in: Option<Duration>,
    /// Whether the attempt's token has fired.
    pub cancel_requested: bool,
    /// The time the attempt's work has spent being polled so far; `None` when the task has
    /// neither a CPU budget nor a memory limit (its work is then not metered).
    pub cpu_time: Option<Duration>,
    /// The heap bytes the attempt's work holds now; `None` unless the task has a memory
    /// limit and the host installed [`TrackingAllocator`](crate::TrackingAllocator).
    pub live_bytes: Option<u64>,
}
