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
//! And `GET /status` answers [`status_json`](crate::status::status_json), for operators
//! (which shows no session id); [`HttpOptions::status`] turns it off or moves it to a
//! listener of its own. With authentication on, `GET /.well-known/oauth-protected-resource`
//! (and `…/mcp`) answers the protected-resource metadata.
//!
//! Every `/mcp` request acts for a [`Principal`] when an embedder's layer
//! hands one in or [`HttpOptions::auth`] authenticates its bearer token ([`auth`]); a session
//! belongs to the principal that opened it, and stateless tasks live in the principal's scope.
//! Without either, requests are anonymous: one user, on a loopback address.
//!
//! Every error is answered, with a JSON-RPC error body where the spec allows one:
//!
//! | status | when | defends against |
//! |---|---|---|
//! | `400` | a missing session id, malformed JSON (`-32700`), an invalid message (`-32600`), an unsupported `MCP-Protocol-Version` header, a routing header that disagrees (`-32020`) | |
//! | `401` | with [`HttpOptions::auth`]: no bearer token, or one refused (`WWW-Authenticate: Bearer resource_metadata="…"`, plus `error="invalid_token"`) | strangers on the network |
//! | `403` `insufficient_scope` | a valid token without a required scope (`WWW-Authenticate: Bearer error="insufficient_scope"`) | tokens granted less than the server needs |
//! | `403` | `/status` by a principal that is not an operator | clients reading the operator's view |
//! | `403` "host not allowed" (`-32600`) | on every route, a `Host` that is neither local (`localhost`, `127.0.0.1`, `[::1]`, any port) nor in [`HttpOptions::allowed_hosts`] nor the specific address [`serve`] listens on; a request without `Host` passes | DNS rebinding |
//! | `403` "origin not allowed" (`-32600`) | on `/mcp` and `/status`, an `Origin` neither local nor in [`HttpOptions::allowed_origins`] | cross-site requests from browsers |
//! | `404` (`-32001`) | an unknown or ended session, or another principal's | session takeover |
//! | `409` | a second `GET` stream for a session | |
//! | `404` | `/status` when it is off or on its own listener | |
//! | `408` "request body timeout" (`-32600`), then the connection closes | a `POST` body not received in full within [`ConnectionLimits::body_timeout`] | slow bodies holding a request |
//! | `413` | a body over [`HttpOptions::max_body_bytes`] | memory exhaustion |
//! | `503` (`-32010`, [`SESSION_LIMIT_EXCEEDED`](crate::jsonrpc::SESSION_LIMIT_EXCEEDED)) | an `initialize` over the server's session cap; no session is made | a flood of sessions |
//!
//! [`serve`] bounds connections ([`ConnectionLimits`]); a bound it enforces closes the
//! connection rather than answering:
//!
//! | bound | default | when hit | defends against |
//! |---|---|---|---|
//! | [`header_timeout`](ConnectionLimits::header_timeout) | 10 s | a request head (or a TLS handshake) not received in time: the connection is closed, unanswered | slowloris |
//! | [`idle_timeout`](ConnectionLimits::idle_timeout) | 60 s | no request for that long on a kept-alive connection: it is closed | idle sockets piling up |
//! | [`max_connections`](ConnectionLimits::max_connections) | 1024 | no further connection is accepted until one closes: new clients wait in the listen backlog (and time out there if none closes), the open ones are served as usual | running out of file descriptors |
//!
//! A request in flight is never cut by a timeout: an open `GET /mcp` stream, a streamed
//! answer or a blocking `tasks/result` lasts as long as it needs. With `HttpOptions::tls`
//! (feature `tls`) the server speaks HTTPS only (rustls, HTTP/1.1).
//!
//! A session ends with DELETE, or when it has been idle for the server's
//! [`session_idle_timeout`](crate::ServerOptions::session_idle_timeout) (an open GET stream
//! or a request in flight keeps it busy); either way nothing of it stays behind, and its id
//! then gets `404`.
//!
//! Over a runtime with a durable store, a session is kept there from its `initialize` until
//! it ends, and the sessions the store gave back at start are served again by the first
//! router made over the server: a client that comes back with its `Mcp-Session-Id` after a
//! restart finds its session and its tasks (see [`Server::builder`](crate::Server::builder)).
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
mod conn;
mod delete;
mod direct;
mod fast;
mod get;
mod headers;
mod host;
mod limits;
mod listen;
mod modern;
mod post;
mod reply;
mod serving;
mod state;
#[cfg(feature = "tls")]
mod tls;

use std::sync::Arc;

use axum::Extension;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::HeaderMap;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};

use crate::server::Server;
use auth::Principal;
use host::{AllowedHosts, HostCheckLayer};
use state::Shared;

pub use limits::{ConnectionLimits, StatusEndpoint};
pub use serving::{serve, serve_with_shutdown};
#[cfg(feature = "tls")]
pub use tls::{TlsConfig, TlsError};

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
    /// Host names and addresses allowed in the `Host` header besides the local ones,
    /// without a port (for example `mcp.example.com` or `192.0.2.7`), against DNS
    /// rebinding. `localhost`, `127.0.0.1` and `[::1]` are always allowed, on any port, and
    /// [`serve`] adds the address it listens on when that is a specific non-loopback one; a
    /// request without `Host` is not a browser's and is allowed too. Any other host is
    /// refused with `403` on every route.
    pub allowed_hosts: Vec<String>,
    /// The bounds [`serve`] puts on connections (timeouts, connection cap).
    pub connections: ConnectionLimits,
    /// Where `GET /status` is served: beside `/mcp` (the default), nowhere, or on its own
    /// listener.
    pub status: StatusEndpoint,
    /// Serve HTTPS with this certificate instead of plain HTTP (feature `tls`; default
    /// none). A TLS handshake is bounded by [`ConnectionLimits::header_timeout`].
    #[cfg(feature = "tls")]
    pub tls: Option<TlsConfig>,
    /// The transport's own authentication of `/mcp` requests (and of `/status`, which then
    /// needs an operator); `None` (the default): every request is anonymous, unless an
    /// embedder's layer hands it a [`Principal`]. See [`auth`].
    pub auth: Option<auth::Auth>,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            max_body_bytes: 4 * 1024 * 1024,
            allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            connections: ConnectionLimits::default(),
            status: StatusEndpoint::default(),
            #[cfg(feature = "tls")]
            tls: None,
            auth: None,
        }
    }
}

/// The transport's routes over a server: `POST`, `GET` and `DELETE /mcp`, and `GET /status`
/// when [`HttpOptions::status`] is [`StatusEndpoint::WithMcp`], all behind the
/// allowed-hosts check. Mount it in a larger app, or serve it with [`serve`] (the connection
/// limits and TLS are [`serve`]'s; the body limit, the body timeout and the host and origin
/// checks are the router's).
pub fn router(server: Server, options: HttpOptions) -> Router {
    routes(server, options).0
}

/// [`router`], and what serves `POST /mcp` without it when the transport does not
/// authenticate (the router then adds nothing to that route but the host check and the
/// body limit, which [`direct::DirectPost`] applies alike).
fn routes(server: Server, options: HttpOptions) -> (Router, Option<Arc<direct::DirectPost>>) {
    let limit = options.max_body_bytes;
    let with_status = options.status == StatusEndpoint::WithMcp;
    let hosts = HostCheckLayer::new(AllowedHosts::new(&options.allowed_hosts));
    let authenticating = options.auth.is_some();
    let shared = Arc::new(Shared::new(server, options));
    // The sessions restored from the durable store at start are HTTP sessions.
    for (id, notifications) in shared.server.take_restored() {
        shared.attach(&id, notifications);
    }
    let mut mcp = post(post::handle).get(get::handle).delete(delete::handle);
    // Without the transport's own authentication the layers would pass every request
    // through (an embedder's principal is read by the handlers), so they are left out.
    let direct = if authenticating {
        mcp = mcp.route_layer(from_fn_with_state(
            shared.clone(),
            auth::layer::authenticate,
        ));
        None
    } else {
        let allowed = hosts.allowed().clone();
        Some(Arc::new(direct::DirectPost::new(shared.clone(), allowed)))
    };
    let mut routes = Router::new()
        .route("/mcp", mcp)
        .merge(auth::layer::metadata_routes());
    if with_status {
        routes = routes.route("/status", status_route(&shared));
    }
    let router = routes
        .layer(DefaultBodyLimit::max(limit))
        .with_state(shared)
        .layer(hosts);
    (router, direct)
}

/// `GET /status`, behind the operator check when the transport authenticates (an
/// embedder's principal is checked by [`status`] itself).
fn status_route(shared: &Arc<Shared>) -> axum::routing::MethodRouter<Arc<Shared>> {
    let route = get(status);
    if shared.options.auth.is_some() {
        route.route_layer(from_fn_with_state(
            shared.clone(),
            auth::layer::operator_only,
        ))
    } else {
        route
    }
}

/// `GET /status` alone, behind the allowed-hosts check (and the operator check when
/// [`HttpOptions::auth`] is on): what [`serve`] serves on the
/// listener of [`StatusEndpoint::Listen`].
pub fn status_router(server: Server, options: HttpOptions) -> Router {
    let hosts = HostCheckLayer::new(AllowedHosts::new(&options.allowed_hosts));
    let shared = Arc::new(Shared::new(server, options));
    Router::new()
        .route("/status", status_route(&shared))
        .with_state(shared)
        .layer(hosts)
}

async fn status(
    State(shared): State<Arc<Shared>>,
    principal: Option<Extension<Principal>>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = headers::origin_refusal(&headers, &shared.options.allowed_origins) {
        return refused;
    }
    if let Some(Extension(principal)) = &principal
        && !principal.is_operator()
    {
        return auth::layer::not_operator(&shared, &headers);
    }
    Json(crate::status::status_json(shared.server.ward()).await).into_response()
}
