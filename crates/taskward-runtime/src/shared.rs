//! The state that outlives every actor: the table, the inbox, the controls, the book.
//!
//! Like an ETS table with an heir, all of it belongs to the runtime rather than to the registry
//! actor, so a restarted registry resumes with the table intact and with the runners' reports
//! that arrived while it was down.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use ractor::ActorRef;
use serde_json::Value;
use taskward_core::{Failure, TaskId, TaskStore};

use crate::builder::Config;
use crate::control::Control;
use crate::event_router::EventRouter;
use crate::progress::ProgressFlush;
use crate::registry::{Book, Closed, Command, Inbox, RegistryMsg};
use crate::runner::Partitions;
use crate::runner::supervisor::RunnerSupMsg;

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

impl Report {
    /// What the report is about, kept while it is applied.
    pub(crate) fn key(&self) -> ReportKey {
        let (id, attempt, ends) = match self {
            Report::Started { id, attempt } | Report::Cancelling { id, attempt } => {
                (*id, Some(*attempt), false)
            }
            Report::Inputs { id } => (*id, None, false),
            Report::Finished { id, attempt, .. } | Report::RunnerExited { id, attempt, .. } => {
                (*id, Some(*attempt), true)
            }
        };
        ReportKey { id, attempt, ends }
    }
}

/// The task and attempt of a report being applied, and whether it ends the attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReportKey {
    pub(crate) id: TaskId,
    pub(crate) attempt: Option<u32>,
    /// A `Finished` or `RunnerExited` report: no other report will end this attempt.
    pub(crate) ends: bool,
}

/// How one attempt ended, as its runner saw it.
#[derive(Debug)]
pub(crate) enum AttemptResult {
    Completed(Value),
    Failed(Failure),
    /// The work stopped because the task was cancelled.
    Cancelled,
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
    /// User callbacks (owner notice wrappers, external `on_cancel`) that panicked.
    pub(crate) callback_panics: AtomicU64,
    /// Reports whose transition failed (panicked) and was contained.
    pub(crate) transition_failures: AtomicU64,
    /// Terminal records the store failed to write (each is retried by the sweep).
    pub(crate) store_errors: AtomicU64,
}

pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) store: Arc<dyn TaskStore>,
    pub(crate) controls: RwLock<HashMap<TaskId, Arc<Control>>>,
    /// The runners, one per partition of tasks.
    pub(crate) partitions: Partitions,
    /// Commands and reports for the registry, in one FIFO.
    pub(crate) inbox: Inbox,
    /// Tasks whose progress cell has news, and the timer that has the registry read them.
    /// Apart from the inbox: reporting progress never makes the inbox non-empty, and never
    /// wakes the registry from the work's thread.
    pub(crate) progress: ProgressFlush,
    book: Mutex<Book>,
    /// The event channels, by route; subscriptions hold it weakly.
    pub(crate) events: Arc<EventRouter>,
    registry: RwLock<Option<ActorRef<RegistryMsg>>>,
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
        let partitions = Partitions::new(config.runner_partitions());
        Self {
            config,
            store,
            controls: RwLock::new(HashMap::new()),
            partitions,
            inbox: Inbox::default(),
            progress: ProgressFlush::new(),
            book: Mutex::new(Book::default()),
            events,
            registry: RwLock::new(None),
            runner_sup: RwLock::new(None),
            stopping: AtomicBool::new(false),
            counters: Counters::default(),
            started_at: tokio::time::Instant::now(),
        }
    }

    /// Queues a report for the registry; nudges it when the inbox was empty (one nudge covers
    /// everything queued until the registry drains).
    pub(crate) fn report(&self, report: Report) {
        if self.inbox.report(report) {
            self.nudge_registry();
        }
    }

    /// Queues a command for the registry, nudging it when the inbox was empty; says why when
    /// the registry takes no more commands.
    pub(crate) fn command(&self, command: Command) -> Result<(), Closed> {
        if self.inbox.command(command)? {
            self.nudge_registry();
        }
        Ok(())
    }

    pub(crate) fn nudge_registry(&self) {
        if let Some(registry) = self.registry() {
            // A dead registry is fine: its successor drains the inbox when it starts.
            let _ = registry.cast(RegistryMsg::Drain);
        }
    }

    /// The root gives up: nothing will restart the registry, and the commands queued for it
    /// are refused.
    pub(crate) fn give_up(&self) {
        self.inbox.close(Closed::GaveUp);
    }

    /// The registry's book, locked by one desk at a time (the registry actor's, or a caller's
    /// the root acting as its heir); a desk that panicked while holding it leaves it as it was.
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
        self.partitions.running()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory_store::MemoryStore;
    use crate::registry::Entry;

    fn finished(id: TaskId) -> Report {
        Report::Finished {
            id,
            attempt: 1,
            result: AttemptResult::Completed(Value::Null),
        }
    }

    #[test]
    fn a_report_stays_in_flight_until_the_next_take() {
        let shared = Shared::new(Config::default(), Arc::new(MemoryStore::new()));
        let (a, b) = (TaskId::new(), TaskId::new());
        shared.report(finished(a));
        shared.report(Report::Inputs { id: b });

        let taken = shared.inbox.take();
        assert!(matches!(taken, Some(Entry::Report(Report::Finished { id, .. })) if id == a));
        // The applier died here: its successor finds the report it was applying.
        let abandoned = shared.inbox.abandoned().expect("in flight");
        assert_eq!(
            abandoned,
            ReportKey {
                id: a,
                attempt: Some(1),
                ends: true
            }
        );
        assert_eq!(shared.inbox.abandoned(), None);

        // Applied in turn: taking the next (or finding none) clears the one before.
        let taken = shared.inbox.take();
        assert!(matches!(taken, Some(Entry::Report(Report::Inputs { id })) if id == b));
        assert!(shared.inbox.take().is_none());
        assert_eq!(shared.inbox.abandoned(), None);
    }

    #[test]
    fn a_closed_inbox_refuses_commands_and_keeps_reports() {
        let shared = Shared::new(Config::default(), Arc::new(MemoryStore::new()));
        let (tx, mut queued) = tokio::sync::oneshot::channel();
        shared.command(Command::Status(tx)).expect("open");
        let id = TaskId::new();
        shared.report(finished(id));

        shared.give_up();
        // The queued command's answer port is dropped: its caller is answered at once.
        assert!(queued.try_recv().is_err());
        let (tx, _rx) = tokio::sync::oneshot::channel();
        let refused = shared.command(Command::Status(tx));
        assert!(matches!(refused, Err(Closed::GaveUp)));
        // The report is still there for whoever ends the remaining tasks.
        let taken = shared.inbox.take();
        assert!(matches!(taken, Some(Entry::Report(Report::Finished { id: r, .. })) if r == id));
    }
}
