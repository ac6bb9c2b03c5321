//! Rescue and sweep, run by the elected node: tasks whose lease expired go back to the
//! queue or fail `interrupted`; expired tasks are cancelled, then removed.

use taskward_core::{CancelledBy, StoreError, TaskId};
use time::OffsetDateTime;
use tokio_postgres::types::Json;
use uuid::Uuid;

use super::Cluster;
use super::notify::{self, Payload};
use super::options::millis;
use super::record::{self, TERMINAL};
use crate::error::pg;

/// What a [`Cluster::rescue`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rescued {
    /// Tasks of registered kinds queued again for any node (attempt kept: the dead node's
    /// writes stay fenced, the next claim increments it).
    pub requeued: Vec<TaskId>,
    /// Tasks failed `interrupted`: closure tasks, and tasks whose attempts are exhausted.
    pub failed: Vec<TaskId>,
    /// Terminal tasks (cancelled while held) whose hold was merely released.
    pub released: Vec<TaskId>,
    /// Rows of `nodes` removed: no heartbeat for a lease.
    pub nodes_removed: u64,
}

/// What a [`Cluster::sweep`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Swept {
    /// Live tasks whose TTL elapsed, cancelled (by expiry); removed by a later sweep once
    /// no node holds them.
    pub cancelled: Vec<TaskId>,
    /// Terminal tasks whose TTL elapsed, removed.
    pub removed: u64,
}

const EXPIRED_LEASES: &str = "SELECT id, record::text, status, kind IS NOT NULL \
     AND (max_attempts IS NULL OR attempt < max_attempts) \
     FROM tasks WHERE lease_until < $1 ORDER BY lease_until FOR UPDATE SKIP LOCKED";

impl Cluster {
    /// Rescues the tasks whose lease expired before `now` (their node missed heartbeats for
    /// a whole lease: it is taken for dead). A task of a registered kind with attempts left
    /// is queued again (status `working`, phase `queued`, `node` cleared, attempt kept); a
    /// closure task, or one whose attempts are exhausted, fails `interrupted`; a task
    /// already terminal (cancelled while held) only has its hold released. Each change sends
    /// a `changed` notification, and `queued` ones for the requeued kinds. Also removes the
    /// `nodes` rows not renewed for a lease.
    ///
    /// `now` is the caller's clock (normally `OffsetDateTime::now_utc()`): tests pass a later
    /// time instead of waiting. Idempotent: a second call finds nothing more to do. Rows
    /// locked by another transaction are skipped until the next call.
    ///
    /// # Errors
    ///
    /// The database failing (nothing is changed).
    ///
    /// # Cancel safety
    ///
    /// Cancelling it rolls the transaction back.
    pub async fn rescue(&self, now: OffsetDateTime) -> Result<Rescued, StoreError> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg("begin a rescue"))?;
        let rows = tx
            .query(EXPIRED_LEASES, &[&now])
            .await
            .map_err(pg("find expired leases"))?;
        let mut done = Rescued::default();
        let mut kinds = std::collections::BTreeSet::new();
        for row in rows {
            let id: Uuid = row.try_get(0).map_err(pg("read an expired lease"))?;
            let status: &str = row.try_get(2).map_err(pg("read an expired lease"))?;
            let resumable: bool = row.try_get(3).map_err(pg("read an expired lease"))?;
            let text: &str = row.try_get(1).map_err(pg("read an expired lease"))?;
            let parsed = record::parse(id, text);
            let (sql, new) = match parsed {
                _ if TERMINAL.contains(&status) => {
                    done.released.push(TaskId::from_uuid(id));
                    ("UPDATE tasks SET lease_until = NULL WHERE id = $1", None)
                }
                Some(r) if resumable => {
                    kinds.insert(r.name.to_string());
                    done.requeued.push(r.id);
                    (
                        "UPDATE tasks SET lease_until = NULL, node = NULL, queued = true, \
                         available_at = NULL, status = $3, record = $2 WHERE id = $1",
                        Some(record::requeued(r)),
                    )
                }
                Some(r) => {
                    done.failed.push(r.id);
                    let why = "its node stopped heartbeating and the task cannot run elsewhere";
                    (
                        "UPDATE tasks SET lease_until = NULL, queued = false, status = $3, \
                         record = $2 WHERE id = $1",
                        Some(record::interrupted(r, why)),
                    )
                }
                None => {
                    done.released.push(TaskId::from_uuid(id));
                    (
                        "UPDATE tasks SET lease_until = NULL, queued = false WHERE id = $1",
                        None,
                    )
                }
            };
            match new {
                Some(new) => {
                    let status = new.status.as_str();
                    tx.execute(sql, &[&id, &Json(&new), &status])
                        .await
                        .map_err(pg("rescue a task"))?;
                    let payload = Payload::Changed { id, seq: new.seq };
                    notify::send(&tx, &payload).await?;
                }
                None => {
                    tx.execute(sql, &[&id])
                        .await
                        .map_err(pg("release a task"))?;
                }
            }
        }
        for kind in kinds {
            notify::send(&tx, &Payload::Queued { kind }).await?;
        }
        done.nodes_removed = tx
            .execute(
                "DELETE FROM nodes WHERE heartbeat_at < $1::timestamptz - $2::int8 * interval '1 millisecond'",
                &[&now, &millis(self.options.lease)],
            )
            .await
            .map_err(pg("remove dead nodes"))?;
        tx.commit().await.map_err(pg("commit a rescue"))?;
        Ok(done)
    }

    /// The TTL sweep: cancels (by expiry) the live tasks whose `expires_at` is before `now`,
    /// with a `cancel` notification each (their node stops the work), and removes the
    /// terminal ones that no node holds.
    ///
    /// # Errors
    ///
    /// The database failing (nothing is changed).
    ///
    /// # Cancel safety
    ///
    /// Cancelling it rolls the transaction back.
    pub async fn sweep(&self, now: OffsetDateTime) -> Result<Swept, StoreError> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg("begin a sweep"))?;
        let rows = tx
            .query(
                "SELECT id, record::text, node FROM tasks WHERE expires_at < $1 \
                 AND status <> ALL($2) FOR UPDATE SKIP LOCKED",
                &[&now, &&TERMINAL[..]],
            )
            .await
            .map_err(pg("find expired tasks"))?;
        let mut done = Swept::default();
        for row in rows {
            let Some(r) = record::from_row(&row, 0)? else {
                continue;
            };
            let node: Option<Uuid> = row.try_get(2).map_err(pg("read an expired task"))?;
            let new = record::cancelled(r, CancelledBy::Expiry, None);
            tx.execute(
                "UPDATE tasks SET status = 'cancelled', record = $2, queued = false, \
                 cancel_requested = true WHERE id = $1",
                &[new.id.as_uuid(), &Json(&new)],
            )
            .await
            .map_err(pg("cancel an expired task"))?;
            let payload = Payload::Cancel {
                id: *new.id.as_uuid(),
                node,
            };
            notify::send(&tx, &payload).await?;
            done.cancelled.push(new.id);
        }
        done.removed = tx
            .execute(
                "DELETE FROM tasks WHERE expires_at < $1 AND status = ANY($2) \
                 AND lease_until IS NULL",
                &[&now, &&TERMINAL[..]],
            )
            .await
            .map_err(pg("remove expired tasks"))?;
        tx.commit().await.map_err(pg("commit a sweep"))?;
        Ok(done)
    }
}
