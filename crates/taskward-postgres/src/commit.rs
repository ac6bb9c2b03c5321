//! Commit: one transaction per batch, each task and session written once, in at most five
//! statements whatever the batch's size.
//!
//! Writes to the same task or session in one batch supersede each other, so only the last
//! `Put`/`Remove` of each task and the last `Session`/`SessionRemove` of each session reach
//! the database. The statements run in this order, each over arrays (`unnest`):
//!
//! 1. delete the tasks whose last write is a `Remove`, or a `Put` after a `Remove` (the old
//!    row goes, checkpoint included);
//! 2. upsert the tasks whose last write is a `Put` (`ON CONFLICT (id) DO UPDATE`, leaving the
//!    checkpoint alone);
//! 3. set the last checkpoint of each task whose row exists now, unless a `Remove` of the task
//!    follows the checkpoint in the batch;
//! 4. upsert the sessions, 5. delete the sessions removed.
//!
//! Every statement is idempotent: a batch retried after a connection lost during `COMMIT`
//! (it may or may not have committed) leaves the same table.

use std::collections::HashMap;

use taskward_core::{StoreError, StoreWrite, TaskId, TaskRecord};
use time::OffsetDateTime;
use tokio_postgres::types::{Json, ToSql};
use tokio_postgres::{Statement, Transaction};
use uuid::Uuid;

use crate::conn::Conn;
use crate::error::pg;
use crate::sessions::Sessions;
use crate::text::scope_key;

pub(crate) const DELETE_TASKS: &str = "DELETE FROM tasks WHERE id = ANY($1::uuid[])";
pub(crate) const PUT_TASKS: &str = "INSERT INTO tasks (id, seq, scope, status, expires_at, record) \
     SELECT * FROM unnest($1::uuid[], $2::int8[], $3::text[], $4::text[], $5::timestamptz[], \
     $6::json[]) \
     ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, scope = excluded.scope, \
     status = excluded.status, expires_at = excluded.expires_at, record = excluded.record";
pub(crate) const CHECKPOINTS: &str = "UPDATE tasks SET checkpoint = c.checkpoint \
     FROM unnest($1::uuid[], $2::json[]) AS c(id, checkpoint) WHERE tasks.id = c.id";

/// The columns of each statement, as arrays.
#[derive(Default)]
struct Plan<'a> {
    deleted: Vec<Uuid>,
    put: TaskColumns<'a>,
    checkpoint_ids: Vec<Uuid>,
    checkpoints: Vec<Json<&'a serde_json::Value>>,
    sessions: Sessions<'a>,
}

/// The columns of the `tasks` table that a record fills, as arrays (also used by the
/// cluster's inserts).
#[derive(Default)]
pub(crate) struct TaskColumns<'a> {
    pub(crate) ids: Vec<Uuid>,
    pub(crate) seqs: Vec<i64>,
    pub(crate) scopes: Vec<String>,
    pub(crate) statuses: Vec<&'static str>,
    pub(crate) expiries: Vec<Option<OffsetDateTime>>,
    pub(crate) records: Vec<Json<&'a TaskRecord>>,
}

impl<'a> Plan<'a> {
    fn of(batch: &'a [StoreWrite]) -> Result<Self, StoreError> {
        // Per task: the index of its last `Put`/`Remove`, and of its last `Remove`.
        let mut tasks: HashMap<&TaskId, (usize, Option<usize>)> = HashMap::new();
        let mut checkpoints: HashMap<&TaskId, usize> = HashMap::new();
        for (i, write) in batch.iter().enumerate() {
            match write {
                StoreWrite::Put(record) => tasks.entry(&record.id).or_insert((i, None)).0 = i,
                StoreWrite::Remove(id) => _ = tasks.insert(id, (i, Some(i))),
                StoreWrite::Checkpoint(id, _) => _ = checkpoints.insert(id, i),
                // Outstanding input requests do not survive a restart: one node keeps none.
                StoreWrite::Session(_) | StoreWrite::SessionRemove(_) | StoreWrite::Inputs(..) => {}
                other => return Err(unknown(other)),
            }
        }
        let mut plan = Plan {
            sessions: Sessions::of(batch),
            ..Plan::default()
        };
        for (i, write) in batch.iter().enumerate() {
            match write {
                StoreWrite::Put(record) if tasks[&record.id].0 == i => {
                    if tasks[&record.id].1.is_some() {
                        plan.deleted.push(*record.id.as_uuid());
                    }
                    plan.put.push(record)?;
                }
                StoreWrite::Remove(id) if tasks[id].0 == i => plan.deleted.push(*id.as_uuid()),
                StoreWrite::Checkpoint(id, value) if checkpoints[id] == i => {
                    let removed_after = tasks
                        .get(id)
                        .and_then(|&(_, removed)| removed)
                        .is_some_and(|r| r > i);
                    if !removed_after {
                        plan.checkpoint_ids.push(*id.as_uuid());
                        plan.checkpoints.push(Json(&**value));
                    }
                }
                _ => {}
            }
        }
        Ok(plan)
    }
}

impl<'a> TaskColumns<'a> {
    /// Adds a record's columns; fails for a `seq` past `i64::MAX`.
    pub(crate) fn push(&mut self, record: &'a TaskRecord) -> Result<(), StoreError> {
        let seq = i64::try_from(record.seq).map_err(|e| {
            StoreError::with_source(
                format!("postgres store: task {} has a seq past i64::MAX", record.id),
                e,
            )
        })?;
        self.ids.push(*record.id.as_uuid());
        self.seqs.push(seq);
        self.scopes.push(scope_key(&record.scope));
        self.statuses.push(record.status.as_str());
        self.expiries.push(expires_at(record));
        self.records.push(Json(record));
        Ok(())
    }
}

/// A write added to the contract after this build: failing is better than dropping it
/// silently.
pub(crate) fn unknown(write: &StoreWrite) -> StoreError {
    StoreError::new(format!(
        "postgres store: a write this build does not know: {write:?}"
    ))
}

/// When the record's TTL elapses (the `expires_at` column), `None` without a TTL or past the
/// calendar's end.
pub(crate) fn expires_at(record: &TaskRecord) -> Option<OffsetDateTime> {
    record
        .ttl
        .and_then(|ttl| time::Duration::try_from(ttl).ok())
        .and_then(|ttl| record.created_at.checked_add(ttl))
}

/// Applies a batch in one transaction (see the module docs for which writes reach the table).
pub(crate) async fn commit(conn: &mut Conn, batch: &[StoreWrite]) -> Result<(), StoreError> {
    if batch.is_empty() {
        return Ok(());
    }
    let plan = Plan::of(batch)?;
    let s = &conn.statements;
    let tx = conn
        .client
        .transaction()
        .await
        .map_err(pg("begin a commit"))?;
    if !plan.deleted.is_empty() {
        run(&tx, &s.delete_tasks, &[&plan.deleted], "remove tasks").await?;
    }
    let put = &plan.put;
    if !put.ids.is_empty() {
        let params: [&(dyn ToSql + Sync); 6] = [
            &put.ids,
            &put.seqs,
            &put.scopes,
            &put.statuses,
            &put.expiries,
            &put.records,
        ];
        run(&tx, &s.put_tasks, &params, "write tasks").await?;
    }
    if !plan.checkpoint_ids.is_empty() {
        let params: [&(dyn ToSql + Sync); 2] = [&plan.checkpoint_ids, &plan.checkpoints];
        run(&tx, &s.checkpoints, &params, "write checkpoints").await?;
    }
    plan.sessions
        .write(&tx, &s.put_sessions, &s.delete_sessions)
        .await?;
    tx.commit().await.map_err(pg("commit a batch"))
}

async fn run(
    tx: &Transaction<'_>,
    statement: &Statement,
    params: &[&(dyn ToSql + Sync)],
    doing: &'static str,
) -> Result<u64, StoreError> {
    tx.execute(statement, params).await.map_err(pg(doing))
}
