//! Semantic 8, limits: maximum live tasks overall and per scope, and maximum result size. Over
//! a limit, submit fails with a typed error and nothing is created; a task that ends frees its
//! slot.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use taskward::{
    Backoff, Error, FailureCause, Limit, ListQuery, Outcome, Restart, Scope, Status, TaskContext,
    TaskHandle, TaskSpec, Taskward,
};

async fn long_task(ward: &Taskward, scope: &Scope, name: &str) -> Result<TaskHandle, Error> {
    ward.submit(TaskSpec::new(name).scope(scope.clone()), common::long)
        .await
}

fn assert_limit(result: Result<TaskHandle, Error>, expected: Limit, expected_max: u64) {
    match result {
        Err(Error::LimitExceeded { limit, max }) => {
            assert_eq!(limit, expected);
            assert_eq!(max, expected_max);
        }
        Err(other) => panic!("expected LimitExceeded({expected:?}), got {other:?}"),
        Ok(handle) => panic!(
            "expected LimitExceeded({expected:?}), got task {}",
            handle.id()
        ),
    }
}

// ------------------------------------------------------------------ live tasks overall

#[tokio::test(start_paused = true)]
async fn submit_over_max_live_tasks_fails_and_creates_nothing() {
    let ward = Taskward::builder().max_live_tasks(2).spawn().await.unwrap();
    let a = Scope::session("a");
    let b = Scope::session("b");
    let called = Arc::new(AtomicU32::new(0));

    long_task(&ward, &a, "one").await.unwrap();
    long_task(&ward, &a, "two").await.unwrap();

    let counter = called.clone();
    let over = ward
        .submit(
            TaskSpec::new("three").scope(b.clone()),
            move |_ctx: TaskContext| {
                counter.fetch_add(1, Ordering::SeqCst);
                async move { Ok(json!(3)) }
            },
        )
        .await;
    assert_limit(over, Limit::LiveTasks, 2);

    let status = ward.status().await.unwrap();
    assert_eq!(status.tasks, 2);
    assert_eq!(status.live, 2);
    assert!(ward.list(&b, &ListQuery::new()).unwrap().tasks.is_empty());
    assert_eq!(ward.list(&a, &ListQuery::new()).unwrap().tasks.len(), 2);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        called.load(Ordering::SeqCst),
        0,
        "the refused work never ran"
    );
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_task_frees_its_live_slot_at_once() {
    let ward = Taskward::builder().max_live_tasks(1).spawn().await.unwrap();
    let scope = Scope::session("s");
    let first = long_task(&ward, &scope, "first").await.unwrap();
    assert_limit(
        long_task(&ward, &scope, "second").await,
        Limit::LiveTasks,
        1,
    );

    first.cancel(None).await.unwrap();
    // Cancelled when cancel returns, so the slot is free now, grace period or not.
    let second = long_task(&ward, &scope, "second")
        .await
        .expect("slot freed");
    assert_eq!(second.get().unwrap().status, Status::Working);
    assert_limit(long_task(&ward, &scope, "third").await, Limit::LiveTasks, 1);
}

#[tokio::test(start_paused = true)]
async fn a_completed_task_frees_its_slot_and_terminal_tasks_do_not_count() {
    let ward = Taskward::builder().max_live_tasks(1).spawn().await.unwrap();
    let scope = Scope::session("s");
    let first = ward
        .submit(
            TaskSpec::new("first").scope(scope.clone()),
            |ctx: TaskContext| common::sleepy(ctx, Duration::from_secs(5)),
        )
        .await
        .unwrap();
    assert_limit(
        long_task(&ward, &scope, "second").await,
        Limit::LiveTasks,
        1,
    );

    assert_eq!(
        first.wait().await.unwrap(),
        Outcome::completed(json!("slept"))
    );
    // The completed task is still in the table but no longer live.
    let status = ward.status().await.unwrap();
    assert_eq!((status.tasks, status.live), (1, 0));
    long_task(&ward, &scope, "second")
        .await
        .expect("slot freed");
    let status = ward.status().await.unwrap();
    assert_eq!((status.tasks, status.live), (2, 1));
}

#[tokio::test(start_paused = true)]
async fn a_failed_task_frees_its_slot() {
    let ward = Taskward::builder().max_live_tasks(1).spawn().await.unwrap();
    let scope = Scope::global();
    let first = ward
        .submit(TaskSpec::new("fails"), |_ctx: TaskContext| async move {
            Err(taskward::TaskError::new("nope"))
        })
        .await
        .unwrap();
    assert_eq!(
        first.wait().await.unwrap().failure().unwrap().cause,
        FailureCause::Error
    );
    long_task(&ward, &scope, "next").await.expect("slot freed");
}

// ------------------------------------------------------------------ live tasks per scope

#[tokio::test(start_paused = true)]
async fn submit_over_max_live_per_scope_fails_only_in_that_scope() {
    let ward = Taskward::builder()
        .max_live_per_scope(2)
        .spawn()
        .await
        .unwrap();
    let a = Scope::session("a");
    let b = Scope::session("b");
    let a1 = long_task(&ward, &a, "a1").await.unwrap();
    long_task(&ward, &a, "a2").await.unwrap();

    assert_limit(
        long_task(&ward, &a, "a3").await,
        Limit::LiveTasksPerScope,
        2,
    );
    let status = ward.status().await.unwrap();
    assert_eq!(status.tasks, 2);
    assert_eq!(ward.list(&a, &ListQuery::new()).unwrap().tasks.len(), 2);

    // Another scope has its own quota.
    long_task(&ward, &b, "b1").await.expect("scope b has room");
    long_task(&ward, &b, "b2").await.expect("scope b has room");
    assert_limit(
        long_task(&ward, &b, "b3").await,
        Limit::LiveTasksPerScope,
        2,
    );
    assert_eq!(ward.status().await.unwrap().tasks, 4);

    // A task that ends frees its scope's slot.
    a1.cancel(None).await.unwrap();
    long_task(&ward, &a, "a3").await.expect("slot in a freed");
    assert_limit(
        long_task(&ward, &a, "a4").await,
        Limit::LiveTasksPerScope,
        2,
    );
}

#[tokio::test(start_paused = true)]
async fn the_overall_limit_applies_across_scopes() {
    let ward = Taskward::builder()
        .max_live_tasks(3)
        .max_live_per_scope(2)
        .spawn()
        .await
        .unwrap();
    let a = Scope::session("a");
    let b = Scope::session("b");
    let c = Scope::session("c");
    long_task(&ward, &a, "a1").await.unwrap();
    long_task(&ward, &a, "a2").await.unwrap();
    long_task(&ward, &b, "b1").await.unwrap();
    // Scope c is empty, but the runtime is full.
    assert_limit(long_task(&ward, &c, "c1").await, Limit::LiveTasks, 3);
    assert!(ward.list(&c, &ListQuery::new()).unwrap().tasks.is_empty());
    assert_eq!(ward.status().await.unwrap().tasks, 3);
}

#[tokio::test(start_paused = true)]
async fn limits_are_reported_in_the_registry_status() {
    let ward = Taskward::builder()
        .max_live_tasks(7)
        .max_live_per_scope(3)
        .max_result_bytes(1024)
        .spawn()
        .await
        .unwrap();
    let limits = ward.status().await.unwrap().limits;
    assert_eq!(limits.max_live_tasks, Some(7));
    assert_eq!(limits.max_live_per_scope, Some(3));
    assert_eq!(limits.max_result_bytes, Some(1024));
}

// ------------------------------------------------------------------ result size

async fn run_returning(ward: &Taskward, value: Value) -> (TaskHandle, Outcome) {
    let task = ward
        .submit(TaskSpec::new("result"), move |_ctx: TaskContext| {
            let value = value.clone();
            async move { Ok(value) }
        })
        .await
        .unwrap();
    let outcome = task.wait().await.unwrap();
    (task, outcome)
}

#[tokio::test(start_paused = true)]
async fn a_result_larger_than_the_maximum_fails_the_task() {
    let ward = Taskward::builder()
        .max_result_bytes(16)
        .spawn()
        .await
        .unwrap();

    // "abcdefghijklmn" is 16 bytes of JSON with its quotes: exactly at the limit.
    let at_limit = json!("abcdefghijklmn");
    assert_eq!(serde_json::to_vec(&at_limit).unwrap().len(), 16);
    let (_, outcome) = run_returning(&ward, at_limit.clone()).await;
    assert_eq!(outcome, Outcome::completed(at_limit));

    // One byte more fails, with the cause named.
    let over = json!("abcdefghijklmno");
    let (task, outcome) = run_returning(&ward, over).await;
    let failure = outcome.failure().expect("failed");
    assert_eq!(failure.cause, FailureCause::ResultTooLarge);
    let record = task.get().unwrap();
    assert_eq!(record.status, Status::Failed);
    assert!(record.outcome.as_ref().unwrap().value().is_none());

    let (_, outcome) = run_returning(&ward, json!({ "blob": "x".repeat(10_000) })).await;
    assert_eq!(
        outcome.failure().unwrap().cause,
        FailureCause::ResultTooLarge
    );
}

#[tokio::test(start_paused = true)]
async fn a_result_too_large_is_not_retried() {
    let ward = Taskward::builder()
        .max_result_bytes(8)
        .spawn()
        .await
        .unwrap();
    let calls = Arc::new(AtomicU32::new(0));
    let counter = calls.clone();
    let task = ward
        .submit(
            TaskSpec::new("big").restart(Restart::transient(
                3,
                Backoff::fixed(Duration::from_secs(1)),
            )),
            move |_ctx: TaskContext| {
                counter.fetch_add(1, Ordering::SeqCst);
                async move { Ok(json!("far too large for eight bytes")) }
            },
        )
        .await
        .unwrap();
    let outcome = task.wait().await.unwrap();
    assert_eq!(
        outcome.failure().unwrap().cause,
        FailureCause::ResultTooLarge
    );
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(task.get().unwrap().attempt, 1);
}

// ------------------------------------------------------------------ with other semantics

#[tokio::test(start_paused = true)]
async fn a_transferred_task_moves_its_slot_to_the_new_scope() {
    let ward = Taskward::builder()
        .max_live_per_scope(1)
        .spawn()
        .await
        .unwrap();
    let a = Scope::session("a");
    let b = Scope::session("b");
    long_task(&ward, &a, "moving").await.unwrap();
    assert_limit(
        long_task(&ward, &a, "blocked").await,
        Limit::LiveTasksPerScope,
        1,
    );

    let moved = ward
        .close_scope(&a, taskward::ClosePolicy::Transfer(b.clone()))
        .await
        .unwrap();
    assert_eq!(moved, 1);
    // Scope a has room again; scope b is now full.
    long_task(&ward, &a, "fits").await.expect("a has room");
    assert_limit(
        long_task(&ward, &b, "blocked").await,
        Limit::LiveTasksPerScope,
        1,
    );
}

#[tokio::test(start_paused = true)]
async fn a_task_waiting_to_retry_still_holds_its_slot() {
    let ward = Taskward::builder().max_live_tasks(1).spawn().await.unwrap();
    let scope = Scope::global();
    let task = ward
        .submit(
            TaskSpec::new("retrying").restart(Restart::transient(
                2,
                Backoff::fixed(Duration::from_secs(10)),
            )),
            |_ctx: TaskContext| async move { Err(taskward::TaskError::new("fails")) },
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(task.get().unwrap().phase, Some(taskward::Phase::RetryWait));
    assert_limit(
        long_task(&ward, &scope, "blocked").await,
        Limit::LiveTasks,
        1,
    );

    task.wait().await.unwrap();
    long_task(&ward, &scope, "fits").await.expect("slot freed");
}

#[tokio::test(start_paused = true)]
async fn a_runner_that_fails_to_start_frees_its_slot() {
    let ward = Taskward::builder().max_live_tasks(1).spawn().await.unwrap();
    let scope = Scope::global();
    let err = ward
        .submit(
            TaskSpec::new("bad-factory"),
            |_ctx: TaskContext| -> common::futures_ready::Ready {
                panic!("the factory panics before returning a future")
            },
        )
        .await
        .expect_err("start fails");
    let Error::RunnerStart { id, .. } = err else {
        panic!("expected RunnerStart, got {err:?}");
    };
    let record = ward.get(&scope, id).unwrap();
    assert_eq!(record.status, Status::Failed);
    assert_eq!(
        record.outcome.as_ref().unwrap().failure().unwrap().cause,
        FailureCause::StartFailed
    );
    assert_eq!(ward.status().await.unwrap().live, 0);
    long_task(&ward, &scope, "fits").await.expect("slot freed");
}
