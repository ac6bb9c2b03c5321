//! Reads: records, pages, live tasks, waiting, events and input requests, none of them
//! through the registry's mailbox.

use std::sync::Arc;

use taskward_core::{Error, InputRequest, ListQuery, Outcome, Page, Scope, TaskId, TaskRecord};

use super::Taskward;
#[cfg(doc)]
use crate::context::TaskContext;
use crate::subscription::{EventFilter, Subscription};

impl Taskward {
    /// The current record of a task, read from the table without a mailbox round trip.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown, expired or foreign id.
    pub fn get(&self, scope: &Scope, id: TaskId) -> Result<Arc<TaskRecord>, Error> {
        self.shared()
            .store
            .get(&id)
            .filter(|r| r.scope == *scope)
            .ok_or(Error::NotFound(id))
    }

    /// One page of a scope's tasks, oldest first, read from the table's scope index.
    pub fn list(&self, scope: &Scope, query: &ListQuery) -> Result<Page, Error> {
        Ok(self.shared().store.list(scope, query))
    }

    /// The record of a task of any scope in this node's memory: for operators and for the
    /// node that runs this runtime (which learns of a cancel or an input answer by task id
    /// alone). Never hand its answer to a client: clients read with [`get`](Taskward::get),
    /// which checks the scope.
    pub fn inspect(&self, id: TaskId) -> Option<Arc<TaskRecord>> {
        self.shared().store.get(&id)
    }

    /// The records of every live task, in all scopes, oldest first: for operators. Costs
    /// O(live tasks); it does not go through the registry's mailbox.
    pub fn live_tasks(&self) -> Vec<Arc<TaskRecord>> {
        let ids: Vec<TaskId> = self.shared().controls.ids();
        let mut records: Vec<Arc<TaskRecord>> = ids
            .iter()
            .filter_map(|id| self.shared().store.get(id))
            .filter(|r| !r.is_terminal())
            .collect();
        records.sort_by_key(|r| r.seq);
        records
    }

    /// Waits for a task's outcome: wakes on completion, failure, cancel and expiry. With a
    /// durable store it returns once the task's terminal record is durable, so that an
    /// outcome a caller was given is the one a restart finds. On a node of several, the
    /// outcome of a task held by another node is read from the shared table, also when this
    /// node [released](Taskward::release) the task while the wait was under way.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe. The wake-up is armed before the outcome is checked, so an outcome set
    /// between the check and the wait is never missed.
    pub async fn wait(&self, scope: &Scope, id: TaskId) -> Result<Outcome, Error> {
        if let Some(shared) = self.shared_tasks()
            && self.get(scope, id).is_err()
        {
            return self.wait_elsewhere(shared, scope, id).await;
        }
        match (self.outcome(scope, id).await, self.shared_tasks()) {
            (Ok(Some(outcome)), _) => {
                self.synced().await?;
                Ok(outcome)
            }
            // Released to another node while this waited: follow it there.
            (Ok(None) | Err(Error::NotFound(_)), Some(shared)) => {
                self.wait_elsewhere(shared, scope, id).await
            }
            (Ok(None), None) => Err(Error::NotFound(id)),
            (Err(e), _) => Err(e),
        }
    }

    /// The outcome, once there is one (in memory; maybe not yet durable); `None` when the
    /// task was released from this runtime (see [`release`](Taskward::release)).
    async fn outcome(&self, scope: &Scope, id: TaskId) -> Result<Option<Outcome>, Error> {
        let record = self.get(scope, id)?;
        if let Some(outcome) = &record.outcome {
            return Ok(Some(outcome.clone()));
        }
        let Some(control) = self.shared().control(&id) else {
            // Ended (or released) between the two reads.
            return Ok(self.get(scope, id)?.outcome.clone());
        };
        loop {
            let notified = control.done.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(outcome) = control.outcome.get() {
                return Ok(Some(outcome.clone()));
            }
            if control.is_released() {
                return Ok(None);
            }
            notified.await;
        }
    }

    /// Subscribes to task events that pass `filter`, from now on.
    ///
    /// The subscription listens only to its task's events when the filter names a task, else
    /// only to its scope's when it names a scope: other scopes' and tasks' events cost it
    /// nothing and never make it lag (see [`Subscription`]). After shutdown, the subscription
    /// returned has already ended.
    pub fn subscribe(&self, filter: EventFilter) -> Subscription {
        Subscription::new(&self.shared().events, filter)
    }

    /// The outstanding input requests of a task, in the order its work made them (empty when
    /// none, and once the task has ended). Read without a mailbox round trip.
    ///
    /// Work asks with [`TaskContext::request_input`]; answer with
    /// [`provide_input`](Taskward::provide_input).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown, expired or foreign id.
    pub fn input_requests(&self, scope: &Scope, id: TaskId) -> Result<Vec<InputRequest>, Error> {
        let record = self.get(scope, id)?;
        if record.is_terminal() {
            return Ok(Vec::new());
        }
        Ok(self
            .shared()
            .control(&id)
            .map_or_else(Vec::new, |control| control.input_requests()))
    }
}
