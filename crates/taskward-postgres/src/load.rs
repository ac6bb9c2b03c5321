//! Load: every task in creation order, every session, skipping rows that do not parse.

use std::sync::Arc;

use serde_json::Value;
use taskward_core::{Loaded, SessionRecord, StoreError, StoredTask, TaskRecord};
use tokio_postgres::IsolationLevel;

use crate::conn::Conn;
use crate::error::pg;

/// What a [`load`](taskward_core::DurableStore::load) read back, and what it skipped.
///
/// A task row whose record does not parse is skipped (the task is not loaded); a checkpoint
/// that does not parse is dropped (the task is loaded without one); a session row that does
/// not parse is skipped. Each is logged with `tracing::warn!` and counted here; none fails the
/// load. The rows stay in the database untouched until the task or session is written again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoadStats {
    /// Tasks loaded.
    pub tasks: usize,
    /// Sessions loaded.
    pub sessions: usize,
    /// Task rows skipped: their record did not parse.
    pub skipped_tasks: usize,
    /// Session rows skipped: their record did not parse.
    pub skipped_sessions: usize,
    /// Checkpoints dropped from tasks that were loaded: the checkpoint did not parse.
    pub dropped_checkpoints: usize,
}

impl LoadStats {
    /// Rows skipped or checkpoints dropped, in all: zero when everything read back.
    pub fn skipped(&self) -> usize {
        self.skipped_tasks + self.skipped_sessions + self.dropped_checkpoints
    }
}

/// Reads every task (by `seq`) and every session, in one read-only snapshot.
pub(crate) async fn load(conn: &mut Conn) -> Result<(Loaded, LoadStats), StoreError> {
    let tx = conn
        .client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(pg("begin a load"))?;
    let mut stats = LoadStats::default();
    let mut loaded = Loaded::default();
    let rows = tx
        .query(
            "SELECT id::text, record::text, checkpoint::text FROM tasks ORDER BY seq",
            &[],
        )
        .await
        .map_err(pg("read the tasks"))?;
    loaded.tasks.reserve(rows.len());
    for row in rows {
        let id: &str = row.try_get(0).map_err(pg("read the tasks"))?;
        let record: &str = row.try_get(1).map_err(pg("read the tasks"))?;
        let record = match serde_json::from_str::<TaskRecord>(record) {
            Ok(record) => record,
            Err(e) => {
                tracing::warn!(task = id, error = %e, "postgres store: skipped a task whose record does not parse");
                stats.skipped_tasks += 1;
                continue;
            }
        };
        let checkpoint: Option<&str> = row.try_get(2).map_err(pg("read the tasks"))?;
        let checkpoint = match checkpoint.map(serde_json::from_str::<Value>) {
            None => None,
            Some(Ok(value)) => Some(Arc::new(value)),
            Some(Err(_)) => {
                tracing::warn!(
                    task = id,
                    "postgres store: dropped a checkpoint that does not parse"
                );
                stats.dropped_checkpoints += 1;
                None
            }
        };
        loaded.tasks.push(StoredTask::new(record, checkpoint));
    }
    let rows = tx
        .query("SELECT id, record::text FROM sessions", &[])
        .await
        .map_err(pg("read the sessions"))?;
    for row in rows {
        let record: &str = row.try_get(1).map_err(pg("read the sessions"))?;
        match serde_json::from_str::<SessionRecord>(record) {
            Ok(session) => loaded.sessions.push(session),
            Err(_) => {
                let id: &str = row.try_get(0).unwrap_or("?");
                tracing::warn!(
                    session = id,
                    "postgres store: skipped a session whose record does not parse"
                );
                stats.skipped_sessions += 1;
            }
        }
    }
    tx.commit().await.map_err(pg("end a load"))?;
    stats.tasks = loaded.tasks.len();
    stats.sessions = loaded.sessions.len();
    Ok((loaded, stats))
}
