//! Several `taskward serve --store postgres://…` children on one throwaway PostgreSQL, and a
//! stateless 2026-07-28 client (with the tasks extension) for any of them.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::http;
use super::mcp::Fail;
use super::server::Server;
use crate::pg_server::PgServer;

/// How long anything awaited may take before the test is taken for a hang.
pub(crate) const HANG: Duration = Duration::from_secs(60);

/// The nodes, each with its own data directory (so its own node id), on one database.
/// The nodes are declared first so they are killed before the database server may stop.
pub(crate) struct Cluster {
    pub(crate) nodes: Vec<Option<Server>>,
    pub(crate) pg: Arc<PgServer>,
    pub(crate) dbname: String,
    /// Each node's id, as its node id file holds it.
    pub(crate) ids: Vec<String>,
    _dir: tempfile::TempDir,
}

impl Cluster {
    /// Starts `count` nodes with `--heartbeat-ms 200 --session-idle-secs 30
    /// --session-close-policy cancel` on a fresh database.
    pub(crate) fn start(count: usize) -> Cluster {
        Self::start_with(count, &[])
    }

    /// As [`start`](Self::start), each node with `extra` arguments too.
    pub(crate) fn start_with(count: usize, extra: &[&str]) -> Cluster {
        let pg = PgServer::shared();
        let conninfo = pg.fresh_database();
        let dbname = conninfo.rsplit('=').next().expect("a dbname").to_owned();
        let port = conninfo
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix("port="))
            .expect("a port")
            .to_owned();
        let url = format!("postgres://postgres@127.0.0.1:{port}/{dbname}");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (mut nodes, mut ids) = (Vec::new(), Vec::new());
        for n in 0..count {
            let data = dir.path().join(format!("node{n}"));
            std::fs::create_dir_all(&data).expect("a data directory");
            let args: Vec<OsString> = vec![
                "--store".into(),
                url.clone().into(),
                "--data-dir".into(),
                data.clone().into(),
                "--heartbeat-ms".into(),
                "200".into(),
                // A node holding a session looks it up again every tenth of this: 3 s.
                "--session-idle-secs".into(),
                "30".into(),
                "--session-close-policy".into(),
                "cancel".into(),
            ];
            let args: Vec<OsString> = args
                .into_iter()
                .chain(extra.iter().map(OsString::from))
                .collect();
            nodes.push(Some(Server::start_with(&args)));
            let id = std::fs::read_to_string(data.join("node-id")).expect("a node id file");
            ids.push(id.trim().to_owned());
        }
        Cluster {
            nodes,
            pg,
            dbname,
            ids,
            _dir: dir,
        }
    }

    /// The address of node `n` (alive).
    pub(crate) fn addr(&self, n: usize) -> SocketAddr {
        self.nodes[n].as_ref().expect("a live node").addr
    }

    /// SIGKILLs node `n`.
    pub(crate) fn kill(&mut self, n: usize) {
        self.nodes[n].take().expect("a live node").kill();
    }

    /// `sql` run on the shared database (unaligned, tuples only).
    pub(crate) fn sql(&self, sql: &str) -> String {
        self.pg.psql(&self.dbname, sql)
    }

    /// Column `column` of task `id`'s row.
    pub(crate) fn row(&self, id: &str, column: &str) -> String {
        self.sql(&format!("SELECT {column} FROM tasks WHERE id = '{id}'"))
    }

    /// Waits until `done` holds, polling every 20 ms; `what` names it in a hang's panic.
    pub(crate) fn wait_until(&self, what: &str, mut done: impl FnMut() -> bool) {
        let started = Instant::now();
        while !done() {
            assert!(started.elapsed() < HANG, "hang: {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A stateless 2026-07-28 request with the tasks extension to `addr`; its `result`.
pub(crate) fn modern(addr: SocketAddr, method: &str, mut params: Value) -> Result<Value, Fail> {
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "serve-nodes", "version": "0"},
        "io.modelcontextprotocol/clientCapabilities":
            {"extensions": {"io.modelcontextprotocol/tasks": {}}}
    });
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let request = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
    let mut answer = http::post_as(addr, "2026-07-28", None, &request).map_err(Fail::Down)?;
    let status = answer.status;
    let reply = answer
        .next_message()
        .map_err(Fail::Down)?
        .ok_or_else(|| Fail::Odd(format!("HTTP {status}: no message")))?;
    if let Some(result) = reply.get("result") {
        return Ok(result.clone());
    }
    match reply["error"]["code"].as_i64() {
        Some(code) => Err(Fail::Rpc {
            http: status,
            code,
            message: reply["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        }),
        None => Err(Fail::Odd(format!("HTTP {status}: {reply}"))),
    }
}

/// `tasks/get` of `task` on `addr`, panicking on an error.
pub(crate) fn get(addr: SocketAddr, task: &str) -> Value {
    modern(addr, "tasks/get", json!({"taskId": task}))
        .unwrap_or_else(|e| panic!("tasks/get {task} on {addr}: {e}"))
}

/// `tools/call` of `tool` with `arguments` on `addr` as a task; its id.
pub(crate) fn call(addr: SocketAddr, tool: &str, arguments: Value) -> String {
    let created = modern(
        addr,
        "tools/call",
        json!({"name": tool, "arguments": arguments}),
    )
    .unwrap_or_else(|e| panic!("tools/call {tool} on {addr}: {e}"));
    assert_eq!(created["resultType"], "task", "a task: {created}");
    created["taskId"].as_str().expect("a task id").to_owned()
}
