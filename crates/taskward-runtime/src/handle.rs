//! The handle submit returns.

use std::sync::Arc;

use taskward_core::{Error, Outcome, Scope, TaskId, TaskRecord};

use crate::runner::RunnerStatus;
use crate::ward::Taskward;

/// A submitted task: its id and scope, and shortcuts to the runtime's calls for it.
///
/// Dropping the handle does not cancel the task; it keeps running under supervision.
#[derive(Debug, Clone)]
pub struct TaskHandle {
    ward: Taskward,
    record: Arc<TaskRecord>,
    deduplicated: bool,
}

impl TaskHandle {
    pub(crate) fn new(ward: Taskward, record: Arc<TaskRecord>, deduplicated: bool) -> Self {
        Self {
            ward,
            record,
            deduplicated,
        }
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.record.id
    }

    /// The scope it was submitted in.
    pub fn scope(&self) -> &Scope {
        &self.record.scope
    }

    /// The record as it was when submit returned.
    pub fn record(&self) -> &Arc<TaskRecord> {
        &self.record
    }

    /// Whether submit matched an idempotency key and returned an earlier task.
    pub fn is_deduplicated(&self) -> bool {
        self.deduplicated
    }

    /// The current record (see [`Taskward::get`]).
    pub fn get(&self) -> Result<Arc<TaskRecord>, Error> {
        self.ward.get(self.scope(), self.id())
    }

    /// Waits for the outcome (see [`Taskward::wait`]).
    pub async fn wait(&self) -> Result<Outcome, Error> {
        self.ward.wait(self.scope(), self.id()).await
    }

    /// Cancels the task (see [`Taskward::cancel`]).
    pub async fn cancel(&self, reason: Option<String>) -> Result<Arc<TaskRecord>, Error> {
        self.ward.cancel(self.scope(), self.id(), reason).await
    }

    /// Asks the task's runner for its status (see [`Taskward::runner_status`]).
    pub async fn runner_status(&self) -> Result<RunnerStatus, Error> {
        self.ward.runner_status(self.scope(), self.id()).await
    }
}
