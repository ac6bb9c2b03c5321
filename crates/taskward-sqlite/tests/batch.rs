//! One batch, one transaction: a batch that fails leaves nothing behind. What a batch
//! writes (the last write of each task and session wins, checkpoints follow their task) is
//! checked for every store by the store contract (`tests/contract/checks/batch.rs`).

mod common;

use common::{checkpoint, completed, put, working};
use serde_json::json;
use taskward_core::{Durability, DurableStore};
use taskward_sqlite::SqliteStore;

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
