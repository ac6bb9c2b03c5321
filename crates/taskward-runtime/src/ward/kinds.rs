//! Tasks of registered kinds: submit by kind, and run again what a restart interrupted.

use std::sync::Arc;

use serde_json::Value;
use taskward_core::{Error, Scope, StoredTask, TaskId, TaskRecord};

use super::Taskward;
use crate::handle::TaskHandle;
use crate::registry::Command;
use crate::spec::TaskSpec;

impl Taskward {
    /// Submits a task of a registered kind: the spec's name is the kind
    /// ([`Builder::register`](crate::Builder::register)), and `input` is its JSON input,
    /// recorded with the task so that its work can run again, from its last checkpoint, after
    /// a restart or a [`suspend`](Taskward::suspend).
    ///
    /// On a node of several with a shared queue ([`has_shared_queue`](Taskward::has_shared_queue))
    /// the task is not run here: it is admitted against the live limits counted across the
    /// cluster, recorded as a queued row (status `working`, phase `queued`, its policies
    /// carried in [`TaskRecord::policies`]) and the submit returns once that row is durable
    /// (concurrent submits share one transaction). Whichever node with room claims it
    /// (this one included) runs it; [`find`](Taskward::find), [`wait`](Taskward::wait),
    /// [`cancel`](Taskward::cancel) and [`provide_input`](Taskward::provide_input) reach it
    /// wherever it runs ([`get`](Taskward::get) reads only this node's memory). A spec that
    /// cannot travel stays here and runs as on a single node: one with an owner actor, a
    /// parent, an idempotency key, resource limits, outside the live limits, of a kind that
    /// caches its results, or asked to [`stay_local`](TaskSpec::stay_local). A routed task
    /// publishes no events on this node.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownKind`] when no kind is registered under the spec's name (nothing is
    /// created); otherwise those of [`submit`](Taskward::submit).
    ///
    /// # Cancel safety
    ///
    /// As [`submit`](Taskward::submit).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use serde_json::{Value, json};
    /// use taskward_core::{Outcome, TaskError};
    /// use taskward_runtime::{TaskContext, TaskSpec, Taskward};
    ///
    /// async fn double(_ctx: TaskContext, input: Value) -> Result<Value, TaskError> {
    ///     Ok(json!(input.as_u64().unwrap_or(0) * 2))
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), taskward_core::Error> {
    /// let ward = Taskward::builder().register("double", double).spawn().await?;
    /// let task = ward.submit_kind(TaskSpec::new("double"), json!(21)).await?;
    /// assert_eq!(task.wait().await?, Outcome::completed(json!(42)));
    /// assert_eq!(task.record().input.as_deref(), Some(&json!(21)));
    /// ward.shutdown(Duration::from_secs(1)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn submit_kind(&self, spec: TaskSpec, input: Value) -> Result<TaskHandle, Error> {
        let kind = self
            .shared()
            .kinds
            .get(&spec.name)
            .ok_or_else(|| Error::UnknownKind(spec.name.clone()))?;
        let spec = spec.input(input);
        if let Some(shared) = self.routes(&spec, kind) {
            return self.enqueue_elsewhere(&shared, spec).await;
        }
        let work = kind.work(spec.input.clone().unwrap_or_default());
        self.admit(spec, Some(work), None).await
    }

    /// Whether a kind of work is registered under `name`.
    pub fn has_kind(&self, name: &str) -> bool {
        self.shared().kinds.get(name).is_some()
    }

    /// The names of the registered kinds, sorted: what a node of several claims from the
    /// shared queue.
    ///
    /// # Examples
    ///
    /// ```
    /// # use taskward_runtime::{TaskContext, Taskward};
    /// # use serde_json::{json, Value};
    /// # async fn double(_: TaskContext, n: Value) -> Result<Value, taskward_core::TaskError> { Ok(json!(n.as_i64().unwrap_or(0) * 2)) }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), taskward_core::Error> {
    /// let ward = Taskward::builder().register("double", double).spawn().await?;
    /// assert_eq!(ward.kinds(), vec![std::sync::Arc::<str>::from("double")]);
    /// # Ok(()) }
    /// ```
    pub fn kinds(&self) -> Vec<Arc<str>> {
        self.shared().kinds.names()
    }

    /// Suspends a running task of a registered kind (OTP's `sys:suspend`): its attempt is
    /// stopped ([`TaskContext::is_suspending`](crate::TaskContext::is_suspending) says so,
    /// and its token fires), the work saves its checkpoint and returns, and the task stays
    /// live (`working`) in phase [`Suspended`](taskward_core::Phase::Suspended), with no
    /// attempt running, until [`resume`](Taskward::resume)d. A work that does not return
    /// within the cancel grace period is aborted; its last checkpoint stands. With a durable
    /// store, a suspended task stays suspended across a restart.
    ///
    /// Returns the record as it is when the request is taken (`suspending`), or suspended
    /// already when no attempt was running.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown or foreign id; [`Error::AlreadyTerminal`];
    /// [`Error::NotResumable`] for a task submitted with a closure; [`Error::WrongPhase`]
    /// when it is suspended or being suspended already.
    pub async fn suspend(&self, scope: &Scope, id: TaskId) -> Result<Arc<TaskRecord>, Error> {
        self.call(|answer| Command::Suspend {
            scope: scope.clone(),
            id,
            answer,
        })
        .await?
    }

    /// Resumes a suspended task (OTP's `sys:resume`): its next attempt runs, and reads the
    /// checkpoint its work saved with
    /// [`TaskContext::last_checkpoint`](crate::TaskContext::last_checkpoint).
    ///
    /// # Errors
    ///
    /// As [`suspend`](Taskward::suspend); [`Error::WrongPhase`] when the task is not
    /// suspended.
    pub async fn resume(&self, scope: &Scope, id: TaskId) -> Result<Arc<TaskRecord>, Error> {
        // The task's partition may be (re)starting, as it is just after spawn: wait for it,
        // so that the registry finds it in place.
        let _ = self.shared().runners.partitions.wait_for(&id).await;
        self.call(|answer| Command::Resume {
            scope: scope.clone(),
            id,
            answer,
        })
        .await?
    }

    /// Takes over a task of a registered kind that another node ran, and runs it here from
    /// its last checkpoint: same id and scope, next attempt (a task still queued runs as the
    /// attempt it was queued for). On a node of several, the node claims such a task from the
    /// shared queue (or after its node died) and adopts it; its durable store must know the
    /// claim before, so that the writes of the task are fenced by it.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownKind`] when this runtime has not registered the task's kind; those of
    /// [`submit`](Taskward::submit) otherwise (the task is in this node's table once adopted,
    /// even when its start fails, and ends `start_failed` then).
    ///
    /// # Cancel safety
    ///
    /// As [`submit`](Taskward::submit).
    pub async fn adopt(&self, stored: StoredTask) -> Result<TaskHandle, Error> {
        self.resume_restored(stored, true).await
    }

    /// Runs again a task of a registered kind that was live when the process stopped (or,
    /// `adopted`, that this node claimed), from its last checkpoint: same id, next attempt,
    /// under the policies its record carries. A restored task waits again for its
    /// dependencies; an adopted one was claimed once they had all completed.
    pub(crate) async fn resume_restored(
        &self,
        stored: StoredTask,
        adopted: bool,
    ) -> Result<TaskHandle, Error> {
        let record = &stored.record;
        let kind = self
            .shared()
            .kinds
            .get(&record.name)
            .ok_or_else(|| Error::UnknownKind(record.name.clone()))?;
        let mut spec = TaskSpec::of_record(record);
        if !adopted {
            spec.depends_on = record.depends_on.clone();
        }
        let work = kind.work(spec.input.clone().unwrap_or_default());
        self.record_and_start(spec, Some(work), None, Some(Box::new(stored)))
            .await
    }
}
