//! The store: the handle on its thread, the policy, what the last load skipped.

use std::fmt;

use taskward_core::{Durability, DurableStore, Loaded, StoreError, StoreWrite};
use tokio_postgres::Config;

use crate::conn::Conn;
use crate::worker::Worker;
use crate::{LoadStats, PostgresOptions};

/// The task table and sessions in a PostgreSQL database, as a [`DurableStore`].
///
/// One connection, driven by a thread of the store's own (see the [crate docs](crate)):
/// [`load`](DurableStore::load) and [`commit`](DurableStore::commit) block the calling thread
/// until the server has answered, and are safe to call from any thread, async or not. Each
/// commit is one transaction. While the server is away a call fails, and the next one
/// connects again.
pub struct PostgresStore {
    worker: Worker<Conn>,
    durability: Durability,
    dbname: Option<String>,
    last_load: LoadStats,
}

impl PostgresStore {
    /// Connects to the database `url` names (a `postgres://` URL or a `key=value` string, as
    /// libpq reads them), migrates its schema, and returns the store.
    ///
    /// Blocks until the first connection is open and set up. TLS is not supported yet: the
    /// connection is plain (`sslmode=disable`), for a server on the same host or network.
    ///
    /// # Errors
    ///
    /// The URL does not parse, the policy is [`Durability::Memory`], the server cannot be
    /// reached, `power` is asked of a server running with `fsync = off`, the schema is newer
    /// than this build ([`SchemaTooNew`](crate::SchemaTooNew) is the error's source), or a
    /// migration fails.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use taskward_core::{Durability, DurableStore};
    /// use taskward_postgres::{PostgresOptions, PostgresStore};
    ///
    /// let store = PostgresStore::connect(
    ///     "postgres://taskward@localhost/taskward",
    ///     PostgresOptions::new().durability(Durability::Power),
    /// )?;
    /// assert_eq!(store.durability(), Durability::Power);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn connect(url: &str, options: PostgresOptions) -> Result<Self, StoreError> {
        let (url, check) = crate::tls::split_mode(url);
        let tls = crate::tls::connector(check, options.ca_file.as_deref())?;
        let mut config: Config = url.parse().map_err(|e| {
            StoreError::with_source("postgres store: the connection string does not parse", e)
        })?;
        if options.durability == Durability::Memory {
            return Err(StoreError::new(
                "postgres store: the `memory` policy keeps nothing: run without a durable store",
            ));
        }
        if config.get_application_name().is_none() {
            config.application_name("taskward");
        }
        config.connect_timeout(options.connect_timeout);
        let dbname = config.get_dbname().map(str::to_owned);
        let durability = options.durability;
        let worker = Worker::start((crate::pool::Target { config, tls }, options))?;
        Ok(Self {
            worker,
            durability,
            dbname,
            last_load: LoadStats::default(),
        })
    }

    /// What the last [`load`](DurableStore::load) read and skipped (all zero before the first).
    pub fn last_load(&self) -> LoadStats {
        self.last_load
    }
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("dbname", &self.dbname)
            .field("durability", &self.durability)
            .field("last_load", &self.last_load)
            .finish_non_exhaustive()
    }
}

impl DurableStore for PostgresStore {
    fn durability(&self) -> Durability {
        self.durability
    }

    fn load(&mut self) -> Result<Loaded, StoreError> {
        let (loaded, stats) = self.worker.load()?;
        self.last_load = stats;
        Ok(loaded)
    }

    fn commit(&mut self, batch: &[StoreWrite]) -> Result<(), StoreError> {
        self.worker.commit(batch)
    }
}
