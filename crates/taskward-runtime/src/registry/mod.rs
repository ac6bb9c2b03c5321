//! The registry: the one writer of the task table (barrel's gen_server, with its defects fixed).
//!
//! Every command from the API and every report from a runner reaches it one way: queued in its
//! [`Inbox`], which outlives the actor, with one `Drain` nudge when the inbox was empty. The
//! registry takes the queue in order, under its book's lock, in batches; every transition
//! happens there: the first terminal transition wins, waiters are woken after the record is
//! written, each change is published as a numbered event, and no user code runs under the
//! lock (owners' notices, external cancel callbacks and the commands' answers go out once the
//! desk has released it).

mod book;
mod dependencies;
mod desk;
mod inbox;
mod result_cache;
mod retention;
mod run_queue;
mod seqs;
mod shared;
mod status;

use std::sync::Arc;

use ractor::concurrency::JoinHandle;
use ractor::{Actor, ActorProcessingErr, ActorRef, SupervisionEvent};
use taskward_core::TaskRecord;

pub(crate) use book::{Book, Ownership};
pub(crate) use dependencies::{DepEnd, Dependencies};
pub(crate) use desk::restore::Restored;
pub(crate) use inbox::{Answer, Closed, Command, Entry, Inbox};
pub(crate) use result_cache::{CacheKey, ResultCache};
pub(crate) use retention::{Caps, Retention};
pub(crate) use run_queue::{QueueKey, RunQueue};
pub(crate) use seqs::Seqs;
pub(crate) use shared::Shared;
pub use status::{Limits, RegistryStatus};

use crate::control::{Control, ExternalCancel, WorkFn};
use crate::spec::TaskSpec;
use desk::Desk;

/// The registry actor.
#[derive(Debug)]
pub(crate) struct Registry;

#[derive(Debug)]
pub(crate) struct RegistryArgs {
    pub(crate) shared: Arc<Shared>,
}

#[derive(Debug)]
pub(crate) struct RegistryState {
    shared: Arc<Shared>,
    sweep: Option<JoinHandle<()>>,
}

/// A request to record a task.
pub(crate) struct CreateRequest {
    pub(crate) spec: TaskSpec,
    pub(crate) work: Option<WorkFn>,
    pub(crate) external_cancel: Option<ExternalCancel>,
    /// A task of a registered kind that was live when the process stopped, run again.
    pub(crate) resumed: Option<Box<taskward_core::StoredTask>>,
}

impl std::fmt::Debug for CreateRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateRequest")
            .field("spec", &self.spec)
            .finish_non_exhaustive()
    }
}

/// The registry's answer to a create.
#[derive(Debug)]
pub(crate) enum Admission {
    /// Recorded. For a task with work, its runner was handed the start when `started` is
    /// given (its answer is the start acknowledgement); otherwise no runner was in place (its
    /// partition is being restarted) and the caller starts it.
    New {
        control: Arc<Control>,
        record: Arc<TaskRecord>,
        started: Option<crate::runner::StartAck>,
        /// Recorded queued (for a running slot or its dependencies): it starts later, and
        /// submit returns now.
        queued: bool,
    },
    /// The idempotency key matched this task.
    Existing(Arc<TaskRecord>),
    /// Served from the result cache: a new task, completed already (no control, no runner).
    Cached(Arc<TaskRecord>),
}

/// What the registry actor is told. Commands and reports come through the [`Inbox`].
#[derive(Debug)]
pub(crate) enum RegistryMsg {
    /// The inbox has entries.
    Drain,
    /// Time to sweep expired tasks.
    Sweep,
    /// Progress cells have news (see `progress::ProgressFlush`).
    FlushProgress,
    /// User callbacks (with the answers and wake-ups around them) collected by a caller that
    /// worked the desk are waiting: they run here, on the registry's thread.
    Effects,
}

/// The tasks whose work was still running when shutdown began.
#[derive(Debug, Default)]
pub(crate) struct ShutdownRunners {
    /// Those shutdown cancelled.
    pub(crate) cancelled: usize,
    /// Those still finishing after they had already ended (within a cancel's grace period).
    pub(crate) finishing: usize,
    /// Those of registered kinds stopped and left to resume at the next start (durable store).
    pub(crate) parked: usize,
}

/// Works the registry's desk from the caller's thread when no desk is at work: drains the
/// inbox as the registry actor would; not while no registry runs (its successor drains what
/// is queued when it starts).
fn combine(shared: &Shared) {
    if let Some(registry) = shared.registry() {
        drain_free(shared, &registry, true);
    }
}

/// Drains the inbox if no desk is at work, and looks again once it has released the book,
/// until the inbox is empty or another desk is at work. So an entry queued while a desk held
/// the book (its sender found the book taken) is always taken: by that desk's drain, or by
/// the look it takes after releasing the book.
///
/// Every desk follows this rule as it releases the book: callers working it (`combining`),
/// and the registry actor after each of its messages.
fn drain_free(shared: &Shared, registry: &ActorRef<RegistryMsg>, combining: bool) {
    while let Some(book) = shared.try_book() {
        Desk::run_locked(shared, book, Some(registry), combining, |desk| desk.drain());
        if shared.inbox.is_empty() {
            return;
        }
    }
}

/// Restart reconciliation, before the registry starts: see [`desk::restore`].
pub(crate) fn restore(
    shared: &Shared,
    table: &dyn taskward_core::TaskStore,
    journal: &crate::journal::Journal,
    tasks: Vec<taskward_core::StoredTask>,
    resumable: &dyn Fn(&taskward_core::TaskRecord) -> bool,
) -> Restored {
    Desk::run(shared, None, |desk| {
        desk.restore(table, journal, tasks, resumable)
    })
}

/// Ends every live task with cause `interrupted`. Only for the root, after the registry
/// actor has stopped for good (so that the table still has one writer).
pub(crate) fn interrupt_all(shared: &Shared, why: &str) {
    Desk::run(shared, None, |desk| desk.interrupt_all(why));
}

impl Actor for Registry {
    type Msg = RegistryMsg;
    type State = RegistryState;
    type Arguments = RegistryArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<RegistryMsg>,
        args: RegistryArgs,
    ) -> Result<RegistryState, ActorProcessingErr> {
        Ok(RegistryState {
            shared: args.shared,
            sweep: None,
        })
    }

    async fn post_start(
        &self,
        myself: ActorRef<RegistryMsg>,
        state: &mut RegistryState,
    ) -> Result<(), ActorProcessingErr> {
        let shared = state.shared.clone();
        Desk::run(&shared, Some(&myself), |desk| {
            // Owners are watched by the registry actor; a successor watches them anew.
            desk.rewatch_owners();
            // Reports that arrived while no registry was running.
            desk.drain();
        });
        // Callbacks a caller handed to a predecessor that died before running them.
        desk::run_handed(&shared);
        state.sweep =
            Some(myself.send_interval(shared.config.sweep_interval, || RegistryMsg::Sweep));
        let me = myself.clone();
        shared.progress.start(
            myself.get_id(),
            move || me.cast(RegistryMsg::FlushProgress).is_ok(),
            shared.config.progress_interval,
        );
        tracing::debug!("registry started");
        Ok(())
    }

    async fn post_stop(
        &self,
        myself: ActorRef<RegistryMsg>,
        state: &mut RegistryState,
    ) -> Result<(), ActorProcessingErr> {
        if let Some(sweep) = state.sweep.take() {
            sweep.abort();
        }
        state.shared.progress.stop(myself.get_id());
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<RegistryMsg>,
        message: RegistryMsg,
        state: &mut RegistryState,
    ) -> Result<(), ActorProcessingErr> {
        let shared = state.shared.clone();
        let me = Some(&myself);
        match message {
            // A desk at work drains what was queued, or looks again once it is done: no
            // need to wait for it.
            RegistryMsg::Drain => {}
            RegistryMsg::FlushProgress => Desk::run(&shared, me, |desk| desk.flush_progress()),
            RegistryMsg::Effects => {}
            RegistryMsg::Sweep => Desk::run(&shared, me, |desk| {
                desk.drain();
                desk.sweep();
            }),
        }
        drain_free(&shared, &myself, false);
        // Effects handed over by callers that worked the desk (user callbacks run here).
        desk::run_handed(&shared);
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<RegistryMsg>,
        event: SupervisionEvent,
        state: &mut RegistryState,
    ) -> Result<(), ActorProcessingErr> {
        // The registry has no children: these are the events of the owners it monitors.
        match event {
            SupervisionEvent::ActorTerminated(cell, ..)
            | SupervisionEvent::ActorFailed(cell, _) => {
                let shared = state.shared.clone();
                Desk::run(&shared, Some(&myself), |desk| {
                    desk.owner_exited(cell.get_id())
                });
                drain_free(&shared, &myself, false);
            }
            _ => {}
        }
        Ok(())
    }
}
