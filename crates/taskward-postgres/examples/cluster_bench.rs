//! The figures of several nodes on one PostgreSQL (issue 12), on a throwaway server of its own
//! (the tests' harness: PostgreSQL's server binaries must be installed), beside a plain-SQL
//! floor in the same run:
//!
//! - `cluster_submit_to_terminal`: tasks/s, three nodes (three runtimes joined with
//!   `Node::join`, in this process) each with 16 submitters of trivial closure work, submit
//!   to terminal, every task a fenced row of the shared table (`process` policy). Floor: the
//!   same rows (an insert, then the terminal update) written by three plain connections in
//!   transactions of 100 tasks.
//! - `cluster_queue_submit_to_terminal`: tasks/s, the same three nodes with 64 submitters
//!   each, of trivial tasks of a registered kind (`Taskward::submit_kind`): each is admitted
//!   into the shared queue (group commit), claimed by any node with room (capacity 64 each),
//!   run there, and waited for on the node that submitted it.
//! - `cluster_get_remote_p50` / `_p99`: µs for `Taskward::find` on node B of a task node A
//!   holds (a read by key of the shared table). Floor: the same `SELECT` on one plain
//!   connection.
//! - `cluster_cancel_remote_p50` / `_p99`: ms from node B's `cancel` of a task running on
//!   node A to A's work observing its token.
//! - `cluster_get_remote_terminal_p50` / `_p99`: µs for `find` on node B of those tasks once
//!   they are terminal (B's cache of terminal records answers after its first read of each).
//! - `cluster_rescue_ms`: ms from the death of a node holding tasks of a registered kind
//!   (its runtime dropped without shutdown, its duties gone) to the last of them completed by
//!   the other nodes, beside the bound (the lease plus one heartbeat).
//!
//! ```text
//! cargo run --release -p taskward-postgres --example cluster_bench
//! ```

#[path = "../tests/common/server.rs"]
mod server;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use taskward_core::{Scope, TaskError, TaskId};
use taskward_postgres::{ClusterOptions, Node, NodeHandle, NodeId, NodeOptions};
use taskward_runtime::{TaskContext, TaskSpec, Taskward};
use tokio::sync::mpsc;

const HEARTBEAT: Duration = Duration::from_millis(200);

fn options() -> NodeOptions {
    NodeOptions::new()
        .capacity(64)
        .cluster(ClusterOptions::new().heartbeat(HEARTBEAT))
}

/// A node: a runtime with the `hold` kind (sleeps `ms`, then completes), joined and running.
async fn node(url: &str) -> (Taskward, NodeHandle) {
    let (node, store, shared) = Node::join(url, NodeId::new(), options())
        .await
        .expect("join");
    let ward = Taskward::builder()
        .unlimited_live_tasks()
        .node_slot(node.slot())
        .durable(store)
        .shared_tasks(shared)
        .register(
            "trivial_kind",
            |_ctx: TaskContext, _input: Value| async move { Ok(Value::Null) },
        )
        .register("hold", |_ctx: TaskContext, input: Value| async move {
            let ms = input["ms"].as_u64().unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(json!("held"))
        })
        .spawn()
        .await
        .expect("spawn");
    let handle = node.run(ward.clone());
    (ward, handle)
}

fn percentile(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[i.min(samples.len() - 1)]
}

async fn submit_to_terminal(nodes: &[Taskward], per_node: usize) -> f64 {
    let start = Instant::now();
    let mut joins = Vec::new();
    for ward in nodes {
        for _ in 0..16 {
            let ward = ward.clone();
            joins.push(tokio::spawn(async move {
                for _ in 0..per_node / 16 {
                    let spec = TaskSpec::new("trivial").scope(Scope::session("bench"));
                    let task = ward
                        .submit(spec, |_ctx| async { Ok::<_, TaskError>(Value::Null) })
                        .await
                        .expect("submit");
                    task.wait().await.expect("wait");
                }
            }));
        }
    }
    for join in joins {
        join.await.expect("submitter");
    }
    (nodes.len() * (per_node / 16) * 16) as f64 / start.elapsed().as_secs_f64()
}

/// Submitters per node of the queue figure: a routed task's way (admission, claim, its
/// running and terminal writes) is four commits long, so it takes more tasks in flight than
/// the closure figure's 16 per node to keep the nodes busy.
const QUEUE_SUBMITTERS: usize = 64;

/// As [`submit_to_terminal`], with tasks of a registered kind routed through the shared
/// queue, [`QUEUE_SUBMITTERS`] submitters per node.
async fn queue_submit_to_terminal(nodes: &[Taskward], per_node: usize) -> f64 {
    let start = Instant::now();
    let mut joins = Vec::new();
    for ward in nodes {
        for _ in 0..QUEUE_SUBMITTERS {
            let ward = ward.clone();
            joins.push(tokio::spawn(async move {
                for _ in 0..per_node / QUEUE_SUBMITTERS {
                    let spec = TaskSpec::new("trivial_kind").scope(Scope::session("bench"));
                    let task = ward.submit_kind(spec, Value::Null).await.expect("submit");
                    task.wait().await.expect("wait");
                }
            }));
        }
    }
    for join in joins {
        join.await.expect("submitter");
    }
    (nodes.len() * (per_node / QUEUE_SUBMITTERS) * QUEUE_SUBMITTERS) as f64
        / start.elapsed().as_secs_f64()
}

async fn floor_submit_to_terminal(url: &str, per_conn: usize) -> f64 {
    let start = Instant::now();
    let mut joins = Vec::new();
    for _ in 0..3 {
        let url = url.to_owned();
        joins.push(tokio::spawn(async move {
            let (mut client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .expect("connect");
            tokio::spawn(conn);
            let record = json!({"status": "working", "name": "trivial"});
            for _ in 0..per_conn / 100 {
                let ids: Vec<uuid::Uuid> = (0..100).map(|_| uuid::Uuid::new_v4()).collect();
                let tx = client.transaction().await.expect("begin");
                tx.execute(
                    "INSERT INTO tasks (id, seq, scope, status, record, node, attempt, \
                     lease_until) SELECT i, 0, 'floor', 'working', $2, $3, 1, \
                     now() + interval '30 s' FROM unnest($1::uuid[]) AS i",
                    &[
                        &ids,
                        &tokio_postgres::types::Json(&record),
                        &uuid::Uuid::nil(),
                    ],
                )
                .await
                .expect("insert");
                tx.commit().await.expect("commit");
                let tx = client.transaction().await.expect("begin");
                tx.execute(
                    "UPDATE tasks SET status = 'completed', record = $2, lease_until = NULL \
                     WHERE id = ANY($1) AND node = $3 AND attempt = 1",
                    &[
                        &ids,
                        &tokio_postgres::types::Json(&record),
                        &uuid::Uuid::nil(),
                    ],
                )
                .await
                .expect("update");
                tx.commit().await.expect("commit");
            }
        }));
    }
    for join in joins {
        join.await.expect("floor");
    }
    (3 * (per_conn / 100) * 100) as f64 / start.elapsed().as_secs_f64()
}

/// Tasks node A holds, parked until cancelled; each reports when its work saw the cancel.
async fn parked(
    a: &Taskward,
    n: usize,
) -> (Vec<TaskId>, mpsc::UnboundedReceiver<(TaskId, Instant)>) {
    let (seen, observed) = mpsc::unbounded_channel();
    let mut ids = Vec::new();
    for _ in 0..n {
        let seen = seen.clone();
        let spec = TaskSpec::new("parked").scope(Scope::session("bench"));
        let task = a
            .submit_once(spec, move |ctx: TaskContext| async move {
                ctx.cancelled().await;
                let _ = seen.send((ctx.id(), Instant::now()));
                Ok(Value::Null)
            })
            .await
            .expect("submit");
        ids.push(task.id());
    }
    a.synced().await.expect("synced");
    (ids, observed)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let server = server::PgServer::start();
    let url = server.fresh_database();
    let (a, a_node) = node(&url).await;
    let (b, b_node) = node(&url).await;
    let (c, c_node) = node(&url).await;
    let nodes = [a.clone(), b.clone(), c.clone()];

    let per_node = if quick { 1_600 } else { 10_000 };
    let tps = submit_to_terminal(&nodes, per_node).await;
    let floor = floor_submit_to_terminal(&url, per_node).await;
    println!(
        "cluster_submit_to_terminal {tps:.0} tasks/s (floor {floor:.0}, {:.2}x; target >= 5000)",
        tps / floor
    );
    let queued = queue_submit_to_terminal(&nodes, per_node).await;
    println!(
        "cluster_queue_submit_to_terminal {queued:.0} tasks/s (floor {floor:.0}, {:.2}x; target >= 5000)",
        queued / floor
    );

    let (ids, mut observed) = parked(&a, if quick { 50 } else { 200 }).await;
    let scope = Scope::session("bench");
    let mut gets = Vec::new();
    for _ in 0..(if quick { 500 } else { 2_000 }) {
        let id = ids[gets.len() % ids.len()];
        let t = Instant::now();
        b.find(&scope, id).await.expect("find");
        gets.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    let select = client
        .prepare("SELECT record::text FROM tasks WHERE id = $1 AND scope = $2")
        .await
        .expect("prepare");
    let mut floor_gets = Vec::new();
    for i in 0..gets.len() {
        let t = Instant::now();
        client
            .query_opt(&select, &[ids[i % ids.len()].as_uuid(), &"session:bench"])
            .await
            .expect("select");
        floor_gets.push(t.elapsed().as_secs_f64() * 1e6);
    }
    println!(
        "cluster_get_remote_p50 {:.1} us (floor {:.1}; target <= 50); p99 {:.1} us (floor {:.1})",
        percentile(&mut gets, 0.5),
        percentile(&mut floor_gets, 0.5),
        percentile(&mut gets, 0.99),
        percentile(&mut floor_gets, 0.99)
    );

    let mut cancels = Vec::new();
    for id in &ids {
        let t = Instant::now();
        b.cancel(&scope, *id, None).await.expect("cancel");
        let (seen_id, at) = tokio::time::timeout(Duration::from_secs(30), observed.recv())
            .await
            .expect("observed within 30 s")
            .expect("a work");
        assert_eq!(seen_id, *id);
        cancels.push(at.duration_since(t).as_secs_f64() * 1e3);
    }
    println!(
        "cluster_cancel_remote_p50 {:.2} ms; p99 {:.2} ms (target <= 50)",
        percentile(&mut cancels, 0.5),
        percentile(&mut cancels, 0.99)
    );

    // The same tasks, now terminal: node B answers them from its cache of terminal records
    // after its first read of each.
    let mut terminal_gets = Vec::new();
    for _ in 0..(if quick { 500 } else { 2_000 }) {
        let id = ids[terminal_gets.len() % ids.len()];
        let t = Instant::now();
        let record = b.find(&scope, id).await.expect("find");
        terminal_gets.push(t.elapsed().as_secs_f64() * 1e6);
        assert!(record.is_terminal());
    }
    println!(
        "cluster_get_remote_terminal_p50 {:.2} us; p99 {:.2} us",
        percentile(&mut terminal_gets, 0.5),
        percentile(&mut terminal_gets, 0.99)
    );

    // A fourth node, on a tokio runtime of its own, holds registered-kind tasks and dies.
    let url4 = url.clone();
    let dying = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let ids = rt.block_on(async {
            let (d, d_node) = node(&url4).await;
            let mut ids = Vec::new();
            for _ in 0..20 {
                // Held by this node (not queued for any): its death is what is measured.
                let spec = TaskSpec::new("hold")
                    .scope(Scope::session("bench"))
                    .stay_local();
                let task = d
                    .submit_kind(spec, json!({"ms": 600_000}))
                    .await
                    .expect("submit");
                ids.push(task.id());
            }
            d.synced().await.expect("synced");
            std::mem::forget(d_node);
            std::mem::forget(d);
            ids
        });
        // Death: the runtime's threads stop at once, no shutdown, no last write.
        rt.shutdown_background();
        (ids, Instant::now())
    });
    let (dead_ids, died) = tokio::task::spawn_blocking(move || dying.join().expect("node"))
        .await
        .expect("join");
    // The rescued tasks run again elsewhere; `hold` is told nothing new, so they run their
    // 600 s: a task counts as rescued once another node holds it running again.
    let mut rescued_at = None;
    while died.elapsed() < Duration::from_secs(120) {
        // Claimed again: the claim's attempt (the fencing token) is past the dead node's.
        let uuids: Vec<uuid::Uuid> = dead_ids.iter().map(|id| *id.as_uuid()).collect();
        let row = client
            .query_one(
                "SELECT count(*) FROM tasks WHERE id = ANY($1) AND attempt >= 2 \
                 AND lease_until IS NOT NULL",
                &[&uuids],
            )
            .await
            .expect("count");
        if row.get::<_, i64>(0) == uuids.len() as i64 {
            rescued_at = Some(died.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let bound = HEARTBEAT * 4;
    match rescued_at {
        Some(at) => println!(
            "cluster_rescue_ms {:.0} ms for {} tasks (bound: lease + heartbeat = {} ms)",
            at.as_secs_f64() * 1e3,
            dead_ids.len(),
            bound.as_millis()
        ),
        None => println!("cluster_rescue_ms: not rescued within 120 s"),
    }

    for (ward, handle) in [(a, a_node), (b, b_node), (c, c_node)] {
        handle.stop().await;
        let _ = ward.shutdown(Duration::from_secs(5)).await;
    }
}
