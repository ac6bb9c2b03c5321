//! The sweep (expiry and runner checks), interruption and the start of shutdown.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;

use ractor::ActorId;
use taskward_core::{CancelledBy, EventKind, Failure, FailureCause, Outcome, TaskId};

use super::Desk;
use super::effects::panic_message;
use crate::registry::{RegistryMsg, ShutdownRunners};
use crate::runner::supervisor::RunnerSupMsg;

/// Expired tasks handled per sweep message; more are handled by the next one, at once.
const SWEEP_BATCH: usize = 4096;

impl Desk<'_> {
    /// Ends every live task with cause `interrupted`, when the supervision tree gives up:
    /// no task stays non-terminal in a runtime that can no longer run it.
    pub(in crate::registry) fn interrupt_all(&mut self, why: &str) {
        self.drain();
        self.book.closed = true;
        let controls = self.shared.controls_snapshot();
        self.holding_admission(|desk| {
            for control in controls {
                if control.is_terminal() {
                    continue;
                }
                control.cancel();
                desk.finish(
                    &control,
                    Outcome::Failed(Failure::new(FailureCause::Interrupted, why)),
                );
                desk.remove_control(&control.id);
            }
        });
    }

    pub(in crate::registry) fn sweep(&mut self) {
        let now = tokio::time::Instant::now().into_std();
        let expired = self.shared.store.expired(now, SWEEP_BATCH);
        let full = expired.len() == SWEEP_BATCH;
        self.holding_admission(|desk| desk.expire_all(expired));
        if full {
            if let Some(me) = self.myself {
                let _ = me.cast(RegistryMsg::Sweep);
            }
        }
        self.write_unwritten();
        self.check_runners();
    }

    /// Expires each task, each contained: a failure (a store that panics) is counted, and
    /// that task is tried again by the next sweep; the others, and the registry, carry on.
    fn expire_all(&mut self, expired: Vec<TaskId>) {
        for id in expired {
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
                    self.book.leave_live(&id, &old.scope);
                }
                self.book.forget(&old);
                self.publish(id, &old.scope, EventKind::Expired);
                tracing::debug!(task = %id, "task expired and removed");
            }
            Ok(None) => {}
            Err(e) => tracing::error!(task = %id, error = %e, "the store failed to remove"),
        }
    }

    /// The invariant: no task stays non-terminal without a live runner. The runner
    /// supervisor fails the tasks of a runner that dies, within moments; a runner still seen
    /// stopped (and not replaced) one sweep later was missed (killed with its supervisor, say),
    /// and the tasks it held are failed here. Costs one look per partition, and a pass over the
    /// live tasks only when a runner was missed.
    fn check_runners(&mut self) {
        let stopped = self.shared.runners.partitions.stopped();
        let missed: Vec<ActorId> = stopped
            .iter()
            .filter(|id| self.book.stopped_runners.contains(id))
            .copied()
            .collect();
        self.book.stopped_runners = stopped.into_iter().collect();
        if missed.is_empty() {
            return;
        }
        // A runner queues its last reports before it stops: those are applied first.
        self.drain();
        for control in self.shared.controls_snapshot() {
            let held_by_missed = control
                .holder()
                .is_some_and(|runner| missed.contains(&runner.get_id()));
            if held_by_missed {
                control.detach();
                self.on_runner_exited(
                    control.id,
                    control.attempt(),
                    Failure::new(
                        FailureCause::RunnerLost,
                        "the runner stopped without reporting",
                    ),
                );
            }
        }
        if let Some(sup) = self.shared.runners.runner_sup() {
            for runner in missed {
                let _ = sup.cast(RunnerSupMsg::Replace(runner));
            }
        }
    }

    /// Stops admitting and cancels every live task (by shutdown). Returns the runners whose
    /// work has not reported its end (reports queued before are applied first): those of the
    /// tasks it cancelled, and those still finishing a task that had already ended.
    pub(in crate::registry) fn begin_shutdown(&mut self) -> ShutdownRunners {
        // Every live task is cancelled by shutdown before any dependent is resolved: none is
        // cancelled by `dependency` for a dependency the shutdown cancelled.
        self.holding_admission(Self::cancel_all)
    }

    fn cancel_all(&mut self) -> ShutdownRunners {
        self.book.closed = true;
        let controls = self.shared.controls_snapshot();
        let mut runners = ShutdownRunners::default();
        let durable = self.shared.journal.is_some();
        for control in controls {
            let live = !control.is_terminal();
            if live && durable && control.resumable.is_some() {
                // Kept for the next start, which resumes it from its checkpoint: its work
                // stops, and the store keeps it live.
                self.park(&control);
                if control.runner().is_some() {
                    runners.parked += 1;
                }
                continue;
            }
            if live {
                self.cancel_control(
                    &control,
                    CancelledBy::Shutdown,
                    Some("the runtime is shutting down".into()),
                );
            }
            if control.runner().is_some() {
                if live {
                    runners.cancelled += 1;
                } else {
                    runners.finishing += 1;
                }
            }
        }
        runners
    }
}
