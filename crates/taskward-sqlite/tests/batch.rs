//! One batch, one transaction: the last write of each task and session wins, checkpoints
//! follow the rules of the crate docs, and a batch that fails leaves nothing behind.

mod common;

use std::sync::Arc;

use common::{checkpoint, completed, put, session, working};
use serde_json::json;
use taskward_core::{Durability, DurableStore, StoreWrite};
use taskward_sqlite::SqliteStore;

#[test]
fn the_last_put_of_a_task_wins() {
    let mut store = SqliteStore::in_memory().unwrap();
    let a = working(1);
    let done = completed(&a);
    store.commit(&[put(&a), put(&done)]).unwrap();
    let loaded = store.load().unwrap();
    assert_eq!(loaded.tasks.len(), 1);
    assert_eq!(loaded.tasks[0].record, done);
}

#[test]
fn put_then_remove_deletes_and_drops_the_checkpoint() {
    let mut store = SqliteStore::in_memory().unwrap();
    let a = working(1);
    store
        .commit(&[
            put(&a),
            checkpoint(a.id, json!(1)),
            StoreWrite::Remove(a.id),
        ])
        .unwrap();
    assert!(store.load().unwrap().tasks.is_empty());
}

#[test]
fn remove_then_put_keeps_the_put_without_the_old_checkpoint() {
    let mut store = SqliteStore::in_memory().unwrap();
    let a = working(1);
    store
        .commit(&[put(&a), checkpoint(a.id, json!("old"))])
        .unwrap();
    let again = completed(&a);
    store
        .commit(&[StoreWrite::Remove(a.id), put(&again)])
        .unwrap();
    let loaded = store.load().unwrap();
    assert_eq!(loaded.tasks.len(), 1);
    assert_eq!(loaded.tasks[0].record, again);
    assert_eq!(loaded.tasks[0].checkpoint, None);
}

#[test]
fn a_checkpoint_before_a_remove_is_dropped_even_if_the_task_comes_back() {
    let mut store = SqliteStore::in_memory().unwrap();
    let a = working(1);
    store
        .commit(&[
            put(&a),
            checkpoint(a.id, json!("before")),
            StoreWrite::Remove(a.id),
            put(&a),
        ])
        .unwrap();
    let loaded = store.load().unwrap();
    assert_eq!(loaded.tasks.len(), 1);
    assert_eq!(loaded.tasks[0].checkpoint, None);

    // A checkpoint after the remove and the new put is kept.
    store
        .commit(&[
            StoreWrite::Remove(a.id),
            put(&a),
            checkpoint(a.id, json!("after")),
        ])
        .unwrap();
    let loaded = store.load().unwrap();
    assert_eq!(loaded.tasks[0].checkpoint.as_deref(), Some(&json!("after")));
}

#[test]
fn a_put_in_the_same_batch_keeps_the_checkpoint_before_or_after_it() {
    let mut store = SqliteStore::in_memory().unwrap();
    let (a, b) = (working(1), working(2));
    store.commit(&[put(&a), put(&b)]).unwrap();
    store
        .commit(&[
            // a: checkpoint, then a put of the record.
            checkpoint(a.id, json!("a")),
            put(&completed(&a)),
            // b: a put, then two checkpoints: the last wins.
            put(&completed(&b)),
            checkpoint(b.id, json!("b1")),
            checkpoint(b.id, json!("b2")),
        ])
        .unwrap();
    let loaded = store.load().unwrap();
    let checkpoints: Vec<_> = loaded
        .tasks
        .iter()
        .map(|t| t.checkpoint.as_deref().cloned())
        .collect();
    assert_eq!(checkpoints, [Some(json!("a")), Some(json!("b2"))]);
    assert_eq!(loaded.tasks[0].record, completed(&a));
}

#[test]
fn a_checkpoint_of_a_missing_task_is_ignored() {
    let mut store = SqliteStore::in_memory().unwrap();
    let a = working(1);
    store.commit(&[checkpoint(a.id, json!(1))]).unwrap();
    assert!(store.load().unwrap().tasks.is_empty());
}

#[test]
fn the_last_write_of_a_session_wins() {
    let mut store = SqliteStore::in_memory().unwrap();
    let (first, s2, s3) = (session("s-1"), session("s-2"), session("s-3"));
    let mut seen = first.clone();
    seen.data = json!({ "seen": 2 });
    store
        .commit(&[
            StoreWrite::Session(Arc::new(first)),
            StoreWrite::Session(Arc::new(seen.clone())),
            StoreWrite::Session(Arc::new(s2)),
            StoreWrite::SessionRemove("s-2".into()),
            StoreWrite::SessionRemove("s-3".into()),
            StoreWrite::Session(Arc::new(s3.clone())),
        ])
        .unwrap();
    let mut sessions = store.load().unwrap().sessions;
    sessions.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(sessions, [seen, s3]);
}

#[test]
fn a_failed_batch_writes_nothing_and_the_store_goes_on() {
    let mut store = SqliteStore::in_memory().unwrap();
    let first = working(1);
    store.commit(&[put(&first)]).unwrap();

    // The second put cannot be written (a seq SQLite's INTEGER cannot hold): the whole batch
    // fails, including the writes before it.
    let a = working(2);
    let mut bad = working(3);
    bad.seq = u64::MAX;
    let err = store
        .commit(&[
            put(&completed(&first)),
            put(&a),
            checkpoint(first.id, json!(1)),
            put(&bad),
        ])
        .unwrap_err();
    assert!(err.to_string().contains("seq"), "{err}");
    let loaded = store.load().unwrap();
    assert_eq!(loaded.tasks.len(), 1);
    assert_eq!(loaded.tasks[0].record, first);
    assert_eq!(loaded.tasks[0].checkpoint, None);

    // The retry without the bad write goes through.
    store.commit(&[put(&a)]).unwrap();
    assert_eq!(store.load().unwrap().tasks.len(), 2);
}

#[test]
fn another_connection_sees_a_batch_whole_once_committed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("taskward.db");
    let mut writer = SqliteStore::open(&path, Durability::Process).unwrap();
    // A reader, as a backup or the sqlite3 shell would be (a second store is refused).
    let reader = rusqlite::Connection::open(&path).unwrap();
    let count = || -> i64 {
        reader
            .query_row("SELECT count(*) FROM tasks", [], |row| row.get(0))
            .unwrap()
    };
    let batch: Vec<_> = (1..=200).map(|seq| put(&working(seq))).collect();
    assert_eq!(count(), 0);
    writer.commit(&batch).unwrap();
    assert_eq!(count(), 200);
}
