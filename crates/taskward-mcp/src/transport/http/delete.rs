//! `DELETE /mcp`: the client ends its session.

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::auth::Principal;
use super::headers::{self, SessionHeader};
use super::reply::{self, SESSION_NOT_FOUND};
use super::state::Shared;
use crate::jsonrpc::INVALID_REQUEST;

pub(super) async fn handle(
    State(shared): State<Arc<Shared>>,
    principal: Option<Extension<Principal>>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = headers::refusal(&headers, &shared.options.allowed_origins) {
        return refused;
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
    // Only sessions opened over HTTP, by the same principal, can be ended over HTTP. On a
    // node of several, one another node opened is taken in first, then ended here and
    // removed from the shared table: answered once the removal is durable, so that no node
    // takes it in again after the answer.
    let principal = principal.as_ref().map(|p| p.name());
    if shared.session_anywhere(id, principal).await.is_some()
        && shared.detach(id)
        && shared.server.close_session(id).await
    {
        if let Err(error) = shared.server.ward().synced().await {
            tracing::warn!(session = id, %error, "an ended session may stay stored");
        }
        StatusCode::OK.into_response()
    } else {
        reply::error(
            StatusCode::NOT_FOUND,
            None,
            SESSION_NOT_FOUND,
            "session not found",
        )
    }
}
