//! The runner: one actor per attempt, supervising the work (erlmcp's `proc_lib` runner, done so
//! that timeout and cancel actually fire).
//!
//! The work runs in its own tokio task, never inside a handler, so the runner's mailbox stays
//! free for the deadline, cancel, grace expiry and status queries while the work runs.

mod status;

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use ractor::concurrency::JoinHandle;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use serde_json::Value;
use taskward_core::{Failure, FailureCause, Phase, TaskError};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;
use tracing::Instrument;

pub use status::RunnerStatus;

use crate::context::TaskContext;
use crate::control::Control;
use crate::meter::{self, Exceeded, Meter};
use crate::shared::{AttemptResult, Report, RunnerEntry, Shared};

/// The stop reason of a runner that reported its attempt's end.
pub(crate) const FINISHED: &str = "finished";

/// The runner actor.
#[derive(Debug)]
pub(crate) struct Runner;

#[derive(Debug)]
pub(crate) struct RunnerArgs {
    pub(crate) shared: Arc<Shared>,
    pub(crate) control: Arc<Control>,
    pub(crate) attempt: u32,
    pub(crate) supervisor: ractor::ActorId,
}

/// What the runner is told.
#[derive(Debug)]
pub(crate) enum RunnerMsg {
    /// The work returned (or panicked).
    WorkDone(Result<Result<Value, TaskError>, String>),
    /// The attempt's deadline passed.
    Deadline,
    /// The attempt's work went over its CPU budget or memory limit (sent by its meter).
    Exceeded(Exceeded),
    /// The task was cancelled (the registry has already fired the token).
    Cancel,
    /// The grace period after cancel or timeout ran out.
    GraceExpired,
    /// Abort the work now (shutdown deadline passed).
    Abort,
    /// Answer a status query.
    Status(RpcReplyPort<RunnerStatus>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StopCause {
    Cancelled,
    TimedOut,
    Exceeded(Exceeded),
}

pub(crate) struct RunnerState {
    shared: Arc<Shared>,
    control: Arc<Control>,
    attempt: u32,
    token: CancellationToken,
    started: Instant,
    deadline: Option<Instant>,
    /// The readings of a metered work (resource limits); `None` when the task has none.
    meter: Option<Arc<Meter>>,
    work: AbortOnDropHandle<()>,
    deadline_timer: Option<JoinHandle<Result<(), ractor::MessagingErr<RunnerMsg>>>>,
    grace_timer: Option<JoinHandle<Result<(), ractor::MessagingErr<RunnerMsg>>>>,
    cause: Option<StopCause>,
    reported: bool,
}

impl std::fmt::Debug for RunnerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunnerState")
            .field("task", &self.control.id)
            .field("attempt", &self.attempt)
            .field("cause", &self.cause)
            .finish_non_exhaustive()
    }
}

/// The message of a panic's payload.
pub(crate) fn panic_message(payload: Box<dyn Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_owned()
    }
}

/// The size of a value's JSON text, without building it.
fn json_len(value: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    let _ = serde_json::to_writer(&mut count, value);
    count.0
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
        let RunnerArgs {
            shared,
            control,
            attempt,
            supervisor,
        } = args;
        let work = control
            .work
            .clone()
            .ok_or("an external task has no work to run")?;
        // An attempt needs a token of its own only when its deadline (or a resource limit)
        // can fire it without cancelling the task; otherwise the task's token is the attempt's (one allocation
        // less per task: see docs/performance.md, memory).
        let token = if control.timeout.is_some() || control.limits.is_some() {
            control.token.child_token()
        } else {
            control.token.clone()
        };
        let ctx = TaskContext::new(shared.clone(), control.clone(), attempt, token.clone());
        // The factory runs here, so one that panics fails the start, not the task later.
        let future = std::panic::catch_unwind(AssertUnwindSafe(|| work(ctx)))
            .map_err(|p| format!("the work's factory panicked: {}", panic_message(p)))?;
        // Resource limits: the work runs inside a meter only when the task has any; over one,
        // the meter tells the runner once. Without the tracking allocator, a memory limit
        // fails the start.
        let (future, meter) = match control.limits.as_deref() {
            None => (future, None),
            Some(limits) => {
                let me = myself.clone();
                let (future, meter) = meter::wrap(future, limits, move |exceeded| {
                    let _ = me.cast(RunnerMsg::Exceeded(exceeded));
                })?;
                (future, Some(meter))
            }
        };

        shared
            .runners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                myself.get_id(),
                RunnerEntry {
                    task: control.id,
                    attempt,
                    cell: myself.get_cell(),
                    supervisor,
                },
            );

        let me = myself.clone();
        let handle = tokio::spawn(
            async move {
                let result = AssertUnwindSafe(future)
                    .catch_unwind()
                    .await
                    .map_err(panic_message);
                let _ = me.cast(RunnerMsg::WorkDone(result));
            }
            .instrument(control.span.clone()),
        );

        let started = Instant::now();
        let deadline = control.timeout.map(|t| started + t);
        let deadline_timer = control
            .timeout
            .map(|t| myself.send_after(t, || RunnerMsg::Deadline));

        if control.attach(myself.clone()) {
            let _ = myself.cast(RunnerMsg::Cancel);
        }
        shared.report(Report::Started {
            id: control.id,
            attempt,
        });
        control
            .span
            .in_scope(|| tracing::debug!(attempt, "runner started"));

        Ok(RunnerState {
            shared,
            control,
            attempt,
            token,
            started,
            deadline,
            meter,
            work: AbortOnDropHandle::new(handle),
            deadline_timer,
            grace_timer: None,
            cause: None,
            reported: false,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<RunnerMsg>,
        message: RunnerMsg,
        state: &mut RunnerState,
    ) -> Result<(), ActorProcessingErr> {
        if state.reported {
            if let RunnerMsg::Status(reply) = message {
                let _ = reply.send(state.status());
            }
            return Ok(());
        }
        match message {
            RunnerMsg::WorkDone(result) => {
                let result = state.attempt_result(result);
                state.finish(&myself, result);
            }
            RunnerMsg::Deadline => state.stop_for(&myself, StopCause::TimedOut),
            RunnerMsg::Exceeded(exceeded) => {
                state.stop_for(&myself, StopCause::Exceeded(exceeded));
            }
            RunnerMsg::Cancel => {
                if state.cause.is_none() {
                    state.cause = Some(StopCause::Cancelled);
                    state.token.cancel();
                    state.escalate(&myself);
                }
            }
            RunnerMsg::GraceExpired | RunnerMsg::Abort => {
                if state.work.is_finished() {
                    // Its `WorkDone` is already queued behind this message.
                    return Ok(());
                }
                state.work.abort();
                let result = match state.cause {
                    Some(StopCause::TimedOut) => AttemptResult::Failed(Failure::new(
                        FailureCause::TimedOut,
                        "the work did not stop within its grace period after the deadline",
                    )),
                    Some(StopCause::Exceeded(exceeded)) => {
                        AttemptResult::Failed(exceeded.failure(true))
                    }
                    _ => AttemptResult::Cancelled,
                };
                state
                    .control
                    .span
                    .in_scope(|| tracing::debug!("work aborted after its grace period"));
                state.finish(&myself, result);
            }
            RunnerMsg::Status(reply) => {
                let _ = reply.send(state.status());
            }
        }
        Ok(())
    }

    async fn post_stop(
        &self,
        myself: ActorRef<RunnerMsg>,
        state: &mut RunnerState,
    ) -> Result<(), ActorProcessingErr> {
        state.control.detach(&myself);
        state.stop_timers();
        Ok(())
    }
}

impl RunnerState {
    fn phase(&self) -> Phase {
        if self.cause.is_some() {
            Phase::Cancelling
        } else {
            Phase::Running
        }
    }

    fn status(&self) -> RunnerStatus {
        let now = Instant::now();
        RunnerStatus {
            task_id: self.control.id,
            name: self.control.name.to_string(),
            attempt: self.attempt,
            phase: self.phase(),
            elapsed: now.saturating_duration_since(self.started),
            progress: self.control.progress.snapshot(),
            deadline_in: self.deadline.map(|d| d.saturating_duration_since(now)),
            cancel_requested: self.token.is_cancelled(),
            cpu_time: self.meter.as_ref().map(|m| m.cpu_time()),
            live_bytes: self.meter.as_ref().and_then(|m| m.live_bytes()),
        }
    }

    fn attempt_result(&self, result: Result<Result<Value, TaskError>, String>) -> AttemptResult {
        match (self.cause, result) {
            (Some(StopCause::TimedOut), _) => AttemptResult::Failed(Failure::new(
                FailureCause::TimedOut,
                match self.control.timeout {
                    Some(t) => format!("timed out after {} ms", t.as_millis()),
                    None => "timed out".to_owned(),
                },
            )),
            (Some(StopCause::Exceeded(exceeded)), _) => {
                AttemptResult::Failed(exceeded.failure(false))
            }
            (Some(StopCause::Cancelled), Err(_) | Ok(Err(_))) => AttemptResult::Cancelled,
            (_, Ok(Ok(value))) => match self.shared.config.max_result_bytes {
                Some(max) if json_len(&value) > max => AttemptResult::Failed(Failure::new(
                    FailureCause::ResultTooLarge,
                    format!("the result is larger than the maximum of {max} bytes"),
                )),
                _ => AttemptResult::Completed(value),
            },
            (_, Ok(Err(err))) if err.is_cancelled() && self.control.token.is_cancelled() => {
                AttemptResult::Cancelled
            }
            (_, Ok(Err(err))) => AttemptResult::Failed(err.into_failure()),
            (_, Err(panic)) => AttemptResult::Failed(Failure::new(FailureCause::Panicked, panic)),
        }
    }

    /// Stops the work for its deadline or a resource limit: fires the attempt's token, reports
    /// `cancelling`, and escalates after the grace period. The first cause stands.
    fn stop_for(&mut self, myself: &ActorRef<RunnerMsg>, cause: StopCause) {
        if self.cause.is_some() {
            return;
        }
        self.cause = Some(cause);
        self.token.cancel();
        self.shared.report(Report::Cancelling {
            id: self.control.id,
            attempt: self.attempt,
        });
        self.control
            .span
            .in_scope(|| tracing::debug!(?cause, "cancelling the work"));
        self.escalate(myself);
    }

    fn escalate(&mut self, myself: &ActorRef<RunnerMsg>) {
        match self.control.cancel_policy.grace() {
            Duration::ZERO => {
                let _ = myself.cast(RunnerMsg::Abort);
            }
            grace => {
                self.grace_timer = Some(myself.send_after(grace, || RunnerMsg::GraceExpired));
            }
        }
    }

    fn stop_timers(&mut self) {
        for timer in [self.deadline_timer.take(), self.grace_timer.take()]
            .into_iter()
            .flatten()
        {
            timer.abort();
        }
    }

    fn finish(&mut self, myself: &ActorRef<RunnerMsg>, result: AttemptResult) {
        self.reported = true;
        self.stop_timers();
        self.shared.report(Report::Finished {
            id: self.control.id,
            attempt: self.attempt,
            result,
        });
        myself.stop(Some(FINISHED.to_owned()));
    }
}
