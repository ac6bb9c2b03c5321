//! The responses the transport sends.

use std::convert::Infallible;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Json, Response};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::jsonrpc::{self, ErrorObject, INVALID_REQUEST, RequestId};

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

/// `408`: the request body did not arrive in time; the connection is closed (the rest of
/// the body cannot be told from a next request).
pub(super) fn body_timeout() -> Response {
    let mut response = error(
        StatusCode::REQUEST_TIMEOUT,
        None,
        INVALID_REQUEST,
        "request body timeout",
    );
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
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

/// The answer of a request whose handler runs in `handler` and may send messages tied to the
/// request on `related` before answering (an `elicitation/create` during `tasks/result`, the
/// notifications of `subscriptions/listen`). When the answer comes first, it is a plain
/// answer (`status` gives its HTTP status); otherwise the response is an SSE stream of the
/// related messages followed by the answer. The handler keeps running when the client goes.
pub(super) async fn streamed(
    handler: JoinHandle<Option<Value>>,
    mut related: mpsc::UnboundedReceiver<Value>,
    sse_only: bool,
    status: impl Fn(&Value) -> StatusCode,
) -> Response {
    let mut handler = handler;
    let first = tokio::select! {
        biased;
        answer = &mut handler => {
            let mut queued = Vec::new();
            while let Ok(message) = related.try_recv() {
                queued.push(message);
            }
            let answer = answer.ok().flatten();
            if queued.is_empty() {
                return match answer {
                    Some(answer) if sse_only => sse_once(answer),
                    Some(answer) => rpc(status(&answer), answer),
                    None => StatusCode::ACCEPTED.into_response(),
                };
            }
            let events = queued.into_iter().chain(answer).map(|m| Ok::<_, Infallible>(message_event(&m)));
            return Sse::new(futures_util::stream::iter(events)).into_response();
        }
        first = related.recv() => first,
    };
    let Some(first) = first else {
        // The handler let go of its stream: only its answer is left.
        return match handler.await.ok().flatten() {
            Some(answer) if sse_only => sse_once(answer),
            Some(answer) => rpc(status(&answer), answer),
            None => StatusCode::ACCEPTED.into_response(),
        };
    };
    let state = (Some(first), related, Some(handler));
    let events =
        futures_util::stream::unfold(state, |(pending, mut related, handler)| async move {
            let handler = handler?;
            if let Some(message) = pending {
                return Some((
                    Ok::<_, Infallible>(message_event(&message)),
                    (None, related, Some(handler)),
                ));
            }
            match related.recv().await {
                Some(message) => {
                    Some((Ok(message_event(&message)), (None, related, Some(handler))))
                }
                None => {
                    let answer = handler.await.ok().flatten()?;
                    Some((Ok(message_event(&answer)), (None, related, None)))
                }
            }
        });
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}
