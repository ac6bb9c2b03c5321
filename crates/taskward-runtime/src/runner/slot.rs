//! One task held by a runner: its running work, token, deadline and stop cause.

use std::sync::Arc;

use serde_json::Value;
use taskward_core::{Failure, FailureCause, Phase, TaskError};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

use super::RunnerStatus;
use super::timers::TimerKey;
use crate::control::Control;
use crate::meter::{Exceeded, Meter};
use crate::report::AttemptResult;

/// Why the runner stopped an attempt's work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StopCause {
    Cancelled,
    TimedOut,
    /// Over its CPU budget or memory limit.
    Exceeded(Exceeded),
    /// Stopped to be suspended.
    Suspended,
}

/// How the work's tokio task ended, as it tells its runner.
#[derive(Debug)]
pub(crate) enum WorkEnd {
    /// The work returned.
    Returned(Result<Value, TaskError>),
    /// The work returned a value larger than the maximum result size (in bytes of JSON),
    /// measured on the work's own task so that the runner never serializes a result.
    TooLarge(usize),
    /// The work panicked, with this message.
    Panicked(String),
}

/// A running attempt, as its runner keeps it.
#[derive(Debug)]
pub(super) struct Slot {
    pub(super) control: Arc<Control>,
    pub(super) attempt: u32,
    pub(super) token: CancellationToken,
    /// The work's tokio task; dropping the slot aborts it.
    pub(super) work: AbortOnDropHandle<()>,
    pub(super) started: Instant,
    pub(super) deadline: Option<Instant>,
    /// The armed timer: the deadline, or once stopping, the end of the grace period.
    pub(super) timer: Option<TimerKey>,
    pub(super) cause: Option<StopCause>,
    /// The readings of a metered work (resource limits); `None` when the task has none.
    pub(super) meter: Option<Arc<Meter>>,
}

/// An attempt waiting out its backoff before it starts.
#[derive(Debug)]
pub(super) struct Waiting {
    pub(super) control: Arc<Control>,
    pub(super) attempt: u32,
    pub(super) timer: TimerKey,
    /// The attempt needs a running slot: the registry starts it (see `RunnerMsg::Retry`).
    pub(super) gated: bool,
}

/// The size of a value's JSON text, without building it.
pub(crate) fn json_len(value: &Value) -> usize {
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

impl Slot {
    pub(super) fn phase(&self) -> Phase {
        if self.cause.is_some() {
            Phase::Cancelling
        } else {
            Phase::Running
        }
    }

    pub(super) fn status(&self) -> RunnerStatus {
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

    /// How the attempt ended, from what its work returned and why it was stopped.
    pub(super) fn result(&self, end: WorkEnd) -> AttemptResult {
        match (self.cause, end) {
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
            (
                Some(StopCause::Cancelled | StopCause::Suspended),
                WorkEnd::Panicked(_) | WorkEnd::Returned(Err(_)),
            ) => AttemptResult::Cancelled,
            (_, WorkEnd::Returned(Ok(value))) => AttemptResult::Completed(value),
            (_, WorkEnd::TooLarge(max)) => AttemptResult::Failed(Failure::new(
                FailureCause::ResultTooLarge,
                format!("the result is larger than the maximum of {max} bytes"),
            )),
            (_, WorkEnd::Returned(Err(err)))
                if err.is_cancelled() && self.control.token.is_cancelled() =>
            {
                AttemptResult::Cancelled
            }
            (_, WorkEnd::Returned(Err(err))) => AttemptResult::Failed(err.into_failure()),
            (_, WorkEnd::Panicked(panic)) => {
                AttemptResult::Failed(Failure::new(FailureCause::Panicked, panic))
            }
        }
    }

    /// How the attempt ends when its work is aborted.
    pub(super) fn aborted(&self) -> AttemptResult {
        match self.cause {
            Some(StopCause::TimedOut) => AttemptResult::Failed(Failure::new(
                FailureCause::TimedOut,
                "the work did not stop within its grace period after the deadline",
            )),
            Some(StopCause::Exceeded(exceeded)) => AttemptResult::Failed(exceeded.failure(true)),
            _ => AttemptResult::Cancelled,
        }
    }
}
