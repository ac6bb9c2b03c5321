//! The database side of several nodes on one PostgreSQL (issue 12): a shared queue claimed
//! with `FOR UPDATE SKIP LOCKED` under caps, leases renewed by heartbeats, fenced writes,
//! rescue of a dead node's tasks, leader election, cancel and input signals with
//! `pg_notify`, and reads by key. See the [crate docs](crate#several-nodes-the-database-side).

mod admit;
mod batch;
mod cache;
mod claim;
mod close;
mod dependents;
mod enqueue;
mod error;
mod leader;
mod lease;
mod node;
mod notify;
mod options;
mod read;
mod reader;
mod record;
mod rescue;
mod shared;
mod signal;
mod take;

use std::fmt;

use deadpool_postgres::Pool;
use taskward_core::StoreError;

pub use claim::{Caps, Claimed};
pub use dependents::Settled;
pub use enqueue::NewTask;
pub use error::{ClusterError, Fenced};
pub use leader::Leadership;
pub use lease::{Fence, Heartbeat};
pub use node::NodeId;
pub use notify::{Listener, Notification};
pub use options::ClusterOptions;
pub use rescue::{Rescued, Swept};
pub use shared::SharedTable;
pub(crate) use shared::Waiters;
pub use signal::{Answered, CancelRequested};

pub(crate) use notify::{Payload, route, status_payload};
pub(crate) use options::millis;
pub(crate) use record::TERMINAL;

use crate::{pool, schema};

/// The channel every notification of the cluster is sent on.
pub(crate) const CHANNEL: &str = "taskward";

/// A node's handle on the cluster's tables: a pool of connections and the options.
///
/// Every method is one short transaction on a pooled connection; the handle is cheap to
/// clone and safe to share between tasks. It holds no state of its own about the node: the
/// node passes its [`NodeId`] to the calls that need it, so that one handle can serve several
/// nodes (the tests do).
///
/// # Examples
///
/// ```no_run
/// use taskward_postgres::{Caps, Cluster, ClusterOptions, NodeId};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let cluster = Cluster::connect("postgres://taskward@db/taskward", ClusterOptions::new()).await?;
/// let node = NodeId::new();
/// let claimed = cluster
///     .claim(node, &["count_primes"], 4, &Caps::new().global(100))
///     .await?;
/// for task in claimed {
///     // run task.record's work from task.checkpoint, then:
///     # let _ = task;
/// }
/// cluster.heartbeat(node, 4).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Cluster {
    pool: Pool,
    options: ClusterOptions,
    /// The dedicated connection of reads by key.
    reader: std::sync::Arc<reader::Reader>,
}

impl Cluster {
    /// Builds the pool for `url` (a `postgres://` URL or `key=value` string), connects once
    /// and migrates the schema to [`SCHEMA_VERSION`](crate::SCHEMA_VERSION) (under the
    /// migration lock, so nodes starting together migrate once).
    ///
    /// # Errors
    ///
    /// The URL does not parse, the server cannot be reached, the schema is newer than this
    /// build ([`SchemaTooNew`](crate::SchemaTooNew) is the source) or a migration fails.
    ///
    /// # Cancel safety
    ///
    /// Cancelling it drops the connection; a migration cut short is rolled back.
    pub async fn connect(url: &str, options: ClusterOptions) -> Result<Self, StoreError> {
        let target = pool::config(url, &options, "taskward")?;
        let reader = std::sync::Arc::new(reader::Reader::new(target.clone(), options.retry));
        let pool = pool::build(target, &options)?;
        let mut conn = pool::get(&pool).await?;
        schema::migrate(&mut conn).await?;
        drop(conn);
        Ok(Self {
            pool,
            options,
            reader,
        })
    }

    /// The options the cluster was opened with.
    pub fn options(&self) -> &ClusterOptions {
        &self.options
    }

    pub(crate) async fn conn(&self) -> Result<deadpool_postgres::Object, StoreError> {
        pool::get(&self.pool).await
    }
}

impl fmt::Debug for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster")
            .field("options", &self.options)
            .field("pool", &self.pool.status())
            .finish()
    }
}
