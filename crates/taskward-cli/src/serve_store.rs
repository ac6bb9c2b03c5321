//! `taskward serve`'s store: where the tasks and sessions are kept across restarts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use taskward_core::Durability;
use taskward_postgres::{Caps, ClusterOptions, Node, NodeId, NodeOptions};
use taskward_runtime::Builder;
use taskward_sqlite::SqliteStore;

use crate::BoxError;

/// The database file inside the data directory.
const DATABASE: &str = "taskward.db";

/// The node id file inside the data directory, by default.
const NODE_ID: &str = "node-id";

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
    /// PostgreSQL database shared by every node that serves with it: this process runs as
    /// one node of them).
    #[arg(long, value_name = "STORE", default_value = "sqlite", value_parser = parse_store)]
    pub(crate) store: StoreChoice,
    /// The data directory of the sqlite store (and of the node id file); created on first
    /// start.
    #[arg(long, value_name = "DIR", default_value = "taskward-data")]
    pub(crate) data_dir: PathBuf,
    /// With postgres: the file holding this node's id, created with a new id if missing, so
    /// that a restarted node picks up its own tasks [default: <data dir>/node-id].
    #[arg(long, value_name = "PATH")]
    pub(crate) node_id_file: Option<PathBuf>,
    /// With postgres: the most tasks claimed from the shared queue that this node runs at
    /// once.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub(crate) node_capacity: u32,
    /// With postgres: the heartbeat period in milliseconds (every duty of the node runs at
    /// it); a node silent for three periods (the lease) is taken for dead and its tasks
    /// rescued.
    #[arg(long, value_name = "MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) heartbeat_ms: u64,
    /// What an acknowledged task survives with a durable store: `process` (a crash of the
    /// process) or `power` (a power loss: with sqlite each commit waits for an fsync; with
    /// postgres the server must run with fsync on).
    #[arg(long, value_name = "POLICY", default_value = "process", value_parser = parse_durability)]
    pub(crate) durability: Durability,
    /// With postgres: the CA certificates (a PEM file) the server's certificate must chain
    /// to. TLS itself is the URL's `sslmode` (`disable`, `prefer`, `require`, `verify-ca`,
    /// `verify-full`); without this file `verify-ca` and `verify-full` trust the system's
    /// roots, and `prefer` and `require` encrypt without checking the certificate.
    #[arg(long, value_name = "PATH")]
    pub(crate) postgres_ca_file: Option<PathBuf>,
}

impl StoreArgs {
    /// Whether tasks are kept in postgres: this process is a node of a cluster.
    pub(crate) fn is_postgres(&self) -> bool {
        matches!(self.store, StoreChoice::Postgres(_))
    }

    /// Adds the chosen store to the runtime (opening the database: a data directory in use
    /// by another process is an error here). With postgres, joins the cluster as a node:
    /// the node comes back, to [run](Node::run) once the runtime is spawned.
    pub(crate) async fn apply(
        &self,
        builder: Builder,
        caps: Caps,
    ) -> Result<(Builder, Option<Node>), BoxError> {
        match &self.store {
            StoreChoice::Memory => Ok((builder, None)),
            StoreChoice::Postgres(url) => {
                let path = self
                    .node_id_file
                    .clone()
                    .unwrap_or_else(|| self.data_dir.join(NODE_ID));
                let id = node_id(&path)?;
                let heartbeat = Duration::from_millis(self.heartbeat_ms);
                let mut cluster = ClusterOptions::new().heartbeat(heartbeat);
                if let Some(ca) = &self.postgres_ca_file {
                    cluster = cluster.ca_file(ca);
                }
                let options = NodeOptions::new()
                    .capacity(self.node_capacity)
                    .caps(caps)
                    .durability(self.durability)
                    .cluster(cluster);
                let (node, store, shared) = Node::join(url, id, options).await?;
                tracing::info!(
                    node = %id,
                    slot = node.slot(),
                    durability = %self.durability,
                    "tasks are kept in postgres: running as a node of its cluster"
                );
                let builder = builder
                    .durable(store)
                    .shared_tasks(shared)
                    .node_slot(node.slot());
                Ok((builder, Some(node)))
            }
            StoreChoice::Sqlite => {
                let path = self.data_dir.join(DATABASE);
                let store = SqliteStore::open(&path, self.durability)?;
                tracing::info!(path = %path.display(), durability = %self.durability, "tasks are kept in sqlite");
                Ok((builder.durable(store), None))
            }
        }
    }
}

/// The node id kept in `path`: read back, or drawn and written (with its directory) on the
/// first start.
fn node_id(path: &Path) -> Result<NodeId, BoxError> {
    match std::fs::read_to_string(path) {
        Ok(text) => text.parse().map_err(|err| {
            format!(
                "the node id file {} holds no node id: {err}",
                path.display()
            )
            .into()
        }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let id = NodeId::new();
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
            std::fs::write(path, format!("{id}\n"))
                .map_err(|e| format!("cannot write the node id file {}: {e}", path.display()))?;
            tracing::info!(node = %id, path = %path.display(), "a new node id");
            Ok(id)
        }
        Err(err) => Err(format!("cannot read the node id file {}: {err}", path.display()).into()),
    }
}

#[cfg(test)]
#[path = "../../taskward-postgres/tests/common/server.rs"]
mod pg_server;

#[cfg(test)]
mod tests {
    use clap::Parser;
    use taskward_core::Scope;
    use taskward_postgres::{Caps, Cluster, ClusterOptions, NodeId};
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn serve_runs_a_node_of_the_postgres_cluster_with_a_kept_node_id() {
        let server = super::pg_server::PgServer::shared();
        let url = server.fresh_database();
        // The harness gives a key=value string; serve takes a URL.
        let dbname = url.rsplit('=').next().expect("a dbname");
        let port = url
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix("port="))
            .expect("a port");
        let url = format!("postgres://postgres@127.0.0.1:{port}/{dbname}");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let data_dir = dir.path().join("data");
        let data = data_dir.to_str().expect("a UTF-8 path");
        let args =
            parse(&["--store", &url, "--data-dir", data, "--heartbeat-ms", "100"]).expect("parses");
        let (builder, node) = args
            .apply(taskward_runtime::Taskward::builder(), Caps::new())
            .await
            .expect("joins");
        let node = node.expect("postgres runs a node");
        let id_file = data_dir.join("node-id");
        let id: NodeId = std::fs::read_to_string(&id_file)
            .expect("the node id file is created")
            .parse()
            .expect("holds a node id");
        assert_eq!(node.id(), id);
        let ward = builder.spawn().await.expect("starts");
        let duties = node.run(ward.clone());
        let handle = ward
            .submit_external(TaskSpec::new("t"), |_: &taskward_core::Cancellation| {})
            .await
            .expect("submitted");
        // A submit returns once its row is in the shared table: another handle reads it,
        // held by this node.
        let cluster = Cluster::connect(&url, ClusterOptions::new())
            .await
            .expect("a cluster handle");
        let record = cluster
            .get(&Scope::global(), handle.id())
            .await
            .expect("reads")
            .expect("the task is in the shared table");
        assert_eq!(record.id, handle.id());
        duties.stop().await;
        ward.shutdown(std::time::Duration::from_secs(1))
            .await
            .expect("shutdown");

        // A restart reads the same id back.
        let again =
            parse(&["--store", &url, "--node-id-file", id_file.to_str().unwrap()]).expect("parses");
        let (_, node) = again
            .apply(taskward_runtime::Taskward::builder(), Caps::new())
            .await
            .expect("joins again");
        assert_eq!(node.expect("a node").id(), id);
    }

    #[test]
    fn a_node_id_file_without_an_id_is_an_error() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("node-id");
        std::fs::write(&path, "not an id").unwrap();
        let error = super::node_id(&path).expect_err("refused");
        assert!(error.to_string().contains("holds no node id"), "{error}");
    }
}
