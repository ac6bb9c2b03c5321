//! What a durable store reports about its database: what a load skipped, and a schema too
//! new to read. Shared by the store crates (SQLite, PostgreSQL).

use std::fmt;

/// What a [`load`](crate::DurableStore::load) read back, and what it skipped.
///
/// A task row whose record does not parse is skipped (the task is not loaded); a checkpoint
/// that does not parse is dropped (the task is loaded without one); a session row that does
/// not parse is skipped. Each is logged with `tracing::warn!` and counted here; none fails the
/// load. The rows stay in the database untouched until the task or session is written again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoadStats {
    /// Tasks loaded.
    pub tasks: usize,
    /// Sessions loaded.
    pub sessions: usize,
    /// Task rows skipped: their record did not parse.
    pub skipped_tasks: usize,
    /// Session rows skipped: their record did not parse.
    pub skipped_sessions: usize,
    /// Checkpoints dropped from tasks that were loaded: the checkpoint did not parse.
    pub dropped_checkpoints: usize,
}

impl LoadStats {
    /// Rows skipped or checkpoints dropped, in all: zero when everything read back.
    pub fn skipped(&self) -> usize {
        self.skipped_tasks + self.skipped_sessions + self.dropped_checkpoints
    }
}

/// The database was written by a newer taskward: its schema version is past the last one this
/// build knows, so it is not opened (it would be misread, or downgraded).
///
/// A store returns it as the [`source`](std::error::Error::source) of the
/// [`StoreError`](crate::StoreError) of its open; find it with `downcast_ref`.
///
/// # Examples
///
/// ```
/// use std::error::Error as _;
///
/// use taskward_core::{SchemaTooNew, StoreError};
///
/// let e = StoreError::with_source("cannot open", SchemaTooNew::new(3, 2));
/// let too_new = e.source().and_then(|s| s.downcast_ref::<SchemaTooNew>()).unwrap();
/// assert_eq!((too_new.found(), too_new.supported()), (3, 2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaTooNew {
    found: i64,
    supported: u32,
}

impl SchemaTooNew {
    /// The database is at version `found`; this build knows up to `supported`.
    pub fn new(found: i64, supported: u32) -> Self {
        Self { found, supported }
    }

    /// The database's schema version (SQLite: its `PRAGMA user_version`; PostgreSQL: the
    /// highest row of its `schema_version` table).
    pub fn found(&self) -> i64 {
        self.found
    }

    /// The last schema version this build knows (the store's `SCHEMA_VERSION`).
    pub fn supported(&self) -> u32 {
        self.supported
    }
}

impl fmt::Display for SchemaTooNew {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the database's schema is version {}, newer than version {}, the last this build of \
             taskward knows: run a newer taskward on it",
            self.found, self.supported
        )
    }
}

impl std::error::Error for SchemaTooNew {}
