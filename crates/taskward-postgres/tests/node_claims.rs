//! A node's claims: within its capacity, a dead node's task rescued by the leader and
//! finished once from its checkpoint elsewhere, and a task a node claims back (going on
//! with it, or giving it back when it ended it already).
//!
//! A real database has no paused clock: the nodes heartbeat every 100 ms and the tests wait
//! for outcomes under a generous hang guard, never asserting a timing.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::cluster::{cluster, enqueue, job, scope};
use common::fresh;
use common::node::{
    Probe, cluster_with_heartbeat, heartbeats, node_options, spec, start, start_with, stop,
    terminal_row, within,
};
use serde_json::json;
use taskward_core::{Outcome, Status};
use taskward_postgres::{ClusterError, Fence, Fenced, NodeId};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_claims_no_more_than_its_capacity_and_claims_again_when_one_ends() {
    let (_server, url) = fresh();
    let raw = cluster(&url).await;
    let jobs: Vec<_> = (1..=3).map(|n| job("wait_for_cancel", n)).collect();
    enqueue(&raw, &jobs, 0).await;
    let probe = Arc::new(Probe::default());
    let (ward, node, me) = start_with(&url, &probe, node_options().capacity(1)).await;

    within("one task starts", probe.started.notified()).await;
    heartbeats(&url, me.id, 3).await;
    let running: Vec<_> = ward.live_tasks().iter().map(|r| r.id).collect();
    assert_eq!(running.len(), 1, "capacity 1: one claimed task at a time");
    let mut held = 0;
    for job in &jobs {
        held += usize::from(common::cluster_store::row(&url, job.id).await.unwrap().held);
    }
    assert_eq!(held, 1, "the others wait in the queue");

    ward.cancel(&scope(), running[0], None)
        .await
        .expect("cancelled");
    within("the next task starts", probe.started.notified()).await;
    let now: Vec<_> = ward.live_tasks().iter().map(|r| r.id).collect();
    assert_eq!(now.len(), 1);
    assert_ne!(now, running);
    stop(ward, node).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_claims_back_a_task_it_still_runs_goes_on_under_the_new_claim() {
    let (_server, url) = fresh();
    let probe = Arc::new(Probe::default());
    let (ward, node, me) = start_with(&url, &probe, node_options().capacity(1)).await;
    let task = ward
        .submit_kind(spec("checkpoint_later"), json!(null))
        .await
        .expect("submitted");
    within("the work starts", probe.started.notified()).await;

    // Its lease is taken for lapsed: the task is queued again, and this node claims it back.
    let raw = cluster(&url).await;
    let later = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    assert_eq!(raw.rescue(later).await.unwrap().requeued, [task.id()]);
    within("claimed back", async {
        loop {
            let row = common::cluster_store::row(&url, task.id()).await.unwrap();
            if row.held && row.attempt == 2 {
                assert_eq!(row.node, Some(me.id));
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;

    // It counts against the node's capacity (1) as a claimed task: another stays queued.
    let other = job("resume", 100);
    enqueue(&raw, std::slice::from_ref(&other), 0).await;
    heartbeats(&url, me.id, 3).await;
    let queued = common::cluster_store::row(&url, other.id).await.unwrap();
    assert!(!queued.held && queued.status == "working", "{queued:?}");

    // The running work's writes go through under the new claim.
    probe.go.notify_one();
    within("the checkpoint lands", async {
        while common::cluster_store::row(&url, task.id())
            .await
            .unwrap()
            .checkpoint
            .is_none()
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    ward.cancel(&scope(), task.id(), None)
        .await
        .expect("cancelled here");
    within("A's work sees its token", probe.saw_cancel.notified()).await;
    let ended = terminal_row(&url, task.id()).await;
    assert_eq!(ended.status, Status::Cancelled);
    let row = common::cluster_store::row(&url, task.id()).await.unwrap();
    assert_eq!((row.node, row.attempt, row.held), (Some(me.id), 2, false));
    stop(ward, node).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_claimed_back_by_a_node_that_ended_it_is_given_back_to_another() {
    let (_server, url) = fresh();
    let probe = Arc::new(Probe::default());
    let (ward_a, node_a, a) = start(&url, &probe).await;
    let task = ward_a
        .submit_kind(spec("checkpoint_later"), json!(null))
        .await
        .expect("submitted on A");
    within("the work starts on A", probe.started.notified()).await;

    // A's lease is taken for lapsed; the task is queued again, claimable shortly.
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let driver = tokio::spawn(connection);
    client
        .execute(
            "UPDATE tasks SET lease_until = NULL, node = NULL, queued = true, \
             available_at = now() + interval '1 second' WHERE id = $1",
            &[task.id().as_uuid()],
        )
        .await
        .unwrap();
    driver.abort();
    // A cancels it here (its write is refused): its record here ends.
    ward_a
        .cancel(&scope(), task.id(), None)
        .await
        .expect("cancelled on A");
    probe.go.notify_one();
    within("A's work sees its token", probe.saw_cancel.notified()).await;
    // Then A claims the task back, and cannot run it again.
    within("A claims it back", async {
        loop {
            let row = common::cluster_store::row(&url, task.id()).await.unwrap();
            if row.attempt >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;

    // B finishes it: A gave it back rather than holding it.
    let quick = Arc::new(Probe::default());
    quick
        .quick
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let (ward_b, node_b, b) = start(&url, &quick).await;
    let ended = terminal_row(&url, task.id()).await;
    assert_eq!(ended.outcome, Some(Outcome::completed(json!("quick"))));
    let row = common::cluster_store::row(&url, task.id()).await.unwrap();
    assert_eq!(row.node, Some(b.id));
    assert_ne!(row.node, Some(a.id));
    stop(ward_a, node_a).await;
    stop(ward_b, node_b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_nodes_task_is_rescued_by_the_leader_and_finished_once_from_its_checkpoint() {
    let (_server, url) = fresh();
    // The dead node: a raw handle that claims a task, checkpoints it, and never heartbeats.
    let dead = cluster_with_heartbeat(&url).await;
    let dead_id = NodeId::new();
    let record = job("resume", 1);
    enqueue(&dead, std::slice::from_ref(&record), 0).await;
    let claimed = dead
        .claim(dead_id, &["resume"], 1, &Default::default())
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let fence = claimed[0].fence;
    dead.checkpoint(fence, &json!({ "step": 1 })).await.unwrap();

    // B, alone, leads: it rescues the task once the lease expires, claims it and runs it.
    let probe = Arc::new(Probe::default());
    let (ward_b, node_b, b) = start(&url, &probe).await;
    let finished = terminal_row(&url, record.id).await;
    assert_eq!(finished.status, Status::Completed);
    assert_eq!(
        finished.outcome,
        Some(Outcome::completed(json!({ "resumed_from": 1 })))
    );
    let local = ward_b.get(&scope(), record.id).expect("B ran it");
    assert_eq!(local.outcome, finished.outcome);

    // The dead holder's finish is refused: it completes once.
    let mut late = finished.clone();
    late.outcome = Some(Outcome::completed(json!("twice")));
    let refused = dead
        .finish(Fence::new(record.id, dead_id, fence.attempt), &late)
        .await;
    assert!(
        matches!(
            refused,
            Err(ClusterError::Fenced(
                Fenced::Reclaimed { .. } | Fenced::Terminal(_)
            ))
        ),
        "{refused:?}"
    );
    let row = common::cluster_store::row(&url, record.id).await.unwrap();
    assert_eq!(row.status, "completed");
    assert_eq!(row.node, Some(b.id));
    assert_eq!(row.attempt, 2, "claimed twice: the dead node, then B");
    assert!(!row.held, "no task is left held");
    stop(ward_b, node_b).await;
}
