//! Commit: one transaction per batch, each task and session written once.
//!
//! Writes to the same task or session in one batch supersede each other, so only the last
//! `Put`/`Remove` of each task and the last `Session`/`SessionRemove` of each session reach
//! the database. A `Put` updates the record's columns of the task's row and leaves its
//! checkpoint alone, or inserts a row; if the batch removed the task before it, the old row,
//! checkpoint included, is deleted first. Checkpoints go after the puts and removes: the last one of each task
//! updates its row if the row exists at the end of the batch, and is dropped if a `Remove` of
//! the task follows it in the batch.

use std::collections::HashMap;

use rusqlite::types::{ToSql, ToSqlOutput, ValueRef};
use rusqlite::{Connection, Transaction, TransactionBehavior, params};
use taskward_core::{SessionRecord, StoreError, StoreWrite, TaskId, TaskRecord};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::sql;
use crate::rows::RowIndex;

const INSERT: &str = "INSERT INTO tasks (id, seq, scope, status, expires_at, record) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
const UPDATE: &str = "UPDATE tasks SET seq = ?2, scope = ?3, status = ?4, expires_at = ?5, \
     record = ?6 WHERE row_id = ?1";
const REMOVE: &str = "DELETE FROM tasks WHERE row_id = ?1";
const CHECKPOINT: &str = "UPDATE tasks SET checkpoint = ?2 WHERE row_id = ?1";
const PUT_SESSION: &str = "INSERT INTO sessions (id, record, expires_at) VALUES (?1, ?2, ?3) \
     ON CONFLICT (id) DO UPDATE SET record = excluded.record, expires_at = excluded.expires_at";
const REMOVE_SESSION: &str = "DELETE FROM sessions WHERE id = ?1";

/// Where the last writes of each task and session are in a batch.
#[derive(Default)]
struct Plan<'a> {
    /// Per task: the index of its last `Put`/`Remove`, and of its last `Remove`.
    tasks: HashMap<&'a TaskId, (usize, Option<usize>)>,
    /// Per task: the index of its last `Checkpoint`.
    checkpoints: HashMap<&'a TaskId, usize>,
    /// Per session: the index of its last `Session`/`SessionRemove`.
    sessions: HashMap<&'a str, usize>,
}

impl<'a> Plan<'a> {
    fn of(batch: &'a [StoreWrite]) -> Result<Self, StoreError> {
        let mut plan = Plan::default();
        for (i, write) in batch.iter().enumerate() {
            match write {
                StoreWrite::Put(record) => {
                    plan.tasks.entry(&record.id).or_insert((i, None)).0 = i;
                }
                StoreWrite::Remove(id) => {
                    plan.tasks.insert(id, (i, Some(i)));
                }
                StoreWrite::Checkpoint(id, _) => {
                    plan.checkpoints.insert(id, i);
                }
                StoreWrite::Session(session) => {
                    plan.sessions.insert(&session.id, i);
                }
                StoreWrite::SessionRemove(id) => {
                    plan.sessions.insert(id, i);
                }
                // Outstanding input requests do not survive a restart: nothing to keep.
                StoreWrite::Inputs(..) => {}
                // A write added to the contract after this build: failing is better than
                // dropping it silently.
                other => {
                    return Err(StoreError::new(format!(
                        "sqlite store: a write this build does not know: {other:?}"
                    )));
                }
            }
        }
        Ok(plan)
    }
}

/// The rows a batch writes: the index as committed, and the batch's changes to it.
struct Rows<'a> {
    index: &'a RowIndex,
    changes: HashMap<TaskId, Option<i64>>,
}

impl Rows<'_> {
    fn get(&self, id: &TaskId) -> Option<i64> {
        match self.changes.get(id) {
            Some(&key) => key,
            None => self.index.get(id),
        }
    }
}

/// Applies a batch in one transaction (see the module docs for which writes reach the table);
/// the row index takes the batch's changes once the transaction has committed.
pub(crate) fn commit(
    conn: &mut Connection,
    index: &mut RowIndex,
    batch: &[StoreWrite],
) -> Result<(), StoreError> {
    if batch.is_empty() {
        return Ok(());
    }
    let plan = Plan::of(batch)?;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql("begin a commit"))?;
    let mut rows = Rows {
        index,
        changes: HashMap::with_capacity(plan.tasks.len()),
    };
    let mut json = Vec::with_capacity(1024);
    for (i, write) in batch.iter().enumerate() {
        match write {
            StoreWrite::Put(record) => {
                let (last, removed) = plan.tasks[&record.id];
                if last == i {
                    if removed.is_some() {
                        remove(&tx, &mut rows, &record.id)?;
                    }
                    put(&tx, &mut rows, record, &mut json)?;
                }
            }
            StoreWrite::Remove(id) if plan.tasks[id].0 == i => remove(&tx, &mut rows, id)?,
            StoreWrite::Session(session) if plan.sessions[&*session.id] == i => {
                put_session(&tx, session, &mut json)?;
            }
            StoreWrite::SessionRemove(id) if plan.sessions[&**id] == i => {
                tx.prepare_cached(REMOVE_SESSION)
                    .and_then(|mut stmt| stmt.execute([&**id]))
                    .map_err(sql("remove a session"))?;
            }
            _ => {}
        }
    }
    for (i, write) in batch.iter().enumerate() {
        let StoreWrite::Checkpoint(id, value) = write else {
            continue;
        };
        let removed_after = plan
            .tasks
            .get(id)
            .and_then(|&(_, removed)| removed)
            .is_some_and(|r| r > i);
        if plan.checkpoints[id] != i || removed_after {
            continue;
        }
        if let Some(key) = rows.get(id) {
            to_json(&**value, &mut json)?;
            tx.prepare_cached(CHECKPOINT)
                .and_then(|mut stmt| stmt.execute(params![key, json_text(&json)]))
                .map_err(sql("write a checkpoint"))?;
        }
    }
    tx.commit().map_err(sql("commit a batch"))?;
    let changes = rows.changes;
    index.apply(changes);
    Ok(())
}

/// Updates the task's row, or inserts one if it has none.
fn put(
    tx: &Transaction<'_>,
    rows: &mut Rows<'_>,
    record: &TaskRecord,
    json: &mut Vec<u8>,
) -> Result<(), StoreError> {
    let seq = i64::try_from(record.seq).map_err(|e| {
        StoreError::with_source(
            format!("sqlite store: task {} has a seq past i64::MAX", record.id),
            e,
        )
    })?;
    to_json(record, json)?;
    let expires_at = record
        .ttl
        .and_then(|ttl| time::Duration::try_from(ttl).ok())
        .and_then(|ttl| record.created_at.checked_add(ttl))
        .map(unix_ms);
    let scope = record.scope.to_string();
    let status = record.status.as_str();
    // ?1 is the row's key for an update, the task's id for an insert.
    let write = |statement: &str, first: &dyn ToSql| {
        tx.prepare_cached(statement)
            .and_then(|mut stmt| {
                stmt.execute(params![
                    first,
                    seq,
                    scope,
                    status,
                    expires_at,
                    json_text(json)
                ])
            })
            .map_err(sql("write a task"))
    };
    // A row that is gone (removed by hand) is inserted again.
    if let Some(key) = rows.get(&record.id)
        && write(UPDATE, &key)? == 1
    {
        return Ok(());
    }
    let mut id = Uuid::encode_buffer();
    write(
        INSERT,
        &&*record.id.as_uuid().hyphenated().encode_lower(&mut id),
    )?;
    rows.changes.insert(record.id, Some(tx.last_insert_rowid()));
    Ok(())
}

fn remove(tx: &Transaction<'_>, rows: &mut Rows<'_>, id: &TaskId) -> Result<(), StoreError> {
    if let Some(key) = rows.get(id) {
        tx.prepare_cached(REMOVE)
            .and_then(|mut stmt| stmt.execute([key]))
            .map_err(sql("remove a task"))?;
        rows.changes.insert(*id, None);
    }
    Ok(())
}

fn put_session(
    tx: &Transaction<'_>,
    session: &SessionRecord,
    json: &mut Vec<u8>,
) -> Result<(), StoreError> {
    to_json(session, json)?;
    let expires_at = session.expires_at.map(unix_ms);
    tx.prepare_cached(PUT_SESSION)
        .and_then(|mut stmt| stmt.execute(params![&*session.id, json_text(json), expires_at]))
        .map_err(sql("write a session"))?;
    Ok(())
}

/// JSON bound as text as it is: serde_json writes UTF-8 only.
fn json_text(json: &[u8]) -> ToSqlOutput<'_> {
    ToSqlOutput::Borrowed(ValueRef::Text(json))
}

/// Serializes into the reused buffer (serde_json writes UTF-8 only, bound as text as is).
fn to_json(value: &impl serde::Serialize, json: &mut Vec<u8>) -> Result<(), StoreError> {
    json.clear();
    serde_json::to_writer(&mut *json, value)
        .map_err(|e| StoreError::with_source("sqlite store: cannot serialize a write", e))
}

/// Milliseconds since the Unix epoch, saturating.
pub(crate) fn unix_ms(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}
