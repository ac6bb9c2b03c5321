//! The state that outlives every actor: the table, the inbox, the controls, the book.
//!
//! Like an ETS table with an heir, all of it belongs to the runtime rather than to the registry
//! actor, so a restarted registry resumes with the table intact and with the runners' reports
//! that arrived while it was down.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use ractor::{ActorCell, ActorId, ActorRef};
use serde_json::Value;
use taskward_core::{Failure, TaskId, TaskStore};
use tokio::sync::watch;

use crate::builder::Config;
use crate::control::Control;
use crate::event_router::EventRouter;
use crate::progress::ProgressFlush;
use crate::registry::{Book, RegistryMsg};
use crate::runner_sup::RunnerSupMsg;

/// What a runner (or the runner supervisor) reports to the registry.
#[derive(Debug)]
pub(crate) enum Report {
    /// The runner of `attempt` started its work.
    Started { id: TaskId, attempt: u32 },
    /// The work made or withdrew an input request: the registry moves the task to
    /// `input_required` or back to `working`, as the outstanding requests now say.
    Inputs { id: TaskId },
    /// The attempt's deadline passed; the work is being cancelled.
    Cancelling { id: TaskId, attempt: u32 },
    /// The attempt ended.
    Finished {
        id: TaskId,
        attempt: u32,
        result: AttemptResult,
    },
    /// The runner of `attempt` exited without reporting, or could not be started.
    RunnerExited {
        id: TaskId,
        attempt: u32,
        failure: Failure,
    },
}

/// How one attempt ended, as its runner saw it.
#[derive(Debug)]
pub(crate) enum AttemptResult {
    Completed(Value),
    Failed(Failure),
    /// The work stopped because the task was cancelled.
    Cancelled,
}

/// A runner known to the runner supervisor.
#[derive(Debug, Clone)]
pub(crate) struct RunnerEntry {
    pub(crate) task: TaskId,
    pub(crate) attempt: u32,
    pub(crate) cell: ActorCell,
    /// The runner supervisor it was linked under.
    pub(crate) supervisor: ActorId,
}

/// Counters that only grow.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) late_results: AtomicU64,
    pub(crate) duplicate_terminals: AtomicU64,
    pub(crate) registry_restarts: AtomicU64,
    pub(crate) runner_sup_restarts: AtomicU64,
    pub(crate) runner_failures: AtomicU64,
    pub(crate) retries: AtomicU64,
}

pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) store: Arc<dyn TaskStore>,
    pub(crate) controls: RwLock<HashMap<TaskId, Arc<Control>>>,
    /// Live runners, ordered by actor id so the sweep can check them a window at a time.
    pub(crate) runners: Mutex<BTreeMap<ActorId, RunnerEntry>>,
    inbox: Mutex<VecDeque<Report>>,
    /// Tasks whose progress cell has news, and the timer that has the registry read them.
    /// Apart from the inbox: reporting progress never makes the inbox non-empty, and never
    /// wakes the registry from the work's thread.
    pub(crate) progress: ProgressFlush,
    book: Mutex<Book>,
    /// The event channels, by route; subscriptions hold it weakly.
    pub(crate) events: Arc<EventRouter>,
    registry: RwLock<Option<ActorRef<RegistryMsg>>>,
    registry_generation: watch::Sender<u64>,
    runner_sup: RwLock<Option<ActorRef<RunnerSupMsg>>>,
    /// Set when shutdown begins: the supervisors stop restarting children.
    pub(crate) stopping: AtomicBool,
    pub(crate) counters: Counters,
    pub(crate) started_at: tokio::time::Instant,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("config", &self.config)
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl Shared {
    pub(crate) fn new(config: Config, store: Arc<dyn TaskStore>) -> Self {
        let events = Arc::new(EventRouter::new(config.event_capacity));
        Self {
            config,
            store,
            controls: RwLock::new(HashMap::new()),
            runners: Mutex::new(BTreeMap::new()),
            inbox: Mutex::new(VecDeque::new()),
            progress: ProgressFlush::new(),
            book: Mutex::new(Book::default()),
            events,
            registry: RwLock::new(None),
            registry_generation: watch::Sender::new(0),
            runner_sup: RwLock::new(None),
            stopping: AtomicBool::new(false),
            counters: Counters::default(),
            started_at: tokio::time::Instant::now(),
        }
    }

    /// Queues a report for the registry; nudges it when the inbox was empty (one nudge covers
    /// everything queued until the registry drains).
    pub(crate) fn report(&self, report: Report) {
        let was_empty = {
            let mut inbox = self.inbox.lock().unwrap_or_else(|e| e.into_inner());
            let was_empty = inbox.is_empty();
            inbox.push_back(report);
            was_empty
        };
        if was_empty {
            self.nudge_registry();
        }
    }

    pub(crate) fn nudge_registry(&self) {
        if let Some(registry) = self.registry() {
            // A dead registry is fine: its successor drains the inbox when it starts.
            let _ = registry.cast(RegistryMsg::Drain);
        }
    }

    /// Takes the oldest report, one at a time, so a registry that dies mid-drain loses none of
    /// the reports it had not reached.
    pub(crate) fn next_report(&self) -> Option<Report> {
        self.inbox
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front()
    }

    /// The registry's book. Only the registry actor locks it, so it is never contended; a
    /// registry that panicked while holding it leaves it to its successor as it was.
    pub(crate) fn book(&self) -> MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn control(&self, id: &TaskId) -> Option<Arc<Control>> {
        self.controls
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    /// A snapshot of every control in the table (those of ended tasks whose runner has not
    /// reported yet included), taken under the read lock and released at once.
    pub(crate) fn controls_snapshot(&self) -> Vec<Arc<Control>> {
        self.controls
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    pub(crate) fn registry(&self) -> Option<ActorRef<RegistryMsg>> {
        self.registry
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn set_registry(&self, registry: Option<ActorRef<RegistryMsg>>) {
        *self.registry.write().unwrap_or_else(|e| e.into_inner()) = registry;
        self.registry_generation.send_modify(|g| *g += 1);
    }

    pub(crate) fn registry_generation(&self) -> watch::Receiver<u64> {
        self.registry_generation.subscribe()
    }

    pub(crate) fn runner_sup(&self) -> Option<ActorRef<RunnerSupMsg>> {
        self.runner_sup
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn set_runner_sup(&self, sup: Option<ActorRef<RunnerSupMsg>>) {
        *self.runner_sup.write().unwrap_or_else(|e| e.into_inner()) = sup;
    }

    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    pub(crate) fn control_count(&self) -> usize {
        self.controls
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    pub(crate) fn live_runner_count(&self) -> usize {
        self.runners.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}
