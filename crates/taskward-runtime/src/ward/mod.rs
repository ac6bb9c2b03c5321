//! The runtime handle: everything a host calls.
//!
//! This module holds the handle, its registry call and the submit path; each sibling holds
//! one concern: [`reads`] (records, waits, events, input requests), [`commands`] (cancel,
//! scopes, input, external tasks), [`inspect`] (status and actor cells) and [`shutdown`].

mod commands;
mod inspect;
mod reads;
mod shutdown;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ractor::concurrency::JoinHandle;
use ractor::{ActorRef, MessagingErr, RpcReplyPort};
use serde_json::Value;
#[cfg(doc)]
use taskward_core::Restart;
use taskward_core::{Cancellation, Error, TaskError};

use crate::builder::{Builder, Config};
use crate::context::TaskContext;
use crate::control::{WorkFn, once_work};
use crate::handle::TaskHandle;
use crate::registry::{Admission, CreateRequest, RegistryMsg, create_direct};
use crate::root::RootMsg;
use crate::runner::RunnerMsg;
use crate::shared::Shared;
use crate::spec::TaskSpec;

pub use shutdown::ShutdownReport;

/// How long a call waits for a restarting registry before giving up.
const RESTART_WAIT: Duration = Duration::from_secs(5);

/// How many times a command is delivered when the registry stops with it queued.
const RESEND: usize = 3;

/// The answer once the root has given up.
fn gave_up() -> Error {
    Error::Unavailable("the registry is down and was not restarted".into())
}

/// Hands a task's first attempt to the runner of its partition and waits for its start
/// acknowledgement (the work's tokio task spawned, its deadline armed).
async fn start(
    shared: &Shared,
    control: Arc<crate::control::Control>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let runner = shared
        .partitions
        .wait_for(&control.id)
        .await
        .ok_or("the runner of the task's partition is restarting")?;
    let answer = runner
        .call(
            |reply| RunnerMsg::Start {
                control,
                attempt: 1,
                reply,
            },
            Some(RESTART_WAIT),
        )
        .await;
    match answer {
        Ok(ractor::rpc::CallResult::Success(started)) => Ok(started?),
        Ok(ractor::rpc::CallResult::Timeout) => {
            Err("the runner did not acknowledge the start".into())
        }
        Ok(ractor::rpc::CallResult::SenderError) => {
            Err("the runner stopped before acknowledging the start".into())
        }
        Err(e) => Err(Box::new(e)),
    }
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

    /// Sends a command to the registry and waits for its answer. A registry that is being
    /// restarted gets the command once its successor is up (the message was never delivered,
    /// so it runs exactly once). A registry that stops with the command still in its mailbox
    /// (killed: ractor drops queued messages) never ran it, since every handler writes and
    /// replies without awaiting; the command is built anew and sent to the successor, up to
    /// [`RESEND`] times. Once the root has given up (restart intensity exceeded), nothing will
    /// restart it: the answer is `Unavailable` at once.
    async fn call<T: Send + 'static>(
        &self,
        build: impl Fn(RpcReplyPort<T>) -> RegistryMsg,
    ) -> Result<T, Error> {
        let shared = self.shared();
        for _ in 0..RESEND {
            match self.call_once(&build).await {
                Err(None) if !shared.is_stopping() && !shared.has_given_up() => continue,
                Err(None) => break,
                Err(Some(e)) => return Err(e),
                Ok(answer) => return Ok(answer),
            }
        }
        Err(if shared.is_stopping() {
            Error::ShutDown
        } else if shared.has_given_up() {
            gave_up()
        } else {
            Error::Unavailable("the registry stopped before answering".into())
        })
    }

    /// One delivery of a command: `Err(None)` when the registry stopped before answering.
    async fn call_once<T: Send + 'static>(
        &self,
        build: &impl Fn(RpcReplyPort<T>) -> RegistryMsg,
    ) -> Result<T, Option<Error>> {
        let shared = self.shared();
        if shared.has_given_up() {
            return Err(Some(gave_up()));
        }
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
                        return Err(Some(Error::ShutDown));
                    }
                    if shared.has_given_up() {
                        return Err(Some(gave_up()));
                    }
                    // The root gives up or starts a successor; either changes the generation.
                    match tokio::time::timeout(RESTART_WAIT, generation.changed()).await {
                        Ok(Ok(())) => continue,
                        _ => return Err(Some(gave_up())),
                    }
                }
                Err(other) => return Err(Some(Error::Unavailable(other.to_string()))),
            }
        }
        rx.await.map_err(|_| None)
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
        self.admit_detached(spec, Arc::new(move |ctx| Box::pin(work(ctx))))
            .await
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
        self.admit_detached(spec, once_work(work)).await
    }

    /// Admits a task in its own tokio task, so that dropping the caller's future never leaves
    /// a recorded task without its runner.
    async fn admit_detached(&self, spec: TaskSpec, work: WorkFn) -> Result<TaskHandle, Error> {
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
    ///
    /// `on_cancel` runs once the registry has released its lock, so it may call back into the
    /// runtime; one that panics is logged and counted in
    /// [`RegistryStatus::callback_panics`](crate::RegistryStatus::callback_panics), and the
    /// cancel stands.
    pub async fn submit_external(
        &self,
        spec: TaskSpec,
        on_cancel: impl Fn(&Cancellation) + Send + Sync + 'static,
    ) -> Result<TaskHandle, Error> {
        self.admit(spec, None, Some(Arc::new(on_cancel))).await
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
                self.call(|reply| RegistryMsg::Create(Box::new((*request).clone()), reply))
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
        let started = start(self.shared(), control).await;
        match started {
            Ok(()) => Ok(TaskHandle::new(self.clone(), record, false)),
            Err(source) => {
                let reason = source.to_string();
                let _ = self
                    .call(|reply| RegistryMsg::StartFailed {
                        id,
                        reason: reason.clone(),
                        reply,
                    })
                    .await;
                Err(Error::RunnerStart { id, source })
            }
        }
    }
}
