//! The options of [`PostgresStore::connect`](crate::PostgresStore::connect).

use std::time::Duration;

use taskward_core::Durability;

/// How a [`PostgresStore`](crate::PostgresStore) connects.
///
/// Builder-style: start from [`PostgresOptions::new`] (the defaults) and change what you need.
///
/// The durability policy maps onto the session's `synchronous_commit`:
///
/// | policy | PostgreSQL | survives |
/// | --- | --- | --- |
/// | `process` (default) | `synchronous_commit = on` | a crash of the taskward process, and of the server |
/// | `power` | `synchronous_commit = on`, and the server must run with `fsync = on` | a power loss of the server's machine |
///
/// `fsync` is the server's setting, not the session's: under `power`, connecting checks it and
/// fails if it is off. `memory` is refused: a runtime without a durable store is the
/// in-memory policy.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// use taskward_core::Durability;
/// use taskward_postgres::PostgresOptions;
///
/// let options = PostgresOptions::new()
///     .durability(Durability::Power)
///     .connect_timeout(Duration::from_secs(2));
/// assert_eq!(options.durability, Durability::Power);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PostgresOptions {
    /// What a commit survives (default [`Durability::Process`]).
    pub durability: Durability,
    /// How long opening a connection may take before it fails (default 10 s); also bounds
    /// each reconnection after the server went away.
    pub connect_timeout: Duration,
    /// The CA certificates (a PEM file) the server's certificate must chain to, for the
    /// URL's `sslmode` (default none; see [`ClusterOptions::ca_file`](crate::ClusterOptions)).
    pub ca_file: Option<std::path::PathBuf>,
}

impl PostgresOptions {
    /// The defaults: the `process` policy, a connect timeout of 10 s.
    pub fn new() -> Self {
        Self {
            durability: Durability::Process,
            connect_timeout: Duration::from_secs(10),
            ca_file: None,
        }
    }

    /// Sets the durability policy.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Sets the connect timeout.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the CA file (PEM) the server's certificate must chain to.
    pub fn ca_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self::new()
    }
}
