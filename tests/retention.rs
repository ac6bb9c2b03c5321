//! Retention caps on finished tasks: by count and by bytes, in total and per scope. Over a
//! cap the oldest finished task is evicted first: `get` says not found and an `evicted`
//! event is published; live tasks are never evicted. A failed task's message is stored once.

mod common;

use common::{events_of, submit_failing, submit_long};
use serde_json::{Value, json};
use taskward::{Error, EventFilter, EventKind, Scope, TaskError, TaskHandle, TaskSpec, Taskward};

async fn finished(ward: &Taskward, scope: &Scope, value: Value) -> TaskHandle {
    common::completed(ward, scope, "job", value).await
}

fn gone(ward: &Taskward, task: &TaskHandle) -> bool {
    matches!(ward.get(task.scope(), task.id()), Err(Error::NotFound(_)))
}

#[tokio::test]
async fn the_total_count_cap_evicts_the_oldest_finished_first() {
    let ward = Taskward::builder()
        .max_retained_tasks(3)
        .spawn()
        .await
        .unwrap();
    let (a, b) = (Scope::session("a"), Scope::session("b"));
    let mut events = ward.subscribe(EventFilter::all());
    let first = finished(&ward, &a, json!(1)).await;
    let second = finished(&ward, &b, json!(2)).await;
    let third = finished(&ward, &a, json!(3)).await;
    assert!(!gone(&ward, &first));

    let fourth = finished(&ward, &b, json!(4)).await;
    assert!(gone(&ward, &first), "the oldest finished is evicted");
    for kept in [&second, &third, &fourth] {
        assert!(!gone(&ward, kept));
    }
    let kinds = events_of(&mut events, first.id()).await;
    assert_eq!(kinds.last(), Some(&EventKind::Evicted), "{kinds:?}");
    // Waiting on it had been answered at its end; now it is not found.
    assert!(matches!(first.get(), Err(Error::NotFound(_))));
}

#[tokio::test]
async fn the_per_scope_count_cap_evicts_within_the_scope() {
    let ward = Taskward::builder()
        .max_retained_tasks_per_scope(2)
        .spawn()
        .await
        .unwrap();
    let (a, b) = (Scope::session("a"), Scope::session("b"));
    let old_b = finished(&ward, &b, json!(0)).await;
    let a1 = finished(&ward, &a, json!(1)).await;
    let a2 = finished(&ward, &a, json!(2)).await;
    let a3 = finished(&ward, &a, json!(3)).await;
    assert!(gone(&ward, &a1), "a's oldest is evicted");
    assert!(!gone(&ward, &a2) && !gone(&ward, &a3));
    assert!(!gone(&ward, &old_b), "another scope's task is not");
}

#[tokio::test]
async fn the_bytes_caps_count_the_stored_result() {
    let big = json!("x".repeat(1000));
    let ward = Taskward::builder()
        .max_retained_bytes(2500)
        .max_retained_bytes_per_scope(1500)
        .spawn()
        .await
        .unwrap();
    let (a, b, c) = (
        Scope::session("a"),
        Scope::session("b"),
        Scope::session("c"),
    );
    let a1 = finished(&ward, &a, big.clone()).await;
    let a2 = finished(&ward, &a, big.clone()).await;
    assert!(gone(&ward, &a1), "two results of a are over a's 1500 bytes");
    assert!(!gone(&ward, &a2));

    let b1 = finished(&ward, &b, big.clone()).await;
    let c1 = finished(&ward, &c, big.clone()).await;
    assert!(
        gone(&ward, &a2),
        "three results are over 2500 bytes in all: the oldest goes"
    );
    assert!(!gone(&ward, &b1) && !gone(&ward, &c1));
}

#[tokio::test]
async fn live_tasks_are_never_evicted() {
    let ward = Taskward::builder()
        .max_retained_tasks(1)
        .max_retained_tasks_per_scope(1)
        .max_retained_bytes(1)
        .spawn()
        .await
        .unwrap();
    let scope = Scope::session("a");
    let live: Vec<_> =
        futures_util::future::join_all((0..3).map(|_| submit_long(&ward, &scope, "live"))).await;
    // Each is over the bytes cap alone: the one that just finished stays, readable; the
    // next one's end evicts it.
    let done = finished(&ward, &scope, json!("tiny")).await;
    assert!(!gone(&ward, &done), "the task that just finished is kept");
    let later = finished(&ward, &scope, json!("tiny")).await;
    assert!(gone(&ward, &done));
    assert!(!gone(&ward, &later));
    for task in &live {
        assert!(!gone(&ward, task), "live tasks stay");
    }
}

#[tokio::test]
async fn a_failure_message_is_stored_once() {
    let ward = common::ward().await;
    let scope = Scope::session("a");
    let task = submit_failing(&ward, &scope, "job", "a long story of what went wrong").await;
    task.wait().await.unwrap();
    let record = task.get().unwrap();
    assert_eq!(record.status_message, None, "not copied beside the outcome");
    assert_eq!(
        record.status_text().as_deref(),
        Some("error: a long story of what went wrong"),
        "still shown as the status message"
    );
    let with_data = ward
        .submit(TaskSpec::new("job").scope(scope.clone()), |_ctx| async {
            Err(TaskError::new("short").with_data(json!({"detail": 1})))
        })
        .await
        .unwrap();
    with_data.wait().await.unwrap();
    assert!(with_data.get().unwrap().status_message.is_none());
}

#[tokio::test]
async fn the_default_maximum_ttl_is_one_hour() {
    let ward = common::ward().await;
    let task = ward
        .submit(
            TaskSpec::new("job").ttl(std::time::Duration::from_secs(86_400)),
            common::instant(json!(1)),
        )
        .await
        .unwrap();
    assert_eq!(
        task.record().ttl,
        Some(std::time::Duration::from_secs(3600))
    );
}

#[tokio::test(start_paused = true)]
async fn the_retention_index_outlives_a_registry_restart() {
    let ward = Taskward::builder()
        .max_retained_tasks(2)
        .spawn()
        .await
        .unwrap();
    let scope = Scope::session("a");
    let first = finished(&ward, &scope, json!(1)).await;
    let second = finished(&ward, &scope, json!(2)).await;
    let old = ward.registry_cell().unwrap();
    old.kill();
    common::settle().await;
    let new = ward.registry_cell().expect("restarted");
    assert_ne!(new.get_id(), old.get_id());

    // The restarted registry still knows which finished task is oldest.
    let third = finished(&ward, &scope, json!(3)).await;
    assert!(
        gone(&ward, &first),
        "the oldest finished is evicted after the restart"
    );
    assert!(!gone(&ward, &second));
    assert!(!gone(&ward, &third));
    assert_eq!(ward.status().await.unwrap().retained.0, 2);
}
