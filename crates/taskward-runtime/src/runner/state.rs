//! A runner's state: the slots of the attempts it runs, the attempts waiting out a backoff,
//! its timers; and what it does on each message.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::FutureExt;
use ractor::RpcReplyPort;
use taskward_core::{Failure, FailureCause, TaskId};
use tokio::time::Instant;
use tokio_util::task::AbortOnDropHandle;
use tracing::Instrument;

use super::post::Post;
use super::slot::{Slot, StopCause, Waiting, WorkEnd, json_len};
use super::timers::{TimerKey, Timers};
use super::{RunnerArgs, RunnerMsg, RunnerStatus, Runners};
use crate::control::{Control, WorkParts};
use crate::meter::{self, Exceeded};
use crate::report::{AttemptResult, Report, ReportPort, panic_message};
use crate::table::Table;

pub(crate) struct RunnerState {
    table: Arc<Table>,
    runners: Arc<Runners>,
    port: ReportPort,
    index: usize,
    /// Its own post: works and meters tell it of their ends through it.
    post: Weak<Post>,
    slots: HashMap<TaskId, Slot>,
    waiting: HashMap<TaskId, Waiting>,
    timers: Timers,
    idle: Vec<RpcReplyPort<()>>,
}

impl std::fmt::Debug for RunnerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunnerState")
            .field("partition", &self.index)
            .field("running", &self.slots.len())
            .field("waiting", &self.waiting.len())
            .finish_non_exhaustive()
    }
}

impl RunnerState {
    pub(super) fn new(args: RunnerArgs, post: Weak<Post>) -> Self {
        Self {
            table: args.table,
            runners: args.runners,
            port: args.port,
            index: args.index,
            timers: Timers::start(post.clone()),
            post,
            slots: HashMap::new(),
            waiting: HashMap::new(),
            idle: Vec::new(),
        }
    }

    /// Its report port: the post settles what its handlers queued once it has released the
    /// state.
    pub(super) fn port(&self) -> &ReportPort {
        &self.port
    }

    /// Handles one message of its post. Reports are only queued here (see [`Post`]).
    pub(super) fn handle(&mut self, message: RunnerMsg) {
        match message {
            RunnerMsg::Start {
                control,
                attempt,
                announce,
                reply,
            } => {
                let started = self.start(control, attempt, announce);
                let _ = reply.send(started);
            }
            RunnerMsg::Retry {
                control,
                attempt,
                delay,
                gated,
            } => self.wait(control, attempt, delay, gated),
            RunnerMsg::WorkDone { id, attempt, end } => self.work_done(id, attempt, end),
            RunnerMsg::Timer { id, attempt, seq } => self.timer(id, attempt, seq),
            RunnerMsg::Exceeded {
                id,
                attempt,
                exceeded,
            } => self.exceeded(id, attempt, exceeded),
            RunnerMsg::Cancel { id } => self.cancel(id),
            RunnerMsg::Suspend { id } => self.suspend(id),
            RunnerMsg::AbortAll(reply) => {
                let _ = reply.send(self.abort_all());
            }
            RunnerMsg::Idle(reply) => self.when_idle(reply),
            RunnerMsg::Status { id, reply } => {
                let _ = reply.send(self.status(&id));
            }
        }
    }

    /// An attempt's meter found it over a limit: it is stopped like at a deadline.
    fn exceeded(&mut self, id: TaskId, attempt: u32, exceeded: Exceeded) {
        if self.slots.get(&id).is_some_and(|s| s.attempt == attempt) {
            self.stop(id, StopCause::Exceeded(exceeded));
        }
    }

    /// Aborts every work still running; returns how many it aborted.
    fn abort_all(&mut self) -> usize {
        let ids: Vec<TaskId> = self.slots.keys().copied().collect();
        ids.into_iter().filter(|id| self.abort(*id)).count()
    }

    /// Answers `reply` once no work runs here (at once if none does).
    fn when_idle(&mut self, reply: RpcReplyPort<()>) {
        self.idle.push(reply);
        self.changed();
    }

    /// The status of a task whose work runs here.
    fn status(&self, id: &TaskId) -> Option<RunnerStatus> {
        self.slots.get(id).map(Slot::status)
    }

    /// Spawns an attempt's work; `Err` names why it could not start. A start that fails is
    /// reported here (so the task ends even if its submitter is gone) and the task let go.
    fn start(&mut self, control: Arc<Control>, attempt: u32, announce: bool) -> Result<(), String> {
        let started = self.try_start(control.clone(), attempt, announce);
        if let Err(why) = &started {
            control.detach();
            self.port.queue(Report::RunnerExited {
                id: control.id,
                attempt,
                failure: Failure::new(FailureCause::StartFailed, why.clone()),
            });
        }
        started
    }

    fn try_start(
        &mut self,
        control: Arc<Control>,
        attempt: u32,
        announce: bool,
    ) -> Result<(), String> {
        let work = control
            .work
            .clone()
            .ok_or("an external task has no work to run")?;
        let post = self.post.upgrade().ok_or("the runner is stopping")?;
        let cell = post.cell().ok_or("the runner is stopping")?;
        // An attempt needs a token of its own only when its deadline, a resource limit or a
        // suspend can fire it without cancelling the task; otherwise the task's token is the
        // attempt's.
        let token =
            if control.timeout.is_some() || control.limits.is_some() || control.resumable.is_some()
            {
                control.token.child_token()
            } else {
                control.token.clone()
            };
        let parts = WorkParts {
            control: control.clone(),
            attempt,
            token: token.clone(),
            progress: self.table.progress.clone(),
            port: self.port.clone(),
        };
        // The factory runs here, so one that panics fails the start, not the task later.
        let future = std::panic::catch_unwind(AssertUnwindSafe(|| work(parts)))
            .map_err(|p| format!("the work's factory panicked: {}", panic_message(p)))?;
        let id = control.id;
        // Resource limits: the work runs inside a meter only when the task has any; over one,
        // the meter tells the runner once. Without the tracking allocator, a memory limit
        // fails the start.
        let (future, meter) = match control.limits.as_deref() {
            None => (future, None),
            Some(limits) => {
                let me = post.clone();
                let (future, meter) = meter::wrap(future, limits, move |exceeded| {
                    me.send(RunnerMsg::Exceeded {
                        id,
                        attempt,
                        exceeded,
                    });
                })
                .map_err(|e| e.to_string())?;
                (future, Some(meter))
            }
        };
        let me = post;
        let max = self.table.config.max_result_bytes;
        let handle = tokio::spawn(
            async move {
                let end = match AssertUnwindSafe(future).catch_unwind().await {
                    Ok(Ok(value)) if max.is_some_and(|max| json_len(&value) > max) => {
                        WorkEnd::TooLarge(max.unwrap_or_default())
                    }
                    Ok(returned) => WorkEnd::Returned(returned),
                    Err(panic) => WorkEnd::Panicked(panic_message(panic)),
                };
                me.send(RunnerMsg::WorkDone { id, attempt, end });
            }
            .instrument(control.span.clone()),
        );
        let started = Instant::now();
        let deadline = control.timeout.map(|t| started + t);
        let timer = deadline.map(|at| self.timers.insert(id, attempt, at));
        let cancelled = control.attach(cell, true);
        let slot = Slot {
            control,
            attempt,
            token,
            work: AbortOnDropHandle::new(handle),
            started,
            deadline,
            timer,
            cause: None,
            meter,
        };
        if let Some(old) = self.slots.insert(id, slot) {
            self.disarm(&old);
        }
        if announce {
            self.port.queue(Report::Started { id, attempt });
        }
        if cancelled {
            self.stop(id, StopCause::Cancelled);
        }
        self.changed();
        Ok(())
    }

    /// Holds a retry until its backoff has passed.
    fn wait(&mut self, control: Arc<Control>, attempt: u32, delay: Duration, gated: bool) {
        let id = control.id;
        let timer = self.timers.insert(id, attempt, Instant::now() + delay);
        if let Some(old) = self.waiting.insert(
            id,
            Waiting {
                control,
                attempt,
                timer,
                gated,
            },
        ) {
            self.timers.remove(&old.timer);
        }
    }

    /// A timer fired; one that is not the attempt's armed timer any more is stale (it fired
    /// while being replaced) and ignored.
    fn timer(&mut self, id: TaskId, attempt: u32, seq: u64) {
        let armed = |key: Option<TimerKey>| key.is_some_and(|(_, s)| s == seq);
        if let Some(slot) = self.slots.get_mut(&id).filter(|s| s.attempt == attempt) {
            if !armed(slot.timer) {
                return;
            }
            slot.timer = None;
            if slot.cause.is_none() {
                // The deadline.
                self.stop(id, StopCause::TimedOut);
            } else {
                // The grace period after a cancel or the deadline.
                self.abort(id);
            }
            return;
        }
        if !self
            .waiting
            .get(&id)
            .is_some_and(|w| w.attempt == attempt && armed(Some(w.timer)))
        {
            return;
        }
        let Some(waiting) = self.waiting.remove(&id) else {
            return;
        };
        if waiting.control.is_terminal()
            || waiting.control.attempt() != attempt
            || self.table.is_stopping()
        {
            // Cancelled as its backoff ended (the cancel is right behind this message, and
            // will find nothing): the attempt ends here, so the registry lets the task go.
            self.end_waiting(waiting);
            return;
        }
        if waiting.gated {
            // The registry gives it a running slot (or queues it) and hands it back.
            waiting.control.detach();
            self.port.queue(Report::Ready {
                id,
                attempt: waiting.attempt,
            });
            return;
        }
        let control = waiting.control;
        // A failed start is reported by `start`.
        let _ = self.start(control, attempt, true);
    }

    fn cancel(&mut self, id: TaskId) {
        if self.slots.contains_key(&id) {
            self.stop(id, StopCause::Cancelled);
        } else if let Some(waiting) = self.waiting.remove(&id) {
            // Cancelled during its backoff: no work to stop, the attempt simply ends.
            self.timers.remove(&waiting.timer);
            self.end_waiting(waiting);
        }
    }

    fn suspend(&mut self, id: TaskId) {
        if self.slots.contains_key(&id) {
            self.stop(id, StopCause::Suspended);
        } else if let Some(waiting) = self.waiting.remove(&id) {
            self.timers.remove(&waiting.timer);
            self.end_waiting(waiting);
        }
    }

    /// Ends an attempt that never started (its task ended during its backoff).
    fn end_waiting(&mut self, waiting: Waiting) {
        waiting.control.detach();
        self.port.queue(Report::Finished {
            id: waiting.control.id,
            attempt: waiting.attempt,
            result: AttemptResult::Cancelled,
        });
    }

    /// Fires an attempt's token and starts its grace period (or aborts it at once).
    fn stop(&mut self, id: TaskId, cause: StopCause) {
        let Some(slot) = self.slots.get_mut(&id) else {
            return;
        };
        if slot.cause.is_some() {
            return;
        }
        slot.cause = Some(cause);
        slot.token.cancel();
        if let Some(timer) = slot.timer.take() {
            self.timers.remove(&timer);
        }
        if !matches!(cause, StopCause::Cancelled | StopCause::Suspended) {
            // The runner's own decision (deadline, resource limit): the registry shows it.
            self.port.queue(Report::Cancelling {
                id,
                attempt: slot.attempt,
            });
            slot.control
                .span
                .in_scope(|| tracing::debug!(?cause, "cancelling the work"));
        }
        match slot.control.cancel_policy.grace() {
            Duration::ZERO => {
                self.abort(id);
            }
            grace => {
                slot.timer = Some(self.timers.insert(id, slot.attempt, Instant::now() + grace));
            }
        }
    }

    /// Aborts a work that did not stop in time; its attempt ends as its stop cause says.
    /// Returns whether it aborted one (a work that has finished has its `WorkDone` queued).
    fn abort(&mut self, id: TaskId) -> bool {
        let Some(slot) = self.slots.get(&id) else {
            return false;
        };
        if slot.work.is_finished() {
            return false;
        }
        slot.work.abort();
        let result = slot.aborted();
        slot.control
            .span
            .in_scope(|| tracing::debug!("work aborted"));
        self.finish(id, result);
        true
    }

    fn work_done(&mut self, id: TaskId, attempt: u32, end: WorkEnd) {
        let Some(slot) = self.slots.get(&id).filter(|s| s.attempt == attempt) else {
            // Aborted meanwhile: its attempt already ended.
            return;
        };
        let result = slot.result(end);
        self.finish(id, result);
    }

    /// Ends an attempt: forgets its slot and reports how it ended.
    fn finish(&mut self, id: TaskId, result: AttemptResult) {
        let Some(slot) = self.slots.remove(&id) else {
            return;
        };
        self.disarm(&slot);
        slot.control.detach();
        self.port.queue(Report::Finished {
            id,
            attempt: slot.attempt,
            result,
        });
        self.changed();
    }

    fn disarm(&self, slot: &Slot) {
        if let Some(timer) = &slot.timer {
            self.timers.remove(timer);
        }
    }

    /// Publishes how many works run here, and answers the idle waiters once none does.
    fn changed(&mut self) {
        self.runners
            .partitions
            .set_running(self.index, self.slots.len());
        if self.slots.is_empty() {
            for waiter in self.idle.drain(..) {
                let _ = waiter.send(());
            }
        }
    }
}
