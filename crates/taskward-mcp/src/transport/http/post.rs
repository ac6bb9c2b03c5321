//! `POST /mcp`: one JSON-RPC message in, its answer out.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::Value;
use tokio::sync::mpsc;

use super::auth::Principal;
use super::headers::{self, SESSION_ID, SessionHeader};
use super::reply::{self, SESSION_NOT_FOUND};
use super::state::Shared;
use crate::jsonrpc::{self, ErrorObject, INVALID_REQUEST, Message};
use crate::modern;
use crate::server::Server;
use crate::session::Session;

pub(super) async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    // The headers are taken out of the request rather than copied (as the `HeaderMap`
    // extractor does).
    let (mut parts, body) = request.into_parts();
    let mut headers = std::mem::take(&mut parts.headers);
    let principal = parts.extensions.remove::<Principal>();
    let principal = principal.as_ref().map(Principal::name);
    if let Some(refused) = headers::origin_refusal(&headers, &shared.options.allowed_origins) {
        return refused;
    }
    // Limited as `DefaultBodyLimit` would (the router sets it to the same bound), so that a
    // request served straight from the connection ([`super::direct`]) has the same bound.
    let body = Limited::new(body, shared.options.max_body_bytes).collect();
    let body = match tokio::time::timeout(shared.options.connections.body_timeout, body).await {
        Ok(Ok(body)) => body.to_bytes(),
        Err(_) => return reply::body_timeout(),
        Ok(Err(error)) => {
            let (status, why) = if error.is::<LengthLimitError>() {
                (StatusCode::PAYLOAD_TOO_LARGE, "request body too large")
            } else {
                (
                    StatusCode::BAD_REQUEST,
                    "the request body could not be read",
                )
            };
            return reply::error(status, None, INVALID_REQUEST, why);
        }
    };
    let sse_only = headers::wants_sse_only(&headers);
    if !sse_only
        && let Some(answer) = super::fast::answer(&shared, principal, &mut headers, &body).await
    {
        return answer;
    }
    let message = match jsonrpc::parse(&body) {
        Ok(message) => message,
        Err(error) => return reply::rpc(StatusCode::BAD_REQUEST, error),
    };
    match message {
        Message::Request(request) if modern::is_modern(&request) => {
            super::modern::handle(shared, principal, &headers, request, sse_only).await
        }
        // A stateless notification needs no session and no action.
        Message::Notification(n) if modern::meta_version(n.params.as_ref()).is_some() => {
            StatusCode::ACCEPTED.into_response()
        }
        message => legacy(shared, principal, &headers, message, sse_only).await,
    }
}

/// A message of a 2025-11-25 session.
async fn legacy(
    shared: Arc<Shared>,
    principal: Option<&str>,
    headers: &HeaderMap,
    message: Message,
    sse_only: bool,
) -> Response {
    if let Some(refused) = headers::version_refusal(headers) {
        return refused;
    }
    let id = match &message {
        Message::Request(request) => Some(request.id.clone()),
        _ => None,
    };
    let session = match headers::session_id(headers) {
        SessionHeader::Missing => match &message {
            Message::Request(request) if request.method == "initialize" => {
                return initialize(shared, principal, message, sse_only).await;
            }
            _ => {
                return reply::error(
                    StatusCode::BAD_REQUEST,
                    id.as_ref(),
                    INVALID_REQUEST,
                    "missing Mcp-Session-Id header: send `initialize` first",
                );
            }
        },
        SessionHeader::Id(sid) => shared.session_anywhere(sid, principal).await,
        SessionHeader::Invalid => None,
    };
    let Some(session) = session else {
        return reply::error(
            StatusCode::NOT_FOUND,
            id.as_ref(),
            SESSION_NOT_FOUND,
            "session not found",
        );
    };
    run(&shared.server, session, message, sse_only).await
}

/// Opens a session for `initialize`, bound to the request's principal, answers it, and
/// names the session in the answer; a failed `initialize` closes the session again. All in
/// one task, so that a client that disconnects midway leaves no session behind.
async fn initialize(
    shared: Arc<Shared>,
    principal: Option<&str>,
    message: Message,
    sse_only: bool,
) -> Response {
    let principal = principal.map(str::to_owned);
    let id = match &message {
        Message::Request(request) => Some(request.id.clone()),
        _ => None,
    };
    let request_id = id.clone();
    let opened = tokio::spawn(async move {
        let (session, notifications) = shared.server.open_session(principal.as_deref());
        let sid = session.id().to_owned();
        let answer = shared.server.handle(&session, message).await;
        match answer {
            Some(answer) if answer.get("result").is_some() => {
                shared.attach(&sid, notifications);
                // Kept in the durable store, if any, so that it outlives a restart: answered
                // once it is durable.
                match shared.server.keep(&session).await {
                    Ok(()) => (answer, Some(sid)),
                    Err(e) => {
                        drop(session);
                        shared.server.close_session(&sid).await;
                        let error =
                            ErrorObject::internal(format!("the session could not be kept: {e}"));
                        (jsonrpc::failure(request_id.as_ref(), &error), None)
                    }
                }
            }
            other => {
                drop(session);
                shared.server.close_session(&sid).await;
                (other.unwrap_or(Value::Null), None)
            }
        }
    });
    let (answer, sid) = match opened.await {
        Ok(opened) => opened,
        Err(e) => {
            let error = ErrorObject::internal(format!("initialize failed: {e}"));
            (jsonrpc::failure(id.as_ref(), &error), None)
        }
    };
    let refused = answer["error"]["code"] == jsonrpc::SESSION_LIMIT_EXCEEDED;
    let mut response = if refused {
        // Over the session cap: the server is full for now.
        reply::rpc(StatusCode::SERVICE_UNAVAILABLE, answer)
    } else {
        answer_response(answer, sse_only)
    };
    if let Some(value) = sid.and_then(|sid| HeaderValue::from_str(&sid).ok()) {
        response.headers_mut().insert(SESSION_ID, value);
    }
    response
}

/// Handles a message in its own task, so that a client that disconnects never cuts a call
/// short (disconnection is not cancellation). Messages tied to the request (an
/// `elicitation/create` during `tasks/result`) turn the answer into an SSE stream.
async fn run(server: &Server, session: Arc<Session>, message: Message, sse_only: bool) -> Response {
    let id = match &message {
        Message::Request(request) => Some(request.id.clone()),
        _ => None,
    };
    let server = server.clone();
    let (tx, rx) = mpsc::unbounded_channel();
    let handler = tokio::spawn(async move {
        let inner =
            tokio::spawn(async move { server.handle_related(&session, message, &tx).await });
        match inner.await {
            Ok(answer) => answer,
            Err(e) => id.map(|id| {
                jsonrpc::failure(
                    Some(&id),
                    &ErrorObject::internal(format!("the handler failed: {e}")),
                )
            }),
        }
    });
    reply::streamed(handler, rx, sse_only, |_| StatusCode::OK).await
}

fn answer_response(answer: Value, sse_only: bool) -> Response {
    if sse_only {
        reply::sse_once(answer)
    } else {
        reply::rpc(StatusCode::OK, answer)
    }
}
