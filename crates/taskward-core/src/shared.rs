//! The shared table of several nodes: how a node reaches the tasks it does not hold.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;

use crate::{
    ClosePolicy, Enqueue, Enqueued, InputRequest, ListQuery, Page, Scope, SessionRecord, Status,
    StoreError, TaskId, TaskRecord,
};

/// A boxed, sendable future: what [`SharedTasks`]' methods return, so that the trait stays
/// object safe (`Arc<dyn SharedTasks>`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a cancel through the shared table found.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SharedCancel {
    /// The task was live and is now `cancelled` (its record as written); the node holding
    /// it is signalled to fire its token.
    Cancelled(Arc<TaskRecord>),
    /// The task had already ended, with this status.
    Terminal(Status),
    /// No task of this id in this scope (an unknown and a foreign id read the same).
    Unknown,
}

/// What an input answer through the shared table found.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SharedInput {
    /// The answer is stored and the node holding the task is signalled; its record as it
    /// was when the answer was stored.
    Answered(Arc<TaskRecord>),
    /// An answer to this request was stored already: the first one stands.
    AlreadyAnswered,
    /// The task had already ended, with this status.
    Terminal(Status),
    /// No task of this id in this scope.
    Unknown,
}

/// What [`SharedTasks::watch_scope`] calls with the id of a task whose status changed on
/// another node.
pub type StatusChanged = Box<dyn Fn(TaskId) + Send + Sync>;

/// A watch of [`SharedTasks::watch_scope`]: dropping it ends the watch.
pub type ScopeWatch = Box<dyn std::any::Any + Send + Sync>;

/// The tasks of a cluster of nodes sharing one table, as one node sees them: what the
/// runtime asks for a task it does not hold itself.
///
/// A node holds the tasks whose work it runs; every node writes its own tasks into the shared
/// table (through its [`DurableStore`](crate::DurableStore)). A read, cancel, input answer or
/// wait for any other task goes through this trait: any node answers for any task. Scopes
/// apply as everywhere: another scope's task is [`Unknown`](SharedCancel::Unknown) /
/// `None`, the same answer as an id that never existed.
///
/// `taskward-postgres` implements it on PostgreSQL; a test can implement it in memory.
pub trait SharedTasks: Send + Sync + fmt::Debug + 'static {
    /// The task's record as the shared table has it, `None` when unknown or foreign.
    fn get<'a>(
        &'a self,
        scope: &'a Scope,
        id: TaskId,
    ) -> BoxFuture<'a, Result<Option<TaskRecord>, StoreError>>;

    /// One page of a scope's tasks across every node, oldest first.
    fn list<'a>(
        &'a self,
        scope: &'a Scope,
        query: &'a ListQuery,
    ) -> BoxFuture<'a, Result<Page, StoreError>>;

    /// Cancels a task held by another node (cancelled by a client): the shared row is
    /// `cancelled` when the future resolves, and the holding node is signalled.
    fn cancel<'a>(
        &'a self,
        scope: &'a Scope,
        id: TaskId,
        reason: Option<String>,
    ) -> BoxFuture<'a, Result<SharedCancel, StoreError>>;

    /// Answers input request `key` of a task held by another node.
    fn provide_input<'a>(
        &'a self,
        scope: &'a Scope,
        id: TaskId,
        key: &'a str,
        response: Value,
    ) -> BoxFuture<'a, Result<SharedInput, StoreError>>;

    /// The outstanding input requests of a task held by another node, as its node last
    /// wrote them (in the order its work made them; empty when none is outstanding or the
    /// task has ended). `None` when the task is unknown or foreign, and when the
    /// implementation does not share input requests (the default).
    fn input_requests<'a>(
        &'a self,
        scope: &'a Scope,
        id: TaskId,
    ) -> BoxFuture<'a, Result<Option<Vec<InputRequest>>, StoreError>> {
        let _ = (scope, id);
        Box::pin(async { Ok(None) })
    }

    /// Applies close policy `policy` to the live tasks of `scope` held by the other nodes (a
    /// session ended on this node, which applied it to its own tasks first, durably): for
    /// [`ClosePolicy::Cancel`], each is `cancelled` by its owner when the future resolves,
    /// and its node is signalled. Returns how many tasks it changed.
    ///
    /// The default changes nothing and answers 0: an implementation may leave the other
    /// nodes' tasks to their own nodes, and so may a policy it does not apply across nodes
    /// (the PostgreSQL one applies `Cancel` only).
    fn close_scope<'a>(
        &'a self,
        scope: &'a Scope,
        policy: &'a ClosePolicy,
    ) -> BoxFuture<'a, Result<usize, StoreError>> {
        let _ = (scope, policy);
        Box::pin(async { Ok(0) })
    }

    /// Calls `changed` with the id of each task of `scope` whose status another node
    /// changes (its status as written, a cancel through the table), until the watch
    /// returned is dropped: what lets a protocol binding notify a session held here of a
    /// task running elsewhere. The calls are hints (one may be missed while a connection is
    /// re-established): read the task to know its status. `changed` runs on the
    /// implementation's listening task: it must not block.
    ///
    /// The default watches nothing and answers `None`.
    fn watch_scope(&self, scope: &Scope, changed: StatusChanged) -> Option<ScopeWatch> {
        let _ = (scope, changed);
        None
    }

    /// Resolves when the shared row of task `id` may have changed since this call, or after
    /// an interval of the implementation's choosing (so that a missed signal costs a delay,
    /// never a hang).
    ///
    /// The change is observed from the moment of the call, not of the first poll: a waiter
    /// calls this, then reads the row, then awaits, and so never misses a change made
    /// between its read and its wait.
    fn changed(&self, id: TaskId) -> BoxFuture<'static, ()>;

    /// The session of id `id` as the shared table has it (written by whichever node opened
    /// it, through its [`DurableStore`](crate::DurableStore)): `None` when there is none, or
    /// when its recorded expiry has passed. A protocol binding asks it for a session id it
    /// does not know, so that a client's requests may land on any node.
    ///
    /// The default answers `None`: an implementation that shares no sessions need not
    /// provide it.
    fn session<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, StoreError>> {
        let _ = id;
        Box::pin(async { Ok(None) })
    }

    /// Whether this table has a shared queue: a runtime with one routes each task of a
    /// registered kind it may (see `Taskward::submit_kind` in taskward-runtime) to
    /// [`enqueue`](Self::enqueue) instead of running it itself. The default answers `false`.
    fn queues(&self) -> bool {
        false
    }

    /// Queues a task of a registered kind for any node whose runtime registered the kind:
    /// admitted under the live limits it names, counted across every node, and its
    /// dependencies checked; durable in the queue when the future resolves with
    /// [`Enqueued::Queued`], or held by this node already with [`Enqueued::Taken`] (the
    /// runtime then runs it here at once, as a task its node claimed). An implementation
    /// may batch concurrent calls into one write.
    ///
    /// The default refuses: an implementation whose [`queues`](Self::queues) is `false`
    /// need not provide it.
    fn enqueue<'a>(&'a self, task: Enqueue) -> BoxFuture<'a, Result<Enqueued, StoreError>> {
        let id = task.record.id;
        Box::pin(async move {
            Err(StoreError::new(format!(
                "task {id}: this shared table has no queue"
            )))
        })
    }
}
