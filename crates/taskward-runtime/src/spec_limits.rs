//! The resource-limit options of [`TaskSpec`] (the mechanism is in `meter/`).

use std::time::Duration;

use crate::spec::TaskSpec;

impl TaskSpec {
    /// Each attempt's CPU budget: the time its work may spend being polled. Over it, the work
    /// is cancelled like at a timeout (the token fires, the grace period runs, then the work
    /// is aborted) and the task fails with cause
    /// [`CpuBudgetExceeded`](taskward_core::FailureCause::CpuBudgetExceeded).
    ///
    /// The runner times each poll of the work (a monotonic clock read before and after), adds
    /// the polls of the attempt up, and compares the sum with the budget after each poll that
    /// leaves the work pending. It counts the time spent inside the work's own future: not
    /// the time it waits, nor the time of tasks it spawns or `spawn_blocking` closures it
    /// runs. It is a wall-clock reading of the polls, so time the OS takes the thread away
    /// during a poll counts too. A work that never yields cannot be stopped before it yields,
    /// as with a timeout. The budget is per attempt: a retry starts from zero; a task that
    /// exceeds its budget is not retried. Off by default; without it (and without
    /// [`memory_limit`](Self::memory_limit)) the work is not wrapped at all.
    /// [`RunnerStatus::cpu_time`](crate::RunnerStatus::cpu_time) reports the time used so
    /// far.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use serde_json::json;
    /// use taskward_core::FailureCause;
    /// use taskward_runtime::{TaskContext, TaskSpec, Taskward};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), taskward_core::Error> {
    /// let ward = Taskward::builder().spawn().await?;
    /// let spec = TaskSpec::new("spin").cpu_budget(Duration::from_millis(5));
    /// let task = ward
    ///     .submit(spec, |ctx: TaskContext| async move {
    ///         // Busy for 1 ms per poll, until cancelled.
    ///         while !ctx.is_cancelled() {
    ///             let start = Instant::now();
    ///             while start.elapsed() < Duration::from_millis(1) {}
    ///             tokio::task::yield_now().await;
    ///         }
    ///         Ok(json!("stopped"))
    ///     })
    ///     .await?;
    /// let outcome = task.wait().await?;
    /// assert_eq!(outcome.failure().map(|f| f.cause), Some(FailureCause::CpuBudgetExceeded));
    /// ward.shutdown(Duration::from_secs(1)).await?;
    /// # Ok(()) }
    /// ```
    pub fn cpu_budget(mut self, budget: Duration) -> Self {
        self.limits.cpu_budget = Some(budget);
        self
    }

    /// Each attempt's memory limit: the live heap bytes its work may hold. Over it, the work
    /// is cancelled like at a timeout and the task fails with cause
    /// [`MemoryLimitExceeded`](taskward_core::FailureCause::MemoryLimitExceeded).
    ///
    /// **Enforced only where the host installed
    /// [`TrackingAllocator`](crate::TrackingAllocator) as its `#[global_allocator]`.** Where
    /// it is not installed, a task with a memory limit is refused: its submit returns
    /// [`Error::RunnerStart`](taskward_core::Error::RunnerStart) and the task fails with cause
    /// `start_failed`, rather than run with a limit nobody enforces.
    ///
    /// The allocator attributes each allocation made while the work is polled to the
    /// attempt, and each deallocation of such an allocation (wherever it happens) back to
    /// it; the runner compares the attempt's live bytes (requested sizes) with the limit
    /// after each poll that leaves the work pending. Allocations of tasks the work spawns,
    /// of `spawn_blocking` closures and of other threads are not counted. An allocation is
    /// never refused: the limit stops the work at its next yield, it does not cap the heap.
    /// The limit is per attempt; a task that exceeds it is not retried. An external task
    /// (its work runs elsewhere) ignores both limits.
    /// [`RunnerStatus::live_bytes`](crate::RunnerStatus::live_bytes) reports the live bytes.
    /// Off by default.
    ///
    /// # Examples
    ///
    /// ```
    /// use taskward_runtime::TaskSpec;
    ///
    /// let spec = TaskSpec::new("parse").memory_limit(64 << 20); // 64 MiB
    /// # let _ = spec;
    /// ```
    pub fn memory_limit(mut self, bytes: u64) -> Self {
        self.limits.memory_limit = Some(bytes);
        self
    }
}
