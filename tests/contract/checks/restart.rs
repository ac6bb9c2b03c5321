//! The checks that need a restart: a second process on the same storage.

use std::sync::Arc;

use serde_json::{Value, json};
use taskward::{
    FailureCause, ListQuery, Outcome, SessionRecord, Status, TaskContext, TaskError, TaskSpec,
    Taskward,
};
use tokio::sync::mpsc;

use super::{barrier, find, scope, shutdown};
use crate::common::{self, instant, long};
use crate::contract::{Rig, Storage};

/// Finished tasks are served after a restart exactly as before, and stored as served.
pub async fn finished_tasks_reload_exactly_as_before<S: Storage>(rig: &Rig<S>) {
    let ward = rig.start().await;
    let scope = scope();
    let done = common::completed(&ward, &scope, "done", json!({ "n": 42 })).await;
    let failed = common::submit_failing(&ward, &scope, "failed", "no disk").await;
    failed.wait().await.unwrap();
    let cancelled = ward
        .submit(TaskSpec::new("cancelled").scope(scope.clone()), long)
        .await
        .unwrap();
    cancelled.cancel(Some("enough".into())).await.unwrap();
    let ids = [done.id(), failed.id(), cancelled.id()];
    let before: Vec<_> = ids
        .iter()
        .map(|id| ward.get(&scope, *id).unwrap())
        .collect();
    shutdown(&ward).await;

    let ward = rig.start().await;
    for record in &before {
        assert_eq!(&ward.get(&scope, record.id).unwrap(), record);
        assert_eq!(
            &ward.wait(&scope, record.id).await.unwrap(),
            record.outcome.as_ref().unwrap()
        );
    }
    let loaded = rig.stored().expect("a durable store");
    for record in &before {
        assert_eq!(&find(&loaded, record.id).unwrap().record, &**record);
    }
    shutdown(&ward).await;
}

/// A closure task live when its process died comes back failed `interrupted`, and stays so.
pub async fn live_closure_tasks_come_back_failed_interrupted<S: Storage>(rig: &Rig<S>) {
    let first = rig.start().await;
    let task = first
        .submit(TaskSpec::new("long").scope(scope()), long)
        .await
        .unwrap();
    // The first process dies now: the second starts on what the storage holds.
    let second = rig.start().await;
    let record = second.get(&scope(), task.id()).unwrap();
    assert_eq!(record.status, Status::Failed);
    match second.wait(&scope(), task.id()).await.unwrap() {
        Outcome::Failed(f) => assert_eq!(f.cause, FailureCause::Interrupted),
        other => panic!("expected interrupted, got {other:?}"),
    }
    assert_eq!(second.status().await.unwrap().live, 0);
    barrier(&second).await;
    let stored = rig.stored().expect("a durable store");
    assert_eq!(find(&stored, task.id()).unwrap().record, *record);
    shutdown(&second).await;
    shutdown(&first).await;
}

/// Counts from its last checkpoint to `input.to`; parks at `input.park_at` on attempt 1.
async fn count(
    ctx: TaskContext,
    input: Value,
    at: mpsc::UnboundedSender<u64>,
) -> Result<Value, TaskError> {
    let to = input["to"].as_u64().unwrap_or(10);
    let from = ctx.last_checkpoint().and_then(|c| c.as_u64()).unwrap_or(0);
    let mut n = from;
    while n < to {
        n += 1;
        ctx.checkpoint(json!(n));
        let _ = at.send(n);
        if Some(n) == input["park_at"].as_u64() && ctx.attempt() == 1 {
            ctx.cancelled().await;
            return Err(TaskError::cancelled());
        }
        tokio::task::yield_now().await;
    }
    Ok(json!({ "counted": n, "from": from, "attempt": ctx.attempt() }))
}

async fn counter<S: Storage>(rig: &Rig<S>) -> (Taskward, mpsc::UnboundedReceiver<u64>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let ward = rig
        .builder()
        .register("count", move |ctx, input| count(ctx, input, tx.clone()))
        .spawn()
        .await
        .unwrap();
    (ward, rx)
}

/// A task of a registered kind live when its process died resumes from its last checkpoint.
pub async fn live_tasks_of_a_registered_kind_resume_from_their_checkpoint<S: Storage>(
    rig: &Rig<S>,
) {
    let (first, mut steps) = counter(rig).await;
    let task = first
        .submit_kind(
            TaskSpec::new("count").scope(scope()),
            json!({ "to": 8, "park_at": 5 }),
        )
        .await
        .unwrap();
    while steps.recv().await.expect("the work counts") < 5 {}
    barrier(&first).await;
    let (second, _steps) = counter(rig).await;
    let record = second.get(&scope(), task.id()).unwrap();
    assert_eq!(record.status, Status::Working, "resumed: {record:?}");
    assert_eq!(record.attempt, 2);
    assert_eq!(
        second.wait(&scope(), task.id()).await.unwrap(),
        Outcome::completed(json!({ "counted": 8, "from": 5, "attempt": 2 }))
    );
    shutdown(&second).await;
    shutdown(&first).await;
}

/// Sessions persisted come back as they were; forgotten ones do not.
pub async fn sessions_round_trip<S: Storage>(rig: &Rig<S>) {
    let ward = rig.start().await;
    let mut kept = SessionRecord::new("kept", Some("alice".into()));
    kept.data = json!({ "protocol": "2025-11-25" });
    kept.expires_at = Some(kept.created_at + time::Duration::hours(1));
    ward.persist_session(Arc::new(kept.clone()));
    ward.persist_session(Arc::new(SessionRecord::new("closed", None)));
    barrier(&ward).await;
    // Closed in a later commit than the one that stored it.
    ward.forget_session("closed");
    shutdown(&ward).await;

    let ward = rig.start().await;
    assert_eq!(ward.take_restored_sessions(), vec![kept.clone()]);
    assert_eq!(rig.stored().expect("a durable store").sessions, vec![kept]);
    shutdown(&ward).await;
}

/// Creation order, pages and their cursors read the same after a restart.
pub async fn list_order_and_cursors_are_stable_across_a_restart<S: Storage>(rig: &Rig<S>) {
    let ward = rig.start().await;
    let scope = scope();
    for i in 0..5 {
        common::completed(&ward, &scope, &format!("t{i}"), json!(i)).await;
    }
    let pages = |ward: &Taskward| {
        let first = ward.list(&scope, &ListQuery::new().limit(2)).unwrap();
        let cursor = first.next_cursor.expect("more than one page");
        let second = ward
            .list(&scope, &ListQuery::new().limit(2).after(cursor))
            .unwrap();
        (
            first.tasks,
            cursor,
            second,
            ward.list(&scope, &ListQuery::new()).unwrap(),
        )
    };
    let before = pages(&ward);
    shutdown(&ward).await;

    let ward = rig.start().await;
    let after = pages(&ward);
    assert_eq!(after.0, before.0, "the first page");
    assert_eq!(after.1, before.1, "its cursor");
    assert_eq!(after.2.tasks, before.2.tasks, "the page after the cursor");
    assert_eq!(after.2.next_cursor, before.2.next_cursor);
    assert_eq!(
        after.3.tasks, before.3.tasks,
        "the whole list, in creation order"
    );
    // A task created after the restart comes after every restored one.
    let new = common::completed(&ward, &scope, "new", json!("new")).await;
    let all = ward.list(&scope, &ListQuery::new()).unwrap().tasks;
    assert_eq!(all.last().map(|r| r.id), Some(new.id()));
    shutdown(&ward).await;
}

/// An idempotency key still returns its task after a restart.
pub async fn idempotency_keys_survive_a_restart<S: Storage>(rig: &Rig<S>) {
    let ward = rig.start().await;
    let spec = || TaskSpec::new("keyed").scope(scope()).idempotency_key("k1");
    let first = ward.submit(spec(), instant(json!(1))).await.unwrap();
    first.wait().await.unwrap();
    shutdown(&ward).await;

    let ward = rig.start().await;
    let again = ward.submit(spec(), instant(json!(2))).await.unwrap();
    assert_eq!(again.id(), first.id(), "the key still dedupes");
    assert_eq!(again.wait().await.unwrap(), Outcome::completed(json!(1)));
    shutdown(&ward).await;
}
