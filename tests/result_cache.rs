//! The result cache of a registered kind (`Kind::cache_results`): a submit of the same kind
//! with the same input, in the same scope, within the kind's duration, is served a completed
//! task carrying the cached result, and its work does not run (docs/semantics.md).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::disk::Disk;
use common::{SWEEP, secs, settle, wait_for};
use serde_json::{Value, json};
use taskward::{
    EventFilter, EventKind, Kind, Outcome, Scope, Status, TaskError, TaskHandle, TaskSpec, Taskward,
};

/// How long the tests' kind caches its results.
const CACHE_FOR: Duration = Duration::from_secs(60);

/// The kind `square`: `{"n": n}` gives `{"square": n * n}`, `{"fail": true}` fails; each run
/// is counted in `calls`.
fn square(calls: &Arc<AtomicUsize>) -> Kind {
    let calls = calls.clone();
    Kind::new("square", move |_ctx, input: Value| {
        calls.fetch_add(1, Ordering::SeqCst);
        async move {
            if input["fail"] == json!(true) {
                return Err(TaskError::new("asked to fail"));
            }
            let n = input["n"].as_u64().unwrap_or(0);
            Ok(json!({ "square": n * n }))
        }
    })
    .cache_results(CACHE_FOR)
}

async fn runtime(calls: &Arc<AtomicUsize>) -> Taskward {
    Taskward::builder()
        .no_default_ttl()
        .register_kind(square(calls))
        .spawn()
        .await
        .unwrap()
}

async fn submit(ward: &Taskward, scope: &Scope, input: Value) -> TaskHandle {
    let task = ward
        .submit_kind(TaskSpec::new("square").scope(scope.clone()), input)
        .await
        .unwrap();
    wait_for(&task).await;
    task
}

/// Asserts that `task` was served from `source`'s result: completed at submit, marked.
fn assert_served(task: &TaskHandle, source: &TaskHandle) {
    let record = task.record();
    assert_ne!(task.id(), source.id(), "a new task");
    assert_eq!(record.status, Status::Completed, "completed at submit");
    assert_eq!(record.cached_from, Some(source.id()), "{record:?}");
    assert_eq!(record.outcome, source.get().unwrap().outcome);
}

fn assert_ran(task: &TaskHandle) {
    let record = task.get().unwrap();
    assert_eq!(record.cached_from, None, "{record:?}");
}

#[tokio::test(start_paused = true)]
async fn the_same_input_within_the_duration_is_served_from_the_cache_without_running() {
    let calls = Arc::new(AtomicUsize::new(0));
    let ward = runtime(&calls).await;
    let scope = Scope::session("s");
    let first = submit(&ward, &scope, json!({ "n": 3, "tag": "x" })).await;
    assert_eq!(
        first.get().unwrap().outcome,
        Some(Outcome::completed(json!({ "square": 9 })))
    );
    assert_ran(&first);

    let mut events = ward.subscribe(EventFilter::all());
    // The same input, its keys in another order.
    let again: Value = serde_json::from_str(r#"{"tag": "x", "n": 3}"#).unwrap();
    let second = ward
        .submit_kind(TaskSpec::new("square").scope(scope.clone()), again)
        .await
        .unwrap();
    assert_served(&second, &first);
    assert_eq!(
        second.wait().await.unwrap(),
        Outcome::completed(json!({ "square": 9 }))
    );
    assert_eq!(
        ward.get(&scope, second.id()).unwrap().cached_from,
        Some(first.id())
    );
    // Created and completed, as for any task.
    let kinds: Vec<EventKind> = [events.recv().await, events.recv().await]
        .into_iter()
        .map(|e| match e {
            Some(taskward::Event::Task(e)) => {
                assert_eq!(e.task_id, second.id());
                e.kind
            }
            other => panic!("expected a task event, got {other:?}"),
        })
        .collect();
    assert!(matches!(kinds[0], EventKind::Created { .. }), "{kinds:?}");
    assert!(matches!(kinds[1], EventKind::Completed), "{kinds:?}");

    // Work submitted with the kind's input is served too, and does not run.
    let third = ward
        .submit(
            TaskSpec::new("square")
                .scope(scope.clone())
                .input(json!({ "n": 3, "tag": "x" })),
            common::long,
        )
        .await
        .unwrap();
    assert_served(&third, &first);
    assert_eq!(calls.load(Ordering::SeqCst), 1, "the work ran once");
    ward.shutdown(secs(1)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn after_the_duration_the_work_runs_again() {
    let calls = Arc::new(AtomicUsize::new(0));
    let ward = runtime(&calls).await;
    let scope = Scope::session("s");
    let first = submit(&ward, &scope, json!({ "n": 2 })).await;
    tokio::time::sleep(CACHE_FOR - secs(1)).await;
    let served = submit(&ward, &scope, json!({ "n": 2 })).await;
    assert_served(&served, &first);

    tokio::time::sleep(secs(2)).await;
    let fresh = submit(&ward, &scope, json!({ "n": 2 })).await;
    assert_ran(&fresh);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    // The new result is the entry now, for a whole duration.
    tokio::time::sleep(CACHE_FOR - secs(1)).await;
    let served = submit(&ward, &scope, json!({ "n": 2 })).await;
    assert_served(&served, &fresh);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    ward.shutdown(secs(1)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn another_input_or_another_scope_is_not_served() {
    let calls = Arc::new(AtomicUsize::new(0));
    let ward = runtime(&calls).await;
    let (alice, bob) = (Scope::principal("alice"), Scope::principal("bob"));
    let first = submit(&ward, &alice, json!({ "n": 4 })).await;
    assert_served(&submit(&ward, &alice, json!({ "n": 4 })).await, &first);

    let other_input = submit(&ward, &alice, json!({ "n": 5 })).await;
    assert_ran(&other_input);
    let other_scope = submit(&ward, &bob, json!({ "n": 4 })).await;
    assert_ran(&other_scope);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    ward.shutdown(secs(1)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_failed_task_is_not_a_cache_entry() {
    let calls = Arc::new(AtomicUsize::new(0));
    let ward = runtime(&calls).await;
    let scope = Scope::session("s");
    for _ in 0..2 {
        let failed = submit(&ward, &scope, json!({ "fail": true })).await;
        assert_eq!(failed.get().unwrap().status, Status::Failed);
        assert_ran(&failed);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2, "the work ran each time");
    let first = submit(&ward, &scope, json!({ "n": 1 })).await;
    assert_served(&submit(&ward, &scope, json!({ "n": 1 })).await, &first);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    ward.shutdown(secs(1)).await.unwrap();
}

#[tokio::test]
async fn the_cache_answers_after_a_restart() {
    let disk = Disk::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let builder = Taskward::builder().register_kind(square(&calls));
    let ward = builder.durable(disk.clone()).spawn().await.unwrap();
    let scope = Scope::session("s");
    let first = submit(&ward, &scope, json!({ "n": 6 })).await;
    // A submit's commit also covers the completion written before it.
    let served = submit(&ward, &scope, json!({ "n": 6 })).await;
    assert_served(&served, &first);
    let after_crash = disk.crash_copy();

    let calls2 = Arc::new(AtomicUsize::new(0));
    let ward2 = Taskward::builder()
        .register_kind(square(&calls2))
        .durable(after_crash)
        .spawn()
        .await
        .unwrap();
    let again = ward2
        .submit_kind(
            TaskSpec::new("square").scope(scope.clone()),
            json!({ "n": 6 }),
        )
        .await
        .unwrap();
    assert_eq!(again.record().cached_from, Some(first.id()));
    assert_eq!(
        again.wait().await.unwrap(),
        Outcome::completed(json!({ "square": 36 }))
    );
    assert_eq!(
        calls2.load(Ordering::SeqCst),
        0,
        "the work did not run again"
    );
    ward2.shutdown(secs(1)).await.unwrap();
    ward.shutdown(secs(1)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn an_evicted_source_is_no_longer_served() {
    let calls = Arc::new(AtomicUsize::new(0));
    let ward = Taskward::builder()
        .no_default_ttl()
        .max_retained_tasks_per_scope(2)
        .register_kind(square(&calls))
        .spawn()
        .await
        .unwrap();
    let scope = Scope::session("s");
    let first = submit(&ward, &scope, json!({ "n": 7 })).await;
    assert_served(&submit(&ward, &scope, json!({ "n": 7 })).await, &first);
    // Two more finished tasks: the source, the oldest, is evicted.
    submit(&ward, &scope, json!({ "n": 8 })).await;
    assert!(ward.get(&scope, first.id()).is_err(), "evicted");
    let fresh = submit(&ward, &scope, json!({ "n": 7 })).await;
    assert_ran(&fresh);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    ward.shutdown(secs(1)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn an_expired_source_is_no_longer_served() {
    let calls = Arc::new(AtomicUsize::new(0));
    let ward = Taskward::builder()
        .sweep_interval(SWEEP)
        .register_kind(square(&calls))
        .spawn()
        .await
        .unwrap();
    let scope = Scope::session("s");
    let first = ward
        .submit_kind(
            TaskSpec::new("square").scope(scope.clone()).ttl(secs(10)),
            json!({ "n": 9 }),
        )
        .await
        .unwrap();
    wait_for(&first).await;
    let served = ward
        .submit_kind(
            TaskSpec::new("square").scope(scope.clone()).ttl(secs(60)),
            json!({ "n": 9 }),
        )
        .await
        .unwrap();
    assert_served(&served, &first);
    tokio::time::sleep(secs(11)).await;
    settle().await;
    assert!(ward.get(&scope, first.id()).is_err(), "expired");
    let fresh = submit(&ward, &scope, json!({ "n": 9 })).await;
    assert_ran(&fresh);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    ward.shutdown(secs(1)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn an_idempotency_key_still_names_its_task() {
    let calls = Arc::new(AtomicUsize::new(0));
    let ward = runtime(&calls).await;
    let scope = Scope::session("s");
    let keyed = |key: &str| {
        TaskSpec::new("square")
            .scope(scope.clone())
            .idempotency_key(key)
    };
    let first = ward
        .submit_kind(keyed("a"), json!({ "n": 5 }))
        .await
        .unwrap();
    wait_for(&first).await;
    // The key names the first task: it is returned, not a cached copy.
    let same_key = ward
        .submit_kind(keyed("a"), json!({ "n": 5 }))
        .await
        .unwrap();
    assert_eq!(same_key.id(), first.id());
    // A cached task is booked under its own key.
    let served = ward
        .submit_kind(keyed("b"), json!({ "n": 5 }))
        .await
        .unwrap();
    assert_served(&served, &first);
    let again = ward
        .submit_kind(keyed("b"), json!({ "n": 5 }))
        .await
        .unwrap();
    assert_eq!(again.id(), served.id());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    ward.shutdown(secs(1)).await.unwrap();
}
