//! Any node answers, over MCP: two MCP servers (the HTTP transport's router, called in
//! process) as two nodes on one database, each runtime reading the shared table. A task held
//! by a third node, played by the test with the cluster's own calls (claim, finish,
//! `take_answers`, listener), is read, listed, cancelled, answered and waited for through
//! either node, in both generations; a 2025-11-25 session opened on one node is served by the
//! other, for its principal only.

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use common::cluster::{cluster, done, held_elsewhere, job_in};
use common::mcp::{ALICE, MODERN, request};
use common::{PgServer, fresh};
use serde_json::{Value, json};
use taskward_core::{Scope, Status, TaskId};
use taskward_mcp::transport::http::auth::{Auth, StaticTokens};
use taskward_mcp::transport::http::{self, HttpOptions};
use taskward_mcp::wire::TASKS_EXTENSION;
use taskward_mcp::{Server, ServerOptions};
use taskward_postgres::{Cluster, Listener, Notification, SharedTable};
use taskward_runtime::{TaskContext, TaskSpec, Taskward};
use tower_service::Service;

/// A guard against a hang: waiting for an event, never a timing assertion.
const HANG: Duration = Duration::from_secs(60);
const BOB: &str = "bob-token-0123456789ab";
/// The sessions' idle timeout: a node re-checks a session it holds against the shared table
/// at most once per tenth of it.
const IDLE: Duration = Duration::from_secs(5);

/// One node: a runtime on the shared tables (its durable store writes the shared `tasks`
/// and `sessions` tables) and its MCP router, authenticating alice and bob.
#[derive(Clone)]
struct Node {
    ward: Taskward,
    router: axum::Router,
}

async fn node(cluster: &Cluster, url: &str) -> Node {
    let shared = SharedTable::start(cluster.clone(), url)
        .await
        .expect("listen");
    let ward = Taskward::builder()
        .durable(common::connect(url))
        .shared_tasks(shared)
        .spawn()
        .await
        .expect("spawn");
    let mut server_options = ServerOptions::default();
    server_options.session_idle_timeout = Some(IDLE);
    let server = Server::builder(ward.clone())
        .options(server_options)
        .build();
    let tokens = StaticTokens::parse(&format!("{ALICE} alice\n{BOB} bob\n")).expect("tokens");
    let mut options = HttpOptions::default();
    options.auth = Some(Auth::static_tokens(tokens));
    Node {
        ward,
        router: http::router(server, options),
    }
}

impl Node {
    /// Sends `body` with `method` as `token`'s holder; the status, the session id header
    /// and the JSON body.
    async fn send(
        &self,
        method: &str,
        token: &str,
        sid: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Option<String>, Value) {
        let mut builder = Request::builder()
            .method(method)
            .uri("/mcp")
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {token}"));
        if let Some(sid) = sid {
            builder = builder.header("mcp-session-id", sid);
        }
        let body = body.map_or_else(Vec::new, |b| serde_json::to_vec(b).expect("json"));
        let request = builder.body(Body::from(body)).expect("a request");
        let response = self.router.clone().call(request).await.expect("infallible");
        let status = response.status().as_u16();
        let sid = response
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("a body");
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, sid, json)
    }

    /// A 2025-11-25 session of `token`'s holder, initialized.
    async fn session(&self, token: &str) -> String {
        let init = request(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "tests", "version": "0"}}),
        );
        let (status, sid, body) = self.send("POST", token, None, Some(&init)).await;
        assert_eq!(status, 200, "{body}");
        let sid = sid.expect("a session id");
        let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let (status, _, _) = self
            .send("POST", token, Some(&sid), Some(&initialized))
            .await;
        assert_eq!(status, 202);
        sid
    }

    /// A 2025-11-25 request in session `sid`: the status and the JSON-RPC answer.
    async fn legacy(&self, token: &str, sid: &str, method: &str, params: Value) -> (u16, Value) {
        let (status, _, body) = self
            .send("POST", token, Some(sid), Some(&request(method, params)))
            .await;
        (status, body)
    }

    /// A stateless 2026-07-28 request declaring the tasks extension: the JSON-RPC answer.
    async fn modern(&self, token: &str, method: &str, mut params: Value) -> Value {
        params["_meta"] = json!({
            "io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientInfo": {"name": "tests", "version": "0"},
            "io.modelcontextprotocol/clientCapabilities": {"extensions": {TASKS_EXTENSION: {}}},
        });
        let (status, _, body) = self
            .send("POST", token, None, Some(&request(method, params)))
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    async fn stop(self) {
        self.ward.shutdown(Duration::from_secs(5)).await.unwrap();
    }
}

/// Two nodes on a fresh database, and a session of alice's opened on the first.
struct TwoNodes {
    _server: Arc<PgServer>,
    url: String,
    cluster: Cluster,
    a: Node,
    b: Node,
    sid: String,
}

impl TwoNodes {
    async fn start() -> Self {
        let (server, url) = fresh();
        let cluster = cluster(&url).await;
        let a = node(&cluster, &url).await;
        let b = node(&cluster, &url).await;
        let sid = a.session(ALICE).await;
        Self {
            _server: server,
            url,
            cluster,
            a,
            b,
            sid,
        }
    }

    /// The scope of the session's tasks.
    fn scope(&self) -> Scope {
        Scope::session(self.sid.as_str()).with_principal("alice")
    }

    async fn stop(self) {
        self.a.stop().await;
        self.b.stop().await;
    }
}

/// The next cancel the holder hears.
async fn heard_cancel(holder: &mut Listener) -> TaskId {
    tokio::time::timeout(HANG, async {
        loop {
            if let Notification::Cancel { id, .. } = holder.recv().await.expect("listening") {
                return id;
            }
        }
    })
    .await
    .expect("a cancel notification")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_opened_on_one_node_is_served_on_another_for_its_principal_only() {
    let nodes = TwoNodes::start().await;
    let (b, sid) = (&nodes.b, &nodes.sid);

    let (status, pong) = b.legacy(ALICE, sid, "ping", json!({})).await;
    assert_eq!(status, 200, "node B serves the session of node A: {pong}");
    // Bound to its principal: another presenting it is answered as for an unknown id.
    let (status, _) = b.legacy(BOB, sid, "ping", json!({})).await;
    assert_eq!(status, 404);
    let (status, _) = b.legacy(BOB, "no-such-session", "ping", json!({})).await;
    assert_eq!(status, 404);
    let (status, listed) = b.legacy(ALICE, sid, "tasks/list", json!({})).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["result"]["tasks"], json!([]));

    // Ended on node B: gone from the table, so a node that never saw it does not take it in.
    let (status, _, _) = b.send("DELETE", ALICE, Some(sid), None).await;
    assert_eq!(status, 200);
    let (status, _) = b.legacy(ALICE, sid, "ping", json!({})).await;
    assert_eq!(status, 404);
    let c = node(&nodes.cluster, &nodes.url).await;
    let (status, _) = c.legacy(ALICE, sid, "ping", json!({})).await;
    assert_eq!(status, 404, "an ended session is not taken in again");
    c.stop().await;
    nodes.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_held_elsewhere_is_read_listed_and_cancelled_in_a_2025_11_25_session() {
    let nodes = TwoNodes::start().await;
    let (cluster, sid, scope) = (&nodes.cluster, &nodes.sid, nodes.scope());
    let records = [job_in(&scope, "a", 1), job_in(&scope, "a", 2)];
    held_elsewhere(cluster, &records).await;
    let mut holder = Listener::connect(&nodes.url, cluster.options())
        .await
        .unwrap();
    let b = &nodes.b;

    for node in [&nodes.a, b] {
        let (_, got) = node
            .legacy(ALICE, sid, "tasks/get", json!({"taskId": records[0].id}))
            .await;
        assert_eq!(got["result"]["taskId"], json!(records[0].id), "{got}");
        assert_eq!(got["result"]["status"], "working");
        let (_, listed) = node.legacy(ALICE, sid, "tasks/list", json!({})).await;
        let ids: Vec<_> = listed["result"]["tasks"]
            .as_array()
            .expect("tasks")
            .iter()
            .map(|t| t["taskId"].clone())
            .collect();
        assert_eq!(
            ids,
            [json!(records[0].id), json!(records[1].id)],
            "{listed}"
        );
    }

    // Another session of the same principal: the task is foreign there, read as unknown.
    let other = b.session(ALICE).await;
    let (_, foreign) = b
        .legacy(ALICE, &other, "tasks/get", json!({"taskId": records[0].id}))
        .await;
    let (_, unknown) = b
        .legacy(ALICE, &other, "tasks/get", json!({"taskId": TaskId::new()}))
        .await;
    assert_eq!(
        foreign["error"]["code"], unknown["error"]["code"],
        "{foreign}"
    );
    assert!(foreign["error"]["code"].is_i64(), "{foreign}");

    let (_, cancelled) = b
        .legacy(ALICE, sid, "tasks/cancel", json!({"taskId": records[1].id}))
        .await;
    assert_eq!(cancelled["result"]["status"], "cancelled", "{cancelled}");
    assert_eq!(heard_cancel(&mut holder).await, records[1].id);
    nodes.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_result_on_another_node_waits_until_the_holder_finishes() {
    let nodes = TwoNodes::start().await;
    let (cluster, sid, scope) = (&nodes.cluster, &nodes.sid, nodes.scope());
    let records = [job_in(&scope, "a", 1)];
    let claimed = held_elsewhere(cluster, &records).await;

    let waiting = {
        let b = nodes.b.clone();
        let sid = sid.clone();
        let id = records[0].id;
        tokio::spawn(async move {
            b.legacy(ALICE, &sid, "tasks/result", json!({"taskId": id}))
                .await
        })
    };
    // Parked while the task works in the table (a pause lets it get there; the check after
    // the finish does not depend on it).
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!waiting.is_finished(), "answered before the task ended");
    cluster
        .finish(claimed[0].fence, &done(&records[0]))
        .await
        .unwrap();
    let (status, answer) = tokio::time::timeout(HANG, waiting)
        .await
        .expect("woken by the finish")
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(answer["result"], json!("done"), "{answer}");
    nodes.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_held_elsewhere_is_read_answered_and_cancelled_in_2026_07_28() {
    let (_server, url) = fresh();
    let cluster = cluster(&url).await;
    let b = node(&cluster, &url).await;
    let scope = Scope::session("modern").with_principal("alice");
    let records = [job_in(&scope, "a", 1), job_in(&scope, "a", 2)];
    let claimed = held_elsewhere(&cluster, &records).await;
    let mut holder = Listener::connect(&url, cluster.options()).await.unwrap();

    let got = b
        .modern(ALICE, "tasks/get", json!({"taskId": records[0].id}))
        .await;
    assert_eq!(got["result"]["status"], "working", "{got}");
    assert_eq!(got["result"]["taskId"], json!(records[0].id));
    // Another principal's scope: read as an unknown id.
    let foreign = b
        .modern(BOB, "tasks/get", json!({"taskId": records[0].id}))
        .await;
    let unknown = b
        .modern(BOB, "tasks/get", json!({"taskId": TaskId::new()}))
        .await;
    assert!(foreign["error"]["code"].is_i64(), "{foreign}");
    assert_eq!(foreign["error"]["code"], unknown["error"]["code"]);

    let updated = b
        .modern(
            ALICE,
            "tasks/update",
            json!({"taskId": records[0].id, "inputResponses": {"name": "Ada"}}),
        )
        .await;
    assert_eq!(updated["result"]["resultType"], "complete", "{updated}");
    let answers = cluster.take_answers(claimed[0].fence).await.unwrap();
    assert_eq!(answers, [("name".to_owned(), json!("Ada"))]);

    // Waiting for input on its holder: the shared record says so, but not which requests
    // (they live in the holder's memory), so the detailed task leaves them out.
    let mut waiting = records[1].clone();
    waiting.status = Status::InputRequired;
    cluster.progress(claimed[1].fence, &waiting).await.unwrap();
    let got = b
        .modern(ALICE, "tasks/get", json!({"taskId": records[1].id}))
        .await;
    assert_eq!(got["result"]["status"], "input_required", "{got}");
    assert!(got["result"].get("inputRequests").is_none(), "{got}");

    // Finished by its holder: the detailed task carries the result inline.
    cluster
        .finish(claimed[0].fence, &done(&records[0]))
        .await
        .unwrap();
    let got = b
        .modern(ALICE, "tasks/get", json!({"taskId": records[0].id}))
        .await;
    assert_eq!(got["result"]["status"], "completed", "{got}");
    assert_eq!(got["result"]["result"], "done");

    let cancelled = b
        .modern(ALICE, "tasks/cancel", json!({"taskId": records[1].id}))
        .await;
    assert_eq!(cancelled["result"]["resultType"], "complete", "{cancelled}");
    assert_eq!(heard_cancel(&mut holder).await, records[1].id);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ended_on_one_node_is_soon_gone_on_the_node_that_held_it() {
    let nodes = TwoNodes::start().await;
    let (a, b, sid) = (&nodes.a, &nodes.b, &nodes.sid);
    // A task of node A's own in the session, which its fast path answers from memory.
    let local = a
        .ward
        .submit(
            TaskSpec::new("local").scope(nodes.scope()),
            |_: TaskContext| async { Ok(json!("x")) },
        )
        .await
        .unwrap();
    let get = request("tasks/get", json!({"taskId": local.id()}));
    let (status, _, _) = a.send("POST", ALICE, Some(sid), Some(&get)).await;
    assert_eq!(status, 200);
    let (status, _) = b.legacy(ALICE, sid, "ping", json!({})).await;
    assert_eq!(status, 200);
    let (status, _, _) = b.send("DELETE", ALICE, Some(sid), None).await;
    assert_eq!(status, 200);
    // Past the re-check interval (a tenth of the idle timeout), well within the idle timeout:
    // node A looks the session up again, finds it ended, and ends it too.
    tokio::time::sleep(IDLE / 10 + Duration::from_millis(100)).await;
    let (status, _, _) = a.send("POST", ALICE, Some(sid), Some(&get)).await;
    assert_eq!(
        status, 404,
        "node A's fast path stopped serving the ended session"
    );
    let (status, _) = a.legacy(ALICE, sid, "ping", json!({})).await;
    assert_eq!(status, 404, "and so did its general path");
    nodes.stop().await;
}
