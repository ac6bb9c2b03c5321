//! A whole MCP session over Streamable HTTP on a real socket: initialize, the session id,
//! calls, the GET stream of notifications, `/status`, and DELETE.

mod mcp_support;

use std::time::Duration;

use mcp_support::http_client::{self, PATIENCE, post, send as http};
use serde_json::{Value, json};
use taskward_mcp::transport::http::HttpOptions;

/// Reads the stream until a `notifications/tasks/status` for `task` in `status`.
async fn await_status(stream: &mut http_client::EventStream, task: &str, status: &str) -> Value {
    loop {
        let message = stream.next_json().await;
        if message["method"] == "notifications/tasks/status"
            && message["params"]["taskId"] == task
            && message["params"]["status"] == status
        {
            return message;
        }
    }
}

#[tokio::test]
async fn a_session_over_http_from_initialize_to_delete() {
    let (addr, server) = mcp_support::http_server(HttpOptions::default()).await;

    // initialize opens a session and names it.
    let init = mcp_support::initialize_request();
    let response = post(addr, None, &init).await;
    assert_eq!(response.status, 200);
    assert!(
        response
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/json"))
    );
    let sid = response
        .header("mcp-session-id")
        .expect("Mcp-Session-Id")
        .to_owned();
    assert!(sid.bytes().all(|b| (0x21..=0x7e).contains(&b)) && sid.len() >= 32);
    let body = response.json();
    assert_eq!(body["id"], init["id"]);
    assert_eq!(
        body["result"]["capabilities"]["tasks"]["requests"],
        json!({"tools": {"call": {}}})
    );
    assert_eq!(server.session_count(), 1);

    // A notification is accepted with no body.
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let response = post(addr, Some(&sid), &initialized).await;
    assert_eq!(response.status, 202);
    assert!(response.body.is_empty());

    let response = post(
        addr,
        Some(&sid),
        &mcp_support::request("tools/list", json!({})),
    )
    .await;
    assert_eq!(response.status, 200);
    assert!(
        response.json()["result"]["tools"]
            .as_array()
            .is_some_and(|t| t.len() == 6)
    );

    // The GET stream carries the session's notifications.
    let mut stream = http_client::open_stream(addr, &sid).await;
    assert_eq!(stream.status, 200);
    assert!(
        stream
            .headers
            .iter()
            .any(|(n, v)| n == "content-type" && v.starts_with("text/event-stream"))
    );
    // One stream at a time.
    let second = http_client::open_stream(addr, &sid).await;
    assert_eq!(second.status, 409);

    let call = mcp_support::request(
        "tools/call",
        json!({"name": "steps", "arguments": {"n": 3, "ms": 80}, "task": {"ttl": 60_000},
               "_meta": {"progressToken": "p-http"}}),
    );
    let response = post(addr, Some(&sid), &call).await;
    assert_eq!(response.status, 200);
    let task = response.json()["result"]["task"].clone();
    assert_eq!(task["status"], "working");
    let id = task["taskId"].as_str().expect("task id").to_owned();

    let mut saw_progress = false;
    loop {
        let message = stream.next_json().await;
        if message["method"] == "notifications/progress" {
            assert_eq!(message["params"]["progressToken"], "p-http");
            saw_progress = true;
        }
        if message["method"] == "notifications/tasks/status" {
            assert_eq!(message["params"]["taskId"], id.as_str());
            assert_eq!(message["params"]["status"], "completed");
            break;
        }
    }
    assert!(saw_progress, "progress reached the stream");

    // tasks/result, answered as an SSE stream of one event when only SSE is accepted.
    let result = mcp_support::request("tasks/result", json!({"taskId": id}));
    let headers = [
        ("Content-Type", "application/json"),
        ("Accept", "text/event-stream"),
        ("Mcp-Session-Id", sid.as_str()),
    ];
    let response = http(
        addr,
        "POST",
        "/mcp",
        &headers,
        &serde_json::to_vec(&result).unwrap(),
    )
    .await;
    assert_eq!(response.status, 200);
    let messages = http_client::sse_messages(&response.body);
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["id"], result["id"]);
    assert_eq!(messages[0]["result"]["content"][0]["text"], "done");
    assert_eq!(
        messages[0]["result"]["_meta"]["io.modelcontextprotocol/related-task"]["taskId"],
        id.as_str()
    );

    // A cancel shows on the stream too.
    let call = mcp_support::request(
        "tools/call",
        json!({"name": "sleep", "arguments": {"ms": 60_000}, "task": {}}),
    );
    let slow = post(addr, Some(&sid), &call).await.json()["result"]["task"]["taskId"]
        .as_str()
        .expect("id")
        .to_owned();
    let cancel = mcp_support::request("tasks/cancel", json!({"taskId": slow}));
    let response = post(addr, Some(&sid), &cancel).await;
    assert_eq!(response.json()["result"]["status"], "cancelled");
    await_status(&mut stream, &slow, "cancelled").await;

    // DELETE ends the session and its stream.
    let delete = [("Mcp-Session-Id", sid.as_str())];
    assert_eq!(http(addr, "DELETE", "/mcp", &delete, b"").await.status, 200);
    let end = tokio::time::timeout(PATIENCE, stream.next()).await;
    assert_eq!(end.expect("the stream ends in time"), None);
    assert_eq!(server.session_count(), 0);
    let ping = mcp_support::request("ping", json!({}));
    assert_eq!(post(addr, Some(&sid), &ping).await.status, 404);
    assert_eq!(http(addr, "DELETE", "/mcp", &delete, b"").await.status, 404);
}

#[tokio::test]
async fn a_new_stream_may_open_after_the_first_one_closed() {
    let (addr, _server) = mcp_support::http_server(HttpOptions::default()).await;
    let sid = mcp_support::http_session(addr).await;
    let first = http_client::open_stream(addr, &sid).await;
    assert_eq!(first.status, 200);
    drop(first);
    // The server notices the closed stream when it next writes to it (a notification or a
    // keep-alive); until then a new GET may be refused.
    let call = mcp_support::request("tools/call", json!({"name": "echo", "task": {}}));
    let mut second = None;
    for _ in 0..50 {
        post(addr, Some(&sid), &call).await;
        let stream = http_client::open_stream(addr, &sid).await;
        if stream.status == 200 {
            second = Some(stream);
            break;
        }
        assert_eq!(stream.status, 409);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut second = second.expect("a second stream opens");
    let response = post(addr, Some(&sid), &call).await;
    let id = response.json()["result"]["task"]["taskId"]
        .as_str()
        .expect("id")
        .to_owned();
    await_status(&mut second, &id, "completed").await;
}

#[tokio::test]
async fn status_reports_the_registry_and_live_tasks() {
    let (addr, _server) = mcp_support::http_server(HttpOptions::default()).await;
    let sid = mcp_support::http_session(addr).await;
    let call = mcp_support::request(
        "tools/call",
        json!({"name": "steps", "arguments": {"n": 100, "ms": 1000}, "task": {}}),
    );
    let id = post(addr, Some(&sid), &call).await.json()["result"]["task"]["taskId"]
        .as_str()
        .expect("id")
        .to_owned();
    tokio::time::sleep(Duration::from_millis(50)).await;

    let response = http(
        addr,
        "GET",
        "/status",
        &[("Origin", "http://localhost:3000")],
        b"",
    )
    .await;
    assert_eq!(response.status, 200);
    let status = response.json();
    let registry = &status["registry"];
    for field in [
        "tasks",
        "live",
        "by_status",
        "by_phase",
        "live_runners",
        "uptime_ms",
        "accepting",
        "limits",
        "late_results",
        "duplicate_terminals",
        "retries",
        "registry_restarts",
        "runner_supervisor_restarts",
        "runner_failures",
        "subscribers",
    ] {
        assert!(registry.get(field).is_some(), "{field} missing: {registry}");
    }
    assert_eq!(registry["live"], 1);
    assert_eq!(registry["by_status"]["working"], 1);
    assert_eq!(registry["accepting"], true);
    let tasks = status["tasks"].as_array().expect("tasks");
    assert_eq!(tasks.len(), 1);
    let task = &tasks[0];
    assert_eq!(task["taskId"], id.as_str());
    assert_eq!(task["name"], "steps");
    // The session shows as a hash, never as its id (tests/mcp_http_bounds.rs).
    let scope = task["scope"].as_str().expect("a scope");
    assert!(
        scope.starts_with("session:") && !scope.contains(sid.as_str()),
        "{scope}"
    );
    assert_eq!(task["status"], "working");
    assert_eq!(task["phase"], "running");
    assert_eq!(task["attempt"], 1);
    assert_eq!(task["progress"]["done"], 1);
    assert_eq!(task["progress"]["total"], 100);
    assert!(task["createdAt"].as_str().is_some_and(|s| s.contains('T')));
}

/// Answers `message` twice: as plain JSON (the transport's hot path for `tasks/get`) and to
/// a client that accepts only SSE (the general dispatch); returns both bodies' JSON text.
async fn both_ways(
    addr: std::net::SocketAddr,
    session: Option<&str>,
    message: &Value,
) -> (String, String) {
    let body = serde_json::to_vec(message).unwrap();
    let mut plain = vec![
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
    ];
    let mut sse = vec![
        ("Content-Type", "application/json"),
        ("Accept", "text/event-stream"),
    ];
    if let Some(sid) = session {
        plain.push(("Mcp-Session-Id", sid));
        sse.push(("Mcp-Session-Id", sid));
    }
    let fast = http(addr, "POST", "/mcp", &plain, &body).await;
    let general = http(addr, "POST", "/mcp", &sse, &body).await;
    assert_eq!((fast.status, general.status), (200, 200));
    let general = String::from_utf8(general.body).unwrap();
    let data = general
        .lines()
        .find_map(|l| l.strip_prefix("data:"))
        .expect("one message event")
        .trim()
        .to_owned();
    (String::from_utf8(fast.body).unwrap(), data)
}

/// Polls `tasks/get` until the task is completed.
async fn await_completed(addr: std::net::SocketAddr, session: Option<&str>, get: &Value) {
    let done = async {
        while post(addr, session, get).await.json()["result"]["status"] != "completed" {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(PATIENCE, done)
        .await
        .expect("completed in time");
}

/// `_meta` of a task served from a kind's result cache: the task whose result it carries.
const CACHED: &str = "io.taskward/cached";

#[tokio::test]
async fn a_cached_task_shows_its_source_in_meta_on_every_path() {
    let kind = taskward::Kind::new("lookup", |_ctx, input: Value| async move {
        Ok(json!({"content": [{"type": "text", "text": input["q"]}]}))
    })
    .cache_results(Duration::from_secs(3600));
    let ward = taskward::Taskward::builder()
        .register_kind(kind)
        .spawn()
        .await
        .unwrap();
    let server = mcp_support::server_on(ward);
    let addr = mcp_support::serve_http(server.clone(), HttpOptions::default()).await;
    // The host submits twice in the client's scope; the second is served from the first.
    let served = async |scope: taskward::Scope| {
        let submit = || {
            server.ward().submit_kind(
                taskward::TaskSpec::new("lookup").scope(scope.clone()),
                json!({"q": "x"}),
            )
        };
        let first = submit().await.unwrap();
        first.wait().await.unwrap();
        let cached = submit().await.unwrap();
        assert_eq!(cached.record().cached_from, Some(first.id()));
        (first.id().to_string(), cached.id().to_string())
    };

    // 2025-11-25, in a session: tasks/get on both paths, and tasks/result.
    let sid = mcp_support::http_session(addr).await;
    let scope = server.session(&sid).expect("the session").scope().clone();
    let (first, cached) = served(scope).await;
    let get = mcp_support::request("tasks/get", json!({"taskId": cached}));
    let (fast, general) = both_ways(addr, Some(&sid), &get).await;
    assert_eq!(fast, general);
    let task: Value = serde_json::from_str(&fast).unwrap();
    assert_eq!(task["result"]["_meta"][CACHED]["from"], first, "{task}");
    let result = mcp_support::request("tasks/result", json!({"taskId": cached}));
    let result = post(addr, Some(&sid), &result).await.json();
    let meta = &result["result"]["_meta"];
    assert_eq!(meta[CACHED]["from"], first, "{result}");
    assert_eq!(
        meta["io.modelcontextprotocol/related-task"]["taskId"],
        cached
    );
    // The source is not marked.
    let source = mcp_support::request("tasks/get", json!({"taskId": first}));
    let source = post(addr, Some(&sid), &source).await.json();
    assert!(source["result"].get("_meta").is_none(), "{source}");

    // 2026-07-28, stateless: the DetailedTask on both paths.
    let (first, cached) = served(server.modern_scope(None)).await;
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {"extensions": {"io.modelcontextprotocol/tasks": {}}},
    });
    let get = mcp_support::request("tasks/get", json!({"taskId": cached, "_meta": meta}));
    let (fast, general) = both_ways(addr, None, &get).await;
    assert_eq!(fast, general);
    let task: Value = serde_json::from_str(&fast).unwrap();
    assert_eq!(task["result"]["_meta"][CACHED]["from"], first, "{task}");
    assert_eq!(
        task["result"]["result"]["content"][0]["text"], "x",
        "{task}"
    );
}

#[tokio::test]
async fn tasks_get_answers_the_same_bytes_on_every_path() {
    let (addr, _server) = mcp_support::http_server(HttpOptions::default()).await;

    // 2025-11-25, in a session.
    let sid = mcp_support::http_session(addr).await;
    let call = mcp_support::request(
        "tools/call",
        json!({"name": "sleep", "arguments": {"ms": 0}, "task": {"ttl": 60_000}}),
    );
    let created = post(addr, Some(&sid), &call).await.json();
    let id = created["result"]["task"]["taskId"]
        .as_str()
        .expect("id")
        .to_owned();
    let get = mcp_support::request("tasks/get", json!({"taskId": id}));
    await_completed(addr, Some(&sid), &get).await;
    let (fast, general) = both_ways(addr, Some(&sid), &get).await;
    assert_eq!(fast, general);

    // 2026-07-28, stateless, with the tasks extension.
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {"extensions": {"io.modelcontextprotocol/tasks": {}}},
    });
    let call = mcp_support::request(
        "tools/call",
        json!({"name": "sleep", "arguments": {"ms": 0}, "_meta": meta}),
    );
    let created = post(addr, None, &call).await.json();
    assert_eq!(created["result"]["resultType"], "task", "{created}");
    let id = created["result"]["taskId"].as_str().expect("id").to_owned();
    let get = mcp_support::request("tasks/get", json!({"taskId": id, "_meta": meta}));
    await_completed(addr, None, &get).await;
    let (fast, general) = both_ways(addr, None, &get).await;
    assert_eq!(fast, general);
    assert!(fast.contains(r#""result":{"content""#), "{fast}");
}
