//! Closing a scope across nodes: a session ended on one node cancels its tasks on every node.

use taskward_core::{CancelledBy, Scope, StoreError, TaskId};
use uuid::Uuid;

use super::Cluster;
use super::record::{self, TERMINAL};
use super::signal::cancel_row;
use crate::error::pg;
use crate::text::scope_key;

impl Cluster {
    /// Cancels every live task of `scope` (cancelled by its owner, with `reason`), in one
    /// transaction: each row becomes `cancelled` with `cancel_requested` set and leaves the
    /// queue, and a `cancel` notification names the node holding it, which fires the work's
    /// token and finishes as for [`request_cancel`](Self::request_cancel). Returns the tasks
    /// cancelled (none when the scope has no live task).
    ///
    /// # Errors
    ///
    /// The database failing (nothing changed).
    ///
    /// # Cancel safety
    ///
    /// Cancelling it rolls the transaction back.
    pub async fn cancel_scope(
        &self,
        scope: &Scope,
        reason: Option<String>,
    ) -> Result<Vec<TaskId>, StoreError> {
        let mut conn = self.conn().await?;
        let tx = conn
            .transaction()
            .await
            .map_err(pg("begin a scope's cancel"))?;
        // In id order, so that two closes of one scope lock its rows in one order.
        let rows = tx
            .query(
                "SELECT id, record::text, CASE WHEN lease_until IS NOT NULL THEN node END \
                 FROM tasks WHERE scope = $1 AND status <> ALL($2) ORDER BY id FOR UPDATE",
                &[&scope_key(scope), &&TERMINAL[..]],
            )
            .await
            .map_err(pg("read a scope's tasks"))?;
        let mut cancelled = Vec::with_capacity(rows.len());
        for row in &rows {
            let Some(live) = record::from_row(row, 0)?.filter(|r| r.scope == *scope) else {
                continue;
            };
            let id = live.id;
            let node: Option<Uuid> = row.try_get(2).map_err(pg("read a scope's tasks"))?;
            cancel_row(
                &tx,
                record::cancelled(live, CancelledBy::Owner, reason.clone()),
                node,
            )
            .await?;
            cancelled.push(id);
        }
        tx.commit().await.map_err(pg("commit a scope's cancel"))?;
        Ok(cancelled)
    }
}
