//! The sweep (expiry and runner checks), interruption and the start of shutdown.

use std::ops::Bound;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;

use ractor::{ActorId, ActorStatus};
use taskward_core::{CancelledBy, EventKind, Failure, FailureCause, Outcome, TaskId};

use super::Desk;
use super::effects::panic_message;
use crate::registry::{RegistryMsg, ShutdownRunners};
use crate::shared::RunnerEntry;

/// Expired tasks handled per sweep message; more are handled by the next one, at once.
const SWEEP_BATCH: usize = 4096;

/// Runners whose liveness one sweep checks (see `check_runners`).
const CHECK_BATCH: usize = 1024;

/// A task and one of its attempts.
type Attempt = (TaskId, u32);

impl Desk<'_> {
    /// Ends every live task with cause `interrupted`, when the supervision tree gives up:
    /// no task stays non-terminal in a runtime that can no longer run it.
    pub(in crate::registry) fn interrupt_all(&mut self, why: &str) {
        self.drain();
        self.book.closed = true;
        let controls = self.shared.controls_snapshot();
        for control in controls {
            if control.is_terminal() {
                continue;
            }
            control.token.cancel();
            self.finish(
                &control,
                Outcome::Failed(Failure::new(FailureCause::Interrupted, why)),
            );
            self.remove_control(&control.id);
        }
    }

    pub(in crate::registry) fn sweep(&mut self) {
        let now = tokio::time::Instant::now().into_std();
        let expired = self.shared.store.expired(now, SWEEP_BATCH);
        let full = expired.len() == SWEEP_BATCH;
        for id in expired {
            // Contained per task: a failure (a store that panics) is counted, and that task is
            // tried again by the next sweep; the others, and the registry, carry on.
            let expired = std::panic::catch_unwind(AssertUnwindSafe(|| self.expire(id)));
            if let Err(panic) = expired {
                self.shared
                    .counters
                    .transition_failures
                    .fetch_add(1, Ordering::Relaxed);
                tracing::error!(
                    task = %id,
                    panic = %panic_message(panic),
                    "expiring a task failed; contained, the next sweep tries again"
                );
            }
        }
        if full {
            if let Some(me) = self.myself {
                let _ = me.cast(RegistryMsg::Sweep);
            }
        }
        self.write_unwritten();
        self.check_runners();
    }

    /// Expires one task: cancels it (by expiry) if it is live, then removes it.
    fn expire(&mut self, id: TaskId) {
        if let Some(control) = self.shared.control(&id)
            && !control.is_terminal()
        {
            self.cancel_control(&control, CancelledBy::Expiry, Some("ttl elapsed".into()));
        }
        match self.shared.store.remove(&id) {
            Ok(Some(old)) => {
                self.book.count_out(&old);
                if !old.is_terminal() {
                    self.book.remove_live(&old.scope);
                }
                self.book.forget(&old);
                self.publish(id, &old.scope, EventKind::Expired);
                tracing::debug!(task = %id, "task expired and removed");
            }
            Ok(None) => {}
            Err(e) => tracing::error!(task = %id, error = %e, "the store failed to remove"),
        }
    }

    /// The invariant: no task stays non-terminal without a live runner. A runner that was
    /// killed (its supervisor normally reports it) is found here too.
    ///
    /// Each sweep checks a window of at most [`CHECK_BATCH`] runners, from where the last one
    /// stopped, so a sweep costs the same with 100 or 1,000,000 live tasks; the whole set is
    /// covered every `live runners / CHECK_BATCH` sweeps.
    ///
    /// Runners that stopped normally are covered too: each queued its last report before it
    /// stopped, so once the inbox is drained, an attempt whose runner finished and whose task
    /// is still live on that attempt (not retrying, not ended) lost its report.
    fn check_runners(&mut self) {
        let finished = self.shared.take_finished_runners();
        // Runners seen stopped. A runner queues its last report before it stops, so draining
        // after seeing it stopped processes that report first, and only runners that really
        // ended without reporting are failed.
        let (stale, attached): (Vec<Attempt>, Vec<Attempt>) = {
            let mut runners = self
                .shared
                .runners
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let from = self.book.runner_cursor.take();
            let window: Vec<(ActorId, RunnerEntry)> = match from {
                Some(after) => runners
                    .range((Bound::Excluded(after), Bound::Unbounded))
                    .take(CHECK_BATCH)
                    .map(|(id, e)| (*id, e.clone()))
                    .collect(),
                None => runners
                    .iter()
                    .take(CHECK_BATCH)
                    .map(|(id, e)| (*id, e.clone()))
                    .collect(),
            };
            if window.len() == CHECK_BATCH {
                self.book.runner_cursor = window.last().map(|(id, _)| *id);
            }
            // Runners seen stopped at an earlier sweep and since forgotten by their supervisor
            // need no second look.
            self.book
                .stopped_runners
                .retain(|id| runners.contains_key(id));
            let mut stale = Vec::new();
            let mut attached = Vec::new();
            for (id, entry) in window {
                if entry.cell.get_status() != ActorStatus::Stopped {
                    continue;
                }
                // The runner supervisor reports (and counts) its runners' exits within
                // moments; a runner still listed as stopped one look later was missed
                // (unlinked, or its supervisor died first), and is purged here.
                if self.book.stopped_runners.remove(&id) {
                    runners.remove(&id);
                    stale.push((entry.task, entry.attempt));
                } else {
                    self.book.stopped_runners.insert(id);
                    // A task whose attached runner is this stopped one is failed now.
                    if let Some(control) = self.shared.control(&entry.task)
                        && !control.is_terminal()
                        && control.runner().is_some_and(|r| r.get_id() == id)
                    {
                        attached.push((entry.task, entry.attempt));
                    }
                }
            }
            (stale, attached)
        };
        self.drain();
        let unreported: Vec<Attempt> = finished
            .into_iter()
            .filter(|(task, attempt)| {
                self.shared
                    .control(task)
                    .is_some_and(|c| !c.is_terminal() && c.attempt() == *attempt)
            })
            .collect();
        for (task, attempt) in stale.into_iter().chain(attached).chain(unreported) {
            self.on_runner_exited(
                task,
                attempt,
                Failure::new(
                    FailureCause::RunnerLost,
                    "the runner stopped without reporting",
                ),
            );
        }
    }

    /// Stops admitting and cancels every live task (by shutdown). Returns the runners whose
    /// work has not reported its end (reports queued before are applied first): those of the
    /// tasks it cancelled, and those still finishing a task that had already ended.
    pub(in crate::registry) fn begin_shutdown(&mut self) -> ShutdownRunners {
        self.book.closed = true;
        let controls = self.shared.controls_snapshot();
        let mut runners = ShutdownRunners::default();
        for control in controls {
            let live = !control.is_terminal();
            if live {
                self.cancel_control(
                    &control,
                    CancelledBy::Shutdown,
                    Some("the runtime is shutting down".into()),
                );
            }
            if let Some(runner) = control.runner() {
                if live {
                    runners.cancelled.push(runner);
                } else {
                    runners.finishing.push(runner);
                }
            }
        }
        runners
    }
}
