//! Retention: finished tasks enter the retention index, and the oldest are evicted while a
//! cap is exceeded.

use serde_json::Value;
use taskward_core::{EventKind, Outcome, Scope, TaskId};

use super::Desk;
use crate::registry::Caps;
use crate::runner::json_len;

/// The bytes an outcome keeps in the table: what the retention caps count.
pub(super) fn outcome_bytes(outcome: &Outcome) -> usize {
    match outcome {
        Outcome::Completed { value } => json_len(value),
        Outcome::Failed(f) => f.message.len() + f.data.as_ref().map_or(0, json_len),
        Outcome::Cancelled(c) => c.reason.as_ref().map_or(0, String::len),
        _ => json_len(&Value::Null),
    }
}

impl Desk<'_> {
    /// A task's terminal record is written: it enters the retention index, and the oldest
    /// finished tasks are evicted while a cap is exceeded (never itself: a cap is exceeded by
    /// at most the task that just finished, whose result stays readable).
    pub(super) fn retain(&mut self, id: TaskId, scope: &Scope, outcome: &Outcome) {
        if !self.retention_capped() {
            return;
        }
        let caps = self.retention_caps();
        self.book.retained.keep(id, scope, outcome_bytes(outcome));
        while let Some(oldest) = self.book.retained.over(scope, caps, id) {
            self.evict(oldest);
        }
    }

    fn retention_caps(&self) -> Caps {
        let config = &self.shared.config;
        Caps {
            tasks: config.max_retained_tasks,
            tasks_per_scope: config.max_retained_tasks_per_scope,
            bytes: config.max_retained_bytes,
            bytes_per_scope: config.max_retained_bytes_per_scope,
        }
    }

    /// Whether any retention cap is set (the index is kept only then).
    pub(super) fn retention_capped(&self) -> bool {
        let caps = self.retention_caps();
        caps.tasks.is_some()
            || caps.tasks_per_scope.is_some()
            || caps.bytes.is_some()
            || caps.bytes_per_scope.is_some()
    }

    /// Removes a finished task to keep within the retention caps.
    fn evict(&mut self, id: TaskId) {
        // Out of the index first, whatever the store says: eviction always moves on.
        self.book.retained.forget(&id);
        match self.shared.store.remove(&id) {
            Ok(Some(old)) => {
                self.book.count_out(&old);
                self.book.forget(&old);
                self.publish(id, &old.scope, EventKind::Evicted);
                tracing::debug!(task = %id, "finished task evicted over a retention cap");
            }
            Ok(None) => {}
            Err(e) => tracing::error!(task = %id, error = %e, "the store failed to remove"),
        }
    }
}
