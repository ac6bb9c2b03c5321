//! Nodes of one cluster, each a runtime driven by a `Node`: a cancel on B reaches the work
//! on A, an answer on B reaches the work on A, a dead node's task is rescued by the leader
//! and run to completion from its checkpoint by another node, and joins draw distinct slots.
//!
//! A real database has no paused clock: the nodes heartbeat every 100 ms and the tests wait
//! for outcomes under a generous hang guard, never asserting a timing.

mod common;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use common::cluster::{cluster, enqueue, job, options, scope};
use common::fresh;
use serde_json::{Value, json};
use taskward_core::{Outcome, Status, TaskError, TaskId};
use taskward_postgres::{
    ClusterError, Fence, Fenced, Node, NodeHandle, NodeId, NodeOptions, SharedTable,
};
use taskward_runtime::{TaskContext, TaskSpec, Taskward};
use tokio::sync::Notify;

/// How long a test waits for an outcome before it is taken for a hang.
const HANG: Duration = Duration::from_secs(60);

/// What the works report to the test.
#[derive(Default)]
struct Probe {
    started: Notify,
    saw_cancel: Notify,
    /// Lets the `ask_later` work ask.
    go: Notify,
    /// Makes `checkpoint_later` complete at once.
    quick: std::sync::atomic::AtomicBool,
}

fn node_options() -> NodeOptions {
    NodeOptions::new()
        .capacity(8)
        .cluster(options().heartbeat(Duration::from_millis(100)))
}

/// `future`, or a panic naming `what` after [`HANG`].
async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(HANG, future)
        .await
        .unwrap_or_else(|_| panic!("{what}: no outcome within {HANG:?}"))
}

/// A node on `url` running a runtime with the test kinds, and its duties.
async fn start(url: &str, probe: &Arc<Probe>) -> (Taskward, NodeHandle, Joined) {
    start_with(url, probe, node_options()).await
}

/// As [`start`], with `options`.
async fn start_with(
    url: &str,
    probe: &Arc<Probe>,
    options: NodeOptions,
) -> (Taskward, NodeHandle, Joined) {
    let id = NodeId::new();
    let (node, store, shared) = Node::join(url, id, options).await.expect("join");
    let slot = node.slot();
    let waits = Arc::clone(probe);
    let ward = Taskward::builder()
        .durable(store)
        .shared_tasks(shared)
        .node_slot(slot)
        .register("wait_for_cancel", move |ctx: TaskContext, _: Value| {
            let probe = Arc::clone(&waits);
            async move {
                probe.started.notify_one();
                ctx.cancelled().await;
                probe.saw_cancel.notify_one();
                Err::<Value, _>(TaskError::cancelled())
            }
        })
        .register("checkpoint_later", {
            let probe = Arc::clone(probe);
            move |ctx: TaskContext, _: Value| {
                let probe = Arc::clone(&probe);
                async move {
                    if probe.quick.load(std::sync::atomic::Ordering::Relaxed) {
                        return Ok(json!("quick"));
                    }
                    probe.started.notify_one();
                    probe.go.notified().await;
                    ctx.checkpoint(json!({ "step": 1 }));
                    ctx.cancelled().await;
                    probe.saw_cancel.notify_one();
                    Err::<Value, _>(TaskError::cancelled())
                }
            }
        })
        .register("ask_later", {
            let probe = Arc::clone(probe);
            move |ctx: TaskContext, _: Value| {
                let probe = Arc::clone(&probe);
                async move {
                    probe.go.notified().await;
                    let name = ctx
                        .request_input("name", json!({ "message": "name?" }))
                        .await?;
                    Ok(json!({ "hello": name }))
                }
            }
        })
        .register("ask", |ctx: TaskContext, _: Value| async move {
            let name = ctx
                .request_input("name", json!({ "message": "name?" }))
                .await?;
            Ok(json!({ "hello": name }))
        })
        .register("resume", |ctx: TaskContext, _: Value| async move {
            let from = ctx.last_checkpoint().and_then(|c| c["step"].as_u64());
            Ok(json!({ "resumed_from": from }))
        })
        .spawn()
        .await
        .expect("the runtime starts");
    let handle = node.run(ward.clone());
    (ward, handle, Joined { id, slot })
}

/// What a test keeps of a node besides its runtime.
#[derive(Debug, Clone, Copy)]
struct Joined {
    id: NodeId,
    slot: u16,
}

async fn stop(ward: Taskward, handle: NodeHandle) {
    handle.stop().await;
    ward.shutdown(Duration::from_secs(1))
        .await
        .expect("shutdown");
}

fn spec(kind: &str) -> TaskSpec {
    TaskSpec::new(kind).scope(scope())
}

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

    // A's next write is refused, and A's node stops the work.
    probe.go.notify_one();
    within("A's work sees its token", probe.saw_cancel.notified()).await;
    let row = common::cluster_store::row(&url, task.id()).await.unwrap();
    assert_eq!(row.status, "working");
    assert_eq!((row.node, row.attempt), (Some(claimed[0].fence.node), 2));
    stop(ward_a, node_a).await;
}

/// Waits until node `id`'s row has been renewed `beats` more times.
async fn heartbeats(url: &str, id: NodeId, beats: usize) {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    let driver = tokio::spawn(connection);
    let mut seen = Vec::new();
    within("the node heartbeats", async {
        while seen.len() <= beats {
            let at: Option<time::OffsetDateTime> = client
                .query_opt(
                    "SELECT heartbeat_at FROM nodes WHERE id = $1",
                    &[id.as_uuid()],
                )
                .await
                .expect("read the node")
                .map(|row| row.get(0));
            if let Some(at) = at
                && seen.last() != Some(&at)
            {
                seen.push(at);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    driver.abort();
}

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
    // A's next write is refused: A stops the work, and its record here ends.
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

/// Polls task `id`'s row from a third handle until it is terminal.
async fn terminal_row(url: &str, id: TaskId) -> taskward_core::TaskRecord {
    let reader = cluster(url).await;
    within("the row ends", async {
        loop {
            let record = reader.get(&scope(), id).await.unwrap().expect("the row");
            if record.is_terminal() {
                return record;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
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

async fn cluster_with_heartbeat(url: &str) -> taskward_postgres::Cluster {
    taskward_postgres::Cluster::connect(url, options().heartbeat(Duration::from_millis(100)))
        .await
        .expect("connect")
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
