//! One contract for every durable store (issue 11): the checks of `tests/contract/` run
//! against the in-memory runtime (no durable store: the checks that need a restart are
//! ignored, with the reason), the test disk of `tests/common/disk.rs`, `SqliteStore` on a
//! file (`process` policy) and in memory, and `PostgresStore` on a fresh database of a
//! throwaway server (the harness of `crates/taskward-postgres/tests/common/server.rs`).
//!
//! Each storage is a `Storage` (`open`: a store on the same data, as a new process would open
//! it) and one `store_contract!` line, which makes one test per check in a module named after
//! the storage (`cargo test -p taskward --test store_contract sqlite_file::`).

mod common;
#[macro_use]
mod contract;
#[path = "../crates/taskward-postgres/tests/common/server.rs"]
mod pg_server;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use common::disk::Disk;
use contract::Storage;
use pg_server::PgServer;
use taskward::{Durability, DurableStore, Loaded, StoreError, StoreWrite};
use taskward_postgres::{PostgresOptions, PostgresStore};
use taskward_sqlite::{SqliteOptions, SqliteStore};
use tempfile::TempDir;

/// The in-memory runtime: no durable store.
struct Memory;

impl Storage for Memory {
    fn open(&self) -> Option<Box<dyn DurableStore>> {
        None
    }
}

impl Storage for Disk {
    fn open(&self) -> Option<Box<dyn DurableStore>> {
        Some(Box::new(self.clone()))
    }
}

/// `SqliteStore` on a file in a temp dir (removed with the storage), `process` policy: each
/// open is a new connection to the file.
struct SqliteFile {
    _dir: TempDir,
    path: PathBuf,
}

impl SqliteFile {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("taskward.db");
        Self { _dir: dir, path }
    }
}

impl Storage for SqliteFile {
    fn open(&self) -> Option<Box<dyn DurableStore>> {
        // Without the lock file: a "crash" here opens the file again while the old store,
        // fenced off by the contract, is still open in this process.
        let options = SqliteOptions::new()
            .durability(Durability::Process)
            .exclusive(false);
        let store = SqliteStore::open_with(&self.path, options).expect("open");
        Some(Box::new(store))
    }
}

/// `SqliteStore` in memory: one database, which every "process" opens (it outlives them, as
/// a file would).
struct SqliteMemory(Arc<Mutex<SqliteStore>>);

impl SqliteMemory {
    fn new() -> Self {
        Self(Arc::new(Mutex::new(
            SqliteStore::in_memory().expect("in memory"),
        )))
    }
}

/// A handle on the shared in-memory database.
#[derive(Debug)]
struct SharedSqlite(Arc<Mutex<SqliteStore>>);

impl DurableStore for SharedSqlite {
    fn durability(&self) -> Durability {
        self.0.lock().unwrap().durability()
    }

    fn load(&mut self) -> Result<Loaded, StoreError> {
        self.0.lock().unwrap().load()
    }

    fn commit(&mut self, batch: &[StoreWrite]) -> Result<(), StoreError> {
        self.0.lock().unwrap().commit(batch)
    }
}

impl Storage for SqliteMemory {
    fn open(&self) -> Option<Box<dyn DurableStore>> {
        Some(Box::new(SharedSqlite(self.0.clone())))
    }
}

/// `PostgresStore` on a database of its own (`process` policy), created empty on the server
/// that the tests running at the same time share: each open is a new connection to it.
struct Postgres {
    _server: Arc<PgServer>,
    url: String,
}

impl Postgres {
    fn new() -> Self {
        let server = PgServer::shared();
        let url = server.fresh_database();
        Self {
            _server: server,
            url,
        }
    }
}

impl Storage for Postgres {
    fn open(&self) -> Option<Box<dyn DurableStore>> {
        let options = PostgresOptions::new().durability(Durability::Process);
        let store = PostgresStore::connect(&self.url, options).expect("connect");
        Some(Box::new(store))
    }
}

store_contract!(
    memory,
    Memory,
    without_restart = "the in-memory runtime has no durable store"
);
store_contract!(disk, Disk::new());
store_contract!(sqlite_file, SqliteFile::new());
store_contract!(sqlite_memory, SqliteMemory::new());
store_contract!(postgres, Postgres::new());
