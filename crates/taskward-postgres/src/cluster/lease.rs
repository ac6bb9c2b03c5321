//! Leases and fencing: heartbeats renew a node's leases; every write of a claimed task names
//! the claim it comes from and is refused when the row was reclaimed or is over.

use deadpool_postgres::GenericClient;
use serde_json::Value;
use taskward_core::{Status, StoreError, TaskId, TaskRecord};
use tokio_postgres::types::Json;
use uuid::Uuid;

use super::notify::{self, Payload};
use super::options::millis;
use super::record::{TERMINAL, task_id};
use super::{Cluster, ClusterError, Fenced, NodeId};
use crate::commit::expires_at;
use crate::error::pg;

/// The claim a write comes from: the task, the node that claimed it, and the claim's attempt
/// (the row's `attempt`, incremented by each claim). A write succeeds only while the row
/// still holds this node and attempt and is not terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fence {
    /// The task.
    pub id: TaskId,
    /// The node holding it.
    pub node: NodeId,
    /// The claim's attempt.
    pub attempt: u32,
}

impl Fence {
    /// The fence of `id` held by `node` under `attempt`.
    pub fn new(id: TaskId, node: NodeId, attempt: u32) -> Self {
        Self { id, node, attempt }
    }

    fn attempt(&self) -> i32 {
        i32::try_from(self.attempt).unwrap_or(i32::MAX)
    }
}

/// What a heartbeat found: the tasks the node holds (their leases renewed), and among them
/// those with a cancel requested or an input answer waiting.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Heartbeat {
    /// Every task the node holds; a task the node runs that is missing was lost (rescued,
    /// or removed), and its writes will be refused.
    pub held: Vec<TaskId>,
    /// Held tasks whose cancel was requested: fire their tokens (the notification may have
    /// been missed).
    pub cancel_requested: Vec<TaskId>,
    /// Held tasks with input answers to take ([`Cluster::take_answers`]).
    pub answered: Vec<TaskId>,
}

const HEARTBEAT: &str = "WITH n AS (\
     INSERT INTO nodes (id, started_at, heartbeat_at, capacity) VALUES ($1, now(), now(), $2) \
     ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), capacity = excluded.capacity), \
     held AS (UPDATE tasks SET lease_until = now() + $3::int8 * interval '1 millisecond' \
     WHERE node = $1 AND lease_until IS NOT NULL RETURNING id, cancel_requested) \
     SELECT held.id, held.cancel_requested, \
     EXISTS (SELECT 1 FROM task_inputs i WHERE i.task_id = held.id) FROM held";

const FENCE: &str = "id = $1 AND node = $2 AND attempt = $3 AND lease_until IS NOT NULL";

impl Cluster {
    /// Renews `node`'s row in `nodes` (creating it on the first call, with its `capacity`)
    /// and the lease of every task it holds, to now + the lease, in one statement.
    ///
    /// Call it every [`ClusterOptions::heartbeat`](crate::ClusterOptions::heartbeat); a node
    /// that misses a whole lease loses its tasks to [`rescue`](Self::rescue).
    ///
    /// # Errors
    ///
    /// The database failing. A node whose heartbeats fail for a lease should stop its
    /// claimed work: its writes will be refused.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the statement ran whole or not at all.
    pub async fn heartbeat(&self, node: NodeId, capacity: u32) -> Result<Heartbeat, StoreError> {
        let conn = self.conn().await?;
        let capacity = i32::try_from(capacity).unwrap_or(i32::MAX);
        let rows = conn
            .query(
                HEARTBEAT,
                &[node.as_uuid(), &capacity, &millis(self.options.lease)],
            )
            .await
            .map_err(pg("heartbeat"))?;
        let mut beat = Heartbeat::default();
        for row in rows {
            let id = task_id(&row, 0)?;
            beat.held.push(id);
            if row.try_get(1).map_err(pg("heartbeat"))? {
                beat.cancel_requested.push(id);
            }
            if row.try_get(2).map_err(pg("heartbeat"))? {
                beat.answered.push(id);
            }
        }
        Ok(beat)
    }

    /// Writes the task's terminal record and releases the hold, if the fence still holds:
    /// the first terminal transition wins. Sends a `changed` notification with it.
    ///
    /// # Errors
    ///
    /// [`ClusterError::Fenced`]: the task was reclaimed ([`Fenced::Reclaimed`]), reached a
    /// terminal status first ([`Fenced::Terminal`]; the hold is released, nothing else
    /// changes) or is gone. [`ClusterError::Store`]: the record is not terminal or not the
    /// fence's task, or the database failed.
    ///
    /// # Cancel safety
    ///
    /// Cancelling it rolls the transaction back; retrying is safe.
    pub async fn finish(&self, fence: Fence, record: &TaskRecord) -> Result<(), ClusterError> {
        check(fence, record, true)?;
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg("begin a finish"))?;
        let (id, node, attempt) = (fence.id.as_uuid(), fence.node.as_uuid(), fence.attempt());
        let sql = format!(
            "UPDATE tasks SET status = $4, record = $5, expires_at = $6, lease_until = NULL, \
             queued = false WHERE {FENCE} AND status <> ALL($7) RETURNING seq"
        );
        let finished = tx
            .query_opt(
                &sql,
                &[
                    id,
                    node,
                    &attempt,
                    &record.status.as_str(),
                    &Json(record),
                    &expires_at(record),
                    &&TERMINAL[..],
                ],
            )
            .await
            .map_err(pg("finish a task"))?;
        let Some(row) = finished else {
            let release = format!("UPDATE tasks SET lease_until = NULL WHERE {FENCE}");
            tx.execute(&release, &[id, node, &attempt])
                .await
                .map_err(pg("release a task"))?;
            let fenced = diagnose(&tx, fence).await?;
            tx.commit().await.map_err(pg("commit a release"))?;
            return Err(fenced.into());
        };
        let seq: i64 = row.try_get(0).map_err(pg("finish a task"))?;
        let payload = Payload::Changed {
            id: *id,
            seq: u64::try_from(seq).unwrap_or(0),
        };
        notify::send(&tx, &payload).await?;
        tx.commit().await.map_err(pg("commit a finish"))?;
        Ok(())
    }

    /// Writes the task's checkpoint, if the fence still holds and the task is live.
    ///
    /// # Errors
    ///
    /// [`ClusterError::Fenced`] as for [`finish`](Self::finish) (nothing is written);
    /// [`ClusterError::Store`] when the database fails.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: one statement.
    pub async fn checkpoint(&self, fence: Fence, checkpoint: &Value) -> Result<(), ClusterError> {
        let sql = format!("UPDATE tasks SET checkpoint = $4 WHERE {FENCE} AND status <> ALL($5)");
        self.fenced_write(fence, &sql, &Json(checkpoint), "write a checkpoint")
            .await
    }

    /// Writes the task's live record (its progress, status message, `input_required`), if
    /// the fence still holds and the task is live. No notification: other nodes read the
    /// row by key. The runtime coalesces these writes (at most one per 250 ms per task).
    ///
    /// # Errors
    ///
    /// [`ClusterError::Fenced`] as for [`finish`](Self::finish) (nothing is written);
    /// [`ClusterError::Store`] when the record is terminal (use `finish`) or not the fence's
    /// task, or the database fails.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: one statement.
    pub async fn progress(&self, fence: Fence, record: &TaskRecord) -> Result<(), ClusterError> {
        check(fence, record, false)?;
        let sql = format!(
            "UPDATE tasks SET record = $4, status = $6 WHERE {FENCE} AND status <> ALL($5)"
        );
        let conn = self.conn().await?;
        let (id, node, attempt) = (fence.id.as_uuid(), fence.node.as_uuid(), fence.attempt());
        let n = conn
            .execute(
                &sql,
                &[
                    id,
                    node,
                    &attempt,
                    &Json(record),
                    &&TERMINAL[..],
                    &record.status.as_str(),
                ],
            )
            .await
            .map_err(pg("write progress"))?;
        if n == 0 {
            return Err(diagnose(&conn, fence).await?.into());
        }
        Ok(())
    }

    async fn fenced_write(
        &self,
        fence: Fence,
        sql: &str,
        value: &(dyn tokio_postgres::types::ToSql + Sync),
        doing: &'static str,
    ) -> Result<(), ClusterError> {
        let conn = self.conn().await?;
        let (id, node, attempt) = (fence.id.as_uuid(), fence.node.as_uuid(), fence.attempt());
        let n = conn
            .execute(sql, &[id, node, &attempt, value, &&TERMINAL[..]])
            .await
            .map_err(pg(doing))?;
        if n == 0 {
            return Err(diagnose(&conn, fence).await?.into());
        }
        Ok(())
    }
}

/// The record must be the fence's task, terminal for a finish and live for progress.
fn check(fence: Fence, record: &TaskRecord, terminal: bool) -> Result<(), StoreError> {
    if record.id != fence.id {
        return Err(StoreError::new(format!(
            "postgres cluster: a write of task {} under the fence of task {}",
            record.id, fence.id
        )));
    }
    if record.is_terminal() != terminal {
        return Err(StoreError::new(format!(
            "postgres cluster: task {}: a {} record cannot be written as {}",
            record.id,
            record.status,
            if terminal {
                "its outcome"
            } else {
                "its progress"
            }
        )));
    }
    Ok(())
}

/// Why a fenced write matched no row.
pub(crate) async fn diagnose(
    client: &impl GenericClient,
    fence: Fence,
) -> Result<Fenced, StoreError> {
    let row = client
        .query_opt(
            "SELECT status, attempt, node FROM tasks WHERE id = $1",
            &[fence.id.as_uuid()],
        )
        .await
        .map_err(pg("read a fenced task"))?;
    let Some(row) = row else {
        return Ok(Fenced::Gone);
    };
    let status: &str = row.try_get(0).map_err(pg("read a fenced task"))?;
    if let Some(status) = Status::ALL
        .into_iter()
        .find(|s| s.is_terminal() && s.as_str() == status)
    {
        return Ok(Fenced::Terminal(status));
    }
    let attempt: i32 = row.try_get(1).map_err(pg("read a fenced task"))?;
    let node: Option<Uuid> = row.try_get(2).map_err(pg("read a fenced task"))?;
    Ok(Fenced::Reclaimed {
        attempt: u32::try_from(attempt).unwrap_or(0),
        node: node.map(NodeId::from_uuid),
    })
}
