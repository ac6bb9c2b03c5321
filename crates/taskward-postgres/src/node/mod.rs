//! [`Node`]: one taskward runtime as a node of a cluster on PostgreSQL, and the loop of its
//! duties (heartbeats, claims, signals, refusals, rescue and sweep while it leads). See the
//! [crate docs](crate#running-a-node).

mod driver;
mod duties;
mod give_back;
mod handle;
mod options;
mod room;
mod slot;

use std::fmt;
use std::sync::Arc;

use taskward_core::StoreError;
use taskward_runtime::Taskward;
use tokio::sync::oneshot;

pub use handle::NodeHandle;
pub use options::NodeOptions;
pub(crate) use room::{Reserved, Room};

use crate::{
    Cluster, ClusterStore, ClusterStoreOptions, Fences, Leadership, Listener, NodeId, Refusals,
    SharedTable,
};

/// One node of a cluster: what joins the runtime to the shared tables and, once
/// [running](Self::run), does the node's duties.
///
/// [`join`](Self::join) connects as node `id` and gives the two halves the runtime's builder
/// takes: the node's [`ClusterStore`] (`Builder::durable`: the node's fenced writes) and a
/// [`SharedTable`] (`Builder::shared_tasks`: any node answers for any task); and the node's
/// [`slot`](Self::slot) for `Builder::node_slot`, so that task `seq`s are unique across
/// nodes. Then [`run`](Self::run) spawns the loop of its duties, every heartbeat period and
/// at each notification (see [Running a node](crate#running-a-node)).
///
/// # Examples
///
/// ```no_run
/// use taskward_postgres::{Node, NodeId, NodeOptions};
/// use taskward_runtime::Taskward;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let id = NodeId::new(); // keep it in a file: a restart then finds its tasks
/// let (node, store, shared) =
///     Node::join("postgres://taskward@db/taskward", id, NodeOptions::new()).await?;
/// let ward = Taskward::builder()
///     .durable(store)
///     .shared_tasks(shared)
///     .node_slot(node.slot())
///     .spawn()
///     .await?;
/// let duties = node.run(ward.clone());
/// // ... serve ...
/// duties.stop().await;
/// ward.shutdown(std::time::Duration::from_secs(5)).await?;
/// # Ok(())
/// # }
/// ```
pub struct Node {
    id: NodeId,
    slot: u16,
    cluster: Cluster,
    options: NodeOptions,
    fences: Fences,
    refusals: Refusals,
    listener: Listener,
    leadership: Leadership,
    room: Arc<Room>,
}

impl Node {
    /// Joins the cluster on the database `url` names as node `id`: connects (migrating the
    /// schema), draws the node's slot, opens the node's store, its listening connection and
    /// the shared view, and starts contending for the lead.
    ///
    /// The slot is `nextval('node_slots') % NODE_SLOTS` (1024): two nodes share a slot only
    /// if 1024 joins happened between theirs while the first still runs, so slots are unique
    /// among nodes that joined within any 1024 consecutive joins. Each join draws a new slot,
    /// a restart too.
    ///
    /// # Errors
    ///
    /// The URL does not parse, the server cannot be reached, the schema is newer than this
    /// build, the policy is `memory`, or `power` is asked of a server with `fsync` off.
    ///
    /// # Cancel safety
    ///
    /// Cancelling it drops what was opened; the slot drawn is lost (harmless).
    pub async fn join(
        url: &str,
        id: NodeId,
        options: NodeOptions,
    ) -> Result<(Node, ClusterStore, SharedTable), StoreError> {
        let cluster = Cluster::connect(url, options.cluster.clone()).await?;
        let slot = slot::allocate(&cluster).await?;
        let store_options =
            ClusterStoreOptions::new(options.cluster.clone()).durability(options.durability);
        let owned = url.to_owned();
        let mut store =
            tokio::task::spawn_blocking(move || ClusterStore::connect(&owned, id, store_options))
                .await
                .map_err(|e| StoreError::new(format!("postgres node: opening the store: {e}")))??;
        let refusals = store
            .refusals()
            .ok_or_else(|| StoreError::new("postgres node: the store's refusals were taken"))?;
        let fences = store.fences();
        let listener = Listener::connect(url, &options.cluster).await?;
        let leadership = Leadership::start(url, &options.cluster)?;
        let room = Arc::new(Room::new(
            id,
            fences.clone(),
            options.capacity,
            options.caps.clone(),
        ));
        let shared = SharedTable::of_node(cluster.clone(), Arc::clone(&room));
        let node = Node {
            id,
            slot,
            cluster,
            options,
            fences,
            refusals,
            // One listening connection per node: it wakes the view's waiters too.
            listener: listener.waking(shared.waiters()),
            leadership,
            room,
        };
        Ok((node, store, shared))
    }

    /// The node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The node's slot, for `Builder::node_slot`.
    pub fn slot(&self) -> u16 {
        self.slot
    }

    /// The node's handle on the cluster's tables.
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// Spawns the node's duties for the runtime `ward` (built with this node's store, shared
    /// view and slot) on the current tokio runtime, and returns their handle. None of them
    /// runs inside a handler of the runtime.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn run(self, ward: Taskward) -> NodeHandle {
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(driver::Driver::new(self, ward).run(stopped));
        NodeHandle::new(stop, task)
    }
}

/// Without the URL, which may hold a password.
impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Node")
            .field("id", &self.id)
            .field("slot", &self.slot)
            .field("options", &self.options)
            .field("held", &self.fences.len())
            .finish_non_exhaustive()
    }
}
