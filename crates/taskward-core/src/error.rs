//! The error type of every fallible call.

use std::fmt;
use std::time::Duration;

use crate::{Status, TaskId};

/// Why a call on the runtime failed.
///
/// Every public call that can fail returns this. Unknown and foreign ids both give
/// [`Error::NotFound`], so that ids cannot be probed across scopes.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// No task with this id in this scope (unknown, expired, or another scope's).
    NotFound(TaskId),
    /// The task has already ended with this status.
    AlreadyTerminal {
        /// The task.
        id: TaskId,
        /// Its terminal status.
        status: Status,
    },
    /// A task has no live runner to answer (it is queued, waiting to retry, or external).
    NoLiveRunner(TaskId),
    /// Submitting would exceed a limit; nothing was created.
    LimitExceeded {
        /// Which limit.
        limit: Limit,
        /// Its configured value.
        max: u64,
    },
    /// The requested TTL is above the maximum and the runtime rejects such requests.
    TtlAboveMaximum {
        /// What was asked.
        requested: Duration,
        /// The maximum.
        max: Duration,
    },
    /// The parent named at submit is unknown in this scope, or already terminal.
    InvalidParent(TaskId),
    /// A task names more dependencies than the runtime accepts; nothing was created.
    TooManyDependencies {
        /// How many it named (distinct ids).
        count: usize,
        /// The most accepted.
        max: usize,
    },
    /// The operation applies to external tasks only.
    NotExternal(TaskId),
    /// The task has no outstanding input request with this key (already answered, withdrawn,
    /// or never asked).
    UnknownInput {
        /// The task.
        id: TaskId,
        /// The key that was answered.
        key: String,
    },
    /// A one-shot work (`submit_once`) was submitted with a restart policy that allows more
    /// than one attempt; one-shot work can run only once, so nothing was created.
    OneShotRetry {
        /// The attempts the restart policy allows.
        max_attempts: u32,
    },
    /// No kind of work is registered under this name (`Builder::register`).
    UnknownKind(std::sync::Arc<str>),
    /// Suspend and resume apply only to live tasks of a registered kind, which can run again
    /// from their checkpoint; this one was submitted with a closure.
    NotResumable(TaskId),
    /// The task is not in the state the operation needs (resuming a task that is not
    /// suspended, suspending one that already is).
    WrongPhase {
        /// The task.
        id: TaskId,
        /// What the operation needs.
        expected: &'static str,
    },
    /// The runtime is shutting down or has shut down; nothing new is admitted.
    ShutDown,
    /// The runtime's supervision tree could not be reached.
    Unavailable(String),
    /// The task's runner failed to start; the task was marked failed (start failed).
    RunnerStart {
        /// The task, now failed.
        id: TaskId,
        /// Why the runner did not start.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The runtime's supervision tree failed to start.
    Spawn(Box<dyn std::error::Error + Send + Sync>),
    /// The task store failed.
    Store(crate::StoreError),
    /// A list cursor this runtime did not issue.
    InvalidCursor(crate::InvalidCursor),
}

/// A limit that submit checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Limit {
    /// Live tasks in the whole runtime.
    LiveTasks,
    /// Live tasks in one scope.
    LiveTasksPerScope,
    /// Tasks whose work runs at once, in the whole runtime (`Builder::max_running` in
    /// taskward-runtime).
    RunningTasks,
    /// Tasks of one name whose work runs at once (`Builder::max_running_named`).
    RunningTasksNamed,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Limit::LiveTasks => "live tasks",
            Limit::LiveTasksPerScope => "live tasks per scope",
            Limit::RunningTasks => "running tasks",
            Limit::RunningTasksNamed => "running tasks of this name",
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotFound(id) => write!(f, "task {id} not found"),
            Error::AlreadyTerminal { id, status } => {
                write!(f, "task {id} has already ended: {status}")
            }
            Error::NoLiveRunner(id) => write!(f, "task {id} has no live runner"),
            Error::LimitExceeded { limit, max } => {
                write!(f, "limit exceeded: at most {max} {limit}")
            }
            Error::TtlAboveMaximum { requested, max } => write!(
                f,
                "requested ttl {} ms is above the maximum {} ms",
                requested.as_millis(),
                max.as_millis()
            ),
            Error::InvalidParent(id) => write!(f, "parent task {id} is not live in this scope"),
            Error::TooManyDependencies { count, max } => write!(
                f,
                "a task may depend on at most {max} tasks, this one names {count}"
            ),
            Error::NotExternal(id) => write!(f, "task {id} is not an external task"),
            Error::UnknownInput { id, key } => {
                write!(f, "task {id} has no outstanding input request {key:?}")
            }
            Error::OneShotRetry { max_attempts } => write!(
                f,
                "one-shot work runs once, but its restart policy allows {max_attempts} attempts"
            ),
            Error::UnknownKind(kind) => write!(f, "no kind of work is registered as {kind:?}"),
            Error::NotResumable(id) => write!(
                f,
                "task {id} was submitted with a closure and cannot be suspended or resumed"
            ),
            Error::WrongPhase { id, expected } => write!(f, "task {id} is not {expected}"),
            Error::ShutDown => f.write_str("the runtime is shut down"),
            Error::Unavailable(why) => write!(f, "the runtime is unavailable: {why}"),
            Error::RunnerStart { id, .. } => write!(f, "the runner of task {id} failed to start"),
            Error::Spawn(_) => f.write_str("the runtime failed to start"),
            Error::Store(_) => f.write_str("the task store failed"),
            Error::InvalidCursor(_) => f.write_str("invalid list cursor"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::RunnerStart { source, .. } | Error::Spawn(source) => Some(source.as_ref()),
            Error::Store(e) => Some(e),
            Error::InvalidCursor(e) => Some(e),
            _ => None,
        }
    }
}

impl From<crate::StoreError> for Error {
    fn from(e: crate::StoreError) -> Self {
        Error::Store(e)
    }
}

impl From<crate::InvalidCursor> for Error {
    fn from(e: crate::InvalidCursor) -> Self {
        Error::InvalidCursor(e)
    }
}
