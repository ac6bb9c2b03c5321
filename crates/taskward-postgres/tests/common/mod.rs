//! Helpers of this crate's tests: a throwaway server, and stores on fresh databases.

#![allow(dead_code, unreachable_pub)]

pub mod cluster;
pub mod cluster_store;
pub mod mcp;
pub mod node;
pub mod queue;
/// Records and sessions that exercise every column: the SQLite store's test helpers.
#[path = "../../../taskward-sqlite/tests/common/mod.rs"]
pub mod records;
pub mod server;

use std::sync::Arc;

use taskward_core::Durability;
use taskward_postgres::{PostgresOptions, PostgresStore};

#[allow(unused_imports)]
pub use records::{checkpoint, completed, put, session, working};
pub use server::PgServer;

/// A fresh database on the shared server: the server handle (keep it alive) and the URL.
pub fn fresh() -> (Arc<PgServer>, String) {
    let server = PgServer::shared();
    let url = server.fresh_database();
    (server, url)
}

/// A store on `url`, `process` policy.
pub fn connect(url: &str) -> PostgresStore {
    PostgresStore::connect(url, PostgresOptions::new().durability(Durability::Process))
        .expect("connect")
}
