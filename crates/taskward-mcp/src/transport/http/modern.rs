//! `POST /mcp` of a stateless (2026-07-28) request: no session; the headers must agree with
//! the body; error codes map to HTTP statuses.

use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::Value;
use tokio::sync::mpsc;

use super::reply;
use super::state::Shared;
use crate::jsonrpc::{
    HEADER_MISMATCH, METHOD_NOT_FOUND, MISSING_CAPABILITY, Request, UNSUPPORTED_VERSION,
};
use crate::modern::meta_version;

const PROTOCOL_VERSION: &str = "mcp-protocol-version";
const MCP_METHOD: &str = "mcp-method";
const MCP_NAME: &str = "mcp-name";

/// Answers a stateless request. Refused with `-32020` (HTTP 400): an
/// `MCP-Protocol-Version` or `Mcp-Method` header that differs from the body, and on
/// `tasks/get|update|cancel` an `Mcp-Name` that is missing or is not `params.taskId`.
/// Any `Mcp-Session-Id` is ignored: the request's tasks live in the principal's shared scope.
pub(super) async fn handle(
    shared: Arc<Shared>,
    headers: &HeaderMap,
    request: Request,
    sse_only: bool,
) -> Response {
    if let Some(why) = mismatch(headers, &request) {
        return reply::error(
            StatusCode::BAD_REQUEST,
            Some(&request.id),
            HEADER_MISMATCH,
            &why,
        );
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let server = shared.server.clone();
    let handler = tokio::spawn(async move { Some(server.handle_modern(None, request, &tx).await) });
    reply::streamed(handler, rx, sse_only, status_of).await
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<Option<&'a str>> {
    headers.get(name).map(|v| v.to_str().ok().map(str::trim))
}

/// Why the headers disagree with the body, if they do.
fn mismatch(headers: &HeaderMap, request: &Request) -> Option<String> {
    let params = request.params.as_ref();
    if let Some(version) = header(headers, PROTOCOL_VERSION)
        && let Some(meta) = meta_version(params)
        && version != meta.as_str()
    {
        return Some("MCP-Protocol-Version does not match _meta protocolVersion".into());
    }
    if let Some(method) = header(headers, MCP_METHOD)
        && method != Some(request.method.as_str())
    {
        return Some("Mcp-Method does not match the method".into());
    }
    if matches!(
        request.method.as_str(),
        "tasks/get" | "tasks/update" | "tasks/cancel"
    ) {
        let task_id = params.and_then(|p| p.get("taskId")).and_then(Value::as_str);
        match header(headers, MCP_NAME) {
            None => return Some("missing Mcp-Name header (the taskId)".into()),
            Some(name) if name != task_id || name.is_none() => {
                return Some("Mcp-Name does not match params.taskId".into());
            }
            Some(_) => {}
        }
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
