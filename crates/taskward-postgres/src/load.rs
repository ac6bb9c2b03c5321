//! Load: every task in creation order, every session, skipping rows that do not parse.

use std::sync::Arc;

use serde_json::Value;
use taskward_core::{LoadStats, Loaded, SessionRecord, StoreError, StoredTask, TaskRecord};
use tokio_postgres::IsolationLevel;

use crate::conn::Conn;
use crate::error::pg;

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
