//! The control block of a live task, shared by the registry, its runner and its waiters.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use ractor::ActorCell;
use serde_json::Value;
use taskward_core::{
    CancelPolicy, Cancellation, InputRequest, Outcome, Restart, TaskError, TaskId,
};
use tokio::sync::{Notify, oneshot};
use tokio_util::sync::CancellationToken;

use crate::checkpoint::Resumable;
use crate::meter::ResourceLimits;
use crate::progress::{ProgressCell, ProgressFlush};
use crate::report::ReportPort;

/// The future a task's work returns.
pub(crate) type WorkFuture = Pin<Box<dyn Future<Output = Result<Value, TaskError>> + Send>>;

/// What a runner hands the work of an attempt: the API turns it into the work's
/// `TaskContext`.
#[derive(Debug)]
pub(crate) struct WorkParts {
    pub(crate) control: Arc<Control>,
    pub(crate) attempt: u32,
    /// The attempt's token.
    pub(crate) token: CancellationToken,
    /// Where progress news is listed.
    pub(crate) progress: Arc<ProgressFlush>,
    /// Where input requests are reported.
    pub(crate) port: ReportPort,
}

/// The work: called once per attempt.
pub(crate) type WorkFn = Arc<dyn Fn(WorkParts) -> WorkFuture + Send + Sync>;

/// Called when an external task is cancelled.
pub(crate) type ExternalCancel = Arc<dyn Fn(&Cancellation) + Send + Sync>;

/// Which runner holds a task, and whether its work runs.
#[derive(Debug, Default)]
struct Held {
    runner: Option<ActorCell>,
    running: bool,
}

/// The input requests of a task: allocated by its first `request_input`, so a task that never
/// asks for input pays one empty slot and nothing else.
#[derive(Debug, Default)]
pub(crate) struct Inputs {
    /// Every key asked over the task's lifetime (keys are never reused).
    used: HashSet<String>,
    /// The outstanding requests, in the order they were made, each with its parked work's
    /// wake-up.
    pending: Vec<Pending>,
}

#[derive(Debug)]
struct Pending {
    request: InputRequest,
    answer: oneshot::Sender<Value>,
}

/// Everything about a live task that is not in its record: the token, the progress cell, the
/// outcome slot and the waiters, the runner attached, and the spec the runner needs.
///
/// Created by the registry when it records the task; dropped once the task is terminal and its
/// last runner has reported.
pub(crate) struct Control {
    pub(crate) id: TaskId,
    pub(crate) name: Arc<str>,
    /// Fired by cancel (the task's token; each attempt runs on a child of it), through
    /// [`cancel`](Self::cancel).
    pub(crate) token: CancellationToken,
    /// Set as the token is fired: read where a lock-free answer is wanted (the token's own
    /// `is_cancelled` takes its lock).
    cancelled: AtomicBool,
    /// Set when the task is released (another node took it over): it has no outcome here,
    /// and its waiters follow it to the shared table.
    released: AtomicBool,
    pub(crate) progress: ProgressCell,
    /// Set by the first terminal transition; later ones fail to set it.
    pub(crate) outcome: OnceLock<Outcome>,
    /// Woken after `outcome` is set.
    pub(crate) done: Notify,
    /// The runner holding the current attempt: running its work, or waiting out its backoff.
    held: Mutex<Held>,
    attempt: AtomicU32,
    pub(crate) work: Option<WorkFn>,
    pub(crate) external_cancel: Option<ExternalCancel>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) cancel_policy: CancelPolicy,
    pub(crate) restart: Restart,
    /// The CPU budget and memory limit, when the spec set either (`None` costs one word).
    pub(crate) limits: Option<Box<ResourceLimits>>,
    /// A task of a registered kind: its checkpoint and suspension (`None` costs one word).
    pub(crate) resumable: Option<Box<Resumable>>,
    pub(crate) span: tracing::Span,
    /// Input requests; only `request_input`, `input_requests` and `provide_input` touch it.
    inputs: Mutex<Option<Box<Inputs>>>,
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
    pub(crate) limits: Option<Box<ResourceLimits>>,
    pub(crate) resumable: Option<Box<Resumable>>,
    /// The first attempt's number: 1, or the next one of a task resumed after a restart.
    pub(crate) attempt: u32,
}

#[cfg(test)]
impl Control {
    /// A control of a task with no work (as an external task's), for unit tests.
    pub(crate) fn without_work(id: TaskId) -> Arc<Self> {
        Arc::new(Self::new(ControlParts {
            id,
            name: "test".into(),
            work: None,
            external_cancel: None,
            timeout: None,
            cancel_policy: CancelPolicy::default(),
            restart: Restart::default(),
            limits: None,
            resumable: None,
            attempt: 1,
        }))
    }
}

impl Control {
    pub(crate) fn new(parts: ControlParts) -> Self {
        // At debug level: a span per task costs ~10 µs of CPU per task at `info` in a serving
        // binary (docs/performance.md); enable `taskward_runtime=debug` to get it.
        let span = tracing::debug_span!("task", id = %parts.id, name = %parts.name);
        Self {
            id: parts.id,
            name: parts.name,
            token: CancellationToken::new(),
            cancelled: AtomicBool::new(false),
            released: AtomicBool::new(false),
            progress: ProgressCell::new(),
            outcome: OnceLock::new(),
            done: Notify::new(),
            held: Mutex::new(Held::default()),
            attempt: AtomicU32::new(parts.attempt),
            work: parts.work,
            external_cancel: parts.external_cancel,
            timeout: parts.timeout,
            cancel_policy: parts.cancel_policy,
            restart: parts.restart,
            limits: parts.limits,
            resumable: parts.resumable,
            span,
            inputs: Mutex::new(None),
        }
    }

    pub(crate) fn attempt(&self) -> u32 {
        self.attempt.load(Ordering::Acquire)
    }

    pub(crate) fn set_attempt(&self, attempt: u32) {
        self.attempt.store(attempt, Ordering::Release);
    }

    /// Fires the task's token (once: later calls do nothing); returns whether this call fired
    /// it.
    pub(crate) fn cancel(&self) -> bool {
        if self.cancelled.swap(true, Ordering::AcqRel) {
            return false;
        }
        self.token.cancel();
        true
    }

    /// Whether the task's token was fired, without taking its lock.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }

    /// Marks the task released and wakes its waiters: they find no outcome here and follow
    /// the task elsewhere.
    pub(crate) fn release(&self) {
        self.released.store(true, Ordering::Release);
        self.done.notify_waiters();
    }

    /// Whether the task was released from this runtime.
    pub(crate) fn is_released(&self) -> bool {
        self.released.load(Ordering::Acquire)
    }

    pub(crate) fn is_terminal(&self) -> bool {
        self.outcome.get().is_some()
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The runner whose work runs the current attempt.
    pub(crate) fn runner(&self) -> Option<ActorCell> {
        let held = self.held();
        held.running.then(|| held.runner.clone()).flatten()
    }

    /// The runner holding the task: running its work, or waiting out a retry's backoff.
    pub(crate) fn holder(&self) -> Option<ActorCell> {
        self.held().runner.clone()
    }

    /// Attaches the runner of an attempt (`running` once its work is spawned, not while it
    /// waits out a backoff); returns whether the task was already cancelled, in which case
    /// the runner must start cancelling at once. Checked under the same lock the registry
    /// takes to find the runner after firing the token, so that one of the two always
    /// delivers the cancel.
    pub(crate) fn attach(&self, runner: ActorCell, running: bool) -> bool {
        let mut held = self.held();
        *held = Held {
            runner: Some(runner),
            running,
        };
        self.token.is_cancelled()
    }

    /// No runner holds the task any more.
    pub(crate) fn detach(&self) {
        *self.held() = Held::default();
    }

    fn inputs(&self) -> std::sync::MutexGuard<'_, Option<Box<Inputs>>> {
        self.inputs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records an outstanding input request and returns the receiver its answer arrives on;
    /// `None` when the key was already used by this task.
    pub(crate) fn ask(&self, request: InputRequest) -> Option<oneshot::Receiver<Value>> {
        let mut inputs = self.inputs();
        let inputs = inputs.get_or_insert_with(Box::default);
        if !inputs.used.insert(request.key.clone()) {
            return None;
        }
        let (answer, rx) = oneshot::channel();
        inputs.pending.push(Pending { request, answer });
        Some(rx)
    }

    /// Withdraws an outstanding request whose work stopped waiting; returns whether it was
    /// still outstanding.
    pub(crate) fn withdraw(&self, key: &str) -> bool {
        let mut inputs = self.inputs();
        let Some(inputs) = inputs.as_mut() else {
            return false;
        };
        match inputs.pending.iter().position(|p| p.request.key == key) {
            Some(i) => {
                inputs.pending.remove(i);
                true
            }
            None => false,
        }
    }

    /// Answers an outstanding request, waking its work; returns how many remain outstanding,
    /// or `None` when no outstanding request has this key.
    pub(crate) fn answer(&self, key: &str, response: Value) -> Option<usize> {
        let mut inputs = self.inputs();
        let inputs = inputs.as_mut()?;
        let i = inputs.pending.iter().position(|p| p.request.key == key)?;
        let pending = inputs.pending.remove(i);
        // A work that stopped waiting meanwhile withdraws nothing more: the request is answered.
        let _ = pending.answer.send(response);
        Some(inputs.pending.len())
    }

    /// The outstanding requests, in the order they were made.
    pub(crate) fn input_requests(&self) -> Vec<InputRequest> {
        self.inputs().as_ref().map_or_else(Vec::new, |inputs| {
            inputs.pending.iter().map(|p| p.request.clone()).collect()
        })
    }

    /// Whether any request is outstanding.
    pub(crate) fn awaits_input(&self) -> bool {
        self.inputs()
            .as_ref()
            .is_some_and(|inputs| !inputs.pending.is_empty())
    }
}
