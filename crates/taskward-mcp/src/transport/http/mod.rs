//! The Streamable HTTP transport (MCP revision 2025-11-25), on axum.
//!
//! One endpoint, `/mcp`:
//!
//! - `POST` carries one JSON-RPC message. `initialize` without an `Mcp-Session-Id` header opens
//!   a session and the answer names it in `Mcp-Session-Id`; every other message must carry it.
//!   A request is answered with `200` and the JSON-RPC response (as `application/json`, or as
//!   an SSE stream of one `message` event when the client accepts only `text/event-stream`);
//!   a notification or a response is answered `202` with no body. When the server sends
//!   messages tied to the request before answering it (an `elicitation/create` during
//!   `tasks/result`), the answer is an SSE stream of those messages, then the response.
//! - A stateless 2026-07-28 request (its `_meta` names a protocol version, or
//!   `server/discover`) needs no session: its tasks live in the principal's shared scope
//!   ([`Server::modern_scope`](crate::Server::modern_scope)). The routing headers are
//!   checked only when sent: `MCP-Protocol-Version` must equal the `_meta` version,
//!   `Mcp-Method` the method, and `Mcp-Name` (plain or in the `=?base64?…?=` sentinel) the
//!   `taskId` of `tasks/get|update|cancel`, else `-32020` (`400`); a missing one is
//!   accepted. `-32021` and `-32022` are `400`, `-32601` is `404`; `subscriptions/listen`
//!   is answered as an SSE stream.
//! - `GET` with `Accept: text/event-stream` opens the session's SSE stream of server
//!   notifications (`notifications/tasks/status`, `notifications/progress`), one stream at a
//!   time (a second one gets `409`), with keep-alive comments. Notifications produced while no
//!   stream is open are dropped.
//! - `DELETE` ends the session.
//!
//! And `GET /status` answers [`status_json`](crate::status::status_json), for operators; with
//! authentication on, `GET /.well-known/oauth-protected-resource` (and `…/mcp`) answers the
//! protected-resource metadata.
//!
//! Every `/mcp` request acts for a [`Principal`](auth::Principal) when an embedder's layer
//! hands one in or [`HttpOptions::auth`] authenticates its bearer token ([`auth`]); a session
//! belongs to the principal that opened it, and stateless tasks live in the principal's scope.
//! Without either, requests are anonymous: one user, on a loopback address.
//!
//! Every error is answered, with a JSON-RPC error body where the spec allows one:
//!
//! | status | when |
//! |---|---|
//! | `400` | a missing session id, malformed JSON (`-32700`), an invalid message (`-32600`), an unsupported `MCP-Protocol-Version` header, a routing header that disagrees (`-32020`) |
//! | `401` | with [`HttpOptions::auth`]: no bearer token, or one refused (`WWW-Authenticate: Bearer resource_metadata="…"`, plus `error="invalid_token"`) |
//! | `403` | an `Origin` neither local nor allowed (against DNS rebinding); a valid token without a required scope (`error="insufficient_scope"`); `/status` by a principal that is not an operator |
//! | `404` | an unknown or ended session, or another principal's (`-32001`) |
//! | `409` | a second `GET` stream for a session |
//! | `413` | a body over [`HttpOptions::max_body_bytes`] |
//!
//! # Examples
//!
//! ```no_run
//! use taskward_mcp::Server;
//! use taskward_mcp::transport::http::{self, HttpOptions};
//! use taskward_runtime::Taskward;
//!
//! # #[tokio::main] async fn main() -> std::io::Result<()> {
//! let ward = Taskward::builder().spawn().await.expect("runtime starts");
//! let server = Server::builder(ward).build();
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! http::serve(server, listener, HttpOptions::default()).await
//! # }
//! ```

pub mod auth;
mod delete;
mod fast;
mod get;
mod headers;
mod modern;
mod post;
mod reply;
mod state;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::HeaderMap;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};

use crate::server::Server;
use state::Shared;

/// Settings of the HTTP transport.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HttpOptions {
    /// The largest request body accepted, in bytes; a larger one is answered `413` (default
    /// 4 MiB).
    pub max_body_bytes: usize,
    /// Browser origins allowed besides the local ones, exactly as sent in `Origin` (for
    /// example `https://app.example.com`). Origins on `localhost`, `127.0.0.1` and `[::1]`,
    /// on any port, are always allowed; a request without `Origin` is not a browser's and
    /// is allowed too.
    pub allowed_origins: Vec<String>,
    /// The transport's own authentication of `/mcp` requests (and of `/status`, which then
    /// needs an operator); `None` (the default): every request is anonymous, unless an
    /// embedder's layer hands it a [`Principal`](auth::Principal). See [`auth`].
    pub auth: Option<auth::Auth>,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            max_body_bytes: 4 * 1024 * 1024,
            allowed_origins: Vec::new(),
            auth: None,
        }
    }
}

/// The transport's routes over a server: `POST`, `GET` and `DELETE /mcp`, and `GET /status`.
/// Mount it in a larger app, or serve it with [`serve`].
pub fn router(server: Server, options: HttpOptions) -> Router {
    let limit = options.max_body_bytes;
    let shared = Arc::new(Shared::new(server, options));
    let authenticated = from_fn_with_state(shared.clone(), auth::layer::authenticate);
    let operator = from_fn_with_state(shared.clone(), auth::layer::operator_only);
    Router::new()
        .route(
            "/mcp",
            post(post::handle)
                .get(get::handle)
                .delete(delete::handle)
                .route_layer(authenticated),
        )
        .route("/status", get(status).route_layer(operator))
        .merge(auth::layer::metadata_routes())
        .layer(DefaultBodyLimit::max(limit))
        .with_state(shared)
}

/// Serves the transport on a listener until the listener fails.
///
/// # Errors
///
/// The listener's I/O error.
pub async fn serve(
    server: Server,
    listener: tokio::net::TcpListener,
    options: HttpOptions,
) -> std::io::Result<()> {
    axum::serve(listener, router(server, options)).await
}

async fn status(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Some(refused) = headers::origin_refusal(&headers, &shared.options.allowed_origins) {
        return refused;
    }
    Json(crate::status::status_json(shared.server.ward()).await).into_response()
}
