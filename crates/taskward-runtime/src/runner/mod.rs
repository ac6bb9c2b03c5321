//! The runners: a fixed set of runner actors, one per partition of tasks (Elixir's
//! `PartitionSupervisor` over `Task.Supervisor`), each supervising the works of the tasks
//! hashed to it (erlmcp's `proc_lib` runner, done so that timeout and cancel actually fire).
//!
//! A runner keeps, for each task it holds, the tokio task that runs the work (caught at its
//! boundary, so a panic becomes a report), its cancel token, and its deadline or grace period
//! in the partition's timer wheel ([`Timers`]). The work never runs inside a handler, so the
//! runner's mailbox stays free for starts, deadlines, cancels, grace expiries and status
//! queries while the works run. Messages to a runner name the task.
//!
//! The runner supervisor ([`supervisor`]) starts the partitions, and restarts one that dies;
//! only the tasks of a dead partition fail (cause `runner_lost`, or retried under their
//! policy).

mod partitions;
mod slot;
mod status;
pub(crate) mod supervisor;
mod timers;

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures_util::FutureExt;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use taskward_core::{Failure, FailureCause, TaskId};
use tokio::time::Instant;
use tokio_util::task::AbortOnDropHandle;
use tracing::Instrument;

pub(crate) use partitions::Partitions;
pub(crate) use slot::WorkEnd;
pub use status::RunnerStatus;

use crate::control::{Control, WorkParts};
use crate::meter::{self, Exceeded};
use crate::report::panic_message;
use crate::report::{AttemptResult, Report, ReportPort};
use crate::table::Table;
use slot::{Slot, StopCause, Waiting, json_len};
use supervisor::RunnerSupMsg;
use timers::{TimerKey, Timers};

/// A runner actor: the runner of one partition.
#[derive(Debug)]
pub(crate) struct Runner;

#[derive(Debug)]
pub(crate) struct RunnerArgs {
    pub(crate) table: Arc<Table>,
    pub(crate) runners: Arc<Runners>,
    pub(crate) port: ReportPort,
    /// The partition it runs.
    pub(crate) index: usize,
}

/// The runners' side of the runtime: the partition router and the runner supervisor now
/// running.
#[derive(Debug)]
pub(crate) struct Runners {
    pub(crate) partitions: Partitions,
    sup: RwLock<Option<ActorRef<RunnerSupMsg>>>,
}

impl Runners {
    pub(crate) fn new(partitions: usize) -> Self {
        Self {
            partitions: Partitions::new(partitions),
            sup: RwLock::new(None),
        }
    }

    pub(crate) fn runner_sup(&self) -> Option<ActorRef<RunnerSupMsg>> {
        self.sup.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn set_runner_sup(&self, sup: Option<ActorRef<RunnerSupMsg>>) {
        *self.sup.write().unwrap_or_else(|e| e.into_inner()) = sup;
    }
}

/// What a runner is told. Every message about a task names it.
#[derive(Debug)]
pub(crate) enum RunnerMsg {
    /// Start an attempt's work; the answer is the start acknowledgement (init_ack): the
    /// work's tokio task is spawned and its deadline armed.
    Start {
        control: Arc<Control>,
        attempt: u32,
        /// Report `Started` (the registry recorded the task as queued); `false` when the
        /// registry recorded it running as it handed it over.
        announce: bool,
        reply: RpcReplyPort<Result<(), String>>,
    },
    /// Start an attempt once `delay` has passed (a retry's backoff).
    Retry {
        control: Arc<Control>,
        attempt: u32,
        delay: Duration,
    },
    /// A work returned (or panicked).
    WorkDone {
        id: TaskId,
        attempt: u32,
        end: WorkEnd,
    },
    /// A timer of an attempt expired: its deadline, its grace period or its backoff.
    Timer { id: TaskId, attempt: u32, seq: u64 },
    /// An attempt's work went over its CPU budget or memory limit (sent by its meter).
    Exceeded {
        id: TaskId,
        attempt: u32,
        exceeded: Exceeded,
    },
    /// The task was cancelled (the registry has already fired its token).
    Cancel { id: TaskId },
    /// Abort every work still running now (the shutdown deadline passed); answers how many.
    AbortAll(RpcReplyPort<usize>),
    /// Answer once no work runs (shutdown waits for it).
    Idle(RpcReplyPort<()>),
    /// Answer a status query about a task whose work runs here.
    Status {
        id: TaskId,
        reply: RpcReplyPort<Option<RunnerStatus>>,
    },
}

pub(crate) struct RunnerState {
    table: Arc<Table>,
    runners: Arc<Runners>,
    port: ReportPort,
    index: usize,
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

impl Actor for Runner {
    type Msg = RunnerMsg;
    type State = RunnerState;
    type Arguments = RunnerArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<RunnerMsg>,
        args: RunnerArgs,
    ) -> Result<RunnerState, ActorProcessingErr> {
        Ok(RunnerState {
            table: args.table,
            runners: args.runners,
            port: args.port,
            index: args.index,
            slots: HashMap::new(),
            waiting: HashMap::new(),
            timers: Timers::start(myself),
            idle: Vec::new(),
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<RunnerMsg>,
        message: RunnerMsg,
        state: &mut RunnerState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            RunnerMsg::Start {
                control,
                attempt,
                announce,
                reply,
            } => {
                let id = control.id;
                let started = state.start(&myself, control.clone(), attempt, announce);
                if let Err(why) = &started {
                    // Reported here too, so that the task ends even if its submitter is gone.
                    control.detach();
                    state.port.report(Report::RunnerExited {
                        id,
                        attempt,
                        failure: Failure::new(FailureCause::StartFailed, why.clone()),
                    });
                }
                let _ = reply.send(started);
            }
            RunnerMsg::Retry {
                control,
                attempt,
                delay,
            } => state.wait(control, attempt, delay),
            RunnerMsg::WorkDone { id, attempt, end } => state.work_done(id, attempt, end),
            RunnerMsg::Timer { id, attempt, seq } => state.timer(&myself, id, attempt, seq),
            RunnerMsg::Exceeded {
                id,
                attempt,
                exceeded,
            } => {
                if state.slots.get(&id).is_some_and(|s| s.attempt == attempt) {
                    state.stop(id, StopCause::Exceeded(exceeded));
                }
            }
            RunnerMsg::Cancel { id } => state.cancel(id),
            RunnerMsg::AbortAll(reply) => {
                let ids: Vec<TaskId> = state.slots.keys().copied().collect();
                for id in &ids {
                    state.abort(*id);
                }
                let _ = reply.send(ids.len());
            }
            RunnerMsg::Idle(reply) => {
                state.idle.push(reply);
                state.changed();
            }
            RunnerMsg::Status { id, reply } => {
                let _ = reply.send(state.slots.get(&id).map(Slot::status));
            }
        }
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<RunnerMsg>,
        state: &mut RunnerState,
    ) -> Result<(), ActorProcessingErr> {
        // Stopped, not killed: the works stop with the runner (the supervisor fails their
        // tasks); dropping the slots aborts them.
        state.slots.clear();
        Ok(())
    }
}

impl RunnerState {
    /// Spawns an attempt's work; `Err` names why it could not start.
    fn start(
        &mut self,
        myself: &ActorRef<RunnerMsg>,
        control: Arc<Control>,
        attempt: u32,
        announce: bool,
    ) -> Result<(), String> {
        let work = control
            .work
            .clone()
            .ok_or("an external task has no work to run")?;
        // An attempt needs a token of its own only when its deadline (or a resource limit) can
        // fire it without cancelling the task; otherwise the task's token is the attempt's.
        let token = if control.timeout.is_some() || control.limits.is_some() {
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
                let me = myself.clone();
                let (future, meter) = meter::wrap(future, limits, move |exceeded| {
                    let _ = me.cast(RunnerMsg::Exceeded {
                        id,
                        attempt,
                        exceeded,
                    });
                })
                .map_err(|e| e.to_string())?;
                (future, Some(meter))
            }
        };
        let me = myself.clone();
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
                let _ = me.cast(RunnerMsg::WorkDone { id, attempt, end });
            }
            .instrument(control.span.clone()),
        );
        let started = Instant::now();
        let deadline = control.timeout.map(|t| started + t);
        let timer = deadline.map(|at| self.timers.insert(id, attempt, at));
        let cancelled = control.attach(myself.get_cell(), true);
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
            self.port.report(Report::Started { id, attempt });
        }
        if cancelled {
            self.stop(id, StopCause::Cancelled);
        }
        self.changed();
        Ok(())
    }

    /// Holds a retry until its backoff has passed.
    fn wait(&mut self, control: Arc<Control>, attempt: u32, delay: Duration) {
        let id = control.id;
        let timer = self.timers.insert(id, attempt, Instant::now() + delay);
        if let Some(old) = self.waiting.insert(
            id,
            Waiting {
                control,
                attempt,
                timer,
            },
        ) {
            self.timers.remove(&old.timer);
        }
    }

    /// A timer fired; one that is not the attempt's armed timer any more is stale (it fired
    /// while being replaced) and ignored.
    fn timer(&mut self, myself: &ActorRef<RunnerMsg>, id: TaskId, attempt: u32, seq: u64) {
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
        let control = waiting.control;
        if let Err(why) = self.start(myself, control.clone(), attempt, true) {
            control.detach();
            self.port.report(Report::RunnerExited {
                id,
                attempt,
                failure: Failure::new(FailureCause::StartFailed, why),
            });
        }
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

    /// Ends an attempt that never started (its task ended during its backoff).
    fn end_waiting(&mut self, waiting: Waiting) {
        waiting.control.detach();
        self.port.report(Report::Finished {
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
        if cause != StopCause::Cancelled {
            // The runner's own decision (deadline, resource limit): the registry shows it.
            self.port.report(Report::Cancelling {
                id,
                attempt: slot.attempt,
            });
            slot.control
                .span
                .in_scope(|| tracing::debug!(?cause, "cancelling the work"));
        }
        match slot.control.cancel_policy.grace() {
            Duration::ZERO => self.abort(id),
            grace => {
                slot.timer = Some(self.timers.insert(id, slot.attempt, Instant::now() + grace));
            }
        }
    }

    /// Aborts a work that did not stop in time; its attempt ends as its stop cause says.
    fn abort(&mut self, id: TaskId) {
        let Some(slot) = self.slots.get(&id) else {
            return;
        };
        if slot.work.is_finished() {
            // Its `WorkDone` is already queued behind this message.
            return;
        }
        slot.work.abort();
        let result = slot.aborted();
        slot.control
            .span
            .in_scope(|| tracing::debug!("work aborted"));
        self.finish(id, result);
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
        self.port.report(Report::Finished {
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
