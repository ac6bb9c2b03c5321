//! Describing a task to submit.

mod admission;
mod carried;

pub(crate) use admission::MAX_DEPENDENCIES;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use ractor::{ActorCell, ActorRef, Message};
use serde_json::Value;
use taskward_core::{
    CancelPolicy, Cancellation, ClosePolicy, Failure, Restart, Scope, TaskId, TaskKind,
};

use crate::meter::ResourceLimits;

/// What a task's owner actor is told when the task ends, as erlmcp's `task_complete`,
/// `task_failed`, `task_cancelled` and `task_timeout` messages.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum TaskNotice {
    /// The task completed with this value.
    Completed {
        /// The task.
        id: TaskId,
        /// Its value.
        value: Value,
    },
    /// The task failed (other than by timeout).
    Failed {
        /// The task.
        id: TaskId,
        /// Why.
        failure: Failure,
    },
    /// The task was cancelled.
    Cancelled {
        /// The task.
        id: TaskId,
        /// By whom.
        cancellation: Cancellation,
    },
    /// The task timed out.
    TimedOut {
        /// The task.
        id: TaskId,
    },
}

impl TaskNotice {
    /// The task the notice is about.
    pub fn id(&self) -> TaskId {
        match self {
            TaskNotice::Completed { id, .. }
            | TaskNotice::Failed { id, .. }
            | TaskNotice::Cancelled { id, .. }
            | TaskNotice::TimedOut { id } => *id,
        }
    }
}

/// The actor that owns a task: told its outcome in its own message type, and watched so that
/// the task's [`ClosePolicy`] applies when it dies.
///
/// # Examples
///
/// ```no_run
/// # use ractor::ActorRef;
/// use taskward_runtime::{Owner, TaskNotice, TaskSpec};
///
/// enum HostMsg { Task(TaskNotice) }
/// # fn f(host: ActorRef<HostMsg>) {
/// let spec = TaskSpec::new("index").owner(Owner::actor(&host, HostMsg::Task));
/// # }
/// ```
#[derive(Clone)]
pub struct Owner {
    pub(crate) cell: ActorCell,
    pub(crate) notify: Arc<dyn Fn(TaskNotice) + Send + Sync>,
}

impl Owner {
    /// An owner actor, with the function that wraps a notice into its message type.
    ///
    /// `wrap` runs once the registry has released its lock (it may call back into the
    /// runtime), before the task's waiters are woken. A `wrap` that panics is logged and
    /// counted in [`RegistryStatus::callback_panics`](crate::RegistryStatus::callback_panics);
    /// the task's outcome stands.
    pub fn actor<M: Message>(
        actor: &ActorRef<M>,
        wrap: impl Fn(TaskNotice) -> M + Send + Sync + 'static,
    ) -> Self {
        let target = actor.clone();
        Self {
            cell: actor.get_cell(),
            notify: Arc::new(move |notice| {
                // An owner that is gone has nothing to be told; its death applies the close
                // policy separately.
                let _ = target.cast(wrap(notice));
            }),
        }
    }

    /// The owner's actor cell.
    pub fn cell(&self) -> &ActorCell {
        &self.cell
    }
}

impl fmt::Debug for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Owner")
            .field("actor", &self.cell.get_id())
            .finish_non_exhaustive()
    }
}

/// Everything about a task but its work: name, scope, limits and policies.
///
/// Unset fields take the runtime's defaults (see [`Builder`](crate::Builder)).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use taskward_core::{Backoff, Restart, Scope};
/// use taskward_runtime::TaskSpec;
///
/// let spec = TaskSpec::new("count_primes")
///     .scope(Scope::session("s-1"))
///     .timeout(Duration::from_secs(30))
///     .cancel_grace(Duration::from_millis(500))
///     .restart(Restart::transient(3, Backoff::exponential(Duration::from_millis(100))))
///     .idempotency_key("k1");
/// assert_eq!(spec.name(), "count_primes");
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct TaskSpec {
    pub(crate) name: Arc<str>,
    pub(crate) scope: Scope,
    pub(crate) timeout: Option<Duration>,
    pub(crate) cancel_policy: Option<CancelPolicy>,
    pub(crate) restart: Restart,
    pub(crate) ttl: Option<Duration>,
    pub(crate) idempotency_key: Option<Arc<str>>,
    pub(crate) kind: TaskKind,
    pub(crate) producer: Option<Arc<str>>,
    pub(crate) parent: Option<TaskId>,
    pub(crate) owner: Option<Owner>,
    pub(crate) close_policy: ClosePolicy,
    pub(crate) limits: ResourceLimits,
    /// Whether the live-task limits count the task.
    pub(crate) counted: bool,
    /// The input of a task of a registered kind (`Taskward::submit_kind`).
    pub(crate) input: Option<Arc<serde_json::Value>>,
    /// The start priority under the running caps (higher first).
    pub(crate) priority: i32,
    /// Wait in the queue rather than fail when the running caps are full.
    pub(crate) queue_when_busy: bool,
    /// The tasks to wait for, distinct, in the order given.
    pub(crate) depends_on: Vec<TaskId>,
    /// Run on the node that received it even where a shared queue routes its kind.
    pub(crate) stays_local: bool,
}

impl TaskSpec {
    /// A task with this name, in the global scope, with the runtime's defaults.
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        Self {
            name: name.into(),
            scope: Scope::global(),
            timeout: None,
            cancel_policy: None,
            restart: Restart::Temporary,
            ttl: None,
            idempotency_key: None,
            kind: TaskKind::Other,
            producer: None,
            parent: None,
            owner: None,
            close_policy: ClosePolicy::Keep,
            limits: ResourceLimits::default(),
            counted: true,
            input: None,
            priority: 0,
            queue_when_busy: false,
            depends_on: Vec::new(),
            stays_local: false,
        }
    }

    /// Keeps the task outside the live-task limits
    /// ([`Builder::max_live_tasks`](crate::Builder::max_live_tasks),
    /// [`Builder::max_live_per_scope`](crate::Builder::max_live_per_scope)): it takes no
    /// slot and is never refused by them, and the status's `live` count leaves it out.
    ///
    /// For work bounded some other way: an MCP server runs each plain (not task-augmented)
    /// tool call as such a task, bounded by the requests in flight, so that a client whose
    /// tasks fill its slots can still make plain calls.
    pub fn outside_live_limits(mut self) -> Self {
        self.counted = false;
        self
    }

    /// Records `input` with the task and makes it resumable as the registered kind named by
    /// the spec's name ([`Builder::register`](crate::Builder::register)): the work given to
    /// [`submit`](crate::Taskward::submit) runs now, and if the process restarts while the
    /// task is live, the kind's handler runs its next attempt with `input`, from its last
    /// checkpoint. [`Taskward::submit_kind`](crate::Taskward::submit_kind) is the usual way;
    /// this is for a host whose work needs what only the submitting process has (an MCP
    /// server forwarding the call's progress to its client, say).
    ///
    /// Submit fails with [`Error::UnknownKind`](taskward_core::Error::UnknownKind) when no
    /// kind is registered under the name.
    pub fn input(mut self, input: serde_json::Value) -> Self {
        self.input = Some(Arc::new(input));
        self
    }

    /// The task's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The scope the task belongs to.
    pub fn scope(mut self, scope: Scope) -> Self {
        self.scope = scope;
        self
    }

    /// Each attempt's deadline, from its start: then the work is cancelled (cause timeout),
    /// given its grace period, and aborted.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Cooperative cancel with this grace period before the abort.
    pub fn cancel_grace(mut self, grace: Duration) -> Self {
        self.cancel_policy = Some(CancelPolicy::cooperative(grace));
        self
    }

    /// The cancel policy.
    pub fn cancel_policy(mut self, policy: CancelPolicy) -> Self {
        self.cancel_policy = Some(policy);
        self
    }

    /// The restart policy (default: temporary, never retried).
    pub fn restart(mut self, restart: Restart) -> Self {
        self.restart = restart;
        self
    }

    /// The requested TTL, from creation; capped by the runtime's maximum.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Deduplicate submits in the scope: a second submit with this key returns the first task.
    pub fn idempotency_key(mut self, key: impl Into<Arc<str>>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// What kind of task this is.
    pub fn kind(mut self, kind: TaskKind) -> Self {
        self.kind = kind;
        self
    }

    /// Who produced the task (an agent's name, a tool).
    pub fn producer(mut self, producer: impl Into<Arc<str>>) -> Self {
        self.producer = Some(producer.into());
        self
    }

    /// The parent task (in the same scope): cancelling it cancels this one.
    pub fn parent(mut self, parent: TaskId) -> Self {
        self.parent = Some(parent);
        self
    }

    /// The owner actor, told the outcome and watched for death.
    pub fn owner(mut self, owner: Owner) -> Self {
        self.owner = Some(owner);
        self
    }

    /// What happens to the task when its owner dies (default: keep).
    pub fn on_owner_exit(mut self, policy: ClosePolicy) -> Self {
        self.close_policy = policy;
        self
    }
}
