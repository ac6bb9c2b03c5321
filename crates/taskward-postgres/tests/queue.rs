//! The shared queue across nodes (issue 12): a task of a registered kind submitted on any
//! node waits queued until a node with capacity claims it, under caps held across the
//! cluster, by priority then FIFO, with its policies and the live limits kept.
//!
//! A real database has no paused clock: the nodes heartbeat every 100 ms and the tests wait
//! for outcomes under a generous hang guard, never asserting a timing.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::fresh;
use common::node::{node_options, within};
use common::queue::{Gauge, queue_node, stop_all};
use serde_json::json;
use taskward_core::{Error, FailureCause, Limit, Outcome, Phase, Scope, Status};
use taskward_postgres::Caps;
use taskward_runtime::{TaskSpec, Taskward};

fn spec(kind: &str) -> TaskSpec {
    TaskSpec::new(kind).scope(Scope::session("s-1").with_principal("alice"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_submitted_on_a_node_without_capacity_is_queued_and_run_by_another() {
    let (_server, url) = fresh();
    let gauge = Arc::new(Gauge::default());
    let (a, a_duties) = queue_node(&url, &gauge, node_options().capacity(0), |b| b).await;
    let (b, b_duties) = queue_node(&url, &gauge, node_options(), |b| b).await;

    let task = a
        .submit_kind(spec("brief"), json!(7))
        .await
        .expect("submitted");
    assert_eq!(task.record().status, Status::Working);
    assert_eq!(
        task.record().phase,
        Some(Phase::Queued),
        "it waits in the queue"
    );
    assert_eq!(
        within("the routed task ends", task.wait()).await.unwrap(),
        Outcome::completed(json!(7))
    );
    assert!(
        a.inspect(task.id()).is_none(),
        "A has no capacity: it never ran it"
    );
    assert!(b.inspect(task.id()).is_some(), "B claimed and ran it");
    let found = a.find(task.scope(), task.id()).await.expect("found on A");
    assert_eq!(found.status, Status::Completed);
    stop_all(vec![(a, a_duties), (b, b_duties)]).await;
}

/// Submits `n` tasks of `kind` round-robin on `nodes` and waits for all of them.
async fn submit_all(nodes: &[(Taskward, taskward_postgres::NodeHandle)], kind: &str, n: u64) {
    let mut handles = Vec::new();
    for i in 0..n {
        let (ward, _) = &nodes[(i % nodes.len() as u64) as usize];
        handles.push(
            ward.submit_kind(spec(kind), json!(i))
                .await
                .expect("submitted"),
        );
    }
    for handle in handles {
        let outcome = within("a task ends", handle.wait()).await.unwrap();
        assert_eq!(
            outcome,
            Outcome::completed(json!(handle.record().input.as_deref().unwrap()))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_global_cap_holds_across_three_nodes() {
    let (_server, url) = fresh();
    let gauge = Arc::new(Gauge::default());
    let options = node_options().capacity(8).caps(Caps::new().global(2));
    let mut nodes = Vec::new();
    for _ in 0..3 {
        nodes.push(queue_node(&url, &gauge, options.clone(), |b| b).await);
    }
    submit_all(&nodes, "brief", 30).await;
    assert!(
        gauge.max() <= 2,
        "at most 2 ran at once, saw {}",
        gauge.max()
    );
    stop_all(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_per_kind_cap_holds_across_three_nodes() {
    let (_server, url) = fresh();
    let brief = Arc::new(Gauge::default());
    let options = node_options()
        .capacity(8)
        .caps(Caps::new().kind("brief", 1));
    let mut nodes = Vec::new();
    for _ in 0..3 {
        nodes.push(queue_node(&url, &brief, options.clone(), |b| b).await);
    }
    submit_all(&nodes, "brief", 20).await;
    assert_eq!(brief.max(), 1, "one `brief` at a time across the nodes");
    stop_all(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_tasks_are_claimed_by_priority_then_in_submission_order() {
    let (_server, url) = fresh();
    let gauge = Arc::new(Gauge::default());
    let (a, a_duties) = queue_node(&url, &gauge, node_options().capacity(0), |b| b).await;
    let mut handles = Vec::new();
    for (n, priority) in [(1, 0), (2, 5), (3, 0), (4, 9), (5, 5)] {
        let spec = spec("brief").priority(priority);
        handles.push(a.submit_kind(spec, json!(n)).await.expect("submitted"));
    }
    // Only now a node with room, one task at a time.
    let (b, b_duties) = queue_node(&url, &gauge, node_options().capacity(1), |b| b).await;
    for handle in &handles {
        within("a task ends", handle.wait()).await.unwrap();
    }
    assert_eq!(
        gauge.order(),
        vec![json!(4), json!(2), json!(5), json!(1), json!(3)]
    );
    stop_all(vec![(a, a_duties), (b, b_duties)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routed_tasks_timeout_holds_on_the_node_that_claims_it() {
    let (_server, url) = fresh();
    let gauge = Arc::new(Gauge::default());
    let (a, a_duties) = queue_node(&url, &gauge, node_options().capacity(0), |b| b).await;
    let (b, b_duties) = queue_node(&url, &gauge, node_options(), |b| b).await;
    let spec = spec("sleep").timeout(Duration::from_millis(200));
    let task = a
        .submit_kind(spec, json!(600_000))
        .await
        .expect("submitted");
    let outcome = within("the task times out", task.wait()).await.unwrap();
    match outcome {
        Outcome::Failed(failure) => assert_eq!(failure.cause, FailureCause::TimedOut),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(b.inspect(task.id()).is_some(), "B ran it");
    stop_all(vec![(a, a_duties), (b, b_duties)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_limit_per_scope_holds_across_nodes() {
    let (_server, url) = fresh();
    let gauge = Arc::new(Gauge::default());
    let mut nodes = Vec::new();
    for _ in 0..3 {
        // No node runs anything: the tasks stay live in the queue.
        let options = node_options().capacity(0);
        nodes.push(queue_node(&url, &gauge, options, |b| b.max_live_per_scope(2)).await);
    }
    nodes[0]
        .0
        .submit_kind(spec("brief"), json!(1))
        .await
        .expect("first");
    nodes[1]
        .0
        .submit_kind(spec("brief"), json!(2))
        .await
        .expect("second");
    let third = nodes[2].0.submit_kind(spec("brief"), json!(3)).await;
    assert!(
        matches!(
            third,
            Err(Error::LimitExceeded {
                limit: Limit::LiveTasksPerScope,
                max: 2
            })
        ),
        "{third:?}"
    );
    let other_scope = TaskSpec::new("brief").scope(Scope::session("s-2"));
    nodes[2]
        .0
        .submit_kind(other_scope, json!(4))
        .await
        .expect("another scope has room");
    stop_all(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routed_task_is_cancelled_while_queued_and_answered_where_it_runs() {
    let (_server, url) = fresh();
    let gauge = Arc::new(Gauge::default());
    let (a, a_duties) = queue_node(&url, &gauge, node_options().capacity(0), |b| b).await;

    // No node has room: it waits queued, and a cancel on A ends it there.
    let queued = a
        .submit_kind(spec("hold"), json!(1))
        .await
        .expect("submitted");
    let cancelled = queued.cancel(None).await.expect("cancelled through A");
    assert_eq!(cancelled.status, Status::Cancelled);
    let outcome = within("the queued task ends", queued.wait()).await.unwrap();
    assert!(matches!(outcome, Outcome::Cancelled(_)), "{outcome:?}");

    // B runs the next one; A answers its input request.
    let (b, b_duties) = queue_node(&url, &gauge, node_options(), |b| b).await;
    let asking = a
        .submit_kind(spec("ask"), json!(null))
        .await
        .expect("submitted");
    within("B's work asks", async {
        while a.find(asking.scope(), asking.id()).await.unwrap().status != Status::InputRequired {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    a.provide_input(asking.scope(), asking.id(), "name", json!("Ada"))
        .await
        .expect("answered through A");
    let outcome = within("the asking task ends", asking.wait()).await.unwrap();
    assert_eq!(outcome, Outcome::completed(json!({ "hello": "Ada" })));
    assert!(b.inspect(asking.id()).is_some(), "B ran it");
    stop_all(vec![(a, a_duties), (b, b_duties)]).await;
}
