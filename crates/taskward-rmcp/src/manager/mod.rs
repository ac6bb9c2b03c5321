//! [`TaskManager`]: rmcp's task manager, with its names and shapes, on a taskward runtime.

mod scoped;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rmcp::ErrorData as McpError;
use rmcp::model::{DetailedTask, Task};
use serde_json::Value;
use taskward_core::{Error, Scope};
use taskward_runtime::{ShutdownReport, Taskward};
use tokio::sync::OnceCell;

use crate::context::{TaskContext, TaskFuture};
use crate::error::SpawnError;
use crate::options::{DEFAULT_POLL_INTERVAL_MS, TaskOptions};

/// The producer recorded on every task this adapter creates: what
/// [`TaskManager::running_task_count`] counts.
const PRODUCER: &str = "taskward-rmcp";
/// The name of a task spawned without one.
const DEFAULT_NAME: &str = "rmcp-task";
/// How long [`TaskManager::shutdown`] lets live tasks stop before aborting them.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(5);

/// rmcp 3.x's task manager with the same names and shapes, backed by a supervised
/// [`Taskward`] runtime.
///
/// Each task's work runs under a runner actor of the runtime: a timeout cancels it and then
/// aborts it, a panic fails the task (cause `panicked`) instead of leaving it `working`,
/// progress and status messages are latest-wins cells that never block, input requests park
/// the work while `tasks/get` reports `input_required`, and TTLs are capped by the runtime's
/// maximum and swept from a time-ordered index (no call scans the table). Reads
/// ([`get_task`](Self::get_task)) go to the runtime's table without a mailbox round trip.
///
/// Where it differs from rmcp's:
///
/// - [`spawn`](Self::spawn) is `async` and returns a `Result`: the runtime admits a task
///   (recording it, starting its runner) or refuses it with a typed [`SpawnError`] when a
///   limit is reached. The task is readable by [`get_task`](Self::get_task) once it returns.
/// - `tasks/cancel` ends the task `cancelled` at once (the runtime's semantic), then fires
///   the work's token; work that ignores it is aborted after the grace period.
/// - [`shutdown`](Self::shutdown) is `async`: it cancels live tasks, waits for them within a
///   deadline and aborts the rest.
///
/// The plain methods use one scope for every caller, as rmcp's manager does; the `*_in`
/// methods take the caller's [`Scope`], under which an unknown and a foreign id get the same
/// answer ([`WithTasks`](crate::WithTasks) binds each task to its caller this way).
///
/// # Examples
///
/// ```
/// use rmcp::model::{CallToolResult, ContentBlock, TaskStatus};
/// use taskward_rmcp::{TaskManager, TaskOptions};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let tasks = TaskManager::new();
/// let task = tasks
///     .spawn(TaskOptions::default(), |_ctx| {
///         Box::pin(async { Ok(CallToolResult::success(vec![ContentBlock::text("4")])) })
///     })
///     .await?;
/// while !tasks.get_task(&task.task_id)?.status().is_terminal() {
///     tokio::task::yield_now().await;
/// }
/// assert_eq!(tasks.get_task(&task.task_id)?.status(), TaskStatus::Completed);
/// tasks.shutdown().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct TaskManager {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The runtime: given, or started with the defaults by the first spawn.
    ward: OnceCell<Taskward>,
    /// The scope of the plain (unscoped) methods.
    scope: Scope,
    /// The polling interval `tasks/get` suggests, in milliseconds.
    poll_interval_ms: AtomicU64,
}

impl Default for Inner {
    fn default() -> Self {
        Self {
            ward: OnceCell::new(),
            scope: Scope::default(),
            poll_interval_ms: AtomicU64::new(DEFAULT_POLL_INTERVAL_MS),
        }
    }
}

impl TaskManager {
    /// A manager that starts a runtime with taskward's defaults at its first
    /// [`spawn`](Self::spawn) (at most 100,000 live tasks, TTL of one hour at most, results up
    /// to 16 MiB). Use [`with_runtime`](Self::with_runtime) to configure the runtime.
    pub fn new() -> Self {
        Self::default()
    }

    /// A manager on a runtime the host built (limits, TTLs, a durable store, supervision
    /// under the host's own tree).
    ///
    /// # Examples
    ///
    /// ```
    /// use taskward_rmcp::TaskManager;
    /// use taskward_runtime::Taskward;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), taskward_core::Error> {
    /// let ward = Taskward::builder().max_live_tasks(1_000).spawn().await?;
    /// let tasks = TaskManager::with_runtime(ward);
    /// assert_eq!(tasks.running_task_count(), 0);
    /// tasks.shutdown().await?;
    /// # Ok(()) }
    /// ```
    pub fn with_runtime(ward: Taskward) -> Self {
        Self {
            inner: Arc::new(Inner {
                ward: OnceCell::new_with(Some(ward)),
                ..Inner::default()
            }),
        }
    }

    /// Sets the polling interval that `tasks/get` suggests (`pollIntervalMs`), for this
    /// manager and its clones; 1 s by default. (The interval a task was spawned with is the
    /// one in its `CreateTaskResult`.)
    pub fn with_poll_interval_ms(self, poll_interval_ms: u64) -> Self {
        self.inner
            .poll_interval_ms
            .store(poll_interval_ms, Ordering::Relaxed);
        self
    }

    /// The runtime, once there is one.
    pub fn runtime(&self) -> Option<&Taskward> {
        self.inner.ward.get()
    }

    async fn ward(&self) -> Result<&Taskward, Error> {
        self.inner
            .ward
            .get_or_try_init(|| Taskward::builder().spawn())
            .await
    }

    /// Spawns `make_future`'s work as a task and returns its first state, for a
    /// `CreateTaskResult`. The task is recorded and its runner started before this returns.
    ///
    /// # Errors
    ///
    /// [`SpawnError`] when the runtime refuses the task (a limit, shutdown, a runner that
    /// could not start); nothing is created then.
    pub async fn spawn<F>(&self, options: TaskOptions, make_future: F) -> Result<Task, SpawnError>
    where
        F: FnOnce(TaskContext) -> TaskFuture + Send + 'static,
    {
        self.spawn_in(&self.inner.scope, options, make_future).await
    }

    /// Answers `tasks/get`: the task's current state, with its result, error or outstanding
    /// input requests inline.
    ///
    /// # Errors
    ///
    /// `-32602` (invalid params) for an unknown, expired or malformed id.
    pub fn get_task(&self, task_id: &str) -> Result<DetailedTask, McpError> {
        self.get_task_in(&self.inner.scope, task_id)
    }

    /// Waits until the task has ended and returns its final state, without polling (a
    /// taskward addition). Wakes on completion, failure, cancel and expiry.
    ///
    /// # Errors
    ///
    /// `-32602` (invalid params) for an unknown, expired or malformed id.
    pub async fn wait_task(&self, task_id: &str) -> Result<DetailedTask, McpError> {
        self.wait_task_in(&self.inner.scope, task_id).await
    }

    /// Answers `tasks/update`: hands each response to the work waiting under its key. Keys
    /// that are unknown or already answered are ignored, as the extension asks. The answers
    /// are delivered by a spawned tokio task: `tasks/get` may still read `input_required`
    /// for a moment after this returns (use [`update_task_in`](Self::update_task_in) to wait).
    ///
    /// # Errors
    ///
    /// `-32602` (invalid params) for an unknown, expired or malformed id.
    pub fn update_task(
        &self,
        task_id: &str,
        input_responses: impl IntoIterator<Item = (String, Value)>,
    ) -> Result<(), McpError> {
        let (ward, id) = self.known(&self.inner.scope, task_id)?;
        let ward = ward.clone();
        let scope = self.inner.scope.clone();
        let responses: Vec<(String, Value)> = input_responses.into_iter().collect();
        tokio::spawn(async move { scoped::deliver(&ward, &scope, id, responses).await });
        Ok(())
    }

    /// Answers `tasks/cancel`: an acknowledgement. The runtime records the task `cancelled`
    /// and fires the work's token (from a spawned tokio task: `tasks/get` may still read
    /// `working` for a moment); work that does not stop within the grace period is aborted.
    /// Cancelling a task that already ended is acknowledged and changes nothing.
    ///
    /// # Errors
    ///
    /// `-32602` (invalid params) for an unknown, expired or malformed id.
    pub fn cancel_task(&self, task_id: &str) -> Result<(), McpError> {
        let (ward, id) = self.known(&self.inner.scope, task_id)?;
        let ward = ward.clone();
        let scope = self.inner.scope.clone();
        tokio::spawn(async move { ward.cancel(&scope, id, None).await });
        Ok(())
    }

    /// The number of this manager's tasks that have not ended (`working` or
    /// `input_required`), in every scope. Costs O(live tasks of the runtime).
    pub fn running_task_count(&self) -> usize {
        self.runtime().map_or(0, |ward| {
            ward.live_tasks()
                .iter()
                .filter(|record| record.producer.as_deref() == Some(PRODUCER))
                .count()
        })
    }

    /// Shuts the runtime down: stops admitting, cancels every live task (by shutdown), waits
    /// up to 5 s for their work to stop and aborts the rest. Every task ends terminal.
    /// `None` when no runtime was ever started.
    ///
    /// # Errors
    ///
    /// The runtime's error when the shutdown cannot complete (see [`Taskward::shutdown`]).
    pub async fn shutdown(&self) -> Result<Option<ShutdownReport>, Error> {
        match self.runtime() {
            Some(ward) => ward.shutdown(SHUTDOWN_DEADLINE).await.map(Some),
            None => Ok(None),
        }
    }
}
