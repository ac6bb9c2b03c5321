//! The store trait: where the registry writes the task table.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use crate::{ListQuery, Page, Scope, TaskId, TaskRecord};

/// The task table, written by the registry alone and read by everyone.
///
/// The registry is the single writer: it calls [`insert`](TaskStore::insert),
/// [`replace`](TaskStore::replace) and [`remove`](TaskStore::remove) from its one actor, in
/// order. Readers call [`get`](TaskStore::get) and [`list`](TaskStore::list) from any thread,
/// concurrently, without going through the registry's mailbox, so both must be cheap and must
/// never block on a writer for long (the role of a protected ETS table with read concurrency).
///
/// Expiry is part of the table: [`expired`](TaskStore::expired) returns the ids whose TTL has
/// elapsed from a time-ordered index, costing O(expired), never a scan.
///
/// Keeping the table across restarts is not this trait's job: the runtime serves reads from
/// this table and hands every write, in batches, to a [`DurableStore`](crate::DurableStore),
/// which gives the table back at the next start, `seq` included, so that list cursors stay
/// stable.
pub trait TaskStore: fmt::Debug + Send + Sync + 'static {
    /// Adds a new task. `expires_at` is when its TTL elapses, on the runtime's clock.
    fn insert(
        &self,
        record: Arc<TaskRecord>,
        expires_at: Option<Instant>,
    ) -> Result<(), StoreError>;

    /// Replaces a task's record (same id; the scope may differ after a transfer).
    fn replace(&self, record: Arc<TaskRecord>) -> Result<(), StoreError>;

    /// Removes a task, returning its last record.
    fn remove(&self, id: &TaskId) -> Result<Option<Arc<TaskRecord>>, StoreError>;

    /// The current record of a task.
    fn get(&self, id: &TaskId) -> Option<Arc<TaskRecord>>;

    /// One page of a scope's tasks, oldest first.
    fn list(&self, scope: &Scope, query: &ListQuery) -> Page;

    /// The ids of every task in a scope, oldest first.
    fn scope_ids(&self, scope: &Scope) -> Vec<TaskId>;

    /// Up to `max` ids whose expiry is at or before `now`, earliest first.
    fn expired(&self, now: Instant, max: usize) -> Vec<TaskId>;

    /// The number of tasks held.
    fn len(&self) -> usize;

    /// Whether the store holds no task.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Makes every write so far durable. The in-memory store has nothing to do.
    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// A failure of the task store.
#[derive(Debug)]
pub struct StoreError {
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl StoreError {
    /// A store error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }

    /// A store error caused by another error.
    pub fn with_source(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
