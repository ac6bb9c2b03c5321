//! The store: one connection, the policy it was opened with, what the last load skipped.

use std::fmt;
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use taskward_core::{Durability, DurableStore, Loaded, StoreError, StoreWrite};

use crate::rows::RowIndex;
use crate::{LoadStats, commit, load};

/// The task table and sessions in one SQLite database, as a [`DurableStore`].
///
/// One connection, used by one thread at a time: the runtime's writer thread calls
/// [`commit`](DurableStore::commit) with batches, and [`load`](DurableStore::load) is called
/// once before the runtime starts. The store must be the database's only writer while it is
/// open (it keeps where each task's row is in memory); readers, such as a live backup, are
/// fine. See the [crate docs](crate) for the schema, the policies
/// and backups.
pub struct SqliteStore {
    conn: Connection,
    path: Option<PathBuf>,
    durability: Durability,
    last_load: LoadStats,
    /// Task id → row, built by the first load (or the first commit, if it comes first).
    rows: Option<RowIndex>,
    /// The lock file held while the store is open: the store must be the database's one
    /// writer (its row map lives in memory).
    lock: Option<std::fs::File>,
}

impl SqliteStore {
    pub(crate) fn from_parts(
        conn: Connection,
        path: Option<PathBuf>,
        durability: Durability,
    ) -> Self {
        Self {
            conn,
            path,
            durability,
            last_load: LoadStats::default(),
            rows: None,
            lock: None,
        }
    }

    pub(crate) fn with_lock(mut self, lock: std::fs::File) -> Self {
        self.lock = Some(lock);
        self
    }

    /// The database file, or `None` for an in-memory store.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// What the last [`load`](DurableStore::load) read and skipped (all zero before the first).
    ///
    /// A row that cannot be read back (its JSON does not parse: a hand edit, a bug) does not
    /// fail the load: it is skipped with a warning and counted here.
    pub fn last_load(&self) -> LoadStats {
        self.last_load
    }
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("durability", &self.durability)
            .field("last_load", &self.last_load)
            .finish_non_exhaustive()
    }
}

impl DurableStore for SqliteStore {
    fn durability(&self) -> Durability {
        self.durability
    }

    fn load(&mut self) -> Result<Loaded, StoreError> {
        let (loaded, rows, stats) = load::load(&mut self.conn)?;
        self.last_load = stats;
        self.rows = Some(rows);
        Ok(loaded)
    }

    fn commit(&mut self, batch: &[StoreWrite]) -> Result<(), StoreError> {
        let rows = match &mut self.rows {
            Some(rows) => rows,
            None => self.rows.insert(RowIndex::build(&self.conn)?),
        };
        commit::commit(&mut self.conn, rows, batch)
    }
}
