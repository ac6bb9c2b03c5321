//! `POST /mcp` of a stateless (2026-07-28) request: no session; the routing headers, when
//! sent, must agree with the body; error codes map to HTTP statuses.

use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::Value;
use tokio::sync::mpsc;

use super::headers::{self, MCP_METHOD, MCP_NAME, PROTOCOL_VERSION};
use super::reply;
use super::state::Shared;
use crate::jsonrpc::{
    HEADER_MISMATCH, METHOD_NOT_FOUND, MISSING_CAPABILITY, Request, UNSUPPORTED_VERSION,
};
use crate::modern::meta_version;

/// Answers a stateless request. The body alone says what the request is; the headers that
/// mirror it (`MCP-Protocol-Version`, `Mcp-Method`, and `Mcp-Name` on
/// `tasks/get|update|cancel`) are checked only when present: one that disagrees with the
/// body is refused with `-32020` (HTTP 400), one that is missing is accepted (clients in
/// use, such as fastmcp-tasks 4.x, send none). Any `Mcp-Session-Id` is ignored: the
/// request's tasks live in the principal's shared scope.
pub(super) async fn handle(
    shared: Arc<Shared>,
    principal: Option<&str>,
    headers: &HeaderMap,
    request: Request,
    sse_only: bool,
) -> Response {
    if let Some(why) = mismatch(headers, &request) {
        return reply::error(
            StatusCode::BAD_REQUEST,
            Some(&request.id),
            HEADER_MISMATCH,
            why,
        );
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let server = shared.server.clone();
    let principal = principal.map(str::to_owned);
    let handler = tokio::spawn(async move {
        Some(
            server
                .handle_modern(principal.as_deref(), request, &tx)
                .await,
        )
    });
    reply::streamed(handler, rx, sse_only, status_of).await
}

/// Why a header that was sent disagrees with the body, if one does. A header compares
/// only with a body field that is there: a request without a `_meta` version or without a
/// string `taskId` is judged by the dispatch (`-32602`), not here.
fn mismatch(headers: &HeaderMap, request: &Request) -> Option<&'static str> {
    let params = request.params.as_ref();
    let version = meta_version(params).map(Value::as_str);
    let task_id = params.and_then(|p| p.get("taskId")).and_then(Value::as_str);
    disagreement(headers, &request.method, version, task_id)
}

/// [`mismatch`] over the body's fields: its method, its `_meta` version (`Some(None)` when
/// not a string) and its `taskId` when a string.
pub(super) fn disagreement(
    headers: &HeaderMap,
    method: &str,
    version: Option<Option<&str>>,
    task_id: Option<&str>,
) -> Option<&'static str> {
    if let Some(sent) = headers::text(headers, PROTOCOL_VERSION)
        && let Some(version) = version
        && sent != version
    {
        return Some("MCP-Protocol-Version does not match _meta protocolVersion");
    }
    if let Some(sent) = headers::text(headers, MCP_METHOD)
        && sent != Some(method)
    {
        return Some("Mcp-Method does not match the method");
    }
    if matches!(method, "tasks/get" | "tasks/update" | "tasks/cancel")
        && let Some(name) = headers::mirrored(headers, MCP_NAME)
        && let Some(task_id) = task_id
        && name.as_deref() != Some(task_id)
    {
        return Some("Mcp-Name does not match params.taskId");
    }
    None
}

/// The HTTP status of a stateless answer: 400 for header, capability and version errors,
/// 404 for method-not-found, 200 otherwise.
fn status_of(answer: &Value) -> StatusCode {
    match answer
        .get("error")
        .and_then(|e| e.get("code"))
        .and_then(Value::as_i64)
    {
        Some(HEADER_MISMATCH | MISSING_CAPABILITY | UNSUPPORTED_VERSION) => StatusCode::BAD_REQUEST,
        Some(METHOD_NOT_FOUND) => StatusCode::NOT_FOUND,
        _ => StatusCode::OK,
    }
}
