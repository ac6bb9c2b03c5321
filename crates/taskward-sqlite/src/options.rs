//! The options of [`SqliteStore::open_with`](crate::SqliteStore::open_with).

use std::time::Duration;

use taskward_core::Durability;

/// How a [`SqliteStore`](crate::SqliteStore) opens its database.
///
/// Builder-style: start from [`SqliteOptions::new`] (the defaults) and change what you need.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// use taskward_core::Durability;
/// use taskward_sqlite::SqliteOptions;
///
/// let options = SqliteOptions::new()
///     .durability(Durability::Power)
///     .busy_timeout(Duration::from_secs(1));
/// assert_eq!(options.durability, Durability::Power);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// What a commit survives (default [`Durability::Process`]). [`Durability::Memory`] opens
    /// an in-memory database and ignores the path.
    pub durability: Durability,
    /// How long a statement waits for a lock another connection holds (a backup, an operator's
    /// `sqlite3` shell) before it fails as busy. Default 5 s.
    pub busy_timeout: Duration,
    /// The most memory SQLite's page cache may take, in KiB (`PRAGMA cache_size`). Default
    /// 16 MiB: a commit of new tasks touches pages all over the id index, and a cache that
    /// holds them saves reading them back.
    pub cache_kib: u32,
    /// How many pages the WAL grows to before SQLite copies it into the database file
    /// (`PRAGMA wal_autocheckpoint`). Default 4,000 (16 MiB with 4 KiB pages): a hot page
    /// written by many commits is copied once per checkpoint, so fewer, larger checkpoints
    /// cost less per commit. Durability does not depend on it.
    pub wal_autocheckpoint: u32,
    /// Whether the store holds the lock file beside the database while it is open, so that a
    /// second store on the same file fails to open (default `true`). The store must be the
    /// database's one writer; turn the lock off only where something else guarantees that (a
    /// test that simulates a crash by opening the file again in the same process, with the
    /// old store's writes fenced off).
    pub exclusive: bool,
}

impl SqliteOptions {
    /// The defaults: the `process` policy, a busy timeout of 5 s, a 16 MiB page cache, a WAL
    /// checkpoint every 4,000 pages.
    pub fn new() -> Self {
        Self {
            durability: Durability::Process,
            busy_timeout: Duration::from_secs(5),
            cache_kib: 16 * 1024,
            wal_autocheckpoint: 4_000,
            exclusive: true,
        }
    }

    /// Sets the durability policy.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Sets the busy timeout.
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Sets the page cache's size, in KiB.
    pub fn cache_kib(mut self, kib: u32) -> Self {
        self.cache_kib = kib;
        self
    }

    /// Sets the WAL size, in pages, that triggers a checkpoint (0 turns automatic checkpoints
    /// off: then the WAL grows until something else checkpoints it).
    pub fn wal_autocheckpoint(mut self, pages: u32) -> Self {
        self.wal_autocheckpoint = pages;
        self
    }
}

impl SqliteOptions {
    /// Sets whether the store holds the lock file (see [`exclusive`](Self::exclusive)).
    pub fn exclusive(mut self, exclusive: bool) -> Self {
        self.exclusive = exclusive;
        self
    }
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self::new()
    }
}
