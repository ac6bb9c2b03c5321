//! Helpers of the node tests: runtimes joined as nodes with test kinds, probes the works
//! report to, and waits under a hang guard (a real database has no paused clock).

#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use taskward_core::{TaskError, TaskId};
use taskward_postgres::{Node, NodeHandle, NodeId, NodeOptions};
use taskward_runtime::{TaskContext, TaskSpec, Taskward};
use tokio::sync::Notify;

use super::cluster::{cluster, options, scope};

/// How long a test waits for an outcome before it is taken for a hang.
pub const HANG: Duration = Duration::from_secs(60);

/// What the works report to the test.
#[derive(Default)]
pub struct Probe {
    pub started: Notify,
    pub saw_cancel: Notify,
    /// Lets the `ask_later` work ask.
    pub go: Notify,
    /// Makes `checkpoint_later` complete at once.
    pub quick: std::sync::atomic::AtomicBool,
}

pub fn node_options() -> NodeOptions {
    NodeOptions::new()
        .capacity(8)
        .cluster(options().heartbeat(Duration::from_millis(100)))
}

/// `future`, or a panic naming `what` after [`HANG`].
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(HANG, future)
        .await
        .unwrap_or_else(|_| panic!("{what}: no outcome within {HANG:?}"))
}

/// A node on `url` running a runtime with the test kinds, and its duties.
pub async fn start(url: &str, probe: &Arc<Probe>) -> (Taskward, NodeHandle, Joined) {
    start_with(url, probe, node_options()).await
}

/// As [`start`], with `options`.
pub async fn start_with(
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
pub struct Joined {
    pub id: NodeId,
    pub slot: u16,
}

pub async fn stop(ward: Taskward, handle: NodeHandle) {
    handle.stop().await;
    ward.shutdown(Duration::from_secs(1))
        .await
        .expect("shutdown");
}

/// A spec of `kind` that runs on the node it is submitted to (these tests are about where
/// it runs; the shared queue's routing has tests of its own, tests/queue.rs).
pub fn spec(kind: &str) -> TaskSpec {
    TaskSpec::new(kind).scope(scope()).stay_local()
}

/// Waits until node `id`'s row has been renewed `beats` more times.
pub async fn heartbeats(url: &str, id: NodeId, beats: usize) {
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

/// Polls task `id`'s row from a third handle until it is terminal.
pub async fn terminal_row(url: &str, id: TaskId) -> taskward_core::TaskRecord {
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

pub async fn cluster_with_heartbeat(url: &str) -> taskward_postgres::Cluster {
    taskward_postgres::Cluster::connect(url, options().heartbeat(Duration::from_millis(100)))
        .await
        .expect("connect")
}
