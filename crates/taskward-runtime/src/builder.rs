//! Configuring and starting a runtime.

mod caps;

use std::sync::Arc;
use std::time::Duration;

use ractor::{Actor, ActorCell};
use std::future::Future;

use serde_json::Value;
use taskward_core::{CancelPolicy, DurableStore, Error, SharedTasks, TaskError, TaskStore};

use crate::config::{Config, Intensity};

use crate::context::TaskContext;
use crate::journal::{Journal, Journaled};
use crate::kinds::{Kind, Kinds};
use crate::memory_store::MemoryStore;
use crate::registry::Shared;
use crate::root::{Root, RootArgs};
use crate::runner::Runners;
use crate::table::Table;
use crate::ward::Taskward;

/// Builds and starts a [`Taskward`] runtime.
///
/// Every setting has a default fit for an embedded host: at most 100,000 live tasks, a TTL of
/// one hour (also the longest granted), results up to 16 MiB, a 5 s cancel grace, finished
/// tasks kept until their TTL with no retention cap, and the in-memory store.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use taskward_runtime::Taskward;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), taskward_core::Error> {
/// let ward = Taskward::builder()
///     .max_live_tasks(10_000)
///     .max_live_per_scope(100)
///     .default_ttl(Duration::from_secs(3600))
///     .max_ttl(Duration::from_secs(3600))
///     .max_retained_tasks_per_scope(1000)
///     .max_retained_bytes(256 * 1024 * 1024)
///     .spawn()
///     .await?;
/// ward.shutdown(Duration::from_secs(1)).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Default)]
#[must_use = "a builder does nothing until `spawn` is called"]
pub struct Builder {
    config: Config,
    store: Option<Arc<dyn TaskStore>>,
    durable: Option<Box<dyn DurableStore>>,
    shared_tasks: Option<Arc<dyn SharedTasks>>,
    kinds: Kinds,
}

impl Builder {
    /// A builder with the defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// At most this many live (non-terminal) tasks; submit fails with
    /// [`Error::LimitExceeded`] beyond it.
    pub fn max_live_tasks(mut self, max: usize) -> Self {
        self.config.max_live_tasks = Some(max);
        self
    }

    /// No limit on live tasks.
    pub fn unlimited_live_tasks(mut self) -> Self {
        self.config.max_live_tasks = None;
        self
    }

    /// At most this many live tasks in one scope.
    pub fn max_live_per_scope(mut self, max: usize) -> Self {
        self.config.max_live_per_scope = Some(max);
        self
    }

    /// The TTL of tasks that ask for none.
    pub fn default_ttl(mut self, ttl: Duration) -> Self {
        self.config.default_ttl = Some(ttl);
        self
    }

    /// Tasks that ask for no TTL are kept until removed.
    pub fn no_default_ttl(mut self) -> Self {
        self.config.default_ttl = None;
        self
    }

    /// The longest TTL granted; longer requests are capped (or rejected, see
    /// [`reject_ttl_above_max`](Builder::reject_ttl_above_max)).
    pub fn max_ttl(mut self, ttl: Duration) -> Self {
        self.config.max_ttl = Some(ttl);
        self
    }

    /// Reject a requested TTL above the maximum with [`Error::TtlAboveMaximum`] instead of
    /// capping it.
    pub fn reject_ttl_above_max(mut self, reject: bool) -> Self {
        self.config.reject_ttl_above_max = reject;
        self
    }

    /// At most this many finished (terminal) tasks are kept in all; beyond it the oldest
    /// finished task is evicted (removed before its TTL), see
    /// [`max_retained_tasks_per_scope`](Builder::max_retained_tasks_per_scope).
    pub fn max_retained_tasks(mut self, max: usize) -> Self {
        self.config.max_retained_tasks = Some(max);
        self
    }

    /// At most this many finished tasks are kept per scope.
    ///
    /// Finished tasks are kept until their TTL so that clients can read their results. The
    /// retention caps (count and bytes, in total and per scope) bound what that costs: when a
    /// task finishes over a cap, the oldest finished tasks (of its scope for a per-scope cap,
    /// of all for a total) are evicted first, one O(log n) step each from an index in
    /// finishing order. Live tasks are never evicted and never counted, nor is the task that
    /// just finished (a cap is exceeded by at most that one, so that its result can be read). An evicted task is
    /// removed as an expired one is: `get` says [`Error::NotFound`], and an
    /// [`EventKind::Evicted`](taskward_core::EventKind::Evicted) event is published; its
    /// waiters were answered when it finished.
    pub fn max_retained_tasks_per_scope(mut self, max: usize) -> Self {
        self.config.max_retained_tasks_per_scope = Some(max);
        self
    }

    /// At most this many bytes of finished tasks' results and errors are kept in all: a
    /// result counts its JSON text, a failure its message and the JSON of its data, a
    /// cancellation its reason. See
    /// [`max_retained_tasks_per_scope`](Builder::max_retained_tasks_per_scope).
    pub fn max_retained_bytes(mut self, max: usize) -> Self {
        self.config.max_retained_bytes = Some(max);
        self
    }

    /// At most this many bytes of finished tasks' results and errors are kept per scope.
    pub fn max_retained_bytes_per_scope(mut self, max: usize) -> Self {
        self.config.max_retained_bytes_per_scope = Some(max);
        self
    }

    /// The largest result a task may complete with, in bytes of JSON; a larger one fails the
    /// task with cause `result_too_large`.
    pub fn max_result_bytes(mut self, max: usize) -> Self {
        self.config.max_result_bytes = Some(max);
        self
    }

    /// The timeout of tasks that ask for none.
    pub fn default_timeout(mut self, timeout: Duration) -> Self {
        self.config.default_timeout = Some(timeout);
        self
    }

    /// The cancel policy of tasks that ask for none.
    pub fn default_cancel_policy(mut self, policy: CancelPolicy) -> Self {
        self.config.default_cancel_policy = policy;
        self
    }

    /// How often expired tasks are swept (and the runner invariant checked).
    pub fn sweep_interval(mut self, every: Duration) -> Self {
        self.config.sweep_interval = every.max(Duration::from_millis(1));
        self
    }

    /// How often the registry reads the progress works report (default 10 ms): the latency of
    /// progress delivery to the records and subscribers, and the pace of progress events
    /// (about one per task per interval at most).
    ///
    /// Reporting progress wakes nothing, so a work that never awaits cannot stall the
    /// registry: the registry reads the latest progress of every task that reported on this
    /// timer (and whenever it handles a report or a command). The timer runs only while
    /// progress keeps coming. At least 1 ms.
    pub fn progress_interval(mut self, every: Duration) -> Self {
        self.config.progress_interval = every.max(Duration::from_millis(1));
        self
    }

    /// Events buffered per event channel (one per subscribed task, per subscribed scope, and
    /// one for unfiltered subscribers) before a subscriber on it is told it lagged.
    pub fn event_capacity(mut self, capacity: usize) -> Self {
        self.config.event_capacity = capacity.max(1);
        self
    }

    /// How many runner actors hold the tasks, each the tasks whose id hashes to it; by default
    /// (`0`) one per worker thread of the tokio runtime. A runner that dies fails (or retries)
    /// only its own partition's tasks.
    pub fn runner_partitions(mut self, partitions: usize) -> Self {
        self.config.runner_partitions = partitions;
        self
    }

    /// Runner crashes the runner supervisor tolerates before it fails and escalates.
    pub fn runner_intensity(mut self, intensity: Intensity) -> Self {
        self.config.runner_intensity = intensity;
        self
    }

    /// Child restarts the root supervisor tolerates before it fails and escalates to the host.
    pub fn root_intensity(mut self, intensity: Intensity) -> Self {
        self.config.root_intensity = intensity;
        self
    }

    /// The task store (default: [`MemoryStore`]).
    pub fn store(mut self, store: Arc<dyn TaskStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Keeps the task table in a durable store across restarts.
    ///
    /// At spawn the store's tasks are read back and reconciled: finished tasks are served as
    /// they were until their TTL, tasks whose TTL elapsed are removed, and tasks that were
    /// live when the process stopped fail with cause `interrupted`. Every write of the
    /// registry is then handed to the store in ordered batches by one writer thread, and a
    /// submit returns only once its record is durable under the store's
    /// [`Durability`](taskward_core::Durability) policy. Reads stay served from memory.
    pub fn durable(mut self, store: impl DurableStore) -> Self {
        self.durable = Some(Box::new(store));
        self
    }

    /// Makes this runtime one node of several sharing a table: what it does not hold itself,
    /// it reads, cancels, answers and waits for through `shared`.
    ///
    /// [`Taskward::find`], [`Taskward::find_page`], [`Taskward::cancel`],
    /// [`Taskward::provide_input`] and [`Taskward::wait`] then answer for a task held by
    /// another node as for one of this node's own; [`Taskward::get`] and
    /// [`Taskward::list`] stay reads of this node's memory. The node's own tasks reach the
    /// shared table through its [`durable`](Self::durable) store (`taskward-postgres`
    /// provides both halves).
    pub fn shared_tasks(mut self, shared: impl SharedTasks) -> Self {
        self.shared_tasks = Some(Arc::new(shared));
        self
    }

    /// Makes this runtime node `slot` (taken modulo [`NODE_SLOTS`](crate::NODE_SLOTS)) of
    /// several sharing a table: task seqs (creation order, and the key of list cursors) are
    /// then unique across the nodes without asking, as long as no two live nodes share a
    /// slot.
    ///
    /// A seq is then the creation time in microseconds since the Unix epoch (one past the
    /// last seq's when the clock has not moved on) above the slot, so a page across nodes is
    /// in creation order within the clocks' skew. On a single node leave it unset: seqs
    /// count from 1.
    ///
    /// # Examples
    ///
    /// ```
    /// use taskward_core::{Scope, TaskError};
    /// use taskward_runtime::{TaskContext, TaskSpec, Taskward, NODE_SLOTS};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), taskward_core::Error> {
    /// let ward = Taskward::builder().node_slot(7).spawn().await?;
    /// let work = |_ctx: TaskContext| async { Ok::<_, TaskError>(serde_json::Value::Null) };
    /// let a = ward.submit(TaskSpec::new("a"), work).await?;
    /// let b = ward.submit(TaskSpec::new("b"), work).await?;
    /// assert_eq!(a.record().seq % u64::from(NODE_SLOTS), 7);
    /// assert!(b.record().seq > a.record().seq);
    /// # ward.shutdown(std::time::Duration::from_secs(1)).await?;
    /// # Ok(()) }
    /// ```
    pub fn node_slot(mut self, slot: u16) -> Self {
        self.config.node_slot = Some(slot % crate::NODE_SLOTS);
        self
    }

    /// Registers a kind of work under `name`: tasks submitted with
    /// [`Taskward::submit_kind`] under that name run `handler(ctx, input)`, record their
    /// input, and can run again from their last checkpoint after a restart or a suspend.
    /// Registering a name again replaces the handler. See [`Kind`].
    pub fn register<F, Fut>(self, name: impl Into<Arc<str>>, handler: F) -> Self
    where
        F: Fn(TaskContext, Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, TaskError>> + Send + 'static,
    {
        self.register_kind(Kind::new(name, handler))
    }

    /// Registers a kind of work declared with its options (result caching).
    pub fn register_kind(mut self, kind: Kind) -> Self {
        self.kinds.insert(kind);
        self
    }

    /// Starts the runtime under its own root supervisor.
    ///
    /// Returns once the registry and the runner supervisor have started.
    pub async fn spawn(self) -> Result<Taskward, Error> {
        self.start(None).await
    }

    /// Starts the runtime with its root supervisor linked under a host's supervisor.
    ///
    /// The host then receives the root's supervision events: if the runtime's restart
    /// intensity is exceeded, the root fails and the host decides what to do (typically, build
    /// a new runtime).
    pub async fn spawn_linked(self, supervisor: ActorCell) -> Result<Taskward, Error> {
        self.start(Some(supervisor)).await
    }

    async fn start(self, supervisor: Option<ActorCell>) -> Result<Taskward, Error> {
        let memory = self
            .store
            .unwrap_or_else(|| Arc::new(MemoryStore::new()) as Arc<dyn TaskStore>);
        let durable = match self.durable {
            Some(store) => Some(open_durable(store).await?),
            None => None,
        };
        let runners = Arc::new(Runners::new(self.config.runner_partitions()));
        let (store, journal) = match &durable {
            Some((journal, _)) => (
                Arc::new(Journaled::new(memory.clone(), journal.clone())) as Arc<dyn TaskStore>,
                Some(journal.clone()),
            ),
            None => (memory.clone(), None),
        };
        let kinds = self.kinds;
        let table = Arc::new(
            Table::new(self.config, store, journal, kinds.clone())
                .with_memory(memory.clone())
                .with_shared_tasks(self.shared_tasks),
        );
        let shared = Arc::new(Shared::new(table, runners));
        let mut resumable = Vec::new();
        if let Some((journal, loaded)) = durable {
            let restored =
                crate::registry::restore(&shared, memory.as_ref(), &journal, loaded.tasks, &|r| {
                    r.input.is_some() && kinds.get(&r.name).is_some()
                });
            tracing::info!(
                kept = restored.kept,
                interrupted = restored.interrupted,
                expired = restored.expired,
                sessions = loaded.sessions.len(),
                "restored the task table from the durable store"
            );
            shared.table.restore_sessions(loaded.sessions);
            resumable = restored.resumable;
        }
        let args = RootArgs {
            shared: shared.clone(),
        };
        let spawned = match supervisor {
            Some(sup) => Actor::spawn_linked(None, Root, args, sup).await,
            None => Actor::spawn(None, Root, args).await,
        };
        let (root, join) = spawned.map_err(|e| Error::Spawn(Box::new(e)))?;
        let ward = Taskward::new(shared, root, join);
        for stored in resumable {
            let id = stored.record.id;
            match ward.resume_restored(stored, false).await {
                Ok(_) => tracing::info!(task = %id, "resumed a task interrupted by the restart"),
                Err(e) => tracing::error!(task = %id, error = %e, "could not resume a task"),
            }
        }
        Ok(ward)
    }
}

/// Reads the durable store back (off the async threads) and starts its journal.
async fn open_durable(
    mut store: Box<dyn DurableStore>,
) -> Result<(Arc<Journal>, taskward_core::Loaded), Error> {
    let (store, loaded) = tokio::task::spawn_blocking(move || {
        let loaded = store.load();
        (store, loaded)
    })
    .await
    .map_err(|e| {
        Error::Store(taskward_core::StoreError::with_source(
            "loading the durable store failed",
            e,
        ))
    })?;
    let loaded = loaded?;
    Ok((Journal::start(store)?, loaded))
}
