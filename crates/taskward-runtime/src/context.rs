//! What the work sees of its task.

use std::sync::Arc;

use taskward_core::TaskId;
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

use crate::control::Control;
use crate::shared::{Report, Shared};

/// The handle a task's work gets: its identity, progress reporting and cancellation.
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
    shared: Arc<Shared>,
    control: Arc<Control>,
    attempt: u32,
    token: CancellationToken,
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
    pub(crate) fn new(
        shared: Arc<Shared>,
        control: Arc<Control>,
        attempt: u32,
        token: CancellationToken,
    ) -> Self {
        Self {
            shared,
            control,
            attempt,
            token,
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

    /// Reports progress: `done` units of `total`, with an optional message.
    ///
    /// Never blocks and never queues a message per call: the latest values win, `done` never
    /// goes backwards, and the registry reads them when it is next free. Progress reported
    /// after the task ended is ignored.
    pub fn progress<'a>(&self, done: u64, total: Option<u64>, message: impl Into<Option<&'a str>>) {
        if self.control.progress.set(done, total, message.into()) {
            self.shared.report(Report::Progress {
                id: self.control.id,
            });
        }
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
}
