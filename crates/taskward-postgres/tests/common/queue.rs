//! Helpers of the shared-queue tests: nodes whose works report what runs at once, and in
//! which order.

#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use taskward_core::TaskError;
use taskward_postgres::{Node, NodeHandle, NodeId, NodeOptions};
use taskward_runtime::{Builder, TaskContext, Taskward};
use tokio::sync::Notify;

/// What the works of the queue tests report.
#[derive(Default)]
pub struct Gauge {
    /// Works running now.
    pub now: AtomicUsize,
    /// The most works seen running at once.
    pub max: AtomicUsize,
    /// The inputs of the works, in the order they started.
    pub order: Mutex<Vec<Value>>,
    /// Releases the `hold` works.
    pub release: Notify,
}

impl Gauge {
    pub fn max(&self) -> usize {
        self.max.load(Ordering::SeqCst)
    }

    pub fn order(&self) -> Vec<Value> {
        self.order.lock().unwrap().clone()
    }

    fn enter(&self, input: &Value) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
        self.order.lock().unwrap().push(input.clone());
    }

    fn leave(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A node with the queue-test kinds: `brief` (runs 20 ms, counted by the gauge), `other`
/// (the same, another kind), `hold` (waits for the gauge's release, then completes) and
/// `ask` (asks for input `name`, completes with it) and `sleep` (sleeps for its input's
/// milliseconds).
pub async fn queue_node(
    url: &str,
    gauge: &Arc<Gauge>,
    options: NodeOptions,
    configure: impl FnOnce(Builder) -> Builder,
) -> (Taskward, NodeHandle) {
    let (node, store, shared) = Node::join(url, NodeId::new(), options).await.expect("join");
    let slot = node.slot();
    let builder = Taskward::builder()
        .durable(store)
        .shared_tasks(shared)
        .node_slot(slot)
        .register("brief", brief(gauge))
        .register("other", brief(gauge))
        .register("hold", {
            let gauge = Arc::clone(gauge);
            move |_: TaskContext, input: Value| {
                let gauge = Arc::clone(&gauge);
                async move {
                    gauge.enter(&input);
                    gauge.release.notified().await;
                    gauge.leave();
                    Ok::<_, TaskError>(json!("released"))
                }
            }
        })
        .register("ask", |ctx: TaskContext, _: Value| async move {
            let name = ctx
                .request_input("name", json!({ "message": "name?" }))
                .await?;
            Ok(json!({ "hello": name }))
        })
        .register("sleep", |_: TaskContext, input: Value| async move {
            let ms = input.as_u64().unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok::<_, TaskError>(json!("slept"))
        });
    let ward = configure(builder)
        .spawn()
        .await
        .expect("the runtime starts");
    let handle = node.run(ward.clone());
    (ward, handle)
}

fn brief(
    gauge: &Arc<Gauge>,
) -> impl Fn(
    TaskContext,
    Value,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Value, TaskError>> + Send>>
+ Send
+ Sync
+ 'static {
    let gauge = Arc::clone(gauge);
    move |_: TaskContext, input: Value| {
        let gauge = Arc::clone(&gauge);
        Box::pin(async move {
            gauge.enter(&input);
            tokio::time::sleep(Duration::from_millis(20)).await;
            gauge.leave();
            Ok(input)
        })
    }
}

/// Stops each node's duties, then its runtime.
pub async fn stop_all(nodes: impl IntoIterator<Item = (Taskward, NodeHandle)>) {
    for (ward, handle) in nodes {
        handle.stop().await;
        let _ = ward.shutdown(Duration::from_secs(1)).await;
    }
}
