//! One batch, one transaction: the last write of each task and session wins, checkpoints
//! follow the rules of the crate docs, and a batch that fails leaves nothing behind.

mod common;

use std::sync::Arc;

use common::{checkpoint, completed, connect, fresh, put, session, working};
use serde_json::json;
use taskward_core::{DurableStore, StoreWrite};

#[test]
fn the_last_put_of_a_task_wins() {
    let (_server, url) = fresh();
    let mut store = connect(&url);
    let a = working(1);
    let done = completed(&a);
    store.commit(&[put(&a), put(&done)]).unwrap();
    let loaded = store.load().unwrap();
    assert_eq!(loaded.tasks.len(), 1);
    assert_eq!(loaded.tasks[0].record, done);
}

#[test]
fn put_then_remove_deletes_and_drops_the_checkpoint() {
    let (_server, url) = fresh();
    let mut store = connect(&url);
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
    let (_server, url) = fresh();
    let mut store = connect(&url);
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
    let (_server, url) = fresh();
    let mut store = connect(&url);
    let a = working(1);
    store
        .commit(&[
            put(&a),
            checkpoint(a.id, json!(1)),
            StoreWrite::Remove(a.id),
            put(&a),
        ])
        .unwrap();
    let loaded = store.load().unwrap();
    assert_eq!(loaded.tasks.len(), 1);
    assert_eq!(loaded.tasks[0].checkpoint, None);
}

#[test]
fn a_checkpoint_of_a_task_not_in_the_table_is_ignored() {
    let (_server, url) = fresh();
    let mut store = connect(&url);
    let a = working(1);
    store.commit(&[checkpoint(a.id, json!(1))]).unwrap();
    assert!(store.load().unwrap().tasks.is_empty());
}

#[test]
fn the_last_write_of_a_session_wins() {
    let (_server, url) = fresh();
    let mut store = connect(&url);
    let mut later = session("s-1");
    later.data = json!({ "protocolVersion": "2026-07-28" });
    store
        .commit(&[
            StoreWrite::Session(Arc::new(session("s-1"))),
            StoreWrite::Session(Arc::new(later.clone())),
            StoreWrite::Session(Arc::new(session("s-2"))),
            StoreWrite::SessionRemove("s-2".into()),
        ])
        .unwrap();
    assert_eq!(store.load().unwrap().sessions, [later]);
}

#[test]
fn a_batch_that_fails_leaves_nothing_and_the_store_goes_on() {
    let (_server, url) = fresh();
    let mut store = connect(&url);
    let kept = working(1);
    store.commit(&[put(&kept)]).unwrap();
    // `text` refuses U+0000: the session statement fails, after the task rows and the
    // checkpoint were written in the same transaction.
    let (a, b) = (working(2), working(3));
    let mut bad = session("s-1");
    bad.principal = Some("nul \u{0} inside".into());
    let failed = store.commit(&[
        put(&a),
        put(&b),
        StoreWrite::Remove(kept.id),
        checkpoint(a.id, json!(1)),
        StoreWrite::Session(Arc::new(bad)),
    ]);
    let error = failed.expect_err("text refuses U+0000");
    assert!(error.to_string().contains("write sessions"), "{error}");
    let loaded = store.load().unwrap();
    let records: Vec<_> = loaded.tasks.iter().map(|t| &t.record).collect();
    assert_eq!(records, [&kept]);
    assert!(loaded.sessions.is_empty());
    // The connection is still good: the next batch commits.
    store.commit(&[put(&a)]).unwrap();
    assert_eq!(store.load().unwrap().tasks.len(), 2);
}

#[test]
fn a_large_batch_is_one_commit() {
    let (_server, url) = fresh();
    let mut store = connect(&url);
    let records: Vec<_> = (1..=2_000).map(working).collect();
    let mut batch: Vec<_> = records.iter().map(put).collect();
    batch.extend(records.iter().map(|r| checkpoint(r.id, json!(r.seq))));
    store.commit(&batch).unwrap();
    let loaded = connect(&url).load().unwrap();
    assert_eq!(loaded.tasks.len(), 2_000);
    assert!(
        loaded
            .tasks
            .iter()
            .enumerate()
            .all(|(i, t)| t.record == records[i]
                && t.checkpoint.as_deref() == Some(&json!(t.record.seq)))
    );
}
