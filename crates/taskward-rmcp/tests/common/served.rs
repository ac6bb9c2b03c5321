//! An rmcp Streamable HTTP server on a free localhost port, with an auth layer that names the
//! bearer token's text as the caller's `Principal`; and rmcp clients in 2026-07-28 Discover
//! mode with the tasks extension declared.

use std::net::SocketAddr;

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use rmcp::ServerHandler;
use rmcp::model::{ClientCapabilities, ClientConfig, Implementation, ProtocolVersion};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::streamable_http_server::{
    StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
};
use rmcp::{ClientLifecycleMode, ClientServiceExt, RoleClient};
use taskward_rmcp::Principal;

/// An rmcp client.
pub type Client = RunningService<RoleClient, ClientConfig>;

/// The test's stand-in for an auth layer: the bearer token is the principal's name.
async fn bearer_is_principal(mut request: Request, next: Next) -> Response {
    let principal = request
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(Principal::new);
    if let Some(principal) = principal {
        request.extensions_mut().insert(principal);
    }
    next.run(request).await
}

/// Serves `make()`'s handlers at `http://ADDR/mcp`; returns ADDR.
pub async fn serve<H, F>(make: F) -> SocketAddr
where
    H: ServerHandler,
    F: Fn() -> H + Send + Sync + 'static,
{
    let service = StreamableHttpService::new(
        move || Ok(make()),
        LocalSessionManager::default().into(),
        StreamableHttpServerConfig::default(),
    );
    let router = axum::Router::new()
        .nest_service("/mcp", service)
        .layer(middleware::from_fn(bearer_is_principal));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a localhost port");
    let addr = listener.local_addr().expect("a bound address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

/// A client of the server at `addr` that declares the tasks extension, as `principal` when
/// given (its bearer token).
pub async fn connect(addr: SocketAddr, principal: Option<&str>) -> Client {
    connect_with(
        addr,
        principal,
        ClientCapabilities::builder().enable_tasks().build(),
    )
    .await
}

/// A client of the server at `addr` with `capabilities`.
pub async fn connect_with(
    addr: SocketAddr,
    principal: Option<&str>,
    capabilities: ClientCapabilities,
) -> Client {
    let mut config = StreamableHttpClientTransportConfig::with_uri(format!("http://{addr}/mcp"));
    if let Some(principal) = principal {
        config = config.auth_header(principal);
    }
    let transport = StreamableHttpClientTransport::from_config(config);
    let info = ClientConfig::new(
        capabilities,
        Implementation::new("taskward-rmcp-tests", "0"),
    );
    let lifecycle = ClientLifecycleMode::Discover {
        preferred_versions: vec![ProtocolVersion::V_2026_07_28],
    };
    info.serve_with_lifecycle(transport, lifecycle)
        .await
        .expect("Discover-mode startup")
}
