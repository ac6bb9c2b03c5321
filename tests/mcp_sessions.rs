//! Sessions are a bounded resource: a cap on how many are open, idle expiry that applies the
//! close policy, and a session closed (by DELETE or by expiry) is freed for real. Plain calls
//! never take a task slot.
//!
//! HTTP is driven in process (the transport's router called as a service), so that the
//! paused clock drives it without sockets.

mod mcp_support;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, Response};
use mcp_support::{VERSION, initialize_request, ok, request, send, settle};
use serde_json::{Value, json};
use taskward::Taskward;
use taskward_core::{ClosePolicy, Status};
use taskward_mcp::jsonrpc::SESSION_LIMIT_EXCEEDED;
use taskward_mcp::transport::http::{HttpOptions, router};
use taskward_mcp::{Server, ServerOptions};
use tower_service::Service;

const IDLE: Duration = Duration::from_secs(10);

fn options(max_sessions: Option<usize>, idle: Option<Duration>) -> ServerOptions {
    let mut options = ServerOptions::default();
    options.max_sessions = max_sessions;
    options.session_idle_timeout = idle;
    options.close_policy = ClosePolicy::Cancel;
    options
}

fn server_with(ward: Taskward, options: ServerOptions) -> Server {
    Server::builder(ward)
        .tools(mcp_support::tools::basic())
        .options(options)
        .build()
}

/// The transport's routes, called in process.
struct Http(axum::Router);

impl Http {
    fn new(server: &Server) -> Self {
        Self(router(server.clone(), HttpOptions::default()))
    }

    async fn send(
        &mut self,
        method: &str,
        sid: Option<&str>,
        body: Option<&Value>,
    ) -> Response<Body> {
        let mut builder = Request::builder()
            .method(method)
            .uri("/mcp")
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json");
        if let Some(sid) = sid {
            builder = builder
                .header("mcp-session-id", sid)
                .header("mcp-protocol-version", VERSION);
        }
        let body = body.map_or_else(Vec::new, |b| serde_json::to_vec(b).expect("json"));
        let request = builder.body(Body::from(body)).expect("a request");
        self.0.call(request).await.expect("infallible")
    }

    /// POSTs `initialize` and returns the response's status, its session id and its body.
    async fn initialize(&mut self) -> (u16, Option<String>, Value) {
        let response = self.send("POST", None, Some(&initialize_request())).await;
        let status = response.status().as_u16();
        let sid = response
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        (status, sid, json_body(response).await)
    }

    /// Opens the session's GET stream; the stream stays open while the response is held.
    async fn open_stream(&mut self, sid: &str) -> Response<Body> {
        let response = self.send("GET", Some(sid), None).await;
        assert_eq!(response.status(), 200);
        response
    }
}

async fn json_body(response: Response<Body>) -> Value {
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("a body");
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

/// Lets time run well past the idle expiry, in steps the sweep can see.
async fn idle_out() {
    for _ in 0..4 {
        tokio::time::sleep(IDLE).await;
    }
    settle().await;
}

async fn subscribers(ward: &Taskward) -> usize {
    ward.status().await.expect("status").subscribers
}

#[tokio::test]
async fn initialize_over_the_session_cap_is_refused_with_its_code() {
    let server = server_with(mcp_support::ward().await, options(Some(2), None));
    let (a, _a) = mcp_support::session(&server).await;
    let (_b, _nb) = mcp_support::session(&server).await;

    let (c, _c) = server.open_session(None);
    let answer = send(&server, &c, &initialize_request())
        .await
        .expect("answered");
    let error = &answer["error"];
    assert_eq!(error["code"], SESSION_LIMIT_EXCEEDED, "{answer}");
    assert_eq!(error["data"]["maxSessions"], 2, "{answer}");
    assert!(!c.is_initialized());

    // A closed session frees its place.
    assert!(server.close_session(a.id()).await);
    let answer = send(&server, &c, &initialize_request())
        .await
        .expect("answered");
    assert_eq!(answer["result"]["protocolVersion"], VERSION, "{answer}");
}

#[tokio::test]
async fn initialize_over_the_session_cap_is_503_over_http() {
    let server = server_with(mcp_support::ward().await, options(Some(1), None));
    let mut http = Http::new(&server);
    let (status, sid, _) = http.initialize().await;
    assert_eq!(status, 200);
    assert!(sid.is_some());

    let (status, sid, body) = http.initialize().await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(sid, None, "no session is named");
    assert_eq!(body["error"]["code"], SESSION_LIMIT_EXCEEDED, "{body}");
    assert_eq!(server.session_count(), 1, "the refused session is not kept");
}

#[tokio::test(start_paused = true)]
async fn an_idle_session_expires_and_its_tasks_get_the_close_policy() {
    let ward = mcp_support::ward().await;
    let server = server_with(ward.clone(), options(None, Some(IDLE)));
    let (session, _n) = mcp_support::session(&server).await;
    let task = mcp_support::start_task(&server, &session, "sleep", json!({"ms": 3_600_000})).await;
    let scope = session.scope().clone();
    let weak = Arc::downgrade(&session);
    drop(session);

    // Used within the idle time: kept.
    tokio::time::sleep(IDLE / 2).await;
    assert_eq!(server.session_count(), 1);

    idle_out().await;
    assert_eq!(server.session_count(), 0, "expired");
    assert!(
        weak.upgrade().is_none(),
        "nothing holds the expired session"
    );
    let record = ward
        .get(&scope, task.parse().expect("an id"))
        .expect("kept");
    assert_eq!(record.status, Status::Cancelled, "the close policy applied");
}

#[tokio::test(start_paused = true)]
async fn a_request_in_flight_keeps_its_session() {
    let server = server_with(mcp_support::ward().await, options(None, Some(IDLE)));
    let (session, _n) = mcp_support::session(&server).await;
    let call = {
        let (server, session) = (server.clone(), session.clone());
        tokio::spawn(async move {
            let sleep = 5 * IDLE.as_millis() as u64;
            ok(
                &server,
                &session,
                "tools/call",
                json!({"name": "sleep", "arguments": {"ms": sleep}}),
            )
            .await
        })
    };
    idle_out().await;
    assert_eq!(server.session_count(), 1, "busy, not idle");
    let answer = call.await.expect("answered");
    assert!(
        answer["content"][0]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("slept"))
    );

    idle_out().await;
    assert_eq!(server.session_count(), 0, "idle once answered");
}

#[tokio::test(start_paused = true)]
async fn an_open_stream_keeps_its_session_over_http() {
    let server = server_with(mcp_support::ward().await, options(None, Some(IDLE)));
    let mut http = Http::new(&server);
    let (_, sid, _) = http.initialize().await;
    let sid = sid.expect("a session");
    let stream = http.open_stream(&sid).await;

    idle_out().await;
    assert_eq!(server.session_count(), 1, "listening, not idle");
    let answer = http
        .send("POST", Some(&sid), Some(&request("ping", json!({}))))
        .await;
    assert_eq!(answer.status(), 200);

    drop(stream);
    idle_out().await;
    assert_eq!(server.session_count(), 0, "idle once the stream closed");
    let answer = http
        .send("POST", Some(&sid), Some(&request("ping", json!({}))))
        .await;
    assert_eq!(answer.status(), 404, "expired as DELETE ends it");
}

#[tokio::test(start_paused = true)]
async fn delete_and_expiry_free_the_session() {
    let ward = mcp_support::ward().await;
    let server = server_with(ward.clone(), options(None, Some(IDLE)));
    let baseline = subscribers(&ward).await;
    let mut http = Http::new(&server);

    // Closed by DELETE, with a stream open and a task made.
    let (_, sid, _) = http.initialize().await;
    let sid = sid.expect("a session");
    let weak = Arc::downgrade(&server.session(&sid).expect("open"));
    let stream = http.open_stream(&sid).await;
    let call = json!({"name": "echo", "arguments": {"text": "hi"}, "task": {"ttl": 60_000}});
    let made = http
        .send("POST", Some(&sid), Some(&request("tools/call", call)))
        .await;
    assert_eq!(made.status(), 200);
    assert!(subscribers(&ward).await > baseline);
    let deleted = http.send("DELETE", Some(&sid), None).await;
    assert_eq!(deleted.status(), 200);
    drop(stream);
    settle().await;
    assert_eq!(server.session_count(), 0);
    assert!(
        weak.upgrade().is_none(),
        "nothing holds the deleted session"
    );
    assert_eq!(
        subscribers(&ward).await,
        baseline,
        "its event routes are gone"
    );

    // Closed by expiry.
    let (_, sid, _) = http.initialize().await;
    let sid = sid.expect("a session");
    let weak = Arc::downgrade(&server.session(&sid).expect("open"));
    idle_out().await;
    assert_eq!(server.session_count(), 0);
    assert!(
        weak.upgrade().is_none(),
        "nothing holds the expired session"
    );
    assert_eq!(
        subscribers(&ward).await,
        baseline,
        "its event routes are gone"
    );
}

#[tokio::test]
async fn plain_calls_take_no_task_slot() {
    let ward = Taskward::builder()
        .max_live_tasks(2)
        .max_live_per_scope(2)
        .spawn()
        .await
        .expect("runtime starts");
    let server = server_with(ward, options(None, None));
    let (session, _n) = mcp_support::session(&server).await;
    for _ in 0..2 {
        mcp_support::start_task(&server, &session, "sleep", json!({"ms": 3_600_000})).await;
    }
    let full = mcp_support::err(
        &server,
        &session,
        "tools/call",
        json!({"name": "sleep", "arguments": {"ms": 1}, "task": {"ttl": 60_000}}),
    )
    .await;
    assert!(
        full["message"]
            .as_str()
            .is_some_and(|m| m.contains("limit")),
        "{full}"
    );

    // The slots are full, and a plain call still runs.
    let answer = ok(
        &server,
        &session,
        "tools/call",
        json!({"name": "echo", "arguments": {"text": "still here"}}),
    )
    .await;
    assert_eq!(answer["content"][0]["text"], "still here");

    // Plain calls in flight take no slot either: a task can be made beside them once one
    // ends, and ten of them run at once.
    let mut calls = Vec::new();
    for _ in 0..10 {
        let (server, session) = (server.clone(), session.clone());
        calls.push(tokio::spawn(async move {
            ok(
                &server,
                &session,
                "tools/call",
                json!({"name": "sleep", "arguments": {"ms": 50}}),
            )
            .await
        }));
    }
    for call in calls {
        call.await.expect("answered");
    }
}

#[tokio::test]
async fn a_failed_tools_text_is_stored_once() {
    let long = "x".repeat(100_000);
    let text = long.clone();
    let tool = taskward_mcp::Tool::new(
        "long_fail",
        "Fails at length.",
        json!({"type": "object"}),
        move |_call| {
            let text = text.clone();
            async move { Ok(taskward_mcp::wire::CallToolResult::error(text)) }
        },
    );
    let ward = mcp_support::ward().await;
    let server = Server::builder(ward.clone()).tool(tool).build();
    let (session, _n) = mcp_support::session(&server).await;
    let id = mcp_support::start_task(&server, &session, "long_fail", json!({})).await;
    let result = ok(&server, &session, "tasks/result", json!({"taskId": id})).await;
    assert_eq!(
        result["content"][0]["text"], long,
        "the whole text is answered"
    );

    let record = ward
        .get(session.scope(), id.parse().expect("an id"))
        .expect("kept");
    let Some(taskward_core::Outcome::Failed(failure)) = &record.outcome else {
        panic!("failed: {record:?}");
    };
    assert!(failure.message.len() < 2048, "the message is a summary");
    assert!(failure.message.ends_with('…'));
    assert!(record.status_message.is_none());
}

#[tokio::test(start_paused = true)]
async fn a_stdio_connection_keeps_its_session_while_open() {
    let server = server_with(mcp_support::ward().await, options(None, Some(IDLE)));
    let (client_in, server_in) = tokio::io::duplex(64 * 1024);
    let (server_out, _client_out) = tokio::io::duplex(64 * 1024);
    let serving = tokio::spawn(taskward_mcp::transport::stdio::serve(
        server.clone(),
        server_in,
        server_out,
    ));
    settle().await;
    assert_eq!(server.session_count(), 1);
    idle_out().await;
    assert_eq!(
        server.session_count(),
        1,
        "the connection is open: not idle"
    );

    drop(client_in);
    serving.await.expect("joins").expect("ends cleanly");
    assert_eq!(server.session_count(), 0);
}
