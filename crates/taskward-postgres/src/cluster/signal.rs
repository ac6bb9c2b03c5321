//! Signals across nodes: a cancel or an input answer is a row change and a `pg_notify` in
//! the same transaction, so a notification is never sent for a change rolled back, and the
//! change stays in the table for a node that missed the notification.

use serde_json::Value;
use taskward_core::{CancelledBy, Scope, Status, StoreError, TaskId};
use tokio_postgres::types::Json;
use uuid::Uuid;

use super::lease::diagnose;
use super::notify::{self, Payload};
use super::record::{self, TERMINAL};
use super::{Cluster, ClusterError, Fence, NodeId};
use crate::error::pg;
use crate::text::scope_key;

/// What [`Cluster::request_cancel`] did to a task it found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CancelRequested {
    /// The task was live: it is cancelled now (first terminal wins), with `cancel_requested`
    /// set; `node`, when some node held it, was notified to fire its token.
    Cancelled {
        /// The node running the task, if one held it.
        node: Option<NodeId>,
    },
    /// The task was already terminal: nothing changed.
    AlreadyTerminal(Status),
}

/// What [`Cluster::answer_input`] did with an answer for a task it found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Answered {
    /// The answer is stored; `node`, when some node holds the task, was notified.
    Delivered {
        /// The node running the task, if one holds it.
        node: Option<NodeId>,
    },
    /// An answer to this request was stored already: the first one stands.
    AlreadyAnswered,
    /// The task is terminal: nothing stored.
    NotLive(Status),
}

/// The task's row under a lock, scope-checked: (status, node while held), or `None` when
/// the task is unknown or foreign.
async fn lock_row(
    tx: &tokio_postgres::Transaction<'_>,
    scope: &Scope,
    id: TaskId,
) -> Result<Option<(taskward_core::TaskRecord, Option<Uuid>)>, StoreError> {
    let row = tx
        .query_opt(
            "SELECT id, record::text, CASE WHEN lease_until IS NOT NULL THEN node END \
             FROM tasks WHERE id = $1 AND scope = $2 FOR UPDATE",
            &[id.as_uuid(), &scope_key(scope)],
        )
        .await
        .map_err(pg("read a task"))?;
    let Some(row) = row else { return Ok(None) };
    let Some(record) = record::from_row(&row, 0)? else {
        return Ok(None);
    };
    if record.scope != *scope {
        return Ok(None);
    }
    let node: Option<Uuid> = row.try_get(2).map_err(pg("read a task"))?;
    Ok(Some((record, node)))
}

/// Writes `cancelled` (a live task's record, cancelled) over its locked row, with
/// `cancel_requested` set and out of the queue, and sends the `cancel` notification naming
/// `node`, its holder, and the `status` notification of its scope.
pub(super) async fn cancel_row(
    tx: &tokio_postgres::Transaction<'_>,
    cancelled: taskward_core::TaskRecord,
    node: Option<Uuid>,
) -> Result<(), StoreError> {
    let id = cancelled.id;
    tx.execute(
        "UPDATE tasks SET status = 'cancelled', record = $2, queued = false, \
         cancel_requested = true WHERE id = $1",
        &[id.as_uuid(), &Json(&cancelled)],
    )
    .await
    .map_err(pg("cancel a task"))?;
    let payload = Payload::Cancel {
        id: *id.as_uuid(),
        node,
    };
    notify::send(tx, &payload).await?;
    // The holder's own terminal write is refused now: this is the status change's notice.
    notify::send_status(tx, id.as_uuid(), &scope_key(&cancelled.scope)).await
}

impl Cluster {
    /// Cancels task `id` of `scope` from any node: if it is live, moves it to `cancelled`
    /// (by `by`, with `reason`), sets `cancel_requested`, takes it out of the queue, and
    /// sends a `cancel` notification naming the node that holds it, all in one transaction.
    /// The holding node fires the work's token and finishes with
    /// [`finish`](Self::finish), which reports [`Fenced::Terminal`](crate::Fenced) and
    /// releases its hold.
    ///
    /// Returns `None` when the task is unknown or belongs to another scope (the same answer
    /// for both).
    ///
    /// # Errors
    ///
    /// The database failing (nothing changed).
    ///
    /// # Cancel safety
    ///
    /// Cancelling it rolls the transaction back.
    pub async fn request_cancel(
        &self,
        scope: &Scope,
        id: TaskId,
        by: CancelledBy,
        reason: Option<String>,
    ) -> Result<Option<CancelRequested>, StoreError> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg("begin a cancel"))?;
        let Some((record, node)) = lock_row(&tx, scope, id).await? else {
            return Ok(None);
        };
        if record.is_terminal() {
            return Ok(Some(CancelRequested::AlreadyTerminal(record.status)));
        }
        cancel_row(&tx, record::cancelled(record, by, reason), node).await?;
        tx.commit().await.map_err(pg("commit a cancel"))?;
        Ok(Some(CancelRequested::Cancelled {
            node: node.map(NodeId::from_uuid),
        }))
    }

    /// Stores `value` as the answer to input request `key` of task `id` of `scope`, from any
    /// node, and sends an `input` notification naming the node that holds the task, in one
    /// transaction. The holding node takes the answers with
    /// [`take_answers`](Self::take_answers) (a heartbeat lists the tasks that have some).
    ///
    /// Returns `None` when the task is unknown or belongs to another scope.
    ///
    /// # Errors
    ///
    /// The database failing (nothing stored).
    ///
    /// # Cancel safety
    ///
    /// Cancelling it rolls the transaction back.
    pub async fn answer_input(
        &self,
        scope: &Scope,
        id: TaskId,
        key: &str,
        value: &Value,
    ) -> Result<Option<Answered>, StoreError> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg("begin an answer"))?;
        let Some((record, node)) = lock_row(&tx, scope, id).await? else {
            return Ok(None);
        };
        if record.is_terminal() {
            return Ok(Some(Answered::NotLive(record.status)));
        }
        let stored = tx
            .execute(
                "INSERT INTO task_inputs (task_id, key, value) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
                &[id.as_uuid(), &key, &Json(value)],
            )
            .await
            .map_err(pg("store an answer"))?;
        if stored == 0 {
            return Ok(Some(Answered::AlreadyAnswered));
        }
        let payload = Payload::Input {
            id: *id.as_uuid(),
            key: key.to_owned(),
            node,
        };
        notify::send(&tx, &payload).await?;
        tx.commit().await.map_err(pg("commit an answer"))?;
        Ok(Some(Answered::Delivered {
            node: node.map(NodeId::from_uuid),
        }))
    }

    /// Takes (reads and deletes) the input answers stored for a task the node holds, oldest
    /// first, as `(key, value)` pairs. Fenced like every write of a claimed task.
    ///
    /// # Errors
    ///
    /// [`ClusterError::Fenced`] when the node no longer holds the task live (nothing
    /// taken); [`ClusterError::Store`] when the database fails.
    ///
    /// # Cancel safety
    ///
    /// Cancelling it rolls the transaction back: the answers stay.
    pub async fn take_answers(&self, fence: Fence) -> Result<Vec<(String, Value)>, ClusterError> {
        let mut conn = self.conn().await?;
        let tx = conn
            .transaction()
            .await
            .map_err(pg("begin taking answers"))?;
        let attempt = i32::try_from(fence.attempt).unwrap_or(i32::MAX);
        let held = tx
            .query_opt(
                "SELECT 1 FROM tasks WHERE id = $1 AND node = $2 AND attempt = $3 \
                 AND lease_until IS NOT NULL AND status <> ALL($4) FOR UPDATE",
                &[
                    fence.id.as_uuid(),
                    fence.node.as_uuid(),
                    &attempt,
                    &&TERMINAL[..],
                ],
            )
            .await
            .map_err(pg("check a task's fence"))?;
        if held.is_none() {
            return Err(diagnose(&tx, fence).await?.into());
        }
        let rows = tx
            .query(
                "DELETE FROM task_inputs WHERE task_id = $1 RETURNING key, value::text, answered_at",
                &[fence.id.as_uuid()],
            )
            .await
            .map_err(pg("take answers"))?;
        tx.commit().await.map_err(pg("commit taking answers"))?;
        let mut answers = Vec::with_capacity(rows.len());
        for row in rows {
            let key: String = row.try_get(0).map_err(pg("read an answer"))?;
            let text: &str = row.try_get(1).map_err(pg("read an answer"))?;
            let at: time::OffsetDateTime = row.try_get(2).map_err(pg("read an answer"))?;
            let value = serde_json::from_str(text).map_err(|e| {
                StoreError::with_source("postgres cluster: an answer does not parse", e)
            })?;
            answers.push((at, key, value));
        }
        answers.sort_by_key(|a| a.0);
        Ok(answers.into_iter().map(|(_, k, v)| (k, v)).collect())
    }
}
