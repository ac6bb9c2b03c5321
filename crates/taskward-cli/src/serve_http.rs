//! The HTTP options of `taskward serve` (allowed hosts, `/status`, connection limits, TLS)
//! and serving until Ctrl-C / SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use taskward_mcp::Server;
use taskward_mcp::transport::http::{self, HttpOptions, StatusEndpoint, TlsConfig};
use tokio::net::TcpListener;

use crate::BoxError;
use crate::signal::stop_requested;

/// How long, once stopping, requests in flight may take to finish before their connections
/// are closed (an open `GET /mcp` stream never finishes by itself).
const DRAIN_DEADLINE: Duration = Duration::from_secs(2);

/// Whether `/status` is served beside `/mcp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum StatusSwitch {
    /// Served beside `/mcp`.
    On,
    /// Not served.
    Off,
}

/// The HTTP options of `taskward serve`.
#[derive(Debug, Args)]
pub(crate) struct HttpArgs {
    /// A host name or address clients may name in the `Host` header, besides localhost,
    /// 127.0.0.1, [::1] and a specific --http address (repeatable); other hosts get 403,
    /// against DNS rebinding.
    #[arg(long, value_name = "NAME", conflicts_with = "stdio")]
    pub(crate) allowed_host: Vec<String>,
    /// Serve `/status` beside `/mcp` (on) or not at all (off).
    #[arg(long, value_enum, value_name = "ON|OFF", default_value = "on")]
    pub(crate) status: StatusSwitch,
    /// Serve `/status` on its own plain-HTTP listener at this IP:PORT instead of beside
    /// `/mcp` (`taskward status --url http://IP:PORT` reads it).
    #[arg(long, value_name = "ADDR", conflicts_with_all = ["status", "stdio"])]
    pub(crate) status_listen: Option<SocketAddr>,
    /// Close a connection that takes longer to send a request's headers (or its TLS
    /// handshake), in seconds [default: 10].
    #[arg(long, value_name = "N")]
    pub(crate) header_timeout_secs: Option<u64>,
    /// Answer 408 to a request body not received in full within this many seconds
    /// [default: 30].
    #[arg(long, value_name = "N")]
    pub(crate) body_timeout_secs: Option<u64>,
    /// Close a kept-alive connection with no request for this many seconds [default: 60].
    #[arg(long, value_name = "N")]
    pub(crate) idle_timeout_secs: Option<u64>,
    /// Serve at most this many connections at once; further ones wait unaccepted
    /// [default: 1024].
    #[arg(long, value_name = "N")]
    pub(crate) max_connections: Option<usize>,
    /// Serve HTTPS with this PEM certificate chain (with --tls-key).
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_key",
        conflicts_with = "stdio"
    )]
    pub(crate) tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub(crate) tls_key: Option<PathBuf>,
}

impl HttpArgs {
    /// The transport's options; loads the TLS certificate and key.
    pub(crate) fn options(&self) -> Result<HttpOptions, BoxError> {
        let mut options = HttpOptions::default();
        options.allowed_hosts = self.allowed_host.clone();
        options.status = match (self.status, self.status_listen) {
            (_, Some(addr)) => StatusEndpoint::Listen(addr),
            (StatusSwitch::On, None) => StatusEndpoint::WithMcp,
            (StatusSwitch::Off, None) => StatusEndpoint::Off,
        };
        let limits = &mut options.connections;
        if let Some(secs) = self.header_timeout_secs {
            limits.header_timeout = Duration::from_secs(secs);
        }
        if let Some(secs) = self.body_timeout_secs {
            limits.body_timeout = Duration::from_secs(secs);
        }
        if let Some(secs) = self.idle_timeout_secs {
            limits.idle_timeout = Duration::from_secs(secs);
        }
        if let Some(n) = self.max_connections {
            limits.max_connections = n;
        }
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            options.tls = Some(TlsConfig::from_pem_files(cert, key)?);
        }
        Ok(options)
    }
}

/// Serves until Ctrl-C / SIGTERM; then stops accepting, lets requests in flight finish
/// for up to [`DRAIN_DEADLINE`], and closes what is left.
pub(crate) async fn serve(
    server: Server,
    listener: TcpListener,
    options: HttpOptions,
) -> std::io::Result<()> {
    let local = listener.local_addr()?;
    let scheme = if options.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let status = match options.status {
        StatusEndpoint::Listen(addr) => format!("http://{addr}/status"),
        StatusEndpoint::Off => "off".to_owned(),
        _ => format!("{scheme}://{local}/status"),
    };
    eprintln!("taskward: serving MCP on {scheme}://{local}/mcp (status: {status})");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = http::serve_with_shutdown(server, listener, options, async move {
        let _ = stopped.await;
    });
    tokio::pin!(serving);
    tokio::select! {
        served = &mut serving => served,
        () = stop_requested() => {
            tracing::info!("stop requested: shutting down");
            let _ = stop.send(());
            tokio::time::timeout(DRAIN_DEADLINE, serving).await.unwrap_or(Ok(()))
        }
    }
}
