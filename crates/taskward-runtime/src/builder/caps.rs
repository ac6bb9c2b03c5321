//! The builder's running caps: how many works run at once, in all and per task name.

use std::sync::Arc;

use super::Builder;
#[cfg(doc)]
use crate::TaskSpec;
#[cfg(doc)]
use taskward_core::{Error, Limit};

impl Builder {
    /// At most `max` tasks run their work at once, in the whole runtime (off by default).
    ///
    /// A task holds a running slot from the start of an attempt until the task ends (at its
    /// terminal transition, so a cancelled task frees its slot at once while its work runs
    /// out its grace period), is suspended, or begins waiting out a retry's backoff; a retry's
    /// next attempt needs a slot again. External tasks run elsewhere and take none. When no
    /// slot is free, a submit fails with [`Error::LimitExceeded`] ([`Limit::RunningTasks`])
    /// and nothing is created, unless its spec asks to wait
    /// ([`TaskSpec::queue_when_busy`]): the task is then recorded `working`, phase `queued`,
    /// and starts when a slot frees, by [`TaskSpec::priority`] (higher first) and, within a
    /// priority, in submission order. Queued tasks are live: [`max_live_tasks`](Self::max_live_tasks)
    /// and [`max_live_per_scope`](Self::max_live_per_scope) bound the queue.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use serde_json::json;
    /// use taskward_core::{Error, Limit, Phase};
    /// use taskward_runtime::{TaskContext, TaskSpec, Taskward};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Error> {
    /// let ward = Taskward::builder().max_running(1).spawn().await?;
    /// let busy = |ctx: TaskContext| async move { ctx.cancelled().await; Ok(json!(null)) };
    /// let first = ward.submit(TaskSpec::new("a"), busy).await?;
    ///
    /// // Refused by default, nothing created:
    /// let refused = ward.submit(TaskSpec::new("b"), busy).await;
    /// assert!(matches!(refused, Err(Error::LimitExceeded { limit: Limit::RunningTasks, max: 1 })));
    ///
    /// // Or queued, when the spec asks; it starts once the first one ends.
    /// let second = ward.submit(TaskSpec::new("b").queue_when_busy(), busy).await?;
    /// assert_eq!(second.get()?.phase, Some(Phase::Queued));
    /// first.cancel(None).await?;
    /// second.cancel(None).await?;
    /// ward.shutdown(Duration::from_secs(1)).await?;
    /// # Ok(()) }
    /// ```
    pub fn max_running(mut self, max: usize) -> Self {
        self.config.max_running = Some(max);
        self
    }

    /// At most `max` tasks named `name` run their work at once (off by default); a task of a
    /// registered kind is named by its kind. Works as [`max_running`](Self::max_running) does
    /// (over it: [`Limit::RunningTasksNamed`], or queued), and both caps apply: a task starts
    /// when both have room. A name whose cap is full never holds back tasks of other names
    /// queued behind it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use taskward_runtime::Taskward;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), taskward_core::Error> {
    /// let ward = Taskward::builder()
    ///     .max_running(64)
    ///     .max_running_named("transcode", 2)
    ///     .spawn()
    ///     .await?;
    /// assert_eq!(ward.config().max_running_named.get("transcode"), Some(&2));
    /// ward.shutdown(Duration::from_secs(1)).await?;
    /// # Ok(()) }
    /// ```
    pub fn max_running_named(mut self, name: impl Into<Arc<str>>, max: usize) -> Self {
        self.config.max_running_named.insert(name.into(), max);
        self
    }
}
