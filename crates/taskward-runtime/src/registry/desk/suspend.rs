//! Suspend and resume (OTP's `sys:suspend` and `sys:resume`) of tasks of registered kinds:
//! the work saves its checkpoint and stops, the task stays live in phase `suspended` with no
//! attempt running, and resume runs its next attempt from that checkpoint.

use std::sync::Arc;
use std::time::Duration;

use taskward_core::{Error, EventKind, Phase, Scope, Status, TaskId, TaskRecord};

use super::Desk;
use crate::control::Control;
use crate::runner::RunnerMsg;

impl Desk<'_> {
    /// Asks a running task of a registered kind to checkpoint and stop; it is suspended once
    /// its attempt ends (see [`suspended`](Self::suspended)).
    pub(in crate::registry) fn suspend(
        &mut self,
        scope: &Scope,
        id: TaskId,
    ) -> Result<Arc<TaskRecord>, Error> {
        let (record, control) = self.resumable(scope, id)?;
        let resumable = control.resumable.as_ref().ok_or(Error::NotResumable(id))?;
        if record.phase == Some(Phase::Suspended) || resumable.is_suspending() {
            return Err(Error::WrongPhase {
                id,
                expected: "running (it is suspended or being suspended)",
            });
        }
        if self.book.dependencies.left(&id).is_some() {
            return Err(Error::WrongPhase {
                id,
                expected: "running (it waits for its dependencies)",
            });
        }
        resumable.set_suspending(true);
        match control.holder() {
            Some(holder) => {
                let sent = self
                    .shared
                    .runners
                    .partitions
                    .holding(&id, holder.get_id())
                    .is_some_and(|runner| runner.send(RunnerMsg::Suspend { id }));
                if !sent {
                    // The runner is gone: its exit is reported and handled as any other.
                    resumable.set_suspending(false);
                    return Err(Error::NoLiveRunner(id));
                }
                Ok(self
                    .update(&id, |r| {
                        r.status_message = Some("suspending: saving its checkpoint".into());
                    })
                    .unwrap_or(record))
            }
            // Not held by a runner yet (queued): nothing runs to stop, and it leaves the queue.
            None => {
                self.book.queue.remove(&id);
                Ok(self.suspended(&control).unwrap_or(record))
            }
        }
    }

    /// Stops a live task of a registered kind at shutdown over a durable store: its work is
    /// stopped as for a suspend, and when its attempt ends nothing is written, so the store
    /// keeps the task live and the next start resumes it.
    pub(in crate::registry) fn park(&mut self, control: &Arc<Control>) {
        let Some(resumable) = &control.resumable else {
            return;
        };
        resumable.park();
        self.book.queue.remove(&control.id);
        if let Some(runner) = self.holding(control) {
            runner.send(RunnerMsg::Suspend { id: control.id });
        }
    }

    /// The attempt of a parked task ended: the task stays as the store has it.
    pub(super) fn parked(&mut self, control: &Arc<Control>) {
        control.detach();
        control
            .span
            .in_scope(|| tracing::debug!("task left to resume at the next start"));
    }

    /// The attempt of a task being suspended ended: the task stays live, suspended.
    pub(super) fn suspended(&mut self, control: &Arc<Control>) -> Option<Arc<TaskRecord>> {
        if let Some(resumable) = &control.resumable {
            resumable.set_suspending(false);
        }
        control.detach();
        self.release_slot(&control.id);
        let record = self.update(&control.id, |r| {
            r.phase = Some(Phase::Suspended);
            r.status_message = Some("suspended; resume runs it again from its checkpoint".into());
        })?;
        self.publish(
            control.id,
            &record.scope,
            EventKind::StatusChanged {
                status: Status::Working,
                phase: Some(Phase::Suspended),
                attempt: record.attempt,
            },
        );
        control.span.in_scope(|| tracing::debug!("task suspended"));
        Some(record)
    }

    /// Runs a suspended task's next attempt, from its last checkpoint.
    pub(in crate::registry) fn resume(
        &mut self,
        scope: &Scope,
        id: TaskId,
    ) -> Result<Arc<TaskRecord>, Error> {
        let (record, control) = self.resumable(scope, id)?;
        if record.phase != Some(Phase::Suspended) {
            return Err(Error::WrongPhase {
                id,
                expected: "suspended",
            });
        }
        let runner = self
            .shared
            .runners
            .partitions
            .for_task(&id)
            .ok_or(Error::NoLiveRunner(id))?;
        let next = control.attempt() + 1;
        control.set_attempt(next);
        let cell = runner.cell().ok_or(Error::NoLiveRunner(id))?;
        control.attach(cell, false);
        // Under the running caps it needs a slot: the runner hands it back at once, to start
        // or queue (`Report::Ready`).
        let sent = runner.send(RunnerMsg::Retry {
            control: control.clone(),
            attempt: next,
            delay: Duration::ZERO,
            gated: self.book.queue.is_capped(),
        });
        if !sent {
            control.detach();
            control.set_attempt(next - 1);
            return Err(Error::NoLiveRunner(id));
        }
        let record = self
            .update(&id, |r| {
                r.phase = Some(Phase::Queued);
                r.attempt = next;
                r.status_message = Some(format!("resumed (attempt {next})"));
            })
            .unwrap_or(record);
        self.publish(
            id,
            &record.scope,
            EventKind::StatusChanged {
                status: Status::Working,
                phase: Some(Phase::Queued),
                attempt: next,
            },
        );
        Ok(record)
    }

    /// A live task of a registered kind in this scope, with its control.
    fn resumable(
        &self,
        scope: &Scope,
        id: TaskId,
    ) -> Result<(Arc<TaskRecord>, Arc<Control>), Error> {
        let (record, control) = self.live(scope, id)?;
        if control.resumable.is_none() {
            return Err(Error::NotResumable(id));
        }
        Ok((record, control))
    }
}
