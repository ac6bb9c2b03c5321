//! The status machine and the phases inside `working`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The status of a task, as the MCP tasks protocol names it.
///
/// Tasks start [`Working`](Status::Working). [`Completed`](Status::Completed),
/// [`Failed`](Status::Failed) and [`Cancelled`](Status::Cancelled) are terminal and final: the
/// first terminal transition wins, and any later one is a counted, evented no-op.
///
/// # Examples
///
/// ```
/// use taskward_core::Status;
///
/// assert!(!Status::Working.is_terminal());
/// assert!(Status::Cancelled.is_terminal());
/// assert_eq!(serde_json::to_string(&Status::InputRequired).unwrap(), "\"input_required\"");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Status {
    /// The work is queued, starting, running, being cancelled after a timeout, or waiting to
    /// be retried; [`Phase`] tells which.
    Working,
    /// The work is parked until an answer to an input request arrives.
    InputRequired,
    /// The work returned a value. Terminal.
    Completed,
    /// The work returned an error, panicked, timed out or lost its runner. Terminal.
    Failed,
    /// The task was cancelled by a client, its owner, expiry or shutdown. Terminal.
    Cancelled,
}

impl Status {
    /// All statuses, in declaration order (handy for status counts).
    pub const ALL: [Status; 5] = [
        Status::Working,
        Status::InputRequired,
        Status::Completed,
        Status::Failed,
        Status::Cancelled,
    ];

    /// Whether the status is final.
    pub const fn is_terminal(self) -> bool {
        matches!(self, Status::Completed | Status::Failed | Status::Cancelled)
    }

    /// The wire name (`working`, `input_required`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Working => "working",
            Status::InputRequired => "input_required",
            Status::Completed => "completed",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
        }
    }

    /// A dense index in `0..5`, in the order of [`Status::ALL`].
    pub const fn index(self) -> usize {
        match self {
            Status::Working => 0,
            Status::InputRequired => 1,
            Status::Completed => 2,
            Status::Failed => 3,
            Status::Cancelled => 4,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a live task is inside its status, for status queries and operators.
///
/// Phases never appear on the wire of the MCP binding; they say what the runtime is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Phase {
    /// Recorded; no runner yet.
    Queued,
    /// A runner is starting (between its spawn and its start acknowledgement).
    Starting,
    /// The work is running.
    Running,
    /// The cancellation token has fired (cancel or timeout); the work has its grace period.
    Cancelling,
    /// The attempt failed and the restart policy waits out its backoff before the next one.
    RetryWait,
    /// Suspended (`Taskward::suspend`): the work saved its checkpoint and stopped; no attempt
    /// runs until the task is resumed, from that checkpoint.
    Suspended,
}

impl Phase {
    /// All phases, in declaration order.
    pub const ALL: [Phase; 6] = [
        Phase::Queued,
        Phase::Starting,
        Phase::Running,
        Phase::Cancelling,
        Phase::RetryWait,
        Phase::Suspended,
    ];

    /// The snake-case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Phase::Queued => "queued",
            Phase::Starting => "starting",
            Phase::Running => "running",
            Phase::Cancelling => "cancelling",
            Phase::RetryWait => "retry_wait",
            Phase::Suspended => "suspended",
        }
    }

    /// A dense index in `0..6`, in the order of [`Phase::ALL`].
    pub const fn index(self) -> usize {
        match self {
            Phase::Queued => 0,
            Phase::Starting => 1,
            Phase::Running => 2,
            Phase::Cancelling => 3,
            Phase::RetryWait => 4,
            Phase::Suspended => 5,
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
