//! `taskward serve`'s store: where the tasks and sessions are kept across restarts.

use std::path::PathBuf;

use clap::Args;
use taskward_core::{Durability, StoreError};
use taskward_runtime::Builder;
use taskward_sqlite::SqliteStore;

/// The database file inside the data directory.
const DATABASE: &str = "taskward.db";

/// Which store keeps the tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StoreChoice {
    /// Nothing persisted: tasks live as long as the process.
    Memory,
    /// A SQLite database in the data directory.
    Sqlite,
}

fn parse_store(s: &str) -> Result<StoreChoice, String> {
    match s {
        "memory" => Ok(StoreChoice::Memory),
        "sqlite" => Ok(StoreChoice::Sqlite),
        other => Err(format!(
            "unknown store {other:?} (expected sqlite or memory)"
        )),
    }
}

fn parse_durability(s: &str) -> Result<Durability, String> {
    match s.parse::<Durability>() {
        Ok(Durability::Memory) => Err("use --store memory to persist nothing".into()),
        Ok(policy) => Ok(policy),
        Err(e) => Err(e.to_string()),
    }
}

/// The store options of `taskward serve`.
#[derive(Debug, Args)]
pub(crate) struct StoreArgs {
    /// Where tasks and sessions are kept: `sqlite` (a database in --data-dir; they survive a
    /// restart) or `memory` (they live as long as the process).
    #[arg(long, value_name = "STORE", default_value = "sqlite", value_parser = parse_store)]
    pub(crate) store: StoreChoice,
    /// The data directory of the sqlite store; created on first start.
    #[arg(long, value_name = "DIR", default_value = "taskward-data")]
    pub(crate) data_dir: PathBuf,
    /// What an acknowledged task survives with the sqlite store: `process` (a crash of the
    /// process) or `power` (a power loss: each commit waits for an fsync).
    #[arg(long, value_name = "POLICY", default_value = "process", value_parser = parse_durability)]
    pub(crate) durability: Durability,
}

impl StoreArgs {
    /// Adds the chosen store to the runtime (opening the database: a data directory in use
    /// by another process is an error here).
    pub(crate) fn apply(&self, builder: Builder) -> Result<Builder, StoreError> {
        match self.store {
            StoreChoice::Memory => Ok(builder),
            StoreChoice::Sqlite => {
                let path = self.data_dir.join(DATABASE);
                let store = SqliteStore::open(&path, self.durability)?;
                tracing::info!(path = %path.display(), durability = %self.durability, "tasks are kept in sqlite");
                Ok(builder.durable(store))
            }
        }
    }
}
