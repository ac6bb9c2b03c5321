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
}

impl SqliteOptions {
    /// The defaults: the `process` policy, a busy timeout of 5 s.
    pub fn new() -> Self {
        Self {
            durability: Durability::Process,
            busy_timeout: Duration::from_secs(5),
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
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self::new()
    }
}
