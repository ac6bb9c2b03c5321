//! Inspection: the registry's status, a runner's status, and the tree's actor cells.

use ractor::ActorCell;
use taskward_core::{Error, Scope, TaskId};

use super::{RESTART_WAIT, Taskward};
use crate::registry::{RegistryMsg, RegistryStatus};
use crate::runner::{RunnerMsg, RunnerStatus};

impl Taskward {
    /// The registry's status: counts by status and phase, live runners, uptime, limits,
    /// counters.
    pub async fn status(&self) -> Result<RegistryStatus, Error> {
        self.call(RegistryMsg::Status).await
    }

    /// Asks a task's runner for its status while the work runs: phase, elapsed, progress,
    /// attempt, time to deadline.
    ///
    /// The runner answers for as long as it lives, which can outlast the task's status: after
    /// a client cancel the task is `cancelled` at once, while its work runs out its grace
    /// period; the runner then answers with phase `cancelling` and `cancel_requested`.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`]; [`Error::AlreadyTerminal`] once the task has ended and its runner
    /// is gone; [`Error::NoLiveRunner`] while the task is queued, waiting to retry, or
    /// external.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped query leaves nothing behind (the runner's answer is dropped).
    pub async fn runner_status(&self, scope: &Scope, id: TaskId) -> Result<RunnerStatus, Error> {
        // Scoped: a foreign id is not found.
        self.get(scope, id)?;
        let runner = self.shared().control(&id).and_then(|c| c.runner());
        if let Some(runner) = runner
            && let Ok(ractor::rpc::CallResult::Success(status)) =
                runner.call(RunnerMsg::Status, Some(RESTART_WAIT)).await
        {
            return Ok(status);
        }
        // No runner, or it stopped meanwhile: the record says why.
        let record = self.get(scope, id)?;
        if record.is_terminal() {
            return Err(Error::AlreadyTerminal {
                id,
                status: record.status,
            });
        }
        Err(Error::NoLiveRunner(id))
    }

    /// The root supervisor's actor cell: `get_status`, `get_children` and linking.
    pub fn root_cell(&self) -> ActorCell {
        self.inner.root.get_cell()
    }

    /// The registry's actor cell, if it is running.
    pub fn registry_cell(&self) -> Option<ActorCell> {
        self.shared().registry().map(|r| r.get_cell())
    }

    /// The runner supervisor's actor cell, if it is running.
    pub fn runner_supervisor_cell(&self) -> Option<ActorCell> {
        self.shared().runner_sup().map(|r| r.get_cell())
    }
}
