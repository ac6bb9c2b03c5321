//! Durability across a crash of the process: a child process commits and aborts at once (no
//! destructor, no clean close of the database); the parent then finds every committed row.
//!
//! The child is this test binary itself, run on the `crash_child` test with
//! `TASKWARD_SQLITE_CRASH_DB` set; without the variable that test does nothing.

mod common;

use std::process::Command;

use common::{checkpoint, put, working};
use serde_json::json;
use taskward_core::{Durability, DurableStore};
use taskward_sqlite::SqliteStore;

const DB: &str = "TASKWARD_SQLITE_CRASH_DB";
const BATCHES: u64 = 20;

#[test]
fn crash_child() {
    let Some(path) = std::env::var_os(DB) else {
        return;
    };
    let mut store = SqliteStore::open(path, Durability::Process).unwrap();
    for b in 0..BATCHES {
        let tasks: Vec<_> = (0..50).map(|i| working(b * 50 + i)).collect();
        let mut batch: Vec<_> = tasks.iter().map(put).collect();
        batch.push(checkpoint(tasks[0].id, json!({ "batch": b })));
        store.commit(&batch).unwrap();
    }
    std::process::abort();
}

#[test]
fn commits_survive_an_abort_of_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("taskward.db");
    let status = Command::new(std::env::current_exe().unwrap())
        .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(DB, &path)
        .status()
        .unwrap();
    assert!(!status.success(), "the child aborts: {status}");

    let mut store = SqliteStore::open(&path, Durability::Process).unwrap();
    let loaded = store.load().unwrap();
    assert_eq!(loaded.tasks.len() as u64, BATCHES * 50);
    let seqs: Vec<u64> = loaded.tasks.iter().map(|t| t.record.seq).collect();
    assert_eq!(seqs, (0..BATCHES * 50).collect::<Vec<_>>());
    let last = &loaded.tasks[((BATCHES - 1) * 50) as usize];
    assert_eq!(
        last.checkpoint.as_deref(),
        Some(&json!({ "batch": BATCHES - 1 }))
    );
}
