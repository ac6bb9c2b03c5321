//! The responses the transport sends.

use std::convert::Infallible;

use axum::http::StatusCode;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Json, Response};
use serde_json::Value;

use crate::jsonrpc::{self, ErrorObject, RequestId};

/// The JSON-RPC error code for an unknown or ended session (as the reference SDKs use it).
pub(super) const SESSION_NOT_FOUND: i64 = -32001;

/// An HTTP error status with a JSON-RPC error body.
pub(super) fn error(
    status: StatusCode,
    id: Option<&RequestId>,
    code: i64,
    message: &str,
) -> Response {
    rpc(
        status,
        jsonrpc::failure(id, &ErrorObject::new(code, message)),
    )
}

/// A status with a JSON-RPC message as its body.
pub(super) fn rpc(status: StatusCode, message: Value) -> Response {
    (status, Json(message)).into_response()
}

/// A JSON-RPC message as an SSE stream of one `message` event.
pub(super) fn sse_once(message: Value) -> Response {
    let event = Ok::<_, Infallible>(message_event(&message));
    Sse::new(futures_util::stream::iter([event])).into_response()
}

/// The SSE event carrying one JSON-RPC message.
pub(super) fn message_event(message: &Value) -> Event {
    Event::default()
        .event("message")
        .data(serde_json::to_string(message).unwrap_or_default())
}
