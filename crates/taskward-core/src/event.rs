//! Events: what subscribers are told.

use serde::{Deserialize, Serialize};

use crate::{Cancellation, Failure, Outcome, Phase, Progress, Scope, Status, TaskId};

/// One change to one task, numbered.
///
/// Sequence numbers start at 1 and grow by one for each event the registry publishes, so a
/// subscriber can tell it saw every event; one that falls behind is told with
/// [`Event::Lagged`] instead of a silent gap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaskEvent {
    /// The event's sequence number.
    pub seq: u64,
    /// The task it concerns.
    pub task_id: TaskId,
    /// The task's scope when the event was published.
    pub scope: Scope,
    /// What happened.
    pub kind: EventKind,
}

impl TaskEvent {
    /// An event (the registry numbers it).
    pub fn new(seq: u64, task_id: TaskId, scope: Scope, kind: EventKind) -> Self {
        Self {
            seq,
            task_id,
            scope,
            kind,
        }
    }
}

/// What happened to a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// The task was recorded.
    Created {
        /// The task's name.
        name: String,
    },
    /// The status or phase changed without ending the task (started, retrying, input required).
    StatusChanged {
        /// The new status.
        status: Status,
        /// The new phase.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phase: Option<Phase>,
        /// The attempt now running or awaited.
        attempt: u32,
    },
    /// New progress.
    Progress(Progress),
    /// The task completed.
    Completed,
    /// The task failed: its failure's [summary](Failure::summary) (the record has it whole).
    Failed(Failure),
    /// The task was cancelled: its cancellation's [summary](Cancellation::summary).
    Cancelled(Cancellation),
    /// The task's TTL elapsed and it was removed.
    Expired,
    /// The finished task was removed before its TTL to keep the retained finished tasks
    /// within the runtime's caps (count or bytes, in total or per scope), oldest first.
    Evicted,
    /// The task moved to another scope; `scope` on the event is the new one.
    Transferred {
        /// The scope it left.
        from: Scope,
    },
    /// A terminal transition arrived for a task that had already ended; it was dropped.
    LateResult {
        /// The status the late report would have set.
        dropped: Status,
    },
}

impl From<&Outcome> for EventKind {
    /// The terminal event an outcome publishes: as a completed event carries no value, a
    /// failed or cancelled one carries a [summary](Failure::summary) (the cause, the message
    /// or reason cut to [`SUMMARY_BYTES`](crate::SUMMARY_BYTES), no data); the whole outcome
    /// is in the record, stored once.
    fn from(outcome: &Outcome) -> Self {
        match outcome {
            Outcome::Completed { .. } => EventKind::Completed,
            Outcome::Failed(f) => EventKind::Failed(f.summary()),
            Outcome::Cancelled(c) => EventKind::Cancelled(c.summary()),
        }
    }
}

/// An item of a subscription: an event, or the count of events a slow subscriber missed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// A task event.
    Task(TaskEvent),
    /// The subscriber fell behind and this many events were dropped for it.
    Lagged(u64),
}
