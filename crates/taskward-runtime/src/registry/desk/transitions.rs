//! The transitions: the terminal one, cancellation, retry, late results and phases.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use taskward_core::{
    Cancellation, CancelledBy, EventKind, Failure, FailureCause, Outcome, Phase, Progress, Scope,
    Status, TaskId, TaskRecord,
};

use super::Desk;
use super::effects::Effect;
use crate::control::Control;
use crate::registry::DepEnd;
use crate::runner::RunnerMsg;
use crate::spec::TaskNotice;

impl Desk<'_> {
    /// The terminal transition: the first one wins; later ones are counted and dropped.
    ///
    /// Returns the terminal record, also when the store failed to write it: the record is
    /// then kept in the book's `unwritten` and written again by the sweep, so it never stays
    /// non-terminal silently. The owner's notice runs once the book is released (an effect),
    /// and the waiters are woken after it.
    pub(super) fn finish(
        &mut self,
        control: &Arc<Control>,
        outcome: Outcome,
    ) -> Option<Arc<TaskRecord>> {
        // Only the registry sets outcomes, so checking first and setting last is race-free,
        // and lets everything below happen before any waiter can see the outcome.
        if control.outcome.get().is_some() {
            self.shared
                .counters
                .duplicate_terminals
                .fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let owner = self
            .book
            .owned_by
            .get(&control.id)
            .map(|o| o.owner.notify.clone());
        if let Some(notify) = owner.clone() {
            self.effects.push(Effect::Notify {
                notify,
                notice: notice(control.id, &outcome),
            });
        }
        let progress = control
            .progress
            .is_reported()
            .then(|| control.progress.snapshot());
        let status = outcome.status();
        let record = match self.try_update(&control.id, |r| {
            write_terminal(r, &outcome, progress.clone());
        }) {
            Ok(record) => {
                if let Some(record) = &record {
                    self.ended(control.id, &record.scope, &outcome);
                }
                record
            }
            Err((e, unwritten)) => {
                self.unwritten(control.id, &e, &outcome, progress, false);
                Some(unwritten)
            }
        };
        let end = (self.book.queue.is_capped() || !self.book.dependencies.is_empty())
            .then(|| DepEnd::of(&outcome));
        let _ = control.outcome.set(outcome);
        // Waiters re-check the outcome after enabling their wake-up, so none is missed. With
        // an owner, they are woken after it is told.
        if owner.is_some() {
            self.effects.push(Effect::Wake(control.clone()));
        } else {
            control.done.notify_waiters();
        }
        control
            .span
            .in_scope(|| tracing::debug!(status = %status, "task ended"));
        if let Some(end) = end {
            // After the outcome is set and the waiters are told: the queue and the
            // dependents see a task that has ended.
            self.leave_admission(&control.id, end);
        }
        record
    }

    /// A terminal record is written: the task leaves the live counts; the end is evented.
    pub(super) fn ended(&mut self, id: TaskId, scope: &Scope, outcome: &Outcome) {
        self.book.leave_live(&id, scope);
        self.publish(id, scope, EventKind::from(outcome));
        self.note_result(id, outcome);
        self.retain(id, scope, outcome);
    }

    fn signal_cancel(&mut self, control: &Arc<Control>, cancellation: &Cancellation) {
        control.cancel();
        if let Some(runner) = self.holding(control) {
            runner.send(RunnerMsg::Cancel { id: control.id });
        }
        if control.external_cancel.is_some() {
            self.effects.push(Effect::ExternalCancel {
                control: control.clone(),
                cancellation: cancellation.clone(),
            });
        }
    }

    pub(super) fn cancel_control(
        &mut self,
        control: &Arc<Control>,
        by: CancelledBy,
        reason: Option<String>,
    ) -> Option<Arc<TaskRecord>> {
        self.holding_admission(|desk| desk.cancel_cascade(control, by, reason))
    }

    /// [`cancel_control`](Self::cancel_control), with the admission loop held off.
    fn cancel_cascade(
        &mut self,
        control: &Arc<Control>,
        by: CancelledBy,
        reason: Option<String>,
    ) -> Option<Arc<TaskRecord>> {
        let cancellation = Cancellation::new(by, reason);
        let record = self.finish(control, Outcome::Cancelled(cancellation.clone()))?;
        self.signal_cancel(control, &cancellation);
        if control.holder().is_none() {
            // No runner will report: not started yet, or external.
            self.remove_control(&control.id);
        }
        let children = self
            .book
            .children
            .get(&control.id)
            .cloned()
            .unwrap_or_default();
        for child in children {
            if let Some(c) = self.shared.control(&child) {
                self.cancel_control(
                    &c,
                    CancelledBy::Parent,
                    Some(format!("parent {} cancelled", control.id)),
                );
            }
        }
        Some(record)
    }

    pub(super) fn try_retry(
        &mut self,
        control: &Arc<Control>,
        attempt: u32,
        failure: &Failure,
    ) -> bool {
        if self.book.closed || self.shared.is_stopping() {
            return false;
        }
        match failure.cause {
            // The same work under the same limits would go over them again.
            FailureCause::ResultTooLarge
            | FailureCause::StartFailed
            | FailureCause::CpuBudgetExceeded
            | FailureCause::MemoryLimitExceeded => return false,
            FailureCause::TimedOut if !control.restart.retries_timeouts() => return false,
            _ => {}
        }
        let next = attempt + 1;
        let Some(delay) = control.restart.delay_before(next) else {
            return false;
        };
        // The task's own partition holds it while it waits out the backoff, so that a cancel
        // reaches it, and a runner that dies meanwhile fails it.
        let Some(runner) = self.shared.runners.partitions.for_task(&control.id) else {
            return false;
        };
        control.set_attempt(next);
        let Some(cell) = runner.cell() else {
            return false;
        };
        control.attach(cell, false);
        // Under the running caps the next attempt needs a slot again: the runner hands it back
        // when its backoff is over (`Report::Ready`), and its slot goes to the queue now.
        let gated = self.book.queue.is_capped();
        if !runner.send(RunnerMsg::Retry {
            control: control.clone(),
            attempt: next,
            delay,
            gated,
        }) {
            control.detach();
            control.set_attempt(attempt);
            return false;
        }
        self.shared.counters.retries.fetch_add(1, Ordering::Relaxed);
        let message = format!(
            "attempt {attempt} failed ({failure}); retrying in {} ms",
            delay.as_millis()
        );
        if let Some(record) = self.update(&control.id, |r| {
            r.phase = Some(Phase::RetryWait);
            r.attempt = next;
            r.status_message = Some(message);
        }) {
            self.publish(
                control.id,
                &record.scope,
                EventKind::StatusChanged {
                    status: Status::Working,
                    phase: Some(Phase::RetryWait),
                    attempt: next,
                },
            );
        }
        control.span.in_scope(|| {
            tracing::debug!(
                attempt = next,
                delay_ms = delay.as_millis() as u64,
                "retry scheduled"
            )
        });
        if gated {
            self.release_slot(&control.id);
        }
        true
    }

    pub(super) fn late_result(&mut self, id: TaskId, dropped: Status) {
        self.shared
            .counters
            .late_results
            .fetch_add(1, Ordering::Relaxed);
        if let Some(record) = self.shared.store.get(&id) {
            self.publish(id, &record.scope, EventKind::LateResult { dropped });
        }
        tracing::debug!(task = %id, dropped = %dropped, "late result dropped");
    }

    pub(super) fn set_phase(&mut self, control: &Control, attempt: u32, phase: Phase) {
        if control.is_terminal() || control.attempt() != attempt {
            return;
        }
        if let Some(record) = self.update(&control.id, |r| {
            r.phase = Some(phase);
            r.attempt = attempt;
        }) {
            self.publish(
                control.id,
                &record.scope,
                EventKind::StatusChanged {
                    status: record.status,
                    phase: Some(phase),
                    attempt,
                },
            );
        }
    }
}

pub(super) fn notice(id: TaskId, outcome: &Outcome) -> TaskNotice {
    match outcome {
        Outcome::Completed { value } => TaskNotice::Completed {
            id,
            value: value.clone(),
        },
        Outcome::Failed(f) if f.cause == FailureCause::TimedOut => TaskNotice::TimedOut { id },
        Outcome::Failed(f) => TaskNotice::Failed {
            id,
            failure: f.clone(),
        },
        Outcome::Cancelled(c) => TaskNotice::Cancelled {
            id,
            cancellation: c.clone(),
        },
        _ => TaskNotice::Failed {
            id,
            failure: Failure::new(FailureCause::Error, outcome.to_string()),
        },
    }
}

/// Edits a record into its terminal form.
pub(super) fn write_terminal(r: &mut TaskRecord, outcome: &Outcome, progress: Option<Progress>) {
    r.status = outcome.status();
    r.phase = None;
    if progress.is_some() {
        r.progress = progress;
    }
    // Derived from the outcome when read (`TaskRecord::status_text`): stored once.
    r.status_message = None;
    r.outcome = Some(outcome.clone());
}
