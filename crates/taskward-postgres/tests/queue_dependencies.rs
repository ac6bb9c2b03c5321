//! Dependencies across nodes (issue 12): a routed task waits queued until the tasks it
//! depends on complete, wherever they run, and ends with the right cause when one of them
//! fails or is cancelled.
//!
//! A real database has no paused clock: the nodes heartbeat every 100 ms and the tests wait
//! for outcomes under a generous hang guard, never asserting a timing.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::fresh;
use common::node::{node_options, within};
use common::queue::{Gauge, queue_node, stop_all};
use serde_json::{Value, json};
use taskward_core::{CancelledBy, Error, FailureCause, Outcome, Phase, Scope, TaskError, TaskId};
use taskward_postgres::NodeHandle;
use taskward_runtime::{TaskContext, TaskHandle, TaskSpec, Taskward};
use tokio::sync::Notify;

fn scope() -> Scope {
    Scope::session("s-1").with_principal("alice")
}

/// Node A (no capacity: it only submits) and node B (runs what is queued).
async fn two_nodes(url: &str, gauge: &Arc<Gauge>) -> [(Taskward, NodeHandle); 2] {
    let a = queue_node(url, gauge, node_options().capacity(0), |b| b).await;
    let b = queue_node(url, gauge, node_options(), |b| b).await;
    [a, b]
}

/// A closure task on `ward` (it stays there) that ends as `end` says once told.
async fn dependency(ward: &Taskward, end: Result<Value, String>) -> (TaskHandle, Arc<Notify>) {
    let go = Arc::new(Notify::new());
    let told = Arc::clone(&go);
    let handle = ward
        .submit(
            TaskSpec::new("dep").scope(scope()),
            move |ctx: TaskContext| {
                let (told, end) = (Arc::clone(&told), end.clone());
                async move {
                    tokio::select! {
                        () = told.notified() => end.map_err(TaskError::new),
                        () = ctx.cancelled() => Err(TaskError::cancelled()),
                    }
                }
            },
        )
        .await
        .expect("the dependency starts");
    (handle, go)
}

/// A routed `brief` task on A that depends on `dep`; checks it waits queued meanwhile.
async fn dependent(a: &Taskward, dep: TaskId, gauge: &Gauge) -> TaskHandle {
    let spec = TaskSpec::new("brief").scope(scope()).depends_on([dep]);
    let task = a
        .submit_kind(spec, json!("after"))
        .await
        .expect("submitted");
    // Give the nodes heartbeats to claim it, were it claimable.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let now = a.find(&scope(), task.id()).await.expect("found");
    assert_eq!(
        now.phase,
        Some(Phase::Queued),
        "it waits for its dependency"
    );
    assert!(gauge.order().is_empty(), "its work has not run");
    task
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_runs_once_its_dependency_on_another_node_completes() {
    let (_server, url) = fresh();
    let gauge = Arc::new(Gauge::default());
    let nodes = two_nodes(&url, &gauge).await;
    let (dep, go) = dependency(&nodes[1].0, Ok(json!("first"))).await;
    let task = dependent(&nodes[0].0, dep.id(), &gauge).await;

    go.notify_one();
    let outcome = within("the dependent ends", task.wait()).await.unwrap();
    assert_eq!(outcome, Outcome::completed(json!("after")));
    stop_all(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_fails_when_its_dependency_on_another_node_fails() {
    let (_server, url) = fresh();
    let gauge = Arc::new(Gauge::default());
    let nodes = two_nodes(&url, &gauge).await;
    let (dep, go) = dependency(&nodes[1].0, Err("boom".to_owned())).await;
    let task = dependent(&nodes[0].0, dep.id(), &gauge).await;

    go.notify_one();
    let outcome = within("the dependent ends", task.wait()).await.unwrap();
    match outcome {
        Outcome::Failed(failure) => {
            assert_eq!(failure.cause, FailureCause::DependencyFailed);
            assert_eq!(failure.data.unwrap()["dependency"], dep.id().to_string());
        }
        other => panic!("expected dependency_failed, got {other:?}"),
    }
    assert!(gauge.order().is_empty(), "its work never ran");
    stop_all(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_is_cancelled_when_its_dependency_on_another_node_is_cancelled() {
    let (_server, url) = fresh();
    let gauge = Arc::new(Gauge::default());
    let nodes = two_nodes(&url, &gauge).await;
    let (dep, _go) = dependency(&nodes[1].0, Ok(json!("never"))).await;
    let task = dependent(&nodes[0].0, dep.id(), &gauge).await;

    nodes[0]
        .0
        .cancel(&scope(), dep.id(), None)
        .await
        .expect("cancelled through A");
    let outcome = within("the dependent ends", task.wait()).await.unwrap();
    match outcome {
        Outcome::Cancelled(c) => assert_eq!(c.by, CancelledBy::Dependency),
        other => panic!("expected cancelled by dependency, got {other:?}"),
    }
    assert!(gauge.order().is_empty(), "its work never ran");
    stop_all(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_or_foreign_dependency_is_not_found_and_nothing_is_queued() {
    let (_server, url) = fresh();
    let gauge = Arc::new(Gauge::default());
    let nodes = two_nodes(&url, &gauge).await;
    let (dep, _go) = dependency(&nodes[1].0, Ok(json!(1))).await;
    let unknown = TaskId::new();
    for missing in [unknown, dep.id()] {
        let scope = if missing == unknown {
            scope()
        } else {
            Scope::session("other")
        };
        let spec = TaskSpec::new("brief").scope(scope).depends_on([missing]);
        let refused = nodes[0].0.submit_kind(spec, json!(1)).await;
        assert!(
            matches!(refused, Err(Error::NotFound(id)) if id == missing),
            "{refused:?}"
        );
    }
    stop_all(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dependent_is_claimed_as_its_dependency_completes_not_a_period_later() {
    let (_server, url) = fresh();
    let gauge = Arc::new(Gauge::default());
    // A period longer than the hang guard: only the completion's notification can make the
    // dependent claimed in time.
    let slow = common::cluster::options().heartbeat(Duration::from_secs(600));
    let a = queue_node(
        &url,
        &gauge,
        node_options().capacity(0).cluster(slow.clone()),
        |b| b,
    )
    .await;
    let b = queue_node(&url, &gauge, node_options().cluster(slow), |b| b).await;
    let nodes = [a, b];
    let (dep, go) = dependency(&nodes[1].0, Ok(json!("first"))).await;
    let task = dependent(&nodes[0].0, dep.id(), &gauge).await;

    go.notify_one();
    let outcome = within("the dependent ends", task.wait()).await.unwrap();
    assert_eq!(outcome, Outcome::completed(json!("after")));
    stop_all(nodes).await;
}
