//! Terminal records the store failed to write: kept in the book, counted, and written again
//! by each sweep until they are, so that no task stays non-terminal silently.

use std::sync::atomic::Ordering;

use taskward_core::{Outcome, Progress, StoreError, TaskId};

use super::Desk;
use super::transitions::write_terminal;
use crate::registry::book::Unwritten;

impl Desk<'_> {
    /// The store failed to write a terminal record: keep it for the sweep, and count it.
    pub(super) fn unwritten(
        &mut self,
        id: TaskId,
        error: &StoreError,
        outcome: &Outcome,
        progress: Option<Progress>,
        release: bool,
    ) {
        self.shared
            .counters
            .store_errors
            .fetch_add(1, Ordering::Relaxed);
        tracing::error!(task = %id, %error, "the store failed to write a terminal record; the sweep retries it");
        self.book.unwritten.insert(
            id,
            Unwritten {
                outcome: outcome.clone(),
                progress,
                release,
            },
        );
    }

    /// Writes again the terminal records the store failed to write.
    pub(super) fn write_unwritten(&mut self) {
        let pending: Vec<_> = self.book.unwritten.drain().collect();
        for (id, u) in pending {
            let written = match self.shared.store.get(&id) {
                // Removed meanwhile (expired), or written.
                None => true,
                Some(current) if current.is_terminal() => true,
                Some(_) => match self.try_update(&id, |r| {
                    write_terminal(r, &u.outcome, u.progress.clone());
                }) {
                    Ok(record) => {
                        if let Some(record) = record {
                            self.ended(id, &record.scope, &u.outcome);
                        }
                        true
                    }
                    Err((e, _)) => {
                        self.unwritten(id, &e, &u.outcome, u.progress.clone(), u.release);
                        false
                    }
                },
            };
            if written && u.release {
                self.remove_control(&id);
            }
        }
    }
}
