//! Helpers shared by the MCP tests: a server with test tools, JSON-RPC calls on a session.
#![allow(dead_code, unreachable_pub)]

pub mod http_client;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use taskward::Taskward;
use taskward_mcp::wire::{CallToolResult, TaskSupport};
use taskward_mcp::{Server, Session, Tool};
use tokio::sync::mpsc::UnboundedReceiver;

/// The protocol revision the tests speak.
pub const VERSION: &str = "2025-11-25";

/// A runtime and a server with the test tools:
///
/// - `echo {text}`: answers the text (optional task support);
/// - `sleep {ms}`: sleeps, watching its token, and answers `slept {ms}` with structured content;
/// - `steps {n, ms}`: reports progress `i` of `n` every `ms`, then answers `done`;
/// - `fail`: answers a tool error (`isError: true`);
/// - `plain_only`: task support forbidden; `task_only`: task support required.
pub async fn server() -> Server {
    let ward = Taskward::builder().spawn().await.expect("runtime starts");
    server_on(ward)
}

/// The test server over a given runtime.
pub fn server_on(ward: Taskward) -> Server {
    let object = json!({"type": "object"});
    Server::builder(ward)
        .tool(Tool::new(
            "echo",
            "Echoes its text.",
            object.clone(),
            |call| async move {
                let text = call.arguments.get("text").and_then(Value::as_str);
                Ok(CallToolResult::text(text.unwrap_or_default()))
            },
        ))
        .tool(Tool::new(
            "sleep",
            "Sleeps.",
            object.clone(),
            |call| async move {
                let ms = call
                    .arguments
                    .get("ms")
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(ms)) => {}
                    () = call.ctx.cancelled() => return Err(taskward::TaskError::cancelled()),
                }
                Ok(CallToolResult::text(format!("slept {ms}")).structured(json!({ "ms": ms })))
            },
        ))
        .tool(Tool::new(
            "steps",
            "Reports progress.",
            object.clone(),
            |call| async move {
                let n = call.arguments.get("n").and_then(Value::as_u64).unwrap_or(3);
                let ms = call
                    .arguments
                    .get("ms")
                    .and_then(Value::as_u64)
                    .unwrap_or(100);
                for i in 1..=n {
                    call.ctx.progress(i, Some(n), "step");
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                }
                Ok(CallToolResult::text("done"))
            },
        ))
        .tool(Tool::new(
            "fail",
            "Fails.",
            object.clone(),
            |_call| async move { Ok(CallToolResult::error("it broke")) },
        ))
        .tool(
            Tool::new(
                "plain_only",
                "Never a task.",
                object.clone(),
                |_call| async move { Ok(CallToolResult::text("plain")) },
            )
            .task_support(TaskSupport::Forbidden),
        )
        .tool(
            Tool::new("task_only", "Always a task.", object, |_call| async move {
                Ok(CallToolResult::text("task"))
            })
            .task_support(TaskSupport::Required),
        )
        .build()
}

static NEXT_ID: AtomicI64 = AtomicI64::new(1);

/// A request message with a fresh id.
pub fn request(method: &str, params: Value) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": NEXT_ID.fetch_add(1, Ordering::Relaxed),
        "method": method,
        "params": params,
    })
}

/// The `initialize` request.
pub fn initialize_request() -> Value {
    request(
        "initialize",
        json!({
            "protocolVersion": VERSION,
            "capabilities": {},
            "clientInfo": {"name": "tests", "version": "0"},
        }),
    )
}

/// Sends one message as bytes and returns the answer (`None` for a notification).
pub async fn send(server: &Server, session: &Arc<Session>, message: &Value) -> Option<Value> {
    let bytes = serde_json::to_vec(message).expect("serializes");
    server.handle_bytes(session, &bytes).await
}

/// Sends a request and returns its whole response.
pub async fn call(server: &Server, session: &Arc<Session>, method: &str, params: Value) -> Value {
    let message = request(method, params);
    let answer = send(server, session, &message)
        .await
        .expect("a request is answered");
    assert_eq!(answer["id"], message["id"], "the answer carries the id");
    answer
}

/// Sends a request and returns its result; panics on an error.
pub async fn ok(server: &Server, session: &Arc<Session>, method: &str, params: Value) -> Value {
    let answer = call(server, session, method, params).await;
    assert!(answer.get("error").is_none(), "{method} failed: {answer}");
    answer["result"].clone()
}

/// Sends a request that must fail and returns its error object.
pub async fn err(server: &Server, session: &Arc<Session>, method: &str, params: Value) -> Value {
    let answer = call(server, session, method, params).await;
    assert!(
        answer.get("result").is_none(),
        "{method} succeeded: {answer}"
    );
    answer["error"].clone()
}

/// Opens an initialized session.
pub async fn session(server: &Server) -> (Arc<Session>, UnboundedReceiver<Value>) {
    let (session, notifications) = server.open_session(None);
    let answer = send(server, &session, &initialize_request())
        .await
        .expect("answered");
    assert_eq!(answer["result"]["protocolVersion"], VERSION, "{answer}");
    send(
        server,
        &session,
        &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .await;
    (session, notifications)
}

/// Starts a task-augmented `tools/call` and returns the task id.
pub async fn start_task(
    server: &Server,
    session: &Arc<Session>,
    tool: &str,
    args: Value,
) -> String {
    let result = ok(
        server,
        session,
        "tools/call",
        json!({"name": tool, "arguments": args, "task": {"ttl": 60_000}}),
    )
    .await;
    result["task"]["taskId"]
        .as_str()
        .expect("a task id")
        .to_owned()
}

/// Lets spawned tasks and actors run (virtual time barely moves under a paused clock).
pub async fn settle() {
    tokio::time::sleep(Duration::from_millis(5)).await;
}

/// Serves the test server over Streamable HTTP on 127.0.0.1, on a free port.
pub async fn http_server(
    options: taskward_mcp::transport::http::HttpOptions,
) -> (std::net::SocketAddr, Server) {
    let server = server().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let addr = listener.local_addr().expect("an address");
    tokio::spawn(taskward_mcp::transport::http::serve(
        server.clone(),
        listener,
        options,
    ));
    (addr, server)
}

/// Initializes a session over HTTP and returns its id.
pub async fn http_session(addr: std::net::SocketAddr) -> String {
    let response = http_client::post(addr, None, &initialize_request()).await;
    assert_eq!(response.status, 200, "{:?}", response);
    let id = response
        .header("mcp-session-id")
        .expect("a session id")
        .to_owned();
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let response = http_client::post(addr, Some(&id), &initialized).await;
    assert_eq!(response.status, 202);
    id
}
