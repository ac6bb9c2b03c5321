//! The task record: what the table holds for each task.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{Outcome, Phase, Scope, Status, TaskId};

/// What a task is, for agent hosts that show background work by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TaskKind {
    /// Watches something and reports (a file watcher, a CI poller).
    Monitor,
    /// Another agent working on a sub-goal.
    Subagent,
    /// Observes a conversation or a stream.
    Observer,
    /// Anything else; the default.
    #[default]
    Other,
}

/// The latest progress a task reported.
///
/// Each field is latest-wins, with two rules that keep the value meaningful:
///
/// - `done` never goes backwards: a report below the current `done` keeps it (the other fields
///   still take the report's values);
/// - `total`, when known, is never below `done`: a report of a total below `done` is raised to
///   `done`, so [`fraction`](Self::fraction) is always within `0.0..=1.0`. The total may go
///   down (the work found less to do) but not below what is done.
///
/// Any `u64` is a valid total (`Some(u64::MAX)` is kept as such; `None` means unknown). The
/// message is what the work last said; the work can replace or clear it (see
/// `TaskContext::progress` in taskward-runtime).
///
/// # Examples
///
/// ```
/// use taskward_core::Progress;
///
/// let p = Progress::new(3, Some(4), Some("linking".into()));
/// assert_eq!(p.fraction(), Some(0.75));
/// assert_eq!(p.to_string(), "3/4 linking");
///
/// // A total below `done` is raised to `done`.
/// let p = Progress::new(7, Some(5), None);
/// assert_eq!((p.done, p.total, p.fraction()), (7, Some(7), Some(1.0)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Progress {
    /// Units done so far.
    pub done: u64,
    /// Units in all, when known; never below `done` in a value made by [`Progress::new`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// What the work is doing now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Arc<str>>,
}

impl Progress {
    /// A progress value; a `total` below `done` is raised to `done`.
    pub fn new(done: u64, total: Option<u64>, message: Option<Arc<str>>) -> Self {
        Self {
            done,
            total: total.map(|t| t.max(done)),
            message,
        }
    }

    /// `done / total`, within `0.0..=1.0`, when the total is known and non-zero.
    ///
    /// A value whose fields were set by hand with `done` above `total` reads as `1.0`.
    pub fn fraction(&self) -> Option<f64> {
        match self.total {
            Some(t) if t > 0 => Some((self.done as f64 / t as f64).min(1.0)),
            _ => None,
        }
    }
}

impl fmt::Display for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.total {
            Some(t) => write!(f, "{}/{}", self.done, t)?,
            None => write!(f, "{}", self.done)?,
        }
        if let Some(m) = &self.message {
            write!(f, " {m}")?;
        }
        Ok(())
    }
}

/// A snapshot of one task, as the registry last wrote it.
///
/// Records are immutable: the registry replaces a task's record on each transition, and readers
/// hold `Arc<TaskRecord>` snapshots that never change under them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaskRecord {
    /// The task's id.
    pub id: TaskId,
    /// Who the task belongs to.
    pub scope: Scope,
    /// The task's name (a tool name, a job name).
    pub name: Arc<str>,
    /// What kind of task it is.
    pub kind: TaskKind,
    /// The producer that submitted it (an agent, a tool), if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub producer: Option<Arc<str>>,
    /// The parent task, if any: cancelling the parent cancels this task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<TaskId>,
    /// The status.
    pub status: Status,
    /// Where a live task is inside its status; `None` once terminal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// A human-readable note on the current status, while the task is live. A terminal
    /// record leaves it empty rather than copy its outcome's message:
    /// [`status_text`](TaskRecord::status_text) derives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// The latest progress reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<Progress>,
    /// The attempt running or last run, from 1.
    pub attempt: u32,
    /// The idempotency key given at submit, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<Arc<str>>,
    /// Whether the work runs outside the runtime (driven by its host).
    pub external: bool,
    /// When the task was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the record last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub last_updated_at: OffsetDateTime,
    /// The effective time to live, from creation; `None` keeps the task until removed.
    #[serde(default, with = "duration_ms", skip_serializing_if = "Option::is_none")]
    pub ttl: Option<Duration>,
    /// The outcome, once terminal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// The JSON input of a task of a registered kind (its handler is registered under the
    /// task's [`name`](Self::name)), kept so that the work can be run again after a restart;
    /// `None` for a task submitted with a closure, which cannot be.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Arc<serde_json::Value>>,
    /// For a task served from a kind's result cache (see `Kind::cache_results` in
    /// taskward-runtime): the task whose result it carries. Such a task was created completed,
    /// its work never ran; `None` for every other task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_from: Option<TaskId>,
    /// The creation order in this runtime, used by list cursors (and, within a priority, by
    /// the admission queue).
    pub seq: u64,
    /// The start priority (`TaskSpec::priority` in taskward-runtime): when running slots are
    /// capped, a queued task of higher priority starts first. 0 by default.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub priority: i32,
    /// The tasks this one waits for (`TaskSpec::depends_on`): it starts once all of them
    /// completed. Empty for most tasks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<TaskId>,
    /// The task's own policies (timeout, cancel, restart) when one differs from the default:
    /// carried for a task of a registered kind, so that the node that claims it from the
    /// shared queue, or a restart, runs it as submitted. `None` for most tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policies: Option<Box<crate::TaskPolicies>>,
}

fn is_zero(n: &i32) -> bool {
    *n == 0
}

impl TaskRecord {
    /// The note to show on the status: the stored [`status_message`](Self::status_message)
    /// or, for a failed or cancelled task, its outcome's (`"<cause>: <message>"`,
    /// `"cancelled by <who>[: <reason>]"`), derived here so that the record stores the
    /// message once.
    ///
    /// # Examples
    ///
    /// ```
    /// use taskward_core::{Failure, FailureCause, Outcome, Scope, Status, TaskId, TaskRecord};
    ///
    /// let mut record = TaskRecord::new(TaskId::new(), Scope::global(), "job".into(), 1);
    /// record.status = Status::Failed;
    /// record.outcome = Some(Outcome::Failed(Failure::new(FailureCause::Error, "no disk")));
    /// assert_eq!(record.status_text().as_deref(), Some("error: no disk"));
    /// ```
    pub fn status_text(&self) -> Option<Cow<'_, str>> {
        if let Some(message) = &self.status_message {
            return Some(Cow::Borrowed(message));
        }
        match self.outcome.as_ref()? {
            Outcome::Failed(f) => Some(Cow::Owned(f.to_string())),
            Outcome::Cancelled(c) => Some(Cow::Owned(format!("cancelled {c}"))),
            _ => None,
        }
    }

    /// A fresh record in status `working`, phase `queued`, attempt 1.
    pub fn new(id: TaskId, scope: Scope, name: Arc<str>, seq: u64) -> Self {
        let now = OffsetDateTime::now_utc();
        Self {
            id,
            scope,
            name,
            kind: TaskKind::Other,
            producer: None,
            parent: None,
            status: Status::Working,
            phase: Some(Phase::Queued),
            status_message: None,
            progress: None,
            attempt: 1,
            idempotency_key: None,
            external: false,
            created_at: now,
            last_updated_at: now,
            ttl: None,
            outcome: None,
            input: None,
            cached_from: None,
            seq,
            priority: 0,
            depends_on: Vec::new(),
            policies: None,
        }
    }

    /// Whether the status is terminal.
    pub fn is_terminal(&self) -> bool {
        self.status.is_terminal()
    }

    /// The time the TTL elapses, if the task has one.
    pub fn expires_at(&self) -> Option<OffsetDateTime> {
        self.ttl.map(|ttl| self.created_at + ttl)
    }
}

mod duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}
