//! Nodes of one cluster, each a runtime driven by a `Node`: a cancel on B reaches the work
//! on A, an answer on B reaches the work on A (even one given before the work asks), a
//! refused write stops the work, and joins draw distinct slots.
//!
//! A real database has no paused clock: the nodes heartbeat every 100 ms and the tests wait
//! for outcomes under a generous hang guard, never asserting a timing.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::cluster::{cluster, scope};
use common::fresh;
use common::node::{Probe, node_options, spec, start, start_with, stop, within};
use serde_json::json;
use taskward_core::{Outcome, Status};
use taskward_postgres::{Node, NodeId, SharedTable};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_on_node_b_fires_the_token_of_the_work_on_node_a() {
    let (_server, url) = fresh();
    let (probe_a, probe_b) = (Arc::new(Probe::default()), Arc::new(Probe::default()));
    let (ward_a, node_a, a) = start(&url, &probe_a).await;
    let (ward_b, node_b, b) = start(&url, &probe_b).await;
    assert_ne!(a.slot, b.slot, "the nodes' seqs never collide");

    let task = ward_a
        .submit_kind(spec("wait_for_cancel"), json!(null))
        .await
        .expect("submitted on A");
    within("the work starts on A", probe_a.started.notified()).await;
    let cancelled = ward_b
        .cancel(&scope(), task.id(), None)
        .await
        .expect("cancelled through B");
    assert_eq!(cancelled.status, Status::Cancelled);

    within("A's work sees its token", probe_a.saw_cancel.notified()).await;
    let outcome = within("A's task ends", task.wait())
        .await
        .expect("an outcome");
    assert!(matches!(outcome, Outcome::Cancelled { .. }), "{outcome:?}");
    assert_eq!(
        ward_a.get(&scope(), task.id()).unwrap().status,
        Status::Cancelled
    );
    stop(ward_a, node_a).await;
    stop(ward_b, node_b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_given_on_node_b_reaches_the_work_on_node_a() {
    let (_server, url) = fresh();
    let probe = Arc::new(Probe::default());
    let (ward_a, node_a, _) = start(&url, &probe).await;
    let (ward_b, node_b, _) = start(&url, &probe).await;

    let task = ward_a
        .submit_kind(spec("ask"), json!(null))
        .await
        .expect("submitted on A");
    within("A's work asks", async {
        while ward_a
            .input_requests(&scope(), task.id())
            .unwrap()
            .is_empty()
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    ward_b
        .provide_input(&scope(), task.id(), "name", json!("Ada"))
        .await
        .expect("answered through B");

    let outcome = within("A's task ends", task.wait())
        .await
        .expect("an outcome");
    assert_eq!(outcome, Outcome::completed(json!({ "hello": "Ada" })));
    stop(ward_a, node_a).await;
    stop(ward_b, node_b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_given_before_the_work_asks_waits_for_it() {
    let (_server, url) = fresh();
    let probe = Arc::new(Probe::default());
    let (ward_a, node_a, _) = start(&url, &probe).await;
    let (ward_b, node_b, _) = start(&url, &Arc::new(Probe::default())).await;

    let task = ward_a
        .submit_kind(spec("ask_later"), json!(null))
        .await
        .expect("submitted on A");
    ward_b
        .provide_input(&scope(), task.id(), "name", json!("Ada"))
        .await
        .expect("answered through B before the work asks");
    // Let A's node see the answer's notification (and heartbeats) before the work asks.
    tokio::time::sleep(Duration::from_millis(300)).await;
    probe.go.notify_one();

    let outcome = within("A's task ends", task.wait())
        .await
        .expect("an outcome");
    assert_eq!(outcome, Outcome::completed(json!({ "hello": "Ada" })));
    stop(ward_a, node_a).await;
    stop(ward_b, node_b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_write_of_a_task_claimed_elsewhere_stops_its_work_here() {
    let (_server, url) = fresh();
    let probe = Arc::new(Probe::default());
    // Capacity 0: A never claims, so the rescued task goes to the other node.
    let (ward_a, node_a, _) = start_with(&url, &probe, node_options().capacity(0)).await;
    let task = ward_a
        .submit_kind(spec("checkpoint_later"), json!(null))
        .await
        .expect("submitted on A");
    within("the work starts on A", probe.started.notified()).await;

    // The task is rescued (as if A had died) and claimed by another node.
    let other = cluster(&url).await;
    let later = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    let rescued = other.rescue(later).await.unwrap();
    assert_eq!(rescued.requeued, [task.id()]);
    let claimed = other
        .claim(NodeId::new(), &["checkpoint_later"], 1, &Default::default())
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);

    let waiting = tokio::spawn({
        let (ward, id) = (ward_a.clone(), task.id());
        async move { ward.wait(&scope(), id).await }
    });

    // A's next write is refused, and A's node stops the work.
    probe.go.notify_one();
    within("A's work sees its token", probe.saw_cancel.notified()).await;
    let row = common::cluster_store::row(&url, task.id()).await.unwrap();
    assert_eq!(row.status, "working");
    assert_eq!((row.node, row.attempt), (Some(claimed[0].fence.node), 2));

    // A released it: it reads the other node's record, and its wait follows the task there.
    released_here(&ward_a, task.id()).await;
    let theirs = other
        .get(&scope(), task.id())
        .await
        .unwrap()
        .expect("the row");
    let found = ward_a.find(&scope(), task.id()).await.expect("found on A");
    assert_eq!(
        *found, theirs,
        "A reads the other node's record, not its own end"
    );
    finish_elsewhere(&other, &claimed[0], json!("finished elsewhere")).await;
    let outcome = within("A's wait returns", waiting).await.unwrap();
    assert_eq!(
        outcome.expect("the outcome"),
        Outcome::completed(json!("finished elsewhere"))
    );
    stop(ward_a, node_a).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_whose_lease_another_node_took_is_released_by_the_heartbeat() {
    let (_server, url) = fresh();
    let probe = Arc::new(Probe::default());
    let (ward_a, node_a, _) = start_with(&url, &probe, node_options().capacity(0)).await;
    let task = ward_a
        .submit_kind(spec("wait_for_cancel"), json!(null))
        .await
        .expect("submitted on A");
    within("the work starts on A", probe.started.notified()).await;
    let waiting = tokio::spawn({
        let (ward, id) = (ward_a.clone(), task.id());
        async move { ward.wait(&scope(), id).await }
    });

    // Its lease is taken for lapsed and another node claims it; A writes nothing meanwhile,
    // and learns it from its heartbeats, which no longer list the task.
    let other = cluster(&url).await;
    let later = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    assert_eq!(other.rescue(later).await.unwrap().requeued, [task.id()]);
    let claimed = other
        .claim(NodeId::new(), &["wait_for_cancel"], 1, &Default::default())
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    within("A's work sees its token", probe.saw_cancel.notified()).await;
    released_here(&ward_a, task.id()).await;
    let found = ward_a.find(&scope(), task.id()).await.expect("found on A");
    assert_eq!(found.status, Status::Working, "not cancelled: {found:?}");
    let row = common::cluster_store::row(&url, task.id()).await.unwrap();
    assert_eq!((row.node, row.attempt), (Some(claimed[0].fence.node), 2));

    finish_elsewhere(&other, &claimed[0], json!("done on B")).await;
    let outcome = within("A's wait returns", waiting).await.unwrap();
    assert_eq!(
        outcome.expect("the outcome"),
        Outcome::completed(json!("done on B"))
    );
    stop(ward_a, node_a).await;
}

/// Waits until task `id` has left `ward`'s memory.
async fn released_here(ward: &taskward_runtime::Taskward, id: taskward_core::TaskId) {
    within("the task leaves A's memory", async {
        while ward.inspect(id).is_some() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

/// Completes `claimed`'s task with `value`, as the node that claimed it.
async fn finish_elsewhere(
    cluster: &taskward_postgres::Cluster,
    claimed: &taskward_postgres::Claimed,
    value: serde_json::Value,
) {
    let mut record = claimed.record.clone();
    record.status = Status::Completed;
    record.phase = None;
    record.status_message = None;
    record.outcome = Some(Outcome::completed(value));
    cluster
        .finish(claimed.fence, &record)
        .await
        .expect("finished elsewhere");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_joins_draw_different_slots() {
    let (_server, url) = fresh();
    let mut slots = Vec::new();
    for _ in 0..3 {
        let (node, store, shared): (Node, _, SharedTable) =
            Node::join(&url, NodeId::new(), node_options())
                .await
                .expect("join");
        slots.push(node.slot());
        drop((node, shared));
        tokio::task::spawn_blocking(move || drop(store))
            .await
            .unwrap();
    }
    assert_eq!(slots, [0, 1, 2]);
}
