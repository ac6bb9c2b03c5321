//! Shutdown: what it did, and the shutdown itself.

use std::time::Duration;

use taskward_core::Error;
use tokio::time::Instant;

use super::Taskward;
use crate::registry::{Closed, Command, ShutdownRunners};
use crate::runner::RunnerMsg;

/// How long shutdown waits for aborted work's runners to stop (an abort takes effect at once;
/// this only bounds a runner that cannot be reached).
const ABORT_WAIT: Duration = Duration::from_secs(1);

/// What a shutdown did.
///
/// A task's work is counted when it had not reported its end when shutdown began; tasks
/// without running work (ended, waiting to retry, external) have none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Works of the live tasks shutdown cancelled (by `shutdown`): they were still running
    /// when shutdown began.
    pub runners: usize,
    /// Works still finishing a task that had already ended when shutdown began (one
    /// cancelled earlier, within its grace period). Shutdown waits for them as for the others.
    pub finishing: usize,
    /// Of `runners`, `finishing` and `parked`, those still running at the deadline: their
    /// work was aborted.
    pub aborted: usize,
    /// Works of live tasks of registered kinds that shutdown stopped without ending the task,
    /// because a durable store keeps it for the next start, which resumes it from its last
    /// checkpoint (0 without a durable store).
    pub parked: usize,
}

impl Taskward {
    /// Shuts the runtime down within `deadline`: stops admitting, cancels every live task
    /// (cancelled by shutdown), waits for the work to stop, aborts at the deadline all the
    /// work that has not, flushes the store and stops the supervision tree. Every task ends
    /// terminal, but one: with a durable store, a live task of a registered kind is stopped
    /// (as a suspend stops it) and kept live in the store, and the next start resumes it from
    /// its last checkpoint (a suspended one stays suspended); so a deploy does not end work
    /// that can go on. The durable store is closed last (everything written is committed),
    /// so another runtime can open it as soon as this returns. Every [`Subscription`](crate::Subscription) ends once the events buffered
    /// for it are read.
    ///
    /// It returns shortly after the deadline at the latest, whatever the number of tasks: the
    /// runners are waited for together, and the remaining ones are aborted together.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropped midway, the runtime is left stopping (admitting nothing, its
    /// tasks cancelled) with its tree still up; calling `shutdown` again completes it.
    pub async fn shutdown(&self, deadline: Duration) -> Result<ShutdownReport, Error> {
        let shared = self.shared().clone();
        let until = Instant::now() + deadline;
        let ShutdownRunners {
            cancelled,
            finishing,
            parked,
        } = if shared.is_stopping() {
            ShutdownRunners::default()
        } else {
            self.call(Command::BeginShutdown).await.unwrap_or_default()
        };
        let mut report = ShutdownReport {
            runners: cancelled,
            finishing,
            aborted: 0,
            parked,
        };
        // Every runner is asked at once; each answers when its last work has stopped.
        let partitions = &shared.runners.partitions;
        partitions.ask_all(RunnerMsg::Idle, until).await;
        report.aborted = partitions
            .ask_all(RunnerMsg::AbortAll, Instant::now() + ABORT_WAIT)
            .await
            .into_iter()
            .sum();
        partitions
            .ask_all(RunnerMsg::Idle, Instant::now() + ABORT_WAIT)
            .await;
        // Let the registry record the runners' last reports before the tree stops.
        let _ = self.call(Command::Status).await;
        shared
            .stopping
            .store(true, std::sync::atomic::Ordering::Release);
        shared.store.flush()?;
        let root = self.inner.root.get_cell();
        let _ = root
            .stop_and_wait(Some("shutdown".into()), Some(Duration::from_secs(5)))
            .await;
        shared.set_registry(None);
        shared.runners.set_runner_sup(None);
        // Nothing drains the inbox any more: commands are refused with `ShutDown`.
        shared.inbox.close(Closed::ShutDown);
        // Nothing is published any more: subscriptions end after their buffered events.
        shared.events.close();
        let join = self
            .inner
            .join
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(join) = join {
            let _ = join.await;
        }
        // The tree has stopped: commit what is left and close the durable store, so that
        // the next runtime (in this process or another) can open it at once.
        if let Some(journal) = shared.journal.clone() {
            let _ = tokio::task::spawn_blocking(move || journal.close()).await;
        }
        Ok(report)
    }
}
