//! Admission to the shared queue: the live limits counted across every node and the
//! dependencies checked, under advisory locks, in the transaction that queues the tasks.
//!
//! A batch (the submits that arrived together on one node) is one transaction. When a task
//! of the batch names a cluster-wide live limit, the transaction first takes the global
//! admission lock, so every limited admission of the cluster runs one at a time; otherwise
//! it takes one lock per scope with a per-scope limit, in key order. Under the lock, the
//! counts it reads (live rows of the whole table: every node's tasks, closure ones
//! included) cannot change by another admission before it commits, so routed submits never
//! take a count past its limit. (A task that stays on its node is admitted against that
//! node's own counts; see the crate docs.)

use std::collections::{BTreeSet, HashMap};

use taskward_core::{Enqueue, Enqueued, Limit, StoreError};
use tokio_postgres::Transaction;
use uuid::Uuid;

use super::take::Takes;
use super::{Cluster, NewTask};
use crate::error::pg;
use crate::node::Room;
use crate::text::scope_key;

/// The key of the global admission lock ("twadmit" in ASCII).
const GLOBAL_LOCK: i64 = 0x0074_7761_646d_6974;
/// The first key of the per-scope admission locks (`pg_advisory_xact_lock(int4, int4)`).
const SCOPE_LOCKS: i32 = 0x7477_7363;
/// The statuses of a live task, as the `status` column spells them.
const LIVE: [&str; 2] = ["working", "input_required"];

impl Cluster {
    /// Queues the tasks of `batch` that pass admission, in one transaction: each task's
    /// dependencies must name tasks of its scope ([`Enqueued::UnknownDependency`]
    /// otherwise), and the live tasks counted across the whole table, with the ones this
    /// batch admits before it, must stay within the limits it names
    /// ([`Enqueued::Refused`] otherwise). See the module docs for the locks.
    ///
    /// Returns one answer per task, in order; the admitted ones are queued (and a `queued`
    /// notification sent per kind) when it returns.
    ///
    /// # Errors
    ///
    /// A record without an input, a `seq` past `i64::MAX`, or the database failing
    /// (nothing is queued).
    ///
    /// # Cancel safety
    ///
    /// Cancelling it rolls the transaction back: nothing was queued.
    pub async fn admit(&self, batch: &[Enqueue]) -> Result<Vec<Enqueued>, StoreError> {
        self.admit_in(batch, None).await
    }

    /// As [`admit`](Self::admit), on the node of `room`: the tasks it has room for are
    /// taken there at once ([`Enqueued::Taken`]: inserted held by the node, their fences
    /// held by its store) when nothing would claim them first (see [`take`](super::take)).
    pub(crate) async fn admit_in(
        &self,
        batch: &[Enqueue],
        room: Option<&Room>,
    ) -> Result<Vec<Enqueued>, StoreError> {
        if let Some(closure) = batch.iter().find(|t| t.record.input.is_none()) {
            return Err(StoreError::new(format!(
                "postgres cluster: task {} has no input: only tasks of registered kinds queue",
                closure.record.id
            )));
        }
        let reserved = Takes::reserve(batch, room).await;
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg("begin an admission"))?;
        let keys: Vec<String> = batch.iter().map(|t| scope_key(&t.record.scope)).collect();
        let mut counts = Counts::lock_and_read(&tx, batch, &keys).await?;
        let found = dependencies(&tx, batch).await?;
        let mut answers = Vec::with_capacity(batch.len());
        for (task, key) in batch.iter().zip(&keys) {
            let unknown = task
                .record
                .depends_on
                .iter()
                .find(|dep| found.get(dep.as_uuid()) != Some(key));
            answers.push(match unknown {
                Some(dep) => Enqueued::UnknownDependency(*dep),
                None => counts.take(task, key),
            });
        }
        let takes = Takes::plan(&tx, batch, &answers, reserved).await?;
        let (mut queued, mut held) = (Vec::new(), Vec::new());
        for ((task, answer), taken) in batch.iter().zip(&answers).zip(&takes.taken) {
            if *answer == Enqueued::Queued {
                let new = NewTask::new(task.record.clone()).priority(task.record.priority);
                if *taken {
                    held.push(new)
                } else {
                    queued.push(new)
                }
            }
        }
        self.insert_in(&tx, &queued, None).await?;
        let inserted = match room {
            Some(room) => self.insert_in(&tx, &held, Some(room.node)).await?,
            None => Vec::new(),
        };
        tx.commit().await.map_err(pg("commit an admission"))?;
        let taken = takes.settle(&held, &inserted);
        for (task, answer) in batch.iter().zip(&mut answers) {
            if taken.contains(&task.record.id) {
                *answer = Enqueued::Taken;
            }
        }
        Ok(answers)
    }
}

/// The scope (key) of each dependency the batch names that is in the table.
async fn dependencies(
    tx: &Transaction<'_>,
    batch: &[Enqueue],
) -> Result<HashMap<Uuid, String>, StoreError> {
    let ids: BTreeSet<Uuid> = batch
        .iter()
        .flat_map(|t| t.record.depends_on.iter().map(|d| *d.as_uuid()))
        .collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<Uuid> = ids.into_iter().collect();
    let rows = tx
        .query("SELECT id, scope FROM tasks WHERE id = ANY($1)", &[&ids])
        .await
        .map_err(pg("read the dependencies"))?;
    rows.iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect::<Result<_, tokio_postgres::Error>>()
        .map_err(pg("read the dependencies"))
}

/// The live counts read under the admission locks, plus this batch's admissions.
struct Counts {
    total: Option<u64>,
    by_scope: HashMap<String, u64>,
}

impl Counts {
    async fn lock_and_read(
        tx: &Transaction<'_>,
        batch: &[Enqueue],
        keys: &[String],
    ) -> Result<Self, StoreError> {
        let global = batch.iter().any(|t| t.max_live.is_some());
        let scoped: BTreeSet<&str> = batch
            .iter()
            .zip(keys)
            .filter(|(t, _)| t.max_live_per_scope.is_some())
            .map(|(_, k)| k.as_str())
            .collect();
        if global {
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&GLOBAL_LOCK])
                .await
                .map_err(pg("take the admission lock"))?;
        } else {
            for key in &scoped {
                tx.execute(
                    "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                    &[&SCOPE_LOCKS, key],
                )
                .await
                .map_err(pg("take a scope's admission lock"))?;
            }
        }
        let mut counts = Counts {
            total: None,
            by_scope: HashMap::new(),
        };
        if global {
            let n: i64 = tx
                .query_one(
                    "SELECT count(*) FROM tasks WHERE status = ANY($1)",
                    &[&&LIVE[..]],
                )
                .await
                .and_then(|row| row.try_get(0))
                .map_err(pg("count the live tasks"))?;
            counts.total = Some(u64::try_from(n).unwrap_or(0));
        }
        if !scoped.is_empty() {
            let scoped: Vec<&str> = scoped.into_iter().collect();
            let rows = tx
                .query(
                    "SELECT scope, count(*) FROM tasks WHERE scope = ANY($1) \
                     AND status = ANY($2) GROUP BY scope",
                    &[&scoped, &&LIVE[..]],
                )
                .await
                .map_err(pg("count a scope's live tasks"))?;
            for row in rows {
                let key: String = row.try_get(0).map_err(pg("count live tasks"))?;
                let n: i64 = row.try_get(1).map_err(pg("count live tasks"))?;
                counts.by_scope.insert(key, u64::try_from(n).unwrap_or(0));
            }
        }
        Ok(counts)
    }

    /// Admits `task` (of scope `key`) if its limits leave room, and counts it.
    fn take(&mut self, task: &Enqueue, key: &str) -> Enqueued {
        let total = self.total.unwrap_or(0);
        if let Some(max) = task.max_live
            && total >= max
        {
            return Enqueued::Refused {
                limit: Limit::LiveTasks,
                max,
            };
        }
        let in_scope = self.by_scope.get(key).copied().unwrap_or(0);
        if let Some(max) = task.max_live_per_scope
            && in_scope >= max
        {
            return Enqueued::Refused {
                limit: Limit::LiveTasksPerScope,
                max,
            };
        }
        if let Some(total) = &mut self.total {
            *total += 1;
        }
        *self.by_scope.entry(key.to_owned()).or_default() += 1;
        Enqueued::Queued
    }
}
