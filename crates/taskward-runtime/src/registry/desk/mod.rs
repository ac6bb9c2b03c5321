//! The registry's work, one method per command or report.
//!
//! This module holds the desk and its table helpers; each sibling holds one concern:
//! [`transitions`] (finishing, cancelling, retrying), [`reports`] (runners' reports),
//! [`commands`] (the API's commands), [`scopes`] (owners and scopes), [`sweep`] (expiry,
//! runner checks, interruption, shutdown) and [`status`].

mod commands;
mod reports;
mod scopes;
mod status;
mod sweep;
mod transitions;

use std::sync::{Arc, MutexGuard};

use ractor::ActorRef;
use taskward_core::{Error, EventKind, Scope, TaskEvent, TaskId, TaskRecord};
use time::OffsetDateTime;

use super::{Book, RegistryMsg};
use crate::shared::Shared;

/// The registry at work: the shared state and its book, locked for one message.
pub(super) struct Desk<'a> {
    shared: &'a Shared,
    book: MutexGuard<'a, Book>,
    /// The registry actor; `None` for the root acting as the registry's heir.
    myself: Option<&'a ActorRef<RegistryMsg>>,
}

impl<'a> Desk<'a> {
    pub(super) fn new(shared: &'a Shared, myself: &'a ActorRef<RegistryMsg>) -> Self {
        Self {
            shared,
            book: shared.book(),
            myself: Some(myself),
        }
    }

    /// The desk without a registry: for the root, once the registry is stopped for good.
    pub(super) fn heir(shared: &'a Shared) -> Self {
        Self {
            shared,
            book: shared.book(),
            myself: None,
        }
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

    /// Replaces a record with an edited copy, keeping the counts right.
    fn update(
        &mut self,
        id: &TaskId,
        edit: impl FnOnce(&mut TaskRecord),
    ) -> Option<Arc<TaskRecord>> {
        let old = self.shared.store.get(id)?;
        let mut new = (*old).clone();
        edit(&mut new);
        new.last_updated_at = OffsetDateTime::now_utc();
        let new = Arc::new(new);
        if let Err(e) = self.shared.store.replace(new.clone()) {
            tracing::error!(task = %id, error = %e, "the store failed to replace a record");
            return None;
        }
        self.book.count_out(&old);
        self.book.count_in(&new);
        Some(new)
    }

    fn remove_control(&self, id: &TaskId) {
        self.shared
            .controls
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }

    fn scoped(&self, scope: &Scope, id: TaskId) -> Result<Arc<TaskRecord>, Error> {
        self.shared
            .store
            .get(&id)
            .filter(|r| r.scope == *scope)
            .ok_or(Error::NotFound(id))
    }
}
