//! Helpers shared by the MCP tests: a server with test tools, JSON-RPC calls on a session.
#![allow(dead_code, unreachable_pub)]

pub mod http_client;
pub mod tools;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use taskward::Taskward;
use taskward_mcp::{Server, Session};
use tokio::sync::mpsc::UnboundedReceiver;

/// The protocol revision the tests speak.
pub const VERSION: &str = "2025-11-25";

/// A runtime and a server with the test tools ([`tools::basic`]):
///
/// - `echo {text}`: answers the text (optional task support);
/// - `sleep {ms}`: sleeps, watching its token, and answers `slept {ms}` with structured content;
/// - `steps {n, ms}`: reports progress `i` of `n` every `ms`, then answers `done`;
/// - `fail`: answers a tool error (`isError: true`);
/// - `plain_only`: task support forbidden; `task_only`: task support required.
pub async fn server() -> Server {
    server_on(ward().await)
}

/// The test server over a given runtime.
pub fn server_on(ward: Taskward) -> Server {
    Server::builder(ward).tools(tools::basic()).build()
}

/// A fresh runtime with default options.
pub async fn ward() -> Taskward {
    Taskward::builder().spawn().await.expect("runtime starts")
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
    (serve_http(server.clone(), options).await, server)
}

/// Serves `server` over Streamable HTTP on 127.0.0.1, on a free port.
pub async fn serve_http(
    server: Server,
    options: taskward_mcp::transport::http::HttpOptions,
) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let addr = listener.local_addr().expect("an address");
    tokio::spawn(taskward_mcp::transport::http::serve(
        server, listener, options,
    ));
    addr
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
