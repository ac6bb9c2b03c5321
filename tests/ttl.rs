//! Semantic 7, TTL: the requested TTL is capped by the maximum and reported as the effective
//! one (or rejected, when configured); when it elapses a terminal task is removed and a live one
//! is cancelled by expiry and then removed; afterwards get says not found.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{SWEEP, secs, ward_with_sweep};
use serde_json::json;
use taskward::{
    CancelledBy, Error, EventFilter, EventKind, ListQuery, Outcome, Scope, Status, TaskContext,
    TaskEvent, TaskSpec, Taskward,
};

/// The next non-progress event, within a minute of virtual time.
async fn next_event(sub: &mut taskward::Subscription) -> TaskEvent {
    tokio::time::timeout(secs(60), common::next_event(sub))
        .await
        .expect("an event within a minute")
}

// ------------------------------------------------------------------ effective TTL

#[tokio::test(start_paused = true)]
async fn requested_ttl_above_the_maximum_is_capped_and_reported() {
    let ward = Taskward::builder()
        .max_ttl(secs(60))
        .default_ttl(secs(30))
        .spawn()
        .await
        .unwrap();
    let instant = || common::instant(json!(1));

    let capped = ward
        .submit(TaskSpec::new("long").ttl(secs(3600)), instant())
        .await
        .unwrap();
    assert_eq!(capped.record().ttl, Some(secs(60)));
    assert_eq!(capped.get().unwrap().ttl, Some(secs(60)));

    let below = ward
        .submit(TaskSpec::new("short").ttl(secs(10)), instant())
        .await
        .unwrap();
    assert_eq!(below.get().unwrap().ttl, Some(secs(10)));

    let exactly = ward
        .submit(TaskSpec::new("max").ttl(secs(60)), instant())
        .await
        .unwrap();
    assert_eq!(exactly.get().unwrap().ttl, Some(secs(60)));

    let default = ward.submit(TaskSpec::new("none"), instant()).await.unwrap();
    assert_eq!(default.get().unwrap().ttl, Some(secs(30)));
}

#[tokio::test(start_paused = true)]
async fn capped_ttl_is_the_one_enforced() {
    let ward = Taskward::builder()
        .max_ttl(secs(10))
        .sweep_interval(SWEEP)
        .spawn()
        .await
        .unwrap();
    let scope = Scope::session("s");
    let task = ward
        .submit(
            TaskSpec::new("asks-an-hour")
                .scope(scope.clone())
                .ttl(secs(3600)),
            common::instant(json!(1)),
        )
        .await
        .unwrap();
    task.wait().await.unwrap();
    tokio::time::sleep(secs(11)).await;
    assert!(matches!(
        ward.get(&scope, task.id()),
        Err(Error::NotFound(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn ttl_above_the_maximum_is_rejected_when_configured_and_nothing_is_created() {
    let ward = Taskward::builder()
        .max_ttl(secs(60))
        .reject_ttl_above_max(true)
        .spawn()
        .await
        .unwrap();
    let scope = Scope::session("s");
    let mut events = ward.subscribe(EventFilter::all());
    let called = Arc::new(AtomicBool::new(false));
    let flag = called.clone();

    let err = ward
        .submit(
            TaskSpec::new("too-long").scope(scope.clone()).ttl(secs(61)),
            move |_ctx: TaskContext| {
                flag.store(true, Ordering::SeqCst);
                async move { Ok(json!(1)) }
            },
        )
        .await
        .expect_err("rejected");
    match err {
        Error::TtlAboveMaximum { requested, max } => {
            assert_eq!(requested, secs(61));
            assert_eq!(max, secs(60));
        }
        other => panic!("expected TtlAboveMaximum, got {other:?}"),
    }

    // Nothing was created: no record, no event, no work.
    let status = ward.status().await.unwrap();
    assert_eq!(status.tasks, 0);
    assert_eq!(status.live, 0);
    assert!(
        ward.list(&scope, &ListQuery::new())
            .unwrap()
            .tasks
            .is_empty()
    );
    assert!(nothing_pending(&mut events));
    assert!(!called.load(Ordering::SeqCst));

    // At the maximum it is accepted as asked.
    let ok = ward
        .submit(
            TaskSpec::new("at-max").scope(scope.clone()).ttl(secs(60)),
            common::instant(json!(1)),
        )
        .await
        .unwrap();
    assert_eq!(ok.record().ttl, Some(secs(60)));
    assert_eq!(ward.status().await.unwrap().tasks, 1);
}

/// Whether a subscription has no event pending right now.
fn nothing_pending(sub: &mut taskward::Subscription) -> bool {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    let mut recv = std::pin::pin!(sub.recv());
    matches!(
        recv.as_mut().poll(&mut Context::from_waker(Waker::noop())),
        Poll::Pending
    )
}

// ------------------------------------------------------------------ expiry

#[tokio::test(start_paused = true)]
async fn terminal_task_is_removed_when_its_ttl_elapses_from_creation() {
    let ward = ward_with_sweep().await;
    let scope = Scope::session("s");
    // The work takes 4 s; the TTL counts from creation, not from the end.
    let task = ward
        .submit(
            TaskSpec::new("done-early")
                .scope(scope.clone())
                .ttl(secs(10)),
            |ctx: TaskContext| common::sleepy(ctx, secs(4)),
        )
        .await
        .unwrap();
    let id = task.id();
    assert_eq!(
        task.wait().await.unwrap(),
        Outcome::completed(json!("slept"))
    );
    let mut events = ward.subscribe(EventFilter::all().task(id));

    // Just before the TTL: still there, terminal, listed.
    tokio::time::sleep(Duration::from_millis(5_800)).await;
    let record = ward.get(&scope, id).unwrap();
    assert_eq!(record.status, Status::Completed);
    assert_eq!(ward.list(&scope, &ListQuery::new()).unwrap().tasks.len(), 1);

    // Just after it (one sweep later): gone.
    tokio::time::sleep(SWEEP * 3).await;
    assert!(matches!(ward.get(&scope, id), Err(Error::NotFound(x)) if x == id));
    assert!(matches!(
        ward.wait(&scope, id).await,
        Err(Error::NotFound(_))
    ));
    assert!(
        ward.list(&scope, &ListQuery::new())
            .unwrap()
            .tasks
            .is_empty()
    );
    let status = ward.status().await.unwrap();
    assert_eq!(status.tasks, 0);
    assert_eq!(status.count(Status::Completed), 0);

    let e = next_event(&mut events).await;
    assert_eq!(e.task_id, id);
    assert_eq!(e.scope, scope);
    assert_eq!(e.kind, EventKind::Expired);
}

#[tokio::test(start_paused = true)]
async fn live_task_is_cancelled_by_expiry_then_removed_and_its_waiter_wakes() {
    let ward = ward_with_sweep().await;
    let scope = Scope::session("s");
    let saw_cancel = Arc::new(AtomicBool::new(false));
    let flag = saw_cancel.clone();
    let started = tokio::time::Instant::now();
    let task = ward
        .submit(
            TaskSpec::new("forever").scope(scope.clone()).ttl(secs(10)),
            move |ctx: TaskContext| {
                let flag = flag.clone();
                async move {
                    let r = common::sleepy(ctx.clone(), secs(3600)).await;
                    flag.store(ctx.is_cancelled(), Ordering::SeqCst);
                    r
                }
            },
        )
        .await
        .unwrap();
    let id = task.id();
    let mut events = ward.subscribe(EventFilter::all().task(id).without_progress());

    // A waiter blocked in wait() before the TTL elapses.
    let waiter = {
        let ward = ward.clone();
        let scope = scope.clone();
        tokio::spawn(async move {
            let outcome = ward.wait(&scope, id).await;
            (outcome, tokio::time::Instant::now())
        })
    };

    tokio::time::sleep(Duration::from_millis(9_800)).await;
    assert_eq!(ward.get(&scope, id).unwrap().status, Status::Working);
    assert!(!waiter.is_finished());

    let (outcome, woke_at) = tokio::time::timeout(secs(60), waiter)
        .await
        .expect("the waiter woke")
        .unwrap();
    let outcome = outcome.expect("wait returns the outcome, not not-found");
    let cancellation = outcome.cancellation().expect("cancelled");
    assert_eq!(cancellation.by, CancelledBy::Expiry);
    let woke = woke_at - started;
    assert!(woke >= secs(10) && woke < secs(11), "{woke:?}");

    // Removed right after: get says not found.
    tokio::time::sleep(SWEEP * 2).await;
    assert!(matches!(ward.get(&scope, id), Err(Error::NotFound(_))));
    assert!(
        ward.list(&scope, &ListQuery::new())
            .unwrap()
            .tasks
            .is_empty()
    );
    let status = ward.status().await.unwrap();
    assert_eq!(status.tasks, 0);
    assert_eq!(status.live, 0);

    // The work saw its token fire.
    tokio::time::sleep(secs(1)).await;
    assert!(saw_cancel.load(Ordering::SeqCst));
    assert_eq!(ward.status().await.unwrap().live_runners, 0);

    // Cancelled (by expiry), then expired, in that order.
    let mut kinds = Vec::new();
    loop {
        let e = next_event(&mut events).await;
        let expired = e.kind == EventKind::Expired;
        kinds.push(e.kind);
        if expired {
            break;
        }
    }
    let cancelled_at = kinds
        .iter()
        .position(|k| matches!(k, EventKind::Cancelled(c) if c.by == CancelledBy::Expiry))
        .expect("a cancelled-by-expiry event");
    assert_eq!(cancelled_at, kinds.len() - 2, "{kinds:?}");
}

#[tokio::test(start_paused = true)]
async fn expired_task_frees_its_idempotency_key_and_live_slot() {
    let ward = Taskward::builder()
        .sweep_interval(SWEEP)
        .max_live_per_scope(1)
        .spawn()
        .await
        .unwrap();
    let scope = Scope::session("s");
    let first = ward
        .submit(
            TaskSpec::new("a")
                .scope(scope.clone())
                .ttl(secs(5))
                .idempotency_key("k"),
            |ctx: TaskContext| common::sleepy(ctx, secs(3600)),
        )
        .await
        .unwrap();
    tokio::time::sleep(secs(6)).await;
    assert!(matches!(first.get(), Err(Error::NotFound(_))));

    let second = ward
        .submit(
            TaskSpec::new("a")
                .scope(scope.clone())
                .ttl(secs(5))
                .idempotency_key("k"),
            |ctx: TaskContext| common::sleepy(ctx, secs(3600)),
        )
        .await
        .expect("the slot and the key are free again");
    assert!(!second.is_deduplicated());
    assert_ne!(second.id(), first.id());
}

#[tokio::test(start_paused = true)]
async fn tasks_without_ttl_are_kept() {
    let ward = Taskward::builder()
        .sweep_interval(secs(60))
        .no_default_ttl()
        .spawn()
        .await
        .unwrap();
    let task = ward
        .submit(TaskSpec::new("kept"), common::instant(json!(1)))
        .await
        .unwrap();
    assert_eq!(task.record().ttl, None);
    task.wait().await.unwrap();
    tokio::time::sleep(secs(2 * 86_400)).await;
    assert_eq!(task.get().unwrap().status, Status::Completed);
}

#[tokio::test(start_paused = true)]
async fn ttl_elapsing_during_retry_wait_cancels_and_stops_the_retries() {
    let ward = ward_with_sweep().await;
    let scope = Scope::session("s");
    let calls = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counter = calls.clone();
    let task = ward
        .submit(
            TaskSpec::new("retrying")
                .scope(scope.clone())
                .ttl(secs(10))
                .restart(taskward::Restart::transient(
                    5,
                    taskward::Backoff::fixed(secs(30)),
                )),
            move |_ctx: TaskContext| {
                counter.fetch_add(1, Ordering::SeqCst);
                async move { Err(taskward::TaskError::new("fails")) }
            },
        )
        .await
        .unwrap();
    let id = task.id();
    tokio::time::sleep(secs(5)).await;
    assert_eq!(task.get().unwrap().phase, Some(taskward::Phase::RetryWait));

    let outcome = tokio::time::timeout(secs(60), task.wait())
        .await
        .expect("woke")
        .unwrap();
    assert_eq!(outcome.cancellation().unwrap().by, CancelledBy::Expiry);
    tokio::time::sleep(secs(1)).await;
    assert!(matches!(ward.get(&scope, id), Err(Error::NotFound(_))));

    // The attempt scheduled for t = 30 s never runs.
    tokio::time::sleep(secs(120)).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let status = ward.status().await.unwrap();
    assert_eq!((status.tasks, status.live, status.live_runners), (0, 0, 0));
}
