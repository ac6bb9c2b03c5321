//! The registry's work, one method per command or report.
//!
//! This module holds the desk and its table helpers; each sibling holds one concern:
//! [`transitions`] (finishing, cancelling, retrying), [`cache`] (the result cache), [`reports`] (runners' reports),
//! [`dispatch`] (the inbox's commands and their answers), [`admit`] (the checks before a
//! task is recorded), [`create`] (the record, the hand-off to the runner), [`queue`] (starts
//! under the running caps, the admission queue), [`depends`] (task dependencies),
//! [`commands`] (the API's commands on a task), [`scopes`]
//! (owners and scopes), [`sweep`] (expiry,
//! runner checks, interruption, shutdown), [`status`], [`effects`] (user callbacks, run
//! once the book is released) and [`unwritten`] (terminal records the store failed to write).

mod admit;
mod cache;
mod commands;
mod create;
mod depends;
mod dispatch;
pub(super) mod effects;
mod queue;
mod release;
mod reports;
pub(super) mod restore;
mod retain;
mod scopes;
mod status;
mod suspend;
mod sweep;
mod transitions;
mod unwritten;

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, MutexGuard};

use ractor::ActorRef;
use taskward_core::{Error, EventKind, Scope, StoreError, TaskEvent, TaskId, TaskRecord};
use time::OffsetDateTime;

use super::{Book, RegistryMsg};
use crate::control::Control;
use crate::registry::Shared;
use effects::Effect;

/// The registry at work: the shared state and its book, locked for one message.
pub(super) struct Desk<'a> {
    shared: &'a Shared,
    book: MutexGuard<'a, Book>,
    /// The registry actor; `None` for the root acting as the registry's heir.
    myself: Option<&'a ActorRef<RegistryMsg>>,
    /// User callbacks to run once the book is released, in order.
    effects: Vec<Effect>,
}

/// Runs the effects callers handed over (see [`Desk::run_locked`]), in the order they were
/// handed.
pub(super) fn run_handed(shared: &Shared) {
    effects::run(shared, &mut shared.take_handed());
}

impl<'a> Desk<'a> {
    /// Runs `work` on the desk: the book is locked for it, and released before the user
    /// callbacks it collected run (each contained: see [`effects`]). `myself` is `None` for
    /// the root acting as the registry's heir, once the registry is stopped for good.
    ///
    /// A panic in `work` still releases the book and runs the callbacks collected so far
    /// (waiters are woken among them), then goes on unwinding.
    pub(super) fn run<R>(
        shared: &'a Shared,
        myself: Option<&'a ActorRef<RegistryMsg>>,
        work: impl FnOnce(&mut Desk<'a>) -> R,
    ) -> R {
        Self::run_locked(shared, shared.book(), myself, false, work)
    }

    /// [`run`](Self::run), with the book already locked. A caller working the desk
    /// (`combining`) runs the answers and wake-ups itself, but hands a batch that holds a
    /// user callback to the registry actor, so that user code always runs on the registry's
    /// thread (in the runtime it was spawned on), in order.
    pub(super) fn run_locked<R>(
        shared: &'a Shared,
        book: MutexGuard<'a, Book>,
        myself: Option<&'a ActorRef<RegistryMsg>>,
        combining: bool,
        work: impl FnOnce(&mut Desk<'a>) -> R,
    ) -> R {
        let mut desk = Desk {
            shared,
            book,
            myself,
            effects: effects::list(),
        };
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| work(&mut desk)));
        let mut effects = std::mem::take(&mut desk.effects);
        drop(desk);
        if combining && effects.iter().any(Effect::is_user_callback) {
            // Queued where they outlive the registry actor (its successor runs them), and the
            // registry nudged to run them now.
            shared.hand_over(&mut effects);
        } else {
            effects::run(shared, &mut effects);
        }
        effects::recycle(effects);
        result.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }

    // ---------------------------------------------------------------- table helpers

    fn publish(&mut self, id: TaskId, scope: &Scope, kind: EventKind) {
        let seq = self.book.event_seq();
        if self.shared.events.subscribers() > 0 {
            self.shared
                .events
                .publish(TaskEvent::new(seq, id, scope.clone(), kind));
        }
    }

    /// Replaces a record with an edited copy, keeping the counts right; a store error is
    /// logged and leaves the record as it was.
    fn update(
        &mut self,
        id: &TaskId,
        edit: impl FnOnce(&mut TaskRecord),
    ) -> Option<Arc<TaskRecord>> {
        match self.try_update(id, edit) {
            Ok(record) => record,
            Err((e, _)) => {
                tracing::error!(task = %id, error = %e, "the store failed to replace a record");
                None
            }
        }
    }

    /// Replaces a record with an edited copy, keeping the counts right (`None` when the task
    /// is not in the table). On a store error, hands back the error and the unwritten copy.
    fn try_update(
        &mut self,
        id: &TaskId,
        edit: impl FnOnce(&mut TaskRecord),
    ) -> Result<Option<Arc<TaskRecord>>, (StoreError, Arc<TaskRecord>)> {
        let Some(old) = self.shared.store.get(id) else {
            return Ok(None);
        };
        let mut new = (*old).clone();
        edit(&mut new);
        new.last_updated_at = OffsetDateTime::now_utc();
        let new = Arc::new(new);
        if let Err(e) = self.shared.store.replace(new.clone()) {
            return Err((e, new));
        }
        self.book.count_out(&old);
        self.book.count_in(&new);
        Ok(Some(new))
    }

    /// Drops a task's control: its last runner has reported. One whose terminal record is
    /// not written yet is kept (waiters read its outcome) until the sweep writes it.
    fn remove_control(&mut self, id: &TaskId) {
        if let Some(unwritten) = self.book.unwritten.get_mut(id) {
            unwritten.release = true;
            return;
        }
        self.shared.controls.remove(id);
    }

    /// A live task in this scope, with its control; a terminal one is an error naming its
    /// status.
    fn live(&self, scope: &Scope, id: TaskId) -> Result<(Arc<TaskRecord>, Arc<Control>), Error> {
        let record = self.scoped(scope, id)?;
        if record.is_terminal() {
            return Err(Error::AlreadyTerminal {
                id,
                status: record.status,
            });
        }
        let control = self.shared.control(&id).ok_or(Error::NotFound(id))?;
        Ok((record, control))
    }

    /// The runner that holds a task now, if it is still the one in place.
    fn holding(&self, control: &Control) -> Option<Arc<crate::runner::Post>> {
        let holder = control.holder()?;
        self.shared
            .runners
            .partitions
            .holding(&control.id, holder.get_id())
    }

    fn scoped(&self, scope: &Scope, id: TaskId) -> Result<Arc<TaskRecord>, Error> {
        self.shared
            .store
            .get(&id)
            .filter(|r| r.scope == *scope)
            .ok_or(Error::NotFound(id))
    }
}
