//! Helpers of the MCP tests on real nodes: a runtime joined as a node (its `ClusterStore`,
//! its shared view, its duties) with the test kinds, and its MCP router called in process.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};
use taskward_core::Scope;
use taskward_mcp::transport::http::auth::{Auth, StaticTokens};
use taskward_mcp::transport::http::{self, HttpOptions};
use taskward_mcp::wire::TASKS_EXTENSION;
use taskward_mcp::{Server, ServerOptions};
use taskward_postgres::NodeHandle;
use taskward_runtime::Taskward;
use tower_service::Service;

use super::node::{Probe, start};

pub const ALICE: &str = "alice-token-0123456789";
pub const MODERN: &str = "2026-07-28";
/// The sessions' idle timeout.
pub const IDLE: Duration = Duration::from_secs(5);

/// One node: its runtime, its duties, its MCP router (alice authenticates).
pub struct McpNode {
    pub ward: Taskward,
    pub server: Server,
    pub router: axum::Router,
    handle: NodeHandle,
}

/// A node on `url` with the test kinds ([`start`]) serving MCP, with `options`.
pub async fn mcp_node_with(url: &str, probe: &Arc<Probe>, options: ServerOptions) -> McpNode {
    let (ward, handle, _) = start(url, probe).await;
    let server = Server::builder(ward.clone()).options(options).build();
    let tokens = StaticTokens::parse(&format!("{ALICE} alice\n")).expect("tokens");
    let mut http_options = HttpOptions::default();
    http_options.auth = Some(Auth::static_tokens(tokens));
    McpNode {
        ward,
        router: http::router(server.clone(), http_options),
        server,
        handle,
    }
}

/// As [`mcp_node_with`], sessions idle after [`IDLE`].
pub async fn mcp_node(url: &str, probe: &Arc<Probe>) -> McpNode {
    let mut options = ServerOptions::default();
    options.session_idle_timeout = Some(IDLE);
    mcp_node_with(url, probe, options).await
}

/// The scope of alice's stateless 2026-07-28 tasks.
pub fn modern_scope() -> Scope {
    Scope::session("modern").with_principal("alice")
}

/// The scope of the tasks of alice's 2025-11-25 session `sid`.
pub fn session_scope(sid: &str) -> Scope {
    Scope::session(sid).with_principal("alice")
}

pub fn request(method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
}

impl McpNode {
    /// A request to the router as alice: the response, unread.
    pub async fn call(
        &self,
        method: &str,
        sid: Option<&str>,
        body: Option<&Value>,
    ) -> axum::response::Response {
        let mut builder = Request::builder()
            .method(method)
            .uri("/mcp")
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {ALICE}"));
        if let Some(sid) = sid {
            builder = builder
                .header("mcp-session-id", sid)
                .header("mcp-protocol-version", "2025-11-25");
        }
        let body = body.map_or_else(Vec::new, |b| serde_json::to_vec(b).expect("json"));
        let request = builder.body(Body::from(body)).expect("a request");
        self.router.clone().call(request).await.expect("infallible")
    }

    /// A request as alice: the status, the session id header and the JSON body.
    pub async fn send(
        &self,
        method: &str,
        sid: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Option<String>, Value) {
        let response = self.call(method, sid, body).await;
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

    /// A 2025-11-25 session of alice's, initialized.
    pub async fn session(&self) -> String {
        let init = request(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {"elicitation": {}},
                   "clientInfo": {"name": "tests", "version": "0"}}),
        );
        let (status, sid, body) = self.send("POST", None, Some(&init)).await;
        assert_eq!(status, 200, "{body}");
        let sid = sid.expect("a session id");
        let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let (status, _, _) = self.send("POST", Some(&sid), Some(&initialized)).await;
        assert_eq!(status, 202);
        sid
    }

    /// A 2025-11-25 request in session `sid`: the status and the JSON-RPC answer.
    pub async fn legacy(&self, sid: &str, method: &str, params: Value) -> (u16, Value) {
        let (status, _, body) = self
            .send("POST", Some(sid), Some(&request(method, params)))
            .await;
        (status, body)
    }

    /// A stateless 2026-07-28 request declaring the tasks extension: the response, unread.
    pub async fn modern_call(&self, method: &str, mut params: Value) -> axum::response::Response {
        params["_meta"] = json!({
            "io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientInfo": {"name": "tests", "version": "0"},
            "io.modelcontextprotocol/clientCapabilities": {"extensions": {TASKS_EXTENSION: {}}},
        });
        self.call("POST", None, Some(&request(method, params)))
            .await
    }

    /// A stateless 2026-07-28 request declaring the tasks extension: the JSON-RPC answer.
    pub async fn modern(&self, method: &str, params: Value) -> Value {
        let response = self.modern_call(method, params).await;
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("a body");
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        assert_eq!(status, 200, "{body}");
        body
    }

    pub async fn stop(self) {
        super::node::stop(self.ward, self.handle).await;
    }
}
