//! Helpers of the cluster store tests: a node's store, and the cluster columns of a row.

use taskward_core::TaskId;
use taskward_postgres::{ClusterStore, ClusterStoreOptions, Fenced, NodeId, Refusal, Refusals};
use tokio_postgres::NoTls;

use super::cluster::options;

/// The store of node `node` on `url` (`process` policy).
pub fn store(url: &str, node: NodeId) -> ClusterStore {
    ClusterStore::connect(url, node, ClusterStoreOptions::new(options())).expect("connect")
}

/// The store of node `node` and its refusals.
pub fn store_with_refusals(url: &str, node: NodeId) -> (ClusterStore, Refusals) {
    let mut store = store(url, node);
    let refusals = store.refusals().expect("the refusals, taken once");
    (store, refusals)
}

/// Every refusal waiting, as (task, why).
pub fn drain(refusals: &mut Refusals) -> Vec<(TaskId, Fenced)> {
    std::iter::from_fn(|| refusals.try_recv())
        .map(|r: Refusal| (r.id, r.why))
        .collect()
}

/// The cluster columns of a task's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub status: String,
    pub node: Option<NodeId>,
    pub attempt: i32,
    pub held: bool,
    pub kind: Option<String>,
    pub checkpoint: Option<String>,
}

/// The cluster columns of task `id`'s row, `None` without one.
pub async fn row(url: &str, id: TaskId) -> Option<Row> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.expect("connect");
    let driver = tokio::spawn(connection);
    let row = client
        .query_opt(
            "SELECT status, node, attempt, lease_until IS NOT NULL, kind, checkpoint::text \
             FROM tasks WHERE id = $1",
            &[id.as_uuid()],
        )
        .await
        .expect("read a row")
        .map(|r| Row {
            status: r.get(0),
            node: r.get::<_, Option<uuid::Uuid>>(1).map(NodeId::from_uuid),
            attempt: r.get(2),
            held: r.get(3),
            kind: r.get(4),
            checkpoint: r.get(5),
        });
    drop(client);
    let _ = driver.await;
    row
}
