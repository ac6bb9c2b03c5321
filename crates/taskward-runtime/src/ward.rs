//! The runtime handle: everything a host calls.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ractor::concurrency::JoinHandle;
use ractor::{ActorCell, ActorRef, MessagingErr, RpcReplyPort};
use serde_json::Value;
use taskward_core::{
    Cancellation, CancelledBy, ClosePolicy, Error, InputRequest, ListQuery, Outcome, Page, Scope,
    TaskError, TaskId, TaskRecord,
};

use crate::builder::{Builder, Config};
use crate::context::TaskContext;
use crate::control::WorkFn;
use crate::handle::TaskHandle;
use crate::registry::{
    Admission, CreateRequest, RegistryMsg, RegistryStatus, cancel_direct, create_direct,
};
use crate::root::RootMsg;
use crate::runner::{RunnerMsg, RunnerStatus};
use crate::runner_sup::start_runner;
use crate::shared::{Report, Shared};
use crate::spec::TaskSpec;
use crate::subscription::{EventFilter, Subscription};

/// How long a call waits for a restarting registry before giving up.
const RESTART_WAIT: Duration = Duration::from_secs(5);

/// A running taskward runtime: submit, read, wait, cancel, subscribe, inspect, shut down.
///
/// Cheap to clone; every clone talks to the same runtime. Reads ([`get`](Taskward::get),
/// [`list`](Taskward::list)) go straight to the table without a mailbox round trip; commands go
/// to the registry actor, the table's one writer.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use serde_json::json;
/// use taskward_core::{Outcome, Scope, Status};
/// use taskward_runtime::{TaskContext, TaskSpec, Taskward};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), taskward_core::Error> {
/// let ward = Taskward::builder().spawn().await?;
/// let scope = Scope::session("s-1");
/// let task = ward
///     .submit(TaskSpec::new("add").scope(scope.clone()), |ctx: TaskContext| async move {
///         ctx.progress(1, Some(1), "adding");
///         Ok(json!(2 + 2))
///     })
///     .await?;
/// assert_eq!(task.wait().await?, Outcome::completed(json!(4)));
/// assert_eq!(ward.get(&scope, task.id())?.status, Status::Completed);
/// ward.shutdown(Duration::from_secs(1)).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Taskward {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    shared: Arc<Shared>,
    root: ActorRef<RootMsg>,
    join: Mutex<Option<JoinHandle<()>>>,
}

/// What a shutdown did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Runners that were still running when shutdown began (their tasks are cancelled).
    pub runners: usize,
    /// Runners whose work did not stop by the deadline and was aborted.
    pub aborted: usize,
}

impl Taskward {
    /// A builder for a runtime.
    pub fn builder() -> Builder {
        Builder::new()
    }

    pub(crate) fn new(shared: Arc<Shared>, root: ActorRef<RootMsg>, join: JoinHandle<()>) -> Self {
        Self {
            inner: Arc::new(Inner {
                shared,
                root,
                join: Mutex::new(Some(join)),
            }),
        }
    }

    fn shared(&self) -> &Arc<Shared> {
        &self.inner.shared
    }

    /// The configuration the runtime runs with.
    pub fn config(&self) -> &Config {
        &self.inner.shared.config
    }

    /// Sends a command to the registry and waits for its answer. A registry that is being
    /// restarted gets the command once its successor is up (the message was never delivered,
    /// so it runs exactly once).
    async fn call<T: Send + 'static>(
        &self,
        build: impl FnOnce(RpcReplyPort<T>) -> RegistryMsg,
    ) -> Result<T, Error> {
        let shared = self.shared();
        let (tx, rx) = ractor::concurrency::oneshot();
        let mut message = build(tx.into());
        let mut generation = shared.registry_generation();
        loop {
            generation.borrow_and_update();
            let sent = match shared.registry() {
                Some(registry) => registry.send_message(message),
                None => Err(MessagingErr::SendErr(message)),
            };
            match sent {
                Ok(()) => break,
                Err(MessagingErr::SendErr(returned)) => {
                    message = returned;
                    if shared.is_stopping() {
                        return Err(Error::ShutDown);
                    }
                    match tokio::time::timeout(RESTART_WAIT, generation.changed()).await {
                        Ok(Ok(())) => continue,
                        _ => {
                            return Err(Error::Unavailable(
                                "the registry is down and was not restarted".into(),
                            ));
                        }
                    }
                }
                Err(other) => return Err(Error::Unavailable(other.to_string())),
            }
        }
        rx.await.map_err(|_| {
            if shared.is_stopping() {
                Error::ShutDown
            } else {
                Error::Unavailable("the registry stopped before answering".into())
            }
        })
    }

    /// Submits a task and returns once it is recorded (status `working`) and its runner has
    /// acknowledged start.
    ///
    /// `work` is called once per attempt with the attempt's [`TaskContext`]; it runs in its own
    /// tokio task under a runner actor that enforces the timeout and relays cancellation.
    ///
    /// # Errors
    ///
    /// [`Error::LimitExceeded`] or [`Error::TtlAboveMaximum`] when over a limit (nothing is
    /// created), [`Error::InvalidParent`], [`Error::ShutDown`] once shutdown began, and
    /// [`Error::RunnerStart`] when the runner could not start (the task is then failed with
    /// cause `start_failed`, never left working).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the submission runs in its own tokio task, so dropping this future never
    /// leaves a recorded task without its runner. The task may still be created.
    pub async fn submit<F, Fut>(&self, spec: TaskSpec, work: F) -> Result<TaskHandle, Error>
    where
        F: Fn(TaskContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, TaskError>> + Send + 'static,
    {
        let work: WorkFn = Arc::new(move |ctx| Box::pin(work(ctx)));
        let ward = self.clone();
        tokio::spawn(async move { ward.admit(spec, Some(work), None).await })
            .await
            .map_err(|e| Error::Unavailable(format!("the submission was interrupted: {e}")))?
    }

    /// Registers an external task: its work runs elsewhere (a child process, another
    /// service), the host drives it to a terminal status with
    /// [`finish_external`](Taskward::finish_external), and `on_cancel` is called when it is
    /// cancelled (by a client, its owner, expiry or shutdown). It shares the registry, events
    /// and TTL with every other task.
    pub async fn submit_external(
        &self,
        spec: TaskSpec,
        on_cancel: impl Fn(&Cancellation) + Send + Sync + 'static,
    ) -> Result<TaskHandle, Error> {
        self.admit(spec, None, Some(Box::new(on_cancel))).await
    }

    async fn admit(
        &self,
        spec: TaskSpec,
        work: Option<WorkFn>,
        external_cancel: Option<crate::control::ExternalCancel>,
    ) -> Result<TaskHandle, Error> {
        let request = Box::new(CreateRequest {
            spec,
            work,
            external_cancel,
        });
        let admission = match create_direct(self.shared(), request) {
            Ok(admission) => admission?,
            Err(request) => {
                self.call(|reply| RegistryMsg::Create(request, reply))
                    .await??
            }
        };
        let (control, record) = match admission {
            Admission::Existing(record) => return Ok(TaskHandle::new(self.clone(), record, true)),
            Admission::New(control, record) => (control, record),
        };
        if record.external {
            return Ok(TaskHandle::new(self.clone(), record, false));
        }
        let id = control.id;
        let started = match self.shared().runner_sup() {
            Some(sup) => start_runner(self.shared(), sup.get_cell(), control, 1)
                .await
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>),
            None => Err("the runner supervisor is restarting".into()),
        };
        match started {
            Ok(()) => Ok(TaskHandle::new(self.clone(), record, false)),
            Err(source) => {
                let reason = source.to_string();
                let _ = self
                    .call(|reply| RegistryMsg::StartFailed { id, reason, reply })
                    .await;
                Err(Error::RunnerStart { id, source })
            }
        }
    }

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

    /// The records of every live task, in all scopes, oldest first: for operators. Costs
    /// O(live tasks); it does not go through the registry's mailbox.
    pub fn live_tasks(&self) -> Vec<Arc<TaskRecord>> {
        let ids: Vec<TaskId> = self
            .shared()
            .controls
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .copied()
            .collect();
        let mut records: Vec<Arc<TaskRecord>> = ids
            .iter()
            .filter_map(|id| self.shared().store.get(id))
            .filter(|r| !r.is_terminal())
            .collect();
        records.sort_by_key(|r| r.seq);
        records
    }

    /// Cancels a task: it is `cancelled` when this returns; then its work's token fires and,
    /// after the grace period, the work is aborted. Children of the task are cancelled too.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown or foreign id; [`Error::AlreadyTerminal`] naming the
    /// status of a task that already ended.
    pub async fn cancel(
        &self,
        scope: &Scope,
        id: TaskId,
        reason: Option<String>,
    ) -> Result<Arc<TaskRecord>, Error> {
        if let Some(result) = cancel_direct(
            self.shared(),
            scope,
            id,
            CancelledBy::Client,
            reason.clone(),
        ) {
            return result;
        }
        let scope = scope.clone();
        self.call(|reply| RegistryMsg::Cancel {
            scope,
            id,
            by: CancelledBy::Client,
            reason,
            reply,
        })
        .await?
    }

    /// Waits for a task's outcome: wakes on completion, failure, cancel and expiry.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe. The wake-up is armed before the outcome is checked, so an outcome set
    /// between the check and the wait is never missed.
    pub async fn wait(&self, scope: &Scope, id: TaskId) -> Result<Outcome, Error> {
        let record = self.get(scope, id)?;
        if let Some(outcome) = &record.outcome {
            return Ok(outcome.clone());
        }
        let Some(control) = self.shared().control(&id) else {
            // Ended between the two reads.
            return self
                .get(scope, id)?
                .outcome
                .clone()
                .ok_or(Error::NotFound(id));
        };
        loop {
            let notified = control.done.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(outcome) = control.outcome.get() {
                return Ok(outcome.clone());
            }
            notified.await;
        }
    }

    /// Subscribes to task events that pass `filter`, from now on.
    pub fn subscribe(&self, filter: EventFilter) -> Subscription {
        Subscription::new(self.shared().events.subscribe(), filter)
    }

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

    /// Applies a close policy to every live task of a scope (a session ended): keep them,
    /// cancel them (cancelled by owner), or transfer them to another scope. Returns how many
    /// tasks were cancelled or transferred.
    pub async fn close_scope(&self, scope: &Scope, policy: ClosePolicy) -> Result<usize, Error> {
        let scope = scope.clone();
        self.call(|reply| RegistryMsg::CloseScope {
            scope,
            policy,
            reply,
        })
        .await
    }

    /// Drives an external task to its end: `Ok(value)` completes it, `Err` fails it (or
    /// cancels it, for [`TaskError::cancelled`]).
    pub async fn finish_external(
        &self,
        scope: &Scope,
        id: TaskId,
        result: Result<Value, TaskError>,
    ) -> Result<Arc<TaskRecord>, Error> {
        let scope = scope.clone();
        self.call(|reply| RegistryMsg::FinishExternal {
            scope,
            id,
            result,
            reply,
        })
        .await?
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

    /// Answers one outstanding input request of a task: the work parked in
    /// [`TaskContext::request_input`] under `key` resumes with `response`. The task is back to
    /// `working` when no request remains outstanding; the record returned says so.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown, expired or foreign id; [`Error::AlreadyTerminal`]
    /// naming the status of a task that already ended; [`Error::UnknownInput`] when no request
    /// under `key` is outstanding (already answered, withdrawn, or never asked).
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
        let scope = scope.clone();
        let key = key.to_owned();
        self.call(|reply| RegistryMsg::ProvideInput {
            scope,
            id,
            key,
            response,
            reply,
        })
        .await?
    }

    /// Reports progress of an external task (latest wins, as [`TaskContext::progress`]).
    pub fn external_progress(
        &self,
        scope: &Scope,
        id: TaskId,
        done: u64,
        total: Option<u64>,
        message: Option<&str>,
    ) -> Result<(), Error> {
        let record = self.get(scope, id)?;
        if !record.external {
            return Err(Error::NotExternal(id));
        }
        let control = self.shared().control(&id).ok_or(Error::AlreadyTerminal {
            id,
            status: record.status,
        })?;
        if control.progress.set(done, total, message) {
            self.shared().report(Report::Progress { id });
        }
        Ok(())
    }

    /// Shuts the runtime down within `deadline`: stops admitting, cancels every live task
    /// (cancelled by shutdown), waits for the work to stop, aborts what has not by the
    /// deadline, flushes the store and stops the supervision tree. Every task ends terminal.
    pub async fn shutdown(&self, deadline: Duration) -> Result<ShutdownReport, Error> {
        let shared = self.shared().clone();
        let until = tokio::time::Instant::now() + deadline;
        let runners = if shared.is_stopping() {
            Vec::new()
        } else {
            self.call(RegistryMsg::BeginShutdown)
                .await
                .unwrap_or_default()
        };
        let mut report = ShutdownReport {
            runners: runners.len(),
            aborted: 0,
        };
        for runner in &runners {
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            if runner.get_cell().wait(Some(left)).await.is_err() {
                let _ = runner.cast(RunnerMsg::Abort);
                report.aborted += 1;
            }
        }
        for runner in &runners {
            let _ = runner.get_cell().wait(Some(Duration::from_secs(1))).await;
        }
        // Let the registry record the runners' last reports before the tree stops.
        let _ = self.call(RegistryMsg::Status).await;
        shared
            .stopping
            .store(true, std::sync::atomic::Ordering::Release);
        shared.store.flush()?;
        let root = self.inner.root.get_cell();
        let _ = root
            .stop_and_wait(Some("shutdown".into()), Some(Duration::from_secs(5)))
            .await;
        shared.set_registry(None);
        shared.set_runner_sup(None);
        let join = self
            .inner
            .join
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(join) = join {
            let _ = join.await;
        }
        Ok(report)
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
