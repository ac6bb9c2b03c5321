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
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::AlreadyTerminal`], or [`Error::NoLiveRunner`] while the
    /// task is queued, waiting to retry, or external.
    pub async fn runner_status(&self, scope: &Scope, id: TaskId) -> Result<RunnerStatus, Error> {
        let record = self.get(scope, id)?;
        if record.is_terminal() {
            return Err(Error::AlreadyTerminal {
                id,
                status: record.status,
            });
        }
        let runner = self
            .shared()
            .control(&id)
            .and_then(|c| c.runner())
            .ok_or(Error::NoLiveRunner(id))?;
        match runner.call(RunnerMsg::Status, Some(RESTART_WAIT)).await {
            Ok(ractor::rpc::CallResult::Success(status)) => Ok(status),
            _ => Err(Error::NoLiveRunner(id)),
        }
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
