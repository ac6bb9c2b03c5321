//! Any node answers for any task: reads, cancels, input answers and waits for a task this node
//! does not hold go through the shared table (see [`Builder::shared_tasks`]).

use std::sync::Arc;

use serde_json::Value;
use taskward_core::{
    BoxFuture, Error, InputRequest, ListQuery, Outcome, Page, Scope, SessionRecord, SharedCancel,
    SharedInput, SharedTasks, TaskId, TaskRecord,
};

use super::Taskward;
#[cfg(doc)]
use crate::builder::Builder;

impl Taskward {
    /// The record of a task wherever it runs: this node's memory first, then, on a node of
    /// several ([`Builder::shared_tasks`]), the shared table. On a single node it is
    /// [`get`](Taskward::get).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown, expired or foreign id; [`Error::Store`] when the
    /// shared table cannot be read.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only reads.
    pub async fn find(&self, scope: &Scope, id: TaskId) -> Result<Arc<TaskRecord>, Error> {
        match (self.get(scope, id), self.shared_tasks()) {
            (Err(Error::NotFound(_)), Some(shared)) => shared
                .get(scope, id)
                .await
                .map_err(Error::Store)?
                .map(Arc::new)
                .ok_or(Error::NotFound(id)),
            (found, _) => found,
        }
    }

    /// The outstanding input requests of a task wherever it runs: this node's memory first
    /// ([`input_requests`](Taskward::input_requests)), then, on a node of several
    /// ([`Builder::shared_tasks`]), the shared table, as the holding node last wrote them
    /// (they are written with the status change they cause).
    ///
    /// `Ok(None)` when the task is held by another node and the shared table does not
    /// share input requests.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown, expired or foreign id; [`Error::Store`] when the
    /// shared table cannot be read.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only reads.
    pub async fn find_input_requests(
        &self,
        scope: &Scope,
        id: TaskId,
    ) -> Result<Option<Vec<InputRequest>>, Error> {
        match (self.input_requests(scope, id), self.shared_tasks()) {
            (Err(Error::NotFound(_)), Some(shared)) => {
                match shared.input_requests(scope, id).await {
                    Ok(found) => Ok(found),
                    Err(error) => Err(Error::Store(error)),
                }
            }
            (found, _) => found.map(Some),
        }
    }

    /// Resolves when a task this node does not hold may have changed in the shared table
    /// (its status, its input requests, its end), or after an interval of the shared
    /// table's choosing; at once on a single node. Armed when called: call it, read, then
    /// await it, and no change between the read and the wait is missed.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping it loses nothing.
    pub fn changed_elsewhere(&self, id: TaskId) -> BoxFuture<'static, ()> {
        match self.shared_tasks() {
            Some(shared) => shared.changed(id),
            None => Box::pin(async {}),
        }
    }

    /// One page of a scope's tasks across every node: on a node of several
    /// ([`Builder::shared_tasks`]), read from the shared table (a task of this node's shows
    /// there as of its last write); on a single node, [`list`](Taskward::list).
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the shared table cannot be read.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only reads.
    pub async fn find_page(&self, scope: &Scope, query: &ListQuery) -> Result<Page, Error> {
        match self.shared_tasks() {
            Some(shared) => shared.list(scope, query).await.map_err(Error::Store),
            None => self.list(scope, query),
        }
    }

    /// A protocol binding's session by id, from the shared table: on a node of several
    /// ([`Builder::shared_tasks`]), the session another node (or this one) opened and wrote
    /// to the shared durable store; `None` when unknown, expired or removed, and always on a
    /// single node (whose sessions are its own, given back at start by
    /// [`take_restored_sessions`](Taskward::take_restored_sessions)).
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the shared table cannot be read.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only reads.
    pub async fn find_session(&self, id: &str) -> Result<Option<SessionRecord>, Error> {
        match self.shared_tasks() {
            Some(shared) => shared.session(id).await.map_err(Error::Store),
            None => Ok(None),
        }
    }

    /// Whether this runtime is a node of several: built with [`Builder::shared_tasks`], so
    /// that it answers for tasks and sessions other nodes hold.
    pub fn has_shared_tasks(&self) -> bool {
        self.shared_tasks().is_some()
    }

    /// Whether this runtime routes tasks of registered kinds to a shared queue (a node of
    /// several whose shared table has one): [`submit_kind`](Taskward::submit_kind) then
    /// queues such a task for whichever node has room (see its docs).
    pub fn has_shared_queue(&self) -> bool {
        self.shared_tasks().is_some_and(|shared| shared.queues())
    }

    pub(super) fn shared_tasks(&self) -> Option<&Arc<dyn SharedTasks>> {
        self.shared().shared_tasks.as_ref()
    }

    /// Cancels, through the shared table, a task this node does not hold.
    pub(super) async fn cancel_elsewhere(
        &self,
        shared: &Arc<dyn SharedTasks>,
        scope: &Scope,
        id: TaskId,
        reason: Option<String>,
    ) -> Result<Arc<TaskRecord>, Error> {
        match shared
            .cancel(scope, id, reason)
            .await
            .map_err(Error::Store)?
        {
            SharedCancel::Cancelled(record) => Ok(record),
            SharedCancel::Terminal(status) => Err(Error::AlreadyTerminal { id, status }),
            _ => Err(Error::NotFound(id)),
        }
    }

    /// Answers, through the shared table, an input request of a task this node does not hold.
    pub(super) async fn provide_input_elsewhere(
        &self,
        shared: &Arc<dyn SharedTasks>,
        scope: &Scope,
        id: TaskId,
        key: &str,
        response: Value,
    ) -> Result<Arc<TaskRecord>, Error> {
        match shared
            .provide_input(scope, id, key, response)
            .await
            .map_err(Error::Store)?
        {
            SharedInput::Answered(record) => Ok(record),
            SharedInput::AlreadyAnswered => Err(Error::UnknownInput {
                id,
                key: key.to_owned(),
            }),
            SharedInput::Terminal(status) => Err(Error::AlreadyTerminal { id, status }),
            _ => Err(Error::NotFound(id)),
        }
    }

    /// Waits, through the shared table, for the outcome of a task this node does not hold:
    /// armed before each read, so a change between the read and the wait is never missed.
    pub(super) async fn wait_elsewhere(
        &self,
        shared: &Arc<dyn SharedTasks>,
        scope: &Scope,
        id: TaskId,
    ) -> Result<Outcome, Error> {
        loop {
            let changed = shared.changed(id);
            let record = shared
                .get(scope, id)
                .await
                .map_err(Error::Store)?
                .ok_or(Error::NotFound(id))?;
            if let Some(outcome) = record.outcome {
                return Ok(outcome);
            }
            changed.await;
        }
    }
}
