//! Dependencies across nodes: the queued tasks whose dependency failed, was cancelled (or
//! expired) or is gone are ended by the elected node, with the cause a single node gives.

use serde_json::json;
use taskward_core::{CancelledBy, Failure, FailureCause, Outcome, StoreError, TaskId};
use tokio_postgres::types::Json;
use uuid::Uuid;

use super::Cluster;
use super::notify::{self, Payload};
use super::record::{self, parse};
use crate::error::pg;

/// What a [`Cluster::settle_dependents`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Settled {
    /// Tasks failed with cause `dependency_failed`: a dependency failed.
    pub failed: Vec<TaskId>,
    /// Tasks cancelled by `dependency`: a dependency was cancelled, expired or is gone.
    pub cancelled: Vec<TaskId>,
}

/// The queued tasks with a dependency that will never complete, and the first such one.
const BLOCKED: &str = "SELECT t.id, t.record::text, b.id, b.record::text FROM tasks t \
     CROSS JOIN LATERAL (SELECT d.id, x.record FROM unnest(t.depends_on) AS d(id) \
     LEFT JOIN tasks x ON x.id = d.id \
     WHERE x.id IS NULL OR x.status IN ('failed', 'cancelled') LIMIT 1) b \
     WHERE t.queued AND t.depends_on IS NOT NULL FOR UPDATE OF t SKIP LOCKED";

impl Cluster {
    /// Ends the queued tasks whose dependency will never complete: failed with cause
    /// [`DependencyFailed`](FailureCause::DependencyFailed) when it failed (the failure's
    /// `data` names the dependency and its cause), cancelled by
    /// [`Dependency`](CancelledBy::Dependency) when it was cancelled or expired, or is no
    /// longer in the table. Each end sends a `changed` notification. A queued task whose
    /// dependencies all completed needs nothing: the next claim takes it.
    ///
    /// The elected node runs it every heartbeat period. Idempotent; rows locked by another
    /// transaction are skipped until the next call.
    ///
    /// # Errors
    ///
    /// The database failing (nothing is changed).
    ///
    /// # Cancel safety
    ///
    /// Cancelling it rolls the transaction back.
    pub async fn settle_dependents(&self) -> Result<Settled, StoreError> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg("begin a settle"))?;
        let rows = tx
            .query(BLOCKED, &[])
            .await
            .map_err(pg("find blocked dependents"))?;
        let mut done = Settled::default();
        for row in rows {
            let Some(task) = record::from_row(&row, 0)? else {
                continue;
            };
            let dep: Uuid = row.try_get(2).map_err(pg("read a dependency"))?;
            let dep_record: Option<&str> = row.try_get(3).map_err(pg("read a dependency"))?;
            let outcome = dep_record
                .and_then(|text| parse(dep, text))
                .and_then(|r| r.outcome);
            let dep = TaskId::from_uuid(dep);
            let ended = match outcome {
                Some(Outcome::Failed(f)) => {
                    let mut failure = Failure::new(
                        FailureCause::DependencyFailed,
                        format!("dependency {dep} failed ({})", f.cause),
                    );
                    failure.data =
                        Some(json!({ "dependency": dep.to_string(), "outcome": f.cause.as_str() }));
                    done.failed.push(task.id);
                    record::failed(task, failure)
                }
                Some(Outcome::Cancelled(c)) => {
                    done.cancelled.push(task.id);
                    let why = format!("dependency {dep} was cancelled by {}", c.by);
                    record::cancelled(task, CancelledBy::Dependency, Some(why))
                }
                _ => {
                    done.cancelled.push(task.id);
                    let why = format!("dependency {dep} is gone");
                    record::cancelled(task, CancelledBy::Dependency, Some(why))
                }
            };
            tx.execute(
                "UPDATE tasks SET status = $3, record = $2, queued = false WHERE id = $1",
                &[ended.id.as_uuid(), &Json(&ended), &ended.status.as_str()],
            )
            .await
            .map_err(pg("end a dependent"))?;
            let payload = Payload::Changed {
                id: *ended.id.as_uuid(),
                seq: ended.seq,
            };
            notify::send(&tx, &payload).await?;
        }
        tx.commit().await.map_err(pg("commit a settle"))?;
        Ok(done)
    }
}
