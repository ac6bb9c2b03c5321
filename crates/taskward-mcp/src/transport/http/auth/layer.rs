//! Where authentication meets the routes: the `/mcp` layer, the `/status` layer, and the
//! metadata routes.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;

use super::metadata::{WELL_KNOWN, WELL_KNOWN_MCP};
use super::{Principal, Refusal};
use crate::transport::http::state::Shared;

/// The layer of the `/mcp` routes: a request that already carries a [`Principal`] (from an
/// embedder's layer) passes; otherwise, with [`Auth`](super::Auth) configured, its bearer
/// token must give one, else `401`/`403`; without it, the request is anonymous.
pub(in crate::transport::http) async fn authenticate(
    State(shared): State<Arc<Shared>>,
    mut request: Request,
    next: Next,
) -> Response {
    if request.extensions().get::<Principal>().is_some() {
        return next.run(request).await;
    }
    let Some(auth) = &shared.options.auth else {
        return next.run(request).await;
    };
    match auth.authenticate(request.headers()).await {
        Ok(principal) => {
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Err(refusal) => refusal.response(Some(auth), request.headers()),
    }
}

/// The layer of `/status`: with authentication on (or a principal from an embedder's
/// layer), only an operator passes.
pub(in crate::transport::http) async fn operator_only(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let auth = shared.options.auth.as_ref();
    let principal = match request.extensions().get::<Principal>() {
        Some(principal) => principal.clone(),
        None => match auth {
            None => return next.run(request).await,
            Some(auth) => match auth.authenticate(request.headers()).await {
                Ok(principal) => principal,
                Err(refusal) => return refusal.response(Some(auth), request.headers()),
            },
        },
    };
    if principal.is_operator() {
        next.run(request).await
    } else {
        not_operator(&shared, request.headers())
    }
}

/// The refusal of `/status` to a principal that is not an operator (`403`).
pub(in crate::transport::http) fn not_operator(shared: &Shared, headers: &HeaderMap) -> Response {
    Refusal::NotOperator.response(shared.options.auth.as_ref(), headers)
}

/// `GET /.well-known/oauth-protected-resource` and its `/mcp`-suffixed form: the
/// protected-resource metadata, or `404` without authentication configured.
pub(in crate::transport::http) fn metadata_routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(WELL_KNOWN, get(metadata))
        .route(WELL_KNOWN_MCP, get(metadata))
}

async fn metadata(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    match &shared.options.auth {
        Some(auth) => Json(auth.metadata(&headers)).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
