//! `taskward serve`: a runtime, an MCP server with the demo tools, and a transport.

use std::time::Duration;

use clap::Args;
use taskward_mcp::Server;
use taskward_mcp::transport::http::{self, HttpOptions};
use taskward_mcp::transport::stdio;
use taskward_runtime::{Builder, Taskward};
use tokio::net::TcpListener;

use crate::BoxError;
use crate::demo;
use crate::serve_auth as auth;
use crate::signal::until_stopped;

/// How long shutdown waits for live tasks to stop before aborting them.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(5);

/// The options of `taskward serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Serve Streamable HTTP on this address: MCP at /mcp, a JSON status at /status. Without
    /// authentication only a loopback address is served (one user on this machine).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:3000")]
    pub(crate) http: String,
    /// Serve one session on stdin and stdout instead (newline-delimited JSON-RPC).
    #[arg(long, conflicts_with = "http")]
    pub(crate) stdio: bool,
    /// At most this many live tasks in all [default: 100000].
    #[arg(long, value_name = "N")]
    pub(crate) max_live_tasks: Option<usize>,
    /// At most this many live tasks per session [default: no limit].
    #[arg(long, value_name = "N")]
    pub(crate) max_live_per_scope: Option<usize>,
    /// The TTL of tasks whose request asks for none, in seconds [default: 3600].
    #[arg(long, value_name = "N")]
    pub(crate) default_ttl_secs: Option<u64>,
    /// The longest TTL granted, in seconds; longer requests are capped [default: 86400].
    #[arg(long, value_name = "N")]
    pub(crate) max_ttl_secs: Option<u64>,
    /// The `pollInterval` advertised on every task, in milliseconds.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub(crate) poll_interval_ms: u64,
    /// A browser origin allowed on HTTP besides the local ones (repeatable).
    #[arg(long, value_name = "ORIGIN", conflicts_with = "stdio")]
    pub(crate) allowed_origin: Vec<String>,
    /// Authentication of HTTP requests.
    #[command(flatten)]
    pub(crate) auth: auth::AuthArgs,
}

impl ServeArgs {
    /// The runtime these options ask for.
    fn runtime(&self) -> Builder {
        let mut builder = Taskward::builder();
        if let Some(n) = self.max_live_tasks {
            builder = builder.max_live_tasks(n);
        }
        if let Some(n) = self.max_live_per_scope {
            builder = builder.max_live_per_scope(n);
        }
        if let Some(secs) = self.default_ttl_secs {
            builder = builder.default_ttl(Duration::from_secs(secs));
        }
        if let Some(secs) = self.max_ttl_secs {
            builder = builder.max_ttl(Duration::from_secs(secs));
        }
        builder
    }
}

/// Serves until the transport ends (stdin closes) or Ctrl-C / SIGTERM, then shuts the
/// runtime down: live tasks are cancelled, and aborted after a deadline.
pub(crate) async fn run(args: ServeArgs) -> Result<(), BoxError> {
    // Bind first: a taken address fails before anything starts.
    let (listener, auth) = if args.stdio {
        (None, None)
    } else {
        let listener = bind(&args.http).await?;
        let auth = args.auth.auth().await?;
        let local = listener.local_addr()?;
        let open = auth::check_exposure(local, auth.is_some(), args.auth.allow_unauthenticated)?;
        if open {
            eprintln!("{}", auth::warning(local));
            tracing::warn!("serving {local} without authentication");
        }
        (Some(listener), auth)
    };
    let ward = args.runtime().spawn().await?;
    let server = Server::builder(ward.clone())
        .server_info("taskward", env!("CARGO_PKG_VERSION"))
        .poll_interval(Duration::from_millis(args.poll_interval_ms))
        .tools(demo::tools())
        .build();
    let served = match listener {
        None => {
            tracing::info!("serving MCP on stdio");
            until_stopped(stdio::serve(
                server,
                tokio::io::stdin(),
                tokio::io::stdout(),
            ))
            .await
        }
        Some(listener) => {
            let local = listener.local_addr()?;
            eprintln!(
                "taskward: serving MCP on http://{local}/mcp (status: http://{local}/status)"
            );
            let mut options = HttpOptions::default();
            options.allowed_origins = args.allowed_origin.clone();
            options.auth = auth;
            until_stopped(http::serve(server, listener, options)).await
        }
    };
    match ward.shutdown(SHUTDOWN_DEADLINE).await {
        Ok(report) => tracing::info!(
            runners = report.runners,
            aborted = report.aborted,
            "runtime shut down"
        ),
        Err(err) => tracing::warn!("runtime shutdown: {err}"),
    }
    Ok(served?)
}

async fn bind(addr: &str) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|err| std::io::Error::new(err.kind(), format!("cannot listen on {addr}: {err}")))
}
