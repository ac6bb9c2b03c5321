//! Load: every task (or those one node holds) in creation order, every session, skipping
//! rows that do not parse.

use std::sync::Arc;

use serde_json::Value;
use taskward_core::{LoadStats, Loaded, SessionRecord, StoreError, StoredTask, TaskRecord};
use tokio_postgres::{Client, IsolationLevel};
use uuid::Uuid;

use crate::conn::Conn;
use crate::error::pg;

/// Reads every task (by `seq`) and every session, in one read-only snapshot.
pub(crate) async fn load(conn: &mut Conn) -> Result<(Loaded, LoadStats), StoreError> {
    read(&mut conn.client, None)
        .await
        .map(|(loaded, stats, _)| (loaded, stats))
}

const ALL_TASKS: &str =
    "SELECT id::text, record::text, checkpoint::text, attempt FROM tasks ORDER BY seq";
const HELD_TASKS: &str = "SELECT id::text, record::text, checkpoint::text, attempt FROM tasks \
     WHERE node = $1 AND lease_until IS NOT NULL ORDER BY seq";

/// Reads the tasks (every one, or those `held_by` holds: `node` set to it and a lease) by
/// `seq`, every session, and the `attempt` of each task read (in the order of
/// `Loaded::tasks`), in one read-only snapshot.
pub(crate) async fn read(
    client: &mut Client,
    held_by: Option<Uuid>,
) -> Result<(Loaded, LoadStats, Vec<i32>), StoreError> {
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(pg("begin a load"))?;
    let mut stats = LoadStats::default();
    let mut loaded = Loaded::default();
    let rows = match &held_by {
        None => tx.query(ALL_TASKS, &[]).await,
        Some(node) => tx.query(HELD_TASKS, &[node]).await,
    }
    .map_err(pg("read the tasks"))?;
    loaded.tasks.reserve(rows.len());
    let mut attempts = Vec::with_capacity(rows.len());
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
        attempts.push(row.try_get(3).map_err(pg("read the tasks"))?);
        loaded.tasks.push(StoredTask::new(record, checkpoint));
    }
    let rows = tx
        .query("SELECT id, record::text FROM sessions WHERE NOT ended", &[])
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
    Ok((loaded, stats, attempts))
}
