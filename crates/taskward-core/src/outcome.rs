//! How a task ended, and the error type its work returns.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Status;

/// How a task ended: exactly one per task, fixed by its first terminal transition.
///
/// # Examples
///
/// ```
/// use taskward_core::{Cancellation, CancelledBy, Outcome, Status};
///
/// let outcome = Outcome::Cancelled(Cancellation::new(CancelledBy::Client, Some("user".into())));
/// assert_eq!(outcome.status(), Status::Cancelled);
/// assert!(outcome.value().is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// The work returned this value.
    Completed {
        /// The value the work returned.
        value: Value,
    },
    /// The work did not produce a value.
    Failed(Failure),
    /// The task was cancelled before its work produced a value.
    Cancelled(Cancellation),
}

impl Outcome {
    /// A completed outcome.
    pub fn completed(value: Value) -> Self {
        Outcome::Completed { value }
    }

    /// The terminal status this outcome gives its task.
    pub fn status(&self) -> Status {
        match self {
            Outcome::Completed { .. } => Status::Completed,
            Outcome::Failed(_) => Status::Failed,
            Outcome::Cancelled(_) => Status::Cancelled,
        }
    }

    /// The value, if the task completed.
    pub fn value(&self) -> Option<&Value> {
        match self {
            Outcome::Completed { value } => Some(value),
            _ => None,
        }
    }

    /// The failure, if the task failed.
    pub fn failure(&self) -> Option<&Failure> {
        match self {
            Outcome::Failed(f) => Some(f),
            _ => None,
        }
    }

    /// The cancellation, if the task was cancelled.
    pub fn cancellation(&self) -> Option<&Cancellation> {
        match self {
            Outcome::Cancelled(c) => Some(c),
            _ => None,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Completed { value } => write!(f, "completed: {value}"),
            Outcome::Failed(failure) => write!(f, "failed: {failure}"),
            Outcome::Cancelled(c) => write!(f, "cancelled: {c}"),
        }
    }
}

/// Why a task failed, with the message of its cause.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Failure {
    /// What kind of failure it was.
    pub cause: FailureCause,
    /// A human-readable message: the work's error, the panic payload, the limit exceeded.
    pub message: String,
    /// Structured data the work attached to its error, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl Failure {
    /// A failure with a cause and a message.
    pub fn new(cause: FailureCause, message: impl Into<String>) -> Self {
        Self {
            cause,
            message: message.into(),
            data: None,
        }
    }

    /// The failure without its data and with its message cut to [`SUMMARY_BYTES`]: what a
    /// `failed` event carries, so that the whole failure is kept once, in the record.
    pub fn summary(&self) -> Self {
        Self {
            cause: self.cause,
            message: summary(&self.message).into_owned(),
            data: None,
        }
    }
}

/// The most bytes of a message a summary keeps ([`summary`]).
pub const SUMMARY_BYTES: usize = 1024;

/// The first [`SUMMARY_BYTES`] of a text, cut at a character boundary and ended with `…` when
/// cut.
///
/// # Examples
///
/// ```
/// use taskward_core::{SUMMARY_BYTES, summary};
///
/// assert_eq!(summary("short"), "short");
/// let long = "é".repeat(SUMMARY_BYTES);
/// let cut = summary(&long);
/// assert!(cut.len() <= SUMMARY_BYTES + '…'.len_utf8() && cut.ends_with('…'));
/// ```
pub fn summary(text: &str) -> Cow<'_, str> {
    if text.len() <= SUMMARY_BYTES {
        return Cow::Borrowed(text);
    }
    let mut end = SUMMARY_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}…", &text[..end]))
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.cause, self.message)
    }
}

/// The cause of a [`Failure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FailureCause {
    /// The work returned an error.
    Error,
    /// The work panicked.
    Panicked,
    /// The work did not finish before its deadline (and its grace period).
    TimedOut,
    /// The task's runner died without reporting an outcome.
    RunnerLost,
    /// The work was interrupted by a restart of the runtime's supervision tree.
    Interrupted,
    /// The work's value was larger than the configured maximum result size.
    ResultTooLarge,
    /// The runner could not be started (the work's factory panicked, the tree is down, a
    /// memory limit was set where no tracking allocator is installed).
    StartFailed,
    /// The attempt's work was polled for longer than its CPU budget; it was cancelled, given
    /// its grace period, then aborted. The failure's `data` holds `cpu_time_ms` and
    /// `cpu_budget_ms`.
    CpuBudgetExceeded,
    /// The attempt's work held more live heap bytes than its memory limit; it was cancelled,
    /// given its grace period, then aborted. The failure's `data` holds `live_bytes` and
    /// `memory_limit`.
    MemoryLimitExceeded,
    /// A task it depends on (`TaskSpec::depends_on` in taskward-runtime) failed, so it never
    /// ran. The failure's `data` holds `dependency` (the id) and `outcome` (that task's
    /// failure cause).
    DependencyFailed,
}

impl FailureCause {
    /// The snake-case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            FailureCause::Error => "error",
            FailureCause::Panicked => "panicked",
            FailureCause::TimedOut => "timed_out",
            FailureCause::RunnerLost => "runner_lost",
            FailureCause::Interrupted => "interrupted",
            FailureCause::ResultTooLarge => "result_too_large",
            FailureCause::StartFailed => "start_failed",
            FailureCause::CpuBudgetExceeded => "cpu_budget_exceeded",
            FailureCause::MemoryLimitExceeded => "memory_limit_exceeded",
            FailureCause::DependencyFailed => "dependency_failed",
        }
    }
}

impl fmt::Display for FailureCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who cancelled a task, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Cancellation {
    /// Who asked.
    pub by: CancelledBy,
    /// The reason given, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Cancellation {
    /// A cancellation by someone, with an optional reason.
    pub fn new(by: CancelledBy, reason: Option<String>) -> Self {
        Self { by, reason }
    }

    /// The cancellation with its reason cut to [`SUMMARY_BYTES`]: what a `cancelled` event
    /// carries.
    pub fn summary(&self) -> Self {
        Self {
            by: self.by,
            reason: self.reason.as_deref().map(|r| summary(r).into_owned()),
        }
    }
}

impl fmt::Display for Cancellation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.reason {
            Some(r) => write!(f, "by {} ({r})", self.by),
            None => write!(f, "by {}", self.by),
        }
    }
}

/// Who cancelled a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CancelledBy {
    /// A client asked (`cancel`, MCP `tasks/cancel`).
    Client,
    /// The task's owner died or its scope was closed with the cancel policy.
    Owner,
    /// The task's parent was cancelled.
    Parent,
    /// The runtime shut down.
    Shutdown,
    /// The task's TTL elapsed while it was still live.
    Expiry,
    /// A task it depends on was cancelled or expired before completing, so it never ran;
    /// the reason names that task.
    Dependency,
}

impl CancelledBy {
    /// The snake-case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            CancelledBy::Client => "client",
            CancelledBy::Owner => "owner",
            CancelledBy::Parent => "parent",
            CancelledBy::Shutdown => "shutdown",
            CancelledBy::Expiry => "expiry",
            CancelledBy::Dependency => "dependency",
        }
    }
}

impl fmt::Display for CancelledBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error a task's work returns.
///
/// A `TaskError` fails the task with [`FailureCause::Error`], carrying its message and optional
/// structured data. [`TaskError::cancelled`] is the conventional return of work that noticed its
/// cancellation: the outcome is then the one the cancel or timeout already fixed.
///
/// # Examples
///
/// ```
/// use taskward_core::TaskError;
///
/// let err = TaskError::new("disk full").with_data(serde_json::json!({"free": 0}));
/// assert_eq!(err.to_string(), "disk full");
/// assert!(TaskError::cancelled().is_cancelled());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TaskError {
    message: String,
    data: Option<Value>,
    cancelled: bool,
}

impl TaskError {
    /// An error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            data: None,
            cancelled: false,
        }
    }

    /// The work's acknowledgement that it stopped because it was cancelled.
    pub fn cancelled() -> Self {
        Self {
            message: "cancelled".into(),
            data: None,
            cancelled: true,
        }
    }

    /// Wraps any error, keeping its display text.
    pub fn from_error(err: &(dyn std::error::Error + 'static)) -> Self {
        Self::new(err.to_string())
    }

    /// Attaches structured data.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The structured data, if any.
    pub fn data(&self) -> Option<&Value> {
        self.data.as_ref()
    }

    /// Whether this is the work acknowledging a cancellation.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled
    }

    /// Turns the error into the [`Failure`] it causes.
    pub fn into_failure(self) -> Failure {
        Failure {
            cause: FailureCause::Error,
            message: self.message,
            data: self.data,
        }
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TaskError {}

impl From<String> for TaskError {
    fn from(message: String) -> Self {
        Self::new(message)
    }
}

impl From<&str> for TaskError {
    fn from(message: &str) -> Self {
        Self::new(message)
    }
}

impl From<std::io::Error> for TaskError {
    fn from(err: std::io::Error) -> Self {
        Self::new(err.to_string())
    }
}

impl From<serde_json::Error> for TaskError {
    fn from(err: serde_json::Error) -> Self {
        Self::new(err.to_string())
    }
}
