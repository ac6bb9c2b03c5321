//! Load: every task in creation order, every session, skipping rows that do not parse.

use std::sync::Arc;

use rusqlite::Connection;
use rusqlite::types::ValueRef;
use serde_json::Value;
use taskward_core::{LoadStats, Loaded, SessionRecord, StoreError, StoredTask, TaskRecord};

use crate::error::sql;
use crate::rows::{RowIndex, parse_id};

/// Reads every task (by `seq`) and every session, in one read transaction.
/// Also rebuilds the row index: every row whose id parses, loaded or skipped, so that a later
/// write of the same task replaces its row.
pub(crate) fn load(conn: &mut Connection) -> Result<(Loaded, RowIndex, LoadStats), StoreError> {
    let tx = conn.transaction().map_err(sql("begin a load"))?;
    let mut stats = LoadStats::default();
    let mut loaded = Loaded::default();
    let mut index = RowIndex::default();

    let count: i64 = tx
        .query_row("SELECT count(*) FROM tasks", [], |row| row.get(0))
        .map_err(sql("count the tasks"))?;
    loaded.tasks.reserve(usize::try_from(count).unwrap_or(0));
    {
        let mut stmt = tx
            .prepare("SELECT row_id, id, record, checkpoint FROM tasks ORDER BY seq")
            .map_err(sql("read the tasks"))?;
        let mut rows = stmt.query([]).map_err(sql("read the tasks"))?;
        while let Some(row) = rows.next().map_err(sql("read the tasks"))? {
            let key: i64 = row.get(0).map_err(sql("read the tasks"))?;
            let id = text(row.get_ref(1)).unwrap_or("?");
            if let Some(task) = parse_id(row.get_ref(1))
                && index.insert(task, key)
            {
                tracing::warn!(
                    task = id,
                    "sqlite store: skipped a second row of the same task"
                );
                stats.skipped_tasks += 1;
                continue;
            }
            let record = match text(row.get_ref(2)).map(serde_json::from_str::<TaskRecord>) {
                Some(Ok(record)) => record,
                Some(Err(e)) => {
                    tracing::warn!(task = id, error = %e, "sqlite store: skipped a task whose record does not parse");
                    stats.skipped_tasks += 1;
                    continue;
                }
                None => {
                    tracing::warn!(
                        task = id,
                        "sqlite store: skipped a task whose record is not text"
                    );
                    stats.skipped_tasks += 1;
                    continue;
                }
            };
            let checkpoint = match row.get_ref(3) {
                Ok(ValueRef::Null) => None,
                other => match text(other).map(serde_json::from_str::<Value>) {
                    Some(Ok(value)) => Some(Arc::new(value)),
                    _ => {
                        tracing::warn!(
                            task = id,
                            "sqlite store: dropped a checkpoint that does not parse"
                        );
                        stats.dropped_checkpoints += 1;
                        None
                    }
                },
            };
            loaded.tasks.push(StoredTask::new(record, checkpoint));
        }
    }
    {
        let mut stmt = tx
            .prepare("SELECT id, record FROM sessions")
            .map_err(sql("read the sessions"))?;
        let mut rows = stmt.query([]).map_err(sql("read the sessions"))?;
        while let Some(row) = rows.next().map_err(sql("read the sessions"))? {
            match text(row.get_ref(1)).map(serde_json::from_str::<SessionRecord>) {
                Some(Ok(session)) => loaded.sessions.push(session),
                _ => {
                    let id = text(row.get_ref(0)).unwrap_or("?");
                    tracing::warn!(
                        session = id,
                        "sqlite store: skipped a session whose record does not parse"
                    );
                    stats.skipped_sessions += 1;
                }
            }
        }
    }
    tx.finish().map_err(sql("end a load"))?;
    stats.tasks = loaded.tasks.len();
    stats.sessions = loaded.sessions.len();
    Ok((loaded, index, stats))
}

/// The column as text, if it is text (valid UTF-8).
fn text(value: rusqlite::Result<ValueRef<'_>>) -> Option<&str> {
    value.ok()?.as_str().ok()
}
