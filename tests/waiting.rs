//! Semantic 11, waiting: `wait` wakes on completion, cancel and expiry, and never misses a
//! wake-up.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use common::settle;
use serde_json::json;
use taskward::{
    CancelledBy, Error, Outcome, Scope, Status, TaskContext, TaskError, TaskSpec, Taskward,
};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// A virtual-time bound on anything that should finish: a missed wake-up fails the test
/// instead of hanging it.
const BOUND: Duration = Duration::from_secs(600);

type BoxedWork = Pin<Box<dyn Future<Output = Result<serde_json::Value, TaskError>> + Send>>;

/// Work that waits for `gate` (a permit of a notify), then returns "released".
fn gated(gate: Arc<Notify>) -> impl Fn(TaskContext) -> BoxedWork + Send + Sync + 'static {
    move |_ctx| {
        let gate = gate.clone();
        Box::pin(async move {
            gate.notified().await;
            Ok(json!("released"))
        })
    }
}

fn spawn_wait(
    ward: &Taskward,
    scope: &Scope,
    id: taskward::TaskId,
) -> JoinHandle<Result<Outcome, Error>> {
    let ward = ward.clone();
    let scope = scope.clone();
    tokio::spawn(async move { ward.wait(&scope, id).await })
}

#[tokio::test(start_paused = true)]
async fn wait_wakes_on_completion() {
    let ward = common::ward().await;
    let scope = Scope::session("w");
    let gate = Arc::new(Notify::new());
    let task = ward
        .submit(
            TaskSpec::new("gated").scope(scope.clone()),
            gated(gate.clone()),
        )
        .await
        .unwrap();
    let waiter = spawn_wait(&ward, &scope, task.id());
    settle().await;
    assert!(!waiter.is_finished(), "wait returned before the task ended");

    gate.notify_one();
    let outcome = tokio::time::timeout(BOUND, waiter)
        .await
        .expect("woken")
        .unwrap()
        .unwrap();
    assert_eq!(outcome, Outcome::completed(json!("released")));
    assert_eq!(task.get().unwrap().status, Status::Completed);
}

#[tokio::test(start_paused = true)]
async fn wait_wakes_on_cancel() {
    let ward = common::ward().await;
    let scope = Scope::session("w");
    let task = ward
        .submit(
            TaskSpec::new("long").scope(scope.clone()),
            |ctx: TaskContext| common::stubborn(ctx, Duration::from_secs(3600)),
        )
        .await
        .unwrap();
    let waiter = {
        let task = task.clone();
        tokio::spawn(async move { task.wait().await })
    };
    settle().await;
    assert!(!waiter.is_finished());

    let started = tokio::time::Instant::now();
    task.cancel(Some("stop".into())).await.unwrap();
    let outcome = tokio::time::timeout(BOUND, waiter)
        .await
        .expect("woken")
        .unwrap()
        .unwrap();
    let cancellation = outcome.cancellation().expect("cancelled");
    assert_eq!(cancellation.by, CancelledBy::Client);
    // Woken by the cancel itself, not by the work's end after its grace period.
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn wait_wakes_on_expiry() {
    let ward = common::ward_with_sweep().await;
    let scope = Scope::session("w");
    let started = tokio::time::Instant::now();
    let task = ward
        .submit(
            TaskSpec::new("forever")
                .scope(scope.clone())
                .ttl(Duration::from_secs(5)),
            |ctx: TaskContext| common::sleepy(ctx, Duration::from_secs(3600)),
        )
        .await
        .unwrap();
    let waiter = spawn_wait(&ward, &scope, task.id());
    let outcome = tokio::time::timeout(BOUND, waiter)
        .await
        .expect("woken")
        .unwrap()
        .unwrap();
    assert_eq!(
        outcome.cancellation().expect("cancelled").by,
        CancelledBy::Expiry
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(5) && took < Duration::from_secs(6),
        "woken at {took:?}"
    );
    // The expired task is gone.
    assert!(matches!(task.get(), Err(Error::NotFound(_))));
    assert!(matches!(task.wait().await, Err(Error::NotFound(_))));
}

#[tokio::test(start_paused = true)]
async fn many_waiters_all_wake() {
    let ward = common::ward().await;
    let scope = Scope::session("w");
    let gate = Arc::new(Notify::new());
    let task = ward
        .submit(
            TaskSpec::new("gated").scope(scope.clone()),
            gated(gate.clone()),
        )
        .await
        .unwrap();
    let waiters: Vec<_> = (0..200)
        .map(|_| spawn_wait(&ward, &scope, task.id()))
        .collect();
    settle().await;
    assert!(waiters.iter().all(|w| !w.is_finished()));

    gate.notify_one();
    for waiter in waiters {
        let outcome = tokio::time::timeout(BOUND, waiter)
            .await
            .expect("every waiter wakes")
            .unwrap()
            .unwrap();
        assert_eq!(outcome, Outcome::completed(json!("released")));
    }
}

#[tokio::test(start_paused = true)]
async fn a_foreign_scope_cannot_wait() {
    let ward = common::ward().await;
    let gate = Arc::new(Notify::new());
    let task = ward
        .submit(
            TaskSpec::new("gated").scope(Scope::session("mine")),
            gated(gate.clone()),
        )
        .await
        .unwrap();
    let r = ward.wait(&Scope::session("theirs"), task.id()).await;
    assert!(
        matches!(r, Err(Error::NotFound(id)) if id == task.id()),
        "{r:?}"
    );
    gate.notify_one();
    task.wait().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_waiter_after_the_end_returns_at_once() {
    let ward = common::ward().await;
    let scope = Scope::session("w");
    let done = common::submit_instant(&ward, &scope, "done", json!(7)).await;
    let failed = common::submit_failing(&ward, &scope, "failed", "nope").await;
    let cancelled = common::submit_long(&ward, &scope, "cancelled").await;
    cancelled.cancel(None).await.unwrap();
    settle().await;

    let before = tokio::time::Instant::now();
    for (task, status) in [
        (&done, Status::Completed),
        (&failed, Status::Failed),
        (&cancelled, Status::Cancelled),
    ] {
        // A zero timeout: the wait must be ready on its first poll.
        let outcome = tokio::time::timeout(Duration::ZERO, task.wait())
            .await
            .expect("an ended task's wait returns at once")
            .unwrap();
        assert_eq!(outcome.status(), status);
        assert_eq!(task.get().unwrap().outcome.as_ref(), Some(&outcome));
    }
    assert_eq!(before.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn no_wake_up_is_missed_when_completion_races_the_wait() {
    let ward = common::ward().await;
    let scope = Scope::session("race");
    let outcome = tokio::time::timeout(BOUND, async {
        for i in 0..1000u64 {
            let task = ward
                .submit(
                    TaskSpec::new("instant").scope(scope.clone()),
                    move |_ctx| async move {
                        // Some finish at once, some after a few turns of the scheduler.
                        for _ in 0..(i % 4) {
                            tokio::task::yield_now().await;
                        }
                        Ok(json!(i))
                    },
                )
                .await
                .unwrap();
            let outcome = task.wait().await.unwrap();
            assert_eq!(outcome, Outcome::completed(json!(i)));
        }
    })
    .await;
    outcome.expect("a wait missed its wake-up");
}

#[tokio::test(start_paused = true)]
async fn no_wake_up_is_missed_with_concurrent_waiters() {
    let ward = common::ward().await;
    let scope = Scope::session("race");
    let mut waiters = Vec::new();
    for i in 0..1000u64 {
        let task = ward
            .submit(
                TaskSpec::new("instant").scope(scope.clone()),
                move |_ctx| async move {
                    for _ in 0..(i % 3) {
                        tokio::task::yield_now().await;
                    }
                    Ok(json!(i))
                },
            )
            .await
            .unwrap();
        // Each waiter starts while its task may be finishing.
        waiters.push((i, spawn_wait(&ward, &scope, task.id())));
    }
    for (i, waiter) in waiters {
        let outcome = tokio::time::timeout(BOUND, waiter)
            .await
            .expect("a wait missed its wake-up")
            .unwrap()
            .unwrap();
        assert_eq!(outcome, Outcome::completed(json!(i)));
    }
}

/// The same race on several worker threads, where completion and wait really run at once.
/// The timeout only guards against a hang.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_wake_up_is_missed_across_threads() {
    let ward = common::ward().await;
    let scope = Scope::session("race");
    let run = async {
        let mut waiters = Vec::new();
        for i in 0..1000u64 {
            let ward = ward.clone();
            let scope = scope.clone();
            waiters.push(tokio::spawn(async move {
                let task = ward
                    .submit(
                        TaskSpec::new("instant").scope(scope),
                        move |_ctx| async move { Ok(json!(i)) },
                    )
                    .await
                    .unwrap();
                (i, task.wait().await.unwrap())
            }));
        }
        for waiter in waiters {
            let (i, outcome) = waiter.await.unwrap();
            assert_eq!(outcome, Outcome::completed(json!(i)));
        }
    };
    tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("a wait missed its wake-up");
    ward.shutdown(Duration::from_secs(5)).await.unwrap();
}
