//! The task table and what lives beside it, below every actor.
//!
//! Like an ETS table, it belongs to the runtime rather than to any actor: the store of records,
//! the controls of live tasks, the progress list, the event channels, the counters. The
//! registry is its one writer; readers read it concurrently; runners read the controls.

mod controls;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use taskward_core::{SessionRecord, SharedTasks, TaskId, TaskStore};

use crate::config::Config;
use crate::control::Control;
use crate::event_router::EventRouter;
use crate::journal::Journal;
use crate::kinds::Kinds;
use crate::progress::ProgressFlush;
pub(crate) use controls::Controls;

/// Counters that only grow.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) late_results: AtomicU64,
    pub(crate) duplicate_terminals: AtomicU64,
    pub(crate) registry_restarts: AtomicU64,
    pub(crate) runner_sup_restarts: AtomicU64,
    pub(crate) runner_failures: AtomicU64,
    pub(crate) retries: AtomicU64,
    /// User callbacks (owner notice wrappers, external `on_cancel`) that panicked.
    pub(crate) callback_panics: AtomicU64,
    /// Reports whose transition failed (panicked) and was contained.
    pub(crate) transition_failures: AtomicU64,
    /// Terminal records the store failed to write (each is retried by the sweep).
    pub(crate) store_errors: AtomicU64,
}

/// The table (see the module docs).
pub(crate) struct Table {
    pub(crate) config: Config,
    pub(crate) store: Arc<dyn TaskStore>,
    /// The in-memory table below `store`: what a task released to another node leaves
    /// without a write to the durable store (`store` itself, without one).
    pub(crate) memory: Arc<dyn TaskStore>,
    /// The journal to the durable store, when one is configured.
    pub(crate) journal: Option<Arc<Journal>>,
    /// The registered kinds of work, by name.
    pub(crate) kinds: Kinds,
    /// The tasks other nodes hold, when this node is one of several sharing a table.
    pub(crate) shared_tasks: Option<Arc<dyn SharedTasks>>,
    /// The sessions the durable store gave back at start, until a binding takes them.
    restored_sessions: std::sync::Mutex<Vec<SessionRecord>>,
    pub(crate) controls: Controls,
    /// Tasks whose progress cell has news, and the timer that has the registry read them.
    /// Apart from the inbox: reporting progress never makes the inbox non-empty, and never
    /// wakes the registry from the work's thread.
    pub(crate) progress: Arc<ProgressFlush>,
    /// The event channels, by route; subscriptions hold it weakly.
    pub(crate) events: Arc<EventRouter>,
    /// Set when shutdown begins: the supervisors stop restarting children.
    pub(crate) stopping: AtomicBool,
    pub(crate) counters: Counters,
    pub(crate) started_at: tokio::time::Instant,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("config", &self.config)
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl Table {
    pub(crate) fn new(
        config: Config,
        store: Arc<dyn TaskStore>,
        journal: Option<Arc<Journal>>,
        kinds: Kinds,
    ) -> Self {
        let events = Arc::new(EventRouter::new(config.event_capacity));
        Self {
            config,
            memory: store.clone(),
            store,
            journal,
            kinds,
            shared_tasks: None,
            restored_sessions: std::sync::Mutex::new(Vec::new()),
            controls: Controls::default(),
            progress: Arc::new(ProgressFlush::new()),
            events,
            stopping: AtomicBool::new(false),
            counters: Counters::default(),
            started_at: tokio::time::Instant::now(),
        }
    }

    /// This table over `memory`, the in-memory table its journaled `store` writes through.
    pub(crate) fn with_memory(mut self, memory: Arc<dyn TaskStore>) -> Self {
        self.memory = memory;
        self
    }

    /// This table, one node's among several: what it does not hold, it asks `shared` for.
    pub(crate) fn with_shared_tasks(mut self, shared: Option<Arc<dyn SharedTasks>>) -> Self {
        self.shared_tasks = shared;
        self
    }

    pub(crate) fn restore_sessions(&self, sessions: Vec<SessionRecord>) {
        *self
            .restored_sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = sessions;
    }

    pub(crate) fn take_restored_sessions(&self) -> Vec<SessionRecord> {
        std::mem::take(
            &mut *self
                .restored_sessions
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    pub(crate) fn control(&self, id: &TaskId) -> Option<Arc<Control>> {
        self.controls.get(id)
    }

    /// A snapshot of every control in the table (those of ended tasks whose runner has not
    /// reported yet included), taken under the read lock and released at once.
    pub(crate) fn controls_snapshot(&self) -> Vec<Arc<Control>> {
        self.controls.snapshot()
    }

    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    pub(crate) fn control_count(&self) -> usize {
        self.controls.len()
    }
}
