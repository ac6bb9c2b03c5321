//! Commit: one transaction per batch, each task and session written once.
//!
//! Writes to the same task or session in one batch supersede each other, so only the last
//! `Put`/`Remove` of each task and the last `Session`/`SessionRemove` of each session reach
//! the database. A `Put` upserts the record's columns and leaves the checkpoint column alone,
//! unless the batch removed the task before it (then the old row, checkpoint included, is
//! deleted first). Checkpoints go after the puts and removes: the last one of each task
//! updates its row if the row exists at the end of the batch, and is dropped if a `Remove` of
//! the task follows it in the batch.

use std::collections::HashMap;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Transaction, TransactionBehavior};
use serde_json::Value;
use taskward_core::{SessionRecord, StoreError, StoreWrite, TaskId, TaskRecord};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::sql;

const PUT: &str = "INSERT INTO tasks (id, seq, scope, status, expires_at, record) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
     ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, scope = excluded.scope, \
     status = excluded.status, expires_at = excluded.expires_at, record = excluded.record";
const REMOVE: &str = "DELETE FROM tasks WHERE id = ?1";
const CHECKPOINT: &str = "UPDATE tasks SET checkpoint = ?2 WHERE id = ?1";
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

/// Applies a batch in one transaction (see the module docs for which writes reach the table).
pub(crate) fn commit(
    conn: &mut rusqlite::Connection,
    batch: &[StoreWrite],
) -> Result<(), StoreError> {
    if batch.is_empty() {
        return Ok(());
    }
    let plan = Plan::of(batch)?;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql("begin a commit"))?;
    let mut json = Vec::with_capacity(1024);
    for (i, write) in batch.iter().enumerate() {
        match write {
            StoreWrite::Put(record) => {
                let (last, removed) = plan.tasks[&record.id];
                if last == i {
                    if removed.is_some() {
                        remove(&tx, &record.id)?;
                    }
                    put(&tx, record, &mut json)?;
                }
            }
            StoreWrite::Remove(id) if plan.tasks[id].0 == i => remove(&tx, id)?,
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
        if plan.checkpoints[id] == i && !removed_after {
            checkpoint(&tx, id, value, &mut json)?;
        }
    }
    tx.commit().map_err(sql("commit a batch"))
}

fn put(tx: &Transaction<'_>, record: &TaskRecord, json: &mut Vec<u8>) -> Result<(), StoreError> {
    let seq = i64::try_from(record.seq).map_err(|e| {
        StoreError::with_source(
            format!("sqlite store: task {} has a seq past i64::MAX", record.id),
            e,
        )
    })?;
    to_json(record, json)?;
    let mut id = Uuid::encode_buffer();
    let id = record.id.as_uuid().hyphenated().encode_lower(&mut id);
    let expires_at = record
        .ttl
        .and_then(|ttl| time::Duration::try_from(ttl).ok())
        .and_then(|ttl| record.created_at.checked_add(ttl))
        .map(unix_ms);
    tx.prepare_cached(PUT)
        .and_then(|mut stmt| {
            stmt.execute(rusqlite::params![
                &*id,
                seq,
                record.scope.to_string(),
                record.status.as_str(),
                expires_at,
                ToSqlOutput::Borrowed(ValueRef::Text(json)),
            ])
        })
        .map_err(sql("write a task"))?;
    Ok(())
}

fn remove(tx: &Transaction<'_>, id: &TaskId) -> Result<(), StoreError> {
    let mut buf = Uuid::encode_buffer();
    let id = id.as_uuid().hyphenated().encode_lower(&mut buf);
    tx.prepare_cached(REMOVE)
        .and_then(|mut stmt| stmt.execute([&*id]))
        .map_err(sql("remove a task"))?;
    Ok(())
}

fn checkpoint(
    tx: &Transaction<'_>,
    id: &TaskId,
    value: &Value,
    json: &mut Vec<u8>,
) -> Result<(), StoreError> {
    to_json(value, json)?;
    let mut buf = Uuid::encode_buffer();
    let id = id.as_uuid().hyphenated().encode_lower(&mut buf);
    tx.prepare_cached(CHECKPOINT)
        .and_then(|mut stmt| {
            stmt.execute(rusqlite::params![
                &*id,
                ToSqlOutput::Borrowed(ValueRef::Text(json))
            ])
        })
        .map_err(sql("write a checkpoint"))?;
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
        .and_then(|mut stmt| {
            stmt.execute(rusqlite::params![
                &*session.id,
                ToSqlOutput::Borrowed(ValueRef::Text(json)),
                expires_at
            ])
        })
        .map_err(sql("write a session"))?;
    Ok(())
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
