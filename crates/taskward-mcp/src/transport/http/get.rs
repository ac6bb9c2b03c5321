//! `GET /mcp`: the session's stream of server notifications, as SSE.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{KeepAlive, Sse};
use axum::response::{IntoResponse, Response};

use super::auth::Principal;
use super::headers::{self, SessionHeader};
use super::reply::{self, SESSION_NOT_FOUND};
use super::state::{Shared, StreamBusy};
use crate::jsonrpc::INVALID_REQUEST;

pub(super) async fn handle(
    State(shared): State<Arc<Shared>>,
    principal: Option<Extension<Principal>>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = headers::refusal(&headers, &shared.options.allowed_origins) {
        return refused;
    }
    if !headers::accepts_sse(&headers) {
        return reply::error(
            StatusCode::NOT_ACCEPTABLE,
            None,
            INVALID_REQUEST,
            "the stream is text/event-stream: accept it",
        );
    }
    let id = match headers::session_id(&headers) {
        SessionHeader::Missing => {
            return reply::error(
                StatusCode::BAD_REQUEST,
                None,
                INVALID_REQUEST,
                "missing Mcp-Session-Id header",
            );
        }
        SessionHeader::Id(id) => id,
        SessionHeader::Invalid => "",
    };
    // A session another node opened is taken in first (see `Shared::session_anywhere`).
    let _ = shared
        .session_anywhere(id, principal.as_ref().map(|p| p.name()))
        .await;
    let notifications = match shared.open_stream(id, principal.as_ref().map(|p| p.name())) {
        Ok(Some(rx)) => rx,
        Ok(None) => {
            return reply::error(
                StatusCode::NOT_FOUND,
                None,
                SESSION_NOT_FOUND,
                "session not found",
            );
        }
        Err(StreamBusy) => {
            return reply::error(
                StatusCode::CONFLICT,
                None,
                INVALID_REQUEST,
                "a stream is already open for this session",
            );
        }
    };
    // The session is busy (never idle) while its stream is open.
    let busy = shared
        .session(id, principal.as_ref().map(|p| p.name()))
        .map(|session| session.busy());
    let events = futures_util::stream::unfold((notifications, busy), |(mut rx, busy)| async move {
        let message = rx.recv().await?;
        Some((
            Ok::<_, Infallible>(reply::message_event(&message)),
            (rx, busy),
        ))
    });
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}
