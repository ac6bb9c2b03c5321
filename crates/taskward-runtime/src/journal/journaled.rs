//! The table as the registry writes it when a durable store is configured: every write goes
//! to the in-memory table, then to the journal.

use std::sync::Arc;
use std::time::Instant;

use taskward_core::{
    ListQuery, Page, Scope, StoreError, StoreWrite, TaskId, TaskRecord, TaskStore,
};

use super::Journal;

/// A [`TaskStore`] that reads from `table` and journals every write.
#[derive(Debug)]
pub(crate) struct Journaled {
    table: Arc<dyn TaskStore>,
    journal: Arc<Journal>,
}

impl Journaled {
    pub(crate) fn new(table: Arc<dyn TaskStore>, journal: Arc<Journal>) -> Self {
        Self { table, journal }
    }
}

impl TaskStore for Journaled {
    fn insert(
        &self,
        record: Arc<TaskRecord>,
        expires_at: Option<Instant>,
    ) -> Result<(), StoreError> {
        self.table.insert(record.clone(), expires_at)?;
        self.journal.push(StoreWrite::Put(record));
        Ok(())
    }

    fn replace(&self, record: Arc<TaskRecord>) -> Result<(), StoreError> {
        // Queued before it is visible: whoever reads the new record and then waits for the
        // journal ([`Journal::synced`]) waits for this write too.
        self.journal.push(StoreWrite::Put(record.clone()));
        self.table.replace(record)
    }

    fn remove(&self, id: &TaskId) -> Result<Option<Arc<TaskRecord>>, StoreError> {
        let removed = self.table.remove(id)?;
        if removed.is_some() {
            self.journal.push(StoreWrite::Remove(*id));
        }
        Ok(removed)
    }

    fn get(&self, id: &TaskId) -> Option<Arc<TaskRecord>> {
        self.table.get(id)
    }

    fn list(&self, scope: &Scope, query: &ListQuery) -> Page {
        self.table.list(scope, query)
    }

    fn scope_ids(&self, scope: &Scope) -> Vec<TaskId> {
        self.table.scope_ids(scope)
    }

    fn expired(&self, now: Instant, max: usize) -> Vec<TaskId> {
        self.table.expired(now, max)
    }

    fn len(&self) -> usize {
        self.table.len()
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.table.flush()?;
        self.journal.flush();
        Ok(())
    }
}
