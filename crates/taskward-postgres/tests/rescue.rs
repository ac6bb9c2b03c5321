//! Rescue: a dead node's tasks (lease expired) are queued again when their kind is
//! registered, failed `interrupted` otherwise; a live node's tasks are left alone; a second
//! rescue does nothing. The dead node's leases are made short and the rescue is asked at a
//! later time: no waiting.

mod common;

use std::time::Duration;

use common::cluster::{closure, cluster_with_lease, enqueue, job, scope};
use common::fresh;
use taskward_core::{FailureCause, Outcome, Phase, Status};
use taskward_postgres::{Caps, Fenced, NewTask, NodeId};
use time::OffsetDateTime;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_nodes_tasks_are_requeued_or_failed_and_a_live_nodes_are_not_touched() {
    let (_server, url) = fresh();
    // The dead node's claims hold a lease of 1 s, the live node's of an hour.
    let short = cluster_with_lease(&url, Duration::from_secs(1)).await;
    let long = cluster_with_lease(&url, Duration::from_secs(3600)).await;
    let (dead, alive) = (NodeId::new(), NodeId::new());
    let (resumable, exhausted, live) = (job("a", 1), job("b", 2), job("a", 3));
    let tasks = [
        NewTask::new(resumable.clone()),
        NewTask::new(exhausted.clone()).max_attempts(1),
    ];
    short.enqueue(&tasks).await.unwrap();
    assert_eq!(
        short
            .claim(dead, &["a", "b"], 2, &Caps::new())
            .await
            .unwrap()
            .len(),
        2
    );
    let own = closure(4);
    short
        .insert_local(dead, &[NewTask::new(own.clone())])
        .await
        .unwrap();
    enqueue(&long, std::slice::from_ref(&live), 0).await;
    let live_fence = long.claim(alive, &["a"], 1, &Caps::new()).await.unwrap()[0].fence;
    long.heartbeat(alive, 1).await.unwrap();

    // A minute later the short leases have expired; the long one has not.
    let at = OffsetDateTime::now_utc() + time::Duration::minutes(1);
    let rescued = long.rescue(at).await.unwrap();
    assert_eq!(rescued.requeued, [resumable.id]);
    let mut failed = rescued.failed.clone();
    failed.sort();
    let mut expected = vec![exhausted.id, own.id];
    expected.sort();
    assert_eq!(failed, expected);

    let requeued = long.get(&scope(), resumable.id).await.unwrap().unwrap();
    assert_eq!(
        (requeued.status, requeued.phase),
        (Status::Working, Some(Phase::Queued))
    );
    for id in [exhausted.id, own.id] {
        let record = long.get(&scope(), id).await.unwrap().unwrap();
        assert_eq!(record.status, Status::Failed);
        let Some(Outcome::Failed(failure)) = record.outcome else {
            panic!("not failed: {record:?}");
        };
        assert_eq!(failure.cause, FailureCause::Interrupted);
    }
    // The live node still holds its task and writes it.
    let beat = long.heartbeat(alive, 1).await.unwrap();
    assert_eq!(beat.held, [live.id]);
    long.checkpoint(live_fence, &serde_json::json!(1))
        .await
        .unwrap();

    // Idempotent: nothing more to do.
    let again = long.rescue(at).await.unwrap();
    assert!(
        again.requeued.is_empty() && again.failed.is_empty() && again.released.is_empty(),
        "{again:?}"
    );
    // The requeued task is claimed again, by a live node.
    let claimed = long.claim(alive, &["a"], 1, &Caps::new()).await.unwrap();
    assert_eq!(claimed[0].record.id, resumable.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_heartbeat_renews_the_leases_of_the_nodes_tasks() {
    let (_server, url) = fresh();
    // Claimed under a lease of 1 s, renewed by a heartbeat for an hour.
    let short = cluster_with_lease(&url, Duration::from_secs(1)).await;
    let long = cluster_with_lease(&url, Duration::from_secs(3600)).await;
    let (a, b) = (job("a", 1), job("a", 2));
    enqueue(&short, &[a.clone(), b.clone()], 0).await;
    let (node, other) = (NodeId::new(), NodeId::new());
    short.claim(node, &["a"], 1, &Caps::new()).await.unwrap();
    short.claim(other, &["a"], 1, &Caps::new()).await.unwrap();
    let beat = long.heartbeat(node, 1).await.unwrap();
    assert_eq!(beat.held, [a.id]);
    let at = OffsetDateTime::now_utc() + time::Duration::minutes(1);
    let rescued = long.rescue(at).await.unwrap();
    assert_eq!(
        rescued.requeued,
        [b.id],
        "only the node without a heartbeat lost its task"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_cancels_expired_live_tasks_and_removes_expired_terminal_ones_no_node_holds() {
    let (_server, url) = fresh();
    let cluster = cluster_with_lease(&url, Duration::from_secs(3600)).await;
    let ttl = Some(Duration::from_secs(60));
    let (mut queued, mut held, mut finished, mut kept) =
        (job("a", 1), job("a", 3), job("a", 2), job("a", 4));
    for r in [&mut queued, &mut held, &mut finished] {
        r.ttl = ttl;
    }
    kept.ttl = Some(Duration::from_secs(86_400));
    enqueue(&cluster, &[finished.clone(), held.clone()], 1).await;
    enqueue(&cluster, &[queued.clone(), kept.clone()], 0).await;
    let node = NodeId::new();
    let claimed = cluster.claim(node, &["a"], 2, &Caps::new()).await.unwrap();
    assert_eq!(claimed[0].record.id, finished.id);
    cluster
        .finish(claimed[0].fence, &common::cluster::done(&finished))
        .await
        .unwrap();

    let at = OffsetDateTime::now_utc() + time::Duration::minutes(5);
    let swept = cluster.sweep(at).await.unwrap();
    let mut cancelled = swept.cancelled.clone();
    cancelled.sort();
    let mut expected = vec![queued.id, held.id];
    expected.sort();
    assert_eq!(cancelled, expected);
    // The finished task and the queued one (cancelled, no node holds it) are removed.
    assert_eq!(swept.removed, 2);
    assert_eq!(cluster.get(&scope(), finished.id).await.unwrap(), None);
    assert_eq!(cluster.get(&scope(), queued.id).await.unwrap(), None);
    // The held task stays, cancelled, until its node lets go.
    let record = cluster.get(&scope(), held.id).await.unwrap().unwrap();
    assert_eq!(record.status, Status::Cancelled);
    let beat = cluster.heartbeat(node, 2).await.unwrap();
    assert_eq!(beat.cancel_requested, [held.id]);
    assert_eq!(cluster.sweep(at).await.unwrap().removed, 0);
    let error = cluster
        .finish(claimed[1].fence, &common::cluster::done(&held))
        .await
        .unwrap_err();
    assert_eq!(error.fenced(), Some(Fenced::Terminal(Status::Cancelled)));
    assert_eq!(cluster.sweep(at).await.unwrap().removed, 1);
    assert_eq!(cluster.get(&scope(), held.id).await.unwrap(), None);
    assert!(cluster.get(&scope(), kept.id).await.unwrap().is_some());
}
