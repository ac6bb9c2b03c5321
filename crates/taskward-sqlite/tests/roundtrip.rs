//! What is committed comes back: records, checkpoints and sessions, in `seq` order, also after
//! the store is dropped and the file opened again.

mod common;

use std::sync::Arc;

use common::{checkpoint, completed, put, session, working};
use serde_json::json;
use taskward_core::{Durability, DurableStore, StoreWrite};
use taskward_sqlite::{LoadStats, SqliteStore};

#[test]
fn a_committed_batch_loads_back_equal() {
    let mut store = SqliteStore::in_memory().unwrap();
    let (a, b) = (working(2), working(1));
    let done = completed(&a);
    let s = session("s-1");
    store
        .commit(&[
            put(&a),
            put(&b),
            checkpoint(a.id, json!({ "next": 17 })),
            put(&done),
            StoreWrite::Session(Arc::new(s.clone())),
        ])
        .unwrap();

    let loaded = store.load().unwrap();
    // Ordered by seq: b (1) before a (2).
    let records: Vec<_> = loaded.tasks.iter().map(|t| &t.record).collect();
    assert_eq!(records, [&b, &done]);
    assert_eq!(loaded.tasks[0].checkpoint, None);
    assert_eq!(
        loaded.tasks[1].checkpoint.as_deref(),
        Some(&json!({ "next": 17 }))
    );
    assert_eq!(loaded.sessions, [s]);
    assert_eq!(store.last_load().tasks, 2);
    assert_eq!(store.last_load().skipped(), 0);
}

#[test]
fn a_reopened_file_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/data/taskward.db");
    let tasks: Vec<_> = (1..=50).map(working).collect();
    let s = session("s-9");
    {
        let mut store = SqliteStore::open(&path, Durability::Process).unwrap();
        let mut batch: Vec<_> = tasks.iter().map(put).collect();
        batch.push(checkpoint(tasks[7].id, json!({ "at": 7 })));
        batch.push(StoreWrite::Session(Arc::new(s.clone())));
        store.commit(&batch).unwrap();
        assert_eq!(store.path(), Some(path.as_path()));
    }
    for durability in [Durability::Process, Durability::Power] {
        let mut store = SqliteStore::open(&path, durability).unwrap();
        let loaded = store.load().unwrap();
        let records: Vec<_> = loaded.tasks.iter().map(|t| t.record.clone()).collect();
        assert_eq!(records, tasks);
        assert_eq!(
            loaded.tasks[7].checkpoint.as_deref(),
            Some(&json!({ "at": 7 }))
        );
        assert_eq!(loaded.sessions, std::slice::from_ref(&s));
    }
}

#[test]
fn the_memory_policy_persists_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("taskward.db");
    let mut store = SqliteStore::open(&path, Durability::Memory).unwrap();
    assert_eq!(store.durability(), Durability::Memory);
    assert_eq!(store.path(), None);
    store.commit(&[put(&working(1))]).unwrap();
    assert_eq!(store.load().unwrap().tasks.len(), 1);
    drop(store);
    assert!(!path.exists());
}

#[test]
fn an_empty_batch_and_an_empty_store_are_fine() {
    let mut store = SqliteStore::in_memory().unwrap();
    store.commit(&[]).unwrap();
    let loaded = store.load().unwrap();
    assert!(loaded.tasks.is_empty() && loaded.sessions.is_empty());
    assert_eq!(store.last_load(), LoadStats::default());
}
