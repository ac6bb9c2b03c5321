//! Rows are found by the task's id whatever happened before this store was opened: a commit
//! before any load, a row deleted or copied by hand.

mod common;

use common::{completed, put, working};
use rusqlite::Connection;
use serde_json::json;
use taskward_core::{Durability, DurableStore, StoreWrite, TaskRecord};
use taskward_sqlite::SqliteStore;
use tempfile::TempDir;

#[test]
fn a_commit_before_any_load_updates_the_existing_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("taskward.db");
    let (a, b) = (working(1), working(2));
    let mut store = SqliteStore::open(&path, Durability::Process).unwrap();
    store.commit(&[put(&a), put(&b)]).unwrap();
    drop(store);

    let mut store = SqliteStore::open(&path, Durability::Process).unwrap();
    store
        .commit(&[
            put(&completed(&a)),
            StoreWrite::Remove(b.id),
            common::checkpoint(a.id, json!(3)),
        ])
        .unwrap();
    let loaded = store.load().unwrap();
    assert_eq!(loaded.tasks.len(), 1);
    assert_eq!(loaded.tasks[0].record, completed(&a));
    assert_eq!(loaded.tasks[0].checkpoint.as_deref(), Some(&json!(3)));
}

/// A store holding one task, and a second connection to its file.
fn with_task(task: &TaskRecord) -> (TempDir, SqliteStore, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("taskward.db");
    let mut store = SqliteStore::open(&path, Durability::Process).unwrap();
    store.commit(&[put(task)]).unwrap();
    let raw = Connection::open(&path).unwrap();
    (dir, store, raw)
}

#[test]
fn a_row_deleted_by_hand_is_written_again_by_the_next_put() {
    let a = working(1);
    let (_dir, mut store, raw) = with_task(&a);
    raw.execute("DELETE FROM tasks", []).unwrap();
    store.commit(&[put(&completed(&a))]).unwrap();
    let loaded = store.load().unwrap();
    assert_eq!(loaded.tasks.len(), 1);
    assert_eq!(loaded.tasks[0].record, completed(&a));
}

#[test]
fn a_second_row_of_a_task_is_skipped_and_the_first_stays_written() {
    let a = working(1);
    let (_dir, mut store, raw) = with_task(&a);
    raw.execute(
        "INSERT INTO tasks (id, seq, scope, status, record) \
             SELECT id, seq + 1, scope, status, record FROM tasks",
        [],
    )
    .unwrap();

    let loaded = store.load().unwrap();
    assert_eq!(loaded.tasks.len(), 1);
    assert_eq!(store.last_load().skipped_tasks, 1);
    // Writes go to the row that was loaded.
    store.commit(&[put(&completed(&a))]).unwrap();
    let loaded = store.load().unwrap();
    assert_eq!(loaded.tasks[0].record, completed(&a));
}
