//! The contract's checks, each generic over the storage (see the module docs of `contract`).
//!
//! A check first asserts what the runtime serves, then, when the rig has a durable store,
//! what a fresh open of the storage reads back. A "barrier" (a submit in a scope of its own)
//! makes every write queued before it durable: its commit covers them.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use taskward::{
    Error, Event, EventFilter, EventKind, Loaded, Scope, Status, StoreWrite, StoredTask,
    TaskContext, TaskError, TaskId, TaskSpec, Taskward,
};
use tokio::sync::{Notify, mpsc};

use super::{Rig, Storage};
use crate::common::{self, HOUR, instant, long};

const SECOND: Duration = Duration::from_secs(1);

fn scope() -> Scope {
    Scope::session("contract")
}

/// Makes every write queued so far durable (a submit returns once its commit, which takes
/// everything queued before it, is durable).
async fn barrier(ward: &Taskward) {
    ward.submit(
        TaskSpec::new("barrier").scope(Scope::session("barrier")),
        instant(Value::Null),
    )
    .await
    .expect("barrier");
}

fn find(loaded: &Loaded, id: TaskId) -> Option<&StoredTask> {
    loaded.tasks.iter().find(|t| t.record.id == id)
}

/// Asserts that the storage holds exactly the record the runtime serves for `id`.
fn assert_stored_as_served<S: Storage>(rig: &Rig<S>, ward: &Taskward, id: TaskId) {
    let served = ward.get(&scope(), id).expect("served");
    if let Some(loaded) = rig.stored() {
        let stored = find(&loaded, id).expect("the task is stored");
        assert_eq!(
            stored.record, *served,
            "the store holds what the runtime serves"
        );
    }
}

async fn shutdown(ward: &Taskward) {
    ward.shutdown(SECOND).await.expect("shutdown");
}

/// A task's record is in the storage when its submit returns.
pub async fn submit_is_durable_when_it_returns<S: Storage>(rig: &Rig<S>) {
    let ward = rig.start().await;
    let task = ward
        .submit(TaskSpec::new("job").scope(scope()), long)
        .await
        .unwrap();
    assert_eq!(task.record().status, Status::Working);
    if let Some(loaded) = rig.stored() {
        let stored = find(&loaded, task.id()).expect("stored when submit returns");
        assert_eq!(stored.record.status, Status::Working);
        assert_eq!(stored.record.name.as_ref(), "job");
    }
    shutdown(&ward).await;
}

/// Work that asks for `ok?` and returns the answer.
async fn asker(ctx: TaskContext) -> Result<Value, TaskError> {
    let answer = ctx.request_input("ok?", json!({ "ask": "ok?" })).await?;
    Ok(json!({ "answer": answer }))
}

/// Statuses with repeats in a row collapsed.
fn collapsed(statuses: impl IntoIterator<Item = Status>) -> Vec<Status> {
    let mut out: Vec<Status> = Vec::new();
    for s in statuses {
        if out.last() != Some(&s) {
            out.push(s);
        }
    }
    out
}

fn is_subsequence(of: &[Status], seq: &[Status]) -> bool {
    let mut it = of.iter();
    seq.iter().all(|s| it.any(|o| o == s))
}

/// Every transition reaches the storage, in order: input_required and back, completion,
/// cancel, failure; the storage holds what the runtime serves after each.
pub async fn transitions_reach_the_store_in_order<S: Storage>(rig: &Rig<S>) {
    let ward = rig.start().await;
    let scope = scope();
    let asked = ward
        .submit(TaskSpec::new("asker").scope(scope.clone()), asker)
        .await
        .unwrap();
    let mut events = ward.subscribe(EventFilter::all().task(asked.id()));
    while ward.get(&scope, asked.id()).unwrap().status != Status::InputRequired {
        events.recv().await.expect("events");
    }
    barrier(&ward).await;
    assert_stored_as_served(rig, &ward, asked.id());
    ward.provide_input(&scope, asked.id(), "ok?", json!(true))
        .await
        .unwrap();
    asked.wait().await.unwrap();
    let cancelled = ward
        .submit(TaskSpec::new("cancelled").scope(scope.clone()), long)
        .await
        .unwrap();
    cancelled.cancel(Some("no longer".into())).await.unwrap();
    let failed = common::submit_failing(&ward, &scope, "failed", "no disk").await;
    failed.wait().await.unwrap();
    barrier(&ward).await;
    for (task, status) in [
        (&asked, Status::Completed),
        (&cancelled, Status::Cancelled),
        (&failed, Status::Failed),
    ] {
        assert_eq!(ward.get(&scope, task.id()).unwrap().status, status);
        assert_stored_as_served(rig, &ward, task.id());
    }
    if rig.durable() {
        let puts = rig.log().into_iter().filter_map(|w| match w {
            StoreWrite::Put(r) if r.id == asked.id() => Some(r.status),
            _ => None,
        });
        let seen = collapsed(puts);
        let made = [
            Status::Working,
            Status::InputRequired,
            Status::Working,
            Status::Completed,
        ];
        assert!(is_subsequence(&made, &seen), "stored in order: {seen:?}");
        assert_eq!(seen.last(), Some(&Status::Completed));
    }
    shutdown(&ward).await;
}

/// A finished task evicted by a retention cap leaves the storage too.
pub async fn removal_on_eviction_reaches_the_store<S: Storage>(rig: &Rig<S>) {
    let ward = rig
        .builder()
        .max_retained_tasks_per_scope(2)
        .spawn()
        .await
        .unwrap();
    let scope = scope();
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            common::completed(&ward, &scope, "done", json!(i))
                .await
                .id(),
        );
    }
    assert!(matches!(ward.get(&scope, ids[0]), Err(Error::NotFound(_))));
    barrier(&ward).await;
    if let Some(loaded) = rig.stored() {
        assert!(
            find(&loaded, ids[0]).is_none(),
            "the eviction reached the store"
        );
        assert!(find(&loaded, ids[1]).is_some() && find(&loaded, ids[2]).is_some());
    }
    shutdown(&ward).await;
}

/// Keeps a paused clock from jumping ahead while the runtime waits for the store's writer
/// thread (which tokio does not see): a task that always yields, so the runtime is never idle
/// and time moves only with `tokio::time::advance`.
struct Awake(tokio::task::JoinHandle<()>);

impl Drop for Awake {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn awake() -> Awake {
    Awake(tokio::spawn(async {
        loop {
            tokio::task::yield_now().await;
        }
    }))
}

/// A finished task removed when its TTL elapses leaves the storage too (paused clock).
pub async fn removal_on_expiry_reaches_the_store<S: Storage>(rig: &Rig<S>) {
    let _awake = awake();
    let ward = rig
        .builder()
        .sweep_interval(Duration::from_secs(60))
        .spawn()
        .await
        .unwrap();
    let scope = scope();
    let task = ward
        .submit(
            TaskSpec::new("short-lived").scope(scope.clone()).ttl(HOUR),
            instant(json!(1)),
        )
        .await
        .unwrap();
    let mut events = ward.subscribe(EventFilter::all().task(task.id()));
    task.wait().await.unwrap();
    barrier(&ward).await;
    if let Some(loaded) = rig.stored() {
        assert!(
            find(&loaded, task.id()).is_some(),
            "stored before it expires"
        );
    }
    tokio::time::advance(2 * HOUR).await;
    loop {
        match events.recv().await.expect("events") {
            Event::Task(e) if matches!(e.kind, EventKind::Expired) => break,
            _ => {}
        }
    }
    assert!(matches!(
        ward.get(&scope, task.id()),
        Err(Error::NotFound(_))
    ));
    barrier(&ward).await;
    if let Some(loaded) = rig.stored() {
        assert!(
            find(&loaded, task.id()).is_none(),
            "the expiry reached the store"
        );
    }
    shutdown(&ward).await;
}

/// Many checkpoints while commits are held: one write (or two, if the writer had taken the
/// first) reaches the storage, and it is the last one.
pub async fn checkpoints_coalesce_to_the_last_one<S: Storage>(rig: &Rig<S>) {
    let go = Arc::new(Notify::new());
    let (done_tx, mut done) = mpsc::unbounded_channel();
    let work_go = go.clone();
    let ward = rig
        .builder()
        .register("ticker", move |ctx: TaskContext, _input| {
            let (go, done) = (work_go.clone(), done_tx.clone());
            async move {
                go.notified().await;
                for i in 1..=1000 {
                    ctx.checkpoint(json!(i));
                }
                let _ = done.send(());
                ctx.cancelled().await;
                Err(TaskError::cancelled())
            }
        })
        .spawn()
        .await
        .unwrap();
    let task = ward
        .submit_kind(TaskSpec::new("ticker").scope(scope()), json!({}))
        .await
        .unwrap();
    rig.hold();
    go.notify_one();
    done.recv().await.expect("the work checkpointed");
    rig.release();
    barrier(&ward).await;
    if let Some(loaded) = rig.stored() {
        let stored = find(&loaded, task.id()).expect("stored");
        assert_eq!(stored.checkpoint.as_deref(), Some(&json!(1000)));
        let written: Vec<_> = rig
            .log()
            .into_iter()
            .filter_map(|w| match w {
                StoreWrite::Checkpoint(id, v) if id == task.id() => Some((*v).clone()),
                _ => None,
            })
            .collect();
        assert!(written.len() <= 2, "coalesced: {} writes", written.len());
        assert_eq!(written.last(), Some(&json!(1000)));
    }
    shutdown(&ward).await;
}

mod batch;
mod restart;
pub use batch::*;
pub use restart::*;
