//! Release: a task another node took over leaves this runtime without an end recorded here.

use std::sync::Arc;

use taskward_core::{Error, TaskId, TaskRecord};

use super::Desk;
use crate::runner::RunnerMsg;

impl Desk<'_> {
    /// Releases a live task: its work is stopped as by a cancel (the token fires, then the
    /// runner aborts it after the grace), but no outcome is set and nothing is written; the
    /// record leaves the in-memory table (not the durable store), the task leaves the live
    /// counts, the run queue and its slot, and its waiters are woken to follow it elsewhere.
    /// A later report of its attempt finds no control and is dropped (counted as a late
    /// result when it carried one). Returns the record as it was here.
    pub(in crate::registry) fn release(&mut self, id: TaskId) -> Result<Arc<TaskRecord>, Error> {
        let record = self.shared.store.get(&id).ok_or(Error::NotFound(id))?;
        let ended = Error::AlreadyTerminal {
            id,
            status: record.status,
        };
        if record.is_terminal() {
            return Err(ended);
        }
        let control = self.shared.control(&id).ok_or(Error::NotFound(id))?;
        if control.is_terminal() {
            return Err(ended);
        }
        control.cancel();
        if let Some(runner) = self.holding(&control) {
            runner.send(RunnerMsg::Cancel { id });
        }
        self.holding_admission(|desk| {
            desk.book.queue.remove(&id);
            desk.release_slot(&id);
            match desk.shared.memory.remove(&id) {
                Ok(Some(old)) => {
                    desk.book.count_out(&old);
                    desk.book.leave_live(&id, &old.scope);
                    desk.book.forget(&old);
                }
                Ok(None) => {}
                Err(e) => tracing::error!(task = %id, error = %e, "the table failed to remove"),
            }
            desk.remove_control(&id);
        });
        // Last: a waiter woken now finds the record gone and asks the shared table.
        control.release();
        control
            .span
            .in_scope(|| tracing::debug!("task released to another node"));
        Ok(record)
    }
}
