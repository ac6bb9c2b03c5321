//! The checks of one batch on a store opened directly, without a runtime: a batch applies in
//! order, so the last write of each task and session wins, and a checkpoint follows the task
//! it belongs to.

use std::sync::Arc;

use serde_json::json;
use taskward::{DurableStore, StoreWrite};

use crate::contract::records::{checkpoint, completed, put, session, working};
use crate::contract::{Rig, Storage};

fn open<S: Storage>(rig: &Rig<S>) -> Box<dyn DurableStore> {
    rig.open().expect("a storage with a durable store")
}

/// Two puts of a task in one batch: the later one is stored.
pub async fn batch_keeps_the_last_put_of_a_task<S: Storage>(rig: &Rig<S>) {
    let mut store = open(rig);
    let a = working(1);
    let done = completed(&a);
    store.commit(&[put(&a), put(&done)]).unwrap();
    let loaded = open(rig).load().unwrap();
    assert_eq!(loaded.tasks.len(), 1);
    assert_eq!(loaded.tasks[0].record, done);
}

/// A put, its checkpoint, then its removal: nothing is left.
pub async fn batch_put_then_remove_leaves_nothing<S: Storage>(rig: &Rig<S>) {
    let mut store = open(rig);
    let a = working(1);
    store
        .commit(&[
            put(&a),
            checkpoint(a.id, json!(1)),
            StoreWrite::Remove(a.id),
        ])
        .unwrap();
    assert!(open(rig).load().unwrap().tasks.is_empty());
}

/// A removal drops the task's checkpoint, even when the task is put again after it (in the
/// same batch or a later one).
pub async fn batch_a_remove_drops_the_checkpoint_of_a_task_put_again<S: Storage>(rig: &Rig<S>) {
    let mut store = open(rig);
    let (a, b) = (working(1), working(2));
    store
        .commit(&[put(&a), put(&b), checkpoint(b.id, json!("old"))])
        .unwrap();
    store
        .commit(&[
            checkpoint(a.id, json!("old")),
            StoreWrite::Remove(a.id),
            put(&a),
            StoreWrite::Remove(b.id),
        ])
        .unwrap();
    store.commit(&[put(&completed(&b))]).unwrap();
    let loaded = open(rig).load().unwrap();
    let stored: Vec<_> = loaded
        .tasks
        .iter()
        .map(|t| (t.record.clone(), t.checkpoint.clone()))
        .collect();
    assert_eq!(stored, [(a, None), (completed(&b), None)]);
}

/// A checkpoint is kept across puts of its task, before or after it in the batch and in
/// later batches; of several, the last wins.
pub async fn batch_a_checkpoint_is_kept_across_puts<S: Storage>(rig: &Rig<S>) {
    let mut store = open(rig);
    let (a, b) = (working(1), working(2));
    store.commit(&[put(&a), put(&b)]).unwrap();
    store
        .commit(&[
            checkpoint(a.id, json!("a")),
            put(&completed(&a)),
            put(&completed(&b)),
            checkpoint(b.id, json!("b1")),
            checkpoint(b.id, json!("b2")),
        ])
        .unwrap();
    store.commit(&[put(&completed(&a))]).unwrap();
    let loaded = open(rig).load().unwrap();
    let checkpoints: Vec<_> = loaded
        .tasks
        .iter()
        .map(|t| t.checkpoint.as_deref().cloned())
        .collect();
    assert_eq!(checkpoints, [Some(json!("a")), Some(json!("b2"))]);
    assert_eq!(loaded.tasks[0].record, completed(&a));
}

/// A checkpoint of a task the store does not hold is ignored.
pub async fn batch_a_checkpoint_of_a_missing_task_is_ignored<S: Storage>(rig: &Rig<S>) {
    let mut store = open(rig);
    store
        .commit(&[checkpoint(working(1).id, json!(1))])
        .unwrap();
    assert!(open(rig).load().unwrap().tasks.is_empty());
}

/// The last write of each session wins, a removal included; removals of tasks and sessions
/// leave the others.
pub async fn batch_keeps_the_last_write_of_a_session<S: Storage>(rig: &Rig<S>) {
    let mut store = open(rig);
    let (a, b) = (working(1), working(2));
    let mut later = session("s-1");
    later.data = json!({ "protocolVersion": "2026-07-28" });
    store
        .commit(&[
            put(&a),
            put(&b),
            StoreWrite::Session(Arc::new(session("s-1"))),
            StoreWrite::Session(Arc::new(later.clone())),
            StoreWrite::Session(Arc::new(session("s-2"))),
            StoreWrite::Session(Arc::new(session("s-3"))),
            StoreWrite::SessionRemove("s-2".into()),
        ])
        .unwrap();
    store
        .commit(&[
            StoreWrite::Remove(a.id),
            StoreWrite::SessionRemove("s-3".into()),
        ])
        .unwrap();
    let loaded = open(rig).load().unwrap();
    let records: Vec<_> = loaded.tasks.iter().map(|t| &t.record).collect();
    assert_eq!(records, [&b]);
    assert_eq!(loaded.sessions, [later]);
}
