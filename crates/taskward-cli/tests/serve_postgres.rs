//! `taskward serve --store postgres://…` as a child process runs as a node of the cluster:
//! its node id file is created, and a task created over MCP HTTP is a row of the shared
//! table held by that node, which finishes it there.

mod crash_support {
    #[allow(dead_code)]
    #[path = "http.rs"]
    pub(crate) mod http;
    #[allow(dead_code)]
    #[path = "mcp.rs"]
    pub(crate) mod mcp;
    #[allow(dead_code)]
    #[path = "server.rs"]
    pub(crate) mod server;
}

#[path = "../../taskward-postgres/tests/common/server.rs"]
mod pg_server;

use std::ffi::OsString;
use std::time::{Duration, Instant};

use crash_support::mcp;
use crash_support::server::Server;
use serde_json::json;
use taskward_postgres::NodeId;

/// How long the task may take to finish before the test is taken for a hang.
const HANG: Duration = Duration::from_secs(60);

#[test]
fn serve_with_postgres_runs_a_node_whose_tasks_are_rows_of_the_shared_table() {
    let pg = pg_server::PgServer::shared();
    let conninfo = pg.fresh_database();
    let dbname = conninfo.rsplit('=').next().expect("a dbname").to_owned();
    let port = conninfo
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("port="))
        .expect("a port");
    let url = format!("postgres://postgres@127.0.0.1:{port}/{dbname}");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let args: Vec<OsString> = vec![
        "--store".into(),
        url.into(),
        "--data-dir".into(),
        dir.path().into(),
        "--heartbeat-ms".into(),
        "200".into(),
    ];
    let server = Server::start_with(&args);

    let node: NodeId = std::fs::read_to_string(dir.path().join("node-id"))
        .expect("the node id file is created")
        .parse()
        .expect("it holds a node id");
    let session = mcp::initialize(server.addr).expect("a session");
    let created = mcp::request(
        server.addr,
        &session,
        "tools/call",
        json!({"name": "sleep", "arguments": {"seconds": 0.1}, "task": {}}),
    )
    .expect("a task is created");
    let id = created["task"]["taskId"].as_str().expect("a task id");

    let row = |column: &str| {
        pg.psql(
            &dbname,
            &format!("SELECT {column} FROM tasks WHERE id = '{id}'"),
        )
    };
    assert_eq!(row("node"), node.to_string(), "held by the serving node");
    let started = Instant::now();
    while row("status") != "completed" {
        assert!(
            started.elapsed() < HANG,
            "the task did not finish: {}",
            row("status")
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(row("lease_until IS NULL"), "t", "its end released the hold");
    server.kill();
}
