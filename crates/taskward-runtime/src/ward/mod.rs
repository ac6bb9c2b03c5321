//! The runtime handle: everything a host calls.
//!
//! This module holds the handle, its registry call and the submit path; each sibling holds
//! one concern: [`reads`] (records, waits, events, input requests), [`commands`] (cancel,
//! scopes, input, external tasks), [`inspect`] (status and actor cells) and [`shutdown`].

mod anywhere;
mod commands;
mod elsewhere;
mod inspect;
mod kinds;
mod reads;
mod route;
mod sessions;
mod shutdown;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ractor::ActorRef;
use ractor::concurrency::JoinHandle;
use serde_json::Value;
#[cfg(doc)]
use taskward_core::Restart;
use taskward_core::{Cancellation, Error, TaskError};

use crate::builder::Builder;
use crate::config::Config;
use crate::context::TaskContext;
use crate::control::{WorkFn, WorkParts};
use crate::handle::TaskHandle;
use crate::registry::Shared;
use crate::registry::{Admission, Answer, Command, CreateRequest};
use crate::root::RootMsg;
use crate::runner::{StartAck, hand_over};
use crate::spec::TaskSpec;

pub use elsewhere::ElsewhereStatuses;
pub use shutdown::ShutdownReport;

/// How long a status query waits for a runner's answer.
const RESTART_WAIT: Duration = Duration::from_secs(5);

/// Wraps a work as the runtime's [`WorkFn`]: each attempt's parts become its [`TaskContext`].
fn work_fn<F, Fut>(work: F) -> WorkFn
where
    F: Fn(TaskContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, TaskError>> + Send + 'static,
{
    Arc::new(move |parts: WorkParts| Box::pin(work(TaskContext::new(parts))))
}

/// Wraps a one-shot work as a [`WorkFn`]: the first call takes it out of its slot (one
/// uncontended lock, once per task); a later call (impossible while `submit_once` refuses
/// restart policies with more than one attempt) fails that attempt instead of panicking.
fn once_work<F, Fut>(work: F) -> WorkFn
where
    F: FnOnce(TaskContext) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Value, TaskError>> + Send + 'static,
{
    let slot = Mutex::new(Some(work));
    Arc::new(move |parts: WorkParts| {
        let work = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        match work {
            Some(work) => Box::pin(work(TaskContext::new(parts))),
            None => Box::pin(std::future::ready(Err(TaskError::new(
                "one-shot work already ran and cannot run again",
            )))),
        }
    })
}

/// Waits for a start acknowledgement.
async fn acknowledged(started: StartAck) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    match started.await {
        Ok(started) => Ok(started?),
        Err(_) => Err("the runner stopped before acknowledging the start".into()),
    }
}

/// Hands a task's first attempt to the runner of its partition when the registry found none in
/// place (the partition was being restarted): waits for one, then for its acknowledgement.
async fn start_late(
    shared: &Shared,
    control: Arc<crate::control::Control>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let runner = shared
        .runners
        .partitions
        .wait_for(&control.id)
        .await
        .ok_or("the runner of the task's partition is restarting")?;
    let ack = hand_over(&runner, &control, true).ok_or("the runner stopped before the start")?;
    runner.kick();
    acknowledged(ack).await
}

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

    /// Sends a command to the registry through its inbox and waits for its answer. A
    /// registry that is being restarted answers once its successor is up: the inbox outlives
    /// it, so the command is neither lost nor run twice. Once the runtime has shut down, or
    /// its root has given up (restart intensity exceeded), the answer is `ShutDown` or
    /// `Unavailable` at once.
    ///
    /// # Cancel safety
    ///
    /// The command is queued when this is first polled; dropping the future then drops only
    /// the answer.
    async fn call<T: Send + 'static>(
        &self,
        build: impl FnOnce(Answer<T>) -> Command,
    ) -> Result<T, Error> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if let Err(closed) = self.shared().command(build(tx)) {
            return Err(closed.error());
        }
        self.answer(rx).await
    }

    /// Waits for a queued command's answer.
    async fn answer<T>(&self, answered: tokio::sync::oneshot::Receiver<T>) -> Result<T, Error> {
        answered
            .await
            .map_err(|_| match self.shared().inbox.closed() {
                Some(closed) => closed.error(),
                None => Error::Unavailable("the registry failed while applying the command".into()),
            })
    }

    /// Submits a task and returns once it is recorded (status `working`) and its runner has
    /// acknowledged start.
    ///
    /// `work` is called once per attempt with the attempt's [`TaskContext`]; it runs in its own
    /// tokio task under a runner actor that enforces the timeout and relays cancellation.
    /// Because a restart policy may call it again, it is an `Fn + Sync`; for work that runs
    /// once and captures what is not `Sync` or not `Clone`, use
    /// [`submit_once`](Taskward::submit_once).
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
        self.admit(spec, Some(work_fn(work)), None).await
    }

    /// Submits one-shot work: like [`submit`](Taskward::submit), for a work that is a
    /// [`FnOnce`] and need not be `Sync` (it may capture a `Sender`, a `Cell`, a value it
    /// consumes), since it runs at most once.
    ///
    /// One-shot work cannot be retried, so the spec's restart policy must allow a single
    /// attempt ([`Restart::Temporary`], the default, or a transient policy of one attempt); a
    /// policy that allows more is refused with [`Error::OneShotRetry`] before anything is
    /// created, rather than failing the task at its second attempt. The work is kept in a
    /// slot and taken out once, when its runner starts (one uncontended lock per task).
    ///
    /// # Errors
    ///
    /// [`Error::OneShotRetry`] for a restart policy of more than one attempt (nothing is
    /// created); otherwise those of [`submit`](Taskward::submit).
    ///
    /// # Cancel safety
    ///
    /// As [`submit`](Taskward::submit): dropping this future never leaves a recorded task
    /// without its runner; the task may still be created.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    /// use std::time::Duration;
    /// use serde_json::json;
    /// use taskward_core::Outcome;
    /// use taskward_runtime::{TaskContext, TaskSpec, Taskward};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), taskward_core::Error> {
    /// let ward = Taskward::builder().spawn().await?;
    /// let (tx, rx) = mpsc::channel(); // a Sender is Send but not Sync
    /// let task = ward
    ///     .submit_once(TaskSpec::new("notify"), move |_ctx: TaskContext| async move {
    ///         tx.send("done").ok();
    ///         Ok(json!("sent"))
    ///     })
    ///     .await?;
    /// assert_eq!(task.wait().await?, Outcome::completed(json!("sent")));
    /// assert_eq!(rx.recv().ok(), Some("done"));
    /// ward.shutdown(Duration::from_secs(1)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn submit_once<F, Fut>(&self, spec: TaskSpec, work: F) -> Result<TaskHandle, Error>
    where
        F: FnOnce(TaskContext) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Value, TaskError>> + Send + 'static,
    {
        let max_attempts = spec.restart.max_attempts();
        if max_attempts > 1 {
            return Err(Error::OneShotRetry { max_attempts });
        }
        self.admit(spec, Some(once_work(work)), None).await
    }

    /// Registers an external task: its work runs elsewhere (a child process, another
    /// service), the host drives it to a terminal status with
    /// [`finish_external`](Taskward::finish_external), and `on_cancel` is called when it is
    /// cancelled (by a client, its owner, expiry or shutdown). It shares the registry, events
    /// and TTL with every other task.
    ///
    /// `on_cancel` runs on the registry's thread once it has released its lock: it may read
    /// the runtime and issue commands, but must not block waiting for a command's answer (the
    /// registry answers it once the callback has returned): spawn the command instead. One
    /// that panics is logged and counted in
    /// [`RegistryStatus::callback_panics`](crate::RegistryStatus::callback_panics), and the
    /// cancel stands.
    pub async fn submit_external(
        &self,
        spec: TaskSpec,
        on_cancel: impl Fn(&Cancellation) + Send + Sync + 'static,
    ) -> Result<TaskHandle, Error> {
        self.admit(spec, None, Some(Arc::new(on_cancel))).await
    }

    /// Records a task; the registry hands it to its runner as it records it, and this waits
    /// for the start acknowledgement. Cancel safe: once queued, the create and the start run
    /// whether or not the caller still waits.
    async fn admit(
        &self,
        spec: TaskSpec,
        work: Option<WorkFn>,
        external_cancel: Option<crate::control::ExternalCancel>,
    ) -> Result<TaskHandle, Error> {
        if spec.input.is_some() && self.shared().kinds.get(&spec.name).is_none() {
            return Err(Error::UnknownKind(spec.name.clone()));
        }
        self.record_and_start(spec, work, external_cancel, None)
            .await
    }

    pub(crate) async fn record_and_start(
        &self,
        spec: TaskSpec,
        work: Option<WorkFn>,
        external_cancel: Option<crate::control::ExternalCancel>,
        resumed: Option<Box<taskward_core::StoredTask>>,
    ) -> Result<TaskHandle, Error> {
        // A resumed task's record is durable already: what the store gave back.
        let fresh = resumed.is_none();
        let mut recorded = None;
        let handle = self
            .record_then_start(spec, work, external_cancel, resumed, &mut recorded)
            .await?;
        // With a durable store, the record is durable before submit returns (the 2026-07-28
        // MCP extension requires it before `CreateTaskResult` is sent): the commit that
        // carries the writes queued up to the record's, not the task's later transitions.
        // Submits that arrive together share one commit.
        if let (true, Some(journal), Some(recorded)) = (fresh, &self.shared().journal, recorded) {
            journal.synced_to(recorded).await?;
        }
        Ok(handle)
    }

    /// Records the task (noting in `recorded` the journal's mark just after its record) and
    /// waits for its start.
    async fn record_then_start(
        &self,
        spec: TaskSpec,
        work: Option<WorkFn>,
        external_cancel: Option<crate::control::ExternalCancel>,
        resumed: Option<Box<taskward_core::StoredTask>>,
        recorded: &mut Option<u64>,
    ) -> Result<TaskHandle, Error> {
        let request = Box::new(CreateRequest {
            spec,
            work,
            external_cancel,
            resumed,
        });
        let admission = self
            .call(|answer| Command::Create(request, answer))
            .await??;
        // The registry wrote the record (or found it) before it answered.
        *recorded = self.shared().journal.as_ref().map(|j| j.queued());
        let (control, record, started) = match admission {
            Admission::Existing(record) => return Ok(TaskHandle::new(self.clone(), record, true)),
            Admission::Cached(record) => return Ok(TaskHandle::new(self.clone(), record, false)),
            Admission::New {
                control,
                record,
                started,
                queued,
            } => {
                if queued {
                    // Queued for a running slot or its dependencies: its runner acknowledges
                    // the start when it is dequeued.
                    return Ok(TaskHandle::new(self.clone(), record, false));
                }
                (control, record, started)
            }
        };
        // External work runs elsewhere; a task restored suspended waits for resume.
        if record.external || record.phase == Some(taskward_core::Phase::Suspended) {
            return Ok(TaskHandle::new(self.clone(), record, false));
        }
        let id = control.id;
        let started = match started {
            Some(started) => acknowledged(started).await,
            None => {
                // Rare (a partition being restarted): detached, so that dropping this future
                // cannot leave the task without its start.
                let shared = self.shared().clone();
                tokio::spawn(async move { start_late(&shared, control).await })
                    .await
                    .unwrap_or_else(|e| Err(Box::new(e)))
            }
        };
        match started {
            Ok(()) => Ok(TaskHandle::new(self.clone(), record, false)),
            Err(source) => {
                let reason = source.to_string();
                let _ = self
                    .call(|done| Command::StartFailed { id, reason, done })
                    .await;
                Err(Error::RunnerStart { id, source })
            }
        }
    }
}
