//! Starting under the running caps: a task that may start takes a slot and is handed to its
//! runner; one that may not waits in the admission queue (`working`, phase `queued`) and is
//! started, by priority then submission, as slots free. See [`RunQueue`](crate::registry::RunQueue).
//!
//! A dequeued task starts through the same path as a submit: handed to its runner's post,
//! which is kicked once the book is released (the work's factory never runs under it), and
//! recorded running as it is handed over. A start that fails is reported by the runner and
//! fails the task `start_failed`.

use std::cmp::Reverse;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use taskward_core::{EventKind, Failure, FailureCause, Outcome, Phase, Status, TaskId, TaskRecord};

use super::Desk;
use super::effects::Effect;
use crate::control::Control;
use crate::registry::QueueKey;
use crate::runner::hand_over;

/// The message of a task queued for a running slot.
pub(super) const QUEUED: &str = "queued: waiting for a running slot";

/// A task's place in the admission queue.
pub(super) fn queue_key(record: &TaskRecord) -> QueueKey {
    (Reverse(record.priority), record.seq)
}

impl Desk<'_> {
    /// A live task whose next attempt may start (its dependencies completed, its backoff
    /// passed, it was resumed): starts it now if the caps allow and no task waits in the
    /// queue; otherwise it takes its place in the queue (by priority, then submission), and
    /// the queue's next task starts if a slot is free.
    pub(super) fn start_or_queue(&mut self, control: &Arc<Control>) {
        if control.is_terminal() {
            return;
        }
        let Some(record) = self.shared.store.get(&control.id) else {
            return;
        };
        if self.book.queue.full(&record.name).is_some() || self.book.queue.len() > 0 {
            self.book
                .queue
                .push(control.id, &record.name, queue_key(&record));
            self.set_queued(control, QUEUED);
            self.admit_next();
        } else {
            self.start_now(control, &record.name);
        }
    }

    /// Records a live task `working`, phase `queued`, with `message`, and events the change.
    pub(super) fn set_queued(&mut self, control: &Control, message: &str) {
        let unchanged = self.shared.store.get(&control.id).is_some_and(|r| {
            r.phase == Some(Phase::Queued) && r.status_message.as_deref() == Some(message)
        });
        if unchanged {
            return;
        }
        if let Some(record) = self.update(&control.id, |r| {
            r.phase = Some(Phase::Queued);
            r.status_message = Some(message.to_owned());
        }) {
            self.publish(
                control.id,
                &record.scope,
                EventKind::StatusChanged {
                    status: record.status,
                    phase: Some(Phase::Queued),
                    attempt: record.attempt,
                },
            );
        }
    }

    /// Takes a slot for the task and hands its attempt to its runner, recorded running; the
    /// runner starts it once the book is released. No runner in place (its partition is being
    /// restarted) fails the task `start_failed`, as a retry would.
    fn start_now(&mut self, control: &Arc<Control>, name: &Arc<str>) {
        let id = control.id;
        self.book.queue.take_slot(id, name);
        let runner = self.shared.runners.partitions.for_task(&id);
        // The acknowledgement is not awaited: the runner reports a failed start itself.
        let handed = runner.filter(|r| hand_over(r, control, false).is_some());
        let Some(runner) = handed else {
            self.finish(
                control,
                Outcome::Failed(Failure::new(
                    FailureCause::StartFailed,
                    "no runner was in place for the task's partition",
                )),
            );
            self.remove_control(&id);
            return;
        };
        if let Some(record) = self.update(&id, |r| {
            r.phase = Some(Phase::Running);
            r.status_message = None;
        }) {
            self.publish(
                id,
                &record.scope,
                EventKind::StatusChanged {
                    status: Status::Working,
                    phase: Some(Phase::Running),
                    attempt: record.attempt,
                },
            );
        }
        self.effects.push(Effect::Kick(runner));
    }

    /// A task no longer needs its running slot (it ended, is suspended, or waits out a
    /// backoff): the slot goes to the next queued task.
    pub(super) fn release_slot(&mut self, id: &TaskId) {
        if self.book.queue.free_slot(id) {
            self.admit_next();
        }
    }

    /// Runs `work` with the admission loop held off, then runs it: the slots that `work`
    /// frees go to queued tasks only once it is done, so that a cascade (a parent and its
    /// children, a closed scope, a batch of expiries) never starts a task it is about to end.
    pub(super) fn holding_admission<R>(&mut self, work: impl FnOnce(&mut Self) -> R) -> R {
        if self.book.admitting {
            return work(self);
        }
        self.book.admitting = true;
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| work(self)));
        self.book.admitting = false;
        match result {
            Ok(result) => {
                self.admit_next();
                result
            }
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    /// Resolves the dependents of the tasks that ended and starts queued tasks while the caps
    /// allow, until neither has anything left. Transitions made meanwhile (a dependent that
    /// fails, a start that fails) add to the work of this loop rather than nest.
    pub(super) fn admit_next(&mut self) {
        if self.book.admitting {
            return;
        }
        self.book.admitting = true;
        let worked = std::panic::catch_unwind(AssertUnwindSafe(|| {
            loop {
                if let Some((dep, end, dependents)) = self.book.resolving.pop_front() {
                    self.resolve_dependents(dep, end, dependents);
                    continue;
                }
                if self.book.closed || self.shared.is_stopping() {
                    break;
                }
                let Some((id, name)) = self.book.queue.pop() else {
                    break;
                };
                match self.shared.control(&id) {
                    Some(control) if !control.is_terminal() => self.start_now(&control, &name),
                    _ => {}
                }
            }
        }));
        self.book.admitting = false;
        if let Err(panic) = worked {
            std::panic::resume_unwind(panic);
        }
    }
}
