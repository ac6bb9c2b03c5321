//! The control block of a live task, shared by the registry, its runner and its waiters.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use ractor::ActorRef;
use serde_json::Value;
use taskward_core::{CancelPolicy, Cancellation, Outcome, Restart, TaskError, TaskId};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::context::TaskContext;
use crate::progress::ProgressCell;
use crate::runner::RunnerMsg;

/// The future a task's work returns.
pub(crate) type WorkFuture = Pin<Box<dyn Future<Output = Result<Value, TaskError>> + Send>>;

/// The work: called once per attempt.
pub(crate) type WorkFn = Arc<dyn Fn(TaskContext) -> WorkFuture + Send + Sync>;

/// Called when an external task is cancelled.
pub(crate) type ExternalCancel = Box<dyn Fn(&Cancellation) + Send + Sync>;

/// Everything about a live task that is not in its record: the token, the progress cell, the
/// outcome slot and the waiters, the runner attached, and the spec the runner needs.
///
/// Created by the registry when it records the task; dropped once the task is terminal and its
/// last runner has reported.
pub(crate) struct Control {
    pub(crate) id: TaskId,
    pub(crate) name: Arc<str>,
    /// Fired by cancel (the task's token; each attempt runs on a child of it).
    pub(crate) token: CancellationToken,
    pub(crate) progress: ProgressCell,
    /// Set by the first terminal transition; later ones fail to set it.
    pub(crate) outcome: OnceLock<Outcome>,
    /// Woken after `outcome` is set.
    pub(crate) done: Notify,
    /// The runner of the current attempt, once it has started.
    pub(crate) runner: Mutex<Option<ActorRef<RunnerMsg>>>,
    attempt: AtomicU32,
    pub(crate) work: Option<WorkFn>,
    pub(crate) external_cancel: Option<ExternalCancel>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) cancel_policy: CancelPolicy,
    pub(crate) restart: Restart,
    pub(crate) span: tracing::Span,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("attempt", &self.attempt())
            .field("outcome", &self.outcome.get())
            .finish_non_exhaustive()
    }
}

pub(crate) struct ControlParts {
    pub(crate) id: TaskId,
    pub(crate) name: Arc<str>,
    pub(crate) work: Option<WorkFn>,
    pub(crate) external_cancel: Option<ExternalCancel>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) cancel_policy: CancelPolicy,
    pub(crate) restart: Restart,
}

impl Control {
    pub(crate) fn new(parts: ControlParts) -> Self {
        let span = tracing::info_span!("task", id = %parts.id, name = %parts.name);
        Self {
            id: parts.id,
            name: parts.name,
            token: CancellationToken::new(),
            progress: ProgressCell::new(),
            outcome: OnceLock::new(),
            done: Notify::new(),
            runner: Mutex::new(None),
            attempt: AtomicU32::new(1),
            work: parts.work,
            external_cancel: parts.external_cancel,
            timeout: parts.timeout,
            cancel_policy: parts.cancel_policy,
            restart: parts.restart,
            span,
        }
    }

    pub(crate) fn attempt(&self) -> u32 {
        self.attempt.load(Ordering::Acquire)
    }

    pub(crate) fn set_attempt(&self, attempt: u32) {
        self.attempt.store(attempt, Ordering::Release);
    }

    pub(crate) fn is_terminal(&self) -> bool {
        self.outcome.get().is_some()
    }

    pub(crate) fn runner(&self) -> Option<ActorRef<RunnerMsg>> {
        self.runner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Attaches the runner of an attempt; returns whether the task was already cancelled, in
    /// which case the runner must start cancelling at once. Checked under the same lock the
    /// registry takes to find the runner after firing the token, so that one of the two always
    /// delivers the cancel.
    pub(crate) fn attach(&self, runner: ActorRef<RunnerMsg>) -> bool {
        let mut slot = self.runner.lock().unwrap_or_else(|e| e.into_inner());
        *slot = Some(runner);
        self.token.is_cancelled()
    }

    pub(crate) fn detach(&self, runner: &ActorRef<RunnerMsg>) {
        let mut slot = self.runner.lock().unwrap_or_else(|e| e.into_inner());
        if slot.as_ref().is_some_and(|r| r.get_id() == runner.get_id()) {
            *slot = None;
        }
    }
}
