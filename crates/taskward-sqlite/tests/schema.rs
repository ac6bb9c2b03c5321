//! The schema is versioned: a fresh file gets the latest version, a newer one is refused, and
//! rows that no longer parse are skipped at load instead of failing the start.

mod common;

use std::error::Error as _;
use std::sync::Arc;

use common::{checkpoint, put, session, working};
use rusqlite::Connection;
use serde_json::json;
use taskward_core::{Durability, DurableStore, StoreWrite};
use taskward_sqlite::{SCHEMA_VERSION, SchemaTooNew, SqliteStore};

fn user_version(path: &std::path::Path) -> i64 {
    Connection::open(path)
        .unwrap()
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap()
}

#[test]
fn a_fresh_database_gets_the_latest_schema_and_wal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("taskward.db");
    drop(SqliteStore::open(&path, Durability::Process).unwrap());
    assert_eq!(user_version(&path), i64::from(SCHEMA_VERSION));
    let mode: String = Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    // Opening again migrates nothing and changes nothing.
    drop(SqliteStore::open(&path, Durability::Power).unwrap());
    assert_eq!(user_version(&path), i64::from(SCHEMA_VERSION));
}

#[test]
fn a_database_from_a_newer_taskward_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("taskward.db");
    drop(SqliteStore::open(&path, Durability::Process).unwrap());
    let future = i64::from(SCHEMA_VERSION) + 1;
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", future)
        .unwrap();

    let err = SqliteStore::open(&path, Durability::Process).unwrap_err();
    let too_new = err
        .source()
        .and_then(|e| e.downcast_ref::<SchemaTooNew>())
        .expect("the source is SchemaTooNew");
    assert_eq!(too_new.found(), future);
    assert_eq!(too_new.supported(), SCHEMA_VERSION);
    assert!(err.to_string().contains("newer"), "{err}");
    // The file is left as it was.
    assert_eq!(user_version(&path), future);
}

#[test]
fn rows_that_do_not_parse_are_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("taskward.db");
    let tasks: Vec<_> = (1..=4).map(working).collect();
    let mut store = SqliteStore::open(&path, Durability::Process).unwrap();
    let mut batch: Vec<_> = tasks.iter().map(put).collect();
    batch.push(checkpoint(tasks[2].id, json!("fine")));
    batch.push(StoreWrite::Session(Arc::new(session("s-1"))));
    batch.push(StoreWrite::Session(Arc::new(session("s-2"))));
    store.commit(&batch).unwrap();

    let raw = Connection::open(&path).unwrap();
    let id = |i: usize| tasks[i].id.to_string();
    raw.execute("UPDATE tasks SET record = '{broken' WHERE id = ?1", [id(0)])
        .unwrap();
    raw.execute("UPDATE tasks SET record = x'ff00' WHERE id = ?1", [id(1)])
        .unwrap();
    raw.execute(
        "UPDATE tasks SET checkpoint = 'nope' WHERE id = ?1",
        [id(2)],
    )
    .unwrap();
    raw.execute("UPDATE sessions SET record = '[]' WHERE id = 's-1'", [])
        .unwrap();

    let loaded = store.load().unwrap();
    let records: Vec<_> = loaded.tasks.iter().map(|t| t.record.clone()).collect();
    assert_eq!(records, tasks[2..]);
    assert_eq!(loaded.tasks[0].checkpoint, None);
    assert_eq!(loaded.sessions.len(), 1);
    assert_eq!(&*loaded.sessions[0].id, "s-2");
    let stats = store.last_load();
    assert_eq!(
        (
            stats.tasks,
            stats.skipped_tasks,
            stats.dropped_checkpoints,
            stats.sessions,
            stats.skipped_sessions
        ),
        (2, 2, 1, 1, 1)
    );
    assert_eq!(stats.skipped(), 4);
}
