//! MCP 2026-07-28 with the tasks extension (`io.modelcontextprotocol/tasks`, SEP-2663),
//! served per request beside 2025-11-25 sessions: negotiation, `server/discover`, the flat
//! `CreateTaskResult`, the `DetailedTask` of `tasks/get`, `tasks/update`, `tasks/cancel`,
//! `subscriptions/listen`, the error codes and their HTTP statuses; and the 2025-11-25 input
//! path, where `tasks/result` delivers a task's `elicitation/create` to the client.

mod mcp_support;

use std::sync::Arc;
use std::time::Duration;

use mcp_support::http_client::{self, PATIENCE};
use mcp_support::tools::question;
use serde_json::{Value, json};
use taskward_mcp::{Server, Session};
use tokio::sync::mpsc::UnboundedReceiver;

const V: &str = "2026-07-28";
const EXT: &str = "io.modelcontextprotocol/tasks";
const SUB: &str = "io.modelcontextprotocol/subscriptionId";
const RELATED: &str = "io.modelcontextprotocol/related-task";

/// The test server: `echo`, `sleep {ms}`, `fail` (isError), `crash` (panics), `plain_only`
/// (forbidden), `task_only` (required), `ask_name` (required; asks for a name).
async fn server() -> Server {
    use mcp_support::tools::{ask_name, crash, echo, fail, plain_only, sleep, task_only};
    Server::builder(mcp_support::ward().await)
        .poll_interval(Duration::from_millis(50))
        .tools([
            echo(),
            sleep(),
            fail(),
            crash(),
            plain_only(),
            task_only(),
            ask_name(),
        ])
        .build()
}

/// Request `_meta` of 2026-07-28, declaring the tasks extension or not.
fn meta(tasks: bool) -> Value {
    let extensions = if tasks { json!({ EXT: {} }) } else { json!({}) };
    json!({
        "io.modelcontextprotocol/protocolVersion": V,
        "io.modelcontextprotocol/clientInfo": {"name": "tests", "version": "0"},
        "io.modelcontextprotocol/clientCapabilities": {"extensions": extensions},
    })
}

fn with_meta(mut params: Value, tasks: bool) -> Value {
    params["_meta"] = meta(tasks);
    params
}

async fn modern(
    server: &Server,
    s: &Arc<Session>,
    method: &str,
    params: Value,
    tasks: bool,
) -> Value {
    mcp_support::call(server, s, method, with_meta(params, tasks)).await
}

async fn ok(server: &Server, s: &Arc<Session>, method: &str, params: Value) -> Value {
    let answer = modern(server, s, method, params, true).await;
    assert!(answer.get("error").is_none(), "{method}: {answer}");
    answer["result"].clone()
}

async fn err(server: &Server, s: &Arc<Session>, method: &str, params: Value, tasks: bool) -> Value {
    let answer = modern(server, s, method, params, tasks).await;
    assert!(answer.get("result").is_none(), "{method}: {answer}");
    answer["error"].clone()
}

/// A session that never sends `initialize`: stateless requests need none.
fn bare(server: &Server) -> (Arc<Session>, UnboundedReceiver<Value>) {
    server.open_session(None)
}

async fn start(server: &Server, s: &Arc<Session>, tool: &str, args: Value) -> String {
    let created = ok(
        server,
        s,
        "tools/call",
        json!({"name": tool, "arguments": args}),
    )
    .await;
    assert_eq!(created["resultType"], "task", "{created}");
    created["taskId"].as_str().expect("a task id").to_owned()
}

/// Polls `tasks/get` until the task is in `status`.
async fn until(server: &Server, s: &Arc<Session>, id: &str, status: &str) -> Value {
    tokio::time::timeout(PATIENCE, async {
        loop {
            let task = ok(server, s, "tasks/get", json!({"taskId": id})).await;
            if task["status"] == status {
                return task;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("task {id} never {status}"))
}

fn assert_task_fields(task: &Value) {
    for field in [
        "taskId",
        "status",
        "createdAt",
        "lastUpdatedAt",
        "pollIntervalMs",
    ] {
        assert!(task.get(field).is_some(), "{field} missing: {task}");
    }
    assert!(task.get("ttlMs").is_some(), "ttlMs is required: {task}");
    assert!(
        task.get("ttl").is_none() && task.get("pollInterval").is_none(),
        "{task}"
    );
    assert!(task.get("task").is_none(), "flat, nothing nested: {task}");
}

#[tokio::test]
async fn discover_needs_no_initialize() {
    let server = server().await;
    let (s, _rx) = bare(&server);
    let plain = mcp_support::call(&server, &s, "server/discover", json!({})).await;
    let with = modern(&server, &s, "server/discover", json!({}), false).await;
    for answer in [plain, with] {
        let r = &answer["result"];
        assert_eq!(r["resultType"], "complete", "{answer}");
        assert_eq!(r["supportedVersions"], json!([V]));
        assert_eq!(r["capabilities"]["tools"], json!({}));
        assert_eq!(r["capabilities"]["extensions"][EXT], json!({}));
        assert_eq!(r["serverInfo"]["name"], "taskward");
        assert_eq!(
            r["_meta"]["io.modelcontextprotocol/serverInfo"],
            r["serverInfo"]
        );
        assert_eq!(r["ttlMs"], 0);
        assert_eq!(r["cacheScope"], "private");
    }
}

#[tokio::test]
async fn generations_are_chosen_per_request() {
    let server = server().await;
    let (s, _rx) = bare(&server);
    // A modern request is served without initialize...
    let r = modern(
        &server,
        &s,
        "tools/call",
        json!({"name": "echo", "arguments": {"text": "hi"}}),
        false,
    )
    .await;
    assert_eq!(r["result"]["resultType"], "complete", "{r}");
    assert_eq!(r["result"]["content"][0]["text"], "hi");
    // ...a legacy one is not.
    let legacy = mcp_support::call(&server, &s, "tools/list", json!({})).await;
    assert_eq!(legacy["error"]["code"], -32600, "{legacy}");
    // initialize still selects a 2025-11-25 session, with nested CreateTaskResult.
    let (session, _n) = mcp_support::session(&server).await;
    let legacy = mcp_support::ok(
        &server,
        &session,
        "tools/call",
        json!({"name": "echo", "arguments": {}, "task": {}}),
    )
    .await;
    assert!(legacy["task"]["taskId"].is_string(), "{legacy}");
    // The modern tools/list has no 2025-11-25 execution.
    let tools = ok(&server, &session, "tools/list", json!({})).await;
    assert_eq!(tools["resultType"], "complete");
    assert!(tools["tools"][0].get("execution").is_none(), "{tools}");
    // 2026-07-28 list results say how long they may be cached, and by whom.
    assert_eq!(tools["ttlMs"], 0, "{tools}");
    assert_eq!(tools["cacheScope"], "private", "{tools}");
}

#[tokio::test]
async fn an_unsupported_version_is_32022() {
    let server = server().await;
    let (s, _rx) = bare(&server);
    let mut params = with_meta(json!({"name": "echo"}), true);
    params["_meta"]["io.modelcontextprotocol/protocolVersion"] = json!("2099-01-01");
    let e = mcp_support::call(&server, &s, "tools/call", params).await["error"].clone();
    assert_eq!(e["code"], -32022, "{e}");
    assert_eq!(e["data"]["supported"], json!([V]));
    assert_eq!(e["data"]["requested"], "2099-01-01");
}

#[tokio::test]
async fn tools_call_answers_a_flat_task_only_with_the_capability() {
    let server = server().await;
    let (s, _rx) = bare(&server);
    let created = ok(
        &server,
        &s,
        "tools/call",
        json!({"name": "sleep", "arguments": {"ms": 5000}}),
    )
    .await;
    assert_eq!(created["resultType"], "task");
    assert_eq!(created["status"], "working");
    assert_task_fields(&created);
    assert!(created["ttlMs"].is_u64(), "{created}");
    assert_eq!(created["pollIntervalMs"], 50);
    // Recorded before the answer: tasks/get resolves at once.
    let id = created["taskId"].as_str().unwrap();
    let got = ok(&server, &s, "tasks/get", json!({"taskId": id})).await;
    assert_eq!(got["resultType"], "complete");
    assert_eq!(got["status"], "working");
    assert_task_fields(&got);
    assert!(got.get("result").is_none() && got.get("error").is_none());

    // Without the capability on this request: synchronous, even for a task-capable tool,
    // and the legacy `task` param is ignored.
    let sync = modern(
        &server,
        &s,
        "tools/call",
        json!({"name": "sleep", "arguments": {"ms": 1}, "task": {"ttl": 1000}}),
        false,
    )
    .await;
    assert_eq!(sync["result"]["resultType"], "complete", "{sync}");
    assert_eq!(sync["result"]["content"][0]["text"], "slept 1");
    // A forbidden tool is synchronous even with the capability.
    let plain = ok(&server, &s, "tools/call", json!({"name": "plain_only"})).await;
    assert_eq!(plain["resultType"], "complete");
    assert_eq!(plain["content"][0]["text"], "plain");
    // A required tool without it is -32021.
    let e = err(
        &server,
        &s,
        "tools/call",
        json!({"name": "task_only"}),
        false,
    )
    .await;
    assert_eq!(e["code"], -32021, "{e}");
    assert_eq!(
        e["data"]["requiredCapabilities"]["extensions"][EXT],
        json!({})
    );
    let _ = ok(&server, &s, "tasks/cancel", json!({"taskId": id})).await;
}

#[tokio::test]
async fn tasks_methods_need_the_capability_on_each_request() {
    let server = server().await;
    let (s, _rx) = bare(&server);
    let id = start(&server, &s, "sleep", json!({"ms": 5000})).await;
    for (method, params) in [
        ("tasks/get", json!({"taskId": id})),
        ("tasks/update", json!({"taskId": id, "inputResponses": {}})),
        ("tasks/cancel", json!({"taskId": id})),
        (
            "subscriptions/listen",
            json!({"notifications": {"taskIds": [id]}}),
        ),
    ] {
        let e = err(&server, &s, method, params, false).await;
        assert_eq!(e["code"], -32021, "{method}: {e}");
        assert_eq!(
            e["data"],
            json!({"requiredCapabilities": {"extensions": {EXT: {}}}}),
            "{method}"
        );
    }
    let _ = ok(&server, &s, "tasks/cancel", json!({"taskId": id})).await;
}

#[tokio::test]
async fn tasks_result_and_list_are_method_not_found() {
    let server = server().await;
    let (s, _rx) = bare(&server);
    let id = start(&server, &s, "echo", json!({})).await;
    for (method, params) in [
        ("tasks/result", json!({"taskId": id})),
        ("tasks/list", json!({})),
    ] {
        let e = err(&server, &s, method, params, true).await;
        assert_eq!(e["code"], -32601, "{method}: {e}");
    }
}

#[tokio::test]
async fn tasks_get_details_each_status() {
    let server = server().await;
    let (s, _rx) = bare(&server);
    // completed: the CallToolResult.
    let id = start(&server, &s, "echo", json!({"text": "done"})).await;
    let t = until(&server, &s, &id, "completed").await;
    assert_eq!(t["result"]["content"][0]["text"], "done", "{t}");
    assert!(t.get("error").is_none());
    // isError completes the task, with the whole result.
    let id = start(&server, &s, "fail", json!({})).await;
    let t = until(&server, &s, &id, "completed").await;
    assert_eq!(t["result"]["isError"], true, "{t}");
    assert_eq!(t["result"]["content"][0]["text"], "it broke");
    // failed: a JSON-RPC error object.
    let id = start(&server, &s, "crash", json!({})).await;
    let t = until(&server, &s, &id, "failed").await;
    assert_eq!(t["error"]["code"], -32603, "{t}");
    assert!(t["error"]["message"].is_string());
    assert!(t.get("result").is_none());
    // cancelled: nothing more; cancelling again (terminal) is still acknowledged.
    let id = start(&server, &s, "sleep", json!({"ms": 10_000})).await;
    let ack = ok(&server, &s, "tasks/cancel", json!({"taskId": id})).await;
    assert_eq!(ack, json!({"resultType": "complete"}));
    let t = until(&server, &s, &id, "cancelled").await;
    assert!(t.get("result").is_none() && t.get("error").is_none(), "{t}");
    assert_task_fields(&t);
    let ack = ok(&server, &s, "tasks/cancel", json!({"taskId": id})).await;
    assert_eq!(ack, json!({"resultType": "complete"}));
    // Unknown ids are -32602.
    let unknown = "00000000-0000-4000-8000-000000000000";
    for method in ["tasks/get", "tasks/cancel", "tasks/update"] {
        let e = err(&server, &s, method, json!({"taskId": unknown}), true).await;
        assert_eq!(e["code"], -32602, "{method}: {e}");
    }
}

#[tokio::test]
async fn ask_name_through_tasks_update() {
    let server = server().await;
    let (s, _rx) = bare(&server);
    let id = start(&server, &s, "ask_name", json!({})).await;
    let t = until(&server, &s, &id, "input_required").await;
    assert_eq!(t["inputRequests"]["name"], question(), "{t}");
    let ack = ok(
        &server,
        &s,
        "tasks/update",
        json!({"taskId": id, "inputResponses": {
            "name": {"action": "accept", "content": {"name": "Luca"}},
            "unknown": {"action": "accept"}
        }}),
    )
    .await;
    assert_eq!(ack, json!({"resultType": "complete"}));
    let t = until(&server, &s, &id, "completed").await;
    assert_eq!(t["result"]["content"][0]["text"], "Hello, Luca!", "{t}");
}

/// The next message the session pushed, within the test's patience.
async fn next(rx: &mut UnboundedReceiver<Value>) -> Value {
    tokio::time::timeout(PATIENCE, rx.recv())
        .await
        .expect("a message in time")
        .expect("the session is open")
}

#[tokio::test]
async fn subscriptions_listen_sends_notifications_tasks() {
    let server = server().await;
    let (s, mut rx) = bare(&server);
    let id = start(&server, &s, "ask_name", json!({})).await;
    let listen = mcp_support::request(
        "subscriptions/listen",
        with_meta(json!({"notifications": {"taskIds": [id]}}), true),
    );
    let listen_id = listen["id"].clone();
    let listener = {
        let (server, s) = (server.clone(), s.clone());
        tokio::spawn(async move { mcp_support::send(&server, &s, &listen).await })
    };
    let ack = next(&mut rx).await;
    assert_eq!(
        ack["method"], "notifications/subscriptions/acknowledged",
        "{ack}"
    );
    assert_eq!(ack["params"]["_meta"][SUB], listen_id);
    assert_eq!(ack["params"]["notifications"]["taskIds"], json!([id]));

    // The state as of the subscription, then each change.
    let mut n = next(&mut rx).await;
    assert_eq!(n["method"], "notifications/tasks", "{n}");
    if n["params"]["status"] == "working" {
        n = next(&mut rx).await;
    }
    assert_eq!(n["params"]["status"], "input_required", "{n}");
    assert_eq!(n["params"]["_meta"][SUB], listen_id);
    assert_eq!(n["params"]["inputRequests"]["name"], question());
    assert!(n["params"].get("resultType").is_none());

    ok(&server, &s, "tasks/update", json!({"taskId": id, "inputResponses": {"name": {"action": "accept", "content": {"name": "Ada"}}}})).await;
    let mut last = next(&mut rx).await;
    if last["params"]["status"] == "working" {
        last = next(&mut rx).await;
    }
    assert_eq!(last["params"]["status"], "completed", "{last}");
    assert_eq!(
        last["params"]["result"]["content"][0]["text"],
        "Hello, Ada!"
    );
    // Every listed task ended: the subscription closes gracefully.
    let answer = tokio::time::timeout(PATIENCE, listener)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(answer["result"]["resultType"], "complete", "{answer}");
    assert_eq!(answer["result"]["_meta"][SUB], listen_id);
}

#[tokio::test]
async fn legacy_tasks_result_delivers_the_elicitation() {
    let server = server().await;
    let (s, mut rx) = mcp_support::session(&server).await;
    let id = mcp_support::start_task(&server, &s, "ask_name", json!({})).await;
    let result = mcp_support::request("tasks/result", json!({"taskId": id}));
    let waiter = {
        let (server, s) = (server.clone(), s.clone());
        tokio::spawn(async move { mcp_support::send(&server, &s, &result).await })
    };
    // The queued request comes as a server → client request, tied to the task.
    let request = loop {
        let m = next(&mut rx).await;
        if m["method"] == "elicitation/create" {
            break m;
        }
    };
    assert!(request["id"].is_string(), "{request}");
    assert_eq!(request["params"]["mode"], "form");
    assert_eq!(
        request["params"]["requestedSchema"],
        question()["params"]["requestedSchema"]
    );
    assert_eq!(request["params"]["_meta"][RELATED]["taskId"], id);
    let got = mcp_support::ok(&server, &s, "tasks/get", json!({"taskId": id})).await;
    assert_eq!(got["status"], "input_required");
    // The client answers with a JSON-RPC response.
    let response = json!({"jsonrpc": "2.0", "id": request["id"], "result": {"action": "accept", "content": {"name": "Ada"}}});
    assert!(mcp_support::send(&server, &s, &response).await.is_none());
    let answer = tokio::time::timeout(PATIENCE, waiter)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        answer["result"]["content"][0]["text"], "Hello, Ada!",
        "{answer}"
    );
    assert_eq!(answer["result"]["_meta"][RELATED]["taskId"], id);
}

// ---- over HTTP, where headers and statuses matter ----

async fn http_server() -> std::net::SocketAddr {
    mcp_support::serve_http(server().await, Default::default()).await
}

async fn post(
    addr: std::net::SocketAddr,
    extra: &[(&str, &str)],
    message: &Value,
) -> http_client::Response {
    let body = serde_json::to_vec(message).unwrap();
    let mut headers = vec![
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
    ];
    headers.extend_from_slice(extra);
    http_client::send(addr, "POST", "/mcp", &headers, &body).await
}

fn modern_request(method: &str, params: Value, tasks: bool) -> Value {
    mcp_support::request(method, with_meta(params, tasks))
}

#[tokio::test]
async fn http_modern_requests_need_no_session_and_check_headers() {
    let addr = http_server().await;
    let version = [("MCP-Protocol-Version", V)];
    // No Mcp-Session-Id, no initialize.
    let r = post(
        addr,
        &version,
        &modern_request(
            "tools/call",
            json!({"name": "sleep", "arguments": {"ms": 5000}}),
            true,
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    let id = r.json()["result"]["taskId"].as_str().unwrap().to_owned();
    // A second connection of the same (anonymous) principal sees the task.
    let get = modern_request("tasks/get", json!({"taskId": id}), true);
    let r = post(
        addr,
        &[
            ("MCP-Protocol-Version", V),
            ("Mcp-Method", "tasks/get"),
            ("Mcp-Name", &id),
        ],
        &get,
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["result"]["status"], "working");
    // An Mcp-Name that is not the taskId: -32020, 400 (a missing one is accepted: see
    // `http_routing_headers_are_checked_only_when_present`).
    let r = post(
        addr,
        &[("MCP-Protocol-Version", V), ("Mcp-Name", "other")],
        &get,
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], -32020);
    // MCP-Protocol-Version must equal the _meta version.
    let r = post(
        addr,
        &[("MCP-Protocol-Version", "2025-11-25"), ("Mcp-Name", &id)],
        &get,
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], -32020);
    // -32021 is 400.
    let r = post(
        addr,
        &[("Mcp-Name", &id)],
        &modern_request("tasks/get", json!({"taskId": id}), false),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], -32021);
    // -32601 on tasks/result and tasks/list is 404.
    let r = post(
        addr,
        &[("Mcp-Name", &id)],
        &modern_request("tasks/result", json!({"taskId": id}), true),
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["code"], -32601);
    let r = post(addr, &[], &modern_request("tasks/list", json!({}), true)).await;
    assert_eq!(r.status, 404);
    // -32022 is 400.
    let mut bad = modern_request("server/discover", json!({}), true);
    bad["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] = json!("2099-01-01");
    let r = post(addr, &[], &bad).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], -32022);
    // Cancel is acknowledged.
    let r = post(
        addr,
        &[("Mcp-Name", &id)],
        &modern_request("tasks/cancel", json!({"taskId": id}), true),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["result"], json!({"resultType": "complete"}));
}

#[tokio::test]
async fn http_listen_is_an_sse_answer() {
    let addr = http_server().await;
    let r = post(
        addr,
        &[],
        &modern_request(
            "tools/call",
            json!({"name": "sleep", "arguments": {"ms": 200}}),
            true,
        ),
    )
    .await;
    let id = r.json()["result"]["taskId"].as_str().unwrap().to_owned();
    let listen = modern_request(
        "subscriptions/listen",
        json!({"notifications": {"taskIds": [id]}}),
        true,
    );
    let body = serde_json::to_vec(&listen).unwrap();
    let mut stream = http_client::post_stream(
        addr,
        &[
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
        ],
        &body,
    )
    .await;
    assert_eq!(stream.status, 200);
    let ack = stream.next_json().await;
    assert_eq!(
        ack["method"], "notifications/subscriptions/acknowledged",
        "{ack}"
    );
    let mut n = stream.next_json().await;
    assert_eq!(n["method"], "notifications/tasks", "{n}");
    if n["params"]["status"] == "working" {
        n = stream.next_json().await;
    }
    assert_eq!(n["params"]["status"], "completed", "{n}");
    assert_eq!(n["params"]["_meta"][SUB], listen["id"]);
    let end = stream.next_json().await;
    assert_eq!(end["id"], listen["id"]);
    assert_eq!(end["result"]["resultType"], "complete", "{end}");
}

#[tokio::test]
async fn http_legacy_tasks_result_streams_the_elicitation() {
    let addr = http_server().await;
    let sid = mcp_support::http_session(addr).await;
    let call = mcp_support::request(
        "tools/call",
        json!({"name": "ask_name", "arguments": {}, "task": {}}),
    );
    let r = http_client::post(addr, Some(&sid), &call).await;
    let id = r.json()["result"]["task"]["taskId"]
        .as_str()
        .unwrap()
        .to_owned();
    let result = mcp_support::request("tasks/result", json!({"taskId": id}));
    let body = serde_json::to_vec(&result).unwrap();
    let mut stream = http_client::post_stream(
        addr,
        &[
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
            ("Mcp-Session-Id", &sid),
        ],
        &body,
    )
    .await;
    assert_eq!(stream.status, 200);
    let request = stream.next_json().await;
    assert_eq!(request["method"], "elicitation/create", "{request}");
    assert_eq!(request["params"]["_meta"][RELATED]["taskId"], id);
    let response = json!({"jsonrpc": "2.0", "id": request["id"], "result": {"action": "accept", "content": {"name": "Grace"}}});
    let r = http_client::post(addr, Some(&sid), &response).await;
    assert_eq!(r.status, 202);
    let answer = stream.next_json().await;
    assert_eq!(answer["id"], result["id"]);
    assert_eq!(
        answer["result"]["content"][0]["text"], "Hello, Grace!",
        "{answer}"
    );
}

// ---- routing headers: checked only when present (case 11) ----

/// Creates a task over HTTP without any routing header and returns its id.
async fn http_start(addr: std::net::SocketAddr, tool: &str, args: Value) -> String {
    let call = modern_request("tools/call", json!({"name": tool, "arguments": args}), true);
    let r = post(addr, &[], &call).await;
    assert_eq!(r.status, 200, "{r:?}");
    let created = r.json()["result"].clone();
    assert_eq!(created["resultType"], "task", "{created}");
    created["taskId"].as_str().expect("a task id").to_owned()
}

/// `Mcp-Name`, `Mcp-Method` and `MCP-Protocol-Version` of tasks/get, tasks/update and
/// tasks/cancel: each one missing is accepted (the body says it all); each one present and
/// disagreeing with the body is -32020 with HTTP 400.
#[tokio::test]
async fn http_routing_headers_are_checked_only_when_present() {
    let addr = http_server().await;
    let id = http_start(addr, "sleep", json!({"ms": 60_000})).await;
    // tasks/cancel last: the task is cancelled by the first one, and acknowledged after.
    for (method, params) in [
        ("tasks/get", json!({"taskId": id})),
        ("tasks/update", json!({"taskId": id, "inputResponses": {}})),
        ("tasks/cancel", json!({"taskId": id})),
    ] {
        let message = modern_request(method, params, true);
        let all = [
            ("MCP-Protocol-Version", V),
            ("Mcp-Method", method),
            ("Mcp-Name", id.as_str()),
        ];
        // Every header, none, and each one left out: accepted.
        let mut sets: Vec<Vec<(&str, &str)>> = vec![all.to_vec(), Vec::new()];
        for left_out in 0..all.len() {
            let mut set = all.to_vec();
            set.remove(left_out);
            sets.push(set);
        }
        for headers in &sets {
            let r = post(addr, headers, &message).await;
            assert_eq!(r.status, 200, "{method} with {headers:?}: {r:?}");
            assert!(r.json().get("error").is_none(), "{method}: {:?}", r.json());
        }
        // Each one present and disagreeing: -32020, 400, whatever the others.
        for (name, wrong) in [
            ("Mcp-Name", "00000000-0000-4000-8000-000000000000"),
            ("Mcp-Method", "tools/call"),
            ("MCP-Protocol-Version", "2025-11-25"),
            ("MCP-Protocol-Version", "2099-01-01"),
        ] {
            for others in [all.to_vec(), Vec::new()] {
                let mut headers: Vec<(&str, &str)> =
                    others.into_iter().filter(|(n, _)| *n != name).collect();
                headers.push((name, wrong));
                let r = post(addr, &headers, &message).await;
                assert_eq!(r.status, 400, "{method} with {headers:?}: {r:?}");
                let answer = r.json();
                assert_eq!(answer["error"]["code"], -32020, "{method}: {answer}");
                assert_eq!(answer["id"], message["id"]);
            }
        }
    }
}

/// An `Mcp-Name` in the `=?base64?…?=` sentinel is compared decoded.
#[tokio::test]
async fn http_mcp_name_in_the_base64_sentinel_is_decoded() {
    let addr = http_server().await;
    let unknown = "00000000-0000-4000-8000-000000000000";
    let get = modern_request("tasks/get", json!({"taskId": unknown}), true);
    // The id, encoded: the header agrees, the task is unknown (-32602, 200).
    let r = post(
        addr,
        &[(
            "Mcp-Name",
            "=?base64?MDAwMDAwMDAtMDAwMC00MDAwLTgwMDAtMDAwMDAwMDAwMDAw?=",
        )],
        &get,
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["error"]["code"], -32602);
    // Another text encoded, or a sentinel that is not Base64: -32020.
    for wrong in ["=?base64?bm90IGl0?=", "=?base64?***?="] {
        let r = post(addr, &[("Mcp-Name", wrong)], &get).await;
        assert_eq!(r.status, 400, "{wrong}: {r:?}");
        assert_eq!(r.json()["error"]["code"], -32020);
    }
}

/// POSTs a message with the headers fastmcp-tasks 4.1 (on the mcp 2.3 Python SDK) sends:
/// `MCP-Protocol-Version` and `Mcp-Method` on every request, `Mcp-Name` only where the core
/// protocol names one (`tools/call`: the tool), so never on `tasks/*`; no session. The
/// protocol version, client info and capabilities travel in each `_meta`.
async fn headerless(addr: std::net::SocketAddr, method: &str, params: Value) -> Value {
    let tool = params["name"].as_str().map(str::to_owned);
    let message = modern_request(method, params, true);
    let mut headers = vec![("MCP-Protocol-Version", V), ("Mcp-Method", method)];
    if let (Some(tool), "tools/call") = (tool.as_deref(), method) {
        headers.push(("Mcp-Name", tool));
    }
    let r = post(addr, &headers, &message).await;
    assert_eq!(r.status, 200, "{method}: {r:?}");
    let answer = r.json();
    assert_eq!(answer["id"], message["id"]);
    assert!(answer.get("error").is_none(), "{method}: {answer}");
    answer["result"].clone()
}

/// Polls `tasks/get` (backing off from 20 ms, as fastmcp-tasks does) until `status`.
async fn headerless_until(addr: std::net::SocketAddr, id: &str, status: &str) -> Value {
    tokio::time::timeout(PATIENCE, async {
        let mut pause = Duration::from_millis(20);
        loop {
            let task = headerless(addr, "tasks/get", json!({"taskId": id})).await;
            assert_eq!(task["resultType"], "complete", "{task}");
            assert_eq!(task["taskId"], id);
            if task["status"] == status {
                return task;
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    })
    .await
    .unwrap_or_else(|_| panic!("task {id} never {status}"))
}

/// The interop case of a 2026-07-28 client that sends no `Mcp-Name` on task methods, as
/// fastmcp-tasks 4.x drives a server: discover, `tools/call` with the tasks extension, `tasks/get` polled to
/// completion, `tasks/update` answering an input request, `tasks/cancel`.
#[tokio::test]
async fn a_client_without_routing_headers_runs_tasks_end_to_end() {
    let addr = http_server().await;
    let discovered = headerless(addr, "server/discover", json!({})).await;
    assert_eq!(discovered["supportedVersions"], json!([V]), "{discovered}");
    assert_eq!(discovered["capabilities"]["extensions"][EXT], json!({}));

    // tools/call answered with a task, polled to completion.
    let created = headerless(
        addr,
        "tools/call",
        json!({"name": "sleep", "arguments": {"ms": 30}}),
    )
    .await;
    assert_eq!(created["resultType"], "task", "{created}");
    assert_eq!(created["status"], "working");
    let id = created["taskId"].as_str().expect("a task id");
    let done = headerless_until(addr, id, "completed").await;
    assert_eq!(done["result"]["content"][0]["text"], "slept 30", "{done}");

    // An input request, answered with tasks/update.
    let created = headerless(
        addr,
        "tools/call",
        json!({"name": "ask_name", "arguments": {}}),
    )
    .await;
    let id = created["taskId"].as_str().expect("a task id");
    let asking = headerless_until(addr, id, "input_required").await;
    assert_eq!(asking["inputRequests"]["name"], question(), "{asking}");
    let ack = headerless(
        addr,
        "tasks/update",
        json!({"taskId": id, "inputResponses": {"name": {"action": "accept", "content": {"name": "Luca"}}}}),
    )
    .await;
    assert_eq!(ack, json!({"resultType": "complete"}));
    let done = headerless_until(addr, id, "completed").await;
    assert_eq!(
        done["result"]["content"][0]["text"], "Hello, Luca!",
        "{done}"
    );

    // tasks/cancel, acknowledged; the task ends cancelled.
    let created = headerless(
        addr,
        "tools/call",
        json!({"name": "sleep", "arguments": {"ms": 60_000}}),
    )
    .await;
    let id = created["taskId"].as_str().expect("a task id");
    let ack = headerless(addr, "tasks/cancel", json!({"taskId": id})).await;
    assert_eq!(ack, json!({"resultType": "complete"}));
    let cancelled = headerless_until(addr, id, "cancelled").await;
    assert!(cancelled.get("result").is_none(), "{cancelled}");
}
