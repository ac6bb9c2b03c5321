//! What the soak counts while it runs: submits, outcomes (seen by `wait`), and faults.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use taskward::{CancelledBy, EventKind, FailureCause, Outcome, TaskId};

/// A counter.
#[derive(Debug, Default)]
pub(crate) struct Count(AtomicU64);

impl Count {
    pub(crate) fn add(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Every figure the soak counts.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// Submit calls made.
    pub(crate) submits: Count,
    /// Tasks created: submit returned a handle, or `RunnerStart` (the task exists, failed).
    pub(crate) created: Count,
    /// What went wrong on the soak's side of the API, by kind: submits answered
    /// `Unavailable` (and what repeating them found), submits given up, outcomes lost.
    pub(crate) incidents: Mutex<BTreeMap<String, u64>>,
    /// Outcomes seen by `wait`.
    pub(crate) completed: Count,
    pub(crate) failed: Count,
    /// Cancelled other than by expiry.
    pub(crate) cancelled: Count,
    /// Cancelled by expiry: the TTL elapsed while the task was live.
    pub(crate) expired: Count,
    /// Outcomes by detail (failure cause, canceller).
    pub(crate) detail: Mutex<BTreeMap<String, u64>>,
    /// Tasks removed by their TTL before `wait` looked, because submitting them took longer
    /// than their TTL (counted from creation): their outcome is read from the event audit.
    pub(crate) unseen: Mutex<Vec<TaskId>>,
    /// Tasks whose outcome could not be read (`wait` failed): must stay 0.
    pub(crate) lost: Count,
    /// Records whose status disagreed with the outcome `wait` returned: must stay 0.
    pub(crate) mismatched: Count,
    /// Client cancels sent, and those that found the task live.
    pub(crate) cancels_sent: Count,
    pub(crate) cancels_applied: Count,
    /// Input requests answered.
    pub(crate) inputs_answered: Count,
    /// Faults injected (only those that hit a running actor).
    pub(crate) runner_kills: Count,
    pub(crate) runner_sup_kills: Count,
    pub(crate) registry_kills: Count,
    pub(crate) owner_kills: Count,
    /// One-shot tasks submitted.
    pub(crate) once_tasks: Count,
    /// Owned tasks submitted, and notices the owner actors received.
    pub(crate) owned: Count,
    pub(crate) notices: Count,
}

impl Tally {
    /// Counts an incident.
    pub(crate) fn incident(&self, why: String) {
        *self
            .incidents
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(why)
            .or_default() += 1;
    }

    /// Counts an outcome, once per task.
    pub(crate) fn outcome(&self, outcome: &Outcome) {
        if let Some(row) = Row::of(outcome) {
            self.row(row);
        }
    }

    /// Counts an outcome by its row.
    pub(crate) fn row(&self, row: Row) {
        let detail = match row {
            Row::Completed => {
                self.completed.add();
                return;
            }
            Row::Failed(cause) => {
                self.failed.add();
                format!("failed: {cause}")
            }
            Row::Cancelled(CancelledBy::Expiry) => {
                self.expired.add();
                return;
            }
            Row::Cancelled(by) => {
                self.cancelled.add();
                format!("cancelled by {by}")
            }
        };
        *self
            .detail
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(detail)
            .or_default() += 1;
    }

    /// Incidents of one kind.
    pub(crate) fn incidents_of(&self, kind: &str) -> u64 {
        self.incidents
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(kind)
            .copied()
            .unwrap_or(0)
    }

    /// Outcomes of a detail row (e.g. `failed: timed_out`).
    pub(crate) fn detail(&self, row: &str) -> u64 {
        self.detail
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(row)
            .copied()
            .unwrap_or(0)
    }

    /// Outcomes seen in all.
    pub(crate) fn ended(&self) -> u64 {
        self.completed.get() + self.failed.get() + self.cancelled.get() + self.expired.get()
    }
}

/// The row an outcome is counted in: compact, so the event audit can keep one per task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Row {
    Completed,
    Failed(FailureCause),
    Cancelled(CancelledBy),
}

impl Row {
    pub(crate) fn of(outcome: &Outcome) -> Option<Row> {
        match outcome {
            Outcome::Completed { .. } => Some(Row::Completed),
            Outcome::Failed(f) => Some(Row::Failed(f.cause)),
            Outcome::Cancelled(c) => Some(Row::Cancelled(c.by)),
            _ => None,
        }
    }

    /// The row of a terminal event; `None` for other events.
    pub(crate) fn of_event(kind: &EventKind) -> Option<Row> {
        match kind {
            EventKind::Completed => Some(Row::Completed),
            EventKind::Failed(f) => Some(Row::Failed(f.cause)),
            EventKind::Cancelled(c) => Some(Row::Cancelled(c.by)),
            _ => None,
        }
    }
}
