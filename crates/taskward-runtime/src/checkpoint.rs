//! What a task of a registered kind keeps beside its control: its input, its last checkpoint,
//! and whether it is being suspended.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;
use taskward_core::TaskId;

use crate::journal::Journal;

/// The resumable state of one task of a registered kind.
#[derive(Debug)]
pub(crate) struct Resumable {
    checkpoint: Mutex<Option<Arc<Value>>>,
    journal: Option<Arc<Journal>>,
    /// Set by suspend: the attempt that ends next leaves the task suspended, not finished.
    suspending: AtomicBool,
    /// Set by shutdown over a durable store: the attempt that ends next leaves the task as
    /// the store has it (live), to be resumed at the next start.
    parked: AtomicBool,
}

impl Resumable {
    pub(crate) fn new(checkpoint: Option<Arc<Value>>, journal: Option<Arc<Journal>>) -> Self {
        Self {
            checkpoint: Mutex::new(checkpoint),
            journal,
            suspending: AtomicBool::new(false),
            parked: AtomicBool::new(false),
        }
    }

    /// Saves the latest checkpoint: kept for the next attempt, and journaled (coalesced: a
    /// batch writes only the last one of each task).
    pub(crate) fn save(&self, id: TaskId, value: Value) {
        let value = Arc::new(value);
        *self
            .checkpoint
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(value.clone());
        if let Some(journal) = &self.journal {
            journal.checkpoint(id, value);
        }
    }

    pub(crate) fn last(&self) -> Option<Arc<Value>> {
        self.checkpoint
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn set_suspending(&self, on: bool) {
        self.suspending.store(on, Ordering::Release);
    }

    pub(crate) fn is_suspending(&self) -> bool {
        self.suspending.load(Ordering::Acquire)
    }

    pub(crate) fn park(&self) {
        self.parked.store(true, Ordering::Release);
    }

    pub(crate) fn is_parked(&self) -> bool {
        self.parked.load(Ordering::Acquire)
    }
}
