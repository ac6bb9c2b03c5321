//! The spec's admission settings: priority, queueing when busy, dependencies.

use taskward_core::TaskId;

use super::TaskSpec;
#[cfg(doc)]
use crate::{Builder, Taskward};
#[cfg(doc)]
use taskward_core::{CancelledBy, Error, FailureCause, Limit};

/// The most tasks one task may depend on.
pub(crate) const MAX_DEPENDENCIES: usize = 64;

impl TaskSpec {
    /// The start priority when running slots are capped ([`Builder::max_running`],
    /// [`Builder::max_running_named`]): of the queued tasks, one of higher priority starts
    /// first; within a priority, the first submitted starts first. Default 0; negative values
    /// run after the default. Without caps it changes nothing: every task starts at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use taskward_runtime::TaskSpec;
    ///
    /// let urgent = TaskSpec::new("page_oncall").priority(10).queue_when_busy();
    /// let backfill = TaskSpec::new("reindex").priority(-5).queue_when_busy();
    /// assert!(urgent.get_priority() > backfill.get_priority());
    /// ```
    pub fn priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    /// The start priority (see [`priority`](Self::priority)).
    pub fn get_priority(&self) -> i32 {
        self.priority
    }

    /// When a running cap is full, record the task `working`, phase `queued`, and return at
    /// once, instead of failing the submit with [`Error::LimitExceeded`]
    /// ([`Limit::RunningTasks`] or [`Limit::RunningTasksNamed`]). The task starts when a slot
    /// frees, by [`priority`](Self::priority), then in submission order; its runner's start
    /// acknowledgement happens then (a start that fails then fails the task `start_failed`).
    /// A queued task is live: it counts against the live-task limits, and cancel, TTL expiry,
    /// closing its scope, its owner's exit, its parent's cancel and shutdown end it as any
    /// live task (its work never runs). Its timeout counts from the start of its attempt, not
    /// from the queue.
    pub fn queue_when_busy(mut self) -> Self {
        self.queue_when_busy = true;
        self
    }

    /// The task waits, `working` in phase `queued`, until every task in `ids` has completed;
    /// then it starts (or queues for a running slot, never refused: it was admitted at
    /// submit). If one of them fails, the task fails with cause
    /// [`FailureCause::DependencyFailed`] (its `data` names the dependency and its cause); if
    /// one is cancelled or expires first, the task is cancelled by
    /// [`CancelledBy::Dependency`]. Dependencies already ended at submit count at once.
    ///
    /// Each id must name a task of the submitter's scope (an unknown or foreign id is
    /// [`Error::NotFound`], and nothing is created); at most 64 distinct ids
    /// ([`Error::TooManyDependencies`]). Repeated ids count once. Calls add up.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use serde_json::json;
    /// use taskward_core::Outcome;
    /// use taskward_runtime::{TaskContext, TaskSpec, Taskward};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), taskward_core::Error> {
    /// let ward = Taskward::builder().spawn().await?;
    /// let fetch = ward.submit(TaskSpec::new("fetch"), |_: TaskContext| async { Ok(json!(1)) }).await?;
    /// let build = ward
    ///     .submit(TaskSpec::new("build").depends_on([fetch.id()]), |_: TaskContext| async {
    ///         Ok(json!("built"))
    ///     })
    ///     .await?;
    /// assert_eq!(build.wait().await?, Outcome::completed(json!("built")));
    /// ward.shutdown(Duration::from_secs(1)).await?;
    /// # Ok(()) }
    /// ```
    pub fn depends_on(mut self, ids: impl IntoIterator<Item = TaskId>) -> Self {
        for id in ids {
            // Past the limit the submit fails anyway: no need to look for repeats.
            if self.depends_on.len() > MAX_DEPENDENCIES || !self.depends_on.contains(&id) {
                self.depends_on.push(id);
            }
        }
        self
    }
}
