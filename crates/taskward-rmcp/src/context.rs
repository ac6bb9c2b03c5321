//! What a task's work sees: [`TaskContext`], and how it ends without a result: [`TaskExit`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rmcp::ErrorData as McpError;
use rmcp::model::{CallToolResult, InputRequest};
use serde_json::Value;

/// The boxed future of a task's work, as rmcp's task manager takes it.
pub type TaskFuture = Pin<Box<dyn Future<Output = Result<CallToolResult, TaskExit>> + Send>>;

/// How a task's work ends without a result.
///
/// [`Cancelled`](TaskExit::Cancelled) acknowledges a cancel (the task is already `cancelled`
/// in the runtime by then); [`Error`](TaskExit::Error) fails the task with that JSON-RPC
/// error, which `tasks/get` returns inline as the task's `error`.
#[derive(Debug)]
#[non_exhaustive]
pub enum TaskExit {
    /// The work stopped because the task was cancelled (or timed out).
    Cancelled,
    /// The work failed: the task ends `failed` with this error.
    Error(McpError),
}

impl From<McpError> for TaskExit {
    fn from(error: McpError) -> Self {
        TaskExit::Error(error)
    }
}

impl fmt::Display for TaskExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskExit::Cancelled => f.write_str("the task was cancelled"),
            TaskExit::Error(error) => write!(f, "the task failed: {}", error.message),
        }
    }
}

impl std::error::Error for TaskExit {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TaskExit::Cancelled => None,
            TaskExit::Error(error) => Some(error),
        }
    }
}

/// "No total": the sentinel kept in [`Reported::total`].
const NO_TOTAL: u64 = u64::MAX;

/// The last progress the work reported through this context, so that a status message alone
/// keeps it.
#[derive(Debug)]
struct Reported {
    done: AtomicU64,
    total: AtomicU64,
}

/// The handle a task's work gets, with rmcp's names: its id, input requests, status message
/// and cancellation; and the runtime's progress.
///
/// It wraps the runtime's [`taskward_runtime::TaskContext`]: cancellation is the runtime's
/// token, which fires on `tasks/cancel`, on the timeout, on TTL expiry and on shutdown. Work
/// that does not stop within the grace period is aborted, so a task never stays running
/// after it ended.
///
/// # Examples
///
/// ```
/// use rmcp::model::{CallToolResult, ContentBlock};
/// use taskward_rmcp::{TaskContext, TaskExit, TaskFuture};
///
/// fn work(ctx: TaskContext) -> TaskFuture {
///     Box::pin(async move {
///         for step in 0..10 {
///             ctx.progress(step, Some(10), "working");
///             tokio::select! {
///                 () = ctx.cancelled() => return Err(TaskExit::Cancelled),
///                 () = tokio::task::yield_now() => {}
///             }
///         }
///         Ok(CallToolResult::success(vec![ContentBlock::text("done")]))
///     })
/// }
/// ```
#[derive(Clone)]
pub struct TaskContext {
    inner: taskward_runtime::TaskContext,
    task_id: Arc<str>,
    reported: Arc<Reported>,
}

impl fmt::Debug for TaskContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskContext")
            .field("task_id", &self.task_id)
            .field("cancelled", &self.inner.is_cancelled())
            .finish()
    }
}

impl TaskContext {
    pub(crate) fn new(inner: taskward_runtime::TaskContext) -> Self {
        Self {
            task_id: inner.id().to_string().into(),
            inner,
            reported: Arc::new(Reported {
                done: AtomicU64::new(0),
                total: AtomicU64::new(NO_TOTAL),
            }),
        }
    }

    /// The id of the task, as clients see it.
    pub fn task_id(&self) -> &str {
        &self.task_id
    }

    /// Asks the client for input under `key` and waits for the answer `tasks/update` brings.
    ///
    /// While the request is outstanding the task is `input_required` and `tasks/get` lists it
    /// in `inputRequests`. Keys are unique over the task's lifetime.
    ///
    /// # Errors
    ///
    /// [`TaskExit::Cancelled`] when the task is cancelled, times out or expires while waiting
    /// (return it); [`TaskExit::Error`] when `key` was used before by this task or the request
    /// cannot be serialized.
    pub async fn request_input(
        &self,
        key: impl Into<String>,
        request: InputRequest,
    ) -> Result<Value, TaskExit> {
        let request = serde_json::to_value(&request)
            .map_err(|e| McpError::internal_error(format!("input request: {e}"), None))?;
        self.inner
            .request_input(key, request)
            .await
            .map_err(|error| match error.is_cancelled() {
                true => TaskExit::Cancelled,
                false => {
                    TaskExit::Error(McpError::internal_error(error.message().to_owned(), None))
                }
            })
    }

    /// Sets the task's status message (`statusMessage` in `tasks/get`), keeping the progress
    /// reported so far. Like progress, it never blocks: the latest message wins.
    pub fn set_status_message(&self, message: impl Into<String>) {
        let message = message.into();
        let total = self.reported.total.load(Ordering::Relaxed);
        self.inner.progress(
            self.reported.done.load(Ordering::Relaxed),
            (total != NO_TOTAL).then_some(total),
            message.as_str(),
        );
    }

    /// Reports progress: `done` of `total`, with a message (a taskward addition; see
    /// [`taskward_runtime::TaskContext::progress`] for its rules: latest wins, `done` never
    /// goes backwards, never blocks).
    pub fn progress(&self, done: u64, total: Option<u64>, message: &str) {
        self.reported.done.fetch_max(done, Ordering::Relaxed);
        self.reported
            .total
            .store(total.unwrap_or(NO_TOTAL), Ordering::Relaxed);
        self.inner.progress(done, total, message);
    }

    /// Whether the task was cancelled, timed out or expired.
    pub fn is_cancel_requested(&self) -> bool {
        self.inner.is_cancelled()
    }

    /// Completes once the task is cancelled, times out or expires (at once if it already
    /// was). Cancel safe.
    pub async fn cancelled(&self) {
        self.inner.cancelled().await;
    }

    /// The runtime's context underneath, for what rmcp's has no name for (checkpoints, the
    /// cancellation token, the attempt).
    pub fn runtime(&self) -> &taskward_runtime::TaskContext {
        &self.inner
    }
}
