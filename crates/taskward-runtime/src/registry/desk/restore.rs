//! Restart reconciliation: the tasks a durable store gave back enter the table and the book
//! before the registry takes its first message.
//!
//! - a task whose TTL elapsed (on the wall clock) while the process was down is removed;
//! - a finished task is served as it was, result included, until its TTL; a completed task
//!   of a kind that caches its results is a cache entry again for what is left of the
//!   kind's duration (counted from its completion on the wall clock);
//! - a task that was live when the process stopped is handed back to be resumed when its kind
//!   is registered and resumable, and otherwise fails with cause `interrupted`.

use std::sync::Arc;
use std::time::Duration;

use taskward_core::{
    Failure, FailureCause, Outcome, StoreWrite, StoredTask, TaskRecord, TaskStore,
};
use time::OffsetDateTime;

use super::Desk;
use super::cache::wall_age;
use super::retain::outcome_bytes;
use super::transitions::write_terminal;
use crate::journal::Journal;

/// What a restore did.
#[derive(Debug, Default)]
pub(crate) struct Restored {
    /// Tasks back in the table, as they were or failed `interrupted`.
    pub(crate) kept: usize,
    /// Live tasks failed `interrupted`.
    pub(crate) interrupted: usize,
    /// Tasks removed because their TTL elapsed.
    pub(crate) expired: usize,
    /// Live tasks to run again from their checkpoint, in creation order.
    pub(crate) resumable: Vec<StoredTask>,
}

impl Desk<'_> {
    /// Enters `tasks` into `table` (the in-memory table under the journal: what is restored
    /// as it was is not written again) and the book; writes what changes to `journal`.
    /// `resumable` says whether a live task of a given record can be run again.
    pub(in crate::registry) fn restore(
        &mut self,
        table: &dyn TaskStore,
        journal: &Journal,
        tasks: Vec<StoredTask>,
        resumable: &dyn Fn(&TaskRecord) -> bool,
    ) -> Restored {
        let mut restored = Restored::default();
        let now_wall = OffsetDateTime::now_utc();
        let now = tokio::time::Instant::now();
        for task in tasks {
            let record = &task.record;
            self.book.seqs.at_least(record.seq);
            let expires = record.expires_at();
            if expires.is_some_and(|at| at <= now_wall) {
                journal.push(StoreWrite::Remove(record.id));
                restored.expired += 1;
                continue;
            }
            if !record.is_terminal() && resumable(record) {
                restored.resumable.push(task);
                continue;
            }
            let mut record = task.record;
            let interrupted = !record.is_terminal();
            if interrupted {
                let outcome = Outcome::Failed(Failure::new(
                    FailureCause::Interrupted,
                    format!(
                        "the process stopped while the task was {} (attempt {}); a task submitted with a closure cannot be resumed",
                        record.status, record.attempt
                    ),
                ));
                write_terminal(&mut record, &outcome, None);
                record.last_updated_at = now_wall;
                restored.interrupted += 1;
            }
            let record = Arc::new(record);
            let expires_at = expires.map(|at| {
                let left = Duration::try_from(at - now_wall).unwrap_or_default();
                (now + left).into_std()
            });
            if let Err(e) = table.insert(record.clone(), expires_at) {
                tracing::error!(task = %record.id, error = %e, "a restored task could not enter the table");
                continue;
            }
            if interrupted {
                journal.push(StoreWrite::Put(record.clone()));
            }
            self.book.count_in(&record);
            if let Some(key) = &record.idempotency_key {
                self.book
                    .idempotency
                    .insert((record.scope.clone(), key.clone()), record.id);
            }
            if self.retention_capped()
                && let Some(outcome) = &record.outcome
            {
                self.book
                    .retained
                    .keep(record.id, &record.scope, outcome_bytes(outcome));
            }
            self.note_cacheable(&record, wall_age(&record, now_wall));
            restored.kept += 1;
        }
        restored
    }
}
