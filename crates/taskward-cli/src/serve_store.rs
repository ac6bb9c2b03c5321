//! `taskward serve`'s store: where the tasks and sessions are kept across restarts.

use std::path::PathBuf;

use clap::Args;
use taskward_core::{Durability, StoreError};
use taskward_postgres::{PostgresOptions, PostgresStore};
use taskward_runtime::Builder;
use taskward_sqlite::SqliteStore;

/// The database file inside the data directory.
const DATABASE: &str = "taskward.db";

/// Which store keeps the tasks.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum StoreChoice {
    /// Nothing persisted: tasks live as long as the process.
    Memory,
    /// A SQLite database in the data directory.
    Sqlite,
    /// A PostgreSQL database, by its `postgres://` (or `postgresql://`) URL.
    Postgres(String),
}

/// Without the URL, which may hold a password.
impl std::fmt::Debug for StoreChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreChoice::Memory => f.write_str("Memory"),
            StoreChoice::Sqlite => f.write_str("Sqlite"),
            StoreChoice::Postgres(_) => f.write_str("Postgres(..)"),
        }
    }
}

fn parse_store(s: &str) -> Result<StoreChoice, String> {
    match s {
        "memory" => Ok(StoreChoice::Memory),
        "sqlite" => Ok(StoreChoice::Sqlite),
        url if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok(StoreChoice::Postgres(url.to_owned()))
        }
        other => Err(format!(
            "unknown store {other:?} (expected sqlite, memory or a postgres:// URL)"
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
    /// restart), `memory` (they live as long as the process), or a `postgres://` URL (a
    /// PostgreSQL database; one taskward process per database until issue 12's scale-out).
    #[arg(long, value_name = "STORE", default_value = "sqlite", value_parser = parse_store)]
    pub(crate) store: StoreChoice,
    /// The data directory of the sqlite store; created on first start.
    #[arg(long, value_name = "DIR", default_value = "taskward-data")]
    pub(crate) data_dir: PathBuf,
    /// What an acknowledged task survives with a durable store: `process` (a crash of the
    /// process) or `power` (a power loss: with sqlite each commit waits for an fsync; with
    /// postgres the server must run with fsync on).
    #[arg(long, value_name = "POLICY", default_value = "process", value_parser = parse_durability)]
    pub(crate) durability: Durability,
}

impl StoreArgs {
    /// Adds the chosen store to the runtime (opening the database: a data directory in use
    /// by another process is an error here).
    pub(crate) fn apply(&self, builder: Builder) -> Result<Builder, StoreError> {
        match &self.store {
            StoreChoice::Memory => Ok(builder),
            StoreChoice::Postgres(url) => {
                let options = PostgresOptions::new().durability(self.durability);
                let store = PostgresStore::connect(url, options)?;
                tracing::info!(durability = %self.durability, "tasks are kept in postgres");
                Ok(builder.durable(store))
            }
            StoreChoice::Sqlite => {
                let path = self.data_dir.join(DATABASE);
                let store = SqliteStore::open(&path, self.durability)?;
                tracing::info!(path = %path.display(), durability = %self.durability, "tasks are kept in sqlite");
                Ok(builder.durable(store))
            }
        }
    }
}

#[cfg(test)]
#[path = "../../taskward-postgres/tests/common/server.rs"]
mod pg_server;

#[cfg(test)]
mod tests {
    use clap::Parser;
    use taskward_core::DurableStore;
    use taskward_postgres::{PostgresOptions, PostgresStore};
    use taskward_runtime::TaskSpec;

    use super::{StoreArgs, StoreChoice};

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        store: StoreArgs,
    }

    fn parse(args: &[&str]) -> Result<StoreArgs, clap::Error> {
        Cli::try_parse_from(["serve"].iter().chain(args)).map(|cli| cli.store)
    }

    #[test]
    fn a_postgres_url_chooses_the_postgres_store() {
        for url in ["postgres://u@h/db", "postgresql://u:secret@h:5433/db"] {
            let store = parse(&["--store", url]).expect("parses").store;
            assert_eq!(store, StoreChoice::Postgres(url.to_owned()));
            assert!(!format!("{store:?}").contains("secret"));
        }
        let error = parse(&["--store", "mysql://h/db"]).expect_err("refused");
        assert!(error.to_string().contains("postgres://"), "{error}");
    }

    #[tokio::test]
    async fn serve_keeps_tasks_in_the_postgres_database() {
        let server = super::pg_server::PgServer::shared();
        let url = server.fresh_database();
        // The harness gives a key=value string; serve takes a URL.
        let dbname = url.rsplit('=').next().expect("a dbname");
        let port = url
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix("port="))
            .expect("a port");
        let url = format!("postgres://postgres@127.0.0.1:{port}/{dbname}");
        let args = parse(&["--store", &url]).expect("parses");
        let ward = args
            .apply(taskward_runtime::Taskward::builder())
            .expect("connects")
            .spawn()
            .await
            .expect("starts");
        let handle = ward
            .submit_external(TaskSpec::new("t"), |_: &taskward_core::Cancellation| {})
            .await
            .expect("submitted");
        // A submit returns once its record is durable: a new connection reads it back.
        let loaded = tokio::task::spawn_blocking(move || {
            PostgresStore::connect(&url, PostgresOptions::new()).and_then(|mut store| store.load())
        })
        .await
        .expect("joins")
        .expect("loads");
        assert!(loaded.tasks.iter().any(|t| t.record.id == handle.id()));
    }
}
