//! Fencing: every write of a claimed task names its claim (node, attempt); a node that lost
//! its lease cannot write a task that was rescued or claimed again, and the first terminal
//! transition wins.

mod common;

use std::time::Duration;

use common::cluster::{cluster, cluster_with_lease, done, enqueue, job, scope};
use common::fresh;
use serde_json::json;
use taskward_core::{CancelledBy, Status};
use taskward_postgres::{CancelRequested, Caps, Fenced, NodeId};
use time::OffsetDateTime;

fn later() -> OffsetDateTime {
    OffsetDateTime::now_utc() + time::Duration::hours(1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_attempt_cannot_write_after_a_rescue_and_a_reclaim() {
    let (_server, url) = fresh();
    let cluster = cluster(&url).await;
    let a = job("a", 1);
    enqueue(&cluster, std::slice::from_ref(&a), 0).await;
    let (dead, alive) = (NodeId::new(), NodeId::new());
    let stale = cluster.claim(dead, &["a"], 1, &Caps::new()).await.unwrap();
    let stale = stale[0].fence;

    // Its node stops heartbeating: the rescue queues the task again...
    let rescued = cluster.rescue(later()).await.unwrap();
    assert_eq!(rescued.requeued, [a.id]);
    let error = cluster.finish(stale, &done(&a)).await.unwrap_err();
    assert_eq!(
        error.fenced(),
        Some(Fenced::Reclaimed {
            attempt: 1,
            node: None
        })
    );
    // ...and another node claims it, under attempt 2.
    let fresh_claim = cluster.claim(alive, &["a"], 1, &Caps::new()).await.unwrap();
    let fence = fresh_claim[0].fence;
    assert_eq!(fence.attempt, 2);
    let error = cluster.finish(stale, &done(&a)).await.unwrap_err();
    assert_eq!(
        error.fenced(),
        Some(Fenced::Reclaimed {
            attempt: 2,
            node: Some(alive)
        })
    );
    let error = cluster.checkpoint(stale, &json!(1)).await.unwrap_err();
    assert!(matches!(error.fenced(), Some(Fenced::Reclaimed { .. })));
    let mut progress = a.clone();
    progress.status_message = Some("stale".into());
    let error = cluster.progress(stale, &progress).await.unwrap_err();
    assert!(matches!(error.fenced(), Some(Fenced::Reclaimed { .. })));

    // The live claim writes.
    cluster.checkpoint(fence, &json!(2)).await.unwrap();
    cluster.finish(fence, &done(&a)).await.unwrap();
    let record = cluster.get(&scope(), a.id).await.unwrap().unwrap();
    assert_eq!(record, done(&a));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_terminal_transition_wins() {
    let (_server, url) = fresh();
    let cluster = cluster(&url).await;
    let a = job("a", 1);
    enqueue(&cluster, std::slice::from_ref(&a), 0).await;
    let node = NodeId::new();
    let fence = cluster.claim(node, &["a"], 1, &Caps::new()).await.unwrap()[0].fence;

    let cancel = cluster
        .request_cancel(&scope(), a.id, CancelledBy::Client, None)
        .await
        .unwrap();
    assert_eq!(
        cancel,
        Some(CancelRequested::Cancelled { node: Some(node) })
    );
    // The task is cancelled: the work's completion comes second and is refused...
    let error = cluster.finish(fence, &done(&a)).await.unwrap_err();
    assert_eq!(error.fenced(), Some(Fenced::Terminal(Status::Cancelled)));
    let record = cluster.get(&scope(), a.id).await.unwrap().unwrap();
    assert_eq!(record.status, Status::Cancelled);
    // ...and the node's hold is released: the heartbeat no longer renews it.
    let beat = cluster.heartbeat(node, 1).await.unwrap();
    assert!(beat.held.is_empty(), "{beat:?}");
    // A second cancel finds it terminal.
    let again = cluster
        .request_cancel(&scope(), a.id, CancelledBy::Client, None)
        .await
        .unwrap();
    assert_eq!(
        again,
        Some(CancelRequested::AlreadyTerminal(Status::Cancelled))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_task_cannot_be_finished_again() {
    let (_server, url) = fresh();
    let cluster = cluster_with_lease(&url, Duration::from_secs(60)).await;
    let a = job("a", 1);
    enqueue(&cluster, std::slice::from_ref(&a), 0).await;
    let fence = cluster
        .claim(NodeId::new(), &["a"], 1, &Caps::new())
        .await
        .unwrap()[0]
        .fence;
    cluster.finish(fence, &done(&a)).await.unwrap();
    let mut failed = done(&a);
    failed.status = Status::Failed;
    let error = cluster.finish(fence, &failed).await.unwrap_err();
    assert_eq!(error.fenced(), Some(Fenced::Terminal(Status::Completed)));
    let record = cluster.get(&scope(), a.id).await.unwrap().unwrap();
    assert_eq!(record.status, Status::Completed);
}
