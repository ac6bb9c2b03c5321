//! What the work sees of its task.

use std::sync::Arc;

use serde_json::Value;
use taskward_core::{InputRequest, TaskError, TaskId};
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

use crate::control::{Control, WorkParts};
use crate::progress::{ProgressFlush, ProgressMessage};
use crate::report::{Report, ReportPort};

/// The handle a task's work gets: its identity, progress reporting, input requests and
/// cancellation.
///
/// Cancellation is cooperative first: when the task is cancelled or its attempt times out, the
/// token fires at once, and the work should return (conventionally
/// `Err(TaskError::cancelled())`). Work that does not return within the grace period is
/// aborted at its next `.await`.
///
/// # Examples
///
/// ```
/// use serde_json::json;
/// use taskward_core::TaskError;
/// use taskward_runtime::TaskContext;
///
/// async fn sieve(ctx: TaskContext, n: u64) -> Result<serde_json::Value, TaskError> {
///     for i in 0..n {
///         ctx.progress(i, Some(n), "sieving");
///         if ctx.is_cancelled() {
///             return Err(TaskError::cancelled());
///         }
///         tokio::task::yield_now().await;
///     }
///     Ok(json!({ "done": n }))
/// }
/// ```
#[derive(Clone)]
pub struct TaskContext {
    control: Arc<Control>,
    attempt: u32,
    token: CancellationToken,
    progress: Arc<ProgressFlush>,
    port: ReportPort,
}

impl std::fmt::Debug for TaskContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskContext")
            .field("id", &self.control.id)
            .field("name", &self.control.name)
            .field("attempt", &self.attempt)
            .field("cancelled", &self.token.is_cancelled())
            .finish()
    }
}

impl TaskContext {
    pub(crate) fn new(parts: WorkParts) -> Self {
        let WorkParts {
            control,
            attempt,
            token,
            progress,
            port,
        } = parts;
        Self {
            control,
            attempt,
            token,
            progress,
            port,
        }
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.control.id
    }

    /// The task's name.
    pub fn name(&self) -> &str {
        &self.control.name
    }

    /// The attempt this work runs as, from 1.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Reports progress: `done` units of `total`, with a message update.
    ///
    /// Never blocks, never queues a message per call and wakes nothing: it writes a latest-wins
    /// cell that the registry reads every progress interval
    /// ([`Builder::progress_interval`](crate::Builder::progress_interval), 10 ms by default)
    /// and whenever it handles a report or a command. So a hot loop costs a few atomic
    /// operations per call, and a work that never awaits cannot delay the registry. Progress
    /// reported once the task is cancelled (its token has fired) or has ended is ignored.
    ///
    /// Each field is latest-wins, with these rules (see [`Progress`](taskward_core::Progress)):
    ///
    /// - `done` never goes backwards: a smaller `done` than already reported is ignored (the
    ///   total and message still apply);
    /// - `total` is `None` when unknown; any `u64` is kept as given, except that a total below
    ///   `done` reads as `done`, so the fraction never exceeds 1;
    /// - `message`: a `&str` replaces the message, `None` keeps the last one, and
    ///   [`ProgressMessage::Clear`](crate::ProgressMessage::Clear) removes it.
    ///
    /// # Examples
    ///
    /// ```
    /// use taskward_runtime::{ProgressMessage, TaskContext};
    ///
    /// fn copied(ctx: &TaskContext, files: u64, of: u64) {
    ///     ctx.progress(files, Some(of), "copying");
    ///     ctx.progress(files, Some(of), None); // the message stays "copying"
    ///     ctx.progress(files, Some(of), ProgressMessage::Clear); // no message now
    /// }
    /// ```
    pub fn progress<'a>(
        &self,
        done: u64,
        total: Option<u64>,
        message: impl Into<ProgressMessage<'a>>,
    ) {
        // After a cancel: the token fires before the registry records it, and what the work
        // reports from then on is not the cancelled task's progress.
        if self.control.is_cancelled() {
            return;
        }
        if self.control.progress.set(done, total, message.into()) {
            self.progress.list(self.control.id);
        }
    }

    /// Saves the work's state, so that a later attempt can continue from it: after a
    /// restart of the process, or when the task is [suspended](crate::Taskward::suspend)
    /// and resumed.
    ///
    /// Like [`progress`](Self::progress), it never blocks on I/O: the latest value is kept
    /// for the next attempt and, with a durable store, queued for the next commit, where only
    /// the last checkpoint of each task is written (a work that checkpoints in a hot loop
    /// costs one write per commit). It applies to tasks of a registered kind
    /// ([`Taskward::submit_kind`](crate::Taskward::submit_kind)); a task submitted with a
    /// closure cannot run again, and its checkpoints are dropped.
    pub fn checkpoint(&self, state: Value) {
        match &self.control.resumable {
            Some(resumable) => resumable.save(self.control.id, state),
            None => {
                tracing::trace!(task = %self.control.id, "checkpoint of a closure task dropped")
            }
        }
    }

    /// The last checkpoint saved by this task's work, in this attempt or an earlier one
    /// (across a restart, when the store is durable); `None` when there is none, or for a
    /// task submitted with a closure. A resumed attempt starts from it.
    pub fn last_checkpoint(&self) -> Option<Arc<Value>> {
        self.control.resumable.as_ref()?.last()
    }

    /// Whether this attempt is being stopped to suspend the task (see
    /// [`Taskward::suspend`](crate::Taskward::suspend)): the work should save its
    /// checkpoint and return; the task is then suspended, not finished. The cancellation
    /// token fires too, so work that watches only the token stops as well.
    pub fn is_suspending(&self) -> bool {
        self.control
            .resumable
            .as_ref()
            .is_some_and(|r| r.is_suspending())
    }

    /// Whether the task was cancelled or its attempt timed out.
    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Completes when the task is cancelled or its attempt times out.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future loses nothing, and a new one completes at once if the
    /// token has fired meanwhile.
    pub fn cancelled(&self) -> WaitForCancellationFuture<'_> {
        self.token.cancelled()
    }

    /// A clone of the attempt's cancellation token, to hand to code that takes one.
    pub fn cancellation_token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// Asks the task's client for input and parks the work until it is answered.
    ///
    /// The request is listed by [`Taskward::input_requests`](crate::Taskward::input_requests)
    /// under `key`, and the task moves to `input_required` (its phase stays `running`). The
    /// work is not replayed: this call returns where it was awaited once a client answers with
    /// [`Taskward::provide_input`](crate::Taskward::provide_input), and the task is back to
    /// `working` once no request of it is outstanding. Several requests may be outstanding at
    /// once (from concurrent calls); keys are unique over the task's lifetime.
    ///
    /// # Errors
    ///
    /// [`TaskError::cancelled`] when the task is cancelled (by a client, its owner, its parent,
    /// shutdown or TTL expiry) or the attempt times out, before or while the work is parked;
    /// return it, and the task ends as the cancel or the timeout says. A `TaskError` with the
    /// message `input key already used` when this task already asked under `key`.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropping the future (in a `select!` that another branch won) withdraws
    /// the request. It is no longer outstanding, an answer to it is refused with
    /// `UnknownInput`, and its key stays used: ask again under a new key.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use serde_json::json;
    /// use taskward_core::{Outcome, Scope, Status, TaskError};
    /// use taskward_runtime::{TaskContext, TaskSpec, Taskward};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), taskward_core::Error> {
    /// let ward = Taskward::builder().spawn().await?;
    /// let scope = Scope::session("s-1");
    /// let task = ward
    ///     .submit(TaskSpec::new("greet").scope(scope.clone()), |ctx: TaskContext| async move {
    ///         let name = ctx.request_input("name", json!({ "message": "Your name?" })).await?;
    ///         let name = name.as_str().ok_or_else(|| TaskError::new("not a name"))?;
    ///         Ok(json!(format!("hello, {name}")))
    ///     })
    ///     .await?;
    ///
    /// // The client sees the request (the task is `input_required`) and answers it.
    /// while ward.get(&scope, task.id())?.status != Status::InputRequired {
    ///     tokio::time::sleep(Duration::from_millis(1)).await;
    /// }
    /// assert_eq!(ward.input_requests(&scope, task.id())?[0].key, "name");
    /// ward.provide_input(&scope, task.id(), "name", json!("Ada")).await?;
    ///
    /// assert_eq!(task.wait().await?, Outcome::completed(json!("hello, Ada")));
    /// ward.shutdown(Duration::from_secs(1)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn request_input(
        &self,
        key: impl Into<String>,
        request: Value,
    ) -> Result<Value, TaskError> {
        if self.token.is_cancelled() {
            return Err(TaskError::cancelled());
        }
        let key = key.into();
        let answer = self
            .control
            .ask(InputRequest::new(key.clone(), request))
            .ok_or_else(|| TaskError::new("input key already used"))?;
        let id = self.control.id;
        self.port.report(Report::Inputs { id });
        // Withdraws the request if the work stops waiting before it is answered.
        let _withdraw = Withdraw { ctx: self, key };
        tokio::select! {
            biased;
            () = self.token.cancelled() => Err(TaskError::cancelled()),
            answer = answer => answer.map_err(|_| TaskError::cancelled()),
        }
    }
}

/// Withdraws an input request that is still outstanding when its work stops waiting for it
/// (cancelled, timed out, or the future dropped), so the task does not stay `input_required`.
struct Withdraw<'a> {
    ctx: &'a TaskContext,
    key: String,
}

impl Drop for Withdraw<'_> {
    fn drop(&mut self) {
        if self.ctx.control.withdraw(&self.key) {
            self.ctx.port.report(Report::Inputs {
                id: self.ctx.control.id,
            });
        }
    }
}
