//! Commands: cancel, close a scope, answer input, drive external tasks.

use std::sync::Arc;

use serde_json::Value;
use taskward_core::{CancelledBy, ClosePolicy, Error, Scope, TaskError, TaskId, TaskRecord};

use super::Taskward;
#[cfg(doc)]
use crate::context::TaskContext;
use crate::progress::ProgressMessage;
use crate::registry::Command;

impl Taskward {
    /// Cancels a task: it is `cancelled` when this returns (durably, with a durable store);
    /// then its work's token fires and, after the grace period, the work is aborted.
    /// Children of the task are cancelled too.
    ///
    /// On a node of several ([`Builder::shared_tasks`](crate::Builder::shared_tasks)), a task
    /// held by another node is cancelled in the shared table, and that node fires its token.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown or foreign id; [`Error::AlreadyTerminal`] naming the
    /// status of a task that already ended; [`Error::Store`] when the shared table cannot be
    /// reached.
    pub async fn cancel(
        &self,
        scope: &Scope,
        id: TaskId,
        reason: Option<String>,
    ) -> Result<Arc<TaskRecord>, Error> {
        if let Some(shared) = self.shared_tasks()
            && self.get(scope, id).is_err()
        {
            return self.cancel_elsewhere(shared, scope, id, reason).await;
        }
        let shared = self.shared();
        let (answer, answered) = tokio::sync::oneshot::channel();
        shared
            .queue_command(Command::Cancel {
                scope: scope.clone(),
                id,
                by: CancelledBy::Client,
                reason,
                answer,
            })
            .map_err(|closed| closed.error())?;
        // Signal first, then record: the work hears the cancel at once (it runs while this
        // caller yields), and the registry, which takes the command before any report of the
        // work's end, records the cancel either way.
        if shared.signal_cancel(scope, &id) {
            tokio::task::yield_now().await;
        }
        shared.settle();
        let record = self.answer(answered).await??;
        // Acknowledged once durable: a restart finds it cancelled.
        self.synced().await?;
        Ok(record)
    }

    /// Releases a live task this node no longer holds (another node took it over): its work
    /// is stopped as by a cancel (its token fires, then it is aborted after the grace
    /// period), but no end is recorded or written: the task leaves this node's memory, a
    /// [`wait`](Self::wait) on it (one already waiting too) follows it to the shared table
    /// and returns the outcome it reaches there, and [`find`](Self::find) reads it there.
    ///
    /// By id alone, like [`inspect`](Self::inspect): for the node that runs this runtime,
    /// never on a client's word. Children, owners' notices and the tasks waiting for it as
    /// a dependency are not told (it has not ended). On a single node (no
    /// [`Builder::shared_tasks`](crate::Builder::shared_tasks)) the task simply vanishes:
    /// later reads and waits answer [`Error::NotFound`]. Returns the record as it was here.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an id not in memory; [`Error::AlreadyTerminal`] for a task
    /// that ended here already.
    ///
    /// # Cancel safety
    ///
    /// The release is queued before the first await: dropping the future does not undo it.
    pub async fn release(&self, id: TaskId) -> Result<Arc<TaskRecord>, Error> {
        self.call(|answer| Command::Release { id, answer }).await?
    }

    /// Applies a close policy to every live task of a scope (a session ended): keep them,
    /// cancel them (cancelled by owner), or transfer them to another scope. Returns how many
    /// tasks were cancelled or transferred.
    ///
    /// On a node of several ([`Builder::shared_tasks`](crate::Builder::shared_tasks)), a
    /// cancel also reaches the scope's tasks held by the other nodes, through the shared
    /// table ([`SharedTasks::close_scope`](taskward_core::SharedTasks::close_scope)), once
    /// this node's own cancels are durable; a transfer moves this node's tasks only.
    pub async fn close_scope(&self, scope: &Scope, policy: ClosePolicy) -> Result<usize, Error> {
        let elsewhere = self
            .shared_tasks()
            .cloned()
            .filter(|_| policy == ClosePolicy::Cancel);
        let policy_here = policy.clone();
        let here = self
            .call(|answer| Command::CloseScope {
                scope: scope.clone(),
                policy: policy_here,
                answer,
            })
            .await?;
        let Some(shared) = elsewhere else {
            return Ok(here);
        };
        // This node's cancels first, so that the shared close finds them ended and leaves
        // them to this node's writes.
        self.synced().await?;
        let there = shared
            .close_scope(scope, &policy)
            .await
            .map_err(Error::Store)?;
        Ok(here + there)
    }

    /// Drives an external task to its end: `Ok(value)` completes it, `Err` fails it (or
    /// cancels it, for [`TaskError::cancelled`]).
    pub async fn finish_external(
        &self,
        scope: &Scope,
        id: TaskId,
        result: Result<Value, TaskError>,
    ) -> Result<Arc<TaskRecord>, Error> {
        self.call(|answer| Command::FinishExternal {
            scope: scope.clone(),
            id,
            result,
            answer,
        })
        .await?
    }

    /// Answers one outstanding input request of a task: the work parked in
    /// [`TaskContext::request_input`] under `key` resumes with `response`. The task is back to
    /// `working` when no request remains outstanding; the record returned says so.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown, expired or foreign id; [`Error::AlreadyTerminal`]
    /// naming the status of a task that already ended; [`Error::UnknownInput`] when no request
    /// under `key` is outstanding (already answered, withdrawn, or never asked). On a node of
    /// several, a task held by another node is answered through the shared table (an answer
    /// to a request its work did not make is dropped there, not refused).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use serde_json::json;
    /// use taskward_core::{Error, Outcome, Scope, Status};
    /// use taskward_runtime::{TaskContext, TaskSpec, Taskward};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Error> {
    /// let ward = Taskward::builder().spawn().await?;
    /// let scope = Scope::session("s-1");
    /// let task = ward
    ///     .submit(TaskSpec::new("confirm").scope(scope.clone()), |ctx: TaskContext| async move {
    ///         let yes = ctx.request_input("ok?", json!({ "message": "Proceed?" })).await?;
    ///         Ok(json!({ "proceeded": yes }))
    ///     })
    ///     .await?;
    /// while ward.input_requests(&scope, task.id())?.is_empty() {
    ///     tokio::time::sleep(Duration::from_millis(1)).await;
    /// }
    ///
    /// let record = ward.provide_input(&scope, task.id(), "ok?", json!(true)).await?;
    /// assert_ne!(record.status, Status::InputRequired);
    /// // Each request is answered once.
    /// let again = ward.provide_input(&scope, task.id(), "ok?", json!(true)).await;
    /// assert!(matches!(again, Err(Error::UnknownInput { .. } | Error::AlreadyTerminal { .. })));
    ///
    /// assert_eq!(task.wait().await?, Outcome::completed(json!({ "proceeded": true })));
    /// ward.shutdown(Duration::from_secs(1)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn provide_input(
        &self,
        scope: &Scope,
        id: TaskId,
        key: &str,
        response: Value,
    ) -> Result<Arc<TaskRecord>, Error> {
        if let Some(shared) = self.shared_tasks()
            && self.get(scope, id).is_err()
        {
            return self
                .provide_input_elsewhere(shared, scope, id, key, response)
                .await;
        }
        self.call(|answer| Command::ProvideInput {
            scope: scope.clone(),
            id,
            key: key.to_owned(),
            response,
            answer,
        })
        .await?
    }

    /// Reports progress of an external task: latest wins, with the rules of
    /// [`TaskContext::progress`] (delivered within the progress interval, `done` never goes
    /// backwards, a total below `done` reads as `done`, `None` keeps the message).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when no task has this id in `scope`, [`Error::NotExternal`] when the
    /// task has a work of its own, [`Error::AlreadyTerminal`] when it has ended.
    pub fn external_progress<'a>(
        &self,
        scope: &Scope,
        id: TaskId,
        done: u64,
        total: Option<u64>,
        message: impl Into<ProgressMessage<'a>>,
    ) -> Result<(), Error> {
        let record = self.get(scope, id)?;
        if !record.external {
            return Err(Error::NotExternal(id));
        }
        let control = self.shared().control(&id).ok_or(Error::AlreadyTerminal {
            id,
            status: record.status,
        })?;
        if control.progress.set(done, total, message.into()) {
            self.shared().progress.list(id);
        }
        Ok(())
    }
}
