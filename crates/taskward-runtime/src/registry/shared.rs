//! The registry's state that outlives the actor: its inbox and book, beside the table.
//!
//! Like an ETS table with an heir, all of it belongs to the runtime rather than to the registry
//! actor, so a restarted registry resumes with the table intact and with the commands and
//! reports that arrived while it was down.

use std::ops::Deref;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use ractor::ActorRef;
use taskward_core::{Scope, TaskId};

use super::desk::effects::Effect;
use super::{Book, Closed, Command, Inbox, RegistryMsg};
use crate::report::{Report, ReportPort, ReportSink};
use crate::runner::Runners;
use crate::table::Table;

/// The registry's side of the runtime: the table, the runners it hands tasks to, its inbox
/// and book, and the registry actor now running. Reads of the table go through it
/// (it dereferences to the [`Table`]).
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) table: Arc<Table>,
    pub(crate) runners: Arc<Runners>,
    /// Commands and reports for the registry, in one FIFO.
    pub(crate) inbox: Inbox,
    book: Mutex<Book>,
    /// The book's source of seqs, for the submits routed to the shared queue.
    pub(crate) seqs: Arc<super::Seqs>,
    registry: RwLock<Option<ActorRef<RegistryMsg>>>,
    /// Effects holding user callbacks that callers who worked the desk handed to the registry
    /// actor, oldest first: kept here so that a registry that dies before running them leaves
    /// them to its successor.
    handed: Mutex<Vec<Effect>>,
}

/// The registry's end of the runners' [`ReportPort`].
struct Port(Arc<Shared>);

impl ReportSink for Port {
    fn queue(&self, report: Report) {
        self.0.inbox.report(report);
    }

    fn settle(&self) {
        self.0.settle();
    }
}

impl Deref for Shared {
    type Target = Table;

    fn deref(&self) -> &Table {
        &self.table
    }
}

impl Shared {
    pub(crate) fn new(table: Arc<Table>, runners: Arc<Runners>) -> Self {
        let seqs = Arc::new(super::Seqs::new(table.config.node_slot));
        let book = Book {
            queue: super::RunQueue::new(&table.config),
            seqs: Arc::clone(&seqs),
            ..Book::default()
        };
        Self {
            table,
            runners,
            inbox: Inbox::default(),
            book: Mutex::new(book),
            seqs,
            registry: RwLock::new(None),
            handed: Mutex::new(Vec::new()),
        }
    }

    /// The port runners report through: it queues into this inbox and nudges the registry.
    pub(crate) fn port(self: &Arc<Self>) -> ReportPort {
        ReportPort::new(Port(self.clone()))
    }

    /// Queues a command for the registry; says why when the registry takes no more commands.
    ///
    /// When no desk is at work (the book is free), the caller works it: it drains the inbox,
    /// its own command and whatever else is queued, in order, as the registry would (flat
    /// combining: one mechanism, run by whoever finds the registry idle, without a wake-up).
    /// Otherwise the desk at work takes the command: every desk looks at the inbox again as
    /// it releases the book. With no registry running, its successor drains the inbox as it
    /// starts.
    pub(crate) fn command(&self, command: Command) -> Result<(), Closed> {
        self.queue_command(command)?;
        self.settle();
        Ok(())
    }

    /// Queues a command without working the desk, for the [`settle`](Self::settle) the
    /// caller owes once it has done what it does meanwhile.
    pub(crate) fn queue_command(&self, command: Command) -> Result<(), Closed> {
        self.inbox.command(command)
    }

    /// Has what was queued applied: works the desk if it is free; otherwise the desk at work
    /// takes it.
    pub(crate) fn settle(&self) {
        super::combine(self);
    }

    /// Fires the token of a task about to be cancelled, ahead of its cancel command (queued
    /// already, so that the registry applies the cancel before any report of the work's
    /// end): its work hears the cancel while the registry records it. Only a live task of
    /// `scope`; a foreign or ended one is left alone (the command answers why). Returns
    /// whether it fired the token.
    pub(crate) fn signal_cancel(&self, scope: &Scope, id: &TaskId) -> bool {
        let live = self
            .store
            .get(id)
            .is_some_and(|r| r.scope == *scope && !r.is_terminal());
        let Some(control) = live.then(|| self.control(id)).flatten() else {
            return false;
        };
        control.cancel()
    }

    /// The book, if no desk holds it now.
    pub(crate) fn try_book(&self) -> Option<MutexGuard<'_, Book>> {
        match self.book.try_lock() {
            Ok(book) => Some(book),
            Err(std::sync::TryLockError::Poisoned(e)) => Some(e.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
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

    /// The registry's book, locked by one desk at a time (the registry actor's, or the root's
    /// acting as its heir); a desk that panicked while holding it leaves it as it was.
    pub(crate) fn book(&self) -> MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|e| e.into_inner())
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

    /// Hands effects to the registry actor (see `handed`) and nudges it.
    pub(crate) fn hand_over(&self, effects: &mut Vec<Effect>) {
        self.handed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .append(effects);
        if let Some(registry) = self.registry() {
            // A dead registry is fine: its successor runs them when it starts.
            let _ = registry.cast(RegistryMsg::Effects);
        }
    }

    /// Takes the effects handed over so far.
    pub(crate) fn take_handed(&self) -> Vec<Effect> {
        std::mem::take(&mut *self.handed.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub(crate) fn live_runner_count(&self) -> usize {
        self.runners.partitions.running()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::memory_store::MemoryStore;
    use crate::registry::Entry;
    use crate::report::{AttemptResult, ReportKey};
    use serde_json::Value;
    use taskward_core::TaskId;

    fn shared() -> Shared {
        let config = Config::default();
        let runners = Arc::new(Runners::new(config.runner_partitions()));
        Shared::new(
            Arc::new(Table::new(
                config,
                Arc::new(MemoryStore::new()),
                None,
                crate::kinds::Kinds::default(),
            )),
            runners,
        )
    }

    fn finished(id: TaskId) -> Report {
        Report::Finished {
            id,
            attempt: 1,
            result: AttemptResult::Completed(Value::Null),
        }
    }

    #[test]
    fn a_report_stays_in_flight_until_the_next_take() {
        let shared = shared();
        let (a, b) = (TaskId::new(), TaskId::new());
        shared.inbox.report(finished(a));
        shared.inbox.report(Report::Inputs { id: b });

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
        let shared = shared();
        let (tx, mut queued) = tokio::sync::oneshot::channel();
        shared.command(Command::Status(tx)).expect("open");
        let id = TaskId::new();
        shared.inbox.report(finished(id));

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
