//! Inspection: the registry's status, a runner's status, and the tree's actor cells.

use ractor::ActorCell;
use taskward_core::{Error, Scope, TaskId};

use super::{RESTART_WAIT, Taskward};
use crate::registry::{Command, RegistryStatus};
use crate::runner::{RunnerMsg, RunnerStatus};

impl Taskward {
    /// The registry's status: counts by status and phase, live runners, uptime, limits,
    /// counters.
    pub async fn status(&self) -> Result<RegistryStatus, Error> {
        self.call(Command::Status).await
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
        let post = runner.and_then(|r| self.shared().runners.partitions.holding(&id, r.get_id()));
        if let Some(post) = post {
            let (tx, rx) = ractor::concurrency::oneshot();
            if post.send(RunnerMsg::Status {
                id,
                reply: tx.into(),
            }) && let Ok(Ok(Some(status))) = tokio::time::timeout(RESTART_WAIT, rx).await
            {
                return Ok(status);
            }
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

    /// The actor cell of the runner actor that holds a task now, for operators: link it,
    /// monitor it, ask `get_status`, or kill it to test a host's fault handling.
    ///
    /// The cell is the runner's as this call returns; a task whose attempt ends or is retried
    /// is then held by no runner. A runner holds a partition of the tasks (those whose id
    /// hashes to it), so several tasks answer the same cell. Killing the cell loses the tasks
    /// the runner holds: each fails with cause `runner_lost` (or is retried under a transient
    /// restart policy), as any runner crash, and the runner supervisor starts a new runner for
    /// the partition.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown or foreign id; [`Error::AlreadyTerminal`] for a task
    /// that ended and whose runner is gone; [`Error::NoLiveRunner`] while the task is queued,
    /// waiting to retry, or external.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use serde_json::json;
    /// use taskward_core::{FailureCause, Scope};
    /// use taskward_runtime::{TaskContext, TaskSpec, Taskward};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), taskward_core::Error> {
    /// let ward = Taskward::builder().spawn().await?;
    /// let scope = Scope::session("s-1");
    /// let task = ward
    ///     .submit(TaskSpec::new("wait").scope(scope.clone()), |ctx: TaskContext| async move {
    ///         ctx.cancelled().await;
    ///         Ok(json!(null))
    ///     })
    ///     .await?;
    /// ward.runner_cell(&scope, task.id())?.kill();
    /// let outcome = task.wait().await?;
    /// assert_eq!(outcome.failure().map(|f| f.cause), Some(FailureCause::RunnerLost));
    /// ward.shutdown(Duration::from_secs(1)).await?;
    /// # Ok(()) }
    /// ```
    pub fn runner_cell(&self, scope: &Scope, id: TaskId) -> Result<ActorCell, Error> {
        let record = self.get(scope, id)?;
        match self.shared().control(&id).and_then(|c| c.runner()) {
            Some(runner) => Ok(runner),
            None if record.is_terminal() => Err(Error::AlreadyTerminal {
                id,
                status: record.status,
            }),
            None => Err(Error::NoLiveRunner(id)),
        }
    }

    /// Every task that has a live runner, with the actor cell of the runner actor that holds
    /// it, for operators (in no particular order, across all scopes: do not hand it to
    /// clients).
    ///
    /// A snapshot: works start and stop meanwhile. A task whose work was cancelled but has
    /// not stopped yet is listed until its work is gone. Runners hold partitions of the tasks,
    /// so several entries share a cell. It visits every live task: an operator's call, not a
    /// hot path.
    pub fn runners(&self) -> Vec<(TaskId, ActorCell)> {
        self.shared()
            .controls_snapshot()
            .into_iter()
            .filter_map(|control| Some((control.id, control.runner()?)))
            .collect()
    }

    /// The runner actor of every partition, in partition order (a partition being restarted
    /// is missing): the runner supervisor's children.
    pub fn runner_cells(&self) -> Vec<ActorCell> {
        self.shared()
            .runners
            .partitions
            .runners()
            .iter()
            .filter_map(|r| r.cell())
            .collect()
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
        self.shared().runners.runner_sup().map(|r| r.get_cell())
    }
}
