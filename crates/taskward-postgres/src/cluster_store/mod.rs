//! A node's durable store on the shared tables (issue 12): the runtime's journal writes the
//! node's tasks into the cluster's `tasks` table, every write fenced. See the
//! [crate docs](crate#a-nodes-writes-clusterstore).

mod coalesce;
mod commit;
mod conn;
mod fences;
mod options;
mod plan;
mod refusal;

use std::fmt;
use std::sync::{Arc, Mutex};

use taskward_core::{Durability, DurableStore, Loaded, StoreError, StoreWrite};

pub use fences::Fences;
pub use options::ClusterStoreOptions;
pub use refusal::{Refusal, Refusals};

use self::coalesce::Coalescer;
use self::conn::{Link, Setup};
use self::refusal::Sink;
use crate::cluster::millis;
use crate::worker::Worker;
use crate::{Claimed, LoadStats, NodeId, PostgresOptions, pool};

/// A node's [`DurableStore`] on the cluster's shared tables: the runtime of one node writes
/// its tasks through it, and every write of a task the node holds is fenced by the node and
/// the attempt it holds the task under.
///
/// - A `Put` of a task the node does not hold inserts a row held by the node (attempt 1, a
///   lease of [`ClusterOptions::lease`](crate::ClusterOptions::lease); a record with an input
///   keeps its name as `kind`, so that a rescue can queue it again; a closure task has no
///   kind), as [`Cluster::insert_local`](crate::Cluster::insert_local) does.
/// - A `Put` or `Checkpoint` of a held task updates the row only if it still holds this node
///   and attempt and is not terminal; a terminal record releases the lease, as
///   [`Cluster::finish`](crate::Cluster::finish) does.
/// - A `Remove` forgets the node's fence and leaves the row: the elected node's TTL sweep
///   ([`Cluster::sweep`](crate::Cluster::sweep)) removes expired rows for the whole cluster,
///   and a node dropping a finished task from its memory (a retention cap) must not delete
///   it for the others.
/// - `Inputs` writes a held task's outstanding input requests to its row, fenced like a
///   `Put` (a write that matches no row is dropped: the task's record write reports it); a
///   status change of a held task sends a `status` notification in the same transaction.
/// - `Session` and `SessionRemove` write the shared `sessions` table (a removed session
///   stays as a tombstone that no `Session` write brings back).
///
/// A fenced write that matches no row is not an error: the batch commits the rest, and the
/// store reports a [`Refusal`] on the channel [`refusals`](Self::refusals) hands out. A
/// database error is an error, and the journal retries the batch; every statement is
/// idempotent under that retry, even after a `COMMIT` whose reply was lost (see
/// [Retries](crate#retries-and-refusals)).
///
/// [`load`](DurableStore::load) returns every session and the tasks this [`NodeId`] holds
/// (a lease set, `node` = this id), and takes their fences from their rows. Keep a node's id
/// across restarts (a file in its data directory) so that it finds its tasks again; a node
/// with a new id loads none, and the elected node rescues the old id's tasks once their
/// lease expires.
///
/// # Progress is coalesced
///
/// A held task's non-terminal `Put` whose status and phase are the ones last written for it
/// (only its progress, status message or such changed), less than
/// [`progress_interval`](ClusterStoreOptions::progress_interval) (250 ms) after the task's
/// last write, is not written in its batch: it waits as the task's pending record (a later
/// one replaces it). The task's next write that does not wait supersedes it (a checkpoint
/// alone takes it along), and the store's thread writes it by itself once the interval has
/// passed; a `Remove` drops it. So a node writes each task's progress at most about every
/// interval, and `tasks/get` on another node shows it that late at most. Nothing a caller
/// waits for waits: a new task's first write, a status or phase change, a terminal record,
/// a checkpoint and sessions go in their batch. A crash loses at most a task's last
/// interval of progress, which its next write (or a resume after a rescue) overwrites; the
/// fencing, the refusals (a pending record refused when written is reported like any
/// other) and the retries are those of every write.
///
/// Heartbeats are the node driver's job ([`Cluster::heartbeat`](crate::Cluster::heartbeat)
/// renews the leases of the rows this store inserts). Like
/// [`PostgresStore`](crate::PostgresStore), the store runs one connection on a thread of its
/// own, so its methods block and are safe from any thread.
///
/// # Examples
///
/// ```no_run
/// use taskward_postgres::{ClusterOptions, ClusterStore, ClusterStoreOptions, NodeId};
///
/// let node = NodeId::new(); // read it from the node's data directory, in production
/// let mut store = ClusterStore::connect(
///     "postgres://taskward@db/taskward",
///     node,
///     ClusterStoreOptions::new(ClusterOptions::new()),
/// )?;
/// let mut refusals = store.refusals().expect("taken once");
/// let fences = store.fences(); // adopt claimed tasks through it
/// // Taskward::builder().durable(store).spawn().await?, then read `refusals` in a task.
/// # let _ = (&mut refusals, fences);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ClusterStore {
    worker: Worker<Link>,
    node: NodeId,
    durability: Durability,
    fences: Fences,
    refusals: Option<Refusals>,
    last_load: LoadStats,
}

impl ClusterStore {
    /// Connects to the database `url` names as node `node`, migrates the schema, and
    /// returns the store.
    ///
    /// Blocks until the first connection is open and set up (plain, as for
    /// [`PostgresStore`](crate::PostgresStore)). Loads nothing: the runtime calls
    /// [`load`](DurableStore::load).
    ///
    /// # Errors
    ///
    /// The URL does not parse, the policy is [`Durability::Memory`], the server cannot be
    /// reached, `power` is asked of a server running with `fsync = off`, the schema is newer
    /// than this build ([`SchemaTooNew`](crate::SchemaTooNew) is the source) or a migration
    /// fails.
    pub fn connect(
        url: &str,
        node: NodeId,
        options: ClusterStoreOptions,
    ) -> Result<Self, StoreError> {
        if options.durability == Durability::Memory {
            return Err(StoreError::new(
                "postgres cluster store: the `memory` policy keeps nothing: run without a \
                 durable store",
            ));
        }
        let config = pool::config(url, &options.cluster, "taskward")?;
        let fences = Fences::new(node);
        let (sink, refusals) = Sink::channel(options.refusals);
        let setup = Setup {
            config,
            options: PostgresOptions::new()
                .durability(options.durability)
                .connect_timeout(options.cluster.connect_timeout),
            node,
            lease_ms: millis(options.cluster.lease),
            fences: fences.clone(),
            sink,
            coalescer: Arc::new(Mutex::new(Coalescer::new(options.progress_interval))),
        };
        Ok(Self {
            worker: Worker::start(setup)?,
            node,
            durability: options.durability,
            fences,
            refusals: Some(refusals),
            last_load: LoadStats::default(),
        })
    }

    /// The node this store writes as.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The receiving end of the refusals: `Some` the first time, `None` after. Take it
    /// before handing the store to the runtime.
    pub fn refusals(&mut self) -> Option<Refusals> {
        self.refusals.take()
    }

    /// The fences of the tasks the node holds, shared with the store: keep it to
    /// [`adopt`](Fences::adopt) claimed tasks once the store belongs to the runtime.
    pub fn fences(&self) -> Fences {
        self.fences.clone()
    }

    /// Makes the store write `claimed`'s task under its claim (see [`Fences::adopt`]).
    ///
    /// # Errors
    ///
    /// The claim is another node's.
    pub fn adopt(&self, claimed: &Claimed) -> Result<(), StoreError> {
        self.fences.adopt(claimed)
    }

    /// What the last [`load`](DurableStore::load) read and skipped (all zero before the first).
    pub fn last_load(&self) -> LoadStats {
        self.last_load
    }
}

impl fmt::Debug for ClusterStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterStore")
            .field("node", &self.node)
            .field("durability", &self.durability)
            .field("held", &self.fences.len())
            .field("last_load", &self.last_load)
            .finish_non_exhaustive()
    }
}

impl DurableStore for ClusterStore {
    fn durability(&self) -> Durability {
        self.durability
    }

    /// Every session, and the tasks this node holds (see the type's docs).
    fn load(&mut self) -> Result<Loaded, StoreError> {
        let (loaded, stats) = self.worker.load()?;
        self.last_load = stats;
        Ok(loaded)
    }

    /// One transaction per batch; refused fenced writes are reported, not failed.
    fn commit(&mut self, batch: &[StoreWrite]) -> Result<(), StoreError> {
        self.worker.commit(batch)
    }
}
