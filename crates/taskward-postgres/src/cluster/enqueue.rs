//! New rows: tasks of registered kinds queued for any node, closure tasks held by their node.

use std::collections::BTreeSet;

use taskward_core::{StoreError, TaskRecord};
use time::OffsetDateTime;
use tokio_postgres::Transaction;
use uuid::Uuid;

use super::notify::{self, Payload};
use super::options::millis;
use super::{Cluster, Fence, NodeId};
use crate::commit::TaskColumns;
use crate::error::pg;

/// A task to insert: its record and what the queue needs to know about it.
///
/// The record's [`name`](TaskRecord::name) is the task's kind; a record with an
/// [`input`](TaskRecord::input) is of a registered kind (any node that registered the kind
/// can run it, and a dead node's claim is rescued), a record without one is a closure task
/// (only the node that received it can run it).
///
/// # Examples
///
/// ```
/// use taskward_core::{Scope, TaskId, TaskRecord};
/// use taskward_postgres::NewTask;
///
/// let record = TaskRecord::new(TaskId::new(), Scope::global(), "resize".into(), 1);
/// let task = NewTask::new(record).priority(5).max_attempts(3);
/// assert_eq!((task.priority, task.max_attempts), (5, Some(3)));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct NewTask {
    /// The record as the runtime created it (`seq` orders the queue within a priority).
    pub record: TaskRecord,
    /// Higher is claimed first (default 0).
    pub priority: i32,
    /// How many claims the task may have in all; a rescue past it fails the task
    /// `interrupted` (default `None`: no bound).
    pub max_attempts: Option<u32>,
    /// Not claimed before this time (default `None`: at once).
    pub available_at: Option<OffsetDateTime>,
}

impl NewTask {
    /// A task of priority 0, no attempt bound, claimable at once.
    pub fn new(record: TaskRecord) -> Self {
        Self {
            record,
            priority: 0,
            max_attempts: None,
            available_at: None,
        }
    }

    /// Sets the priority (higher first).
    pub fn priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    /// Sets the number of claims allowed.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = Some(attempts);
        self
    }

    /// Sets the earliest time of a claim.
    pub fn available_at(mut self, at: OffsetDateTime) -> Self {
        self.available_at = Some(at);
        self
    }
}

const INSERT: &str = "INSERT INTO tasks (id, seq, scope, status, expires_at, record, kind, \
     priority, max_attempts, available_at, queued, node, attempt, lease_until, depends_on) \
     SELECT t.id, t.seq, t.scope, t.status, t.expires_at, t.record, t.kind, t.priority, \
     t.max_attempts, t.available_at, $11::uuid IS NULL, $11::uuid, \
     CASE WHEN $11::uuid IS NULL THEN 0 ELSE 1 END, \
     CASE WHEN $11::uuid IS NULL THEN NULL ELSE now() + $12::int8 * interval '1 millisecond' END, \
     string_to_array(t.deps, ',')::uuid[] \
     FROM unnest($1::uuid[], $2::int8[], $3::text[], $4::text[], $5::timestamptz[], \
     $6::json[], $7::text[], $8::int4[], $9::int4[], $10::timestamptz[], $13::text[]) \
     AS t(id, seq, scope, status, expires_at, record, kind, priority, max_attempts, available_at, deps) \
     ON CONFLICT (id) DO NOTHING RETURNING id";

impl Cluster {
    /// Queues tasks of registered kinds: each waits (status as its record says, normally
    /// `working`, phase `queued`) until a node that registered its kind claims it with
    /// [`claim`](Self::claim). Sends a `queued` notification per kind, in the same
    /// transaction, so that idle nodes claim at once.
    ///
    /// Idempotent: a task whose id is already in the table is left as it is.
    ///
    /// # Errors
    ///
    /// A record without an input (a closure task: use [`insert_local`](Self::insert_local)),
    /// a `seq` past `i64::MAX`, or the database failing.
    ///
    /// # Cancel safety
    ///
    /// Cancelling it rolls the transaction back: nothing or everything was queued.
    pub async fn enqueue(&self, tasks: &[NewTask]) -> Result<(), StoreError> {
        if let Some(closure) = tasks.iter().find(|t| t.record.input.is_none()) {
            return Err(StoreError::new(format!(
                "postgres cluster: task {} has no input: only tasks of registered kinds queue",
                closure.record.id
            )));
        }
        self.insert(tasks, None).await.map(drop)
    }

    /// Inserts tasks held by `node` from the start (attempt 1, a lease like a claim's): the
    /// closure tasks only `node` can run. Every node sees them (reads, cancel); a rescue
    /// fails them `interrupted` if `node` dies. Tasks of registered kinds inserted this way
    /// are rescued like claimed ones. They count against the caps of later claims.
    ///
    /// Returns the fence of each task inserted (tasks already in the table are left alone
    /// and get none).
    ///
    /// # Errors
    ///
    /// A `seq` past `i64::MAX`, or the database failing.
    ///
    /// # Cancel safety
    ///
    /// Cancelling it rolls the transaction back.
    pub async fn insert_local(
        &self,
        node: NodeId,
        tasks: &[NewTask],
    ) -> Result<Vec<Fence>, StoreError> {
        let ids = self.insert(tasks, Some(node)).await?;
        Ok(ids
            .into_iter()
            .map(|id| Fence::new(taskward_core::TaskId::from_uuid(id), node, 1))
            .collect())
    }

    async fn insert(
        &self,
        tasks: &[NewTask],
        node: Option<NodeId>,
    ) -> Result<Vec<Uuid>, StoreError> {
        if tasks.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg("begin an insert"))?;
        let ids = self.insert_in(&tx, tasks, node).await?;
        tx.commit().await.map_err(pg("commit an insert"))?;
        Ok(ids)
    }

    /// Inserts `tasks` in the transaction `tx` (see [`insert`](Self::insert)), with the
    /// `queued` notifications of queued ones.
    pub(super) async fn insert_in(
        &self,
        tx: &Transaction<'_>,
        tasks: &[NewTask],
        node: Option<NodeId>,
    ) -> Result<Vec<Uuid>, StoreError> {
        if tasks.is_empty() {
            return Ok(Vec::new());
        }
        let mut cols = Columns::default();
        for task in tasks {
            cols.push(task)?;
        }
        let node_id = node.map(|n| *n.as_uuid());
        let lease = millis(self.options.lease);
        let rows = tx
            .query(
                INSERT,
                &[
                    &cols.task.ids,
                    &cols.task.seqs,
                    &cols.task.scopes,
                    &cols.task.statuses,
                    &cols.task.expiries,
                    &cols.task.records,
                    &cols.kinds,
                    &cols.priorities,
                    &cols.max_attempts,
                    &cols.available_at,
                    &node_id,
                    &lease,
                    &cols.depends_on,
                ],
            )
            .await
            .map_err(pg("insert tasks"))?;
        if node.is_none() {
            let kinds: BTreeSet<&str> = tasks.iter().map(|t| &*t.record.name).collect();
            for kind in kinds {
                let payload = Payload::Queued { kind: kind.into() };
                notify::send(tx, &payload).await?;
            }
        }
        rows.iter()
            .map(|row| row.try_get(0).map_err(pg("insert tasks")))
            .collect()
    }
}

#[derive(Default)]
struct Columns<'a> {
    task: TaskColumns<'a>,
    kinds: Vec<Option<&'a str>>,
    priorities: Vec<i32>,
    max_attempts: Vec<Option<i32>>,
    available_at: Vec<Option<OffsetDateTime>>,
    /// Each task's dependencies as comma-separated ids, `None` without any.
    depends_on: Vec<Option<String>>,
}

impl<'a> Columns<'a> {
    fn push(&mut self, task: &'a NewTask) -> Result<(), StoreError> {
        let record = &task.record;
        self.task.push(record)?;
        self.kinds
            .push(record.input.is_some().then_some(&*record.name));
        self.priorities.push(task.priority);
        self.max_attempts.push(
            task.max_attempts
                .map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
        );
        self.available_at.push(task.available_at);
        self.depends_on
            .push((!record.depends_on.is_empty()).then(|| {
                let ids: Vec<String> = record.depends_on.iter().map(|d| d.to_string()).collect();
                ids.join(",")
            }));
        Ok(())
    }
}
